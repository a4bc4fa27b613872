"""ONNX Runtime runner of the edge: one intra-op and one inter-op thread, sequential execution,
so inference never competes with the serial reader and DSP for the Pi's cores and its timing
stays predictable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray


class OnnxModelError(RuntimeError):
    """The ONNX file cannot be loaded or run (names the file and the cause)."""


class OnnxModel:
    """A loaded ONNX model. ``run({name: array}) -> {output name: array}``."""

    def __init__(self, model: str | Path | bytes, *, name: str | None = None) -> None:
        self.name = name or (str(model) if not isinstance(model, bytes) else "<bytes>")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        source = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(
                source, sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own untyped exceptions
            raise OnnxModelError(f"{self.name}: ONNX Runtime cannot load it: {exc}") from exc
        self.input_names: list[str] = [i.name for i in self.session.get_inputs()]
        self.output_names: list[str] = [o.name for o in self.session.get_outputs()]
        self.input_shapes: dict[str, list[int | str | None]] = {
            i.name: list(i.shape) for i in self.session.get_inputs()
        }
        self.output_shapes: dict[str, list[int | str | None]] = {
            o.name: list(o.shape) for o in self.session.get_outputs()
        }

    def run(self, inputs: Mapping[str, NDArray[np.generic]]) -> dict[str, NDArray[np.float32]]:
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise OnnxModelError(f"{self.name}: missing inputs {sorted(missing)}")
        try:
            outs = self.session.run(self.output_names, dict(inputs))
        except Exception as exc:
            raise OnnxModelError(f"{self.name}: inference failed: {exc}") from exc
        return {n: np.asarray(o) for n, o in zip(self.output_names, outs, strict=True)}

    def run1(self, x: NDArray[np.generic]) -> NDArray[np.float32]:
        """Single-input, single-output convenience call."""
        if len(self.input_names) != 1 or len(self.output_names) != 1:
            raise OnnxModelError(
                f"{self.name}: run1 needs one input and one output, has "
                f"{self.input_names} -> {self.output_names}"
            )
        return self.run({self.input_names[0]: x})[self.output_names[0]]


class OnnxAudioEncoder:
    """An exported audio encoder (e.g. Wav2Vec2) as a DSP ``AudioEncoder``: (m, L) -> (m, D)."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model

    def __call__(self, windows: NDArray[np.float32]) -> NDArray[np.float32]:
        x = np.ascontiguousarray(windows, dtype=np.float32)
        if x.shape[0] == 0:
            d = self.model.output_shapes[self.model.output_names[0]][-1]
            return np.empty((0, d if isinstance(d, int) else 0), dtype=np.float32)
        return self.model.run1(x)
