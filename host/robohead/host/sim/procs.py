"""Child processes that cannot outlive the loop: one process group each, bounded stops.

Each child starts a new session (its own process group, so a terminal's Ctrl-C reaches only the
supervisor, which then stops the children in order) and asks the kernel for SIGTERM should the
supervisor die first (PR_SET_PDEATHSIG), so even a SIGKILLed supervisor leaves nothing behind.
`stop` sends SIGTERM to the whole group, waits a bounded time, then SIGKILLs the group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["Child", "Supervisor"]

_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path | None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Supervisor:
    """Starts named children and stops them (reverse start order by default)."""

    def __init__(self, stop_timeout_s: float) -> None:
        self.stop_timeout_s = stop_timeout_s
        self.children: dict[str, Child] = {}

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path | None = None,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> Child:
        if name in self.children and self.children[name].running:
            raise RuntimeError(f"{name} is already running (pid {self.children[name].pid})")
        log = open(log_path, "ab") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=stdin,
                stdout=stdout if stdout is not None else log,
                stderr=log,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_child_setup,
                pass_fds=tuple(pass_fds),
            )
        finally:
            if log_path is not None:
                log.close()  # type: ignore[union-attr]
        child = Child(name, proc, log_path)
        self.children[name] = child
        return child

    def kill(self, name: str) -> None:
        """SIGKILL the child's group at once (a crash, for tests) and reap it."""
        child = self.children[name]
        _signal_group(child.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(self.stop_timeout_s)

    def stop(self, name: str, timeout_s: float | None = None) -> int | None:
        """SIGTERM the group, wait up to the timeout, then SIGKILL it; the exit code."""
        child = self.children.get(name)
        if child is None:
            return None
        timeout = self.stop_timeout_s if timeout_s is None else timeout_s
        if child.running:
            _signal_group(child.pid, signal.SIGTERM)
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(child.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.proc.wait(timeout)
        # Grandchildren left in the group (none expected) go too.
        _signal_group(child.pid, signal.SIGKILL)
        return child.proc.returncode

    def stop_all(self, order: Sequence[str] | None = None) -> dict[str, int | None]:
        names = list(order) if order is not None else list(reversed(self.children))
        names += [n for n in reversed(self.children) if n not in names]
        return {name: self.stop(name) for name in names}

    def wait_until(
        self, condition: Any, timeout_s: float, what: str, *, watch: Sequence[str] = ()
    ) -> None:
        """Poll `condition()` until true; fail early (with its log) when a watched child exits."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            for name in watch:
                child = self.children.get(name)
                if child is not None and not child.running:
                    raise RuntimeError(
                        f"{name} exited with {child.proc.returncode} while waiting for {what}:\n"
                        f"{child.log_tail()}"
                    )
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
            time.sleep(0.02)  # polling interval of a bounded wait
