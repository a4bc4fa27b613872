"""The training pipeline's side of ``dsp.audio.features: wav2vec2``.

Before the pipeline runs, ``encoder_source`` finds the model named by ``dsp.audio.wav2vec2_model``
(a local folder, or a hub id already in the local Hugging Face cache; never a download) and
hashes it; that digest is a parameter of the export step, so ZenML re-exports, and re-computes
the features, when the weights change behind an unchanged name. ``build_audio_encoder`` exports
the encoder to ONNX once (parity-checked against PyTorch); ``runtime_encoder`` runs those exact
bytes with the edge's ONNX Runtime wrapper, so the training features are the numbers the Pi will
compute from the same file shipped in the bundle. With ``logmel`` or ``none`` nothing here runs.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from robohead.edge.bundle import AudioEncoderInfo
from robohead.edge.dsp.config import AudioConfig, FeatureConfig
from robohead.edge.inference import OnnxAudioEncoder, OnnxModel
from robohead.host.artifacts import AudioEncoderExport


def wants_audio_encoder(dsp: Mapping[str, Any]) -> bool:
    """Whether params.yaml's ``dsp`` section asks for Wav2Vec2 audio features."""
    return bool(dict(dsp.get("audio") or {}).get("features") == "wav2vec2")


@dataclass(frozen=True)
class EncoderSource:
    model: str  # dsp.audio.wav2vec2_model as written in params.yaml
    folder: Path  # the local folder it resolved to
    digest: str  # robohead.host.audio_encoder.model_digest(folder)


def encoder_source(
    dsp: Mapping[str, Any], root: Path, *, cache_dir: Path | None = None
) -> EncoderSource | None:
    """The model folder and its digest, or None when the audio features are not wav2vec2.
    Raises ``AudioEncoderError`` naming ``dsp.audio.wav2vec2_model`` when it is not local."""
    if not wants_audio_encoder(dsp):
        return None
    from robohead.host.audio_encoder import model_digest, resolve_model

    model = str(dict(dsp["audio"]).get("wav2vec2_model") or "")
    folder = resolve_model(model, root=root, cache_dir=cache_dir)
    return EncoderSource(model=model, folder=folder, digest=model_digest(folder))


def encoder_window_samples(dsp: Mapping[str, Any], audio_rate_hz: int) -> int:
    """Audio samples per encoder call: ``dsp.audio.wav2vec2_window_ms`` at the audio rate."""
    audio = AudioConfig.model_validate({**dict(dsp["audio"]), "sampling_rate_hz": audio_rate_hz})
    return audio.wav2vec2_window_samples


def build_audio_encoder(
    source: EncoderSource, window_samples: int, *, opset: int, atol: float, seed: int = 0
) -> AudioEncoderExport:
    """Load the Wav2Vec2 model, export it (dynamo, one file, dynamic batch) and check ONNX
    Runtime against PyTorch (``AudioEncoderError`` above ``atol``)."""
    from robohead.host.audio_encoder import export_checked, load_wav2vec2

    encoder = load_wav2vec2(source.folder)
    with tempfile.TemporaryDirectory(prefix="robohead-audio-encoder-") as tmp:
        path = Path(tmp) / "audio_encoder.onnx"
        info, worst = export_checked(
            encoder, path, window_samples, opset=opset, atol=atol, seed=seed
        )
        data = path.read_bytes()
    return AudioEncoderExport(
        onnx=data,
        info=info,
        sha256=hashlib.sha256(data).hexdigest(),
        model=source.model,
        source_digest=source.digest,
        parity_max_abs_diff=worst,
    )


ENCODER_BATCH = 64  # windows per ONNX Runtime call offline: wav2vec2-base needs ~2.7 MB of
# activations per 400 ms window in its first conv layer alone, so a session's 2048-frame block
# in one call would take ~5 GB


class BatchedEncoder:
    """An ``AudioEncoder`` that feeds ``inner`` at most ``batch`` windows per call."""

    def __init__(self, inner: OnnxAudioEncoder, batch: int = ENCODER_BATCH) -> None:
        self.inner, self.batch = inner, batch

    def __call__(self, windows: NDArray[np.float32]) -> NDArray[np.float32]:
        if windows.shape[0] <= self.batch:
            return self.inner(windows)
        parts = [
            self.inner(windows[b : b + self.batch]) for b in range(0, len(windows), self.batch)
        ]
        return np.concatenate(parts)


def runtime_encoder(export: AudioEncoderExport) -> BatchedEncoder:
    """The exported bytes through the edge's ONNX Runtime wrapper (what the Pi runs)."""
    name = f"audio_encoder.onnx {export.sha256[:12]}"
    return BatchedEncoder(OnnxAudioEncoder(OnnxModel(export.onnx, name=name)))


def config_with_encoder(cfg: FeatureConfig, export: AudioEncoderExport) -> FeatureConfig:
    """The session's feature config completed with the encoder's embedding size, after
    checking the encoder was exported for this config's audio window."""
    want = cfg.audio.wav2vec2_window_samples
    if export.info.window_samples != want:
        raise ValueError(
            f"audio encoder {export.sha256[:12]} takes {export.info.window_samples} samples, "
            f"dsp.audio.wav2vec2_window_ms at {cfg.audio.sampling_rate_hz} Hz is {want}"
        )
    return with_encoder_dim(cfg, export.info)


def with_encoder_dim(cfg: FeatureConfig, info: AudioEncoderInfo) -> FeatureConfig:
    """The feature config with ``audio.wav2vec2_dim`` set from the export (the edge needs F)."""
    audio = cfg.audio.model_copy(update={"wav2vec2_dim": info.dim})
    return FeatureConfig.model_validate({**cfg.model_dump(), "audio": audio.model_dump()})
