"""The MQTT topic map, in one place: ``robohead/<device_id>/<name>``.

A topic *name* is the part after the device id, exactly as it appears on the wire: ``status``,
``meta``, ``telemetry/state``, ``telemetry/raw_emg``, ``metrics``, ``events``, ``cmd/<command>``
and ``cmd/<command>/reply``, where ``<command>`` is a field name of ``Command.action``
(``set_mode``, ``set_pose``, ...). Every name maps to one message type, QoS, retain flag and
encoding (``TOPICS``, also tabled in shared/README.md). JSON payloads are the protobuf JSON
mapping written with proto field names (``parse`` accepts lowerCamelCase too); the raw sEMG
stream is binary protobuf. ``parse`` validates as well as decodes, so a daemon can hand its
``PayloadError`` message straight back in a ``CommandReply.error``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from robohead.protocol.errors import ProtocolError
from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = [
    "COMMAND_NAMES",
    "DEVICE_ID_PATTERN",
    "ROOT",
    "TOPICS",
    "PayloadError",
    "TopicError",
    "TopicSpec",
    "command_name",
    "encode",
    "markdown_table",
    "parse",
    "reply_name",
    "spec",
    "split",
    "topic",
    "validate",
]

ROOT = "robohead"
#: A device id is one topic level: no "/", "+" or "#", nothing a shell or a file name trips on.
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: The action names of Command, in field order: the ``<command>`` of ``cmd/<command>``.
COMMAND_NAMES: tuple[str, ...] = tuple(
    f.name for f in tm.Command.DESCRIPTOR.oneofs_by_name["action"].fields
)

Encoding = Literal["json", "binary"]


class PayloadError(ProtocolError):
    """A payload is not the message its topic carries, or fails validation; names both."""


class TopicError(PayloadError):
    """A topic (or topic name, or device id) is not part of the robohead topic map."""


@dataclass(frozen=True)
class TopicSpec:
    pattern: str  # the name, "{command}" standing for a Command action name
    message: type[Message]
    qos: int
    retained: bool
    encoding: Encoding
    rate: str
    description: str


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "status",
        tm.Status,
        1,
        True,
        "json",
        "on change; the broker publishes the OFFLINE last will",
        "online / degraded / offline, with the reason",
    ),
    TopicSpec(
        "meta",
        tm.Meta,
        1,
        True,
        "json",
        "on start, on model reload, on each (re)connect",
        "what is running: device Hello, model, bundle, dataset, channel and motor names",
    ),
    TopicSpec(
        "telemetry/state",
        tm.Telemetry,
        0,
        False,
        "json",
        "edge config mqtt.telemetry_rate_hz (default 10 Hz)",
        "sEMG/audio levels, predicted/commanded/measured motors, stage timings",
    ),
    TopicSpec(
        "telemetry/raw_emg",
        tm.RawEmgChunk,
        0,
        False,
        "binary",
        "one per EmgFrame while streaming (100/s at 1 kHz, 10 samples per frame)",
        "raw sEMG counts for remote recording (start_raw_stream / stop_raw_stream)",
    ),
    TopicSpec(
        "metrics",
        tm.Metrics,
        0,
        False,
        "json",
        "about 1 Hz",
        "rates, latency percentiles, link/device/MQTT counters",
    ),
    TopicSpec(
        "events",
        tm.Event,
        1,
        False,
        "json",
        "when something happens",
        "schema mismatch, bundle rejected, link lost, calibrated, ...",
    ),
    TopicSpec(
        "cmd/{command}",
        tm.Command,
        1,
        False,
        "json",
        "on demand",
        "a command; <command> must equal the action set in the payload",
    ),
    TopicSpec(
        "cmd/{command}/reply",
        tm.CommandReply,
        1,
        False,
        "json",
        "one per command",
        "ok or the reason it was refused, with the command's request_id",
    ),
)

_LEVEL = r"[A-Za-z0-9_.-]+"


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "^" + re.escape(pattern).replace(r"\{command\}", f"(?P<command>{_LEVEL})") + "$"
    )


_MATCHERS = [(_compile(s.pattern), s) for s in TOPICS]


def spec(name: str) -> TopicSpec:
    """The TopicSpec of a concrete topic name such as ``telemetry/state`` or ``cmd/set_mode``."""
    if name in ("cmd/+", "cmd/+/reply"):  # subscription wildcards of the command topics
        return spec(name.replace("+", COMMAND_NAMES[0]))
    for matcher, topic_spec in _MATCHERS:
        match = matcher.match(name)
        if match is None:
            continue
        command = match.groupdict().get("command")
        if command is not None and command not in COMMAND_NAMES:
            raise TopicError(
                f"unknown command {command!r} in topic name {name!r}; "
                f"expected one of {', '.join(COMMAND_NAMES)}"
            )
        return topic_spec
    raise TopicError(
        f"unknown topic name {name!r}; expected one of "
        + ", ".join(s.pattern.replace("{command}", "<command>") for s in TOPICS)
    )


def markdown_table() -> str:
    """The topic map as the Markdown table in shared/README.md (a test keeps them equal)."""
    rows = [
        "| topic `robohead/<device_id>/...` | message | encoding | QoS | retained | rate |",
        "|---|---|---|---|---|---|",
    ]
    for s in TOPICS:
        name = s.pattern.replace("{command}", "<command>")
        rows.append(
            f"| `{name}` | `{s.message.DESCRIPTOR.name}` | {s.encoding} | {s.qos} "
            f"| {'yes' if s.retained else 'no'} | {s.rate} |"
        )
    return "\n".join(rows) + "\n"


def command_name(name: str) -> str | None:
    """``cmd/set_mode`` and ``cmd/set_mode/reply`` -> ``set_mode``; other names -> None."""
    spec(name)
    parts = name.split("/")
    return parts[1] if parts[0] == "cmd" else None


def reply_name(name: str) -> str:
    """The reply topic name of a command topic name: ``cmd/set_mode`` -> ``cmd/set_mode/reply``."""
    if spec(name).message is not tm.Command:
        raise TopicError(f"{name!r} is not a command topic name (cmd/<command>)")
    return f"{name}/reply"


def topic(device_id: str, name: str) -> str:
    """The full topic ``robohead/<device_id>/<name>``; ``device_id`` may be ``+`` to subscribe."""
    if device_id != "+" and not DEVICE_ID_PATTERN.match(device_id):
        raise TopicError(
            f"device id {device_id!r} is not one topic level matching {DEVICE_ID_PATTERN.pattern}"
        )
    spec(name)
    return f"{ROOT}/{device_id}/{name}"


def split(full_topic: str) -> tuple[str, str]:
    """``robohead/<device_id>/<name>`` -> (device_id, name), checking both."""
    parts = full_topic.split("/", 2)
    if len(parts) != 3 or parts[0] != ROOT:
        raise TopicError(f"topic {full_topic!r} is not robohead/<device_id>/<name>")
    device_id, name = parts[1], parts[2]
    if not DEVICE_ID_PATTERN.match(device_id):
        raise TopicError(f"topic {full_topic!r}: device id {device_id!r} is not valid")
    spec(name)
    return device_id, name


def encode(name: str, msg: Message) -> bytes:
    """The payload to publish ``msg`` on topic name ``name`` (validated first)."""
    topic_spec = spec(name)
    if not isinstance(msg, topic_spec.message):
        raise PayloadError(
            f"{name}: carries {topic_spec.message.DESCRIPTOR.full_name}, got {type(msg).__name__}"
        )
    validate(name, msg)
    if topic_spec.encoding == "binary":
        return msg.SerializeToString()
    doc = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def parse(name: str, payload: bytes) -> Message:
    """Decode and validate a payload received on topic name ``name``; raises PayloadError."""
    topic_spec = spec(name)
    msg = topic_spec.message()
    what = topic_spec.message.DESCRIPTOR.full_name
    if topic_spec.encoding == "binary":
        try:
            msg.ParseFromString(payload)
        except DecodeError as exc:
            raise PayloadError(
                f"{name}: {len(payload)} bytes are not a binary {what}: {exc}"
            ) from exc
    else:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"{name}: payload is not UTF-8 JSON (byte {exc.start})") from exc
        try:
            json_format.Parse(text, msg)
        except json_format.ParseError as exc:
            raise PayloadError(f"{name}: payload is not a JSON {what}: {exc}") from exc
    validate(name, msg)
    return msg


# ---- validation ------------------------------------------------------------------------------


def _unit_interval(name: str, field: str, values: Iterable[float]) -> None:
    for i, v in enumerate(values):
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise PayloadError(f"{name}: {field}[{i}] = {v} is outside [0, 1]")


def _check_command(name: str, msg: tm.Command) -> None:
    action = msg.WhichOneof("action")
    if action is None:
        raise PayloadError(
            f"{name}: Command sets no action; expected one of {', '.join(COMMAND_NAMES)}"
        )
    expected = command_name(name)
    if expected is not None and action != expected:
        raise PayloadError(f"{name}: payload carries action {action!r}, topic says {expected!r}")
    if action == "set_mode" and msg.set_mode.mode == tm.MODE_UNSPECIFIED:
        raise PayloadError(f"{name}: set_mode.mode is unset; expected MODE_AUTO/MANUAL/NEUTRAL")
    if action == "set_pose":
        pose = msg.set_pose
        if bool(pose.targets) == bool(pose.expression):
            raise PayloadError(f"{name}: set_pose needs exactly one of targets or expression")
        _unit_interval(name, "set_pose.targets", pose.targets)
    if action == "start_calibration":
        cal = msg.start_calibration
        if cal.phase == tm.CALIBRATION_PHASE_UNSPECIFIED:
            raise PayloadError(f"{name}: start_calibration.phase is unset; expected REST or MAX")
        if not (math.isfinite(cal.duration_s) and cal.duration_s >= 0):
            raise PayloadError(f"{name}: start_calibration.duration_s = {cal.duration_s} is < 0")


def _check_reply(name: str, msg: tm.CommandReply) -> None:
    if not msg.ok and not msg.error:
        raise PayloadError(f"{name}: a refused CommandReply (ok=false) must say why in error")


def _check_status(name: str, msg: tm.Status) -> None:
    if msg.state == tm.Status.STATE_UNSPECIFIED:
        raise PayloadError(f"{name}: Status.state is unset; expected ONLINE/DEGRADED/OFFLINE")


def _check_raw(name: str, msg: tm.RawEmgChunk) -> None:
    if msg.channel_count == 0 or len(msg.samples) % (2 * msg.channel_count):
        raise PayloadError(
            f"{name}: samples is {len(msg.samples)} bytes, "
            f"not a multiple of 2 x channel_count={msg.channel_count}"
        )


_CHECKS: dict[type[Message], Callable[[str, Any], None]] = {
    tm.Command: _check_command,
    tm.CommandReply: _check_reply,
    tm.Status: _check_status,
    tm.RawEmgChunk: _check_raw,
}


def validate(name: str, msg: Message) -> None:
    """Raise PayloadError when ``msg`` is not acceptable on topic name ``name``."""
    check = _CHECKS.get(type(msg))
    if check is not None:
        check(name, msg)
