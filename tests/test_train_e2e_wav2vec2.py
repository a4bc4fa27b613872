"""`robohead train` (the real ZenML pipeline, MLflow, DVC md5) with ``dsp.audio.features:
wav2vec2`` and a tiny randomly initialised Wav2Vec2 in the repository (nothing is downloaded).

A throwaway repository holds params.yaml, a small synthetic dataset and the model folder. The
first run exports the encoder, trains on its features and writes a bundle that ships it; the
edge's replay of a test session reproduces the run's own evaluation trace. Then the weights are
replaced in place (same path, same params.yaml): the second run must re-export the encoder and
recompute the features (the model folder's digest is a step input) while ZenML still reuses the
dataset index and the split.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
pytestmark = [pytest.mark.slow, pytest.mark.e2e]

STEP_STATUS = """
import json, sys
from robohead.host.zenml_stack import configure_environment
from pathlib import Path
configure_environment(Path(sys.argv[1]))
from zenml.client import Client
run = Client().get_pipeline("robohead_training").last_run
print(json.dumps({n: getattr(s.status, "value", str(s.status)) for n, s in run.steps.items()}))
"""


def _tiny_wav2vec2(folder: Path, seed: int) -> None:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(seed)
    config = Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
    )  # fmt: skip
    Wav2Vec2Model(config).save_pretrained(folder)


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ZENML_", "DVC_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = "true"
    return env


def _run(cmd: list[str], root: Path, timeout: float = 600) -> str:
    proc = subprocess.run(
        cmd, cwd=root, env=_env(root), capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-6000:]}"
    return out


def _train(root: Path) -> dict[str, str]:
    _run(
        [
            str(BIN / "robohead"),
            "train",
            "--params",
            str(root / "params.yaml"),
            "--data",
            "data/raw",
            "--bundle",
            "models/bundle",
            "--metrics",
            "metrics.json",
            "--plots",
            "plots",
        ],
        root,
    )
    status: dict[str, str] = json.loads(
        _run([str(BIN / "python"), "-c", STEP_STATUS, str(root)], root).strip().splitlines()[-1]
    )
    return status


def _tags(root: Path, run_id: str) -> dict[str, Any]:
    with sqlite3.connect(root / "mlflow.db") as con:
        return dict(con.execute("select key, value from tags where run_uuid=?", (run_id,)))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from robohead.host.data.params import load_params
    from robohead.host.data.synth.generate import synth_dataset

    root = tmp_path_factory.mktemp("w2v-repo")
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["dsp"]["audio"].update(features="wav2vec2", wav2vec2_model="models/w2v")
    raw["train"].update(epochs=2)  # the point is the wiring, not the accuracy
    raw["export"].update(int8=False, bench_runs=50, parity_windows=256)
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    synth_dataset(load_params(), root / "data" / "raw", subjects=2, sessions=2, protocol="quick")
    _tiny_wav2vec2(root / "models" / "w2v", seed=0)
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "params.yaml", ".dvc", ".dvcignore"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "params"], cwd=root, check=True)
    return root


def test_train_with_wav2vec2_ships_the_encoder_and_recomputes_features_for_new_weights(
    repo: Path,
) -> None:
    from robohead.edge.bundle import load_bundle, sha256_file
    from robohead.edge.replay import read_session, replay

    first = _train(repo)
    assert first["export_audio_encoder"] == first["featurize"] == "completed", first
    bundle = load_bundle(repo / "models" / "bundle")  # sha256s, golden input, raw golden stretch
    m = bundle.manifest
    assert m.audio_encoder is not None and m.audio_encoder.dim == 32
    sha1 = m.files[m.audio_encoder.file]
    assert sha1 == sha256_file(repo / "models" / "bundle" / "audio_encoder.onnx")
    assert m.features.audio.features == "wav2vec2" and m.features.audio.wav2vec2_model == (
        "models/w2v"
    )
    metrics = json.loads((repo / "metrics.json").read_text())
    assert metrics["export_audio_encoder_parity_max_abs_diff"] <= 1e-4
    assert metrics["export_parity_passed"] == 1.0
    tags = _tags(repo, str(m.mlflow.run_id))
    assert tags["audio_encoder_sha256"] == sha1

    # The edge's replay (frame by frame) of the first test session == the run's evaluation
    # trace (every 5th window, values rounded to 5 decimals in plots/test_trace.csv).
    sid = tags["split_test_sessions"].split(",")[0]
    subject, session = sid.split("/")
    pred = replay(read_session(repo / "data" / "raw" / subject / session), bundle)
    with (repo / "plots" / "test_trace.csv").open() as fh:
        trace = list(csv.DictReader(fh))
    rows = pred.motors[::5]
    assert len(trace) == len(rows)
    t = pred.end_sample[::5] / m.features.sampling_rate_hz
    np.testing.assert_allclose([float(r["time_s"]) for r in trace], t, atol=5e-4)
    host = np.array([[float(r[f"{name}_pred"]) for name in m.motors] for r in trace])
    assert np.max(np.abs(host - rows)) <= 1e-5 + 5e-6  # + the CSV's rounding

    # New weights behind the same name: a new encoder and new features; the rest is reused.
    _tiny_wav2vec2(repo / "models" / "w2v", seed=1)
    second = _train(repo)
    assert second["load_dataset"] == second["split_dataset"] == "cached", second
    assert second["export_audio_encoder"] == second["featurize"] == "completed", second
    m2 = load_bundle(repo / "models" / "bundle").manifest
    assert m2.files["audio_encoder.onnx"] != sha1
