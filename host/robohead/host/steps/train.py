"""Step: fit the model on the training sessions, early-stopped on the validation sessions.

Also opens the run's MLflow record: every params.yaml parameter (flattened), the dataset input
(digest = DVC md5), provenance tags, then train/val loss per epoch.
"""

from __future__ import annotations

from typing import Annotated, Any

from zenml import get_step_context, step

from robohead.host.artifacts import FeatureSet, TrainedModel
from robohead.host.materializers import TrainedModelMaterializer
from robohead.host.splits import Split
from robohead.host.train_params import ModelParams, TrainSection
from robohead.host.zenml_stack import TRACKER


@step(experiment_tracker=TRACKER, enable_cache=False, output_materializers=TrainedModelMaterializer)
def train_model(
    features: FeatureSet,
    split: Split,
    model: ModelParams,
    train: TrainSection,
    all_params: dict[str, Any],
    data_dir: str,
    dvc_md5: str,
    git_commit: str,
    git_dirty: bool,
) -> Annotated[TrainedModel, "model"]:
    from pathlib import Path

    import mlflow
    import numpy as np

    from robohead.edge.dsp.normalize import Normalization
    from robohead.host import tracking
    from robohead.host.models import build_model
    from robohead.host.progress import epochs
    from robohead.host.training import Epoch, make_deterministic
    from robohead.host.training import train as fit
    from robohead.host.windows import build_windows

    ctx = get_step_context()
    tracking.log_all_params(all_params)
    tracking.log_dataset(Path(data_dir), dvc_md5, name="data/raw")
    mlflow.set_tags(
        {
            "git_commit": git_commit,
            "git_dirty": str(git_dirty).lower(),
            "dvc_md5": dvc_md5,
            "zenml_run": ctx.pipeline_run.name,
            "zenml_run_id": str(ctx.pipeline_run.id),
            "split_test_sessions": ",".join(split.test),
        }
    )

    make_deterministic(train.seed, train.threads)
    train_sessions = features.by_id(split.train)
    stats = Normalization.fit(
        np.concatenate([s.features for s in train_sessions]), features.config.std_floor
    )
    k = features.config.context_frames
    train_set = build_windows(train_sessions, stats, k, stride=train.window_stride)
    val_set = build_windows(features.by_id(split.val), stats, k, stride=train.window_stride)
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
    mlflow.log_params(
        {
            "windows.train": train_set.size,
            "windows.val": val_set.size,
            "model.parameters": sum(p.numel() for p in net.parameters()),
        }
    )

    with epochs(train.epochs) as (bar, task):

        def on_epoch(e: Epoch) -> None:
            mlflow.log_metrics({"train_loss": e.train_loss, "val_loss": e.val_loss}, step=e.epoch)
            mark = " *" if e.best else ""
            bar.update(
                task,
                completed=e.epoch,
                description=f"loss {e.train_loss:.4f} val {e.val_loss:.4f}{mark}",
            )

        result = fit(
            net,
            train_set,
            val_set,
            seed=train.seed,
            epochs=train.epochs,
            batch_size=train.batch_size,
            learning_rate=train.learning_rate,
            weight_decay=train.weight_decay,
            expression_weight=train.expression_weight,
            patience=train.patience,
            on_epoch=on_epoch,
        )
        bar.update(task, total=len(result.history))
    mlflow.log_metric("best_epoch", result.best_epoch)
    return TrainedModel(
        build=build,
        state={k: v.detach().clone() for k, v in result.model.state_dict().items()},
        normalization=stats,
        history=[
            {"epoch": e.epoch, "train_loss": e.train_loss, "val_loss": e.val_loss}
            for e in result.history
        ],
        best_epoch=result.best_epoch,
    )
