"""What the simulator's PWM log says about the loop: latency, poses reached, felt delay.

The log (`robohead-fw-sim --pwm-log`) has one row per 20 ms servo tick: `device_time_us,
servo0_us, servo1_us, servo2_us, latency_us`. `latency_us` is filled on the first tick after a
MotorCommand that carried `window_end_device_time_us`: the tick time minus the device time of the
last sEMG sample of the window the command was computed from, both on the simulator's clock. So
it spans the whole real path: the frame leaving the device, the serial link, the edge's DSP,
inference and post-processing, its wait for the next 50 Hz command slot, the way back, and the
wait for the servo tick that applies the command.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from robohead.host.sim.scenario import Scenario

__all__ = [
    "LatencyStats",
    "PathDelay",
    "PoseCheck",
    "PwmLog",
    "ServoLimit",
    "controller_delays",
    "loop_latency",
    "pose_checks",
    "read_pwm_log",
    "servo_limits_from_params",
]


@dataclass(frozen=True)
class ServoLimit:
    min_us: int
    max_us: int
    inverted: bool

    def target(self, us: NDArray[np.float64]) -> NDArray[np.float64]:
        x = np.clip((us - self.min_us) / float(self.max_us - self.min_us), 0.0, 1.0)
        return 1.0 - x if self.inverted else x


def servo_limits_from_params(params_file: Path) -> list[ServoLimit]:
    """The simulator's servo limits: params.yaml `firmware.servos` (compiled into it)."""
    import yaml

    raw = yaml.safe_load(params_file.read_text())
    return [
        ServoLimit(int(s["min_us"]), int(s["max_us"]), bool(s.get("inverted", False)))
        for s in raw["firmware"]["servos"]
    ]


@dataclass(frozen=True)
class PwmLog:
    time_us: NDArray[np.int64]
    servo_us: NDArray[np.float64]  # (n, motors)
    latency_us: NDArray[np.float64]  # NaN on ticks without a new windowed command

    def __len__(self) -> int:
        return int(self.time_us.shape[0])

    def targets(self, limits: Sequence[ServoLimit]) -> NDArray[np.float64]:
        """Pulse widths back in target units, per motor."""
        cols = [limits[i].target(self.servo_us[:, i]) for i in range(self.servo_us.shape[1])]
        return np.stack(cols, axis=1) if cols else np.zeros((len(self), 0))

    def since(self, t_us: float) -> PwmLog:
        keep = self.time_us >= t_us
        return PwmLog(self.time_us[keep], self.servo_us[keep], self.latency_us[keep])

    def between(self, t0_us: float, t1_us: float) -> PwmLog:
        keep = (self.time_us >= t0_us) & (self.time_us < t1_us)
        return PwmLog(self.time_us[keep], self.servo_us[keep], self.latency_us[keep])

    @property
    def tick_us(self) -> float:
        """The median servo tick period (20 ms on the firmware)."""
        return float(np.median(np.diff(self.time_us))) if len(self) > 1 else math.nan


def read_pwm_log(path: Path) -> PwmLog:
    """Read the log, also while the simulator is writing it (a partial last line is skipped)."""
    times: list[int] = []
    servos: list[list[float]] = []
    lat: list[float] = []
    with path.open(newline="") as f:
        text = f.read()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if header is None:
        return PwmLog(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(0))
    servo_cols = [i for i, h in enumerate(header) if h.startswith("servo")]
    lat_col = header.index("latency_us") if "latency_us" in header else None
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{line}: {len(row)} columns, header has {len(header)}")
        times.append(int(row[0]))
        servos.append([float(row[i]) for i in servo_cols])
        lat.append(float(row[lat_col]) if lat_col is not None and row[lat_col] else math.nan)
    return PwmLog(
        np.asarray(times, dtype=np.int64),
        np.asarray(servos, dtype=np.float64).reshape(-1, len(servo_cols)),
        np.asarray(lat, dtype=np.float64),
    )


@dataclass(frozen=True)
class LatencyStats:
    n: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def loop_latency(log: PwmLog) -> LatencyStats:
    """p50/p99/max of the loop latency column (window's last sample -> applying servo tick)."""
    v = log.latency_us[np.isfinite(log.latency_us)] / 1000.0
    if v.size == 0:
        return LatencyStats(0, math.nan, math.nan, math.nan, math.nan)
    p50, p99 = np.percentile(v, [50, 99])
    return LatencyStats(int(v.size), float(p50), float(p99), float(v.max()), float(v.mean()))


@dataclass(frozen=True)
class PoseCheck:
    """Did one motor reach one expression's pose during one cue (and how late)."""

    label: str
    motor: str
    cue_start_s: float  # device clock
    cue_end_s: float
    pose: float
    best: float  # the measured value closest to the pose within the cue (+ settle time)
    reached: bool
    delay_s: float  # measured half-way crossing minus the ground truth's (NaN if none)


def _crossing(t: NDArray[np.float64], x: NDArray[np.float64], level: float, up: bool) -> float:
    """Time of the first crossing of `level` (upwards or downwards) after being on the other
    side; NaN when it never crosses (or starts beyond it and never comes back)."""
    beyond = x >= level if up else x <= level
    before = np.nonzero(~beyond)[0]
    if before.size == 0:
        return math.nan
    hit = np.nonzero(beyond[before[0] :])[0]
    return float(t[before[0] + hit[0]]) if hit.size else math.nan


def pose_checks(
    log: PwmLog,
    scenario: Scenario,
    limits: Sequence[ServoLimit],
    *,
    tolerance: float,
    settle_s: float = 0.5,
    min_step: float = 0.3,
) -> list[PoseCheck]:
    """Every complete non-neutral cue in the log, for every motor the expression moves by at
    least `min_step` from neutral: the best measured value in [start, end + settle] and the
    delay of the half-way crossing behind the session's ground truth."""
    if len(log) < 2:
        return []
    measured = log.targets(limits)
    t_s = log.time_us / 1e6
    neutral = scenario.poses["neutral"]
    period = scenario.period_s
    truth_t = np.arange(scenario.n_samples) / scenario.rate_hz
    out: list[PoseCheck] = []
    first_loop = int(t_s[0] // period)
    last_loop = int(t_s[-1] // period)
    for loop in range(first_loop, last_loop + 1):
        base = loop * period
        for cue in scenario.cues:
            pose = scenario.poses.get(cue.label)
            if cue.label == "neutral" or pose is None:
                continue
            t0, t1 = base + cue.start_s, base + cue.end_s + settle_s
            if t0 < t_s[0] or t1 > t_s[-1]:
                continue  # not wholly inside the log
            sel = (t_s >= t0) & (t_s <= t1)
            gt_sel = (truth_t >= cue.start_s - 0.2) & (truth_t <= cue.end_s)
            for m, name in enumerate(scenario.motor_names):
                step = pose[m] - neutral[m]
                if abs(step) < min_step:
                    continue
                x = measured[sel, m]
                best = float(x[np.argmin(np.abs(x - pose[m]))])
                half = neutral[m] + step / 2
                up = step > 0
                t_meas = _crossing(t_s[sel], x, half, up)
                t_gt = _crossing(
                    truth_t[gt_sel], scenario.targets[gt_sel, m].astype(np.float64), half, up
                )
                delay = (
                    t_meas - (base + t_gt)
                    if math.isfinite(t_meas) and math.isfinite(t_gt)
                    else math.nan
                )
                out.append(
                    PoseCheck(
                        label=cue.label,
                        motor=name,
                        cue_start_s=t0,
                        cue_end_s=base + cue.end_s,
                        pose=pose[m],
                        best=best,
                        reached=abs(best - pose[m]) <= tolerance,
                        delay_s=delay,
                    )
                )
    return out


@dataclass(frozen=True)
class PathDelay:
    """The delay a person feels on one path, from its parts (all ms)."""

    path: str
    half_window_ms: float
    processing_ms: float
    transport_ms: float
    servo_period_ms: float

    @property
    def total_ms(self) -> float:
        return self.half_window_ms + self.processing_ms + self.transport_ms + self.servo_period_ms

    def as_dict(self) -> dict[str, float | str]:
        return {**asdict(self), "total_ms": self.total_ms}


def controller_delays(
    *,
    emg_window_ms: float,
    audio_window_ms: float | None,
    loop_p50_ms: float,
    processing_p50_ms: float,
    servo_period_ms: float,
) -> list[PathDelay]:
    """Half the feature window (its centre of mass lags its end) + processing (edge DSP,
    inference, post-processing) + transport (the rest of the measured loop latency: serial both
    ways and the waits for the 50 Hz command slot and the servo tick) + one servo period (the PWM
    frame that outputs the new pulse). sEMG drives brows and smile; the voice drives the jaw
    through the audio window (and the digastric sEMG through the sEMG window)."""
    transport = max(0.0, loop_p50_ms - processing_p50_ms)
    paths = [
        PathDelay(
            "sEMG -> brows/smile", emg_window_ms / 2, processing_p50_ms, transport, servo_period_ms
        )
    ]
    if audio_window_ms is not None:
        paths.append(
            PathDelay(
                "voice -> jaw", audio_window_ms / 2, processing_p50_ms, transport, servo_period_ms
            )
        )
    return paths
