"""FeatureConfig from params.yaml, its derived sizes and its refusals; the log-mel features."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from robohead.edge.dsp import DspConfigError, FeatureConfig, LogMel, mel_filterbank

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: find the helpers
from dsp_helpers import feature_config, params


def test_production_config_sizes() -> None:
    cfg = feature_config()
    assert cfg.window_samples == 150 and cfg.hop_samples == 10 and cfg.n_channels == 4
    assert cfg.n_features == len(cfg.emg_features) * 4 + cfg.audio.n_mels
    assert cfg.feature_names[0] == "MAV:frontalis" and cfg.feature_names[-1].startswith("logmel:")
    assert cfg.audio.window_samples == 512
    assert FeatureConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_a_window_that_is_not_whole_samples_is_refused() -> None:
    with pytest.raises((DspConfigError, ValidationError), match="whole number"):
        feature_config(hop_ms=2.5 / 3)


def test_unknown_or_misspelt_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="windw_ms"):
        feature_config(windw_ms=100)


def test_unknown_feature_is_refused() -> None:
    with pytest.raises(ValidationError, match="emg_features"):
        feature_config(emg_features=["MAV", "XYZ"])


def test_wav2vec2_needs_a_model() -> None:
    audio = {**params()["dsp"]["audio"], "features": "wav2vec2", "wav2vec2_model": None}
    with pytest.raises(ValidationError, match="wav2vec2_model"):
        feature_config(audio=audio)


def test_mel_filterbank_tiles_the_band() -> None:
    fb = mel_filterbank(16000, 512, 16, 60.0, 8000.0)
    assert fb.shape == (16, 257) and np.all(fb >= 0) and np.all(fb.max(axis=1) > 0.5)
    freqs = np.linspace(0, 8000, 257)
    centres = freqs[fb.argmax(axis=1)]
    assert np.all(np.diff(centres) > 0)  # increasing centre frequencies


def test_log_mel_puts_a_tone_in_its_band() -> None:
    cfg = feature_config()
    lm = LogMel(cfg.audio)
    t = np.arange(512) / 16000
    feats = lm(np.stack([np.sin(2 * np.pi * 1000 * t), np.zeros(512)]))
    band = int(np.argmax(feats[0]))
    fb = mel_filterbank(16000, 512, cfg.audio.n_mels, cfg.audio.fmin_hz, cfg.audio.fmax_hz)
    assert fb[band, round(1000 / (8000 / 256))] > 0.3  # the 1 kHz bin lies in that band
    np.testing.assert_allclose(feats[1], np.log(cfg.audio.log_floor))  # silence is finite
