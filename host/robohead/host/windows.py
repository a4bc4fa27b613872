"""Feature frames of many sessions -> model windows of the last K frames, without copying.

All sessions' frames are concatenated once; a window is named by the index of its last frame,
and only windows whose K frames lie inside one session exist (none spans two sessions). A batch
is gathered on demand, so memory stays at one copy of the frames whatever K is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from robohead.edge.dsp.normalize import Normalization


@dataclass(frozen=True)
class SessionFrames:
    """One session's feature frames and their per-frame labels (label = state at frame end)."""

    session_id: str  # "<subject>/<session>"
    subject: str
    features: NDArray[np.float32]  # (m, F)
    targets: NDArray[np.float32]  # (m, motors) in [0, 1]
    expressions: NDArray[np.int64]  # (m,) class index

    def __post_init__(self) -> None:
        m = self.features.shape[0]
        if self.targets.shape[0] != m or self.expressions.shape[0] != m:
            raise ValueError(
                f"{self.session_id}: features, targets and expressions disagree on frame count "
                f"({m}, {self.targets.shape[0]}, {self.expressions.shape[0]})"
            )


@dataclass(frozen=True)
class WindowSet:
    """Windows of K normalised frames over a group of sessions."""

    frames: NDArray[np.float32]  # (total frames, F), normalised
    targets: NDArray[np.float32]  # (total frames, motors)
    expressions: NDArray[np.int64]  # (total frames,)
    ends: NDArray[np.int64]  # (windows,) index of each window's last frame
    window_session: NDArray[np.int64]  # (windows,) index into session_ids
    session_ids: tuple[str, ...]
    context: int  # K

    @property
    def size(self) -> int:
        return int(self.ends.shape[0])

    def inputs(self, which: NDArray[np.int64] | slice | None = None) -> NDArray[np.float32]:
        """(B, K, F) windows, oldest frame first."""
        ends = self.ends if which is None else self.ends[which]
        rows = ends[:, None] + np.arange(1 - self.context, 1, dtype=np.int64)[None, :]
        return np.asarray(self.frames[rows], dtype=np.float32)

    def motor_targets(self, which: NDArray[np.int64] | slice | None = None) -> NDArray[np.float32]:
        ends = self.ends if which is None else self.ends[which]
        return self.targets[ends]

    def expression_targets(
        self, which: NDArray[np.int64] | slice | None = None
    ) -> NDArray[np.int64]:
        ends = self.ends if which is None else self.ends[which]
        return self.expressions[ends]

    def of_session(self, session_id: str) -> NDArray[np.int64]:
        """Window indices of one session, in time order."""
        k = self.session_ids.index(session_id)
        return np.flatnonzero(self.window_session == k).astype(np.int64)


def build_windows(
    sessions: Sequence[SessionFrames], norm: Normalization, context: int, stride: int = 1
) -> WindowSet:
    """Every window of ``context`` frames inside each session (ends ``stride`` frames apart),
    normalised with the edge's own ``Normalization`` (the statistics the bundle will carry)."""
    if not sessions:
        raise ValueError("build_windows: no sessions")
    if context < 1 or stride < 1:
        raise ValueError(f"context and stride must be >= 1, got {context}, {stride}")
    frames, targets, exprs, ends, owner = [], [], [], [], []
    offset = 0
    for k, s in enumerate(sessions):
        m = s.features.shape[0]
        frames.append(norm.apply(s.features))
        targets.append(s.targets.astype(np.float32))
        exprs.append(s.expressions.astype(np.int64))
        e = np.arange(context - 1, m, stride, dtype=np.int64) + offset
        ends.append(e)
        owner.append(np.full(e.shape, k, dtype=np.int64))
        offset += m
    return WindowSet(
        frames=np.concatenate(frames),
        targets=np.concatenate(targets),
        expressions=np.concatenate(exprs),
        ends=np.concatenate(ends),
        window_session=np.concatenate(owner),
        session_ids=tuple(s.session_id for s in sessions),
        context=context,
    )
