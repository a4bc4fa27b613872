"""A tiny ONNX model (built with the onnx helper API, test-only) and a complete test bundle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from robohead.edge.bundle import BundleManifest, GitInfo, MlflowInfo, write_bundle
from robohead.edge.dsp import FeatureConfig, Normalization, extract_session
from robohead.edge.predictor import OutputSpec

MOTORS = ("brows", "smile", "jaw")
EXPRESSIONS = ("neutral", "smile", "speak")
OUTPUTS = (
    OutputSpec(name="motors", kind="motor_targets", labels=MOTORS, range=(0.0, 1.0)),
    OutputSpec(name="expression", kind="expression_logits", labels=EXPRESSIONS, range=None),
)


def tiny_model(path: Path, k: int, n_features: int, seed: int = 0) -> Path:
    """features (batch, K, F) -> Flatten -> linear -> Sigmoid = motors (batch, 3);
    linear -> expression logits (batch, 3). Opset 18, dynamic batch."""
    rng = np.random.default_rng(seed)
    d = k * n_features
    w_m = (rng.standard_normal((d, len(MOTORS))) / np.sqrt(d)).astype(np.float32)
    w_e = (rng.standard_normal((d, len(EXPRESSIONS))) / np.sqrt(d)).astype(np.float32)
    inits = [
        numpy_helper.from_array(w_m, "w_m"),
        numpy_helper.from_array(rng.standard_normal(len(MOTORS)).astype(np.float32), "b_m"),
        numpy_helper.from_array(w_e, "w_e"),
    ]
    nodes = [
        helper.make_node("Flatten", ["features"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w_m", "b_m"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["motors"]),
        helper.make_node("MatMul", ["flat", "w_e"], ["expression"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", k, n_features])],
        [
            helper.make_tensor_value_info("motors", TensorProto.FLOAT, ["batch", len(MOTORS)]),
            helper.make_tensor_value_info("expression", TensorProto.FLOAT, ["batch", 3]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def make_bundle(
    tmp: Path,
    cfg: FeatureConfig,
    emg: np.ndarray,
    audio: np.ndarray | None,
    *,
    seed: int = 0,
    schema_hash: int | None = None,
    with_variant: bool = False,
) -> tuple[Path, BundleManifest]:
    frames = extract_session(cfg, emg, audio)
    norm = Normalization.fit(frames.values, cfg.std_floor)
    model = tiny_model(tmp / "tiny.onnx", cfg.context_frames, cfg.n_features, seed)
    variants = {}
    if with_variant:  # stands in for an int8 model: same graph, other weights
        variants["int8"] = tiny_model(tmp / "v.onnx", cfg.context_frames, cfg.n_features, seed + 1)
    n_raw = cfg.window_samples + (cfg.context_frames + 4) * cfg.hop_samples
    a_raw = None if audio is None else audio[: n_raw * 16]
    manifest = write_bundle(
        tmp / "bundle",
        model_file=model,
        features=cfg,
        normalization=norm,
        outputs=OUTPUTS,
        motors=MOTORS,
        poses={"neutral": (0.5, 0.0, 0.0), "smile": (0.5, 1.0, 0.0)},
        expressions=EXPRESSIONS,
        dataset_md5="d41d8cd98f00b204e9800998ecf8427e.dir",
        mlflow=MlflowInfo(run_id="abc123", model_name="robohead-expression", model_version="1"),
        git=GitInfo(commit="0" * 40, dirty=False),
        golden_raw_emg=emg[:n_raw],
        golden_raw_audio=a_raw,
        schema_hash=schema_hash,
        variants=variants,
    )
    return tmp / "bundle", manifest
