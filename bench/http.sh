#!/usr/bin/env bash
# HTTP benchmark of the lifecycle API, on loopback, with 10 no-op participants.
#  1. sequential POST /api/v1/replication/checkpoint over one connection, against
#     GET /actuator/health/liveness over one connection, in the same run;
#  2. status, error and liveness GETs over 16 connections while checkpoints run.
# Every wrk run is bounded by its duration. Usage: bench/http.sh [seconds per run, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
PORT=${BENCH_PORT:-18089}
BASE=http://127.0.0.1:$PORT

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update && apt-get install -y wrk
fi

./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-classpath.txt
WORK=$(mktemp -d)
java -Xms256m -Xmx512m -cp "target/classes:target/test-classes:$(cat target/bench-classpath.txt)" \
  dev.lockstep.bench.BenchApplication --server.port="$PORT" --server.address=127.0.0.1 \
  --lockstep.block.enabled=false --lockstep.bench.participants=10 --logging.level.root=WARN \
  --lockstep.security.api-token=bench-token \
  > "$WORK/service.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do
  curl -sf "$BASE/actuator/health/liveness" >/dev/null && break
  sleep 0.5
done
curl -sf -X POST "$BASE/api/v1/replication/start" -H 'Authorization: Bearer bench-token' \
  -H 'Content-Type: application/json' -d '{"mode":"primary"}' >/dev/null

cat > "$WORK/checkpoint.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer bench-token"
LUA
cat > "$WORK/gets.lua" <<'LUA'
local paths = { "/api/v1/replication", "/api/v1/replication/errors", "/actuator/health/liveness" }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Authorization"] = "Bearer bench-token" })
end
LUA

# warm-up, not reported
wrk -t1 -c1 -d5s -s "$WORK/checkpoint.lua" "$BASE/api/v1/replication/checkpoint" >/dev/null
wrk -t1 -c1 -d5s "$BASE/actuator/health/liveness" >/dev/null

rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
bad() { awk '/Non-2xx/ {n += $NF} /Socket errors/ {for (i = 4; i <= NF; i += 2) n += $i} END {print n + 0}' "$1"; }

wrk -t1 -c1 -d"${DURATION}s" --latency -s "$WORK/checkpoint.lua" "$BASE/api/v1/replication/checkpoint" > "$WORK/seq-checkpoint.txt"
wrk -t1 -c1 -d"${DURATION}s" --latency "$BASE/actuator/health/liveness" > "$WORK/seq-liveness.txt"

wrk -t1 -c1 -d"${DURATION}s" --latency -s "$WORK/checkpoint.lua" "$BASE/api/v1/replication/checkpoint" > "$WORK/bg-checkpoint.txt" &
BG=$!
wrk -t2 -c16 -d"${DURATION}s" --latency -s "$WORK/gets.lua" "$BASE" > "$WORK/concurrent-gets.txt"
wait $BG

CP=$(rate "$WORK/seq-checkpoint.txt"); LV=$(rate "$WORK/seq-liveness.txt")
echo "== Sequential, one connection, ${DURATION}s each, 10 no-op participants"
printf '%-34s %10s req/s  p99 %s  errors %s\n' "POST /api/v1/replication/checkpoint" "$CP" "$(p99 "$WORK/seq-checkpoint.txt")" "$(bad "$WORK/seq-checkpoint.txt")"
printf '%-34s %10s req/s  p99 %s  errors %s\n' "GET /actuator/health/liveness" "$LV" "$(p99 "$WORK/seq-liveness.txt")" "$(bad "$WORK/seq-liveness.txt")"
awk -v c="$CP" -v l="$LV" 'BEGIN {printf "ratio checkpoint/liveness: %.2f (target >= 0.8)\n", c / l}'
echo "== Concurrent: 16 connections of status/errors/liveness GETs while checkpoints run on one connection"
printf '%-34s %10s req/s  p99 %s  errors %s\n' "GETs (16 connections)" "$(rate "$WORK/concurrent-gets.txt")" "$(p99 "$WORK/concurrent-gets.txt")" "$(bad "$WORK/concurrent-gets.txt")"
printf '%-34s %10s req/s  p99 %s  errors %s\n' "checkpoints meanwhile" "$(rate "$WORK/bg-checkpoint.txt")" "$(p99 "$WORK/bg-checkpoint.txt")" "$(bad "$WORK/bg-checkpoint.txt")"
