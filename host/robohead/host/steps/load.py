"""Step: find and validate the sessions of one data version (refuses invalid sessions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import step

from robohead.host.artifacts import DatasetIndex


@step
def load_dataset(
    data_dir: str, dvc_md5: str, code_version: str, data_params: dict[str, Any]
) -> Annotated[DatasetIndex, "dataset"]:
    """``dvc_md5`` and ``code_version`` (git commit + hash of any uncommitted diff) are inputs
    so ZenML's cache sees new data and new code (it cannot see files a step reads from disk);
    the steps after this one depend on its output, so their cache keys inherit both."""
    from robohead.host.data.params import DataParams
    from robohead.host.featurizing import index_sessions

    root = Path(data_dir)
    return index_sessions(root, DataParams(**data_params), dvc_md5, code_version)
