"""Streaming equals offline: any chunking of sEMG and audio gives the offline frames."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robohead.edge.dsp import FeatureExtractor, FeatureFrames, extract_session

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: find the helpers
from dsp_helpers import feature_config, synthetic_record


def _stream(
    ex: FeatureExtractor, emg: np.ndarray, audio: np.ndarray | None, chunk: int
) -> FeatureFrames:
    parts = []
    ratio = 0 if audio is None else audio.shape[0] / emg.shape[0]
    for start in range(0, emg.shape[0], chunk):
        stop = min(start + chunk, emg.shape[0])
        a = None
        if audio is not None:
            a = audio[round(start * ratio) : round(stop * ratio)]
        parts.append(ex.process(emg[start:stop], a))
    parts.append(ex.finish())
    return FeatureFrames.concat(parts, ex.cfg.n_features)


@pytest.mark.parametrize("audio_kind", ["logmel", "none"])
@pytest.mark.parametrize("chunk", [1, 7, 64, 10**9])
def test_streaming_equals_offline(chunk: int, audio_kind: str) -> None:
    base = feature_config()
    cfg = feature_config(audio={**base.audio.model_dump(), "features": audio_kind})
    emg, audio = synthetic_record(cfg, seconds=1.2)
    use_audio = audio if audio_kind != "none" else None
    offline = extract_session(cfg, emg, use_audio, audio_offset_s=0.037)
    streamed = _stream(FeatureExtractor(cfg, audio_offset_s=0.037), emg, use_audio, chunk)
    assert len(offline) == (emg.shape[0] - cfg.window_samples) // cfg.hop_samples + 1
    assert offline.values.shape[1] == cfg.n_features == len(cfg.feature_names)
    np.testing.assert_array_equal(streamed.end_sample, offline.end_sample)
    assert np.max(np.abs(streamed.values - offline.values)) <= 1e-9
    assert np.all(np.isfinite(offline.values))


@settings(max_examples=12, deadline=None)
@given(
    emg_sizes=st.lists(st.integers(1, 90), min_size=1, max_size=5),
    audio_lag=st.integers(0, 3000),
    audio_sizes=st.lists(st.integers(1, 2000), min_size=1, max_size=5),
    offset_ms=st.integers(-50, 200),
)
def test_audio_arriving_late_and_in_other_chunks_changes_nothing(
    emg_sizes: list[int], audio_lag: int, audio_sizes: list[int], offset_ms: int
) -> None:
    """Audio chunks independent of the sEMG chunks, lagging by up to 3000 samples."""
    cfg = feature_config()
    emg, audio = synthetic_record(cfg, seconds=0.5, seed=7)
    offset = offset_ms / 1000
    offline = extract_session(cfg, emg, audio, audio_offset_s=offset)
    ex = FeatureExtractor(cfg, audio_offset_s=offset)
    parts, i, a, j = [], 0, 0, 0
    while i < len(emg) or a < len(audio):
        e_chunk = emg[i : i + emg_sizes[j % len(emg_sizes)]]
        i += len(e_chunk)
        target = max(0, min(len(audio), i * 16 - audio_lag))
        a_chunk = audio[a : min(target, a + audio_sizes[j % len(audio_sizes)])]
        if i >= len(emg):
            a_chunk = audio[a:]
        a += len(a_chunk)
        parts.append(ex.process(e_chunk, a_chunk))
        j += 1
    parts.append(ex.finish())
    streamed = FeatureFrames.concat(parts, cfg.n_features)
    np.testing.assert_array_equal(streamed.end_sample, offline.end_sample)
    assert np.max(np.abs(streamed.values - offline.values)) <= 1e-9
    assert ex.pending_frames == 0


def test_frames_wait_for_their_audio() -> None:
    cfg = feature_config()
    emg, audio = synthetic_record(cfg, seconds=0.3)
    ex = FeatureExtractor(cfg)
    assert len(ex.process(emg)) == 0 and ex.pending_frames == 16  # (300-150)//10 + 1
    got = ex.process(emg[:0], audio[: 160 * 16])  # audio up to sEMG sample 160: frames 0, 1
    assert list(got.end_sample) == [150, 160] and ex.pending_frames == 14


def test_counts_with_the_wrong_channel_count_are_refused() -> None:
    ex = FeatureExtractor(feature_config())
    with pytest.raises(ValueError, match="samples, 4"):
        ex.process(np.zeros((10, 3), np.int16))


def test_silent_audio_releases_frames_at_once_like_offline_without_audio() -> None:
    cfg = feature_config()
    emg, _ = synthetic_record(cfg, seconds=0.4)
    ex = FeatureExtractor(cfg, silent_audio=True)
    got = FeatureFrames.concat(
        [ex.process(emg[i : i + 10]) for i in range(0, 400, 10)], cfg.n_features
    )
    assert ex.pending_frames == 0 and len(ex.finish()) == 0
    offline = extract_session(cfg, emg, None)
    assert np.max(np.abs(got.values - offline.values)) <= 1e-9
