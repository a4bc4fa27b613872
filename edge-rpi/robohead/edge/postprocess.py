"""Post-processing between the model and the motors: One-Euro smoothing, deadband, rate limits.

The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a first-order low-pass whose cutoff
rises with the signal's speed: at rest the jitter of the model output is smoothed hard, a fast
expression change gets through with little lag. The deadband then holds small residual wobble
back (servos buzz when commanded to move by a few microseconds at 50 Hz) and the per-motor rate
limit bounds how fast each servo may be asked to move, whatever the model says. Everything is
vectorised over motors and driven by timestamps, so irregular update intervals are handled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Deadband", "OneEuroFilter", "PostProcessor", "RateLimiter"]

FloatArray = npt.NDArray[np.float64]
_MIN_DT_S = 1e-6  # updates closer than this count as simultaneous (no derivative from them)


def _alpha(cutoff_hz: FloatArray | float, dt_s: float) -> FloatArray:
    """Smoothing factor of an exponential low-pass with the given cutoff (Casiez eq. 4)."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return np.asarray(dt_s / (dt_s + tau), dtype=np.float64)  # = 1 / (1 + tau/dt), no overflow


@dataclass
class OneEuroFilter:
    """One-Euro filter over a vector of independent signals."""

    min_cutoff_hz: float
    beta: float
    d_cutoff_hz: float = 1.0
    _x: FloatArray | None = None
    _dx: FloatArray | None = None
    _t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def __call__(self, x: npt.ArrayLike, t_s: float) -> FloatArray:
        value = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or self._dx is None:
            self._x, self._dx, self._t = value.copy(), np.zeros_like(value), t_s
            return value.copy()
        dt = t_s - self._t
        if dt < _MIN_DT_S:  # same (or older) timestamp: nothing new to smooth over
            return self._x.copy()
        dx = (value - self._x) / dt
        a_d = _alpha(self.d_cutoff_hz, dt)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        a = _alpha(cutoff, dt)
        self._x = a * value + (1.0 - a) * self._x
        self._t = t_s
        return self._x.copy()


@dataclass
class Deadband:
    """Holds the output until the input moves more than `width` away from it."""

    width: float
    _held: FloatArray | None = None

    def reset(self, value: npt.ArrayLike | None = None) -> None:
        self._held = None if value is None else np.asarray(value, dtype=np.float64).copy()

    def __call__(self, x: npt.ArrayLike) -> FloatArray:
        value = np.asarray(x, dtype=np.float64)
        if self._held is None:
            self._held = value.copy()
        else:
            moved = np.abs(value - self._held) > self.width
            self._held = np.where(moved, value, self._held)
        return self._held.copy()


@dataclass
class RateLimiter:
    """Bounds each motor's change per second (target units per second)."""

    max_rate_per_s: FloatArray
    _y: FloatArray | None = None
    _t: float | None = None

    def reset(self, value: npt.ArrayLike | None = None, t_s: float | None = None) -> None:
        self._y = None if value is None else np.asarray(value, dtype=np.float64).copy()
        self._t = t_s

    @property
    def last(self) -> FloatArray | None:
        return None if self._y is None else self._y.copy()

    def __call__(self, x: npt.ArrayLike, t_s: float) -> FloatArray:
        value = np.asarray(x, dtype=np.float64)
        if self._y is None:
            self._y, self._t = value.copy(), t_s
            return value.copy()
        dt = 0.0 if self._t is None else max(0.0, t_s - self._t)
        step = self.max_rate_per_s * dt
        self._y = self._y + np.clip(value - self._y, -step, step)
        self._t = t_s
        return self._y.copy()


class PostProcessor:
    """The chain: One-Euro (model output only) -> deadband -> rate limit -> clamp to [0, 1].

    Manual poses skip the smoothing (a pose is already clean) but never the rate limit, so a
    jump from one pose to another still moves the servos at a bounded speed.
    """

    def __init__(
        self,
        *,
        motors: int,
        min_cutoff_hz: float,
        beta: float,
        d_cutoff_hz: float,
        deadband: float,
        max_rate_per_s: Sequence[float],
    ) -> None:
        if len(max_rate_per_s) != motors:
            raise ValueError(
                f"postprocess.max_rate_per_s has {len(max_rate_per_s)} values, "
                f"expected one per motor ({motors})"
            )
        self.motors = motors
        self._euro = OneEuroFilter(min_cutoff_hz, beta, d_cutoff_hz)
        self._deadband = Deadband(deadband)
        self._rate = RateLimiter(np.asarray(max_rate_per_s, dtype=np.float64))

    def reset(self, current: npt.ArrayLike | None = None, t_s: float | None = None) -> None:
        """Forget history; `current` (the pose the motors hold now) seeds the rate limit."""
        self._euro.reset()
        self._deadband.reset(current)
        self._rate.reset(current, t_s)

    def __call__(self, x: npt.ArrayLike, t_s: float, *, smooth: bool = True) -> FloatArray:
        value = np.asarray(x, dtype=np.float64)
        if value.shape != (self.motors,):
            raise ValueError(f"expected {self.motors} motor targets, got shape {value.shape}")
        if not np.all(np.isfinite(value)):  # a broken model output holds the last command
            held = self._rate.last if self._rate.last is not None else np.zeros(self.motors)
            value = np.where(np.isfinite(value), value, held)
        if smooth:
            value = self._deadband(self._euro(value, t_s))
        else:
            self._euro.reset()
            self._deadband.reset(value)
        return np.clip(self._rate(value, t_s), 0.0, 1.0)
