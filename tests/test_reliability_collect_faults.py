"""`robohead collect` when the disk fills up: a clear error; every sample on disk stays readable.

A small tmpfs (mounted here; root only) is the recordings root; robohead-fw-sim replays known
counts over a real pty. When the disk is full the recorder must stop with one clear line naming
the folder and the cause (no traceback), leave the session INCOMPLETE (not corrupt), and every
sample that reached the disk before the fault must load, in order, exactly as the device sent it.
The SIGKILL case (the process killed) is tests/test_data_e2e_collect_fwsim.py's
test_sigkill_mid_collection_leaves_an_incomplete_readable_session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from robohead.host.data.params import DataParams, load_params  # noqa: E402
from robohead.host.data.session import load_session  # noqa: E402
from robohead.host.data.synth import synth_dataset  # noqa: E402
from robohead.host.data.validate import validate_session  # noqa: E402
from tests.fwsim import FwSim  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXE = Path(sys.executable).with_name("robohead")
DISK_KB = 160  # about 5 s of 4-channel sEMG at 1 kHz as CSV


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


@pytest.fixture(scope="module")
def replayed(params: DataParams, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replay")
    (folder,) = synth_dataset(params, root, subjects=1, sessions=1, protocol="quick", audio=False)
    return folder / "emg.csv"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_KB}k,mode=0755", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        pytest.skip(f"mount refused here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], capture_output=True, timeout=30).returncode:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def _window_of(recorded: np.ndarray, source: np.ndarray) -> bool:
    """The recording is a contiguous (looping) stretch of the replayed counts."""
    n = len(source)
    for s in np.nonzero((source == recorded[0]).all(axis=1))[0]:
        if np.array_equal(source[(s + np.arange(len(recorded))) % n], recorded):
            return True
    return False


class LineWatcher:
    """Counts complete rows of emg.csv while the recorder runs (what reached the OS)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.max_rows = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):  # a sampling interval, not a synchronisation
            try:
                rows = self.path.read_bytes().count(b"\n") - 1
            except FileNotFoundError:
                continue
            self.max_rows = max(self.max_rows, rows)

    def __enter__(self) -> LineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_disk_full_gives_a_clear_error_and_keeps_every_flushed_sample(
    params: DataParams, replayed: Path, small_disk: Path
) -> None:
    folder = small_disk / "sim" / "s1"
    with FwSim("--emg-csv", str(replayed)) as sim, LineWatcher(folder / "emg.csv") as watch:
        proc = subprocess.run(
            [
                str(EXE),
                "collect",
                "--port",
                sim.pty,
                "--subject",
                "sim",
                "--session",
                "s1",
                "--protocol",
                "quick",
                "--out",
                str(small_disk),
                "--no-ui",
                "--audio",
                "none",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    err = proc.stderr
    assert proc.returncode != 0, proc.stdout
    assert "No space left on device" in err and str(folder) in err, err
    assert "Traceback" not in err and "│" not in err, f"a traceback instead of a message:\n{err}"
    assert len(err.strip().splitlines()) <= 3, err
    # the session is INCOMPLETE (not corrupt) and holds everything that reached the disk
    report = validate_session(folder, params)
    assert report.status == "INCOMPLETE", [p.format() for p in report.problems]
    assert not report.errors
    s = load_session(folder, allow_incomplete=True)
    assert watch.max_rows > 1000, "the disk should hold more than a second of samples"
    assert s.n_samples >= watch.max_rows - 1, (s.n_samples, watch.max_rows)  # a cut last row
    assert np.all(np.diff(s.time_us) == 1000), "no gap, no duplicate, no reordering"
    source = np.loadtxt(replayed, delimiter=",", skiprows=1, dtype=np.int64)[:, 2:]
    assert _window_of(s.emg.astype(np.int64), source), "the counts are exactly the device's"
