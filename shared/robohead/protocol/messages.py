"""Envelopes on the serial link: protobuf <-> frames, and sEMG samples <-> numpy.

``DeviceMessage`` travels device -> edge, ``HostMessage`` edge -> device; each is a ``oneof``,
so a frame is self-describing. Samples travel as packed little-endian int16, sample-major, so a
whole frame decodes with one ``numpy.frombuffer``.
"""

from __future__ import annotations

import sys

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError

from robohead.protocol.errors import ProtocolError
from robohead.protocol.framing import encode_frame
from robohead.protocol.v1.device_pb2 import DeviceMessage, EmgFrame, HostMessage

__all__ = [
    "DeviceMessage",
    "EmgFrame",
    "HostMessage",
    "MessageError",
    "decode_device",
    "decode_host",
    "emg_frame",
    "emg_samples",
    "encode_device",
    "encode_host",
    "kind",
    "pack_samples",
]

_SAMPLE = np.dtype("<i2")


class MessageError(ProtocolError):
    """A well-framed payload is not a valid message, or samples do not fit their frame."""


def encode_device(msg: DeviceMessage) -> bytes:
    """The complete wire frame (COBS, CRC, trailing 0x00) of a device -> edge message."""
    if not isinstance(msg, DeviceMessage):
        raise MessageError(f"encode_device needs a DeviceMessage, got {type(msg).__name__}")
    return encode_frame(msg.SerializeToString())


def encode_host(msg: HostMessage) -> bytes:
    """The complete wire frame of an edge -> device message."""
    if not isinstance(msg, HostMessage):
        raise MessageError(f"encode_host needs a HostMessage, got {type(msg).__name__}")
    return encode_frame(msg.SerializeToString())


def decode_device(payload: bytes) -> DeviceMessage:
    """Parse a frame payload (as returned by ``FrameDecoder.feed``) into a DeviceMessage."""
    msg = DeviceMessage()
    try:
        msg.ParseFromString(payload)
    except DecodeError as exc:
        raise MessageError(f"{len(payload)}-byte payload is not a DeviceMessage: {exc}") from exc
    return msg


def decode_host(payload: bytes) -> HostMessage:
    """Parse a frame payload into a HostMessage."""
    msg = HostMessage()
    try:
        msg.ParseFromString(payload)
    except DecodeError as exc:
        raise MessageError(f"{len(payload)}-byte payload is not a HostMessage: {exc}") from exc
    return msg


def kind(msg: DeviceMessage | HostMessage) -> str | None:
    """Which ``payload`` the envelope carries ("emg", "motor", ...), or None when empty."""
    which: str | None = msg.WhichOneof("payload")
    return which


def emg_samples(frame: EmgFrame) -> npt.NDArray[np.int16]:
    """The frame's samples as a read-only (n_samples, channel_count) int16 array (no copy)."""
    channels = frame.channel_count
    size = len(frame.samples)
    if channels == 0:
        if size:
            raise MessageError(
                f"EmgFrame {frame.sequence}: {size} sample bytes but channel_count=0"
            )
        return np.zeros((0, 0), dtype=np.int16)
    if size % (2 * channels):
        raise MessageError(
            f"EmgFrame {frame.sequence}: samples is {size} bytes, "
            f"not a multiple of 2 x channel_count={channels}"
        )
    flat = np.frombuffer(frame.samples, dtype=_SAMPLE)
    if sys.byteorder == "big":  # convert once to native int16
        flat = flat.astype(np.int16)
    return flat.reshape(-1, channels)


def pack_samples(samples: npt.ArrayLike) -> bytes:
    """(n_samples, channels) integer counts -> EmgFrame.samples bytes (little-endian int16)."""
    arr = np.asarray(samples)
    if arr.ndim != 2:
        raise MessageError(f"samples must be 2-D (n_samples, channels), got shape {arr.shape}")
    if arr.dtype != np.int16:
        if not np.issubdtype(arr.dtype, np.integer):
            raise MessageError(f"samples must be integer ADC counts, got dtype {arr.dtype}")
        if arr.size and (arr.min() < -32768 or arr.max() > 32767):
            raise MessageError(
                f"samples outside int16 range: min {arr.min()}, max {arr.max()} "
                "(expected -32768..32767)"
            )
    return np.ascontiguousarray(arr, dtype=_SAMPLE).tobytes()


def emg_frame(sequence: int, device_time_us: int, samples: npt.ArrayLike) -> EmgFrame:
    """Build an EmgFrame from (n_samples, channels) counts."""
    packed = pack_samples(samples)
    channels = int(np.shape(samples)[1])
    return EmgFrame(
        sequence=sequence,
        device_time_us=device_time_us,
        channel_count=channels,
        samples=packed,
    )
