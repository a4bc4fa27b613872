"""The dashboard on a terminal: a MonitorClient feeding a MonitorState, redrawn by rich Live."""

from __future__ import annotations

import time

from rich.console import Console

from robohead.host.monitor.client import BrokerOptions, MonitorClient
from robohead.host.monitor.render import render
from robohead.host.monitor.settings import MonitorSettings
from robohead.host.monitor.state import MonitorState

__all__ = ["run_live"]


def run_live(
    options: BrokerOptions,
    settings: MonitorSettings,
    *,
    device: str | None = None,
    duration_s: float = 0.0,
    console: Console | None = None,
) -> MonitorState:
    """Show the dashboard until Ctrl-C (KeyboardInterrupt propagates) or `duration_s` passes."""
    from rich.live import Live

    state = MonitorState(
        broker=options.address, device=device, events=settings.events, stale_s=settings.stale_s
    )
    period = 1.0 / settings.refresh_hz
    deadline = time.monotonic() + duration_s if duration_s > 0 else None
    with (
        MonitorClient(options, state),
        Live(
            render(state, settings),
            console=console,
            refresh_per_second=settings.refresh_hz,
            transient=False,
        ) as live,
    ):
        while deadline is None or time.monotonic() < deadline:
            time.sleep(period)  # the redraw period of a live view, not a synchronisation
            live.update(render(state, settings))
    return state
