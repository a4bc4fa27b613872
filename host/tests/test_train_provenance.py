"""Provenance (git commit, dirty flag, code version, DVC md5) and MLflow param flattening."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from robohead.host.provenance import dvc_md5, git_state
from robohead.host.tracking import flatten

DVC = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "dvc"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.invalid")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "dvc.lock").write_text("a\n")
    (tmp_path / "params.yaml").write_text("train: {epochs: 3}\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def test_code_version_follows_uncommitted_edits_but_not_dvc_lock(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    clean = git_state(root)
    assert not clean.dirty and clean.code_version == clean.commit and len(clean.commit) == 40
    (root / "dvc.lock").write_text("b\n")  # DVC rewrites it while the stage runs
    assert git_state(root) == clean
    # A parameter edit (what `dvc exp run -S` does) is dirty but not a new code version:
    # the steps get every params.yaml section as a parameter, so ZenML's cache sees it anyway.
    (root / "params.yaml").write_text("train: {epochs: 1}\n")
    params_only = git_state(root)
    assert params_only.dirty and params_only.code_version == clean.commit
    (root / "code.py").write_text("x = 2\n")
    one = git_state(root)
    (root / "code.py").write_text("x = 3\n")
    two = git_state(root)
    assert one.dirty and one.commit == clean.commit
    assert one.code_version.startswith(clean.commit + "+")
    assert one.code_version != two.code_version


def test_dvc_md5_matches_what_dvc_add_records(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    subprocess.run([str(DVC), "init", "-q"], cwd=root, check=True)
    data = root / "data" / "raw"
    (data / "s1").mkdir(parents=True)
    (data / "s1" / "emg.csv").write_text("t,a\n0,1\n")
    (data / "b.txt").write_text("hello\n")
    subprocess.run([str(DVC), "add", "-q", "data/raw"], cwd=root, check=True)
    recorded = yaml.safe_load((root / "data" / "raw.dvc").read_text())["outs"][0]["md5"]
    assert dvc_md5(root, Path("data/raw")) == recorded


def test_flatten_gives_dotted_names_and_keeps_lists_whole() -> None:
    flat = flatten(
        {
            "train": {"epochs": 3, "opt": {"lr": 0.1}},
            "motors": {"names": ["a", "b"]},
            "seed": 1,
            "empty": {},
        }
    )
    assert flat == {
        "train.epochs": "3",
        "train.opt.lr": "0.1",
        "motors.names": "['a', 'b']",
        "seed": "1",
        "empty": "{}",
    }
