"""ONNX export (dynamo, one file, dynamic batch), the parity gate, int8 QDQ, sizes, latency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from robohead.host import export as X
from robohead.host.models import build_model


def _model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(
        arch,
        frames=10,
        features=6,
        motors=3,
        classes=4,
        hidden=16,
        layers=2,
        kernel_size=3,
        dropout=0.1,
    ).eval()


def _windows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 10, 6)).astype(np.float32)


@pytest.mark.parametrize("arch", ["tcn", "gru"])
def test_export_is_one_file_with_dynamic_batch_and_passes_parity(arch: str, tmp_path: Path) -> None:
    net = _model(arch)
    path = X.export_onnx(net, _windows(2), tmp_path / "m.onnx", opset=18)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no external data file
    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 18
    for batch in (1, 7, 33):
        motors, logits = X.run_onnx(path, _windows(batch, seed=batch))
        assert motors.shape == (batch, 3) and logits.shape == (batch, 4)
    parity = X.check_parity(net, path, _windows(64, seed=5), atol=1e-5)
    assert parity.ok and parity.worst <= 1e-5 and parity.windows == 64


def test_parity_gate_fails_when_onnx_and_pytorch_disagree(tmp_path: Path) -> None:
    net = _model("tcn")
    path = X.export_onnx(net, _windows(2), tmp_path / "m.onnx", opset=18)
    with torch.no_grad():
        net.motor_head.bias += 0.01  # the PyTorch model drifts after export
    with pytest.raises(X.ParityError, match="exceeds 1e-05"):
        X.check_parity(net, path, _windows(16), atol=1e-5)


def test_check_onnx_file_rejects_a_fixed_batch(tmp_path: Path) -> None:
    net = _model("mlp")
    path = X.export_onnx(net, _windows(2), tmp_path / "m.onnx", opset=18)
    proto = onnx.load(str(path))
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    dim.ClearField("dim_param")
    dim.dim_value = 2
    onnx.save(proto, str(tmp_path / "fixed.onnx"))
    with pytest.raises(X.ExportError, match="batch dimension is fixed"):
        X.check_onnx_file(tmp_path / "fixed.onnx", 18)


def test_int8_static_qdq_runs_close_to_float_and_is_smaller(tmp_path: Path) -> None:
    net = _model("tcn")
    f = X.export_onnx(net, _windows(2), tmp_path / "m.onnx", opset=18)
    q = X.quantize_int8(f, tmp_path / "m.int8.onnx", _windows(128, seed=9))
    proto = onnx.load(str(q))
    assert any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    x = _windows(64, seed=3)
    fm, _ = X.run_onnx(f, x)
    qm, _ = X.run_onnx(q, x)
    assert np.abs(fm - qm).max() < 0.05
    assert q.stat().st_size < f.stat().st_size
    lat = X.benchmark(q, x[0], runs=20, warmup=2)
    assert lat.runs == 20 and lat.median_ms > 0
    assert X.torchscript_size(net, x[:1]) > 0
