"""The deploy bundle: ``models/bundle/`` = ONNX file(s) + ``bundle.json`` (this manifest).

The host's export calls ``write_bundle``; the edge calls ``load_bundle``, which verifies
everything and raises ``BundleError`` (with a machine-readable ``code`` and a message naming the
file/field) on the first failed check, so the daemon can keep the model it had:

1. ``bundle.json`` present, JSON, ``format_version`` known, every field valid (extra="forbid");
2. ``manifest_sha256`` (SHA-256 of the canonical manifest JSON without that field) matches,
   so an edited field is caught even when the edit is well-formed;
3. every file listed in ``files`` exists with its SHA-256, and no unlisted file is present;
4. ``schema_hash`` equals this build's ``robohead.protocol.schema.SCHEMA_HASH``;
5. channel count / sampling rate equal what the caller expects (the device's Hello);
6. the ONNX model loads and its input is (batch, K, F), its outputs are the declared ones;
7. the golden model input gives the golden outputs (atol), and, when present, the golden raw
   samples streamed through a fresh ``Predictor`` give the golden predictions (catches DSP drift
   between the host that trained and the edge that serves).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.normalize import Normalization
from robohead.edge.inference import OnnxAudioEncoder, OnnxModel, OnnxModelError
from robohead.edge.predictor import OutputSpec, Prediction, Predictor

FORMAT_VERSION = 1
MANIFEST_NAME = "bundle.json"
MODEL_NAME = "model.onnx"
AUDIO_ENCODER_NAME = "audio_encoder.onnx"

BundleErrorCode = Literal[
    "missing_file",
    "unreadable",
    "format_version",
    "manifest_invalid",
    "manifest_hash",
    "sha256",
    "unlisted_file",
    "schema_hash",
    "channels",
    "sampling_rate",
    "model",
    "golden",
]


class BundleError(Exception):
    """A bundle failed a check. ``code`` says which (see ``BundleErrorCode``)."""

    def __init__(self, code: BundleErrorCode, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code: BundleErrorCode = code
        self.reason = message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelInfo(_Strict):
    file: str = Field(description="ONNX file in the bundle (float model)")
    input_name: str = Field(description="input (batch, K, F) float32")
    outputs: tuple[OutputSpec, ...] = Field(min_length=1)
    variants: dict[str, str] = Field(
        default_factory=dict, description="other files of the same model, e.g. int8 -> file"
    )


class AudioEncoderInfo(_Strict):
    file: str
    input_name: str = Field(description="(batch, window_samples) float32 audio")
    output_name: str = Field(description="(batch, dim) float32 embedding")
    window_samples: int = Field(ge=1)
    dim: int = Field(ge=1)


class MlflowInfo(_Strict):
    run_id: str | None
    model_name: str | None
    model_version: str | None
    tracking_uri: str | None = None


class GitInfo(_Strict):
    commit: str
    dirty: bool


class RawGolden(_Strict):
    """Raw counts (n, ch) (+ audio) and the predictions a fresh Predictor gives for them."""

    emg: tuple[tuple[int, ...], ...]
    audio: tuple[float, ...] | None
    audio_offset_s: float
    end_sample: tuple[int, ...]
    motors: tuple[tuple[float, ...], ...]
    expression: tuple[tuple[float, ...], ...] | None


class Golden(_Strict):
    model_input: tuple[tuple[float, ...], ...] = Field(description="one (K, F) input")
    outputs: dict[str, tuple[float, ...]] = Field(description="output name -> flat values")
    atol: float = Field(gt=0)
    raw: RawGolden | None = None
    variant_outputs: dict[str, dict[str, tuple[float, ...]]] = Field(
        default_factory=dict, description="variant -> its own outputs for model_input"
    )


class BundleManifest(_Strict):
    """``bundle.json``. See ARCHITECTURE.md, "The deploy bundle"."""

    format_version: int
    created_utc: str
    features: FeatureConfig = Field(description="sampling rate, channels, filters, window, K...")
    normalization: Normalization
    model: ModelInfo
    audio_encoder: AudioEncoderInfo | None
    motors: tuple[str, ...] = Field(min_length=1)
    poses: dict[str, tuple[float, ...]]
    expressions: tuple[str, ...]
    schema_hash: int = Field(ge=0, lt=2**32)
    dataset_md5: str
    mlflow: MlflowInfo
    git: GitInfo
    files: dict[str, str] = Field(description="file name -> sha256 hex, every file but bundle.json")
    golden: Golden
    manifest_sha256: str = ""

    @property
    def context_frames(self) -> int:
        """K: frames per model input."""
        return self.features.context_frames

    @model_validator(mode="after")
    def _consistent(self) -> BundleManifest:
        f = self.features
        if self.normalization.n_features != f.n_features:
            raise ValueError(
                f"normalization has {self.normalization.n_features} features, "
                f"features config has {f.n_features}"
            )
        for o in self.model.outputs:
            if o.kind == "motor_targets" and tuple(o.labels) != self.motors:
                raise ValueError(f"output {o.name!r} labels {o.labels} != motors {self.motors}")
            if o.kind != "motor_targets" and tuple(o.labels) != self.expressions:
                raise ValueError(f"output {o.name!r} labels {o.labels} != expressions")
        for name, pose in self.poses.items():
            if len(pose) != len(self.motors):
                raise ValueError(f"pose {name!r} has {len(pose)} values, {len(self.motors)} motors")
        needed = [self.model.file, *self.model.variants.values()]
        if self.audio_encoder is not None:
            needed.append(self.audio_encoder.file)
        for name in needed:
            if name not in self.files:
                raise ValueError(f"file {name!r} is used but not listed in files")
        wants_encoder = f.audio.features == "wav2vec2"
        if wants_encoder != (self.audio_encoder is not None):
            raise ValueError("audio_encoder must be present exactly when audio features = wav2vec2")
        if self.audio_encoder is not None and self.audio_encoder.dim != f.audio.wav2vec2_dim:
            raise ValueError("audio_encoder.dim != features.audio.wav2vec2_dim")
        gi = self.golden.model_input
        if len(gi) != f.context_frames or any(len(r) != f.n_features for r in gi):
            raise ValueError(f"golden.model_input must be ({f.context_frames}, {f.n_features})")
        return self


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_digest(manifest: BundleManifest) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) without ``manifest_sha256``."""
    body = manifest.model_dump(mode="json", exclude={"manifest_sha256"})
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def current_schema_hash() -> int:
    """This build's protocol schema hash (read lazily so the bundle module imports anywhere)."""
    from robohead.protocol.schema import SCHEMA_HASH

    return int(SCHEMA_HASH)


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: the manifest, the loaded model (chosen variant) and audio encoder."""

    path: Path
    manifest: BundleManifest
    model: OnnxModel
    audio_encoder: OnnxAudioEncoder | None
    variant: str

    @property
    def uses_audio(self) -> bool:
        """Whether the model's input includes audio features."""
        return self.manifest.features.audio.features != "none"

    def predictor(self, *, audio_offset_s: float = 0.0, silent_audio: bool = False) -> Predictor:
        """A fresh streaming predictor for one stream (``silent_audio``: no microphone)."""
        return Predictor.from_bundle(self, audio_offset_s=audio_offset_s, silent_audio=silent_audio)


def _fail(code: BundleErrorCode, message: str) -> BundleError:
    return BundleError(code, message)


def _read_manifest(path: Path) -> BundleManifest:
    mpath = path / MANIFEST_NAME
    if not path.is_dir():
        raise _fail("missing_file", f"{path}: bundle directory does not exist")
    if not mpath.is_file():
        raise _fail("missing_file", f"{mpath}: manifest missing")
    try:
        raw: Any = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail("unreadable", f"{mpath}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise _fail("manifest_invalid", f"{mpath}: expected a JSON object")
    if raw.get("format_version") != FORMAT_VERSION:
        raise _fail(
            "format_version",
            f"{mpath}: format_version {raw.get('format_version')!r}, this edge reads "
            f"{FORMAT_VERSION}",
        )
    try:
        manifest = BundleManifest.model_validate(raw)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise _fail("manifest_invalid", f"{mpath}: {fields}") from exc
    digest = manifest_digest(manifest)
    if digest != manifest.manifest_sha256:
        raise _fail(
            "manifest_hash",
            f"{mpath}: manifest_sha256 is {manifest.manifest_sha256[:16]}..., the content hashes "
            f"to {digest[:16]}...; a field was edited after export",
        )
    return manifest


def _check_files(path: Path, manifest: BundleManifest) -> None:
    for name, expected in sorted(manifest.files.items()):
        fpath = path / name
        if Path(name).name != name or name == MANIFEST_NAME:
            raise _fail("manifest_invalid", f"{path / MANIFEST_NAME}: bad file name {name!r}")
        if not fpath.is_file():
            raise _fail("missing_file", f"{fpath}: listed in bundle.json but missing")
        actual = sha256_file(fpath)
        if actual != expected:
            raise _fail(
                "sha256",
                f"{fpath}: sha256 {actual[:16]}... but bundle.json says {expected[:16]}... "
                f"(the file was changed or corrupted)",
            )
    extra = sorted(p.name for p in path.iterdir() if p.name not in manifest.files)
    extra = [n for n in extra if n != MANIFEST_NAME]
    if extra:
        raise _fail("unlisted_file", f"{path}: files not listed in bundle.json: {extra}")


def _check_model_io(model: OnnxModel, manifest: BundleManifest) -> None:
    f = manifest.features
    name = manifest.model.input_name
    if model.input_names != [name]:
        raise _fail("model", f"{model.name}: inputs {model.input_names}, manifest says [{name!r}]")
    shape = model.input_shapes[name]
    want = [None, f.context_frames, f.n_features]
    if len(shape) != 3 or any(
        isinstance(s, int) and w is not None and s != w for s, w in zip(shape, want, strict=True)
    ):
        raise _fail(
            "model",
            f"{model.name}: input {name!r} has shape {shape}, expected "
            f"[batch, {f.context_frames}, {f.n_features}]",
        )
    for o in manifest.model.outputs:
        if o.name not in model.output_names:
            raise _fail("model", f"{model.name}: no output {o.name!r} (has {model.output_names})")


def _compare(
    code: BundleErrorCode, what: str, got: NDArray[Any], want: NDArray[Any], atol: float
) -> None:
    if got.shape != want.shape:
        raise _fail(code, f"{what}: shape {got.shape}, golden {want.shape}")
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    if diff.size and not float(diff.max()) <= atol:
        i = np.unravel_index(int(np.argmax(diff)), diff.shape)
        raise _fail(
            code,
            f"{what}{list(map(int, i))} = {float(got[i]):.6g}, golden {float(want[i]):.6g} "
            f"(|diff| {float(diff[i]):.3g} > atol {atol:g})",
        )


def _check_golden(bundle: Bundle) -> None:
    """Float model: golden outputs and the raw golden stretch. A variant (e.g. int8): its own
    golden outputs for the same input (quantisation changes the numbers), when recorded."""
    g = bundle.manifest.golden
    x = np.asarray(g.model_input, dtype=np.float32)[None]
    out = bundle.model.run({bundle.manifest.model.input_name: x})
    if bundle.variant == "float":
        expected, label = g.outputs, "golden output"
    else:
        expected, label = (
            g.variant_outputs.get(bundle.variant, {}),
            f"{bundle.variant} golden output",
        )
    for name, values in expected.items():
        if name not in out:
            raise _fail("golden", f"{label} {name!r} is not an output of the model")
        want = np.asarray(values, dtype=np.float32)
        _compare("golden", f"{label} {name!r}", out[name].reshape(-1), want, g.atol)
    if g.raw is not None and bundle.variant == "float":
        r = g.raw
        pred = bundle.predictor(audio_offset_s=r.audio_offset_s)
        emg = np.asarray(r.emg, dtype=np.int64)
        p1 = pred.process(emg, None if r.audio is None else np.asarray(r.audio, np.float32))
        p = _concat_predictions([p1, pred.finish()])
        _compare("golden", "golden raw end_sample", p.end_sample, np.asarray(r.end_sample), 0)
        _compare("golden", "golden raw motors", p.motors, np.asarray(r.motors, np.float32), g.atol)
        if r.expression is not None and p.expression is not None:
            want = np.asarray(r.expression, np.float32)
            _compare("golden", "golden raw expression", p.expression, want, g.atol)


def _concat_predictions(parts: Sequence[Prediction]) -> Prediction:
    expr = [p.expression for p in parts if p.expression is not None]
    return Prediction(
        np.concatenate([p.end_sample for p in parts]),
        np.concatenate([p.motors for p in parts]),
        np.concatenate(expr) if expr else None,
    )


def load_bundle(
    path: str | os.PathLike[str],
    *,
    expected_channels: int | None = None,
    expected_sampling_rate_hz: float | None = None,
    expected_schema_hash: int | None = None,
    variant: str = "float",
) -> Bundle:
    """Verify and load a bundle directory; raises ``BundleError`` on the first failed check.

    ``expected_schema_hash`` defaults to this build's protocol hash; ``variant`` is "float"
    (``model.file``) or a key of ``model.variants`` (e.g. "int8").
    """
    root = Path(path)
    manifest = _read_manifest(root)
    _check_files(root, manifest)
    want_hash = current_schema_hash() if expected_schema_hash is None else expected_schema_hash
    if manifest.schema_hash != want_hash:
        raise _fail(
            "schema_hash",
            f"{root / MANIFEST_NAME}: schema_hash 0x{manifest.schema_hash:08x}, this build speaks "
            f"0x{want_hash:08x}; re-export the bundle with the current protocol",
        )
    f = manifest.features
    if expected_channels is not None and f.n_channels != expected_channels:
        raise _fail(
            "channels",
            f"{root / MANIFEST_NAME}: features.channels has {f.n_channels} channels "
            f"{list(f.channels)}, the device sends {expected_channels}",
        )
    if expected_sampling_rate_hz is not None and f.sampling_rate_hz != expected_sampling_rate_hz:
        raise _fail(
            "sampling_rate",
            f"{root / MANIFEST_NAME}: features.sampling_rate_hz {f.sampling_rate_hz}, the device "
            f"samples at {expected_sampling_rate_hz}",
        )
    if variant == "float":
        model_file = manifest.model.file
    elif variant in manifest.model.variants:
        model_file = manifest.model.variants[variant]
    else:
        raise _fail(
            "model", f"no model variant {variant!r} (has float, {list(manifest.model.variants)})"
        )
    try:
        model = OnnxModel(root / model_file)
        encoder = None
        if manifest.audio_encoder is not None:
            encoder = OnnxAudioEncoder(OnnxModel(root / manifest.audio_encoder.file))
    except OnnxModelError as exc:
        raise _fail("model", str(exc)) from exc
    _check_model_io(model, manifest)
    bundle = Bundle(root, manifest, model, encoder, variant)
    try:
        _check_golden(bundle)
    except (ValueError, OnnxModelError) as exc:  # e.g. ragged golden rows, wrong raw channels
        raise _fail(
            "golden", f"{root / MANIFEST_NAME}: golden vectors cannot be run: {exc}"
        ) from exc
    return bundle


def _floats(a: ArrayLike) -> tuple[Any, ...]:
    arr = np.asarray(a, dtype=np.float32).astype(np.float64)
    return tuple(map(tuple, arr)) if arr.ndim == 2 else tuple(map(float, arr))


def write_bundle(
    out_dir: str | os.PathLike[str],
    *,
    model_file: str | os.PathLike[str],
    features: FeatureConfig,
    normalization: Normalization,
    outputs: Sequence[OutputSpec],
    motors: Sequence[str],
    poses: Mapping[str, Sequence[float]],
    expressions: Sequence[str],
    dataset_md5: str,
    mlflow: MlflowInfo,
    git: GitInfo,
    input_name: str = "features",
    variants: Mapping[str, str | os.PathLike[str]] | None = None,
    audio_encoder: tuple[str | os.PathLike[str], AudioEncoderInfo] | None = None,
    golden_input: ArrayLike | None = None,
    golden_raw_emg: ArrayLike | None = None,
    golden_raw_audio: ArrayLike | None = None,
    golden_audio_offset_s: float = 0.0,
    golden_atol: float = 1e-4,
    schema_hash: int | None = None,
) -> BundleManifest:
    """Write a complete bundle to ``out_dir`` (replacing it) and verify it with ``load_bundle``.

    Copies the ONNX files in (``model.onnx``, ``model.<variant>.onnx``, ``audio_encoder.onnx``),
    computes the golden outputs with ONNX Runtime (``golden_input`` (K, F) normalised, default a
    seeded N(0, 1) draw; ``golden_raw_emg`` raw counts, optional but recommended: one real
    stretch of at least ``Predictor.warmup_samples`` samples), hashes every file and the
    manifest. Writes into ``<out_dir>.tmp`` first and swaps it in only when it verifies.
    """
    out = Path(out_dir)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        manifest = _write_into(
            tmp,
            model_file=model_file,
            features=features,
            normalization=normalization,
            outputs=outputs,
            motors=motors,
            poses=poses,
            expressions=expressions,
            dataset_md5=dataset_md5,
            mlflow=mlflow,
            git=git,
            input_name=input_name,
            variants=variants,
            audio_encoder=audio_encoder,
            golden_input=golden_input,
            golden_raw_emg=golden_raw_emg,
            golden_raw_audio=golden_raw_audio,
            golden_audio_offset_s=golden_audio_offset_s,
            golden_atol=golden_atol,
            schema_hash=schema_hash,
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return manifest


def _write_into(
    tmp: Path,
    *,
    model_file: str | os.PathLike[str],
    features: FeatureConfig,
    normalization: Normalization,
    outputs: Sequence[OutputSpec],
    motors: Sequence[str],
    poses: Mapping[str, Sequence[float]],
    expressions: Sequence[str],
    dataset_md5: str,
    mlflow: MlflowInfo,
    git: GitInfo,
    input_name: str,
    variants: Mapping[str, str | os.PathLike[str]] | None,
    audio_encoder: tuple[str | os.PathLike[str], AudioEncoderInfo] | None,
    golden_input: ArrayLike | None,
    golden_raw_emg: ArrayLike | None,
    golden_raw_audio: ArrayLike | None,
    golden_audio_offset_s: float,
    golden_atol: float,
    schema_hash: int | None,
) -> BundleManifest:
    shutil.copyfile(model_file, tmp / MODEL_NAME)
    variant_files = {}
    for name, src in (variants or {}).items():
        variant_files[name] = f"model.{name}.onnx"
        shutil.copyfile(src, tmp / variant_files[name])
    enc_info = None
    if audio_encoder is not None:
        src, info = audio_encoder
        enc_info = info.model_copy(update={"file": AUDIO_ENCODER_NAME})
        shutil.copyfile(src, tmp / AUDIO_ENCODER_NAME)
    files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}

    k, n_f = features.context_frames, features.n_features
    if golden_input is None:
        golden_input = np.random.default_rng(0).standard_normal((k, n_f))
    gin = np.asarray(golden_input, dtype=np.float32).reshape(k, n_f)
    model = OnnxModel(tmp / MODEL_NAME)
    gout = model.run({input_name: gin[None]})
    vout = {
        name: OnnxModel(tmp / file).run({input_name: gin[None]})
        for name, file in variant_files.items()
    }
    encoder = OnnxAudioEncoder(OnnxModel(tmp / AUDIO_ENCODER_NAME)) if enc_info else None
    raw = None
    if golden_raw_emg is not None:
        pred = Predictor(
            features,
            normalization,
            model,
            outputs,
            input_name=input_name,
            audio_offset_s=golden_audio_offset_s,
            audio_encoder=encoder,
        )
        emg = np.asarray(golden_raw_emg, dtype=np.int64)
        audio = None if golden_raw_audio is None else np.asarray(golden_raw_audio, np.float32)
        p = pred.predict_session(emg, audio)
        if len(p) == 0:
            raise ValueError(
                f"golden_raw_emg has {emg.shape[0]} samples, fewer than the "
                f"{pred.warmup_samples} needed for one prediction"
            )
        raw = RawGolden(
            emg=tuple(map(tuple, emg.tolist())),
            audio=None if audio is None else _floats(audio),
            audio_offset_s=golden_audio_offset_s,
            end_sample=tuple(map(int, p.end_sample)),
            motors=_floats(p.motors),
            expression=None if p.expression is None else _floats(p.expression),
        )
    manifest = BundleManifest(
        format_version=FORMAT_VERSION,
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        features=features,
        normalization=normalization,
        model=ModelInfo(
            file=MODEL_NAME, input_name=input_name, outputs=tuple(outputs), variants=variant_files
        ),
        audio_encoder=enc_info,
        motors=tuple(motors),
        poses={n: tuple(map(float, v)) for n, v in poses.items()},
        expressions=tuple(expressions),
        schema_hash=current_schema_hash() if schema_hash is None else schema_hash,
        dataset_md5=dataset_md5,
        mlflow=mlflow,
        git=git,
        files=files,
        golden=Golden(
            model_input=_floats(gin),
            outputs={o.name: _floats(gout[o.name].reshape(-1)) for o in outputs},
            atol=golden_atol,
            raw=raw,
            variant_outputs={
                v: {o.name: _floats(out[o.name].reshape(-1)) for o in outputs}
                for v, out in vout.items()
            },
        ),
    )
    manifest = manifest.model_copy(update={"manifest_sha256": manifest_digest(manifest)})
    (tmp / MANIFEST_NAME).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    for variant in ("float", *variant_files):
        load_bundle(tmp, expected_schema_hash=manifest.schema_hash, variant=variant)
    return manifest
