"""Terminal progress for the long parts of training (epochs, export), via rich.

Steps run in the ``robohead train`` process (ZenML's local orchestrator), so a rich live display
reaches the terminal of ``make train``; when stdout is not a terminal (CI logs) rich falls back
to plain lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

console = Console(highlight=False)


@contextmanager
def epochs(total: int) -> Iterator[tuple[Progress, TaskID]]:
    """A progress bar over epochs; update its description with the losses."""
    with Progress(
        TextColumn("[bold]train[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("", total=total)
        yield progress, task


@contextmanager
def phase(text: str) -> Iterator[None]:
    """A spinner for one phase (export, quantise, benchmark), then a done line."""
    with console.status(text):
        yield
    console.print(f"[green]done[/green] {text}")
