"""The serial Link over a real pseudo-terminal pair and over loop://."""

from __future__ import annotations

import contextlib
import os
import select
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from robohead.protocol.framing import FrameDecoder, encode_frame
from robohead.protocol.link import Link, LinkError
from robohead.protocol.messages import (
    decode_host,
    emg_frame,
    emg_samples,
    encode_device,
    encode_host,
)
from robohead.protocol.v1 import device_pb2 as pb
from robohead.protocol.vectors import load_vectors

TIMEOUT = 5.0


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Poll a condition until it holds or the deadline passes (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def read_frames(fd: int, count: int, timeout: float = TIMEOUT) -> list[bytes]:
    """Read from a pty master until ``count`` frames have arrived."""
    dec, out = FrameDecoder(), []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(out)} of {count} frames arrived"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            out += dec.feed(os.read(fd, 4096))
    return out


def emg(seq: int, channels: int = 4) -> pb.DeviceMessage:
    samples = np.full((10, channels), seq, dtype=np.int16)
    return pb.DeviceMessage(emg=emg_frame(seq, seq * 10_000, samples))


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)  # the Link opens the slave by path, like a real device node
    yield master, path
    with contextlib.suppress(OSError):
        os.close(master)


def test_link_over_a_pty_both_directions(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with Link(path, reconnect=False) as link:
        assert link.connected
        hello = pb.DeviceMessage(hello=pb.Hello(channel_count=4, board="sim"))
        os.write(master, encode_device(hello) + b"".join(encode_device(emg(s)) for s in range(3)))
        got = [link.receive(TIMEOUT) for _ in range(4)]
        assert got[0] == hello
        assert [m.emg.sequence for m in got[1:] if m is not None] == [0, 1, 2]
        assert got[3] is not None and emg_samples(got[3].emg)[0, 0] == 2

        cmd = pb.HostMessage(motor=pb.MotorCommand(sequence=1, targets=[0.5, 0.0, 1.0]))
        assert link.send_host(cmd)
        assert link.flush(TIMEOUT)
        (payload,) = read_frames(master, 1)
        assert decode_host(payload) == cmd
        c = link.counters
        assert (c.rx_messages, c.tx_messages, c.tx_bytes) == (4, 1, len(encode_host(cmd)))
        assert link.receive(0.01) is None


def test_link_counts_errors_and_gaps_and_resyncs(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with Link(path, reconnect=False) as link:
        bad_crc = bytearray(encode_device(emg(1)))
        bad_crc[5] ^= 0xFF
        os.write(master, encode_device(emg(0)) + bytes(bad_crc) + encode_device(emg(2)))
        os.write(master, encode_frame(b"\x0a\xff") + encode_device(emg(6)))  # not a message
        assert [m.emg.sequence for m in (link.receive(TIMEOUT) for _ in range(3)) if m] == [
            0,
            2,
            6,
        ]
        c = link.counters
        assert c.crc_errors + c.cobs_errors == 1
        assert c.decode_errors == 1
        assert (c.sequence_gaps, c.missing_frames) == (2, 4)


def test_link_reconnects_when_the_port_vanishes(tmp_path: Path) -> None:
    """A by-id style symlink: the device goes away and comes back on a new pty."""
    link_path = tmp_path / "ttyROBOHEAD"
    master_a, slave_a = os.openpty()
    link_path.symlink_to(os.ttyname(slave_a))
    os.close(slave_a)
    with Link(str(link_path), backoff_initial_s=0.01, backoff_max_s=0.1) as link:
        os.write(master_a, encode_device(emg(1)))
        first = link.receive(TIMEOUT)
        assert first is not None and first.emg.sequence == 1

        os.close(master_a)  # unplugged: the slave now reads EIO and the node disappears
        assert link.wait_disconnected(TIMEOUT)
        assert not link.send_host(pb.HostMessage(ping=pb.Ping(nonce=1)))  # dropped, counted
        assert wait_until(lambda: link.counters.open_failures >= 1)

        master_b, slave_b = os.openpty()
        tmp_link = tmp_path / "new"
        tmp_link.symlink_to(os.ttyname(slave_b))
        os.replace(tmp_link, link_path)
        os.close(slave_b)
        try:
            assert link.wait_connected(TIMEOUT)
            os.write(master_b, encode_device(emg(2)))
            second = link.receive(TIMEOUT)
            assert second is not None and second.emg.sequence == 2
            c = link.counters
            assert c.reconnects == 1 and c.opens == 2 and c.tx_dropped >= 1
            assert link.send_host(pb.HostMessage(ping=pb.Ping(nonce=2)))
            (payload,) = read_frames(master_b, 1)
            assert decode_host(payload).ping.nonce == 2
        finally:
            link.close()
            os.close(master_b)


def test_link_over_loop_replays_golden_vectors() -> None:
    device_vectors = [v for v in load_vectors() if v.direction == "device"]
    with Link("loop://", reconnect=False) as link:
        for vec in device_vectors:
            assert link.send_frame(vec.frame)
        got = [link.receive(TIMEOUT) for _ in device_vectors]
        assert got == [v.message for v in device_vectors]
        assert link.counters.rx_messages == len(device_vectors)


def test_device_role_over_loop_and_role_checks() -> None:
    with Link("loop://", role="device", reconnect=False) as fake_device:
        cmd = pb.HostMessage(motor=pb.MotorCommand(sequence=5, targets=[1.0]))
        assert fake_device.send_frame(encode_host(cmd))
        assert fake_device.receive_host(TIMEOUT) == cmd
        with pytest.raises(LinkError, match="role='host'"):
            fake_device.send_host(cmd)
        with pytest.raises(LinkError, match="role='host'"):
            fake_device.receive(0)


def test_receive_queue_is_bounded_and_drops_oldest() -> None:
    with Link("loop://", reconnect=False, rx_queue=4) as link:
        for seq in range(10):
            assert link.send_frame(encode_device(emg(seq)))
        assert link.flush(TIMEOUT)
        assert wait_until(lambda: link.counters.rx_messages == 10)
        got = [m.emg.sequence for m in iter(lambda: link.receive(0), None) if m]
        assert got == [6, 7, 8, 9]
        assert link.counters.rx_dropped == 6


def test_open_failure_without_reconnect_raises(tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="cannot open serial port"):
        Link(str(tmp_path / "no-such-tty"), reconnect=False).open()


def test_open_failure_with_reconnect_keeps_retrying(tmp_path: Path) -> None:
    link = Link(str(tmp_path / "later"), backoff_initial_s=0.01, backoff_max_s=0.02).open()
    try:
        assert not link.connected
        assert wait_until(lambda: link.counters.open_failures >= 3)
    finally:
        link.close()
    assert not link.connected


def test_link_over_socket_url() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with Link(f"socket://127.0.0.1:{port}", reconnect=False) as link:
            conn, _ = server.accept()
            with conn:
                conn.sendall(encode_device(emg(3)))
                got = link.receive(TIMEOUT)
                assert got is not None and got.emg.sequence == 3
                assert link.send_host(pb.HostMessage(ping=pb.Ping(nonce=9)))
                conn.settimeout(TIMEOUT)
                dec, frames = FrameDecoder(), []
                while not frames:
                    frames = dec.feed(conn.recv(4096))
                assert decode_host(frames[0]).ping.nonce == 9


def test_burst_over_a_pty_arrives_complete_and_in_order(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with Link(path, reconnect=False) as link:
        stream = b"".join(encode_device(emg(s, channels=8)) for s in range(500))
        view = memoryview(stream)
        while view:  # the pty buffer is small: write as the reader drains it
            _, ready, _ = select.select([], [master], [], TIMEOUT)
            assert ready, "the Link stopped reading"
            view = view[os.write(master, view[:4096]) :]
        got = [link.receive(TIMEOUT) for _ in range(500)]
        assert [m.emg.sequence for m in got if m is not None] == list(range(500))
        c = link.counters
        assert (c.sequence_gaps, c.crc_errors, c.cobs_errors, c.rx_dropped) == (0, 0, 0, 0)
        assert c.rx_bytes == len(stream)
