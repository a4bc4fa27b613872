"""The deploy bundle: a written bundle loads; every kind of tampering is rejected clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robohead.edge.bundle import (
    MANIFEST_NAME,
    BundleError,
    BundleManifest,
    load_bundle,
    manifest_digest,
    sha256_file,
)

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: find the helpers
from bundle_helpers import make_bundle, tiny_model
from dsp_helpers import feature_config, synthetic_record


@pytest.fixture(scope="module")
def record() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_record(feature_config(), seconds=2.0, seed=3)


@pytest.fixture
def bundle_dir(tmp_path: Path, record: tuple[np.ndarray, np.ndarray]) -> Path:
    emg, audio = record
    path, _ = make_bundle(tmp_path, feature_config(), emg, audio)
    return path


def _edit_manifest(path: Path, edit: dict[str, object], *, rehash: bool) -> None:
    """Change top-level manifest fields; with rehash, also fix manifest_sha256 (a consistent
    but wrong bundle, to reach the checks behind the hash)."""
    raw = json.loads((path / MANIFEST_NAME).read_text())
    raw.update(edit)
    if rehash:
        raw["manifest_sha256"] = manifest_digest(BundleManifest.model_validate(raw))
    (path / MANIFEST_NAME).write_text(json.dumps(raw))


def _code(path: Path, **kwargs: object) -> BundleError:
    with pytest.raises(BundleError) as info:
        load_bundle(path, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_written_bundle_loads_and_predicts(bundle_dir: Path, record: tuple) -> None:
    bundle = load_bundle(bundle_dir, expected_channels=4, expected_sampling_rate_hz=1000)
    m = bundle.manifest
    assert m.context_frames == 20 and m.features.n_channels == 4
    assert set(m.files) == {"model.onnx"} and m.golden.raw is not None
    emg, audio = record
    p = bundle.predictor().predict_session(emg, audio)
    assert p.motors.shape == (len(p), 3) and p.expression is not None
    assert np.all((p.motors >= 0) & (p.motors <= 1))
    np.testing.assert_allclose(p.expression.sum(axis=1), 1.0, atol=1e-5)


def test_streaming_predictor_equals_offline(bundle_dir: Path, record: tuple) -> None:
    bundle = load_bundle(bundle_dir)
    emg, audio = record
    offline = bundle.predictor().predict_session(emg, audio)
    pred = bundle.predictor()
    parts = [
        pred.process(emg[i : i + 10], audio[i * 16 : (i + 10) * 16]) for i in range(0, len(emg), 10)
    ]
    parts.append(pred.finish())
    ends = np.concatenate([p.end_sample for p in parts])
    motors = np.concatenate([p.motors for p in parts])
    np.testing.assert_array_equal(ends, offline.end_sample)
    assert ends[0] == pred.warmup_samples
    np.testing.assert_allclose(motors, offline.motors, atol=1e-6)


def test_tampered_model_byte_is_rejected(bundle_dir: Path) -> None:
    model = bundle_dir / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    err = _code(bundle_dir)
    assert err.code == "sha256" and "model.onnx" in str(err) and "changed or corrupted" in str(err)


def test_edited_manifest_field_is_rejected(bundle_dir: Path) -> None:
    _edit_manifest(bundle_dir, {"dataset_md5": "ffff"}, rehash=False)
    err = _code(bundle_dir)
    assert err.code == "manifest_hash" and "edited" in str(err)


def test_edited_nested_feature_field_is_rejected(bundle_dir: Path) -> None:
    raw = json.loads((bundle_dir / MANIFEST_NAME).read_text())
    raw["features"]["thresholds"]["wamp"] = 0.5
    (bundle_dir / MANIFEST_NAME).write_text(json.dumps(raw))
    assert _code(bundle_dir).code == "manifest_hash"


def test_unknown_manifest_field_is_rejected(bundle_dir: Path) -> None:
    _edit_manifest(bundle_dir, {"surprise": 1}, rehash=False)
    err = _code(bundle_dir)
    assert err.code == "manifest_invalid" and "surprise" in str(err)


def test_wrong_format_version_is_rejected(bundle_dir: Path) -> None:
    _edit_manifest(bundle_dir, {"format_version": 2}, rehash=False)
    err = _code(bundle_dir)
    assert err.code == "format_version" and "2" in str(err)


def test_wrong_schema_hash_is_rejected(bundle_dir: Path) -> None:
    m = load_bundle(bundle_dir).manifest
    err = _code(bundle_dir, expected_schema_hash=(m.schema_hash + 1) % 2**32)
    assert err.code == "schema_hash" and f"0x{m.schema_hash:08x}" in str(err)


def test_bundle_for_another_schema_is_rejected(tmp_path: Path, record: tuple) -> None:
    from robohead.edge.bundle import current_schema_hash

    other = current_schema_hash() ^ 0xDEADBEEF
    path, _ = make_bundle(tmp_path, feature_config(), *record, schema_hash=other)
    assert _code(path).code == "schema_hash"


def test_wrong_channel_count_is_rejected(bundle_dir: Path) -> None:
    err = _code(bundle_dir, expected_channels=8)
    assert err.code == "channels" and "8" in str(err) and "frontalis" in str(err)


def test_wrong_sampling_rate_is_rejected(bundle_dir: Path) -> None:
    assert _code(bundle_dir, expected_sampling_rate_hz=500).code == "sampling_rate"


@pytest.mark.parametrize("name", ["model.onnx", MANIFEST_NAME])
def test_missing_file_is_rejected(bundle_dir: Path, name: str) -> None:
    (bundle_dir / name).unlink()
    err = _code(bundle_dir)
    assert err.code == "missing_file" and name in str(err)


def test_unlisted_file_is_rejected(bundle_dir: Path) -> None:
    (bundle_dir / "extra.onnx").write_bytes(b"x")
    err = _code(bundle_dir)
    assert err.code == "unlisted_file" and "extra.onnx" in str(err)


def test_golden_vector_mismatch_is_rejected(bundle_dir: Path, tmp_path: Path) -> None:
    """Another model with a consistent manifest (hashes fixed) still fails the golden check."""
    m = load_bundle(bundle_dir).manifest
    tiny_model(bundle_dir / "model.onnx", m.context_frames, m.features.n_features, seed=99)
    _edit_manifest(
        bundle_dir, {"files": {"model.onnx": sha256_file(bundle_dir / "model.onnx")}}, rehash=True
    )
    err = _code(bundle_dir)
    assert err.code == "golden" and "golden output 'motors'" in str(err)


def test_raw_golden_catches_dsp_drift(bundle_dir: Path) -> None:
    """Same model, but the DSP the edge would run differs from the export's (here: a changed
    filter order with the manifest re-hashed): the raw golden vector fails."""
    raw = json.loads((bundle_dir / MANIFEST_NAME).read_text())
    raw["features"]["filter"]["order"] = 2
    raw["manifest_sha256"] = manifest_digest(BundleManifest.model_validate(raw))
    (bundle_dir / MANIFEST_NAME).write_text(json.dumps(raw))
    err = _code(bundle_dir)
    assert err.code == "golden" and "golden raw motors" in str(err)


def test_edge_bundle_code_does_not_import_onnx() -> None:
    code = (
        "import sys, robohead.edge.bundle, robohead.edge.predictor, robohead.edge.dsp;"
        "bad = [m for m in ('onnx', 'torch', 'transformers') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_variant_has_its_own_golden_and_hash(tmp_path: Path, record: tuple) -> None:
    path, m = make_bundle(tmp_path, feature_config(), *record, with_variant=True)
    assert m.model.variants == {"int8": "model.int8.onnx"} and "int8" in m.golden.variant_outputs
    f, q = load_bundle(path), load_bundle(path, variant="int8")
    x = np.asarray(m.golden.model_input, np.float32)[None]
    assert not np.allclose(
        f.model.run({"features": x})["motors"], q.model.run({"features": x})["motors"]
    )
    assert _code(path, variant="fp16").code == "model"
    tiny_model(path / "model.int8.onnx", m.context_frames, m.features.n_features, seed=42)
    assert _code(path, variant="int8").code == "sha256"
