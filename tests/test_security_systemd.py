"""The systemd unit runs the daemon unprivileged with the hardening of the edge issue.

Two checks. First, `systemd-analyze security --offline` (systemd's own reading of the unit) must
say every hardening this project relies on is set: a non-root user, no capabilities, no new
privileges, a read-only OS, no home directories, a private /tmp, no kernel tunables/modules/logs,
no namespaces, a system-call allow list without the dangerous groups, no exotic sockets.

Second, because this machine's PID 1 is not systemd, the real `robohead-edge run` process is
started the way the unit would start it, built from the same primitives systemd uses: a private
mount namespace with the whole file system read-only except the state directory
(ProtectSystem=strict + StateDirectory), empty tmpfs over /tmp, /var/tmp, /root and /home
(PrivateTmp, ProtectHome), user `nobody` with no supplementary groups, an empty capability
bounding set and no_new_privs (User=, CapabilityBoundingSet=, NoNewPrivileges=). It must drive
the motors, talk MQTT and save a calibration into its state directory, and the kernel must
report it without any capability.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from robohead.edge.fakedevice import FakeDevice  # noqa: E402
from robohead.protocol import topics  # noqa: E402
from robohead.protocol.v1 import device_pb2 as dev  # noqa: E402
from robohead.protocol.v1 import telemetry_pb2 as tm  # noqa: E402
from tests.edge_harness import make_bundle, stationary_counts  # noqa: E402
from tests.mosquitto import Mosquitto, Subscriber, wait_for  # noqa: E402

UNIT = REPO / "edge-rpi" / "systemd" / "robohead-edge.service"
EXE = Path(sys.executable).with_name("robohead-edge")
ANALYZE = shutil.which("systemd-analyze")
DEVICE = "head-unpriv"
T = 20.0

REQUIRED = [
    "User=/DynamicUser=",
    "NoNewPrivileges=",
    "AmbientCapabilities=",
    "ProtectSystem=",
    "ProtectHome=",
    "PrivateTmp=",
    "ProtectKernelTunables=",
    "ProtectKernelModules=",
    "ProtectKernelLogs=",
    "ProtectControlGroups=",
    "ProtectClock=",
    "ProtectHostname=",
    "ProtectProc=",
    "RestrictSUIDSGID=",
    "RestrictRealtime=",
    "LockPersonality=",
    "SystemCallArchitectures=",
    "RestrictAddressFamilies=~AF_PACKET",
    "RestrictAddressFamilies=~AF_NETLINK",
    "RestrictAddressFamilies=~…",
]
REQUIRED_PREFIXES = ["CapabilityBoundingSet=", "RestrictNamespaces=", "SystemCallFilter="]


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")
def test_systemd_analyze_confirms_the_hardening() -> None:
    out = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--json=short", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    checks = {c["name"]: c for c in json.loads(out)}
    missing = [n for n in REQUIRED if not checks.get(n, {}).get("set")]
    for prefix in REQUIRED_PREFIXES:
        group = [c for n, c in checks.items() if n.startswith(prefix)]
        assert group, f"systemd-analyze reports no {prefix} checks"
        missing += [c["name"] for c in group if not c["set"]]
    assert not missing, f"hardening not in effect: {missing}"


# ---- running the daemon the way the unit does ---------------------------------------------


def _sandbox_works() -> str | None:
    if os.geteuid() != 0:
        return "needs root to build the mount namespace and drop to `nobody`"
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(
        [
            "unshare",
            "--mount",
            "--",
            "sh",
            "-c",
            "mount --make-rprivate / && mount -t tmpfs x /mnt",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return f"mount namespaces are refused here: {probe.stderr.strip()}"
    return None


SANDBOX = """
set -eu
mount --make-rprivate /
mount --bind "$STATE" "$STATE"      # a mount of its own, so it stays writable
# The interpreter, the venv and the sources may live under /root, /home or /tmp on this machine
# (on the Pi they are under /usr and /opt): take a handle on each before those are hidden.
i=0
for p in $KEEP; do
    i=$((i + 1)); mkdir -p "$STAGE/$i"; mount --bind "$p" "$STAGE/$i"
done
mount -o remount,bind,ro /          # ProtectSystem=strict: every other path read-only
for d in /tmp /var/tmp /root /home; do  # PrivateTmp, ProtectHome
    if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
i=0
for p in $KEEP; do                  # put back (read-only) what the hiding covered
    i=$((i + 1))
    case "$p" in
        /tmp/*|/var/tmp/*|/root/*|/home/*) mkdir -p "$p" && mount --bind "$STAGE/$i" "$p" \\
            && mount -o remount,bind,ro "$p" ;;
    esac
done
exec setpriv --reuid=nobody --regid=nogroup --clear-groups \\
    --bounding-set=-all --inh-caps=-all --no-new-privs -- "$@"
"""


def _kept_paths() -> list[Path]:
    """The interpreter, the sources and the venv, which the sandbox must still show."""
    python, repo, venv = (Path(p).resolve() for p in (sys.base_prefix, REPO, sys.prefix))
    return [python, repo] + ([] if venv.is_relative_to(repo) else [venv])


@pytest.fixture
def world() -> Iterator[Path]:
    """Outside /tmp (which the sandbox hides) and readable by `nobody`."""
    base = Path(tempfile.mkdtemp(prefix="robohead-unpriv-", dir="/run"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _proc_status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


@pytest.mark.skipif(_sandbox_works() is not None, reason=str(_sandbox_works()))
def test_daemon_runs_unprivileged_in_the_units_sandbox(world: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    bundle = make_bundle(world / "bundle")
    for p in [bundle, *bundle.iterdir()]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    state = world / "state"
    state.mkdir()
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    state.chmod(0o750)
    stage = world / "python"
    stage.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "STATE": str(state),
        "STAGE": str(stage),
        "KEEP": " ".join(str(p) for p in _kept_paths()),
        "PYTHONUNBUFFERED": "1",
    }
    # the sandbox itself: only the state directory is writable, /tmp is private, uid nobody
    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="host-only-") as host_tmp:
        script = (
            f'touch "{state}/ok" && ! touch "{bundle}/x" 2>/dev/null '
            f'&& ! touch /etc/robohead-x 2>/dev/null && [ ! -e "{host_tmp.name}" ] && id -u'
        )
        probe = subprocess.run(
            ["unshare", "--mount", "--", "sh", "-c", SANDBOX, "sandbox", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert probe.returncode == 0 and probe.stdout.strip() == str(nobody.pw_uid), probe
    assert (state / "ok").is_file() and not (bundle / "x").exists()
    (state / "ok").unlink()
    (world / "mq").mkdir()
    with Mosquitto(workdir=world / "mq") as broker, FakeDevice(counts=stationary_counts()) as fake:
        os.chown(fake.path, nobody.pw_uid, -1)  # what udev + dialout do for the ESP32's tty
        link = world / "robohead-esp32"
        os.symlink(fake.path, link)
        config = world / "edge.toml"
        config.write_text(
            f'device_id = "{DEVICE}"\nstate_dir = "{state}"\n'
            f'[serial]\nurl = "{link}"\nhello_timeout_s = 0.5\n'
            f'[bundle]\ndir = "{bundle}"\nwatch_interval_s = 0\n'
            f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nreconnect_min_s = 0.1\n'
            f"reconnect_max_s = 0.5\nmetrics_interval_s = 0.5\n"
            f"[calibration]\nrest_s = 0.3\nmax_s = 0.3\n"
        )
        config.chmod(0o644)
        log = world / "edge.log"
        with Subscriber(broker, f"{topics.ROOT}/{DEVICE}/#") as sub, log.open("wb") as err:
            proc = subprocess.Popen(
                [
                    "unshare",
                    "--mount",
                    "--",
                    "sh",
                    "-c",
                    SANDBOX,
                    "sandbox",
                    str(EXE),
                    "run",
                    "--config",
                    str(config),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )
            try:
                wait_for(lambda: len(fake.commands) >= 25 or proc.poll() is not None, T, "motors")
                assert proc.poll() is None, log.read_text()
                # the kernel's view of the process: nobody, no capability, no new privileges
                status = _proc_status(proc.pid)  # unshare, sh and setpriv all exec
                assert status["Name"].startswith(("robohead-edge", "python")), status["Name"]
                assert status["Uid"].split()[:2] == [str(nobody.pw_uid)] * 2, status["Uid"]
                assert status["Groups"] == "", status["Groups"]
                for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                    assert int(status[cap], 16) == 0, (cap, status[cap])
                assert status["NoNewPrivs"] == "1"
                sub.wait_for(lambda m: m.topic.endswith("/status") and b"ONLINE" in m.payload, T)

                # the one writable place: a calibration saved over MQTT lands in the state dir
                def phases_done() -> int:
                    return sum(b"calibration_phase_done" in m.payload for m in sub.snapshot())

                for i, (phase, scale) in enumerate(((1, 1.0), (2, 4.0))):
                    fake.scale = scale  # "now contract as hard as you can"
                    body = {"request_id": f"c{i}", "start_calibration": {"phase": phase}}
                    sub.publish(
                        topics.topic(DEVICE, "cmd/start_calibration"), json.dumps(body).encode()
                    )
                    wait_for(lambda n=i + 1: phases_done() >= n, T, "a calibration phase")
                fake.scale = 1.0
                body = {"request_id": "save", "stop_calibration": {"save": True}}
                sub.publish(topics.topic(DEVICE, "cmd/stop_calibration"), json.dumps(body).encode())
                msg = sub.wait_for(lambda m: m.topic.endswith("stop_calibration/reply"), T)
                reply = topics.parse("cmd/stop_calibration/reply", msg.payload)
                assert isinstance(reply, tm.CommandReply) and reply.ok, (reply, log.read_text())
                saved = state / "calibration.json"
                assert saved.is_file() and saved.stat().st_uid == nobody.pw_uid
                assert "Read-only file system" not in log.read_text()
                # SIGTERM: neutral, OFFLINE, exit 0, as under systemd
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(15) == 0, log.read_text()
                assert fake.commands[-1].command.flags & dev.MOTOR_FLAG_NEUTRAL
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
