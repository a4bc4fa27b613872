"""Step: export the Wav2Vec2 audio encoder to ONNX once per run (only with
``dsp.audio.features: wav2vec2``); featurize computes the training features with these bytes
and build_bundle ships them, so training and the edge run the same file.

ZenML-cached on the model folder's digest (computed before the run: the step cannot see files
on disk), the window length, opset, parity tolerance and code version; a cached export gives the
same artifact, so featurize stays cached too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from zenml import step

from robohead.host.artifacts import AudioEncoderExport
from robohead.host.materializers import AudioEncoderExportMaterializer


@step(output_materializers=AudioEncoderExportMaterializer)
def export_audio_encoder(
    model: str,
    model_folder: str,
    model_digest: str,
    window_samples: int,
    opset: int,
    parity_atol: float,
    code_version: str,
) -> Annotated[AudioEncoderExport, "audio_encoder"]:
    from robohead.host.audio_encoding import EncoderSource, build_audio_encoder
    from robohead.host.progress import console, phase

    source = EncoderSource(model=model, folder=Path(model_folder), digest=model_digest)
    with phase(f"export the audio encoder {model} to ONNX (dynamo, opset {opset})"):
        export = build_audio_encoder(source, window_samples, opset=opset, atol=parity_atol)
    console.print(
        f"[green]audio encoder parity ok[/green]: max |ONNX - PyTorch| = "
        f"{export.parity_max_abs_diff:.2e} (limit {parity_atol:g}); "
        f"{len(export.onnx) / 2**20:.1f} MiB, {export.info.dim}-dim embeddings of "
        f"{window_samples} samples, sha256 {export.sha256[:16]}..."
    )
    return export
