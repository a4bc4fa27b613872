"""`robohead collect`: a guided recording session, from the serial link or an edge over MQTT."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import numpy as np
import typer


def collect_cmd(
    subject: str = typer.Option(..., "--subject", "-s", help="Subject id (a folder name)."),
    port: str | None = typer.Option(
        None, "--port", "-p", help="Serial URL: /dev/ttyUSB0, a pty, socket://host:port."
    ),
    mqtt: str | None = typer.Option(
        None, "--mqtt", help="Broker HOST[:PORT] of an edge streaming raw sEMG (with --device-id)."
    ),
    device_id: str | None = typer.Option(None, "--device-id", help="Edge device id for --mqtt."),
    session: str | None = typer.Option(None, help="Session id (default: UTC date-time)."),
    protocol: str | None = typer.Option(
        None, help="Protocol name in host/protocols or a YAML path (default: params.yaml)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Recordings root (default: params.yaml data.collect.root)."
    ),
    audio: str = typer.Option("auto", help="'auto' (default input if any), 'none' or a device."),
    no_ui: bool = typer.Option(False, "--no-ui", help="Plain log lines instead of the live view."),
    dvc: bool = typer.Option(False, "--dvc", help="Run `dvc add` on the new session at the end."),
    notes: str = typer.Option("", help="Free text stored in session.json."),
    seed: int | None = typer.Option(None, help="Seed of the cue order (default: random)."),
    hello_timeout: float = typer.Option(5.0, help="Seconds to wait for the device."),
    params_file: Path | None = typer.Option(None, "--params", help="params.yaml to read."),
) -> None:
    """Prompt the protocol's cues, record sEMG (and audio) into a session folder."""
    from robohead.host.data.audio import open_audio
    from robohead.host.data.params import load_params
    from robohead.host.data.protocols import load_protocol, schedule
    from robohead.host.data.recorder import Recorder, RecorderState, session_meta
    from robohead.host.data.sources import EmgSource, MqttSource, SerialSource, SourceError
    from robohead.host.data.writer import SessionWriter

    if (port is None) == (mqtt is None):
        raise typer.BadParameter("give exactly one of --port or --mqtt")
    params = load_params(params_file)
    cfg = params.data.collect
    proto = load_protocol(protocol or cfg.protocol, params.protocols_dir, params.expressions)
    plan = schedule(proto.protocol, np.random.default_rng(seed))
    source: EmgSource
    if port is not None:
        source = SerialSource(port, baudrate=params.device.baud)
    else:
        if not device_id:
            raise typer.BadParameter("--mqtt needs --device-id")
        host, _, p = mqtt.partition(":")  # type: ignore[union-attr]
        source = MqttSource(host, int(p or 1883), device_id, adc_bits=params.device.adc_bits)
    try:
        info = source.start(hello_timeout)
    except SourceError as e:
        source.close()
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e

    capture, audio_note = open_audio(audio, params.audio.sampling_rate_hz)
    session_id = session or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = (out or params.root / cfg.root) / subject / session_id
    meta = session_meta(
        params,
        info,
        source,
        proto,
        subject=subject,
        session=session_id,
        audio=capture is not None,
        notes=notes,
    )
    chan_info = meta.channels
    try:
        writer = SessionWriter(folder, meta)
    except FileExistsError as e:
        source.close()
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    rec = Recorder(
        source,
        writer,
        plan,
        info,
        flush_interval_s=cfg.flush_interval_s,
        level_window_s=cfg.level_window_s,
        audio=capture,
    )
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    typer.echo(
        f"recording {folder} from {source.url} ({info.channel_count} ch at "
        f"{info.sampling_rate_hz} Hz), protocol {proto.protocol.name}; {audio_note}"
    )
    names = [c.name for c in chan_info]
    try:
        if no_ui or not sys.stdout.isatty():
            last: list[int] = [-1]

            def log(state: RecorderState) -> None:
                if state.cue_index != last[0] and state.cue is not None:
                    last[0] = state.cue_index
                    levels = " ".join(
                        f"{n}={v:.0f}" for n, v in zip(names, state.levels, strict=False)
                    )
                    typer.echo(
                        f"[{state.session_s:7.2f} s] {state.cue.label}: {state.cue.prompt} "
                        f"({state.cue.end_s - state.cue.start_s:.1f} s)  {levels}"
                    )

            final = rec.run(on_update=log, update_interval_s=0.05, stop=stop)
        else:
            from rich.live import Live

            from robohead.host.data.collect_ui import render

            title = f"robohead collect: {subject} / {session_id}"
            with Live(refresh_per_second=cfg.ui_refresh_hz, transient=False) as live:

                def show(state: RecorderState) -> None:
                    live.update(
                        render(
                            state,
                            title=title,
                            channels=names,
                            countdown_s=proto.protocol.countdown_s,
                            audio=audio_note,
                        )
                    )

                final = rec.run(on_update=show, update_interval_s=1 / cfg.ui_refresh_hz, stop=stop)
    except SourceError as e:
        typer.echo(f"error: {e}; the session was finalised up to here: {folder}", err=True)
        source.close()
        raise typer.Exit(3) from e
    except OSError as e:  # disk full, drive unplugged: what was flushed stays readable
        source.close()
        typer.echo(
            f"error: cannot write {e.filename or folder}: {e.strerror or e}; every sample "
            f"flushed before this is kept in {folder} (INCOMPLETE; check it with "
            f"`robohead data validate {folder}`)",
            err=True,
        )
        raise typer.Exit(5) from e
    source.close()
    gaps = sum(g.missing_frames for g in final.gaps)
    typer.echo(
        f"{final.end_reason}: {final.samples} samples ({final.duration_s:.1f} s), "
        f"{len(final.gaps)} gaps ({gaps} frames), {final.dropped_samples} dropped by the device"
    )
    typer.echo(f"session: {folder}")
    _version(folder, params.root, run=dvc)


def _version(folder: Path, root: Path, *, run: bool) -> None:
    """Print (or run) the DVC command that versions the new session."""
    try:
        rel = folder.resolve().relative_to(root.resolve())
    except ValueError:
        rel = folder
    dvc_exe = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))
    add = f"dvc add {rel}"
    git = f"git add {rel}.dvc {rel.parent}/.gitignore && git commit -m 'data: session {rel}'"
    if not run:
        typer.echo(f"version it with:\n  {add}\n  {git}\n  dvc push")
        return
    res = subprocess.run(
        [dvc_exe, "add", str(rel)], cwd=root, capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        typer.echo(f"dvc add failed:\n{res.stdout}{res.stderr}", err=True)
        raise typer.Exit(4)
    typer.echo(f"ran: {add}\nnow:\n  {git}\n  dvc push")
