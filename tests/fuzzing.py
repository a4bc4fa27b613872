"""Budgets and bookkeeping of the Python fuzz tests (tests/test_reliability_fuzz_*.py).

Inside `make test` every fuzz target runs a small, fixed number of hypothesis examples so the
whole suite stays fast; `make fuzz` sets ROBOHEAD_FUZZ_EXAMPLES (and ROBOHEAD_FUZZ_STATS) for a
long run. Each target counts the inputs it really executed (hypothesis' own count includes
shrinking and rejected draws) and, when ROBOHEAD_FUZZ_STATS names a file, adds them there as
JSON {target: {"inputs": n}} so docs/reliability.md can quote real numbers.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

__all__ = ["FUZZ_EXAMPLES", "counted", "fuzz_settings", "record"]

#: Examples per target in a `make fuzz` run; unset inside `make test`.
FUZZ_EXAMPLES = int(os.environ.get("ROBOHEAD_FUZZ_EXAMPLES", "0") or 0)
_STATS = os.environ.get("ROBOHEAD_FUZZ_STATS")
_counts: collections.Counter[str] = collections.Counter()

F = TypeVar("F", bound=Callable[..., Any])


def fuzz_settings(default: int) -> settings:
    """`default` examples in make test, ROBOHEAD_FUZZ_EXAMPLES in make fuzz; no deadline (a
    slow example on a busy 2-core CI machine is not a bug)."""
    return settings(
        max_examples=FUZZ_EXAMPLES or default,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
        print_blob=True,
    )


def counted(target: str) -> Callable[[F], F]:
    """Count every call of the decorated test body under `target` (one call = one input)."""

    def wrap(fn: F) -> F:
        import functools

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            _counts[target] += 1
            return fn(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def _dump() -> None:
    if not _STATS or not _counts:
        return
    path = Path(_STATS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        data: dict[str, dict[str, int]] = {}
        with contextlib.suppress(ValueError):
            data = json.loads(fh.read() or "{}")
        for target, n in _counts.items():
            entry = data.setdefault(target, {"inputs": 0})
            entry["inputs"] = int(entry.get("inputs", 0)) + n
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


atexit.register(_dump)


_measurements: dict[str, object] = {}


def record(name: str, values: dict[str, object]) -> None:
    """Keep a measurement of a reliability test (printed; saved with the fuzz stats when
    ROBOHEAD_FUZZ_STATS is set) so docs/reliability.md quotes numbers from real runs."""
    _measurements[name] = values
    print(f"{name}: {json.dumps(values, sort_keys=True)}")


def _dump_measurements() -> None:
    if not _STATS or not _measurements:
        return
    path = Path(_STATS)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        data: dict[str, object] = {}
        with contextlib.suppress(ValueError):
            data = json.loads(fh.read() or "{}")
        for name, values in _measurements.items():
            data[f"measurement/{name}"] = values
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


atexit.register(_dump_measurements)
