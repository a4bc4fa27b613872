"""The `monitor` section of params.yaml (the one source of the monitor's defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["MonitorSettings", "SettingsError", "load_monitor_settings", "parse_broker"]


class SettingsError(ValueError):
    """params.yaml has no valid `monitor` section, or a broker address is malformed."""


class MonitorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    broker: str = Field(min_length=1)
    refresh_hz: float = Field(gt=0, le=60)
    stale_s: float = Field(gt=0)
    events: int = Field(ge=0, le=100)
    emg_range_db: tuple[float, float]
    audio_range_dbfs: tuple[float, float]

    @model_validator(mode="after")
    def _ranges(self) -> MonitorSettings:
        for name in ("emg_range_db", "audio_range_dbfs"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise ValueError(f"{name}: [{lo}, {hi}] must be increasing")
        parse_broker(self.broker)
        return self


def load_monitor_settings(params_file: Path | None = None) -> MonitorSettings:
    """The validated `monitor` section of params.yaml (found like every other section)."""
    from robohead.host.data.params import find_params_file

    path = params_file or find_params_file()
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("monitor"), dict):
        raise SettingsError(f"{path}: no `monitor:` section")
    try:
        return MonitorSettings.model_validate(raw["monitor"])
    except ValidationError as exc:
        raise SettingsError(f"{path}: monitor: {exc}") from exc


def parse_broker(address: str, *, default_port: int = 1883) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port` -> (host, port)."""
    text = address.strip()
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SettingsError(f"broker {address!r}: unclosed '[' of an IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SettingsError(f"broker {address!r}: expected ':port' after ']'")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host:
        raise SettingsError(f"broker {address!r}: empty host name")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise SettingsError(f"broker {address!r}: port {port_text!r} is not in 1..65535")
    return host, int(port_text)
