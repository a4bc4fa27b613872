"""The synthetic subject is realistic where a model can tell, and carries the information."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from robohead.host.data.params import DataParams, load_params
from robohead.host.data.protocols import LoadedProtocol, load_protocol
from robohead.host.data.synth import draw_subject, synth_dataset, synth_session
from robohead.host.data.synth.generate import SynthSession
from robohead.host.data.validate import validate_paths

FS = 1000.0


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


@pytest.fixture(scope="module")
def quick(params: DataParams) -> LoadedProtocol:
    return load_protocol("quick", params.protocols_dir, params.expressions)


@pytest.fixture(scope="module")
def sessions(params: DataParams, quick: LoadedProtocol) -> list[SynthSession]:
    """One quick session of each of three subjects."""
    return [synth_session(params, draw_subject(params, i), i, 0, quick) for i in range(3)]


def highpassed(s: SynthSession) -> np.ndarray:
    sos = signal.butter(4, 20, "highpass", fs=FS, output="sos")
    return signal.sosfiltfilt(sos, s.emg.astype(float), axis=0)


def rms_by_expression(s: SynthSession, q: float = 50) -> dict[str, np.ndarray]:
    """Percentile `q` over 200 ms windows of the RMS (robust to a motion artefact)."""
    h = highpassed(s)
    lab = np.array(s.expression)
    n = len(lab) // 200 * 200
    win_rms = np.sqrt((h[:n] ** 2).reshape(-1, 200, h.shape[1]).mean(axis=1))
    win_lab = lab[:n].reshape(-1, 200)
    pure = (win_lab == win_lab[:, :1]).all(axis=1)
    return {e: np.median(win_rms[pure & (win_lab[:, 0] == e)], axis=0) for e in set(s.expression)}


def test_same_seed_same_bytes_other_session_other_signal(
    params: DataParams, quick: LoadedProtocol
) -> None:
    subj = draw_subject(params, 0)
    a = synth_session(params, subj, 0, 0, quick)
    b = synth_session(params, subj, 0, 0, quick)
    c = synth_session(params, subj, 0, 1, quick)
    np.testing.assert_array_equal(a.emg, b.emg)
    assert a.audio is not None and b.audio is not None
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.meta == b.meta
    assert not np.array_equal(a.emg[:1000], c.emg[:1000])


def test_counts_are_12_bit_around_mid_rail(sessions: list[SynthSession]) -> None:
    for s in sessions:
        assert s.emg.dtype == np.int16
        assert s.emg.min() >= 0 and s.emg.max() <= 4095
        assert np.all(np.abs(np.median(s.emg, axis=0) - 2048) < 100)


def test_spectral_peak_and_rms_in_documented_ranges(
    params: DataParams, sessions: list[SynthSession]
) -> None:
    """data/README.md: active channel peak 50-150 Hz with most power there; RMS (median of
    200 ms windows) at rest 5-60 counts, of the muscle's own channel while held 60-600 counts
    and >= 3x rest."""
    names = params.channel_names
    h_all = [highpassed(s) for s in sessions]
    for s, h in zip(sessions, h_all, strict=True):
        rms = rms_by_expression(s)
        rest = rms["neutral"]
        assert np.all((rest > 5) & (rest < 60)), rest
        lab = np.array(s.expression)
        for expr in ("raise_brows", "frown", "smile", "open_mouth"):
            acts = params.data.synth.activations[expr]
            own = names.index(max(acts, key=lambda k: acts[k]))
            assert 60 < rms[expr][own] < 600, (expr, rms[expr])
            assert rms[expr][own] > 3 * rest[own]
            f, p = signal.welch(h[lab == expr][:, own], fs=FS, nperseg=256)
            assert 50 <= f[np.argmax(p)] <= 150
            band = (f >= 50) & (f <= 150)
            assert p[band].sum() / p.sum() > 0.5


def test_each_channel_activates_with_its_muscle(
    params: DataParams, sessions: list[SynthSession]
) -> None:
    names = params.channel_names
    expected = {
        "raise_brows": {"frontalis"},
        "frown": {"corrugator"},
        "smile": {"zygomaticus"},
        "open_mouth": {"digastric"},
        "surprise": {"frontalis", "digastric"},
        "speak": {"digastric"},
    }
    jaw = params.motors.names.index("jaw")
    for s in sessions:
        level = np.abs(highpassed(s))
        lab = np.array(s.expression)
        rest = np.median(level[lab == "neutral"], axis=0)
        for expr, muscles in expected.items():
            mask = lab == expr
            if expr == "speak":  # the syllables, not the pauses between them
                mask &= s.targets[:, jaw] > 0.3
            ratio = np.median(level[mask], axis=0) / rest
            top = {names[i] for i in np.argsort(ratio)[::-1][: len(muscles)]}
            assert top == muscles, (expr, dict(zip(names, ratio.round(1), strict=True)))
            assert ratio[names.index(sorted(muscles)[0])] > 2


def test_mains_line_at_the_subjects_frequency(sessions: list[SynthSession]) -> None:
    for s in sessions:
        mains = s.meta.synthetic["subject"]["mains_hz"]  # type: ignore[index]
        rest = highpassed(s)[np.array(s.expression) == "neutral"]
        f, p = signal.welch(rest, fs=FS, nperseg=1000, axis=0)
        k = int(np.argmin(np.abs(f - mains)))
        around = np.median(np.r_[p[k - 8 : k - 2], p[k + 3 : k + 9]], axis=0)
        assert np.all(p[k] > 1.5 * around)
        strongest = int(np.argmax(s.meta.synthetic["subject"]["mains_counts"]))  # type: ignore[index]
        assert p[k, strongest] > 4 * around[strongest]


def test_voice_during_speak_only_with_pitch_in_range(
    params: DataParams, sessions: list[SynthSession]
) -> None:
    lo, hi = params.data.synth.subject.f0_hz
    for s in sessions:
        assert s.audio is not None and s.meta.audio is not None
        a = s.audio.astype(float) / 32768
        afs = s.meta.audio.sampling_rate_hz
        t_emg = np.arange(len(s.expression)) / FS
        speak = np.array(s.expression) == "speak"
        t_audio = np.arange(len(a)) / afs + s.meta.audio.offset_s
        in_speak = np.interp(t_audio, t_emg, speak.astype(float)) > 0.5
        loud = np.sqrt(np.mean(a[in_speak] ** 2))
        quiet = np.sqrt(np.mean(a[~in_speak] ** 2))
        assert 20 * np.log10(loud / quiet) > 20
        # Pitch from the autocorrelation of the loudest 100 ms.
        env = np.convolve(a**2, np.ones(1600), "same")
        c = int(np.argmax(env))
        seg = a[c - 800 : c + 800]
        ac = np.correlate(seg, seg, "full")[len(seg) - 1 :]
        lags = np.arange(int(afs / (1.3 * hi)), int(afs / (0.7 * lo)))
        f0 = afs / lags[np.argmax(ac[lags])]
        assert 0.7 * lo < f0 < 1.3 * hi


def test_reaction_delay_and_ground_truth(params: DataParams, sessions: list[SynthSession]) -> None:
    lo, hi = params.data.synth.subject.reaction_delay_s
    for s in sessions:
        delays = [
            on - c.start_s for on, c in zip(s.onsets_s, s.cues, strict=True) if not np.isnan(on)
        ]
        assert delays and all(0.15 <= d <= 0.6 for d in delays)
        assert lo - 0.15 < float(np.mean(delays)) < hi + 0.15
        assert s.targets.min() >= 0 and s.targets.max() <= 1
        # The label follows the reaction, not the prompt: neutral at the prompt itself.
        for on, c in zip(s.onsets_s, s.cues, strict=True):
            if not np.isnan(on):
                assert s.expression[int(c.start_s * FS) + 50] == "neutral"
                assert s.expression[int(on * FS) + 50] == c.label


def test_dataset_layout_validates_and_cli_writes_it(params: DataParams, tmp_path: Path) -> None:
    written = synth_dataset(params, tmp_path / "lib", subjects=2, sessions=1, protocol="quick")
    assert [p.relative_to(tmp_path / "lib").as_posix() for p in written] == [
        "synth-s01/session-01",
        "synth-s02/session-01",
    ]
    assert all(r.ok for r in validate_paths([tmp_path / "lib"], params))
    exe = Path(sys.executable).with_name("robohead")
    out = tmp_path / "cli"
    res = subprocess.run(
        [
            str(exe),
            "data",
            "synth",
            "--out",
            str(out),
            "--subjects",
            "1",
            "--sessions",
            "1",
            "--protocol",
            "quick",
            "--no-audio",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    files = sorted(f.name for f in (out / "synth-s01" / "session-01").iterdir())
    assert files == ["cues.csv", "emg.csv", "session.json", "targets.csv"]
