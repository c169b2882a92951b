#!/usr/bin/env bash
# Memory over a soak: tcpkit --ebpf watching redis-benchmark, run again and
# again (new connections every run, random keys) for BENCH_SOAK_SECONDS.
# tcpkit's VmRSS is sampled every BENCH_SOAK_INTERVAL seconds; reported are
# the first, last and largest samples and the slope of a least-squares line
# through the samples after the warm-up (the first fifth of the soak, while
# V8's heap grows to its working size). RSS must not climb: the target is
# met when that line rises less than 5% of the mean RSS over the soak.
#
#   bash test/bench/soak.sh
#
# Environment:
#   BENCH_SOAK_SECONDS   length (default 600)
#   BENCH_SOAK_INTERVAL  seconds between samples (default 10)
#   BENCH_RESULTS        file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${BENCH_SOAK_SECONDS:-600}
INTERVAL=${BENCH_SOAK_INTERVAL:-10}
PORT=6379
LOAD=(redis-benchmark -p "$PORT" -t set,get,incr,lpush -n 100000 -c 50 -r 100000 -q)

bench_init soak
need_root
need node ip redis-server redis-benchmark redis-cli
need_cli
[ "$DURATION" -ge $((INTERVAL * 3)) ] || die "BENCH_SOAK_SECONDS must be at least three intervals ($((INTERVAL * 3)) s)"

bench_netns
start_redis "$PORT"

ip netns exec "$NS" "${TCPKIT[@]}" --ebpf -i lo -p "$PORT" -m redis -o /dev/null 2>"$WORK/tcpkit.err" &
TK_PID=$!
bench_track "$TK_PID"
wait_log "$TK_PID" "$WORK/tcpkit.err" 'capturing with'
grep -q 'capturing with eBPF' "$WORK/tcpkit.err" || log "warning: not on eBPF: $(head -1 "$WORK/tcpkit.err")"

# The load, in a loop until the soak ends.
(
  while :; do nsx "${LOAD[@]}" >/dev/null 2>&1 || sleep 1; done
) &
LOADER=$!
bench_track "$LOADER"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

log "soak: ${DURATION} s, VmRSS every ${INTERVAL} s"
START=$(date +%s)
: >"$WORK/samples"
while :; do
  sleep "$INTERVAL"
  kill -0 "$TK_PID" 2>/dev/null || { cat "$WORK/tcpkit.err" >&2; die "tcpkit exited during the soak"; }
  t=$(($(date +%s) - START))
  r=$(rss_kib "$TK_PID")
  echo "$t $r" >>"$WORK/samples"
  log "$t s: VmRSS $r KiB"
  [ "$t" -lt "$DURATION" ] || break
done

# Stop the loop (and the redis-benchmark it runs in the namespace), then tcpkit.
kill -TERM "$LOADER" 2>/dev/null || true
wait "$LOADER" 2>/dev/null || true
bench_untrack "$LOADER"
stop_load() { local p; for p in $(ip netns pids "$NS"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = redis-benchmark ] && kill -TERM "$p" 2>/dev/null; done; return 0; }
stop_load
sleep 1
kill -INT "$TK_PID"
wait "$TK_PID" || true
bench_untrack "$TK_PID"

# first last max mean slope(KiB/min, after warm-up) rise(KiB over the soak after warm-up) samples
read -r FIRST LAST MAX MEAN SLOPE RISE COUNT < <(awk -v warm=$((DURATION / 5)) '
  { t[NR] = $1; r[NR] = $2; if (NR == 1) first = $2; last = $2; if ($2 > max) max = $2; sum += $2 }
  END {
    n = 0; sx = sy = sxx = sxy = 0
    for (i = 1; i <= NR; i++) if (t[i] > warm) { n++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i]; lo = (n == 1 ? t[i] : lo); hi = t[i] }
    slope = (n > 1 && n * sxx - sx * sx > 0) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
    printf "%d %d %d %.0f %.1f %.0f %d\n", first, last, max, sum / NR, slope * 60, slope * (hi - lo), NR
  }' "$WORK/samples")

REQUESTS=$(sed -n 's/^requests: \([0-9]*\) answered.*/\1/p' "$WORK/tcpkit.err")
LOST=$(sed -n 's/.* sent up, \([0-9]*\) lost.*/\1/p' "$WORK/tcpkit.err" | head -1)
MIB() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

result soak.seconds "$DURATION"
result soak.interval "$INTERVAL"
result soak.samples "$COUNT"
result soak.first_kib "$FIRST"
result soak.last_kib "$LAST"
result soak.max_kib "$MAX"
result soak.mean_kib "$MEAN"
result soak.slope_kib_per_min "$SLOPE"
result soak.rise_kib "$RISE"
result soak.requests "${REQUESTS:-?}"
result soak.ring_lost "${LOST:-?}"
result soak.load "${LOAD[*]} in a loop"

echo "soak: tcpkit --ebpf -i lo -p $PORT -m redis for $DURATION s under ${LOAD[*]} in a loop"
echo "VmRSS every $INTERVAL s ($COUNT samples), MiB: $(awk '{ printf "%s%.1f", (NR > 1 ? " " : ""), $2 / 1024 }' "$WORK/samples")"
echo "first $(MIB "$FIRST") MiB, last $(MIB "$LAST") MiB, max $(MIB "$MAX") MiB"
echo "slope after the first $((DURATION / 5)) s: $SLOPE KiB/min ($(MIB "$RISE") MiB over the rest of the soak)"
echo "tcpkit reported ${REQUESTS:-?} requests; ring buffer lost ${LOST:-?}"
