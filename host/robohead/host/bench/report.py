"""The benchmark results as one rich table and as the README's Markdown table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table

from robohead.host.bench.suite import Result

__all__ = ["machine_line", "markdown", "table"]


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info.get('cores')}-core {info.get('arch')} {info.get('cpu') or ''}".strip()
        + f", {info.get('memory_gib')} GiB, {info.get('os')}, Python {info.get('python')}"
    )


def table(results: list[Result], info: dict[str, Any], started: datetime) -> Table:
    t = Table(
        title=f"robohead bench, {started:%Y-%m-%d %H:%M} UTC, {machine_line(info)}",
        title_justify="left",
    )
    t.add_column("benchmark")
    t.add_column("measurement")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_column("note", overflow="fold")
    for r in results:
        if r.error:
            t.add_row(r.name, "[red]FAILED[/red]", "", "", r.error[:200])
            continue
        last = ""
        for row in r.rows:
            t.add_row(
                row.group if row.group != last else "", row.item, row.text(), row.unit, row.note
            )
            last = row.group
        t.add_section()
    return t


def markdown(results: list[Result], info: dict[str, Any], started: datetime) -> str:
    lines = [
        f"Measured {started:%Y-%m-%d} on a {machine_line(info)} (`make bench`).",
        "",
        "| benchmark | measurement | value | unit | note |",
        "|---|---|---:|---|---|",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.name} | FAILED | | | {r.error[:200].replace('|', '/')} |")
            continue
        for row in r.rows:
            note = row.note.replace("|", "/")
            lines.append(f"| {row.group} | {row.item} | {row.text()} | {row.unit} | {note} |")
    return "\n".join(lines) + "\n"
