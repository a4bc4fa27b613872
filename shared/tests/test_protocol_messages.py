"""Envelope encode/decode, sample packing and sequence-gap counting."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robohead.protocol.errors import ProtocolError
from robohead.protocol.framing import FrameDecoder
from robohead.protocol.messages import (
    DeviceMessage,
    EmgFrame,
    HostMessage,
    MessageError,
    decode_device,
    decode_host,
    emg_frame,
    emg_samples,
    encode_device,
    encode_host,
    kind,
    pack_samples,
)
from robohead.protocol.sequence import SequenceTracker
from robohead.protocol.v1 import device_pb2 as pb


def test_device_envelope_round_trip_through_a_frame() -> None:
    samples = np.arange(40, dtype=np.int16).reshape(10, 4) - 20
    msg = DeviceMessage(emg=emg_frame(7, 123_456, samples))
    (payload,) = FrameDecoder().feed(encode_device(msg))
    back = decode_device(payload)
    assert back == msg and kind(back) == "emg"
    np.testing.assert_array_equal(emg_samples(back.emg), samples)


def test_host_envelope_round_trip() -> None:
    msg = HostMessage(motor=pb.MotorCommand(sequence=3, targets=[0.25, 0.5, 1.0], flags=1))
    (payload,) = FrameDecoder().feed(encode_host(msg))
    assert decode_host(payload) == msg and kind(msg) == "motor"


def test_wrong_envelope_type_is_refused() -> None:
    with pytest.raises(MessageError, match="needs a DeviceMessage"):
        encode_device(HostMessage())  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="needs a HostMessage"):
        encode_host(DeviceMessage())  # type: ignore[arg-type]


def test_garbage_payload_raises_message_error() -> None:
    with pytest.raises(MessageError, match="not a DeviceMessage"):
        decode_device(b"\x0a\xff")
    assert issubclass(MessageError, ProtocolError)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_decode_of_random_payload_raises_only_message_error(payload: bytes) -> None:
    for decode in (decode_device, decode_host):
        with contextlib.suppress(MessageError):
            decode(payload)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.int16,
        st.tuples(st.integers(0, 32), st.integers(1, 8)),
        elements=st.integers(-32768, 32767),
    )
)
def test_pack_and_decode_samples_round_trip(samples: np.ndarray) -> None:  # type: ignore[type-arg]
    frame = EmgFrame(channel_count=samples.shape[1], samples=pack_samples(samples))
    out = emg_samples(frame)
    assert out.dtype == np.int16 and out.shape == samples.shape
    np.testing.assert_array_equal(out, samples)


def test_samples_are_little_endian_sample_major() -> None:
    assert pack_samples(np.array([[1, -2], [0x0304, 5]])) == bytes.fromhex("0100feff04030500")


def test_pack_samples_rejects_bad_input() -> None:
    with pytest.raises(MessageError, match="2-D"):
        pack_samples(np.zeros(4, dtype=np.int16))
    with pytest.raises(MessageError, match="int16 range"):
        pack_samples(np.array([[40000]]))
    with pytest.raises(MessageError, match="integer"):
        pack_samples(np.array([[0.5]]))


def test_emg_samples_rejects_inconsistent_frames() -> None:
    with pytest.raises(MessageError, match="not a multiple"):
        emg_samples(EmgFrame(sequence=9, channel_count=4, samples=bytes(10)))
    with pytest.raises(MessageError, match="channel_count=0"):
        emg_samples(EmgFrame(channel_count=0, samples=bytes(2)))
    assert emg_samples(EmgFrame()).shape == (0, 0)


def test_sequence_tracker_counts_gaps_duplicates_restarts_and_wraps() -> None:
    t = SequenceTracker()
    assert [t.update(s) for s in (5, 6, 9, 9, 10)] == [0, 0, 2, 0, 0]
    assert (t.gaps, t.missing, t.duplicates) == (1, 2, 1)
    assert t.update(0xFFFFFFFF) == 0 and t.restarts == 1  # a backward jump
    assert t.update(0) == 0 and t.gaps == 1  # wrapping is not a gap
    assert t.update(3) == 2 and (t.gaps, t.missing) == (2, 4)
    t.reset()
    assert t.update(0) == 0 and t.restarts == 1
    assert t.received == 9
