"""The `sim` section of params.yaml (the one source of the simulator loop's defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["SimSettings", "SimSettingsError", "load_sim_settings"]


class SimSettingsError(ValueError):
    """params.yaml has no valid `sim` section."""


class SimSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: str = Field(min_length=1)
    subject: int = Field(ge=0)
    session: int = Field(ge=0)
    device_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    bundle: Path
    audio_loop_s: float = Field(gt=0, le=7200)
    start_timeout_s: float = Field(gt=0)
    stop_timeout_s: float = Field(gt=0)
    pose_tolerance: float = Field(gt=0, lt=1)


def load_sim_settings(params_file: Path | None = None) -> tuple[SimSettings, Path]:
    """The validated `sim` section and the repository root (the params file's folder)."""
    from robohead.host.data.params import find_params_file

    path = (params_file or find_params_file()).resolve()
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SimSettingsError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("sim"), dict):
        raise SimSettingsError(f"{path}: no `sim:` section")
    try:
        return SimSettings.model_validate(raw["sim"]), path.parent
    except ValidationError as exc:
        raise SimSettingsError(f"{path}: sim: {exc}") from exc
