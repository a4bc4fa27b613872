"""robohead-fw-sim over a real pseudo-terminal, driven by robohead.protocol's Link.

The simulator runs the firmware core's own loop, so these tests check the firmware's behaviour
end to end on the wire: the Hello and its schema hash, a gap-free EmgFrame stream at the
configured rate, servo pulses that reach the commanded targets within the slew limit, and the
fail-safe's return to neutral after commands stop.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # --import-mode=importlib

from robohead.protocol.link import Link
from robohead.protocol.messages import emg_samples
from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.v1 import device_pb2 as pb
from tests.fwsim import FwSim, read_pwm_log, sim_binary, wait_for

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())
RATE = int(PARAMS["device"]["sampling_rate_hz"])
SPF = int(PARAMS["device"]["samples_per_frame"])
CHANNELS = len(PARAMS["channels"])
TIMEOUT_MS = int(PARAMS["firmware"]["command_timeout_ms"])
TICK_US = 20_000


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    sim_binary()  # build once up front so no test's timeouts include compiling


def receive_until(
    link: Link, match: Callable[[pb.DeviceMessage], bool], timeout: float, what: str
) -> pb.DeviceMessage:
    """The first received message that matches, within timeout (others are discarded)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        msg = link.receive(timeout=left)
        if msg is not None and match(msg):
            return msg
    raise TimeoutError(f"no {what} within {timeout} s")


def handshake(link: Link, nonce: int = 7, schema_hash: int = SCHEMA_HASH) -> pb.Hello:
    """Ping asking for a Hello; returns it (everything received before it is stale)."""
    link.send_host(
        pb.HostMessage(ping=pb.Ping(nonce=nonce, schema_hash=schema_hash, request_hello=True))
    )
    msg = receive_until(link, lambda m: m.WhichOneof("payload") == "hello", 5.0, "Hello")
    return msg.hello


def collect(link: Link, kind: str, count: int, timeout: float) -> list[pb.DeviceMessage]:
    out: list[pb.DeviceMessage] = []
    deadline = time.monotonic() + timeout
    while len(out) < count and (left := deadline - time.monotonic()) > 0:
        msg = link.receive(timeout=left)
        if msg is not None and msg.WhichOneof("payload") == kind:
            out.append(msg)
    assert len(out) == count, f"got {len(out)} of {count} {kind} messages in {timeout} s"
    return out


def test_hello_carries_the_schema_hash_and_emg_streams_without_gaps() -> None:
    with (
        FwSim("--rate", str(RATE), "--samples-per-frame", str(SPF)) as sim,
        Link(sim.pty, reconnect=False) as link,
    ):
        link.send_host(pb.HostMessage(ping=pb.Ping(nonce=42, schema_hash=SCHEMA_HASH)))
        pong = receive_until(link, lambda m: m.WhichOneof("payload") == "pong", 5.0, "Pong")
        assert pong.pong.nonce == 42
        hello = handshake(link)
        assert hello.schema_hash == SCHEMA_HASH
        assert hello.peer_schema_hash == SCHEMA_HASH
        assert hello.board == "sim"
        assert hello.reset_reason == pb.RESET_REASON_SIMULATOR
        assert hello.channel_count == CHANNELS
        assert hello.sampling_rate_hz == RATE
        assert hello.samples_per_frame == SPF
        assert hello.command_timeout_ms == TIMEOUT_MS
        assert len(hello.servos) == 3

        n = RATE // SPF  # one second of frames
        t0 = time.monotonic()
        frames = [m.emg for m in collect(link, "emg", n, timeout=10.0)]
        wall = time.monotonic() - t0
        sequences = [f.sequence for f in frames]
        assert sequences == list(range(sequences[0], sequences[0] + n)), "sequence gap"
        steps = np.diff([f.device_time_us for f in frames])
        frame_us = SPF * 1_000_000 / RATE
        # Every frame starts one frame period after the previous (the sampler's clock loop may
        # nudge a timestamp by at most 1/8 of a sample period per sample).
        assert np.all(np.abs(steps - frame_us) <= frame_us / 8 + 1)
        assert abs(steps.mean() - frame_us) < 0.01 * frame_us
        assert 0.5 < wall < 3.0  # real time: about one second of frames took about a second
        for f in frames:
            samples = emg_samples(f)
            assert samples.shape == (SPF, CHANNELS)
            assert np.all((samples >= 0) & (samples < 4096))
    assert sim.returncode == 0


def test_servos_follow_commands_within_the_slew_limit_and_fail_safe_to_neutral(
    tmp_path: Path,
) -> None:
    pwm = tmp_path / "pwm.csv"
    with FwSim(pwm_log=pwm) as sim, Link(sim.pty, reconnect=False) as link:
        hello = handshake(link)
        limits = list(hello.servos)
        target = [1.0, 1.0, 1.0]
        want = [lim.min_us if lim.inverted else lim.max_us for lim in limits]
        neutral = [lim.neutral_us for lim in limits]
        first = receive_until(link, lambda m: m.WhichOneof("payload") == "emg", 5.0, "EmgFrame")
        window_end = first.emg.device_time_us + (SPF - 1) * 1_000_000 // RATE
        # 50 Hz commands for 0.8 s (the longest move is (max - neutral) / max_step ticks).
        for seq in range(40):
            while (msg := link.receive(timeout=0)) is not None:
                if msg.WhichOneof("payload") == "emg":
                    window_end = msg.emg.device_time_us + (SPF - 1) * 1_000_000 // RATE
            link.send_host(
                pb.HostMessage(
                    motor=pb.MotorCommand(
                        sequence=seq, targets=target, window_end_device_time_us=window_end
                    )
                )
            )
            time.sleep(0.02)  # the edge's 50 Hz command cadence, not synchronisation
        # Commands stop: the device must report the timeout and slew back to neutral.
        status = receive_until(
            link,
            lambda m: (
                m.WhichOneof("payload") == "status"
                and m.status.failsafe == pb.FAILSAFE_STATE_TIMEOUT_NEUTRAL
            ),
            5.0,
            "DeviceStatus in TIMEOUT_NEUTRAL",
        )
        assert status.status.counters.failsafe_trips == 1
        assert status.status.counters.clamped_commands == 0
        wait_for(
            lambda: (rows := sim.pwm_rows()) and list(rows[-1].servo_us) == neutral,
            5.0,
            "neutral pulse widths in the PWM log",
        )
    assert sim.returncode == 0

    rows = read_pwm_log(pwm)
    # Neutral from boot until the first command.
    first_cmd = next(i for i, r in enumerate(rows) if r.latency_us is not None)
    assert all(list(r.servo_us) == neutral for r in rows[:first_cmd])
    # Never faster than the slew limit, and the targets are reached.
    for a, b in itertools.pairwise(rows):
        for m in range(3):
            assert abs(b.servo_us[m] - a.servo_us[m]) <= limits[m].max_step_us
    assert any(list(r.servo_us) == want for r in rows)
    # Held at the target until the timeout, then back at neutral within timeout + slew time.
    last_cmd = max(i for i, r in enumerate(rows) if r.latency_us is not None)
    t_cmd = rows[last_cmd].device_time_us
    t_move = next(r.device_time_us for r in rows[last_cmd:] if list(r.servo_us) != want)
    t_neutral = next(r.device_time_us for r in rows[last_cmd:] if list(r.servo_us) == neutral)
    slew_us = (
        max(
            -(-abs(w - n) // lim.max_step_us)
            for w, n, lim in zip(want, neutral, limits, strict=True)
        )
        * TICK_US
    )
    assert t_move - t_cmd >= TIMEOUT_MS * 1000 - TICK_US
    assert t_move - t_cmd <= TIMEOUT_MS * 1000 + 3 * TICK_US
    assert t_neutral - t_cmd <= TIMEOUT_MS * 1000 + 3 * TICK_US + slew_us
    # Loop latency (window end -> servo tick) is logged for commands that carried a window.
    latencies = [r.latency_us for r in rows if r.latency_us is not None]
    assert latencies and all(0 < lat < 500_000 for lat in latencies)


def test_schema_mismatch_is_reported_and_commands_are_ignored(tmp_path: Path) -> None:
    pwm = tmp_path / "pwm.csv"
    with (
        FwSim("--schema-hash", "deadbeef", pwm_log=pwm) as sim,
        Link(sim.pty, reconnect=False) as link,
    ):
        link.send_host(pb.HostMessage(ping=pb.Ping(nonce=1, schema_hash=SCHEMA_HASH)))
        err = receive_until(link, lambda m: m.WhichOneof("payload") == "error", 5.0, "Error")
        assert err.error.code == pb.ERROR_CODE_SCHEMA_MISMATCH
        assert err.error.expected_schema_hash == 0xDEADBEEF
        assert err.error.received_schema_hash == SCHEMA_HASH
        hello = receive_until(link, lambda m: m.WhichOneof("payload") == "hello", 5.0, "Hello")
        assert hello.hello.schema_hash == 0xDEADBEEF
        assert hello.hello.peer_schema_hash == SCHEMA_HASH
        neutral = [s.neutral_us for s in hello.hello.servos]
        for seq in range(5):
            link.send_host(pb.HostMessage(motor=pb.MotorCommand(sequence=seq, targets=[1, 1, 1])))
        status = receive_until(
            link,
            lambda m: m.WhichOneof("payload") == "status" and m.status.counters.rx_frames >= 6,
            5.0,
            "DeviceStatus after the commands",
        )
        assert status.status.failsafe == pb.FAILSAFE_STATE_SCHEMA_MISMATCH
    assert all(list(r.servo_us) == neutral for r in sim.pwm_rows())


def test_emg_csv_replays_the_recorded_counts_exactly(tmp_path: Path) -> None:
    rate, rows = 500, 37
    counts = np.stack([np.arange(rows) * 10 + 100, 4000 - np.arange(rows) * 7], axis=1)
    csv_path = tmp_path / "emg.csv"
    lines = ["device_time_us,sequence,frontalis,zygomaticus"]
    lines += [f"{i * 2000},{i // 5},{a},{b}" for i, (a, b) in enumerate(counts)]
    csv_path.write_text("\n".join(lines) + "\n")
    with (
        FwSim("--emg-csv", str(csv_path), "--samples-per-frame", "5") as sim,
        Link(sim.pty, reconnect=False) as link,
    ):
        hello = handshake(link)
        assert hello.channel_count == 2
        assert hello.sampling_rate_hz == rate  # taken from the CSV's time column
        frames = [m.emg for m in collect(link, "emg", 20, timeout=10.0)]
    got = np.concatenate([emg_samples(f) for f in frames])
    start = int(np.flatnonzero(counts[:, 0] == got[0, 0])[0])
    expected = counts[(start + np.arange(len(got))) % rows]
    np.testing.assert_array_equal(got, expected)  # looping, through the real oversampling


def test_sigint_stops_cleanly_and_bad_scripts_are_named(tmp_path: Path) -> None:
    script = tmp_path / "act.txt"
    script.write_text("# t a0 a1\n0 0 0\n0.5 1.5 0\n")
    bad = subprocess.run(
        [str(sim_binary()), "--pty", "--channels", "2", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2
    assert f"{script}:3:" in bad.stderr and "outside [0, 1]" in bad.stderr

    script.write_text("0 0 0\n0.5 1 0.2\n1.0 0 0\n")
    sim = FwSim("--channels", "2", "--script", str(script)).start()
    with Link(sim.pty, reconnect=False) as link:
        assert handshake(link).channel_count == 2
    assert sim.stop(signal.SIGINT) == 0
    assert "stopped after" in sim.stderr()
