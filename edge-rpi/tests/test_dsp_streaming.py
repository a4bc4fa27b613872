"""Streaming equals offline: any chunking of sEMG and audio gives the offline frames."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

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
