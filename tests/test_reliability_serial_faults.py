"""Serial faults between the edge daemon and the firmware, and what the user keeps.

The real firmware core (robohead-fw-sim on a pty, with its PWM log) and the real daemon talk
through a man-in-the-middle that owns a second pty pair (the daemon opens it by a stable
symlink, like the udev name of the ESP32) and, phase by phase:
  1. flips bits at a bit error rate of 1e-3, both directions;
  2. drops bytes (1 in 1000), both directions;
  3. floods the daemon with 256 kB of garbage (and the firmware with 64 kB);
  4. vanishes in the middle of a frame (both pty ends closed, the symlink gone), then comes back.
After every phase: the daemon is alive, the error counters on both sides rose, every pulse the
firmware put out lay within the servo limits and moved at most max_step_us per 20 ms tick,
every MotorCommand the daemon sent was in [0, 1], and afterwards the link recovers: errors stop,
the servos follow the model again.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from robohead.edge.config import EdgeConfig  # noqa: E402
from robohead.edge.daemon import Daemon  # noqa: E402
from robohead.protocol.framing import FrameDecoder  # noqa: E402
from robohead.protocol.messages import MessageError, decode_host  # noqa: E402
from robohead.protocol.v1 import device_pb2 as dev  # noqa: E402
from tests.edge_harness import MODEL_TARGETS, make_bundle  # noqa: E402
from tests.fuzzing import record  # noqa: E402
from tests.fwsim import FwSim, PwmRow, sim_binary  # noqa: E402
from tests.mosquitto import wait_for  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

T = 20.0
FW = yaml.safe_load((REPO / "params.yaml").read_text())["firmware"]
SERVOS = FW["servos"]


class FaultyWire:
    """Copies bytes between the firmware's pty and a pty pair of its own, adding faults."""

    def __init__(self, device_path: str, link: Path, seed: int = 7) -> None:
        self.link = link
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.ber = 0.0
        self.drop = 0.0
        self.flood_edge = 0  # garbage bytes still to send to the daemon
        self.flood_device = 0
        self.flipped = self.dropped = self.flooded = 0
        self.edge_commands: list[dev.MotorCommand] = []
        self.vanishes = 0
        self._vanish = threading.Event()
        self._edge_frames = FrameDecoder()
        self._dev = os.open(device_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._dev)
        self._master = self._slave = -1
        self._new_pair()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="faulty-wire")
        self._thread.start()

    # --- the pty the daemon sees ---------------------------------------------------------------

    def _new_pair(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(os.ttyname(self._slave), tmp)
        os.replace(tmp, self.link)

    def _close_pair(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    def vanish(self) -> None:
        """Cut the link in the middle of the next frame to the daemon, for half a second."""
        self._vanish.set()

    # --- faults --------------------------------------------------------------------------------

    def _mutate(self, data: bytes) -> bytes:
        if not data:
            return data
        buf = np.frombuffer(data, dtype=np.uint8).copy()
        if self.ber:
            flips = self.np_rng.binomial(len(buf) * 8, self.ber)
            if flips:
                bits = self.np_rng.integers(0, len(buf) * 8, flips)
                np.bitwise_xor.at(buf, bits // 8, (1 << (bits % 8)).astype(np.uint8))
                self.flipped += int(flips)
        if self.drop:
            keep = self.np_rng.random(len(buf)) >= self.drop
            self.dropped += int((~keep).sum())
            buf = buf[keep]
        return buf.tobytes()

    def _garbage(self, n: int) -> bytes:
        # half the time free of 0x00 (frames too long), half uniform (broken COBS and CRC)
        raw = self.np_rng.integers(0, 256, n, dtype=np.uint8)
        if self.rng.random() < 0.5:
            raw[raw == 0] = 0x55
        return raw.tobytes()

    # --- the copy loop ---------------------------------------------------------------------------

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 0.5
        while view and time.monotonic() < deadline:
            _, ready, _ = select.select([], [fd], [], 0.05)
            if not ready:
                continue
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                continue
            except OSError:
                return
            view = view[n:]

    def _edge_sent(self, data: bytes) -> None:
        for payload in self._edge_frames.feed(data):
            try:
                msg = decode_host(payload)
            except MessageError:
                continue
            if msg.WhichOneof("payload") == "motor":
                with self._lock:
                    self.edge_commands.append(msg.motor)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._master < 0:
                if self._stop.wait(0.5):  # the device stays away for half a second
                    return
                self._new_pair()
                continue
            fds = [self._dev, self._master]
            try:
                readable, _, _ = select.select(fds, [], [], 0.01)
            except (OSError, ValueError):
                continue
            if self._dev in readable:
                data = os.read(self._dev, 4096)
                if self._vanish.is_set() and b"\x00" in data:
                    cut = data.index(b"\x00") + 1 + 3  # a few bytes into the next frame
                    self._write(self._master, data[:cut])
                    self._vanish.clear()
                    self.vanishes += 1
                    self._close_pair()
                    continue
                self._write(self._master, self._mutate(data))
            if self._master >= 0 and self._master in readable:
                try:
                    data = os.read(self._master, 4096)
                except OSError:  # the daemon closed its end (it reconnects)
                    data = b""
                self._edge_sent(data)
                self._write(self._dev, self._mutate(data))
            if self.flood_edge and self._master >= 0:
                n = min(self.flood_edge, 4096)
                self._write(self._master, self._garbage(n))
                self.flood_edge -= n
                self.flooded += n
            if self.flood_device:
                n = min(self.flood_device, 1024)
                self._write(self._dev, self._garbage(n))
                self.flood_device -= n

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._close_pair()
        with contextlib.suppress(OSError):
            os.close(self._dev)


@dataclass
class Rig:
    daemon: Daemon
    thread: threading.Thread
    sim: FwSim
    wire: FaultyWire

    def link_counters(self) -> dict[str, int | bool]:
        return self.daemon.link.counters.as_dict()

    def device_counters(self) -> dev.DeviceCounters | None:
        status = self.daemon.state.last_status
        return status.counters if status is not None else None

    def pwm(self) -> list[PwmRow]:
        return self.sim.pwm_rows()


ASAN_BUILD = REPO / "firmware-esp32" / "build" / "asan"  # make firmware-sanitize configures it


@pytest.fixture(scope="module")
def sim_exe() -> Iterator[Path]:
    """The simulator built with ASan + UBSan when that build exists (it does under make test,
    which runs make firmware-sanitize first; rebuilt incrementally here, so never stale),
    otherwise the normal one. A memory error aborts the simulator and fails the test."""
    if (ASAN_BUILD / "CMakeCache.txt").is_file():
        exe = sim_binary(ASAN_BUILD)
        saved = {k: os.environ.get(k) for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS")}
        os.environ["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=1"
        os.environ["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
        try:
            yield exe
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    else:
        yield sim_binary()


@pytest.fixture
def rig(tmp_path: Path, sim_exe: Path) -> Iterator[Rig]:
    bundle = make_bundle(tmp_path / "bundle")
    sim = FwSim(pwm_log=tmp_path / "pwm.csv", binary=sim_exe).start()
    link = tmp_path / "robohead-esp32"
    wire = FaultyWire(sim.pty, link)
    config = EdgeConfig.model_validate(
        {
            "device_id": "head-serial",
            "state_dir": str(tmp_path / "state"),
            "serial": {"url": str(link), "hello_timeout_s": 0.3},
            "bundle": {"dir": str(bundle), "watch_interval_s": 0},
            "mqtt": {"enabled": False},
        }
    )
    daemon = Daemon(config)
    thread = threading.Thread(target=daemon.run, daemon=True, name="edge-daemon")
    thread.start()
    r = Rig(daemon, thread, sim, wire)
    try:
        wait_for(lambda: _following(r), T, "the servos to follow the model")
        yield r
    finally:
        daemon.request_stop()
        thread.join(15)
        wire.close()
        code = sim.stop()
        assert code == 0, f"the simulator exited with {code}: {sim.stderr()[-3000:]}"
        shutil.rmtree(tmp_path / "bundle", ignore_errors=True)


def _pulses(targets: tuple[float, ...]) -> tuple[int, ...]:
    return tuple(
        round(s["min_us"] + (s["max_us"] - s["min_us"]) * t)
        for s, t in zip(SERVOS, targets, strict=True)
    )


def _following(r: Rig, rows: int = 10, tol: int = 12) -> bool:
    return _sim_following(r.sim, rows, tol)


def _sim_following(sim: FwSim, rows: int = 10, tol: int = 12) -> bool:
    """The last `rows` servo ticks at the constant model's pose (within the deadband)."""
    want = _pulses(MODEL_TARGETS)
    log = sim.pwm_rows()[-rows:]
    return len(log) == rows and all(
        all(abs(a - b) <= tol for a, b in zip(row.servo_us, want, strict=True)) for row in log
    )


def _check_outputs(r: Rig) -> None:
    """Every pulse within limits, every step within the slew limit, every command in [0, 1]."""
    rows = r.pwm()
    pulses = np.array([row.servo_us for row in rows])
    lo = np.array([s["min_us"] for s in SERVOS])
    hi = np.array([s["max_us"] for s in SERVOS])
    step = np.array([s["max_step_us"] for s in SERVOS])
    assert (pulses >= lo).all() and (pulses <= hi).all(), "a pulse left the servo limits"
    assert (np.abs(np.diff(pulses, axis=0)) <= step).all(), "a step exceeded max_step_us"
    with r.wire._lock:
        cmds = list(r.wire.edge_commands)
    assert cmds, "the daemon sent no MotorCommand"
    for c in cmds:
        assert len(c.targets) == 3 and all(np.isfinite(v) and 0 <= v <= 1 for v in c.targets)
    assert r.thread.is_alive(), "the daemon died"


def _errors(c: dict[str, int | bool]) -> int:
    return (
        int(c["cobs_errors"])
        + int(c["crc_errors"])
        + int(c["length_errors"])
        + int(c["decode_errors"])
    )


def _device_errors(r: Rig) -> int:
    d = r.device_counters()
    return 0 if d is None else d.cobs_errors + d.crc_errors + d.length_errors + d.decode_errors


def _run_for(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # a fault phase lasts this long (a duration, not a sync)
        time.sleep(0.05)


def _fresh_status(r: Rig, n: int) -> None:
    """Wait for n more DeviceStatus messages (each newer than the previous)."""
    for _ in range(n):
        status = r.daemon.state.last_status
        t0 = status.device_time_us if status is not None else -1

        def newer(t0: int = t0) -> bool:
            s = r.daemon.state.last_status
            return s is not None and s.device_time_us > t0

        wait_for(newer, T, "a new DeviceStatus")


def _recovers(r: Rig, since: float | None = None) -> float:
    """Faults off: the servos follow the model again, and no new error appears for a second.
    Returns how long after `since` (default: now) the servos followed again."""
    r.wire.ber = r.wire.drop = 0.0
    t0 = time.monotonic() if since is None else since
    wait_for(lambda: _following(r), T, "the servos to follow the model again")
    took = time.monotonic() - t0
    _fresh_status(r, 2)  # the device reports its counters at 2 Hz: let them catch up
    before, dev_before = _errors(r.link_counters()), _device_errors(r)
    n = len(r.pwm())
    wait_for(lambda: len(r.pwm()) >= n + 50, T, "one more second of servo ticks")
    assert _errors(r.link_counters()) == before, "errors still rising after the faults stopped"
    assert _device_errors(r) == dev_before
    assert _following(r)
    return took


def test_bit_flips_drops_floods_and_a_vanishing_device(rig: Rig) -> None:
    r = rig
    # 1. bit errors at 1e-3 both ways
    e0, d0 = _errors(r.link_counters()), _device_errors(r)
    r.wire.ber = 1e-3
    _run_for(4.0)
    r.wire.ber = 0.0
    assert r.wire.flipped > 20
    assert _errors(r.link_counters()) > e0, "the edge counted no corrupted frame"
    wait_for(lambda: _device_errors(r) > d0, T, "the firmware to report corrupted frames")
    _check_outputs(r)
    report = {
        "ber_flipped_bits": r.wire.flipped,
        "ber_edge_errors": _errors(r.link_counters()) - e0,
    }
    report["ber_device_errors"] = _device_errors(r) - d0
    report["ber_recover_s"] = round(_recovers(r), 3)
    # 2. dropped bytes
    e1 = _errors(r.link_counters())
    r.wire.drop = 1e-3
    _run_for(3.0)
    r.wire.drop = 0.0
    assert r.wire.dropped > 5
    assert _errors(r.link_counters()) > e1
    _check_outputs(r)
    report["drop_bytes"] = r.wire.dropped
    report["drop_edge_errors"] = _errors(r.link_counters()) - e1
    report["drop_recover_s"] = round(_recovers(r), 3)
    # 3. garbage floods, both ways
    c = r.link_counters()
    d2 = _device_errors(r)
    r.wire.flood_edge, r.wire.flood_device = 256 * 1024, 64 * 1024
    wait_for(lambda: r.wire.flood_edge == 0 and r.wire.flood_device == 0, T, "the floods")
    after = r.link_counters()
    assert int(after["rx_bytes"]) - int(c["rx_bytes"]) > 256 * 1024 * 0.9
    assert int(after["length_errors"]) > int(c["length_errors"]), "no overlong frame counted"
    assert int(after["cobs_errors"]) + int(after["crc_errors"]) > int(c["cobs_errors"]) + int(
        c["crc_errors"]
    )
    wait_for(lambda: _device_errors(r) > d2, T, "the firmware to count the garbage")
    _check_outputs(r)
    report["flood_edge_bytes"] = int(after["rx_bytes"]) - int(c["rx_bytes"])
    report["flood_edge_errors"] = _errors(after) - _errors(c)
    report["flood_device_errors"] = _device_errors(r) - d2
    report["flood_recover_s"] = round(_recovers(r), 3)
    # 4. the device vanishes mid-frame and comes back
    opens = int(r.link_counters()["opens"])
    r.wire.vanish()
    wait_for(lambda: r.wire.vanishes == 1, T, "the cut")
    cut = time.monotonic()
    wait_for(lambda: int(r.link_counters()["opens"]) > opens, T, "the daemon to reconnect")
    report["vanish_reopen_s"] = round(time.monotonic() - cut, 3)  # includes 0.5 s away
    wait_for(lambda: r.daemon.state.schema_ok, T, "a new handshake")
    report["vanish_handshake_s"] = round(time.monotonic() - cut, 3)
    wait_for(lambda: r.daemon.state.predicted is not None, T, "a prediction")
    report["vanish_prediction_s"] = round(time.monotonic() - cut, 3)
    _check_outputs(r)
    report["vanish_recover_s"] = round(_recovers(r, since=cut), 3)
    assert int(r.link_counters()["reconnects"]) >= 1
    report["pwm_ticks_checked"] = len(r.pwm())
    with r.wire._lock:
        report["motor_commands_checked"] = len(r.wire.edge_commands)
    record("serial_faults", report)


def test_edge_killed_servos_fail_safe_to_neutral(tmp_path: Path, sim_exe: Path) -> None:
    """`kill -9` of the daemon (a crash, an OOM kill, the Pi losing power): the firmware holds the
    last pose for its command timeout, then slews to neutral at the slew limit."""
    bundle = make_bundle(tmp_path / "bundle")
    config = tmp_path / "edge.toml"
    with FwSim(pwm_log=tmp_path / "pwm.csv", binary=sim_exe) as sim:
        config.write_text(
            f'device_id = "head-kill"\nstate_dir = "{tmp_path / "state"}"\n'
            f'[serial]\nurl = "{sim.pty}"\nhello_timeout_s = 0.3\n'
            f'[bundle]\ndir = "{bundle}"\nwatch_interval_s = 0\n[mqtt]\nenabled = false\n'
        )
        exe = Path(sys.executable).with_name("robohead-edge")
        log = tmp_path / "edge.log"
        with log.open("wb") as err:
            proc = subprocess.Popen([str(exe), "run", "--config", str(config)], stderr=err)
        try:
            wait_for(lambda: _sim_following(sim) or proc.poll() is not None, T, "the pose")
            assert proc.poll() is None, log.read_text()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        neutral = [s["neutral_us"] for s in _hello_servos()]
        wait_for(lambda: list(sim.pwm_rows()[-1].servo_us) == neutral, T, "neutral")
        rows = sim.pwm_rows()
    last_cmd = max(i for i, row in enumerate(rows) if row.latency_us is not None)
    t_cmd = rows[last_cmd].device_time_us
    held = list(rows[last_cmd].servo_us)
    t_move = next(row.device_time_us for row in rows[last_cmd:] if list(row.servo_us) != held)
    t_neutral = next(row.device_time_us for row in rows[last_cmd:] if list(row.servo_us) == neutral)
    timeout_us = FW["command_timeout_ms"] * 1000
    tick = 20_000
    slew = max(
        -(-abs(h - n) // s["max_step_us"]) for h, n, s in zip(held, neutral, SERVOS, strict=True)
    )
    assert timeout_us - tick <= t_move - t_cmd <= timeout_us + 3 * tick
    assert t_neutral - t_cmd <= timeout_us + 3 * tick + slew * tick
    record(
        "edge_killed",
        {
            "hold_ms": (t_move - t_cmd) / 1000,
            "to_neutral_ms": (t_neutral - t_cmd) / 1000,
            "bound_ms": (timeout_us + 3 * tick + slew * tick) / 1000,
        },
    )


def _hello_servos() -> list[dict[str, int]]:
    """Neutral pulse widths as the firmware computes them from params.yaml (motors.neutral)."""
    neutral = yaml.safe_load((REPO / "params.yaml").read_text())["motors"]["neutral"]
    out = []
    for s, n in zip(SERVOS, neutral, strict=True):
        span = s["max_us"] - s["min_us"]
        us = s["max_us"] - round(n * span) if s["inverted"] else s["min_us"] + round(n * span)
        out.append({**s, "neutral_us": us})
    return out
