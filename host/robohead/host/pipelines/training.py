"""load -> featurize -> split -> train -> evaluate -> export ONNX -> register -> bundle -> gate.

With ``dsp.audio.features: wav2vec2`` an ``export_audio_encoder`` step runs first; featurize
computes the audio features with its ONNX file and build_bundle ships it.
"""

from __future__ import annotations

from typing import Any

from zenml import pipeline

from robohead.host.steps.audio_encoder import export_audio_encoder
from robohead.host.steps.bundle import build_bundle
from robohead.host.steps.evaluate import evaluate_model
from robohead.host.steps.export_onnx import export_onnx
from robohead.host.steps.featurize import featurize
from robohead.host.steps.load import load_dataset
from robohead.host.steps.promote import promote_model
from robohead.host.steps.register import register_model
from robohead.host.steps.split import split_dataset
from robohead.host.steps.train import train_model
from robohead.host.train_params import (
    ExportParams,
    ModelParams,
    RegistryParams,
    SplitParams,
    TrainSection,
)

PIPELINE_NAME = "robohead_training"


@pipeline(name=PIPELINE_NAME, enable_cache=True)
def training_pipeline(
    data_dir: str,
    dvc_md5: str,
    git_commit: str,
    code_version: str,
    git_dirty: bool,
    data_params: dict[str, Any],
    dsp: dict[str, Any],
    split: SplitParams,
    model: ModelParams,
    train: TrainSection,
    export: ExportParams,
    registry: RegistryParams,
    all_params: dict[str, Any],
    audio_encoder_source: dict[str, str] | None = None,
) -> None:
    """``audio_encoder_source``: {model, folder, digest} of the Wav2Vec2 model (from
    ``robohead.host.audio_encoding.encoder_source``), exactly when the features need it."""
    from robohead.host.audio_encoding import encoder_window_samples

    dataset = load_dataset(data_dir, dvc_md5, code_version, data_params)
    encoder = None
    if audio_encoder_source is not None:
        encoder = export_audio_encoder(
            audio_encoder_source["model"],
            audio_encoder_source["folder"],
            audio_encoder_source["digest"],
            encoder_window_samples(dsp, data_params["audio"]["sampling_rate_hz"]),
            export.opset,
            export.audio_encoder_parity_atol,
            code_version,
        )
    features = featurize(dataset, dsp, data_params, encoder)
    parts = split_dataset(dataset, split, train.seed)
    trained = train_model(
        features, parts, model, train, all_params, data_dir, dvc_md5, git_commit, git_dirty
    )
    evaluation = evaluate_model(trained, features, parts)
    onnx = export_onnx(trained, features, parts, export)
    # Register only after the export (and its parity gate) succeeded.
    version = register_model(
        trained, features, evaluation, registry, dvc_md5, git_commit, after="export_onnx"
    )
    bundle, _ = build_bundle(
        trained,
        onnx,
        features,
        dataset,
        parts,
        version,
        export,
        data_params["poses"],
        git_commit,
        git_dirty,
        encoder,
    )
    promote_model(bundle, version, dataset, parts, data_params)
