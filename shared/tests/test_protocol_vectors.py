"""Golden vectors decode to their recorded form and re-encode to the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robohead.protocol.framing import FrameDecoder
from robohead.protocol.messages import (
    decode_device,
    decode_host,
    emg_samples,
    encode_device,
    encode_host,
    kind,
)
from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.v1 import device_pb2 as pb
from robohead.protocol.vectors import (
    VECTOR_DIR,
    GoldenVector,
    VectorError,
    build_vectors,
    load_vector,
    load_vectors,
    message_to_dict,
    write_vectors,
)

VECTORS = load_vectors()
IDS = [v.name for v in VECTORS]


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_vector_decodes_to_its_json_and_re_encodes_to_its_bytes(vec: GoldenVector) -> None:
    dec = FrameDecoder()
    (payload,) = dec.feed(vec.frame)
    decoded = decode_device(payload) if vec.direction == "device" else decode_host(payload)
    doc = json.loads((VECTOR_DIR / f"{vec.name}.json").read_text())
    assert message_to_dict(decoded) == doc["message"]
    assert decoded == vec.message
    encode = encode_device if vec.direction == "device" else encode_host
    assert encode(decoded) == vec.frame  # type: ignore[arg-type]
    if kind(decoded) == "emg":
        assert isinstance(decoded, pb.DeviceMessage)
        assert emg_samples(decoded.emg).tolist() == doc["emg_samples"]


def test_checked_in_vectors_match_the_generator(tmp_path: Path) -> None:
    write_vectors(tmp_path)
    fresh = sorted(p.name for p in tmp_path.iterdir())
    assert fresh == sorted(p.name for p in VECTOR_DIR.iterdir() if p.suffix in {".hex", ".json"})
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (VECTOR_DIR / name).read_bytes(), (
            f"shared/vectors/{name} is stale: run `make proto`"
        )


def test_every_message_kind_of_both_envelopes_has_a_vector() -> None:
    kinds = {(v.direction, kind(v.message)) for v in VECTORS}
    device = {f.name for f in pb.DeviceMessage.DESCRIPTOR.oneofs_by_name["payload"].fields}
    host = {f.name for f in pb.HostMessage.DESCRIPTOR.oneofs_by_name["payload"].fields}
    assert {("device", k) for k in device} | {("device", None)} <= kinds
    assert {("host", k) for k in host} | {("host", None)} <= kinds


def test_required_shapes_are_present() -> None:
    by_name = {v.name: v.message for v in build_vectors()}
    emg = by_name["device_emg_10x4"]
    assert isinstance(emg, pb.DeviceMessage) and emg_samples(emg.emg).shape == (10, 4)
    hello = by_name["device_hello"]
    assert isinstance(hello, pb.DeviceMessage) and len(hello.hello.servos) == 3
    assert hello.hello.schema_hash == SCHEMA_HASH
    err = by_name["device_error_schema_mismatch"]
    assert isinstance(err, pb.DeviceMessage) and err.error.expected_schema_hash == SCHEMA_HASH
    assert by_name["device_empty"].ByteSize() == 0


def test_malformed_vector_raises_vector_error(tmp_path: Path) -> None:
    (tmp_path / "bad.hex").write_text("03ffff00\n")
    (tmp_path / "bad.json").write_text('{"direction": "sideways", "message": {}}')
    with pytest.raises(VectorError, match="direction"):
        load_vector(tmp_path / "bad.hex")
    (tmp_path / "bad.json").write_text('{"direction": "host", "message": {"motor": {"nope": 1}}}')
    with pytest.raises(VectorError, match="HostMessage"):
        load_vector(tmp_path / "bad.hex")
