"""Validation of MQTT commands (`robohead/<id>/cmd/<name>`) before the daemon acts on them.

A command is the protobuf JSON of `robohead.v1.Command`; `<name>` is the field name of its
action (`set_mode`, `set_pose`, ...). An action without required fields may be omitted from the
payload (`{"requestId": "7"}` on `cmd/reload_model` reloads). Everything is checked here, so the
daemon only ever sees well-formed requests; every refusal names the field and what was expected,
and becomes the `error` of the reply on `cmd/<name>/reply`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from robohead.protocol import topics
from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = [
    "COMMAND_NAMES",
    "MAX_CALIBRATION_S",
    "MAX_PAYLOAD",
    "CommandError",
    "parse_command",
    "reply",
]

#: The action names a command topic may carry (the protocol's topic map).
COMMAND_NAMES = topics.COMMAND_NAMES
#: Actions that carry no required field, so the payload may omit them.
_IMPLICIT = {"reload_model", "stop_calibration", "start_raw_stream", "stop_raw_stream"}
MAX_PAYLOAD = 16 * 1024
MAX_CALIBRATION_S = 120.0


class CommandError(ValueError):
    """A command was refused; the message names the field and what was expected."""

    def __init__(self, message: str, request_id: str = "") -> None:
        super().__init__(message)
        self.request_id = request_id


def _request_id(payload: bytes) -> str:
    """The request id of a payload that failed to parse, so the reply can still echo it."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):  # "[[[[..." nests past the limit
        return ""
    if isinstance(data, dict):
        value = data.get("requestId", data.get("request_id", ""))
        return value if isinstance(value, str) else ""
    return ""


def parse_command(
    name: str,
    payload: bytes,
    *,
    motors: int,
    expressions: Collection[str] = (),
    retained: bool = False,
) -> tm.Command:
    """Decode and validate one command; raises CommandError with the reason."""
    rid = _request_id(payload)
    if name not in COMMAND_NAMES:
        raise CommandError(
            f"unknown command {name!r}; expected one of {', '.join(COMMAND_NAMES)}", rid
        )
    if retained:
        raise CommandError("retained commands are refused (publish with retain=false)", rid)
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(f"payload is {len(payload)} bytes; at most {MAX_PAYLOAD} allowed", rid)
    try:
        data = json.loads(payload) if payload.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CommandError(f"cmd/{name}: payload is not JSON: {exc}", rid) from exc
    if not isinstance(data, dict):
        raise CommandError(f"cmd/{name}: payload must be a JSON object (a Command)", rid)
    _strict_types(data, tm.Command.DESCRIPTOR, "", rid)
    named = {n for n in COMMAND_NAMES} | {_camel(n) for n in COMMAND_NAMES}
    if name in _IMPLICIT and not named & set(data):
        data[name] = {}
    try:
        message = topics.parse(f"cmd/{name}", json.dumps(data).encode())
    except topics.PayloadError as exc:
        raise CommandError(str(exc), rid) from exc
    assert isinstance(message, tm.Command)
    _check(message, motors=motors, expressions=expressions)
    return message


def _strict_types(data: dict[str, Any], descriptor: Any, path: str, rid: str) -> None:
    """What the protobuf JSON parser lets through but a typed command must not: `true` for a
    number (a bool is an int in Python) and 1.5 for an enum (truncated to 1 = MODE_AUTO)."""
    for key, value in data.items():
        field = descriptor.fields_by_name.get(key) or descriptor.fields_by_camelcase_name.get(key)
        if field is None:
            continue  # an unknown key: topics.parse refuses it, naming it
        where = f"{path}{field.name}"
        items = value if isinstance(value, list) else [value]
        for item in items:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if isinstance(item, dict):
                    _strict_types(item, field.message_type, f"{where}.", rid)
            elif isinstance(item, bool) and field.type != FieldDescriptor.TYPE_BOOL:
                raise CommandError(f"{where} is {item!r}: expected a number, not a boolean", rid)
            elif field.type == FieldDescriptor.TYPE_ENUM and isinstance(item, float):
                raise CommandError(f"{where} is {item!r}: expected an enum name or integer", rid)


def _camel(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(p.title() for p in rest)


def _check(command: tm.Command, *, motors: int, expressions: Collection[str]) -> None:
    rid = command.request_id
    action = command.WhichOneof("action")
    if action == "set_mode":
        # an unknown enum number (e.g. 99) parses fine in proto3; ModeController would raise
        if command.set_mode.mode not in (tm.MODE_AUTO, tm.MODE_MANUAL, tm.MODE_NEUTRAL):
            raise CommandError(
                f"set_mode.mode = {command.set_mode.mode} must be MODE_AUTO, MODE_MANUAL or "
                "MODE_NEUTRAL",
                rid,
            )
    elif action == "set_pose":
        pose = command.set_pose
        targets = list(pose.targets)
        if bool(targets) == bool(pose.expression):
            raise CommandError("set_pose needs exactly one of `targets` or `expression`", rid)
        if targets:
            if len(targets) != motors:
                raise CommandError(
                    f"set_pose.targets has {len(targets)} values; "
                    f"expected {motors} (one per motor)",
                    rid,
                )
            for i, value in enumerate(targets):
                if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                    raise CommandError(f"set_pose.targets[{i}] = {value} is outside [0, 1]", rid)
        elif pose.expression not in expressions:
            known = ", ".join(sorted(expressions)) or "none (no bundle loaded)"
            raise CommandError(
                f"set_pose.expression {pose.expression!r} is unknown; known: {known}", rid
            )
    elif action == "start_calibration":
        start = command.start_calibration
        if start.phase not in (tm.CALIBRATION_PHASE_REST, tm.CALIBRATION_PHASE_MAX):
            raise CommandError(
                f"start_calibration.phase = {start.phase} must be CALIBRATION_PHASE_REST or "
                "CALIBRATION_PHASE_MAX",
                rid,
            )
        if not (math.isfinite(start.duration_s) and 0.0 <= start.duration_s <= MAX_CALIBRATION_S):
            raise CommandError(
                f"start_calibration.duration_s = {start.duration_s} must be in "
                f"[0, {MAX_CALIBRATION_S:g}] (0: the configured default)",
                rid,
            )


def reply(request_id: str, *, ok: bool, error: str = "", detail: str = "") -> tm.CommandReply:
    return tm.CommandReply(request_id=request_id, ok=ok, error=error, detail=detail)
