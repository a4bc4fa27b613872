"""``dsp.audio.features: wav2vec2`` through the training core, with a tiny randomly initialised
Wav2Vec2 saved to a temporary folder (nothing is downloaded): the encoder is exported once, the
training features come from that ONNX file, the bundle ships it (named in the manifest with its
sha256) and verifies on the edge side, and robohead-edge's replay predicts what the host's
offline evaluation predicted (1e-5)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

from robohead.edge.bundle import GitInfo, MlflowInfo, load_bundle
from robohead.edge.replay import read_session, replay
from robohead.host import export as X
from robohead.host.audio_encoder import AudioEncoderError, model_digest, resolve_model
from robohead.host.audio_encoding import (
    build_audio_encoder,
    encoder_source,
    encoder_window_samples,
)
from robohead.host.bundling import encoder_file, write_training_bundle
from robohead.host.data.params import DataParams, find_params_file, load_params
from robohead.host.data.session import load_session
from robohead.host.data.synth.generate import synth_dataset
from robohead.host.evaluating import evaluate
from robohead.host.featurizing import build_feature_set, index_sessions, session_labels
from robohead.host.fitting import fit_model
from robohead.host.gate import LabelledSession, bundle_mae
from robohead.host.splits import split_sessions
from robohead.host.train_params import read_params_file, training_params


def _tiny_wav2vec2(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    config = Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )  # fmt: skip
    Wav2Vec2Model(config).save_pretrained(folder)
    return folder


def _dsp(raw: dict[str, Any], model: str) -> dict[str, Any]:
    dsp = copy.deepcopy(raw["dsp"])
    dsp["audio"].update(features="wav2vec2", wav2vec2_model=model)
    return dsp


def test_a_hub_id_is_taken_only_from_the_local_cache(tmp_path: Path) -> None:
    model = _tiny_wav2vec2(tmp_path / "tiny")
    with pytest.raises(AudioEncoderError, match=r"wav2vec2_model=acme/w2v.*nothing is downloaded"):
        resolve_model("acme/w2v", root=tmp_path, cache_dir=tmp_path / "hf")
    with pytest.raises(AudioEncoderError, match=r"no such model folder"):
        resolve_model("models/audio/w2v", root=tmp_path)
    # The layout huggingface_hub keeps: refs/main -> snapshots/<commit>/.
    repo = tmp_path / "hf" / "models--acme--w2v"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("c0ffee")
    (repo / "snapshots").mkdir()
    model.rename(repo / "snapshots" / "c0ffee")
    found = resolve_model("acme/w2v", root=tmp_path, cache_dir=tmp_path / "hf")
    assert found == (repo / "snapshots" / "c0ffee").resolve()
    assert resolve_model(found) == found


def test_the_model_digest_follows_the_weights_not_the_name(tmp_path: Path) -> None:
    a = model_digest(_tiny_wav2vec2(tmp_path / "a", seed=0))
    assert model_digest(_tiny_wav2vec2(tmp_path / "b", seed=0)) == a
    assert model_digest(_tiny_wav2vec2(tmp_path / "a", seed=1)) != a  # same path, new weights


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataParams, Path]:
    params = load_params()
    out = tmp_path_factory.mktemp("tiny") / "raw"
    synth_dataset(params, out, subjects=2, sessions=2, protocol="quick")
    return params, out


@pytest.mark.slow
def test_wav2vec2_features_train_ship_in_the_bundle_and_replay_on_the_edge(
    tiny: tuple[DataParams, Path], tmp_path: Path
) -> None:
    params, data = tiny
    pfile = find_params_file()
    raw = read_params_file(pfile)
    tp = training_params(raw, pfile)
    _tiny_wav2vec2(tmp_path / "models" / "w2v")
    dsp = _dsp(raw, "models/w2v")  # relative to the repository root (here tmp_path)

    # Exported once, parity-checked; the same bytes compute the features and ship.
    source = encoder_source(dsp, tmp_path)
    assert source is not None and source.folder == (tmp_path / "models" / "w2v").resolve()
    window = encoder_window_samples(dsp, params.audio.sampling_rate_hz)
    encoder = build_audio_encoder(
        source, window, opset=tp.export.opset, atol=tp.export.audio_encoder_parity_atol
    )
    assert encoder.info.dim == 32 and encoder.info.window_samples == window
    assert encoder.parity_max_abs_diff <= tp.export.audio_encoder_parity_atol
    assert encoder.sha256 == hashlib.sha256(encoder.onnx).hexdigest()

    index = index_sessions(data, params, dvc_md5="0" * 32 + ".dir", code_version="c" * 40)
    with pytest.raises(ValueError, match="audio encoder is needed exactly for 'wav2vec2'"):
        build_feature_set(index.sessions[:1], dsp, params)
    fs = build_feature_set(index.sessions, dsp, params, audio_encoder=encoder)
    assert fs.audio_encoder_sha256 == encoder.sha256
    assert fs.config.audio.wav2vec2_dim == 32
    assert fs.config.n_features == fs.config.n_emg_features + 32
    audio = np.concatenate([s.features[:, fs.config.n_emg_features :] for s in fs.sessions])
    assert np.isfinite(audio).all() and audio.std(axis=0).min() > 0  # embeddings vary

    split = split_sessions(
        [s.session_id for s in index.sessions],
        by="session",
        val_fraction=0.25,
        test_fraction=0.25,
        seed=tp.train.seed,
    )
    train = tp.train.model_copy(update={"epochs": 3, "window_stride": 2})
    trained, _ = fit_model(fs, split, tp.model, train)
    result = evaluate(trained, fs, split)
    net = trained.deployable()
    onnx = X.export_onnx(net, result.windows.inputs(np.arange(2)), tmp_path / "m.onnx", 18)
    assert X.check_parity(net, onnx, result.windows.inputs(), tp.export.parity_atol).ok

    sid = split.test[0]
    session = load_session(index.ref(sid).path)
    shipped = encoder_file(fs, encoder, tmp_path)
    assert shipped is not None
    manifest = write_training_bundle(
        tmp_path / "bundle",
        model_file=onnx,
        features=fs,
        normalization=trained.normalization,
        expression_head=True,
        poses=params.poses,
        dataset_md5=index.dvc_md5,
        mlflow=MlflowInfo(run_id="r", model_name="robohead-expression", model_version="1"),
        git=GitInfo(commit=index.code_version, dirty=False),
        golden_input=result.windows.inputs(np.arange(1))[0],
        golden_session=session,
        export=tp.export,
        audio_encoder=shipped,
    )
    assert manifest.golden.raw is not None and manifest.golden.raw.audio is not None

    # The edge verifies it (sha256s, golden input, the raw golden stretch through the DSP +
    # encoder + model) and names the encoder with its hash.
    bundle = load_bundle(tmp_path / "bundle")
    m = bundle.manifest
    assert m.audio_encoder is not None and m.audio_encoder.file == "audio_encoder.onnx"
    assert m.files["audio_encoder.onnx"] == encoder.sha256
    assert m.features.audio.features == "wav2vec2" and m.features.audio.wav2vec2_dim == 32
    assert bundle.audio_encoder is not None

    # robohead-edge replay (frame by frame, as the daemon) == the host's offline evaluation.
    k = fs.config.context_frames
    for test_id in split.test:
        rows = result.windows.of_session(test_id)
        edge = replay(read_session(Path(index.ref(test_id).path)), bundle)
        np.testing.assert_array_equal(edge.end_sample, fs.end_sample(test_id)[k - 1 :])
        assert edge.motors.shape == result.motors[rows].shape
        assert np.max(np.abs(edge.motors - result.motors[rows])) <= 1e-5

    # ... and so does the champion gate's streaming MAE.
    labelled = [
        LabelledSession(s, session_labels(s, params)[0])
        for s in (load_session(index.ref(i).path) for i in split.test)
    ]
    assert bundle_mae(tmp_path / "bundle", labelled) == pytest.approx(
        result.metrics["test_mae"], abs=1e-5
    )

    # A bundle whose encoder is not the one the features came from is refused.
    other = dataclasses.replace(encoder, sha256="0" * 64)
    with pytest.raises(ValueError, match="not the one the features were computed with"):
        encoder_file(fs, other, tmp_path)
