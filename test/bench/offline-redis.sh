#!/usr/bin/env bash
# Offline throughput benchmark: tcpkit -r on a large capture of redis-benchmark
# traffic, against tcpdump -r (and tshark -r, when it is quick enough).
#
#   bash test/bench/offline-redis.sh
#
# The capture (at least BENCH_MIN_PACKETS packets) is recorded once, inside a
# network namespace of its own, and cached under BENCH_DIR; later runs reuse it.
#
# Environment:
#   BENCH_DIR          cache directory (default /tmp/tcpkit-bench)
#   BENCH_REQUESTS     redis-benchmark -n, per test (default 120000)
#   BENCH_MIN_PACKETS  the capture must hold at least this many (default 800000)
#   BENCH_RUNS         timed runs per tool, the best is reported (default 3)
#   BENCH_TSHARK       0 to skip tshark (default 1)
#   BENCH_TSHARK_LIMIT seconds after which tshark is given up (default 120)
#   BENCH_TARGET_PPS   tcpkit's target, packets/s (default 1000000)
#   BENCH_RECAPTURE    1 to record a new capture even if one is cached
#   BENCH_RECORD_ONLY  1 to make sure the capture is there, print its path, and stop
#                      (other benchmarks use the same capture)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
BENCH_DIR=${BENCH_DIR:-/tmp/tcpkit-bench}
BENCH_REQUESTS=${BENCH_REQUESTS:-120000}
BENCH_MIN_PACKETS=${BENCH_MIN_PACKETS:-800000}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TSHARK=${BENCH_TSHARK:-1}
BENCH_TSHARK_LIMIT=${BENCH_TSHARK_LIMIT:-120}
BENCH_TARGET_PPS=${BENCH_TARGET_PPS:-1000000}
BENCH_RECAPTURE=${BENCH_RECAPTURE:-0}

TESTS=set,get,incr,lpush
NTESTS=4
CLIENTS=50
PORT=6379

CAPTURE="$BENCH_DIR/redis-benchmark.pcap"
META="$BENCH_DIR/redis-benchmark.meta"

log() { printf 'offline-redis: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

for tool in node ip redis-server redis-benchmark redis-cli tcpdump; do
  command -v "$tool" >/dev/null || die "$tool is not installed (make setup installs it)"
done
[ -f "$CLI" ] || die "$CLI is missing: run 'make build' first"

# --- cleanup: every process we started, and the namespace ------------------

NS=""
PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tk-bench.XXXXXX")

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  if [ -n "$NS" ] && ip netns list 2>/dev/null | grep -qw -- "$NS"; then
    # Anything still running in our namespace is ours (the name is unique).
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.2
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  fi
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
  [ -n "${PARTIAL:-}" ] && rm -f "$PARTIAL"
  exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

# --- recording ---------------------------------------------------------------

# record N: redis-benchmark -n N per test, captured into $PARTIAL.
record() {
  local n=$1
  NS="tk-bench-$$-$RANDOM"
  ip netns add "$NS"
  ip netns exec "$NS" ip link set lo up

  ip netns exec "$NS" redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --loglevel warning >"$WORK/redis.log" 2>&1 &
  local redis=$!
  PIDS+=("$redis")
  local i
  for i in $(seq 1 100); do
    [ "$(ip netns exec "$NS" redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
    kill -0 "$redis" 2>/dev/null || { cat "$WORK/redis.log" >&2; die "redis-server exited"; }
    sleep 0.1
  done
  [ "$(ip netns exec "$NS" redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] || die "redis-server did not answer"

  # -Z root: write the file as root (tcpdump would drop to its own user).
  ip netns exec "$NS" tcpdump -i lo -nn -U -s 0 -B 65536 -Z root -w "$PARTIAL" "tcp port $PORT" \
    2>"$WORK/tcpdump.err" &
  local tcpd=$!
  PIDS+=("$tcpd")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$WORK/tcpdump.err" && break
    kill -0 "$tcpd" 2>/dev/null || { cat "$WORK/tcpdump.err" >&2; die "tcpdump exited"; }
    sleep 0.1
  done
  grep -q 'listening on' "$WORK/tcpdump.err" || die "tcpdump did not start listening"

  log "redis-benchmark -t $TESTS -n $n -c $CLIENTS (namespace $NS)"
  ip netns exec "$NS" redis-benchmark -p "$PORT" -t "$TESTS" -n "$n" -c "$CLIENTS" -q >"$WORK/benchmark.out"
  tr '\r' '\n' <"$WORK/benchmark.out" | grep -E 'requests per second' | sed 's/^/  /' >&2 || true

  kill -INT "$tcpd"
  wait "$tcpd" || true
  forget_pid "$tcpd"
  kill -TERM "$redis"
  wait "$redis" || true
  forget_pid "$redis"
  ip netns del "$NS"
  NS=""

  sed 's/^/  tcpdump: /' "$WORK/tcpdump.err" | grep -v 'listening on' >&2 || true
  local dropped
  dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/tcpdump.err")
  [ "${dropped:-0}" = 0 ] || die "tcpdump dropped $dropped packets: the capture is incomplete, try again on a quieter machine"
}

count_packets() {
  local n=""
  if command -v capinfos >/dev/null; then
    n=$(capinfos -M -c "$1" 2>/dev/null | sed -n 's/^Number of packets: *\([0-9]*\).*/\1/p')
  fi
  [ -n "$n" ] || n=$(tcpdump -nn -r "$1" 2>/dev/null | wc -l)
  echo "$n"
}

mkdir -p "$BENCH_DIR"
if [ "$BENCH_RECAPTURE" = 1 ]; then rm -f "$CAPTURE" "$META"; fi
if [ -s "$CAPTURE" ] && [ -s "$META" ]; then
  log "reusing $CAPTURE (BENCH_RECAPTURE=1 records a new one)"
else
  n=$BENCH_REQUESTS
  for attempt in 1 2 3; do
    PARTIAL="$BENCH_DIR/.redis-benchmark.$$.pcap"
    rm -f "$PARTIAL"
    record "$n"
    got=$(count_packets "$PARTIAL")
    log "captured $got packets for $((n * NTESTS)) requests"
    if [ "$got" -ge "$BENCH_MIN_PACKETS" ]; then
      mv "$PARTIAL" "$CAPTURE"
      PARTIAL=""
      printf 'requests_per_test=%s\ntests=%s\nclients=%s\nrequests=%s\npackets=%s\n' \
        "$n" "$TESTS" "$CLIENTS" "$((n * NTESTS))" "$got" >"$META"
      break
    fi
    rm -f "$PARTIAL"
    PARTIAL=""
    # Scale up, with 10% to spare.
    n=$(( (n * BENCH_MIN_PACKETS * 11) / (got * 10) + 1 ))
    log "fewer than $BENCH_MIN_PACKETS packets; again with -n $n"
  done
  [ -s "$CAPTURE" ] || die "could not record $BENCH_MIN_PACKETS packets"
fi

REQUESTS=$(sed -n 's/^requests=//p' "$META")
PACKETS=$(count_packets "$CAPTURE")
[ "$PACKETS" -ge "$BENCH_MIN_PACKETS" ] || die "$CAPTURE holds $PACKETS packets, fewer than $BENCH_MIN_PACKETS (BENCH_RECAPTURE=1)"
if [ "${BENCH_RECORD_ONLY:-0}" = 1 ]; then
  echo "$CAPTURE"
  exit 0
fi

# --- timing ------------------------------------------------------------------

now() { date +%s.%N; }

# best_of NAME CMD...: runs CMD BENCH_RUNS times (stdout to /dev/null, stderr to
# $WORK/NAME.err), prints the best wall time in seconds.
best_of() {
  local name=$1; shift
  local best="" i t0 t1 s
  for i in $(seq 1 "$BENCH_RUNS"); do
    t0=$(now)
    "$@" >/dev/null 2>"$WORK/$name.err" || { cat "$WORK/$name.err" >&2; die "$name failed: $*"; }
    t1=$(now)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    log "$name run $i: $s s"
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
  done
  echo "$best"
}

OUT="$WORK/tcpkit.out"
log "timing, best of $BENCH_RUNS"
T_TCPKIT=$(best_of tcpkit node "$CLI" -r "$CAPTURE" -p "$PORT" -m redis -o "$OUT")
LINES=$(wc -l <"$OUT")
T_TCPDUMP=$(best_of tcpdump tcpdump -nn -r "$CAPTURE")

T_TSHARK=""
TSHARK_NOTE=""
if [ "$BENCH_TSHARK" != 1 ]; then
  TSHARK_NOTE="skipped (BENCH_TSHARK=$BENCH_TSHARK)"
elif ! command -v tshark >/dev/null; then
  TSHARK_NOTE="skipped (not installed)"
else
  # One run only, given up after BENCH_TSHARK_LIMIT seconds.
  t0=$(now)
  rc=0
  timeout "$BENCH_TSHARK_LIMIT" tshark -r "$CAPTURE" -Y resp >/dev/null 2>"$WORK/tshark.err" || rc=$?
  t1=$(now)
  if [ "$rc" = 124 ]; then
    TSHARK_NOTE="skipped (slower than ${BENCH_TSHARK_LIMIT} s)"
  elif [ "$rc" != 0 ]; then
    TSHARK_NOTE="failed (exit $rc): $(head -1 "$WORK/tshark.err")"
  else
    T_TSHARK=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    log "tshark run 1: $T_TSHARK s"
  fi
fi

# --- report ------------------------------------------------------------------

pps() { awk -v p="$PACKETS" -v s="$1" 'BEGIN { printf "%.0f", p / s }'; }

echo
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), node $(node --version)"
echo "capture: $CAPTURE"
echo "         $PACKETS packets, $REQUESTS requests (redis-benchmark -t $TESTS -c $CLIENTS -n $((REQUESTS / NTESTS)))"
echo
printf '%-22s %10s %14s %14s\n' tool seconds packets/s lines
printf '%-22s %10s %14s %14s\n' "tcpkit -m redis -o" "$T_TCPKIT" "$(pps "$T_TCPKIT")" "$LINES"
printf '%-22s %10s %14s %14s\n' "tcpdump -nn -r" "$T_TCPDUMP" "$(pps "$T_TCPDUMP")" "-"
if [ -n "$T_TSHARK" ]; then
  printf '%-22s %10s %14s %14s\n' "tshark -Y resp (1 run)" "$T_TSHARK" "$(pps "$T_TSHARK")" "-"
else
  printf '%-22s %s\n' "tshark -Y resp" "$TSHARK_NOTE"
fi
echo
awk -v a="$T_TCPKIT" -v b="$T_TCPDUMP" \
  'BEGIN { printf "ratio tcpkit/tcpdump: %.2f (tcpkit takes %.2fx the time of tcpdump)\n", a / b, a / b }'

RC=0
# Every request redis-benchmark sent should be one line (a few more for its
# CONFIG GETs at start); allow 0.5%.
DIFF=$(( LINES - REQUESTS ))
ABS=${DIFF#-}
if [ "$ABS" -le $(( REQUESTS / 200 + 10 )) ]; then
  echo "lines check: $LINES lines for $REQUESTS requests sent (difference $DIFF): ok"
else
  echo "lines check: $LINES lines for $REQUESTS requests sent (difference $DIFF): MISMATCH"
  RC=1
fi
TK_PPS=$(pps "$T_TCPKIT")
if [ "$TK_PPS" -ge "$BENCH_TARGET_PPS" ]; then
  echo "target: $TK_PPS packets/s >= $BENCH_TARGET_PPS: met"
else
  echo "target: $TK_PPS packets/s < $BENCH_TARGET_PPS: NOT met"
fi
echo
echo "tcpkit's summary (last run):"
sed 's/^/  /' "$WORK/tcpkit.err"
exit "$RC"
