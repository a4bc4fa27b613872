"""Faults around the edge daemon and what the user keeps: bad bundles and a broker that is away.

- a bundle that is truncated, tampered (with or without re-hashing), of the wrong schema hash or
  the wrong channel count is rejected with a reason (reply, event, counter) and the old model
  keeps driving the motors;
- the broker absent at start, then killed and restarted: the motors never stop (no gap near the
  firmware's fail-safe timeout), the daemon reconnects, and while the broker is away its memory
  and paho's queue stay bounded (measured with telemetry and raw sEMG streaming at full rate);
- a calibration that cannot be saved is a refusal with the reason, not a dead daemon.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "edge-rpi" / "tests"))
from dsp_helpers import params, synthetic_record  # noqa: E402
from edge_helpers import constant_bundle, swap_in  # noqa: E402

from robohead.edge.bundle import MANIFEST_NAME, BundleManifest, manifest_digest, sha256_file  # noqa: E402
from robohead.edge.dsp import FeatureConfig  # noqa: E402
from robohead.edge.fakedevice import FakeDevice  # noqa: E402
from robohead.protocol import topics  # noqa: E402
from robohead.protocol.schema import SCHEMA_HASH  # noqa: E402
from robohead.protocol.v1 import telemetry_pb2 as tm  # noqa: E402
from tests.edge_harness import (  # noqa: E402
    DEVICE,
    MODEL_TARGETS,
    Running,
    make_bundle,
    start,
    stationary_counts,
)
from tests.fuzzing import record  # noqa: E402
from tests.mosquitto import Mosquitto, Subscriber, free_port, wait_for  # noqa: E402

T = 20.0
EXE = Path(sys.executable).with_name("robohead-edge")
FAILSAFE_S = (
    yaml.safe_load((REPO / "params.yaml").read_text())["firmware"]["command_timeout_ms"] / 1e3
)


def _converged(r: Running, targets: tuple[float, ...], last: int = 5, tol: float = 0.02) -> bool:
    cmds = r.motor_commands()[-last:]
    return len(cmds) == last and all(np.allclose(c.targets, targets, atol=tol) for c in cmds)


# ---- bad bundles ----------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    model = path / "model.onnx"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])


def _flip(path: Path) -> None:
    model = path / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x40
    model.write_bytes(bytes(data))


def _flip_and_rehash(path: Path) -> None:
    """Someone edits the weights AND fixes every hash: only the golden vector can tell."""
    model = path / "model.onnx"
    data = bytearray(model.read_bytes())
    # the constant model's bias is the last initializer: change a float32 in the tail
    data[-6] ^= 0x10
    model.write_bytes(bytes(data))
    raw = json.loads((path / MANIFEST_NAME).read_text())
    raw["files"]["model.onnx"] = sha256_file(model)
    raw["manifest_sha256"] = manifest_digest(BundleManifest.model_validate(raw))
    (path / MANIFEST_NAME).write_text(json.dumps(raw))


@pytest.fixture(scope="module")
def bad_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad-bundles")
    good = make_bundle(root / "good")
    out: dict[str, Path] = {"good": good}
    for name, damage in (
        ("truncated", _truncate),
        ("tampered", _flip),
        ("tampered_rehashed", _flip_and_rehash),
    ):
        dst = root / name
        shutil.copytree(good, dst)
        damage(dst)
        out[name] = dst
    out["wrong_schema_hash"] = make_bundle(
        root / "wrong_hash", (0.9, 0.1, 0.6), schema_hash=SCHEMA_HASH ^ 0x1
    )
    p = params()
    three = ["frontalis", "corrugator", "zygomaticus"]
    cfg3 = FeatureConfig.from_params(
        p["dsp"],
        sampling_rate_hz=p["device"]["sampling_rate_hz"],
        adc_bits=p["device"]["adc_bits"],
        channels=three,
        audio_rate_hz=p["audio"]["sampling_rate_hz"],
    )
    emg, audio = synthetic_record(cfg3, seconds=3.0, seed=5)
    out["wrong_channels"] = constant_bundle(root / "three", cfg3, emg, audio, (0.9, 0.1, 0.6))
    return out


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, bad_bundles: dict[str, Path]
) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("faults-daemon")
    (tmp / "mq").mkdir()
    with Mosquitto(workdir=tmp / "mq") as broker:
        r = start(tmp, broker, bad_bundles["good"])
        yield r
        r.stop()


EXPECTED_CODE = {
    "truncated": "sha256",
    "tampered": "sha256",
    "tampered_rehashed": ("model", "golden"),
    "wrong_schema_hash": "schema_hash",
    "wrong_channels": ("channels", "device"),
}


@pytest.mark.parametrize("kind", list(EXPECTED_CODE))
def test_bad_bundle_is_rejected_and_the_old_model_keeps_running(
    running: Running, bad_bundles: dict[str, Path], kind: str
) -> None:
    wait_for(lambda: _converged(running, MODEL_TARGETS), T, "the good model driving")
    state = running.daemon.state
    rejected = state.bundles_rejected
    events_before = len(running.sub.snapshot())
    swap_in(bad_bundles[kind], running.bundle)
    reply = running.command("reload_model", b'{"request_id": "r-%s"}' % kind.encode(), f"r-{kind}")
    assert not reply.ok and reply.error, reply
    wait_for(lambda: state.bundles_rejected > rejected, T, "the rejection to be counted")
    events = [
        topics.parse("events", m.payload)
        for m in running.sub.snapshot()[events_before:]
        if m.topic == topics.topic(DEVICE, "events")
    ]
    codes = {
        e.details.get("code")
        for e in events
        if isinstance(e, tm.Event) and e.kind == "bundle_rejected"
    }
    want = EXPECTED_CODE[kind]
    assert codes & ({want} if isinstance(want, str) else set(want)), (codes, reply.error)
    # the old model keeps driving: 25 more commands, all at its targets
    n = len(running.motor_commands())
    wait_for(lambda: len(running.motor_commands()) >= n + 25, T, "25 more MotorCommands")
    assert _converged(running, MODEL_TARGETS, last=25), "the old model must keep the motors"
    assert running.alive()
    swap_in(bad_bundles["good"], running.bundle)
    ok = running.command(
        "reload_model", b'{"request_id": "back-%s"}' % kind.encode(), f"back-{kind}"
    )
    assert ok.ok, ok


def test_calibration_that_cannot_be_saved_is_refused(
    tmp_path: Path, bad_bundles: dict[str, Path]
) -> None:
    """A state directory that cannot be created (here: its parent is a file) must give a
    refusal naming the problem, not an exception out of the daemon's loop."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    (tmp_path / "mq").mkdir()
    with Mosquitto(workdir=tmp_path / "mq") as broker:
        r = start(
            tmp_path, broker, bad_bundles["good"], config={"state_dir": str(blocker / "state")}
        )
        try:
            for i, (phase, scale) in enumerate(((1, 1.0), (2, 4.0))):
                r.device.scale = scale
                body = {
                    "request_id": f"c{i}",
                    "start_calibration": {"phase": phase, "duration_s": 0.3},
                }
                assert r.command("start_calibration", json.dumps(body).encode(), f"c{i}").ok
                wait_for(
                    lambda n=i + 1: (
                        sum(b"calibration_phase_done" in m.payload for m in r.sub.snapshot()) >= n
                    ),
                    T,
                    "a calibration phase",
                )
            r.device.scale = 1.0
            reply = r.command(
                "stop_calibration", b'{"request_id": "s", "stop_calibration": {"save": true}}', "s"
            )
            assert not reply.ok and "not-a-dir" in reply.error, reply
            assert r.alive()
            n = len(r.motor_commands())
            wait_for(lambda: len(r.motor_commands()) >= n + 10, T, "the daemon to keep going")
        finally:
            r.stop()


# ---- the broker away: memory, queue, motors --------------------------------------------------


def _gaps(at: list[float]) -> float:
    return max(np.diff(at)) if len(at) > 1 else 0.0


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


@pytest.mark.slow
def test_broker_absent_killed_restarted_motors_never_stop_memory_bounded(
    tmp_path: Path, bad_bundles: dict[str, Path]
) -> None:
    port = free_port()
    fake = FakeDevice(counts=stationary_counts()).start()
    link = tmp_path / "robohead-esp32"
    os.symlink(fake.path, link)
    bundle = tmp_path / "bundle"
    shutil.copytree(bad_bundles["good"], bundle)
    config = tmp_path / "edge.toml"
    config.write_text(
        f'device_id = "{DEVICE}"\nstate_dir = "{tmp_path / "state"}"\n'
        f'[serial]\nurl = "{link}"\nhello_timeout_s = 0.5\n'
        f'[bundle]\ndir = "{bundle}"\nwatch_interval_s = 0\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nreconnect_min_s = 0.1\n'
        "reconnect_max_s = 1.0\ntelemetry_rate_hz = 100\nmetrics_interval_s = 0.2\n"
        "queue_size = 100\nraw_emg = true\n"
    )
    log = tmp_path / "edge.log"
    (tmp_path / "mq").mkdir()
    broker = Mosquitto(port=port, workdir=tmp_path / "mq")
    proc = subprocess.Popen(
        [str(EXE), "run", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )
    sub: Subscriber | None = None
    try:
        # 1. no broker at all: the motors run from the start
        wait_for(
            lambda: len(fake.commands) >= 50 or proc.poll() is not None,
            T,
            "motors without a broker",
        )
        assert proc.poll() is None, log.read_text()
        outage_rss = []
        t_end = time.monotonic() + 6.0
        while time.monotonic() < t_end:  # 6 s at 100 Hz telemetry + 100 raw chunks/s, all away
            outage_rss.append(_rss_mb(proc.pid))
            time.sleep(0.25)  # sampling interval of a measurement, not a synchronisation
        # 2. the broker appears: the daemon connects within its reconnect backoff
        appeared = time.monotonic()
        broker.start()
        sub = Subscriber(broker, f"{topics.ROOT}/{DEVICE}/#").start()
        msg = sub.wait_for(lambda m: m.topic.endswith("/status") and b"ONLINE" in m.payload, T)
        first_connect_s = msg.at - appeared
        metrics = sub.wait_for(lambda m: m.topic.endswith("/metrics"), T)
        parsed = topics.parse("metrics", metrics.payload)
        assert isinstance(parsed, tm.Metrics)
        assert parsed.mqtt_dropped > 500, "telemetry while away is dropped and counted"
        # 3. killed and restarted: motors continue, the daemon reconnects
        broker.stop()
        killed = time.monotonic()
        second_rss = []
        while time.monotonic() < killed + 6.0:
            second_rss.append(_rss_mb(proc.pid))
            time.sleep(0.25)
        sub.close()
        sub = None
        broker.start()
        restarted = time.monotonic()
        sub = Subscriber(broker, f"{topics.ROOT}/{DEVICE}/#").start()
        msg = sub.wait_for(lambda m: m.topic.endswith("/status") and b"ONLINE" in m.payload, T)
        reconnect_s = msg.at - restarted
        sub.wait_for(lambda m: m.topic.endswith("/telemetry/state") and m.at > msg.at, T)
        at = [c.at for c in fake.commands if c.at >= appeared - 6.0]
        gap = _gaps(at)
        assert gap < FAILSAFE_S, f"a {gap * 1e3:.0f} ms gap would have tripped the fail-safe"
        # memory: flat while away (the second half of each outage grows less than 3 MB)
        for series in (outage_rss, second_rss):
            half = len(series) // 2
            growth = max(series[half:]) - series[half]
            assert growth < 3.0, f"RSS grew {growth:.1f} MB while the broker was away: {series}"
        assert proc.poll() is None
        report = {
            "first_connect_s": round(first_connect_s, 3),
            "reconnect_s": round(reconnect_s, 3),
            "max_command_gap_ms": round(gap * 1e3, 1),
            "rss_mb_outage": [round(min(outage_rss), 1), round(max(outage_rss), 1)],
            "rss_mb_second_outage": [round(min(second_rss), 1), round(max(second_rss), 1)],
            "mqtt_dropped_first_outage": int(parsed.mqtt_dropped),
        }
        record("broker_outage", report)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if sub is not None:
            sub.close()
        broker.close()
        fake.close()


def test_paho_queue_is_bounded_while_the_broker_is_away(tmp_path: Path) -> None:
    """QoS 1 events and replies wait in paho's queue, at most `mqtt.queue_size` of them; QoS 0
    telemetry is dropped at once. Both are counted; the queue drains on reconnect."""
    from robohead.edge.config import MqttConfig
    from robohead.edge.mqtt_client import EdgeMqtt

    port = free_port()
    cfg = MqttConfig(
        host="127.0.0.1", port=port, queue_size=20, reconnect_min_s=0.1, reconnect_max_s=0.3
    )
    client = EdgeMqtt(cfg, DEVICE)
    client.start()
    try:
        for i in range(2000):
            client.event(tm.Event.LEVEL_INFO, "flood", f"event {i}")
            client.telemetry(tm.Telemetry(timestamp_ms=i))
        queued = len(client._client._out_messages)  # paho's outgoing queue (private)
        assert queued <= cfg.queue_size, queued
        assert client.dropped >= 2 * 2000 - cfg.queue_size - 5
        (tmp_path / "mq").mkdir()
        broker = Mosquitto(port=port, workdir=tmp_path / "mq")
        with broker, Subscriber(broker, f"{topics.ROOT}/{DEVICE}/events") as sub:
            assert client.wait_connected(T)
            wait_for(lambda: not client._client._out_messages, T, "the queue to drain")
            client.event(tm.Event.LEVEL_INFO, "after", "the broker is back")
            sub.wait_for(lambda m: b'"after"' in m.payload, T, "the live event")
    finally:
        client.stop()
