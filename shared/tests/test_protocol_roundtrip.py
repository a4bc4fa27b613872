"""Every message of both schemas survives binary and JSON round trips with every field set."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from robohead.protocol.v1 import device_pb2, telemetry_pb2

_SCALARS: dict[int, object] = {
    FieldDescriptor.TYPE_DOUBLE: 0.25,
    FieldDescriptor.TYPE_FLOAT: 0.75,
    FieldDescriptor.TYPE_INT64: -(2**40),
    FieldDescriptor.TYPE_UINT64: 2**63 + 5,
    FieldDescriptor.TYPE_INT32: -7,
    FieldDescriptor.TYPE_FIXED64: 2**64 - 1,
    FieldDescriptor.TYPE_FIXED32: 0xDEADBEEF,
    FieldDescriptor.TYPE_BOOL: True,
    FieldDescriptor.TYPE_STRING: "ä-1",
    FieldDescriptor.TYPE_BYTES: b"\x00\x01\xff",
    FieldDescriptor.TYPE_UINT32: 2**32 - 1,
    FieldDescriptor.TYPE_SFIXED32: -3,
    FieldDescriptor.TYPE_SFIXED64: -4,
    FieldDescriptor.TYPE_SINT32: -5,
    FieldDescriptor.TYPE_SINT64: -6,
}


def _value(field: FieldDescriptor) -> object:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values[-1].number
    return _SCALARS[field.type]


def populate(msg: Message, oneof_choice: int = 0, depth: int = 0) -> Message:
    """Set every field (the ``oneof_choice``-th member of each oneof) to a non-default value."""
    desc: Descriptor = msg.DESCRIPTOR
    for field in desc.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.fields[oneof_choice % len(oneof.fields)] is not field:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_f, val_f = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            container = getattr(msg, field.name)
            if val_f.message_type is not None:
                populate(container[_value(key_f)], depth=depth + 1)
            else:
                container[_value(key_f)] = _value(val_f)
        elif field.message_type is not None:
            if field.is_repeated:
                for _ in range(2):
                    populate(getattr(msg, field.name).add(), depth=depth + 1)
            elif depth < 4:
                populate(getattr(msg, field.name), depth=depth + 1)
                if not getattr(msg, field.name).ListFields():
                    getattr(msg, field.name).SetInParent()  # empty messages: set, not default
        elif field.is_repeated:
            getattr(msg, field.name).extend([_value(field), _value(field)])
        else:
            setattr(msg, field.name, _value(field))
    return msg


def _all_messages() -> list[tuple[str, int]]:
    cases = []
    for module in (device_pb2, telemetry_pb2):
        for desc in module.DESCRIPTOR.message_types_by_name.values():
            n = max([len(o.fields) for o in desc.oneofs] or [1])
            cases += [(desc.full_name, i) for i in range(n)]
    return cases


CASES = _all_messages()


@pytest.mark.parametrize(("full_name", "choice"), CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_binary_and_json_round_trip(full_name: str, choice: int) -> None:
    cls = GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(full_name))
    msg = populate(cls(), oneof_choice=choice)
    assert bool(msg.ListFields()) == bool(cls.DESCRIPTOR.fields), f"{full_name}: nothing set"
    assert cls.FromString(msg.SerializeToString(deterministic=True)) == msg
    text = json_format.MessageToJson(msg, preserving_proto_field_name=True)
    assert json_format.Parse(text, cls()) == msg


def test_every_message_is_covered() -> None:
    names = {n for n, _ in CASES}
    assert "robohead.v1.DeviceMessage" in names and "robohead.v1.RawEmgChunk" in names
    assert len(names) == len(device_pb2.DESCRIPTOR.message_types_by_name) + len(
        telemetry_pb2.DESCRIPTOR.message_types_by_name
    )
