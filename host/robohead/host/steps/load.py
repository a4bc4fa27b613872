"""Step: find and validate the sessions of one data version (refuses invalid sessions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import step

from robohead.host.artifacts import DatasetIndex


@step
def load_dataset(
    data_dir: str, dvc_md5: str, git_commit: str, data_params: dict[str, Any]
) -> Annotated[DatasetIndex, "dataset"]:
    """``dvc_md5`` and ``git_commit`` are inputs so ZenML's cache sees new data and new code
    (ZenML cannot see files a step reads from disk)."""
    from robohead.host.data.params import DataParams
    from robohead.host.featurizing import index_sessions

    root = Path(data_dir)
    return index_sessions(root, DataParams(**data_params), dvc_md5, git_commit)
