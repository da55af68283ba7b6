#!/bin/bash
# `cargo test --workspace` three times in a row on a busy machine: `vigil bench monitors
# --monitors 10000 --seconds 600` runs beside each run, restarted until the run ends.
#
#   bench/tests-beside-monitors.sh [VIGIL_BINARY]     (default: a release build, target/release/vigil)
#
# Prints each run's exit code, time and failures; logs in $TMPDIR (or /tmp).
set -u
cd "$(dirname "$0")/.."
vigil="${1:-target/release/vigil}"
logs="${TMPDIR:-/tmp}"
failed=0
for i in 1 2 3; do
  ( while true; do "$vigil" bench monitors --monitors 10000 --seconds 600 >> "$logs/beside-bench-$i.log" 2>&1; done ) &
  beside=$!
  start=$(date +%s)
  cargo test --workspace > "$logs/beside-test-$i.log" 2>&1
  rc=$?
  end=$(date +%s)
  pkill -P "$beside"; kill "$beside" 2>/dev/null; wait "$beside" 2>/dev/null
  echo "run $i: exit $rc, $((end - start)) s, $(grep -c SKIPPED "$logs/beside-test-$i.log") skipped"
  grep -E "FAILED|panicked" "$logs/beside-test-$i.log"
  [ "$rc" -eq 0 ] || failed=1
done
exit $failed
