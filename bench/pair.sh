#!/usr/bin/env bash
# Pair operations on two Lockstep processes on loopback, each the other's peer, with 1 GiB disks:
#  1. pair checkpoints (POST /api/v1/pair/checkpoint, phased: both nodes paused, primary then
#     secondary checkpointed, both resumed) per second, and the paused time's p50 and p99 from the
#     reports' pausedMillis: idle, then under fio 4k random writes at depth 8 on the primary's export;
#     baseline in the same run: per-node checkpoints (primary then secondary) over the same HTTP path;
#  2. the time of a switchover of the idle pair, and what its new primary's start copied and compared.
# Usage: bench/pair.sh [colo|mirror] [seconds per load phase, default 15]
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-colo}
SECONDS_PER_PHASE=${2:-15}
TOKEN=pair-bench-token
for tool in fio curl jq qemu-img; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (see .ci/run)"; exit 1; }
done
./mvnw -q -B -o -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt
CP="target/classes:$(cat target/bench-classpath.txt)"
WORK=$(mktemp -d -p "${BENCH_DIR:-/tmp}" pair-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# name http nbd peer-http peer-nbd
node() {
  mkdir -p "$WORK/$1"
  java -Xms256m -Xmx1g --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp "$CP" dev.lockstep.LockstepApplication \
    --server.port="$2" --server.address=127.0.0.1 --lockstep.block.nbd.port="$3" \
    --lockstep.block.peer="nbd://127.0.0.1:$5" --lockstep.pair.peer-api="http://127.0.0.1:$4" \
    --lockstep.block.disks[0].name=disk0 --lockstep.block.disks[0].path="$WORK/$1/disk0.img" \
    --lockstep.block.disks[0].size=1GiB --lockstep.block.disks[0].replication="$MODE" \
    --lockstep.security.api-token="$TOKEN" --logging.level.root=WARN >> "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
wait_up() { for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$1/actuator/health/liveness" >/dev/null && return; sleep 0.5; done; echo "node on $1 did not start"; exit 1; }
post() { curl -sf -X POST "http://127.0.0.1:$1$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
api() { curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1$2"; }
now() { date +%s.%N; }
pct() { sort -g | awk -v p="$1" '{v[NR] = $1} END {i = int((NR - 1) * p / 100) + 1; print v[i]}'; }

node a 18180 18190 18181 18191
node b 18181 18191 18180 18190
wait_up 18180; wait_up 18181
post 18180 /api/v1/pair/start '{"primary":"self"}' >/dev/null
echo "== Pair of two processes, $MODE, 1 GiB disks; A primary"

# Runs pair checkpoints for the phase's seconds (at most 100000); prints "count seconds" and keeps the
# paused times in $WORK/paused.
pair_checkpoints() {
  local t0 t1 n=0
  : > "$WORK/paused"
  t0=$(now)
  local end=$(( $(date +%s) + SECONDS_PER_PHASE ))
  while [ "$(date +%s)" -lt "$end" ] && [ $n -lt 100000 ]; do
    post 18180 /api/v1/pair/checkpoint | jq -r '.pausedMillis' >> "$WORK/paused"
    n=$((n + 1))
  done
  t1=$(now)
  awk -v n=$n -v a="$t0" -v b="$t1" 'BEGIN {printf "%d %.3f\n", n, b - a}'
}
node_checkpoints() {
  local t0 t1 n=0
  t0=$(now)
  local end=$(( $(date +%s) + SECONDS_PER_PHASE ))
  while [ "$(date +%s)" -lt "$end" ] && [ $n -lt 100000 ]; do
    post 18180 /api/v1/replication/checkpoint >/dev/null; post 18181 /api/v1/replication/checkpoint >/dev/null
    n=$((n + 1))
  done
  t1=$(now)
  awk -v n=$n -v a="$t0" -v b="$t1" 'BEGIN {printf "%d %.3f\n", n, b - a}'
}
report() { # label "count seconds" "baseline count seconds"
  read -r n s <<< "$2"; read -r bn bs <<< "$3"
  local p50 p99
  p50=$(pct 50 < "$WORK/paused"); p99=$(pct 99 < "$WORK/paused")
  awk -v l="$1" -v n="$n" -v s="$s" -v bn="$bn" -v bs="$bs" -v p50="$p50" -v p99="$p99" 'BEGIN {
    printf "%s: %.1f pair checkpoints/s against %.1f per-node pairs/s (ratio %.2f); pause p50 %s ms, p99 %s ms\n",
      l, n / s, bn / bs, (n / s) / (bn / bs), p50, p99 }'
}
for round in 1 2; do
  idle_base=$(node_checkpoints); idle=$(pair_checkpoints)
  report "idle, round $round" "$idle" "$idle_base"
done
fio --name=load --ioengine=nbd --uri="nbd://127.0.0.1:18190/disk0" --rw=randwrite --bs=4k --iodepth=8 \
  --time_based --runtime=$(( 4 * SECONDS_PER_PHASE + 10 )) --size=1g --output="$WORK/fio.out" &
FIO=$!
PIDS+=($FIO)
sleep 3
for round in 1 2; do
  load_base=$(node_checkpoints); load=$(pair_checkpoints)
  report "under fio randwrite 4k depth 8, round $round" "$load" "$load_base"
done
wait $FIO 2>/dev/null || true
grep -E "write: IOPS" "$WORK/fio.out" | sed 's/^ */fio: /'
echo "target: pause p99 under 20 ms under that load"

echo "== Switchover of the idle pair"
post 18180 /api/v1/pair/checkpoint >/dev/null
for round in 1 2 3; do
  t0=$(now)
  primary=$(post 18180 /api/v1/pair/switchover | jq -r '.primary')
  t1=$(now)
  port=$([ "$primary" = peer ] && echo 18181 || echo 18180)
  sync=$(api $port /api/v1/replication | jq -c '[.. | objects | select(has("disk") and has("sync"))][0].sync | {method, comparedBytes, copiedBytes}')
  awk -v a="$t0" -v b="$t1" -v r=$round -v s="$sync" 'BEGIN {printf "round %d: %.3f s, new primary'"'"'s sync %s\n", r, b - a, s}'
done
echo "target: under 2 s, 0 bytes copied"
