"""Fixtures shared by the cross-component tests."""

from __future__ import annotations

import subprocess
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LeanVenv:
    path: Path
    distributions: frozenset[str]  # lower-cased names of everything installed

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name


@pytest.fixture(scope="session")
def lean_venv(tmp_path_factory: pytest.TempPathFactory) -> LeanVenv:
    """A fresh venv with only `pip install ./shared ./edge-rpi` (what a Raspberry Pi gets).

    Built once per run: creating it is the slow part, and every lean-install test reads it only.
    """
    env_dir = tmp_path_factory.mktemp("lean") / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(REPO / "constraints.txt"),
            str(REPO / "shared"),
            str(REPO / "edge-rpi"),
        ],
        check=True,
        timeout=900,
    )
    out = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; "
            "print('\\n'.join(d.metadata['Name'].lower() for d in m.distributions()))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return LeanVenv(env_dir, frozenset(out.split()))
