"""Raw samples -> feature frames: the streaming ``FeatureExtractor`` (daemon, replay) and the
vectorised offline ``extract_session`` (training), which give the same numbers for any chunking.

A frame's audio part needs the audio up to the frame's end, which may arrive later than the
sEMG (USB microphones lag); the extractor holds such frames back until their audio is there.
``finish()`` releases what is still held at the end of a record, treating missing audio as
silence, exactly as the offline function does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from robohead.edge.dsp.audio_features import (
    AudioEncoder,
    audio_end_indices,
    audio_window_length,
    gather_windows,
    make_audio_featurizer,
)
from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.emg_features import emg_feature_frame
from robohead.edge.dsp.filters import (
    FilterState,
    counts_to_signal,
    design_sos,
    sosfilt_offline,
    sosfilt_stream,
)
from robohead.edge.dsp.windows import (
    StreamingWindower,
    frame_count,
    frame_end_samples,
    sliding_windows,
)

Float64Array = NDArray[np.float64]
Int64Array = NDArray[np.int64]
_BLOCK = 2048  # frames per vectorised block offline (bounds memory on long sessions)


@dataclass(frozen=True)
class FeatureFrames:
    """Frames (m, F) float64 and the exclusive sEMG end sample of each (m,) int64."""

    values: Float64Array
    end_sample: Int64Array

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @staticmethod
    def empty(n_features: int) -> FeatureFrames:
        return FeatureFrames(np.empty((0, n_features)), np.empty(0, dtype=np.int64))

    @staticmethod
    def concat(parts: list[FeatureFrames], n_features: int) -> FeatureFrames:
        if not parts:
            return FeatureFrames.empty(n_features)
        return FeatureFrames(
            np.concatenate([p.values for p in parts]), np.concatenate([p.end_sample for p in parts])
        )


def _as_counts(emg: ArrayLike, n_channels: int) -> NDArray[np.float64]:
    a = np.asarray(emg)
    if a.ndim != 2 or a.shape[1] != n_channels:
        raise ValueError(f"expected sEMG counts (samples, {n_channels}), got shape {a.shape}")
    return a.astype(np.float64)


class FeatureExtractor:
    """Streaming feature extraction with all state inside; one instance per stream.

    ``process(emg_chunk, audio_chunk=None)`` takes raw counts (n, ch) and optionally the next
    audio samples (float in [-1, 1]) and returns the frames completed by them.
    ``silent_audio=True`` is for a stream without a microphone while the config has audio
    features: frames are released at once with the audio taken as silence (as offline with
    ``audio=None``) instead of waiting for audio that never comes.
    """

    def __init__(
        self,
        cfg: FeatureConfig,
        *,
        audio_offset_s: float = 0.0,
        audio_encoder: AudioEncoder | None = None,
        silent_audio: bool = False,
    ) -> None:
        self.cfg = cfg
        self.audio_offset_s = audio_offset_s
        self.silent_audio = silent_audio
        self.sos = design_sos(cfg.filter, cfg.sampling_rate_hz)
        self._audio_fn = make_audio_featurizer(cfg.audio, audio_encoder)
        self._audio_len = audio_window_length(cfg.audio) if self._audio_fn is not None else 0
        self.reset()

    def reset(self) -> None:
        """Forget all state (a new stream starts at sample 0)."""
        cfg = self.cfg
        self._filter: FilterState | None = None
        self._windower = StreamingWindower(cfg.window_samples, cfg.hop_samples, cfg.n_channels)
        self._pending: list[tuple[Float64Array, Int64Array]] = []
        self._audio = np.empty(0, dtype=np.float32)
        self._audio_start = 0  # absolute index of self._audio[0]

    @property
    def audio_samples(self) -> int:
        """Audio samples received so far."""
        return self._audio_start + self._audio.shape[0]

    @property
    def pending_frames(self) -> int:
        """Frames whose sEMG is complete but whose audio has not arrived yet."""
        return sum(e.shape[0] for _, e in self._pending)

    def _audio_ends(self, ends: Int64Array) -> Int64Array:
        c = self.cfg
        return audio_end_indices(
            ends, c.sampling_rate_hz, c.audio.sampling_rate_hz, self.audio_offset_s
        )

    def process(self, emg_chunk: ArrayLike, audio_chunk: ArrayLike | None = None) -> FeatureFrames:
        x = counts_to_signal(_as_counts(emg_chunk, self.cfg.n_channels), self.cfg.adc_bits)
        y, self._filter = sosfilt_stream(self.sos, x, self._filter)
        windows, ends = self._windower.push(y)
        emg = emg_feature_frame(windows, self.cfg.emg_features, self.cfg.thresholds)
        if self._audio_fn is None:
            return FeatureFrames(emg, ends)
        if emg.shape[0]:
            self._pending.append((emg, ends))
        if audio_chunk is not None:
            a = np.asarray(audio_chunk, dtype=np.float32).reshape(-1)
            self._audio = np.concatenate([self._audio, a])
        return self._release(final=self.silent_audio)

    def finish(self) -> FeatureFrames:
        """Release every held frame, missing audio counted as silence (end of a record)."""
        if self._audio_fn is None:
            return FeatureFrames.empty(self.cfg.n_features)
        return self._release(final=True)

    def _release(self, *, final: bool) -> FeatureFrames:
        assert self._audio_fn is not None
        if not self._pending:
            self._trim_audio()
            return FeatureFrames.empty(self.cfg.n_features)
        emg = np.concatenate([p[0] for p in self._pending])
        ends = np.concatenate([p[1] for p in self._pending])
        aends = self._audio_ends(ends)
        n = emg.shape[0] if final else int(np.searchsorted(aends, self.audio_samples, side="right"))
        rest = (emg[n:], ends[n:])
        self._pending = [rest] if rest[1].shape[0] else []
        if n == 0:
            return FeatureFrames.empty(self.cfg.n_features)
        win = gather_windows(self._audio, self._audio_start, aends[:n], self._audio_len)
        audio_feat = np.asarray(self._audio_fn(win), dtype=np.float64)
        self._trim_audio()
        return FeatureFrames(np.concatenate([emg[:n], audio_feat], axis=1), ends[:n])

    def _trim_audio(self) -> None:
        """Drop audio no pending or future frame can still need."""
        if self._pending:
            first_end = self._pending[0][1][:1]
        else:
            first_end = frame_end_samples(
                self._windower.next_frame, 1, self.cfg.window_samples, self.cfg.hop_samples
            )
        keep = int(self._audio_ends(first_end)[0]) - self._audio_len
        cut = min(max(0, keep - self._audio_start), self._audio.shape[0])
        if cut:
            self._audio, self._audio_start = self._audio[cut:], self._audio_start + cut


def extract_session(
    cfg: FeatureConfig,
    emg: ArrayLike,
    audio: ArrayLike | None = None,
    *,
    audio_offset_s: float = 0.0,
    audio_encoder: AudioEncoder | None = None,
) -> FeatureFrames:
    """All frames of a whole record at once (vectorised); equals streaming + ``finish()``.

    With audio features configured and ``audio`` None, the audio is taken as silence.
    """
    x = counts_to_signal(_as_counts(emg, cfg.n_channels), cfg.adc_bits)
    y = sosfilt_offline(design_sos(cfg.filter, cfg.sampling_rate_hz), x)
    w, hop = cfg.window_samples, cfg.hop_samples
    m = frame_count(y.shape[0], w, hop)
    ends = frame_end_samples(0, m, w, hop)
    all_windows = sliding_windows(y, w, hop)
    audio_fn = make_audio_featurizer(cfg.audio, audio_encoder)
    a = np.zeros(0, np.float32) if audio is None else np.asarray(audio, np.float32).reshape(-1)
    parts: list[Float64Array] = []
    for b in range(0, m, _BLOCK):
        feats = [emg_feature_frame(all_windows[b : b + _BLOCK], cfg.emg_features, cfg.thresholds)]
        if audio_fn is not None:
            aends = audio_end_indices(
                ends[b : b + _BLOCK],
                cfg.sampling_rate_hz,
                cfg.audio.sampling_rate_hz,
                audio_offset_s,
            )
            win = gather_windows(a, 0, aends, audio_window_length(cfg.audio))
            feats.append(np.asarray(audio_fn(win), dtype=np.float64))
        parts.append(np.concatenate(feats, axis=1))
    values = np.concatenate(parts) if parts else np.empty((0, cfg.n_features))
    return FeatureFrames(values, ends)
