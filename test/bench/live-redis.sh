#!/usr/bin/env bash
# Live capture cost: redis-benchmark as fast as it goes on loopback, watched by
# tcpkit --ebpf, by tcpkit on libpcap, and by tcpdump -w /dev/null with the
# same filter. Reports requests seen against requests sent, kernel-side
# losses, and CPU seconds per million requests. Then a heavy flow on another
# port, which tcpkit --ebpf should neither see in user space nor pay for.
#
#   bash test/bench/live-redis.sh
#
# Environment: BENCH_REQUESTS (per run, default 200000), BENCH_CLIENTS (50),
# BENCH_PIPELINE (redis-benchmark -P, default 1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
REQUESTS=${BENCH_REQUESTS:-200000}
CLIENTS=${BENCH_CLIENTS:-50}
PIPELINE=${BENCH_PIPELINE:-1}
PORT=6379
OTHER=6390

log() { printf 'live-redis: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (live capture, network namespaces)"
for tool in node ip redis-server redis-benchmark redis-cli tcpdump; do
  command -v "$tool" >/dev/null || die "$tool is not installed (make setup installs it)"
done
[ -f "$CLI" ] || die "$CLI is missing: run 'make build' first"

NS="tk-lbench-$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tk-lbench.XXXXXX")
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
for p in $PORT $OTHER; do
  nsx redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --logfile "$WORK/redis-$p.log" --pidfile "$WORK/redis-$p.pid"
done
for i in $(seq 1 50); do
  [ "$(nsx redis-cli -p $PORT ping 2>/dev/null)" = PONG ] && [ "$(nsx redis-cli -p $OTHER ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done

HZ=$(getconf CLK_TCK)
# cpu PID: user+system seconds of the process (all its threads) so far.
cpu() { awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# bench PORT: redis-benchmark on PORT; prints requests/s.
bench() {
  nsx redis-benchmark -p "$1" -t set,get -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -q 2>/dev/null |
    tr '\r' '\n' | grep 'requests per second' | awk '{ s += $2 } END { printf "%.0f", s / NR }'
}

# watch NAME PORT_TO_LOAD CMD...: runs CMD in the namespace while
# redis-benchmark loads PORT_TO_LOAD; reports its CPU and what it saw.
watch() {
  local name=$1 load=$2; shift 2
  local f
  f=$(printf '%s' "$name" | tr -c 'a-zA-Z0-9' '_')
  ip netns exec "$NS" "$@" >"$WORK/$f.out" 2>"$WORK/$f.err" &
  local pid=$!
  for i in $(seq 1 100); do
    grep -qE 'capturing with|listening on' "$WORK/$f.err" 2>/dev/null && break
    sleep 0.05
  done
  local c0 rps c1
  c0=$(cpu "$pid")
  rps=$(bench "$load")
  sleep 0.5
  c1=$(cpu "$pid")
  kill -INT "$pid"
  wait "$pid" || true
  local used sent
  used=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
  sent=$((REQUESTS * 2)) # set + get
  local seen="-"
  if grep -q '^requests:' "$WORK/$f.err"; then
    seen=$(sed -n 's/^requests: \([0-9]*\) answered.*/\1/p' "$WORK/$f.err")
  fi
  local drops
  drops=$(sed -n -e 's/.* sent up, \([0-9]*\) lost.*/ring lost \1/p' \
    -e 's/.* delivered, \([0-9]*\) dropped (buffer full).*/dropped \1/p' \
    -e 's/^\([0-9]*\) packets dropped by kernel/dropped \1/p' "$WORK/$f.err" | head -1)
  printf '%-34s %10s %9s %9s %12s  %s\n' "$name" "$rps" "$sent" "$seen" \
    "$(awk -v u="$used" -v n="$sent" 'BEGIN { printf "%.2f", u / n * 1e6 }')" "${drops:--}"
  cp "$WORK/$f.err" "$WORK/last.err"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), node $(node --version)"
echo "load: redis-benchmark -t set,get -n $REQUESTS -c $CLIENTS -P $PIPELINE on 127.0.0.1 in a namespace"
echo
printf '%-34s %10s %9s %9s %12s  %s\n' watcher "req/s" sent reported "cpu s/Mreq" "kernel drops"
printf '%-34s %10s %9s %9s %12s  %s\n' "(nobody)" "$(bench $PORT)" "$((REQUESTS * 2))" - - -
watch "tcpkit --ebpf -i lo" $PORT node "$CLI" --ebpf -i lo -p $PORT -m redis -o /dev/null
watch "tcpkit (libpcap) -i lo" $PORT node "$CLI" -i lo -p $PORT -m redis -o /dev/null
watch "tcpdump -i lo -w /dev/null" $PORT tcpdump -i lo -nn -s 0 -w /dev/null "tcp and (port $PORT)"
echo
echo "unrelated traffic: redis-benchmark on port $OTHER, tcpkit watching $PORT"
watch "tcpkit --ebpf, other port" $OTHER node "$CLI" --ebpf -i lo -p $PORT -m redis -o /dev/null
grep '^tcpkit: ebpf:' "$WORK/last.err" | sed 's/^/  /'
watch "tcpkit (libpcap), other port" $OTHER node "$CLI" -i lo -p $PORT -m redis -o /dev/null
grep '^tcpkit: libpcap:' "$WORK/last.err" | sed 's/^/  /'
