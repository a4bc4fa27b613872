"""Benchmarks of the streaming DSP and the predictor (used by ``robohead-edge bench``-style
commands and the README numbers). Measures; never asserts a time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.extractor import FeatureExtractor, extract_session

if TYPE_CHECKING:
    from robohead.edge.predictor import Predictor


@dataclass(frozen=True)
class StreamBench:
    """Per-call latency of feeding ``chunk`` samples (one serial frame) and offline speed."""

    chunk: int
    calls: int
    median_us: float
    p90_us: float
    p99_us: float
    offline_frames_per_s: float | None

    def summary(self) -> str:
        off = (
            f", offline {self.offline_frames_per_s:,.0f} frames/s"
            if self.offline_frames_per_s
            else ""
        )
        return (
            f"chunk {self.chunk}: median {self.median_us:.0f} us, p90 {self.p90_us:.0f} us, "
            f"p99 {self.p99_us:.0f} us per call ({self.calls} calls){off}"
        )


def synthetic_stream(
    cfg: FeatureConfig, seconds: float, seed: int = 0
) -> tuple[NDArray[np.int16], NDArray[np.float32]]:
    """Noise bursts around mid-rail and a noisy tone: realistic enough for timing."""
    rng = np.random.default_rng(seed)
    n = int(seconds * cfg.sampling_rate_hz)
    mid = 2 ** (cfg.adc_bits - 1)
    env = 0.1 + np.abs(np.sin(np.arange(n) / cfg.sampling_rate_hz * 3.0))[:, None]
    emg = np.clip(mid + 150 * env * rng.standard_normal((n, cfg.n_channels)), 0, 2 * mid - 1)
    na = int(seconds * cfg.audio.sampling_rate_hz)
    audio = 0.1 * rng.standard_normal(na) + 0.2 * np.sin(np.arange(na) * 0.07)
    return emg.astype(np.int16), audio.astype(np.float32)


def _times(
    step: FeatureExtractor | Predictor,
    emg: NDArray[np.int16],
    audio: NDArray[np.float32],
    chunk: int,
    ratio: float,
) -> NDArray[np.float64]:
    out = []
    for i in range(0, emg.shape[0] - chunk + 1, chunk):
        a = audio[round(i * ratio) : round((i + chunk) * ratio)]
        t0 = time.perf_counter()
        step.process(emg[i : i + chunk], a)
        out.append(time.perf_counter() - t0)
    return np.asarray(out) * 1e6


def _result(t: NDArray[np.float64], chunk: int, offline: float | None) -> StreamBench:
    p50, p90, p99 = np.percentile(t, [50, 90, 99])
    return StreamBench(chunk, int(t.shape[0]), float(p50), float(p90), float(p99), offline)


def bench_extractor(cfg: FeatureConfig, *, seconds: float = 20.0, chunk: int = 10) -> StreamBench:
    """Streaming FeatureExtractor latency per chunk, plus offline ``extract_session`` speed."""
    emg, audio = synthetic_stream(cfg, seconds)
    ratio = cfg.audio.sampling_rate_hz / cfg.sampling_rate_hz
    t = _times(FeatureExtractor(cfg), emg, audio, chunk, ratio)
    t0 = time.perf_counter()
    frames = extract_session(cfg, emg, audio)
    offline = len(frames) / (time.perf_counter() - t0)
    return _result(t, chunk, offline)


def bench_predictor(predictor: Predictor, *, seconds: float = 20.0, chunk: int = 10) -> StreamBench:
    """Whole-chain latency per chunk: DSP + normalisation + context + ONNX Runtime."""
    cfg = predictor.cfg
    emg, audio = synthetic_stream(cfg, seconds)
    predictor.reset()
    t = _times(predictor, emg, audio, chunk, cfg.audio.sampling_rate_hz / cfg.sampling_rate_hz)
    predictor.reset()
    return _result(t, chunk, None)
