"""`robohead sim` (what `make sim` runs): the whole loop with the live monitor in front."""

from __future__ import annotations

import contextlib
import math
import signal
from pathlib import Path
from types import FrameType

import typer

__all__ = ["register", "sim"]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def sim(
    bundle: Path | None = typer.Option(
        None, "--bundle", "-b", help="Bundle directory (default: params.yaml sim.bundle)."
    ),
    duration: float = typer.Option(
        0.0, "--duration", min=0, help="Stop after this many seconds (0: until Ctrl-C)."
    ),
    no_monitor: bool = typer.Option(
        False, "--no-monitor", help="Run headless (no dashboard); print the summary at the end."
    ),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Keep logs, PWM log and config here (default: a temporary folder)."
    ),
    params: Path | None = typer.Option(None, "--params", help="params.yaml to read."),
) -> None:
    """Run broker, firmware simulator, edge daemon and the live monitor; Ctrl-C stops it all."""
    import time

    from rich.console import Console

    from robohead.host.monitor.client import BrokerOptions
    from robohead.host.monitor.live import run_live
    from robohead.host.monitor.settings import load_monitor_settings
    from robohead.host.sim.bundles import BundleUnavailable, ensure_bundle
    from robohead.host.sim.loop import SimError, SimLoop
    from robohead.host.sim.settings import SimSettingsError, load_sim_settings

    console = Console()
    try:
        settings, root = load_sim_settings(params)
        monitor_settings = load_monitor_settings(root / "params.yaml")
    except (SimSettingsError, ValueError) as exc:
        console.print(f"[red]sim[/red]: {exc}")
        raise typer.Exit(2) from exc
    # SIGTERM / SIGHUP end the run like Ctrl-C, so the children are always stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    loop = SimLoop(settings, root, workdir=workdir, bundle=bundle)
    code = 0
    try:
        ensure_bundle(root, loop.bundle, say=console.print)
        with console.status("starting mosquitto, robohead-edge and robohead-fw-sim ..."):
            loop.start()
        p = loop.paths
        period = loop.scenario.period_s if loop.scenario else 0.0
        console.print(
            f"[bold]robohead sim[/bold]: broker 127.0.0.1:{loop.port}, device "
            f"[bold]{loop.device_id}[/bold] on {loop.pty_path}, bundle {loop.bundle}\n"
            f"  the person: {settings.protocol} protocol, "
            f"{period:.1f} s, looping; logs in {p.workdir}\n"
            f"  watch it elsewhere: robohead monitor --broker 127.0.0.1:{loop.port}\n"
            "  Ctrl-C stops everything."
        )
        if no_monitor:
            deadline = time.monotonic() + duration if duration > 0 else math.inf
            loop.sup.wait_until(
                lambda: time.monotonic() >= deadline,
                math.inf,
                "the end of the run",
                watch=["edge", "fw-sim", "broker"],
            )
        else:
            run_live(
                BrokerOptions("127.0.0.1", loop.port),
                monitor_settings,
                device=loop.device_id,
                duration_s=duration,
                console=console,
            )
    except KeyboardInterrupt:
        pass
    except (SimError, BundleUnavailable, TimeoutError, RuntimeError, FileNotFoundError) as exc:
        console.print(f"[red]sim failed[/red]: {exc}")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan children
        with console.status("stopping ..."):
            loop.stop()
        if code == 0:
            _summary(console, loop, root)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if workdir is None:
            loop.cleanup()
    raise typer.Exit(code)


def _summary(console: object, loop: object, root: Path) -> None:
    """Loop latency and the poses reached, from the simulator's PWM log."""
    from rich.console import Console

    from robohead.host.sim.analysis import (
        loop_latency,
        pose_checks,
        read_pwm_log,
        servo_limits_from_params,
    )
    from robohead.host.sim.loop import SimLoop

    assert isinstance(console, Console) and isinstance(loop, SimLoop)
    with contextlib.suppress(FileNotFoundError, ValueError):
        log = read_pwm_log(loop.paths.pwm_log)
        if loop.edge_stopped_at_us is not None:  # after that the edge was shutting down
            log = log.between(0, loop.edge_stopped_at_us)
        if len(log) == 0:
            return
        lat = loop_latency(log)
        console.print(
            f"loop latency (window's last sample -> servo tick applying its command, simulator "
            f"clock): p50 {lat.p50_ms:.1f} ms, p99 {lat.p99_ms:.1f} ms, max {lat.max_ms:.1f} ms "
            f"over {lat.n} commands"
        )
        if loop.scenario is not None:
            checks = pose_checks(
                log,
                loop.scenario,
                servo_limits_from_params(root / "params.yaml"),
                tolerance=loop.settings.pose_tolerance,
            )
            if checks:
                reached = sum(c.reached for c in checks)
                delays = [c.delay_s for c in checks if math.isfinite(c.delay_s)]
                median = sorted(delays)[len(delays) // 2] if delays else math.nan
                console.print(
                    f"poses reached: {reached}/{len(checks)} (tolerance "
                    f"{loop.settings.pose_tolerance}); median delay behind the ground truth "
                    f"{median * 1000:.0f} ms"
                )


def register(app: typer.Typer) -> None:
    """Add `sim` to the `robohead` command."""
    app.command("sim")(sim)
