#!/usr/bin/env bash
# Benchmarks Lockstep's NBD export against qemu-nbd and nbdkit's file plugin on
# the same 1 GiB raw file, in one run, over loopback:
#   - sequential read and write of the whole disk with nbdcopy (best of 3),
#   - 4k random read and write with fio's nbd engine at iodepth 1 and 16.
# Prints each figure and the ratios Lockstep/qemu-nbd and Lockstep/nbdkit.
#
# Usage: bench/nbd.sh [workdir]    (env: FIO_RUNTIME=5, MVN_FLAGS=-o, SKIP_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."

FIO_RUNTIME=${FIO_RUNTIME:-5}
SIZE_MIB=1024
WORK=${1:-$(mktemp -d /tmp/lockstep-bench.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

need=()
command -v nbdkit   >/dev/null 2>&1 || need+=(nbdkit)
command -v qemu-nbd >/dev/null 2>&1 || need+=(qemu-utils)
command -v nbdcopy  >/dev/null 2>&1 || need+=(libnbd-bin)
command -v fio      >/dev/null 2>&1 || need+=(fio)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${SKIP_BUILD:-}" ]; then
  ./mvnw -q ${MVN_FLAGS:-} -DskipTests package
fi
JAR=$(ls target/lockstep-*.jar | grep -v original | head -1)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() { # uri
  for _ in $(seq 1 240); do
    nbdinfo "$1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "server at $1 did not come up" >&2; exit 1
}

stop_server() {
  local pid=${pids[-1]}
  kill "$pid"; wait "$pid" 2>/dev/null || true
  unset 'pids[-1]'
}

echo "Preparing ${SIZE_MIB} MiB of random data in $WORK ..."
DISK="$WORK/disk.img"
SRC="$WORK/source.img"
[ -f "$SRC" ] || dd if=/dev/urandom of="$SRC" bs=1M count=$SIZE_MIB status=none
cp "$SRC" "$DISK"
rm -f "$DISK.allocmap"

seconds() { python3 -c 'import time; print(time.monotonic())'; }

copy_rate() { # source target -> MiB/s, best of 3
  local best=0
  for _ in 1 2 3; do
    local start end rate
    start=$(seconds)
    timeout 120 nbdcopy "$1" "$2"
    end=$(seconds)
    rate=$(python3 -c "print(round($SIZE_MIB/($end-$start)))")
    [ "$rate" -gt "$best" ] && best=$rate
  done
  echo "$best"
}

fio_iops() { # uri rw depth -> IOPS
  local field=8
  [ "$2" = randwrite ] && field=49
  timeout $((FIO_RUNTIME + 60)) fio --name=bench --ioengine=nbd --uri="$1" --rw="$2" --bs=4k --iodepth="$3" \
    --size=${SIZE_MIB}M --runtime="$FIO_RUNTIME" --ramp_time=1 --time_based --norandommap --randrepeat=0 \
    --output-format=terse --terse-version=3 2>/dev/null | awk -F';' -v f=$field '/^3;/{printf "%d\n", $f}'
}

declare -A R
measure() { # name uri
  echo "Measuring $1 ..."
  R[$1,read]=$(copy_rate "$2" null:)
  R[$1,write]=$(copy_rate "$SRC" "$2")
  R[$1,rr1]=$(fio_iops "$2" randread 1)
  R[$1,rw1]=$(fio_iops "$2" randwrite 1)
  R[$1,rr16]=$(fio_iops "$2" randread 16)
  R[$1,rw16]=$(fio_iops "$2" randwrite 16)
}

# Lockstep
PORT=$(free_port)
java -jar "$JAR" --server.port=0 --lockstep.block.nbd.port="$PORT" \
  --lockstep.block.disks[0].name=disk0 --lockstep.block.disks[0].path="$DISK" \
  --lockstep.block.disks[0].size=${SIZE_MIB}MiB --logging.level.root=WARN >"$WORK/lockstep.log" 2>&1 &
pids+=($!)
wait_ready "nbd://127.0.0.1:$PORT/disk0"
measure lockstep "nbd://127.0.0.1:$PORT/disk0"
stop_server

# qemu-nbd (writeback cache, up to 8 clients so nbdcopy can use several connections)
PORT=$(free_port)
qemu-nbd -t -f raw -x disk0 -b 127.0.0.1 -p "$PORT" -e 8 --cache=writeback "$DISK" >"$WORK/qemu-nbd.log" 2>&1 &
pids+=($!)
wait_ready "nbd://127.0.0.1:$PORT/disk0"
measure qemu "nbd://127.0.0.1:$PORT/disk0"
stop_server

# nbdkit file plugin
PORT=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$PORT" file "$DISK" >"$WORK/nbdkit.log" 2>&1 &
pids+=($!)
wait_ready "nbd://127.0.0.1:$PORT/"
measure nbdkit "nbd://127.0.0.1:$PORT/"
stop_server

ratio() { python3 -c "print(f'{$1/$2:.2f}x' if $2 else 'n/a')"; }

echo
echo "Machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -1)"
printf '%-28s %10s %10s %10s %12s %12s\n' "test" "lockstep" "qemu-nbd" "nbdkit" "vs qemu-nbd" "vs nbdkit"
row() { # label key unit
  printf '%-28s %10s %10s %10s %12s %12s\n' "$1 ($3)" "${R[lockstep,$2]}" "${R[qemu,$2]}" "${R[nbdkit,$2]}" \
    "$(ratio "${R[lockstep,$2]}" "${R[qemu,$2]}")" "$(ratio "${R[lockstep,$2]}" "${R[nbdkit,$2]}")"
}
row "nbdcopy sequential read" read MiB/s
row "nbdcopy sequential write" write MiB/s
row "fio 4k randread qd1" rr1 IOPS
row "fio 4k randwrite qd1" rw1 IOPS
row "fio 4k randread qd16" rr16 IOPS
row "fio 4k randwrite qd16" rw16 IOPS
echo
echo "Targets: sequential >= 1.0x nbdkit; random 4k qd16 >= 1.0x qemu-nbd."
rm -f "$DISK" "$DISK.allocmap"
