"""`robohead monitor`: the live dashboard (rich Live over a MonitorState fed by MQTT)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

__all__ = ["monitor", "register"]


def monitor(
    broker: str | None = typer.Option(
        None,
        "--broker",
        "-b",
        help="host:port of the broker (default: params.yaml monitor.broker).",
    ),
    device: str | None = typer.Option(
        None, "--device", "-d", help="Device id to show (default: whichever is heard)."
    ),
    username: str | None = typer.Option(None, "--username", "-u", help="Broker user name."),
    password: str | None = typer.Option(
        None, "--password", envvar="ROBOHEAD_MQTT_PASSWORD", help="Broker password."
    ),
    password_file: Path | None = typer.Option(
        None,
        "--password-file",
        exists=True,
        dir_okay=False,
        help="File whose first line is the password.",
    ),
    tls: bool = typer.Option(False, "--tls", help="Connect with TLS (default port 8883)."),
    ca_file: Path | None = typer.Option(None, "--ca-file", exists=True, dir_okay=False),
    cert_file: Path | None = typer.Option(None, "--cert-file", exists=True, dir_okay=False),
    key_file: Path | None = typer.Option(None, "--key-file", exists=True, dir_okay=False),
    insecure: bool = typer.Option(
        False, "--insecure", help="Skip the TLS host name check (self-signed test setups only)."
    ),
    duration: float = typer.Option(
        0.0, "--duration", min=0, help="Exit after this many seconds (0: until Ctrl-C)."
    ),
    params: Path | None = typer.Option(None, "--params", help="params.yaml to read."),
) -> None:
    """Live dashboard of a robot head from MQTT: levels, motors, model, latency, errors."""
    from rich.console import Console

    from robohead.host.monitor.client import BrokerOptions
    from robohead.host.monitor.live import run_live
    from robohead.host.monitor.settings import SettingsError, load_monitor_settings, parse_broker

    err = Console(stderr=True)
    try:
        settings = load_monitor_settings(params)
        host, port = parse_broker(broker or settings.broker, default_port=8883 if tls else 1883)
    except SettingsError as exc:
        err.print(f"[red]monitor[/red]: {exc}")
        raise typer.Exit(2) from exc
    if password_file is not None:
        if password is not None:
            err.print("[red]monitor[/red]: give --password or --password-file, not both")
            raise typer.Exit(2)
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    if (cert_file is None) != (key_file is None):
        err.print("[red]monitor[/red]: --cert-file and --key-file go together")
        raise typer.Exit(2)
    options = BrokerOptions(
        host=host,
        port=port,
        username=username,
        password=password,
        tls=tls,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        insecure=insecure,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a live view ends
        run_live(options, settings, device=device, duration_s=duration)


def register(app: typer.Typer) -> None:
    """Add `monitor` to the `robohead` command."""
    app.command("monitor")(monitor)
