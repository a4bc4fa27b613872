"""Per-stage latency percentiles and rates for the `metrics` topic.

A fixed-size ring of the most recent samples per stage keeps memory bounded and makes p50/p99
describe the last few seconds rather than the whole uptime.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from robohead.protocol.v1 import telemetry_pb2 as tm

__all__ = ["LatencyRing", "RateMeter", "StageLatencies"]


class LatencyRing:
    """The last `size` latencies in milliseconds."""

    def __init__(self, size: int = 1000) -> None:
        self._values = np.zeros(size, dtype=np.float64)
        self._count = 0

    def add(self, ms: float) -> None:
        self._values[self._count % len(self._values)] = ms
        self._count += 1

    def __len__(self) -> int:
        return min(self._count, len(self._values))

    def stats(self) -> tm.LatencyStats:
        n = len(self)
        if n == 0:
            return tm.LatencyStats()
        window = self._values[:n]
        p50, p99 = np.percentile(window, [50, 99])
        return tm.LatencyStats(p50_ms=float(p50), p99_ms=float(p99), max_ms=float(window.max()))


class StageLatencies:
    """A LatencyRing per named stage (dsp, inference, postprocess, total, loop)."""

    def __init__(self, stages: tuple[str, ...], size: int = 1000) -> None:
        self.rings = {stage: LatencyRing(size) for stage in stages}

    def add(self, stage: str, ms: float) -> None:
        self.rings[stage].add(ms)

    def fill(self, metrics: tm.Metrics) -> None:
        for stage, ring in self.rings.items():
            if len(ring):
                metrics.stage_latency[stage].CopyFrom(ring.stats())


class RateMeter:
    """Events per second since the last `rate()` call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since = clock()
        self._count = 0
        self.total = 0

    def tick(self, n: int = 1) -> None:
        self._count += n
        self.total += n

    def rate(self) -> float:
        now = self._clock()
        elapsed = now - self._since
        value = self._count / elapsed if elapsed > 0 else 0.0
        self._since, self._count = now, 0
        return value
