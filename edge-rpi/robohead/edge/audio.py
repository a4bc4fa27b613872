"""Audio for models that listen: a USB microphone (sounddevice, optional), a WAV file replayed
in step with the sEMG, or silence.

Every source is paced by the sEMG clock: `read(upto_s)` returns the samples from where the last
call stopped up to `upto_s` seconds of sEMG stream time (the sEMG samples received divided by
their rate), never more. A WAV file or silence can always deliver exactly that, so replay is
deterministic; a microphone delivers what it has captured so far and the DSP holds frames back
until their audio arrives. Audio sample 0 of a source sits at `offset_s` on the sEMG clock
(`audio.offset_s` in the config: positive when the audio lags).
"""

from __future__ import annotations

import threading
import wave
from collections import deque
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from robohead.edge.config import AudioConfig

__all__ = [
    "AudioError",
    "AudioSource",
    "MicrophoneSource",
    "SilenceSource",
    "WavSource",
    "open_source",
    "read_wav",
]

Float32Array = npt.NDArray[np.float32]


class AudioError(RuntimeError):
    """The audio input cannot be opened or has the wrong format (names the file/device)."""


class AudioSource(Protocol):
    rate_hz: int
    offset_s: float
    position: int  # samples delivered since the last rewind

    def start(self) -> None: ...

    def read(self, upto_s: float) -> Float32Array: ...

    def rewind(self) -> None: ...

    def close(self) -> None: ...


def read_wav(path: Path) -> tuple[Float32Array, int]:
    """Mono float32 in [-1, 1] and the rate of a 16-bit PCM WAV (channels are averaged)."""
    try:
        with wave.open(str(path), "rb") as w:
            width, rate, channels = w.getsampwidth(), w.getframerate(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError as exc:
        raise AudioError(f"{path}: WAV file not found") from exc
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"{path}: not a PCM WAV file: {exc}") from exc
    if width != 2:
        raise AudioError(f"{path}: {8 * width}-bit samples, expected 16-bit PCM")
    pcm = np.frombuffer(raw[: len(raw) - len(raw) % (2 * channels)], dtype="<i2")
    mono = pcm.reshape(-1, channels).astype(np.float32).mean(axis=1) / 32768.0
    return mono.astype(np.float32), rate


class _Paced:
    """Counts samples delivered against the sEMG clock."""

    def __init__(self, rate_hz: int, offset_s: float) -> None:
        self.rate_hz = rate_hz
        self.offset_s = offset_s
        self.position = 0

    def wanted(self, upto_s: float) -> int:
        """Samples still owed up to `upto_s` on the sEMG clock."""
        end = round((upto_s - self.offset_s) * self.rate_hz)
        return max(0, end - self.position)

    def rewind(self) -> None:
        self.position = 0


class SilenceSource(_Paced):
    """Zeros at the model's audio rate: for bundles with audio features but no microphone."""

    def start(self) -> None:
        pass

    def read(self, upto_s: float) -> Float32Array:
        n = self.wanted(upto_s)
        self.position += n
        return np.zeros(n, dtype=np.float32)

    def close(self) -> None:
        pass


class WavSource(_Paced):
    """A WAV file replayed at the pace of the sEMG; silence after its end."""

    def __init__(self, path: Path, rate_hz: int, offset_s: float) -> None:
        super().__init__(rate_hz, offset_s)
        self.samples, file_rate = read_wav(path)
        if file_rate != rate_hz:
            raise AudioError(f"{path}: {file_rate} Hz, the model expects {rate_hz} Hz audio")

    def start(self) -> None:
        pass

    def read(self, upto_s: float) -> Float32Array:
        n = self.wanted(upto_s)
        chunk = self.samples[self.position : self.position + n]
        if chunk.shape[0] < n:
            chunk = np.concatenate([chunk, np.zeros(n - chunk.shape[0], dtype=np.float32)])
        self.position += n
        return chunk

    def close(self) -> None:
        pass


class MicrophoneSource:
    """A sounddevice input stream; its callback fills a bounded buffer the daemon drains."""

    def __init__(
        self, device: str | int | None, rate_hz: int, offset_s: float, *, max_seconds: float = 5.0
    ) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: PortAudio library missing
            raise AudioError(
                "audio.source = 'device' needs sounddevice and PortAudio "
                "(pip install 'robohead-edge[audio]'; apt install libportaudio2)"
            ) from exc
        self.rate_hz = rate_hz
        self.offset_s = offset_s
        self.position = 0
        self._sd: Any = sounddevice
        self._device = device
        self._lock = threading.Lock()
        self._chunks: deque[Float32Array] = deque()
        self._buffered = 0
        self._max = int(max_seconds * rate_hz)
        self.overflows = 0
        self._stream: Any = None

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.overflows += 1
        chunk = np.asarray(indata, dtype=np.float32).mean(axis=1).copy()
        with self._lock:
            self._chunks.append(chunk)
            self._buffered += chunk.shape[0]
            while self._buffered > self._max and self._chunks:
                self._buffered -= self._chunks.popleft().shape[0]
                self.overflows += 1

    def start(self) -> None:
        try:
            self._stream = self._sd.InputStream(
                device=self._device,
                channels=1,
                samplerate=self.rate_hz,
                dtype="float32",
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError and friends are untyped
            raise AudioError(f"cannot open audio input {self._device!r}: {exc}") from exc

    def read(self, upto_s: float) -> Float32Array:
        """Everything captured so far (the microphone cannot run ahead of real time)."""
        with self._lock:
            chunks, self._chunks, self._buffered = list(self._chunks), deque(), 0
        out = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        self.position += out.shape[0]
        return out

    def rewind(self) -> None:
        """A new sEMG stream starts now: drop what was captured before it."""
        with self._lock:
            self._chunks.clear()
            self._buffered = 0
        self.position = 0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


def open_source(config: AudioConfig, rate_hz: int) -> AudioSource:
    """The configured source at the model's audio rate (silence when none is configured)."""
    if config.source == "wav":
        assert config.wav is not None  # the config validator guarantees it
        return WavSource(config.wav, rate_hz, config.offset_s)
    if config.source == "device":
        return MicrophoneSource(config.device, rate_hz, config.offset_s)
    return SilenceSource(rate_hz, config.offset_s)
