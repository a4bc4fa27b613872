"""Recording protocols (host/protocols/*.yaml): which cues to prompt, how long, how often.

A protocol is blocks of cues; each block repeats (optionally shuffled) and a neutral rest
separates consecutive cues. `schedule()` expands it into the concrete timeline that both the
synthetic subject and `robohead collect` follow, so a synthetic and a recorded session share
their structure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REST_PROMPT = "Rest"
SPEAK = "speak"


class ProtocolError(ValueError):
    """A protocol file is missing or invalid; names the file and the field."""


class CueSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(description="an expression of the poses table in params.yaml")
    duration_s: float = Field(gt=0, le=60)
    prompt: str | None = Field(default=None, description="text shown; defaults to the label")
    phrases: list[str] | None = Field(
        default=None, description="speak cues: one cue per phrase, the phrase is the prompt"
    )

    @model_validator(mode="after")
    def _phrases_only_for_speak(self) -> CueSpec:
        if self.phrases is not None and not self.phrases:
            raise ValueError("phrases: give at least one phrase or leave it out")
        return self


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repeat: int = Field(default=1, ge=1)
    shuffle: bool = False
    cues: list[CueSpec] = Field(min_length=1)


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    countdown_s: float = Field(default=2.0, ge=0, description="'get ready' shown before a cue")
    rest_s: float = Field(ge=0, description="neutral rest between consecutive cues")
    rest_jitter_s: float = Field(default=0.0, ge=0, description="uniform +- on every rest")
    lead_in_s: float = Field(default=0.0, ge=0, description="rest before the first cue")
    lead_out_s: float = Field(default=0.0, ge=0, description="rest after the last cue")
    blocks: list[Block] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedProtocol:
    protocol: Protocol
    path: Path
    sha256: str


@dataclass(frozen=True)
class PlannedCue:
    start_s: float
    end_s: float
    label: str
    prompt: str
    repetition: int  # 0-based repetition of its block (rests: -1)

    @property
    def is_rest(self) -> bool:
        return self.repetition < 0


def resolve_protocol(name_or_path: str | Path, protocols_dir: Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return protocols_dir / f"{name_or_path}.yaml"


def load_protocol(
    name_or_path: str | Path, protocols_dir: Path, expressions: list[str] | None = None
) -> LoadedProtocol:
    """Load and validate a protocol; `expressions` (the poses table) checks every label."""
    path = resolve_protocol(name_or_path, protocols_dir)
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data)
        proto = Protocol.model_validate(raw)
    except FileNotFoundError as e:
        raise ProtocolError(f"{path}: no such protocol") from e
    except yaml.YAMLError as e:
        raise ProtocolError(f"{path}: not valid YAML: {e}") from e
    except ValidationError as e:
        msg = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise ProtocolError(f"{path}: {msg}") from e
    if expressions is not None:
        for bi, block in enumerate(proto.blocks):
            for ci, cue in enumerate(block.cues):
                if cue.label not in expressions:
                    raise ProtocolError(
                        f"{path}: blocks.{bi}.cues.{ci}.label {cue.label!r} is not one of "
                        f"{expressions} (params.yaml poses)"
                    )
    return LoadedProtocol(proto, path, hashlib.sha256(data).hexdigest())


def _prompt(cue: CueSpec) -> str:
    return cue.prompt or cue.label.replace("_", " ").capitalize()


def schedule(protocol: Protocol, rng: np.random.Generator) -> list[PlannedCue]:
    """The concrete timeline, rests included (label 'neutral', prompt 'Rest')."""
    items: list[tuple[CueSpec, str, int]] = []
    for block in protocol.blocks:
        for rep in range(block.repeat):
            expanded = [
                (c, phrase, rep)
                for c in block.cues
                for phrase in (c.phrases if c.phrases else [_prompt(c)])
            ]
            if block.shuffle:
                expanded = [expanded[i] for i in rng.permutation(len(expanded))]
            items.extend(expanded)
    out: list[PlannedCue] = []
    t = 0.0
    if protocol.lead_in_s > 0:
        out.append(PlannedCue(0.0, protocol.lead_in_s, "neutral", REST_PROMPT, -1))
        t = protocol.lead_in_s
    for i, (cue, prompt, rep) in enumerate(items):
        if i > 0 and protocol.rest_s > 0:
            jitter = rng.uniform(-protocol.rest_jitter_s, protocol.rest_jitter_s)
            rest = max(0.2, protocol.rest_s + jitter)
            out.append(PlannedCue(t, t + rest, "neutral", REST_PROMPT, -1))
            t += rest
        out.append(PlannedCue(t, t + cue.duration_s, cue.label, prompt, rep))
        t += cue.duration_s
    if protocol.lead_out_s > 0:
        out.append(PlannedCue(t, t + protocol.lead_out_s, "neutral", REST_PROMPT, -1))
    return [
        PlannedCue(round(c.start_s, 3), round(c.end_s, 3), c.label, c.prompt, c.repetition)
        for c in out
    ]


def duration_s(cues: list[PlannedCue]) -> float:
    return cues[-1].end_s if cues else 0.0
