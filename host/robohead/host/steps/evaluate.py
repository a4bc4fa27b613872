"""Step: test metrics (per-motor MAE/RMSE, R2, expression accuracy, mean baseline) and plots."""

from __future__ import annotations

from typing import Annotated

from zenml import step

from robohead.host.artifacts import Evaluation, FeatureSet, TrainedModel
from robohead.host.splits import Split
from robohead.host.timing import timed
from robohead.host.zenml_stack import TRACKER

TRACE_EVERY = 5  # frames between rows of the DVC trace plot (100 fps -> 20 rows/s)


@step(experiment_tracker=TRACKER, enable_cache=False)
def evaluate_model(
    model: TrainedModel, features: FeatureSet, split: Split
) -> Annotated[Evaluation, "evaluation"]:
    """All test windows (stride 1), each scored against the label at its newest frame."""
    import mlflow

    from robohead.host import plots
    from robohead.host.evaluating import evaluate

    k = features.config.context_frames
    r = evaluate(model, features, split)
    result, test, motors, logits, confusion = r.metrics, r.windows, r.motors, r.logits, r.confusion
    true = test.motor_targets()
    with timed("mlflow"):
        mlflow.log_metrics(result)

    # Plots of the first test session: traces, features per channel, confusion, losses.
    sid = split.test[0]
    rows = test.of_session(sid)
    ends = features.end_sample(sid)[k - 1 :]
    t = ends / features.config.sampling_rate_hz
    fig = plots.traces(t, true[rows], motors[rows], features.motors, f"test session {sid}")
    with timed("mlflow"):
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
    with timed("mlflow"):
        mlflow.log_figure(fig, "plots/features_per_channel.png")
    plots.close(fig)
    if logits.shape[1]:
        fig = plots.confusion_matrix(confusion, features.expressions)
        with timed("mlflow"):
            mlflow.log_figure(fig, "plots/confusion_matrix.png")
        plots.close(fig)
    h = model.history
    fig = plots.losses(
        [e["epoch"] for e in h], [e["train_loss"] for e in h], [e["val_loss"] for e in h]
    )
    with timed("mlflow"):
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
        true_cls, pred_cls = test.expression_targets(), logits.argmax(axis=1)
        class_rows = [
            {"actual": names[int(a)], "predicted": names[int(b)]}
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
