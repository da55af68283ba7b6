#!/usr/bin/env bash
# API benchmarks with wrk (Debian's `wrk`) as the loopback load generator:
#   1. instance starts/s of a 3-task workflow via POST /api/v1/workflows/three/instances, then
#      checks that every started instance completed (vigil_workflows_finished_total);
#   2. status reads/s via GET /api/v1/instances/{id};
#   3. the external-worker round trip: `vigil bench worker`.
# Usage: bench/api.sh [seconds per run, default 10] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
CONNS=${2:-64}
VIGIL=./target/release/vigil
[ -x "$VIGIL" ] || cargo build --release -p vigil
command -v wrk > /dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
mkdir -p "$DIR/config/workflows"
cat > "$DIR/config/workflows/three.yaml" <<'YAML'
name: three
tasks:
  - name: double
    taskReferenceName: double
    type: INLINE
    inputParameters: {evaluatorType: javascript, n: "${workflow.input.n}", expression: "$.n * 2"}
  - name: check
    taskReferenceName: check
    type: SWITCH
    evaluatorType: value-param
    expression: v
    inputParameters: {v: "${double.output.result}"}
    decisionCases:
      "42": [{name: mark, taskReferenceName: mark, type: SET_VARIABLE, inputParameters: {customStatus: answered}}]
  - name: shape
    taskReferenceName: shape
    type: JSON_JQ_TRANSFORM
    inputParameters: {x: "${double.output.result}", queryExpression: "{answer: .x}"}
YAML
PORT=$((20000 + RANDOM % 20000))
$VIGIL serve --config "$DIR/config" --db "$DIR/v.db" --listen 127.0.0.1:$PORT > "$DIR/log" 2>&1 &
PID=$!
BASE=http://127.0.0.1:$PORT
for _ in $(seq 50); do curl -sf $BASE/healthz > /dev/null && break; sleep 0.1; done

echo "== starts: POST /api/v1/workflows/three/instances, $CONNS connections, ${SECS}s"
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s bench/start.lua "$BASE/api/v1/workflows/three/instances" | tee "$DIR/starts.txt"
STARTED=$(grep -Eo '^ +[0-9]+ requests' "$DIR/starts.txt" | grep -Eo '[0-9]+')
NON2XX=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' "$DIR/starts.txt" | grep -Eo '[0-9]+$' || echo 0)
for _ in $(seq 100); do
  DONE=$(curl -s $BASE/metrics | grep -E '^vigil_workflows_finished_total\{status="COMPLETED"\}' | awk '{print $2}')
  [ "${DONE:-0}" -ge "$((STARTED - NON2XX))" ] && break
  sleep 0.2
done
echo "started (2xx): $((STARTED - NON2XX)), refused: $NON2XX, completed: ${DONE:-0}"

ID=$(curl -s -X POST "$BASE/api/v1/workflows/three/instances" -H 'Content-Type: application/json' -d '{"n": 21}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
sleep 0.5
echo "== status reads: GET /api/v1/instances/$ID, $CONNS connections, ${SECS}s"
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$BASE/api/v1/instances/$ID"

kill $PID; wait $PID 2>/dev/null || true
echo "== worker round trip"
$VIGIL bench worker
