"""Glue between a recorded session and the training data: its feature configuration (params'
``dsp`` section + the session's device facts) and its labels sampled at each frame's end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from robohead.edge.dsp.config import FeatureConfig
from robohead.host.data.params import DataParams
from robohead.host.data.session import Session


def feature_config_for(
    session: Session, dsp: Mapping[str, Any], default_audio_rate_hz: int
) -> FeatureConfig:
    """The edge's FeatureConfig for this session's device (rate, ADC bits, channels, audio)."""
    return FeatureConfig.from_params(
        dsp,
        sampling_rate_hz=session.sampling_rate_hz,
        adc_bits=session.meta.adc.bits,
        channels=session.channel_names,
        audio_rate_hz=session.audio_rate_hz or default_audio_rate_hz,
    )


def session_labels(
    session: Session, params: DataParams
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Per-sample motor targets (n, motors) and expression class index (n,), from the cues
    onset-aligned to the measured activity (``robohead.host.data.labels``), so synthetic and
    recorded sessions are labelled the same way."""
    from robohead.host.data.labels import make_labels

    labels = make_labels(session, params)
    if list(labels.expressions) != list(params.expressions):
        raise ValueError(
            f"{session.path}: labels use classes {labels.expressions}, expected "
            f"{params.expressions}"
        )
    targets = np.asarray(labels.targets, dtype=np.float32)
    expr = np.asarray(labels.expression, dtype=np.int64)
    return targets, expr


def frame_labels(
    end_sample: NDArray[np.int64], targets: NDArray[np.float32], expressions: NDArray[np.int64]
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """The label of frame k is that of its newest sample (exclusive end - 1): what the face
    is doing when the edge emits the prediction for that frame."""
    idx = np.clip(np.asarray(end_sample, dtype=np.int64) - 1, 0, targets.shape[0] - 1)
    return targets[idx], expressions[idx]
