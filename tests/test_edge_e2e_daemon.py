"""End to end: `robohead-edge run` as its own process, robohead-fw-sim on a real pty, a real
Mosquitto, all started here. The servo pulse widths come from the simulator's --pwm-log, i.e.
from the firmware's own servo model, and every MQTT payload is parsed with the shared topic map.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "edge-rpi" / "tests"))
from dsp_helpers import feature_config, synthetic_record  # noqa: E402
from edge_helpers import constant_bundle, swap_in  # noqa: E402

from robohead.protocol import topics  # noqa: E402
from robohead.protocol.schema import SCHEMA_HASH  # noqa: E402
from robohead.protocol.v1 import telemetry_pb2 as tm  # noqa: E402
from tests.fwsim import FwSim, sim_binary  # noqa: E402
from tests.mosquitto import Mosquitto, Subscriber, mosquitto_broker, wait_for  # noqa: E402

__all__ = ["mosquitto_broker"]
pytestmark = pytest.mark.e2e

EXE = Path(sys.executable).with_name("robohead-edge")
DEVICE = "head-e2e"
T = 20.0
FIRST = (0.2, 0.7, 0.4)
SECOND = (0.9, 0.1, 0.6)
NEUTRAL_US = (1500, 1000, 1000)


def pulses(targets: tuple[float, ...]) -> tuple[int, ...]:
    return tuple(round(1000 + 1000 * t) for t in targets)


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    sim_binary()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    emg, audio = synthetic_record(feature_config(), seconds=3.0, seed=5)
    cfg = feature_config()
    return {
        "first": constant_bundle(root / "first", cfg, emg, audio, FIRST, version="1"),
        "second": constant_bundle(root / "second", cfg, emg, audio, SECOND, version="2"),
        "wrong_hash": constant_bundle(
            root / "wrong", cfg, emg, audio, SECOND, schema_hash=SCHEMA_HASH ^ 1, version="3"
        ),
    }


@dataclass
class Edge:
    """The daemon process and the world around it."""

    proc: subprocess.Popen[bytes]
    config: Path
    link: Path
    bundle: Path
    log: Path
    sub: Subscriber
    sim: FwSim

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def parsed(self, name: str) -> list[object]:
        return [
            topics.parse(name, m.payload)
            for m in self.sub.snapshot()
            if m.topic == topics.topic(DEVICE, name)
        ]

    def latest_telemetry(self) -> tm.Telemetry | None:
        items = [t for t in self.parsed("telemetry/state") if isinstance(t, tm.Telemetry)]
        return items[-1] if items else None

    def servo_at(self, want: tuple[int, ...], tol: int = 12, rows: int = 5) -> bool:
        """The last `rows` servo ticks within `tol` us of `want` (the deadband, 0.01 of the
        1000 us range, may hold the command up to 10 us short of the model's output)."""
        log = self.sim.pwm_rows()[-rows:]
        return len(log) == rows and all(
            all(abs(a - b) <= tol for a, b in zip(r.servo_us, want, strict=True)) for r in log
        )


def write_config(
    tmp: Path, broker: Mosquitto, link: Path, bundle: Path, watch_s: float = 0.3
) -> Path:
    path = tmp / "edge.toml"
    path.write_text(
        f"""
device_id = "{DEVICE}"
state_dir = "{tmp / "state"}"
log_level = "info"

[serial]
url = "{link}"
hello_timeout_s = 0.5

[bundle]
dir = "{bundle}"
watch_interval_s = {watch_s}

[mqtt]
host = "{broker.host}"
port = {broker.port}
telemetry_rate_hz = 20
metrics_interval_s = 0.5
reconnect_min_s = 0.1
reconnect_max_s = 0.5
"""
    )
    return path


def start_sim(tmp: Path, link: Path, *args: str, name: str = "pwm.csv") -> FwSim:
    sim = FwSim("--timeout-ms", "5000", *args, pwm_log=tmp / name).start()
    if link.is_symlink():
        link.unlink()
    os.symlink(sim.pty, link)  # the stable name, as the udev rule gives the ESP32
    return sim


def start_edge(
    tmp: Path,
    broker: Mosquitto,
    bundle_src: Path,
    *sim_args: str,
    env: dict[str, str] | None = None,
    watch_s: float = 0.3,
) -> Edge:
    link = tmp / "robohead-esp32"
    sim = start_sim(tmp, link, *sim_args)
    bundle = tmp / "bundle"
    shutil.copytree(bundle_src, bundle)
    config = write_config(tmp, broker, link, bundle, watch_s)
    sub = Subscriber(broker, f"{topics.ROOT}/{DEVICE}/#").start()
    log = tmp / "edge.log"
    proc = subprocess.Popen(
        [str(EXE), "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        env={**os.environ, **(env or {})},
    )
    return Edge(proc, config, link, bundle, log, sub, sim)


def stop_edge(edge: Edge) -> int:
    if edge.proc.poll() is None:
        edge.proc.send_signal(signal.SIGTERM)
        try:
            edge.proc.wait(15)
        except subprocess.TimeoutExpired:
            edge.proc.kill()
            edge.proc.wait(5)
    return edge.proc.returncode


@pytest.fixture
def edge(tmp_path: Path, mosquitto_broker: Mosquitto, bundles: dict[str, Path]) -> Iterator[Edge]:
    e = start_edge(tmp_path, mosquitto_broker, bundles["first"])
    yield e
    stop_edge(e)
    e.sub.close()
    if e.sim.running():
        e.sim.stop()


def test_handshake_and_servos_follow_the_model(edge: Edge) -> None:
    wait_for(lambda: edge.servo_at(pulses(FIRST)), T, f"servos at {pulses(FIRST)}: {edge.stderr()}")
    rows = edge.sim.pwm_rows()
    latencies = [r.latency_us for r in rows[-10:] if r.latency_us is not None]
    assert latencies, "commands from the model carry window_end_device_time_us"
    assert all(0 < lat < 1_000_000 for lat in latencies), latencies
    status = [s for s in edge.parsed("status") if isinstance(s, tm.Status)]
    assert status and status[-1].state == tm.Status.STATE_ONLINE, status[-1:]
    meta = [m for m in edge.parsed("meta") if isinstance(m, tm.Meta)][-1]
    assert meta.device.board == "sim" and meta.device.schema_hash == SCHEMA_HASH
    assert meta.model_version == "1"


def test_telemetry_and_metrics_parse_with_the_topic_map(edge: Edge) -> None:
    wait_for(lambda: edge.servo_at(pulses(FIRST)), T, "servos following the model")
    edge.sub.wait_for(lambda m: m.topic.endswith("/metrics") and b'"loop"' in m.payload, T)
    tele = edge.latest_telemetry()
    assert tele is not None
    np.testing.assert_allclose(tele.predicted, FIRST, atol=1e-4)
    np.testing.assert_allclose(tele.commanded, FIRST, atol=0.02)
    assert len(tele.measured_us) == 3 and len(tele.emg_level) == 4
    # the first interval also drains what the pty buffered before the daemon opened it
    seen = len(edge.parsed("metrics"))
    wait_for(lambda: len(edge.parsed("metrics")) >= seen + 2, T, "two more metrics")
    metrics = [m for m in edge.parsed("metrics") if isinstance(m, tm.Metrics)][-1]
    assert 80 < metrics.frames_per_second < 120  # 1 kHz / 10 samples per frame
    assert metrics.sequence_gaps == 0 and metrics.crc_errors == 0
    assert metrics.stage_latency["total"].p50_ms > 0


def test_hot_reload_and_wrong_hash_rejection(edge: Edge, bundles: dict[str, Path]) -> None:
    wait_for(lambda: edge.servo_at(pulses(FIRST)), T, "the first model")
    swap_in(bundles["second"], edge.bundle)
    wait_for(lambda: edge.servo_at(pulses(SECOND)), T, "servos at the second model's output")
    swap_in(bundles["wrong_hash"], edge.bundle)
    rejected = edge.sub.wait_for(lambda m: b"bundle_rejected" in m.payload, T)
    event = topics.parse("events", rejected.payload)
    assert isinstance(event, tm.Event) and event.details["code"] == "schema_hash"
    assert f"0x{SCHEMA_HASH ^ 1:08x}" in event.message
    rows = len(edge.sim.pwm_rows())
    wait_for(lambda: len(edge.sim.pwm_rows()) > rows + 25, T, "half a second more of servo ticks")
    assert edge.servo_at(pulses(SECOND), rows=25), "the running model must stay"
    assert edge.proc.poll() is None


def test_simulator_restart_reconnects(edge: Edge, tmp_path: Path) -> None:
    wait_for(lambda: edge.servo_at(pulses(FIRST)), T, "servos before the unplug")
    edge.sim.stop()  # closes the pty: what a USB unplug looks like to the daemon
    degraded = edge.sub.wait_for(
        lambda m: m.topic.endswith("/status") and b"no device" in m.payload, T, "status: no device"
    )
    assert m_state(degraded.payload) == tm.Status.STATE_DEGRADED
    edge.sim = start_sim(tmp_path, edge.link, name="pwm2.csv")
    wait_for(
        lambda: edge.servo_at(pulses(FIRST)), T, f"servos on the new simulator: {edge.stderr()}"
    )
    edge.sub.wait_for(lambda m: b"link_reconnected" in m.payload, T)


def m_state(payload: bytes) -> int:
    status = topics.parse("status", payload)
    assert isinstance(status, tm.Status)
    return int(status.state)


def test_broker_restart_telemetry_resumes_and_motors_never_stop(
    edge: Edge, mosquitto_broker: Mosquitto
) -> None:
    wait_for(lambda: edge.latest_telemetry() is not None, T, "telemetry")
    wait_for(lambda: edge.servo_at(pulses(FIRST)), T, "servos following the model")
    edge.sub.close()
    mosquitto_broker.stop()
    rows = len(edge.sim.pwm_rows())
    wait_for(lambda: len(edge.sim.pwm_rows()) > rows + 50, T, "a second of servo ticks")
    assert edge.servo_at(pulses(FIRST), rows=50), "motors keep following the model meanwhile"
    mosquitto_broker.start()
    edge.sub = Subscriber(mosquitto_broker, f"{topics.ROOT}/{DEVICE}/#").start()
    edge.sub.wait_for(lambda m: m.topic.endswith("/telemetry/state"), T, "telemetry to resume")
    status = edge.sub.wait_for(lambda m: m.topic.endswith("/status"), T)
    assert m_state(status.payload) == tm.Status.STATE_ONLINE
    metrics = edge.sub.wait_for(lambda m: m.topic.endswith("/metrics"), T)
    parsed = topics.parse("metrics", metrics.payload)
    assert isinstance(parsed, tm.Metrics) and parsed.mqtt_dropped > 0


def test_sigterm_neutral_offline_clean_exit(edge: Edge) -> None:
    wait_for(lambda: edge.servo_at(pulses(FIRST)), T, "servos following the model")
    assert stop_edge(edge) == 0, edge.stderr()
    # the simulator's fail-safe timeout is 5 s here, so neutral within it is the daemon's doing
    wait_for(lambda: edge.servo_at(NEUTRAL_US, rows=3), 4.0, "the neutral pose")
    status = edge.sub.wait_for(
        lambda m: m.topic.endswith("/status") and b"STATE_OFFLINE" in m.payload, T
    )
    parsed = topics.parse("status", status.payload)
    assert isinstance(parsed, tm.Status) and parsed.detail == "stopped"
    assert "stopped" in edge.stderr()


def test_schema_mismatch_no_motor_commands(
    tmp_path: Path, mosquitto_broker: Mosquitto, bundles: dict[str, Path]
) -> None:
    e = start_edge(tmp_path, mosquitto_broker, bundles["first"], "--schema-hash", "deadbeef")
    try:
        status = e.sub.wait_for(
            lambda m: m.topic.endswith("/status") and b"schema mismatch" in m.payload,
            T,
            "a mismatch status",
        )
        assert m_state(status.payload) == tm.Status.STATE_DEGRADED
        parsed = topics.parse("status", status.payload)
        assert isinstance(parsed, tm.Status)
        assert "0xdeadbeef" in parsed.detail.lower() and f"{SCHEMA_HASH:08x}" in parsed.detail
        rows = len(e.sim.pwm_rows())
        wait_for(lambda: len(e.sim.pwm_rows()) > rows + 50, T, "a second of servo ticks")
        assert all(r.latency_us is None for r in e.sim.pwm_rows()), "no command may arrive"
        assert e.servo_at(NEUTRAL_US, tol=0, rows=50)
        assert "schema mismatch" in e.stderr()
    finally:
        stop_edge(e)
        e.sub.close()
        e.sim.stop()


def test_sd_notify_ready_and_watchdog_only_while_frames_arrive(
    tmp_path: Path, mosquitto_broker: Mosquitto, bundles: dict[str, Path]
) -> None:
    sock_dir = Path(tempfile.mkdtemp(prefix="notify-"))
    path = sock_dir / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(T)
    e = start_edge(
        tmp_path,
        mosquitto_broker,
        bundles["first"],
        env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"},
    )
    try:
        got: list[bytes] = []

        def receive_until(token: bytes) -> None:
            while token not in (data := sock.recv(4096)):
                got.append(data)
            got.append(data)

        receive_until(b"READY=1")
        receive_until(b"WATCHDOG=1")
        receive_until(b"WATCHDOG=1")
        e.sim.stop()  # frames stop: the watchdog must starve
        sock.settimeout(0.2)
        quiet_since = None
        pets_after = 0
        for _ in range(15):  # 3 s of listening in 0.2 s slices
            try:
                data = sock.recv(4096)
            except TimeoutError:
                quiet_since = quiet_since or len(got)
                continue
            got.append(data)
            if b"WATCHDOG=1" in data and quiet_since is not None:
                pets_after += 1
        assert pets_after == 0, f"WATCHDOG=1 while no frames arrived: {got[-5:]}"
    finally:
        stop_edge(e)
        e.sub.close()
        sock.close()
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_validate_config_reports_errors_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "edge.toml"
    bad.write_text('[mqtt]\nport = "x"\nbogus = 1\n')
    result = subprocess.run(
        [str(EXE), "run", "--config", str(bad), "--validate-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{bad}:2" in result.stderr and "mqtt.port" in result.stderr
    assert f"{bad}:3: unknown key `mqtt.bogus`" in result.stderr
    good = tmp_path / "good.toml"
    good.write_text("[mqtt]\nport = 1884\n")
    ok = subprocess.run(
        [str(EXE), "run", "--config", str(good), "--validate-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "configuration OK" in ok.stdout


def test_sighup_reloads_the_bundle(
    tmp_path: Path, mosquitto_broker: Mosquitto, bundles: dict[str, Path]
) -> None:
    e = start_edge(tmp_path, mosquitto_broker, bundles["first"], watch_s=0)  # no watching
    try:
        wait_for(lambda: e.servo_at(pulses(FIRST)), T, "the first model")
        swap_in(bundles["second"], e.bundle)
        e.proc.send_signal(signal.SIGHUP)  # what `systemctl reload robohead-edge` sends
        wait_for(lambda: e.servo_at(pulses(SECOND)), T, f"the reloaded model: {e.stderr()}")
        loaded = [
            ev
            for ev in e.parsed("events")
            if isinstance(ev, tm.Event) and ev.kind == "bundle_loaded"
        ]
        assert loaded[-1].details["trigger"] == "sighup"
    finally:
        stop_edge(e)
        e.sub.close()
        e.sim.stop()
