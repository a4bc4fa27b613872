"""Write session folders: all at once (synth) or incrementally while recording (collect).

The incremental writer keeps every file readable at each flush: emg.csv and cues.csv only ever
grow by whole lines, audio.wav gets its RIFF sizes patched on every flush, and session.json stays
`status: recording` until finalise() rewrites it atomically. A crash therefore loses at most the
data since the last flush and leaves a session the validator calls incomplete, not corrupt.
"""

from __future__ import annotations

import csv
import io
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from robohead.host.data.schema import (
    CUE_COLUMNS,
    CUES_FILE,
    EMG_FILE,
    META_FILE,
    TARGETS_FILE,
    Cue,
    SessionMeta,
    emg_header,
    targets_header,
    write_meta,
)


def _rows(row_format: str, table: list[list[object]] | NDArray[np.int64]) -> str:
    """Format many rows with one %-operation: ~5x faster than numpy.savetxt, same text."""
    if isinstance(table, np.ndarray):
        flat = table.ravel().tolist()
        n = table.shape[0]
    else:
        n = len(table[0]) if table else 0
        flat = [v for row in zip(*table, strict=True) for v in row]
    return str((row_format * n) % tuple(flat))


def _emg_rows(time_us: NDArray[np.int64], seq: NDArray[np.int64], counts: NDArray[np.int16]) -> str:
    table = np.column_stack(
        [time_us.astype(np.int64), seq.astype(np.int64), counts.astype(np.int64)]
    )
    return _rows(",".join(["%d"] * table.shape[1]) + "\n", table)


def cue_rows(cues: Sequence[Cue]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for c in cues:
        w.writerow([f"{c.start_s:.3f}", f"{c.end_s:.3f}", c.label, c.prompt])
    return buf.getvalue()


def _header(cols: Sequence[str]) -> str:
    return ",".join(cols) + "\n"


def write_wav(path: Path, pcm: NDArray[np.int16], rate: int) -> None:
    with _WavWriter(path, rate) as w:
        w.write(pcm)


def write_session(
    folder: Path,
    meta: SessionMeta,
    time_us: NDArray[np.int64],
    sequence: NDArray[np.int64],
    emg: NDArray[np.int16],
    cues: Sequence[Cue],
    *,
    audio: NDArray[np.int16] | None = None,
    targets: NDArray[np.float32] | None = None,
    target_expression: Sequence[str] | None = None,
) -> None:
    """Write a whole session (the synthetic generator's path). session.json is written last."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EMG_FILE).write_text(
        _header(emg_header(meta.channel_names)) + _emg_rows(time_us, sequence, emg)
    )
    (folder / CUES_FILE).write_text(_header(CUE_COLUMNS) + cue_rows(cues))
    if audio is not None:
        if meta.audio is None:
            raise ValueError("audio given but meta.audio is None")
        write_wav(folder / meta.audio.file, audio, meta.audio.sampling_rate_hz)
    if targets is not None:
        if meta.motors is None or target_expression is None:
            raise ValueError("targets need meta.motors and target_expression")
        cols: list[list[object]] = [time_us.tolist()]
        cols += [targets[:, j].tolist() for j in range(targets.shape[1])]
        cols.append(list(target_expression))
        fmt = ",".join(["%d"] + ["%.4f"] * targets.shape[1] + ["%s"]) + "\n"
        body = _rows(fmt, cols)
        (folder / TARGETS_FILE).write_text(_header(targets_header(meta.motors)) + body)
    write_meta(folder / META_FILE, meta)


class _WavWriter:
    """Mono PCM16 WAV whose header sizes are patched on every flush (readable after a crash)."""

    def __init__(self, path: Path, rate: int) -> None:
        self._f: IO[bytes] = path.open("wb")
        self._rate = rate
        self._frames = 0
        self._write_header()

    def _write_header(self) -> None:
        data_bytes = 2 * self._frames
        hdr = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        hdr += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, self._rate, 2 * self._rate, 2, 16)
        hdr += b"data" + struct.pack("<I", data_bytes)
        self._f.seek(0)
        self._f.write(hdr)
        self._f.seek(0, os.SEEK_END)

    def write(self, pcm: NDArray[np.int16]) -> None:
        self._f.write(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
        self._frames += int(pcm.size)

    def flush(self, fsync: bool = True) -> None:
        self._write_header()
        self._f.flush()
        if fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        self.flush()
        self._f.close()

    def __enter__(self) -> _WavWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SessionWriter:
    """Incremental writer for a live recording (robohead collect)."""

    def __init__(self, folder: Path, meta: SessionMeta) -> None:
        if (folder / META_FILE).exists():
            raise FileExistsError(f"{folder}: a session is already there")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.meta = meta.model_copy(update={"status": "recording"})
        self._emg = (folder / EMG_FILE).open("w")
        self._emg.write(_header(emg_header(meta.channel_names)))
        self._cues = (folder / CUES_FILE).open("w")
        self._cues.write(_header(CUE_COLUMNS))
        self._wav = (
            _WavWriter(folder / meta.audio.file, meta.audio.sampling_rate_hz)
            if meta.audio
            else None
        )
        self.samples = 0
        self.audio_frames = 0
        self.first_time_us: int | None = None
        self.last_time_us: int | None = None
        self.flush()

    def write_emg(
        self, time_us: NDArray[np.int64], sequence: NDArray[np.int64], counts: NDArray[np.int16]
    ) -> None:
        if not len(time_us):
            return
        self._emg.write(_emg_rows(time_us, sequence, counts))
        if self.first_time_us is None:
            self.first_time_us = int(time_us[0])
        self.last_time_us = int(time_us[-1])
        self.samples += len(time_us)

    def write_audio(self, pcm: NDArray[np.int16]) -> None:
        if self._wav is not None:
            self._wav.write(pcm)
            self.audio_frames += int(pcm.size)

    def write_cue(self, cue: Cue) -> None:
        self._cues.write(cue_rows([cue]))

    def flush(self) -> None:
        """Make everything written so far durable (the at-most-a-second-lost promise)."""
        for f in (self._emg, self._cues):
            f.flush()
            os.fsync(f.fileno())
        if self._wav is not None:
            self._wav.flush()
        write_meta(self.folder / META_FILE, self.meta)

    def update_meta(self, **fields: object) -> None:
        self.meta = self.meta.model_copy(update=fields)

    def finalise(
        self, *, end_reason: str, ended_utc: str | None = None, duration_s: float | None = None
    ) -> SessionMeta:
        """Close every file and mark the session complete."""
        for f in (self._emg, self._cues):
            f.flush()
            os.fsync(f.fileno())
            f.close()
        if self._wav is not None:
            self._wav.close()
        self.meta = self.meta.model_copy(
            update={
                "status": "complete",
                "end_reason": end_reason,
                "ended_utc": ended_utc,
                "samples": self.samples,
                "duration_s": (
                    duration_s
                    if duration_s is not None
                    else self.samples / self.meta.sampling_rate_hz
                ),
            }
        )
        # Revalidate: model_copy(update=...) does not.
        self.meta = SessionMeta.model_validate(self.meta.model_dump())
        write_meta(self.folder / META_FILE, self.meta)
        return self.meta
