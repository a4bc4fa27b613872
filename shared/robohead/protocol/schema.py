"""The robohead.v1 schema hash: one uint32 both peers compile in and compare in Hello/Ping.

Definition (shared with the C side through ``nanopb/robohead_schema_hash.h``): the first 4
bytes, big-endian, of SHA-256 over a ``FileDescriptorSet`` holding the canonical
FileDescriptorProtos of device.proto and telemetry.proto, sorted by file name. Canonical means:
``source_code_info`` cleared (comments and layout never change the hash) and every ``json_name``
that protoc merely derived from the field name cleared (protoc writes it into descriptor sets
but not into the ``*_pb2`` modules; an explicit ``json_name`` option stays, because it changes
the JSON mapping). The set is serialized deterministically, so the hash is stable across runs
and machines and changes whenever a message, field, enum or option changes. nanopb's
device.options (RAM bounds of the C structs) is not part of the hash.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from robohead.protocol._descriptor_hash import (
    SCHEMA_FILES,
    canonical_descriptor_set,
    format_schema_hash,
    schema_hash,
)
from robohead.protocol.v1 import device_pb2, telemetry_pb2

__all__ = [
    "SCHEMA_FILES",
    "SCHEMA_HASH",
    "canonical_descriptor_set",
    "compiled_descriptors",
    "format_schema_hash",
    "schema_hash",
]


def compiled_descriptors() -> list[descriptor_pb2.FileDescriptorProto]:
    """The FileDescriptorProtos embedded in the generated ``*_pb2`` modules."""
    return [
        descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        for module in (device_pb2, telemetry_pb2)
    ]


#: The hash of the schema this Python package was generated from.
SCHEMA_HASH: int = schema_hash(compiled_descriptors())
