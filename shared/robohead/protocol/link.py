"""The serial link: one port, a reader and a writer thread, bounded queues, reconnection.

Used with ``role="host"`` by the edge daemon and host collection (receives DeviceMessage, sends
HostMessage) and with ``role="device"`` by Python fake devices (the other way round). The URL
goes to pyserial's ``serial_for_url``, so a device path (``/dev/ttyUSB0``, a pty such as
``/dev/pts/5``, a ``/dev/serial/by-id`` link), ``loop://`` and ``socket://host:port`` all work.

DTR and RTS are set low *before* the port opens: most ESP32 boards wire them to EN/IO0, and the
default (high) would reset the board on every open. When the port vanishes (USB unplugged, the
simulator restarted) the reader closes it and reopens it with exponential backoff; frames sent
while disconnected are dropped and counted, not queued, because a stale MotorCommand is worse
than none (the firmware holds neutral on its own timeout). Both queues are bounded and drop the
oldest entry, counting it, so a slow consumer costs data, never memory or latency.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Literal, Self

import serial

from robohead.protocol.errors import ProtocolError
from robohead.protocol.framing import FrameDecoder
from robohead.protocol.messages import (
    MessageError,
    decode_device,
    decode_host,
    encode_device,
    encode_host,
)
from robohead.protocol.sequence import SequenceTracker
from robohead.protocol.v1.device_pb2 import DeviceMessage, HostMessage

__all__ = ["Link", "LinkCounters", "LinkError", "Role"]

Role = Literal["host", "device"]


class LinkError(ProtocolError):
    """The link was used wrongly (wrong role, closed) or could not open its port."""


@dataclass(frozen=True)
class LinkCounters:
    """A snapshot of everything the link counted since it was created."""

    connected: bool
    opens: int  # successful opens; changes on every (re)connection
    reconnects: int  # opens after the first
    open_failures: int
    rx_bytes: int
    rx_messages: int  # valid frames that decoded into a message
    cobs_errors: int
    crc_errors: int
    length_errors: int
    decode_errors: int  # well-framed payloads that are not a message
    sequence_gaps: int  # gap events in EmgFrame (host role) or MotorCommand (device role)
    missing_frames: int  # sequence numbers skipped in those gaps
    rx_dropped: int  # received messages dropped because the receive queue was full
    tx_messages: int
    tx_bytes: int
    tx_dropped: int  # sends dropped: not connected, or the send queue was full
    tx_errors: int  # writes that failed or timed out

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


class Link:
    """A framed protobuf link over a serial port (see the module docstring).

    ``open()`` (or ``with Link(...) as link:``) tries the port once; if that fails it raises
    ``LinkError`` when ``reconnect`` is False and otherwise keeps retrying in the background.
    """

    def __init__(
        self,
        url: str,
        *,
        role: Role = "host",
        baudrate: int = 921600,
        reconnect: bool = True,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 2.0,
        rx_queue: int = 1024,
        tx_queue: int = 16,
        read_timeout_s: float = 0.05,
        write_timeout_s: float = 0.5,
    ) -> None:
        if role not in ("host", "device"):
            raise LinkError(f"role must be 'host' or 'device', got {role!r}")
        if rx_queue < 1 or tx_queue < 1:
            raise LinkError(f"queue sizes must be >= 1, got rx={rx_queue}, tx={tx_queue}")
        self.url = url
        self.role: Role = role
        self.baudrate = baudrate
        self.reconnect = reconnect
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.read_timeout_s = read_timeout_s
        self.write_timeout_s = write_timeout_s
        self.last_error: str | None = None

        self._decoder = FrameDecoder()
        self._sequence = SequenceTracker()
        self._rx: collections.deque[DeviceMessage | HostMessage] = collections.deque()
        self._rx_max = rx_queue
        self._rx_cond = threading.Condition()
        self._tx: collections.deque[bytes] = collections.deque()
        self._tx_max = tx_queue
        self._tx_cond = threading.Condition()
        self._tx_busy = False
        self._state_cond = threading.Condition()
        self._port: serial.SerialBase | None = None
        self._port_failed = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._opened = False
        self._c = collections.Counter[str]()
        self._c_lock = threading.Lock()

    # ---- lifecycle ------------------------------------------------------------------------

    def open(self) -> Self:
        """Try the port once, then start the reader and writer threads."""
        if self._opened:
            raise LinkError(f"{self.url}: link already opened")
        self._opened = True
        port = self._try_open()
        if port is None and not self.reconnect:
            self._opened = False
            raise LinkError(f"{self.url}: cannot open serial port: {self.last_error}")
        for target, name in ((self._read_loop, "reader"), (self._write_loop, "writer")):
            thread = threading.Thread(
                target=target, args=(port,) if name == "reader" else (), daemon=True
            )
            thread.name = f"robohead-link-{name}"
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        """Stop the threads and close the port; queued outgoing frames are dropped."""
        self._stop.set()
        with self._tx_cond:
            self._tx_cond.notify_all()
        port = self._port
        if port is not None and hasattr(port, "cancel_read"):
            with contextlib.suppress(
                serial.SerialException, OSError, AttributeError, NotImplementedError
            ):
                port.cancel_read()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads.clear()
        self._close_port()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._port is not None

    def wait_connected(self, timeout: float) -> bool:
        """Block until the port is open (True) or ``timeout`` seconds pass (False)."""
        with self._state_cond:
            return self._state_cond.wait_for(lambda: self._port is not None, timeout)

    def wait_disconnected(self, timeout: float) -> bool:
        """Block until the port is closed (True) or ``timeout`` seconds pass (False)."""
        with self._state_cond:
            return self._state_cond.wait_for(lambda: self._port is None, timeout)

    @property
    def counters(self) -> LinkCounters:
        c, f = self._c, self._decoder.counters
        return LinkCounters(
            connected=self.connected,
            opens=c["opens"],
            reconnects=max(0, c["opens"] - 1),
            open_failures=c["open_failures"],
            rx_bytes=f.bytes_in,
            rx_messages=c["rx_messages"],
            cobs_errors=f.cobs_errors,
            crc_errors=f.crc_errors,
            length_errors=f.length_errors,
            decode_errors=c["decode_errors"],
            sequence_gaps=self._sequence.gaps,
            missing_frames=self._sequence.missing,
            rx_dropped=c["rx_dropped"],
            tx_messages=c["tx_messages"],
            tx_bytes=c["tx_bytes"],
            tx_dropped=c["tx_dropped"],
            tx_errors=c["tx_errors"],
        )

    # ---- sending --------------------------------------------------------------------------

    def send_host(self, msg: HostMessage) -> bool:
        """Queue an edge -> device message (role "host"); False when it was dropped."""
        self._require("host", "send_host")
        return self._enqueue(encode_host(msg))

    def send_device(self, msg: DeviceMessage) -> bool:
        """Queue a device -> edge message (role "device"); False when it was dropped."""
        self._require("device", "send_device")
        return self._enqueue(encode_device(msg))

    def send_frame(self, frame: bytes) -> bool:
        """Queue raw bytes as they are (either role): golden vectors, a recorded stream, or
        deliberately corrupted frames from a fake device. False when dropped."""
        if not self._opened:
            raise LinkError(f"send_frame() on {self.url}: the link is not open")
        return self._enqueue(bytes(frame))

    def flush(self, timeout: float) -> bool:
        """Wait until every queued frame was written (True) or ``timeout`` passes (False)."""
        with self._tx_cond:
            return self._tx_cond.wait_for(lambda: not self._tx and not self._tx_busy, timeout)

    # ---- receiving ------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> DeviceMessage | None:
        """Next device -> edge message (role "host"), or None after ``timeout`` seconds."""
        self._require("host", "receive")
        msg = self._pop(timeout)
        assert msg is None or isinstance(msg, DeviceMessage)
        return msg

    def receive_host(self, timeout: float | None = None) -> HostMessage | None:
        """Next edge -> device message (role "device"), or None after ``timeout`` seconds."""
        self._require("device", "receive_host")
        msg = self._pop(timeout)
        assert msg is None or isinstance(msg, HostMessage)
        return msg

    @property
    def pending(self) -> int:
        """Messages waiting in the receive queue."""
        return len(self._rx)

    # ---- internals ------------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        with self._c_lock:
            self._c[name] += n

    def _require(self, role: Role, method: str) -> None:
        if self.role != role:
            raise LinkError(
                f"{method}() needs a link with role={role!r}; this one is {self.role!r}"
            )
        if not self._opened:
            raise LinkError(f"{method}() on {self.url}: the link is not open")

    def _enqueue(self, frame: bytes) -> bool:
        if self._port is None or self._stop.is_set():
            self._count("tx_dropped")
            return False
        with self._tx_cond:
            if len(self._tx) >= self._tx_max:
                self._tx.popleft()
                self._count("tx_dropped")
            self._tx.append(frame)
            self._tx_cond.notify_all()
        return True

    def _pop(self, timeout: float | None) -> DeviceMessage | HostMessage | None:
        with self._rx_cond:
            if not self._rx_cond.wait_for(lambda: bool(self._rx), timeout):
                return None
            return self._rx.popleft()

    def _try_open(self) -> serial.SerialBase | None:
        try:
            kwargs: dict[str, object] = {}
            if "://" not in self.url:
                kwargs["exclusive"] = True  # a second process must not interleave frames
            port = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                timeout=self.read_timeout_s,
                write_timeout=self.write_timeout_s,
                do_not_open=True,
                **kwargs,
            )
            port.dtr = False  # before open(): a high DTR/RTS resets most ESP32 boards
            port.rts = False
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            self._count("open_failures")
            self.last_error = f"{type(exc).__name__}: {exc}"
            return None
        self._decoder.reset()
        self._port_failed = False
        self._count("opens")
        with self._state_cond:
            self._port = port
            self._state_cond.notify_all()
        return port

    def _close_port(self) -> None:
        with self._state_cond:
            port, self._port = self._port, None
            self._state_cond.notify_all()
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
        with self._tx_cond:  # frames for the old connection are stale now
            self._count("tx_dropped", len(self._tx))
            self._tx.clear()
            self._tx_cond.notify_all()

    def _read_loop(self, port: serial.SerialBase | None) -> None:
        backoff = self.backoff_initial_s
        while not self._stop.is_set():
            if port is None:
                if not self.reconnect or self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, self.backoff_max_s)
                port = self._try_open()
                continue
            backoff = self.backoff_initial_s
            try:
                while not self._stop.is_set() and not self._port_failed:
                    data = port.read(max(1, port.in_waiting))
                    if data:
                        self._on_bytes(bytes(data))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: pyserial's posix read after close() sets fd=None.
                if not self._stop.is_set():
                    self.last_error = f"{type(exc).__name__}: {exc}"
            self._close_port()
            port = None
            if not self.reconnect:
                return

    def _on_bytes(self, data: bytes) -> None:
        for payload in self._decoder.feed(data):
            msg: DeviceMessage | HostMessage
            try:
                msg = decode_device(payload) if self.role == "host" else decode_host(payload)
            except MessageError:
                self._count("decode_errors")
                continue
            self._count("rx_messages")
            self._track(msg)
            with self._rx_cond:
                if len(self._rx) >= self._rx_max:
                    self._rx.popleft()
                    self._count("rx_dropped")
                self._rx.append(msg)
                self._rx_cond.notify_all()

    def _track(self, msg: DeviceMessage | HostMessage) -> None:
        which = msg.WhichOneof("payload")
        if isinstance(msg, DeviceMessage):
            if which == "emg":
                self._sequence.update(msg.emg.sequence)
            elif which == "hello":
                self._sequence.reset()  # the device (re)booted: its sequence restarts
        elif which == "motor":
            self._sequence.update(msg.motor.sequence)

    def _write_loop(self) -> None:
        while True:
            with self._tx_cond:
                self._tx_cond.wait_for(lambda: bool(self._tx) or self._stop.is_set())
                if self._stop.is_set():
                    return
                frame = self._tx.popleft()
                self._tx_busy = True
            try:
                self._write(frame)
            finally:
                with self._tx_cond:
                    self._tx_busy = False
                    self._tx_cond.notify_all()

    def _write(self, frame: bytes) -> None:
        port = self._port
        if port is None:
            self._count("tx_dropped")
            return
        try:
            port.write(frame)
        except serial.SerialTimeoutException:
            self._count("tx_errors")  # the peer is not reading; keep the port
            return
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            self._count("tx_errors")
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._port_failed = True  # the reader closes and reopens the port
            return
        self._count("tx_messages")
        self._count("tx_bytes", len(frame))
