#!/usr/bin/env bash
# Block replication benchmark, on loopback, two Lockstep nodes (A primary, B secondary), 1 GiB disks:
#  1. replicated write throughput: nbdcopy of 1 GiB into A's export while replicating, against the same
#     copy into the export of a third node C of the same engine and configuration that never replicates
#     (unreplicated), both overwriting allocated data, each after one unmeasured pass; five rounds, each
#     one copy into C and one into A back to back (alternating which goes first), so that both see the
#     machine in the same state; reported best against best, and as the median of the rounds' ratios;
#  2. initial sync of two 1 GiB disks that differ in 10% of their 1 MiB chunks (start(primary)), against
#     nbdcopy of the whole disk from A to B (overwriting B's allocated image, after one unmeasured pass, best of 3);
#     then an online verify of the synchronised 1 GiB (POST /api/v1/disks/disk0/verify), whose rate is set
#     against the second synchronisation's compare rate (target >= 0.8);
#  3. in process: secondary checkpoint time with 1,000 dirty 64 KiB regions on 1 GiB and 8 GiB sparse disks,
#     and failover commit time for 100 MiB of dirty data against a plain write + fsync of 100 MiB.
# Usage: bench/replication.sh [colo|mirror, default colo]
# Every measured step starts with `sync` (outside the timing), so that none pays for writing back what an
# earlier step left in the page cache: without it, the first copy into a new image right after the 2 GiB of
# sources were made took 5 s instead of 1.5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-colo}
A_HTTP=${BENCH_A_HTTP:-18191}; A_NBD=${BENCH_A_NBD:-18192}
B_HTTP=${BENCH_B_HTTP:-18193}; B_NBD=${BENCH_B_NBD:-18194}
C_HTTP=${BENCH_C_HTTP:-18195}; C_NBD=${BENCH_C_NBD:-18196}
SIZE=$((1024 * 1024 * 1024))
TOKEN=replication-bench-token

for tool in nbdcopy qemu-io qemu-img curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (see .ci/run)"; exit 1; }
done

./mvnw -q -B -o -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-classpath.txt
# The in-process part lives with the other benchmarks in src/jmh/java; it needs only the main classes.
mkdir -p target/replication-bench-classes
javac -d target/replication-bench-classes -cp "target/classes:$(cat target/bench-classpath.txt)" \
  src/jmh/java/dev/lockstep/bench/ReplicationBenchmark.java
CP="target/classes:target/test-classes:target/replication-bench-classes:$(cat target/bench-classpath.txt)"
WORK=$(mktemp -d -p "${BENCH_DIR:-/tmp}" replication-bench.XXXXXX)
PIDS=()
cleanup() { rc=$?; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; if [ $rc -ne 0 ]; then grep -v "^\s*at " "$WORK"/a.log "$WORK"/b.log "$WORK"/c.log | grep -iv "springdoc\|Spring Boot\|^\s*$" | grep -i "warn\|error\|fail\|clos\|disconn\|exception" | head -40; fi; rm -rf "$WORK"; }
trap cleanup EXIT

node() { # name http nbd [peer-nbd]
  mkdir -p "$WORK/$1"
  java -Xms512m -Xmx1g --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp "$CP" dev.lockstep.LockstepApplication --server.port="$2" --server.address=127.0.0.1 \
    --lockstep.block.nbd.port="$3" ${4:+--lockstep.block.peer="nbd://127.0.0.1:$4"} \
    --lockstep.block.disks[0].name=disk0 --lockstep.block.disks[0].path="$WORK/$1/disk0.img" \
    --lockstep.block.disks[0].size=1GiB --lockstep.block.disks[0].replication="$MODE" \
    --lockstep.security.api-token="$TOKEN" \
    --logging.level.root=WARN --logging.level.dev.lockstep.block.replicated=INFO ${BENCH_NBD_DEBUG:+--logging.level.dev.lockstep.block.nbd=DEBUG} > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
wait_up() { for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$1/actuator/health/liveness" >/dev/null && return; sleep 0.5; done; echo "node on $1 did not start"; exit 1; }
post() { curl -sf -X POST "http://127.0.0.1:$1/api/v1/replication/$2" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' ${3:+-d "$3"}; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

echo "== Preparing two 1 GiB random sources"
head -c $SIZE /dev/urandom > "$WORK/src1.img"
head -c $SIZE /dev/urandom > "$WORK/src2.img"

node a "$A_HTTP" "$A_NBD" "$B_NBD"
node b "$B_HTTP" "$B_NBD" "$A_NBD"
node c "$C_HTTP" "$C_NBD"
wait_up "$A_HTTP"; wait_up "$B_HTTP"; wait_up "$C_HTTP"
A=nbd://127.0.0.1:$A_NBD/disk0
B=nbd://127.0.0.1:$B_NBD/disk0
C=nbd://127.0.0.1:$C_NBD/disk0

best() { awk -v a="$1" -v b="$2" 'BEGIN {print (a < b) ? a : b}'; }
nbdcopy "$WORK/src1.img" "$A"   # allocate A (not measured)
nbdcopy "$WORK/src1.img" "$C"   # the unmeasured pass into C

# The first copy into B's new sparse image is not measured (the sync below writes into allocated data too).
# Best of three overwrites.
nbdcopy "$A" "$B"
FULL=999
for run in 1 2 3; do
  sync; t0=$(now); nbdcopy "$A" "$B"; t1=$(now)
  FULL=$(best "$FULL" "$(secs "$t0" "$t1")")
done
# B now equals A; make 10% of its 1 MiB chunks differ (every tenth chunk)
cmds=()
for i in $(seq 0 10 1023); do cmds+=(-c "write -P 0x5a ${i}M 1M"); done
qemu-io -f raw "$B" "${cmds[@]}" >/dev/null
DIFFERING=${#cmds[@]}; DIFFERING=$((DIFFERING / 2))

post "$B_HTTP" start '{"mode":"secondary"}' >/dev/null
sync; t0=$(now); post "$A_HTTP" start '{"mode":"primary"}' >/dev/null; t1=$(now)
SYNC=$(secs "$t0" "$t1")
copied() { curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$A_HTTP/api/v1/replication" | grep -o '"copiedBytes":[0-9]*' | head -1 | cut -d: -f2; }
COPIED=$(copied)
# The first sync of a new process includes the JIT's warm-up; measure a second one, of 10% other chunks.
post "$A_HTTP" stop '{"failover":false}' >/dev/null; post "$B_HTTP" stop '{"failover":false}' >/dev/null
cmds=()
for i in $(seq 5 10 1023); do cmds+=(-c "write -P 0xa5 ${i}M 1M"); done
qemu-io -f raw "$B" "${cmds[@]}" >/dev/null
post "$B_HTTP" start '{"mode":"secondary"}' >/dev/null
sync; t0=$(now); post "$A_HTTP" start '{"mode":"primary"}' >/dev/null; t1=$(now)
SYNC2=$(secs "$t0" "$t1")
COPIED2=$(copied)
post "$A_HTTP" checkpoint >/dev/null; post "$B_HTTP" checkpoint >/dev/null
verify_running() { curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$A_HTTP/api/v1/disks/disk0" | grep -q '"verify":{[^}]*"running":true'; }
sync; t0=$(now)
curl -sf -X POST "http://127.0.0.1:$A_HTTP/api/v1/disks/disk0/verify" -H "Authorization: Bearer $TOKEN" >/dev/null
while verify_running; do sleep 0.05; done
t1=$(now); VERIFY=$(secs "$t0" "$t1")
MISMATCHED=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$A_HTTP/api/v1/disks/disk0" | grep -o '"mismatchedChunks":[0-9]*' | cut -d: -f2)

nbdcopy "$WORK/src1.img" "$A"   # the same unmeasured pass while replicating
post "$A_HTTP" checkpoint >/dev/null; post "$B_HTTP" checkpoint >/dev/null
timed_copy() { sync; local t0 t1; t0=$(now); nbdcopy "$1" "$2"; t1=$(now); secs "$t0" "$t1"; }
UNREP=999; REP=999; RATIOS=()
for run in 1 2 3 4 5; do   # five rounds; a checkpoint after each empties the secondary's overlays
  src="$WORK/src$(( run % 2 + 1 )).img"
  if (( run % 2 )); then u=$(timed_copy "$src" "$C"); r=$(timed_copy "$src" "$A")
  else r=$(timed_copy "$src" "$A"); u=$(timed_copy "$src" "$C"); fi
  post "$A_HTTP" checkpoint >/dev/null; post "$B_HTTP" checkpoint >/dev/null
  UNREP=$(best "$UNREP" "$u"); REP=$(best "$REP" "$r")
  RATIOS+=("$(awk -v u="$u" -v r="$r" 'BEGIN {printf "%.2f", u / r}')")
  echo "round $run: unreplicated $u s, replicated $r s, ratio ${RATIOS[-1]}"
done
MEDIAN=$(printf '%s\n' "${RATIOS[@]}" | sort -n | sed -n 3p)
if qemu-img compare -q -f raw -F raw "$A" "$B"; then SAME=identical; else SAME=DIFFERENT; fi

echo "== Replicated write throughput ($MODE), nbdcopy of 1 GiB into the primary's export"
awk -v u="$UNREP" -v r="$REP" -v s=$SIZE 'BEGIN {
  printf "unreplicated: %6.2f s  %7.1f MiB/s (best of 5)\n", u, s / u / 1048576
  printf "replicated:   %6.2f s  %7.1f MiB/s (best of 5)\n", r, s / r / 1048576
  printf "ratio replicated/unreplicated: %.2f best against best (target >= 0.6)\n", u / r }'
echo "ratio replicated/unreplicated: $MEDIAN median of the five rounds (${RATIOS[*]})"
echo "after a checkpoint, primary and secondary disks are $SAME"
echo "== Initial sync of two 1 GiB disks differing in $DIFFERING of 1024 chunks"
awk -v f="$FULL" -v s="$SYNC" -v c="${COPIED:-0}" -v s2="$SYNC2" -v c2="${COPIED2:-0}" -v n=$SIZE 'BEGIN {
  printf "nbdcopy of the whole disk A -> B: %6.2f s  %7.1f MiB/s (best of 3)\n", f, n / f / 1048576
  printf "start(primary) with sync:         %6.2f s  %7.1f MiB/s compared, %d MiB copied (first in the process)\n", s, n / s / 1048576, c / 1048576
  printf "the same again, other chunks:     %6.2f s  %7.1f MiB/s compared, %d MiB copied\n", s2, n / s2 / 1048576, c2 / 1048576
  printf "ratio sync rate / nbdcopy rate: %.2f first, %.2f again\n", f / s, f / s2 }'
echo "== Online verify of the synchronised 1 GiB disk"
awk -v v="$VERIFY" -v s2="$SYNC2" -v m="${MISMATCHED:-?}" -v n=$SIZE 'BEGIN {
  printf "verify:                           %6.2f s  %7.1f MiB/s compared, %s mismatched chunks\n", v, n / v / 1048576, m
  printf "ratio verify rate / sync compare rate: %.2f (target >= 0.8)\n", s2 / v }'

kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; PIDS=()
echo "== In process: checkpoint and failover commit"
java -Xmx1g --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp "$CP" dev.lockstep.bench.ReplicationBenchmark "$WORK/inproc"
