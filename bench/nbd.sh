#!/usr/bin/env bash
# Benchmarks Lockstep's NBD export against qemu-nbd and nbdkit's file plugin on
# the same 1 GiB raw file, over loopback, in paired rounds (the three servers back to
# back in each round, order rotated between rounds):
#   - sequential read and write of the whole disk with nbdcopy,
#   - 4k random read and write with fio's nbd engine at iodepth 16 (and 1 with QD1=1).
# Prints the median of each figure, the ratios of the medians Lockstep/qemu-nbd and
# Lockstep/nbdkit, and the range of the per-round ratios to nbdkit.
# The nbdcopy rounds also run a bare endpoint: nbdkit's null plugin (behind its noextents
# filter, so that nbdcopy reads every block), a server that does no disk I/O at all. Each
# copy records the CPU seconds per GiB of the server (from /proc) and of nbdcopy; with the
# page-cache copy measured on its own, the script prints how much CPU per GiB 1.1x nbdkit
# would leave a server against the floor of a server of a file: the bare endpoint's socket
# work plus that copy.
# Then TLS: Lockstep with NBD_OPT_STARTTLS (mode required, client certificates wanted)
# against qemu-nbd --object tls-creds-x509 on the same certificates (made here with
# openssl) and against Lockstep in plaintext, in paired rounds (the three back to back,
# order rotated), reporting medians.
#
# Usage: bench/nbd.sh [workdir]
#   env: ROUNDS=5, FIO_RUNTIME=5, MVN_FLAGS=-o, SKIP_BUILD=1, SIZE_MIB=1024, QD1=1,
#        TLS_ROUNDS=3 (0 skips TLS), TLS_ONLY=1 (skips the plaintext comparison)
set -euo pipefail
cd "$(dirname "$0")/.."

FIO_RUNTIME=${FIO_RUNTIME:-5}
ROUNDS=${ROUNDS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
TLS_ROUNDS=${TLS_ROUNDS:-3}
WORK=${1:-$(mktemp -d /tmp/lockstep-bench.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
rm -f "$WORK"/cpu-* "$WORK"/client-*

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
  rm -f "$WORK"/cpu-* "$WORK"/client-* "$WORK/floor.img" "$WORK"/lockstep.img* "$WORK/qemu.img" "$WORK/nbdkit.img" "$WORK"/lockstep-tls.img* "$WORK/qemu-tls.img"
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

echo "Preparing ${SIZE_MIB} MiB of random data in $WORK ..."
SRC="$WORK/source.img"
[ -f "$SRC" ] || dd if=/dev/urandom of="$SRC" bs=1M count=$SIZE_MIB status=none
# Each server gets its own copy of the same 1 GiB file (qemu-nbd and Lockstep both lock their image), and all
# three run at once so that every test is measured on the three back to back: on a shared, noisy machine this
# keeps load changes from favouring whichever server happens to run first.
for name in lockstep qemu nbdkit lockstep-tls qemu-tls; do
  cp "$SRC" "$WORK/$name.img"
done
rm -f "$WORK/lockstep.img.allocmap" "$WORK/lockstep-tls.img.allocmap"

seconds() { python3 -c 'import time; print(time.monotonic())'; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# source target [server-name test] -> MiB/s; appends the CPU seconds per GiB copied of the server and of
# nbdcopy to $WORK/cpu-<server>-<test> and $WORK/client-<server>-<test> (the caller runs this in a subshell)
copy_rate() {
  local start end c0=0 c1=0 client
  [ -z "${3:-}" ] || c0=$(cpu_ticks "${PID[$3]}")
  start=$(seconds)
  client=$( { TIMEFORMAT='%U %S'; time timeout 120 nbdcopy "$1" "$2" 2>&3; } 3>&2 2>&1 )
  end=$(seconds)
  if [ -n "${3:-}" ]; then
    c1=$(cpu_ticks "${PID[$3]}")
    python3 -c "print(($c1 - $c0) / $(getconf CLK_TCK) * 1024 / $SIZE_MIB)" >>"$WORK/cpu-$3-$4"
    python3 -c "u, s = '$client'.split(); print((float(u) + float(s)) * 1024 / $SIZE_MIB)" >>"$WORK/client-$3-$4"
  fi
  python3 -c "print(round($SIZE_MIB/($end-$start)))"
}

# The CPU seconds per GiB of the copy between the page cache and a process that any server of a file
# pays: pread and pwrite of 256 KiB over a cached file, median of 3; prints "read write".
page_cache_cpu() {
  cp "$SRC" "$WORK/floor.img"
  python3 - "$WORK/floor.img" "$SIZE_MIB" <<'PY'
import os, resource, statistics, sys
path, size, chunk = sys.argv[1], int(sys.argv[2]) << 20, 256 << 10
view = memoryview(bytearray(os.urandom(chunk)))
fd = os.open(path, os.O_RDWR)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
runs = {"read": [], "write": []}
for _ in range(3):
    for kind in runs:
        start = cpu()
        for offset in range(0, size, chunk):
            os.preadv(fd, [view], offset) if kind == "read" else os.pwrite(fd, view, offset)
        runs[kind].append((cpu() - start) * (1 << 30) / size)
os.close(fd)
print(f"{statistics.median(runs['read']):.2f} {statistics.median(runs['write']):.2f}")
PY
  rm -f "$WORK/floor.img"
}

fio_iops() { # uri rw depth -> IOPS
  local field=8 uri=$1
  [ "$2" = randwrite ] && field=49
  # fio's nbd engine may not read local files named in the URI: over TLS it goes without a client
  # certificate and without checking the server's (the encryption is the same).
  case "$uri" in nbds://*) uri="${uri%%\?*}?tls-verify-peer=false" ;; esac
  timeout $((FIO_RUNTIME + 60)) fio --name=bench --ioengine=nbd --uri="$uri" --rw="$2" --bs=4k --iodepth="$3" \
    --size=${SIZE_MIB}M --runtime="$FIO_RUNTIME" --ramp_time=1 --time_based --norandommap --randrepeat=0 \
    --output-format=terse --terse-version=3 2>/dev/null | awk -F';' -v f=$field '/^3;/{printf "%d\n", $f}'
}

declare -A URI PID
PORT=$(free_port)
java -jar "$JAR" --server.port=0 --lockstep.block.nbd.port="$PORT" \
  --lockstep.block.disks[0].name=disk0 --lockstep.block.disks[0].path="$WORK/lockstep.img" \
  --lockstep.block.disks[0].size=${SIZE_MIB}MiB --logging.level.root=WARN >"$WORK/lockstep.log" 2>&1 &
pids+=($!)
PID[lockstep]=$!
URI[lockstep]="nbd://127.0.0.1:$PORT/disk0"

# qemu-nbd with a writeback cache, up to 8 clients so that nbdcopy can open several connections.
PORT=$(free_port)
qemu-nbd -t -f raw -x disk0 -b 127.0.0.1 -p "$PORT" -e 8 --cache=writeback "$WORK/qemu.img" >"$WORK/qemu-nbd.log" 2>&1 &
pids+=($!)
PID[qemu]=$!
URI[qemu]="nbd://127.0.0.1:$PORT/disk0"

PORT=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$PORT" file "$WORK/nbdkit.img" >"$WORK/nbdkit.log" 2>&1 &
pids+=($!)
PID[nbdkit]=$!
URI[nbdkit]="nbd://127.0.0.1:$PORT/"

PORT=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$PORT" --filter=noextents null "${SIZE_MIB}M" >"$WORK/nbdkit-null.log" 2>&1 &
pids+=($!)
PID[null]=$!
URI[null]="nbd://127.0.0.1:$PORT/"

for name in lockstep qemu nbdkit null; do wait_ready "${URI[$name]}"; done

declare -A T
add() { T[$1]="${T[$1]:-} $2"; }
median() { python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(round(statistics.median(v)) if v else 0)" ${T[$1]:-}; }
ratio() { python3 -c "print(f'{$1/$2:.2f}x' if $2 else 'n/a')"; }
# The spread of the per-round ratios of one server (default Lockstep) to another (each round runs the servers
# back to back).
spread() { # key other [first]
  python3 -c "
import sys
a=[float(x) for x in sys.argv[1].split()]; b=[float(x) for x in sys.argv[2].split()]
r=sorted(x/y for x,y in zip(a,b) if y)
print(f'{r[0]:.2f}-{r[-1]:.2f}' if r else 'n/a')" "${T[${3:-lockstep},$1]:-}" "${T[$2,$1]:-}"
}
if [ -z "${TLS_ONLY:-}" ]; then
order=(lockstep qemu nbdkit null)
rotate() { order=("${order[@]:1}" "${order[0]}"); }
tests=("rr16 randread 16" "rw16 randwrite 16")
[ -n "${QD1:-}" ] && tests+=("rr1 randread 1" "rw1 randwrite 1")

echo "$ROUNDS paired rounds: nbdcopy read and write, fio 4k randread/randwrite qd16 (${FIO_RUNTIME} s), servers back to back, order rotated ..."
for round in $(seq 1 "$ROUNDS"); do
  for name in "${order[@]}"; do add "$name,read" "$(copy_rate "${URI[$name]}" null: "$name" read)"; done
  for name in "${order[@]}"; do add "$name,write" "$(copy_rate "$SRC" "${URI[$name]}" "$name" write)"; done
  for test in "${tests[@]}"; do
    set -- $test
    for name in "${order[@]}"; do
      [ "$name" = null ] || add "$name,$1" "$(fio_iops "${URI[$name]}" "$2" "$3")"
    done
  done
  echo "  round $round:" "lockstep read=${T[lockstep,read]##* } write=${T[lockstep,write]##* }" \
    "rr16=${T[lockstep,rr16]##* } rw16=${T[lockstep,rw16]##* };" \
    "nbdkit read=${T[nbdkit,read]##* } write=${T[nbdkit,write]##* } rr16=${T[nbdkit,rr16]##* } rw16=${T[nbdkit,rw16]##* };" \
    "bare endpoint read=${T[null,read]##* } write=${T[null,write]##* }"
  rotate
done

echo
echo "Machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -1); medians of $ROUNDS rounds"
printf '%-32s %10s %10s %10s %12s %12s %16s\n' "test (median)" "lockstep" "qemu-nbd" "nbdkit" "vs qemu-nbd" "vs nbdkit" "rounds vs nbdkit"
row() { # label key unit
  local l q k
  l=$(median "lockstep,$2"); q=$(median "qemu,$2"); k=$(median "nbdkit,$2")
  printf '%-32s %10s %10s %10s %12s %12s %16s\n' "$1 ($3)" "$l" "$q" "$k" "$(ratio "$l" "$q")" "$(ratio "$l" "$k")" "$(spread "$2" nbdkit)"
}
row "nbdcopy sequential read" read MiB/s
row "nbdcopy sequential write" write MiB/s
row "fio 4k randread qd16" rr16 IOPS
row "fio 4k randwrite qd16" rw16 IOPS
if [ -n "${QD1:-}" ]; then
  row "fio 4k randread qd1" rr1 IOPS
  row "fio 4k randwrite qd1" rw1 IOPS
fi
cpu() { # file-prefix server test
  python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f'{statistics.median(v):.2f}' if v else 'n/a')" \
    $(cat "$WORK/$1-$2-$3" 2>/dev/null)
}
echo
echo "Bare endpoint (nbdkit null, no disk I/O) against nbdkit's file plugin"
printf '%-32s %10s %10s %12s %16s\n' "test (median)" "bare" "nbdkit" "bare/nbdkit" "rounds"
for key in read write; do
  b=$(median "null,$key"); k=$(median "nbdkit,$key")
  printf '%-32s %10s %10s %12s %16s\n' "nbdcopy sequential $key (MiB/s)" "$b" "$k" "$(ratio "$b" "$k")" \
    "$(spread "$key" nbdkit null)"
done
read -r PC_READ PC_WRITE < <(page_cache_cpu)
echo "CPU seconds per GiB copied (medians), server and nbdcopy:"
for key in read write; do
  printf '  %-5s lockstep %s + %s, qemu-nbd %s + %s, nbdkit %s + %s, bare %s + %s\n' "$key" \
    "$(cpu cpu lockstep "$key")" "$(cpu client lockstep "$key")" "$(cpu cpu qemu "$key")" "$(cpu client qemu "$key")" \
    "$(cpu cpu nbdkit "$key")" "$(cpu client nbdkit "$key")" "$(cpu cpu null "$key")" "$(cpu client null "$key")"
done
# The machine is CPU-bound during a copy, so time follows the CPU that server and client spend. To be 1.1x
# nbdkit with the same client CPU, a server may spend at most (client + nbdkit) / 1.1 - client per GiB. A
# server of a file spends at least what the bare endpoint spends on the socket plus the page-cache copy
# (the bare endpoint's reads also zero each buffer, so the read floor is a little high).
for key in read write; do
  pc=$PC_READ; [ "$key" = write ] && pc=$PC_WRITE
  python3 -c "
c, k, b, p = $(cpu client nbdkit "$key"), $(cpu cpu nbdkit "$key"), $(cpu cpu null "$key"), $pc
print(f'  {\"$key\":5} 1.1x nbdkit allows a server {(c + k) / 1.1 - c:.2f} CPU-s/GiB; floor: bare {b:.2f} + page-cache copy {p:.2f} = {b + p:.2f}')"
done
echo
echo "Targets: each figure >= 1.1x nbdkit (median of the paired rounds)."
fi

[ "$TLS_ROUNDS" -gt 0 ] || exit 0

echo
echo "TLS: certificates with openssl in $WORK/tls ..."
TLS="$WORK/tls"
mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench CA" -keyout "$TLS/ca-key.pem" \
  -out "$TLS/ca-cert.pem" 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout "$TLS/$who-key.pem" -out "$TLS/$who.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' \
    >"$TLS/$who.ext"
  openssl x509 -req -in "$TLS/$who.csr" -CA "$TLS/ca-cert.pem" -CAkey "$TLS/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$TLS/$who.ext" -out "$TLS/$who-cert.pem" 2>/dev/null
done

PORT=$(free_port)
java -jar "$JAR" --server.port=0 --lockstep.block.nbd.port="$PORT" \
  --lockstep.block.disks[0].name=disk0 --lockstep.block.disks[0].path="$WORK/lockstep-tls.img" \
  --lockstep.block.disks[0].size=${SIZE_MIB}MiB --logging.level.root=WARN \
  --lockstep.block.nbd.tls.mode=required --lockstep.block.nbd.tls.bundle=nbd \
  --lockstep.block.nbd.tls.client-auth=want \
  --spring.ssl.bundle.pem.nbd.keystore.certificate="file:$TLS/server-cert.pem" \
  --spring.ssl.bundle.pem.nbd.keystore.private-key="file:$TLS/server-key.pem" \
  --spring.ssl.bundle.pem.nbd.truststore.certificate="file:$TLS/ca-cert.pem" >"$WORK/lockstep-tls.log" 2>&1 &
pids+=($!)
URI[lockstep-tls]="nbds://127.0.0.1:$PORT/disk0?tls-certificates=$TLS"

PORT=$(free_port)
qemu-nbd -t -f raw -x disk0 -b 127.0.0.1 -p "$PORT" -e 8 --cache=writeback \
  --object "tls-creds-x509,id=tls0,endpoint=server,verify-peer=off,dir=$TLS" --tls-creds tls0 \
  "$WORK/qemu-tls.img" >"$WORK/qemu-nbd-tls.log" 2>&1 &
pids+=($!)
URI[qemu-tls]="nbds://127.0.0.1:$PORT/disk0?tls-certificates=$TLS"
for name in lockstep-tls qemu-tls; do wait_ready "${URI[$name]}"; done

unset T; declare -A T
torder=(lockstep-tls qemu-tls lockstep)
trotate() { torder=("${torder[@]:1}" "${torder[0]}"); }

echo "TLS: $TLS_ROUNDS paired rounds of nbdcopy read/write and fio 4k qd16 randread/randwrite (${FIO_RUNTIME} s) ..."
for _ in $(seq 1 "$TLS_ROUNDS"); do
  for name in "${torder[@]}"; do add "$name,read" "$(copy_rate "${URI[$name]}" null:)"; done
  for name in "${torder[@]}"; do add "$name,write" "$(copy_rate "$SRC" "${URI[$name]}")"; done
  for name in "${torder[@]}"; do add "$name,rr16" "$(fio_iops "${URI[$name]}" randread 16)"; done
  for name in "${torder[@]}"; do add "$name,rw16" "$(fio_iops "${URI[$name]}" randwrite 16)"; done
  trotate
done

echo
printf '%-28s %12s %12s %12s %14s %16s\n' "test (median)" "lockstep-tls" "qemu-nbd-tls" "lockstep" "vs qemu-tls" "vs own plaintext"
trow() { # label key unit
  local l q p
  l=$(median "lockstep-tls,$2"); q=$(median "qemu-tls,$2"); p=$(median "lockstep,$2")
  printf '%-28s %12s %12s %12s %14s %16s\n' "$1 ($3)" "$l" "$q" "$p" "$(ratio "$l" "$q")" "$(ratio "$l" "$p")"
}
trow "nbdcopy sequential read" read MiB/s
trow "nbdcopy sequential write" write MiB/s
trow "fio 4k randread qd16" rr16 IOPS
trow "fio 4k randwrite qd16" rw16 IOPS
echo
echo "Targets over TLS: >= 1.0x qemu-nbd with TLS; >= 0.5x Lockstep's own plaintext."
