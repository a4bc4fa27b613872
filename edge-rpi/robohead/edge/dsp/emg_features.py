"""Time-domain sEMG features, vectorised over windows and channels.

Input windows have shape (..., N) (time on the last axis, e.g. (m, channels, N)); every
feature returns shape (...). Definitions follow the Phinyomark et al. MATLAB reference as
checked in edge-rpi/tests/data/libemg/ (LibEMG); with x = one window, d[i] = x[i+1] - x[i]:

MAV mean|x|; RMS sqrt(mean x^2); IAV sum|x|; VAR sum(x^2)/(N-1); WL sum|d|;
ZC #{i: sign(x[i+1]) - sign(x[i]) = +-2 and |d[i]| >= zc}; SSC #{i in 1..N-2:
(x[i]-x[i-1])*(x[i]-x[i+1]) >= ssc}; WAMP #{i: |d[i]| > wamp}; DASDV sqrt(mean d^2);
MAVFD mean|d|; LD exp(mean log(|x|+1)); SKEW m3/m2^1.5 (biased); KURT m4/m2^2 (biased, not
excess). A window with zero variance has SKEW 0 and KURT 0 (undefined; kept finite so a dead
channel does not poison the model input).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from robohead.edge.dsp.config import EmgFeatureName, ThresholdConfig

Float64Array = NDArray[np.float64]


def _f(a: object) -> Float64Array:
    """numpy's reductions are typed Any; pin them to float64 arrays."""
    return np.asarray(a, dtype=np.float64)


class _Window:
    """Intermediates shared between features, computed once per call and only when needed."""

    def __init__(self, x: Float64Array, thr: ThresholdConfig) -> None:
        self.x, self.thr = x, thr
        self._abs: Float64Array | None = None
        self._diff: Float64Array | None = None
        self._moments: tuple[Float64Array, Float64Array] | None = None

    @property
    def abs(self) -> Float64Array:
        if self._abs is None:
            self._abs = np.abs(self.x)
        return self._abs

    @property
    def diff(self) -> Float64Array:
        if self._diff is None:
            self._diff = np.diff(self.x, axis=-1)
        return self._diff

    def central(self) -> tuple[Float64Array, Float64Array]:
        if self._moments is None:
            c = self.x - self.x.mean(axis=-1, keepdims=True)
            self._moments = c, np.mean(c * c, axis=-1)
        return self._moments


def mav(w: _Window) -> Float64Array:
    return _f(np.mean(w.abs, axis=-1))


def rms(w: _Window) -> Float64Array:
    return _f(np.sqrt(np.mean(w.x * w.x, axis=-1)))


def iav(w: _Window) -> Float64Array:
    return _f(np.sum(w.abs, axis=-1))


def var(w: _Window) -> Float64Array:
    return _f(np.sum(w.x * w.x, axis=-1) / (w.x.shape[-1] - 1))


def wl(w: _Window) -> Float64Array:
    return _f(np.sum(np.abs(w.diff), axis=-1))


def zc(w: _Window) -> Float64Array:
    s = np.sign(w.x)
    crossing = (np.abs(s[..., 1:] - s[..., :-1]) == 2) & (np.abs(w.diff) >= w.thr.zc)
    return _f(np.count_nonzero(crossing, axis=-1))


def ssc(w: _Window) -> Float64Array:
    d = w.diff
    turn = (d[..., :-1] * -d[..., 1:]) >= w.thr.ssc
    return _f(np.count_nonzero(turn, axis=-1))


def wamp(w: _Window) -> Float64Array:
    return _f(np.count_nonzero(np.abs(w.diff) > w.thr.wamp, axis=-1))


def dasdv(w: _Window) -> Float64Array:
    return _f(np.sqrt(np.mean(w.diff * w.diff, axis=-1)))


def mavfd(w: _Window) -> Float64Array:
    return _f(np.mean(np.abs(w.diff), axis=-1))


def ld(w: _Window) -> Float64Array:
    return _f(np.exp(np.mean(np.log1p(w.abs), axis=-1)))


def skew(w: _Window) -> Float64Array:
    c, m2 = w.central()
    m3 = np.mean(c * c * c, axis=-1)
    ok = m2 > 0
    return _f(np.where(ok, m3 / np.where(ok, m2, 1.0) ** 1.5, 0.0))


def kurt(w: _Window) -> Float64Array:
    c, m2 = w.central()
    c2 = c * c
    m4 = np.mean(c2 * c2, axis=-1)
    ok = m2 > 0
    return _f(np.where(ok, m4 / np.where(ok, m2, 1.0) ** 2, 0.0))


FEATURES: dict[str, Callable[[_Window], Float64Array]] = {
    "MAV": mav,
    "RMS": rms,
    "IAV": iav,
    "VAR": var,
    "WL": wl,
    "ZC": zc,
    "SSC": ssc,
    "WAMP": wamp,
    "DASDV": dasdv,
    "MAVFD": mavfd,
    "LD": ld,
    "SKEW": skew,
    "KURT": kurt,
}


def emg_features(
    windows: Float64Array, names: Sequence[EmgFeatureName], thresholds: ThresholdConfig
) -> Float64Array:
    """Features of windows (m, ch, N) -> (m, len(names), ch), in the order of ``names``."""
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] < 3:
        raise ValueError(f"expected windows (m, channels, N>=3), got shape {x.shape}")
    w = _Window(x, thresholds)
    if x.shape[0] == 0:
        return np.empty((0, len(names), x.shape[1]), dtype=np.float64)
    return np.stack([FEATURES[n](w) for n in names], axis=1)


def emg_feature_frame(
    windows: Float64Array, names: Sequence[EmgFeatureName], thresholds: ThresholdConfig
) -> Float64Array:
    """Flattened frame vectors (m, len(names) * ch), feature-major (all channels of a feature
    together), matching ``FeatureConfig.feature_names``."""
    f = emg_features(windows, names, thresholds)
    return f.reshape(f.shape[0], f.shape[1] * f.shape[2])
