"""`robohead collect` end to end against robohead-fw-sim over a real pseudo-terminal.

The simulator replays a synthetic session's raw counts, so the recorded emg.csv must hold exactly
those counts, in order, gap-free; the validator must pass the session; and a collection killed
with SIGKILL must leave a session that reads up to the last flush and validates as INCOMPLETE.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # --import-mode=importlib

from robohead.host.data.params import DataParams, load_params
from robohead.host.data.session import load_session
from robohead.host.data.synth import synth_dataset
from robohead.host.data.validate import validate_session
from tests.fwsim import FwSim, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXE = Path(sys.executable).with_name("robohead")
TINY = """
name: tiny
rest_s: 0.4
lead_in_s: 0.5
lead_out_s: 0.3
blocks:
  - cues:
      - {label: smile, duration_s: 0.8}
      - {label: open_mouth, duration_s: 0.8}
"""


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


@pytest.fixture(scope="module")
def replayed(params: DataParams, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replay")
    (folder,) = synth_dataset(params, root, subjects=1, sessions=1, protocol="quick", audio=False)
    return folder / "emg.csv"


def collect(port: str, out: Path, protocol: Path | str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(EXE),
            "collect",
            "--port",
            port,
            "--subject",
            "sim",
            "--session",
            "s1",
            "--protocol",
            str(protocol),
            "--out",
            str(out),
            "--no-ui",
            "--audio",
            "none",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_is_a_window_of(recorded: np.ndarray, source: np.ndarray) -> None:
    """The recording is a contiguous (looping) stretch of the replayed counts."""
    starts = np.nonzero((source == recorded[0]).all(axis=1))[0]
    n = len(source)
    for s in starts:
        idx = (s + np.arange(len(recorded))) % n
        if np.array_equal(source[idx], recorded):
            return
    raise AssertionError("recorded counts are not the replayed stream")


def test_collect_from_the_simulator_validates_and_keeps_every_count(
    params: DataParams, replayed: Path, tmp_path: Path
) -> None:
    proto = tmp_path / "tiny.yaml"
    proto.write_text(TINY)
    with FwSim("--emg-csv", str(replayed)) as sim:
        proc = collect(sim.pty, tmp_path / "rec", proto)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    folder = tmp_path / "rec" / "sim" / "s1"
    res = subprocess.run(
        [str(EXE), "data", "validate", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    s = load_session(folder)
    assert s.meta.end_reason == "completed" and s.meta.gaps == []
    assert s.meta.device is not None and s.meta.device["board"] == "sim"
    assert [c.label for c in s.cues] == ["neutral", "smile", "neutral", "open_mouth", "neutral"]
    assert np.all(np.diff(s.time_us) == 1000) and np.all(np.diff(s.sequence) >= 0)
    source = np.loadtxt(replayed, delimiter=",", skiprows=1, dtype=np.int64)[:, 2:]
    assert_is_a_window_of(s.emg.astype(np.int64), source)


def test_sigkill_mid_collection_leaves_an_incomplete_readable_session(
    params: DataParams, replayed: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "rec" / "sim" / "s1"
    emg = folder / "emg.csv"
    with FwSim("--emg-csv", str(replayed)) as sim:
        proc = collect(sim.pty, tmp_path / "rec", "quick")
        try:
            wait_for(
                lambda: emg.exists() and emg.read_bytes().count(b"\n") > 2000,
                30,
                "2 s of samples on disk",
            )
            seen = emg.read_bytes().count(b"\n") - 1
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
    source = np.loadtxt(replayed, delimiter=",", skiprows=1, dtype=np.int64)[:, 2:]
    assert_is_a_window_of(s.emg.astype(np.int64), source)
