#!/usr/bin/env bash
# Start-up: the time from process start to readiness UP (GET /actuator/health/readiness answers 200),
# with the default configuration and one 1 GiB disk, as a pod starts. Each variant runs in paired rounds
# (round i runs every variant once, in turn), and the median of the rounds is printed, with the
# process's CPU time (user + system) at readiness, which the load of a shared machine disturbs less.
#  - jar:  java -jar target/lockstep-*.jar, the plain fat jar;
#  - cds:  the jar extracted (java -Djarmode=tools -jar ... extract) and started with a class data
#          sharing archive from a training run (-XX:ArchiveClassesAtExit, -Dspring.context.exit=onRefresh),
#          as the container image does;
#  - cds+late: the same with the C2 compiler's Tier4 thresholds raised a hundredfold, measured only:
#          code that runs only while the context starts stays in C1, but so does code that runs a few
#          hundred times a second for good (docs/benchmarks.md);
#  - cds+c1: CDS with -XX:TieredStopAtLevel=1, measured only: it trades peak throughput for start-up;
#  - base: the floor, bench/StartupBaseline.java started like cds (its own training run and archive): the
#          same jars and application.yaml, Spring Boot with every auto-configuration Lockstep gets, but none
#          of Lockstep's beans. What Lockstep's own beans add is cds minus base; base+late is the same
#          with the raised C2 thresholds.
# Each run is killed after RUN_TIMEOUT seconds (default 60) and then counts as a failure.
# Usage: bench/startup.sh [rounds, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
PORT=${BENCH_PORT:-18470}

[ -n "${SKIP_BUILD:-}" ] || ./mvnw -q -B -DskipTests package
JAR=$(realpath "$(ls target/lockstep-*.jar | grep -v original | head -1)")
WORK=$(mktemp -d)
PID=
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The raised C2 thresholds of cds+late and base+late.
LATE="-XX:Tier4InvocationThreshold=500000 -XX:Tier4MinInvocationThreshold=60000 -XX:Tier4CompileThreshold=1500000 -XX:Tier4BackEdgeThreshold=4000000"
ARGS=(--server.address=127.0.0.1 --lockstep.security.api-token=startup-token --logging.level.root=WARN)
java -Djarmode=tools -jar "$JAR" extract --destination "$WORK/extracted" >/dev/null
EXTRACTED="$WORK/extracted/$(basename "$JAR")"
mkdir -p "$WORK/train"
(cd "$WORK/train" && java -XX:ArchiveClassesAtExit="$WORK/extracted/application.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \
  -Dspring.context.exit=onRefresh -jar "$EXTRACTED" "${ARGS[@]}" --server.port="$PORT" \
  --lockstep.block.nbd.port=$((PORT + 1)) >"$WORK/train.log" 2>&1) \
  || { echo "CDS training run failed:"; tail -20 "$WORK/train.log"; exit 1; }

# The baseline is compiled against the extracted jar's class path and packaged as a jar (class data sharing
# takes jars only), then trained like the application.
mkdir -p "$WORK/baseline-classes" "$WORK/train-base"
javac -d "$WORK/baseline-classes" -cp "$EXTRACTED:$(ls "$WORK"/extracted/lib/*.jar | tr '\n' :)" bench/StartupBaseline.java
jar cf "$WORK/baseline.jar" -C "$WORK/baseline-classes" .
BASE_CP="$WORK/baseline.jar:$EXTRACTED"
# Its health groups hold only the states that Spring Boot itself contributes.
BASE_ARGS="--management.endpoint.health.group.liveness.include=livenessState --management.endpoint.health.group.readiness.include=readinessState"
(cd "$WORK/train-base" && java -XX:ArchiveClassesAtExit="$WORK/baseline.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \
  -Dspring.context.exit=onRefresh -cp "$BASE_CP" startup.baseline.StartupBaseline $BASE_ARGS "${ARGS[@]}" --server.port="$PORT" \
  >"$WORK/train-base.log" 2>&1) || { echo "CDS training run of the baseline failed:"; tail -20 "$WORK/train-base.log"; exit 1; }

variant() { # name -> java arguments
  case "$1" in
    jar) echo "-jar $JAR" ;;
    cds) echo "-XX:SharedArchiveFile=$WORK/extracted/application.jsa -jar $EXTRACTED" ;;
    cds+late) echo "-XX:SharedArchiveFile=$WORK/extracted/application.jsa $LATE -jar $EXTRACTED" ;;
    cds+c1) echo "-XX:SharedArchiveFile=$WORK/extracted/application.jsa -XX:TieredStopAtLevel=1 -jar $EXTRACTED" ;;
    base) echo "-XX:SharedArchiveFile=$WORK/baseline.jsa -cp $BASE_CP startup.baseline.StartupBaseline $BASE_ARGS" ;;
    base+late) echo "-XX:SharedArchiveFile=$WORK/baseline.jsa $LATE -cp $BASE_CP startup.baseline.StartupBaseline $BASE_ARGS" ;;
  esac
}
VARIANTS=(${VARIANTS:-jar cds cds+late cds+c1 base base+late})

run() { # variant -> "milliseconds cpu-milliseconds" or "fail"
  local dir="$WORK/run" start ms="" ticks
  rm -rf "$dir"; mkdir -p "$dir"
  start=$(date +%s%N)
  # shellcheck disable=SC2046
  (cd "$dir" && exec java $(variant "$1") "${ARGS[@]}" --server.port="$PORT" \
    --lockstep.block.nbd.port=$((PORT + 1)) >"$dir/log" 2>&1) &
  PID=$!
  while [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt "$RUN_TIMEOUT" ] && kill -0 "$PID" 2>/dev/null; do
    if curl -sf -o /dev/null "http://127.0.0.1:$PORT/actuator/health/readiness"; then
      ms=$(( ($(date +%s%N) - start) / 1000000 ))
      break
    fi
    sleep 0.02
  done
  ticks=$(awk '{print $14 + $15}' "/proc/$PID/stat" 2>/dev/null || echo 0)
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
  if [ -n "$ms" ]; then echo "$ms $(( ticks * 1000 / $(getconf CLK_TCK) ))"; else echo fail; fi
}

median() { sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'; }

echo "== start to readiness UP, $ROUNDS paired rounds; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  line="round $round:"
  for v in "${VARIANTS[@]}"; do
    r=$(run "$v")
    echo "$r" >>"$WORK/$v.txt"
    line="$line  $v ${r/ / ms, cpu } ms"
  done
  echo "$line  (load $(cut -d' ' -f1 /proc/loadavg))"
done
for v in "${VARIANTS[@]}"; do
  printf '%-7s median %s ms to readiness, cpu %s ms, failures %s\n' "$v" \
    "$(grep -v fail "$WORK/$v.txt" | awk '{print $1}' | median)" \
    "$(grep -v fail "$WORK/$v.txt" | awk '{print $2}' | median)" "$(grep -c fail "$WORK/$v.txt" || true)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
