"""Windowing: frame k covers samples [k*hop, k*hop + window). The streaming windower keeps
only the samples the next window needs, and emits exactly the offline windows for any chunking.

Windows are returned as (m, channels, window) so every feature reduces over the last axis.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

Float64Array = NDArray[np.float64]
Int64Array = NDArray[np.int64]


def frame_count(n_samples: int, window: int, hop: int) -> int:
    """How many whole windows fit into n_samples."""
    return 0 if n_samples < window else (n_samples - window) // hop + 1


def frame_end_samples(first_frame: int, n_frames: int, window: int, hop: int) -> Int64Array:
    """Exclusive end sample of frames first_frame .. first_frame+n_frames-1."""
    k = np.arange(first_frame, first_frame + n_frames, dtype=np.int64)
    return k * hop + window


def sliding_windows(x: Float64Array, window: int, hop: int) -> Float64Array:
    """All windows of a (n, ch) record as a read-only view (m, ch, window)."""
    if x.shape[0] < window:
        return np.empty((0, x.shape[1], window), dtype=np.float64)
    return sliding_window_view(x, window, axis=0)[::hop]


class StreamingWindower:
    """Ring of the samples the next window still needs; ``push`` returns the completed windows.

    >>> w = StreamingWindower(window=150, hop=10, n_channels=4)
    >>> windows, ends = w.push(chunk)   # (m, 4, 150), exclusive end sample of each
    """

    def __init__(self, window: int, hop: int, n_channels: int) -> None:
        if window < 1 or hop < 1:
            raise ValueError(f"window={window} and hop={hop} must be >= 1")
        self.window, self.hop, self.n_channels = window, hop, n_channels
        self.reset()

    def reset(self) -> None:
        self._buf: Float64Array = np.empty((0, self.n_channels), dtype=np.float64)
        self._buf_start = 0  # absolute index of self._buf[0]
        self._next_frame = 0
        self.n_samples = 0  # total samples pushed

    @property
    def next_frame(self) -> int:
        """Index of the next frame to be emitted."""
        return self._next_frame

    def push(self, x: Float64Array) -> tuple[Float64Array, Int64Array]:
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise ValueError(f"expected a (samples, {self.n_channels}) chunk, got {x.shape}")
        self._buf = np.concatenate([self._buf, x]) if self._buf.size else np.array(x, copy=True)
        self.n_samples += x.shape[0]
        next_start = self._next_frame * self.hop
        if self._buf_start < next_start:  # hop > window: skip samples no window uses
            cut = min(next_start - self._buf_start, self._buf.shape[0])
            self._buf, self._buf_start = self._buf[cut:], self._buf_start + cut
        m = frame_count(self.n_samples - next_start, self.window, self.hop)
        if m == 0:
            return np.empty((0, self.n_channels, self.window)), np.empty(0, dtype=np.int64)
        windows = np.array(sliding_windows(self._buf, self.window, self.hop)[:m])
        ends = frame_end_samples(self._next_frame, m, self.window, self.hop)
        self._next_frame += m
        cut = min(self._next_frame * self.hop - self._buf_start, self._buf.shape[0])
        self._buf, self._buf_start = self._buf[cut:], self._buf_start + cut
        return windows, ends
