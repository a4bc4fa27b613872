"""The scripted person: one synthetic session (expressions and speech) the simulator replays.

The session comes from the same generator as the training data (`robohead data synth`): the
model's own subject, in a session index the training set does not contain, following a protocol
(params.yaml `sim.protocol`). The simulator replays its emg.csv in real time, looping, with
sample k at device time ~k/rate since boot. The edge replays the speech from a WAV laid out on
that same clock: the session's audio at its recorded offset, repeated with the sEMG's period, so
voice and jaw muscle stay in step for `sim.audio_loop_s` seconds.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from robohead.host.data.schema import Cue
from robohead.host.sim.settings import SimSettings

__all__ = ["Scenario", "build_scenario", "looped_audio"]


@dataclass(frozen=True)
class Scenario:
    session_dir: Path
    emg_csv: Path
    speech_wav: Path | None
    rate_hz: float
    n_samples: int
    cues: tuple[Cue, ...]
    targets: NDArray[np.float32]  # (n_samples, motors): the session's ground truth
    motor_names: tuple[str, ...]
    poses: dict[str, tuple[float, ...]]

    @property
    def period_s(self) -> float:
        """The sEMG replay loops with this period."""
        return self.n_samples / self.rate_hz

    def session_time(self, device_time_us: float) -> float:
        """Session-clock seconds of a device time (sample k plays at ~k/rate since boot)."""
        return (device_time_us / 1e6) % self.period_s

    def cue_at(self, device_time_us: float) -> Cue | None:
        t = self.session_time(device_time_us)
        for cue in self.cues:
            if cue.start_s <= t < cue.end_s:
                return cue
        return None


def looped_audio(
    audio: NDArray[np.float32], rate_hz: int, offset_s: float, period_s: float, total_s: float
) -> NDArray[np.float32]:
    """`audio` (starting `offset_s` after sEMG sample 0) repeated every `period_s`, on the sEMG
    clock from 0 to `total_s`; a tail past one period wraps into the next repetition."""
    period = round(period_s * rate_hz)
    one = np.zeros(period, dtype=np.float32)
    start = round(offset_s * rate_hz)
    idx = (start + np.arange(audio.shape[0])) % period
    np.add.at(one, idx, audio.astype(np.float32))
    loops = int(np.ceil(total_s / period_s))
    out = np.tile(one, loops)[: round(total_s * rate_hz)]
    return np.clip(out, -1.0, 1.0)


def _write_wav(path: Path, samples: NDArray[np.float32], rate_hz: int) -> None:
    pcm = np.round(samples * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())


def build_scenario(
    workdir: Path, settings: SimSettings, params_file: Path, *, audio_loop_s: float | None = None
) -> Scenario:
    """Synthesise the session into `workdir/session` and lay its speech out for the edge."""
    from robohead.host.data.params import load_params
    from robohead.host.data.protocols import load_protocol
    from robohead.host.data.session import load_session
    from robohead.host.data.synth.generate import synth_session, write_synth
    from robohead.host.data.synth.subject import draw_subject

    params = load_params(params_file)
    proto = load_protocol(settings.protocol, params.protocols_dir, params.expressions)
    subject = draw_subject(params, settings.subject)
    synth = synth_session(params, subject, settings.subject, settings.session, proto, audio=True)
    folder = workdir / "session"
    write_synth(folder, synth)
    session = load_session(folder)
    if session.targets is None:
        raise ValueError(f"{folder}: a synthetic session without targets.csv")
    rate = session.sampling_rate_hz
    n = session.n_samples
    wav: Path | None = None
    if session.audio is not None and session.audio_rate_hz:
        wav = workdir / "speech-on-emg-clock.wav"
        total = audio_loop_s if audio_loop_s is not None else settings.audio_loop_s
        samples = looped_audio(
            session.audio, session.audio_rate_hz, session.audio_offset_s, n / rate, total
        )
        _write_wav(wav, samples, session.audio_rate_hz)
    return Scenario(
        session_dir=folder,
        emg_csv=folder / "emg.csv",
        speech_wav=wav,
        rate_hz=rate,
        n_samples=n,
        cues=tuple(session.cues),
        targets=session.targets,
        motor_names=tuple(session.motor_names or params.motors.names),
        poses={k: tuple(v) for k, v in params.poses.items()},
    )
