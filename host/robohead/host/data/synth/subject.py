"""A synthetic subject: the per-person constants drawn once from params.yaml's ranges.

Two sessions of one subject share these (the same face, electrodes roughly in the same place);
each session then adds its own noise, artefacts and reaction jitter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from robohead.host.data.params import DataParams


@dataclass(frozen=True)
class Subject:
    name: str
    gains: NDArray[np.float64]  # (ch,) amplitude per channel
    crosstalk: NDArray[np.float64]  # (ch, ch) mixing, 1 on the diagonal
    reaction_delay_s: float
    rise_s: float
    fatigue: float
    mains_hz: float
    mains_counts: NDArray[np.float64]  # (ch,) fundamental amplitude
    noise_counts: NDArray[np.float64]  # (ch,) electrode noise RMS
    wander_counts: NDArray[np.float64]  # (ch,)
    band_scale: float  # the subject's motor-unit spectrum, relative to band_hz
    f0_hz: float
    syllable_rate_hz: float
    vocal_tract: float

    def describe(self) -> dict[str, Any]:
        """JSON-friendly parameters for session.json's `synthetic` field."""
        return {
            k: (np.round(v, 4).tolist() if isinstance(v, np.ndarray) else v)
            for k, v in asdict(self).items()
        }


def draw_subject(params: DataParams, index: int) -> Subject:
    """Subject `index` (0-based) for the params.yaml seed; deterministic."""
    rng = np.random.default_rng([params.seed, 1, index])
    r = params.data.synth.subject
    e = params.data.synth.emg
    n = len(params.channels)

    def u(lo_hi: tuple[float, float], size: int | None = None) -> Any:
        return rng.uniform(lo_hi[0], lo_hi[1], size)

    # Neighbouring electrodes pick up each other's muscles; farther ones barely.
    xt = np.eye(n)
    for i in range(n - 1):
        xt[i, i + 1] = u(r.crosstalk)
        xt[i + 1, i] = u(r.crosstalk)
    xt += np.where(xt == 0, rng.uniform(0.0, 0.03, (n, n)), 0.0)
    return Subject(
        name=f"synth-s{index + 1:02d}",
        gains=u(r.gain, n),
        crosstalk=xt,
        reaction_delay_s=float(u(r.reaction_delay_s)),
        rise_s=float(u(r.rise_s)),
        fatigue=float(u(r.fatigue)),
        mains_hz=float(rng.choice(params.data.synth.mains_hz)),
        mains_counts=u(e.mains_counts, n),
        noise_counts=u(e.noise_rms_counts, n),
        wander_counts=u(e.wander_counts, n),
        band_scale=float(rng.uniform(0.9, 1.1)),
        f0_hz=float(u(r.f0_hz)),
        syllable_rate_hz=float(u(r.syllable_rate_hz)),
        vocal_tract=float(u(r.vocal_tract)),
    )
