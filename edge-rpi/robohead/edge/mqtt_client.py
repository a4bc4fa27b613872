"""The daemon's MQTT side (paho-mqtt 2.x): status, meta, telemetry, metrics, events, commands.

Design rules, each because the robot must keep moving whatever the network does:
- nothing here blocks the caller: paho's own network thread does the I/O and reconnects by
  itself with exponential backoff (also when the broker is down at start);
- `status` (with an OFFLINE last will) and `meta` are retained and re-published on every
  (re)connect from their latest value, so a broker restart loses nothing that matters;
- telemetry and metrics are QoS 0 and simply dropped (and counted) while the broker is away;
- events and command replies are QoS 1 in paho's bounded queue (`queue_size`), so a long outage
  costs bounded memory; overflow is counted, never raised;
- commands arrive on paho's thread and are handed to the daemon through a bounded queue; the
  daemon validates and executes them on its own thread (`robohead.edge.commands`).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from google.protobuf.message import Message
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from robohead.edge.config import MqttConfig
from robohead.protocol import topics
from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = ["EdgeMqtt", "InboundCommand"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundCommand:
    """A message that arrived on `cmd/<name>`, not yet validated."""

    name: str
    payload: bytes
    retained: bool


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class EdgeMqtt:
    """One MQTT connection for one device id; every method is safe to call from any thread."""

    def __init__(self, config: MqttConfig, device_id: str, *, command_queue_size: int = 64) -> None:
        self.config = config
        self.device_id = device_id
        self.commands: queue.Queue[InboundCommand] = queue.Queue(maxsize=command_queue_size)
        self.dropped = 0  # outgoing messages lost (broker away, queue full)
        self.rejected = 0  # incoming messages refused before reaching the daemon
        self.connections = 0
        self.refusals = 0  # CONNACK failures (bad credentials, not authorised)
        self.connect_failures = 0  # TCP/TLS failures before any CONNACK
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._status = tm.Status(state=tm.Status.STATE_DEGRADED, device_id=device_id)
        self._meta: tm.Meta | None = None
        self._started = False
        client_id = config.client_id or f"robohead-edge-{device_id}"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True
        )
        self._client.max_queued_messages_set(config.queue_size)
        self._client.reconnect_delay_set(
            min_delay=config.reconnect_min_s,  # type: ignore[arg-type]  # paho takes float seconds
            max_delay=config.reconnect_max_s,  # type: ignore[arg-type]
        )
        if config.username:
            self._client.username_pw_set(config.username, config.resolved_password())
        if config.tls.enabled:
            self._client.tls_set(
                ca_certs=str(config.tls.ca_file) if config.tls.ca_file else None,
                certfile=str(config.tls.cert_file) if config.tls.cert_file else None,
                keyfile=str(config.tls.key_file) if config.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            self._client.tls_insecure_set(config.tls.insecure)
        will = tm.Status(
            state=tm.Status.STATE_OFFLINE, device_id=device_id, detail="connection lost"
        )
        self._client.will_set(
            self.topic("status"), topics.encode("status", will), qos=1, retain=True
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message

    # --- lifecycle -----------------------------------------------------------------------------

    def topic(self, name: str) -> str:
        return topics.topic(self.device_id, name)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def start(self) -> None:
        """Connect in the background; returns at once, even when the broker is unreachable."""
        if self._started:
            return
        self._started = True
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        self._client.loop_start()

    def stop(self, detail: str = "stopped", timeout: float = 3.0) -> None:
        """Publish status OFFLINE (retained), then disconnect cleanly."""
        if not self._started:
            return
        offline = tm.Status(
            state=tm.Status.STATE_OFFLINE,
            device_id=self.device_id,
            detail=detail,
            timestamp_ms=_now_ms(),
        )
        with self._lock:
            self._status = offline
        if self.connected:
            info = self._client.publish(
                self.topic("status"), topics.encode("status", offline), qos=1, retain=True
            )
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._started = False
        self._connected.clear()

    # --- outgoing ------------------------------------------------------------------------------

    def set_status(self, state: tm.Status.State, detail: str = "") -> None:
        status = tm.Status(
            state=state, device_id=self.device_id, detail=detail, timestamp_ms=_now_ms()
        )
        with self._lock:
            self._status = status
        self._publish("status", status, qos=1, retain=True)

    def set_meta(self, meta: tm.Meta) -> None:
        meta = tm.Meta.FromString(meta.SerializeToString())
        meta.device_id = self.device_id
        meta.timestamp_ms = _now_ms()
        with self._lock:
            self._meta = meta
        self._publish("meta", meta, qos=1, retain=True)

    def telemetry(self, msg: tm.Telemetry) -> None:
        self._publish("telemetry/state", msg, qos=0)

    def metrics(self, msg: tm.Metrics) -> None:
        msg.mqtt_dropped = self.dropped
        self._publish("metrics", msg, qos=0)

    def event(self, level: tm.Event.Level, kind: str, message: str, **details: str) -> None:
        event = tm.Event(
            timestamp_ms=_now_ms(), level=level, kind=kind, message=message, details=details
        )
        self._publish("events", event, qos=1)

    def reply(self, name: str, msg: tm.CommandReply) -> None:
        self._publish(f"cmd/{name}/reply", msg, qos=1)

    def raw_emg(self, chunk: tm.RawEmgChunk) -> None:
        self._publish("telemetry/raw_emg", chunk, qos=0)

    def _publish(self, name: str, msg: Message, *, qos: int, retain: bool = False) -> None:
        if not self._started:
            return
        if qos == 0 and not self.connected:
            self.dropped += 1
            return
        try:
            info = self._client.publish(
                self.topic(name), topics.encode(name, msg), qos=qos, retain=retain
            )
        except (ValueError, RuntimeError) as exc:  # paho raises on a closed/odd client state
            log.debug("publish %s failed: %s", name, exc)
            self.dropped += 1
            return
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self.dropped += 1  # MQTT_ERR_QUEUE_SIZE: the bounded queue is full
        elif info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos == 0:
            self.dropped += 1

    # --- paho callbacks (network thread) ----------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            self.refusals += 1
            log.warning(
                "MQTT broker %s:%d refused the connection: %s",
                self.config.host,
                self.config.port,
                reason_code,
            )
            return
        self.connections += 1
        client.subscribe(self.topic("cmd/+"), qos=1)
        with self._lock:
            status, meta = self._status, self._meta
        status.timestamp_ms = _now_ms()
        client.publish(self.topic("status"), topics.encode("status", status), qos=1, retain=True)
        if meta is not None:
            client.publish(self.topic("meta"), topics.encode("meta", meta), qos=1, retain=True)
        self._connected.set()
        log.info("MQTT connected to %s:%d", self.config.host, self.config.port)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self.connect_failures += 1
        if self.connect_failures in (1, 10, 100):
            log.warning(
                "MQTT broker %s:%d unreachable (attempt %d); retrying in the background",
                self.config.host,
                self.config.port,
                self.connect_failures,
            )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and self._started:
            log.warning("MQTT connection lost (%s); reconnecting in the background", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            device_id, name = topics.split(message.topic)
            command = topics.command_name(name)
        except topics.TopicError as exc:  # e.g. cmd/<unknown>: no reply topic exists for it
            self.rejected += 1
            log.warning("ignored MQTT message: %s", exc)
            return
        if device_id != self.device_id or command is None or name.endswith("/reply"):
            return
        inbound = InboundCommand(command, bytes(message.payload), bool(message.retain))
        try:
            self.commands.put_nowait(inbound)
        except queue.Full:
            self.rejected += 1
            log.warning("command queue full; dropped cmd/%s", inbound.name)
