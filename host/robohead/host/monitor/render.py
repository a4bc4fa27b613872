"""The dashboard as rich renderables, from a MonitorState (no terminal, no network).

`render(state, settings)` returns one renderable; the CLI hands it to `rich.live.Live`, tests
print it to `Console(record=True)` and read `export_text()`. Bars are plain block characters so
the exported text shows them too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from robohead.host.monitor.settings import MonitorSettings
from robohead.host.monitor.state import DeviceView, MonitorState, measured_targets
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = ["bar", "enum_name", "render"]

BAR_WIDTH = 20
SIDE_BY_SIDE_WIDTH = 120  # narrower terminals get the tables one under the other
STAGE_ORDER = ("dsp", "inference", "postprocess", "total", "loop")
_STATE_STYLE = {"ONLINE": "bold green", "DEGRADED": "bold yellow", "OFFLINE": "bold red"}
_LEVEL_STYLE = {"info": "cyan", "warning": "yellow", "error": "bold red"}


def enum_name(enum: object, value: int, prefix: str) -> str:
    """`MODE_AUTO` -> `AUTO`; an unknown number stays visible as `?<n>`."""
    try:
        name: str = enum.Name(value)  # type: ignore[attr-defined]
    except ValueError:
        return f"?{value}"
    return name.removeprefix(prefix)


def bar(fraction: float | None, width: int = BAR_WIDTH, style: str = "green") -> Text:
    """A horizontal bar for a value in [0, 1] (clamped); dots when there is no value."""
    if fraction is None or not math.isfinite(fraction):
        return Text("·" * width, style="dim")
    f = min(1.0, max(0.0, fraction))
    filled = round(f * width)
    return Text.assemble(("█" * filled, style), ("░" * (width - filled), "dim"))


def _db_fraction(db: float, lo: float, hi: float) -> float:
    return (db - lo) / (hi - lo)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms ago"
    if seconds < 120:
        return f"{seconds:.1f} s ago"
    return f"{seconds / 60:.0f} min ago"


def _header(state: MonitorState, view: DeviceView | None) -> Panel:
    b = state.broker
    lines: list[Text] = []
    broker = Text("broker ")
    broker.append(b.address, style="bold")
    if b.connected:
        broker.append("  connected", style="green")
    else:
        broker.append(f"  DISCONNECTED: {b.detail}", style="bold red")
    broker.append(f"  (connects {b.connects}, lost {b.disconnects})", style="dim")
    lines.append(broker)
    if view is None:
        want = state.device_filter or "+"
        lines.append(Text(f"waiting for robohead/{want}/... (no device heard yet)", style="yellow"))
        return Panel(Group(*lines), title="robohead monitor", title_align="left")

    now = state.clock()
    line = Text("device ")
    line.append(view.device_id, style="bold")
    if view.status is not None:
        name = enum_name(tm.Status.State, view.status.state, "STATE_")
        line.append("  status ")
        line.append(name, style=_STATE_STYLE.get(name, "bold"))
        if view.status.detail:
            line.append(f"  {view.status.detail}")
        if view.status_retained:
            line.append("  (retained)", style="dim")
    else:
        line.append("  status unknown", style="yellow")
    others = sorted(d for d in state.devices if d != view.device_id)
    if others:
        line.append(f"  also heard: {', '.join(others)}", style="dim")
    lines.append(line)

    meta = view.meta
    if meta is not None and (meta.model_name or meta.model_version):
        model = Text("model ")
        model.append(f"{meta.model_name or '?'} v{meta.model_version or '?'}", style="bold")
        if meta.mlflow_run_id:
            model.append(f"  run {meta.mlflow_run_id[:12]}")
        if meta.bundle_sha256:
            model.append(f"  bundle {meta.bundle_sha256[:12]}")
        if meta.dataset_md5:
            model.append(f"  dataset {meta.dataset_md5[:12]}")
        lines.append(model)
    else:
        lines.append(Text("model none loaded (no meta or no model in it)", style="yellow"))
    if meta is not None:
        d = meta.device
        hw = Text(f"edge {meta.edge_version or '?'}  schema 0x{meta.schema_hash:08x}")
        if d.firmware_version or d.board:
            hw.append(
                f"  firmware {d.firmware_version or '?'} on {d.board or '?'}"
                f"  {d.channel_count} ch @ {d.sampling_rate_hz} Hz"
                f"  device schema 0x{d.schema_hash:08x}"
            )
        lines.append(hw)

    run = Text("mode ")
    run.append(enum_name(tm.Mode, view.mode, "MODE_"), style="bold")
    t = view.telemetry
    if t is not None:
        if t.expression:
            run.append(f"  expression {t.expression} {t.expression_confidence:.0%}")
        fs = enum_name(dev.FailsafeState, t.failsafe, "FAILSAFE_STATE_")
        style = "green" if t.failsafe == dev.FAILSAFE_STATE_ACTIVE else "yellow"
        run.append("  failsafe ")
        run.append(fs, style=style)
    if view.metrics is not None:
        run.append(f"  link {view.metrics.frames_per_second:.1f} frames/s")
    age = state.telemetry_age(view)
    run.append(f"  telemetry {_ago(age)}")
    if state.is_stale(view):
        run.append("  STALE", style="bold red")
    lines.append(run)
    if view.meta_at is not None:
        lines.append(Text(f"meta {_ago(now - view.meta_at)}", style="dim"))
    return Panel(Group(*lines), title="robohead monitor", title_align="left")


def _levels(view: DeviceView, settings: MonitorSettings) -> Table:
    table = Table(title="sEMG and audio levels", title_justify="left", expand=False)
    table.add_column("input")
    table.add_column("level", no_wrap=True)
    table.add_column("value", justify="right")
    t = view.telemetry
    levels: Sequence[float] = list(t.emg_level) if t is not None else []
    lo, hi = settings.emg_range_db
    for name, level in zip(view.channel_names(len(levels)), levels, strict=True):
        db = 20 * math.log10(level) if level > 0 else -math.inf
        frac = _db_fraction(db, lo, hi) if math.isfinite(db) else 0.0
        table.add_row(name, bar(frac), f"{db:.1f} dB" if math.isfinite(db) else "-inf dB")
    if not levels:
        table.add_row("sEMG", bar(None), "no data")
    lo, hi = settings.audio_range_dbfs
    # proto3 cannot tell "no audio" from 0.0; a 0 dBFS RMS (full-scale square wave) is not speech.
    if t is None or t.audio_level == 0.0:
        table.add_row("audio", bar(None), "none")
    else:
        table.add_row(
            "audio",
            bar(_db_fraction(t.audio_level, lo, hi), style="magenta"),
            f"{t.audio_level:.1f} dBFS",
        )
    return table


def _cell(value: float | None, style: str) -> Text:
    text = bar(value, width=10, style=style)
    text.append(" " + ("  -  " if value is None else f"{value:.2f}"))
    return text


def _motors(view: DeviceView) -> Table:
    table = Table(title="motors (target 0..1)", title_justify="left", expand=False)
    table.add_column("motor")
    table.add_column("predicted", no_wrap=True)
    table.add_column("commanded", no_wrap=True)
    table.add_column("measured", no_wrap=True)
    table.add_column("servo", justify="right")
    t = view.telemetry
    predicted = list(t.predicted) if t is not None else []
    commanded = list(t.commanded) if t is not None else []
    measured_us = list(t.measured_us) if t is not None else []
    measured = measured_targets(measured_us, view.servos)
    n = max(len(predicted), len(commanded), len(measured_us), len(view.servos))
    if view.meta is not None:
        n = max(n, len(view.meta.motor_names))
    for i, name in enumerate(view.motor_names(n)):
        table.add_row(
            name,
            _cell(predicted[i] if i < len(predicted) else None, "cyan"),
            _cell(commanded[i] if i < len(commanded) else None, "blue"),
            _cell(measured[i] if i < len(measured) else None, "green"),
            f"{measured_us[i]} us" if i < len(measured_us) else "-",
        )
    if n == 0:
        table.add_row("-", bar(None, 10), bar(None, 10), bar(None, 10), "no data")
    return table


def _latency(view: DeviceView) -> Table:
    table = Table(title="latency (ms)", title_justify="left", expand=False)
    for col in ("stage", "p50", "p99", "max"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    m = view.metrics
    stages = dict(m.stage_latency) if m is not None else {}
    ordered = [s for s in STAGE_ORDER if s in stages] + sorted(set(stages) - set(STAGE_ORDER))
    for stage in ordered:
        s = stages[stage]
        table.add_row(stage, f"{s.p50_ms:.2f}", f"{s.p99_ms:.2f}", f"{s.max_ms:.2f}")
    if m is not None and view.telemetry is not None:
        tt = view.telemetry.timings
        table.add_row(
            "last",
            f"dsp {tt.dsp_ms:.2f}",
            f"inf {tt.inference_ms:.2f}",
            f"post {tt.postprocess_ms:.2f}",
        )
    if not ordered:
        table.add_row("-", "-", "-", "no metrics")
    return table


def _counters(state: MonitorState, view: DeviceView) -> Table:
    table = Table(title="counters", title_justify="left", expand=False)
    table.add_column("counter")
    table.add_column("edge", justify="right")
    table.add_column("counter ")
    table.add_column("device", justify="right")
    m = view.metrics
    if m is None:
        table.add_row("-", "no metrics", "monitor parse errors", str(state.parse_errors))
        return table
    c = m.device
    edge = [
        ("frames", m.frames),
        ("sequence gaps", m.sequence_gaps),
        ("dropped samples", m.dropped_samples),
        ("cobs/crc/length", f"{m.cobs_errors}/{m.crc_errors}/{m.length_errors}"),
        ("decode errors", m.decode_errors),
        ("commands sent", m.commands_sent),
        ("commands rejected", m.commands_rejected),
        ("mqtt dropped", m.mqtt_dropped),
        ("serial reconnects", m.reconnects),
    ]
    device = [
        ("rx frames", c.rx_frames),
        ("cobs/crc/length", f"{c.cobs_errors}/{c.crc_errors}/{c.length_errors}"),
        ("decode errors", c.decode_errors),
        ("adc overflows", c.adc_overflows),
        ("dropped samples", c.dropped_samples),
        ("clamped commands", c.clamped_commands),
        ("failsafe trips", c.failsafe_trips),
        ("monitor parse errors", state.parse_errors),
        ("", ""),
    ]
    for (a, av), (b, bv) in zip(edge, device, strict=True):
        table.add_row(a, str(av), b, str(bv))
    return table


def _log(state: MonitorState, view: DeviceView) -> Table:
    table = Table(title="events", title_justify="left", expand=True, show_header=False)
    table.add_column("when", no_wrap=True, style="dim")
    table.add_column("level", no_wrap=True)
    table.add_column("what")
    now = state.clock()
    for e in reversed(view.log):
        table.add_row(
            _ago(now - e.at), Text(e.level, style=_LEVEL_STYLE[e.level]), f"{e.kind}: {e.text}"
        )
    if state.last_error:
        table.add_row("", Text("parse", style="bold red"), state.last_error)
    if not view.log and not state.last_error:
        table.add_row("", "", Text("none yet", style="dim"))
    return table


class _Pairs:
    """Tables two by two when the terminal is wide enough, else one under the other."""

    def __init__(self, rows: list[tuple[RenderableType, RenderableType]], min_width: int) -> None:
        self.rows = rows
        self.min_width = min_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for left, right in self.rows:
            if options.max_width >= self.min_width:
                grid = Table.grid(padding=(0, 2))
                grid.add_row(left, right)
                yield grid
            else:
                yield left
                yield right


def render(state: MonitorState, settings: MonitorSettings) -> RenderableType:
    """The whole dashboard for the selected device (or a waiting screen)."""
    with state.lock:
        view = state.selected()
        header = _header(state, view)
        if view is None:
            return header
        pairs = _Pairs(
            [(_levels(view, settings), _motors(view)), (_latency(view), _counters(state, view))],
            SIDE_BY_SIDE_WIDTH,
        )
        return Group(header, pairs, _log(state, view))
