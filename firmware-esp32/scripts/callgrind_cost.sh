#!/usr/bin/env bash
# Instructions per sEMG sample of the core's hot path, counted by callgrind: only what runs
# inside rhcore::Device::poll() (sampler, framer, nanopb encode, CRC, COBS, TX ring, plus the
# fake platform's adc_read/serial_write, a few memcpy's) over N samples, divided by N.
#   usage: callgrind_cost.sh [BUILD_DIR] [SAMPLES]
set -euo pipefail
build=${1:-"$(dirname "$0")/../build/host"}
n=${2:-20000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
  --toggle-collect='rhcore::Device::poll()' "$build/robohead-fw-bench" --samples "$n" \
  > "$out/bench.txt" 2> "$out/valgrind.txt"
callgrind_annotate "$out/cg.out" > "$out/annotate.txt" 2>/dev/null
ir=$(awk '/PROGRAM TOTALS/ && !v {gsub(",", "", $1); v = $1} END {print v}' "$out/annotate.txt")
cat "$out/bench.txt"
echo "callgrind: $ir instructions in Device::poll() for $n samples = $((ir / n)) instructions per sample"
echo "largest self costs:"
sed -n '/file:function/,$p' "$out/annotate.txt" | sed -n '2,13p'
