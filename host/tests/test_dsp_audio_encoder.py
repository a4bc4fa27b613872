"""Wav2Vec2 audio features: a tiny random Wav2Vec2 (saved to tmp, nothing downloaded) exported
to ONNX gives the PyTorch embeddings; the DSP with it streams like offline; a bundle carries it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from transformers import Wav2Vec2Config, Wav2Vec2Model

from robohead.edge.bundle import GitInfo, MlflowInfo, load_bundle, write_bundle
from robohead.edge.dsp import (
    FeatureConfig,
    FeatureExtractor,
    FeatureFrames,
    Normalization,
    extract_session,
)
from robohead.edge.predictor import OutputSpec
from robohead.host.audio_encoder import (
    TorchAudioEncoder,
    export_audio_encoder,
    load_wav2vec2,
    onnx_audio_encoder,
    with_encoder_dim,
)

pytestmark = pytest.mark.slow
PARAMS = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())


def _config(window_ms: float) -> FeatureConfig:
    dsp = dict(PARAMS["dsp"])
    dsp["audio"] = {
        **dsp["audio"],
        "features": "wav2vec2",
        "wav2vec2_window_ms": window_ms,
        "wav2vec2_model": "tmp",
    }
    return FeatureConfig.from_params(
        dsp,
        sampling_rate_hz=PARAMS["device"]["sampling_rate_hz"],
        adc_bits=PARAMS["device"]["adc_bits"],
        channels=[c["name"] for c in PARAMS["channels"]],
        audio_rate_hz=PARAMS["audio"]["sampling_rate_hz"],
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp = tmp_path_factory.mktemp("w2v")
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )  # fmt: skip
    Wav2Vec2Model(config).save_pretrained(tmp / "model")
    encoder = load_wav2vec2(tmp / "model")
    cfg = _config(window_ms=100)
    info = export_audio_encoder(
        encoder, tmp / "audio_encoder.onnx", cfg.audio.wav2vec2_window_samples
    )
    return encoder, info, tmp / "audio_encoder.onnx", with_encoder_dim(cfg, info)


def test_onnx_embedding_matches_torch(exported: tuple) -> None:
    encoder, info, path, cfg = exported
    assert info.dim == 32 and info.window_samples == 1600 and cfg.audio.wav2vec2_dim == 32
    rng = np.random.default_rng(5)
    windows = (0.2 * rng.standard_normal((7, info.window_samples))).astype(np.float32)
    torch_emb = TorchAudioEncoder(encoder)(windows)
    onnx_emb = onnx_audio_encoder(path)(windows)
    assert onnx_emb.shape == (7, 32)
    assert np.max(np.abs(onnx_emb - torch_emb)) < 1e-4


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    from robohead.host.audio_encoder import AudioEncoderError

    with pytest.raises(AudioEncoderError, match="nothing is downloaded"):
        load_wav2vec2(tmp_path / "nope")


def test_wav2vec2_features_stream_like_offline_and_ship_in_a_bundle(
    exported: tuple, tmp_path: Path
) -> None:
    _, info, path, cfg = exported
    enc = onnx_audio_encoder(path)
    rng = np.random.default_rng(1)
    n = 600
    emg = (2048 + 100 * rng.standard_normal((n, cfg.n_channels))).astype(np.int16)
    audio = (0.1 * rng.standard_normal(n * 16)).astype(np.float32)
    offline = extract_session(cfg, emg, audio, audio_offset_s=0.01, audio_encoder=enc)
    assert offline.values.shape[1] == cfg.n_features == cfg.n_emg_features + 32
    ex = FeatureExtractor(cfg, audio_offset_s=0.01, audio_encoder=enc)
    parts = [ex.process(emg[i : i + 64], audio[i * 16 : (i + 64) * 16]) for i in range(0, n, 64)]
    streamed = FeatureFrames.concat([*parts, ex.finish()], cfg.n_features)
    assert np.max(np.abs(streamed.values - offline.values)) <= 1e-5  # float32 encoder, batching

    from onnx import TensorProto, helper

    k, f = cfg.context_frames, cfg.n_features
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["features", "ax"], ["m"], keepdims=0),
         helper.make_node("Slice", ["m", "s", "e", "a"], ["z"]),
         helper.make_node("Sigmoid", ["z"], ["motors"])],
        "tiny",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", k, f])],
        [helper.make_tensor_value_info("motors", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor("ax", TensorProto.INT64, [1], [1]),
         helper.make_tensor("s", TensorProto.INT64, [1], [0]),
         helper.make_tensor("e", TensorProto.INT64, [1], [3]),
         helper.make_tensor("a", TensorProto.INT64, [1], [1])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    write_bundle(
        tmp_path / "bundle",
        model_file=tmp_path / "m.onnx",
        features=cfg,
        normalization=Normalization.fit(offline.values, cfg.std_floor),
        outputs=[OutputSpec(name="motors", kind="motor_targets", labels=("a", "b", "c"),
                            range=(0.0, 1.0))],
        motors=("a", "b", "c"),
        poses={},
        expressions=(),
        dataset_md5="x",
        mlflow=MlflowInfo(run_id=None, model_name=None, model_version=None),
        git=GitInfo(commit="0" * 40, dirty=True),
        audio_encoder=(path, info),
        golden_raw_emg=emg[:400],
        golden_raw_audio=audio[: 400 * 16],
    )  # fmt: skip
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.audio_encoder is not None
    assert sorted(bundle.manifest.files) == ["audio_encoder.onnx", "model.onnx"]
    p = bundle.predictor(audio_offset_s=0.01).predict_session(emg, audio)
    assert len(p) == len(offline) - k + 1
