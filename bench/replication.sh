#!/usr/bin/env bash
# Block replication benchmark, on loopback, two Lockstep nodes (A primary, B secondary), 1 GiB disks:
#  1. replicated write throughput: nbdcopy of 1 GiB into A's export while replicating, against the same
#     copy into the export of a third node C of the same engine and configuration that never replicates
#     (unreplicated), both overwriting allocated data, each after one unmeasured pass; five rounds, each
#     one copy into C and one into A back to back (alternating which goes first), so that both see the
#     machine in the same state; reported best against best, and as the median of the rounds' ratios;
#  2. initial sync of two 1 GiB disks that differ in 10% of their 1 MiB chunks (start(primary)), against
#     nbdcopy of the whole disk from A to B (overwriting B's allocated image, after one unmeasured pass, best of 3);
#     once in the fresh processes and once again after B's process was restarted with 10% other chunks
#     changed and its lineage removed (a full comparison in a warm primary); then an online verify of the
#     synchronised 1 GiB (POST /api/v1/disks/disk0/verify), whose rate is set against that second
#     synchronisation's compare rate (target >= 0.8);
#  3. with --against <commit>: the copy of 1 into A against the same copy into the primary D of a pair D, E
#     running the code of <commit>, built in target/bench-against/<commit>; seven paired rounds alternating
#     which goes first, the median of the rounds' ratios new/old (target >= 0.95: the cost of the lineage's
#     activity log on the write path);
#  4. resynchronisation after a restart of the primary's process with 1% of the disk changed: planned stop of
#     both, B's process stopped, 10 chunks of 1 MiB written on A, A's process restarted (SIGTERM, then started
#     again), B started, start(primary); against the same with B's `disk0.img.lineage` removed before B starts,
#     which makes the lineage untrusted and the synchronisation a full hash pass; --rounds paired rounds
#     (default 3), alternating which goes first; bytes read and copied as a share of the disk (target <= 2%)
#     and the median ratio of the synchronisations' times (target <= 1/20), also against the full pass in the
#     warm primary of 2. Each round also resynchronises the same 10 MiB written as one contiguous run inside
#     one 64 MiB activity-log extent, which shows what the ten extents' durable updates cost. After each full
#     pass, a verify: its rate against that pass's compare rate;
#  5. in process: secondary checkpoint time with 1,000 dirty 64 KiB regions on 1 GiB and 8 GiB sparse disks,
#     and failover commit time for 100 MiB of dirty data against a plain write + fsync of 100 MiB.
# With --pinned, only 1 runs, as two hosts would see it: the secondary B on CPU 1, the primary A, the client
# and the unreplicated node C on CPU 0 (taskset), so that the baseline has the same single CPU for client and
# server; seven paired rounds instead of five. Forwarding adds one pass over each byte on the primary's CPU,
# so 4/5 = 0.8 is the bound of that ratio by passes, where the unpinned one is bound by 4/7 (mirror) and 4/8
# (colo). Each round also measures that pass: the CPU seconds of sending 1 GiB over loopback TCP from CPU 0 to a
# sink on CPU 1 (bench/LoopbackTcp.java); on loopback the sender's CPU also runs the receiving side's TCP
# processing. The bound is then unreplicated / (unreplicated + that pass), the median of the rounds.
# Usage: bench/replication.sh [colo|mirror, default colo] [--pinned] [--against <commit>] [--rounds <n>]
# Every measured step starts with `sync` (outside the timing), so that none pays for writing back what an
# earlier step left in the page cache: without it, the first copy into a new image right after the 2 GiB of
# sources were made took 5 s instead of 1.5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=colo; AGAINST=; ROUNDS=3; PINNED=
while [ $# -gt 0 ]; do
  case "$1" in
    colo|mirror) MODE=$1 ;;
    --against) AGAINST=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --pinned) PINNED=1 ;;
    *) echo "usage: $0 [colo|mirror] [--pinned] [--against <commit>] [--rounds <n>]"; exit 2 ;;
  esac
  shift
done
(( ROUNDS >= 1 && ROUNDS <= 9 )) || { echo "--rounds must be 1 to 9"; exit 2; }
[ -z "$PINNED" ] || [ -z "$AGAINST" ] || { echo "--pinned measures 1 only and takes no --against"; exit 2; }
[ -z "$PINNED" ] || [ "$(nproc)" -ge 2 ] || { echo "--pinned needs two CPUs"; exit 2; }
A_HTTP=${BENCH_A_HTTP:-18191}; A_NBD=${BENCH_A_NBD:-18192}
B_HTTP=${BENCH_B_HTTP:-18193}; B_NBD=${BENCH_B_NBD:-18194}
C_HTTP=${BENCH_C_HTTP:-18195}; C_NBD=${BENCH_C_NBD:-18196}
D_HTTP=${BENCH_D_HTTP:-18197}; D_NBD=${BENCH_D_NBD:-18198}
E_HTTP=${BENCH_E_HTTP:-18199}; E_NBD=${BENCH_E_NBD:-18200}
SIZE=$((1024 * 1024 * 1024))
TOKEN=replication-bench-token

for tool in nbdcopy qemu-io qemu-img curl jq ${PINNED:+taskset}; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (see .ci/run)"; exit 1; }
done

./mvnw -q -B -o -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/bench-classpath.txt
# The in-process part lives with the other benchmarks in src/jmh/java; it needs only the main classes.
mkdir -p target/replication-bench-classes
javac -d target/replication-bench-classes -cp "target/classes:$(cat target/bench-classpath.txt)" \
  src/jmh/java/dev/lockstep/bench/ReplicationBenchmark.java
CP="target/classes:target/test-classes:target/replication-bench-classes:$(cat target/bench-classpath.txt)"
OLD_CP=
if [ -n "$AGAINST" ]; then
  # The old code is built once per commit, from `git archive`, offline, and run the same way as the new.
  OLD_SHA=$(git rev-parse --short=12 "$AGAINST^{commit}")
  OLD_DIR=$PWD/target/bench-against/$OLD_SHA
  if [ ! -f "$OLD_DIR/target/bench-classpath.txt" ]; then
    rm -rf "$OLD_DIR"; mkdir -p "$OLD_DIR"
    git archive "$OLD_SHA" | tar -x -C "$OLD_DIR"
    (cd "$OLD_DIR" && ./mvnw -q -B -o compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt \
      -Dspring-javaformat.skip=true -Djacoco.skip=true)
  fi
  OLD_CP="$OLD_DIR/target/classes:$(cat "$OLD_DIR/target/bench-classpath.txt")"
fi
WORK=$(mktemp -d -p "${BENCH_DIR:-/tmp}" replication-bench.XXXXXX)
declare -A PID_OF=()
cleanup() {
  rc=$?
  for p in "${PID_OF[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    grep -v "^\s*at " "$WORK"/*.log | grep -iv "springdoc\|Spring Boot\|^\s*$" \
      | grep -i "warn\|error\|fail\|clos\|disconn\|exception\|refus" | tail -40
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_of() { # name -> taskset prefix when pinned: B on CPU 1, every other process on CPU 0
  [ -n "$PINNED" ] || return 0
  if [ "$1" = b ]; then echo "taskset -c 1"; else echo "taskset -c 0"; fi
}
node() { # name http nbd [peer-nbd [classpath]]
  mkdir -p "$WORK/$1"
  $(cpu_of "$1") java -Xms512m -Xmx1g --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp "${5:-$CP}" dev.lockstep.LockstepApplication --server.port="$2" --server.address=127.0.0.1 \
    --lockstep.block.nbd.port="$3" ${4:+--lockstep.block.peer="nbd://127.0.0.1:$4"} \
    --lockstep.block.disks[0].name=disk0 --lockstep.block.disks[0].path="$WORK/$1/disk0.img" \
    --lockstep.block.disks[0].size=1GiB --lockstep.block.disks[0].replication="$MODE" \
    --lockstep.security.api-token="$TOKEN" \
    --logging.level.root=WARN --logging.level.dev.lockstep.block.replicated=INFO ${BENCH_NBD_DEBUG:+--logging.level.dev.lockstep.block.nbd=DEBUG} >> "$WORK/$1.log" 2>&1 &
  PID_OF[$1]=$!
}
stop_node() { # name: SIGTERM, a clean shutdown, waited for (at most 60 s)
  local p=${PID_OF[$1]}
  kill "$p"
  for _ in $(seq 1 240); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$p" 2>/dev/null && { echo "node $1 did not stop"; exit 1; }
  wait "$p" 2>/dev/null || true
  unset "PID_OF[$1]"
}
wait_up() { for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$1/actuator/health/liveness" >/dev/null && return; sleep 0.5; done; echo "node on $1 did not start"; exit 1; }
post() { curl -sf -X POST "http://127.0.0.1:$1/api/v1/replication/$2" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' ${3:+-d "$3"}; }
api() { curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1$2"; }
checkpoint() { post "$1" checkpoint >/dev/null; post "$2" checkpoint >/dev/null; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN {print (a < b) ? a : b}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
sync_status() { api "$1" /api/v1/replication | jq -c '[.. | objects | select(has("disk") and has("sync"))][0].sync'; }
timed_copy() { sync; local t0 t1; t0=$(now); $(cpu_of client) nbdcopy "$1" "$2"; t1=$(now); secs "$t0" "$t1"; }
verify() { # http: runs a verify of disk0 to its end (at most 10 min); prints "comparedBytes seconds mismatchedChunks"
  curl -sf -X POST "http://127.0.0.1:$1/api/v1/disks/disk0/verify" -H "Authorization: Bearer $TOKEN" >/dev/null
  local v
  for _ in $(seq 1 12000); do
    v=$(api "$1" /api/v1/disks/disk0 | jq -c .verify)
    [ "$(jq -r .running <<<"$v")" = false ] && break
    sleep 0.05
  done
  [ "$(jq -r .state <<<"$v")" = completed ] || { echo "verify did not complete: $v" >&2; exit 1; }
  echo "$(jq -r .comparedBytes <<<"$v") $(secs "$(date -d "$(jq -r .startedAt <<<"$v")" +%s.%N)" \
    "$(date -d "$(jq -r .finishedAt <<<"$v")" +%s.%N)") $(jq -r .mismatchedChunks <<<"$v")"
}

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
SINK_PORT=${BENCH_SINK_PORT:-18290}
if [ -n "$PINNED" ]; then
  taskset -c 1 java bench/LoopbackTcp.java sink "$SINK_PORT" >> "$WORK/sink.log" 2>&1 &
  PID_OF[sink]=$!
fi

nbdcopy "$WORK/src1.img" "$A"   # allocate A (not measured)
nbdcopy "$WORK/src1.img" "$C"   # the unmeasured pass into C

if [ -n "$PINNED" ]; then   # a first synchronisation only, to replicate from
  post "$B_HTTP" start '{"mode":"secondary"}' >/dev/null
  post "$A_HTTP" start '{"mode":"primary"}' >/dev/null
else
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
  COPIED=$(sync_status "$A_HTTP" | jq .copiedBytes)
  # The first sync of a new process includes the JIT's warm-up; measure a second one, of 10% other chunks,
  # written into B's image while its process is down. B's lineage is removed, so that the second sync too
  # compares every chunk by hash (a secondary that changed on its own would be refused as holding newer data).
  post "$A_HTTP" stop '{"failover":false}' >/dev/null; post "$B_HTTP" stop '{"failover":false}' >/dev/null
  stop_node b
  cmds=()
  for i in $(seq 5 10 1023); do cmds+=(-c "write -P 0xa5 ${i}M 1M"); done
  qemu-io -f raw "$WORK/b/disk0.img" "${cmds[@]}" >/dev/null
  rm "$WORK/b/disk0.img.lineage"
  node b "$B_HTTP" "$B_NBD" "$A_NBD"; wait_up "$B_HTTP"
  post "$B_HTTP" start '{"mode":"secondary"}' >/dev/null
  sync; t0=$(now); post "$A_HTTP" start '{"mode":"primary"}' >/dev/null; t1=$(now)
  SYNC2=$(secs "$t0" "$t1")
  S2=$(sync_status "$A_HTTP")
  COPIED2=$(jq .copiedBytes <<<"$S2")
  checkpoint "$A_HTTP" "$B_HTTP"
  sync; v=$(verify "$A_HTTP"); read -r VCOMPARED VERIFY MISMATCHED <<<"$v"
fi
nbdcopy "$WORK/src1.img" "$A"   # the same unmeasured pass while replicating
checkpoint "$A_HTTP" "$B_HTTP"
UNREP=999; REP=999; RATIOS=(); UNREPS=(); REPS=(); BOUNDS=()
COPY_ROUNDS=5; [ -z "$PINNED" ] || COPY_ROUNDS=7
for run in $(seq 1 $COPY_ROUNDS); do   # a checkpoint after each round empties the secondary's overlays
  src="$WORK/src$(( run % 2 + 1 )).img"
  if (( run % 2 )); then u=$(timed_copy "$src" "$C"); r=$(timed_copy "$src" "$A")
  else r=$(timed_copy "$src" "$A"); u=$(timed_copy "$src" "$C"); fi
  checkpoint "$A_HTTP" "$B_HTTP"
  UNREP=$(best "$UNREP" "$u"); REP=$(best "$REP" "$r"); UNREPS+=("$u"); REPS+=("$r")
  RATIOS+=("$(awk -v u="$u" -v r="$r" 'BEGIN {printf "%.2f", u / r}')")
  if [ -n "$PINNED" ]; then
    read -r _ pass < <(taskset -c 0 java bench/LoopbackTcp.java send "$SINK_PORT")
    BOUNDS+=("$(awk -v u="$u" -v p="$pass" 'BEGIN {printf "%.2f", u / (u + p)}')")
    echo "round $run: unreplicated $u s, replicated $r s, ratio ${RATIOS[-1]}; one TCP pass $pass CPU-s, bound ${BOUNDS[-1]}"
  else
    echo "round $run: unreplicated $u s, replicated $r s, ratio ${RATIOS[-1]}"
  fi
done
MEDIAN=$(median "${RATIOS[@]}")
if qemu-img compare -q -f raw -F raw "$A" "$B"; then SAME=identical; else SAME=DIFFERENT; fi
stop_node c
if [ -n "$PINNED" ]; then
  echo "== Replicated write throughput ($MODE), pinned: B on CPU 1; A, C and nbdcopy on CPU 0"
  awk -v u="$(median "${UNREPS[@]}")" -v r="$(median "${REPS[@]}")" -v s=$SIZE 'BEGIN {
    printf "unreplicated: %6.2f s  %7.1f MiB/s (median of 7)\n", u, s / u / 1048576
    printf "replicated:   %6.2f s  %7.1f MiB/s (median of 7)\n", r, s / r / 1048576 }'
  echo "ratio replicated/unreplicated: $MEDIAN median of the seven rounds (${RATIOS[*]}) (target >= 0.75)"
  echo "bound from one TCP pass on CPU 0: $(median "${BOUNDS[@]}") median of the seven rounds (${BOUNDS[*]}); by passes 0.8"
  echo "after a checkpoint, primary and secondary disks are $SAME"
  exit 0
fi

if [ -n "$AGAINST" ]; then
  # A pair D, E of the old code, filled and synchronised the same way, then the same copies into D and A.
  node d "$D_HTTP" "$D_NBD" "$E_NBD" "$OLD_CP"
  node e "$E_HTTP" "$E_NBD" "$D_NBD" "$OLD_CP"
  wait_up "$D_HTTP"; wait_up "$E_HTTP"
  D=nbd://127.0.0.1:$D_NBD/disk0
  nbdcopy "$WORK/src1.img" "$D"
  post "$E_HTTP" start '{"mode":"secondary"}' >/dev/null
  post "$D_HTTP" start '{"mode":"primary"}' >/dev/null
  nbdcopy "$WORK/src2.img" "$D"   # the unmeasured pass while replicating
  checkpoint "$D_HTTP" "$E_HTTP"
  OLDS=(); NEWS=(); AGAINST_RATIOS=()
  for run in 1 2 3 4 5 6 7; do
    src="$WORK/src$(( run % 2 + 1 )).img"
    if (( run % 2 )); then o=$(timed_copy "$src" "$D"); n=$(timed_copy "$src" "$A")
    else n=$(timed_copy "$src" "$A"); o=$(timed_copy "$src" "$D"); fi
    checkpoint "$A_HTTP" "$B_HTTP"; checkpoint "$D_HTTP" "$E_HTTP"
    OLDS+=("$o"); NEWS+=("$n")
    AGAINST_RATIOS+=("$(awk -v o="$o" -v n="$n" 'BEGIN {printf "%.3f", o / n}')")
    echo "against $OLD_SHA, round $run: old $o s, new $n s, throughput new/old ${AGAINST_RATIOS[-1]}"
  done
  AGAINST_MEDIAN=$(median "${AGAINST_RATIOS[@]}")
  if qemu-img compare -q -f raw -F raw "$D" "nbd://127.0.0.1:$E_NBD/disk0"; then OLD_SAME=identical; else OLD_SAME=DIFFERENT; fi
  stop_node d; stop_node e
fi

# Resynchronisation after a restart of the primary's process, 1% of the disk changed, against a full pass.
resync() { # round method(bitmap|full) [contiguous]: sets STATUS to A's sync status after start(primary)
  local pattern
  pattern=$(printf '0x%02x' $(( ($1 * 16 + ${#2}) % 255 + 1 )))
  post "$A_HTTP" stop '{"failover":false}' >/dev/null; post "$B_HTTP" stop '{"failover":false}' >/dev/null
  stop_node b
  local cmds=() i
  # ten whole chunks, 1 MiB each, spread over the disk (or contiguous in one 64 MiB extent): 10 MiB, 0.98% of it
  if [ -n "${3:-}" ]; then cmds=(-c "write -P $pattern $(( $1 % 7 * 128 + 2 ))M 10M")
  else for i in $(seq $(( $1 * 7 + ${#2} )) 103 1023); do cmds+=(-c "write -P $pattern ${i}M 1M"); done; fi
  qemu-io -f raw "$A" "${cmds[@]}" >/dev/null
  stop_node a
  node a "$A_HTTP" "$A_NBD" "$B_NBD"
  if [ "$2" = full ]; then rm "$WORK/b/disk0.img.lineage"; fi
  node b "$B_HTTP" "$B_NBD" "$A_NBD"
  wait_up "$A_HTTP"; wait_up "$B_HTTP"
  post "$B_HTTP" start '{"mode":"secondary"}' >/dev/null
  sync; post "$A_HTTP" start '{"mode":"primary"}' >/dev/null
  STATUS=$(sync_status "$A_HTTP")
  checkpoint "$A_HTTP" "$B_HTTP"
}
BITMAP_MS=(); RUN_MS=(); FULL_MS=(); TIME_RATIOS=(); READ_SHARES=(); COPY_SHARES=(); VERIFY_RATIOS=()
for run in $(seq 1 "$ROUNDS"); do
  if (( run % 2 )); then order="bitmap full"; else order="full bitmap"; fi
  for method in $order; do
    resync "$run" "$method"; s=$STATUS
    echo "resync round $run, $method: $s"
    [ "$(jq -r .method <<<"$s")" = "$method" ] || { echo "expected a $method synchronisation"; exit 1; }
    if [ "$method" = bitmap ]; then
      BITMAP_MS+=("$(jq .elapsedMillis <<<"$s")")
      READ_SHARES+=("$(jq --argjson n $SIZE '100 * ([.comparedBytes, .hashedBytes] | max) / $n' <<<"$s")")
      COPY_SHARES+=("$(jq --argjson n $SIZE '100 * .copiedBytes / $n' <<<"$s")")
    else
      FULL_MS+=("$(jq .elapsedMillis <<<"$s")")
      FULL_RATE=$(jq '.comparedBytes / (.elapsedMillis / 1000)' <<<"$s")
      sync; v=$(verify "$A_HTTP"); read -r vc vs vm <<<"$v"
      VERIFY_RATIOS+=("$(awk -v c="$vc" -v s="$vs" -v f="$FULL_RATE" 'BEGIN {printf "%.3f", c / s / f}')")
      echo "verify after it: $vc bytes in $vs s, $vm mismatched chunks, rate ${VERIFY_RATIOS[-1]} of the sync's"
    fi
  done
  resync "$run" bitmap contiguous
  echo "resync round $run, bitmap, contiguous: $STATUS"
  RUN_MS+=("$(jq .elapsedMillis <<<"$STATUS")")
  TIME_RATIOS+=("$(awk -v b="${BITMAP_MS[-1]}" -v f="${FULL_MS[-1]}" 'BEGIN {printf "%.4f", b / f}')")
done
if qemu-img compare -q -f raw -F raw "$A" "$B"; then RESYNC_SAME=identical; else RESYNC_SAME=DIFFERENT; fi

echo "== Replicated write throughput ($MODE), nbdcopy of 1 GiB into the primary's export"
awk -v u="$UNREP" -v r="$REP" -v s=$SIZE 'BEGIN {
  printf "unreplicated: %6.2f s  %7.1f MiB/s (best of 5)\n", u, s / u / 1048576
  printf "replicated:   %6.2f s  %7.1f MiB/s (best of 5)\n", r, s / r / 1048576
  printf "ratio replicated/unreplicated: %.2f best against best (target >= 0.6)\n", u / r }'
echo "ratio replicated/unreplicated: $MEDIAN median of the five rounds (${RATIOS[*]})"
echo "after a checkpoint, primary and secondary disks are $SAME"
if [ -n "$AGAINST" ]; then
  echo "== Replicated write throughput ($MODE) against $OLD_SHA"
  echo "old: $(median "${OLDS[@]}") s, new: $(median "${NEWS[@]}") s (medians of 7)"
  echo "ratio throughput new/old: $AGAINST_MEDIAN median of the seven rounds (${AGAINST_RATIOS[*]}) (target >= 0.95)"
  echo "after a checkpoint, the old pair's disks are $OLD_SAME"
fi
echo "== Initial sync of two 1 GiB disks differing in $DIFFERING of 1024 chunks"
awk -v f="$FULL" -v s="$SYNC" -v c="${COPIED:-0}" -v s2="$SYNC2" -v c2="${COPIED2:-0}" -v n=$SIZE 'BEGIN {
  printf "nbdcopy of the whole disk A -> B: %6.2f s  %7.1f MiB/s (best of 3)\n", f, n / f / 1048576
  printf "start(primary) with sync:         %6.2f s  %7.1f MiB/s compared, %d MiB copied (first in the process)\n", s, n / s / 1048576, c / 1048576
  printf "the same again, other chunks:     %6.2f s  %7.1f MiB/s compared, %d MiB copied\n", s2, n / s2 / 1048576, c2 / 1048576
  printf "ratio sync rate / nbdcopy rate: %.2f first, %.2f again\n", f / s, f / s2 }'
echo "== Online verify of the synchronised 1 GiB disk"
awk -v v="$VERIFY" -v c="$VCOMPARED" -v m="$MISMATCHED" -v sc="$(jq .comparedBytes <<<"$S2")" \
  -v sm="$(jq .elapsedMillis <<<"$S2")" 'BEGIN {
  printf "verify:                           %6.2f s  %7.1f MiB/s compared, %s mismatched chunks\n", v, c / v / 1048576, m
  printf "the sync again, by its status:    %6.2f s  %7.1f MiB/s compared\n", sm / 1000, sc / (sm / 1000) / 1048576
  printf "ratio verify rate / sync compare rate: %.2f (target >= 0.8)\n", (c / v) / (sc / (sm / 1000)) }'
echo "ratio verify rate / full resync compare rate: $(median "${VERIFY_RATIOS[@]}") median of $ROUNDS (${VERIFY_RATIOS[*]}) (target >= 0.8)"
echo "== Resynchronisation after a restart of the primary's process, 10 MiB (1%) of 1 GiB changed"
echo "bitmap: $(printf %.0f "$(median "${BITMAP_MS[@]}")") ms, full hash pass: $(printf %.0f "$(median "${FULL_MS[@]}")") ms (medians of $ROUNDS; ${BITMAP_MS[*]} / ${FULL_MS[*]})"
echo "bitmap read $(median "${READ_SHARES[@]}")% and copied $(median "${COPY_SHARES[@]}")% of the disk (target <= 2%)"
echo "ratio time bitmap/full: $(median "${TIME_RATIOS[@]}") median of $ROUNDS (${TIME_RATIOS[*]}) (target <= 0.05)"
awk -v b="$(median "${BITMAP_MS[@]}")" -v w="$(jq .elapsedMillis <<<"$S2")" 'BEGIN {
  printf "ratio time bitmap/full pass in the warm primary of the sync again (%d ms): %.4f (target <= 0.05)\n", w, b / w }'
echo "the same 10 MiB contiguous, in one activity-log extent: $(printf %.0f "$(median "${RUN_MS[@]}")") ms (median of $ROUNDS; ${RUN_MS[*]})"
echo "after the last resync and a checkpoint, primary and secondary disks are $RESYNC_SAME"

for n in "${!PID_OF[@]}"; do stop_node "$n"; done
echo "== In process: checkpoint and failover commit"
java -Xmx1g --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp "$CP" dev.lockstep.bench.ReplicationBenchmark "$WORK/inproc"
