"""A real Mosquitto broker on a free loopback port, for tests (reusable by every component).

    from tests.mosquitto import Mosquitto, mosquitto_broker  # the fixture yields a Mosquitto

    with Mosquitto() as broker:          # or use the `mosquitto_broker` fixture
        client.connect(broker.host, broker.port)
        broker.stop(); broker.start()    # same port again: "the broker went away and came back"

    with Subscriber(broker, "robohead/+/status") as sub:   # a real paho client recording messages
        msg = sub.wait_for(lambda m: m.topic.endswith("/status"), timeout=5)

Options: `users={"name": "password"}` turns anonymous access off and writes a password file
with `mosquitto_passwd`; `tls=(ca, cert, key)` adds a TLS listener on `broker.tls_port`.
Every wait is bounded; nothing sleeps for synchronisation.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pytest

__all__ = ["Mosquitto", "Subscriber", "free_port", "mosquitto_broker", "wait_for"]

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: object, timeout: float, what: str, interval: float = 0.01) -> None:
    """Poll `condition()` until true or raise TimeoutError naming `what`."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)  # polling interval of a bounded wait, not a synchronisation sleep


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """One mosquitto process; start/stop/restart keep the same ports."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path, Path] | None = None,
        workdir: Path | None = None,
    ) -> None:
        if not Path(MOSQUITTO).exists():
            pytest.skip("mosquitto is not installed (scripts/install-system-deps.sh installs it)")
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="mosquitto-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.users = users
        self.log_path = self.workdir / "mosquitto.log"
        self.conf_path = self.workdir / "mosquitto.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_conf(tls)

    def _write_conf(self, tls: tuple[Path, Path, Path] | None) -> None:
        lines = [
            f"user {getpass.getuser()}",  # as root, mosquitto would otherwise drop to `mosquitto`
            "per_listener_settings false",
            "persistence false",
            f"log_dest file {self.log_path}",
            "log_type all",
            f"listener {self.port} {self.host}",
        ]
        if tls:
            ca, cert, key = tls
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {ca}",
                f"certfile {cert}",
                f"keyfile {key}",
            ]
        if self.users:
            passwd = self.workdir / "passwd"
            passwd.write_text("")
            for user, password in self.users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwd), user, password],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        self.conf_path.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> Mosquitto:
        if self.running:
            return self
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        def up() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(
                    f"mosquitto exited with {self._proc.returncode}: {err}{self.log}"
                )
            ports = [self.port] + ([self.tls_port] if self.tls_port else [])
            return all(_accepts(self.host, p) for p in ports)

        wait_for(up, timeout, f"mosquitto to accept connections on {self.host}:{self.port}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stderr:
            proc.stderr.close()
        wait_for(lambda: not _accepts(self.host, self.port), timeout, "mosquitto to close its port")

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture
def mosquitto_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh anonymous broker on a free loopback port, stopped after the test."""
    workdir = tmp_path / "mosquitto"
    workdir.mkdir()
    with Mosquitto(workdir=workdir) as broker:
        yield broker


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float  # time.monotonic() on arrival


class Subscriber:
    """A paho-mqtt 2.x client that records every message on `topics` (QoS 1)."""

    def __init__(
        self,
        broker: Mosquitto,
        *topics: str,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._topics = topics
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{id(self)}")
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *a: self._subscribed.set()
        self._client.on_message = self._on_message
        self._broker = broker

    def _on_connect(
        self, client: object, userdata: object, flags: object, rc: object, p: object
    ) -> None:
        self._client.subscribe([(t, 1) for t in self._topics])

    def _on_message(self, client: object, userdata: object, message: object) -> None:
        with self._lock:
            self.messages.append(
                Received(
                    message.topic, bytes(message.payload), bool(message.retain), time.monotonic()
                )  # type: ignore[attr-defined]
            )

    def start(self, timeout: float = 10.0) -> Subscriber:
        self._client.connect(self._broker.host, self._broker.port)
        self._client.loop_start()
        wait_for(self._subscribed.is_set, timeout, f"subscription to {self._topics}")
        return self

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Subscriber:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float, what: str = "a message"
    ) -> Received:
        """The first recorded message matching `predicate` (waiting up to `timeout`)."""
        found: list[Received] = []

        def match() -> bool:
            found[:] = [m for m in self.snapshot() if predicate(m)]
            return bool(found)

        wait_for(match, timeout, what)
        return found[0]

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)
