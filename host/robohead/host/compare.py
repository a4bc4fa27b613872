"""Measured comparison of the model architectures on the current data and params.yaml.

``python -m robohead.host.compare [--arch tcn --arch gru ...] [--seeds 2]`` trains each
architecture with the same split, features and training parameters (the model section's size
for all), and prints a markdown table: test MAE per motor, expression accuracy, epochs, training
time, parameters, ONNX size and batch-1 latency on one thread. The numbers in host/README.md
come from this script.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import typer
import yaml

from robohead.host.models.nets import ARCHITECTURES

app = typer.Typer(add_completion=False)


@app.command()
def main(
    arch: list[str] = typer.Option(list(ARCHITECTURES), help="architectures to compare"),
    seeds: int = typer.Option(2, help="training seeds per architecture (train.seed + i)"),
    data: Path = typer.Option(Path("data/raw"), help="session folders"),
    params: Path = typer.Option(None, help="params.yaml (default: the repository's)"),
    set_: list[str] = typer.Option(
        [], "--set", help="override a model/train parameter, e.g. --set model.dropout=0.3"
    ),
) -> None:
    from robohead.host import export as X
    from robohead.host.audio_encoding import (
        build_audio_encoder,
        encoder_source,
        encoder_window_samples,
    )
    from robohead.host.data.params import find_params_file, load_params
    from robohead.host.evaluating import evaluate
    from robohead.host.featurizing import build_feature_set, index_sessions
    from robohead.host.fitting import fit_model
    from robohead.host.splits import split_sessions
    from robohead.host.train_params import read_params_file, training_params
    from robohead.host.windows import build_windows

    params_file = params or find_params_file()
    raw = read_params_file(params_file)
    for item in set_:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        if section not in ("model", "train") or name not in raw[section]:
            raise typer.BadParameter(f"--set {item}: expected model.<key>=... or train.<key>=...")
        raw[section][name] = yaml.safe_load(value)
    tp = training_params(raw, params_file)
    dp = load_params(params_file)
    refs = list(index_sessions(data, dp, dvc_md5="", code_version="").sessions)
    t0 = time.perf_counter()
    source = encoder_source(raw["dsp"], params_file.resolve().parent)  # wav2vec2 only
    encoder = None
    if source is not None:
        window = encoder_window_samples(raw["dsp"], dp.audio.sampling_rate_hz)
        encoder = build_audio_encoder(
            source, window, opset=tp.export.opset, atol=tp.export.audio_encoder_parity_atol
        )
    features = build_feature_set(refs, raw["dsp"], dp, audio_encoder=encoder)
    typer.echo(f"features: {len(refs)} sessions in {time.perf_counter() - t0:.1f} s", err=True)
    split = split_sessions(
        [r.session_id for r in refs],
        by=tp.split.by,
        val_fraction=tp.split.val_fraction,
        test_fraction=tp.split.test_fraction,
        seed=tp.train.seed,
    )
    motors = features.motors
    header = (
        "| arch | seed | "
        + " | ".join(f"MAE {m}" for m in motors)
        + " | MAE mean | expr. acc. | epochs | train s | params | ONNX KiB | ONNX ms |"
    )
    typer.echo(header)
    typer.echo("|" + "---|" * (header.count("|") - 1))
    for a in arch:
        for i in range(seeds):
            model = tp.model.model_copy(update={"arch": a})
            train = tp.train.model_copy(update={"seed": tp.train.seed + i})
            t0 = time.perf_counter()
            trained, sizes = fit_model(features, split, model, train)
            train_s = time.perf_counter() - t0
            m = evaluate(trained, features, split).metrics
            test = build_windows(
                features.by_id(split.test), trained.normalization, features.config.context_frames
            )
            with tempfile.TemporaryDirectory() as tmp:
                path = X.export_onnx(
                    trained.module(),
                    test.inputs(np.arange(2)),
                    Path(tmp) / "m.onnx",
                    tp.export.opset,
                )
                lat = X.benchmark(path, test.inputs(np.arange(1))[0], tp.export.bench_runs)
                size = path.stat().st_size / 1024
            cells = [f"{m[f'test_mae_{x}']:.4f}" for x in motors]
            typer.echo(
                f"| {a} | {train.seed} | "
                + " | ".join(cells)
                + f" | {m['test_mae']:.4f} | {m.get('test_expression_accuracy', float('nan')):.3f}"
                f" | {len(trained.history)} (best {trained.best_epoch}) | {train_s:.0f}"
                f" | {sizes['parameters']} | {size:.0f} | {lat.median_ms:.3f} |"
            )
    typer.echo(
        f"\nbaseline (training mean): MAE {m['baseline_mae']:.4f}; split test={list(split.test)}"
        f"; overrides {list(set_)}"
    )


if __name__ == "__main__":
    app()
