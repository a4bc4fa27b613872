"""A Python stand-in for the ESP32 on a real pseudo-terminal, for the daemon's unit tests and
`robohead-edge bench` on a machine without the firmware simulator.

It speaks the real protocol on the master side of a pty (the daemon opens the slave path like
any serial port): a Hello at start and on `Ping(request_hello)`, `EmgFrame`s paced in real time
from a counts array (looping), a DeviceStatus a few times a second, and it records every
`MotorCommand` it receives. The end-to-end tests use `robohead-fw-sim` instead.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from robohead.protocol.framing import FrameDecoder
from robohead.protocol.messages import decode_host, emg_frame, encode_device
from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.v1 import device_pb2 as dev

__all__ = ["FakeDevice", "ReceivedCommand"]


@dataclass(frozen=True)
class ReceivedCommand:
    at: float  # time.monotonic() on arrival
    command: dev.MotorCommand


@dataclass
class FakeDevice:
    """Start with `start()`, point the daemon at `.path`, stop with `close()`."""

    counts: npt.NDArray[np.int16]
    sampling_rate_hz: int = 1000
    samples_per_frame: int = 10
    schema_hash: int = SCHEMA_HASH
    device_id: str = "rh-fake"
    adc_bits: int = 12
    servos: Sequence[tuple[int, int, int]] = (
        (1000, 2000, 1500),
        (1000, 2000, 1000),
        (1000, 2000, 1000),
    )
    commands: list[ReceivedCommand] = field(default_factory=list)
    pings: int = 0
    path: str = ""
    scale: float = 1.0  # multiplies the signal around mid-rail (e.g. "contract harder")

    def __post_init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._decoder = FrameDecoder()
        self._threads: list[threading.Thread] = []
        self._sequence = 0
        self._clock0 = time.monotonic()

    # --- protocol --------------------------------------------------------------------------------

    def hello(self) -> dev.Hello:
        return dev.Hello(
            firmware_version="fake-1.0",
            schema_hash=self.schema_hash,
            board="fake",
            channel_count=int(self.counts.shape[1]),
            sampling_rate_hz=self.sampling_rate_hz,
            adc_bits=self.adc_bits,
            servos=[
                dev.ServoLimits(min_us=a, max_us=b, neutral_us=c, max_step_us=50)
                for a, b, c in self.servos
            ],
            reset_reason=dev.RESET_REASON_SIMULATOR,
            samples_per_frame=self.samples_per_frame,
            command_timeout_ms=300,
            device_time_us=self._now_us(),
            device_id=self.device_id,
        )

    def _now_us(self) -> int:
        return int((time.monotonic() - self._clock0) * 1e6)

    def _send(self, msg: dev.DeviceMessage) -> None:
        data = encode_device(msg)
        with self._lock, contextlib.suppress(OSError):
            os.write(self._master, data)

    def _reader(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._master, 4096)
            except (OSError, ValueError):
                if self._stop.wait(0.01):
                    return
                continue
            for payload in self._decoder.feed(chunk):
                try:
                    msg = decode_host(payload)
                except ValueError:
                    continue
                kind = msg.WhichOneof("payload")
                if kind == "motor":
                    self.commands.append(ReceivedCommand(time.monotonic(), msg.motor))
                elif kind == "ping":
                    self.pings += 1
                    if msg.ping.request_hello:
                        self._send(dev.DeviceMessage(hello=self.hello()))

    def _streamer(self) -> None:
        n = self.counts.shape[0]
        period = self.samples_per_frame / self.sampling_rate_hz
        start = time.monotonic()
        index = 0
        sent = 0
        while not self._stop.is_set():
            due = start + sent * period
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            rows = (np.arange(index, index + self.samples_per_frame)) % n
            t_us = int(sent * period * 1e6)
            counts = self.counts[rows]
            if self.scale != 1.0:
                mid = 2 ** (self.adc_bits - 1)
                scaled = np.round(mid + (counts.astype(np.float64) - mid) * self.scale)
                counts = np.clip(scaled, 0, 2 * mid - 1).astype(np.int16)
            frame = emg_frame(self._sequence, t_us, counts)
            self._send(dev.DeviceMessage(emg=frame))
            self._sequence += 1
            index = (index + self.samples_per_frame) % n
            sent += 1
            if sent % 20 == 0:
                self._send(dev.DeviceMessage(status=self._status(t_us)))

    def _status(self, t_us: int) -> dev.DeviceStatus:
        last = self.commands[-1].command if self.commands else None
        servo_us = []
        for i, (lo, hi, neutral) in enumerate(self.servos):
            if last is not None and i < len(last.targets):
                servo_us.append(int(lo + (hi - lo) * min(max(last.targets[i], 0.0), 1.0)))
            else:
                servo_us.append(neutral)
        return dev.DeviceStatus(
            device_time_us=t_us,
            servo_us=servo_us,
            failsafe=dev.FAILSAFE_STATE_ACTIVE if last else dev.FAILSAFE_STATE_BOOT_NEUTRAL,
            uptime_ms=t_us // 1000,
            last_command_sequence=last.sequence if last else 0,
        )

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeDevice:
        self._send(dev.DeviceMessage(hello=self.hello()))
        for target in (self._reader, self._streamer):
            thread = threading.Thread(target=target, daemon=True, name="fake-device")
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for fd in (self._slave, self._master):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> FakeDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
