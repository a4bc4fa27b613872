"""Step: ONNX export (dynamo, one file, dynamic batch) + parity gate + int8 QDQ variant.

Fails the pipeline (``ParityError``) when ONNX Runtime and PyTorch differ by more than
``export.parity_atol`` on the test windows. Reports sizes (ONNX float/int8, TorchScript), the
int8 accuracy change and the batch-1 latency of both on one thread.
"""

from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from robohead.host.artifacts import FeatureSet, OnnxExport, TrainedModel
from robohead.host.materializers import OnnxExportMaterializer
from robohead.host.splits import Split
from robohead.host.timing import timed
from robohead.host.train_params import ExportParams
from robohead.host.zenml_stack import TRACKER


def _spread(n_total: int, n: int) -> Any:
    """Up to ``n`` indices spread evenly over ``range(n_total)`` (a sample of every session)."""
    import numpy as np

    return np.unique(np.linspace(0, n_total - 1, num=min(n, n_total)).round().astype(np.int64))


@step(experiment_tracker=TRACKER, enable_cache=False, output_materializers=OnnxExportMaterializer)
def export_onnx(
    model: TrainedModel, features: FeatureSet, split: Split, export: ExportParams
) -> Annotated[OnnxExport, "onnx"]:
    import tempfile
    from pathlib import Path

    import mlflow

    from robohead.host import export as X
    from robohead.host import metrics as M
    from robohead.host.progress import console, phase
    from robohead.host.windows import build_windows

    k = features.config.context_frames
    net = model.deployable()
    test = build_windows(features.by_id(split.test), model.normalization, k)
    train = build_windows(features.by_id(split.train), model.normalization, k)
    inputs = test.inputs()
    report: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        float_path = Path(tmp) / "model.onnx"
        with phase(f"export ONNX (dynamo, opset {export.opset})"):
            X.export_onnx(net, inputs[:2], float_path, export.opset)
        parity = X.check_parity(
            net, float_path, inputs[_spread(len(inputs), export.parity_windows)], export.parity_atol
        )
        console.print(
            f"[green]parity ok[/green]: max |ONNX - PyTorch| = {parity.worst:.2e} on "
            f"{parity.windows} test windows (limit {export.parity_atol:g})"
        )
        report.update(
            parity_max_abs_diff=parity.worst,
            parity_windows=float(parity.windows),
            parity_passed=1.0,
            onnx_bytes=float(float_path.stat().st_size),
            torchscript_bytes=float(X.torchscript_size(net, inputs[:1])),
        )
        true = test.motor_targets()
        f_motors, f_probs = X.run_onnx(float_path, inputs)
        report["onnx_test_mae"] = M.regression_metrics(f_motors, true, features.motors)["mae"]
        lat = X.benchmark(float_path, inputs[0], export.bench_runs)
        report["onnx_latency_ms"] = lat.median_ms
        int8_bytes = None
        if export.int8:
            int8_path = Path(tmp) / "model.int8.onnx"
            calib = train.inputs(_spread(train.size, export.calibration_windows))
            with phase(f"quantise int8 (static QDQ, {len(calib)} calibration windows)"):
                X.quantize_int8(float_path, int8_path, calib)
            q_motors, q_probs = X.run_onnx(int8_path, inputs)
            q_mae = M.regression_metrics(q_motors, true, features.motors)["mae"]
            qlat = X.benchmark(int8_path, inputs[0], export.bench_runs)
            report.update(
                int8_bytes=float(int8_path.stat().st_size),
                int8_test_mae=q_mae,
                int8_mae_change=q_mae - report["onnx_test_mae"],
                int8_latency_ms=qlat.median_ms,
                int8_speedup=lat.median_ms / qlat.median_ms,
            )
            if f_probs.shape[1]:
                true_cls = test.expression_targets()
                report["int8_expression_accuracy_change"] = M.accuracy(
                    q_probs.argmax(1), true_cls
                ) - M.accuracy(f_probs.argmax(1), true_cls)
            int8_bytes = int8_path.read_bytes()
            with timed("mlflow"):
                mlflow.log_artifact(str(int8_path), "onnx")
        with timed("mlflow"):
            mlflow.log_artifact(str(float_path), "onnx")
        float_bytes = float_path.read_bytes()
    with timed("mlflow"):
        mlflow.log_metrics({f"export_{k_}": v for k_, v in report.items()})
    console.print(
        f"ONNX {report['onnx_bytes'] / 1024:.1f} KiB vs TorchScript "
        f"{report['torchscript_bytes'] / 1024:.1f} KiB; float {report['onnx_latency_ms']:.3f} ms"
        + (
            f", int8 {report['int8_latency_ms']:.3f} ms (MAE change "
            f"{report['int8_mae_change']:+.4f})"
            if export.int8
            else ""
        )
    )
    return OnnxExport(float_onnx=float_bytes, int8_onnx=int8_bytes, report=report)
