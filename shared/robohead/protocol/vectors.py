"""Golden vectors: complete wire frames and their decoded form, shared with the C++ tests.

Each vector is two files in ``shared/vectors/``: ``<name>.hex`` (one line, lowercase hex of the
whole frame including the trailing 00) and ``<name>.json`` (``{"direction": "device"|"host",
"message": <protobuf JSON of the envelope, proto field names>}``, plus ``"emg_samples"``: the
decoded (n, channels) counts, for EmgFrame vectors). ``python -m
robohead.protocol.vectors [DIR]`` (run by ``make proto``) rewrites them from ``build_vectors()``,
so they are reproducible; the tests check both files against each other and against it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from google.protobuf import json_format

from robohead.protocol.codegen import DEFAULT_ROOT
from robohead.protocol.errors import ProtocolError
from robohead.protocol.messages import emg_frame, emg_samples, encode_device, encode_host
from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.v1 import device_pb2 as pb

__all__ = [
    "VECTOR_DIR",
    "GoldenVector",
    "VectorError",
    "build_vectors",
    "load_vector",
    "load_vectors",
    "main",
    "write_vectors",
]

VECTOR_DIR = DEFAULT_ROOT / "vectors"
Direction = Literal["device", "host"]
Envelope = pb.DeviceMessage | pb.HostMessage


class VectorError(ProtocolError):
    """A golden vector file is malformed; the message names the file."""


@dataclass(frozen=True)
class GoldenVector:
    name: str
    direction: Direction
    message: Envelope
    frame: bytes  # the complete wire frame, trailing 0x00 included

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "direction": self.direction,
            "message": message_to_dict(self.message),
        }
        if isinstance(self.message, pb.DeviceMessage) and self.message.HasField("emg"):
            # Readable form of the base64 "samples", for people and the C++ tests.
            doc["emg_samples"] = emg_samples(self.message.emg).tolist()
        return doc


def message_to_dict(msg: Envelope) -> dict[str, Any]:
    """The protobuf JSON mapping with proto field names, as used in the .json files."""
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def _vector(name: str, msg: Envelope) -> GoldenVector:
    if isinstance(msg, pb.DeviceMessage):
        return GoldenVector(name, "device", msg, encode_device(msg))
    return GoldenVector(name, "host", msg, encode_host(msg))


def _emg(sequence: int, time_us: int, n: int, channels: int) -> pb.EmgFrame:
    # A deterministic pattern with zeros (COBS must escape them), negatives and both extremes.
    i = np.arange(n * channels, dtype=np.int64).reshape(n, channels)
    counts = ((i * 2711) % 65536 - 32768).astype(np.int16)
    counts[0, 0] = 0
    counts[-1, -1] = 32767
    if n * channels > 2:
        counts[0, 1] = -32768
    return emg_frame(sequence, time_us, counts)


def _servo(min_us: int, max_us: int, neutral_us: int, *, inverted: bool = False) -> pb.ServoLimits:
    return pb.ServoLimits(
        min_us=min_us, max_us=max_us, neutral_us=neutral_us, inverted=inverted, max_step_us=40
    )


def build_vectors() -> list[GoldenVector]:
    """Every vector, one or more per message kind of both envelopes, plus edge cases."""
    hello = pb.Hello(
        firmware_version="0.1.0+g1234abc",
        schema_hash=SCHEMA_HASH,
        board="esp32dev",
        channel_count=4,
        sampling_rate_hz=1000,
        adc_bits=12,
        servos=[
            _servo(1000, 2000, 1500),
            _servo(1100, 1900, 1100),
            _servo(1000, 2000, 1000, inverted=True),
        ],
        reset_reason=pb.RESET_REASON_POWER_ON,
        samples_per_frame=10,
        command_timeout_ms=300,
        peer_schema_hash=0,
        device_time_us=1_234_567,
        device_id="rh-a1b2c3d4e5f6",
    )
    status = pb.DeviceStatus(
        device_time_us=5_000_000_123,
        servo_us=[1500, 1100, 1000],
        failsafe=pb.FAILSAFE_STATE_ACTIVE,
        counters=pb.DeviceCounters(
            cobs_errors=1,
            crc_errors=2,
            length_errors=3,
            decode_errors=4,
            adc_overflows=5,
            dropped_samples=60,
            clamped_commands=7,
            rx_frames=250_000,
            failsafe_trips=1,
        ),
        uptime_ms=5_000_000,
        last_command_sequence=249_999,
    )
    mismatch = pb.Error(
        code=pb.ERROR_CODE_SCHEMA_MISMATCH,
        detail="schema hash mismatch",
        request_id=0,
        expected_schema_hash=SCHEMA_HASH,
        received_schema_hash=0xDEADBEEF,
    )
    d, h = pb.DeviceMessage, pb.HostMessage
    return [
        _vector("device_hello", d(hello=hello)),
        _vector("device_hello_empty", d(hello=pb.Hello())),
        _vector("device_emg_10x4", d(emg=_emg(42, 1_000_000, 10, 4))),
        _vector("device_emg_10x8", d(emg=_emg(43, 1_010_000, 10, 8))),
        _vector("device_emg_32x8_max", d(emg=_emg(0xFFFFFFFF, 2**40, 32, 8))),
        _vector("device_status", d(status=status)),
        _vector("device_pong", d(pong=pb.Pong(nonce=77, device_time_us=99, edge_time_us=2**53))),
        _vector("device_ack", d(ack=pb.Ack(request_id=12))),
        _vector("device_error_schema_mismatch", d(error=mismatch)),
        _vector(
            "device_error_bad_config",
            d(
                error=pb.Error(
                    code=pb.ERROR_CODE_BAD_CONFIG,
                    detail="SetConfig.sampling_rate_hz: 100000 > 4000",
                    request_id=13,
                )
            ),
        ),
        _vector("device_empty", d()),
        _vector(
            "host_motor",
            h(
                motor=pb.MotorCommand(
                    sequence=1000,
                    targets=[0.5, 0.25, 1.0],
                    flags=pb.MOTOR_FLAG_NONE,
                    window_end_device_time_us=1_009_000,
                )
            ),
        ),
        _vector(
            "host_motor_neutral",
            h(motor=pb.MotorCommand(sequence=1001, targets=[0.5, 0.0, 0.0], flags=1)),
        ),
        _vector(
            "host_set_config",
            h(
                set_config=pb.SetConfig(
                    request_id=12,
                    sampling_rate_hz=2000,
                    channel_mask=0b1111,
                    command_timeout_ms=300,
                    samples_per_frame=10,
                )
            ),
        ),
        _vector(
            "host_ping",
            h(
                ping=pb.Ping(
                    nonce=77, schema_hash=SCHEMA_HASH, request_hello=True, edge_time_us=2**53
                )
            ),
        ),
        _vector("host_empty", h()),
    ]


def write_vectors(directory: Path = VECTOR_DIR) -> list[Path]:
    """(Re)write every vector's .hex and .json into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for vec in build_vectors():
        hex_path, json_path = directory / f"{vec.name}.hex", directory / f"{vec.name}.json"
        hex_path.write_text(vec.frame.hex() + "\n")
        json_path.write_text(json.dumps(vec.to_json(), indent=2, sort_keys=True) + "\n")
        written += [hex_path, json_path]
    return written


def load_vector(hex_path: Path) -> GoldenVector:
    """Read ``<name>.hex`` and its ``<name>.json`` (the decoded form, parsed as protobuf JSON)."""
    json_path = hex_path.with_suffix(".json")
    try:
        frame = bytes.fromhex(hex_path.read_text().strip())
        doc = json.loads(json_path.read_text())
    except (OSError, ValueError) as exc:
        raise VectorError(f"{hex_path.name}/{json_path.name}: cannot read: {exc}") from exc
    direction = doc.get("direction") if isinstance(doc, dict) else None
    msg: Envelope
    if direction == "device":
        msg = pb.DeviceMessage()
    elif direction == "host":
        msg = pb.HostMessage()
    else:
        raise VectorError(f"{json_path}: direction must be 'device' or 'host', got {direction!r}")
    try:
        json_format.ParseDict(doc.get("message", {}), msg)
    except json_format.ParseError as exc:
        raise VectorError(
            f"{json_path}: message is not a valid {type(msg).__name__}: {exc}"
        ) from exc
    return GoldenVector(hex_path.stem, direction, msg, frame)


def load_vectors(directory: Path = VECTOR_DIR) -> list[GoldenVector]:
    """Every vector in ``directory``, sorted by name."""
    return [load_vector(p) for p in sorted(directory.glob("*.hex"))]


def main(argv: list[str] | None = None) -> int:
    """``python -m robohead.protocol.vectors [DIR]``: rewrite the golden vectors."""
    args = sys.argv[1:] if argv is None else argv
    write_vectors(Path(args[0]) if args else VECTOR_DIR)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
