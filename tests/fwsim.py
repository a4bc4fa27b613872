"""Build and run robohead-fw-sim (the firmware core on a pseudo-terminal) for tests.

Any test that needs a device on a serial port uses this: the simulator is the firmware's own
loop (firmware-esp32/lib) on a POSIX platform, so a test against it exercises the real framing,
sampler, servo model and fail-safe. ``sim_binary()`` configures and builds the CMake host build
when needed (incremental, so cheap when up to date); ``FwSim`` starts it, reads the ``PTY
/dev/pts/N`` line and stops it with SIGTERM, checking that it exits cleanly.

    with FwSim("--rate", "1000", pwm_log=tmp_path / "pwm.csv") as sim:
        link = Link(sim.pty, reconnect=False).open()
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware-esp32"
BUILD_DIR = FIRMWARE / "build" / "host"
BINARY = BUILD_DIR / "robohead-fw-sim"

T = TypeVar("T")


class FwSimError(RuntimeError):
    """The simulator could not be built, did not start, or did not stop cleanly."""


def sim_binary(build_dir: Path = BUILD_DIR) -> Path:
    """Path of robohead-fw-sim, (re)built with CMake first; serialised across processes."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".fwsim.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (build_dir / "CMakeCache.txt").exists():
            _run(
                [
                    "cmake",
                    "-S",
                    str(FIRMWARE),
                    "-B",
                    str(build_dir),
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                ]
            )
        _run(["cmake", "--build", str(build_dir), "--target", "robohead-fw-sim", "-j", "2"])
    binary = build_dir / "robohead-fw-sim"
    if not os.access(binary, os.X_OK):
        raise FwSimError(f"{binary}: not built")
    return binary


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise FwSimError(
            f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )


@dataclass(frozen=True)
class PwmRow:
    """One servo tick from --pwm-log."""

    device_time_us: int
    servo_us: tuple[int, int, int]
    latency_us: int | None


def read_pwm_log(path: Path) -> list[PwmRow]:
    """Rows of a --pwm-log CSV (a line still being written is skipped)."""
    rows: list[PwmRow] = []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["device_time_us", "servo0_us", "servo1_us", "servo2_us", "latency_us"]:
            raise FwSimError(f"{path}: unexpected header {header}")
        for line in reader:
            if len(line) != 5:
                continue
            rows.append(
                PwmRow(
                    int(line[0]),
                    (int(line[1]), int(line[2]), int(line[3])),
                    int(line[4]) if line[4] else None,
                )
            )
    return rows


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    """Polls predicate until it returns a truthy value; raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class FwSim:
    """A running robohead-fw-sim --pty; ``.pty`` is the serial port path for the Link."""

    def __init__(self, *args: str, pwm_log: Path | None = None, binary: Path | None = None) -> None:
        self.args = list(args)
        self.pwm_log = pwm_log
        self.binary = binary or sim_binary()
        self.pty = ""
        self.returncode: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in __exit__)

    def start(self, timeout: float = 10.0) -> Self:
        cmd = [str(self.binary), "--pty", *self.args]
        if self.pwm_log is not None:
            cmd += ["--pwm-log", str(self.pwm_log)]
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1
        )
        assert self._proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                self.stop()
                raise FwSimError(f"no PTY line within {timeout} s: {self.stderr()}")
        line = self._proc.stdout.readline().strip()
        if not line.startswith("PTY /dev/"):
            self.stop()
            raise FwSimError(f"expected 'PTY /dev/...', got {line!r}: {self.stderr()}")
        self.pty = line.split(" ", 1)[1]
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signals the simulator and waits; returns its exit code."""
        if self._proc is None:
            raise FwSimError("not started")
        if self._proc.poll() is None:
            self._proc.send_signal(sig)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
                raise FwSimError(f"did not exit within {timeout} s of signal {sig}") from None
        self.returncode = self._proc.returncode
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        return self.returncode

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stderr(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def pwm_rows(self) -> list[PwmRow]:
        if self.pwm_log is None:
            raise FwSimError("started without pwm_log")
        return read_pwm_log(self.pwm_log)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(FwSimError):
            if self.running():
                self.stop()
        self._stderr.close()


@contextlib.contextmanager
def running_sim(*args: str, pwm_log: Path | None = None) -> Iterator[FwSim]:
    """``with running_sim(...) as sim:`` -- FwSim as a plain context manager."""
    with FwSim(*args, pwm_log=pwm_log) as sim:
        yield sim
