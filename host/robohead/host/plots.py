"""Evaluation figures (matplotlib, Agg backend, no display needed) logged as MLflow artifacts."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray


def traces(
    time_s: NDArray[np.floating],
    true: NDArray[np.floating],
    pred: NDArray[np.floating],
    names: Sequence[str],
    title: str,
) -> Figure:
    """Predicted vs true target per motor over one test session."""
    fig, axes = plt.subplots(len(names), 1, figsize=(11, 2.2 * len(names)), sharex=True)
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(time_s, true[:, i], lw=1.2, label="target")
        ax.plot(time_s, pred[:, i], lw=0.9, label="predicted")
        ax.set_ylabel(names[i])
        ax.set_ylim(-0.05, 1.05)
    np.atleast_1d(axes)[0].legend(loc="upper right")
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def feature_samples(
    time_s: NDArray[np.floating],
    frames: NDArray[np.floating],
    feature_names: Sequence[str],
    channels: Sequence[str],
    title: str,
) -> Figure:
    """Each channel's features (z-scored, one line per feature) over the same stretch."""
    fig, axes = plt.subplots(len(channels), 1, figsize=(11, 2.0 * len(channels)), sharex=True)
    for ax, ch in zip(np.atleast_1d(axes), channels, strict=True):
        cols = [j for j, n in enumerate(feature_names) if n.endswith(f":{ch}")]
        for j in cols:
            ax.plot(time_s, frames[:, j], lw=0.7, label=feature_names[j].split(":")[0])
        ax.set_ylabel(ch)
    np.atleast_1d(axes)[0].legend(loc="upper right", ncol=6, fontsize=7)
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(matrix: NDArray[np.integer], classes: Sequence[str]) -> Figure:
    """Counts (rows: true, columns: predicted), normalised colour per true class."""
    m = np.asarray(matrix, dtype=np.float64)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(
                j,
                i,
                str(int(m[i, j])),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("expression confusion (test windows)")
    fig.tight_layout()
    return fig


def losses(epochs: Sequence[float], train: Sequence[float], val: Sequence[float]) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, train, label="train")
    ax.plot(epochs, val, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    return fig


def close(fig: Figure) -> None:
    plt.close(fig)
