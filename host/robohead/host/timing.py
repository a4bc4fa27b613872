"""Wall-clock accounting of a training run, to report where the time goes (compute vs MLflow
logging vs ZenML orchestration). Steps run in the ``robohead train`` process (local
orchestrator), so one module-level ledger sees them all."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

_ledger: defaultdict[str, float] = defaultdict(float)


@contextmanager
def timed(kind: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _ledger[kind] += time.perf_counter() - t0


def snapshot() -> dict[str, float]:
    return dict(_ledger)


def reset() -> None:
    _ledger.clear()
