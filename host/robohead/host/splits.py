"""Train/validation/test split by whole session or whole subject, never by window.

Overlapping windows of one session share most of their frames, so a random window split would
leak the test set into training. Units (sessions or subjects) are shuffled with the seed inside
each subject and interleaved across subjects, so the test and validation sets cover as many
subjects as possible; the result depends only on the set of session ids and the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict


class SplitError(ValueError):
    """Too few sessions or subjects for the requested split."""


class Split(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: Literal["session", "subject"]
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]


def _count(fraction: float, n: int) -> int:
    return max(1, round(fraction * n))


def split_sessions(
    session_ids: Sequence[str],
    *,
    by: Literal["session", "subject"],
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> Split:
    """Assign every ``<subject>/<session>`` id to exactly one of train, val, test."""
    ids = sorted(set(session_ids))
    subjects: dict[str, list[str]] = {}
    for sid in ids:
        subjects.setdefault(sid.split("/", 1)[0], []).append(sid)
    rng = np.random.default_rng(seed)
    if by == "subject":
        names = sorted(subjects)
        order = [names[i] for i in rng.permutation(len(names))]
        units = [subjects[n] for n in order]
    else:
        shuffled = {s: [v[i] for i in rng.permutation(len(v))] for s, v in sorted(subjects.items())}
        depth = max(len(v) for v in shuffled.values())
        units = [[v[i]] for i in range(depth) for v in shuffled.values() if i < len(v)]
    n = len(units)
    n_test, n_val = _count(test_fraction, n), _count(val_fraction, n)
    if n - n_test - n_val < 1:
        raise SplitError(
            f"split by {by}: {n} {by}(s) cannot give {n_test} test, {n_val} validation and at "
            f"least one training {by}; record more or lower split.test_fraction/val_fraction"
        )

    def flat(group: list[list[str]]) -> tuple[str, ...]:
        return tuple(sorted(s for unit in group for s in unit))

    return Split(
        by=by,
        test=flat(units[:n_test]),
        val=flat(units[n_test : n_test + n_val]),
        train=flat(units[n_test + n_val :]),
    )
