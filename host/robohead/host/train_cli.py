"""``robohead train`` (the DVC train stage) and ``robohead deploy`` (champion bundle -> folder).

Heavy imports (torch, zenml, mlflow) stay inside the commands so ``robohead --help`` is fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer


def _root() -> Path:
    from robohead.host.data.params import find_params_file

    return find_params_file().parent


def train(
    params: Path = typer.Option(None, help="params.yaml (default: the repository's)"),
    data: Path = typer.Option(Path("data/raw"), help="session folders to train on"),
    bundle: Path = typer.Option(Path("models/bundle"), help="where to write the deploy bundle"),
    metrics: Path = typer.Option(Path("metrics.json"), help="test metrics for dvc metrics"),
    plots: Path = typer.Option(Path("plots"), help="folder of CSV data for dvc plots"),
) -> None:
    """Run the ZenML training pipeline (what `make train` runs through `dvc repro`)."""
    from rich.table import Table

    from robohead.host.progress import console
    from robohead.host.train_stage import run_training

    params_file = params or _root() / "params.yaml"
    root = params_file.resolve().parent
    try:
        s = run_training(
            root,
            params_file=params_file,
            data_dir=data,
            bundle_out=bundle,
            metrics_out=metrics,
            plots_dir=plots,
        )
    except Exception as e:  # the CLI boundary: one clear line, non-zero exit
        if os.environ.get("ROBOHEAD_DEBUG"):
            raise
        console.print(f"[red]training failed[/red]: {type(e).__name__}: {e}")
        console.print("[dim](ROBOHEAD_DEBUG=1 shows the traceback)[/dim]")
        raise typer.Exit(1) from e

    m = s.metrics
    table = Table(title="test metrics", show_edge=False)
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column("mean baseline", justify="right")
    motors = [
        k.removeprefix("test_mae_")
        for k in m
        if k.startswith("test_mae_") and k != "test_mae_vs_baseline"
    ]
    for name in [*motors, ""]:
        sfx = f"_{name}" if name else ""
        label = name or "mean"
        table.add_row(
            f"MAE {label}", f"{m[f'test_mae{sfx}']:.4f}", f"{m[f'baseline_mae{sfx}']:.4f}"
        )
    table.add_row("RMSE mean", f"{m['test_rmse']:.4f}", f"{m['baseline_rmse']:.4f}")
    table.add_row("R2 mean", f"{m['test_r2']:.3f}", f"{m['baseline_r2']:.3f}")
    if "test_expression_accuracy" in m:
        table.add_row(
            "expression accuracy",
            f"{m['test_expression_accuracy']:.3f}",
            f"{m['baseline_expression_accuracy']:.3f}",
        )
    console.print(table)
    if "export_int8_test_mae" in m:
        console.print(
            f"int8: MAE {m['export_int8_test_mae']:.4f} (float {m['export_onnx_test_mae']:.4f}), "
            f"{m['export_int8_latency_ms']:.3f} ms vs {m['export_onnx_latency_ms']:.3f} ms per "
            f"window"
        )
    t = s.timings
    console.print(
        f"time: {t['total_s']:.0f} s total, steps {t['steps_s']:.0f} s; ZenML overhead "
        f"{t['zenml_overhead_s']:.1f} s (stack setup {t['stack_setup_s']:.1f} s, outside steps "
        f"{t['zenml_orchestration_s']:.1f} s); MLflow {t['mlflow_s']:.1f} s (store + logging)"
    )
    state = "champion" if s.promoted else "candidate (champion unchanged)"
    console.print(f"model: {s.model_name} v{s.version} -> {state}: {s.gate_reason}")
    console.print(f"bundle: {s.bundle}")
    console.print(f"MLflow: {s.run_url}")
    console.print(f"ZenML run: {s.zenml_run}")
    console.print(
        "deploy: `make deploy-rpi RPI=user@host` (fetches the champion with `robohead deploy "
        "--out models/champion`, copies it to the Pi), or `robohead deploy --out DIR`"
    )


def deploy(
    out: Path = typer.Option(Path("models/bundle"), help="folder to write the bundle to"),
    alias: str = typer.Option("champion", help="registry alias to deploy"),
    params: Path = typer.Option(None, help="params.yaml (default: the repository's)"),
) -> None:
    """Fetch the champion's bundle from the MLflow registry, verify it, write it to --out."""
    from robohead.edge.bundle import BundleError
    from robohead.host import tracking
    from robohead.host.progress import console
    from robohead.host.registry import RegistryError, deploy_champion
    from robohead.host.train_params import read_params_file, training_params

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    params_file = params or _root() / "params.yaml"
    tp = training_params(read_params_file(params_file), params_file)
    uri = tracking.tracking_uri(params_file.resolve().parent)
    try:
        mv, path = deploy_champion(uri, tp.registry.model_name, out, alias)
    except (RegistryError, BundleError) as e:
        console.print(f"[red]deploy failed[/red]: {e}")
        raise typer.Exit(1) from e
    console.print(f"{tp.registry.model_name} v{mv.version} ({alias}) -> {path} (verified)")


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``deploy`` to the ``robohead`` command."""
    app.command("train")(train)
    app.command("deploy")(deploy)
