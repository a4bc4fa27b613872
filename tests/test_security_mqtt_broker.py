"""The edge's MQTT commands limited to authenticated users (password file + ACL) and TLS.

A real Mosquitto with `mosquitto_passwd` users and an ACL file, the real daemon (in-process,
against the fake device on a pty), certificates made here with the `cryptography` package:
- an anonymous client cannot even connect, so it cannot command the motors;
- an authenticated user without write access to `cmd/#` is silently dropped by the broker;
- the edge's own user (and an operator) can; the motors follow;
- a wrong edge password: the broker refuses, the daemon counts it and keeps driving the motors;
- TLS with a CA and server certificate made in the test works; a client that trusts another CA
  does not connect (and the daemon keeps the motors running).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from robohead.protocol import topics  # noqa: E402
from robohead.protocol.v1 import telemetry_pb2 as tm  # noqa: E402
from tests.edge_harness import DEVICE, Running, make_bundle, start  # noqa: E402
from tests.mosquitto import Mosquitto, wait_for  # noqa: E402

T = 15.0
USERS = {"robohead-edge": "edge-secret", "operator": "op-secret", "viewer": "view-secret"}
ACL = f"""\
# anonymous clients (none can connect: allow_anonymous false) would get nothing
user robohead-edge
topic readwrite robohead/{DEVICE}/#
user operator
topic write robohead/{DEVICE}/cmd/#
topic read robohead/{DEVICE}/#
user viewer
topic read robohead/{DEVICE}/#
"""


class SecuredMosquitto(Mosquitto):
    """The shared fixture plus an ACL file (the fixture writes users and TLS already)."""

    def _write_conf(self, tls: tuple[Path, Path, Path] | None) -> None:
        super()._write_conf(tls)
        acl = self.workdir / "acl"
        acl.write_text(ACL)
        with self.conf_path.open("a") as f:
            f.write(f"acl_file {acl}\n")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("acl-bundle") / "bundle")


# ---- certificates ----------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(folder: Path, cn: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{cn}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_server_cert(
    folder: Path, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


# ---- a plain paho client that reports how its connection went --------------------------------


class Client:
    def __init__(
        self,
        broker: Mosquitto,
        user: tuple[str, str] | None,
        *,
        port: int | None = None,
        ca: Path | None = None,
    ) -> None:
        self.result: str | None = None
        self._done = threading.Event()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sec-{id(self)}")
        if user:
            self.c.username_pw_set(*user)
        if ca:
            self.c.tls_set(ca_certs=str(ca))
        self.c.on_connect = self._on_connect
        self.port = port or broker.port
        self.host = broker.host

    def _on_connect(self, client: object, u: object, f: object, rc: object, p: object) -> None:
        self.result = str(rc)
        self._done.set()

    def connect(self) -> str:
        try:
            self.c.connect(self.host, self.port)
        except OSError as exc:  # TLS handshake failures surface here
            return f"error: {exc}"
        self.c.loop_start()
        if not self._done.wait(T):
            return "timeout"
        return self.result or ""

    def publish(self, name: str, body: dict[str, object]) -> None:
        info = self.c.publish(topics.topic(DEVICE, name), json.dumps(body).encode(), qos=1)
        info.wait_for_publish(T)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def _edge_mqtt(tmp: Path, user: str, password: str, **extra: object) -> dict[str, object]:
    pw = tmp / "mqtt-password"
    pw.write_text(password + "\n")
    return {"username": user, "password_file": str(pw), **extra}


def _pose_reached(r: Running, pose: tuple[float, ...]) -> bool:
    cmds = r.motor_commands()[-3:]
    return len(cmds) == 3 and all(
        all(abs(a - b) < 1e-6 for a, b in zip(c.targets, pose, strict=True)) for c in cmds
    )


def test_only_authenticated_users_with_write_access_command_the_motors(
    tmp_path: Path, bundle: Path
) -> None:
    (tmp_path / "mq").mkdir()
    with SecuredMosquitto(workdir=tmp_path / "mq", users=USERS) as broker:
        r = start(
            tmp_path,
            broker,
            bundle,
            mqtt=_edge_mqtt(tmp_path, "robohead-edge", USERS["robohead-edge"]),
            sub_user=("viewer", USERS["viewer"]),
        )
        try:
            assert r.daemon.mqtt is not None
            assert r.daemon.mqtt.wait_connected(T), broker.log
            # 1. anonymous: the broker refuses the connection outright
            anon = Client(broker, None)
            outcome = anon.connect()
            assert outcome == "Not authorized", outcome
            anon.close()
            # 2. a wrong password is refused too
            wrong = Client(broker, ("operator", "guess"))
            outcome = wrong.connect()
            assert outcome in ("Not authorized", "Bad user name or password"), outcome
            wrong.close()
            # 3. a read-only user may connect, but its commands never reach the daemon
            viewer = Client(broker, ("viewer", USERS["viewer"]))
            assert viewer.connect() == "Success"
            viewer.publish("cmd/set_mode", {"request_id": "v1", "set_mode": {"mode": 2}})
            viewer.close()
            # 4. the operator (write on cmd/#) and the edge's own user can
            op = Client(broker, ("operator", USERS["operator"]))
            assert op.connect() == "Success"
            op.publish("cmd/set_mode", {"request_id": "o1", "set_mode": {"mode": "MODE_MANUAL"}})
            r.sub.wait_for(lambda m: m.topic.endswith("/reply") and b'"o1"' in m.payload, T)
            op.publish("cmd/set_pose", {"request_id": "o2", "set_pose": {"expression": "smile"}})
            wait_for(lambda: _pose_reached(r, (0.5, 1.0, 0.0)), T, "the operator's pose")
            op.close()
            edge_user = Client(broker, ("robohead-edge", USERS["robohead-edge"]))
            assert edge_user.connect() == "Success"
            body = {"request_id": "e1", "set_pose": {"targets": [0.1, 0.2, 0.3]}}
            edge_user.publish("cmd/set_pose", body)
            wait_for(lambda: _pose_reached(r, (0.1, 0.2, 0.3)), T, "the edge user's pose")
            edge_user.close()
            # the viewer's command left no trace: no reply to v1, the broker logged the denial
            replies = [m for m in r.sub.snapshot() if m.topic.endswith("/reply")]
            assert not any(b'"v1"' in m.payload for m in replies)
            assert "Denied PUBLISH from sec-" in broker.log
            assert r.alive()
        finally:
            r.stop()


def test_wrong_edge_password_keeps_the_motors_running(tmp_path: Path, bundle: Path) -> None:
    (tmp_path / "mq").mkdir()
    with SecuredMosquitto(workdir=tmp_path / "mq", users=USERS) as broker:
        r = start(
            tmp_path,
            broker,
            bundle,
            mqtt=_edge_mqtt(tmp_path, "robohead-edge", "wrong-password"),
            sub_user=("viewer", USERS["viewer"]),
        )
        try:
            assert r.daemon.mqtt is not None
            wait_for(lambda: r.daemon.mqtt.refusals >= 2, T, "refusals")  # type: ignore[union-attr]
            n = len(r.motor_commands())
            wait_for(lambda: len(r.motor_commands()) >= n + 25, T, "MotorCommands")
            assert not r.daemon.mqtt.connected and r.alive()
        finally:
            r.stop()


def test_tls_with_a_certificate_made_here(tmp_path: Path, bundle: Path) -> None:
    pki = tmp_path / "pki"
    pki.mkdir()
    ca, ca_key, ca_cert = make_ca(pki, "robohead-test-ca")
    cert, key = make_server_cert(pki, ca_key, ca_cert)
    other_ca, _, _ = make_ca(pki, "someone-else-ca")
    (tmp_path / "mq").mkdir()
    with SecuredMosquitto(workdir=tmp_path / "mq", users=USERS, tls=(ca, cert, key)) as broker:
        assert broker.tls_port is not None
        tls = {"enabled": True, "ca_file": str(ca)}
        r = start(
            tmp_path,
            broker,
            bundle,
            mqtt=_edge_mqtt(
                tmp_path, "robohead-edge", USERS["robohead-edge"], port=broker.tls_port, tls=tls
            ),
            sub_user=("viewer", USERS["viewer"]),
        )
        try:
            assert r.daemon.mqtt is not None
            assert r.daemon.mqtt.wait_connected(T), broker.log
            msg = r.sub.wait_for(
                lambda m: m.topic.endswith("/status") and b"ONLINE" in m.payload, T
            )
            status = topics.parse("status", msg.payload)
            assert isinstance(status, tm.Status) and status.state == tm.Status.STATE_ONLINE
            # commands over TLS work end to end
            op = Client(broker, ("operator", USERS["operator"]), port=broker.tls_port, ca=ca)
            assert op.connect() == "Success"
            op.publish("cmd/set_mode", {"request_id": "t1", "set_mode": {"mode": "MODE_MANUAL"}})
            op.publish("cmd/set_pose", {"request_id": "t2", "set_pose": {"targets": [0.9, 0, 0]}})
            wait_for(lambda: _pose_reached(r, (0.9, 0.0, 0.0)), T, "the pose sent over TLS")
            op.close()
            # a client that trusts another CA cannot talk to this broker
            stranger = Client(
                broker, ("operator", USERS["operator"]), port=broker.tls_port, ca=other_ca
            )
            outcome = stranger.connect()
            assert outcome.startswith("error") and "certificate verify failed" in outcome, outcome
        finally:
            r.stop()


def test_edge_refuses_a_broker_it_does_not_trust(tmp_path: Path, bundle: Path) -> None:
    """The edge configured with another CA never connects, and the motors keep running."""
    pki = tmp_path / "pki"
    pki.mkdir()
    ca, ca_key, ca_cert = make_ca(pki, "robohead-test-ca")
    cert, key = make_server_cert(pki, ca_key, ca_cert)
    other_ca, _, _ = make_ca(pki, "someone-else-ca")
    (tmp_path / "mq").mkdir()
    with SecuredMosquitto(workdir=tmp_path / "mq", users=USERS, tls=(ca, cert, key)) as broker:
        assert broker.tls_port is not None
        mqtt_cfg = _edge_mqtt(
            tmp_path,
            "robohead-edge",
            USERS["robohead-edge"],
            port=broker.tls_port,
            tls={"enabled": True, "ca_file": str(other_ca)},
        )
        r = start(tmp_path, broker, bundle, mqtt=mqtt_cfg, sub_user=("viewer", USERS["viewer"]))
        try:
            assert r.daemon.mqtt is not None
            wait_for(lambda: r.daemon.mqtt.connect_failures >= 2, T, "TLS failures")  # type: ignore[union-attr]
            n = len(r.motor_commands())
            wait_for(lambda: len(r.motor_commands()) >= n + 25, T, "MotorCommands")
            assert not r.daemon.mqtt.connected and r.alive()
        finally:
            r.stop()
