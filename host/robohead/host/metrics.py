"""Test metrics of motor regression and expression classification, with a mean baseline.

The baseline predicts the training set's mean target for every window: a model that does not
beat it by a wide margin has learnt nothing from the sEMG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def regression_metrics(
    pred: NDArray[np.floating], true: NDArray[np.floating], names: Sequence[str], prefix: str = ""
) -> dict[str, float]:
    """Per-motor MAE, RMSE and R2 plus their means (``<prefix>mae`` is the gate metric)."""
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(true, dtype=np.float64)
    err = p - t
    mae = np.abs(err).mean(axis=0)
    rmse = np.sqrt((err**2).mean(axis=0))
    ss_res = (err**2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    r2 = 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, np.nan)
    out: dict[str, float] = {}
    for i, name in enumerate(names):
        out[f"{prefix}mae_{name}"] = float(mae[i])
        out[f"{prefix}rmse_{name}"] = float(rmse[i])
        out[f"{prefix}r2_{name}"] = float(np.nan_to_num(r2[i]))
    out[f"{prefix}mae"] = float(mae.mean())
    out[f"{prefix}rmse"] = float(rmse.mean())
    out[f"{prefix}r2"] = float(np.nan_to_num(r2).mean())
    return out


def accuracy(pred_class: NDArray[np.integer], true_class: NDArray[np.integer]) -> float:
    return float((np.asarray(pred_class) == np.asarray(true_class)).mean())


def confusion(
    pred_class: NDArray[np.integer], true_class: NDArray[np.integer], classes: int
) -> NDArray[np.int64]:
    """Rows: true class, columns: predicted class."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (np.asarray(true_class), np.asarray(pred_class)), 1)
    return m


def mean_baseline(
    train_targets: NDArray[np.floating], test_targets: NDArray[np.floating], names: Sequence[str]
) -> dict[str, float]:
    """Metrics of predicting the training mean (prefix ``baseline_``)."""
    mean = np.asarray(train_targets, dtype=np.float64).mean(axis=0)
    pred = np.broadcast_to(mean, np.asarray(test_targets).shape)
    return regression_metrics(pred, test_targets, names, prefix="baseline_")
