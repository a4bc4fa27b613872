"""The session format round-trips: what synth writes, load_session reads back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robohead.host.data.params import DataParams, load_params
from robohead.host.data.protocols import load_protocol
from robohead.host.data.schema import FORMAT_VERSION, META_FILE, json_schema
from robohead.host.data.session import (
    IncompleteSessionError,
    SessionError,
    find_sessions,
    load_session,
    load_sessions,
)
from robohead.host.data.synth import draw_subject, synth_session
from robohead.host.data.synth.generate import SynthSession, write_synth


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


@pytest.fixture(scope="module")
def written(
    params: DataParams, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SynthSession]:
    proto = load_protocol("quick", params.protocols_dir, params.expressions)
    s = synth_session(params, draw_subject(params, 0), 0, 0, proto)
    folder = tmp_path_factory.mktemp("ds") / "synth-s01" / "session-01"
    write_synth(folder, s)
    return folder, s


def test_load_returns_exactly_what_was_written(written: tuple[Path, SynthSession]) -> None:
    folder, s = written
    got = load_session(folder)
    assert got.emg.dtype == np.int16 and got.emg.shape == s.emg.shape
    np.testing.assert_array_equal(got.emg, s.emg)
    np.testing.assert_array_equal(got.time_us, s.time_us)
    np.testing.assert_array_equal(got.sequence, s.sequence)
    assert got.sampling_rate_hz == 1000
    assert got.channel_names == ["frontalis", "corrugator", "zygomaticus", "digastric"]
    assert [c.label for c in got.cues] == [c.label for c in s.cues]
    assert got.cues[0].start_s == 0.0 and got.cues[-1].end_s == pytest.approx(
        got.duration_s, abs=1e-3
    )
    assert got.audio is not None and got.audio.dtype == np.float32
    assert got.audio_rate_hz == 16000
    assert s.audio is not None
    np.testing.assert_allclose(got.audio, s.audio / 32768.0, atol=1e-7)
    assert got.audio_offset_s == s.meta.audio.offset_s  # type: ignore[union-attr]
    assert got.targets is not None and got.targets.shape == (got.n_samples, 3)
    np.testing.assert_allclose(got.targets, s.targets, atol=6e-5)
    assert got.target_expression == s.expression
    assert got.meta.format_version == FORMAT_VERSION and got.complete
    assert got.time_s[0] == 0.0 and got.time_s[1] == pytest.approx(0.001)


def test_find_and_load_sessions_below_a_root(written: tuple[Path, SynthSession]) -> None:
    folder, _ = written
    root = folder.parents[1]
    assert find_sessions([root]) == [folder]
    assert [s.path for s in load_sessions([root])] == [folder]


def test_unfinalised_session_needs_allow_incomplete(
    written: tuple[Path, SynthSession], tmp_path: Path
) -> None:
    folder, _ = written
    copy = tmp_path / "s"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    meta = json.loads((copy / META_FILE).read_text())
    meta["status"] = "recording"
    (copy / META_FILE).write_text(json.dumps(meta))
    emg = (copy / "emg.csv").read_bytes()
    (copy / "emg.csv").write_bytes(emg[: len(emg) - 7])  # half a line
    with pytest.raises(IncompleteSessionError):
        load_session(copy)
    got = load_session(copy, allow_incomplete=True)
    n = len(emg.splitlines()) - 2  # header and the cut line
    assert got.n_samples == n


def test_unknown_format_version_names_the_file(
    written: tuple[Path, SynthSession], tmp_path: Path
) -> None:
    folder, _ = written
    meta = json.loads((folder / META_FILE).read_text())
    meta["format_version"] = 99
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(SessionError, match=r"session\.json.*format_version 99"):
        load_session(tmp_path)


def test_json_schema_documents_every_field() -> None:
    props = json_schema()["properties"]
    for key in (
        "format_version",
        "status",
        "device",
        "sampling_rate_hz",
        "channels",
        "adc",
        "protocol",
        "audio",
        "gaps",
        "dropped_samples",
        "subject",
        "notes",
    ):
        assert key in props
