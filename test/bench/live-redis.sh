#!/usr/bin/env bash
# Live capture cost: redis-benchmark as fast as it goes on loopback (by
# default pipelined, -P 16: its highest rate here), watched by nobody, by
# tcpkit --ebpf, by tcpkit on libpcap and by tcpdump -w /dev/null with the
# same filter. Reports redis-benchmark's throughput under each, the
# watcher's CPU seconds per million requests, the requests tcpkit reported
# against those sent, and what the kernel side lost.
#
#   bash test/bench/live-redis.sh
#
# The four cases run in rounds (nobody, ebpf, libpcap, tcpdump, then again),
# so that a slow moment on the machine does not land on one case only; each
# figure is the median over the rounds, requests reported the fewest.
#
# CPU is the watcher's user + system time from /proc/PID/stat, from when it
# is listening until it has finished with the last packet (its CPU time
# stops moving). Kernel-side work (the socket filter, the copy into the ring
# buffer or into tcpdump's packet ring) runs in softirq context and is in no
# process's CPU time; it shows as lower throughput.
#
# Environment:
#   BENCH_REQUESTS      redis-benchmark -n, per test (set and get; default 500000)
#   BENCH_CLIENTS       redis-benchmark -c (default 50)
#   BENCH_PIPELINE      redis-benchmark -P (default 16)
#   BENCH_LIVE_ROUNDS   rounds (default 3)
#   BENCH_RESULTS       file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=${BENCH_REQUESTS:-500000}
CLIENTS=${BENCH_CLIENTS:-50}
PIPELINE=${BENCH_PIPELINE:-16}
ROUNDS=${BENCH_LIVE_ROUNDS:-3}
PORT=6379
# redis-benchmark sends a CONFIG GET per test before it starts.
SENT=$((REQUESTS * 2 + 2))

bench_init live-redis
need_root
need node ip redis-server redis-benchmark redis-cli tcpdump
need_cli

bench_netns
start_redis "$PORT"

# load: redis-benchmark; prints its requests/s, the mean over its tests.
load() {
  nsx redis-benchmark -p "$PORT" -t set,get -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -q 2>/dev/null |
    tr '\r' '\n' | grep 'requests per second' | awk '{ s += $2 } END { printf "%.0f", s / NR }'
}


# watch CASE CMD...: runs CMD in the namespace while redis-benchmark runs;
# appends "rps cpu_s reported drops" to $WORK/CASE.rows.
watch() {
  local name=$1
  shift
  ip netns exec "$NS" "$@" >/dev/null 2>"$WORK/$name.err" &
  local pid=$!
  bench_track "$pid"
  wait_log "$pid" "$WORK/$name.err" 'capturing with|listening on'
  local c0 rps c1
  c0=$(cpu_ticks "$pid")
  rps=$(load)
  settle "$pid"
  c1=$(cpu_ticks "$pid")
  kill -INT "$pid"
  wait "$pid" || true
  bench_untrack "$pid"
  local reported="-" drops
  if grep -q '^requests:' "$WORK/$name.err"; then
    reported=$(sed -n 's/^requests: \([0-9]*\) answered.*/\1/p' "$WORK/$name.err")
  fi
  drops=$(sed -n -e 's/.* sent up, \([0-9]*\) lost.*/\1/p' \
    -e 's/.* delivered, \([0-9]*\) dropped (buffer full).*/\1/p' \
    -e 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$WORK/$name.err" | head -1)
  echo "$rps $(ticks_to_s $((c1 - c0))) $reported ${drops:--}" >>"$WORK/$name.rows"
  log "$name: $rps req/s, CPU $(ticks_to_s $((c1 - c0))) s, reported $reported of $SENT, kernel drops ${drops:--}"
  cp "$WORK/$name.err" "$WORK/$name.last.err"
}

CASES=(nobody ebpf libpcap tcpdump)
for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  rps=$(load)
  echo "$rps - - -" >>"$WORK/nobody.rows"
  log "nobody: $rps req/s"
  watch ebpf "${TCPKIT[@]}" --ebpf -i lo -p "$PORT" -m redis -o /dev/null
  watch libpcap "${TCPKIT[@]}" -i lo -p "$PORT" -m redis -o /dev/null
  watch tcpdump tcpdump -i lo -nn -s 0 -w /dev/null "tcp and (port $PORT)"
done


machine
echo "load: redis-benchmark -t set,get -n $REQUESTS -c $CLIENTS -P $PIPELINE on 127.0.0.1 in a namespace, $SENT requests a run"
echo "median of $ROUNDS rounds; 'reported' is the fewest in any round"
echo
printf '%-30s %10s %10s %14s %12s\n' watcher "req/s" "cpu s/M" reported "kernel drops"
result live.load "redis-benchmark -t set,get -n $REQUESTS -c $CLIENTS -P $PIPELINE"
result live.rounds "$ROUNDS"
result live.sent "$SENT"
for c in "${CASES[@]}"; do
  f="$WORK/$c.rows"
  rps=$(median "$f" 1)
  cpu=$(median "$f" 2)
  per_m="-"
  [ "$cpu" != "-" ] && per_m=$(awk -v u="$cpu" -v n="$SENT" 'BEGIN { printf "%.3f", u / n * 1e6 }')
  reported=$(least "$f" 3)
  drops=$(most "$f" 4)
  result "live.$c.rps" "$rps"
  result "live.$c.rps_all" "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$f")"
  if [ "$c" != nobody ]; then
    result "live.$c.cpu_per_m" "$per_m"
    result "live.$c.drops" "${drops:--}"
  fi
  if [ "$c" = ebpf ] || [ "$c" = libpcap ]; then result "live.$c.reported" "${reported:--}"; fi
  printf '%-30s %10s %10s %14s %12s\n' "$c" "$rps" "$per_m" "${reported:--}" "${drops:--}"
done
echo
echo "tcpkit --ebpf's summary (last round):"
sed 's/^/  /' "$WORK/ebpf.last.err"
