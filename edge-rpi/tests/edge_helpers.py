"""Helpers of the edge daemon tests: bundles whose output is known, built with onnx helpers."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from robohead.edge.bundle import GitInfo, MlflowInfo, write_bundle
from robohead.edge.dsp import FeatureConfig, Normalization, extract_session
from robohead.edge.predictor import OutputSpec

MOTORS = ("brows", "smile", "jaw")
OUTPUTS = (OutputSpec(name="motors", kind="motor_targets", labels=MOTORS, range=(0.0, 1.0)),)


def constant_model(path: Path, k: int, n_features: int, targets: Sequence[float]) -> Path:
    """(batch, K, F) -> motors = sigmoid(0 * x + logit(targets)): a model whose output is known."""
    t = np.clip(np.asarray(targets, dtype=np.float64), 1e-4, 1 - 1e-4)
    bias = np.log(t / (1 - t)).astype(np.float32)
    d = k * n_features
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["features"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "w", "b"], ["z"]),
            helper.make_node("Sigmoid", ["z"], ["motors"]),
        ],
        "constant",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", k, n_features])],
        [helper.make_tensor_value_info("motors", TensorProto.FLOAT, ["batch", len(MOTORS)])],
        [
            numpy_helper.from_array(np.zeros((d, len(MOTORS)), np.float32), "w"),
            numpy_helper.from_array(bias, "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def constant_bundle(
    out: Path,
    cfg: FeatureConfig,
    emg: np.ndarray,
    audio: np.ndarray | None,
    targets: Sequence[float],
    *,
    schema_hash: int | None = None,
    version: str = "1",
) -> Path:
    """A complete, verifying bundle at `out` whose model always outputs `targets`."""
    work = out.with_name(out.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    frames = extract_session(cfg, emg, audio)
    norm = Normalization.fit(frames.values, cfg.std_floor)
    model = constant_model(work / "constant.onnx", cfg.context_frames, cfg.n_features, targets)
    write_bundle(
        out,
        model_file=model,
        features=cfg,
        normalization=norm,
        outputs=OUTPUTS,
        motors=MOTORS,
        poses={"neutral": (0.5, 0.0, 0.0), "smile": (0.5, 1.0, 0.0), "surprise": (1.0, 0.0, 1.0)},
        expressions=(),
        dataset_md5="0" * 32,
        mlflow=MlflowInfo(
            run_id="run-" + version, model_name="robohead-expression", model_version=version
        ),
        git=GitInfo(commit="0" * 40, dirty=False),
        schema_hash=schema_hash,
    )
    shutil.rmtree(work)
    return out


def swap_in(src: Path, dst: Path) -> None:
    """Replace the bundle directory `dst` with `src` in one rename, as make deploy-rpi does."""
    staging = dst.with_name(dst.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(src, staging)
    old = dst.with_name(dst.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if dst.exists():
        dst.rename(old)
    staging.rename(dst)
