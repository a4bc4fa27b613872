"""Step: test metrics (per-motor MAE/RMSE, R2, expression accuracy, mean baseline) and plots."""

from __future__ import annotations

from typing import Annotated

from zenml import step

from robohead.host.artifacts import Evaluation, FeatureSet, TrainedModel
from robohead.host.splits import Split
from robohead.host.zenml_stack import TRACKER

TRACE_EVERY = 5  # frames between rows of the DVC trace plot (100 fps -> 20 rows/s)


@step(experiment_tracker=TRACKER, enable_cache=False)
def evaluate_model(
    model: TrainedModel, features: FeatureSet, split: Split
) -> Annotated[Evaluation, "evaluation"]:
    """All test windows (stride 1), each scored against the label at its newest frame."""
    import mlflow
    import numpy as np

    from robohead.host import metrics as M
    from robohead.host import plots
    from robohead.host.training import predict
    from robohead.host.windows import build_windows

    k = features.config.context_frames
    net = model.module()
    test = build_windows(features.by_id(split.test), model.normalization, k)
    train = build_windows(features.by_id(split.train), model.normalization, k)
    motors, logits = predict(net, test.inputs())
    true = test.motor_targets()
    result = M.regression_metrics(motors, true, features.motors, prefix="test_")
    result.update(M.mean_baseline(train.motor_targets(), true, features.motors))
    result["test_mae_vs_baseline"] = result["baseline_mae"] / max(result["test_mae"], 1e-12)
    n_cls = len(features.expressions)
    confusion = np.zeros((n_cls, n_cls), dtype=np.int64)
    if logits.shape[1]:
        pred_cls = logits.argmax(axis=1)
        true_cls = test.expression_targets()
        result["test_expression_accuracy"] = M.accuracy(pred_cls, true_cls)
        majority = np.bincount(train.expression_targets(), minlength=n_cls).argmax()
        result["baseline_expression_accuracy"] = M.accuracy(
            np.full_like(true_cls, majority), true_cls
        )
        confusion = M.confusion(pred_cls, true_cls, n_cls)
    result["test_windows"] = float(test.size)
    mlflow.log_metrics(result)

    # Plots of the first test session: traces, features per channel, confusion, losses.
    sid = split.test[0]
    rows = test.of_session(sid)
    ends = features.end_sample(sid)[k - 1 :]
    t = ends / features.config.sampling_rate_hz
    fig = plots.traces(t, true[rows], motors[rows], features.motors, f"test session {sid}")
    mlflow.log_figure(fig, "plots/test_traces.png")
    plots.close(fig)
    session = features.by_id((sid,))[0]
    span = slice(0, min(len(session.features), int(30 * 1000 / features.config.hop_ms)))
    all_t = features.end_sample(sid) / features.config.sampling_rate_hz
    fig = plots.feature_samples(
        all_t[span],
        model.normalization.apply(session.features[span]),
        features.config.feature_names,
        features.config.channels,
        f"normalised sEMG features, first 30 s of {sid}",
    )
    mlflow.log_figure(fig, "plots/features_per_channel.png")
    plots.close(fig)
    if logits.shape[1]:
        fig = plots.confusion_matrix(confusion, features.expressions)
        mlflow.log_figure(fig, "plots/confusion_matrix.png")
        plots.close(fig)
    h = model.history
    fig = plots.losses(
        [e["epoch"] for e in h], [e["train_loss"] for e in h], [e["val_loss"] for e in h]
    )
    mlflow.log_figure(fig, "plots/loss.png")
    plots.close(fig)

    trace_rows: list[dict[str, float | str]] = []
    for pos in range(0, len(rows), TRACE_EVERY):
        j = rows[pos]
        row: dict[str, float | str] = {"time_s": round(float(t[pos]), 3)}
        for i, name in enumerate(features.motors):
            row[f"{name}_true"] = round(float(true[j, i]), 5)
            row[f"{name}_pred"] = round(float(motors[j, i]), 5)
        trace_rows.append(row)
    class_rows: list[dict[str, str]] = []
    if logits.shape[1]:
        names = features.expressions
        class_rows = [
            {"true": names[int(a)], "predicted": names[int(b)]}
            for a, b in zip(true_cls[::TRACE_EVERY], pred_cls[::TRACE_EVERY], strict=True)
        ]
    return Evaluation(
        metrics=result,
        test_sessions=split.test,
        confusion=confusion.tolist(),
        loss_rows=[dict(e) for e in h],
        trace_rows=trace_rows,
        class_rows=class_rows,
    )
