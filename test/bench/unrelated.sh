#!/usr/bin/env bash
# Unrelated traffic: a bulk transfer (iperf3, one TCP stream) at full
# loopback speed on port 5201, while tcpkit watches port 6379, where nothing
# happens. What does the transfer cost tcpkit? Its CPU (user + system, from
# /proc/PID/stat) over the transfer, as % of one core, for both engines;
# beside it the same window with no traffic at all (tcpkit's idle cost: its
# timers), and iperf3's throughput with and without a watcher.
#
#   bash test/bench/unrelated.sh
#
# Environment:
#   BENCH_BULK_SECONDS  length of each transfer, and of the idle window (default 10)
#   BENCH_RESULTS       file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_EACH=${BENCH_BULK_SECONDS:-10}
WATCHED=6379
BULK=5201

bench_init unrelated
need_root
need node ip iperf3
need_cli

bench_netns
ip netns exec "$NS" iperf3 -s -p "$BULK" >"$WORK/iperf3-server.log" 2>&1 &
bench_track $!
wait_until 50 nsx bash -c "exec 3<>/dev/tcp/127.0.0.1/$BULK" || die "iperf3 -s did not listen"

# transfer: one iperf3 run; prints the receiver's Gbit/s.
transfer() {
  nsx iperf3 -c 127.0.0.1 -p "$BULK" -t "$SECONDS_EACH" -f g >"$WORK/iperf3.out" 2>&1 ||
    { cat "$WORK/iperf3.out" >&2; die "iperf3 failed"; }
  awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Gbits/sec") v = $i } END { print v }' "$WORK/iperf3.out"
}

# pct TICKS SECONDS: CPU ticks over a window, as % of one core.
pct() { awk -v t="$1" -v hz="$HZ" -v s="$2" 'BEGIN { printf "%.2f", t / hz / s * 100 }'; }

machine
result unrelated.load "iperf3 -t $SECONDS_EACH, one TCP stream on port $BULK; tcpkit watches port $WATCHED"
result unrelated.seconds "$SECONDS_EACH"
BASE=$(transfer)
result unrelated.none.gbps "$BASE"
log "no watcher: $BASE Gbit/s"
echo "load: iperf3 -c 127.0.0.1 -p $BULK -t $SECONDS_EACH (one stream, loopback, in a namespace); tcpkit watches port $WATCHED"
echo
printf '%-22s %12s %14s %14s  %s\n' watcher "Gbit/s" "CPU % (bulk)" "CPU % (idle)" "what reached user space"
printf '%-22s %12s %14s %14s  %s\n' "(nobody)" "$BASE" - - -

for engine in ebpf libpcap; do
  flags=()
  [ "$engine" = ebpf ] && flags=(--ebpf)
  ip netns exec "$NS" node "$CLI" "${flags[@]}" -i lo -p "$WATCHED" -m redis -o /dev/null 2>"$WORK/$engine.err" &
  pid=$!
  bench_track "$pid"
  wait_log "$pid" "$WORK/$engine.err" 'capturing with'
  sleep 1 # past start-up
  t0=$(now)
  c0=$(cpu_ticks "$pid")
  sleep "$SECONDS_EACH"
  c1=$(cpu_ticks "$pid")
  t1=$(now)
  idle=$(pct $((c1 - c0)) "$(elapsed "$t0" "$t1")")
  t0=$(now)
  c0=$(cpu_ticks "$pid")
  gbps=$(transfer)
  c1=$(cpu_ticks "$pid")
  t1=$(now)
  busy=$(pct $((c1 - c0)) "$(elapsed "$t0" "$t1")")
  kill -INT "$pid"
  wait "$pid" || true
  bench_untrack "$pid"
  seen=$(grep -E "^tcpkit: $engine:" "$WORK/$engine.err" | sed "s/^tcpkit: $engine: //" | head -1)
  if grep -qE 'eBPF unavailable' "$WORK/$engine.err"; then seen="fell back to libpcap: $seen"; fi
  printf '%-22s %12s %14s %14s  %s\n' "tcpkit $engine" "$gbps" "$busy" "$idle" "$seen"
  result "unrelated.$engine.gbps" "$gbps"
  result "unrelated.$engine.cpu_pct" "$busy"
  result "unrelated.$engine.idle_pct" "$idle"
  result "unrelated.$engine.seen" "$seen"
done
