"""DVC carries a dataset to a fresh clone: push to a local remote, pull, same md5s."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robohead.host.data.params import load_params
from robohead.host.data.synth import synth_dataset

DVC = Path(sys.executable).with_name("dvc")
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def run(cwd: Path, *cmd: str) -> str:
    res = subprocess.run(
        cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )
    assert res.returncode == 0, f"{' '.join(cmd)}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def md5s(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_push_to_a_local_remote_and_pull_into_a_fresh_clone(tmp_path: Path) -> None:
    repo, clone, remote = tmp_path / "repo", tmp_path / "clone", tmp_path / "remote"
    repo.mkdir()
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, str(DVC), "init", "-q")
    synth_dataset(load_params(), repo / "data" / "raw", subjects=1, sessions=2, protocol="quick")
    run(repo, str(DVC), "add", "-q", "data/raw")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "data")
    # The documented command (make dvc-remote): a per-checkout remote outside the repository.
    add_remote = [
        str(DVC),
        "remote",
        "add",
        "--local",
        "--default",
        "--force",
        "local",
        str(remote),
    ]
    run(repo, *add_remote)
    run(repo, str(DVC), "push", "-q")
    run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    assert not (clone / "data" / "raw").exists()
    run(clone, *add_remote)
    run(clone, str(DVC), "pull", "-q")
    want = md5s(repo / "data" / "raw")
    assert len(want) == 10  # 2 sessions x (emg, audio, cues, session.json, targets)
    assert md5s(clone / "data" / "raw") == want
    assert "up to date" in run(clone, str(DVC), "status")
