"""raw samples -> features -> normalise -> last K frames -> ONNX -> motor targets in [0, 1]
(+ expression probabilities). One class for the daemon (streaming), replay, and the host's
offline evaluation (``predict_session``), so all three see the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

from robohead.edge.dsp.audio_features import AudioEncoder
from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.extractor import FeatureExtractor, FeatureFrames, extract_session
from robohead.edge.dsp.normalize import ContextBuffer, Normalization, stack_context
from robohead.edge.inference import OnnxModel

if TYPE_CHECKING:
    from robohead.edge.bundle import Bundle

Float32Array = NDArray[np.float32]
Int64Array = NDArray[np.int64]
_BATCH = 512  # inputs per ONNX call offline


class OutputSpec(BaseModel):
    """One ONNX output: its name, what it means and the range of each element.

    kind ``motor_targets``: (batch, n_motors) in ``range`` (clipped to it);
    ``expression_logits``: (batch, n_classes), soft-maxed here; ``expression_probs``: as is.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    kind: Literal["motor_targets", "expression_logits", "expression_probs"]
    labels: tuple[str, ...] = Field(min_length=1, description="motor or expression names")
    range: tuple[float, float] | None = Field(description="[lo, hi] of every element, or null")


@dataclass(frozen=True)
class Prediction:
    """Predictions (m rows), each at the exclusive sEMG end sample of its newest frame."""

    end_sample: Int64Array
    motors: Float32Array  # (m, n_motors)
    expression: Float32Array | None  # (m, n_classes) probabilities, or None

    def __len__(self) -> int:
        return int(self.end_sample.shape[0])


def _softmax(z: Float32Array) -> Float32Array:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float32)


class Predictor:
    """Streaming predictor with its own DSP and context state (one per stream)."""

    def __init__(
        self,
        cfg: FeatureConfig,
        normalization: Normalization,
        model: OnnxModel,
        outputs: Sequence[OutputSpec],
        *,
        input_name: str,
        audio_offset_s: float = 0.0,
        audio_encoder: AudioEncoder | None = None,
        silent_audio: bool = False,
    ) -> None:
        if normalization.n_features != cfg.n_features:
            raise ValueError(
                f"normalization has {normalization.n_features} features, config {cfg.n_features}"
            )
        motor = [o for o in outputs if o.kind == "motor_targets"]
        expr = [o for o in outputs if o.kind != "motor_targets"]
        if len(motor) != 1 or len(expr) > 1:
            raise ValueError(
                "outputs: expected one motor_targets and at most one expression output"
            )
        self.cfg, self.normalization, self.model = cfg, normalization, model
        self.input_name = input_name
        self.motor_spec, self.expr_spec = motor[0], (expr[0] if expr else None)
        self.audio_offset_s, self.audio_encoder = audio_offset_s, audio_encoder
        self.extractor = FeatureExtractor(
            cfg,
            audio_offset_s=audio_offset_s,
            audio_encoder=audio_encoder,
            silent_audio=silent_audio,
        )
        self.context = ContextBuffer(cfg.context_frames, cfg.n_features)
        self._context_ends = np.empty(0, dtype=np.int64)

    @classmethod
    def from_bundle(
        cls, bundle: Bundle, *, audio_offset_s: float = 0.0, silent_audio: bool = False
    ) -> Predictor:
        """``silent_audio``: no microphone; audio features computed from silence (see
        FeatureExtractor) so predictions are not held back waiting for audio."""
        m = bundle.manifest
        return cls(
            m.features,
            m.normalization,
            bundle.model,
            m.model.outputs,
            input_name=m.model.input_name,
            audio_offset_s=audio_offset_s,
            audio_encoder=bundle.audio_encoder,
            silent_audio=silent_audio,
        )

    @property
    def warmup_samples(self) -> int:
        """sEMG samples before the first prediction: one window plus K-1 hops."""
        c = self.cfg
        return c.window_samples + (c.context_frames - 1) * c.hop_samples

    def reset(self) -> None:
        self.extractor.reset()
        self.context.reset()
        self._context_ends = np.empty(0, dtype=np.int64)

    def process(self, emg_chunk: ArrayLike, audio_chunk: ArrayLike | None = None) -> Prediction:
        """Feed raw counts (n, ch) (+ audio); returns a prediction per completed frame."""
        return self._from_frames(self.extractor.process(emg_chunk, audio_chunk))

    def finish(self) -> Prediction:
        """Flush frames held back waiting for audio (end of a record)."""
        return self._from_frames(self.extractor.finish())

    def _from_frames(self, frames: FeatureFrames) -> Prediction:
        inputs = self.context.push(self.normalization.apply(frames.values))
        k1 = self.cfg.context_frames - 1
        ends = np.concatenate([self._context_ends, frames.end_sample])
        self._context_ends = ends[-k1:] if k1 else ends[:0]
        return self.run(inputs, ends[ends.shape[0] - inputs.shape[0] :])

    def run(self, inputs: Float32Array, end_sample: Int64Array) -> Prediction:
        """Model inputs (b, K, F) float32 -> Prediction (batched ONNX calls)."""
        motors, expr = [], []
        for b in range(0, inputs.shape[0], _BATCH):
            out = self.model.run({self.input_name: np.ascontiguousarray(inputs[b : b + _BATCH])})
            motors.append(out[self.motor_spec.name])
            if self.expr_spec is not None:
                expr.append(out[self.expr_spec.name])
        n_m = len(self.motor_spec.labels)
        m = np.concatenate(motors) if motors else np.empty((0, n_m), np.float32)
        if self.motor_spec.range is not None:
            m = np.clip(m, *self.motor_spec.range)
        e: Float32Array | None = None
        if self.expr_spec is not None:
            n_e = len(self.expr_spec.labels)
            e = np.concatenate(expr) if expr else np.empty((0, n_e), np.float32)
            if self.expr_spec.kind == "expression_logits":
                e = _softmax(e)
        return Prediction(end_sample, m.astype(np.float32), e)

    def predict_session(self, emg: ArrayLike, audio: ArrayLike | None = None) -> Prediction:
        """A whole record offline (vectorised); leaves the streaming state untouched and
        equals streaming the record through ``process`` + ``finish``."""
        frames = extract_session(
            self.cfg,
            emg,
            audio,
            audio_offset_s=self.audio_offset_s,
            audio_encoder=self.audio_encoder,
        )
        inputs = stack_context(self.normalization.apply(frames.values), self.cfg.context_frames)
        return self.run(inputs, frames.end_sample[self.cfg.context_frames - 1 :])
