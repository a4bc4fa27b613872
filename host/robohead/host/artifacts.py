"""The values passed between the pipeline's steps (each has a materializer or is pydantic).

Small descriptive results are pydantic models (ZenML stores them as JSON); the big numeric ones
(features, weights, ONNX files) are dataclasses with the npz/torch/file materializers of
``robohead.host.materializers``, so nothing is pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from robohead.edge.bundle import AudioEncoderInfo
from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.normalize import Normalization
from robohead.host.windows import SessionFrames


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SessionRef(_Frozen):
    session_id: str  # "<subject>/<session>"
    subject: str
    path: str
    sampling_rate_hz: float


class DatasetIndex(_Frozen):
    """The validated sessions of one data version (its DVC md5) at one git commit."""

    root: str
    dvc_md5: str
    code_version: str  # git commit (+ uncommitted diff hash)
    sessions: tuple[SessionRef, ...]

    def ref(self, session_id: str) -> SessionRef:
        for s in self.sessions:
            if s.session_id == session_id:
                return s
        raise KeyError(f"no session {session_id!r} in the dataset")


@dataclass(frozen=True)
class AudioEncoderExport:
    """The Wav2Vec2 audio encoder as exported once per pipeline run (``dsp.audio.features:
    wav2vec2``): the ONNX file that computes the training features and ships in the bundle."""

    onnx: bytes
    info: AudioEncoderInfo  # input/output names, window_samples, dim
    sha256: str  # of ``onnx``
    model: str  # dsp.audio.wav2vec2_model as given (path or hub id)
    source_digest: str  # robohead.host.audio_encoder.model_digest of the model folder
    parity_max_abs_diff: float  # ONNX Runtime vs PyTorch on the export's check windows


@dataclass(frozen=True)
class FeatureSet:
    """Every session's feature frames and labels, plus what is needed to rebuild them."""

    config: FeatureConfig
    motors: tuple[str, ...]
    expressions: tuple[str, ...]
    sessions: tuple[SessionFrames, ...]
    end_samples: tuple[Any, ...]  # per session: (m,) int64 exclusive end sample of each frame
    audio_encoder_sha256: str | None = None  # the encoder ONNX the audio features came from

    def by_id(self, ids: tuple[str, ...]) -> list[SessionFrames]:
        index = {s.session_id: s for s in self.sessions}
        return [index[i] for i in ids]

    def end_sample(self, session_id: str) -> Any:
        for s, e in zip(self.sessions, self.end_samples, strict=True):
            if s.session_id == session_id:
                return e
        raise KeyError(session_id)


@dataclass(frozen=True)
class TrainedModel:
    """Weights of the best epoch, how to rebuild the module, and the normalisation it expects."""

    build: dict[str, Any]  # keyword arguments of models.build_model
    state: dict[str, Any]  # state_dict (tensors)
    normalization: Normalization
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0

    def module(self) -> Any:
        from robohead.host.models import build_model

        net = build_model(**self.build)
        net.load_state_dict(self.state)
        net.eval()
        return net

    def deployable(self) -> Any:
        """The module that is exported: motors + expression probabilities."""
        from robohead.host.models import Deployed

        return Deployed(self.module()).eval()


@dataclass(frozen=True)
class OnnxExport:
    """The exported files (bytes) and the export report (parity, sizes, int8 change, speed)."""

    float_onnx: bytes
    int8_onnx: bytes | None
    report: dict[str, float]


class Evaluation(_Frozen):
    metrics: dict[str, float]
    test_sessions: tuple[str, ...]
    confusion: list[list[int]]
    loss_rows: list[dict[str, float]]  # epoch, train_loss, val_loss (DVC plot)
    trace_rows: list[dict[str, float | str]]  # one test session's targets and predictions
    class_rows: list[dict[str, str]]  # true/predicted expression of every 5th test window


class RegisteredVersion(_Frozen):
    model_name: str
    version: str
    run_id: str
    experiment_id: str


class BundleInfo(_Frozen):
    run_id: str
    artifact_path: str  # under the run's artifacts
    model_version: str
    manifest_sha256: str


class Promotion(_Frozen):
    model_name: str
    version: str
    promoted: bool
    candidate_mae: float
    champion_version: str | None
    champion_mae: float | None
    test_sessions: tuple[str, ...]
    reason: str
