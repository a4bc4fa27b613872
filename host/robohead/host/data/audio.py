"""Microphone capture for `robohead collect` through sounddevice (PortAudio), when there is one.

The recording works without audio; `open_audio("auto", ...)` returns None with the reason (no
PortAudio, no input device) so the user sees why there is no audio.wav.
"""

from __future__ import annotations

import queue
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray


class AudioCapture:
    """Mono PCM16 blocks in a queue, with the host monotonic time of the first sample."""

    def __init__(self, sd: Any, rate: int, device: int | str | None) -> None:
        self._sd = sd
        self.rate = rate
        self.device = device
        self._q: queue.Queue[NDArray[np.int16]] = queue.Queue()
        self.first_sample_monotonic: float | None = None
        self.overflows = 0
        self._stream: Any = None

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        if self.first_sample_monotonic is None:
            # PortAudio's clock differs from ours: take the latency between capture and now.
            lag = max(0.0, float(time_info.currentTime - time_info.inputBufferAdcTime))
            if not np.isfinite(lag) or lag > 1.0:
                lag = frames / self.rate
            self.first_sample_monotonic = time.monotonic() - lag
        self._q.put(np.asarray(indata[:, 0], dtype=np.int16).copy())

    def start(self) -> None:
        self._stream = self._sd.InputStream(
            samplerate=self.rate,
            channels=1,
            dtype="int16",
            device=self.device,
            callback=self._callback,
        )
        self._stream.start()

    def read(self) -> list[NDArray[np.int16]]:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


def open_audio(spec: str, rate: int) -> tuple[AudioCapture | None, str]:
    """`spec`: 'none', 'auto' (the default input device if any) or a device name/index.
    Returns the capture (not started) or None, and a sentence saying which."""
    if spec == "none":
        return None, "audio: none (--audio none)"
    try:
        import sounddevice as sd
    except (ImportError, OSError) as e:
        return None, f"audio: none (sounddevice unavailable: {e})"
    device: int | str | None = None if spec == "auto" else (int(spec) if spec.isdigit() else spec)
    try:
        info = sd.query_devices(device, kind="input")
    except (ValueError, sd.PortAudioError) as e:
        if spec == "auto":
            return None, "audio: none (no input device)"
        raise ValueError(f"--audio {spec}: no such input device ({e})") from e
    try:
        sd.check_input_settings(device=device, channels=1, dtype="int16", samplerate=rate)
    except (ValueError, sd.PortAudioError) as e:
        if spec == "auto":
            return None, f"audio: none ({info['name']} cannot record {rate} Hz mono: {e})"
        raise ValueError(f"--audio {spec}: cannot record {rate} Hz mono PCM16: {e}") from e
    return AudioCapture(sd, rate, device), f"audio: {info['name']} at {rate} Hz"
