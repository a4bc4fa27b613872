"""PyTorch -> ONNX (dynamo exporter, one self-contained file, dynamic batch), the parity check,
the int8 static QDQ variant and its speed, and the TorchScript size for comparison.

The parity check runs both on the same test windows; a difference above the tolerance raises
``ParityError`` so the pipeline fails instead of shipping a model the edge would compute
differently.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from numpy.typing import NDArray
from torch import nn

INPUT_NAME = "features"
OUTPUT_NAMES = ("motors", "expression")


class ExportError(RuntimeError):
    """The ONNX file could not be produced or is not what the edge expects."""


class ParityError(ExportError):
    """ONNX Runtime and PyTorch disagree on the test windows by more than the tolerance."""


@dataclass(frozen=True)
class Parity:
    windows: int
    max_abs_diff: dict[str, float]
    atol: float

    @property
    def worst(self) -> float:
        return max(self.max_abs_diff.values())

    @property
    def ok(self) -> bool:
        return self.worst <= self.atol


@dataclass(frozen=True)
class Latency:
    """Per-call latency of batch-1 inference on one intra-op thread (as on the edge)."""

    median_ms: float
    p90_ms: float
    runs: int


def export_onnx(model: nn.Module, example: NDArray[np.float32], path: Path, opset: int) -> Path:
    """Write ``model`` as one ONNX file (weights inside) with a dynamic batch dimension."""
    model.eval()
    x = torch.from_numpy(example)
    batch = torch.export.Dim("batch", min=1)
    # The exporter narrates its phases on stdout and warns about optional torchvision ops and
    # its own deprecations; keep the terminal for our own progress.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            (x,),
            dynamo=True,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({0: batch},),
            external_data=False,
            verbose=False,
        )
    if program is None:
        raise ExportError("torch.onnx.export returned no program")
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(path, external_data=False)
    check_onnx_file(path, opset)
    return path


def check_onnx_file(path: Path, opset: int) -> None:
    """One file, valid, opset >= ``opset``, dynamic batch, the agreed input/output names."""
    proto = onnx.load(str(path), load_external_data=False)
    onnx.checker.check_model(proto)
    for init in proto.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise ExportError(f"{path}: initializer {init.name} is stored outside the file")
    got = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if got < opset:
        raise ExportError(f"{path}: opset {got}, expected >= {opset}")
    inputs = [i.name for i in proto.graph.input]
    outputs = [o.name for o in proto.graph.output]
    if inputs != [INPUT_NAME] or tuple(outputs) != OUTPUT_NAMES:
        raise ExportError(
            f"{path}: inputs {inputs} / outputs {outputs}, expected [{INPUT_NAME}] / "
            f"{list(OUTPUT_NAMES)}"
        )
    dim0 = proto.graph.input[0].type.tensor_type.shape.dim[0]
    if not dim0.dim_param:
        raise ExportError(f"{path}: the batch dimension is fixed ({dim0.dim_value}), not dynamic")


def _session(path: Path, threads: int = 1):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_onnx(
    path: Path, inputs: NDArray[np.float32], batch_size: int = 1024
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Both outputs (motors, expression) from ONNX Runtime, batched."""
    sess = _session(path)
    motors, logits = [], []
    for start in range(0, inputs.shape[0], batch_size):
        m, lg = sess.run(list(OUTPUT_NAMES), {INPUT_NAME: inputs[start : start + batch_size]})
        motors.append(m)
        logits.append(lg)
    return np.concatenate(motors), np.concatenate(logits)


def check_parity(model: nn.Module, path: Path, inputs: NDArray[np.float32], atol: float) -> Parity:
    """Max |ONNX - PyTorch| per output over ``inputs``; raises ParityError above ``atol``."""
    model.eval()
    with torch.no_grad():
        ref = [t.numpy() for t in model(torch.from_numpy(inputs))]
    got = run_onnx(path, inputs)
    diffs = {
        name: float(np.abs(g - r).max()) if r.size else 0.0
        for name, g, r in zip(OUTPUT_NAMES, got, ref, strict=True)
    }
    parity = Parity(windows=int(inputs.shape[0]), max_abs_diff=diffs, atol=atol)
    if not parity.ok:
        raise ParityError(
            f"{path}: ONNX vs PyTorch max abs difference {parity.worst:.3g} on "
            f"{parity.windows} test windows exceeds {atol:g} ({diffs})"
        )
    return parity


class _Calibration:
    """ONNX Runtime's CalibrationDataReader protocol over training windows, one batch each."""

    def __init__(self, windows: NDArray[np.float32], batch: int) -> None:
        self._batches = iter([windows[i : i + batch] for i in range(0, windows.shape[0], batch)])

    def get_next(self) -> dict[str, NDArray[np.float32]] | None:
        x = next(self._batches, None)
        return None if x is None else {INPUT_NAME: x}

    def rewind(self) -> None:  # pragma: no cover - part of the reader protocol
        raise NotImplementedError


def quantize_int8(float_path: Path, out_path: Path, calibration: NDArray[np.float32]) -> Path:
    """Static int8 QDQ (per-channel weights, MinMax calibration on ``calibration`` windows)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(float_path), str(pre), skip_symbolic_shape=False)
        quantize_static(
            str(pre),
            str(out_path),
            _Calibration(calibration, 64),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibration_providers=["CPUExecutionProvider"],
        )
    return out_path


def benchmark(path: Path, window: NDArray[np.float32], runs: int, warmup: int = 20) -> Latency:
    """Latency of one window (batch 1) on one thread: the edge's per-hop cost."""
    sess = _session(path)
    x = window[None] if window.ndim == 2 else window[:1]
    feed = {INPUT_NAME: x}
    for _ in range(warmup):
        sess.run(None, feed)
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times[i] = time.perf_counter() - t0
    return Latency(
        median_ms=float(np.median(times) * 1e3),
        p90_ms=float(np.percentile(times, 90) * 1e3),
        runs=runs,
    )


def torchscript_size(model: nn.Module, example: NDArray[np.float32]) -> int:
    """Bytes of the traced TorchScript file, the format ONNX replaces on the edge."""
    model.eval()
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # jit is deprecated: that is the point
        traced = torch.jit.trace(model, torch.from_numpy(example))  # type: ignore[no-untyped-call]
        path = Path(tmp) / "model.pt"
        traced.save(str(path))
        return path.stat().st_size
