"""Step: the champion gate. The new version becomes ``champion`` only if its test MAE is no
worse than the current champion's, both measured now through their bundles on the same test
sessions; the decision and both numbers go to the run and the version's tags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from zenml import step

from robohead.host.artifacts import DatasetIndex, Promotion, RegisteredVersion
from robohead.host.splits import Split
from robohead.host.timing import timed
from robohead.host.zenml_stack import TRACKER


@step(experiment_tracker=TRACKER, enable_cache=False)
def promote_model(
    bundle: Path,
    version: RegisteredVersion,
    dataset: DatasetIndex,
    split: Split,
    data_params: dict[str, Any],
) -> Annotated[Promotion, "promotion"]:
    import tempfile

    import mlflow

    from robohead.edge.bundle import BundleError
    from robohead.host import registry as R
    from robohead.host.data.params import DataParams
    from robohead.host.data.session import load_session
    from robohead.host.featurizing import session_labels
    from robohead.host.gate import LabelledSession, bundle_mae
    from robohead.host.progress import console, phase

    params = DataParams(**data_params)
    sessions = []
    for sid in split.test:
        s = load_session(dataset.ref(sid).path)
        sessions.append(LabelledSession(s, session_labels(s, params)[0]))
    c = R.client()
    with phase(f"gate: candidate v{version.version} on {len(sessions)} test session(s)"):
        cand = bundle_mae(bundle, sessions)
    champ = R.version_by_alias(c, version.model_name, R.CHAMPION)
    champ_mae: float | None = None
    if champ is None:
        promoted, reason = True, "no champion yet"
    elif str(champ.version) == version.version:
        promoted, reason = True, "already champion"
    else:
        with (
            tempfile.TemporaryDirectory() as tmp,
            phase(f"gate: champion v{champ.version} on the same sessions"),
        ):
            try:
                champ_dir = R.download_bundle(c, champ.run_id, Path(tmp) / "champion")
                champ_mae = bundle_mae(champ_dir, sessions)
            except (BundleError, R.RegistryError) as e:
                console.print(f"[yellow]champion v{champ.version} unusable[/yellow]: {e}")
        if champ_mae is None:
            promoted, reason = True, f"champion v{champ.version} bundle unusable"
        elif cand <= champ_mae:
            promoted, reason = True, f"test MAE {cand:.5f} <= champion's {champ_mae:.5f}"
        else:
            promoted, reason = False, f"test MAE {cand:.5f} > champion's {champ_mae:.5f}"
    if promoted:
        c.set_registered_model_alias(version.model_name, R.CHAMPION, version.version)
    metrics = {"gate_candidate_mae": cand, "gate_promoted": float(promoted)}
    if champ_mae is not None:
        metrics["gate_champion_mae"] = champ_mae
    with timed("mlflow"):
        mlflow.log_metrics(metrics)
        mlflow.set_tags(
            {
                "gate_decision": "champion" if promoted else "candidate",
                "gate_reason": reason,
                "gate_champion_version": "" if champ is None else str(champ.version),
            }
        )
        R.tag_version(
            c,
            version.model_name,
            version.version,
            {
                "gate_decision": "champion" if promoted else "candidate",
                "gate_reason": reason,
                "gate_mae": f"{cand:.6f}",
                "gate_champion_mae": "" if champ_mae is None else f"{champ_mae:.6f}",
            },
        )
    colour = "green" if promoted else "yellow"
    console.print(f"[{colour}]gate[/{colour}]: v{version.version} {reason}")
    return Promotion(
        model_name=version.model_name,
        version=version.version,
        promoted=promoted,
        candidate_mae=cand,
        champion_version=None if champ is None else str(champ.version),
        champion_mae=champ_mae,
        test_sessions=split.test,
        reason=reason,
    )
