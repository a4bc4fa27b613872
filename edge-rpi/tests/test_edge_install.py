"""install.sh stages the right files; deploy.sh swaps a verified bundle in and refuses a bad one.

The Pi is a local directory here: fake `ssh`/`scp`/`systemctl` on PATH run the same commands
locally, so the scripts' logic (verify, stage, swap, restart) runs for real.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

EDGE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EDGE / "tests"))
from dsp_helpers import feature_config, synthetic_record  # noqa: E402
from edge_helpers import constant_bundle  # noqa: E402

EXE = Path(sys.executable).with_name("robohead-edge")


def test_install_stages_config_udev_rule_and_unit(tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = {**os.environ, "DESTDIR": str(root), "SKIP_SYSTEM": "1", "SKIP_VENV": "1"}
    run = subprocess.run(
        ["bash", str(EDGE / "install.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    config = root / "etc/robohead/edge.toml"
    assert config.read_text() == (EDGE / "edge.example.toml").read_text()
    unit = root / "etc/systemd/system/robohead-edge.service"
    assert unit.read_text() == (EDGE / "systemd/robohead-edge.service").read_text()
    rules = (root / "etc/udev/rules.d/99-robohead-esp32.rules").read_text()
    assert 'SYMLINK+="robohead-esp32"' in rules and 'GROUP="dialout"' in rules
    # a second run keeps the operator's edited config
    config.write_text('device_id = "mine"\n')
    again = subprocess.run(
        ["bash", str(EDGE / "install.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0 and config.read_text() == 'device_id = "mine"\n'


def test_udev_rules_are_well_formed_and_name_what_the_config_opens() -> None:
    from robohead.edge.config import EdgeConfig

    rules = [
        line
        for line in (EDGE / "udev/99-robohead-esp32.rules").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules
    pattern = re.compile(
        r'^SUBSYSTEM=="tty", ATTRS\{idVendor\}=="[0-9a-f]{4}", ATTRS\{idProduct\}=="[0-9a-f]{4}", '
        r'SYMLINK\+="robohead-esp32", GROUP="dialout", MODE="0660"$'
    )
    assert all(pattern.match(r) for r in rules), rules
    assert EdgeConfig().serial.url == "/dev/robohead-esp32"


def test_install_script_is_valid_bash() -> None:
    for script in ("install.sh", "deploy.sh"):
        assert subprocess.run(["bash", "-n", str(EDGE / script)], timeout=30).returncode == 0


def _fake_pi(tmp: Path) -> tuple[dict[str, str], Path, Path]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    log = tmp / "systemctl.log"
    scripts = {
        # ssh HOST COMMAND: run COMMAND here
        "ssh": '#!/bin/bash\nshift\nexec bash -c "$*"\n',
        # scp -q -r SRC HOST:DST: copy locally
        "scp": '#!/bin/bash\nsrc="${@: -2:1}"; dst="${@: -1}"; cp -r "$src" "${dst#*:}"\n',
        "systemctl": (
            f'#!/bin/bash\necho "$@" >> {log}\n[ "$1" = is-active ] && echo active\nexit 0\n'
        ),
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    state = tmp / "pi-state"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SUDO": "",
        "RSYNC": "no-rsync-here",
        "REMOTE_STATE": str(state),
        "REMOTE_EDGE": str(EXE),
        "REMOTE_TMP": str(tmp / "upload"),
        "LOCAL_EDGE": str(EXE),
    }
    return env, state, log


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    emg, audio = synthetic_record(feature_config(), seconds=2.0, seed=2)
    out = tmp_path_factory.mktemp("deploy") / "champion"
    return constant_bundle(out, feature_config(), emg, audio, (0.3, 0.3, 0.3))


def test_deploy_swaps_the_bundle_in_and_restarts(tmp_path: Path, bundle: Path) -> None:
    env, state, log = _fake_pi(tmp_path)
    (state / "bundle").mkdir(parents=True)
    (state / "bundle" / "bundle.json").write_text("{}")  # the previous deploy
    run = subprocess.run(
        ["bash", str(EDGE / "deploy.sh"), "pi@robohead", str(bundle)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    deployed = sorted(p.name for p in (state / "bundle").iterdir())
    assert deployed == sorted(p.name for p in bundle.iterdir())
    assert (state / "bundle.old" / "bundle.json").read_text() == "{}"
    assert "restart robohead-edge" in log.read_text()
    assert not (tmp_path / "upload").exists()


def test_deploy_refuses_a_corrupt_bundle_and_keeps_the_old_one(
    tmp_path: Path, bundle: Path
) -> None:
    env, state, log = _fake_pi(tmp_path)
    env["LOCAL_EDGE"] = "/nonexistent"  # skip the local check: the Pi's own check must catch it
    bad = tmp_path / "bad"
    shutil.copytree(bundle, bad)
    model = bad / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    (state / "bundle").mkdir(parents=True)
    (state / "bundle" / "bundle.json").write_text("{}")
    run = subprocess.run(
        ["bash", str(EDGE / "deploy.sh"), "pi@robohead", str(bad)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode != 0
    assert "sha256" in run.stderr
    assert (state / "bundle" / "bundle.json").read_text() == "{}", "the running bundle stays"
    assert not log.exists(), "no restart after a refused bundle"
