"""`robohead bench`: the table, the README Markdown, and one quick benchmark end to end."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from robohead.host.bench.report import markdown, table
from robohead.host.bench.suite import BENCHMARKS, NEEDS_BUNDLE, Result, Row, machine
from robohead.host.cli import app

WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def test_rows_format_every_magnitude() -> None:
    assert Row("g", "i", 1234.5, "us").text() == "1,234"
    assert Row("g", "i", 12.34, "ms").text() == "12.3"
    assert Row("g", "i", 1.234, "ms").text() == "1.23"
    assert Row("g", "i", 0.01234, "ms").text() == "0.0123"
    assert Row("g", "i", 3.0, "x").text() == "3"
    assert Row("g", "i", math.nan, "ms").text() == "n/a"


def test_table_and_markdown_show_rows_failures_machine_and_date() -> None:
    results = [
        Result("a", [Row("group a", "thing", 1.5, "ms", "a | note")]),
        Result("b", error="RuntimeError: it broke"),
    ]
    info = machine()
    md = markdown(results, info, WHEN)
    assert md.startswith("Measured 2026-01-02 on a ")
    assert f"{info['cores']}-core {info['arch']}" in md
    assert "| group a | thing | 1.50 | ms | a / note |" in md
    assert "| b | FAILED | | | RuntimeError: it broke |" in md
    console = Console(record=True, width=160, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table(results, info, WHEN))
    text = console.export_text()
    assert "2026-01-02 03:04 UTC" in text and "FAILED" in text and "thing" in text


def test_every_benchmark_is_registered() -> None:
    assert set(BENCHMARKS) == {"protocol", "firmware", "edge", "inference", "loop", "train"}
    assert set(BENCHMARKS) >= NEEDS_BUNDLE


def test_cli_runs_a_benchmark_and_writes_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", "--only", "protocol", "--quick", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "bench.json").read_text())
    rows = doc["results"]["protocol"]["rows"]
    assert rows and all(math.isfinite(r["value"]) for r in rows)
    assert doc["machine"]["cores"] and doc["date_utc"]
    assert "| protocol decode (Python) |" in (tmp_path / "bench.md").read_text()
    bad = CliRunner().invoke(app, ["bench", "--only", "nonsense", "--out", str(tmp_path)])
    assert bad.exit_code == 2
