"""Step: write the deploy bundle (edge's ``write_bundle``) and log it to the MLflow run.

The golden vectors come from a real test session: one model input, and a stretch of raw counts
(+ its audio) that the edge streams through a fresh Predictor when it loads the bundle. With
Wav2Vec2 audio features the bundle also ships the audio encoder the features were computed with
(``audio_encoder.onnx``, checked by sha256 against the feature set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from zenml import step

from robohead.host.artifacts import (
    AudioEncoderExport,
    BundleInfo,
    DatasetIndex,
    FeatureSet,
    OnnxExport,
    RegisteredVersion,
    TrainedModel,
)
from robohead.host.splits import Split
from robohead.host.timing import timed
from robohead.host.train_params import ExportParams
from robohead.host.zenml_stack import TRACKER


@step(experiment_tracker=TRACKER, enable_cache=False)
def build_bundle(
    model: TrainedModel,
    onnx: OnnxExport,
    features: FeatureSet,
    dataset: DatasetIndex,
    split: Split,
    version: RegisteredVersion,
    export: ExportParams,
    poses: dict[str, list[float]],
    git_commit: str,
    git_dirty: bool,
    audio_encoder: AudioEncoderExport | None = None,
) -> tuple[Annotated[Path, "bundle"], Annotated[BundleInfo, "bundle_info"]]:
    import tempfile

    import mlflow
    import numpy as np

    from robohead.edge.bundle import GitInfo, MlflowInfo
    from robohead.host import registry as R
    from robohead.host.bundling import encoder_file, write_training_bundle
    from robohead.host.data.session import load_session
    from robohead.host.progress import phase
    from robohead.host.windows import build_windows

    k = features.config.context_frames
    sid = split.test[0]
    test = build_windows(features.by_id((sid,)), model.normalization, k)
    golden_input = test.inputs(np.array([test.size // 2], dtype=np.int64))[0]
    session = load_session(dataset.ref(sid).path)

    work = Path(tempfile.mkdtemp(prefix="robohead-bundle-"))
    (work / "onnx").mkdir()
    float_path = work / "onnx" / "model.onnx"
    float_path.write_bytes(onnx.float_onnx)
    variants: dict[str, Path] = {}
    if onnx.int8_onnx is not None:
        (work / "onnx" / "model.int8.onnx").write_bytes(onnx.int8_onnx)
        variants["int8"] = work / "onnx" / "model.int8.onnx"
    encoder = encoder_file(features, audio_encoder, work / "onnx")
    out = work / "bundle"
    with phase("write and verify the deploy bundle"):
        manifest = write_training_bundle(
            out,
            model_file=float_path,
            features=features,
            normalization=model.normalization,
            expression_head=model.build["classes"] > 0,
            poses=poses,
            dataset_md5=dataset.dvc_md5,
            mlflow=MlflowInfo(
                run_id=version.run_id,
                model_name=version.model_name,
                model_version=version.version,
                tracking_uri=mlflow.get_tracking_uri(),
            ),
            git=GitInfo(commit=git_commit, dirty=git_dirty),
            golden_input=golden_input,
            golden_session=session,
            export=export,
            variants=variants,
            audio_encoder=encoder,
        )
    with timed("mlflow"):
        mlflow.log_artifacts(str(out), R.BUNDLE_ARTIFACT)
        if audio_encoder is not None:
            mlflow.set_tags(
                {
                    "audio_encoder_sha256": audio_encoder.sha256,
                    "audio_encoder_model": audio_encoder.model,
                    "audio_encoder_source_digest": audio_encoder.source_digest,
                }
            )
            mlflow.log_metric(
                "export_audio_encoder_parity_max_abs_diff", audio_encoder.parity_max_abs_diff
            )
    return out, BundleInfo(
        run_id=version.run_id,
        artifact_path=R.BUNDLE_ARTIFACT,
        model_version=version.version,
        manifest_sha256=manifest.manifest_sha256,
    )
