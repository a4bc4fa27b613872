"""The benchmark runs and reports what the README quotes (structure only, never timings)."""

from __future__ import annotations

import json

from robohead.protocol.bench import run_benchmark


def test_benchmark_smoke() -> None:
    result = run_benchmark(batch=20, repeats=1)
    json.dumps(result)
    assert result["decode_us"]["frame_10x8_total_us"] > 0
    wire = result["wire"]
    assert wire["10x4"]["sample_bytes"] == 80 and wire["10x8"]["sample_bytes"] == 160
    assert 0 < wire["10x4"]["samples_per_wire"] < wire["10x8"]["samples_per_wire"] < 1
    by_ch = result["capacity"]["by_channels"]
    assert by_ch["8"]["max_rate_hz_per_channel"] < by_ch["4"]["max_rate_hz_per_channel"]
    # The default configuration (1 kHz x 4 channels) must fit the link with room to spare.
    assert result["capacity"]["default_1khz_4ch_link_load"] < 0.5
