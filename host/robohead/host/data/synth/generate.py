"""A synthetic session end to end: protocol timeline -> the subject's delayed, fatigued reactions
-> muscle activations -> sEMG counts and voice -> the same folder format a recording has, plus
targets.csv (the motor targets the subject actually showed, for evaluation).

Ground truth (also documented in data/README.md): for each prompted cue the face moves after the
subject's reaction delay (per-subject mean 0.2-0.4 s, per-cue jitter) and relaxes the same delay
after the cue ends; targets follow the pose table through the subject's first-order rise time.
During speak cues brows and smile keep the pose, and the jaw is the syllable envelope (0..1, a
half-sine per syllable, 0 in pauses), the same envelope that shapes the voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from robohead.host.data.params import DataParams
from robohead.host.data.protocols import (
    SPEAK,
    LoadedProtocol,
    PlannedCue,
    duration_s,
    load_protocol,
    schedule,
)
from robohead.host.data.schema import (
    AdcInfo,
    AudioInfo,
    ChannelInfo,
    Cue,
    ProtocolInfo,
    SessionMeta,
    SourceInfo,
)
from robohead.host.data.synth.emg import synth_emg
from robohead.host.data.synth.subject import Subject, draw_subject
from robohead.host.data.synth.voice import (
    Syllable,
    background,
    envelope,
    plan_phrase,
    synth_phrase_audio,
)
from robohead.host.data.writer import write_session

GENERATOR = "robohead.host.data.synth v1"


@dataclass
class SynthSession:
    meta: SessionMeta
    time_us: NDArray[np.int64]
    sequence: NDArray[np.int64]
    emg: NDArray[np.int16]
    cues: list[Cue]
    audio: NDArray[np.int16] | None
    targets: NDArray[np.float32]
    expression: list[str]
    activation: NDArray[np.float64]  # (n, ch) the muscles' true activation, for tests
    onsets_s: list[float]  # true movement onset per prompted cue (NaN for rests)


def _one_pole(
    x: NDArray[np.float64], tau_s: float, fs: float, start: NDArray[np.float64]
) -> NDArray[np.float64]:
    """First-order lag (the face's rise time), starting settled at `start`."""
    alpha = 1 - np.exp(-1 / (tau_s * fs))
    b, a = np.array([alpha]), np.array([1.0, alpha - 1.0])
    zi = signal.lfilter_zi(b, a)[:, None] * start[None, :]
    y, _ = signal.lfilter(b, a, x, axis=0, zi=zi)
    return np.asarray(y)


def synth_session(
    params: DataParams,
    subject: Subject,
    subject_index: int,
    session_index: int,
    protocol: LoadedProtocol,
    *,
    audio: bool | None = None,
) -> SynthSession:
    """One session of `subject`; deterministic for (params.seed, subject, session)."""
    rng = np.random.default_rng([params.seed, 2, subject_index, session_index])
    cfg = params.data.synth
    fs = float(params.device.sampling_rate_hz)
    spf = params.device.samples_per_frame
    names = params.channel_names
    ch = len(names)
    poses = {k: np.asarray(v, float) for k, v in params.poses.items()}
    neutral = poses["neutral"]
    jaw = params.motors.names.index("jaw") if "jaw" in params.motors.names else None
    plan: list[PlannedCue] = schedule(protocol.protocol, rng)
    total = duration_s(plan)
    n = round(total * fs)
    t = np.arange(n) / fs

    act_cmd = np.zeros((n, ch))
    tgt_cmd = np.tile(neutral, (n, 1))
    speak_act = np.zeros((n, ch))
    speak_jaw = np.zeros(n)
    expression = np.zeros(n, dtype=np.int16)
    labels = params.expressions
    phrases: list[list[Syllable]] = []
    onsets: list[float] = []
    r = cfg.subject
    for i, cue in enumerate(plan):
        if cue.is_rest or cue.label == "neutral":
            onsets.append(float("nan"))
            continue
        delay = float(
            np.clip(subject.reaction_delay_s + rng.normal(0, r.reaction_jitter_s), 0.15, 0.6)
        )
        onset = cue.start_s + delay
        later = [c.start_s for c in plan[i + 1 :] if not c.is_rest and c.label != "neutral"]
        nxt = later[0] + 0.15 if later else total
        offset = min(cue.end_s + delay + rng.normal(0, r.reaction_jitter_s), nxt, total)
        onsets.append(onset)
        i0, i1 = np.searchsorted(t, [onset, offset])
        intensity = rng.uniform(*r.intensity)
        acts = np.array([cfg.activations.get(cue.label, {}).get(c, 0.0) for c in names])
        expression[i0:i1] = labels.index(cue.label)
        if cue.label == SPEAK:
            syl = plan_phrase(cue.prompt, onset, cue.end_s - 0.1, subject.syllable_rate_hz, rng)
            phrases.append(syl)
            e = envelope(syl, t[i0:i1])
            speak_act[i0:i1] = e[:, None] * acts[None, :] * intensity
            pose = poses[SPEAK].copy()
            if jaw is not None:
                pose[jaw] = neutral[jaw]
                speak_jaw[i0:i1] = e
            tgt_cmd[i0:i1] = pose
        else:
            act_cmd[i0:i1] = acts * intensity
            tgt_cmd[i0:i1] = poses[cue.label]
    activation = _one_pole(act_cmd, subject.rise_s, fs, np.zeros(ch)) + speak_act
    targets = _one_pole(tgt_cmd, subject.rise_s, fs, neutral)
    if jaw is not None:
        targets[:, jaw] = np.clip(targets[:, jaw] + speak_jaw, 0.0, 1.0)
    emg = synth_emg(activation, fs, subject, cfg.emg, params.device.adc_bits, rng)

    pcm = None
    audio_info = None
    if cfg.audio if audio is None else audio:
        afs = params.audio.sampling_rate_hz
        offset_s = round(float(rng.uniform(*cfg.voice.offset_s)), 4)
        na = round((total - offset_s) * afs)
        voice = np.zeros(na)
        for syl in phrases:
            voice += synth_phrase_audio(
                syl, subject.f0_hz, subject.vocal_tract, afs, offset_s, na, rng
            )
        peak = np.abs(voice).max() if na else 0.0
        if peak > 0:
            voice *= 10 ** (cfg.voice.peak_dbfs / 20) / peak
        voice += background(na, afs, 10 ** (cfg.voice.noise_dbfs / 20), rng)
        pcm = np.clip(np.round(voice * 32767), -32768, 32767).astype(np.int16)
        audio_info = AudioInfo(sampling_rate_hz=afs, offset_s=offset_s)

    boot_us = int(rng.integers(2_000_000, 60_000_000))
    time_us = boot_us + np.round(np.arange(n) * 1e6 / fs).astype(np.int64)
    sequence = int(rng.integers(0, 1000)) + np.arange(n, dtype=np.int64) // spf
    cues = [Cue(c.start_s, c.end_s, c.label, c.prompt) for c in plan]
    meta = SessionMeta(
        status="complete",
        end_reason="synthetic",
        subject=subject.name,
        session=f"session-{session_index + 1:02d}",
        source=SourceInfo(kind="synthetic", details={"generator": GENERATOR}),
        device={
            "firmware_version": "synthetic",
            "board": "synthetic",
            "device_id": subject.name,
            "channel_count": ch,
            "sampling_rate_hz": int(fs),
            "adc_bits": params.device.adc_bits,
            "samples_per_frame": spf,
            "device_time_us": boot_us,
        },
        sampling_rate_hz=fs,
        samples_per_frame=spf,
        channels=[ChannelInfo(name=c.name, muscle=c.muscle) for c in params.channels],
        adc=AdcInfo(
            bits=params.device.adc_bits,
            reference=params.data.adc_reference,
            midpoint_counts=2 ** (params.device.adc_bits - 1),
        ),
        protocol=ProtocolInfo(
            name=protocol.protocol.name, file=protocol.path.name, sha256=protocol.sha256
        ),
        audio=audio_info,
        samples=n,
        duration_s=n / fs,
        motors=list(params.motors.names),
        synthetic={
            "seed": params.seed,
            "subject_index": subject_index,
            "session_index": session_index,
            "subject": subject.describe(),
        },
    )
    return SynthSession(
        meta,
        time_us,
        sequence,
        emg,
        cues,
        pcm,
        targets.astype(np.float32),
        [labels[k] for k in expression],
        activation,
        onsets,
    )


def write_synth(folder: Path, s: SynthSession) -> None:
    write_session(
        folder,
        s.meta,
        s.time_us,
        s.sequence,
        s.emg,
        s.cues,
        audio=s.audio,
        targets=s.targets,
        target_expression=s.expression,
    )


def synth_dataset(
    params: DataParams,
    out: Path,
    *,
    subjects: int | None = None,
    sessions: int | None = None,
    protocol: str | None = None,
    audio: bool | None = None,
) -> list[Path]:
    """Write subjects x sessions synthetic sessions under out/<subject>/<session>/."""
    cfg = params.data.synth
    proto = load_protocol(protocol or cfg.protocol, params.protocols_dir, params.expressions)
    written = []
    for si in range(subjects or cfg.subjects):
        subject = draw_subject(params, si)
        for k in range(sessions or cfg.sessions_per_subject):
            s = synth_session(params, subject, si, k, proto, audio=audio)
            folder = out / s.meta.subject / s.meta.session
            write_synth(folder, s)
            written.append(folder)
    return written
