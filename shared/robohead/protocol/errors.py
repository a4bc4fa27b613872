"""The one error family robohead.protocol raises, so callers can catch it in one place."""

from __future__ import annotations

__all__ = ["ProtocolError"]


class ProtocolError(ValueError):
    """Base of every error robohead.protocol raises on bad bytes, payloads or use."""
