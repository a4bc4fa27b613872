"""From a FeatureSet and a split to a TrainedModel: normalisation on the training sessions,
windows, the model from params, the deterministic loop. No ZenML or MLflow here (the train step
and the architecture comparison both call it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from robohead.edge.dsp.normalize import Normalization
from robohead.host.artifacts import FeatureSet, TrainedModel
from robohead.host.models import build_model
from robohead.host.splits import Split
from robohead.host.train_params import ModelParams, TrainSection
from robohead.host.training import Epoch, make_deterministic, train
from robohead.host.windows import build_windows


def fit_model(
    features: FeatureSet,
    split: Split,
    model: ModelParams,
    params: TrainSection,
    on_epoch: Callable[[Epoch], None] | None = None,
) -> tuple[TrainedModel, dict[str, int]]:
    """Returns the best epoch's model and the sizes (windows, parameters) for logging."""
    make_deterministic(params.seed, params.threads)
    train_sessions = features.by_id(split.train)
    stats = Normalization.fit(
        np.concatenate([s.features for s in train_sessions]), features.config.std_floor
    )
    k = features.config.context_frames
    train_set = build_windows(train_sessions, stats, k, stride=params.window_stride)
    val_set = build_windows(features.by_id(split.val), stats, k, stride=params.window_stride)
    build: dict[str, Any] = {
        "arch": model.arch,
        "frames": k,
        "features": features.config.n_features,
        "motors": len(features.motors),
        "classes": len(features.expressions) if model.expression_head else 0,
        "hidden": model.hidden,
        "layers": model.layers,
        "kernel_size": model.kernel_size,
        "dropout": model.dropout,
    }
    net = build_model(**build)
    sizes = {
        "windows_train": train_set.size,
        "windows_val": val_set.size,
        "parameters": sum(p.numel() for p in net.parameters()),
    }
    result = train(
        net,
        train_set,
        val_set,
        seed=params.seed,
        epochs=params.epochs,
        batch_size=params.batch_size,
        learning_rate=params.learning_rate,
        weight_decay=params.weight_decay,
        expression_weight=params.expression_weight,
        patience=params.patience,
        on_epoch=on_epoch,
    )
    trained = TrainedModel(
        build=build,
        state={k_: v.detach().clone() for k_, v in result.model.state_dict().items()},
        normalization=stats,
        history=[
            {"epoch": e.epoch, "train_loss": e.train_loss, "val_loss": e.val_loss}
            for e in result.history
        ],
        best_epoch=result.best_epoch,
    )
    return trained, sizes
