"""`robohead-edge bench`: placeholder, filled in below."""

from __future__ import annotations

import typer


def bench() -> None:
    """Measure the per-hop cost, ONNX Runtime vs PyTorch, memory and start-up."""
    typer.echo("not yet")
