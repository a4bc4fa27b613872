"""Glue between a recorded session and the training data: its feature configuration (params'
``dsp`` section + the session's device facts) and its labels sampled at each frame's end."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.extractor import extract_session
from robohead.host.artifacts import AudioEncoderExport, DatasetIndex, FeatureSet, SessionRef
from robohead.host.data.params import DataParams
from robohead.host.data.session import Session, load_session
from robohead.host.windows import SessionFrames


def index_sessions(
    data_dir: Path, params: DataParams, dvc_md5: str, code_version: str
) -> DatasetIndex:
    """The sessions under ``data_dir`` after the data validator passed every one of them
    (``InvalidSessionError`` listing each problem otherwise: training refuses bad data)."""
    from robohead.host.data.schema import read_meta
    from robohead.host.data.validate import require_valid

    folders = require_valid([data_dir], params)
    if not folders:
        raise ValueError(f"{data_dir}: no sessions (folders with session.json); run `make data`")
    refs = []
    for folder in folders:
        meta = read_meta(folder / "session.json")
        refs.append(
            SessionRef(
                session_id=f"{meta.subject}/{meta.session}",
                subject=meta.subject,
                path=str(folder.resolve()),
                sampling_rate_hz=meta.sampling_rate_hz,
            )
        )
    ids = [r.session_id for r in refs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{data_dir}: duplicate <subject>/<session> ids in {sorted(ids)}")
    return DatasetIndex(
        root=str(data_dir.resolve()),
        dvc_md5=dvc_md5,
        code_version=code_version,
        sessions=tuple(refs),
    )


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


def build_feature_set(
    sessions: Sequence[SessionRef],
    dsp: Mapping[str, Any],
    params: DataParams,
    on_session: Callable[[SessionRef, int, FeatureConfig], None] | None = None,
    audio_encoder: AudioEncoderExport | None = None,
) -> FeatureSet:
    """Every session through ``robohead.edge.dsp.extract_session``, the offline twin of the
    edge's streaming extractor, so the model is trained on the numbers the Pi will compute.

    ``audio_encoder``: the exported Wav2Vec2 encoder, required exactly when
    ``dsp.audio.features`` is ``wav2vec2``; its ONNX bytes run through ONNX Runtime as on the
    edge (``robohead.host.audio_encoding``)."""
    from robohead.host.audio_encoding import (
        config_with_encoder,
        runtime_encoder,
        wants_audio_encoder,
    )

    if wants_audio_encoder(dsp) != (audio_encoder is not None):
        kind = dict(dsp.get("audio") or {}).get("features")
        raise ValueError(
            f"dsp.audio.features={kind!r}: an exported audio encoder is needed exactly for "
            f"'wav2vec2' (got {'one' if audio_encoder is not None else 'none'})"
        )
    encoder = runtime_encoder(audio_encoder) if audio_encoder is not None else None
    config: FeatureConfig | None = None
    frames, ends = [], []
    for ref in sessions:
        session = load_session(ref.path)
        cfg = feature_config_for(session, dsp, params.audio.sampling_rate_hz)
        if audio_encoder is not None:
            cfg = config_with_encoder(cfg, audio_encoder)
        if config is None:
            config = cfg
        elif cfg != config:
            raise ValueError(
                f"{ref.path}: its device facts (rate, ADC bits, channels, audio rate) differ "
                f"from the first session's; train one device configuration at a time"
            )
        feats = extract_session(
            cfg,
            session.emg,
            session.audio,
            audio_offset_s=session.audio_offset_s,
            audio_encoder=encoder,
        )
        targets, expressions = session_labels(session, params)
        t, c = frame_labels(feats.end_sample, targets, expressions)
        frames.append(
            SessionFrames(
                session_id=ref.session_id,
                subject=ref.subject,
                features=feats.values.astype(np.float32),
                targets=t,
                expressions=c,
            )
        )
        ends.append(feats.end_sample.astype(np.int64))
        if on_session is not None:
            on_session(ref, len(feats), cfg)
    if config is None:
        raise ValueError("build_feature_set: no sessions")
    return FeatureSet(
        config=config,
        motors=tuple(params.motors.names),
        expressions=tuple(params.expressions),
        sessions=tuple(frames),
        end_samples=tuple(ends),
        audio_encoder_sha256=None if audio_encoder is None else audio_encoder.sha256,
    )
