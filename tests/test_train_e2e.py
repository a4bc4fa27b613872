"""`make train` in a fresh clone, start to finish, with no network and no mocks.

The clone gets only committed files. It reuses this checkout's .venv (a symlink) with the
clone's own code first on PYTHONPATH, and its Makefile prerequisites are dated back so `make`
does not reinstall anything. Checks: the bundle verifies like the edge verifies it, the ONNX
parity passed, the MLflow run holds params/metrics/plots/dataset digest/tags, a registered
version carries an alias, `dvc status` is clean, a second `make train` does no training, the
model beats the mean baseline by 2x; then `dvc exp run -S train.epochs=...` appears in MLflow
and goes through the champion gate, and `robohead deploy` exports the champion's bundle.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.e2e]

MAKE_PREREQUISITES = [
    "constraints.txt",
    "shared/pyproject.toml",
    "edge-rpi/pyproject.toml",
    "host/pyproject.toml",
    "scripts/install-system-deps.sh",
]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-6000:]}"
    return out


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    venv = REPO / ".venv"
    if not (venv / "bin" / "python").exists():
        pytest.skip("needs the checkout's .venv (make setup)")
    dst = tmp_path_factory.mktemp("e2e") / "robohead"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(dst)], check=True)
    (dst / ".venv").symlink_to(venv)
    for name in MAKE_PREREQUISITES:  # older than the venv's setup stamps: no reinstall
        if (dst / name).exists():
            os.utime(dst / name, (0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ZENML_", "DVC_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(dst / p) for p in ("shared", "edge-rpi", "host"))
    env["PATH"] = f"{dst / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = "true"
    return dst, env


def _mlflow(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def test_make_train_in_a_fresh_clone(clone: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, env = clone
    out = _run(["make", "train"], root, env, timeout=1500)
    assert "Data and pipelines are up to date" in out.splitlines()[-1] or "up to date" in out

    # The bundle verifies exactly as the edge verifies it, and says where it came from.
    from robohead.edge.bundle import load_bundle

    bundle = load_bundle(root / "models" / "bundle")
    m = bundle.manifest
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert m.git.commit == head
    lock = (root / "dvc.lock").read_text()
    assert m.dataset_md5.endswith(".dir") and m.dataset_md5 in lock
    assert "int8" in m.model.variants
    load_bundle(root / "models" / "bundle", variant="int8")

    metrics = json.loads((root / "metrics.json").read_text())
    assert metrics["export_parity_passed"] == 1.0
    assert metrics["export_parity_max_abs_diff"] <= 1e-5
    assert metrics["test_mae"] * 2 <= metrics["baseline_mae"], metrics
    for name in ("loss.csv", "test_trace.csv", "confusion.csv"):
        assert (root / "plots" / name).stat().st_size > 0

    # The MLflow run: params, per-epoch losses, test metrics, plots, dataset digest, tags.
    db = root / "mlflow.db"
    (run_id,) = _mlflow(db, "select run_uuid from runs")[0]
    assert run_id == m.mlflow.run_id
    params = dict(_mlflow(db, "select key, value from params where run_uuid=?", run_id))
    assert params["train.epochs"] and params["dsp.window_ms"] and params["model.arch"]
    assert params["registry.model_name"] == "robohead-expression"
    keys = {k for (k,) in _mlflow(db, "select distinct key from metrics where run_uuid=?", run_id)}
    for key in (
        "train_loss",
        "val_loss",
        "test_mae",
        "test_mae_jaw",
        "test_rmse_brows",
        "test_r2",
        "test_expression_accuracy",
        "baseline_mae",
        "export_parity_max_abs_diff",
        "export_int8_mae_change",
        "export_int8_latency_ms",
        "gate_candidate_mae",
    ):
        assert key in keys, key
    (epochs,) = _mlflow(
        db, "select count(*) from metrics where run_uuid=? and key='val_loss'", run_id
    )[0]
    assert epochs >= 2
    tags = dict(_mlflow(db, "select key, value from tags where run_uuid=?", run_id))
    assert tags["git_commit"] == head
    assert tags["git_dirty"] in ("true", "false")
    assert tags["dvc_md5"] == m.dataset_md5
    assert tags["zenml_run"].startswith("robohead_training")
    digests = [d for (d,) in _mlflow(db, "select digest from datasets")]
    assert m.dataset_md5 in digests
    (artifact_uri,) = _mlflow(db, "select artifact_uri from runs where run_uuid=?", run_id)[0]
    art = Path(str(artifact_uri).removeprefix("file://"))
    assert art.is_relative_to(root / "mlruns")
    for png in ("test_traces.png", "features_per_channel.png", "confusion_matrix.png"):
        assert (art / "plots" / png).stat().st_size > 1000
    assert (art / "bundle" / "bundle.json").is_file()

    # The registry: version 1 with both aliases (the first champion).
    aliases = dict(
        _mlflow(
            db,
            "select alias, version from registered_model_aliases where name=?",
            "robohead-expression",
        )
    )
    assert aliases == {"candidate": 1, "champion": 1}

    # `dvc status` is clean, and a second `make train` trains nothing.
    status = _run([str(root / ".venv/bin/dvc"), "status"], root, env, timeout=300)
    assert "up to date" in status
    again = _run(["make", "train"], root, env, timeout=600)
    assert "Stage 'train' didn't change, skipping" in again
    assert len(_mlflow(db, "select run_uuid from runs")) == 1

    # A DVC experiment with a changed parameter is a new MLflow run and goes through the gate.
    exp = _run(
        [str(root / ".venv/bin/dvc"), "exp", "run", "-S", "train.epochs=1"], root, env, timeout=1500
    )
    assert "gate" in exp
    runs = _mlflow(db, "select run_uuid from runs")
    assert len(runs) == 2
    new = next(r for (r,) in runs if r != run_id)
    new_params = dict(_mlflow(db, "select key, value from params where run_uuid=?", new))
    assert new_params["train.epochs"] == "1"
    aliases = dict(
        _mlflow(
            db,
            "select alias, version from registered_model_aliases where name=?",
            "robohead-expression",
        )
    )
    assert aliases["candidate"] == 2
    gate = dict(_mlflow(db, "select key, value from tags where run_uuid=?", new))
    assert gate["gate_decision"] in ("champion", "candidate")
    assert gate["gate_champion_version"] == "1"
    gate_metrics = {k for (k,) in _mlflow(db, "select key from metrics where run_uuid=?", new)}
    assert {"gate_candidate_mae", "gate_champion_mae"} <= gate_metrics
    champion = 2 if gate["gate_decision"] == "champion" else 1
    assert aliases["champion"] == champion
    # ... and DVC sees the experiment's metrics (metrics.json is DVC-cached, not in git).
    shown = json.loads(
        subprocess.run(
            [str(root / ".venv/bin/dvc"), "exp", "show", "--json"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
    )
    revs = [r for c in shown for e in (c.get("experiments") or []) for r in e["revs"]]
    assert any(
        r["data"]["params"]["params.yaml"]["data"]["train"]["epochs"] == 1
        and "test_mae" in r["data"]["metrics"]["metrics.json"]["data"]
        for r in revs
    ), revs

    # `robohead deploy` writes the champion's verified bundle.
    out_dir = tmp_path / "deployed"
    _run(
        [str(root / ".venv/bin/robohead"), "deploy", "--out", str(out_dir)], root, env, timeout=300
    )
    assert load_bundle(out_dir).manifest.mlflow.model_version == str(champion)
    shutil.rmtree(out_dir)
