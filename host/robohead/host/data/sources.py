"""Where a recording's sEMG comes from: the serial Link to an ESP32 (or robohead-fw-sim), or an
edge's raw-stream MQTT topic. Both yield the same `EmgChunk`s, so the recorder does not care.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from google.protobuf import json_format
from numpy.typing import NDArray

from robohead.protocol import topics
from robohead.protocol.link import Link
from robohead.protocol.messages import emg_samples
from robohead.protocol.schema import SCHEMA_HASH, format_schema_hash
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm


class SourceError(RuntimeError):
    """The device cannot be reached or speaks another schema; says which and why."""


class DeviceRestarted(SourceError):
    """The device sent a new Hello (it rebooted) in the middle of a recording."""


@dataclass(frozen=True)
class EmgChunk:
    sequence: int
    device_time_us: int  # of the first sample
    samples: NDArray[np.int16]  # (k, channels)


@dataclass(frozen=True)
class DeviceInfo:
    hello: dict[str, Any]  # protobuf JSON mapping with proto field names
    channel_count: int
    sampling_rate_hz: int
    adc_bits: int
    samples_per_frame: int


class EmgSource(Protocol):
    kind: str
    url: str

    def start(self, timeout_s: float) -> DeviceInfo: ...
    def read(self, timeout_s: float) -> list[EmgChunk]: ...
    def dropped_samples(self) -> int: ...
    def close(self) -> None: ...


def hello_info(hello: dev.Hello) -> DeviceInfo:
    return DeviceInfo(
        hello=json_format.MessageToDict(hello, preserving_proto_field_name=True),
        channel_count=hello.channel_count,
        sampling_rate_hz=hello.sampling_rate_hz,
        adc_bits=hello.adc_bits,
        samples_per_frame=hello.samples_per_frame,
    )


class SerialSource:
    """EmgFrames from the device over robohead.protocol.link.Link (a port, pty or socket URL)."""

    kind = "serial"

    def __init__(self, url: str, *, baudrate: int) -> None:
        self.url = url
        self._link = Link(url, baudrate=baudrate, reconnect=False, rx_queue=4096)
        self._dropped = 0
        self._nonce = 0

    def _ping(self) -> None:
        self._nonce += 1
        self._link.send_host(
            dev.HostMessage(
                ping=dev.Ping(
                    nonce=self._nonce,
                    schema_hash=SCHEMA_HASH,
                    request_hello=True,
                    edge_time_us=time.monotonic_ns() // 1000,
                )
            )
        )

    def start(self, timeout_s: float) -> DeviceInfo:
        """Open the port and wait for the device's Hello (asking for it with Pings)."""
        try:
            self._link.open()
        except Exception as e:
            raise SourceError(f"{self.url}: cannot open: {e}") from e
        deadline = time.monotonic() + timeout_s
        next_ping = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_ping:
                self._ping()
                next_ping = time.monotonic() + 0.5
            msg = self._link.receive(timeout=0.1)
            if msg is not None and msg.WhichOneof("payload") == "hello":
                h = msg.hello
                if h.schema_hash != SCHEMA_HASH:
                    raise SourceError(
                        f"{self.url}: device schema hash {format_schema_hash(h.schema_hash)} "
                        f"!= host {format_schema_hash(SCHEMA_HASH)}: flash firmware built from "
                        "the same protocol version"
                    )
                if h.channel_count == 0 or h.sampling_rate_hz == 0:
                    raise SourceError(f"{self.url}: Hello announces no channels or no rate")
                return hello_info(h)
        raise SourceError(f"{self.url}: no Hello from the device within {timeout_s:g} s")

    def read(self, timeout_s: float) -> list[EmgChunk]:
        out: list[EmgChunk] = []
        msg = self._link.receive(timeout=timeout_s)
        while msg is not None:
            which = msg.WhichOneof("payload")
            if which == "emg":
                f = msg.emg
                out.append(EmgChunk(f.sequence, f.device_time_us, emg_samples(f).copy()))
            elif which == "status":
                self._dropped = msg.status.counters.dropped_samples
            elif which == "hello":
                raise DeviceRestarted(
                    f"{self.url}: the device sent a new Hello (reset reason "
                    f"{dev.ResetReason.Name(msg.hello.reset_reason)}) during the recording"
                )
            if len(out) >= 256:
                break
            msg = self._link.receive(timeout=0)
        return out

    def dropped_samples(self) -> int:
        return self._dropped

    def close(self) -> None:
        self._link.close()


class MqttSource:
    """RawEmgChunks from an edge's `robohead/<device_id>/telemetry/raw_emg` topic.

    Asks the edge to stream with `cmd/start_raw_stream` and stops it on close; the device's
    Hello comes from the retained `meta` topic.
    """

    kind = "mqtt"

    def __init__(self, host: str, port: int, device_id: str, *, adc_bits: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.url = f"mqtt://{host}:{port}/{device_id}"
        self._host, self._port, self._device = host, port, device_id
        self._q: queue.Queue[tm.RawEmgChunk] = queue.Queue(maxsize=10000)
        self._meta: tm.Meta | None = None
        self._meta_event = threading.Event()
        self._connected = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._raw = topics.topic(device_id, "telemetry/raw_emg")
        self._meta_topic = topics.topic(device_id, "meta")
        self.parse_errors = 0
        self._adc_bits = adc_bits
        self._first: tm.RawEmgChunk | None = None

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe([(self._raw, 0), (self._meta_topic, 1)])
        self._connected.set()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            if msg.topic == self._raw:
                chunk = topics.parse("telemetry/raw_emg", msg.payload)
                assert isinstance(chunk, tm.RawEmgChunk)
                self._q.put_nowait(chunk)
            elif msg.topic == self._meta_topic:
                meta = topics.parse("meta", msg.payload)
                assert isinstance(meta, tm.Meta)
                self._meta = meta
                self._meta_event.set()
        except (topics.PayloadError, queue.Full):
            self.parse_errors += 1

    def _command(self, action: str) -> None:
        cmd = tm.Command(request_id=f"collect-{time.monotonic_ns()}")
        getattr(cmd, action).SetInParent()
        self._client.publish(
            topics.topic(self._device, f"cmd/{action}"), topics.encode(f"cmd/{action}", cmd), qos=1
        )

    def start(self, timeout_s: float) -> DeviceInfo:
        try:
            self._client.connect(self._host, self._port)
        except OSError as e:
            raise SourceError(f"{self.url}: cannot connect to the broker: {e}") from e
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            raise SourceError(f"{self.url}: broker did not accept the connection")
        self._command("start_raw_stream")
        deadline = time.monotonic() + timeout_s
        first: tm.RawEmgChunk | None = None
        while first is None and time.monotonic() < deadline:
            try:
                first = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
        if first is None:
            raise SourceError(f"{self.url}: no raw sEMG on {self._raw} within {timeout_s:g} s")
        self._first = first
        self._meta_event.wait(0.5)
        if self._meta is not None and self._meta.HasField("device"):
            info = hello_info(self._meta.device)
            if info.channel_count and info.sampling_rate_hz:
                return info
        hello = dev.Hello(
            channel_count=first.channel_count,
            sampling_rate_hz=first.sampling_rate_hz,
            device_id=first.device_id,
        )
        info = hello_info(hello)
        return DeviceInfo(
            info.hello, first.channel_count, first.sampling_rate_hz, self._adc_bits, 0
        )

    def read(self, timeout_s: float) -> list[EmgChunk]:
        out: list[EmgChunk] = []
        if self._first is not None:
            chunks, self._first = [self._first], None
        else:
            chunks = []
            try:
                chunks.append(self._q.get(timeout=timeout_s))
            except queue.Empty:
                return out
        while len(chunks) < 256:
            try:
                chunks.append(self._q.get_nowait())
            except queue.Empty:
                break
        for c in chunks:
            frame = dev.EmgFrame(
                sequence=c.sequence,
                device_time_us=c.device_time_us,
                channel_count=c.channel_count,
                samples=c.samples,
            )
            out.append(EmgChunk(c.sequence, c.device_time_us, emg_samples(frame).copy()))
        return out

    def dropped_samples(self) -> int:
        return 0

    def close(self) -> None:
        try:
            self._command("stop_raw_stream")
        finally:
            self._client.loop_stop()
            self._client.disconnect()
