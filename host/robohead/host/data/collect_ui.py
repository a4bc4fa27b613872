"""The live view of `robohead collect`: the cue, a countdown, per-channel level meters (rich)."""

from __future__ import annotations

import math

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from robohead.host.data.recorder import RecorderState

# The meters are logarithmic between a quiet electrode (noise and mains, ~5 counts RMS) and a
# strong contraction (~1000 counts RMS), so rest sits low and effort shows clearly.
FLOOR_RMS = 5.0
FULL_SCALE_RMS = 1000.0


def _meter(value: float, width: int = 32) -> Text:
    frac = math.log(max(value, FLOOR_RMS) / FLOOR_RMS) / math.log(FULL_SCALE_RMS / FLOOR_RMS)
    frac = min(1.0, frac)
    n = round(frac * width)
    style = "green" if frac < 0.7 else ("yellow" if frac < 0.9 else "red")
    return Text("█" * n, style=style) + Text("·" * (width - n), style="dim")


def render(
    state: RecorderState, *, title: str, channels: list[str], countdown_s: float, audio: str
) -> RenderableType:
    cue = state.cue
    if cue is None:
        head = Text("Done: finalising", style="bold green")
    elif (
        cue.is_rest
        and state.next_prompt is not None
        and state.until_next_s is not None
        and (state.until_next_s <= countdown_s)
    ):
        head = Text.assemble(
            ("Get ready: ", "bold yellow"),
            (state.next_prompt.prompt, "bold"),
            (f"  in {state.until_next_s:0.1f} s", "yellow"),
        )
    elif cue.is_rest:
        head = Text("Rest: relax your face", style="bold cyan")
    else:
        head = Text.assemble(
            (cue.prompt, "bold magenta"), (f"   {max(state.remaining_s, 0):0.1f} s", "magenta")
        )
    nxt = state.next_prompt.prompt if state.next_prompt else "(end)"
    meters = Table.grid(padding=(0, 1))
    for name, level in zip(channels, state.levels, strict=False):
        meters.add_row(Text(f"{name:>12}"), _meter(float(level)), Text(f"{level:6.0f}"))
    progress = ProgressBar(total=max(state.total_s, 1e-9), completed=state.session_s, width=50)
    audio_s = f"{state.audio_s:.1f} s" if state.audio_s is not None else "none"
    status = Text(
        f"cue {min(state.cue_index + 1, state.cue_count)}/{state.cue_count}   "
        f"{state.session_s:6.1f} / {state.total_s:.0f} s   samples {state.samples}   "
        f"gaps {state.gaps} ({state.missing_frames} frames)   audio {audio_s}",
        style="dim",
    )
    body = Group(
        Text(""),
        head,
        Text(f"next: {nxt}", style="dim"),
        Text(""),
        meters,
        Text(""),
        progress,
        status,
        Text(audio, style="dim"),
        Text("Ctrl-C stops and keeps everything recorded", style="dim"),
    )
    return Panel(body, title=title, border_style="blue")
