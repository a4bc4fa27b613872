"""Step: raw sessions -> feature frames (the edge's own DSP) + the label at each frame's end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
from zenml import step

from robohead.host.artifacts import DatasetIndex, FeatureSet
from robohead.host.materializers import FeatureSetMaterializer


@step(output_materializers=FeatureSetMaterializer)
def featurize(
    dataset: DatasetIndex, dsp: dict[str, Any], data_params: dict[str, Any]
) -> Annotated[FeatureSet, "features"]:
    """Runs ``robohead.edge.dsp.extract_session``, the offline twin of the edge's streaming
    extractor, so the model is trained on exactly the numbers the Pi will compute."""
    from robohead.edge.dsp.extractor import extract_session
    from robohead.host.data.params import DataParams
    from robohead.host.data.session import load_session
    from robohead.host.featurizing import feature_config_for, frame_labels, session_labels
    from robohead.host.progress import console
    from robohead.host.windows import SessionFrames

    params = DataParams(root=Path(dataset.root).resolve(), **data_params)
    config = None
    frames, ends = [], []
    for i, ref in enumerate(dataset.sessions, 1):
        session = load_session(ref.path)
        cfg = feature_config_for(session, dsp, params.audio.sampling_rate_hz)
        if config is None:
            config = cfg
        elif cfg != config:
            raise ValueError(
                f"{ref.path}: its device facts (rate, ADC bits, channels, audio rate) differ "
                f"from the first session's; train one device configuration at a time"
            )
        feats = extract_session(
            cfg, session.emg, session.audio, audio_offset_s=session.audio_offset_s
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
        console.print(
            f"[dim]features[/dim] {ref.session_id}: {len(feats)} frames x {cfg.n_features} "
            f"({i}/{len(dataset.sessions)})"
        )
    assert config is not None
    return FeatureSet(
        config=config,
        motors=tuple(params.motors.names),
        expressions=tuple(params.expressions),
        sessions=tuple(frames),
        end_samples=tuple(ends),
    )
