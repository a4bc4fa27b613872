"""Scaling of raw ADC counts and the causal pre-filter (band-pass + mains notches).

Signal units: ``(counts - 2**(bits-1)) / 2**(bits-1)``, i.e. a fraction of ADC full scale in
[-1, 1). Volts would need the board's reference voltage and front-end gain, which the bundle
cannot know for every board; full scale is exact for any board of the same ADC width, so the
thresholds in params.yaml mean the same thing everywhere (1 LSB = 2**-(bits-1)).

Filtering is causal (``scipy.signal.sosfilt`` with per-channel state carried across chunks,
never ``filtfilt``), so a stream cut into any chunks gives the same numbers as the whole record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from robohead.edge.dsp.config import DspConfigError, FilterConfig

Float64Array = NDArray[np.float64]


def counts_to_signal(counts: ArrayLike, adc_bits: int) -> Float64Array:
    """Raw ADC counts (n, ch) -> float64 signal in units of full scale, centred on mid-rail."""
    half = float(2 ** (adc_bits - 1))
    return (np.asarray(counts, dtype=np.float64) - half) / half


def design_sos(cfg: FilterConfig, sampling_rate_hz: float) -> Float64Array:
    """Second-order sections of the whole pre-filter cascade, shape (n_sections, 6).

    Band-pass ``cfg.bandpass_hz``; when the upper edge is not below Nyquist the upper edge is
    dropped and the design becomes a high-pass at the lower edge. Notches at ``f * k`` for f in
    ``mains_hz``, k = 1..notch_harmonics, skipping multiples at or above Nyquist.
    """
    nyquist = sampling_rate_hz / 2.0
    low, high = cfg.bandpass_hz
    if low >= nyquist:
        raise DspConfigError(
            f"dsp.filter.bandpass_hz low edge {low} Hz is not below Nyquist ({nyquist} Hz)"
        )
    if high < nyquist:
        sections = [
            signal.butter(
                cfg.order, [low, high], btype="bandpass", fs=sampling_rate_hz, output="sos"
            )
        ]
    else:
        sections = [
            signal.butter(cfg.order, low, btype="highpass", fs=sampling_rate_hz, output="sos")
        ]
    for f0 in notch_frequencies(cfg, sampling_rate_hz):
        b, a = signal.iirnotch(f0, cfg.notch_q, fs=sampling_rate_hz)
        sections.append(signal.tf2sos(b, a))
    return np.ascontiguousarray(np.vstack(sections), dtype=np.float64)


def notch_frequencies(cfg: FilterConfig, sampling_rate_hz: float) -> list[float]:
    """The mains multiples actually notched (those below Nyquist)."""
    nyquist = sampling_rate_hz / 2.0
    freqs = sorted({f * k for f in cfg.mains_hz for k in range(1, cfg.notch_harmonics + 1)})
    return [f for f in freqs if f < nyquist]


@dataclass
class FilterState:
    """Per-channel state of the cascade, shape (n_sections, 2, n_channels); ``None`` until the
    first sample, which seeds it as the steady state for that sample held since forever (so a
    DC offset left after the mid-rail subtraction causes no start-up transient)."""

    zi: Float64Array | None = None


def sosfilt_stream(
    sos: Float64Array, x: Float64Array, state: FilterState | None
) -> tuple[Float64Array, FilterState]:
    """Filter a chunk x (n, ch) along time; returns (y, new state). ``y, s = f(x, s)``.

    Feeding a record in any chunking gives the same output as feeding it at once.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a (samples, channels) chunk, got shape {x.shape}")
    zi = None if state is None else state.zi
    if x.shape[0] == 0:
        return x.copy(), FilterState(zi)
    if zi is None:
        zi = signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
    elif zi.shape[2] != x.shape[1]:
        raise ValueError(f"chunk has {x.shape[1]} channels, the filter state {zi.shape[2]}")
    y, zf = signal.sosfilt(sos, x, axis=0, zi=zi)
    return np.asarray(y, dtype=np.float64), FilterState(np.asarray(zf, dtype=np.float64))


def sosfilt_offline(sos: Float64Array, x: Float64Array) -> Float64Array:
    """The whole record at once, same initial state as the stream (for ``extract_session``)."""
    y, _ = sosfilt_stream(sos, x, None)
    return y
