#!/usr/bin/env bash
# What watching costs, as production runs it: redis-server in one network
# namespace, redis-benchmark unpipelined (-P 1, the common pattern) in
# another, over a veth pair; the watcher runs in the server's namespace on
# its veth. Each watcher's user + system CPU while the load runs, per million
# requests, and redis-benchmark's throughput beside it.
#
#   bash test/bench/live-watch.sh
#
# Watchers, in alternating rounds (a slow moment on the machine does not land
# on one case only; each figure is the median over the rounds):
#   nobody             the load alone
#   ebpf / libpcap     tcpkit --ebpf / tcpkit (libpcap), -t 10: prints nothing
#                      (--ebpf attaches at tcx on the veth, Linux 6.6+)
#   ebpf-socket        --ebpf with TCPKIT_EBPF_ATTACH=socket: the socket
#                      filter behind an AF_PACKET tap, as before tcx
#   original           the 2019 C tcpkit (../shared/reference), -t 10
#   tcpdump            tcpdump -w /dev/null with the same port filter
#   *-all              the same tcpkits and the original with every line
#                      written (-t 0 -o /dev/null)
#   *-warm             ebpf, libpcap and original as above, measured after a
#                      first load of BENCH_WARMUP requests (default 100000)
#                      that is not: the cost per request once V8 has compiled
#                      the hot paths, as a long-running watcher pays it. A
#                      cold row minus its warm row is the one-off cost of a
#                      fresh process meeting traffic (V8 compiling).
# Each row also says what the watcher spent starting up (from exec until it
# said it was capturing): paid once a run, not per request.
# The original's rows say "not built" when ../shared/reference is absent.
# For tcpkit, 'answered' (the fewest over the rounds) must equal the
# requests sent: redis-benchmark's GETs and its CONFIG GET.
#
# CPU is /proc/PID/stat's utime + stime from when the watcher is ready until
# its CPU time stops moving after the load. Kernel-side work (the eBPF
# filter, the copies into the ring buffer or the packet ring) runs in softirq
# context, in no process's time: it shows as lower throughput.
#
# Environment:
#   BENCH_REQUESTS      redis-benchmark -n (default 200000)
#   BENCH_CLIENTS       redis-benchmark -c (default 50)
#   BENCH_PIPELINE      redis-benchmark -P (default 1)
#   BENCH_LIVE_ROUNDS   rounds (default 3)
#   BENCH_WATCHERS      the cases to run (default all of them)
#   BENCH_ORIGINAL_DIR  where the original is built (default $BENCH_DIR/original)
#   BENCH_RESULTS       file that collects KEY=VALUE results (test/bench/all.sh)
#   BENCH_KERNEL_PERF   1: also sample both CPUs with `perf record -a -e
#                       cpu-clock` while each case's load runs, and report
#                       what the capture path costs in the kernel (the tap,
#                       the filter, the copy into the ring or packet ring,
#                       less what the same symbols cost with nobody
#                       watching), per request: the cost no process's CPU
#                       time shows, for tcpdump as for --ebpf (needs perf)
#   BENCH_PERF_DIR      record each watcher with `perf record -g` into
#                       DIR/CASE.perf.data while the load runs (with
#                       BENCH_NODE_ARGS=--perf-basic-prof, perf names the
#                       JavaScript functions)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=${BENCH_REQUESTS:-200000}
CLIENTS=${BENCH_CLIENTS:-50}
PIPELINE=${BENCH_PIPELINE:-1}
ROUNDS=${BENCH_LIVE_ROUNDS:-3}
ALL_CASES="nobody ebpf ebpf-socket libpcap original tcpdump ebpf-all libpcap-all original-all ebpf-warm libpcap-warm original-warm"
WARMUP=${BENCH_WARMUP:-100000}
CASES=(${BENCH_WATCHERS:-$ALL_CASES})
# Extra node flags for the tcpkit watchers (for example --cpu-prof).
NODE_ARGS=(${BENCH_NODE_ARGS:-})
# A tcpkit watcher: node as the tcpkit command starts it, with those flags added.
WATCHER=(node "${NODE_FLAGS[@]}" "${NODE_ARGS[@]+"${NODE_ARGS[@]}"}" "$CLI")
PORT=6379
# redis-benchmark sends CONFIG GET twice before its GETs.
SENT=$((REQUESTS + 2))

bench_init live-watch
need_root
need node ip redis-server redis-benchmark redis-cli tcpdump
need_cli
if [ "${BENCH_KERNEL_PERF:-}" = 1 ]; then need perf; fi

# The original, built from ../shared/reference beside the checkout.
ORIGINAL=""
REFERENCE="$ROOT/../shared/reference/build-original.sh"
if [ -x "$REFERENCE" ] || [ -f "$REFERENCE" ]; then
  ORIGINAL=$(bash "$REFERENCE" "${BENCH_ORIGINAL_DIR:-$BENCH_DIR/original}" 2>/dev/null | tail -1) || ORIGINAL=""
  [ -x "$ORIGINAL" ] || ORIGINAL=""
fi
[ -n "$ORIGINAL" ] || log "the original is not built (no ../shared/reference): its rows say so"

# Two hosts: the server's namespace and the client's, joined by a veth pair.
bench_netns
SNS=$NS
bench_netns
CNS=$NS
TAG=$((RANDOM % 10000))
SDEV="tkws$TAG"
CDEV="tkwc$TAG"
NET=$((200 + RANDOM % 50))
SIP="10.98.$NET.1"
CIP="10.98.$NET.2"
ip link add "$SDEV" netns "$SNS" type veth peer name "$CDEV" netns "$CNS"
ip netns exec "$SNS" ip addr add "$SIP/24" dev "$SDEV"
ip netns exec "$CNS" ip addr add "$CIP/24" dev "$CDEV"
ip netns exec "$SNS" ip link set "$SDEV" up
# Full-size frames, as the wire carries them: no offload merging segments.
for d in "$SNS $SDEV" "$CNS $CDEV"; do set -- $d; ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true; done
ip netns exec "$CNS" ip link set "$CDEV" up

ip netns exec "$SNS" redis-server --port "$PORT" --bind "$SIP" --protected-mode no --save '' --appendonly no \
  --daemonize no --loglevel warning >"$WORK/redis.log" 2>&1 &
bench_track $!
wait_until 50 eval "[ \"\$(ip netns exec $CNS redis-cli -h $SIP -p $PORT ping 2>/dev/null)\" = PONG ]" ||
  { cat "$WORK/redis.log" >&2; die "redis-server did not answer"; }

# load: redis-benchmark from the client's namespace; prints its requests/s.
load() {
  ip netns exec "$CNS" redis-benchmark -h "$SIP" -p "$PORT" -t get -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -q 2>/dev/null |
    tr '\r' '\n' | grep 'requests per second' | awk '{ s += $2 } END { printf "%.0f", s / NR }'
}


# sys_perf CASE CMD...: runs CMD; with BENCH_KERNEL_PERF=1, samples both CPUs
# meanwhile into $WORK/CASE.sys.N.data (N: the round).
sys_perf() {
  local name=$1
  shift
  if [ "${BENCH_KERNEL_PERF:-}" != 1 ]; then "$@"; return; fi
  local n=1
  while [ -e "$WORK/$name.sys.$n.data" ]; do n=$((n + 1)); done
  perf record -q -a -e cpu-clock -F 4999 -o "$WORK/$name.sys.$n.data" >/dev/null 2>&1 &
  local p=$!
  sleep 0.3
  "$@"
  kill -INT "$p"
  wait "$p" || true
}

# The kernel's capture path, by symbol: the packet tap (cloning on the way
# out, packet_rcv), tcpkit's filter and ring buffer, tcpdump's packet ring,
# the BPF maps and helpers the filter calls, and the clock reads.
CAPTURE_SYMS='^(bpf_prog_[0-9a-f]+_.*|bpf_ringbuf_.*|__bpf_ringbuf_reserve|packet_rcv|tpacket_rcv|__packet_rcv_has_room|packet_rcv_has_room|run_filter|skb_clone|kfree_skbmem|dev_queue_xmit_nit|htab_map_hash|__htab_map_lookup_elem|htab_lru_map_lookup_elem|bpf_skb_load_bytes|skb_copy_bits|bpf_ktime_get_ns|ktime_get)$'
# capture_cpu FILE: CPU seconds the capture path's symbols took in FILE.
capture_cpu() {
  perf report -i "$1" --stdio --no-children --sort sym -g none 2>/dev/null |
    awk -v re="$CAPTURE_SYMS" '
      /^# Event count/ { total = $NF }
      /^ +[0-9.]+%/ { pct = $1; sub(/%/, "", pct); sym = $3; if (sym ~ re) share += pct }
      END { if (total > 0) printf "%.4f", share / 100 * total / 1e9; else print "-" }'
}

# watch CASE READY-REGEX CMD...: runs CMD in the server's namespace while the
# load runs; appends "rps cpu_s answered drops" to $WORK/CASE.rows.
watch() {
  local name=$1 ready=$2
  shift 2
  ip netns exec "$SNS" "$@" >/dev/null 2>"$WORK/$name.err" &
  local pid=$!
  bench_track "$pid"
  if [ -n "$ready" ]; then wait_log "$pid" "$WORK/$name.err" "$ready"; else sleep 1; fi
  local startup
  startup=$(cpu_ticks "$pid")
  if [[ $name == *-warm ]]; then
    # Warmed up: a first load, not measured (V8 compiles the hot paths, heaps settle).
    ip netns exec "$CNS" redis-benchmark -h "$SIP" -p "$PORT" -t get -n "$WARMUP" -c "$CLIENTS" -P "$PIPELINE" -q >/dev/null 2>&1
    settle "$pid"
  fi
  local c0 rps c1 t0 t1 perf=""
  if [ -n "${BENCH_PERF_DIR:-}" ]; then
    mkdir -p "$BENCH_PERF_DIR"
    perf record -q -F 4999 -g -p "$pid" -o "$BENCH_PERF_DIR/$name.perf.data" 2>/dev/null &
    perf=$!
    sleep 0.5
  fi
  c0=$(cpu_ticks "$pid")
  t0=$(thread_ticks "$pid")
  rps=$(sys_perf "$name" load)
  settle "$pid"
  c1=$(cpu_ticks "$pid")
  t1=$(thread_ticks "$pid")
  if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; fi
  # Anything to read from the watcher while it still runs (the kernel case).
  if [ -n "${WATCH_BEFORE_STOP:-}" ]; then "$WATCH_BEFORE_STOP"; fi
  kill -INT "$pid"
  wait "$pid" || true
  bench_untrack "$pid"
  local answered="-" drops
  if grep -q '^requests:' "$WORK/$name.err"; then
    answered=$(sed -n 's/^requests: \([0-9]*\) answered.*/\1/p' "$WORK/$name.err")
    # The warm-up's requests (and its CONFIG GETs) are not this run's.
    [[ $name == *-warm ]] && answered=$((answered - WARMUP - 2))
  fi
  drops=$(sed -n -e 's/.* sent up, \([0-9]*\) lost.*/\1/p' \
    -e 's/.* delivered, \([0-9]*\) dropped (buffer full).*/\1/p' \
    -e 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$WORK/$name.err" | head -1)
  echo "$rps $(ticks_to_s $((c1 - c0))) $answered ${drops:--} $(ticks_to_s "$startup")" >>"$WORK/$name.rows"
  set -- $t0 $t1
  log "$name: $rps req/s, start-up CPU $(ticks_to_s "$startup") s, CPU $(ticks_to_s $((c1 - c0))) s (main thread $(ticks_to_s $(($3 - $1))), other threads $(ticks_to_s $(($4 - $2)))), answered $answered of $SENT, kernel drops ${drops:--}"
  cp "$WORK/$name.err" "$WORK/$name.last.err"
}

TK_READY='capturing with|listening on'
run_case() {
  case "$1" in
    nobody)
      local rps
      rps=$(sys_perf nobody load)
      echo "$rps - - - -" >>"$WORK/nobody.rows"
      log "nobody: $rps req/s"
      ;;
    ebpf) watch ebpf "$TK_READY" "${WATCHER[@]}" --ebpf -i "$SDEV" -p "$PORT" -m redis -t 10 ;;
    ebpf-socket) watch ebpf-socket "$TK_READY" env TCPKIT_EBPF_ATTACH=socket "${WATCHER[@]}" --ebpf -i "$SDEV" -p "$PORT" -m redis -t 10 ;;
    libpcap) watch libpcap "$TK_READY" "${WATCHER[@]}" -i "$SDEV" -p "$PORT" -m redis -t 10 ;;
    ebpf-all) watch ebpf-all "$TK_READY" "${WATCHER[@]}" --ebpf -i "$SDEV" -p "$PORT" -m redis -t 0 -o /dev/null ;;
    libpcap-all) watch libpcap-all "$TK_READY" "${WATCHER[@]}" -i "$SDEV" -p "$PORT" -m redis -t 0 -o /dev/null ;;
    original) [ -n "$ORIGINAL" ] && watch original "" "$ORIGINAL" -i "$SDEV" -p "$PORT" -m redis -t 10 ;;
    original-all) [ -n "$ORIGINAL" ] && watch original-all "" "$ORIGINAL" -i "$SDEV" -p "$PORT" -m redis -t 0 -o /dev/null ;;
    ebpf-warm) watch ebpf-warm "$TK_READY" "${WATCHER[@]}" --ebpf -i "$SDEV" -p "$PORT" -m redis -t 10 ;;
    libpcap-warm) watch libpcap-warm "$TK_READY" "${WATCHER[@]}" -i "$SDEV" -p "$PORT" -m redis -t 10 ;;
    original-warm) [ -n "$ORIGINAL" ] && watch original-warm "" "$ORIGINAL" -i "$SDEV" -p "$PORT" -m redis -t 10 ;;
    tcpdump) watch tcpdump 'listening on' tcpdump -i "$SDEV" -nn -s 0 -w /dev/null "tcp and (port $PORT)" ;;
    *) die "unknown watcher $1" ;;
  esac
  return 0
}

for round in $(seq 1 "$ROUNDS"); do
  log "round $round of $ROUNDS"
  for c in "${CASES[@]}"; do run_case "$c"; done
done


machine
echo "load: redis-benchmark -t get -n $REQUESTS -c $CLIENTS -P $PIPELINE over a veth pair between two namespaces, $SENT requests a run"
echo "median of $ROUNDS rounds; 'lost %' is the median of each round's loss against that round's load alone;"
echo "'answered' is the fewest in any round (tcpkit's summary)"
echo
printf '%-14s %10s %8s %10s %12s %12s %11s\n' watcher "req/s" "lost %" "cpu s/M" answered "kernel drops" "start-up s"
result watch.load "redis-benchmark -t get -n $REQUESTS -c $CLIENTS -P $PIPELINE, veth"
result watch.rounds "$ROUNDS"
result watch.sent "$SENT"
NOBODY_RPS=$( [ -f "$WORK/nobody.rows" ] && median "$WORK/nobody.rows" 1 || echo -)
declare -A PER_M
for c in "${CASES[@]}"; do
  f="$WORK/$c.rows"
  if [ ! -f "$f" ]; then
    printf '%-14s %10s\n' "$c" "not built"
    result "watch.$c.cpu_per_m" "not built"
    continue
  fi
  rps=$(median "$f" 1)
  cpu=$(median "$f" 2)
  per_m="-"
  [ "$cpu" != "-" ] && per_m=$(awk -v u="$cpu" -v n="$SENT" 'BEGIN { printf "%.3f", u / n * 1e6 }')
  PER_M[$c]=$per_m
  # Throughput lost, paired by round: each round's rate against the same
  # round's load alone, then the median over rounds. The load alone moves by
  # tens of percent between rounds on this machine; a loss taken from two
  # medians mixes that in.
  lost="-"
  if [ "$NOBODY_RPS" != "-" ] && [ "$c" != nobody ]; then
    paste -d' ' "$WORK/nobody.rows" "$f" | awk 'NF >= 6 && $1 > 0 { printf "%.1f\n", ($1 - $6) / $1 * 100 }' >"$WORK/$c.lost"
    lost=$(median "$WORK/$c.lost" 1)
    result "watch.$c.lost_pct_rounds" "$(paste -sd' ' "$WORK/$c.lost")"
  fi
  answered=$(least "$f" 3)
  drops=$(most "$f" 4)
  startup=$(median "$f" 5)
  result "watch.$c.rps" "$rps"
  result "watch.$c.lost_pct" "$lost"
  result "watch.$c.cpu_per_m" "$per_m"
  result "watch.$c.cpu_all" "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }' "$f")"
  result "watch.$c.answered" "${answered:--}"
  result "watch.$c.drops" "${drops:--}"
  result "watch.$c.startup_s" "$startup"
  printf '%-14s %10s %8s %10s %12s %12s %11s\n' "$c" "$rps" "$lost" "$per_m" "${answered:--}" "${drops:--}" "$startup"
done
ratio() {
  local a=${PER_M[$1]:-} b=${PER_M[$2]:-}
  if [ -z "$a" ] || [ -z "$b" ] || [ "$a" = - ] || [ "$b" = - ]; then echo "-"; return; fi
  awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
echo
echo "ratios of CPU per request (same run):"
for pair in "ebpf original" "ebpf libpcap" "ebpf-all original-all" "libpcap original" "ebpf-warm original-warm" "ebpf-warm libpcap-warm"; do
  set -- $pair
  r=$(ratio "$1" "$2")
  echo "  $1 / $2: $r"
  result "watch.ratio.$1/$2" "$r"
done
# The capture path's kernel cost (BENCH_KERNEL_PERF=1): each round's
# capture-path CPU less the same round's with nobody watching, per request.
if [ "${BENCH_KERNEL_PERF:-}" = 1 ] && [ -e "$WORK/nobody.sys.1.data" ]; then
  echo
  echo "the capture path in the kernel (perf, both CPUs; less the same symbols with nobody watching), ns per request:"
  for c in "${CASES[@]}"; do
    [ "$c" = nobody ] && continue
    [ -e "$WORK/$c.sys.1.data" ] || continue
    : >"$WORK/$c.kernel"
    n=1
    while [ -e "$WORK/$c.sys.$n.data" ] && [ -e "$WORK/nobody.sys.$n.data" ]; do
      a=$(capture_cpu "$WORK/$c.sys.$n.data")
      b=$(capture_cpu "$WORK/nobody.sys.$n.data")
      awk -v a="$a" -v b="$b" -v n="$SENT" 'BEGIN { if (a != "-" && b != "-") printf "%.0f\n", (a - b) / n * 1e9 }' >>"$WORK/$c.kernel"
      n=$((n + 1))
    done
    k=$(median "$WORK/$c.kernel" 1)
    printf '  %-14s %6s   (rounds: %s)\n' "$c" "$k" "$(paste -sd' ' "$WORK/$c.kernel")"
    result "watch.$c.kernel_ns_per_request" "$k"
  done
fi
# The kernel side's cost per packet: the eBPF program runs in softirq, in no
# process's CPU time, so the rows above do not show it. One more --ebpf run,
# with the kernel's BPF run-time statistics on (kernel.bpf_stats_enabled, put
# back as it was afterwards; the statistics' own clock reads are counted in).
# The programs are the ones this tcpkit attached: at tcx, tk_tcx_ingress and
# tk_tcx_egress (summed); as a socket filter, tk_filter.
bpf_stats_snapshot() {
  bpftool prog show 2>/dev/null | awk '
    /^[0-9]+: / { ours = ($4 == "tk_filter" || $4 == "tk_tcx_ingress" || $4 == "tk_tcx_egress") }
    ours { for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t += $(i + 1); if ($i == "run_cnt") n += $(i + 1) } }
    END { if (n > 0) print t, n }' >"$WORK/kernel.stats"
}
if [[ " ${CASES[*]} " == *" ebpf "* ]] && [ -w /proc/sys/kernel/bpf_stats_enabled ]; then
  BENCH_BPF_STATS_WAS=$(cat /proc/sys/kernel/bpf_stats_enabled)
  echo 1 >/proc/sys/kernel/bpf_stats_enabled
  # Not sampled by perf: only the BPF statistics are read from this run.
  BENCH_KERNEL_PERF= WATCH_BEFORE_STOP=bpf_stats_snapshot watch kernel "$TK_READY" "${TCPKIT[@]}" --ebpf -i "$SDEV" -p "$PORT" -m redis -t 10
  echo "$BENCH_BPF_STATS_WAS" >/proc/sys/kernel/bpf_stats_enabled
  BENCH_BPF_STATS_WAS=
  if [ -s "$WORK/kernel.stats" ]; then
    set -- $(cat "$WORK/kernel.stats")
    per=$(awk -v t="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", t / n; else print "-" }')
    echo
    echo "the eBPF program in the kernel ($(ebpf_attachment "$WORK/kernel.err"), bpf_stats): $2 runs, $per ns a run, $(awk -v t="$1" -v n="$SENT" 'BEGIN { printf "%.2f", t / n / 1000 }') us per request"
    result watch.kernel.ns_per_run "$per"
    result watch.kernel.runs "$2"
  fi
fi
if [ -f "$WORK/ebpf.last.err" ]; then
  echo
  echo "tcpkit --ebpf -t 10's summary (last round):"
  sed 's/^/  /' "$WORK/ebpf.last.err"
fi
