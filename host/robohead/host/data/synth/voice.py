"""A synthetic voice: syllable timing from the phrase text, a harmonic source with a moving pitch,
vowel formants, pauses between words, background noise.

The syllable envelope is the one truth shared by three signals: it shapes the voice amplitude,
the digastric (jaw opening) activation and the ground-truth jaw target, so a model can learn the
jaw from either the sEMG or the audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

# (F1, F2, F3) in Hz of an adult voice, scaled per subject by its vocal tract factor.
VOWELS: tuple[tuple[float, float, float], ...] = (
    (730.0, 1090.0, 2440.0),  # a
    (530.0, 1840.0, 2480.0),  # e
    (270.0, 2290.0, 3010.0),  # i
    (570.0, 840.0, 2410.0),  # o
    (300.0, 870.0, 2240.0),  # u
)
BANDWIDTHS = (80.0, 100.0, 130.0)
_VOWEL_INDEX = {"a": 0, "e": 1, "i": 2, "y": 2, "o": 3, "u": 4}


@dataclass(frozen=True)
class Syllable:
    start_s: float  # on the session clock
    dur_s: float
    amp: float  # 0..1: how far the jaw opens
    vowel: int  # index into VOWELS


def syllables_of(text: str) -> list[list[int]]:
    """Per word, the vowel of each syllable (a vowel group counts as one syllable)."""
    words = re.findall(r"[a-zA-Z']+", text.lower())
    out = []
    for w in words:
        groups = re.findall(r"[aeiouy]+", w) or ["a"]
        out.append([_VOWEL_INDEX[g[0]] for g in groups])
    return out or [[0]]


def plan_phrase(
    text: str, start_s: float, latest_end_s: float, rate_hz: float, rng: np.random.Generator
) -> list[Syllable]:
    """Syllables of one phrase spoken from `start_s`, compressed to end by `latest_end_s`."""
    t = 0.0
    planned: list[tuple[float, float, float, int]] = []
    for wi, word in enumerate(syllables_of(text)):
        if wi:
            t += rng.uniform(0.05, 0.15)  # pause between words
        for si, vowel in enumerate(word):
            if si:
                t += 0.02
            d = rng.uniform(0.8, 1.2) / rate_hz
            planned.append((t, d, rng.uniform(0.7, 1.0), vowel))
            t += d
    scale = min(1.0, max(latest_end_s - start_s, 0.2) / t) if t > 0 else 1.0
    return [Syllable(start_s + s * scale, d * scale, a, v) for s, d, a, v in planned]


def envelope(syllables: list[Syllable], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Jaw-opening envelope in [0, 1] at times `t` (sorted): a half-sine per syllable."""
    e = np.zeros_like(t)
    for s in syllables:
        i0, i1 = np.searchsorted(t, [s.start_s, s.start_s + s.dur_s])
        x = (t[i0:i1] - s.start_s) / s.dur_s
        e[i0:i1] = np.maximum(e[i0:i1], s.amp * np.sin(np.pi * x))
    return e


def _resonators(
    formants: tuple[float, float, float], fs: float
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    out = []
    for f, bw in zip(formants, BANDWIDTHS, strict=True):
        r = np.exp(-np.pi * bw / fs)
        th = 2 * np.pi * min(f, 0.45 * fs) / fs
        out.append((np.array([1.0 - r]), np.array([1.0, -2 * r * np.cos(th), r * r])))
    return out


def synth_phrase_audio(
    syllables: list[Syllable],
    f0_hz: float,
    vocal_tract: float,
    fs: int,
    t0_s: float,
    n: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Voice of one phrase into a buffer of `n` samples whose sample 0 is at `t0_s`."""
    out = np.zeros(n)
    if not syllables:
        return out
    a = max(0, int((syllables[0].start_s - t0_s) * fs))
    b = min(n, int(np.ceil((syllables[-1].start_s + syllables[-1].dur_s - t0_s) * fs)) + 1)
    if b <= a:
        return out
    m = b - a
    tau = np.arange(m) / fs
    span = max(tau[-1], 1e-3)
    # Pitch: a slow melody, declination over the phrase and a little jitter.
    jitter = signal.lfilter([0.02], [1, -0.98], rng.standard_normal(m))
    f0 = f0_hz * (
        1 + 0.08 * np.sin(2 * np.pi * 0.8 * tau + rng.uniform(0, 2 * np.pi)) - 0.12 * tau / span
    )
    f0 = f0 * (1 + 0.02 * jitter)
    phase = 2 * np.pi * np.cumsum(f0) / fs
    k = np.arange(1, int(0.45 * fs / f0.max()) + 1)
    # Harmonics with a -6 dB/octave tilt (glottal source plus lip radiation), band-limited.
    source = (np.sin(np.outer(phase, k)) / k).sum(axis=1)
    for s in syllables:
        i0 = max(0, int((s.start_s - t0_s) * fs) - a)
        i1 = min(m, int((s.start_s + s.dur_s - t0_s) * fs) - a)
        if i1 - i0 < 8:
            continue
        seg = source[i0:i1]
        formants = tuple(f * vocal_tract for f in VOWELS[s.vowel])
        for bb, aa in _resonators(formants, fs):  # type: ignore[arg-type]
            seg = signal.lfilter(bb, aa, seg)
        seg = seg / (np.sqrt(np.mean(seg**2)) + 1e-12)
        x = np.linspace(0, 1, i1 - i0, endpoint=False)
        env = s.amp * np.sin(np.pi * x)
        # A short breathy onset stands in for the consonant.
        burst = rng.standard_normal(i1 - i0) * np.exp(-x * (i1 - i0) / (0.015 * fs)) * 0.3
        out[a + i0 : a + i1] += env * seg + burst * s.amp
    return out


def background(n: int, fs: int, rms: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Room noise: mostly low-frequency (pinkish) plus a little white hiss."""
    low = signal.lfilter([1.0], [1.0, -0.97], rng.standard_normal(n))
    low /= np.std(low) + 1e-12
    noise = 0.8 * low + 0.6 * rng.standard_normal(n)
    return np.asarray(rms * noise / (np.std(noise) + 1e-12), dtype=np.float64)
