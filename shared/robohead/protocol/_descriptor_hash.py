"""How the schema hash is computed from descriptors.

Kept free of generated code so ``codegen`` can hash freshly compiled descriptors before any
``*_pb2`` module exists; ``robohead.protocol.schema`` documents the definition and exposes
``SCHEMA_HASH``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from google.protobuf import descriptor_pb2

__all__ = [
    "SCHEMA_FILES",
    "canonical_descriptor_set",
    "format_schema_hash",
    "schema_hash",
]

#: The proto files covered by the hash, as protoc names them (relative to shared/proto).
SCHEMA_FILES: tuple[str, ...] = (
    "robohead/protocol/v1/device.proto",
    "robohead/protocol/v1/telemetry.proto",
)


def _default_json_name(name: str) -> str:
    """protoc's ToJsonName: drop underscores and capitalise the letter after each."""
    out: list[str] = []
    upper_next = False
    for ch in name:
        if ch == "_":
            upper_next = True
        elif upper_next:
            out.append(ch.upper())
            upper_next = False
        else:
            out.append(ch)
    return "".join(out)


def _strip_fields(fields: Iterable[descriptor_pb2.FieldDescriptorProto]) -> None:
    for field in fields:
        if field.HasField("json_name") and field.json_name == _default_json_name(field.name):
            field.ClearField("json_name")


def _strip_message(msg: descriptor_pb2.DescriptorProto) -> None:
    _strip_fields(msg.field)
    _strip_fields(msg.extension)
    for nested in msg.nested_type:
        _strip_message(nested)


def canonical_descriptor_set(
    files: Iterable[descriptor_pb2.FileDescriptorProto],
) -> bytes:
    """Serialize ``files`` in the canonical form the schema hash is taken over."""
    out = descriptor_pb2.FileDescriptorSet()
    for original in sorted(files, key=lambda f: f.name):
        fdp = out.file.add()
        fdp.CopyFrom(original)
        fdp.ClearField("source_code_info")
        _strip_fields(fdp.extension)
        for msg in fdp.message_type:
            _strip_message(msg)
    return out.SerializeToString(deterministic=True)


def schema_hash(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> int:
    """The uint32 schema hash of ``files`` (see the module docstring for the definition)."""
    digest = hashlib.sha256(canonical_descriptor_set(files)).digest()
    return int.from_bytes(digest[:4], "big")


def format_schema_hash(value: int) -> str:
    """Render a hash the way logs, errors and the C header show it: ``0x`` + 8 hex digits."""
    return f"0x{value & 0xFFFFFFFF:08x}"
