"""Step: raw sessions -> feature frames (the edge's own DSP) + the label at each frame's end."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from robohead.host.artifacts import AudioEncoderExport, DatasetIndex, FeatureSet
from robohead.host.materializers import FeatureSetMaterializer


@step(output_materializers=FeatureSetMaterializer)
def featurize(
    dataset: DatasetIndex,
    dsp: dict[str, Any],
    data_params: dict[str, Any],
    audio_encoder: AudioEncoderExport | None = None,
) -> Annotated[FeatureSet, "features"]:
    """Cached by ZenML on (dataset md5 + commit, dsp, data params, the audio encoder artifact
    when wav2vec2): the slow part of a re-run that only changes the model or training
    parameters."""
    from robohead.host.data.params import DataParams
    from robohead.host.featurizing import build_feature_set
    from robohead.host.progress import console

    params = DataParams(**data_params)
    total = len(dataset.sessions)

    def report(ref: Any, frames: int, cfg: Any) -> None:
        console.print(
            f"[dim]features[/dim] {ref.session_id}: {frames} frames x {cfg.n_features} "
            f"({dataset.sessions.index(ref) + 1}/{total})"
        )

    return build_feature_set(
        dataset.sessions, dsp, params, on_session=report, audio_encoder=audio_encoder
    )
