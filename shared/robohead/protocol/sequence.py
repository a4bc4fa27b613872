"""Counting sequence gaps in a uint32 sequence that wraps and restarts when the peer reboots."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SequenceTracker"]

_MOD = 1 << 32
_HALF = 1 << 31


@dataclass
class SequenceTracker:
    """Feed every received sequence number; it counts what went missing.

    A forward jump of ``d`` > 1 (modulo 2**32, so wrapping at 2**32 is not a gap) is one gap of
    ``d - 1`` missing frames. A repeat is a duplicate. A backward jump means the peer restarted
    (or frames were reordered, which a serial link cannot do): counted as a restart, and
    tracking continues from the new number. Call ``reset()`` when the peer announces a restart
    (a new Hello), so its sequence 0 is not counted at all.
    """

    received: int = 0
    gaps: int = 0  # gap events
    missing: int = 0  # sequence numbers never seen
    duplicates: int = 0
    restarts: int = 0
    last: int | None = None

    def update(self, sequence: int) -> int:
        """Record ``sequence``; return how many numbers were skipped just before it."""
        sequence %= _MOD
        self.received += 1
        last, self.last = self.last, sequence
        if last is None:
            return 0
        delta = (sequence - last) % _MOD
        if delta == 1:
            return 0
        if delta == 0:
            self.duplicates += 1
            return 0
        if delta < _HALF:
            self.gaps += 1
            self.missing += delta - 1
            return delta - 1
        self.restarts += 1
        return 0

    def reset(self) -> None:
        """Forget the last number (the peer restarted); counters are kept."""
        self.last = None
