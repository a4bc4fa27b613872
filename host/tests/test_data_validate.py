"""The validator catches each kind of broken session, names file and line, and passes good ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from robohead.host.data.params import DataParams, load_params
from robohead.host.data.synth import synth_dataset
from robohead.host.data.validate import (
    InvalidSessionError,
    Problem,
    SessionReport,
    require_valid,
    validate_paths,
    validate_session,
)

EXE = Path(sys.executable).with_name("robohead")


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


@pytest.fixture(scope="module")
def pristine(params: DataParams, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    (folder,) = synth_dataset(params, root, subjects=1, sessions=1, protocol="quick")
    return folder


@pytest.fixture
def session(pristine: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "subject" / "session"
    shutil.copytree(pristine, dst)
    return dst


def edit_lines(path: Path, fn: Callable[[list[str]], list[str]]) -> None:
    lines = path.read_text().split("\n")
    path.write_text("\n".join(fn(lines)))


def edit_meta(folder: Path, **changes: object) -> None:
    meta = json.loads((folder / "session.json").read_text())
    meta.update(changes)
    (folder / "session.json").write_text(json.dumps(meta))


def only(report: SessionReport, kind: str) -> list[Problem]:
    errors = [p for p in report.problems if p.severity != "warning"]
    assert errors, "expected a problem"
    assert {p.kind for p in errors} == {kind}, [p.format() for p in errors]
    return errors


def test_synthetic_session_passes(params: DataParams, pristine: Path) -> None:
    report = validate_session(pristine, params)
    assert report.problems == [] and report.status == "OK"


def test_truncated_csv_cut_mid_line(params: DataParams, session: Path) -> None:
    emg = session / "emg.csv"
    data = emg.read_bytes()
    emg.write_bytes(data[: len(data) // 2])
    report = validate_session(session, params)
    assert report.status == "INVALID"
    kinds = {p.kind for p in report.errors}
    assert "truncated" in kinds
    cut = [p for p in report.errors if p.kind == "truncated" and p.line]
    assert cut and cut[0].file == emg and cut[0].line == data[: len(data) // 2].count(b"\n") + 1


def test_truncated_csv_missing_rows(params: DataParams, session: Path) -> None:
    edit_lines(session / "emg.csv", lambda ls: [*ls[:-500], ""])
    (p,) = [p for p in validate_session(session, params).errors if p.kind == "truncated"]
    assert "session.json says samples=" in p.message


def test_wrong_column_count_names_the_line(params: DataParams, session: Path) -> None:
    def drop_col(ls: list[str]) -> list[str]:
        ls[9] = ",".join(ls[9].split(",")[:-1])
        return ls

    edit_lines(session / "emg.csv", drop_col)
    (p,) = only(validate_session(session, params), "columns")
    assert (p.file.name, p.line) == ("emg.csv", 10)
    assert "5 columns, expected 6" in p.message


def test_non_monotonic_time(params: DataParams, session: Path) -> None:
    def back_in_time(ls: list[str]) -> list[str]:
        parts = ls[99].split(",")
        parts[0] = str(int(parts[0]) - 5000)
        ls[99] = ",".join(parts)
        return ls

    edit_lines(session / "emg.csv", back_in_time)
    probs = only(validate_session(session, params), "time")
    assert probs[0].line == 100 and "must increase" in probs[0].message


def test_rate_mismatch(params: DataParams, session: Path) -> None:
    meta = json.loads((session / "session.json").read_text())
    meta["sampling_rate_hz"] = 500
    meta["device"]["sampling_rate_hz"] = 500
    (session / "session.json").write_text(json.dumps(meta))
    probs = validate_session(session, params).errors
    rate = [p for p in probs if p.kind == "rate"]
    assert rate and "1000.0 Hz" in rate[0].message and "500 Hz" in rate[0].message


def test_nan_value(params: DataParams, session: Path) -> None:
    def nan(ls: list[str]) -> list[str]:
        parts = ls[49].split(",")
        parts[3] = "nan"
        ls[49] = ",".join(parts)
        return ls

    edit_lines(session / "emg.csv", nan)
    (p,) = only(validate_session(session, params), "nan")
    assert (p.file.name, p.line) == ("emg.csv", 50) and "column 4" in p.message


def test_out_of_range_counts(params: DataParams, session: Path) -> None:
    def big(ls: list[str]) -> list[str]:
        parts = ls[19].split(",")
        parts[2] = "5000"
        ls[19] = ",".join(parts)
        return ls

    edit_lines(session / "emg.csv", big)
    (p,) = only(validate_session(session, params), "range")
    assert p.line == 20 and "frontalis = 5000, expected 0..4095" in p.message


def test_wrong_header(params: DataParams, session: Path) -> None:
    edit_lines(session / "emg.csv", lambda ls: ["time,seq,a,b,c,d", *ls[1:]])
    (p,) = only(validate_session(session, params), "header")
    assert p.line == 1 and "device_time_us,sequence,frontalis" in p.message


def test_missing_wav(params: DataParams, session: Path) -> None:
    (session / "audio.wav").unlink()
    (p,) = only(validate_session(session, params), "missing")
    assert p.file.name == "audio.wav"


def test_wrong_rate_wav(params: DataParams, session: Path) -> None:
    with wave.open(str(session / "audio.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(8000 * 14, "<i2").tobytes())
    probs = validate_session(session, params).errors
    assert any(p.kind == "wav" and "8000 Hz, expected 16000 Hz" in p.message for p in probs)


def test_wav_shorter_than_the_emg(params: DataParams, session: Path) -> None:
    with wave.open(str(session / "audio.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(16000 * 3, "<i2").tobytes())
    (p,) = only(validate_session(session, params), "audio_length")
    assert "expected within 0.5 s" in p.message


def test_cue_outside_the_recording(params: DataParams, session: Path) -> None:
    edit_lines(session / "cues.csv", lambda ls: [*ls[:-1], "100.000,103.000,smile,Smile", ""])
    (p,) = only(validate_session(session, params), "cue")
    n = len((session / "cues.csv").read_text().splitlines())
    assert (p.file.name, p.line) == ("cues.csv", n) and "outside the recording" in p.message


def test_unknown_cue_label(params: DataParams, session: Path) -> None:
    edit_lines(session / "cues.csv", lambda ls: [ls[0], ls[1].replace("neutral", "wink"), *ls[2:]])
    (p,) = only(validate_session(session, params), "label")
    assert p.line == 2 and "'wink'" in p.message


def test_broken_session_json(params: DataParams, session: Path) -> None:
    edit_meta(session, sampling_rate_hz="fast")
    (p,) = only(validate_session(session, params), "meta")
    assert "sampling_rate_hz" in p.message


def test_killed_recording_is_incomplete_not_corrupt(params: DataParams, session: Path) -> None:
    edit_meta(session, status="recording", samples=None, duration_s=None, end_reason=None)
    emg = session / "emg.csv"
    data = emg.read_bytes()
    emg.write_bytes(data[: len(data) * 2 // 3 - 3])  # killed mid-line
    report = validate_session(session, params)
    assert report.status == "INCOMPLETE", [p.format() for p in report.problems]
    assert not report.errors
    assert {p.kind for p in report.problems} >= {"incomplete", "truncated"}


def test_require_valid_refuses_with_file_and_line(params: DataParams, session: Path) -> None:
    edit_lines(session / "emg.csv", lambda ls: [*ls[:9], ls[9] + ",7", *ls[10:]])
    with pytest.raises(InvalidSessionError) as err:
        require_valid([session.parent], params)
    assert f"{session / 'emg.csv'}:10:" in str(err.value)


def test_a_folder_without_session_json_is_reported(params: DataParams, session: Path) -> None:
    (session / "session.json").unlink()
    (report,) = validate_paths([session], params)
    assert report.status == "INVALID" and report.errors[0].kind == "missing"


def test_cli_exit_codes_and_messages(pristine: Path, session: Path) -> None:
    ok = subprocess.run(
        [str(EXE), "data", "validate", str(pristine.parent)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{pristine}: OK" in ok.stdout
    edit_meta(session, status="recording")
    inc = subprocess.run(
        [str(EXE), "data", "validate", str(session)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert inc.returncode == 1 and f"{session}: INCOMPLETE" in inc.stdout
    allowed = subprocess.run(
        [str(EXE), "data", "validate", "--allow-incomplete", str(session)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert allowed.returncode == 0, allowed.stdout
