"""The session folder format: file names, CSV columns and the versioned session.json model.

A session is one folder `data/raw/<subject>/<session>/`; data/README.md documents every field.
Bump FORMAT_VERSION on any change a reader of the old format would misread, and keep reading the
old versions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FORMAT_VERSION = 1

META_FILE = "session.json"
EMG_FILE = "emg.csv"
AUDIO_FILE = "audio.wav"
CUES_FILE = "cues.csv"
TARGETS_FILE = "targets.csv"

EMG_TIME_COLUMN = "device_time_us"
EMG_SEQUENCE_COLUMN = "sequence"
CUE_COLUMNS = ("start_s", "end_s", "label", "prompt")
TARGET_TIME_COLUMN = "device_time_us"
TARGET_LABEL_COLUMN = "expression"


class Cue(NamedTuple):
    """One row of cues.csv: a prompt on the session clock."""

    start_s: float
    end_s: float
    label: str
    prompt: str


def emg_header(channel_names: list[str]) -> list[str]:
    return [EMG_TIME_COLUMN, EMG_SEQUENCE_COLUMN, *channel_names]


def targets_header(motor_names: list[str]) -> list[str]:
    return [TARGET_TIME_COLUMN, *motor_names, TARGET_LABEL_COLUMN]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelInfo(_Model):
    name: str = Field(description="column name in emg.csv")
    muscle: str = Field(description="the muscle under the electrode pair")


class AdcInfo(_Model):
    bits: int = Field(ge=1, le=16, description="raw counts lie in [0, 2**bits - 1]")
    reference: str = Field(description="how the signal is biased, e.g. 'mid-rail'")
    midpoint_counts: int = Field(ge=0, description="count of a zero electrode voltage")


class AudioInfo(_Model):
    file: str = AUDIO_FILE
    sampling_rate_hz: int = Field(gt=0)
    channels: Literal[1] = 1
    sample_format: Literal["pcm16"] = "pcm16"
    offset_s: float = Field(
        description="time of audio sample 0 on the session clock (s after the first sEMG sample)"
    )


class Gap(_Model):
    """Frames the device sent (or meant to) that never arrived."""

    after_sequence: int = Field(description="sequence of the last frame before the gap")
    missing_frames: int = Field(gt=0)
    device_time_us: int = Field(description="device time of the first sample after the gap")


class ProtocolInfo(_Model):
    name: str
    file: str | None = None
    sha256: str | None = None


class SourceInfo(_Model):
    kind: Literal["synthetic", "serial", "mqtt"]
    url: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class SessionMeta(_Model):
    """session.json, format version 1."""

    format_version: Literal[1] = 1  # == FORMAT_VERSION
    status: Literal["recording", "complete"] = Field(
        description="'recording' until the recorder finalises; a crash leaves it so"
    )
    end_reason: Literal["completed", "interrupted", "synthetic"] | None = None
    subject: str
    session: str
    started_utc: str | None = None
    ended_utc: str | None = None
    source: SourceInfo
    device: dict[str, Any] | None = Field(
        default=None, description="the device's Hello, as its protobuf JSON mapping"
    )
    sampling_rate_hz: float = Field(gt=0, description="per channel")
    samples_per_frame: int | None = Field(default=None, gt=0)
    channels: list[ChannelInfo] = Field(min_length=1)
    adc: AdcInfo
    protocol: ProtocolInfo | None = None
    audio: AudioInfo | None = None
    samples: int | None = Field(default=None, ge=0, description="rows in emg.csv once complete")
    duration_s: float | None = Field(default=None, ge=0)
    gaps: list[Gap] = Field(default_factory=list)
    dropped_samples: int = Field(default=0, ge=0, description="reported by the device")
    motors: list[str] | None = Field(default=None, description="columns of targets.csv")
    synthetic: dict[str, Any] | None = Field(
        default=None, description="generator seed and the subject's drawn parameters"
    )
    notes: str = ""

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def complete(self) -> bool:
        return self.status == "complete"


class MetaError(ValueError):
    """session.json is missing, unreadable, of an unknown version or fails the schema."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


def read_meta(path: Path) -> SessionMeta:
    """Parse session.json, naming the file and field that is wrong."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise MetaError(path, "missing") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MetaError(path, f"not valid JSON: {e}") from e
    if not isinstance(raw, dict):
        raise MetaError(path, "expected a JSON object")
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise MetaError(
            path, f"format_version {version!r} is not supported (expected {FORMAT_VERSION})"
        )
    try:
        return SessionMeta.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise MetaError(path, problems) from e


def write_meta(path: Path, meta: SessionMeta) -> None:
    """Write session.json atomically (a crash never leaves half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        f.write(meta.model_dump_json(indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of session.json (documented in data/README.md)."""
    return SessionMeta.model_json_schema()
