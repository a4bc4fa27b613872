"""Shared helpers of the DSP/bundle tests: the params.yaml DSP config and a synthetic record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robohead.edge.dsp import FeatureConfig

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def params() -> dict[str, Any]:
    return dict(yaml.safe_load(PARAMS.read_text()))


def feature_config(**dsp_overrides: Any) -> FeatureConfig:
    """The production config from params.yaml (device + dsp sections), with overrides."""
    p = params()
    dsp = {**p["dsp"], **dsp_overrides}
    return FeatureConfig.from_params(
        dsp,
        sampling_rate_hz=p["device"]["sampling_rate_hz"],
        adc_bits=p["device"]["adc_bits"],
        channels=[c["name"] for c in p["channels"]],
        audio_rate_hz=p["audio"]["sampling_rate_hz"],
    )


def synthetic_record(
    cfg: FeatureConfig, seconds: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Raw 12-bit-ish counts (n, ch) int16 around mid-rail with bursts, hum and drift, plus
    float32 audio (a voiced tone with noise) covering the same time."""
    rng = np.random.default_rng(seed)
    fs, n = cfg.sampling_rate_hz, int(seconds * cfg.sampling_rate_hz)
    t = np.arange(n) / fs
    envelope = 0.05 + np.abs(np.sin(2 * np.pi * 0.7 * t[:, None] + np.arange(cfg.n_channels)))
    emg = rng.standard_normal((n, cfg.n_channels)) * 150 * envelope
    emg += 12 * np.sin(2 * np.pi * 50 * t)[:, None] + 40 * np.sin(2 * np.pi * 0.2 * t)[:, None]
    mid = 2 ** (cfg.adc_bits - 1)
    counts = np.clip(np.round(emg + mid + 17), 0, 2 * mid - 1).astype(np.int16)
    afs = cfg.audio.sampling_rate_hz
    ta = np.arange(int(seconds * afs)) / afs
    audio = 0.3 * np.sin(2 * np.pi * 180 * ta) * (np.sin(2 * np.pi * 4 * ta) > 0)
    audio = (audio + 0.01 * rng.standard_normal(ta.shape)).astype(np.float32)
    return counts, audio
