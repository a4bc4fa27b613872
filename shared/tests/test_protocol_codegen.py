"""Generated code matches the schema, and the schema hash means what INTERFACES.md says."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from robohead.protocol import codegen
from robohead.protocol.framing import MAX_PAYLOAD
from robohead.protocol.schema import SCHEMA_HASH, compiled_descriptors, schema_hash

HEADER = codegen.DEFAULT_ROOT / "nanopb" / "robohead_schema_hash.h"
DEVICE_PB_H = codegen.DEFAULT_ROOT / "nanopb" / "robohead" / "protocol" / "v1" / "device.pb.h"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if codegen.find_nanopb_generator() is None:
        pytest.skip("nanopb_generator.py is not installed")
    root = tmp_path_factory.mktemp("gen")
    codegen.generate(root)
    return root


def test_checked_in_code_matches_a_fresh_generation(fresh: Path) -> None:
    for fresh_file, checked_in in zip(
        codegen.generated_files(fresh), codegen.generated_files(), strict=True
    ):
        assert checked_in.exists(), f"{checked_in} is missing: run `make proto`"
        assert fresh_file.read_bytes() == checked_in.read_bytes(), (
            f"{checked_in} differs from a fresh generation: run `make proto` and commit"
        )


def test_header_hash_equals_python_hash() -> None:
    match = re.search(r"#define ROBOHEAD_SCHEMA_HASH (0x[0-9a-f]{8})u", HEADER.read_text())
    assert match, f"no ROBOHEAD_SCHEMA_HASH in {HEADER}"
    assert int(match.group(1), 16) == SCHEMA_HASH
    assert 0 <= SCHEMA_HASH <= 0xFFFFFFFF


def test_hash_of_protoc_descriptor_set_equals_hash_of_pb2_modules() -> None:
    assert codegen.schema_hash_of_protos() == SCHEMA_HASH


def test_hash_ignores_file_order_and_source_info() -> None:
    files = compiled_descriptors()
    with_info = [descriptor_pb2.FileDescriptorProto() for _ in files]
    for dst, src in zip(with_info, files, strict=True):
        dst.CopyFrom(src)
        dst.source_code_info.location.add().leading_comments = "a comment"
    assert schema_hash(reversed(with_info)) == SCHEMA_HASH


def _copy_protos(tmp_path: Path) -> Path:
    dst = tmp_path / "proto"
    shutil.copytree(codegen.PROTO_DIR, dst)
    return dst


def test_hash_changes_when_a_field_is_added(tmp_path: Path) -> None:
    proto_dir = _copy_protos(tmp_path)
    device = proto_dir / "robohead" / "protocol" / "v1" / "device.proto"
    text = device.read_text()
    marker = "  uint32 nonce = 1;           // echoed from the Ping\n"
    assert marker in text
    device.write_text(text.replace(marker, marker + "  uint32 added_field = 99;\n", 1))
    assert codegen.schema_hash_of_protos(proto_dir) != SCHEMA_HASH


def test_hash_ignores_comments(tmp_path: Path) -> None:
    proto_dir = _copy_protos(tmp_path)
    telemetry = proto_dir / "robohead" / "protocol" / "v1" / "telemetry.proto"
    telemetry.write_text("// an extra comment\n" + telemetry.read_text())
    assert codegen.schema_hash_of_protos(proto_dir) == SCHEMA_HASH


def test_max_payload_holds_the_largest_nanopb_message() -> None:
    sizes = dict(re.findall(r"#define robohead_v1_(\w+)_size\s+(\d+)", DEVICE_PB_H.read_text()))
    assert int(sizes["DeviceMessage"]) <= MAX_PAYLOAD
    assert int(sizes["HostMessage"]) <= MAX_PAYLOAD
    assert f"#define ROBOHEAD_MAX_PAYLOAD {MAX_PAYLOAD}u" in HEADER.read_text()
