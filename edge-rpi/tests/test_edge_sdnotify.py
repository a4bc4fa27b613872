"""sd_notify over a real AF_UNIX datagram socket; the watchdog is fed only while frames arrive."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from robohead.edge.sdnotify import FrameWatchdog, Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_ready_and_status_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    n = Notifier({"NOTIFY_SOCKET": path})
    assert n.enabled
    assert n.ready("model loaded")
    assert sock.recv(4096) == b"READY=1\nSTATUS=model loaded"
    assert n.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    n.close()


def test_abstract_namespace_socket() -> None:
    name = f"robohead-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_without_systemd_everything_is_a_no_op() -> None:
    n = Notifier({})
    assert not n.enabled and not n.ready() and n.watchdog_interval_s is None


def test_watchdog_usec_for_another_pid_is_ignored() -> None:
    env = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}
    assert Notifier(env).watchdog_interval_s is None
    env["WATCHDOG_PID"] = str(os.getpid())
    assert Notifier(env).watchdog_interval_s == 30.0


def test_watchdog_is_fed_only_while_frames_arrive(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    now = [0.0]
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    dog = FrameWatchdog(n, clock=lambda: now[0])
    now[0] = 5.0
    assert not dog.tick(), "no frame yet: must not pet"
    dog.frame()
    assert dog.tick()
    assert sock.recv(4096) == b"WATCHDOG=1"
    dog.frame()
    now[0] = 5.5
    assert not dog.tick(), "pets at most every half interval"
    now[0] = 6.1
    assert dog.tick()
    now[0] = 60.0
    assert not dog.tick(), "frames stopped: the watchdog starves and systemd restarts us"
