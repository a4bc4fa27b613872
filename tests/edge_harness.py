"""The edge daemon in-process against the Python fake device (a real pty) and a real Mosquitto,
for the reliability and security tests (tests/test_reliability_*.py, tests/test_security_*.py).

The daemon's own tests (edge-rpi/tests/test_edge_daemon.py) check its features; this harness only
adds what those tests need to attack it: the daemon thread (to see that it survives), the fake
device's received MotorCommands (to check every target ever sent) and a subscriber on every topic.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "edge-rpi" / "tests"))
from dsp_helpers import feature_config, synthetic_record  # noqa: E402
from edge_helpers import constant_bundle  # noqa: E402

from robohead.edge.config import EdgeConfig  # noqa: E402
from robohead.edge.daemon import Daemon  # noqa: E402
from robohead.edge.fakedevice import FakeDevice  # noqa: E402
from robohead.protocol import topics  # noqa: E402
from robohead.protocol.v1 import device_pb2 as dev  # noqa: E402
from robohead.protocol.v1 import telemetry_pb2 as tm  # noqa: E402
from tests.mosquitto import Mosquitto, Subscriber, wait_for  # noqa: E402

__all__ = ["DEVICE", "Running", "make_bundle", "start", "stationary_counts"]

DEVICE = "head-sec"
MODEL_TARGETS = (0.2, 0.7, 0.4)


def stationary_counts(seconds: float = 3.0, seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 1000)
    return np.clip(2048 + 17 + rng.normal(0, 100, (n, 4)), 0, 4095).astype(np.int16)


def make_bundle(out: Path, targets: tuple[float, ...] = MODEL_TARGETS, **kw: Any) -> Path:
    cfg = feature_config()
    emg, audio = synthetic_record(cfg, seconds=3.0, seed=5)
    return constant_bundle(out, cfg, emg, audio, targets, **kw)


@dataclass
class Running:
    daemon: Daemon
    device: FakeDevice
    bundle: Path
    sub: Subscriber
    thread: threading.Thread
    mqtt_user: tuple[str, str] | None = None

    def motor_commands(self) -> list[dev.MotorCommand]:
        return [c.command for c in list(self.device.commands)]

    def alive(self) -> bool:
        return self.thread.is_alive()

    def command(
        self, name: str, payload: bytes, rid: str, *, timeout: float = 10.0, retain: bool = False
    ) -> tm.CommandReply:
        """Publish on cmd/<name> and wait for the reply carrying `rid` (JSON payloads)."""
        self.sub.publish(topics.topic(DEVICE, f"cmd/{name}"), payload, retain=retain)
        msg = self.sub.wait_for(
            lambda m: (
                m.topic == topics.topic(DEVICE, f"cmd/{name}/reply")
                and json.loads(m.payload).get("request_id", "") == rid
            ),
            timeout,
            f"the reply to cmd/{name} {rid}",
        )
        reply = topics.parse(f"cmd/{name}/reply", msg.payload)
        assert isinstance(reply, tm.CommandReply)
        return reply

    def stop(self) -> None:
        self.daemon.request_stop()
        self.thread.join(15)
        self.sub.close()
        self.device.close()


def start(
    tmp: Path,
    broker: Mosquitto,
    bundle_src: Path,
    *,
    mqtt: dict[str, Any] | None = None,
    sub_user: tuple[str, str] | None = None,
    counts: np.ndarray | None = None,
    config: dict[str, Any] | None = None,
    wait_motors: bool = True,
    **device: Any,
) -> Running:
    fake = FakeDevice(counts=stationary_counts() if counts is None else counts, **device).start()
    link = tmp / "robohead-esp32"
    os.symlink(fake.path, link)
    bundle = tmp / "bundle"
    shutil.copytree(bundle_src, bundle)
    config = EdgeConfig.model_validate(
        {
            "device_id": DEVICE,
            "state_dir": str(tmp / "state"),
            "serial": {"url": str(link), "hello_timeout_s": 0.5},
            "bundle": {"dir": str(bundle), "watch_interval_s": 0.2},
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "reconnect_min_s": 0.1,
                "reconnect_max_s": 0.5,
                "telemetry_rate_hz": 10,
                "metrics_interval_s": 0.5,
                **(mqtt or {}),
            },
            **(config or {}),
        }
    )
    user, password = sub_user or (None, None)
    sub = Subscriber(broker, f"{topics.ROOT}/{DEVICE}/#", username=user, password=password)
    sub.start()
    daemon = Daemon(config)
    thread = threading.Thread(target=daemon.run, daemon=True, name="edge-daemon")
    thread.start()
    r = Running(daemon, fake, bundle, sub, thread)
    if wait_motors:
        wait_for(lambda: len(r.motor_commands()) >= 5, 30, "the daemon to drive the motors")
    return r
