"""The `data` section of params.yaml (plus motors, poses, channels, device, audio) as pydantic.

params.yaml is the one source of every default; these models only validate it, so a typo or an
out-of-range value is an error naming the key instead of a surprise later.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PARAMS_ENV = "ROBOHEAD_PARAMS"


class ParamsError(ValueError):
    """params.yaml is missing or one of its data-related keys is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Range = tuple[float, float]


class ChannelParam(_Strict):
    name: str
    muscle: str


class MotorsParam(_Strict):
    names: list[str]
    neutral: list[float]


class DeviceParam(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    sampling_rate_hz: int = Field(gt=0)
    adc_bits: int = Field(ge=8, le=16)
    samples_per_frame: int = Field(gt=0)
    baud: int = Field(gt=0)


class AudioParam(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    sampling_rate_hz: int = Field(gt=0)


class SubjectRanges(_Strict):
    reaction_delay_s: Range
    reaction_jitter_s: float = Field(ge=0)
    intensity: Range
    gain: Range
    crosstalk: Range
    rise_s: Range
    fatigue: Range
    f0_hz: Range
    syllable_rate_hz: Range
    vocal_tract: Range


class EmgSynth(_Strict):
    full_scale_rms_counts: float = Field(gt=0)
    tonic: float = Field(ge=0, le=1)
    band_hz: Range
    broadband_fraction: float = Field(ge=0, le=1)
    fatigue_shift: float = Field(ge=0, lt=1)
    noise_rms_counts: Range
    mains_counts: Range
    wander_counts: Range
    artefacts_per_min: float = Field(ge=0)
    artefact_counts: Range


class VoiceSynth(_Strict):
    peak_dbfs: float = Field(le=0)
    noise_dbfs: float = Field(le=0)
    offset_s: Range


class SynthParams(_Strict):
    protocol: str
    subjects: int = Field(ge=1)
    sessions_per_subject: int = Field(ge=1)
    audio: bool
    mains_hz: list[float]
    activations: dict[str, dict[str, float]]
    subject: SubjectRanges
    emg: EmgSynth
    voice: VoiceSynth


class LabelParams(_Strict):
    search_window_s: Range
    default_delay_s: float = Field(ge=0)
    envelope_window_s: float = Field(gt=0)
    highpass_hz: float = Field(gt=0)
    threshold: float = Field(gt=0, lt=1)
    voice_lowpass_hz: float = Field(gt=0)
    onset_channels: dict[str, list[str]]


class ValidateParams(_Strict):
    rate_tolerance: float = Field(gt=0)
    audio_length_tolerance_s: float = Field(ge=0)
    cue_tolerance_s: float = Field(ge=0)


class CollectParams(_Strict):
    protocol: str
    root: Path
    flush_interval_s: float = Field(gt=0, le=1.0)
    level_window_s: float = Field(gt=0)
    ui_refresh_hz: float = Field(gt=0)


class DataSection(_Strict):
    adc_reference: str
    synth: SynthParams
    labels: LabelParams
    validate_: ValidateParams = Field(alias="validate")
    collect: CollectParams


class DataParams(BaseModel):
    """Everything robohead.host.data reads from params.yaml."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    root: Path  # the directory holding params.yaml (the repository root)
    seed: int
    motors: MotorsParam
    poses: dict[str, list[float]]
    channels: list[ChannelParam]
    device: DeviceParam
    audio: AudioParam
    data: DataSection

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, v: list[ChannelParam]) -> list[ChannelParam]:
        names = [c.name for c in v]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names must be unique, got {names}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> DataParams:
        n = len(self.motors.names)
        for name, pose in self.poses.items():
            if len(pose) != n or not all(0.0 <= x <= 1.0 for x in pose):
                raise ValueError(f"poses.{name}: expected {n} values in [0, 1], got {pose}")
        if "neutral" not in self.poses:
            raise ValueError("poses: a 'neutral' pose is required")
        names = set(self.channel_names)
        for expr, acts in self.data.synth.activations.items():
            if expr not in self.poses:
                raise ValueError(f"data.synth.activations.{expr}: not an expression in poses")
            for ch in acts:
                if ch not in names:
                    raise ValueError(f"data.synth.activations.{expr}.{ch}: not a channel name")
        for expr, chans in self.data.labels.onset_channels.items():
            if expr not in self.poses:
                raise ValueError(f"data.labels.onset_channels.{expr}: not an expression in poses")
            for ch in chans:
                if ch != "voice" and ch not in names:
                    raise ValueError(f"data.labels.onset_channels.{expr}.{ch}: not a channel")
        return self

    @cached_property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]

    @cached_property
    def expressions(self) -> list[str]:
        """Expression classes in a fixed order (the poses table's), neutral first."""
        rest = [e for e in self.poses if e != "neutral"]
        return ["neutral", *rest]

    @property
    def protocols_dir(self) -> Path:
        return self.root / "host" / "protocols"


def find_params_file(start: Path | None = None) -> Path:
    """params.yaml from $ROBOHEAD_PARAMS, else the nearest one above `start` (or the cwd),
    else the source tree's (this package is installed editable from the repository)."""
    env = os.environ.get(PARAMS_ENV)
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "params.yaml").is_file() and (d / "host" / "protocols").is_dir():
            return d / "params.yaml"
    src = Path(__file__).resolve().parents[4] / "params.yaml"
    if src.is_file():
        return src
    raise ParamsError(f"params.yaml not found above {here} (set ${PARAMS_ENV})")


def load_params(path: Path | None = None) -> DataParams:
    """Read and validate the data-related sections of params.yaml."""
    path = path or find_params_file()
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ParamsError(f"{path}: cannot read: {e}") from e
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    keys = ("seed", "motors", "poses", "channels", "device", "audio", "data")
    missing = [k for k in keys if k not in raw]
    if missing:
        raise ParamsError(f"{path}: missing section(s) {missing}")
    try:
        return DataParams(root=path.resolve().parent, **{k: raw[k] for k in keys})
    except ValueError as e:
        raise ParamsError(f"{path}: {e}") from e
