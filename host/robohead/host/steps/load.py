"""Step: find and validate the sessions of one data version (refuses invalid sessions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import step

from robohead.host.artifacts import DatasetIndex, SessionRef


@step
def load_dataset(
    data_dir: str, dvc_md5: str, git_commit: str, data_params: dict[str, Any]
) -> Annotated[DatasetIndex, "dataset"]:
    """``dvc_md5`` and ``git_commit`` are inputs so ZenML's cache sees new data and new code
    (ZenML cannot see files a step reads from disk)."""
    from robohead.host.data.params import DataParams
    from robohead.host.data.schema import read_meta
    from robohead.host.data.validate import require_valid

    root = Path(data_dir)
    params = DataParams(root=root.resolve(), **data_params)
    folders = require_valid([root], params)
    if not folders:
        raise ValueError(f"{root}: no sessions (folders with session.json); run `make data`")
    refs = []
    for folder in folders:
        meta = read_meta(folder / "session.json")
        refs.append(
            SessionRef(
                session_id=f"{meta.subject}/{meta.session}",
                subject=meta.subject,
                path=str(folder.resolve()),
                sampling_rate_hz=meta.sampling_rate_hz,
            )
        )
    ids = [r.session_id for r in refs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{root}: duplicate <subject>/<session> ids: {sorted(ids)}")
    return DatasetIndex(
        root=str(root.resolve()), dvc_md5=dvc_md5, git_commit=git_commit, sessions=tuple(refs)
    )
