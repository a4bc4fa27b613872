"""Fuzzing the edge's config loader (robohead.edge.config) with broken and hostile edge.toml files.

The daemon reads /etc/robohead/edge.toml at every start; a bad file must stop it with a message
naming the line and key, never a traceback. For ANY text: `parse_config` returns a valid
EdgeConfig or raises ConfigError whose every line names the source. Whatever it accepts obeys
the documented limits (ports, rates, password rules).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # --import-mode=importlib
from robohead.edge.config import ConfigError, EdgeConfig, parse_config
from tests.fuzzing import counted, fuzz_settings

SOURCE = "edge.toml"


def _tree(model: type[BaseModel]) -> dict[str, Any]:
    """Section -> key names, following the pydantic models (so the fuzzer hits real keys)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        ann = field.annotation
        out[name] = _tree(ann) if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return out


TREE = _tree(EdgeConfig)

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["auto", "none", "wav", "debug", "/dev/null", "../../etc/shadow", "a+b/#"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4))


@st.composite
def documents(draw: st.DrawFn, tree: dict[str, Any] = TREE) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    names = [*tree, "unknown_key"]
    for name in draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names))):
        sub = tree.get(name)
        if isinstance(sub, dict) and draw(st.integers(0, 4)):
            doc[name] = draw(documents(sub))
        else:
            doc[name] = draw(values)
    return doc


def _check(text: str) -> EdgeConfig | None:
    try:
        config = parse_config(text, source=SOURCE, base_dir=Path("/nonexistent-base"))
    except ConfigError as exc:
        message = str(exc)
        assert message
        assert message.startswith(SOURCE), message  # names the file (and line)
        return None
    m = config.mqtt
    assert 1 <= m.port <= 65535
    assert m.reconnect_min_s <= m.reconnect_max_s
    assert (m.password is None and m.password_file is None) or m.username
    assert 0 < config.motors.command_rate_hz <= 200
    assert all(r > 0 and not math.isnan(r) for r in config.postprocess.max_rate_per_s)
    assert config.resolved_device_id
    return config


@fuzz_settings(300)
@given(st.text(max_size=400))
@example("[mqtt\n")
@example("a = 1\na = 2\n")
@example('[mqtt]\nport = "1883"\n[mqtt]\nhost = 1\n')
@example("[[serial]]\nurl = 1\n")
@example("mqtt = 5\n")
@counted("python/edge_config_text")
def test_any_text(text: str) -> None:
    _check(text)


@fuzz_settings(200)
@given(documents())
@example({"mqtt": {"password": "x"}})
@example({"postprocess": {"max_rate_per_s": [float("nan")]}})
@example({"motors": {"command_rate_hz": float("inf")}})
@example({"device_id": "a/b"})
@example({"mqtt": {"tls": 1}})
@example({"state_dir": "~nosuchuser-robohead/state"})
@counted("python/edge_config_documents")
def test_any_document_over_the_real_keys(doc: dict[str, Any]) -> None:
    _check(tomlkit.dumps(doc))


def test_nan_rate_is_refused() -> None:
    """NaN passes `gt=0`-style checks in some validators; the post-processor's rate limit must
    never be NaN (np.clip with a NaN step would let any jump through)."""
    for text in (
        "[postprocess]\nmax_rate_per_s = [nan, 1.0, 1.0]\n",
        "[motors]\ncommand_rate_hz = nan\n",
        "[postprocess]\ndeadband = nan\n",
        "[postprocess]\nmin_cutoff_hz = nan\n",
    ):
        assert _check(text) is None, text


def test_unknown_home_directory_is_a_config_error() -> None:
    """Regression: `~user/...` for a user that does not exist made pathlib raise RuntimeError
    out of parse_config (a traceback at daemon start instead of a message naming the key)."""
    text = '[bundle]\ndir = "~nosuchuser-robohead/bundle"\n'
    try:
        parse_config(text, source=SOURCE)
    except ConfigError as exc:
        assert f"{SOURCE}:2" in str(exc) and "bundle.dir" in str(exc)
    else:
        raise AssertionError("accepted a path under a home directory that does not exist")
