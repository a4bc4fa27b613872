"""The firmware's compiled-in defaults are generated from params.yaml and must not drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "firmware-esp32" / "scripts" / "gen_params.py"


def test_params_header_matches_params_yaml() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_neutral_pulse_widths_follow_motors_neutral() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gen_params
    finally:
        sys.path.remove(str(SCRIPT.parent))
    params = {
        "device": {"sampling_rate_hz": 1000, "adc_bits": 12, "samples_per_frame": 10, "baud": 1},
        "channels": [{}, {}],
        "motors": {"names": ["a", "b", "c"], "neutral": [0.5, 0.0, 0.25]},
        "firmware": {
            "version": "x",
            "command_timeout_ms": 300,
            "status_hz": 2,
            "oversample": 8,
            "servos": [
                {"min_us": 1000, "max_us": 2000, "max_step_us": 50},
                {"min_us": 1000, "max_us": 2000, "max_step_us": 50, "inverted": True},
                {"min_us": 600, "max_us": 2400, "max_step_us": 20},
            ],
        },
    }
    text = gen_params.render(params)
    assert "{1000u, 2000u, 1500u, 50u, false}, /* a */" in text
    assert "{1000u, 2000u, 2000u, 50u, true}, /* b */" in text  # inverted: target 0 = max_us
    assert "{600u, 2400u, 1050u, 20u, false}, /* c */" in text
    assert "#define RH_PARAM_CHANNELS 2u" in text
