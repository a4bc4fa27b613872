"""A Mosquitto broker on a free loopback port for the simulated loop (anonymous, no persistence).

The test fixture in tests/mosquitto.py does the same for tests (with auth and TLS options); this
one is library code for `make sim` and `make bench`, so it cannot depend on pytest.
"""

from __future__ import annotations

import getpass
import shutil
import socket
from pathlib import Path

from robohead.host.sim.procs import Supervisor

__all__ = ["MOSQUITTO", "accepts", "free_port", "start_broker"]

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def accepts(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def start_broker(sup: Supervisor, workdir: Path, timeout_s: float, port: int | None = None) -> int:
    """Start mosquitto as child `broker` on loopback; returns its port once it accepts."""
    if not Path(MOSQUITTO).exists():
        raise FileNotFoundError(
            f"{MOSQUITTO} not found: install mosquitto (scripts/install-system-deps.sh does)"
        )
    port = port or free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        "\n".join(
            [
                f"user {getpass.getuser()}",  # as root it would otherwise drop to `mosquitto`
                "persistence false",
                f"log_dest file {workdir / 'mosquitto.log'}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                f"listener {port} {HOST}",
                "allow_anonymous true",
            ]
        )
        + "\n"
    )
    sup.spawn("broker", [MOSQUITTO, "-c", str(conf)], log_path=workdir / "mosquitto.stderr")
    sup.wait_until(
        lambda: accepts(port), timeout_s, f"mosquitto on {HOST}:{port}", watch=["broker"]
    )
    return port
