"""MLflow plumbing: where runs go, the experiment, flattened params, the dataset input, tags.

Default store: ``sqlite:///<repo>/mlflow.db`` with artifacts in ``<repo>/mlruns`` so a clone
keeps its own history; ``MLFLOW_TRACKING_URI`` points everything at a server instead.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MAX_PARAMS_PER_CALL = 100  # MLflow's batch limit
MAX_PARAM_CHARS = 6000


def tracking_uri(root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root.resolve() / 'mlflow.db'}"


def is_local(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def artifact_root(root: Path) -> str:
    return (root.resolve() / "mlruns").as_uri()


def ensure_experiment(name: str, root: Path) -> str:
    """Create the experiment (artifacts under ``<repo>/mlruns`` for a local store) if missing."""
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = tracking_uri(root)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    location = artifact_root(root) if is_local(uri) else None
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException:  # created concurrently
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``; lists stay one value (their JSON-ish repr)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, prefix=f"{name}."))
        else:
            text = str(value)
            out[name] = (
                text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."
            )
    return out


def _chunks(items: list[tuple[str, str]], n: int) -> Iterable[dict[str, str]]:
    for i in range(0, len(items), n):
        yield dict(items[i : i + n])


def log_all_params(params: Mapping[str, Any]) -> int:
    """Log every parameter of params.yaml (flattened) into the active run; returns the count."""
    import mlflow

    flat = sorted(flatten(params).items())
    for chunk in _chunks(flat, MAX_PARAMS_PER_CALL):
        mlflow.log_params(chunk)
    return len(flat)


def log_dataset(path: Path, dvc_md5: str, name: str, context: str = "training") -> None:
    """Record the sessions folder as the run's input; its digest is DVC's md5 of the folder."""
    import mlflow
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    with warnings.catch_warnings():
        # "" and "file" resolve to two identical LocalArtifactDatasetSource classes; MLflow
        # warns about the ambiguity and picks one, which is right either way.
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(str(path.resolve()))
    dataset = MetaDataset(source, name=name, digest=dvc_md5)  # type: ignore[abstract]
    mlflow.log_input(dataset, context=context)


def run_url(run_id: str, experiment_id: str, uri: str) -> str:
    """Where a person finds the run: the server's page, or the local store + ``make mlflow-ui``.

    Takes the URI resolved before the pipeline ran: ZenML's tracker unsets
    ``MLFLOW_TRACKING_URI`` after each step."""
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"{uri} run {run_id} (make mlflow-ui, then /#/experiments/{experiment_id}/runs/{run_id})"
