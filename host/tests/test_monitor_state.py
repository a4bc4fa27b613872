"""The monitor's state model and renderer, without a terminal or a broker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rich.console import Console

from robohead.host.monitor.render import bar, render
from robohead.host.monitor.settings import (
    SettingsError,
    load_monitor_settings,
    parse_broker,
)
from robohead.host.monitor.state import MonitorState, measured_targets
from robohead.protocol import topics
from robohead.protocol.v1 import telemetry_pb2 as tm

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: find the helpers
import monitor_messages as msgs

SETTINGS = load_monitor_settings()


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def feed(state: MonitorState, name: str, msg: object, retained: bool = False) -> None:
    state.on_message(topics.topic(msgs.DEVICE, name), topics.encode(name, msg), retained)  # type: ignore[arg-type]


def text_of(state: MonitorState, width: int = 160) -> str:
    console = Console(record=True, width=width, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render(state, SETTINGS))
    return console.export_text()


def full_state(clock: Clock) -> MonitorState:
    state = MonitorState(broker="127.0.0.1:1883", clock=clock, stale_s=SETTINGS.stale_s)
    state.on_connected()
    feed(state, "status", msgs.status(), retained=True)
    feed(state, "meta", msgs.meta(), retained=True)
    feed(state, "telemetry/state", msgs.telemetry())
    feed(state, "metrics", msgs.metrics())
    feed(state, "events", msgs.event())
    feed(state, "cmd/set_mode/reply", msgs.reply())
    return state


def test_every_panel_shows_what_the_edge_published() -> None:
    clock = Clock()
    state = full_state(clock)
    text = text_of(state)
    assert "broker 127.0.0.1:1883  connected" in text
    assert "device head-7  status ONLINE  running, mode MODE_AUTO  (retained)" in text
    assert "model robohead-expression v4  run 0123456789ab  bundle abababababab" in text
    assert "firmware 0.1.0 on sim  4 ch @ 1000 Hz" in text
    assert "mode AUTO  expression raise_brows 87%  failsafe ACTIVE  link 100.0 frames/s" in text
    # sEMG bars on the dB scale [-60, -10]: -20 dB is 80 % of 20 cells.
    assert "frontalis   │ " + "█" * 16 + "░" * 4 in text
    assert "-20.0 dB" in text and "-60.0 dB" in text and "-inf dB" in text
    assert "-30.0 dBFS" in text
    # Motors: predicted, commanded, measured (pulse width mapped back through the Hello limits).
    assert "brows" in text and "0.90" in text and "0.80" in text and "0.75" in text
    assert "1750 us" in text
    jaw = next(line for line in text.splitlines() if "jaw" in line and " us" in line)
    assert "0.50" in jaw and "0.45" in jaw and "0.40" in jaw  # inverted servo: 1600 us -> 0.40
    loop = next(line for line in text.splitlines() if line.strip("│ ").startswith("loop"))
    assert "11.50" in loop and "21.25" in loop and "30.00" in loop
    assert "cobs/crc/length   │ 1/3/0" in text
    assert "failsafe trips" in text and "sequence gaps" in text
    assert "error" in text and "bundle_rejected: golden vector mismatch" in text
    assert "reply set_mode: ok mode MODE_NEUTRAL" in text


def test_offline_stale_and_disconnected_are_visible() -> None:
    clock = Clock()
    state = full_state(clock)
    assert "STALE" not in text_of(state)
    clock.t += SETTINGS.stale_s + 0.5
    feed(state, "status", msgs.status(tm.Status.STATE_OFFLINE, "connection lost"), retained=True)
    state.on_disconnected("lost (Unspecified error); reconnecting")
    text = text_of(state)
    assert "status OFFLINE  connection lost" in text
    assert "STALE" in text
    assert "DISCONNECTED: lost (Unspecified error); reconnecting" in text
    assert "(connects 1, lost 1)" in text


def test_bad_payloads_are_counted_and_named_not_fatal() -> None:
    state = MonitorState(broker="b:1", clock=Clock())
    state.on_message(topics.topic(msgs.DEVICE, "telemetry/state"), b"{not json")
    state.on_message(topics.topic(msgs.DEVICE, "status"), b'{"device_id": "x"}')  # state unset
    state.on_message("robohead/head-7/nonsense", b"{}")
    assert state.parse_errors == 3
    assert "nonsense" in state.last_error
    assert state.devices == {}
    assert "waiting for robohead/+/..." in text_of(state)


def test_device_filter_and_selection() -> None:
    clock = Clock()
    state = MonitorState(broker="b:1", clock=clock)
    state.on_message(topics.topic("a", "status"), topics.encode("status", msgs.status()))
    clock.t += 1
    state.on_message(topics.topic("b", "status"), topics.encode("status", msgs.status()))
    assert state.selected() is not None and state.selected().device_id == "b"  # type: ignore[union-attr]
    assert "also heard: a" in text_of(state)
    only_a = MonitorState(broker="b:1", device="a", clock=clock)
    only_a.on_message(topics.topic("b", "status"), topics.encode("status", msgs.status()))
    assert only_a.selected() is None and only_a.devices == {}


def test_events_panel_keeps_the_latest_only() -> None:
    state = MonitorState(broker="b:1", events=2, clock=Clock())
    for i in range(5):
        event = tm.Event(level=tm.Event.LEVEL_INFO, kind=f"k{i}", message=f"m{i}")
        state.on_message(topics.topic("d", "events"), topics.encode("events", event))
    text = text_of(state)
    assert "k4: m4" in text and "k3: m3" in text and "k2: m2" not in text


def test_measured_targets_use_limits_and_inversion() -> None:
    servos = list(msgs.meta().device.servos)
    assert measured_targets([1500, 1000, 2000], servos) == [0.5, 0.0, 0.0]
    assert measured_targets([2500, 900], servos) == [1.0, 0.0]  # clamped
    assert measured_targets([1500, 1500, 1500, 1500], servos)[3] is None  # no limits known
    assert measured_targets([1500], []) == [None]


def test_bar_and_broker_parsing() -> None:
    assert bar(0.5, 10).plain == "█████░░░░░"
    assert bar(2.0, 4).plain == "████" and bar(-1, 4).plain == "░░░░"
    assert bar(None, 3).plain == "···"
    assert parse_broker("localhost") == ("localhost", 1883)
    assert parse_broker("pi.local:8883") == ("pi.local", 8883)
    assert parse_broker("[::1]:1884") == ("::1", 1884)
    assert parse_broker("host", default_port=8883) == ("host", 8883)
    for bad in ("host:0", "host:x", ":1883", "[::1"):
        with pytest.raises(SettingsError):
            parse_broker(bad)


def test_narrow_terminals_get_the_tables_one_under_the_other() -> None:
    state = full_state(Clock())
    wide, narrow = text_of(state, width=160), text_of(state, width=90)
    assert max(len(line) for line in narrow.splitlines()) <= 90
    assert "sEMG and audio levels" in narrow and "motors (target 0..1)" in narrow
    # Side by side, both titles share a line; narrow, the motors come after the last channel.
    assert any("motors (target" in line and "sEMG and audio" in line for line in wide.splitlines())
    assert narrow.index("motors (target") > narrow.index("digastric")
