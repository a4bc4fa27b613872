"""Audio features per sEMG frame: log-mel band energies (numpy) or an ONNX audio encoder.

Clock: audio sample j was taken at sEMG time ``audio_offset_s + j / audio_rate`` seconds after
the first sEMG sample (the session's ``audio_offset_s``). Frame k ends at sEMG sample
``e = k*hop + window``, i.e. at ``e / emg_rate`` seconds; its audio window is the
``window_samples`` audio samples that end at ``round((e / emg_rate - offset) * audio_rate)``.
Audio before the first sample or after the last is silence (zeros).

The mel filterbank is hand-written (HTK mel scale, triangular bands, 20 lines): librosa is not
installed and would bring numba onto the Pi for one matrix.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from robohead.edge.dsp.config import AudioConfig

Float64Array = NDArray[np.float64]
Int64Array = NDArray[np.int64]


class AudioEncoder(Protocol):
    """Maps audio windows (m, L) float32 in [-1, 1] to features (m, D)."""

    def __call__(self, windows: NDArray[np.float32]) -> NDArray[np.float32]: ...


def hz_to_mel(f: Float64Array | float) -> Float64Array:
    return np.asarray(2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0))


def mel_to_hz(m: Float64Array) -> Float64Array:
    return np.asarray(700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0))


def mel_filterbank(
    sampling_rate_hz: float, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float
) -> Float64Array:
    """Triangular filters (n_mels, n_fft//2 + 1), equally spaced on the HTK mel scale."""
    freqs = np.linspace(0.0, sampling_rate_hz / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


class LogMel:
    """log(mel energies + floor) of Hann-windowed audio windows (m, L) -> (m, n_mels)."""

    def __init__(self, cfg: AudioConfig) -> None:
        self.length = cfg.window_samples
        self.n_fft = 1 << (self.length - 1).bit_length()
        self.window = signal.get_window("hann", self.length, fftbins=True).astype(np.float64)
        self.fb = mel_filterbank(
            cfg.sampling_rate_hz, self.n_fft, cfg.n_mels, cfg.fmin_hz, cfg.fmax_hz
        )
        self.floor = cfg.log_floor

    def __call__(self, windows: NDArray[np.floating]) -> Float64Array:
        x = np.asarray(windows, dtype=np.float64)
        spec = np.fft.rfft(x * self.window, n=self.n_fft, axis=-1)
        power = spec.real**2 + spec.imag**2
        return np.log(power @ self.fb.T + self.floor)


def audio_window_length(cfg: AudioConfig) -> int:
    """Samples of audio behind each frame for the configured audio feature."""
    return cfg.wav2vec2_window_samples if cfg.features == "wav2vec2" else cfg.window_samples


def audio_end_indices(
    emg_end_samples: Int64Array, emg_rate_hz: float, audio_rate_hz: float, audio_offset_s: float
) -> Int64Array:
    """Exclusive end index into the audio of each frame (see the module docstring)."""
    t = np.asarray(emg_end_samples, dtype=np.float64) / emg_rate_hz - audio_offset_s
    return np.round(t * audio_rate_hz).astype(np.int64)


def gather_windows(
    audio: NDArray[np.floating], start_index: int, ends: Int64Array, length: int
) -> NDArray[np.float32]:
    """Audio windows [e-length, e) for each end e, where ``audio[0]`` is absolute sample
    ``start_index``; samples outside the array are zeros."""
    a = np.asarray(audio, dtype=np.float32).reshape(-1)
    idx = (
        np.asarray(ends, dtype=np.int64)[:, None] - length + np.arange(length)[None, :]
    ) - start_index
    inside = (idx >= 0) & (idx < a.shape[0])
    out = np.zeros(idx.shape, dtype=np.float32)
    out[inside] = a[idx[inside]]
    return out


def make_audio_featurizer(
    cfg: AudioConfig, encoder: AudioEncoder | None
) -> AudioEncoder | LogMel | None:
    """The callable for ``cfg.features``: LogMel, the given encoder (wav2vec2), or None."""
    if cfg.features == "logmel":
        return LogMel(cfg)
    if cfg.features == "wav2vec2":
        if encoder is None:
            raise ValueError(
                "dsp.audio.features is 'wav2vec2' but no audio encoder was given "
                "(load it from the bundle's audio encoder ONNX)"
            )
        return encoder
    return None
