"""`robohead-edge` is installed and answers --help and --version."""

import subprocess
import sys
from pathlib import Path

import robohead.edge

EXE = Path(sys.executable).with_name("robohead-edge")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=60)


def test_help_describes_the_daemon() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert "robohead edge daemon" in result.stdout
    assert "info" in result.stdout


def test_version_is_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"robohead-edge {robohead.edge.__version__}"


def test_unknown_command_fails_with_a_message() -> None:
    result = run("no-such-command")
    assert result.returncode != 0
    assert "No such command" in result.stderr
