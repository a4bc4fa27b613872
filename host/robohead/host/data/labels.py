"""Per-sample training targets from a session's cues, each cue aligned to the measured onset.

People react 200-400 ms after a prompt; labelling from the prompt would teach the model that a
relaxed face means "smile" for the first third of a second of every cue. So each prompted cue is
shifted to where its muscles (or the voice) actually become active. The method is documented in
data/README.md ("Labels"); in short: the first crossing of the middle between the pre-prompt
baseline and the in-cue plateau of the expression's envelope, searched 150-600 ms after the
prompt. During speak the jaw target follows the voice envelope.

Offline code: zero-phase filters are right here (timing must not be biased); the causal streaming
DSP lives in robohead.edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from robohead.host.data.params import DataParams
from robohead.host.data.protocols import SPEAK
from robohead.host.data.schema import Cue
from robohead.host.data.session import Session

VOICE = "voice"
BASELINE_S = 0.5
PLATEAU_FROM_S = 0.6


@dataclass(frozen=True)
class CueAlignment:
    cue: Cue
    delay_s: float  # measured (or fallback) reaction delay; 0 for rests and neutral cues
    found: bool  # an onset was measured (False: fallback delay used, or a neutral cue)
    channel: str | None  # the envelope whose crossing set the onset
    start_s: float  # aligned label span on the session clock
    end_s: float


@dataclass(frozen=True)
class Labels:
    targets: NDArray[np.float32]  # (n, motors) in [0, 1], order of motor_names
    expression: NDArray[np.int16]  # (n,) index into expressions
    expressions: list[str]
    motor_names: list[str]
    alignments: list[CueAlignment]

    def expression_names(self) -> list[str]:
        return [self.expressions[i] for i in self.expression]


def _moving_rms(x: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """Centred moving RMS along axis 0 (no lag)."""
    width = max(1, width)
    c = np.cumsum(np.concatenate([np.zeros((1, *x.shape[1:])), x * x]), axis=0)
    n = x.shape[0]
    lo = np.clip(np.arange(n) - width // 2, 0, n)
    hi = np.clip(lo + width, 0, n)
    lo = np.clip(hi - width, 0, n)
    count = np.maximum(hi - lo, 1).reshape(-1, *([1] * (x.ndim - 1)))
    return np.asarray(np.sqrt(np.maximum(c[hi] - c[lo], 0) / count), dtype=np.float64)


def envelopes(session: Session, params: DataParams) -> dict[str, NDArray[np.float64]]:
    """RMS envelope per channel name (and 'voice' when there is audio) on the sEMG time base."""
    cfg = params.data.labels
    fs = session.sampling_rate_hz
    out: dict[str, NDArray[np.float64]] = {}
    n = session.n_samples
    if n == 0:
        return out
    x = session.emg.astype(np.float64)
    x -= x.mean(axis=0)
    if n > 64:
        sos = signal.butter(4, cfg.highpass_hz, btype="highpass", fs=fs, output="sos")
        x = signal.sosfiltfilt(sos, x, axis=0)
    env = _moving_rms(x, round(cfg.envelope_window_s * fs))
    for i, name in enumerate(session.channel_names):
        out[name] = env[:, i]
    if session.audio is not None and session.audio_rate_hz and len(session.audio):
        afs = session.audio_rate_hz
        a = session.audio.astype(np.float64)
        aenv = _moving_rms(a[:, None], round(cfg.envelope_window_s * afs))[:, 0]
        idx = np.round((session.time_s - session.audio_offset_s) * afs).astype(np.int64)
        inside = (idx >= 0) & (idx < len(a))
        v = np.zeros(n)
        v[inside] = aenv[idx[inside]]
        out[VOICE] = v
    return out


def _onset(
    env: NDArray[np.float64],
    t: NDArray[np.float64],
    cue: Cue,
    cfg_threshold: float,
    window: tuple[float, float],
) -> float | None:
    """Seconds after the prompt of the first threshold crossing, or None."""
    p = cue.start_s
    b0, b1 = np.searchsorted(t, [p - BASELINE_S, p])
    q0, q1 = np.searchsorted(t, [p + PLATEAU_FROM_S, cue.end_s])
    if b1 - b0 < 5 or q1 - q0 < 5:
        return None
    base = float(np.median(env[b0:b1]))
    plateau = float(np.percentile(env[q0:q1], 90))
    if plateau < 1.5 * base + 1e-9:
        return None
    thr = base + cfg_threshold * (plateau - base)
    w0, w1 = np.searchsorted(t, [p + window[0], p + window[1]])
    hits = np.nonzero(env[w0:w1] >= thr)[0]
    if not len(hits):
        return None
    return float(t[w0 + hits[0]] - p)


def align_cues(
    session: Session, params: DataParams, envs: dict[str, NDArray[np.float64]] | None = None
) -> list[CueAlignment]:
    """Measured reaction delay for every prompted cue (rests and neutral cues get 0)."""
    cfg = params.data.labels
    envs = envelopes(session, params) if envs is None else envs
    t = session.time_s
    raw: list[tuple[Cue, float | None, str | None]] = []
    for cue in session.cues:
        if cue.label == "neutral":
            raw.append((cue, 0.0, None))
            continue
        best: tuple[float, str] | None = None
        for ch in cfg.onset_channels.get(cue.label, []):
            if ch not in envs:
                continue
            d = _onset(envs[ch], t, cue, cfg.threshold, cfg.search_window_s)
            if d is not None and (best is None or d < best[0]):
                best = (d, ch)
        raw.append((cue, best[0] if best else None, best[1] if best else None))
    found = [d for c, d, _ in raw if d is not None and c.label != "neutral"]
    fallback = float(np.median(found)) if found else cfg.default_delay_s
    out: list[CueAlignment] = []
    for cue, d, where in raw:
        if cue.label == "neutral":
            out.append(CueAlignment(cue, 0.0, False, None, cue.start_s, cue.end_s))
            continue
        delay = fallback if d is None else d
        out.append(
            CueAlignment(cue, delay, d is not None, where, cue.start_s + delay, cue.end_s + delay)
        )
    # A cue's span never runs into the next cue's aligned start.
    for i in range(len(out) - 1):
        nxt = out[i + 1].start_s
        if out[i].end_s > nxt:
            a = out[i]
            out[i] = CueAlignment(a.cue, a.delay_s, a.found, a.channel, a.start_s, nxt)
    return out


def _lowpass(x: NDArray[np.float64], hz: float, fs: float) -> NDArray[np.float64]:
    if len(x) < 64 or hz >= fs / 2:
        return x
    sos = signal.butter(2, hz, fs=fs, output="sos")
    return np.asarray(signal.sosfiltfilt(sos, x))


def make_labels(session: Session, params: DataParams) -> Labels:
    """Targets (n, motors) and expression index (n,) for every sample of `session`."""
    cfg = params.data.labels
    expressions = params.expressions
    motors = list(params.motors.names)
    poses = {k: np.asarray(v, np.float64) for k, v in params.poses.items()}
    n = session.n_samples
    t = session.time_s
    envs = envelopes(session, params)
    aligned = align_cues(session, params, envs)
    targets = np.tile(poses["neutral"], (n, 1))
    expr = np.zeros(n, dtype=np.int16)
    jaw = motors.index("jaw") if "jaw" in motors else None
    voice = None
    # The jaw follows the first available of the speak onset channels: the voice, else the
    # digastric envelope (params.yaml data.labels.onset_channels.speak).
    driver = next((c for c in cfg.onset_channels.get(SPEAK, []) if c in envs), None)
    if driver is not None and jaw is not None:
        voice = _lowpass(envs[driver], cfg.voice_lowpass_hz, session.sampling_rate_hz)
        rest = np.ones(n, dtype=bool)
        for a in aligned:
            if a.cue.label != "neutral":
                i0, i1 = np.searchsorted(t, [a.start_s, a.end_s])
                rest[i0:i1] = False
        floor = float(np.median(voice[rest])) if rest.any() else 0.0
        voice = np.maximum(voice - floor, 0.0)
    for a in aligned:
        if a.cue.label == "neutral":
            continue
        i0, i1 = np.searchsorted(t, [a.start_s, a.end_s])
        if i1 <= i0:
            continue
        expr[i0:i1] = expressions.index(a.cue.label)
        targets[i0:i1] = poses[a.cue.label]
        if a.cue.label == SPEAK and voice is not None and jaw is not None:
            seg = voice[i0:i1]
            scale = float(np.percentile(seg, 95))
            targets[i0:i1, jaw] = np.clip(seg / scale, 0.0, 1.0) if scale > 0 else 0.0
    return Labels(targets.astype(np.float32), expr, expressions, motors, aligned)
