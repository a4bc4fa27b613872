"""Who decides the motor targets: the model (`auto`), a person over MQTT (`manual`), or nobody
(`neutral`). One small state machine so the daemon's loop asks a single question per tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = ["ModeController", "Target", "mode_from_name", "neutral_from_hello"]

FloatArray = npt.NDArray[np.float64]

_NAMES = {"auto": tm.MODE_AUTO, "manual": tm.MODE_MANUAL, "neutral": tm.MODE_NEUTRAL}


def mode_from_name(name: str) -> tm.Mode:
    return _NAMES[name]


def neutral_from_hello(hello: dev.Hello, motors: int) -> FloatArray | None:
    """The firmware's own neutral pose in target units, or None if the Hello lacks servos."""
    if len(hello.servos) != motors:
        return None
    out = []
    for s in hello.servos:
        span = float(s.max_us) - float(s.min_us)
        if span <= 0:
            return None
        t = (float(s.neutral_us) - float(s.min_us)) / span
        out.append(1.0 - t if s.inverted else t)
    return np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0)


@dataclass(frozen=True)
class Target:
    """What to aim the post-processor at this tick."""

    targets: FloatArray
    smooth: bool  # One-Euro + deadband (model output) or only the rate limit (poses)
    flags: int  # MotorFlag bits for the MotorCommand


class ModeController:
    def __init__(self, motors: int, neutral: Sequence[float], initial: tm.Mode) -> None:
        if len(neutral) != motors:
            raise ValueError(f"neutral pose has {len(neutral)} values, expected {motors}")
        self.motors = motors
        self.neutral = np.asarray(neutral, dtype=np.float64)
        self.mode = initial
        self._pose = self.neutral.copy()
        self.poses: dict[str, FloatArray] = {}

    def set_neutral(self, neutral: Sequence[float]) -> None:
        self.neutral = np.asarray(neutral, dtype=np.float64)

    def set_poses(self, poses: Mapping[str, Sequence[float]]) -> None:
        self.poses = {k: np.asarray(v, dtype=np.float64) for k, v in poses.items()}

    def set_mode(self, mode: tm.Mode) -> None:
        if mode not in (tm.MODE_AUTO, tm.MODE_MANUAL, tm.MODE_NEUTRAL):
            raise ValueError(f"unknown mode {mode}")
        self.mode = mode

    def set_pose(self, targets: Sequence[float] | None = None, expression: str = "") -> None:
        """Store the manual pose (validated by robohead.edge.commands before it gets here)."""
        if expression:
            self._pose = self.poses[expression].copy()
        elif targets is not None:
            self._pose = np.asarray(targets, dtype=np.float64)

    @property
    def pose(self) -> FloatArray:
        return self._pose.copy()

    def target(self, predicted: npt.ArrayLike | None) -> Target | None:
        """The aim for this tick; None in auto mode while the model has nothing yet."""
        if self.mode == tm.MODE_AUTO:
            if predicted is None:
                return None
            return Target(np.asarray(predicted, dtype=np.float64), True, dev.MOTOR_FLAG_NONE)
        if self.mode == tm.MODE_MANUAL:
            return Target(self._pose.copy(), False, dev.MOTOR_FLAG_NONE)
        return Target(self.neutral.copy(), False, dev.MOTOR_FLAG_NEUTRAL)
