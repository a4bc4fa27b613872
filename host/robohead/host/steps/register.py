"""Step: log the PyTorch model to the run and register it as a new version (alias candidate)."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import step

from robohead.host.artifacts import Evaluation, FeatureSet, RegisteredVersion, TrainedModel
from robohead.host.timing import timed
from robohead.host.train_params import RegistryParams
from robohead.host.zenml_stack import TRACKER


def FlatOutputs(net: Any) -> Any:
    """The model with one output tensor, ``[motors | expression probs]`` (batch, 3 + C): what
    MLflow's pyfunc flavour can serve and what its signature inference understands."""
    import torch

    class _Flat(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            motors, probs = self.inner(x)
            return torch.cat([motors, probs], dim=1)

    return _Flat(net).eval()


@step(experiment_tracker=TRACKER, enable_cache=False)
def register_model(
    model: TrainedModel,
    features: FeatureSet,
    evaluation: Evaluation,
    registry: RegistryParams,
    dvc_md5: str,
    git_commit: str,
) -> Annotated[RegisteredVersion, "model_version"]:
    import mlflow
    import torch

    from robohead.host import registry as R

    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("register_model: no active MLflow run (is the tracker in the stack?)")
    k, f = features.config.context_frames, features.config.n_features
    example = torch.zeros((2, k, f)).numpy()  # batch 2: batch-1 examples pin the batch dim
    with timed("mlflow"):
        info = mlflow.pytorch.log_model(
            FlatOutputs(model.deployable()),
            name="model",
            input_example=example,
            registered_model_name=registry.model_name,
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],
        )
        version = str(info.registered_model_version)
        client = R.client()
        R.tag_version(
            client,
            registry.model_name,
            version,
            {
                "test_mae": f"{evaluation.metrics['test_mae']:.6f}",
                "test_sessions": ",".join(evaluation.test_sessions),
                "dvc_md5": dvc_md5,
                "git_commit": git_commit,
            },
        )
        client.set_registered_model_alias(registry.model_name, R.CANDIDATE, version)
        mlflow.set_tag("model_version", version)
    return RegisteredVersion(
        model_name=registry.model_name,
        version=version,
        run_id=run.info.run_id,
        experiment_id=run.info.experiment_id,
    )
