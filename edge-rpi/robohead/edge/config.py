"""The edge daemon's configuration: one TOML file, validated by pydantic models.

Every section is a model with ``extra="forbid"`` so a typo is an error rather than a silently
ignored key, and every field has a description: the README's table of defaults is generated from
these models (``reference_table``), so the two cannot drift. Relative paths are resolved against
the directory of the configuration file.
"""

from __future__ import annotations

import re
import socket
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

__all__ = [
    "AudioConfig",
    "BundleConfig",
    "CalibrationConfig",
    "ConfigError",
    "EdgeConfig",
    "MotorsConfig",
    "MqttConfig",
    "PostprocessConfig",
    "SerialConfig",
    "TlsConfig",
    "load_config",
    "parse_config",
    "reference_table",
]


class ConfigError(ValueError):
    """The configuration file is missing, is not TOML, or fails validation (names file:line)."""


def _resolve(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    base = (info.context or {}).get("base_dir")
    try:
        value = value.expanduser()
    except RuntimeError as exc:  # "~nosuchuser/...": pathlib cannot find that home directory
        raise ValueError(f"cannot expand {str(value)!r}: {exc}") from exc
    if not value.is_absolute() and base is not None:
        value = Path(base) / value
    return value


def _existing_file(value: Path | None, info: ValidationInfo) -> Path | None:
    value = _resolve(value, info)
    if value is not None and not value.is_file():
        raise ValueError(f"file not found: {value}")
    return value


ResolvedPath = Annotated[Path, AfterValidator(_resolve)]
ExistingFile = Annotated[Path, AfterValidator(_existing_file)]

_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SerialConfig(_Section):
    """The USB serial link to the ESP32."""

    url: str = Field(
        default="/dev/robohead-esp32",
        description="pyserial URL or device path (the udev rule's stable name; a pty path for the "
        "simulator; `socket://host:port` works too).",
    )
    baudrate: int | None = Field(
        default=None, gt=0, description="Baud rate; unset uses the protocol Link's default."
    )
    hello_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How long to wait for the device's Hello after opening before asking again.",
    )


class BundleConfig(_Section):
    """Where the deploy bundle (model.onnx + bundle.json) lives; how often to look for a new one."""

    dir: ResolvedPath = Field(
        default=Path("/var/lib/robohead-edge/bundle"),
        description="Bundle directory (`make deploy-rpi` copies the champion bundle here).",
    )
    watch_interval_s: float = Field(
        default=2.0,
        ge=0,
        description="Poll the bundle for changes this often and hot-reload it; 0 turns watching "
        "off (reload still works by command or SIGHUP).",
    )


class AudioConfig(_Section):
    """The optional microphone, or a WAV file replayed in step with the sEMG clock."""

    source: Literal["none", "device", "wav"] = Field(
        default="none",
        description="`none`, `device` (a sounddevice input) or `wav` (replay a file).",
    )
    device: str | int | None = Field(
        default=None,
        description="sounddevice input device name or index; unset is the default input.",
    )
    wav: ExistingFile | None = Field(default=None, description='WAV file for `source = "wav"`.')
    offset_s: float = Field(
        default=0.0,
        ge=-10,
        le=10,
        description="Audio time minus sEMG time at the first sample (positive: audio lags).",
    )

    @model_validator(mode="after")
    def _wav_needs_file(self) -> AudioConfig:
        if self.source == "wav" and self.wav is None:
            raise ValueError('source = "wav" needs `wav = "path/to/file.wav"`')
        return self


class PostprocessConfig(_Section):
    """Smoothing and safety limits between the model and the motors (One-Euro, Casiez 2012)."""

    min_cutoff_hz: float = Field(
        default=1.5, gt=0, le=50, description="One-Euro minimum cutoff: lower is smoother at rest."
    )
    beta: float = Field(
        default=0.5,
        ge=0,
        le=100,
        description="One-Euro speed coefficient: higher follows fast moves sooner.",
    )
    d_cutoff_hz: float = Field(
        default=1.0, gt=0, le=50, description="One-Euro cutoff of the derivative estimate."
    )
    deadband: float = Field(
        default=0.01,
        ge=0,
        le=0.5,
        description="Changes smaller than this (target units) are held back.",
    )
    max_rate_per_s: tuple[float, ...] = Field(
        default=(4.0, 4.0, 8.0),
        min_length=1,
        description="Per-motor rate limit in target units per second, in motor order.",
    )

    @model_validator(mode="after")
    def _positive_rates(self) -> PostprocessConfig:
        if any(not r > 0 for r in self.max_rate_per_s):
            raise ValueError(f"max_rate_per_s must all be > 0, got {list(self.max_rate_per_s)}")
        return self


class MotorsConfig(_Section):
    """Motor commands to the ESP32."""

    command_rate_hz: float = Field(
        default=50.0,
        gt=0,
        le=200,
        description="MotorCommand rate (the servos' own frame rate is 50 Hz).",
    )
    initial_mode: Literal["auto", "manual", "neutral"] = Field(
        default="auto",
        description="Mode at start: `auto` (model), `manual` (poses from MQTT), `neutral`.",
    )


class TlsConfig(_Section):
    """TLS to the broker."""

    enabled: bool = Field(default=False, description="Connect with TLS.")
    ca_file: ExistingFile | None = Field(
        default=None, description="CA certificate (PEM); unset uses the system trust store."
    )
    cert_file: ExistingFile | None = Field(default=None, description="Client certificate (PEM).")
    key_file: ExistingFile | None = Field(default=None, description="Client private key (PEM).")
    insecure: bool = Field(
        default=False,
        description="Skip the host name check (testing with self-signed certificates only).",
    )

    @model_validator(mode="after")
    def _cert_and_key(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        return self


class MqttConfig(_Section):
    """The MQTT broker (Mosquitto): status, meta, telemetry, metrics, events and commands."""

    enabled: bool = Field(default=True, description="Talk to a broker at all.")
    host: str = Field(default="localhost", min_length=1, description="Broker host name or address.")
    port: int = Field(
        default=1883, ge=1, le=65535, description="Broker port (8883 is usual with TLS)."
    )
    client_id: str | None = Field(
        default=None, description="MQTT client id; unset is `robohead-edge-<device_id>`."
    )
    keepalive_s: int = Field(default=15, ge=5, le=3600, description="MQTT keepalive.")
    username: str | None = Field(default=None, description="User name for the broker.")
    password: SecretStr | None = Field(
        default=None,
        description="Password (prefer `password_file`, which keeps it out of this file).",
    )
    password_file: ExistingFile | None = Field(
        default=None, description="File whose first line is the password."
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description="TLS settings.")
    telemetry_rate_hz: float = Field(
        default=10.0, ge=0, le=100, description="Rate of `telemetry/state`; 0 turns it off."
    )
    metrics_interval_s: float = Field(
        default=1.0, gt=0, le=3600, description="Period of `metrics`."
    )
    queue_size: int = Field(
        default=1000,
        ge=10,
        le=1_000_000,
        description="Outgoing messages kept while the broker is away; older telemetry is dropped.",
    )
    raw_emg: bool = Field(
        default=False, description="Stream raw sEMG (`telemetry/raw_emg`, binary) from the start."
    )
    reconnect_min_s: float = Field(default=0.5, gt=0, description="First reconnect delay.")
    reconnect_max_s: float = Field(
        default=10.0, gt=0, description="Longest reconnect delay (backoff cap)."
    )

    @model_validator(mode="after")
    def _one_password(self) -> MqttConfig:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set `password` or `password_file`, not both")
        if (self.password is not None or self.password_file is not None) and not self.username:
            raise ValueError("a password needs a `username`")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self

    def resolved_password(self) -> str | None:
        """The password from `password` or the first line of `password_file`."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            lines = self.password_file.read_text(encoding="utf-8").splitlines()
            return lines[0] if lines else ""
        return None


class CalibrationConfig(_Section):
    """Per-channel normalisation from a rest and a maximal-contraction recording."""

    rest_s: float = Field(default=5.0, gt=0, le=120, description="Length of the rest recording.")
    max_s: float = Field(
        default=5.0, gt=0, le=120, description="Length of the maximal-contraction recording."
    )
    file: str = Field(
        default="calibration.json",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="File name of the stored calibration inside `state_dir`.",
    )
    apply: bool = Field(default=True, description="Apply the stored calibration before the model.")


class EdgeConfig(_Section):
    """The whole edge configuration (`edge.toml`)."""

    device_id: str | None = Field(
        default=None,
        description="Name in the MQTT topics `robohead/<device_id>/...`; unset is the host name.",
    )
    state_dir: ResolvedPath = Field(
        default=Path("/var/lib/robohead-edge"),
        description="Writable state (calibration); the unit's StateDirectory.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level (logs go to stderr, i.e. the journal)."
    )
    serial: SerialConfig = Field(default_factory=SerialConfig, description="Serial link.")
    bundle: BundleConfig = Field(default_factory=BundleConfig, description="Deploy bundle.")
    audio: AudioConfig = Field(default_factory=AudioConfig, description="Audio input.")
    postprocess: PostprocessConfig = Field(
        default_factory=PostprocessConfig, description="Smoothing and limits."
    )
    motors: MotorsConfig = Field(default_factory=MotorsConfig, description="Motor commands.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="MQTT.")
    calibration: CalibrationConfig = Field(
        default_factory=CalibrationConfig, description="Calibration."
    )

    @model_validator(mode="after")
    def _valid_device_id(self) -> EdgeConfig:
        if self.device_id is not None and not _TOPIC_LEVEL.match(self.device_id):
            raise ValueError(
                f"device_id {self.device_id!r} must be 1-64 of A-Z a-z 0-9 _ . - "
                "(it is one MQTT topic level)"
            )
        return self

    @property
    def resolved_device_id(self) -> str:
        """`device_id`, or this machine's host name made safe for a topic level."""
        if self.device_id is not None:
            return self.device_id
        name = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:64]
        return name or "robohead"

    @property
    def calibration_path(self) -> Path:
        return self.state_dir / self.calibration.file


# --- loading with errors that name the file and line ---------------------------------------


def _key_line(text: str, loc: Sequence[int | str]) -> int | None:
    """Best-effort 1-based line of the key at `loc` (section headers, then `key =`)."""
    keys = [str(p) for p in loc if isinstance(p, str)]
    if not keys:
        return None
    lines = text.splitlines()
    section: list[str] = []
    want_section, want_key = keys[:-1], keys[-1]
    header = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\s]+?)\s*\]\s*(#.*)?$")
    assign = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*=")
    section_line = None
    for number, line in enumerate(lines, start=1):
        h = header.match(line)
        if h:
            section = [s.strip() for s in h.group(1).split(".")]
            if section == keys:
                section_line = number
            continue
        a = assign.match(line)
        if a:
            full = section + [s.strip() for s in a.group(1).split(".")]
            if full == [*want_section, want_key] or full == keys:
                return number
    return section_line


def _describe(error: Any, text: str, source: str) -> str:
    loc = tuple(error.get("loc", ()))
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    line = _key_line(text, loc)
    where = f"{source}:{line}" if line else source
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"{where}: unknown key `{dotted}`"
    message = str(error.get("msg", "invalid"))
    if "input" in error and kind not in ("missing",) and not isinstance(error["input"], dict):
        message += f" (got {error['input']!r})"
    return f"{where}: `{dotted}`: {message}"


def _errors(exc: ValidationError, text: str, source: str) -> Iterator[str]:
    for error in exc.errors(include_url=False):
        yield _describe(error, text, source)


def parse_config(
    text: str, *, source: str = "<config>", base_dir: Path | None = None
) -> EdgeConfig:
    """Validate TOML text; raises ConfigError with one `file:line: key: problem` per error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return EdgeConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = list(_errors(exc, text, source))
        raise ConfigError("\n".join(problems)) from exc


def load_config(path: Path | str | None) -> EdgeConfig:
    """Read and validate the config file (None: every default)."""
    if path is None:
        return EdgeConfig()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    return parse_config(text, source=str(path), base_dir=path.resolve().parent)


# --- the README's table of defaults ----------------------------------------------------------


def _default_repr(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str | Path):
        return f'`"{value}"`'
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _rows(annotation, f"{prefix}{name}.")
            continue
        yield f"`{prefix}{name}`", _default_repr(field.get_default()), field.description or ""


def reference_table() -> str:
    """Markdown table of every key, its default and its meaning (the README embeds it)."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, default, description in _rows(EdgeConfig, ""):
        lines.append(f"| {key} | {default} | {description.replace('|', '/')} |")
    return "\n".join(lines) + "\n"
