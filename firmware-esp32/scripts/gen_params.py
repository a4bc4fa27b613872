#!/usr/bin/env python3
"""Writes the firmware's compiled-in defaults from params.yaml (the one source of parameters).

The firmware cannot read YAML at run time, so its defaults are generated into a C header that
is checked in (the ESP32 build needs no Python packages). tests/test_fw_params_header.py fails
when the header drifts from params.yaml; regenerate with:

    python3 firmware-esp32/scripts/gen_params.py            # writes the header
    python3 firmware-esp32/scripts/gen_params.py --check    # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "params.yaml"
HEADER = ROOT / "firmware-esp32/lib/robohead_core/src/rhcore/params_gen.h"


def _neutral_us(servo: dict[str, object], target: float) -> int:
    lo, hi = int(servo["min_us"]), int(servo["max_us"])  # type: ignore[call-overload]
    offset = int(target * (hi - lo) + 0.5)
    return hi - offset if servo.get("inverted", False) else lo + offset


def render(params: dict[str, object]) -> str:
    device = params["device"]
    fw = params["firmware"]
    motors = params["motors"]
    channels = params["channels"]
    assert isinstance(device, dict) and isinstance(fw, dict) and isinstance(motors, dict)
    assert isinstance(channels, list)
    servos = fw["servos"]
    names, neutral = motors["names"], motors["neutral"]
    if len(servos) != len(names) or len(neutral) != len(names) or len(names) != 3:
        raise SystemExit(
            "params.yaml: firmware.servos, motors.names, motors.neutral need 3 entries"
        )
    if not 1 <= int(fw["status_hz"]) <= 5:
        raise SystemExit("params.yaml: firmware.status_hz must be 1..5")
    rows = []
    for name, servo, target in zip(names, servos, neutral, strict=True):
        rows.append(
            f"    {{{int(servo['min_us'])}u, {int(servo['max_us'])}u, "
            f"{_neutral_us(servo, float(target))}u, {int(servo['max_step_us'])}u, "
            f"{'true' if servo.get('inverted', False) else 'false'}}}, /* {name} */"
        )
    lines = [
        "/* Generated from params.yaml by firmware-esp32/scripts/gen_params.py. DO NOT EDIT. */",
        "#ifndef RHCORE_PARAMS_GEN_H",
        "#define RHCORE_PARAMS_GEN_H",
        "",
        f'#define RH_PARAM_FIRMWARE_VERSION "{fw["version"]}"',
        f"#define RH_PARAM_SAMPLING_RATE_HZ {int(device['sampling_rate_hz'])}u",
        f"#define RH_PARAM_CHANNELS {len(channels)}u",
        f"#define RH_PARAM_ADC_BITS {int(device['adc_bits'])}u",
        f"#define RH_PARAM_SAMPLES_PER_FRAME {int(device['samples_per_frame'])}u",
        f"#define RH_PARAM_BAUD {int(device['baud'])}u",
        f"#define RH_PARAM_COMMAND_TIMEOUT_MS {int(fw['command_timeout_ms'])}u",
        f"#define RH_PARAM_STATUS_HZ {int(fw['status_hz'])}u",
        f"#define RH_PARAM_OVERSAMPLE {int(fw['oversample'])}u",
        "/* {min_us, max_us, neutral_us, max_step_us, inverted} per motor (rhcore::ServoLimits) */",
        "#define RH_PARAM_SERVO_LIMITS \\",
        "  { \\",
        *[r + " \\" for r in rows],
        "  }",
        "",
        "#endif /* RHCORE_PARAMS_GEN_H */",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the header is stale")
    args = parser.parse_args()
    text = render(yaml.safe_load(PARAMS.read_text()))
    if args.check:
        if not HEADER.exists() or HEADER.read_text() != text:
            print(f"{HEADER} is stale; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    HEADER.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
