"""Fuzzing the session loader and validator (robohead.host.data) with damaged session folders.

Sessions come from disks that fill up, recorders that get killed and people who edit CSVs by
hand. Whatever is in the folder: `load_session` raises only `SessionError` (naming the file),
`validate_session` never raises (it reports), and a session the validator calls OK loads with
consistent shapes.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # --import-mode=importlib
from robohead.host.data.params import DataParams, load_params
from robohead.host.data.schema import (
    AUDIO_FILE,
    CUES_FILE,
    EMG_FILE,
    META_FILE,
    TARGETS_FILE,
    AdcInfo,
    AudioInfo,
    ChannelInfo,
    SessionMeta,
    SourceInfo,
)
from robohead.host.data.session import Cue, SessionError, load_session
from robohead.host.data.validate import validate_session
from robohead.host.data.writer import write_session
from tests.fuzzing import counted, fuzz_settings

N = 300
FILES = (META_FILE, EMG_FILE, CUES_FILE, TARGETS_FILE, AUDIO_FILE)


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


def _write_valid(folder: Path, params: DataParams) -> None:
    rate = params.device.sampling_rate_hz
    audio_rate = params.audio.sampling_rate_hz
    rng = np.random.default_rng(0)
    mid = 2 ** (params.device.adc_bits - 1)
    n_ch = len(params.channels)
    meta = SessionMeta(
        status="complete",
        end_reason="synthetic",
        subject="fuzz",
        session="s1",
        source=SourceInfo(kind="synthetic"),
        sampling_rate_hz=rate,
        samples_per_frame=params.device.samples_per_frame,
        channels=[ChannelInfo(name=c.name, muscle=c.muscle) for c in params.channels],
        adc=AdcInfo(bits=params.device.adc_bits, reference="mid-rail", midpoint_counts=mid),
        audio=AudioInfo(sampling_rate_hz=audio_rate, offset_s=0.0),
        samples=N,
        duration_s=N / rate,
        motors=list(params.motors.names),
    )
    spf = params.device.samples_per_frame
    time_us = (np.arange(N) * (1_000_000 // rate)).astype(np.int64)
    seq = (np.arange(N) // spf).astype(np.int64)
    emg = (mid + rng.normal(0, 50, (N, n_ch))).astype(np.int16)
    labels = list(params.poses)
    cues = [Cue(0.0, 0.15, labels[0], "relax"), Cue(0.15, 0.3, labels[-1], 'say "a, b"')]
    audio = (rng.normal(0, 1000, int(N / rate * audio_rate))).astype(np.int16)
    targets = rng.uniform(0, 1, (N, len(params.motors.names))).astype(np.float32)
    expr = [labels[0] if i < N // 2 else labels[-1] for i in range(N)]
    write_session(
        folder,
        meta,
        time_us,
        seq,
        emg,
        cues,
        audio=audio,
        targets=targets,
        target_expression=expr,
    )


@pytest.fixture(scope="module")
def pristine(params: DataParams, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pristine") / "session"
    _write_valid(folder, params)
    assert validate_session(folder, params).ok, validate_session(folder, params).problems
    load_session(folder)
    return folder


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-session-") as d:
        yield Path(d)


def _copy(src: Path, dst_root: Path) -> Path:
    dst = Path(tempfile.mkdtemp(dir=dst_root)) / "session"  # hypothesis seeds `random`
    shutil.copytree(src, dst)
    return dst


def _check(folder: Path, params: DataParams) -> None:
    """The properties every damaged folder must satisfy."""
    report = validate_session(folder, params)  # must never raise
    for p in report.problems:
        assert p.message and p.kind, p
    loaded = None
    for allow in (False, True):
        try:
            loaded = load_session(folder, allow_incomplete=allow)
        except SessionError as exc:
            assert str(exc).startswith(str(folder)), exc  # names the file
    if report.ok:
        s = load_session(folder)
        assert s.emg.shape == (len(s.time_us), len(s.channel_names))
        assert s.emg.dtype == np.int16
        if s.targets is not None:
            assert s.targets.shape[0] == s.n_samples
    if loaded is not None:
        assert loaded.emg.shape[1] == len(loaded.channel_names)


# ---- byte-level damage to any file ---------------------------------------------------------


def _damage(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randrange(6)
        pos = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            del b[pos : pos + rnd.randint(1, 40)]
        elif op == 2:
            b[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        elif op == 3:
            b[pos:pos] = rnd.choice([b",", b"\n", b"\r\n", b"nan", b"-", b"1e999", b'"', b"\x00"])
        elif op == 4:
            del b[pos:]  # the disk filled up / the recorder died mid-write
        else:
            b[pos:pos] = b[pos : pos + rnd.randint(1, 200)]  # duplicated run
    return bytes(b)


@fuzz_settings(120)
@given(st.sampled_from(FILES), st.randoms(use_true_random=False))
@example(EMG_FILE, random.Random(1))
@counted("python/session_bytes")
def test_damaged_files_never_crash_loader_or_validator(
    pristine: Path, params: DataParams, scratch: Path, name: str, rnd: random.Random
) -> None:
    folder = _copy(pristine, scratch)
    path = folder / name
    path.write_bytes(_damage(path.read_bytes(), rnd))
    _check(folder, params)


@fuzz_settings(40)
@given(st.sets(st.sampled_from(FILES), min_size=1))
@counted("python/session_missing_files")
def test_missing_files_are_reported(
    pristine: Path, params: DataParams, scratch: Path, names: set[str]
) -> None:
    folder = _copy(pristine, scratch)
    for name in names:
        (folder / name).unlink()
    report = validate_session(folder, params)
    _check(folder, params)
    if names & {META_FILE, EMG_FILE, CUES_FILE, AUDIO_FILE}:
        assert not report.ok


# ---- structured damage to session.json -----------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**66), max_value=2**66),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([0, -1, 1e308, "1000", "complete", "recording", [], {}]),
)
json_any = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: object, path: tuple[object, ...], value: object) -> object:
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    return doc


@fuzz_settings(150)
@given(st.data())
@counted("python/session_json_fields")
def test_any_session_json_field_value(
    pristine: Path, params: DataParams, scratch: Path, data: st.DataObject
) -> None:
    folder = _copy(pristine, scratch)
    meta = json.loads((folder / META_FILE).read_text())
    meta.setdefault("device", {"channel_count": 4, "sampling_rate_hz": 1000})
    for _ in range(data.draw(st.integers(1, 3))):
        doc = copy.deepcopy(meta)
        path = data.draw(st.sampled_from(_paths(doc)[1:]))
        meta = _set(doc, path, data.draw(json_any))  # type: ignore[assignment]
    (folder / META_FILE).write_text(json.dumps(meta))
    _check(folder, params)


@pytest.mark.parametrize(
    "device",
    [
        {"channel_count": "four"},
        {"channel_count": {"n": 4}},
        {"sampling_rate_hz": "fast"},
        {"sampling_rate_hz": [1000]},
        {"channel_count": None},
        {"channel_count": 1e400},
    ],
)
def test_odd_device_fields_are_reported_not_raised(
    pristine: Path, params: DataParams, tmp_path: Path, device: dict[str, object]
) -> None:
    """Regression: the validator used int()/float() on session.json's free-form `device` (the
    Hello as JSON) and crashed with ValueError/TypeError instead of reporting the field."""
    folder = _copy(pristine, tmp_path)
    meta = json.loads((folder / META_FILE).read_text())
    meta["device"] = device
    (folder / META_FILE).write_text(json.dumps(meta))
    report = validate_session(folder, params)
    if device != {"channel_count": None}:
        assert any(p.kind == "meta" and "device." in p.message for p in report.problems)
