"""`robohead` is installed and answers --help and --version."""

import subprocess
import sys
from pathlib import Path

import robohead.host

EXE = Path(sys.executable).with_name("robohead")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120)


def test_help_describes_the_workstation_tools() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert "robohead workstation tools" in result.stdout
    assert "info" in result.stdout


def test_version_is_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"robohead {robohead.host.__version__}"


def test_info_names_all_three_packages() -> None:
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert "edge" in result.stdout and "protocol" in result.stdout
