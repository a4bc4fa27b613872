"""Labels align each cue to the measured reaction and match the synthetic ground truth."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from robohead.host.data.labels import VOICE, envelopes, make_labels
from robohead.host.data.params import DataParams, load_params
from robohead.host.data.protocols import load_protocol
from robohead.host.data.session import Session, load_session
from robohead.host.data.synth import draw_subject, synth_session
from robohead.host.data.synth.generate import SynthSession, write_synth


@pytest.fixture(scope="module")
def params() -> DataParams:
    return load_params()


def _pair(
    params: DataParams, root: Path, protocol: str, subject: int, session: int
) -> tuple[SynthSession, Session]:
    proto = load_protocol(protocol, params.protocols_dir, params.expressions)
    s = synth_session(params, draw_subject(params, subject), subject, session, proto)
    folder = root / f"s{subject}-{session}"
    write_synth(folder, s)
    return s, load_session(folder)


@pytest.fixture(scope="module")
def default_pairs(
    params: DataParams, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[SynthSession, Session]]:
    """Three sessions of the default protocol (two subjects): enough cues to measure."""
    root = tmp_path_factory.mktemp("labels")
    return [_pair(params, root, "default", i, k) for i, k in ((0, 0), (0, 1), (1, 0))]


def test_onsets_found_near_the_true_reaction(
    params: DataParams, default_pairs: list[tuple[SynthSession, Session]]
) -> None:
    lo, hi = params.data.labels.search_window_s
    errors = []
    for truth, sess in default_pairs:
        rise = truth.meta.synthetic["subject"]["rise_s"]  # type: ignore[index]
        for a, on in zip(make_labels(sess, params).alignments, truth.onsets_s, strict=True):
            if np.isnan(on):
                assert a.delay_s == 0.0
                continue
            assert a.found, a
            assert lo <= a.delay_s <= hi
            # Movements rise through a first-order lag: its midpoint is 0.69 tau after onset;
            # the voice (speak) starts without it.
            expected = on - a.cue.start_s + (0 if a.cue.label == "speak" else 0.69 * rise)
            errors.append(a.delay_s - expected)
    assert len(errors) > 50
    assert np.percentile(np.abs(errors), 90) < 0.1
    assert abs(float(np.median(errors))) < 0.04


def test_aligned_labels_beat_prompt_labels(
    params: DataParams, default_pairs: list[tuple[SynthSession, Session]]
) -> None:
    for truth, sess in default_pairs:
        lab = make_labels(sess, params)
        aligned = np.abs(lab.targets - truth.targets).mean()
        # The same labels, but starting at the prompt (no alignment).
        prompt_cfg = params.data.labels.model_copy(update={"search_window_s": (0.0, 0.0)})
        data = params.data.model_copy(update={"labels": prompt_cfg})
        p0 = params.model_copy(update={"data": data})
        unaligned = make_labels(sess, p0)
        assert not any(a.found for a in unaligned.alignments if a.cue.label != "neutral")
        assert aligned < 0.04
        acc = np.mean(np.array(lab.expression_names()) == np.array(truth.expression))
        assert acc > 0.9
        assert aligned < np.abs(unaligned.targets - truth.targets).mean()


def test_speak_jaw_follows_the_voice_envelope(
    params: DataParams, default_pairs: list[tuple[SynthSession, Session]]
) -> None:
    jaw = params.motors.names.index("jaw")
    for truth, sess in default_pairs:
        lab = make_labels(sess, params)
        speak = np.array(truth.expression) == "speak"
        r = np.corrcoef(lab.targets[speak, jaw], truth.targets[speak, jaw])[0, 1]
        assert r > 0.85
        assert np.abs(lab.targets[speak, jaw] - truth.targets[speak, jaw]).mean() < 0.08


def test_without_audio_the_digastric_drives_the_jaw(
    params: DataParams, default_pairs: list[tuple[SynthSession, Session]]
) -> None:
    truth, sess = default_pairs[0]
    mute = dataclasses.replace(sess, audio=None, meta=sess.meta.model_copy(update={"audio": None}))
    assert VOICE not in envelopes(mute, params)
    lab = make_labels(mute, params)
    jaw = params.motors.names.index("jaw")
    speak = np.array(truth.expression) == "speak"
    assert np.corrcoef(lab.targets[speak, jaw], truth.targets[speak, jaw])[0, 1] > 0.6
    speak_cues = [a for a in lab.alignments if a.cue.label == "speak"]
    assert speak_cues and all(a.channel == "digastric" for a in speak_cues if a.found)


def test_no_reaction_falls_back_to_the_sessions_median_delay(
    params: DataParams, default_pairs: list[tuple[SynthSession, Session]]
) -> None:
    _, sess = default_pairs[0]
    # Flatten the frontalis and digastric: raise_brows and surprise show no activity at all.
    emg = sess.emg.copy()
    emg[:, [0, 3]] = 2048
    flat = dataclasses.replace(
        sess, emg=emg, audio=None, meta=sess.meta.model_copy(update={"audio": None})
    )
    lab = make_labels(flat, params)
    brows = [a for a in lab.alignments if a.cue.label == "raise_brows"]
    found = [a.delay_s for a in lab.alignments if a.found]
    assert brows and not any(a.found for a in brows)
    assert all(a.delay_s == pytest.approx(float(np.median(found))) for a in brows)


def test_a_model_on_the_signal_beats_the_mean_by_far(
    params: DataParams, default_pairs: list[tuple[SynthSession, Session]]
) -> None:
    """The information is there: log-envelope features and a quadratic least-squares fit
    trained on labels of two sessions predict a third (ground truth) >2x better than the mean."""

    def feats(sess: Session) -> np.ndarray:
        env = envelopes(sess, params)
        cols = [env[c] for c in sess.channel_names] + [env[VOICE] * 3000]
        x = np.log1p(np.column_stack(cols))[::50]
        return np.column_stack([x, x**2, np.ones(len(x))])

    (_, a), (_, b), (truth_c, c) = default_pairs
    x_tr = np.vstack([feats(a), feats(b)])
    y_tr = np.vstack([make_labels(a, params).targets[::50], make_labels(b, params).targets[::50]])
    w = np.linalg.lstsq(x_tr, y_tr, rcond=None)[0]
    y_te = truth_c.targets[::50]
    model = np.abs(np.clip(feats(c) @ w, 0, 1) - y_te).mean()
    baseline = np.abs(y_tr.mean(axis=0) - y_te).mean()
    assert baseline > 2 * model, (model, baseline)


def test_labels_cli_reports_every_prompted_cue(
    default_pairs: list[tuple[SynthSession, Session]],
) -> None:
    import subprocess
    import sys

    _, sess = default_pairs[0]
    exe = Path(sys.executable).with_name("robohead")
    res = subprocess.run(
        [str(exe), "data", "labels", str(sess.path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    prompted = sum(c.label != "neutral" for c in sess.cues)
    assert res.stdout.strip().endswith(f"{prompted}/{prompted} onsets found")
