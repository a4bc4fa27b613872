"""edge.toml: validation with clear errors, relative paths, and the README's table of defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from robohead.edge.config import ConfigError, EdgeConfig, load_config, parse_config, reference_table

EDGE = Path(__file__).resolve().parents[1]


def test_every_default_is_valid() -> None:
    config = EdgeConfig()
    assert config.motors.command_rate_hz == 50.0
    assert config.mqtt.port == 1883
    assert config.resolved_device_id


def test_the_example_file_validates_and_shows_the_defaults() -> None:
    example = EDGE / "edge.example.toml"
    config = load_config(example)
    data = tomllib.loads(example.read_text())
    # every key the example sets to a literal value is the model's default
    assert config == EdgeConfig(**data)
    assert config.postprocess == EdgeConfig().postprocess
    assert config.mqtt.telemetry_rate_hz == EdgeConfig().mqtt.telemetry_rate_hz


def test_unknown_key_names_the_line_and_key() -> None:
    text = 'log_level = "info"\n\n[mqtt]\nhost = "broker"\nprot = 1884\n'
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="edge.toml")
    assert "edge.toml:5: unknown key `mqtt.prot`" in str(err.value)


def test_unknown_section_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"edge.toml:1: unknown key `mqqt`"):
        parse_config("[mqqt]\nhost = 'x'\n", source="edge.toml")


def test_wrong_type_names_key_and_value() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config('[mqtt]\nport = "eighteen"\n', source="edge.toml")
    message = str(err.value)
    assert "edge.toml:2" in message and "`mqtt.port`" in message and "'eighteen'" in message


def test_out_of_range_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"mqtt.port"):
        parse_config("[mqtt]\nport = 70000\n")


def test_all_errors_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config('log_level = "loud"\n[motors]\ncommand_rate_hz = -1\n')
    assert len(str(err.value).splitlines()) == 2


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text("[mqtt\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_missing_referenced_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('[mqtt.tls]\nenabled = true\nca_file = "ca.pem"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"file not found: {tmp_path / 'ca.pem'}" in str(err.value)
    assert f"{path}:3" in str(err.value)


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    path = tmp_path / "edge.toml"
    path.write_text('state_dir = "state"\n[bundle]\ndir = "b"\n[mqtt.tls]\nca_file = "ca.pem"\n')
    config = load_config(path)
    assert config.state_dir == tmp_path / "state"
    assert config.bundle.dir == tmp_path / "b"
    assert config.mqtt.tls.ca_file == tmp_path / "ca.pem"
    assert config.calibration_path == tmp_path / "state" / "calibration.json"


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="needs a `username`"):
        parse_config('[mqtt]\npassword = "x"\n')
    with pytest.raises(ConfigError, match="needs `wav"):
        parse_config('[audio]\nsource = "wav"\n')
    with pytest.raises(ConfigError, match="must all be > 0"):
        parse_config("[postprocess]\nmax_rate_per_s = [1.0, 0.0, 1.0]\n")
    with pytest.raises(ConfigError, match="one MQTT topic level"):
        parse_config('device_id = "a/b"\n')


def test_password_file_first_line(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\nignored\n")
    path = tmp_path / "edge.toml"
    path.write_text('[mqtt]\nusername = "u"\npassword_file = "pw"\n')
    assert load_config(path).mqtt.resolved_password() == "s3cret"


def test_readme_documents_every_default() -> None:
    """The README embeds exactly the table generated from the models."""
    readme = (EDGE / "README.md").read_text()
    begin, end = "<!-- config-table:begin -->\n", "<!-- config-table:end -->"
    assert begin in readme and end in readme, "README lost its config-table markers"
    embedded = readme.split(begin, 1)[1].split(end, 1)[0]
    assert embedded == reference_table(), (
        "edge-rpi/README.md config table is stale; regenerate it with "
        "`robohead-edge config-reference`"
    )
