"""`robohead-edge calibrate` against a fake device on a real pty."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robohead.edge.calibrate_cli import CalibrateError, run_calibration
from robohead.edge.calibration import load_calibration
from robohead.edge.config import EdgeConfig
from robohead.edge.fakedevice import FakeDevice

EXE = Path(sys.executable).with_name("robohead-edge")


def config(tmp: Path, url: str) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "state_dir": str(tmp / "state"),
            "serial": {"url": url},
            "bundle": {"dir": str(tmp / "no-bundle")},
            "mqtt": {"enabled": False},
        }
    )


def stationary() -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.clip(2048 + rng.normal(0, 100, (3000, 4)), 0, 4095).astype(np.int16)


def test_calibrate_records_rest_then_max_and_stores_gains(tmp_path: Path) -> None:
    with FakeDevice(counts=stationary()) as device:
        said: list[str] = []

        def say(text: str) -> None:  # the person relaxes, then contracts, when told to
            said.append(text)
            device.scale = 2.0 if "of max" in text else 0.2

        cfg = config(tmp_path, device.path)
        cal = run_calibration(cfg, rest_s=1.0, max_s=1.0, new_reference=False, prompt=None, say=say)
    assert any("of rest" in s for s in said) and any("of max" in s for s in said)
    assert cal.gain == (1.0, 1.0, 1.0, 1.0), "the first calibration is the reference"
    ratio = np.asarray(cal.max_rms) / np.asarray(cal.rest_rms)
    np.testing.assert_allclose(ratio, 10.0, rtol=0.15)
    assert load_calibration(cfg.calibration_path) == cal


def test_calibrate_refuses_a_flat_recording(tmp_path: Path) -> None:
    with (
        FakeDevice(counts=stationary()) as device,
        pytest.raises(CalibrateError, match="not clearly above rest"),
    ):
        run_calibration(
            config(tmp_path, device.path), rest_s=0.5, max_s=0.5, new_reference=False,
            prompt=None, say=lambda text: None,
        )  # fmt: skip
    assert not (tmp_path / "state" / "calibration.json").exists()


def test_calibrate_cli_without_a_device_says_why(tmp_path: Path) -> None:
    conf = tmp_path / "edge.toml"
    conf.write_text(
        f'state_dir = "{tmp_path}/state"\n[serial]\nurl = "{tmp_path}/nothing"\n'
        f'[bundle]\ndir = "{tmp_path}/b"\n'
    )
    result = subprocess.run(
        [str(EXE), "calibrate", "--config", str(conf), "--yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "calibration failed" in result.stderr and "nothing" in result.stderr
    assert "systemctl stop robohead-edge" in result.stderr
