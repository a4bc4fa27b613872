#!/usr/bin/env bash
# Runs every libFuzzer harness of BUILD_DIR for SECONDS each (seeded from shared/vectors, corpus
# kept in BUILD_DIR/corpus/<name> between runs), fails on the first crash, leak or UBSan report,
# and appends one JSON line per harness (inputs executed, corpus size, coverage) to
# BUILD_DIR/fuzz-stats.jsonl.
#   run.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?build dir}
seconds=${2:?seconds per harness}
stats="$build/fuzz-stats.jsonl"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
for name in frame_decoder device; do
  exe="$build/fuzz/fuzz_$name"
  corpus="$build/corpus/$name"
  seeds="$build/fuzz/seeds/$name"
  artifacts="$build/artifacts/$name/"
  mkdir -p "$corpus" "$artifacts"
  log="$build/fuzz_$name.log"
  if ! "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 \
      -max_len=4096 -artifact_prefix="$artifacts" "$corpus" "$seeds" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz_$name FAILED: crash input in $artifacts (log $log)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  files=$(find "$corpus" -type f | wc -l)
  printf '{"harness": "fuzz_%s", "seconds": %s, "inputs": %s, "coverage": %s, "corpus": %s, "crashes": 0, "date": "%s"}\n' \
    "$name" "$seconds" "${runs:-0}" "${cov:-0}" "$files" "$(date -u +%FT%TZ)" | tee -a "$stats"
done
