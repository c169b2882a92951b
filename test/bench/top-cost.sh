#!/usr/bin/env bash
# What --top costs in CPU, beside the same run without it: tcpkit --ebpf on
# lo in a namespace with a redis-server, writing its lines to /dev/null (-o),
# once plain and once with --top drawing in a tmux terminal (160x50).
#   idle: no traffic for BENCH_TOP_IDLE seconds (default 30): CPU as % of a core.
#   load: redis-benchmark -t set,get -n BENCH_REQUESTS (default 200000) -c 50
#         -P 16: CPU seconds for the run, median of BENCH_TOP_ROUNDS (default 3).
# Then the per-transaction cost of the view's model beside the statistics'
# (test/bench/top-model.ts).
#
#   bash test/bench/top-cost.sh      (as root, after make build)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IDLE=${BENCH_TOP_IDLE:-30}
REQUESTS=${BENCH_REQUESTS:-200000}
ROUNDS=${BENCH_TOP_ROUNDS:-3}
PORT=6379

bench_init top-cost
need_root
need node ip tmux redis-server redis-benchmark redis-cli
need_cli
bench_netns
start_redis "$PORT"
TMUX_SOCKET="tk-bench-$$"
trap 'tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true; _bench_cleanup' EXIT

# start CASE: tcpkit in $NS (with --top: in a tmux pane); sets PID.
start() {
  local name=$1 pidfile="$WORK/$1.pid"
  rm -f "$pidfile"
  local args=(--ebpf -i lo -p "$PORT" -m redis -o /dev/null --pid-file "$pidfile")
  if [ "$name" = top ]; then
    tmux -L "$TMUX_SOCKET" new-session -d -s "top$RANDOM" -x 160 -y 50 \
      "LANG=C.UTF-8 ip netns exec $NS ${TCPKIT[*]} --top ${args[*]} 2>$WORK/$name.err"
  else
    ip netns exec "$NS" "${TCPKIT[@]}" "${args[@]}" >/dev/null 2>"$WORK/$name.err" &
  fi
  wait_until 100 test -s "$pidfile" || die "$name: tcpkit did not start: $(cat "$WORK/$name.err")"
  PID=$(cat "$pidfile")
  bench_track "$PID"
  sleep 1 # loaded and drawing
}

stop() {
  kill -INT "$PID"
  wait_until 100 eval "! kill -0 $PID 2>/dev/null" || true
  bench_untrack "$PID"
}

settle() {
  local a b i
  a=$(cpu_ticks "$PID")
  for i in $(seq 1 50); do
    sleep 0.2
    b=$(cpu_ticks "$PID")
    [ "$a" = "$b" ] && return 0
    a=$b
  done
}

machine
echo "tcpkit --ebpf -i lo -p $PORT -m redis -o /dev/null, plain and with --top (tmux, 160x50)"
printf '%-8s %22s %26s\n' case "idle, % of a core" "load: CPU s (median of $ROUNDS)"
for name in plain top; do
  start "$name"
  c0=$(cpu_ticks "$PID")
  sleep "$IDLE"
  c1=$(cpu_ticks "$PID")
  idle=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v s="$IDLE" 'BEGIN { printf "%.2f", t / hz / s * 100 }')
  : >"$WORK/$name.load"
  for round in $(seq 1 "$ROUNDS"); do
    c0=$(cpu_ticks "$PID")
    nsx redis-benchmark -p "$PORT" -t set,get -n "$REQUESTS" -c 50 -P 16 -q >/dev/null 2>&1
    settle
    c1=$(cpu_ticks "$PID")
    ticks_to_s $((c1 - c0)) >>"$WORK/$name.load"
    echo >>"$WORK/$name.load"
  done
  stop
  load=$(sort -g "$WORK/$name.load" | awk 'NF { v[++n] = $1 } END { print v[int((n + 1) / 2)] }')
  printf '%-8s %22s %26s\n' "$name" "$idle" "$load"
  result "top.$name.idle_pct" "$idle"
  result "top.$name.load_cpu_s" "$load"
  grep '^requests:' "$WORK/$name.err" | sed "s/^/  $name: /"
done
echo
node "$ROOT/dist/test/bench/top-model.js"
