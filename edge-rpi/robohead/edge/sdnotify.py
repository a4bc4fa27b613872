"""sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET per state change.

systemd's notify protocol is a newline-separated list of KEY=VALUE assignments sent as one
datagram to the AF_UNIX socket named in $NOTIFY_SOCKET (a leading '@' means the abstract
namespace). Outside systemd the variable is unset and every call is a cheap no-op, so the daemon
runs the same way from a shell, a test or the unit.

The watchdog is fed only while sEMG frames keep arriving (`FrameWatchdog`): a daemon whose device
went silent stops petting it, and systemd restarts the service after `WatchdogSec`.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

__all__ = ["FrameWatchdog", "Notifier"]


class Notifier:
    """Sends notifications to the service manager, if there is one."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address: str | None = None
        if address.startswith("@"):
            self._address = "\0" + address[1:]
        elif address.startswith("/"):
            self._address = address
        self._sock: socket.socket | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog_for_us = not pid or pid == str(os.getpid())
        self.watchdog_interval_s: float | None = (
            int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and watchdog_for_us else None
        )

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send e.g. notify(READY=1, STATUS="..."); False when there is no manager or it failed."""
        if self._address is None:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message, self._address)
        except OSError:
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify(READY=1, STATUS=status) if status else self.notify(READY=1)

    def reloading(self) -> bool:
        return self.notify(RELOADING=1, MONOTONIC_USEC=time.monotonic_ns() // 1000)

    def stopping(self, status: str = "") -> bool:
        return self.notify(STOPPING=1, STATUS=status) if status else self.notify(STOPPING=1)

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG=1)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class FrameWatchdog:
    """Pets the systemd watchdog at half its interval, but only if a frame arrived meanwhile."""

    def __init__(self, notifier: Notifier, clock: Callable[[], float] = time.monotonic) -> None:
        self._notifier = notifier
        self._clock = clock
        interval = notifier.watchdog_interval_s
        self._period = None if interval is None else interval / 2.0
        self._last_pet = clock()
        self._frame_since_pet = False

    def frame(self) -> None:
        """Call for every sEMG frame received."""
        self._frame_since_pet = True

    def tick(self) -> bool:
        """Call often from the main loop; True when it sent WATCHDOG=1."""
        if self._period is None or not self._frame_since_pet:
            return False
        now = self._clock()
        if now - self._last_pet < self._period:
            return False
        self._last_pet = now
        self._frame_since_pet = False
        return self._notifier.watchdog()
