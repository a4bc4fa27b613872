"""The daemon's commands: `run`, `calibrate`, `replay`, `bench`, `config-reference`.

Registered on the `robohead-edge` app by `register(app)`; heavy imports (ONNX Runtime, the
DSP) happen inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

import typer

__all__ = ["register"]

CONFIG_HELP = "edge.toml (see edge-rpi/README.md); unset: every default."


def _config_or_exit(path: Path | None):  # type: ignore[no-untyped-def]
    from robohead.edge.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from exc


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    validate_config: bool = typer.Option(
        False, "--validate-config", help="Only check the configuration file, then exit."
    ),
) -> None:
    """Run the daemon: serial link -> DSP -> model -> smoothing -> motors, with MQTT."""
    cfg = _config_or_exit(config)
    if validate_config:
        typer.echo(f"configuration OK: {config or '(defaults)'}")
        return
    _logging(cfg.log_level)
    from robohead.edge.daemon import Daemon

    daemon = Daemon(cfg)

    def stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("robohead.edge").info("%s: stopping", signal.Signals(signum).name)
        daemon.request_stop()

    def reload(signum: int, frame: FrameType | None) -> None:
        daemon.request_reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    raise typer.Exit(daemon.run())


def calibrate(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    rest_s: float | None = typer.Option(None, help="Rest recording length (default: config)."),
    max_s: float | None = typer.Option(None, help="Max-contraction length (default: config)."),
    new_reference: bool = typer.Option(
        False, "--new-reference", help="Make this calibration the new reference (gains 1)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not wait for Enter between phases."),
) -> None:
    """Record rest and maximal contraction per channel; store the normalisation.

    Needs the serial port, so stop the service first (`systemctl stop robohead-edge`), or use
    the MQTT commands start_calibration / stop_calibration against the running daemon.
    """
    cfg = _config_or_exit(config)
    _logging(cfg.log_level)
    from robohead.edge.calibrate_cli import CalibrateError, run_calibration

    try:
        cal = run_calibration(
            cfg,
            rest_s=rest_s or cfg.calibration.rest_s,
            max_s=max_s or cfg.calibration.max_s,
            new_reference=new_reference,
            prompt=None if yes else lambda text: typer.prompt(text, default="", show_default=False),
            say=typer.echo,
        )
    except CalibrateError as exc:
        typer.echo(f"calibration failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    for name, gain, rest, peak in zip(
        cal.channels, cal.gain, cal.rest_rms, cal.max_rms, strict=True
    ):
        typer.echo(f"  {name:>14}: rest {rest:.5f}  max {peak:.5f}  gain {gain:.3f}")
    typer.echo(f"saved {cfg.calibration_path}")


def replay(
    session: Path = typer.Argument(..., help="Session folder (session.json, emg.csv, ...)."),
    bundle: Path = typer.Option(..., "--bundle", "-b", help="Bundle directory."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Predictions CSV (default: SESSION/predictions.csv)."
    ),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Apply a calibration.json (default: none, like training)."
    ),
) -> None:
    """Run the daemon's pipeline on a recorded session (no device); write predictions CSV."""
    from robohead.edge.bundle import BundleError
    from robohead.edge.calibration import CalibrationError, load_calibration
    from robohead.edge.replay import ReplayError, replay_to_csv

    target = out or session / "predictions.csv"
    try:
        cal = load_calibration(calibration) if calibration else None
        if calibration and cal is None:
            raise CalibrationError(f"{calibration}: not found")
        n = replay_to_csv(session, bundle, target, calibration=cal)
    except (ReplayError, BundleError, CalibrationError) as exc:
        typer.echo(f"replay failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{n} predictions -> {target}")


def check_bundle(
    bundle: Path = typer.Argument(..., help="Bundle directory."),
    channels: int | None = typer.Option(None, help="Also require this many sEMG channels."),
    rate: float | None = typer.Option(None, help="Also require this sampling rate (Hz)."),
) -> None:
    """Verify a bundle exactly as the daemon does before loading it (exit 1 with the reason)."""
    from robohead.edge.bundle import BundleError, load_bundle

    try:
        b = load_bundle(bundle, expected_channels=channels, expected_sampling_rate_hz=rate)
    except BundleError as exc:
        typer.echo(f"bundle rejected: {exc}", err=True)
        raise typer.Exit(1) from exc
    m = b.manifest
    typer.echo(
        f"bundle OK: {m.mlflow.model_name or '?'} v{m.mlflow.model_version or '?'} "
        f"(run {m.mlflow.run_id or '?'}), {m.features.n_channels} channels at "
        f"{m.features.sampling_rate_hz:g} Hz, motors {', '.join(m.motors)}"
    )


def config_reference() -> None:
    """Print the Markdown table of every config key and default (embedded in the README)."""
    from robohead.edge.config import reference_table

    typer.echo(reference_table(), nl=False)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(calibrate)
    app.command()(replay)
    app.command("check-bundle")(check_bundle)
    app.command("config-reference")(config_reference)
    from robohead.edge.bench import bench

    app.command()(bench)
