"""Start and stop the whole loop: broker, edge daemon, firmware simulator (on a pty).

The pseudo-terminal is opened here and the simulator speaks on its master side (`--stdio` with
the master as stdin/stdout), the edge on its slave path, exactly as `--pty` would do inside the
simulator. Owning it lets the edge open the port *before* the simulator boots, so the edge's
first Hello is the simulator's boot Hello and its sample count, the device clock and the speech
WAV all start together; and because this process keeps a slave descriptor open, the simulator
never sees EIO while the edge is down or restarting.

Order: scenario, broker, pty, edge (waits until it holds the port), simulator. Stop: edge first
(SIGTERM: neutral command, OFFLINE status), then the simulator, then the broker.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from robohead.host.sim.broker import HOST, start_broker
from robohead.host.sim.procs import Child, Supervisor
from robohead.host.sim.scenario import Scenario, build_scenario
from robohead.host.sim.settings import SimSettings

__all__ = ["FW_SIM_ENV", "SimLoop", "SimPaths", "find_fw_sim"]

FW_SIM_ENV = "ROBOHEAD_FW_SIM"


class SimError(RuntimeError):
    """A part of the loop is missing or did not come up (names which and why)."""


def find_fw_sim(root: Path, *, build: bool = True) -> Path:
    """The simulator binary: $ROBOHEAD_FW_SIM, else firmware-esp32/build/host (built if missing)."""
    env = os.environ.get(FW_SIM_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise SimError(f"${FW_SIM_ENV}={env}: no such file")
        return path
    build_dir = root / "firmware-esp32" / "build" / "host"
    path = build_dir / "robohead-fw-sim"
    if path.is_file() or not build:
        if not path.is_file():
            raise SimError(f"{path} not built: run `make firmware`")
        return path
    for cmd in (
        ["cmake", "-S", str(root / "firmware-esp32"), "-B", str(build_dir)],
        ["cmake", "--build", str(build_dir), "--target", "robohead-fw-sim", "-j2"],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise SimError(
                f"building the simulator failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}"
            )
    return path


def _bin(name: str) -> str:
    """A console script of this environment (beside the running interpreter)."""
    here = Path(sys.executable).with_name(name)
    return str(here) if here.exists() else (shutil.which(name) or name)


def _holds(pid: int, path: str) -> bool:
    """Whether process `pid` has `path` open (Linux /proc)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == path:
                    return True
    return False


@dataclass(frozen=True)
class SimPaths:
    workdir: Path
    edge_config: Path
    edge_log: Path
    fw_log: Path
    pwm_log: Path
    broker_log: Path


class SimLoop:
    """The running loop; a context manager (stop() on exit, whatever happened)."""

    def __init__(
        self,
        settings: SimSettings,
        root: Path,
        *,
        workdir: Path | None = None,
        bundle: Path | None = None,
        fw_sim: Path | None = None,
        audio_loop_s: float | None = None,
        extra_sim_args: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.root = root
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="robohead-sim-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.workdir.mkdir(parents=True, exist_ok=True)
        b = bundle or settings.bundle
        self.bundle = b if b.is_absolute() else root / b
        self._fw_sim = fw_sim
        self._audio_loop_s = audio_loop_s
        self._extra_sim_args = extra_sim_args
        self.sup = Supervisor(settings.stop_timeout_s)
        self.paths = SimPaths(
            workdir=self.workdir,
            edge_config=self.workdir / "edge.toml",
            edge_log=self.workdir / "edge.log",
            fw_log=self.workdir / "fw-sim.log",
            pwm_log=self.workdir / "pwm.csv",
            broker_log=self.workdir / "mosquitto.log",
        )
        self.scenario: Scenario | None = None
        self.port = 0
        self._master: int | None = None
        self._slave: int | None = None
        self.pty_path = ""
        self.edge_stopped_at_us: int | None = None  # device time when the edge was last stopped

    @property
    def device_id(self) -> str:
        return self.settings.device_id

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, before_edge: Callable[[int], None] | None = None) -> SimLoop:
        """Bring everything up; `before_edge(port)` runs once the broker is up (to subscribe)."""
        try:
            if not (self.bundle / "bundle.json").is_file():
                raise SimError(f"no bundle at {self.bundle}: run `make train` first")
            fw_sim = self._fw_sim or find_fw_sim(self.root)
            self.scenario = build_scenario(
                self.workdir,
                self.settings,
                self.root / "params.yaml",
                audio_loop_s=self._audio_loop_s,
            )
            self.port = start_broker(self.sup, self.workdir, self.settings.start_timeout_s)
            if before_edge is not None:
                before_edge(self.port)
            self._open_pty()
            self._write_edge_config()
            self.start_edge()
            self._start_fw(fw_sim)
        except BaseException:
            self.stop()
            raise
        return self

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        self.pty_path = os.ttyname(slave)

    def _write_edge_config(self) -> None:
        s = self.scenario
        assert s is not None
        q = json.dumps  # a JSON string is a valid TOML basic string
        lines = [
            f"device_id = {q(self.device_id)}",
            f"state_dir = {q(str(self.workdir / 'edge-state'))}",
            'log_level = "info"',
            "[serial]",
            f"url = {q(self.pty_path)}",
            "[bundle]",
            f"dir = {q(str(self.bundle))}",
            "[audio]",
        ]
        if s.speech_wav is not None:
            lines += ['source = "wav"', f"wav = {q(str(s.speech_wav))}", "offset_s = 0.0"]
        else:
            lines += ['source = "none"']
        lines += ["[mqtt]", f"host = {q(HOST)}", f"port = {self.port}"]
        (self.workdir / "edge-state").mkdir(exist_ok=True)
        self.paths.edge_config.write_text("\n".join(lines) + "\n")

    def start_edge(self) -> Child:
        """Start `robohead-edge run`; returns once it holds the serial port open."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = self.sup.spawn(
            "edge",
            [_bin("robohead-edge"), "run", "--config", str(self.paths.edge_config)],
            log_path=self.paths.edge_log,
            env=env,
            cwd=self.workdir,
        )
        self.sup.wait_until(
            lambda: _holds(child.pid, self.pty_path),
            self.settings.start_timeout_s,
            f"robohead-edge to open {self.pty_path}",
            watch=["edge"],
        )
        return child

    def _start_fw(self, fw_sim: Path) -> Child:
        assert self._master is not None
        argv = [
            str(fw_sim),
            "--stdio",
            "--emg-csv",
            str(self.scenario.emg_csv) if self.scenario else "",
            "--pwm-log",
            str(self.paths.pwm_log),
            *self._extra_sim_args,
        ]
        child = self.sup.spawn(
            "fw-sim", argv, log_path=self.paths.fw_log, stdin=self._master, stdout=self._master
        )
        self.sup.wait_until(
            lambda: self.paths.pwm_log.is_file() and self.paths.pwm_log.stat().st_size > 0,
            self.settings.start_timeout_s,
            "robohead-fw-sim to start its PWM log",
            watch=["fw-sim"],
        )
        return child

    def device_time_us(self) -> int | None:
        """The simulator's clock now (its last servo tick in the PWM log, at most 20 ms old)."""
        from robohead.host.sim.analysis import read_pwm_log

        with contextlib.suppress(OSError, ValueError):
            log = read_pwm_log(self.paths.pwm_log)
            if len(log):
                return int(log.time_us[-1])
        return None

    def kill_edge(self) -> int | None:
        """SIGKILL the edge (a crash: no neutral command, no clean OFFLINE); the device time."""
        self.edge_stopped_at_us = self.device_time_us()
        self.sup.kill("edge")
        return self.edge_stopped_at_us

    def stop_edge(self) -> int | None:
        """SIGTERM the edge (neutral command, OFFLINE), bounded; its exit code."""
        if "edge" in self.sup.children and self.sup.children["edge"].running:
            self.edge_stopped_at_us = self.device_time_us()
        return self.sup.stop("edge")

    def stop(self) -> dict[str, int | None]:
        """Stop everything (edge, simulator, broker), bounded; safe to call twice."""
        codes = {"edge": self.stop_edge()}
        codes.update(self.sup.stop_all(order=["fw-sim", "broker"]))
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        return codes

    def cleanup(self) -> None:
        """Remove the temporary work directory (when this loop created it)."""
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    def pids(self) -> dict[str, int]:
        return {name: c.pid for name, c in self.sup.children.items() if c.running}

    def __enter__(self) -> SimLoop:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
