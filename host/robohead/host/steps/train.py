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
from robohead.host.timing import timed
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

    from robohead.host import tracking
    from robohead.host.fitting import fit_model
    from robohead.host.progress import epochs
    from robohead.host.training import Epoch

    ctx = get_step_context()
    with timed("mlflow"):
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
                "split_val_sessions": ",".join(split.val),
            }
        )

    with epochs(train.epochs) as (bar, task):

        def on_epoch(e: Epoch) -> None:
            with timed("mlflow"):
                mlflow.log_metrics(
                    {"train_loss": e.train_loss, "val_loss": e.val_loss}, step=e.epoch
                )
            mark = " *" if e.best else ""
            bar.update(
                task,
                completed=e.epoch,
                description=f"loss {e.train_loss:.4f} val {e.val_loss:.4f}{mark}",
            )

        trained, sizes = fit_model(features, split, model, train, on_epoch=on_epoch)
        bar.update(task, total=len(trained.history))
    with timed("mlflow"):
        mlflow.log_params({f"fit.{k}": v for k, v in sizes.items()})
        mlflow.log_metric("best_epoch", trained.best_epoch)
    return trained
