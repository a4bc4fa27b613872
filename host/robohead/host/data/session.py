"""Load a recorded or synthetic session folder into arrays (the API the training pipeline uses).

    s = load_session("data/raw/synth-s01/session-01")
    s.emg            # (n, ch) int16 raw ADC counts
    s.time_us        # (n,) int64 device time
    s.cues           # [Cue(start_s, end_s, label, prompt), ...] on the session clock
    s.audio          # float32 in [-1, 1] or None; s.audio_rate_hz, s.audio_offset_s

The session clock is seconds since the first sEMG sample: `s.time_s`.
"""

from __future__ import annotations

import csv
import io
import struct
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from robohead.host.data.csvio import read_numeric_csv
from robohead.host.data.schema import (
    CUE_COLUMNS,
    CUES_FILE,
    EMG_FILE,
    META_FILE,
    TARGETS_FILE,
    Cue,
    MetaError,
    SessionMeta,
    emg_header,
    read_meta,
    targets_header,
)


class SessionError(ValueError):
    """A session file cannot be read; names the file, the line (0 = whole file) and why."""

    def __init__(self, file: Path, line: int, message: str) -> None:
        where = f"{file}:{line}" if line else str(file)
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.detail = message


class IncompleteSessionError(SessionError):
    """The recorder never finalised this session (killed or still running)."""


@dataclass(frozen=True, eq=False)
class Session:
    path: Path
    meta: SessionMeta
    time_us: NDArray[np.int64]
    sequence: NDArray[np.int64]
    emg: NDArray[np.int16]
    cues: list[Cue]
    audio: NDArray[np.float32] | None
    targets: NDArray[np.float32] | None  # synthetic ground truth (n, motors), else None
    target_expression: list[str] | None  # synthetic ground-truth expression per sample

    @property
    def sampling_rate_hz(self) -> float:
        return self.meta.sampling_rate_hz

    @property
    def channel_names(self) -> list[str]:
        return self.meta.channel_names

    @property
    def muscles(self) -> list[str]:
        return [c.muscle for c in self.meta.channels]

    @property
    def motor_names(self) -> list[str] | None:
        return self.meta.motors

    @property
    def audio_rate_hz(self) -> int | None:
        return self.meta.audio.sampling_rate_hz if self.meta.audio else None

    @property
    def audio_offset_s(self) -> float:
        return self.meta.audio.offset_s if self.meta.audio else 0.0

    @property
    def subject(self) -> str:
        return self.meta.subject

    @property
    def session_id(self) -> str:
        return self.meta.session

    @property
    def n_samples(self) -> int:
        return int(self.emg.shape[0])

    @property
    def time_s(self) -> NDArray[np.float64]:
        """Seconds since the first sample (the clock cues and audio_offset_s use)."""
        if not len(self.time_us):
            return np.zeros(0)
        return np.asarray((self.time_us - self.time_us[0]) / 1e6, dtype=np.float64)

    @property
    def duration_s(self) -> float:
        """Span of the session clock (device time, gaps included) plus one sample period."""
        if not len(self.time_us):
            return 0.0
        return float(self.time_us[-1] - self.time_us[0]) / 1e6 + 1 / self.sampling_rate_hz

    @property
    def complete(self) -> bool:
        return self.meta.complete


def read_cues(path: Path) -> list[Cue]:
    """cues.csv: start_s,end_s,label,prompt (prompt quoted when it holds a comma)."""
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        raise SessionError(path, 0, "missing") from e
    except UnicodeDecodeError as e:
        raise SessionError(path, 0, f"not UTF-8 text (byte {e.start})") from e
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise SessionError(path, 0, f"not a CSV file: {e}") from e
    if not rows or tuple(rows[0]) != CUE_COLUMNS:
        got = ",".join(rows[0]) if rows else ""
        raise SessionError(path, 1, f"header is {got!r}, expected {','.join(CUE_COLUMNS)!r}")
    cues = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(CUE_COLUMNS):
            raise SessionError(path, i, f"{len(row)} columns, expected {len(CUE_COLUMNS)}")
        try:
            start, end = float(row[0]), float(row[1])
        except ValueError as e:
            raise SessionError(path, i, f"start_s/end_s {row[:2]} are not numbers") from e
        cues.append(Cue(start, end, row[2], row[3]))
    return cues


def read_wav(path: Path) -> tuple[NDArray[np.int16], int, int]:
    """PCM16 samples (frames, channels), rate, channels. Raises SessionError on another format."""
    try:
        with wave.open(str(path), "rb") as w:
            width, rate, nch = w.getsampwidth(), w.getframerate(), w.getnchannels()
            if width != 2:
                raise SessionError(path, 0, f"{8 * width}-bit samples, expected 16-bit PCM")
            raw = w.readframes(w.getnframes())
    except FileNotFoundError as e:
        raise SessionError(path, 0, "missing") from e
    except (wave.Error, EOFError, RuntimeError, struct.error) as e:  # wave's chunk reader
        raise SessionError(path, 0, f"not a PCM WAV file: {e or type(e).__name__}") from e
    if nch < 1:
        raise SessionError(path, 0, "not a PCM WAV file: 0 channels")
    a = np.frombuffer(raw[: len(raw) - len(raw) % (2 * nch)], dtype="<i2").reshape(-1, nch)
    return a, rate, nch


def read_emg(
    path: Path, channel_names: list[str], *, allow_truncated_tail: bool = False
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int16]]:
    """emg.csv -> (device_time_us, sequence, counts (n, ch) int16)."""
    if not path.is_file():
        raise SessionError(path, 0, "missing")
    table = read_numeric_csv(path, emg_header(channel_names))
    if table.problems:
        p = table.problems[0]
        raise SessionError(path, p.line, p.message)
    if table.truncated_tail and not allow_truncated_tail:
        raise SessionError(path, len(table.values) + 2, "truncated: last line has no newline")
    v = table.values
    counts = v[:, 2:]
    if counts.size and (counts.min() < -32768 or counts.max() > 32767):
        raise SessionError(path, 0, "counts outside the int16 range")
    return v[:, 0].astype(np.int64), v[:, 1].astype(np.int64), counts.astype(np.int16)


def read_targets(
    path: Path, motor_names: list[str], n: int, *, at_least: bool = False
) -> tuple[NDArray[np.float32], list[str]]:
    """targets.csv; exactly `n` rows (or, with `at_least`, the first `n` of more)."""
    table = read_numeric_csv(
        path, targets_header(motor_names), text_last_column=True, integer=False
    )
    if table.problems:
        p = table.problems[0]
        raise SessionError(path, p.line, p.message)
    rows = len(table.values)
    if (rows < n) or (rows > n and not at_least) or (table.truncated_tail and not at_least):
        raise SessionError(path, 0, f"{rows} rows, expected {n} (one per sample)")
    return table.values[:n, 1:].astype(np.float32), (table.labels or [])[:n]


def load_session(path: str | Path, *, allow_incomplete: bool = False) -> Session:
    """Read one session folder. An unfinalised session (status 'recording', e.g. the recorder
    was killed) raises IncompleteSessionError unless `allow_incomplete`, in which case every row
    up to the last complete line is returned."""
    folder = Path(path)
    try:
        meta = read_meta(folder / META_FILE)
    except MetaError as e:
        raise SessionError(e.path, 0, e.detail) from e
    if not meta.complete and not allow_incomplete:
        raise IncompleteSessionError(
            folder / META_FILE, 0, "status is 'recording': the recorder never finalised it"
        )
    time_us, seq, emg = read_emg(
        folder / EMG_FILE, meta.channel_names, allow_truncated_tail=not meta.complete
    )
    cues = read_cues(folder / CUES_FILE)
    audio = None
    if meta.audio is not None:
        pcm, rate, nch = read_wav(folder / meta.audio.file)
        if rate != meta.audio.sampling_rate_hz or nch != 1:
            raise SessionError(
                folder / meta.audio.file,
                0,
                f"{rate} Hz x {nch} ch, expected {meta.audio.sampling_rate_hz} Hz mono",
            )
        audio = (pcm[:, 0].astype(np.float32) / 32768.0).astype(np.float32)
    targets = labels = None
    if (folder / TARGETS_FILE).is_file() and meta.motors:
        targets, labels = read_targets(
            folder / TARGETS_FILE, meta.motors, len(time_us), at_least=not meta.complete
        )
    return Session(folder, meta, time_us, seq, emg, cues, audio, targets, labels)


def find_sessions(paths: Iterable[str | Path]) -> list[Path]:
    """Session folders (those holding session.json) at or below each path, sorted."""
    found: set[Path] = set()
    for p in map(Path, paths):
        if (p / META_FILE).is_file():
            found.add(p)
        elif p.is_dir():
            found.update(m.parent for m in p.rglob(META_FILE))
        elif p.name == META_FILE and p.is_file():
            found.add(p.parent)
    return sorted(found)


def load_sessions(paths: Iterable[str | Path], *, allow_incomplete: bool = False) -> list[Session]:
    """Every session at or below `paths` (e.g. `load_sessions(["data/raw"])`)."""
    return [load_session(p, allow_incomplete=allow_incomplete) for p in find_sessions(paths)]
