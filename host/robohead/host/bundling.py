"""What the host puts into a deploy bundle besides the ONNX files: the output specification and
a raw golden stretch (counts + matching audio) from a real session; `write_training_bundle` maps
a trained model onto the edge's `write_bundle` in one place, for the pipeline and the tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from robohead.edge.bundle import (
    AUDIO_ENCODER_NAME,
    AudioEncoderInfo,
    BundleManifest,
    GitInfo,
    MlflowInfo,
    write_bundle,
)
from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.normalize import Normalization
from robohead.edge.predictor import OutputSpec
from robohead.host.artifacts import AudioEncoderExport, FeatureSet
from robohead.host.data.session import Session
from robohead.host.export import OUTPUT_NAMES
from robohead.host.train_params import ExportParams


def output_specs(
    motors: Sequence[str], expressions: Sequence[str], expression_head: bool
) -> list[OutputSpec]:
    specs = [
        OutputSpec(name=OUTPUT_NAMES[0], kind="motor_targets", labels=tuple(motors), range=(0, 1))
    ]
    if expression_head:
        specs.append(
            OutputSpec(
                name=OUTPUT_NAMES[1],
                kind="expression_probs",
                labels=tuple(expressions),
                range=None,
            )
        )
    return specs


def encoder_file(
    features: FeatureSet, encoder: AudioEncoderExport | None, folder: Path
) -> tuple[Path, AudioEncoderInfo] | None:
    """The audio encoder as ``write_bundle`` takes it (file written into ``folder``), after
    checking it is the very encoder the features were computed with."""
    if encoder is None and features.audio_encoder_sha256 is None:
        return None
    got = None if encoder is None else encoder.sha256
    if encoder is None or got != features.audio_encoder_sha256:
        raise ValueError(
            f"the bundle's audio encoder (sha256 {got}) is not the one the features were "
            f"computed with ({features.audio_encoder_sha256})"
        )
    path = folder / AUDIO_ENCODER_NAME
    path.write_bytes(encoder.onnx)
    return path, encoder.info


def golden_raw(
    session: Session, cfg: FeatureConfig, seconds: float
) -> tuple[NDArray[np.int16], NDArray[np.float32] | None, float]:
    """``seconds`` of raw counts from the middle of ``session`` (at least one prediction's
    worth), the audio covering the same time, and that audio's offset on the stretch's clock."""
    rate = cfg.sampling_rate_hz
    warmup = cfg.window_samples + (cfg.context_frames - 1) * cfg.hop_samples
    n = max(round(seconds * rate), warmup + cfg.hop_samples)
    if session.n_samples < n:
        raise ValueError(
            f"{session.path}: {session.n_samples} samples, the golden stretch needs {n}"
        )
    s0 = (session.n_samples - n) // 2
    emg = session.emg[s0 : s0 + n]
    if session.audio is None or session.audio_rate_hz is None:
        return emg, None, 0.0
    arate = session.audio_rate_hz
    # Audio sample j is at session time offset + j / arate; the stretch starts at s0 / rate.
    a0 = max(0, int(np.floor((s0 / rate - session.audio_offset_s) * arate)))
    a1 = min(
        session.audio.shape[0], int(np.ceil(((s0 + n) / rate - session.audio_offset_s) * arate))
    )
    offset = session.audio_offset_s + a0 / arate - s0 / rate
    return emg, session.audio[a0:a1].astype(np.float32), float(offset)


def write_training_bundle(
    out: Path,
    *,
    model_file: Path,
    features: FeatureSet,
    normalization: Normalization,
    expression_head: bool,
    poses: Mapping[str, Sequence[float]],
    dataset_md5: str,
    mlflow: MlflowInfo,
    git: GitInfo,
    golden_input: NDArray[np.float32],
    golden_session: Session,
    export: ExportParams,
    variants: Mapping[str, Path] | None = None,
    audio_encoder: tuple[Path, AudioEncoderInfo] | None = None,
) -> BundleManifest:
    """The deploy bundle of one trained model, its raw golden stretch cut from
    ``golden_session``; written and verified by the edge's ``write_bundle``."""
    emg, audio, offset = golden_raw(golden_session, features.config, export.golden_raw_s)
    return write_bundle(
        out,
        model_file=model_file,
        features=features.config,
        normalization=normalization,
        outputs=output_specs(features.motors, features.expressions, expression_head),
        motors=features.motors,
        poses={name: list(pose) for name, pose in poses.items()},
        expressions=features.expressions,
        dataset_md5=dataset_md5,
        mlflow=mlflow,
        git=git,
        variants=variants,
        audio_encoder=audio_encoder,
        golden_input=golden_input,
        golden_raw_emg=emg,
        golden_raw_audio=audio,
        golden_audio_offset_s=offset,
        golden_atol=export.golden_atol,
    )
