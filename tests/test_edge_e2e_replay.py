"""`robohead-edge replay` against the host's offline evaluation of the same bundle, and in a lean
install (`pip install ./shared ./edge-rpi` into a fresh venv: no torch, ZenML, MLflow or
transformers)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from conftest import LeanVenv

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "edge-rpi" / "tests"))
from bundle_helpers import make_bundle  # noqa: E402
from dsp_helpers import feature_config  # noqa: E402

from robohead.edge.bundle import load_bundle  # noqa: E402
from robohead.host.data.params import load_params  # noqa: E402
from robohead.host.data.session import load_session  # noqa: E402
from robohead.host.data.synth import synth_dataset  # noqa: E402

EXE = Path(sys.executable).with_name("robohead-edge")
TOL = 1e-5


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One short synthetic session with audio and a bundle (random tiny model) trained on it."""
    root = tmp_path_factory.mktemp("replay")
    (session,) = synth_dataset(
        load_params(), root / "raw", subjects=1, sessions=1, protocol="quick", audio=True
    )
    s = load_session(session)
    bundle, _ = make_bundle(root, feature_config(), s.emg, s.audio)
    return session, bundle


def read_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    with path.open() as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    motors = [h for h in header[2:] if h not in ("expression",) and not h.startswith("p_")]
    m = len(motors)
    ends = np.array([int(r[0]) for r in body])
    pred = np.array([[float(v) for v in r[2 : 2 + m]] for r in body])
    probs = np.array([[float(v) for v in r[3 + m :]] for r in body])
    return header, ends, pred, probs


def host_offline(session: Path, bundle: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exactly what the host's evaluation (robohead.host.gate.bundle_mae) computes."""
    s = load_session(session)
    pred = (
        load_bundle(bundle)
        .predictor(audio_offset_s=s.audio_offset_s)
        .predict_session(s.emg, s.audio)
    )
    assert pred.expression is not None
    return pred.end_sample, pred.motors, pred.expression


def test_replay_matches_the_host_offline_evaluation(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    session, bundle = world
    out = tmp_path / "predictions.csv"
    result = subprocess.run(
        [str(EXE), "replay", str(session), "--bundle", str(bundle), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    header, ends, motors, probs = read_csv(out)
    assert header[:5] == ["end_sample", "device_time_us", "brows", "smile", "jaw"]
    want_ends, want_motors, want_probs = host_offline(session, bundle)
    assert len(ends) > 1000, "a 14 s session gives one prediction per 10 ms hop"
    np.testing.assert_array_equal(ends, want_ends)
    assert float(np.max(np.abs(motors - want_motors))) <= TOL
    assert float(np.max(np.abs(probs - want_probs))) <= TOL
    assert motors.std(axis=0).min() > 1e-3, "the predictions vary: the check is not vacuous"


def test_replay_refuses_a_session_that_does_not_fit(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    session, bundle = world
    broken = tmp_path / "session"
    broken.mkdir()
    shutil.copy(session / "audio.wav", broken / "audio.wav")
    (broken / "session.json").write_text(
        (session / "session.json").read_text().replace("frontalis", "forehead")
    )
    (broken / "emg.csv").write_text(
        (session / "emg.csv").read_text().replace("frontalis", "forehead", 1)
    )
    result = subprocess.run(
        [str(EXE), "replay", str(broken), "--bundle", str(bundle)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "forehead" in result.stderr and "frontalis" in result.stderr


@pytest.mark.slow
def test_lean_install_replay_works(
    world: tuple[Path, Path], lean_venv: LeanVenv, tmp_path: Path
) -> None:
    """A fresh venv with only the edge and the protocol (no torch, ZenML, MLflow or
    transformers: test_foundation checks that) replays to the same numbers."""
    session, bundle = world
    out = tmp_path / "lean.csv"
    result = subprocess.run(
        [
            str(lean_venv.bin("robohead-edge")),
            "replay",
            str(session),
            "--bundle",
            str(bundle),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    _, ends, motors, probs = read_csv(out)
    want_ends, want_motors, want_probs = host_offline(session, bundle)
    np.testing.assert_array_equal(ends, want_ends)
    assert float(np.max(np.abs(motors - want_motors))) <= TOL
    assert float(np.max(np.abs(probs - want_probs))) <= TOL
