"""ZenML materializers for robohead's numeric artifacts: npz, torch state dicts and raw files.

Each writes a folder of plain files (JSON + npz/pt/onnx), never a pickle, so an artifact can be
read without this code and a code change cannot make old artifacts unloadable.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any, ClassVar

import numpy as np
import torch
from zenml.enums import ArtifactType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer

from robohead.edge.bundle import AudioEncoderInfo
from robohead.edge.dsp.config import FeatureConfig
from robohead.edge.dsp.normalize import Normalization
from robohead.host.artifacts import AudioEncoderExport, FeatureSet, OnnxExport, TrainedModel
from robohead.host.windows import SessionFrames


class _Files:
    """Helpers to read and write named files inside the artifact's URI (a mixin: ZenML
    refuses a materializer class without associated types)."""

    uri: str

    def _write(self, name: str, data: bytes) -> None:
        with fileio.open(f"{self.uri}/{name}", "wb") as fh:
            fh.write(data)

    def _read(self, name: str) -> bytes:
        with fileio.open(f"{self.uri}/{name}", "rb") as fh:
            return bytes(fh.read())

    def _exists(self, name: str) -> bool:
        return bool(fileio.exists(f"{self.uri}/{name}"))


class FeatureSetMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (FeatureSet,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: FeatureSet) -> None:
        meta = {
            "config": data.config.model_dump(mode="json"),
            "motors": list(data.motors),
            "expressions": list(data.expressions),
            "sessions": [{"id": s.session_id, "subject": s.subject} for s in data.sessions],
            "audio_encoder_sha256": data.audio_encoder_sha256,
        }
        arrays: dict[str, np.ndarray] = {}
        for i, (s, e) in enumerate(zip(data.sessions, data.end_samples, strict=True)):
            arrays[f"f{i}"], arrays[f"t{i}"] = s.features, s.targets
            arrays[f"c{i}"], arrays[f"e{i}"] = s.expressions, np.asarray(e)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        self._write("meta.json", json.dumps(meta).encode())
        self._write("frames.npz", buf.getvalue())

    def load(self, data_type: type[Any]) -> FeatureSet:
        meta = json.loads(self._read("meta.json"))
        arrays = np.load(io.BytesIO(self._read("frames.npz")))
        sessions, ends = [], []
        for i, s in enumerate(meta["sessions"]):
            sessions.append(
                SessionFrames(
                    session_id=s["id"],
                    subject=s["subject"],
                    features=arrays[f"f{i}"],
                    targets=arrays[f"t{i}"],
                    expressions=arrays[f"c{i}"],
                )
            )
            ends.append(arrays[f"e{i}"])
        return FeatureSet(
            config=FeatureConfig.model_validate(meta["config"]),
            motors=tuple(meta["motors"]),
            expressions=tuple(meta["expressions"]),
            sessions=tuple(sessions),
            end_samples=tuple(ends),
            audio_encoder_sha256=meta.get("audio_encoder_sha256"),
        )


class TrainedModelMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (TrainedModel,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def save(self, data: TrainedModel) -> None:
        meta = {
            "build": data.build,
            "normalization": data.normalization.model_dump(mode="json"),
            "history": data.history,
            "best_epoch": data.best_epoch,
        }
        buf = io.BytesIO()
        torch.save(data.state, buf)
        self._write("model.json", json.dumps(meta).encode())
        self._write("state_dict.pt", buf.getvalue())

    def load(self, data_type: type[Any]) -> TrainedModel:
        meta = json.loads(self._read("model.json"))
        state = torch.load(io.BytesIO(self._read("state_dict.pt")), weights_only=True)
        return TrainedModel(
            build=meta["build"],
            state=state,
            normalization=Normalization.model_validate(meta["normalization"]),
            history=meta["history"],
            best_epoch=meta["best_epoch"],
        )


class OnnxExportMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (OnnxExport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def save(self, data: OnnxExport) -> None:
        self._write("model.onnx", data.float_onnx)
        if data.int8_onnx is not None:
            self._write("model.int8.onnx", data.int8_onnx)
        self._write("report.json", json.dumps(data.report).encode())

    def load(self, data_type: type[Any]) -> OnnxExport:
        return OnnxExport(
            float_onnx=self._read("model.onnx"),
            int8_onnx=self._read("model.int8.onnx") if self._exists("model.int8.onnx") else None,
            report=json.loads(self._read("report.json")),
        )


class AudioEncoderExportMaterializer(_Files, BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (AudioEncoderExport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def save(self, data: AudioEncoderExport) -> None:
        meta = {
            "info": data.info.model_dump(mode="json"),
            "sha256": data.sha256,
            "model": data.model,
            "source_digest": data.source_digest,
            "parity_max_abs_diff": data.parity_max_abs_diff,
        }
        self._write("audio_encoder.onnx", data.onnx)
        self._write("audio_encoder.json", json.dumps(meta).encode())

    def load(self, data_type: type[Any]) -> AudioEncoderExport:
        meta = json.loads(self._read("audio_encoder.json"))
        onnx = self._read("audio_encoder.onnx")
        if hashlib.sha256(onnx).hexdigest() != meta["sha256"]:
            raise ValueError(f"{self.uri}/audio_encoder.onnx: sha256 differs from its metadata")
        return AudioEncoderExport(
            onnx=onnx,
            info=AudioEncoderInfo.model_validate(meta["info"]),
            sha256=meta["sha256"],
            model=meta["model"],
            source_digest=meta["source_digest"],
            parity_max_abs_diff=meta["parity_max_abs_diff"],
        )
