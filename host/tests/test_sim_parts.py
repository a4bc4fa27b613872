"""The simulated loop's parts on their own: process groups, speech layout, PWM log analysis."""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from robohead.host.data.schema import Cue
from robohead.host.sim.analysis import (
    ServoLimit,
    controller_delays,
    loop_latency,
    pose_checks,
    read_pwm_log,
)
from robohead.host.sim.procs import Supervisor
from robohead.host.sim.scenario import Scenario, looped_audio
from robohead.host.sim.settings import load_sim_settings

LIMITS = [
    ServoLimit(1000, 2000, False),
    ServoLimit(1000, 2000, False),
    ServoLimit(1000, 2000, True),
]
STUBBORN = (
    "import signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def test_params_section_loads() -> None:
    settings, root = load_sim_settings()
    assert (root / "params.yaml").is_file() and 0 < settings.pose_tolerance < 1


def test_stop_escalates_to_sigkill_and_takes_the_whole_group(tmp_path: Path) -> None:
    sup = Supervisor(stop_timeout_s=0.5)
    out = tmp_path / "out.txt"
    with out.open("wb") as f:
        child = sup.spawn("stubborn", [sys.executable, "-c", STUBBORN], stdout=f)
    deadline = time.monotonic() + 20
    while not out.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.02)
    grandchild = int(out.read_text().split()[0])
    assert os.getpgid(child.pid) == child.pid  # its own group, away from our Ctrl-C
    t0 = time.monotonic()
    code = sup.stop("stubborn")
    assert code == -signal.SIGKILL  # SIGTERM was ignored, so the bounded wait ended in SIGKILL
    assert time.monotonic() - t0 < 5
    gone = psutil.wait_procs([psutil.Process(grandchild)], timeout=5)[1] == []
    assert gone, "the grandchild survived its group"


def test_wait_until_fails_fast_when_a_watched_child_exits(tmp_path: Path) -> None:
    sup = Supervisor(stop_timeout_s=1)
    sup.spawn(
        "dies",
        [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
        log_path=tmp_path / "dies.log",
    )
    with pytest.raises(RuntimeError, match="dies exited with 3"):
        sup.wait_until(lambda: False, 30, "never", watch=["dies"])
    sup.stop_all()


def test_speech_is_laid_out_on_the_emg_clock_and_loops() -> None:
    rate = 100
    audio = np.ones(150, dtype=np.float32) * 0.5  # 1.5 s of audio
    out = looped_audio(audio, rate, offset_s=0.2, period_s=1.0, total_s=3.0)
    assert out.shape == (300,)
    # Period 1 s, audio from 0.2 s for 1.5 s: it wraps into the next period's first 0.7 s.
    one = out[:100]
    assert np.all(one[20:] >= 0.5) and np.all(one[:20] == 0.5)  # wrapped tail from the last loop
    assert np.array_equal(out[:100], out[100:200])


def _scenario() -> Scenario:
    n = 2000  # 2 s at 1 kHz: raise_brows from 0.5 to 1.0 s, ground truth from 0.6 s
    targets = np.zeros((n, 3), dtype=np.float32)
    targets[:, 0] = 0.5
    targets[600:1000, 0] = 1.0
    return Scenario(
        session_dir=Path("."),
        emg_csv=Path("emg.csv"),
        speech_wav=None,
        rate_hz=1000.0,
        n_samples=n,
        cues=(
            Cue(0.0, 0.5, "neutral", ""),
            Cue(0.5, 1.0, "raise_brows", ""),
            Cue(1.0, 2.0, "neutral", ""),
        ),
        targets=targets,
        motor_names=("brows", "smile", "jaw"),
        poses={"neutral": (0.5, 0.0, 0.0), "raise_brows": (1.0, 0.0, 0.0)},
    )


def _write_log(
    path: Path, brows_us: list[int], latency: list[int | None], partial: bool = False
) -> None:
    lines = ["device_time_us,servo0_us,servo1_us,servo2_us,latency_us"]
    for i, (b, lat) in enumerate(zip(brows_us, latency, strict=True)):
        lines.append(f"{i * 20000},{b},1000,2000,{'' if lat is None else lat}")
    text = "\n".join(lines) + "\n" + ("60000,15" if partial else "")
    path.write_text(text)


def test_pwm_log_latency_and_poses(tmp_path: Path) -> None:
    # 4 s of ticks (two loops of the 2 s scenario); brows go up 120 ms behind the truth each loop.
    brows = []
    for i in range(200):
        t = (i * 0.02) % 2.0
        brows.append(2000 if 0.72 <= t < 1.1 else 1500)
    latency = [10_000 + (i % 5) * 1000 if i % 2 else None for i in range(200)]
    path = tmp_path / "pwm.csv"
    _write_log(path, brows, latency, partial=True)
    log = read_pwm_log(path)
    assert len(log) == 200 and log.tick_us == 20000
    assert math.isnan(log.latency_us[0]) and log.latency_us[1] == 11000
    lat = loop_latency(log)
    assert lat.n == 100 and lat.p50_ms == 12.0 and lat.max_ms == 14.0
    assert log.targets(LIMITS)[0].tolist() == [0.5, 0.0, 0.0]  # jaw inverted: 2000 us -> 0
    checks = pose_checks(log, _scenario(), LIMITS, tolerance=0.1, settle_s=0.2)
    assert [c.label for c in checks] == ["raise_brows", "raise_brows"]
    assert all(c.reached and c.best == 1.0 for c in checks)
    assert all(abs(c.delay_s - 0.12) < 1e-6 for c in checks)
    flat = read_pwm_log(path).since(0)
    flat.servo_us[:, 0] = 1500
    assert not any(c.reached for c in pose_checks(flat, _scenario(), LIMITS, tolerance=0.1))


def test_controller_delay_is_the_sum_of_its_parts() -> None:
    emg, voice = controller_delays(
        emg_window_ms=150,
        audio_window_ms=32,
        loop_p50_ms=12.0,
        processing_p50_ms=2.0,
        servo_period_ms=20.0,
    )
    assert emg.total_ms == 75 + 2 + 10 + 20
    assert voice.total_ms == 16 + 2 + 10 + 20
    assert emg.as_dict()["transport_ms"] == 10
