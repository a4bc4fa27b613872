"""The guided-recording loop of `robohead collect`, without any UI (testable without a TTY).

Cues advance on the *session clock* (device time of the samples received), not on the host's
wall clock: the cue times in cues.csv are then exactly the times on the sEMG's own time base,
and if the device stalls the protocol waits instead of prompting into a gap.

Durability: rows go to the files as they arrive and `SessionWriter.flush()` fsyncs them every
`flush_interval_s` (<= 1 s), so a crash loses at most that much; Ctrl-C (KeyboardInterrupt) or
the stop event finalises cleanly with end_reason 'interrupted'.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from robohead.host.data.audio import AudioCapture
from robohead.host.data.params import DataParams
from robohead.host.data.protocols import LoadedProtocol, PlannedCue
from robohead.host.data.schema import (
    AdcInfo,
    AudioInfo,
    ChannelInfo,
    Cue,
    Gap,
    ProtocolInfo,
    SessionMeta,
    SourceInfo,
)
from robohead.host.data.sources import DeviceInfo, DeviceRestarted, EmgChunk, EmgSource
from robohead.host.data.writer import SessionWriter


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def session_meta(
    params: DataParams,
    info: DeviceInfo,
    source: EmgSource,
    protocol: LoadedProtocol,
    *,
    subject: str,
    session: str,
    audio: bool,
    notes: str = "",
) -> SessionMeta:
    """session.json at the start of a recording: the device's Hello decides channels and rate;
    names and muscles come from params.yaml (extra device channels become ch<i>, 'unknown')."""
    chans = [ChannelInfo(name=c.name, muscle=c.muscle) for c in params.channels]
    chans = chans[: info.channel_count] + [
        ChannelInfo(name=f"ch{i}", muscle="unknown") for i in range(len(chans), info.channel_count)
    ]
    bits = info.adc_bits or params.device.adc_bits
    return SessionMeta(
        status="recording",
        subject=subject,
        session=session,
        started_utc=utc_now(),
        source=SourceInfo(kind=source.kind, url=source.url),  # type: ignore[arg-type]
        device=info.hello,
        sampling_rate_hz=float(info.sampling_rate_hz),
        samples_per_frame=info.samples_per_frame or None,
        channels=chans,
        adc=AdcInfo(
            bits=bits, reference=params.data.adc_reference, midpoint_counts=2 ** (bits - 1)
        ),
        protocol=ProtocolInfo(
            name=protocol.protocol.name, file=str(protocol.path), sha256=protocol.sha256
        ),
        audio=AudioInfo(sampling_rate_hz=params.audio.sampling_rate_hz, offset_s=0.0)
        if audio
        else None,
        notes=notes,
    )


@dataclass
class RecorderState:
    """A snapshot for the UI."""

    session_s: float
    total_s: float
    cue: PlannedCue | None
    next_prompt: PlannedCue | None  # the next cue that is not a rest
    until_next_s: float | None  # seconds until next_prompt starts
    remaining_s: float  # of the current cue
    levels: NDArray[np.float64]  # per-channel RMS over the level window, counts
    samples: int
    gaps: int
    missing_frames: int
    dropped_chunks: int
    audio_s: float | None
    cue_index: int
    cue_count: int


@dataclass
class _Clock:
    host_t0: float | None = None  # host monotonic time when the first chunk arrived
    session_t0: float = 0.0  # session time of the end of that chunk


@dataclass
class Recorder:
    source: EmgSource
    writer: SessionWriter
    plan: list[PlannedCue]
    info: DeviceInfo
    flush_interval_s: float
    level_window_s: float
    audio: AudioCapture | None = None
    clock: Callable[[], float] = time.monotonic
    gaps: list[Gap] = field(default_factory=list)
    dropped_chunks: int = 0  # duplicates or chunks going back in time

    def __post_init__(self) -> None:
        self._fs = float(self.info.sampling_rate_hz)
        self._period_us = 1e6 / self._fs
        self._last_seq: int | None = None
        self._last_time: int | None = None
        self._first_time: int | None = None
        self._cue = 0
        w = max(1, int(self.level_window_s * self._fs))
        self._ring = np.zeros((w, self.info.channel_count))
        self._ring_pos = 0
        self._ring_fill = 0
        self._sync = _Clock()
        self._audio_frames = 0

    # ---- the session clock -------------------------------------------------------------

    @property
    def session_s(self) -> float:
        """The session clock's now: device time since the first sample, plus one period."""
        if self._first_time is None or self._last_time is None:
            return 0.0
        return (self._last_time - self._first_time) / 1e6 + 1 / self._fs

    def _ingest(self, chunk: EmgChunk) -> None:
        k = len(chunk.samples)
        if k == 0:
            return
        if chunk.samples.shape[1] != self.info.channel_count:
            raise DeviceRestarted(
                f"{self.source.url}: frame {chunk.sequence} has {chunk.samples.shape[1]} "
                f"channels, the Hello said {self.info.channel_count}"
            )
        if self._last_seq is not None:
            if chunk.sequence <= self._last_seq or (
                self._last_time is not None and chunk.device_time_us <= self._last_time
            ):
                self.dropped_chunks += 1  # a duplicate or out of order: never write it twice
                return
            if chunk.sequence > self._last_seq + 1:
                self.gaps.append(
                    Gap(
                        after_sequence=self._last_seq,
                        missing_frames=chunk.sequence - self._last_seq - 1,
                        device_time_us=chunk.device_time_us,
                    )
                )
        t = chunk.device_time_us + np.round(np.arange(k) * self._period_us).astype(np.int64)
        seq = np.full(k, chunk.sequence, dtype=np.int64)
        self.writer.write_emg(t, seq, chunk.samples)
        if self._first_time is None:
            self._first_time = int(t[0])
            self._sync = _Clock(self.clock(), k / self._fs)
        self._last_seq, self._last_time = chunk.sequence, int(t[-1])
        self._levels_push(chunk.samples.astype(np.float64))

    def _levels_push(self, x: NDArray[np.float64]) -> None:
        w = len(self._ring)
        if len(x) >= w:
            self._ring[:] = x[-w:]
            self._ring_pos, self._ring_fill = 0, w
            return
        idx = (self._ring_pos + np.arange(len(x))) % w
        self._ring[idx] = x
        self._ring_pos = (self._ring_pos + len(x)) % w
        self._ring_fill = min(w, self._ring_fill + len(x))

    def levels(self) -> NDArray[np.float64]:
        if self._ring_fill < 2:
            return np.zeros(self.info.channel_count)
        return np.asarray(self._ring[: self._ring_fill].std(axis=0))

    # ---- audio -------------------------------------------------------------------------

    def _pump_audio(self) -> None:
        if self.audio is None:
            return
        blocks = self.audio.read()
        if not blocks:
            return
        if self._audio_frames == 0 and self.writer.meta.audio is not None:
            first = self.audio.first_sample_monotonic
            host_t0 = self._sync.host_t0
            if first is not None and host_t0 is not None:
                offset = self._sync.session_t0 + (first - host_t0)
                audio = self.writer.meta.audio.model_copy(update={"offset_s": round(offset, 4)})
                self.writer.update_meta(audio=audio)
        for b in blocks:
            self.writer.write_audio(b)
            self._audio_frames += len(b)

    # ---- cues --------------------------------------------------------------------------

    def _advance_cues(self) -> None:
        now = self.session_s
        while self._cue < len(self.plan) and self.plan[self._cue].end_s <= now:
            c = self.plan[self._cue]
            self.writer.write_cue(Cue(c.start_s, c.end_s, c.label, c.prompt))
            self._cue += 1

    @property
    def done(self) -> bool:
        return self._cue >= len(self.plan)

    def state(self) -> RecorderState:
        now = self.session_s
        cue = self.plan[self._cue] if not self.done else None
        nxt = next((c for c in self.plan[self._cue :] if not c.is_rest and c.start_s > now), None)
        return RecorderState(
            session_s=now,
            total_s=self.plan[-1].end_s if self.plan else 0.0,
            cue=cue,
            next_prompt=nxt,
            until_next_s=(nxt.start_s - now) if nxt else None,
            remaining_s=(cue.end_s - now) if cue else 0.0,
            levels=self.levels(),
            samples=self.writer.samples,
            gaps=len(self.gaps),
            missing_frames=sum(g.missing_frames for g in self.gaps),
            dropped_chunks=self.dropped_chunks,
            audio_s=(self._audio_frames / self.audio.rate) if self.audio else None,
            cue_index=self._cue,
            cue_count=len(self.plan),
        )

    # ---- the loop ----------------------------------------------------------------------

    def flush(self) -> None:
        self.writer.update_meta(gaps=list(self.gaps), dropped_samples=self.source.dropped_samples())
        self.writer.flush()

    def run(
        self,
        *,
        on_update: Callable[[RecorderState], None] | None = None,
        update_interval_s: float = 0.1,
        stop: threading.Event | None = None,
        read_timeout_s: float = 0.02,
    ) -> SessionMeta:
        """Record until the protocol ends, `stop` is set or Ctrl-C; always finalises."""
        reason = "completed"
        error: BaseException | None = None
        last_flush = last_ui = self.clock()
        if self.audio is not None:
            self.audio.start()
        try:
            while not self.done:
                if stop is not None and stop.is_set():
                    reason = "interrupted"
                    break
                for chunk in self.source.read(read_timeout_s):
                    self._ingest(chunk)
                self._pump_audio()
                self._advance_cues()
                now = self.clock()
                if now - last_flush >= self.flush_interval_s:
                    self.flush()
                    last_flush = now
                if on_update is not None and now - last_ui >= update_interval_s:
                    on_update(self.state())
                    last_ui = now
        except KeyboardInterrupt:
            reason = "interrupted"
        except Exception as e:  # the device went away: keep what we have, then report
            reason, error = "interrupted", e
        finally:
            if self.audio is not None:
                self.audio.stop()
        self._pump_audio()
        if not self.done:
            c = self.plan[self._cue]
            end = min(c.end_s, self.session_s)
            if end > c.start_s:
                self.writer.write_cue(Cue(c.start_s, round(end, 3), c.label, c.prompt))
        self.writer.update_meta(
            gaps=list(self.gaps),
            dropped_samples=self.source.dropped_samples(),
            notes=f"{self.writer.meta.notes} stopped: {error}".strip()
            if error
            else self.writer.meta.notes,
        )
        meta = self.writer.finalise(
            end_reason=reason, ended_utc=utc_now(), duration_s=round(self.session_s, 6)
        )
        if error is not None:
            raise error
        return meta
