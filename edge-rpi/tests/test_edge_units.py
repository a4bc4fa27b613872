"""Small pieces of the daemon: command validation, modes, calibration, audio pacing, metrics."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from robohead.edge.audio import AudioError, SilenceSource, WavSource
from robohead.edge.calibration import (
    CalibrationError,
    Recorder,
    apply_gain,
    channel_rms,
    compute_calibration,
    load_calibration,
    save_calibration,
)
from robohead.edge.commands import COMMAND_NAMES, CommandError, parse_command
from robohead.edge.metrics import LatencyRing, RateMeter
from robohead.edge.modes import ModeController, neutral_from_hello
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm

# --- commands ----------------------------------------------------------------------------------


def cmd(name: str, body: object, **kw: object) -> tm.Command:
    return parse_command(name, json.dumps(body).encode(), motors=3, **kw)  # type: ignore[arg-type]


def test_every_schema_action_is_a_command() -> None:
    assert set(COMMAND_NAMES) == {
        "set_mode", "set_pose", "reload_model", "start_calibration", "stop_calibration",
        "start_raw_stream", "stop_raw_stream",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "body", "needle"),
    [
        ("set_mode", {}, "sets no action"),
        ("set_mode", {"set_mode": {"mode": "MODE_FAST"}}, "MODE_FAST"),
        ("set_mode", {"set_mode": {}}, "set_mode.mode"),
        ("set_pose", {"set_pose": {"targets": [0.1, 0.2, 1.5]}}, "set_pose.targets[2]"),
        ("set_pose", {"set_pose": {"targets": [0.1, 0.2]}}, "expected 3"),
        (
            "set_pose",
            {"set_pose": {"targets": [0.1, 0.2, 0.3], "expression": "smile"}},
            "exactly one",
        ),
        ("set_pose", {"set_pose": {"expression": "wink"}}, "'wink' is unknown"),
        ("start_calibration", {"start_calibration": {}}, "start_calibration.phase"),
        ("start_calibration", {"start_calibration": {"phase": 1, "duration_s": 500}}, "duration_s"),
        ("set_mode", {"reload_model": {}}, "topic says 'set_mode'"),
        ("set_mode", {"set_mode": {"mode": 1}, "extra": 1}, "extra"),
        ("launch", {}, "unknown command 'launch'"),
    ],
)
def test_refusals_name_the_field(name: str, body: object, needle: str) -> None:
    with pytest.raises(CommandError) as err:
        cmd(name, body, expressions=("smile",))
    assert needle in str(err.value)


def test_refusal_keeps_the_request_id() -> None:
    with pytest.raises(CommandError) as err:
        cmd("set_mode", {"request_id": "r-9", "set_mode": {}})
    assert err.value.request_id == "r-9"


def test_valid_commands() -> None:
    assert cmd("set_mode", {"setMode": {"mode": "MODE_NEUTRAL"}}).set_mode.mode == tm.MODE_NEUTRAL
    assert cmd("reload_model", {"request_id": "7"}).WhichOneof("action") == "reload_model"
    assert parse_command("stop_raw_stream", b"", motors=3).WhichOneof("action") == "stop_raw_stream"
    pose = cmd("set_pose", {"set_pose": {"expression": "smile"}}, expressions=("smile",))
    assert pose.set_pose.expression == "smile"


def test_retained_and_oversized_commands_are_refused() -> None:
    with pytest.raises(CommandError, match="retained"):
        parse_command("reload_model", b"{}", motors=3, retained=True)
    with pytest.raises(CommandError, match="bytes"):
        parse_command("reload_model", b" " * 100_000, motors=3)
    with pytest.raises(CommandError, match="not JSON"):
        parse_command("reload_model", b"{nope", motors=3)


# --- modes -------------------------------------------------------------------------------------


def test_neutral_pose_from_the_hello() -> None:
    hello = dev.Hello(
        servos=[
            dev.ServoLimits(min_us=1000, max_us=2000, neutral_us=1500),
            dev.ServoLimits(min_us=1000, max_us=2000, neutral_us=1250, inverted=True),
            dev.ServoLimits(min_us=1000, max_us=2000, neutral_us=1000),
        ]
    )
    np.testing.assert_allclose(neutral_from_hello(hello, 3), [0.5, 0.75, 0.0])  # type: ignore[arg-type]
    assert neutral_from_hello(dev.Hello(), 3) is None


def test_mode_targets() -> None:
    modes = ModeController(3, [0.5, 0.0, 0.0], tm.MODE_AUTO)
    assert modes.target(None) is None, "auto without a model output sends nothing"
    auto = modes.target([0.1, 0.2, 0.3])
    assert auto is not None and auto.smooth and auto.flags == dev.MOTOR_FLAG_NONE
    modes.set_poses({"smile": [0.5, 1.0, 0.0]})
    modes.set_mode(tm.MODE_MANUAL)
    modes.set_pose(expression="smile")
    manual = modes.target([0.1, 0.2, 0.3])
    assert manual is not None and not manual.smooth and list(manual.targets) == [0.5, 1.0, 0.0]
    modes.set_mode(tm.MODE_NEUTRAL)
    neutral = modes.target([0.1, 0.2, 0.3])
    assert neutral is not None and neutral.flags == dev.MOTOR_FLAG_NEUTRAL
    assert list(neutral.targets) == [0.5, 0.0, 0.0]


# --- calibration -------------------------------------------------------------------------------


def noise(std: float, n: int = 4000, ch: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(2048 + rng.normal(0, std, (n, ch)), 0, 4095).astype(np.int16)


def test_rms_scales_with_the_signal() -> None:
    kw = dict(adc_bits=12, sampling_rate_hz=1000.0, filt=None)
    a = channel_rms(noise(50), **kw)  # type: ignore[arg-type]
    b = channel_rms(noise(100), **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(b / a, 2.0, rtol=0.01)


def test_first_calibration_is_the_reference_later_ones_compensate(tmp_path: Path) -> None:
    names = ["a", "b"]
    first = compute_calibration(names, [0.01, 0.01], [0.11, 0.21], adc_bits=12)
    assert first.gain == (1.0, 1.0)
    later = compute_calibration(names, [0.01, 0.01], [0.06, 0.41], adc_bits=12, previous=first)
    np.testing.assert_allclose(later.gain, [2.0, 0.5])
    fresh = compute_calibration(
        names, [0.01, 0.01], [0.06, 0.41], adc_bits=12, previous=first, new_reference=True
    )
    assert fresh.gain == (1.0, 1.0)
    path = tmp_path / "calibration.json"
    save_calibration(path, later)
    assert load_calibration(path) == later
    assert load_calibration(tmp_path / "none.json") is None


def test_gain_is_clipped_and_a_dead_channel_is_refused() -> None:
    ref = compute_calibration(["a"], [0.01], [1.0], adc_bits=12)
    weak = compute_calibration(["a"], [0.001], [0.01], adc_bits=12, previous=ref)
    assert weak.gain == (5.0,)
    with pytest.raises(CalibrationError, match="channel a"):
        compute_calibration(["a"], [0.05], [0.06], adc_bits=12)


def test_bad_calibration_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text('{"gain": "x"}')
    with pytest.raises(CalibrationError, match=str(path)):
        load_calibration(path)


def test_apply_gain_scales_around_mid_rail() -> None:
    out = apply_gain(np.array([[2048, 2148], [1948, 2048]]), np.array([2.0, 0.5]), 12)
    np.testing.assert_allclose(out, [[2048, 2098], [1848, 2048]])


def test_recorder_stops_at_its_length() -> None:
    r = Recorder(25, 2)
    for _ in range(4):
        r.add(np.ones((10, 2), np.int16))
    assert r.done and r.samples.shape == (25, 2)


# --- audio -------------------------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())


def test_wav_is_paced_by_the_semg_clock_and_ends_in_silence(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_wav(path, np.full(16000, 0.5, np.float32), 16000)
    src = WavSource(path, 16000, offset_s=0.25)
    assert src.read(0.2).size == 0, "audio starts 0.25 s after the sEMG"
    assert src.read(0.5).size == 4000
    rest = src.read(2.0)
    assert rest.size == 24000 and rest[:12000].min() > 0.49 and rest[-1] == 0.0
    with pytest.raises(AudioError, match="8000 Hz"):
        write_wav(tmp_path / "b.wav", np.zeros(10, np.float32), 8000)
        WavSource(tmp_path / "b.wav", 16000, 0.0)


def test_silence_source_delivers_exactly_what_is_due() -> None:
    src = SilenceSource(16000, 0.0)
    assert [src.read(t).size for t in (0.01, 0.01, 0.02)] == [160, 0, 160]


# --- metrics -----------------------------------------------------------------------------------


def test_latency_ring_percentiles_over_the_recent_window() -> None:
    ring = LatencyRing(size=100)
    for v in range(1000):
        ring.add(float(v))
    stats = ring.stats()
    assert stats.max_ms == 999 and 940 < stats.p50_ms < 960 and stats.p99_ms > stats.p50_ms


def test_rate_meter() -> None:
    now = [0.0]
    meter = RateMeter(clock=lambda: now[0])
    meter.tick(50)
    now[0] = 0.5
    assert meter.rate() == 100.0 and meter.total == 50
