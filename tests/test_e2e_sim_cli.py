"""`make sim` runs the whole loop with the monitor in front, and Ctrl-C leaves no process behind.

The test starts `make sim` in its own process group (as a terminal would run it in the
foreground), waits until the simulator's servos follow windowed motor commands, records every
descendant (make, robohead sim, mosquitto, robohead-edge, robohead-fw-sim), sends SIGINT to the
group like a terminal's Ctrl-C, and checks that every one of them is gone within a bounded time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from robohead.host.sim.analysis import read_pwm_log
from robohead.host.sim.bundles import copy_bundle, ensure_bundle
from robohead.host.sim.settings import load_sim_settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # --import-mode=importlib: reach the shared test helpers
from tests.fwsim import sim_binary  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def wait_for(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)  # polling interval of a bounded wait


def test_make_sim_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    settings, root = load_sim_settings(REPO / "params.yaml")
    bundle = copy_bundle(ensure_bundle(root, root / settings.bundle), tmp_path / "bundle")
    sim_binary()  # built (under the test helpers' lock) before make looks at it
    workdir = tmp_path / "sim"
    out = (tmp_path / "stdout.txt").open("wb")
    make = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "-o",
            "firmware",  # built above; do not race other builds of the same tree
            "sim",
            f"SIM_ARGS=--bundle {bundle} --workdir {workdir}",
        ],
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own group: the "terminal" we send Ctrl-C to
        env={**os.environ, "COLUMNS": "140"},
    )
    pwm = workdir / "pwm.csv"
    try:

        def following() -> bool:
            if make.poll() is not None:
                text = (tmp_path / "stdout.txt").read_text(errors="replace")
                raise AssertionError(f"make sim exited with {make.returncode}:\n{text}")
            if not pwm.exists():
                return False
            log = read_pwm_log(pwm)
            return int((log.latency_us == log.latency_us).sum()) >= 50  # 50 windowed commands

        wait_for(following, 120, "the servos to follow the model")
        family = [psutil.Process(make.pid), *psutil.Process(make.pid).children(recursive=True)]
        names = " ".join(" ".join(p.cmdline()) for p in family)
        for part in ("mosquitto", "robohead-edge", "robohead-fw-sim", "robohead sim"):
            assert part in names, f"{part} is not running under make sim: {names}"

        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in the terminal
        make.wait(timeout=60)
        _, alive = psutil.wait_procs(family, timeout=15)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"survivors after Ctrl-C: {[(p.pid, p.cmdline()) for p in alive]}"
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(10)
        out.close()
    text = (tmp_path / "stdout.txt").read_text(errors="replace")
    assert "robohead sim" in text and "loop latency" in text, text[-3000:]
    assert "robohead monitor" in text  # the dashboard was drawn
