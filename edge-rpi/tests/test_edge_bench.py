"""`robohead-edge bench` runs end to end and reports every number (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("robohead-edge")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_reports_hops_ratio_and_daemon(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            str(EXE),
            "bench",
            "--params",
            str(REPO / "params.yaml"),
            "--seconds",
            "2",
            "--channels",
            "4",
            "--channels",
            "8",
            "--runs",
            "100",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert [h["channels"] for h in report["hop"]] == [4, 8]
    assert all(
        h["hops"] > 100 and h["total_p99_ms"] >= h["total_median_ms"] > 0 for h in report["hop"]
    )
    assert report["ort_vs_torch"]["max_abs_diff"] < 1e-4, "the same model in both runtimes"
    assert report["daemon"]["start_to_first_command_s"] > 0 and report["daemon"]["rss_mib"] > 10
