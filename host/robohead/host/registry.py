"""The MLflow model registry of robohead: versions of ``robohead-expression`` and two aliases.

``candidate`` moves to every new version; ``champion`` moves only when the gate in
``robohead.host.steps.promote`` finds the new version no worse on the same test sessions. Each
version's run holds its deploy bundle under the artifact path ``bundle``; ``deploy_champion``
fetches and verifies it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

CANDIDATE = "candidate"
CHAMPION = "champion"
BUNDLE_ARTIFACT = "bundle"


class RegistryError(RuntimeError):
    """The registry has no such model/alias, or a version's bundle cannot be fetched."""


def client(uri: str | None = None) -> Any:
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def tag_version(c: Any, name: str, version: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        c.set_model_version_tag(name, version, key, value)


def version_by_alias(c: Any, name: str, alias: str) -> Any | None:
    """The ModelVersion an alias points at, or None when the model or alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return c.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def download_bundle(c: Any, run_id: str, dst: Path) -> Path:
    """Copy a run's bundle artifacts to ``dst`` (replaced); returns ``dst``."""
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = c.download_artifacts(run_id, BUNDLE_ARTIFACT, tmp)
        except (MlflowException, OSError) as e:
            raise RegistryError(f"run {run_id}: no '{BUNDLE_ARTIFACT}' artifacts: {e}") from e
        if dst.exists():
            shutil.rmtree(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(local, dst)
    return dst


def deploy_champion(uri: str, name: str, out: Path, alias: str = CHAMPION) -> tuple[Any, Path]:
    """Fetch the bundle of ``name@alias`` into ``out`` and verify it like the edge would."""
    from robohead.edge.bundle import load_bundle

    c = client(uri)
    mv = version_by_alias(c, name, alias)
    if mv is None:
        raise RegistryError(
            f"{uri}: model {name!r} has no version with alias {alias!r}; run `make train` first"
        )
    staging = out.with_name(out.name + ".download")
    download_bundle(c, mv.run_id, staging)
    bundle = load_bundle(staging)
    if bundle.manifest.mlflow.model_version != str(mv.version):
        raise RegistryError(
            f"{name} v{mv.version}: its bundle says model version "
            f"{bundle.manifest.mlflow.model_version}"
        )
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return mv, out
