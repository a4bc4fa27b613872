"""The ZenML stack robohead trains on, created idempotently inside the repository.

Nothing global is touched: ZenML's config and local store live in ``<repo>/.zen/global``
(git-ignored), the repository marker in ``<repo>/.zen``. The stack is the local orchestrator and
artifact store plus an MLflow experiment tracker and MLflow model registry pointed at the same
tracking URI as ``robohead.host.tracking``. Call ``configure_environment`` before importing
zenml (it reads its config path once, at import).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

STACK = "robohead"
TRACKER = "robohead_mlflow"
REGISTRY = "robohead_mlflow_registry"


def configure_environment(root: Path) -> None:
    """Point ZenML at the repository's own config; quiet its analytics and chatter."""
    zen = root.resolve() / ".zen"
    os.environ["ZENML_CONFIG_PATH"] = str(zen / "global")
    os.environ["ZENML_REPOSITORY_PATH"] = str(root.resolve())
    os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    os.environ.setdefault("ZENML_ENABLE_REPO_INIT_WARNINGS", "false")
    os.environ.setdefault("AUTO_OPEN_DASHBOARD", "false")
    os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")
    # ZenML's tracker switches autologging off for every framework it knows after each step
    # and warns about the ones that are not installed (fastai); that warning is noise here.
    logging.getLogger("zenml.integrations.mlflow.experiment_trackers").setLevel(logging.ERROR)


def _tracker_config(uri: str) -> dict[str, str]:
    config = {"tracking_uri": uri}
    if uri.startswith(("http://", "https://")):
        # ZenML insists on exactly one auth method for a remote server; take the standard
        # MLflow variables, or a placeholder token an unauthenticated server ignores.
        user, pw = (
            os.environ.get("MLFLOW_TRACKING_USERNAME"),
            os.environ.get("MLFLOW_TRACKING_PASSWORD"),
        )
        if user and pw:
            config.update(tracking_username=user, tracking_password=pw)
        else:
            config["tracking_token"] = os.environ.get("MLFLOW_TRACKING_TOKEN", "unused")
    return config


def ensure_stack(root: Path, uri: str) -> str:
    """Create or update the components and the stack, activate it; returns the stack name."""
    configure_environment(root)
    from zenml.client import Client
    from zenml.enums import StackComponentType as T

    if not (root / ".zen" / "config.yaml").is_file():
        Client.initialize(root=root.resolve())
    client = Client()

    def component(kind: T, name: str, flavor: str, config: dict[str, str]) -> None:
        try:
            existing = client.get_stack_component(kind, name, allow_name_prefix_match=False)
        except KeyError:
            client.create_stack_component(name, flavor, kind, configuration=config)
            return
        if any(existing.configuration.get(k) != v for k, v in config.items()):
            client.update_stack_component(name, kind, configuration=config)

    component(T.EXPERIMENT_TRACKER, TRACKER, "mlflow", _tracker_config(uri))
    component(T.MODEL_REGISTRY, REGISTRY, "mlflow", {})
    wanted = {
        T.ORCHESTRATOR: "default",
        T.ARTIFACT_STORE: "default",
        T.EXPERIMENT_TRACKER: TRACKER,
        T.MODEL_REGISTRY: REGISTRY,
    }
    try:
        client.get_stack(STACK, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack(STACK, components=wanted)
    if client.active_stack_model.name != STACK:
        client.activate_stack(STACK)
    return STACK
