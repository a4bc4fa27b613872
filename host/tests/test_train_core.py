"""The training core without ZenML or MLflow on a tiny synthetic dataset: validation gate,
features, split, fit, evaluate, ONNX + parity, the bundle, and the champion gate's streaming
MAE, which must agree with the window MAE (same frames, same labels)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from robohead.edge.bundle import GitInfo, MlflowInfo, load_bundle
from robohead.host import export as X
from robohead.host.bundling import write_training_bundle
from robohead.host.data.params import DataParams, find_params_file, load_params
from robohead.host.data.session import load_session
from robohead.host.data.synth.generate import synth_dataset
from robohead.host.data.validate import InvalidSessionError
from robohead.host.evaluating import evaluate
from robohead.host.featurizing import build_feature_set, index_sessions, session_labels
from robohead.host.fitting import fit_model
from robohead.host.gate import LabelledSession, bundle_mae
from robohead.host.splits import split_sessions
from robohead.host.train_params import read_params_file, training_params


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataParams, Path]:
    params = load_params()
    out = tmp_path_factory.mktemp("tiny") / "raw"
    synth_dataset(params, out, subjects=2, sessions=2, protocol="quick")
    return params, out


def test_core_pipeline_on_tiny_data(tiny: tuple[DataParams, Path], tmp_path: Path) -> None:
    params, data = tiny
    pfile = find_params_file()
    raw = read_params_file(pfile)
    tp = training_params(raw, pfile)
    index = index_sessions(data, params, dvc_md5="0" * 32 + ".dir", code_version="c" * 40)
    assert len(index.sessions) == 4
    fs = build_feature_set(index.sessions, raw["dsp"], params)
    assert all(s.features.shape[1] == fs.config.n_features for s in fs.sessions)
    split = split_sessions(
        [s.session_id for s in index.sessions],
        by="session",
        val_fraction=0.25,
        test_fraction=0.25,
        seed=tp.train.seed,
    )
    train = tp.train.model_copy(update={"epochs": 3, "window_stride": 2})
    trained, sizes = fit_model(fs, split, tp.model, train)
    assert sizes["windows_train"] > 0 and len(trained.history) == 3
    result = evaluate(trained, fs, split)
    m = result.metrics
    assert {"test_mae", "test_mae_jaw", "test_rmse_brows", "test_r2", "baseline_mae"} <= set(m)
    assert 0 <= m["test_mae"] <= 1 and 0 <= m["test_expression_accuracy"] <= 1

    onnx = X.export_onnx(
        trained.module(), result.windows.inputs(np.arange(2)), tmp_path / "m.onnx", tp.export.opset
    )
    parity = X.check_parity(trained.module(), onnx, result.windows.inputs(), tp.export.parity_atol)
    assert parity.ok

    session = load_session(index.ref(split.test[0]).path)
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
    )
    assert manifest.golden.raw is not None
    load_bundle(tmp_path / "bundle")

    # The gate streams raw sessions through the edge's predictor: same number as the windows.
    labelled = [
        LabelledSession(s, session_labels(s, params)[0])
        for s in (load_session(index.ref(sid).path) for sid in split.test)
    ]
    assert bundle_mae(tmp_path / "bundle", labelled) == pytest.approx(m["test_mae"], abs=1e-5)


def test_training_refuses_an_invalid_session(tiny: tuple[DataParams, Path], tmp_path: Path) -> None:
    params, data = tiny
    bad = tmp_path / "raw"
    shutil.copytree(data, bad)
    emg = next(bad.rglob("emg.csv"))
    lines = emg.read_text().splitlines()
    lines[5] = lines[5].split(",")[0] + ",oops"
    emg.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidSessionError, match=r"emg\.csv"):
        index_sessions(bad, params, dvc_md5="x", code_version="y")
