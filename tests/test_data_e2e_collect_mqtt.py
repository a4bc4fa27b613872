"""`robohead collect --mqtt` through a real Mosquitto from an edge's raw-stream topic.

A Python stand-in for the edge daemon answers `cmd/start_raw_stream` by publishing a synthetic
session's counts as binary RawEmgChunks (with the retained `meta` carrying the device Hello),
exactly the topic map of robohead.protocol.topics.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # --import-mode=importlib

from robohead.host.data.params import load_params
from robohead.host.data.protocols import load_protocol
from robohead.host.data.session import load_session
from robohead.host.data.synth import draw_subject, synth_session
from robohead.host.data.validate import validate_session
from robohead.protocol import topics
from robohead.protocol.messages import pack_samples
from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm
from tests.mosquitto import Mosquitto

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXE = Path(sys.executable).with_name("robohead")
DEVICE = "edge01"
SPF = 10
TINY = """
name: tiny
rest_s: 0.3
lead_in_s: 0.4
lead_out_s: 0.2
blocks:
  - cues:
      - {label: frown, duration_s: 0.6}
"""


class FakeEdge:
    """Streams counts on telemetry/raw_emg (real time) once asked with cmd/start_raw_stream."""

    def __init__(self, broker: Mosquitto, counts: np.ndarray) -> None:
        self.counts = counts
        self.started = threading.Event()
        self.stopped = threading.Event()
        self._done = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(topics.topic(DEVICE, "cmd/+"), qos=1)
        hello = dev.Hello(
            firmware_version="0.1.0",
            schema_hash=SCHEMA_HASH,
            board="sim",
            channel_count=counts.shape[1],
            sampling_rate_hz=1000,
            adc_bits=12,
            samples_per_frame=SPF,
            device_id="esp-1",
        )
        meta = tm.Meta(device_id=DEVICE, device=hello, channel_names=["a", "b", "c", "d"])
        self.client.publish(
            topics.topic(DEVICE, "meta"), topics.encode("meta", meta), qos=1, retain=True
        )
        self.client.loop_start()
        self._thread = threading.Thread(target=self._stream, daemon=True)
        self._thread.start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        name = topics.split(msg.topic)[1]
        cmd = topics.parse(name, msg.payload)
        assert isinstance(cmd, tm.Command)
        action = cmd.WhichOneof("action")
        if action == "start_raw_stream":
            self.started.set()
        elif action == "stop_raw_stream":
            self.stopped.set()

    def _stream(self) -> None:
        if not self.started.wait(20):
            return
        t0, seq = time.monotonic(), 0
        while not self._done.is_set() and not self.stopped.is_set():
            due = int((time.monotonic() - t0) * 1000 / SPF)
            while seq < due:
                i = seq * SPF
                chunk = tm.RawEmgChunk(
                    device_id=DEVICE,
                    sequence=seq,
                    device_time_us=9_000_000 + i * 1000,
                    channel_count=self.counts.shape[1],
                    sampling_rate_hz=1000,
                    samples=pack_samples(self.counts[i : i + SPF]),
                )
                self.client.publish(
                    topics.topic(DEVICE, "telemetry/raw_emg"),
                    topics.encode("telemetry/raw_emg", chunk),
                )
                seq += 1
            time.sleep(0.005)  # pacing the fake edge's own stream, not synchronisation

    def close(self) -> None:
        self._done.set()
        self._thread.join(5)
        self.client.loop_stop()
        self.client.disconnect()


def test_collect_from_the_raw_stream_topic(tmp_path: Path) -> None:
    params = load_params()
    proto = load_protocol("quick", params.protocols_dir, params.expressions)
    counts = synth_session(params, draw_subject(params, 2), 2, 0, proto, audio=False).emg
    (tmp_path / "tiny.yaml").write_text(TINY)
    with Mosquitto() as broker:
        edge = FakeEdge(broker, counts)
        try:
            res = subprocess.run(
                [
                    str(EXE),
                    "collect",
                    "--mqtt",
                    f"{broker.host}:{broker.port}",
                    "--device-id",
                    DEVICE,
                    "--subject",
                    "bob",
                    "--session",
                    "m1",
                    "--protocol",
                    str(tmp_path / "tiny.yaml"),
                    "--out",
                    str(tmp_path / "rec"),
                    "--no-ui",
                    "--audio",
                    "none",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert edge.stopped.wait(10), "collect did not send stop_raw_stream"
        finally:
            edge.close()
    assert res.returncode == 0, res.stdout + res.stderr
    folder = tmp_path / "rec" / "bob" / "m1"
    report = validate_session(folder, params)
    assert report.status == "OK", [p.format() for p in report.problems]
    s = load_session(folder)
    assert s.meta.source.kind == "mqtt" and s.meta.device["board"] == "sim"  # type: ignore[index]
    assert s.time_us[0] == 9_000_000
    np.testing.assert_array_equal(s.emg, counts[: s.n_samples])
