"""The champion gate's measurement: a bundle's MAE on test sessions, through the edge's own
Predictor (raw counts -> DSP -> ONNX), so two bundles built with different DSP settings are
compared on the same sessions and the same per-sample labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from robohead.host.data.session import Session


@dataclass(frozen=True)
class LabelledSession:
    session: Session
    targets: NDArray[np.float32]  # (n, motors) per sample


def bundle_mae(bundle_dir: Path, sessions: Sequence[LabelledSession]) -> float:
    """Mean over motors of the MAE over every prediction of every session."""
    from robohead.edge.bundle import load_bundle

    bundle = load_bundle(bundle_dir)
    errors = []
    for ls in sessions:
        pred = bundle.predictor(audio_offset_s=ls.session.audio_offset_s).predict_session(
            ls.session.emg, ls.session.audio
        )
        idx = np.clip(pred.end_sample - 1, 0, ls.targets.shape[0] - 1)
        errors.append(np.abs(pred.motors.astype(np.float64) - ls.targets[idx]))
    if not errors or sum(len(e) for e in errors) == 0:
        raise ValueError(f"{bundle_dir}: no predictions on the test sessions")
    return float(np.concatenate(errors).mean(axis=0).mean())
