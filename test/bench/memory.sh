#!/usr/bin/env bash
# Memory with many concurrent connections, offline: tcpkit -r on a synthetic
# capture (test/bench/connections-capture.ts) of BENCH_CONNECTIONS Redis
# connections that all open, all send a GET, then all get their reply, and
# never close. Reports tcpkit's peak RSS (VmHWM, as the kernel reports it to
# the parent in ru_maxrss, read with GNU time), beside its peak RSS on a
# small capture (test/fixtures/redis-demo.pcap), and the difference per connection.
#
# Offline, not live: 100,000 real connections on one 2-core host would
# measure the load generator more than tcpkit; the connection table, the
# streams and the waiting requests are the same code either way.
#
#   bash test/bench/memory.sh
#
# Environment:
#   BENCH_CONNECTIONS   connections (default 100000)
#   BENCH_DIR           where the capture is cached (default /tmp/tcpkit-bench)
#   BENCH_RESULTS       file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${BENCH_CONNECTIONS:-100000}
GEN="$ROOT/dist/test/bench/connections-capture.js"

bench_init memory
need node
need_cli
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (Debian package time; make deps installs it)"
[ -f "$GEN" ] || die "$GEN is missing: run 'make build' first"

CAPTURE="$BENCH_DIR/connections-$N.pcap"
if [ -s "$CAPTURE" ]; then
  log "reusing $CAPTURE"
else
  bench_partial "$CAPTURE.part"
  log "writing $CAPTURE"
  node "$GEN" "$N" "$CAPTURE.part" >&2
  mv "$CAPTURE.part" "$CAPTURE"
fi

# peak_kib FILE NAME: tcpkit -r FILE; prints its peak RSS in KiB (stderr in
# $WORK/NAME.err, GNU time's figure last).
peak_kib() {
  /usr/bin/time -f 'peak-rss-kib %M' "${TCPKIT[@]}" -r "$1" -p 6379 -m redis -o /dev/null 2>"$WORK/$2.err" ||
    { cat "$WORK/$2.err" >&2; die "tcpkit -r $1 failed"; }
  sed -n 's/^peak-rss-kib //p' "$WORK/$2.err"
}

BASE=$(peak_kib "$ROOT/test/fixtures/redis-demo.pcap" base)
PEAK=$(peak_kib "$CAPTURE" many)
# connections FILE: how many connections tcpkit says it saw.
connections() { sed -n 's/.*, \([0-9]*\) connections$/\1/p' "$1" | head -1; }
BASE_CONNS=$(connections "$WORK/base.err")
CONNS=$(connections "$WORK/many.err")
ANSWERED=$(sed -n 's/^requests: \([0-9]*\) answered.*/\1/p' "$WORK/many.err")
PER=$(awk -v a="$PEAK" -v b="$BASE" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')

result memory.connections "$N"
result memory.peak_kib "$PEAK"
result memory.base_kib "$BASE"
result memory.per_connection_bytes "$PER"
result memory.seen_connections "${CONNS:-?}"
result memory.answered "${ANSWERED:-?}"

echo "capture: $CAPTURE ($N connections, each a handshake, one GET and its reply, never closed)"
echo
printf '%-44s %14s\n' "tcpkit -r -m redis" "peak RSS"
printf '%-44s %10s MiB\n' "test/fixtures/redis-demo.pcap ($BASE_CONNS connections)" "$(awk -v k="$BASE" 'BEGIN { printf "%.1f", k / 1024 }')"
printf '%-44s %10s MiB\n' "$N concurrent connections" "$(awk -v k="$PEAK" 'BEGIN { printf "%.1f", k / 1024 }')"
echo
echo "per connection: $PER bytes (the difference, over $N)"
echo "tcpkit saw ${CONNS:-?} connections and ${ANSWERED:-?} answered requests"
if [ "${CONNS:-0}" != "$N" ] || [ "${ANSWERED:-0}" != "$N" ]; then
  sed 's/^/  /' "$WORK/many.err" >&2
  die "tcpkit did not see every connection and answered request"
fi
