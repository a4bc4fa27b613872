"""Facts about the repository a training run came from: git commit, dirty flag, DVC md5.

The md5 is DVC's own directory hash (the ``.dir`` value in dvc.lock), computed from the files
on disk, so it is right however data/raw got there (``make data``, ``dvc add``, a copy).
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path


class ProvenanceError(RuntimeError):
    """The repository or the data folder cannot be described."""


@dataclass(frozen=True)
class GitState:
    commit: str
    dirty: bool
    diff_sha256: str  # of `git diff HEAD` (tracked files but params.yaml), "" when none

    @property
    def code_version(self) -> str:
        """The commit, plus the uncommitted diff's hash when code differs: the cache key of
        steps whose code may be edited between commits (a bare commit would let ZenML reuse
        features computed by older, uncommitted DSP code). params.yaml is left out: each of
        its sections reaches the steps as a parameter, so ZenML's cache sees a change on its
        own, and `dvc exp run -S train.epochs=3` reuses the (possibly costly) features."""
        return f"{self.commit}+{self.diff_sha256[:16]}" if self.diff_sha256 else self.commit


def git_state(root: Path) -> GitState:
    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, check=True, capture_output=True, text=True
            )
        except (OSError, subprocess.CalledProcessError) as e:
            raise ProvenanceError(f"{root}: git {' '.join(args)} failed: {e}") from e
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    # Outputs that DVC rewrites while a stage runs are not a code change.
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!dvc.lock")
    diff = (
        git("diff", "HEAD", "--binary", "--", ".", ":!dvc.lock", ":!params.yaml") if status else ""
    )
    digest = hashlib.sha256(diff.encode()).hexdigest() if diff else ""
    return GitState(commit=commit, dirty=bool(status), diff_sha256=digest)


def dvc_md5(root: Path, path: Path) -> str:
    """DVC's md5 of a directory (``<hex>.dir``) or file, as dvc.lock records it."""
    from dvc.repo import Repo  # type: ignore[import-untyped]
    from dvc_data.hashfile.build import build

    target = path if path.is_absolute() else root / path
    if not target.exists():
        raise ProvenanceError(f"{target}: does not exist (run `make data` first)")
    with Repo(str(root)) as repo:
        odb = repo.cache.local
        _, _, obj = build(
            odb, str(target.resolve()), odb.fs, "md5", ignore=repo.dvcignore, dry_run=True
        )
    value = obj.hash_info.value
    if not value:
        raise ProvenanceError(f"{target}: DVC computed no md5")
    return str(value)
