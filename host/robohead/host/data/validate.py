"""Check every file of a session and say exactly what is wrong (file, line, what was expected).

A session the recorder never finalised (status 'recording' in session.json, maybe a last line
cut in half) is INCOMPLETE, not corrupt: its data up to the last flush is intact. The training
pipeline calls `require_valid()` and refuses anything else that has problems.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from robohead.host.data.csvio import CsvProblem, read_numeric_csv
from robohead.host.data.params import DataParams
from robohead.host.data.schema import (
    CUES_FILE,
    EMG_FILE,
    META_FILE,
    TARGETS_FILE,
    MetaError,
    SessionMeta,
    emg_header,
    read_meta,
    targets_header,
)
from robohead.host.data.session import SessionError, find_sessions, read_cues, read_wav

Severity = Literal["error", "incomplete", "warning"]
Status = Literal["OK", "INCOMPLETE", "INVALID"]
MAX_PER_KIND = 5


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int  # 1-based; 0 = the file as a whole
    kind: str  # missing, meta, header, columns, type, nan, range, time, rate, truncated,
    # sequence, gap, wav, audio_length, cue, label, targets, incomplete
    message: str
    severity: Severity = "error"

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.severity}: [{self.kind}] {self.message}"


@dataclass
class SessionReport:
    folder: Path
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def status(self) -> Status:
        if self.errors:
            return "INVALID"
        if any(p.severity == "incomplete" for p in self.problems):
            return "INCOMPLETE"
        return "OK"

    @property
    def ok(self) -> bool:
        return self.status == "OK"


class InvalidSessionError(ValueError):
    """One or more sessions failed validation; the message lists every problem."""

    def __init__(self, reports: list[SessionReport]) -> None:
        lines = [p.format() for r in reports for p in r.problems if p.severity != "warning"]
        names = ", ".join(f"{r.folder} ({r.status})" for r in reports)
        super().__init__(f"{len(reports)} invalid session(s): {names}\n" + "\n".join(lines))
        self.reports = reports


class _Collector:
    def __init__(self, report: SessionReport, rate_tol: float) -> None:
        self.report = report
        self.rate_tol = rate_tol
        self._counts: dict[tuple[Path, str], int] = {}

    def add(
        self, file: Path, line: int, kind: str, message: str, severity: Severity = "error"
    ) -> None:
        key = (file, kind)
        self._counts[key] = self._counts.get(key, 0) + 1
        n = self._counts[key]
        if n <= MAX_PER_KIND:
            self.report.problems.append(Problem(file, line, kind, message, severity))
        elif n == MAX_PER_KIND + 1:
            self.report.problems.append(
                Problem(file, 0, kind, "more problems of this kind not shown", severity)
            )

    def csv(self, file: Path, probs: list[CsvProblem]) -> None:
        for p in probs:
            self.add(file, p.line, p.kind, p.message)


def validate_session(folder: Path, params: DataParams) -> SessionReport:
    """Every check of one session folder."""
    report = SessionReport(folder)
    c = _Collector(report, params.data.validate_.rate_tolerance)
    meta_path = folder / META_FILE
    try:
        meta = read_meta(meta_path)
    except MetaError as e:
        c.add(meta_path, 0, "missing" if not meta_path.exists() else "meta", e.detail)
        return report
    incomplete = not meta.complete
    if incomplete:
        c.add(
            meta_path,
            0,
            "incomplete",
            "status is 'recording': the recorder never finalised this session "
            "(data up to the last flush is readable)",
            "incomplete",
        )
    _check_meta(c, meta_path, meta)
    duration = _check_emg(c, folder / EMG_FILE, meta, incomplete)
    if duration is not None:
        _check_audio(c, folder, meta, duration, params, incomplete)
        _check_cues(c, folder / CUES_FILE, duration, params, incomplete)
    if (folder / TARGETS_FILE).exists():
        _check_targets(c, folder / TARGETS_FILE, meta, params, incomplete)
    return report


def _number(value: object, kind: type[int] | type[float]) -> float | None:
    """`device` is free-form JSON (the Hello): a value that is no number compares unequal."""
    try:
        return kind(value)  # type: ignore[arg-type, call-overload]
    except (TypeError, ValueError, OverflowError):
        return None


def _check_meta(c: _Collector, path: Path, meta: SessionMeta) -> None:
    dev = meta.device or {}
    n = dev.get("channel_count")
    if n is not None and _number(n, int) != len(meta.channels):
        c.add(
            path, 0, "meta", f"device.channel_count is {n}, but channels lists {len(meta.channels)}"
        )
    rate = dev.get("sampling_rate_hz")
    if rate is not None and _number(rate, float) != meta.sampling_rate_hz:
        c.add(
            path,
            0,
            "meta",
            f"device.sampling_rate_hz is {rate}, but sampling_rate_hz is {meta.sampling_rate_hz}",
        )
    names = meta.channel_names
    if len(set(names)) != len(names):
        c.add(path, 0, "meta", f"channel names repeat: {names}")


def _check_emg(c: _Collector, path: Path, meta: SessionMeta, incomplete: bool) -> float | None:
    """Returns the recording's duration in seconds (None when there is nothing to measure)."""
    if not path.is_file():
        c.add(path, 0, "missing", "missing: every session needs emg.csv")
        return None
    table = read_numeric_csv(path, emg_header(meta.channel_names))
    c.csv(path, table.problems)
    if table.truncated_tail:
        line = table.rows + 2
        if incomplete:
            c.add(path, line, "truncated", "last line cut short (recording killed)", "incomplete")
        else:
            c.add(path, line, "truncated", "last line has no newline: the file is cut short")
    if meta.complete and meta.samples is not None and table.rows != meta.samples:
        c.add(
            path, 0, "truncated", f"{table.rows} samples, session.json says samples={meta.samples}"
        )
    v, lines = table.values, table.lines
    if len(v) == 0:
        c.add(
            path,
            0,
            "missing" if incomplete else "truncated",
            "no samples",
            "incomplete" if incomplete else "error",
        )
        return None
    t, seq, counts = v[:, 0], v[:, 1], v[:, 2:]
    top = 2**meta.adc.bits - 1
    bad_r, bad_c = np.nonzero((counts < 0) | (counts > top))
    for r, k in zip(bad_r[: MAX_PER_KIND + 1], bad_c[: MAX_PER_KIND + 1], strict=True):
        c.add(
            path,
            int(lines[r]),
            "range",
            f"{meta.channel_names[k]} = {int(counts[r, k])}, expected 0..{top} "
            f"({meta.adc.bits}-bit ADC)",
        )
    dt = np.diff(t)
    for i in np.nonzero(dt <= 0)[0][: MAX_PER_KIND + 1]:
        c.add(
            path,
            int(lines[i + 1]),
            "time",
            f"device_time_us {int(t[i + 1])} is not after {int(t[i])} (line {int(lines[i])}): "
            "time must increase",
        )
    period = 1e6 / meta.sampling_rate_hz
    if len(dt):
        pos = dt[dt > 0]
        median = float(np.median(pos)) if len(pos) else math.nan
        tol = c.rate_tol
        if not math.isfinite(median) or abs(median - period) > tol * period:
            rate = 1e6 / median if median > 0 else math.nan
            c.add(
                path,
                0,
                "rate",
                f"median sample interval {median:.1f} us ({rate:.1f} Hz), expected {period:.1f} us "
                f"({meta.sampling_rate_hz:g} Hz from session.json)",
            )
    ds = np.diff(seq)
    for i in np.nonzero(ds < 0)[0][: MAX_PER_KIND + 1]:
        c.add(
            path,
            int(lines[i + 1]),
            "sequence",
            f"sequence {int(seq[i + 1])} is below the previous {int(seq[i])}: expected it to grow",
        )
    recorded = {g.after_sequence for g in meta.gaps}
    for i in np.nonzero(ds > 1)[0][: MAX_PER_KIND + 1]:
        if int(seq[i]) not in recorded:
            c.add(
                path,
                int(lines[i + 1]),
                "gap",
                f"sequence jumps {int(seq[i])} -> {int(seq[i + 1])} but session.json gaps does "
                "not record it",
                "incomplete" if incomplete else "warning",
            )
    # The session clock spans device time (gaps included), plus the last sample's period.
    return float((t[-1] - t[0]) / 1e6 + 1 / meta.sampling_rate_hz)


def _check_audio(
    c: _Collector,
    folder: Path,
    meta: SessionMeta,
    duration: float,
    params: DataParams,
    incomplete: bool,
) -> None:
    if meta.audio is None:
        if (folder / "audio.wav").exists():
            c.add(
                folder / "audio.wav",
                0,
                "wav",
                "present but session.json has audio: null",
                "warning",
            )
        return
    path = folder / meta.audio.file
    if not path.is_file():
        c.add(path, 0, "missing", "missing, but session.json lists audio")
        return
    try:
        pcm, rate, nch = read_wav(path)
    except SessionError as e:
        c.add(path, 0, "wav", e.detail)
        return
    want = params.audio.sampling_rate_hz
    if rate != meta.audio.sampling_rate_hz or rate != want:
        c.add(
            path,
            0,
            "wav",
            f"{rate} Hz, expected {meta.audio.sampling_rate_hz} Hz (session.json) and "
            f"{want} Hz (params.yaml audio.sampling_rate_hz)",
        )
    if nch != 1:
        c.add(path, 0, "wav", f"{nch} channels, expected mono")
    end = meta.audio.offset_s + len(pcm) / rate
    tol = params.data.validate_.audio_length_tolerance_s
    if abs(end - duration) > tol:
        c.add(
            path,
            0,
            "audio_length",
            f"audio ends at {end:.3f} s (offset {meta.audio.offset_s:.3f} s + "
            f"{len(pcm) / rate:.3f} s), sEMG at {duration:.3f} s: expected within {tol} s",
            # Killed: audio and sEMG were flushed at slightly different moments.
            "incomplete" if incomplete else "error",
        )


def _check_cues(
    c: _Collector,
    path: Path,
    duration: float,
    params: DataParams,
    incomplete: bool,
) -> None:
    tol = params.data.validate_.cue_tolerance_s
    try:
        cues = read_cues(path)
    except SessionError as e:
        c.add(path, e.line, "missing" if "missing" in e.detail else "cue", e.detail)
        return
    if not cues and not incomplete:
        c.add(path, 0, "cue", "no cues")
    prev_end = -math.inf
    for i, cue in enumerate(cues, start=2):
        if not (math.isfinite(cue.start_s) and math.isfinite(cue.end_s)):
            c.add(path, i, "nan", f"start_s/end_s {cue.start_s}, {cue.end_s}: expected numbers")
            continue
        if cue.end_s <= cue.start_s:
            c.add(path, i, "cue", f"end_s {cue.end_s} is not after start_s {cue.start_s}")
        if cue.start_s < -tol or cue.end_s > duration + tol:
            c.add(
                path,
                i,
                "cue",
                f"cue {cue.start_s:.3f}-{cue.end_s:.3f} s lies outside the recording "
                f"(0-{duration:.3f} s)",
                # A killed recording may have flushed a cue but not all its samples.
                "incomplete" if incomplete and cue.start_s >= -tol else "error",
            )
        if cue.start_s < prev_end - tol:
            c.add(path, i, "cue", f"starts at {cue.start_s:.3f} s, before the previous cue ends")
        prev_end = max(prev_end, cue.end_s)
        if cue.label not in params.poses:
            c.add(
                path,
                i,
                "label",
                f"label {cue.label!r} is not an expression of params.yaml poses "
                f"({', '.join(params.poses)})",
            )


def _check_targets(
    c: _Collector, path: Path, meta: SessionMeta, params: DataParams, incomplete: bool
) -> None:
    motors = meta.motors or params.motors.names
    table = read_numeric_csv(path, targets_header(motors), text_last_column=True, integer=False)
    c.csv(path, table.problems)
    if meta.samples is not None and table.rows != meta.samples and not incomplete:
        c.add(path, 0, "targets", f"{table.rows} rows, expected one per sample ({meta.samples})")
    v = table.values[:, 1:]
    bad = np.nonzero(((v < 0) | (v > 1)).any(axis=1))[0]
    for r in bad[: MAX_PER_KIND + 1]:
        c.add(path, int(table.lines[r]), "range", f"targets {v[r].tolist()}: expected 0..1")
    unknown = sorted(set(table.labels or []) - set(params.poses))
    if unknown:
        c.add(path, 0, "label", f"expressions {unknown} are not in params.yaml poses")


def validate_paths(paths: Iterable[str | Path], params: DataParams) -> list[SessionReport]:
    """Validate every session at or below each path. A folder that looks like a session (has
    emg.csv or cues.csv) but lacks session.json is reported, not skipped."""
    given = [Path(p) for p in paths]
    folders = set(find_sessions(given))
    for p in given:
        if (
            p.is_dir()
            and not (p / META_FILE).exists()
            and ((p / EMG_FILE).exists() or (p / CUES_FILE).exists())
        ) or not p.exists():
            folders.add(p)
    reports = []
    for f in sorted(folders):
        if not f.exists():
            r = SessionReport(f, [Problem(f, 0, "missing", "no such file or directory")])
        else:
            r = validate_session(f, params)
        reports.append(r)
    return reports


def require_valid(
    paths: Iterable[str | Path], params: DataParams, *, allow_incomplete: bool = False
) -> list[Path]:
    """The session folders under `paths` if every one is valid; else InvalidSessionError
    listing each problem (what the training pipeline shows before refusing to train)."""
    reports = validate_paths(paths, params)
    bad = [
        r
        for r in reports
        if r.status == "INVALID" or (r.status == "INCOMPLETE" and not allow_incomplete)
    ]
    if bad:
        raise InvalidSessionError(bad)
    return [r.folder for r in reports]
