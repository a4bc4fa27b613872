"""robohead collect over a real pty against a Python device speaking robohead.protocol.

The device streams a synthetic session's raw counts; cues advance on the device clock, so the
in-process tests stream faster than real time. The CLI tests run `robohead collect` as a process
(Ctrl-C, SIGKILL) against the same device at real-time rate.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from robohead.host.data.collect_ui import render
from robohead.host.data.params import DataParams, load_params
from robohead.host.data.protocols import load_protocol, schedule
from robohead.host.data.recorder import Recorder, session_meta
from robohead.host.data.session import load_session
from robohead.host.data.sources import SerialSource, SourceError
from robohead.host.data.synth import draw_subject, synth_session
from robohead.host.data.validate import validate_session
from robohead.host.data.writer import SessionWriter
from robohead.protocol.framing import FrameDecoder
from robohead.protocol.messages import decode_host, emg_frame, encode_device
from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.v1 import device_pb2 as dev

EXE = Path(sys.executable).with_name("robohead")
SPF = 10

TINY = """
name: tiny
rest_s: 0.3
lead_in_s: 0.5
lead_out_s: 0.2
blocks:
  - cues:
      - {label: smile, duration_s: 0.6}
      - {label: raise_brows, duration_s: 0.6}
      - {label: speak, duration_s: 0.8, phrases: ["hi robot"]}
"""


class FakeDevice:
    """A device on the master side of a pty: answers Ping with Hello, streams EmgFrames."""

    def __init__(
        self,
        counts: np.ndarray,
        *,
        speed: float = 1.0,
        skip: set[int] | None = None,
        schema_hash: int = SCHEMA_HASH,
    ) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.counts = counts
        self.speed = speed
        self.skip = skip or set()
        self.schema_hash = schema_hash
        self.frames_sent = 0
        self.pings = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FakeDevice:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self.slave)

    def _write(self, msg: dev.DeviceMessage) -> None:
        data = encode_device(msg)
        while data and not self._stop.is_set():
            try:
                data = data[os.write(self.master, data) :]
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:
                if e.errno == errno.EIO:
                    return
                raise

    def _hello(self) -> dev.DeviceMessage:
        return dev.DeviceMessage(
            hello=dev.Hello(
                firmware_version="fake-1",
                schema_hash=self.schema_hash,
                board="python-fake",
                channel_count=self.counts.shape[1],
                sampling_rate_hz=1000,
                adc_bits=12,
                samples_per_frame=SPF,
                device_id="fake01",
                device_time_us=5_000_000,
            )
        )

    def _run(self) -> None:
        dec = FrameDecoder()
        t0: float | None = None
        seq = 0
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.002)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                for payload in dec.feed(data):
                    msg = decode_host(payload)
                    if msg.WhichOneof("payload") == "ping":
                        self.pings += 1
                        if msg.ping.request_hello:
                            self._write(self._hello())
                        if t0 is None:
                            t0 = time.monotonic()
            if t0 is None:
                continue
            due = int((time.monotonic() - t0) * 1000 * self.speed / SPF)
            while seq < due and not self._stop.is_set():
                i = (seq * SPF) % (len(self.counts) - SPF)
                if seq not in self.skip:
                    frame = emg_frame(seq, 5_000_000 + seq * SPF * 1000, self.counts[i : i + SPF])
                    self._write(dev.DeviceMessage(emg=frame))
                    self.frames_sent += 1
                seq += 1


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


@pytest.fixture(scope="module")
def counts(params: DataParams) -> np.ndarray:
    proto = load_protocol("quick", params.protocols_dir, params.expressions)
    return synth_session(params, draw_subject(params, 1), 1, 0, proto, audio=False).emg


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def record(
    params: DataParams,
    device: FakeDevice,
    protocol: Path,
    folder: Path,
    stop: threading.Event | None = None,
) -> Recorder:
    proto = load_protocol(protocol, params.protocols_dir, params.expressions)
    plan = schedule(proto.protocol, np.random.default_rng(0))
    source = SerialSource(device.path, baudrate=921600)
    info = source.start(5.0)
    meta = session_meta(params, info, source, proto, subject="t", session="s", audio=False)
    rec = Recorder(
        source, SessionWriter(folder, meta), plan, info, flush_interval_s=0.2, level_window_s=0.2
    )
    try:
        rec.run(stop=stop)
    finally:
        source.close()
    return rec


def test_recording_follows_the_protocol_and_validates(
    params: DataParams, counts: np.ndarray, tiny: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "t" / "s"
    with FakeDevice(counts, speed=4.0) as device:
        rec = record(params, device, tiny, folder)
    report = validate_session(folder, params)
    assert report.status == "OK", [p.format() for p in report.problems]
    s = load_session(folder)
    assert s.meta.end_reason == "completed" and s.meta.device["board"] == "python-fake"
    assert [c.label for c in s.cues] == [c.label for c in rec.plan]
    assert s.duration_s >= rec.plan[-1].end_s
    # Every sample is the device's, in order: frame k carries counts[k*SPF:(k+1)*SPF].
    np.testing.assert_array_equal(s.emg, counts[: s.n_samples])
    assert s.time_us[0] == 5_000_000 and np.all(np.diff(s.time_us) == 1000)
    assert s.meta.gaps == [] and s.audio is None


def test_sequence_gaps_are_recorded(
    params: DataParams, counts: np.ndarray, tiny: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "t" / "s"
    with FakeDevice(counts, speed=4.0, skip={50, 51, 52, 120}) as device:
        record(params, device, tiny, folder)
    meta = json.loads((folder / "session.json").read_text())
    assert [(g["after_sequence"], g["missing_frames"]) for g in meta["gaps"]] == [(49, 3), (119, 1)]
    assert meta["gaps"][0]["device_time_us"] == 5_000_000 + 53 * SPF * 1000
    report = validate_session(folder, params)
    assert report.status == "OK" and report.problems == [], [p.format() for p in report.problems]


def test_stop_finalises_an_interrupted_session(
    params: DataParams, counts: np.ndarray, tiny: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "t" / "s"
    stop = threading.Event()
    with FakeDevice(counts, speed=2.0) as device:
        timer = threading.Timer(0.8, stop.set)
        timer.start()
        rec = record(params, device, tiny, folder, stop=stop)
    s = load_session(folder)
    assert s.meta.end_reason == "interrupted" and s.complete
    assert s.cues[-1].end_s <= s.duration_s + 1e-3
    assert len(s.cues) < len(rec.plan)
    assert validate_session(folder, params).status == "OK"


def test_schema_mismatch_is_refused_with_both_hashes(counts: np.ndarray) -> None:
    with FakeDevice(counts, schema_hash=0xDEADBEEF) as device:
        source = SerialSource(device.path, baudrate=921600)
        with pytest.raises(SourceError, match=r"0xdeadbeef.*!= host"):
            source.start(5.0)
        source.close()


def test_live_view_renders(
    params: DataParams, counts: np.ndarray, tiny: Path, tmp_path: Path
) -> None:
    with FakeDevice(counts, speed=4.0) as device:
        rec = record(params, device, tiny, tmp_path / "t" / "s")
    console = Console(record=True, width=100, force_terminal=False)
    state = rec.state()
    console.print(
        render(
            state, title="t/s", channels=params.channel_names, countdown_s=1.0, audio="audio: none"
        )
    )
    text = console.export_text()
    assert "frontalis" in text and "digastric" in text and "Done" in text


def wait_for(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.fixture
def cli_session(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "rec"


def start_cli(device: FakeDevice, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(EXE),
            "collect",
            "--port",
            device.path,
            "--subject",
            "alice",
            "--session",
            "s1",
            "--protocol",
            "quick",
            "--out",
            str(out),
            "--no-ui",
            "--audio",
            "none",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_cli_sigkill_leaves_an_incomplete_readable_session(
    params: DataParams, counts: np.ndarray, cli_session: Path
) -> None:
    folder = cli_session / "alice" / "s1"
    with FakeDevice(counts) as device:
        proc = start_cli(device, cli_session)
        try:
            wait_for(lambda: lines(folder / "emg.csv") > 2500, 30, "2.5 s of flushed samples")
            seen = lines(folder / "emg.csv") - 1
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
    report = validate_session(folder, params)
    assert report.status == "INCOMPLETE", [p.format() for p in report.problems]
    assert not report.errors
    s = load_session(folder, allow_incomplete=True)
    assert s.n_samples >= seen
    np.testing.assert_array_equal(s.emg, counts[: s.n_samples])
    assert s.cues and all(c.end_s <= s.duration_s + 0.05 for c in s.cues)


@pytest.mark.slow
def test_cli_ctrl_c_finalises_and_prints_the_dvc_command(
    params: DataParams, counts: np.ndarray, cli_session: Path
) -> None:
    folder = cli_session / "alice" / "s1"
    with FakeDevice(counts) as device:
        proc = start_cli(device, cli_session)
        try:
            wait_for(lambda: lines(folder / "emg.csv") > 1500, 30, "1.5 s of samples")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "interrupted:" in out and f"dvc add {folder}" in out
    assert validate_session(folder, params).status == "OK"
    assert load_session(folder).meta.end_reason == "interrupted"
