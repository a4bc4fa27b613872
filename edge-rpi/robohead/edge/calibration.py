"""Per-channel amplitude calibration: rest and maximal contraction -> one gain per channel.

Why: the sEMG amplitude of the same expression changes from day to day with electrode
placement, skin preparation, sweat and gel drying, by a factor of two or more. The model learnt
amplitudes from the training recordings, so a channel that reads half as strong today looks like
half an expression to it. Calibration measures each channel's range today (band-passed RMS at
rest and at maximal voluntary contraction, the usual %MVC normalisation of sEMG) and rescales
the raw signal so that range matches the *reference* range, before the DSP and the model.

The reference is the first calibration stored in the state directory (record it with the
electrodes placed as for the training recordings, e.g. right after `robohead collect`), so the
first calibration changes nothing and later ones compensate for what changed since. Recalibrate
after re-attaching or moving electrodes, at the start of each session, and whenever the head
twitches at rest or no longer reaches full expressions. `--new-reference` starts over (after
training on new recordings).

The gain multiplies the counts around mid-rail, so the linear DSP filters see exactly a scaled
signal; gains are clipped to [0.2, 5] so a bad recording cannot blow a channel up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from robohead.edge.dsp.config import FilterConfig
from robohead.edge.dsp.filters import counts_to_signal, design_sos, sosfilt_stream

__all__ = [
    "GAIN_RANGE",
    "Calibration",
    "CalibrationError",
    "Recorder",
    "apply_gain",
    "channel_rms",
    "compute_calibration",
    "load_calibration",
    "save_calibration",
]

FORMAT_VERSION = 1
GAIN_RANGE = (0.2, 5.0)
_SETTLE_S = 0.25  # filter start-up transient left out of the RMS
_MIN_RATIO = 1.5  # max contraction must be at least this much above rest


class CalibrationError(ValueError):
    """A calibration cannot be computed, read or used (names the channel or file)."""


class Calibration(BaseModel):
    """`calibration.json` in the state directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = FORMAT_VERSION
    created_utc: str
    channels: tuple[str, ...] = Field(min_length=1)
    adc_bits: int = Field(ge=2, le=16)
    rest_rms: tuple[float, ...] = Field(description="today, full-scale units after band-pass")
    max_rms: tuple[float, ...]
    reference_rest_rms: tuple[float, ...] = Field(description="the first calibration")
    reference_max_rms: tuple[float, ...]
    gain: tuple[float, ...] = Field(description="multiplies counts around mid-rail, per channel")


def channel_rms(
    counts: npt.ArrayLike, *, adc_bits: int, sampling_rate_hz: float, filt: FilterConfig | None
) -> npt.NDArray[np.float64]:
    """Band-passed RMS per channel (full-scale units), the start-up transient left out."""
    x = counts_to_signal(np.asarray(counts), adc_bits)
    if x.ndim != 2 or x.shape[0] == 0:
        raise CalibrationError(f"expected recorded counts (samples, channels), got {x.shape}")
    if filt is not None:
        x, _ = sosfilt_stream(design_sos(filt, sampling_rate_hz), x, None)
    else:
        x = x - x.mean(axis=0)
    skip = min(int(_SETTLE_S * sampling_rate_hz), x.shape[0] // 2)
    tail = x[skip:]
    return np.asarray(np.sqrt(np.mean(tail * tail, axis=0)), dtype=np.float64)


def compute_calibration(
    channels: Sequence[str],
    rest_rms: Sequence[float],
    max_rms: Sequence[float],
    *,
    adc_bits: int,
    previous: Calibration | None = None,
    new_reference: bool = False,
) -> Calibration:
    """Gains that map today's rest-to-max range onto the reference range."""
    rest, peak = np.asarray(rest_rms, np.float64), np.asarray(max_rms, np.float64)
    if rest.shape != (len(channels),) or peak.shape != (len(channels),):
        raise CalibrationError(
            f"{len(channels)} channels but {rest.shape[0]} rest and {peak.shape[0]} max levels"
        )
    for name, r, m in zip(channels, rest, peak, strict=True):
        if not (np.isfinite(r) and np.isfinite(m)) or m < _MIN_RATIO * r or m <= 0:
            raise CalibrationError(
                f"channel {name}: max contraction RMS {m:.3g} is not clearly above rest "
                f"{r:.3g} (need x{_MIN_RATIO}); check the electrode and contract harder"
            )
    keep = (
        previous is not None
        and not new_reference
        and tuple(previous.channels) == tuple(channels)
        and previous.adc_bits == adc_bits
    )
    ref_rest = np.asarray(previous.reference_rest_rms) if keep and previous else rest
    ref_max = np.asarray(previous.reference_max_rms) if keep and previous else peak
    gain = np.clip((ref_max - ref_rest) / (peak - rest), *GAIN_RANGE)
    return Calibration(
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        channels=tuple(channels),
        adc_bits=adc_bits,
        rest_rms=tuple(map(float, rest)),
        max_rms=tuple(map(float, peak)),
        reference_rest_rms=tuple(map(float, ref_rest)),
        reference_max_rms=tuple(map(float, ref_max)),
        gain=tuple(map(float, gain)),
    )


def apply_gain(
    counts: npt.ArrayLike, gain: npt.NDArray[np.float64], adc_bits: int
) -> npt.NDArray[np.float64]:
    """Counts scaled around mid-rail (float64, fed to the DSP like raw counts)."""
    mid = float(2 ** (adc_bits - 1))
    x = np.asarray(counts, dtype=np.float64)
    return np.asarray(mid + (x - mid) * gain, dtype=np.float64)


def load_calibration(path: Path) -> Calibration | None:
    """The stored calibration, or None when there is none yet."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{path}: not valid JSON: {exc}") from exc
    try:
        cal = Calibration.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise CalibrationError(f"{path}: {where}: {first['msg']}") from exc
    if cal.format_version != FORMAT_VERSION:
        raise CalibrationError(f"{path}: format_version {cal.format_version}, expected 1")
    n = len(cal.channels)
    if any(len(v) != n for v in (cal.rest_rms, cal.max_rms, cal.gain)):
        raise CalibrationError(f"{path}: every per-channel list must have {n} values")
    return cal


def save_calibration(path: Path, cal: Calibration) -> None:
    """Write atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(cal.model_dump_json(indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


class Recorder:
    """Collects a fixed number of samples (one calibration phase)."""

    def __init__(self, n_samples: int, n_channels: int) -> None:
        if n_samples < 1:
            raise CalibrationError(f"a calibration phase needs samples, got {n_samples}")
        self._buf = np.zeros((n_samples, n_channels), dtype=np.int64)
        self._n = 0

    @property
    def done(self) -> bool:
        return self._n >= self._buf.shape[0]

    @property
    def progress(self) -> float:
        return self._n / self._buf.shape[0]

    def add(self, counts: npt.ArrayLike) -> None:
        x = np.asarray(counts)
        take = min(x.shape[0], self._buf.shape[0] - self._n)
        self._buf[self._n : self._n + take] = x[:take]
        self._n += take

    @property
    def samples(self) -> npt.NDArray[np.int64]:
        return self._buf[: self._n]
