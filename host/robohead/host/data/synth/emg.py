"""Synthetic surface EMG in raw ADC counts.

Model (all vectorised over samples and channels):
  muscle source  = band-limited Gaussian noise (motor-unit spectrum, most power 50-150 Hz),
                   shifting to lower frequencies with fatigue, plus a weak broadband part
  muscle signal  = source x full-scale RMS x (tonic + activation) x (1 - fatigue) x tremor
  electrode      = gain x (cross-talk matrix @ muscle signals)
                   + electrode noise + mains (50/60 Hz, odd harmonics) + baseline wander
                   + occasional motion artefacts
  counts         = round(mid-rail + electrode), clipped to the ADC range (12-bit quantisation)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from robohead.host.data.params import EmgSynth
from robohead.host.data.synth.subject import Subject


def _unit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(x / (x.std(axis=0, keepdims=True) + 1e-12), dtype=np.float64)


def _band(
    white: NDArray[np.float64], lo: float, hi: float, fs: float, order: int = 2
) -> NDArray[np.float64]:
    sos = signal.butter(order, [lo, min(hi, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    return _unit(signal.sosfilt(sos, white, axis=0))


def slow_noise(
    n: int, ch: int, fs: float, cutoff_hz: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Unit-RMS noise below `cutoff_hz`, made at a low rate and interpolated (cheap)."""
    rate = max(8 * cutoff_hz, 4.0)
    m = int(np.ceil(n / fs * rate)) + 8
    sos = signal.butter(2, cutoff_hz, fs=rate, output="sos")
    low = _unit(signal.sosfiltfilt(sos, rng.standard_normal((m, ch)), axis=0))
    t = np.arange(n) / fs * rate
    return np.stack([np.interp(t, np.arange(m), low[:, c]) for c in range(ch)], axis=1)


def muscle_sources(
    n: int,
    ch: int,
    fs: float,
    subject: Subject,
    cfg: EmgSynth,
    progress: NDArray[np.float64],
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Unit-RMS stochastic motor-unit signal per muscle whose spectrum drifts down with fatigue."""
    lo, hi = (f * subject.band_scale for f in cfg.band_hz)
    fresh = _band(rng.standard_normal((n, ch)), lo, hi, fs)
    k = 1 - cfg.fatigue_shift
    tired = _band(rng.standard_normal((n, ch)), lo * k, hi * k, fs)
    w = progress[:, None]
    src = np.sqrt(1 - w) * fresh + np.sqrt(w) * tired
    broad = _band(rng.standard_normal((n, ch)), 20.0, 400.0, fs, order=1)
    bf = cfg.broadband_fraction
    return np.asarray(np.sqrt(1 - bf) * src + np.sqrt(bf) * broad, dtype=np.float64)


def artefacts(
    n: int, ch: int, fs: float, cfg: EmgSynth, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Motion artefacts: a fast step decaying over ~0.1-0.5 s with a few-Hz ring, on all
    channels with random weights (a cable tug, a swallow)."""
    out = np.zeros((n, ch))
    count = rng.poisson(cfg.artefacts_per_min * n / fs / 60.0)
    for _ in range(count):
        i0 = int(rng.integers(0, max(1, n - 1)))
        dur = rng.uniform(0.3, 1.0)
        m = min(n - i0, int(dur * fs))
        tt = np.arange(m) / fs
        tau = dur / 3
        shape = (1 - np.exp(-tt / 0.005)) * np.exp(-tt / tau)
        shape *= 1 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 8) * tt)
        amp = rng.uniform(*cfg.artefact_counts) * rng.choice([-1.0, 1.0])
        out[i0 : i0 + m] += amp * shape[:, None] * rng.uniform(0.3, 1.0, ch)[None, :]
    return out


def synth_emg(
    activation: NDArray[np.float64],
    fs: float,
    subject: Subject,
    cfg: EmgSynth,
    adc_bits: int,
    rng: np.random.Generator,
) -> NDArray[np.int16]:
    """Raw counts (n, ch) for muscle activations (n, ch) in [0, 1]."""
    n, ch = activation.shape
    t: NDArray[np.float64] = np.arange(n) / fs
    progress: NDArray[np.float64] = t / max(float(t[-1]), 1e-9) if n else t
    src = muscle_sources(n, ch, fs, subject, cfg, progress, rng)
    tremor = 1 + 0.08 * slow_noise(n, ch, fs, 2.0, rng)
    fatigue = 1 - subject.fatigue * progress[:, None]
    muscles = src * cfg.full_scale_rms_counts * (cfg.tonic + activation) * fatigue * tremor
    x = (muscles @ subject.crosstalk.T) * subject.gains[None, :]
    x += subject.noise_counts[None, :] * rng.standard_normal((n, ch))
    mains_env = subject.mains_counts[None, :] * (1 + 0.3 * slow_noise(n, ch, fs, 0.2, rng))
    for h, rel in ((1, 1.0), (3, 1 / 3), (5, 1 / 6)):
        if h * subject.mains_hz < fs / 2:
            phase = rng.uniform(0, 2 * np.pi, size=(1, ch))
            x += rel * mains_env * np.sin(2 * np.pi * h * subject.mains_hz * t[:, None] + phase)
    x += subject.wander_counts[None, :] * slow_noise(n, ch, fs, 0.3, rng)
    x += artefacts(n, ch, fs, cfg, rng)
    top = 2**adc_bits - 1
    mid = 2 ** (adc_bits - 1)
    return np.asarray(np.clip(np.round(mid + x), 0, top), dtype=np.int16)
