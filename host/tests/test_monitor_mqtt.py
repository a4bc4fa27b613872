"""The monitor against a real Mosquitto: real messages in, rendered text out."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from robohead.host.monitor.client import BrokerOptions, MonitorClient
from robohead.host.monitor.render import render
from robohead.host.monitor.settings import load_monitor_settings
from robohead.host.monitor.state import MonitorState
from robohead.protocol import topics
from robohead.protocol.v1 import telemetry_pb2 as tm

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # --import-mode=importlib: reach the shared test fixtures
from tests.mosquitto import Mosquitto, mosquitto_broker, wait_for  # noqa: E402

__all__ = ["mosquitto_broker"]

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: find the helpers
import monitor_messages as msgs  # noqa: E402

SETTINGS = load_monitor_settings()
T = 10.0


def text_of(state: MonitorState) -> str:
    console = Console(record=True, width=160, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render(state, SETTINGS))
    return console.export_text()


def publish(pub: msgs.Publisher, name: str, msg: object, *, retain: bool = False) -> None:
    spec = topics.spec(name)
    pub.publish(
        topics.topic(msgs.DEVICE, name),
        topics.encode(name, msg),  # type: ignore[arg-type]
        qos=spec.qos,
        retain=retain,
    )


def until(state: MonitorState, check: Callable[[str], bool], what: str) -> str:
    """Render until the text satisfies `check` (bounded), returning that text."""
    seen: list[str] = []

    def ok() -> bool:
        seen[:] = [text_of(state)]
        return check(seen[0])

    try:
        wait_for(ok, T, what, interval=0.05)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}; last screen:\n{seen[0] if seen else ''}") from exc
    return seen[0]


def test_monitor_renders_what_flows_through_the_broker(mosquitto_broker: Mosquitto) -> None:
    broker = mosquitto_broker
    with msgs.Publisher(broker.host, broker.port) as pub:
        # Retained before the monitor exists: the broker replays them on subscribe.
        publish(pub, "status", msgs.status(), retain=True)
        publish(pub, "meta", msgs.meta(), retain=True)
        state = MonitorState(broker=f"{broker.host}:{broker.port}", device=msgs.DEVICE)
        with MonitorClient(BrokerOptions(broker.host, broker.port), state):
            until(state, lambda t: "status ONLINE" in t and "(retained)" in t, "retained status")
            publish(pub, "telemetry/state", msgs.telemetry())
            publish(pub, "metrics", msgs.metrics())
            publish(pub, "events", msgs.event())
            publish(pub, "cmd/set_mode/reply", msgs.reply())
            pub.publish(topics.topic(msgs.DEVICE, "metrics"), b'{"frames": "many"}')
            text = until(
                state,
                lambda t: (
                    "reply set_mode" in t
                    and "1750 us" in t
                    and "monitor parse errors │      1" in t
                ),
                "telemetry, metrics, events, a reply and one bad payload",
            )
            assert "model robohead-expression v4" in text
            assert "expression raise_brows 87%" in text
            assert "frontalis   │ " + "█" * 16 in text
            assert "11.50" in text and "21.25" in text
            assert "bundle_rejected: golden vector mismatch" in text
            assert "robohead/head-7/metrics" in text  # the bad payload, named

            # The edge dies: the broker publishes its OFFLINE last will (retained).
            will = tm.Status(
                state=tm.Status.STATE_OFFLINE, device_id=msgs.DEVICE, detail="connection lost"
            )
            publish(pub, "status", will, retain=True)
            until(state, lambda t: "status OFFLINE  connection lost" in t, "offline status")

            # The broker goes away and comes back on the same port: the monitor reconnects.
            broker.stop()
            until(state, lambda t: "DISCONNECTED" in t, "the monitor to notice the broker left")
            broker.start()
            until(
                state, lambda t: "connected  (connects 2, lost 1)" in t, "the monitor to reconnect"
            )


def test_other_devices_are_ignored_with_device_filter(mosquitto_broker: Mosquitto) -> None:
    broker = mosquitto_broker
    with msgs.Publisher(broker.host, broker.port) as pub:
        state = MonitorState(broker="x", device=msgs.DEVICE)
        with MonitorClient(BrokerOptions(broker.host, broker.port), state):
            wait_for(lambda: state.broker.connected, T, "monitor connected")
            pub.publish(topics.topic("other", "status"), topics.encode("status", msgs.status()))
            publish(pub, "status", msgs.status(detail="the one"))
            until(state, lambda t: "the one" in t, "the filtered device")
            assert set(state.devices) == {msgs.DEVICE}


def test_monitor_needs_the_right_password(tmp_path: Path) -> None:
    with Mosquitto(users={"head": "s3cret"}, workdir=tmp_path) as broker:
        wrong = MonitorState(broker="x")
        with MonitorClient(BrokerOptions(broker.host, broker.port, "head", "nope"), wrong):
            until(wrong, lambda t: "DISCONNECTED: refused" in t, "a refusal")
        right = MonitorState(broker="x")
        with MonitorClient(BrokerOptions(broker.host, broker.port, "head", "s3cret"), right):
            wait_for(lambda: right.broker.connected, T, "connected with the right password")


def test_cli_prints_the_dashboard(mosquitto_broker: Mosquitto) -> None:
    broker = mosquitto_broker
    with msgs.Publisher(broker.host, broker.port) as pub:
        publish(pub, "status", msgs.status(), retain=True)
        publish(pub, "meta", msgs.meta(), retain=True)
    exe = Path(sys.executable).with_name("robohead")
    proc = subprocess.run(
        [
            str(exe),
            "monitor",
            "--broker",
            f"{broker.host}:{broker.port}",
            "--device",
            msgs.DEVICE,
            "--duration",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "status ONLINE" in proc.stdout
    assert "model robohead-expression v4" in proc.stdout
    bad = subprocess.run(
        [str(exe), "monitor", "--broker", "host:99999", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "99999" in bad.stderr
