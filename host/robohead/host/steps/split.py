"""Step: assign whole sessions (or subjects) to train / validation / test."""

from __future__ import annotations

from typing import Annotated

from zenml import step

from robohead.host.artifacts import DatasetIndex
from robohead.host.splits import Split, split_sessions
from robohead.host.train_params import SplitParams


@step
def split_dataset(
    dataset: DatasetIndex, split: SplitParams, seed: int
) -> Annotated[Split, "split"]:
    return split_sessions(
        [s.session_id for s in dataset.sessions],
        by=split.by,
        val_fraction=split.val_fraction,
        test_fraction=split.test_fraction,
        seed=seed,
    )
