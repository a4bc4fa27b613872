"""Feature normalisation (statistics from the training split, stored in the bundle) and the
K-frame context stacking, shared by training and the edge so both build identical model inputs.

Model input: float32 (batch, K, F), the K most recent normalised frames, oldest first; sample i
of ``stack_context`` ends at frame i + K - 1 (pair it with the target at that frame's end).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, model_validator

Float32Array = NDArray[np.float32]


class Normalization(BaseModel):
    """Per-feature z-score: (x - mean) / std, computed in float64, returned as float32."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @model_validator(mode="after")
    def _check(self) -> Normalization:
        if len(self.mean) != len(self.std):
            raise ValueError(f"normalization: {len(self.mean)} means but {len(self.std)} stds")
        if not all(s > 0 and np.isfinite(s) for s in self.std):
            raise ValueError("normalization: every std must be finite and > 0")
        if not all(np.isfinite(m) for m in self.mean):
            raise ValueError("normalization: every mean must be finite")
        return self

    @property
    def n_features(self) -> int:
        return len(self.mean)

    @classmethod
    def fit(cls, frames: ArrayLike, std_floor: float) -> Normalization:
        """Statistics of training frames (n, F); a std below ``std_floor`` is raised to it
        (constant features, e.g. a count that never changes, map to 0 instead of inf)."""
        x = np.asarray(frames, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"expected training frames (n>0, F), got shape {x.shape}")
        mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), std_floor)
        return cls(mean=tuple(map(float, mean)), std=tuple(map(float, std)))

    def apply(self, frames: ArrayLike) -> Float32Array:
        x = np.asarray(frames, dtype=np.float64)
        if x.shape[-1] != self.n_features:
            raise ValueError(
                f"frames have {x.shape[-1]} features, the normalization {self.n_features}"
            )
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        return ((x - mean) / std).astype(np.float32)


def stack_context(frames: ArrayLike, k: int) -> Float32Array:
    """Offline stacking: frames (n, F) -> (n - k + 1, k, F) float32 (empty when n < k)."""
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected frames (n, F), got shape {x.shape}")
    if x.shape[0] < k:
        return np.empty((0, k, x.shape[1]), dtype=np.float32)
    return np.ascontiguousarray(sliding_window_view(x, k, axis=0).transpose(0, 2, 1))


class ContextBuffer:
    """Streaming stacking: ``push(frames (m, F))`` returns one (k, F) input per new frame once
    k frames have been seen, equal to ``stack_context`` over the concatenated stream."""

    def __init__(self, k: int, n_features: int) -> None:
        self.k, self.n_features = k, n_features
        self.reset()

    def reset(self) -> None:
        self._last: Float32Array = np.empty((0, self.n_features), dtype=np.float32)

    def push(self, frames: ArrayLike) -> Float32Array:
        x = np.asarray(frames, dtype=np.float32).reshape(-1, self.n_features)
        joined = np.concatenate([self._last, x])
        out = stack_context(joined, self.k)
        n_new = min(x.shape[0], out.shape[0])
        self._last = joined[-(self.k - 1) :] if self.k > 1 else joined[:0]
        return out[out.shape[0] - n_new :]
