#!/usr/bin/env bash
# Soak: a replicated pair on loopback under steady load for a bounded time (default 300 s):
#  - lock-step checkpoints at 200/s in all (primary then secondary),
#  - status and error queries, and liveness/readiness probes at Kubernetes rates, on both nodes,
#  - fio 4k random read/write against the primary's disk export.
# It reports requests by status, p50/p99/p999 latencies, RSS and heap at the start and the end, and
# finishes with a data check: after a last checkpoint the secondary's view must equal the primary's
# disk (qemu-img compare), and fio's own verify pass must succeed.
# The nodes run with the JVM options the Helm chart ships by default (JAVA_TOOL_OPTIONS in
# helm/lockstep/values.yaml and the container's MALLOC_ARENA_MAX), or SOAK_JVM_OPTIONS when set; GC
# pauses are logged and summed up at the end (count, total, longest).
# Usage: bench/soak.sh [seconds, default 300]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-300}
TOKEN=soak-token
P_HTTP=18201; P_NBD=18301; S_HTTP=18202; S_NBD=18302
# The chart's defaults, with its 768Mi memory limit: -XX:MaxRAMPercentage=30 of it is -Xmx230m, and
# -XX:InitialRAMPercentage=12 is -Xms92m.
JVM_OPTIONS=${SOAK_JVM_OPTIONS:--Xmx230m -Xms92m -XX:MetaspaceSize=80m -XX:+UseG1GC -XX:MaxDirectMemorySize=288m -XX:MaxMetaspaceSize=160m -XX:+ExitOnOutOfMemoryError}
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}

need=()
command -v fio >/dev/null 2>&1 || need+=(fio)
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
if [ ${#need[@]} -gt 0 ]; then apt-get update && apt-get install -y "${need[@]}"; fi

[ -n "${SKIP_BUILD:-}" ] || ./mvnw -q -B -DskipTests package
JAR=$(ls target/lockstep-*.jar | grep -v original | head -1)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

node() { # name http nbd peer-nbd
  mkdir -p "$WORK/$1"
  # shellcheck disable=SC2086
  java $JVM_OPTIONS -Xlog:gc:file="$WORK/$1-gc.log" -jar "$JAR" --server.port="$2" --server.address=127.0.0.1 \
    --lockstep.security.api-token=$TOKEN --lockstep.block.nbd.port="$3" \
    --lockstep.block.disks[0].name=disk0 --lockstep.block.disks[0].path="$WORK/$1/disk0.img" \
    --lockstep.block.disks[0].size=256MiB --lockstep.block.peer=nbd://127.0.0.1:"$4" \
    --logging.level.root=WARN > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
ready() { # port: up to 180 s, since a loaded machine starts slowly
  for _ in $(seq 1 360); do curl -sf "http://127.0.0.1:$1/actuator/health/liveness" >/dev/null && return 0; sleep 0.5; done
  echo "the node on port $1 did not start within 180 s"; return 1
}
usage() { # port pid
  heap=$(curl -sf "http://127.0.0.1:$1/actuator/prometheus" \
    | awk 'index($0, "jvm_memory_used_bytes{area=\"heap\"") == 1 {s += $NF} END {printf "%.0f", s / 1048576}')
  rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$2/status")
  echo "rss ${rss} MiB, heap ${heap} MiB"
}

node secondary $S_HTTP $S_NBD $P_NBD; S_PID=${PIDS[-1]}
node primary $P_HTTP $P_NBD $S_NBD; P_PID=${PIDS[-1]}
ready $S_HTTP; ready $P_HTTP
api -X POST "http://127.0.0.1:$S_HTTP/api/v1/replication/start" -d '{"mode":"secondary"}' >/dev/null
api -X POST "http://127.0.0.1:$P_HTTP/api/v1/replication/start" -d '{"mode":"primary"}' >/dev/null
echo "== start: primary $(usage $P_HTTP $P_PID); secondary $(usage $S_HTTP $S_PID)"

fio --name=soak --ioengine=nbd --uri="nbd://127.0.0.1:$P_NBD/disk0" --rw=randrw --bs=4k --iodepth=8 \
  --size=256M --time_based --runtime="$SECONDS_TO_RUN" --norandommap --output="$WORK/fio.txt" &
FIO=$!
python3 bench/soak_load.py $P_HTTP $S_HTTP $TOKEN "$SECONDS_TO_RUN" 200 > "$WORK/load.json"
wait $FIO

echo "== end:   primary $(usage $P_HTTP $P_PID); secondary $(usage $S_HTTP $S_PID)"
gc() { # name: GC pauses from the unified log's "Pause ... 12.345ms" lines
  awk '/Pause/ && match($NF, /^[0-9.]+ms$/) {t = $NF + 0; n++; s += t; if (t > m) m = t}
    END {printf "%d pauses, %.0f ms in all, longest %.1f ms", n, s, m}' "$WORK/$1-gc.log"
}
if [[ $JVM_OPTIONS == *NativeMemoryTracking* ]]; then
  echo "== primary's native memory (committed)"
  jcmd "$P_PID" VM.native_memory summary scale=MB | grep -E '^(Total|-)' | sed 's/(reserved=[0-9]*MB, /(/'
fi
echo "== gc:    primary $(gc primary); secondary $(gc secondary)"
echo "== JVM options: $JVM_OPTIONS (MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX)"
echo "== requests by status and latencies"
cat "$WORK/load.json"
echo "== fio"
grep -E "read:|write:|err=" "$WORK/fio.txt" | sed 's/^ */  /'

echo "== data check"
fio --name=verify --ioengine=nbd --uri="nbd://127.0.0.1:$P_NBD/disk0" --rw=write --bs=64k --size=64M \
  --verify=crc32c --do_verify=1 --output="$WORK/verify.txt" && echo "fio verify on the primary: ok" \
  || { echo "fio verify on the primary: FAILED"; cat "$WORK/verify.txt"; exit 1; }
api -X POST "http://127.0.0.1:$P_HTTP/api/v1/replication/checkpoint" >/dev/null
api -X POST "http://127.0.0.1:$S_HTTP/api/v1/replication/checkpoint" >/dev/null
if qemu-img compare -f raw -F raw "nbd://127.0.0.1:$P_NBD/disk0" "nbd://127.0.0.1:$S_NBD/disk0"; then
  echo "secondary view equals the primary after the last checkpoint: ok"
else
  echo "secondary view differs from the primary: FAILED"; exit 1
fi
python3 - "$WORK/load.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
fivexx = sum(n for kind in summary.values() for code, n in kind["status"].items() if not code.startswith(("2", "4")))
print(f"5xx or transport errors: {fivexx} (target 0)")
sys.exit(1 if fivexx else 0)
PY
