#!/usr/bin/env bash
# Copy a deploy bundle to a Raspberry Pi running robohead-edge and restart the service.
#   edge-rpi/deploy.sh user@pi [BUNDLE_DIR]          (make deploy-rpi RPI=user@pi does this)
#
# The bundle is verified locally, copied to a staging directory on the Pi, verified there again
# by the installed robohead-edge (same checks the daemon makes), then swapped in with renames
# (bundle -> bundle.old, bundle.new -> bundle) so the daemon never sees half a bundle, and the
# service is restarted. A bundle that fails a check never replaces the running one.
# Uses rsync when both ends have it, scp otherwise. SSH/SCP/RSYNC/SUDO/REMOTE_* override the
# commands and paths (the tests point them at a local directory).
set -euo pipefail

RPI="${1:?usage: deploy.sh user@host [bundle_dir]}"
BUNDLE="${2:-models/bundle}"
SSH="${SSH:-ssh}"
SCP="${SCP:-scp}"
RSYNC="${RSYNC:-rsync}"
SUDO="${SUDO-sudo}"
REMOTE_STATE="${REMOTE_STATE:-/var/lib/robohead-edge}"
REMOTE_EDGE="${REMOTE_EDGE:-/opt/robohead/venv/bin/robohead-edge}"
REMOTE_TMP="${REMOTE_TMP:-/tmp/robohead-bundle.upload}"
SERVICE="${SERVICE:-robohead-edge}"
LOCAL_EDGE="${LOCAL_EDGE:-$(dirname "$0")/../.venv/bin/robohead-edge}"

[ -f "$BUNDLE/bundle.json" ] || { echo "no bundle at $BUNDLE (run make train, then robohead deploy)" >&2; exit 1; }
if [ -x "$LOCAL_EDGE" ]; then
  "$LOCAL_EDGE" check-bundle "$BUNDLE"
fi

echo "copying $BUNDLE to $RPI:$REMOTE_TMP"
$SSH "$RPI" "rm -rf '$REMOTE_TMP' && mkdir -p '$REMOTE_TMP'"
if command -v "$RSYNC" >/dev/null 2>&1 && $SSH "$RPI" "command -v rsync" >/dev/null 2>&1; then
  $RSYNC -a --delete "$BUNDLE/" "$RPI:$REMOTE_TMP/"
else
  $SCP -q -r "$BUNDLE/." "$RPI:$REMOTE_TMP/"
fi

echo "verifying and swapping in on $RPI"
$SSH "$RPI" "set -e
  $SUDO '$REMOTE_EDGE' check-bundle '$REMOTE_TMP'
  $SUDO rm -rf '$REMOTE_STATE/bundle.new'
  $SUDO mkdir -p '$REMOTE_STATE'
  $SUDO cp -r '$REMOTE_TMP' '$REMOTE_STATE/bundle.new'
  if id -u robohead >/dev/null 2>&1; then $SUDO chown -R robohead:robohead '$REMOTE_STATE/bundle.new'; fi
  $SUDO rm -rf '$REMOTE_STATE/bundle.old'
  if [ -d '$REMOTE_STATE/bundle' ]; then $SUDO mv '$REMOTE_STATE/bundle' '$REMOTE_STATE/bundle.old'; fi
  $SUDO mv '$REMOTE_STATE/bundle.new' '$REMOTE_STATE/bundle'
  rm -rf '$REMOTE_TMP'
  $SUDO systemctl restart '$SERVICE'
  systemctl is-active '$SERVICE'"
echo "deployed $(basename "$BUNDLE") to $RPI; logs: ssh $RPI journalctl -u $SERVICE -f"
