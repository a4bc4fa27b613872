"""Serial framing: ``COBS(payload + CRC-16/CCITT-FALSE big-endian) 0x00``.

COBS removes every 0x00 from the frame body, so 0x00 is an unambiguous delimiter and a receiver
that lost sync (noise, a reset mid-frame, bytes dropped by the UART) resynchronises at the next
0x00. The CRC catches corruption COBS cannot see. ``FrameDecoder`` takes arbitrary chunks, drops
everything up to the next delimiter on any error and counts each kind of error; only
``FramingError`` ever escapes this module (from ``encode_frame``/``decode_frame``; the streaming
decoder never raises on bad input, it counts).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, fields

from cobs import cobs

from robohead.protocol.errors import ProtocolError

__all__ = [
    "CRC_INIT",
    "DELIMITER",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "FrameDecoder",
    "FramingCounters",
    "FramingError",
    "crc16",
    "decode_frame",
    "encode_frame",
]

#: Largest protobuf payload of one frame (either direction). nanopb's largest message,
#: DeviceMessage with a 512-byte EmgFrame, is 541 bytes; the margin keeps additive schema
#: changes compatible. Also emitted as ROBOHEAD_MAX_PAYLOAD in robohead_schema_hash.h.
MAX_PAYLOAD = 1024
CRC_INIT = 0xFFFF
DELIMITER = b"\x00"
_CRC_LEN = 2
#: Largest COBS-encoded body (payload + CRC), without the delimiter: COBS adds one byte per 254.
MAX_FRAME = MAX_PAYLOAD + _CRC_LEN + (MAX_PAYLOAD + _CRC_LEN) // 254 + 1


class FramingError(ProtocolError):
    """A frame could not be built or parsed; ``kind`` is "cobs", "crc" or "length"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out)."""
    return binascii.crc_hqx(data, CRC_INIT)


def encode_frame(payload: bytes) -> bytes:
    """One complete wire frame for ``payload``, including the trailing 0x00."""
    if len(payload) > MAX_PAYLOAD:
        raise FramingError(
            "length", f"payload is {len(payload)} bytes, more than MAX_PAYLOAD={MAX_PAYLOAD}"
        )
    body = payload + crc16(payload).to_bytes(_CRC_LEN, "big")
    return bytes(cobs.encode(body)) + DELIMITER


def decode_frame(body: bytes) -> bytes:
    """The payload of one frame body (the bytes between two delimiters, delimiter excluded)."""
    if len(body) > MAX_FRAME:
        raise FramingError("length", f"frame is {len(body)} bytes, more than MAX_FRAME={MAX_FRAME}")
    try:
        decoded = bytes(cobs.decode(body))
    except cobs.DecodeError as exc:
        raise FramingError("cobs", f"bad COBS encoding in a {len(body)}-byte frame: {exc}") from exc
    if len(decoded) < _CRC_LEN:
        raise FramingError(
            "length", f"frame decodes to {len(decoded)} bytes, shorter than its 2-byte CRC"
        )
    if len(decoded) - _CRC_LEN > MAX_PAYLOAD:
        raise FramingError(
            "length",
            f"payload is {len(decoded) - _CRC_LEN} bytes, more than MAX_PAYLOAD={MAX_PAYLOAD}",
        )
    payload, received = decoded[:-_CRC_LEN], int.from_bytes(decoded[-_CRC_LEN:], "big")
    expected = crc16(payload)
    if received != expected:
        raise FramingError(
            "crc",
            f"CRC mismatch in a {len(payload)}-byte payload: "
            f"received 0x{received:04x}, computed 0x{expected:04x}",
        )
    return payload


@dataclass
class FramingCounters:
    """What a decoder has seen; the edge publishes these in Metrics."""

    frames: int = 0  # valid payloads returned
    bytes_in: int = 0
    cobs_errors: int = 0
    crc_errors: int = 0
    length_errors: int = 0  # frames above MAX_FRAME (dropped while reading) or too short
    empty_frames: int = 0  # 0x00 0x00: harmless (a peer may flush with a lone delimiter)

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


class FrameDecoder:
    """Streaming decoder: feed any chunks, get back the payloads of the valid frames.

    Memory is bounded: a frame growing beyond ``max_frame`` bytes is counted as a length error
    and everything up to the next delimiter is discarded without being buffered.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.counters = FramingCounters()
        self._buf = bytearray()
        self._overlong = False  # discarding until the next delimiter

    def reset(self) -> None:
        """Forget any partial frame (e.g. after the port was reopened)."""
        self._buf.clear()
        self._overlong = False

    def feed(self, chunk: bytes) -> list[bytes]:
        """Consume ``chunk``; return payloads of the frames it completed, in order."""
        self.counters.bytes_in += len(chunk)
        out: list[bytes] = []
        start = 0
        view = memoryview(chunk)
        while True:
            end = chunk.find(DELIMITER, start)
            if end < 0:
                self._append(view[start:])
                return out
            self._append(view[start:end])
            payload = self._finish()
            if payload is not None:
                out.append(payload)
            start = end + 1

    def _append(self, part: memoryview) -> None:
        if self._overlong or not part:
            return
        if len(self._buf) + len(part) > self.max_frame:
            self._overlong = True
            self._buf.clear()
            return
        self._buf += part

    def _finish(self) -> bytes | None:
        if self._overlong:
            self._overlong = False
            self.counters.length_errors += 1
            return None
        if not self._buf:
            self.counters.empty_frames += 1
            return None
        body = bytes(self._buf)
        self._buf.clear()
        try:
            payload = decode_frame(body)
        except FramingError as exc:
            if exc.kind == "cobs":
                self.counters.cobs_errors += 1
            elif exc.kind == "crc":
                self.counters.crc_errors += 1
            else:
                self.counters.length_errors += 1
            return None
        self.counters.frames += 1
        return payload
