#!/usr/bin/env bash
# Install robohead-edge as a systemd service on a Raspberry Pi (Raspberry Pi OS / Debian 12).
# Run from a checkout of the repository, as root:   sudo edge-rpi/install.sh
#
#   /opt/robohead/venv           the lean venv (robohead-protocol + robohead-edge, pinned)
#   /etc/robohead/edge.toml      the config (kept if it exists; validated at the end)
#   /var/lib/robohead-edge       state: bundle/ (make deploy-rpi) and calibration.json
#   /etc/udev/rules.d/99-robohead-esp32.rules   /dev/robohead-esp32, a stable name for the ESP32
#   /etc/systemd/system/robohead-edge.service   enabled, started once a bundle is deployed
#
# Environment: AUDIO=1 also installs sounddevice + PortAudio (USB microphone);
# DESTDIR=/some/root SKIP_SYSTEM=1 SKIP_VENV=1 stage the files only (what the tests do).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
DESTDIR="${DESTDIR:-}"
PREFIX="${PREFIX:-/opt/robohead}"
CONF_DIR="${CONF_DIR:-/etc/robohead}"
STATE_DIR="/var/lib/robohead-edge"
SERVICE_USER="robohead"
AUDIO="${AUDIO:-0}"
SKIP_SYSTEM="${SKIP_SYSTEM:-0}"
SKIP_VENV="${SKIP_VENV:-0}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$SKIP_SYSTEM" != 1 ] && [ "$(id -u)" -ne 0 ]; then
  echo "run as root: sudo $0" >&2
  exit 1
fi

if [ "$SKIP_SYSTEM" != 1 ]; then
  say "system packages"
  pkgs=(python3-venv python3-pip)
  [ "$AUDIO" = 1 ] && pkgs+=(libportaudio2)
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"

  say "service user $SERVICE_USER (groups dialout, audio)"
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    useradd --system --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin \
      --user-group "$SERVICE_USER"
  fi
  usermod -a -G dialout,audio "$SERVICE_USER"
fi

if [ "$SKIP_VENV" != 1 ]; then
  say "venv $PREFIX/venv"
  python3 -m venv "$DESTDIR$PREFIX/venv"
  "$DESTDIR$PREFIX/venv/bin/python" -m pip install --quiet --upgrade "pip>=24" -c "$REPO/constraints.txt"
  edge="$REPO/edge-rpi"
  [ "$AUDIO" = 1 ] && edge="$REPO/edge-rpi[audio]"
  "$DESTDIR$PREFIX/venv/bin/python" -m pip install --quiet -c "$REPO/constraints.txt" \
    "$REPO/shared" "$edge"
fi

say "config $CONF_DIR/edge.toml"
install -d -m 0755 "$DESTDIR$CONF_DIR"
if [ ! -e "$DESTDIR$CONF_DIR/edge.toml" ]; then
  install -m 0644 "$HERE/edge.example.toml" "$DESTDIR$CONF_DIR/edge.toml"
else
  echo "keeping the existing $CONF_DIR/edge.toml"
fi

say "udev rule /etc/udev/rules.d/99-robohead-esp32.rules"
install -d -m 0755 "$DESTDIR/etc/udev/rules.d"
install -m 0644 "$HERE/udev/99-robohead-esp32.rules" "$DESTDIR/etc/udev/rules.d/"

say "systemd unit robohead-edge.service"
install -d -m 0755 "$DESTDIR/etc/systemd/system"
install -m 0644 "$HERE/systemd/robohead-edge.service" "$DESTDIR/etc/systemd/system/"

if [ "$SKIP_SYSTEM" != 1 ]; then
  udevadm control --reload-rules
  udevadm trigger --subsystem-match=tty
  systemctl daemon-reload
  systemctl enable robohead-edge.service
fi

if [ "$SKIP_VENV" != 1 ]; then
  say "checking the config"
  "$DESTDIR$PREFIX/venv/bin/robohead-edge" run --config "$DESTDIR$CONF_DIR/edge.toml" --validate-config
fi

cat <<DONE
installed. Next:
  - edit $CONF_DIR/edge.toml (MQTT broker, device_id), then check it:
      $PREFIX/venv/bin/robohead-edge run --config $CONF_DIR/edge.toml --validate-config
  - from the workstation: make deploy-rpi RPI=<user>@<this-pi>   (copies the champion bundle,
    restarts the service)
  - logs: journalctl -u robohead-edge -f
DONE
