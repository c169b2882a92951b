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
#   BENCH_UNRELATED_ROUNDS  rounds, the cases alternating (default 1); medians reported
#   BENCH_UNRELATED_CASES   the cases (default: nobody ebpf ebpf-socket libpcap tcpdump)
#   BENCH_RESULTS       file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_EACH=${BENCH_BULK_SECONDS:-10}
ROUNDS=${BENCH_UNRELATED_ROUNDS:-1}
# nobody: the transfer alone; ebpf: --ebpf as it attaches by default (tcx on
# lo, Linux 6.6+); ebpf-socket: the same with TCPKIT_EBPF_ATTACH=socket (the
# AF_PACKET tap the kernel clones each outgoing packet for); tcpdump: what a
# user might run instead, with the same port filter.
CASES=${BENCH_UNRELATED_CASES:-nobody ebpf ebpf-socket libpcap tcpdump}
WATCHED=6379
BULK=5201

bench_init unrelated
need_root
need node ip iperf3 tcpdump
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
result unrelated.rounds "$ROUNDS"
echo "load: iperf3 -c 127.0.0.1 -p $BULK -t $SECONDS_EACH (one stream, loopback, in a namespace); tcpkit watches port $WATCHED; $ROUNDS round(s), cases alternating"
echo
printf '%-22s %5s %12s %14s %14s  %s\n' watcher round "Gbit/s" "CPU % (bulk)" "CPU % (idle)" "what reached user space"

# One case, one round: appends "round gbps busy idle" to $WORK/CASE.rows.
run_case() {
  local case=$1 round=$2 gbps busy idle seen pid t0 t1 c0 c1
  if [ "$case" = nobody ]; then
    gbps=$(transfer)
    printf '%-22s %5s %12s %14s %14s  %s\n' "(nobody)" "$round" "$gbps" - - -
    echo "$round $gbps - -" >>"$WORK/$case.rows"
    return
  fi
  local cmd=("${TCPKIT[@]}" --ebpf -i lo -p "$WATCHED" -m redis -o /dev/null) env=() ready='capturing with' engine=ebpf
  case $case in
    ebpf) ;; # auto: tcx on lo
    ebpf-socket) env=(TCPKIT_EBPF_ATTACH=socket) ;;
    libpcap) cmd=("${TCPKIT[@]}" -i lo -p "$WATCHED" -m redis -o /dev/null) engine=libpcap ;;
    tcpdump) cmd=(tcpdump -i lo -nn -s 0 -w /dev/null "tcp port $WATCHED") ready='listening on' engine=tcpdump ;;
  esac
  ip netns exec "$NS" env "${env[@]}" "${cmd[@]}" 2>"$WORK/$case.err" &
  pid=$!
  bench_track "$pid"
  wait_log "$pid" "$WORK/$case.err" "$ready"
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
  seen=$(grep -E "^tcpkit: $engine:|packets captured" "$WORK/$case.err" | sed "s/^tcpkit: $engine: //" | head -1)
  if grep -qE 'eBPF unavailable' "$WORK/$case.err"; then seen="fell back to libpcap: $seen"; fi
  if [ "$engine" = ebpf ]; then seen="$(ebpf_attachment "$WORK/$case.err"): $seen"; fi
  printf '%-22s %5s %12s %14s %14s  %s\n' "$case" "$round" "$gbps" "$busy" "$idle" "$seen"
  echo "$round $gbps $busy $idle" >>"$WORK/$case.rows"
  [ "$round" = 1 ] && result "unrelated.$case.seen" "$seen"
  return 0
}

for round in $(seq "$ROUNDS"); do
  for case in $CASES; do run_case "$case" "$round"; done
done
echo
echo "medians over $ROUNDS round(s):"
for case in $CASES; do
  g=$(median "$WORK/$case.rows" 2) b=$(median "$WORK/$case.rows" 3) i=$(median "$WORK/$case.rows" 4)
  printf '%-22s %12s %14s %14s\n' "$case" "$g" "$b" "$i"
  result "unrelated.$case.gbps" "$g"
  if [ "$case" != nobody ]; then
    result "unrelated.$case.cpu_pct" "$b"
    result "unrelated.$case.idle_pct" "$i"
  fi
done
