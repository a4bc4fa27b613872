"""The monitor's MQTT connection (paho-mqtt 2.x): subscribes and feeds a MonitorState.

It only listens. paho's network thread connects in the background and reconnects with backoff
(also when the broker is down at start), so the dashboard shows "disconnected" and recovers by
itself; on every (re)connect it subscribes again and the broker replays the retained `status`
and `meta`.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from robohead.host.monitor.state import MonitorState
from robohead.protocol import topics

__all__ = ["SUBSCRIBED", "BrokerOptions", "MonitorClient", "subscriptions"]

#: Topic names the monitor listens to (raw_emg, the binary 100/s stream, is left out).
SUBSCRIBED = ("status", "meta", "telemetry/state", "metrics", "events", "cmd/+/reply")


@dataclass(frozen=True)
class BrokerOptions:
    """Where and how to connect; mirrors the edge's `[mqtt]` options."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    keepalive_s: int = 15

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def subscriptions(device: str | None) -> list[str]:
    """Full topic filters for one device id (or every device with `+`)."""
    return [topics.topic(device or "+", name) for name in SUBSCRIBED]


class MonitorClient:
    """One listening connection; `start()` returns at once, `stop()` disconnects."""

    def __init__(self, options: BrokerOptions, state: MonitorState) -> None:
        self.options = options
        self.state = state
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"robohead-monitor-{os.getpid()}-{id(self):x}",
            clean_session=True,
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        if options.username:
            self._client.username_pw_set(options.username, options.password)
        if options.tls:
            self._client.tls_set(
                ca_certs=str(options.ca_file) if options.ca_file else None,
                certfile=str(options.cert_file) if options.cert_file else None,
                keyfile=str(options.key_file) if options.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            self._client.tls_insecure_set(options.insecure)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._started = False
        self._refused = ""

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._client.connect_async(self.options.host, self.options.port, self.options.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MonitorClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- paho callbacks (network thread) ---------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            self._refused = f"refused: {reason_code}; retrying"
            self.state.on_disconnected(self._refused)
            return
        self._refused = ""
        client.subscribe(
            [
                (t, topics.spec(n).qos)
                for n, t in zip(SUBSCRIBED, subscriptions(self.state.device_filter), strict=True)
            ]
        )
        self.state.on_connected()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if self._refused:  # paho reports the refusal again as a disconnect: keep the reason
            self.state.on_disconnected(self._refused)
        elif self._started:
            self.state.on_disconnected(f"lost ({reason_code}); reconnecting")
        else:
            self.state.on_disconnected("stopped")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.state.on_message(message.topic, bytes(message.payload), bool(message.retain))
