#!/usr/bin/env bash
# Where an offline hot path spends its time: tcpkit -r on a cached capture
# (test/bench/offline.sh WORKLOAD records it) under node's CPU profiler,
# BENCH_PROFILE_RUNS times, then the N functions with the most self time over
# all the runs, their hottest lines, and the same time by source file.
#
#   bash test/bench/profile.sh [redis|memcached|http] [N]     (redis, 10)
#
# Environment:
#   BENCH_DIR               where the capture is cached (default /tmp/tcpkit-bench)
#   BENCH_PROFILE_RUNS      runs (default 3)
#   BENCH_PROFILE_INTERVAL  sampling interval in microseconds (default 1000, V8's;
#                           shorter intervals slow tcpkit down several times)
#   BENCH_PROFILE_OUT       keep the .cpuprofile files in this directory (they
#                           open in Chrome DevTools)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=${1:-redis}
TOP=${2:-10}
workload "$W" || { echo "usage: bash test/bench/profile.sh [redis|memcached|http] [N]" >&2; exit 2; }
TOP_JS="$ROOT/dist/test/bench/profile-top.js"

bench_init profile
need node
need_cli
[ -f "$TOP_JS" ] || die "$TOP_JS is missing: run 'make build' first"
[ -s "$CAPTURE" ] || die "$CAPTURE is missing: bash test/bench/offline.sh $W records it"

for i in $(seq 1 "${BENCH_PROFILE_RUNS:-3}"); do
  node --cpu-prof --cpu-prof-interval "${BENCH_PROFILE_INTERVAL:-1000}" --cpu-prof-dir="$WORK/prof" \
    "$CLI" -r "$CAPTURE" -p "$PORT" -m "$MODE" -o /dev/null 2>"$WORK/tcpkit.err" ||
    { cat "$WORK/tcpkit.err" >&2; die "tcpkit failed"; }
  log "run $i: $(head -1 "$WORK/tcpkit.err")"
done
(cd "$ROOT" && node "$TOP_JS" "$TOP" "$WORK"/prof/*.cpuprofile)
if [ -n "${BENCH_PROFILE_OUT:-}" ]; then
  mkdir -p "$BENCH_PROFILE_OUT"
  cp "$WORK"/prof/*.cpuprofile "$BENCH_PROFILE_OUT/"
  log "profiles kept in $BENCH_PROFILE_OUT"
fi
