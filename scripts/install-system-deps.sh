#!/usr/bin/env bash
# Installs the Debian packages the tests and the firmware host build need.
# As root it runs apt-get itself; otherwise it prints the exact command to run.
set -euo pipefail

PACKAGES=(
  mosquitto mosquitto-clients            # real MQTT broker for the edge and end-to-end tests
  cmake g++ make                         # firmware host build
  doctest-dev                            # firmware host unit tests
  libnanopb-dev nanopb                   # nanopb runtime and generator (0.4.7 on Debian 12)
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf  # freestanding rv32imc compile check
  clang libclang-rt-14-dev               # libFuzzer and sanitizers
  valgrind                               # callgrind cost per sample
  systemd                                # systemd-analyze verify/security for the unit
  libportaudio2                          # sounddevice: microphone capture in robohead collect
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}"
  bash -c "$cmd"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo bash -c "$cmd"
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "run as root:  $cmd" >&2
  exit 1
fi
