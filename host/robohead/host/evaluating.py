"""Test metrics of a TrainedModel on the test sessions (every window, stride 1), with the
predict-the-training-mean baseline and the majority-class expression baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from robohead.host import metrics as M
from robohead.host.artifacts import FeatureSet, TrainedModel
from robohead.host.splits import Split
from robohead.host.training import predict
from robohead.host.windows import WindowSet, build_windows


@dataclass(frozen=True)
class TestResult:
    metrics: dict[str, float]
    windows: WindowSet
    motors: NDArray[np.float32]  # predicted (N, motors)
    logits: NDArray[np.float32]  # (N, C), C = 0 without the expression head
    confusion: NDArray[np.int64]  # (C, C) rows true, columns predicted

    __test__ = False  # not a pytest class


def evaluate(trained: TrainedModel, features: FeatureSet, split: Split) -> TestResult:
    k = features.config.context_frames
    test = build_windows(features.by_id(split.test), trained.normalization, k)
    train = build_windows(features.by_id(split.train), trained.normalization, k)
    motors, logits = predict(trained.module(), test.inputs())
    true = test.motor_targets()
    result = M.regression_metrics(motors, true, features.motors, prefix="test_")
    result.update(M.mean_baseline(train.motor_targets(), true, features.motors))
    result["test_mae_vs_baseline"] = result["baseline_mae"] / max(result["test_mae"], 1e-12)
    n_cls = len(features.expressions)
    confusion = np.zeros((n_cls, n_cls), dtype=np.int64)
    if logits.shape[1]:
        pred_cls = logits.argmax(axis=1)
        true_cls = test.expression_targets()
        result["test_expression_accuracy"] = M.accuracy(pred_cls, true_cls)
        majority = np.bincount(train.expression_targets(), minlength=n_cls).argmax()
        result["baseline_expression_accuracy"] = M.accuracy(
            np.full_like(true_cls, majority), true_cls
        )
        confusion = M.confusion(pred_cls, true_cls, n_cls)
    result["test_windows"] = float(test.size)
    return TestResult(result, test, motors, logits, confusion)
