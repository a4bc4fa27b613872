"""What the monitor knows, built only from MQTT messages (no I/O, no terminal).

`MonitorState.on_message(topic, payload, retained)` parses with robohead.protocol.topics, so a
malformed payload is counted and shown rather than crashing the dashboard; `apply` takes a
message already parsed. Times come from an injected clock, so staleness is testable. All methods
take `lock`; the renderer reads under the same lock (paho calls in from its own thread).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message

from robohead.protocol import topics
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = [
    "BrokerView",
    "DeviceView",
    "LogEntry",
    "MonitorState",
    "measured_targets",
]


@dataclass
class BrokerView:
    """The monitor's own connection to the broker."""

    address: str
    connected: bool = False
    detail: str = "connecting"
    since: float = 0.0
    connects: int = 0
    disconnects: int = 0


@dataclass(frozen=True)
class LogEntry:
    """One line of the events panel: an Event or a CommandReply."""

    at: float
    level: str  # "info", "warning", "error"
    kind: str
    text: str


@dataclass
class DeviceView:
    """Everything heard from one `robohead/<device_id>/...`."""

    device_id: str
    status: tm.Status | None = None
    status_retained: bool = False
    status_at: float | None = None
    meta: tm.Meta | None = None
    meta_at: float | None = None
    telemetry: tm.Telemetry | None = None
    telemetry_at: float | None = None
    metrics: tm.Metrics | None = None
    metrics_at: float | None = None
    log: deque[LogEntry] = field(default_factory=lambda: deque(maxlen=6))
    messages: Counter[str] = field(default_factory=Counter)
    last_heard: float = 0.0

    @property
    def mode(self) -> int:
        """The mode from the freshest source (telemetry, else meta)."""
        if self.telemetry is not None and self.telemetry.mode:
            return self.telemetry.mode
        return self.meta.mode if self.meta is not None else tm.MODE_UNSPECIFIED

    @property
    def servos(self) -> Sequence[dev.ServoLimits]:
        return list(self.meta.device.servos) if self.meta is not None else []

    def motor_names(self, count: int) -> list[str]:
        names = list(self.meta.motor_names) if self.meta is not None else []
        return names[:count] + [f"motor{i}" for i in range(len(names), count)]

    def channel_names(self, count: int) -> list[str]:
        names = list(self.meta.channel_names) if self.meta is not None else []
        return names[:count] + [f"ch{i}" for i in range(len(names), count)]


_LEVELS = {
    tm.Event.LEVEL_INFO: "info",
    tm.Event.LEVEL_WARNING: "warning",
    tm.Event.LEVEL_ERROR: "error",
}


def measured_targets(
    measured_us: Sequence[int], servos: Sequence[dev.ServoLimits]
) -> list[float | None]:
    """Servo pulse widths back in target units [0, 1] using the device's Hello limits.

    None where the limits are unknown (no meta yet) or degenerate.
    """
    out: list[float | None] = []
    for i, us in enumerate(measured_us):
        if i >= len(servos) or servos[i].max_us <= servos[i].min_us:
            out.append(None)
            continue
        s = servos[i]
        x = (float(us) - s.min_us) / float(s.max_us - s.min_us)
        x = min(1.0, max(0.0, x))
        out.append(1.0 - x if s.inverted else x)
    return out


class MonitorState:
    """The dashboard's model: broker connection, devices heard, parse errors."""

    def __init__(
        self,
        *,
        broker: str,
        device: str | None = None,
        events: int = 6,
        stale_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.broker = BrokerView(address=broker, since=clock())
        self.device_filter = device
        self.events = events
        self.stale_s = stale_s
        self.devices: dict[str, DeviceView] = {}
        self.parse_errors = 0
        self.last_error = ""
        self.started = clock()

    # --- the broker connection ---------------------------------------------------------------

    def on_connected(self) -> None:
        with self.lock:
            b = self.broker
            b.connected, b.detail, b.since = True, "connected", self.clock()
            b.connects += 1

    def on_disconnected(self, detail: str) -> None:
        with self.lock:
            b = self.broker
            if b.connected:
                b.disconnects += 1
            b.connected, b.detail, b.since = False, detail, self.clock()

    # --- messages ----------------------------------------------------------------------------

    def on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """Parse one MQTT message and apply it; a bad one is counted with its reason."""
        try:
            device_id, name = topics.split(topic)
            msg = topics.parse(name, payload)
        except topics.PayloadError as exc:  # TopicError is a PayloadError
            with self.lock:
                self.parse_errors += 1
                self.last_error = f"{topic}: {exc}"
            return
        self.apply(device_id, name, msg, retained=retained)

    def apply(self, device_id: str, name: str, msg: Message, *, retained: bool = False) -> None:
        """Apply a parsed message from `robohead/<device_id>/<name>`."""
        with self.lock:
            if self.device_filter is not None and device_id != self.device_filter:
                return
            now = self.clock()
            view = self.devices.get(device_id)
            if view is None:
                view = DeviceView(device_id, log=deque(maxlen=max(1, self.events)))
                self.devices[device_id] = view
            view.messages[name] += 1
            view.last_heard = now
            if isinstance(msg, tm.Status):
                view.status, view.status_retained, view.status_at = msg, retained, now
            elif isinstance(msg, tm.Meta):
                view.meta, view.meta_at = msg, now
            elif isinstance(msg, tm.Telemetry):
                view.telemetry, view.telemetry_at = msg, now
            elif isinstance(msg, tm.Metrics):
                view.metrics, view.metrics_at = msg, now
            elif isinstance(msg, tm.Event):
                level = _LEVELS.get(msg.level, "info")
                view.log.append(LogEntry(now, level, msg.kind or "event", msg.message))
            elif isinstance(msg, tm.CommandReply):
                command = topics.command_name(name) or "?"
                if msg.ok:
                    text = f"ok {msg.detail}".strip()
                    view.log.append(LogEntry(now, "info", f"reply {command}", text))
                else:
                    view.log.append(LogEntry(now, "error", f"reply {command}", msg.error))

    # --- derived -----------------------------------------------------------------------------

    def selected(self) -> DeviceView | None:
        """The device shown: the one asked for, else the one heard from most recently."""
        with self.lock:
            if self.device_filter is not None:
                return self.devices.get(self.device_filter)
            if not self.devices:
                return None
            return max(self.devices.values(), key=lambda v: v.last_heard)

    def telemetry_age(self, view: DeviceView) -> float | None:
        with self.lock:
            return None if view.telemetry_at is None else self.clock() - view.telemetry_at

    def is_stale(self, view: DeviceView) -> bool:
        """No telemetry for `stale_s` (or never) while the device claims to be up."""
        age = self.telemetry_age(view)
        return age is None or age > self.stale_s
