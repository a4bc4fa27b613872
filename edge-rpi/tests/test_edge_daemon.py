"""The daemon in-process against a Python fake device on a real pty and a real Mosquitto.

The end-to-end tests in tests/test_edge_e2e_*.py run the same scenarios against the firmware
simulator and the daemon as a separate process; these keep the fast, detailed checks.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from robohead.edge.config import EdgeConfig
from robohead.edge.daemon import Daemon
from robohead.edge.fakedevice import FakeDevice
from robohead.protocol import topics
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
from bundle_helpers import make_bundle  # noqa: E402
from dsp_helpers import feature_config, synthetic_record  # noqa: E402
from edge_helpers import constant_bundle, swap_in  # noqa: E402

from tests.mosquitto import Mosquitto, Subscriber, mosquitto_broker, wait_for  # noqa: E402

__all__ = ["mosquitto_broker"]

DEVICE = "head-unit"
T = 15.0
FIRST = (0.2, 0.7, 0.4)
SECOND = (0.9, 0.1, 0.6)


@pytest.fixture(scope="module")
def record() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_record(feature_config(), seconds=3.0, seed=5)


@pytest.fixture(scope="module")
def stationary() -> np.ndarray:
    """Stationary noise around mid-rail: levels that do not depend on when they are measured."""
    rng = np.random.default_rng(11)
    return np.clip(2048 + 17 + rng.normal(0, 100, (3000, 4)), 0, 4095).astype(np.int16)


@pytest.fixture(scope="module")
def bundles(
    tmp_path_factory: pytest.TempPathFactory, record: tuple[np.ndarray, np.ndarray]
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    emg, audio = record
    cfg = feature_config()
    return {
        "first": constant_bundle(root / "first", cfg, emg, audio, FIRST, version="1"),
        "second": constant_bundle(root / "second", cfg, emg, audio, SECOND, version="2"),
        "wrong_hash": constant_bundle(
            root / "wrong", cfg, emg, audio, SECOND, schema_hash=0x12345678, version="3"
        ),
    }


@dataclass
class Running:
    daemon: Daemon
    device: FakeDevice
    link: Path  # the stable name the daemon opens (a symlink, like the udev rule's)
    bundle: Path
    sub: Subscriber
    thread: threading.Thread

    def commands(self) -> list[dev.MotorCommand]:
        return [c.command for c in self.device.commands]


def start_daemon(
    tmp: Path, broker: Mosquitto, bundle_src: Path | None, record: np.ndarray, **device: object
) -> Running:
    fake = FakeDevice(counts=record, **device).start()  # type: ignore[arg-type]
    link = tmp / "robohead-esp32"
    os.symlink(fake.path, link)
    bundle = tmp / "bundle"
    if bundle_src is not None:
        shutil.copytree(bundle_src, bundle)
    config = EdgeConfig.model_validate(
        {
            "device_id": DEVICE,
            "state_dir": str(tmp / "state"),
            "serial": {"url": str(link), "hello_timeout_s": 0.5},
            "bundle": {"dir": str(bundle), "watch_interval_s": 0.2},
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 0.5,
                "telemetry_rate_hz": 20,
                "metrics_interval_s": 0.5,
            },
            "calibration": {"rest_s": 1.5, "max_s": 1.5},
        }
    )
    sub = Subscriber(broker, f"{topics.ROOT}/{DEVICE}/#").start()
    daemon = Daemon(config)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    return Running(daemon, fake, link, bundle, sub, thread)


@pytest.fixture
def running(
    tmp_path: Path,
    mosquitto_broker: Mosquitto,
    bundles: dict[str, Path],
    stationary: np.ndarray,
) -> Iterator[Running]:
    r = start_daemon(tmp_path, mosquitto_broker, bundles["first"], stationary)
    yield r
    r.daemon.request_stop()
    r.thread.join(10)
    r.sub.close()
    r.device.close()


def parsed(sub: Subscriber, name: str) -> list[object]:
    suffix = "/" + name
    return [topics.parse(name, m.payload) for m in sub.snapshot() if m.topic.endswith(suffix)]


def converged(r: Running, targets: tuple[float, ...], tol: float = 0.02, last: int = 5) -> bool:
    cmds = r.commands()[-last:]
    return len(cmds) == last and all(np.allclose(c.targets, targets, atol=tol) for c in cmds)


def test_handshake_then_motor_commands_at_50_hz(running: Running) -> None:
    wait_for(lambda: len(running.commands()) >= 30, T, "30 MotorCommands")
    cmds = running.commands()
    assert running.daemon.state.schema_ok and running.daemon.state.hello is not None
    assert running.device.pings >= 1, "the daemon announced its schema hash in a Ping"
    at = [c.at for c in running.device.commands[-25:]]
    rate = (len(at) - 1) / (at[-1] - at[0])
    assert 35 < rate < 65, f"{rate:.1f} commands/s"
    seqs = [c.sequence for c in cmds]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    ends = [c.window_end_device_time_us for c in cmds]
    assert all(e > 0 for e in ends) and ends == sorted(ends)
    assert all(0.0 <= v <= 1.0 for c in cmds for v in c.targets)


def test_commands_follow_the_model_and_carry_the_window_time(running: Running) -> None:
    wait_for(lambda: converged(running, FIRST), T, f"commands to converge to {FIRST}")
    state = running.daemon.state
    np.testing.assert_allclose(state.predicted, FIRST, atol=1e-4)
    last = running.commands()[-1]
    # the window end is the time of a sample the device actually sent, at most a few frames old
    _, n, t_us = running.daemon._frame_map[-1]
    newest_sample_us = t_us + (n - 1) * 1000
    assert 0 <= newest_sample_us - last.window_end_device_time_us <= 200_000


def test_status_meta_telemetry_metrics_parse(running: Running) -> None:
    sub = running.sub
    wait_for(lambda: converged(running, FIRST), T, "the model to drive the motors")
    sub.wait_for(lambda m: m.topic.endswith("/metrics") and b"inference" in m.payload, T)
    statuses = [s for s in parsed(sub, "status") if isinstance(s, tm.Status)]
    assert statuses[-1].state == tm.Status.STATE_ONLINE, statuses[-1]
    meta = [m for m in parsed(sub, "meta") if isinstance(m, tm.Meta)][-1]
    assert meta.model_version == "1" and meta.device.device_id == "rh-fake"
    assert list(meta.motor_names) == ["brows", "smile", "jaw"] and len(meta.bundle_sha256) == 64
    tele = [t for t in parsed(sub, "telemetry/state") if isinstance(t, tm.Telemetry)]
    assert tele and len(tele[-1].predicted) == 3 and len(tele[-1].emg_level) == 4
    assert tele[-1].mode == tm.MODE_AUTO and tele[-1].timings.inference_ms > 0
    metrics = [m for m in parsed(sub, "metrics") if isinstance(m, tm.Metrics)][-1]
    assert metrics.frames > 0 and metrics.commands_sent > 0
    assert {"dsp", "inference", "postprocess", "total", "loop"} <= set(metrics.stage_latency)
    assert metrics.stage_latency["inference"].p99_ms >= metrics.stage_latency["inference"].p50_ms


def command(r: Running, name: str, body: dict[str, object]) -> tm.CommandReply:
    rid = f"{name}-{len(r.sub.snapshot())}"
    r.sub.publish(
        topics.topic(DEVICE, f"cmd/{name}"), json.dumps({"request_id": rid, **body}).encode()
    )
    msg = r.sub.wait_for(
        lambda m: m.topic.endswith(f"cmd/{name}/reply") and rid.encode() in m.payload, T
    )
    out = topics.parse(f"cmd/{name}/reply", msg.payload)
    assert isinstance(out, tm.CommandReply)
    return out


def test_modes_and_manual_poses(running: Running) -> None:
    wait_for(lambda: converged(running, FIRST), T, "auto mode")
    assert command(running, "set_mode", {"set_mode": {"mode": "MODE_MANUAL"}}).ok
    assert command(running, "set_pose", {"set_pose": {"expression": "surprise"}}).ok
    wait_for(lambda: converged(running, (1.0, 0.0, 1.0), tol=1e-6), T, "the surprise pose")
    assert command(running, "set_pose", {"set_pose": {"targets": [0.3, 0.3, 0.3]}}).ok
    wait_for(lambda: converged(running, (0.3, 0.3, 0.3), tol=1e-6), T, "explicit targets")
    manual = running.commands()[-1]
    assert manual.window_end_device_time_us == 0, "manual commands come from no window"
    assert command(running, "set_mode", {"set_mode": {"mode": "MODE_NEUTRAL"}}).ok
    wait_for(
        lambda: (
            running.commands()[-1].flags & dev.MOTOR_FLAG_NEUTRAL
            and converged(running, (0.5, 0.0, 0.0), tol=1e-6)
        ),
        T,
        "neutral (the Hello's neutral pulse widths)",
    )
    assert command(running, "set_mode", {"set_mode": {"mode": "MODE_AUTO"}}).ok
    wait_for(lambda: converged(running, FIRST), T, "back to the model")


def test_invalid_commands_are_refused_with_the_field(running: Running) -> None:
    wait_for(lambda: running.daemon.state.schema_ok, T, "the handshake")
    bad = command(running, "set_pose", {"set_pose": {"targets": [0.1, 0.2]}})
    assert not bad.ok and "set_pose.targets" in bad.error and "3" in bad.error
    bad = command(running, "set_pose", {"set_pose": {"expression": "wink"}})
    assert not bad.ok and "wink" in bad.error and "surprise" in bad.error
    bad = command(running, "set_mode", {"set_mode": {}})
    assert not bad.ok and "set_mode.mode" in bad.error
    bad = command(
        running, "start_calibration", {"start_calibration": {"phase": 1, "duration_s": 1e6}}
    )
    assert not bad.ok and "duration_s" in bad.error
    assert running.daemon.state.commands_rejected == 4


def test_hot_reload_by_command_and_by_watching(running: Running, bundles: dict[str, Path]) -> None:
    wait_for(lambda: converged(running, FIRST), T, "the first model")
    swap_in(bundles["second"], running.bundle)
    wait_for(lambda: converged(running, SECOND), T, "the new bundle to be picked up by watching")
    events = [e for e in parsed(running.sub, "events") if isinstance(e, tm.Event)]
    assert any(e.kind == "bundle_loaded" and e.details["trigger"] == "watch" for e in events)
    reply = command(running, "reload_model", {})
    assert reply.ok and "loaded" in reply.detail


def test_wrong_hash_bundle_is_rejected_and_the_old_model_keeps_running(
    running: Running, bundles: dict[str, Path]
) -> None:
    wait_for(lambda: converged(running, FIRST), T, "the first model")
    swap_in(bundles["wrong_hash"], running.bundle)
    reply = command(running, "reload_model", {})
    assert not reply.ok and "schema_hash" in reply.error and "0x12345678" in reply.error
    event = running.sub.wait_for(lambda m: b"bundle_rejected" in m.payload, T)
    parsed_event = topics.parse("events", event.payload)
    assert isinstance(parsed_event, tm.Event) and parsed_event.details["code"] == "schema_hash"
    n = len(running.commands())
    wait_for(lambda: len(running.commands()) >= n + 25, T, "more commands")
    assert converged(running, FIRST, last=25), "the old model must keep driving the motors"
    assert running.daemon.state.bundles_rejected >= 1


def test_schema_mismatch_means_no_motor_commands(
    tmp_path: Path,
    mosquitto_broker: Mosquitto,
    bundles: dict[str, Path],
    record: tuple[np.ndarray, np.ndarray],
) -> None:
    r = start_daemon(
        tmp_path, mosquitto_broker, bundles["first"], record[0], schema_hash=0xDEADBEEF
    )
    try:
        status = r.sub.wait_for(
            lambda m: m.topic.endswith("/status") and b"schema mismatch" in m.payload, T
        )
        detail = topics.parse("status", status.payload)
        assert isinstance(detail, tm.Status) and detail.state == tm.Status.STATE_DEGRADED
        assert "0xdeadbeef" in detail.detail.lower()
        r.sub.wait_for(lambda m: b"schema_mismatch" in m.payload and m.topic.endswith("/events"), T)
        frames = r.daemon.state.frames
        wait_for(lambda: r.daemon.state.frames >= frames + 50, T, "50 more frames")
        assert r.commands() == [], "no MotorCommand may be sent on a schema mismatch"
    finally:
        r.daemon.request_stop()
        r.thread.join(10)
        r.sub.close()
        r.device.close()


def test_device_unplugged_and_back(running: Running, record: tuple[np.ndarray, np.ndarray]) -> None:
    wait_for(lambda: converged(running, FIRST), T, "commands before the unplug")
    opens = running.daemon.link.counters.opens
    running.device.close()  # the pty vanishes, like a USB unplug
    wait_for(lambda: not running.daemon.link.connected, T, "the link to notice")
    replacement = FakeDevice(counts=record[0]).start()
    try:
        os.unlink(running.link)
        os.symlink(replacement.path, running.link)  # udev gives the new device the same name
        wait_for(lambda: running.daemon.link.counters.opens > opens, T, "the reconnect")
        wait_for(lambda: len(replacement.commands) >= 10, T, "commands to the new device")
        assert running.daemon.state.schema_ok
    finally:
        running.device = replacement  # closed by the fixture


def test_calibration_over_mqtt(running: Running) -> None:
    wait_for(lambda: running.daemon.state.schema_ok, T, "the handshake")
    running.device.scale = 0.2
    reply = command(
        running, "start_calibration", {"start_calibration": {"phase": "CALIBRATION_PHASE_REST"}}
    )
    assert reply.ok, reply.error
    running.sub.wait_for(lambda m: b"CALIBRATION_PHASE_REST recorded" in m.payload, T)
    running.device.scale = 2.0
    assert command(running, "start_calibration", {"start_calibration": {"phase": 2}}).ok
    running.sub.wait_for(lambda m: b"CALIBRATION_PHASE_MAX recorded" in m.payload, T)
    running.device.scale = 1.0
    reply = command(running, "stop_calibration", {"stop_calibration": {"save": True}})
    assert reply.ok, reply.error
    path = running.daemon.config.calibration_path
    stored = json.loads(path.read_text())
    assert len(stored["gain"]) == 4 and stored["gain"] == [1.0, 1.0, 1.0, 1.0]  # the reference
    assert running.daemon.gain is not None
    # a second calibration with a weaker signal today: gains compensate relative to the reference
    for scale, phase in ((0.1, "CALIBRATION_PHASE_REST"), (1.0, "CALIBRATION_PHASE_MAX")):
        running.device.scale = scale
        since = time.monotonic()
        assert command(running, "start_calibration", {"start_calibration": {"phase": phase}}).ok
        running.sub.wait_for(
            lambda m, p=phase, t=since: f"{p} recorded".encode() in m.payload and m.at > t, T
        )
    assert command(running, "stop_calibration", {"stop_calibration": {"save": True}}).ok
    again = json.loads(path.read_text())
    np.testing.assert_allclose(again["gain"], 2.0, rtol=0.1)
    assert again["reference_max_rms"] == stored["reference_max_rms"]


def test_raw_emg_stream_on_demand(running: Running) -> None:
    wait_for(lambda: running.daemon.state.schema_ok, T, "the handshake")
    assert command(running, "start_raw_stream", {}).ok
    msg = running.sub.wait_for(lambda m: m.topic.endswith("/telemetry/raw_emg"), T)
    chunk = topics.parse("telemetry/raw_emg", msg.payload)
    assert isinstance(chunk, tm.RawEmgChunk)
    assert chunk.channel_count == 4 and chunk.sampling_rate_hz == 1000
    samples = np.frombuffer(chunk.samples, "<i2").reshape(-1, 4)
    assert samples.shape == (10, 4) and chunk.device_id == DEVICE
    assert command(running, "stop_raw_stream", {}).ok

    def raw() -> int:
        return sum(m.topic.endswith("/telemetry/raw_emg") for m in running.sub.snapshot())

    frames = running.daemon.state.frames
    wait_for(lambda: running.daemon.state.frames > frames + 30, T, "30 frames")
    settled = raw()
    frames = running.daemon.state.frames
    wait_for(lambda: running.daemon.state.frames > frames + 30, T, "30 more frames")
    assert raw() == settled, "raw sEMG keeps flowing after stop_raw_stream"


def test_without_a_bundle_manual_mode_still_drives_the_servos(
    tmp_path: Path, mosquitto_broker: Mosquitto, stationary: np.ndarray
) -> None:
    r = start_daemon(tmp_path, mosquitto_broker, None, stationary)
    try:
        status = r.sub.wait_for(
            lambda m: m.topic.endswith("/status") and b"no model" in m.payload, T
        )
        assert b"STATE_DEGRADED" in status.payload
        frames = r.daemon.state.frames
        wait_for(lambda: r.daemon.state.frames > frames + 30, T, "frames")
        assert r.commands() == [], "auto mode without a model sends nothing"
        assert command(r, "set_mode", {"set_mode": {"mode": "MODE_MANUAL"}}).ok
        assert command(r, "set_pose", {"set_pose": {"targets": [0.8, 0.2, 0.5]}}).ok
        wait_for(lambda: converged(r, (0.8, 0.2, 0.5), tol=1e-6), T, "the manual pose")
        bad = command(r, "set_pose", {"set_pose": {"expression": "smile"}})
        assert not bad.ok and "no bundle loaded" in bad.error
    finally:
        r.daemon.request_stop()
        r.thread.join(10)
        r.sub.close()
        r.device.close()


def test_live_predictions_equal_the_offline_predictor_on_the_same_samples(
    tmp_path: Path, mosquitto_broker: Mosquitto, record: tuple[np.ndarray, np.ndarray]
) -> None:
    """A model whose output depends on the input: the daemon's predictions (telemetry, with the
    window's device time) are the offline Predictor's on the samples the device sent."""
    from robohead.edge.bundle import load_bundle

    emg, _ = record
    (tmp_path / "b").mkdir()  # normalised on silent audio, like the daemon will hear
    bundle_dir, _ = make_bundle(tmp_path / "b", feature_config(), emg, None)
    r = start_daemon(tmp_path, mosquitto_broker, bundle_dir, emg)
    try:
        wait_for(lambda: len(parsed(r.sub, "telemetry/state")) > 30, T, "telemetry")
        start_us = r.daemon.state.stream_start_us
        assert start_us is not None
    finally:
        r.daemon.request_stop()
        r.thread.join(10)
        r.sub.close()
        r.device.close()
    i0 = start_us // 1000  # the fake device: 1 kHz, frame time = its first sample's index
    n = 4000
    stream = emg[(i0 + np.arange(n)) % emg.shape[0]]
    silence = np.zeros(n * 16 + 16, np.float32)  # the daemon has no microphone: silence
    bundle = load_bundle(bundle_dir)
    offline = bundle.predictor().predict_session(stream, silence)
    by_time = {
        int((i0 + e - 1) * 1000): m for e, m in zip(offline.end_sample, offline.motors, strict=True)
    }
    tele = [
        t for t in parsed(r.sub, "telemetry/state") if isinstance(t, tm.Telemetry) and t.predicted
    ]
    checked = [t for t in tele if t.device_time_us in by_time]
    assert len(checked) >= 20, f"{len(checked)} of {len(tele)} telemetry rows matched a window"
    for t in checked:
        np.testing.assert_allclose(t.predicted, by_time[t.device_time_us], atol=1e-5)
    spread = np.ptp(np.array([list(t.predicted) for t in checked]), axis=0)
    assert spread.max() > 1e-2, f"predictions must vary with the input, spread {spread}"
