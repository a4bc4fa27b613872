"""The training sections of params.yaml (split, model, train, export, registry) as pydantic.

params.yaml holds every value; these models only validate (extra keys are errors, so a typo in
``dvc exp run -S train.epocs=3`` fails loudly instead of being ignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from robohead.host.models.nets import Architecture


class TrainParamsError(ValueError):
    """params.yaml's training sections are missing or invalid (names the key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitParams(_Strict):
    by: Literal["session", "subject"]
    val_fraction: float = Field(gt=0, lt=1)
    test_fraction: float = Field(gt=0, lt=1)


class ModelParams(_Strict):
    arch: Architecture
    hidden: int = Field(ge=1)
    layers: int = Field(ge=1)
    kernel_size: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)
    expression_head: bool


class TrainSection(_Strict):
    seed: int
    threads: int = Field(ge=1)
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    expression_weight: float = Field(ge=0)
    patience: int = Field(ge=1)
    window_stride: int = Field(ge=1)


class ExportParams(_Strict):
    opset: int = Field(ge=18)
    parity_atol: float = Field(gt=0)
    parity_windows: int = Field(ge=1)
    int8: bool
    calibration_windows: int = Field(ge=1)
    bench_runs: int = Field(ge=1)
    golden_atol: float = Field(gt=0)
    golden_raw_s: float = Field(gt=0)
    audio_encoder_parity_atol: float = Field(gt=0)


class RegistryParams(_Strict):
    model_name: str = Field(min_length=1)
    experiment: str = Field(min_length=1)


class TrainingParams(_Strict):
    """Everything the training pipeline reads besides the data and dsp sections."""

    split: SplitParams
    model: ModelParams
    train: TrainSection
    export: ExportParams
    registry: RegistryParams


SECTIONS = ("split", "model", "train", "export", "registry")


def read_params_file(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise TrainParamsError(f"{path}: cannot read: {e}") from e
    if not isinstance(raw, dict):
        raise TrainParamsError(f"{path}: expected a mapping at the top level")
    return raw


def training_params(raw: dict[str, Any], path: Path) -> TrainingParams:
    missing = [s for s in SECTIONS if s not in raw]
    if missing:
        raise TrainParamsError(f"{path}: missing section(s) {missing}")
    try:
        return TrainingParams.model_validate({s: raw[s] for s in SECTIONS})
    except ValidationError as e:
        where = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise TrainParamsError(f"{path}: {where}") from e
