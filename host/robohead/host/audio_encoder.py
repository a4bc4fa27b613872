"""Wav2Vec2 audio features (``dsp.audio.features: wav2vec2``): embeddings with transformers on
the host, exported to ONNX so the edge computes the same features with ONNX Runtime only.

One embedding per sEMG frame: the ``wav2vec2_window_ms`` of audio ending at the frame's end
(see robohead.edge.dsp.audio_features for the clock), normalised to zero mean and unit variance
per window (what Wav2Vec2FeatureExtractor's ``do_normalize`` does), through Wav2Vec2Model, mean
over time of the last hidden state -> (hidden_size,). The normalisation and pooling are part of
the exported graph, so the edge feeds raw audio windows.

Train on what the edge serves: export first, then compute the training features with
``onnx_audio_encoder(path)`` (``OnnxAudioEncoder``); ``TorchAudioEncoder`` is the reference
the parity check compares against.

Nothing is downloaded: ``resolve_model`` turns ``dsp.audio.wav2vec2_model`` into a local folder
(a path, or a hub id's snapshot already in the local Hugging Face cache), and the model is loaded
from there with ``local_files_only=True``; ``model_digest`` hashes that folder, so the training
pipeline's cache sees new weights behind an unchanged name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from transformers import Wav2Vec2Model

from robohead.edge.bundle import AudioEncoderInfo
from robohead.edge.inference import OnnxAudioEncoder, OnnxModel
from robohead.host.audio_encoding import with_encoder_dim

__all__ = [
    "AudioEncoderError",
    "PooledWav2Vec2",
    "TorchAudioEncoder",
    "export_audio_encoder",
    "export_checked",
    "load_wav2vec2",
    "model_digest",
    "onnx_audio_encoder",
    "parity",
    "resolve_model",
    "with_encoder_dim",
]

INPUT_NAME = "audio"
OUTPUT_NAME = "embedding"
_EPS = 1e-7


class AudioEncoderError(RuntimeError):
    """The encoder cannot be loaded or exported, or ONNX disagrees with PyTorch."""


class PooledWav2Vec2(torch.nn.Module):
    """audio windows (batch, L) float32 -> embeddings (batch, hidden_size)."""

    def __init__(self, model: Wav2Vec2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        mean = audio.mean(dim=-1, keepdim=True)
        var = audio.var(dim=-1, keepdim=True, unbiased=False)
        x = (audio - mean) / torch.sqrt(var + _EPS)
        hidden: torch.Tensor = self.model(x).last_hidden_state
        return hidden.mean(dim=1)


def resolve_model(
    model: str | Path, *, root: Path | None = None, cache_dir: Path | None = None
) -> Path:
    """``dsp.audio.wav2vec2_model`` -> the local folder holding it: an existing directory
    (relative paths against ``root``, the repository), else a hub id whose snapshot is already
    in the local Hugging Face cache (``cache_dir`` overrides HF_HUB_CACHE). Never downloads."""
    text = str(model)
    path = Path(text).expanduser()
    folder = root / path if root is not None and not path.is_absolute() else path
    if folder.is_dir():
        return folder.resolve()
    if path.is_absolute() or text.startswith((".", "~")) or text.count("/") > 1:
        raise AudioEncoderError(
            f"dsp.audio.wav2vec2_model={text}: no such model folder {folder} (and not a hub id)"
        )
    from huggingface_hub import constants, snapshot_download

    try:
        snapshot = snapshot_download(text, cache_dir=cache_dir, local_files_only=True)
    except (OSError, ValueError) as exc:  # LocalEntryNotFoundError, HFValidationError
        where = cache_dir or constants.HF_HUB_CACHE
        raise AudioEncoderError(
            f"dsp.audio.wav2vec2_model={text}: no model folder {folder} and no snapshot of a hub "
            f"model of that name in the local Hugging Face cache ({where}); nothing is "
            f"downloaded: put the model folder (config.json + weights) there, or fill the cache "
            f"on a machine with network ({type(exc).__name__}: {exc})"
        ) from exc
    return Path(str(snapshot)).resolve()


def model_digest(folder: Path) -> str:
    """SHA-256 over ``<relative name> <sha256 of content>`` lines of every file in a model
    folder, sorted (hidden entries such as ``.cache/`` skipped; HF snapshot symlinks followed)."""
    lines = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        lines.append(f"{rel.as_posix()} {h.hexdigest()}\n")
    if not lines:
        raise AudioEncoderError(f"{folder}: empty model folder")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def load_wav2vec2(model: str | Path) -> PooledWav2Vec2:
    """A model path or hub id (already in the local cache) -> the pooled encoder, eval mode."""
    try:
        w2v = Wav2Vec2Model.from_pretrained(str(model), local_files_only=True)
    except OSError as exc:
        raise AudioEncoderError(
            f"dsp.audio.wav2vec2_model={model!s}: not a local model folder and not in the local "
            f"Hugging Face cache (nothing is downloaded): {exc}"
        ) from exc
    return PooledWav2Vec2(w2v).eval()


class TorchAudioEncoder:
    """The PyTorch encoder as a DSP ``AudioEncoder`` (reference for the parity check)."""

    def __init__(self, encoder: PooledWav2Vec2, batch: int = 64) -> None:
        self.encoder, self.batch = encoder, batch

    @property
    def dim(self) -> int:
        return int(self.encoder.model.config.hidden_size)

    def __call__(self, windows: NDArray[np.float32]) -> NDArray[np.float32]:
        x = np.ascontiguousarray(windows, dtype=np.float32)
        out = [np.empty((0, self.dim), np.float32)]
        with torch.inference_mode():
            for b in range(0, x.shape[0], self.batch):
                out.append(self.encoder(torch.from_numpy(x[b : b + self.batch])).numpy())
        return np.concatenate(out)


def export_audio_encoder(
    encoder: PooledWav2Vec2,
    path: Path,
    window_samples: int,
    *,
    opset: int = 18,
    atol: float = 1e-4,
    seed: int = 0,
) -> AudioEncoderInfo:
    """Export with the dynamo exporter (one file, dynamic batch), then check ONNX Runtime
    against PyTorch on seeded windows of batch 1 and 3; raises AudioEncoderError above atol."""
    return export_checked(encoder, path, window_samples, opset=opset, atol=atol, seed=seed)[0]


def export_checked(
    encoder: PooledWav2Vec2,
    path: Path,
    window_samples: int,
    *,
    opset: int,
    atol: float,
    seed: int = 0,
) -> tuple[AudioEncoderInfo, float]:
    """``export_audio_encoder`` that also returns the parity check's max |ONNX - PyTorch|."""
    if opset < 18:
        raise AudioEncoderError(f"opset {opset}: the dynamo exporter path needs opset >= 18")
    rng = np.random.default_rng(seed)
    example = torch.from_numpy(rng.uniform(-0.5, 0.5, (2, window_samples)).astype(np.float32))
    batch = torch.export.Dim("batch", min=1, max=4096)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.onnx.export(
            encoder,
            (example,),
            str(path),
            dynamo=True,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={"audio": {0: batch}},
            external_data=False,
            verbose=False,
        )
    except Exception as exc:  # the exporter raises many kinds
        raise AudioEncoderError(f"ONNX export of the audio encoder failed: {exc}") from exc
    worst = parity(encoder, path, window_samples, seed=seed)
    if worst > atol:
        raise AudioEncoderError(f"{path}: ONNX vs PyTorch max |diff| {worst:.3g} > atol {atol:g}")
    info = AudioEncoderInfo(
        file=path.name,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        window_samples=window_samples,
        dim=int(encoder.model.config.hidden_size),
    )
    return info, worst


def parity(encoder: PooledWav2Vec2, path: Path, window_samples: int, *, seed: int = 0) -> float:
    """Max |ONNX - PyTorch| over seeded noise and tone windows (batches of 1 and 3)."""
    rng = np.random.default_rng(seed + 1)
    t = np.arange(window_samples) / 16000.0
    tone = 0.3 * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(window_samples)
    windows = np.concatenate(
        [rng.uniform(-0.5, 0.5, (3, window_samples)), tone[None]], axis=0
    ).astype(np.float32)
    torch_enc, onnx_enc = TorchAudioEncoder(encoder), onnx_audio_encoder(path)
    worst = 0.0
    for part in (windows[:1], windows[1:]):
        worst = max(worst, float(np.max(np.abs(onnx_enc(part) - torch_enc(part)))))
    return worst


def onnx_audio_encoder(path: Path) -> OnnxAudioEncoder:
    """The exported encoder through ONNX Runtime, exactly as the edge runs it."""
    return OnnxAudioEncoder(OnnxModel(path))
