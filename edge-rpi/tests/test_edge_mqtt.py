"""The daemon's MQTT client against a real Mosquitto on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from robohead.edge.config import MqttConfig, TlsConfig
from robohead.edge.mqtt_client import EdgeMqtt
from robohead.protocol import topics
from robohead.protocol.v1 import telemetry_pb2 as tm

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # --import-mode=importlib: reach the shared test fixtures
from tests.mosquitto import Mosquitto, Subscriber, mosquitto_broker, wait_for  # noqa: E402

__all__ = ["mosquitto_broker"]  # the fixture, re-exported so pytest finds it here

DEVICE = "head-test"
T = 10.0  # bounded wait for anything network-related


def config(broker: Mosquitto, **overrides: object) -> MqttConfig:
    base: dict[str, object] = dict(
        host=broker.host, port=broker.port, reconnect_min_s=0.1, reconnect_max_s=0.5
    )
    base.update(overrides)
    return MqttConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
def edge(mosquitto_broker: Mosquitto) -> Iterator[EdgeMqtt]:
    client = EdgeMqtt(config(mosquitto_broker), DEVICE)
    client.start()
    assert client.wait_connected(T)
    yield client
    client.stop()


def status_of(payload: bytes) -> tm.Status:
    msg = topics.parse("status", payload)
    assert isinstance(msg, tm.Status)
    return msg


def test_status_and_meta_are_retained_for_late_subscribers(
    mosquitto_broker: Mosquitto, edge: EdgeMqtt
) -> None:
    wanted = topics.topic(DEVICE, "status"), topics.topic(DEVICE, "meta")
    with Subscriber(mosquitto_broker, *wanted) as early:
        edge.set_status(tm.Status.STATE_ONLINE, "running")
        edge.set_meta(tm.Meta(edge_version="1.2.3", motor_names=["brows", "smile", "jaw"]))
        early.wait_for(lambda m: m.topic.endswith("/meta"), T)  # the broker has both now
        early.wait_for(lambda m: b"STATE_ONLINE" in m.payload, T)
    with Subscriber(mosquitto_broker, *wanted) as sub:
        status = sub.wait_for(lambda m: m.topic.endswith("/status") and m.retain, T)
        meta = sub.wait_for(lambda m: m.topic.endswith("/meta") and m.retain, T)
    assert status_of(status.payload).state == tm.Status.STATE_ONLINE
    parsed = topics.parse("meta", meta.payload)
    assert isinstance(parsed, tm.Meta)
    assert parsed.device_id == DEVICE and list(parsed.motor_names) == ["brows", "smile", "jaw"]


def test_clean_stop_leaves_offline_retained(mosquitto_broker: Mosquitto) -> None:
    client = EdgeMqtt(config(mosquitto_broker), DEVICE)
    client.start()
    assert client.wait_connected(T)
    client.set_status(tm.Status.STATE_ONLINE, "running")
    client.stop("SIGTERM")
    with Subscriber(mosquitto_broker, topics.topic(DEVICE, "status")) as sub:
        msg = sub.wait_for(lambda m: m.retain, T)
    status = status_of(msg.payload)
    assert status.state == tm.Status.STATE_OFFLINE and status.detail == "SIGTERM"


def test_last_will_says_offline_when_the_process_dies(mosquitto_broker: Mosquitto) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from robohead.edge.config import MqttConfig
        from robohead.edge.mqtt_client import EdgeMqtt
        from robohead.protocol.v1 import telemetry_pb2 as tm
        cfg = MqttConfig(host="{mosquitto_broker.host}", port={mosquitto_broker.port})
        c = EdgeMqtt(cfg, "{DEVICE}")
        c.start()
        assert c.wait_connected(10)
        c.set_status(tm.Status.STATE_ONLINE, "running")
        print("up", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        with Subscriber(mosquitto_broker, topics.topic(DEVICE, "status")) as sub:
            sub.wait_for(lambda m: status_of(m.payload).state == tm.Status.STATE_ONLINE, T)
            proc.kill()  # no DISCONNECT: the broker must publish the will
            will = sub.wait_for(lambda m: status_of(m.payload).state == tm.Status.STATE_OFFLINE, T)
        assert status_of(will.payload).detail == "connection lost"
    finally:
        proc.kill()
        proc.wait(10)


def test_commands_reach_the_queue_with_their_name(
    mosquitto_broker: Mosquitto, edge: EdgeMqtt
) -> None:
    with Subscriber(mosquitto_broker, "#") as sub:
        sub.publish(topics.topic(DEVICE, "cmd/set_mode"), b'{"set_mode": {"mode": "MODE_MANUAL"}}')
        inbound = edge.commands.get(timeout=T)
        assert inbound.name == "set_mode" and not inbound.retained
        assert b"MODE_MANUAL" in inbound.payload
        edge.reply("set_mode", tm.CommandReply(request_id="1", ok=True, detail="mode MANUAL"))
        reply = sub.wait_for(lambda m: m.topic.endswith("cmd/set_mode/reply"), T)
    parsed = topics.parse("cmd/set_mode/reply", reply.payload)
    assert isinstance(parsed, tm.CommandReply) and parsed.ok


def test_subscribes_to_its_own_commands_only(mosquitto_broker: Mosquitto, edge: EdgeMqtt) -> None:
    with Subscriber(mosquitto_broker, "#") as sub:
        sub.publish(topics.topic("other-head", "cmd/set_mode"), b'{"set_mode":{"mode":1}}')
        sub.publish(topics.topic(DEVICE, "cmd/reload_model"), b"{}")
        inbound = edge.commands.get(timeout=T)
    assert inbound.name == "reload_model"
    assert edge.commands.empty()


def test_broker_down_at_start_then_up(tmp_path: Path) -> None:
    broker = Mosquitto(workdir=tmp_path)
    client = EdgeMqtt(config(broker), DEVICE)
    try:
        client.start()  # returns at once although nothing listens
        assert not client.connected
        client.set_status(tm.Status.STATE_DEGRADED, "waiting")
        client.telemetry(tm.Telemetry(timestamp_ms=1))
        assert client.dropped >= 1, "telemetry while away is dropped and counted"
        broker.start()
        assert client.wait_connected(T)
        with Subscriber(broker, topics.topic(DEVICE, "status")) as sub:
            msg = sub.wait_for(lambda m: b"waiting" in m.payload, T)
        assert status_of(msg.payload).detail == "waiting"
    finally:
        client.stop()
        broker.close()


def test_broker_restart_reconnects_and_republishes_status(
    mosquitto_broker: Mosquitto, edge: EdgeMqtt
) -> None:
    edge.set_status(tm.Status.STATE_ONLINE, "before restart")
    connections = edge.connections
    mosquitto_broker.restart()  # no persistence: the retained status is gone with it
    wait_for(lambda: edge.connections > connections and edge.connected, T, "reconnect")
    with Subscriber(
        mosquitto_broker, topics.topic(DEVICE, "status"), topics.topic(DEVICE, "telemetry/state")
    ) as sub:
        msg = sub.wait_for(lambda m: m.topic.endswith("/status"), T)
        assert status_of(msg.payload).detail == "before restart"
        edge.telemetry(tm.Telemetry(timestamp_ms=42, predicted=[0.1, 0.2, 0.3]))
        tele = sub.wait_for(lambda m: m.topic.endswith("telemetry/state"), T)
    parsed = topics.parse("telemetry/state", tele.payload)
    assert isinstance(parsed, tm.Telemetry) and parsed.timestamp_ms == 42


def test_outgoing_queue_is_bounded_while_the_broker_is_away(tmp_path: Path) -> None:
    broker = Mosquitto(workdir=tmp_path)  # never started
    client = EdgeMqtt(config(broker, queue_size=10), DEVICE)
    try:
        client.start()
        for i in range(50):
            client.event(tm.Event.LEVEL_INFO, "test", f"event {i}")
        assert client.dropped >= 40
    finally:
        client.stop()
        broker.close()


def test_username_and_password(tmp_path: Path) -> None:
    with Mosquitto(workdir=tmp_path, users={"robohead": "s3cret"}) as broker:
        (tmp_path / "pw").write_text("s3cret\n")
        good = EdgeMqtt(config(broker, username="robohead", password_file=tmp_path / "pw"), DEVICE)
        bad = EdgeMqtt(config(broker, username="robohead", password="wrong"), "head-bad")
        anonymous = EdgeMqtt(config(broker), "head-anon")
        try:
            for c in (good, bad, anonymous):
                c.start()
            assert good.wait_connected(T)
            wait_for(lambda: bad.refusals > 0 and anonymous.refusals > 0, T, "CONNACK refusals")
            assert not bad.connected and not anonymous.connected
        finally:
            for c in (good, bad, anonymous):
                c.stop()


def _tls_files(tmp: Path) -> tuple[Path, Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    ca_key, ca, key, csr, cert = (
        tmp / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem")
    )
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=robohead-test-ca", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(key), "-out", str(csr))  # fmt: skip
    ext = tmp / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    return ca, cert, key


def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    ca, cert, key = _tls_files(tmp_path)
    with Mosquitto(workdir=tmp_path, tls=(ca, cert, key)) as broker:
        assert broker.tls_port is not None
        client = EdgeMqtt(
            config(broker, port=broker.tls_port, tls=TlsConfig(enabled=True, ca_file=ca)), DEVICE
        )
        untrusting = EdgeMqtt(
            config(broker, port=broker.tls_port, tls=TlsConfig(enabled=True)), "head-untrusting"
        )
        try:
            client.start()
            untrusting.start()
            assert client.wait_connected(T)
            wait_for(lambda: untrusting.connect_failures > 0, T, "the TLS handshake to fail")
            assert not untrusting.connected, "a certificate it does not trust must be refused"
        finally:
            client.stop()
            untrusting.stop()
