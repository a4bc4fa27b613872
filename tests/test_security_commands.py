"""Every MQTT command is validated, refused with a reason and counted; none can crash the daemon,
run code, read files or move a motor outside [0, 1].

The daemon runs in-process against the Python fake device on a real pty and a real Mosquitto;
commands go through the broker exactly as a person's `mosquitto_pub` would send them.
"""

from __future__ import annotations

import json
import math
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from robohead.edge.commands import MAX_PAYLOAD, CommandError, parse_command  # noqa: E402
from robohead.protocol import topics  # noqa: E402
from robohead.protocol.v1 import telemetry_pb2 as tm  # noqa: E402
from tests.edge_harness import DEVICE, Running, make_bundle, start  # noqa: E402
from tests.fuzzing import counted, fuzz_settings  # noqa: E402
from tests.mosquitto import Mosquitto, wait_for  # noqa: E402

T = 15.0


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("sec-bundle") / "bundle")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, bundle: Path) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("sec-daemon")
    (tmp / "mosquitto").mkdir()
    with Mosquitto(workdir=tmp / "mosquitto") as broker:
        r = start(tmp, broker, bundle)
        yield r
        r.stop()


def _targets_ok(r: Running) -> None:
    for cmd in r.motor_commands():
        assert len(cmd.targets) == 3, cmd
        for v in cmd.targets:
            assert math.isfinite(v) and 0.0 <= v <= 1.0, cmd


class Replies:
    """Count replies per command topic, to wait for "one more" after each publish."""

    def __init__(self, r: Running) -> None:
        self.r = r

    def count(self, name: str) -> int:
        t = topics.topic(DEVICE, f"cmd/{name}/reply")
        return sum(1 for m in self.r.sub.snapshot() if m.topic == t)

    def last(self, name: str) -> tm.CommandReply:
        t = topics.topic(DEVICE, f"cmd/{name}/reply")
        msg = [m for m in self.r.sub.snapshot() if m.topic == t][-1]
        reply = topics.parse(f"cmd/{name}/reply", msg.payload)
        assert isinstance(reply, tm.CommandReply)
        return reply

    def send(self, name: str, payload: bytes, *, retain: bool = False) -> tm.CommandReply:
        before = self.count(name)
        self.r.sub.publish(topics.topic(DEVICE, f"cmd/{name}"), payload, retain=retain)
        wait_for(lambda: self.count(name) > before, T, f"a reply on cmd/{name}/reply")
        return self.last(name)


# ---- named attacks ----------------------------------------------------------------------------

REFUSED = [
    ("set_mode", {"set_mode": {"mode": 99}}, "set_mode.mode"),
    ("set_mode", {"set_mode": {"mode": -1}}, "set_mode.mode"),
    ("set_mode", {"set_mode": {"mode": "MODE_TURBO"}}, "MODE_TURBO"),
    ("set_mode", {"set_mode": {"mode": 1.5}}, "set_mode.mode"),
    ("set_mode", {"set_mode": {"mode": True}}, "set_mode.mode"),
    ("start_calibration", {"start_calibration": {"phase": 42}}, "start_calibration.phase"),
    ("start_calibration", {"start_calibration": {"phase": 1, "duration_s": 1e9}}, "duration_s"),
    ("start_calibration", {"start_calibration": {"phase": 1, "duration_s": "NaN"}}, "duration_s"),
    ("set_pose", {"set_pose": {"targets": [5.0, -1.0, 0.5]}}, "set_pose.targets[0]"),
    ("set_pose", {"set_pose": {"targets": ["NaN", 0.5, 0.5]}}, "set_pose.targets"),
    ("set_pose", {"set_pose": {"targets": ["Infinity", 0.5, 0.5]}}, "set_pose.targets"),
    ("set_pose", {"set_pose": {"targets": [0.5] * 300}}, "set_pose.targets"),
    ("set_pose", {"set_pose": {"targets": [True, 0.5, 0.5]}}, "set_pose.targets"),
    ("set_pose", {"set_pose": {"targets": "0.5,0.5,0.5"}}, "targets"),
    ("set_pose", {"set_pose": {"expression": "../../etc/passwd"}}, "expression"),
    ("set_pose", {"set_pose": {"expression": "__import__('os').system('id')"}}, "expression"),
    ("set_pose", {"set_pose": {"expression": "smile", "targets": [0.1, 0.1, 0.1]}}, "exactly"),
    ("reload_model", {"reload_model": {"path": "/etc/passwd"}}, "path"),
    ("reload_model", {"reload_model": {}, "bundle_dir": "/tmp"}, "bundle_dir"),
    ("set_mode", {"set_pose": {"expression": "smile"}}, "topic says"),
    ("start_raw_stream", {"start_raw_stream": {}, "@type": "x"}, "start_raw_stream"),
]


@pytest.mark.parametrize(
    ("name", "body", "field"), REFUSED, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(REFUSED)]
)
def test_out_of_range_and_hostile_commands_are_refused_with_a_reason(
    running: Running, name: str, body: dict[str, object], field: str
) -> None:
    rejected = running.daemon.state.commands_rejected
    rid = f"attack-{secrets.token_hex(4)}"
    reply = running.command(name, json.dumps({"request_id": rid, **body}).encode(), rid, timeout=T)
    assert not reply.ok, reply
    assert field in reply.error, reply.error
    assert running.alive(), "a refused command must never stop the daemon"
    wait_for(lambda: running.daemon.state.commands_rejected == rejected + 1, T, "the count")
    _targets_ok(running)


def test_retained_command_is_not_replayed_to_a_restarted_daemon(
    tmp_path: Path, bundle: Path
) -> None:
    """A command left retained on the broker would re-run on every daemon start: refused."""
    (tmp_path / "mosquitto").mkdir()
    with Mosquitto(workdir=tmp_path / "mosquitto") as broker:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        body = {"request_id": "retained-1", "set_mode": {"mode": "MODE_NEUTRAL"}}
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sec-retain")
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        topic = topics.topic(DEVICE, "cmd/set_mode")
        pub.publish(topic, json.dumps(body).encode(), qos=1, retain=True).wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()
        r = start(tmp_path, broker, bundle)
        try:
            msg = r.sub.wait_for(lambda m: m.topic == f"{topic}/reply", T, "the refusal")
            reply = topics.parse("cmd/set_mode/reply", msg.payload)
            assert isinstance(reply, tm.CommandReply)
            assert not reply.ok and "retained" in reply.error and reply.request_id == "retained-1"
            assert r.daemon.modes.mode == tm.MODE_AUTO
            assert r.daemon.state.commands_rejected == 1
        finally:
            r.stop()


def test_oversized_and_non_json_commands_are_refused(running: Running) -> None:
    replies = Replies(running)
    big = json.dumps({"request_id": "big", "pad": "x" * (MAX_PAYLOAD + 1)}).encode()
    reply = replies.send("reload_model", big)
    assert not reply.ok and str(MAX_PAYLOAD) in reply.error
    reply = replies.send("set_pose", b"\xff\xfe not json")
    assert not reply.ok and "JSON" in reply.error
    assert running.alive()


@pytest.mark.parametrize("payload", [b"[" * 5000, b'{"a":' * 3000, b'{"set_mode":' * 3000])
def test_deeply_nested_json_is_refused(running: Running, payload: bytes) -> None:
    """Regression: json.loads raises RecursionError (not ValueError) past ~1000 levels, so a
    5 kB `[[[[...` on cmd/set_mode stopped the daemon."""
    reply = Replies(running).send("set_mode", payload)
    assert not reply.ok and ("JSON" in reply.error or "bytes" in reply.error), reply
    assert running.alive()


def test_unknown_command_names_are_dropped_and_counted(running: Running) -> None:
    """cmd/<unknown> has no reply topic in the map: the client counts it and ignores it."""
    assert running.daemon.mqtt is not None
    before = running.daemon.mqtt.rejected
    for name in ("shutdown", "exec", "set_mode%20", "a" * 70):
        running.sub.publish(f"{topics.ROOT}/{DEVICE}/cmd/{name}", b'{"request_id": "x"}')
    wait_for(lambda: running.daemon.mqtt.rejected >= before + 4, T, "4 rejections")  # type: ignore[union-attr]
    assert running.alive()


def test_no_command_runs_code_or_reads_files(running: Running, tmp_path: Path) -> None:
    """Strings from the network are data: a canary file's content never leaves the edge and a
    marker file an injection would create never appears."""
    token = secrets.token_hex(16)
    secret = tmp_path / "secret.txt"
    secret.write_text(token)
    marker = tmp_path / "pwned"
    strings = [
        str(secret),
        f"file://{secret}",
        f"$(cat {secret})",
        f"`touch {marker}`",
        f"; touch {marker}",
        f"__import__('os').system('touch {marker}')",
        "{{7*7}} %s%s%n ${jndi:ldap://x}",
        "\x00\n\r" + str(secret),
    ]
    replies = Replies(running)
    for s in strings:
        for name, body in (
            ("set_pose", {"set_pose": {"expression": s}}),
            ("reload_model", {"reload_model": {}, "file": s}),
            ("start_calibration", {"start_calibration": {"phase": s}}),
            ("stop_calibration", {"stop_calibration": {"save": s}}),
        ):
            reply = replies.send(name, json.dumps({"request_id": s, **body}).encode())
            assert not reply.ok and reply.error, (name, s, reply)
    assert not marker.exists()
    assert all(token.encode() not in m.payload for m in running.sub.snapshot())
    assert running.alive()
    _targets_ok(running)


# ---- fuzzing the command handler through the broker --------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "MODE_MANUAL", "MODE_AUTO"]),
    st.sampled_from(["MODE_NEUTRAL", "CALIBRATION_PHASE_REST", "smile", "neutral", ""]),
    st.text(max_size=12),
)
keys = st.sampled_from(
    [
        "request_id",
        "requestId",
        "set_mode",
        "mode",
        "set_pose",
        "setPose",
        "targets",
        "expression",
        "reload_model",
        "start_calibration",
        "phase",
        "duration_s",
        "stop_calibration",
        "save",
        "start_raw_stream",
        "stop_raw_stream",
        "x",
    ]
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
payloads = st.one_of(
    st.binary(max_size=64),
    st.dictionaries(keys, values, max_size=4).map(lambda d: json.dumps(d).encode()),
)
# every command except the calibration ones, which record for seconds and are tested above
names = st.sampled_from(
    [n for n in topics.COMMAND_NAMES if n not in ("start_calibration", "stop_calibration")]
)


@fuzz_settings(60)
@given(names, payloads)
@counted("python/mqtt_command_handler_via_broker")
def test_fuzzed_commands_through_the_broker(running: Running, name: str, payload: bytes) -> None:
    replies = Replies(running)
    state = running.daemon.state
    rejected = state.commands_rejected
    reply = replies.send(name, payload)
    assert running.alive()
    if reply.ok:
        assert state.commands_rejected == rejected
    else:
        assert reply.error
        wait_for(lambda: state.commands_rejected == rejected + 1, T, "the refusal to be counted")
    _targets_ok(running)


@fuzz_settings(1500)
@given(st.sampled_from(topics.COMMAND_NAMES), payloads, st.booleans())
@counted("python/parse_command")
def test_parse_command_raises_only_command_error(name: str, payload: bytes, retained: bool) -> None:
    try:
        cmd = parse_command(name, payload, motors=3, expressions=("smile",), retained=retained)
    except CommandError as exc:
        assert str(exc)
        return
    assert not retained and cmd.WhichOneof("action") == name
    if cmd.HasField("set_mode"):
        assert cmd.set_mode.mode in (tm.MODE_AUTO, tm.MODE_MANUAL, tm.MODE_NEUTRAL)
    if cmd.HasField("set_pose") and cmd.set_pose.targets:
        assert len(cmd.set_pose.targets) == 3
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in cmd.set_pose.targets)
    if cmd.HasField("start_calibration"):
        assert cmd.start_calibration.phase in (
            tm.CALIBRATION_PHASE_REST,
            tm.CALIBRATION_PHASE_MAX,
        )
