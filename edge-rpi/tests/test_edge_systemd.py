"""The systemd unit: `systemd-analyze verify` silent, `security` exposure <= 5.0, serial visible."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "robohead-edge.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")


def _unit() -> dict[str, list[str]]:
    """Every key of [Service] with all its values (systemd allows repeats)."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        values.setdefault(f"{section}.{key}", []).append(value)
    return values


def _root_with_unit(tmp_path: Path) -> Path:
    """A root tree holding the unit, systemd's own units and the executables it names."""
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system" / UNIT.name)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for key in ("Service.ExecStart", "Service.ExecReload"):
        for command in _unit()[key]:
            exe = root / command.split()[0].lstrip("/")
            exe.parent.mkdir(parents=True, exist_ok=True)
            exe.write_text("#!/bin/sh\n")
            exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return root


@needs_analyze
def test_verify_prints_nothing_on_stderr(tmp_path: Path) -> None:
    root = _root_with_unit(tmp_path)
    result = subprocess.run(
        [ANALYZE, "verify", f"--root={root}", UNIT.name],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    assert result.stderr == "", result.stderr
    assert result.returncode == 0


@needs_analyze
def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The verify check above is meaningful: a typo in the unit does produce stderr."""
    root = _root_with_unit(tmp_path)
    unit = root / "etc/systemd/system" / UNIT.name
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict"))
    result = subprocess.run(
        [ANALYZE, "verify", f"--root={root}", UNIT.name],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ProtectSytem" in result.stderr


@needs_analyze
def test_security_exposure_is_at_most_5() -> None:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 5.0


def test_unit_promises() -> None:
    unit = _unit()
    assert unit["Service.Type"] == ["notify"]
    assert unit["Service.Restart"] == ["on-failure"]
    assert unit["Service.WatchdogSec"]
    assert unit["Service.ProtectSystem"] == ["strict"]
    assert unit["Service.StateDirectory"] == ["robohead-edge"]
    assert unit["Service.User"] != ["root"]
    assert "dialout" in unit["Service.SupplementaryGroups"][0].split()
    # the serial port stays visible: no PrivateDevices, and the USB serial majors are allowed
    assert "Service.PrivateDevices" not in unit
    allowed = " ".join(unit["Service.DeviceAllow"])
    assert "char-ttyUSB" in allowed and "char-ttyACM" in allowed
    assert unit["Service.ExecStart"][0].split()[0].startswith("/opt/")


def test_unit_parses_as_ini() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    assert set(parser.sections()) == {"Unit", "Service", "Install"}
