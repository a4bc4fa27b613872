"""The whole loop with no hardware: simulator on a pty, real Mosquitto, real edge daemon.

One run, in phases (each waits on a condition with a bounded timeout, never on a sleep):
1. the scripted person (a synthetic session: every expression and speech, looping) drives the
   servos: in the simulator's PWM log every expression's motor reaches its pose within the
   tolerance, and its delay behind the session's ground truth is measured; every documented
   MQTT topic carries messages that parse; `status` is retained;
2. the daemon is SIGKILLed: the broker's last will makes the retained status OFFLINE, and the
   simulator's fail-safe brings every servo to neutral within its command timeout (+ slew);
3. the daemon is restarted: status ONLINE again, commands flow, the poses are followed again.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from robohead.host.sim.analysis import (
    PoseCheck,
    PwmLog,
    ServoLimit,
    loop_latency,
    pose_checks,
    read_pwm_log,
)
from robohead.host.sim.bundles import copy_bundle, ensure_bundle
from robohead.host.sim.loop import SimLoop
from robohead.host.sim.settings import load_sim_settings
from robohead.protocol import topics
from robohead.protocol.v1 import telemetry_pb2 as tm

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # --import-mode=importlib: reach the shared test helpers
from tests.fwsim import sim_binary  # noqa: E402

START_S = 60.0  # bounded waits for processes to come up
SETTLE_S = 0.5  # a pose may be reached this long after its cue ends (smoothing, slew)
BAD_POSE = b'{"request_id": "bad", "set_pose": {"targets": [2.0, 0.0, 0.0]}}'  # must be refused


@dataclass(frozen=True)
class Msg:
    topic: str
    payload: bytes
    retain: bool


class Recorder:
    """A paho-mqtt 2.x client recording everything under robohead/<device>/#."""

    def __init__(self, port: int, pattern: str, client_id: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[Msg] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(pattern, qos=1)
        self._client.on_subscribe = lambda *a: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError(f"subscription to {pattern}")

    def _on_message(self, client: object, userdata: object, m: object) -> None:
        with self._lock:
            self.messages.append(Msg(m.topic, bytes(m.payload), bool(m.retain)))  # type: ignore[attr-defined]

    def snapshot(self) -> list[Msg]:
        with self._lock:
            return list(self.messages)

    def publish(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)  # polling interval of a bounded wait


def retained_status(port: int, device: str) -> tm.Status:
    """What a client connecting now is told: the broker's retained status."""
    rec = Recorder(port, topics.topic(device, "status"), f"e2e-probe-{time.monotonic_ns()}")
    try:
        wait_for(lambda: bool(rec.snapshot()), 10, "the retained status")
        first = rec.snapshot()[0]
        assert first.retain, "status must be retained"
        msg = topics.parse("status", first.payload)
        assert isinstance(msg, tm.Status)
        return msg
    finally:
        rec.close()


def status_is(port: int, device: str, state: int) -> Callable[[], bool]:
    return lambda: retained_status(port, device).state == state


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings, root = load_sim_settings(REPO / "params.yaml")
    src = ensure_bundle(root, root / settings.bundle)  # trains one (make train) when missing
    return copy_bundle(src, tmp_path_factory.mktemp("bundle") / "bundle")


@pytest.fixture
def loop(bundle: Path, tmp_path: Path) -> Iterator[tuple[SimLoop, list[Recorder]]]:
    settings, root = load_sim_settings(REPO / "params.yaml")
    sim = SimLoop(
        settings,
        root,
        workdir=tmp_path / "sim",
        bundle=bundle,
        fw_sim=sim_binary(),  # (re)built from the current firmware sources
        audio_loop_s=120,
    )
    recorders: list[Recorder] = []

    def subscribe(port: int) -> None:  # before the edge starts, so nothing is missed
        recorders.append(Recorder(port, f"{topics.ROOT}/{settings.device_id}/#", "e2e-recorder"))

    try:
        sim.start(before_edge=subscribe)
        yield sim, recorders
    finally:
        for rec in recorders:
            rec.close()
        sim.stop()
        survivors = {name: pid for name, pid in sim.pids().items()}
        assert not survivors, f"still running after stop: {survivors}"
        for name in ("edge.log", "fw-sim.log"):
            path = tmp_path / "sim" / name
            if path.exists():
                print(f"--- {name}\n{path.read_text(errors='replace')[-3000:]}")


def limits_from(meta: tm.Meta) -> list[ServoLimit]:
    return [ServoLimit(s.min_us, s.max_us, s.inverted) for s in meta.device.servos]


def describe(checks: list[PoseCheck]) -> str:
    return "\n".join(
        f"  {c.label:>12} {c.motor:>6} at {c.cue_start_s:6.2f} s: pose {c.pose:.2f}, best "
        f"{c.best:.2f} {'ok' if c.reached else 'MISSED'}, delay "
        f"{c.delay_s * 1000:.0f} ms"
        for c in checks
    )


def log_until(sim: SimLoop, t_us: float, timeout: float) -> PwmLog:
    """The PWM log once it reaches device time `t_us`."""
    box: list[PwmLog] = []

    def far_enough() -> bool:
        box[:] = [read_pwm_log(sim.paths.pwm_log)]
        return len(box[0]) > 0 and box[0].time_us[-1] >= t_us

    wait_for(far_enough, timeout, f"the simulator's clock to reach {t_us / 1e6:.1f} s")
    return box[0]


def test_whole_loop(
    loop: tuple[SimLoop, list[Recorder]], record_property: Callable[..., None]
) -> None:
    sim, (rec,) = loop
    scenario = sim.scenario
    assert scenario is not None
    device = sim.device_id
    period_us = scenario.period_s * 1e6
    tolerance = sim.settings.pose_tolerance

    # ---- phase 1: a full pass of the scripted expressions ------------------------------------
    wait_for(status_is(sim.port, device, tm.Status.STATE_ONLINE), START_S, "status ONLINE")
    metas = [m for m in rec.snapshot() if m.topic.endswith("/meta")]
    meta = topics.parse("meta", metas[-1].payload)
    assert isinstance(meta, tm.Meta) and meta.model_name and meta.device.servos
    limits = limits_from(meta)
    # Commands: raw sEMG on and off (telemetry/raw_emg), set_mode (an ok reply) and one without
    # a pose out of range (a refusal that says why).
    for name, cmd in (
        ("start_raw_stream", tm.Command(request_id="raw-on", start_raw_stream=tm.StartRawStream())),
        ("set_mode", tm.Command(request_id="auto", set_mode=tm.SetMode(mode=tm.MODE_AUTO))),
    ):
        rec.publish(topics.topic(device, f"cmd/{name}"), topics.encode(f"cmd/{name}", cmd))
    wait_for(
        lambda: sum(m.topic.endswith("/telemetry/raw_emg") for m in rec.snapshot()) >= 20,
        20,
        "raw sEMG chunks",
    )
    stop = tm.Command(request_id="raw-off", stop_raw_stream=tm.StopRawStream())
    rec.publish(
        topics.topic(device, "cmd/stop_raw_stream"), topics.encode("cmd/stop_raw_stream", stop)
    )
    rec.publish(topics.topic(device, "cmd/set_pose"), BAD_POSE)

    log = log_until(sim, period_us + (SETTLE_S + 0.3) * 1e6, START_S + scenario.period_s)
    first = log.between(0, period_us + (SETTLE_S + 0.3) * 1e6)
    checks = pose_checks(first, scenario, limits, tolerance=tolerance, settle_s=SETTLE_S)
    labels = {c.label for c in checks}
    assert labels >= {e for e in scenario.poses if e != "neutral"} & {
        c.label for c in scenario.cues
    }
    assert all(c.reached for c in checks), "a pose was not reached:\n" + describe(checks)
    delays = [c.delay_s for c in checks if math.isfinite(c.delay_s)]
    assert len(delays) >= len(checks) // 2, describe(checks)
    lat = loop_latency(first)
    assert lat.n > 0.5 * scenario.period_s * 50, f"too few windowed commands: {lat}"
    record_property(
        "pose_delays", json.dumps({f"{c.label}/{c.motor}": round(c.delay_s, 3) for c in checks})
    )
    record_property("loop_latency_ms", json.dumps(lat.as_dict()))
    print(f"loop latency {lat}\n{describe(checks)}")

    # Every documented topic carried messages, and every message parses.
    msgs = rec.snapshot()
    seen: set[str] = set()
    for m in msgs:
        if m.payload == BAD_POSE:
            continue  # our own invalid command, echoed by the broker
        dev_id, name = topics.split(m.topic)
        assert dev_id == device
        topics.parse(name, m.payload)  # raises PayloadError naming the topic and field
        seen.add(topics.spec(name).pattern)
    assert seen == {s.pattern for s in topics.TOPICS}, (
        f"no messages on {set(s.pattern for s in topics.TOPICS) - seen}"
    )
    replies = {
        m.topic: topics.parse(topics.split(m.topic)[1], m.payload)
        for m in msgs
        if m.topic.endswith("/reply")
    }
    assert any(not r.ok and r.error for r in replies.values()), replies  # type: ignore[attr-defined]
    assert any(r.ok for r in replies.values()), replies  # type: ignore[attr-defined]

    # ---- phase 2: the daemon dies -------------------------------------------------------------
    killed_us = sim.kill_edge()
    assert killed_us is not None
    wait_for(
        status_is(sim.port, device, tm.Status.STATE_OFFLINE),
        15,
        "retained status OFFLINE (last will)",
    )
    timeout_ms = meta.device.command_timeout_ms
    neutral_us = [s.neutral_us for s in meta.device.servos]
    step_us = min(s.max_step_us for s in meta.device.servos)
    at_kill = read_pwm_log(sim.paths.pwm_log).since(killed_us - 40_000)
    worst = max(abs(at_kill.servo_us[0, i] - neutral_us[i]) for i in range(len(neutral_us)))
    tick_ms = at_kill.tick_us / 1000
    bound_ms = timeout_ms + math.ceil(worst / step_us) * tick_ms + 3 * tick_ms
    after = log_until(sim, killed_us + (bound_ms + 200) * 1000, 15).since(killed_us)
    at_neutral = [
        int(t)
        for t, row in zip(after.time_us, after.servo_us, strict=True)
        if list(row) == neutral_us
    ]
    assert at_neutral, f"servos never reached neutral {neutral_us} after the daemon died"
    neutral_ms = (at_neutral[0] - killed_us) / 1000
    assert neutral_ms <= bound_ms, f"neutral after {neutral_ms:.0f} ms > {bound_ms:.0f} ms"
    assert all(math.isnan(v) for v in after.since(killed_us + 100_000).latency_us)
    record_property("neutral_after_kill_ms", neutral_ms)

    # ---- phase 3: restart, and everything recovers ---------------------------------------------
    sim.start_edge()
    wait_for(
        status_is(sim.port, device, tm.Status.STATE_ONLINE),
        START_S,
        "status ONLINE after the restart",
    )
    restart_us = log_until(sim, 0, 5).time_us[-1]
    # The next complete pass of the scripted expressions, after the restart.
    next_loop_us = (math.floor(restart_us / period_us) + 1) * period_us
    end_us = next_loop_us + period_us + (SETTLE_S + 0.3) * 1e6
    again = log_until(sim, end_us, scenario.period_s * 2 + START_S).between(next_loop_us, end_us)
    assert loop_latency(again).n > 0.5 * scenario.period_s * 50
    checks2 = pose_checks(again, scenario, limits, tolerance=tolerance, settle_s=SETTLE_S)
    # Speech needs the audio in step with the sEMG; after a restart mid-stream the edge's WAV
    # replay starts again at 0 while the simulator's replay does not, so only sEMG poses count.
    emg_checks = [c for c in checks2 if c.label != "speak"]
    assert emg_checks and all(c.reached for c in emg_checks), describe(checks2)
    telemetry = [
        topics.parse("telemetry/state", m.payload)
        for m in rec.snapshot()[len(msgs) :]
        if m.topic.endswith("/telemetry/state")
    ]
    assert any(t.failsafe == 2 for t in telemetry)  # type: ignore[attr-defined]  # ACTIVE again
