"""Fuzzing the protocol's byte- and payload-level decoders (robohead.protocol).

What must hold for ANY input, because the edge reads bytes straight off a USB cable and an MQTT
broker: the stream decoder never raises, never buffers more than one frame, accounts for every
delimiter in exactly one counter and finds every intact frame after garbage; message and topic
parsers raise only their own typed errors; whatever a parser accepts is within its limits.
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # --import-mode=importlib
from robohead.protocol import topics
from robohead.protocol.framing import (
    MAX_FRAME,
    MAX_PAYLOAD,
    FrameDecoder,
    FramingError,
    decode_frame,
    encode_frame,
)
from robohead.protocol.messages import (
    MessageError,
    decode_device,
    decode_host,
    emg_samples,
)
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm
from tests.fuzzing import counted, fuzz_settings

VECTORS = Path(__file__).resolve().parents[1] / "shared" / "vectors"
GOLDEN = sorted(bytes.fromhex(p.read_text().strip()) for p in VECTORS.glob("*.hex"))

chunks = st.lists(st.binary(max_size=3 * MAX_FRAME), max_size=8)


def _delimiters(stream: bytes) -> int:
    return stream.count(0)


def _check_decoder(decoder: FrameDecoder, fed: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for chunk in fed:
        out += decoder.feed(chunk)
        # memory: never more than one frame of partial data (private, but it is the promise)
        assert len(decoder._buf) <= decoder.max_frame
    c = decoder.counters
    stream = b"".join(fed)
    assert c.bytes_in == len(stream)
    assert c.frames == len(out)
    accounted = c.frames + c.cobs_errors + c.crc_errors + c.length_errors + c.empty_frames
    assert accounted == _delimiters(stream), c
    assert all(len(p) <= MAX_PAYLOAD for p in out)
    return out


@fuzz_settings(300)
@given(chunks)
@example([b"\x00" * 10])
@example([b"\xff" * (MAX_FRAME + 10) + b"\x00"])
@example([b"\x01" * MAX_FRAME, b"\x01\x00"])
@example([b"\x02\x00\x00"])
@counted("python/frame_decoder_garbage")
def test_frame_decoder_takes_any_bytes(fed: list[bytes]) -> None:
    _check_decoder(FrameDecoder(), fed)


@fuzz_settings(200)
@given(
    st.lists(
        st.tuples(st.binary(max_size=600), st.binary(max_size=300)),  # garbage, payload
        min_size=1,
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
@counted("python/frame_decoder_resync")
def test_every_intact_frame_after_garbage_is_recovered(
    parts: list[tuple[bytes, bytes]], rnd: random.Random
) -> None:
    """Garbage, then a delimiter, then a good frame: the good frame always comes out, however
    the stream is cut into reads (garbage may itself happen to be a valid frame; that is extra)."""
    stream = b"".join(g + b"\x00" + encode_frame(p) for g, p in parts)
    cuts = sorted(rnd.sample(range(len(stream) + 1), k=min(5, len(stream) + 1)))
    fed = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    out = _check_decoder(FrameDecoder(), fed)
    it = iter(out)
    for _, payload in parts:  # the payloads appear in order, as a subsequence of the output
        assert any(p == payload for p in it), f"frame of {len(payload)} bytes was lost"


@fuzz_settings(300)
@given(st.binary(max_size=MAX_FRAME + 20))
@counted("python/decode_frame")
def test_decode_frame_raises_only_framing_error(body: bytes) -> None:
    try:
        payload = decode_frame(body)
    except FramingError as exc:
        assert exc.kind in ("cobs", "crc", "length")
        return
    assert encode_frame(payload)[:-1] == body  # what it accepts is exactly a frame


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(4)
        if op == 0 and b:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif op == 1 and b:
            del b[rnd.randrange(len(b))]
        elif op == 2:
            b.insert(rnd.randrange(len(b) + 1), rnd.randrange(256))
        elif b:
            i = rnd.randrange(len(b))
            b[i:i] = b[i : i + rnd.randint(1, 16)]  # duplicate a run (varint/length games)
    return bytes(b)


def _payloads_of_vectors() -> list[bytes]:
    out = []
    for frame in GOLDEN:
        out.append(decode_frame(frame[:-1]))
    return out


PAYLOADS = _payloads_of_vectors()
payloads = st.one_of(
    st.binary(max_size=MAX_PAYLOAD),
    st.builds(_mutate, st.sampled_from(PAYLOADS or [b""]), st.randoms(use_true_random=False)),
)


@fuzz_settings(400)
@given(payloads)
@counted("python/decode_device_host")
def test_message_decoders_raise_only_message_error(payload: bytes) -> None:
    for decode in (decode_device, decode_host):
        try:
            msg = decode(payload)
        except MessageError:
            continue
        msg.WhichOneof("payload")
        if isinstance(msg, dev.DeviceMessage) and msg.HasField("emg"):
            try:
                samples = emg_samples(msg.emg)
            except MessageError:
                continue
            assert samples.shape[1:] in ((msg.emg.channel_count,), (0,))


# ---- MQTT topics: any payload on any command topic ----------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["MODE_AUTO", "MODE_MANUAL", "CALIBRATION_PHASE_MAX", "NaN", "Infinity"]),
)
keys = st.sampled_from(
    [
        "request_id",
        "requestId",
        "set_mode",
        "setMode",
        "mode",
        "set_pose",
        "targets",
        "expression",
        "reload_model",
        "start_calibration",
        "phase",
        "duration_s",
        "durationS",
        "stop_calibration",
        "save",
        "start_raw_stream",
        "stop_raw_stream",
        "@type",
        "unknown",
    ]
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=20,
)


def _json_bytes(value: object) -> bytes:
    import json

    return json.dumps(value, allow_nan=True).encode()


command_payloads = st.one_of(
    st.binary(max_size=200),
    st.builds(_json_bytes, st.dictionaries(keys, json_values, max_size=4)),
)
command_topics = st.sampled_from([f"cmd/{n}" for n in topics.COMMAND_NAMES])


@fuzz_settings(500)
@given(command_topics, command_payloads)
@example("cmd/set_pose", b'{"set_pose": {"targets": [1e400]}}')
@example("cmd/set_mode", b"[" * 5000)
@counted("python/topics_parse_command")
def test_command_parse_raises_only_payload_error(name: str, payload: bytes) -> None:
    try:
        msg = topics.parse(name, payload)
    except topics.PayloadError:
        return
    assert isinstance(msg, tm.Command)
    assert msg.WhichOneof("action") == name.split("/")[1]
    for v in msg.set_pose.targets:
        assert math.isfinite(v) and 0.0 <= v <= 1.0


@fuzz_settings(300)
@given(
    st.sampled_from([s.pattern.replace("{command}", "set_mode") for s in topics.TOPICS]),
    command_payloads,
)
@counted("python/topics_parse_any")
def test_every_topic_parser_raises_only_payload_error(name: str, payload: bytes) -> None:
    with contextlib.suppress(topics.PayloadError):
        topics.parse(name, payload)


@fuzz_settings(200)
@given(st.text(max_size=80))
@counted("python/topics_split")
def test_topic_split_raises_only_topic_error(full: str) -> None:
    try:
        device_id, name = topics.split(full)
    except topics.TopicError:
        return
    assert topics.DEVICE_ID_PATTERN.match(device_id)
    assert "/" not in device_id and "+" not in device_id and "#" not in device_id
    topics.spec(name)
