"""Fuzzing the edge's bundle loader (robohead.edge.bundle.load_bundle) with damaged bundles.

A bundle arrives over scp (`make deploy-rpi`) and may be cut short, edited, corrupted or built
for another protocol or electrode set. For ANY damage `load_bundle` raises `BundleError` (with a
code and a reason) or, for a harmless edit, loads a bundle that still predicts: no other
exception, no crash of the process, no model that silently gives other numbers.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # --import-mode=importlib
sys.path.insert(0, str(REPO / "edge-rpi" / "tests"))  # the bundle owner's test helpers
from bundle_helpers import make_bundle  # noqa: E402
from dsp_helpers import feature_config, synthetic_record  # noqa: E402

from robohead.edge.bundle import (  # noqa: E402
    MANIFEST_NAME,
    MODEL_NAME,
    BundleError,
    BundleManifest,
    load_bundle,
    manifest_digest,
    sha256_file,
)
from tests.fuzzing import counted, fuzz_settings  # noqa: E402


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = feature_config()
    emg, audio = synthetic_record(cfg, seconds=1.5, seed=5)
    path, _ = make_bundle(tmp_path_factory.mktemp("bundle"), cfg, emg, audio)
    load_bundle(path, expected_channels=4, expected_sampling_rate_hz=1000)
    return path


@pytest.fixture(scope="module")
def reference(pristine: Path) -> dict[str, np.ndarray]:
    b = load_bundle(pristine)
    x = np.asarray(b.manifest.golden.model_input, np.float32)[None]
    return b.model.run({b.manifest.model.input_name: x})


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-bundle-") as d:
        yield Path(d)


def _copy(src: Path, root: Path) -> Path:
    dst = Path(tempfile.mkdtemp(dir=root)) / "bundle"
    shutil.copytree(src, dst)
    return dst


def _load(path: Path, reference: dict[str, np.ndarray]) -> str:
    """Load and return the outcome: a BundleError code, or "ok" after checking it predicts."""
    try:
        b = load_bundle(path, expected_channels=4, expected_sampling_rate_hz=1000)
    except BundleError as exc:
        assert exc.reason and exc.code, exc
        return exc.code
    m = b.manifest
    x = np.asarray(m.golden.model_input, np.float32)[None]
    out = b.model.run({m.model.input_name: x})
    for name, values in m.golden.outputs.items():  # what loaded is what the manifest promises
        np.testing.assert_allclose(out[name].reshape(-1), values, atol=m.golden.atol)
    return "ok"


def _rehash(path: Path) -> None:
    """Make the manifest consistent again after an edit (an attacker or a buggy exporter)."""
    raw = json.loads((path / MANIFEST_NAME).read_text())
    files = raw.get("files") if isinstance(raw, dict) else None
    for name in list(files) if isinstance(files, dict) else []:
        if isinstance(name, str) and Path(name).name == name and (path / name).is_file():
            files[name] = sha256_file(path / name)
    with contextlib.suppress(ValueError, TypeError):  # no manifest at all: the loader says so
        raw["manifest_sha256"] = manifest_digest(BundleManifest.model_validate(raw))
    (path / MANIFEST_NAME).write_text(json.dumps(raw))


def _damage(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.randrange(4)
        pos = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            del b[pos : pos + rnd.randint(1, 64)]
        elif op == 2:
            b[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        else:
            del b[pos:]  # truncated copy
    return bytes(b)


@fuzz_settings(60)
@given(
    st.sampled_from([MANIFEST_NAME, MODEL_NAME]), st.booleans(), st.randoms(use_true_random=False)
)
@counted("python/bundle_bytes")
def test_damaged_bytes_are_rejected_with_a_reason(
    pristine: Path,
    reference: dict[str, np.ndarray],
    scratch: Path,
    name: str,
    rehash: bool,
    rnd: random.Random,
) -> None:
    path = _copy(pristine, scratch)
    target = path / name
    damaged = _damage(target.read_bytes(), rnd)
    target.write_bytes(damaged)
    if rehash and name != MANIFEST_NAME:
        _rehash(path)
    outcome = _load(path, reference)
    event(f"{name} rehash={rehash}: {outcome}")
    if not rehash and damaged != (pristine / name).read_bytes():
        # without fixing the hashes, any change of the model's bytes is a sha256 mismatch
        assert outcome != "ok" or name == MANIFEST_NAME, outcome


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=10),
    st.sampled_from([0, 1, -1, 1e9, "model.onnx", "../model.onnx", "/etc/passwd", [], {}]),
)
json_any = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list) and value:
        # long numeric arrays (golden vectors): a few positions are enough
        for i in sorted({0, len(value) - 1, len(value) // 2}):
            out += _paths(value[i], (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.fixture(scope="module")
def manifest_paths(pristine: Path) -> list[tuple[Any, ...]]:
    return _paths(json.loads((pristine / MANIFEST_NAME).read_text()))[1:]


@fuzz_settings(80)
@given(st.data(), st.booleans())
@counted("python/bundle_manifest_fields")
def test_any_manifest_field_value(
    pristine: Path,
    reference: dict[str, np.ndarray],
    manifest_paths: list[tuple[Any, ...]],
    scratch: Path,
    data: st.DataObject,
    rehash: bool,
) -> None:
    path = _copy(pristine, scratch)
    raw = json.loads((path / MANIFEST_NAME).read_text())
    original = copy.deepcopy(raw)
    where = data.draw(st.sampled_from(manifest_paths))
    raw = _set(raw, where, data.draw(json_any))
    (path / MANIFEST_NAME).write_text(json.dumps(raw))
    if rehash:
        _rehash(path)
    outcome = _load(path, reference)
    event(f"rehash={rehash}: {outcome}")
    if not rehash and raw != original and where[-1] != "manifest_sha256":
        assert outcome != "ok", f"edit at {where} loaded without a rehash"


def test_unlisted_or_escaping_files_are_refused(pristine: Path, tmp_path: Path) -> None:
    """A manifest naming a file outside the bundle directory is refused, never read."""
    for bad in ("../model.onnx", "/etc/passwd", "sub/model.onnx", MANIFEST_NAME):
        path = _copy(pristine, tmp_path)
        raw = json.loads((path / MANIFEST_NAME).read_text())
        raw["files"][bad] = "0" * 64
        raw["manifest_sha256"] = manifest_digest(BundleManifest.model_validate(raw))
        (path / MANIFEST_NAME).write_text(json.dumps(raw))
        with pytest.raises(BundleError) as err:
            load_bundle(path)
        assert err.value.code == "manifest_invalid", (bad, err.value)


@pytest.mark.parametrize(
    "where",
    [
        ("golden", "raw", "expression", 3),
        ("golden", "raw", "motors", 0),
        ("golden", "raw", "emg", 1),
    ],
)
def test_ragged_golden_rows_are_a_bundle_error(
    pristine: Path, tmp_path: Path, where: tuple
) -> None:
    """Regression: a consistent manifest whose golden raw rows have different lengths made
    numpy raise ValueError out of load_bundle, so a daemon catching BundleError would crash
    instead of keeping its model."""
    path = _copy(pristine, tmp_path)
    raw = json.loads((path / MANIFEST_NAME).read_text())
    _set(raw, where, [])
    (path / MANIFEST_NAME).write_text(json.dumps(raw))
    _rehash(path)
    with pytest.raises(BundleError) as err:
        load_bundle(path)
    assert err.value.code == "golden", err.value
