"""The foundation's promises: a lean edge install, and a CI run that fails when it should."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import LeanVenv

REPO = Path(__file__).resolve().parents[1]
HEAVY = {"torch", "zenml", "mlflow", "transformers"}


@pytest.mark.slow
def test_lean_edge_install_pulls_no_training_stack(lean_venv: LeanVenv) -> None:
    """pip install ./shared ./edge-rpi into a fresh venv brings none of the training stack."""
    listed = lean_venv.distributions
    assert "robohead-edge" in listed and "robohead-protocol" in listed
    assert HEAVY.isdisjoint(listed), f"lean install pulled {sorted(HEAVY & listed)}"
    help_out = subprocess.run(
        [str(lean_venv.bin("robohead-edge")), "--help"], capture_output=True, text=True
    )
    assert help_out.returncode == 0 and "robohead edge daemon" in help_out.stdout


def _pytest_through_make(tmp_path: Path, test_source: str | None) -> int:
    suite = tmp_path / "suite"
    suite.mkdir()
    if test_source is not None:
        (suite / "test_sample.py").write_text(test_source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(REPO),
            "test-python",
            f"PYTEST_ARGS=-p no:cacheprovider {suite}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    ).returncode


def test_make_test_fails_when_a_test_fails(tmp_path: Path) -> None:
    assert _pytest_through_make(tmp_path, "def test_broken():\n    assert 1 == 2\n") != 0


def test_make_test_fails_when_no_test_is_collected(tmp_path: Path) -> None:
    assert _pytest_through_make(tmp_path, None) != 0


def test_make_test_passes_a_passing_suite(tmp_path: Path) -> None:
    """The two failure checks above mean something only if a good suite passes the same way."""
    assert _pytest_through_make(tmp_path, "def test_fine():\n    assert True\n") == 0


def test_ci_run_propagates_make_failure(tmp_path: Path) -> None:
    """.ci/run exits non-zero when `make test` fails (set -euo pipefail, no swallowing)."""
    project = tmp_path / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", project / ".ci" / "run")
    (project / "Makefile").write_text("test:\n\t@echo running; exit 3\n")
    result = subprocess.run(["bash", str(project / ".ci" / "run")], capture_output=True, text=True)
    assert result.returncode != 0
    assert "running" in result.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in readme
    assert ci.strip().splitlines()[-1] == "make test"
    assert "set -euo pipefail" in ci


def test_running_interpreter_is_the_project_venv() -> None:
    assert Path(sys.prefix).resolve() == (REPO / ".venv").resolve()
