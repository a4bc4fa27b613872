"""The champion bundle for the simulated loop: trained when missing, copied when it must not move.

`make train` writes models/bundle (the pipeline's champion). A run that finds none trains one
first (`make train`, minutes), as a new user would. Tests and benchmarks copy it away first and
verify the copy (another `make train` may replace models/bundle while they run).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["BundleUnavailable", "copy_bundle", "ensure_bundle"]


class BundleUnavailable(RuntimeError):
    """No loadable bundle, and training one failed (names the command and its output)."""


def _loads(path: Path) -> str | None:
    """None when the bundle loads and verifies, else the reason."""
    from robohead.edge.bundle import BundleError, load_bundle

    try:
        load_bundle(path)
    except BundleError as exc:
        return str(exc)
    except OSError as exc:
        return str(exc)
    return None


def ensure_bundle(
    root: Path,
    bundle: Path,
    *,
    say: Callable[[str], None] = lambda _msg: None,
    timeout_s: float = 3600,
) -> Path:
    """`bundle` if it is there; otherwise run `make train` in `root` first."""
    if (bundle / "bundle.json").is_file():
        return bundle
    say(f"no bundle at {bundle}: running `make train` first (a few minutes)")
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(root), "train"],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if done.returncode != 0 or not (bundle / "bundle.json").is_file():
        tail = (done.stdout + done.stderr)[-3000:]
        raise BundleUnavailable(f"`make train` exited {done.returncode} without {bundle}:\n{tail}")
    return bundle


def copy_bundle(src: Path, dst: Path, *, attempts: int = 5, timeout_s: float = 120) -> Path:
    """Copy a bundle and verify the copy; retry while `src` is being rewritten."""
    deadline = time.monotonic() + timeout_s
    reason = "not tried"
    for _ in range(attempts):
        if dst.exists():
            shutil.rmtree(dst)
        try:
            shutil.copytree(src, dst)
        except (OSError, shutil.Error) as exc:
            reason = f"copy failed: {exc}"
        else:
            problem = _loads(dst)
            if problem is None:
                return dst
            reason = problem
        if time.monotonic() > deadline:
            break
        time.sleep(2.0)  # a concurrent `make train` is replacing it: give it time to finish
    raise BundleUnavailable(f"{src}: no verified copy after {attempts} attempts: {reason}")
