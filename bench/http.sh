#!/usr/bin/env bash
# HTTP benchmark of the lifecycle API, on loopback, with 10 no-op participants.
#  1. sequential POST /api/v1/replication/checkpoint over one connection, against
#     GET /actuator/health/liveness over one connection, in the same run: five rounds, each one
#     measurement of both back to back (alternating which goes first), so that both see the machine
#     in the same state; reported as the median of the rounds' ratios and as the whole time's rates;
#  2. status, error and liveness GETs over 16 connections while checkpoints run.
# Every wrk run is bounded by its duration.
# Usage: bench/http.sh [seconds per kind of request in part 1, split over its five rounds, and for part 2; default 15]
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
java -Xms256m -Xmx512m --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp "target/classes:target/test-classes:$(cat target/bench-classpath.txt)" \
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

# warm-up, not reported: 10 s of each, so that the JIT has settled on both paths before the first round
wrk -t1 -c1 -d10s -s "$WORK/checkpoint.lua" "$BASE/api/v1/replication/checkpoint" >/dev/null
wrk -t1 -c1 -d10s "$BASE/actuator/health/liveness" >/dev/null

rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
bad() { awk '/Non-2xx/ {n += $NF} /Socket errors/ {for (i = 4; i <= NF; i += 2) n += $i} END {print n + 0}' "$1"; }

ROUND=$(( DURATION / 5 > 0 ? DURATION / 5 : 1 ))
checkpoints() { wrk -t1 -c1 -d"${ROUND}s" --latency -s "$WORK/checkpoint.lua" "$BASE/api/v1/replication/checkpoint" > "$WORK/seq-checkpoint-$1.txt"; }
probes() { wrk -t1 -c1 -d"${ROUND}s" --latency "$BASE/actuator/health/liveness" > "$WORK/seq-liveness-$1.txt"; }
RATIOS=()
for round in 1 2 3 4 5; do
  if (( round % 2 )); then checkpoints "$round"; probes "$round"; else probes "$round"; checkpoints "$round"; fi
  RATIOS+=("$(awk -v c="$(rate "$WORK/seq-checkpoint-$round.txt")" -v l="$(rate "$WORK/seq-liveness-$round.txt")" \
    'BEGIN {printf "%.2f", c / l}')")
done
MEDIAN=$(printf '%s\n' "${RATIOS[@]}" | sort -n | sed -n 3p)
mean() { for f in "$WORK"/seq-"$1"-*.txt; do rate "$f"; done | awk '{s += $1} END {printf "%.2f", s / NR}'; }
p99s() { for f in "$WORK"/seq-"$1"-*.txt; do p99 "$f"; done | tr '\n' ' '; }
median_p99() { for f in "$WORK"/seq-"$1"-*.txt; do p99 "$f"; done \
  | awk '{v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/) v *= 1000; print v}' | sort -n | sed -n 3p; }
bads() { for f in "$WORK"/seq-"$1"-*.txt; do bad "$f"; done | awk '{s += $1} END {print s + 0}'; }

wrk -t1 -c1 -d"${DURATION}s" --latency -s "$WORK/checkpoint.lua" "$BASE/api/v1/replication/checkpoint" > "$WORK/bg-checkpoint.txt" &
BG=$!
wrk -t2 -c16 -d"${DURATION}s" --latency -s "$WORK/gets.lua" "$BASE" > "$WORK/concurrent-gets.txt"
wait $BG

CP=$(mean checkpoint); LV=$(mean liveness)
echo "== Sequential, one connection, 5 rounds of ${ROUND}s each, 10 no-op participants"
printf '%-34s %10s req/s  p99 median %sms (rounds: %s) errors %s\n' "POST /api/v1/replication/checkpoint" "$CP" \
  "$(median_p99 checkpoint)" "$(p99s checkpoint | sed 's/ $//')" "$(bads checkpoint)"
printf '%-34s %10s req/s  p99 median %sms (rounds: %s) errors %s\n' "GET /actuator/health/liveness" "$LV" \
  "$(median_p99 liveness)" "$(p99s liveness | sed 's/ $//')" "$(bads liveness)"
echo "ratio checkpoint/liveness: $MEDIAN median of the five rounds (${RATIOS[*]}) (target >= 0.8)"
awk -v c="$CP" -v l="$LV" 'BEGIN {printf "ratio of the mean rates: %.2f\n", c / l}'
echo "== Concurrent: 16 connections of status/errors/liveness GETs while checkpoints run on one connection"
printf '%-34s %10s req/s  p99 %s  errors %s\n' "GETs (16 connections)" "$(rate "$WORK/concurrent-gets.txt")" "$(p99 "$WORK/concurrent-gets.txt")" "$(bad "$WORK/concurrent-gets.txt")"
printf '%-34s %10s req/s  p99 %s  errors %s\n' "checkpoints meanwhile" "$(rate "$WORK/bg-checkpoint.txt")" "$(p99 "$WORK/bg-checkpoint.txt")" "$(bad "$WORK/bg-checkpoint.txt")"
