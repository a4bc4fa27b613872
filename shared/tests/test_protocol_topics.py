"""The MQTT topic map: names, encode/parse round trips, validation errors."""

from __future__ import annotations

import json

import pytest

from robohead.protocol import topics
from robohead.protocol.topics import PayloadError, TopicError
from robohead.protocol.v1 import device_pb2 as pb
from robohead.protocol.v1 import telemetry_pb2 as tm

EXAMPLES = {
    "status": tm.Status(state=tm.Status.STATE_ONLINE, device_id="rh-1", timestamp_ms=1),
    "meta": tm.Meta(
        device_id="rh-1",
        schema_hash=0xB71A5AAF,
        device=pb.Hello(channel_count=4, servos=[pb.ServoLimits(min_us=1000)]),
        channel_names=["frontalis", "corrugator"],
        mode=tm.MODE_AUTO,
    ),
    "telemetry/state": tm.Telemetry(
        timestamp_ms=2**41,
        device_time_us=2**40,
        emg_level=[0.5, 0.25],
        predicted=[0.5, 0.0, 1.0],
        measured_us=[1500, 1100, 1000],
        timings=tm.StageTimings(dsp_ms=0.5, total_ms=2.0),
        failsafe=pb.FAILSAFE_STATE_ACTIVE,
    ),
    "telemetry/raw_emg": tm.RawEmgChunk(
        device_id="rh-1", sequence=3, channel_count=4, sampling_rate_hz=1000, samples=bytes(80)
    ),
    "metrics": tm.Metrics(
        frames=10,
        stage_latency={"dsp": tm.LatencyStats(p50_ms=0.5, p99_ms=1.0)},
        device=pb.DeviceCounters(crc_errors=2),
    ),
    "events": tm.Event(
        level=tm.Event.LEVEL_WARNING, kind="link_lost", details={"port": "/dev/ttyUSB0"}
    ),
    "cmd/set_mode": tm.Command(request_id="7", set_mode=tm.SetMode(mode=tm.MODE_MANUAL)),
    "cmd/set_pose": tm.Command(set_pose=tm.SetPose(targets=[0.5, 1.0, 0.0])),
    "cmd/reload_model": tm.Command(request_id="8", reload_model=tm.ReloadModel()),
    "cmd/start_calibration": tm.Command(
        start_calibration=tm.StartCalibration(phase=tm.CALIBRATION_PHASE_REST, duration_s=5.0)
    ),
    "cmd/stop_calibration": tm.Command(stop_calibration=tm.StopCalibration(save=True)),
    "cmd/start_raw_stream": tm.Command(start_raw_stream=tm.StartRawStream()),
    "cmd/stop_raw_stream": tm.Command(stop_raw_stream=tm.StopRawStream()),
    "cmd/set_mode/reply": tm.CommandReply(request_id="7", ok=True),
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_round_trip(name: str) -> None:
    msg = EXAMPLES[name]
    payload = topics.encode(name, msg)
    assert topics.parse(name, payload) == msg
    if topics.spec(name).encoding == "json":
        json.loads(payload)  # readable with mosquitto_sub


def test_every_command_has_a_topic_and_an_example() -> None:
    assert {f"cmd/{c}" for c in topics.COMMAND_NAMES} <= set(EXAMPLES)
    assert topics.COMMAND_NAMES[0] == "set_mode"


def test_topic_map_properties() -> None:
    assert topics.topic("rh-1", "status") == "robohead/rh-1/status"
    assert topics.spec("status").retained and topics.spec("meta").retained
    assert topics.spec("telemetry/state").qos == 0
    assert topics.spec("cmd/set_pose").qos == 1 and not topics.spec("cmd/set_pose").retained
    assert topics.spec("telemetry/raw_emg").encoding == "binary"
    assert topics.topic("+", "cmd/+") == "robohead/+/cmd/+"
    assert topics.split("robohead/rh-1/cmd/set_mode/reply") == ("rh-1", "cmd/set_mode/reply")
    assert topics.reply_name("cmd/set_mode") == "cmd/set_mode/reply"
    assert topics.command_name("cmd/set_pose/reply") == "set_pose"
    assert topics.command_name("metrics") is None


def test_json_uses_proto_field_names_and_parse_accepts_camel_case() -> None:
    payload = topics.encode("telemetry/state", EXAMPLES["telemetry/state"])
    doc = json.loads(payload)
    assert "device_time_us" in doc and doc["device_time_us"] == str(2**40)
    assert topics.parse("cmd/set_mode", b'{"requestId": "7", "setMode": {"mode": "MODE_MANUAL"}}')


@pytest.mark.parametrize(
    ("name", "payload", "match"),
    [
        ("cmd/set_mode", b"\xff\xfe", "not UTF-8"),
        ("cmd/set_mode", b"{not json", "not a JSON robohead.v1.Command"),
        ("cmd/set_mode", b'{"set_mode": {"mode": "MODE_BOGUS"}}', "not a JSON"),
        ("cmd/set_mode", b'{"unknown_field": 1}', "not a JSON"),
        ("cmd/set_mode", b"{}", "sets no action"),
        ("cmd/set_mode", b'{"set_pose": {"targets": [0.5]}}', "topic says 'set_mode'"),
        ("cmd/set_mode", b'{"set_mode": {}}', "set_mode.mode is unset"),
        ("cmd/set_pose", b'{"set_pose": {"targets": [0.5, 1.5]}}', r"targets\[1\] = 1.5"),
        ("cmd/set_pose", b'{"set_pose": {"targets": ["NaN"]}}', "outside"),
        ("cmd/set_pose", b'{"set_pose": {}}', "exactly one of targets or expression"),
        ("cmd/start_calibration", b'{"start_calibration": {}}', "phase is unset"),
        ("status", b"{}", "state is unset"),
        ("telemetry/raw_emg", b"\x20\x04\x32\x03abc", "not a multiple"),
        ("telemetry/raw_emg", b"\x0a\xff", "not a binary robohead.v1.RawEmgChunk"),
        ("cmd/set_mode/reply", b'{"ok": false}', "must say why"),
    ],
)
def test_parse_errors_are_clear(name: str, payload: bytes, match: str) -> None:
    with pytest.raises(PayloadError, match=match):
        topics.parse(name, payload)


def test_topic_errors() -> None:
    with pytest.raises(TopicError, match="unknown topic name 'telemetry'"):
        topics.spec("telemetry")
    with pytest.raises(TopicError, match="unknown command 'self_destruct'"):
        topics.spec("cmd/self_destruct")
    with pytest.raises(TopicError, match="device id 'a/b'"):
        topics.topic("a/b", "status")
    with pytest.raises(TopicError, match="not robohead/<device_id>/<name>"):
        topics.split("other/rh-1/status")
    with pytest.raises(TopicError, match="not a command topic"):
        topics.reply_name("status")


def test_encode_refuses_the_wrong_message_type() -> None:
    with pytest.raises(PayloadError, match=r"carries robohead\.v1\.Status, got Meta"):
        topics.encode("status", tm.Meta())
    with pytest.raises(PayloadError, match="sets no action"):
        topics.encode("cmd/set_mode", tm.Command())


def test_readme_table_matches_the_topic_map() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert topics.markdown_table() in readme, "shared/README.md topic table is stale"
