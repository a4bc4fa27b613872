"""The DVC ``train`` stage: run the ZenML training pipeline and write the stage's outputs.

``run_training`` is the pure part (params in, outputs on disk, a summary back); ``robohead
train`` (``robohead.host.train_cli``) is its thin command line. Output paths come from the
command line in dvc.yaml, never from here, so they are declared once.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robohead.host import timing, tracking
from robohead.host.provenance import dvc_md5, git_state
from robohead.host.train_params import read_params_file, training_params
from robohead.host.zenml_stack import configure_environment, ensure_stack

DATA_SECTIONS = ("seed", "motors", "poses", "channels", "device", "audio", "data")


class TrainingError(RuntimeError):
    """The pipeline did not complete (names the failed step)."""


@dataclass
class TrainingSummary:
    metrics: dict[str, float]
    bundle: Path
    model_name: str
    version: str
    promoted: bool
    gate_reason: str
    run_id: str
    run_url: str
    zenml_run: str
    timings: dict[str, float] = field(default_factory=dict)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        if not rows:
            return
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run_training(
    root: Path,
    *,
    params_file: Path,
    data_dir: Path,
    bundle_out: Path,
    metrics_out: Path,
    plots_dir: Path,
) -> TrainingSummary:
    """Train on ``data_dir`` with ``params_file``; write the bundle, metrics.json and plots."""
    t_start = time.perf_counter()
    timing.reset()
    root = root.resolve()
    raw = read_params_file(params_file)
    tp = training_params(raw, params_file)
    from robohead.host.data.params import DataParams

    # The data sections plus the repository root (DataParams resolves protocols from it).
    data_params: dict[str, Any] = {"root": str(root), **{k: raw[k] for k in DATA_SECTIONS}}
    DataParams(**data_params)  # fail fast, naming the key
    git = git_state(root)
    md5 = dvc_md5(root, data_dir)
    from robohead.host.audio_encoding import encoder_source

    # wav2vec2 features: the model folder and its digest, found before ZenML starts (a missing
    # model fails here, naming dsp.audio.wav2vec2_model), so the export step's cache sees it.
    source = encoder_source(raw["dsp"], root)

    configure_environment(root)
    uri = tracking.tracking_uri(root)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with timing.timed("mlflow"):
        tracking.ensure_experiment(tp.registry.experiment, root)
    t0 = time.perf_counter()
    ensure_stack(root, uri)
    t_setup = time.perf_counter() - t0

    from zenml.integrations.mlflow.flavors.mlflow_experiment_tracker_flavor import (
        MLFlowExperimentTrackerSettings,
    )

    from robohead.host.pipelines.training import training_pipeline

    pipeline = training_pipeline.with_options(
        settings={
            "experiment_tracker": MLFlowExperimentTrackerSettings(
                experiment_name=tp.registry.experiment, nested=False
            )
        }
    )
    t0 = time.perf_counter()
    run = pipeline(
        data_dir=str(data_dir.resolve()),
        dvc_md5=md5,
        git_commit=git.commit,
        code_version=git.code_version,
        git_dirty=git.dirty,
        data_params=data_params,
        dsp=raw["dsp"],
        split=tp.split,
        model=tp.model,
        train=tp.train,
        export=tp.export,
        registry=tp.registry,
        all_params=raw,
        audio_encoder_source=None
        if source is None
        else {"model": source.model, "folder": str(source.folder), "digest": source.digest},
    )
    t_pipeline = time.perf_counter() - t0
    if run is None or str(run.status) not in ("completed", "ExecutionStatus.COMPLETED"):
        failed = [n for n, s in (run.steps if run else {}).items() if str(s.status) == "failed"]
        raise TrainingError(f"pipeline run {getattr(run, 'name', '?')} failed in {failed}")

    def out(step: str, name: str) -> Any:
        return run.steps[step].outputs[name][0].load()

    evaluation = out("evaluate_model", "evaluation")
    onnx = out("export_onnx", "onnx")
    version = out("register_model", "model_version")
    promotion = out("promote_model", "promotion")
    bundle_src = out("build_bundle", "bundle")

    if bundle_out.exists():
        shutil.rmtree(bundle_out)
    bundle_out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(bundle_src, bundle_out)
    from robohead.edge.bundle import load_bundle

    load_bundle(bundle_out)  # the copy verifies exactly as the edge will verify it

    per_step = {
        name: (s.end_time - s.start_time).total_seconds()
        for name, s in run.steps.items()
        if s.start_time and s.end_time
    }
    step_s = sum(per_step.values())
    metrics: dict[str, float] = dict(evaluation.metrics)
    metrics.update({f"export_{k}": v for k, v in onnx.report.items()})
    if source is not None:
        encoder = out("export_audio_encoder", "audio_encoder")
        metrics["export_audio_encoder_parity_max_abs_diff"] = encoder.parity_max_abs_diff
    metrics["gate_candidate_mae"] = promotion.candidate_mae
    if promotion.champion_mae is not None:
        metrics["gate_champion_mae"] = promotion.champion_mae
    metrics["gate_promoted"] = float(promotion.promoted)
    metrics_out.parent.mkdir(parents=True, exist_ok=True)
    metrics_out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    _write_csv(plots_dir / "loss.csv", evaluation.loss_rows)
    _write_csv(plots_dir / "test_trace.csv", evaluation.trace_rows)
    _write_csv(plots_dir / "confusion.csv", evaluation.class_rows)

    ledger = timing.snapshot()
    timings = {
        "total_s": time.perf_counter() - t_start,
        "stack_setup_s": t_setup,
        "pipeline_s": t_pipeline,
        "steps_s": step_s,
        "zenml_overhead_s": t_setup + max(0.0, t_pipeline - step_s),
        "zenml_orchestration_s": max(0.0, t_pipeline - step_s),
        "mlflow_s": ledger.get("mlflow", 0.0),
        **{f"step_{name}_s": v for name, v in per_step.items()},
    }
    # Where the time went, on the run itself (not in metrics.json: it would make every
    # `dvc metrics diff` noisy).
    from robohead.host.registry import client

    c = client(uri)
    for key, value in timings.items():
        c.log_metric(version.run_id, f"time_{key}", value)
    return TrainingSummary(
        metrics=metrics,
        bundle=bundle_out,
        model_name=version.model_name,
        version=version.version,
        promoted=promotion.promoted,
        gate_reason=promotion.reason,
        run_id=version.run_id,
        run_url=tracking.run_url(version.run_id, version.experiment_id, uri),
        zenml_run=run.name,
        timings=timings,
    )
