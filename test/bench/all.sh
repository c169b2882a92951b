#!/usr/bin/env bash
# Every benchmark, then one markdown table of what this run measured, with
# issue 7's targets and whether each was met. What `make bench` runs.
#
#   bash test/bench/all.sh            (as root, after make build)
#
# The parts, in order (each a script in test/bench/, each runnable alone):
#   offline-redis offline-memcached offline-http   offline.sh WORKLOAD (and the Lua row)
#   lua-original                                   lua-original.sh (Lua beside the original C tcpkit)
#   offline-kafka                                  offline-kafka.sh (a synthesized capture)
#   offline-mysql offline-pgsql                    offline-sql.sh MODE (recorded from real servers)
#   live-watch                                     live-watch.sh (unpipelined, beside the original)
#   live-redis                                     live-redis.sh
#   unrelated                                      unrelated.sh
#   memory                                         memory.sh
#   soak                                           soak.sh (BENCH_SOAK_SECONDS, 600 by default)
# A part that fails is reported in the table and the others still run; the
# exit status is then 1.
#
# Environment: BENCH_PARTS (the parts to run, default all of them, space-
# separated), BENCH_TABLE (also write the table to this file), and each
# part's own (see the scripts): BENCH_DIR, BENCH_MIN_PACKETS, BENCH_SQL_PACKETS, BENCH_RUNS,
# BENCH_TSHARK_LIMIT, BENCH_REQUESTS, BENCH_PIPELINE, BENCH_LIVE_ROUNDS,
# BENCH_BULK_SECONDS, BENCH_CONNECTIONS, BENCH_SOAK_SECONDS, BENCH_SOAK_INTERVAL, ...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_PARTS="offline-redis lua-original offline-memcached offline-http offline-kafka offline-mysql offline-pgsql live-watch live-redis unrelated memory soak"
PARTS=${BENCH_PARTS:-$ALL_PARTS}

bench_init bench
need_root
need_cli
TABLE_JS="$ROOT/dist/test/bench/table.js"
[ -f "$TABLE_JS" ] || die "$TABLE_JS is missing: run 'make build' first"

export BENCH_RESULTS="$WORK/results"
: >"$BENCH_RESULTS"
machine >&2

RC=0
for part in $ALL_PARTS; do
  if [[ " $PARTS " != *" $part "* ]]; then
    result "part.$part" "skipped (BENCH_PARTS)"
    continue
  fi
  case "$part" in
    offline-kafka) cmd=(bash "$ROOT/test/bench/offline-kafka.sh") ;;
    offline-mysql | offline-pgsql) cmd=(bash "$ROOT/test/bench/offline-sql.sh" "${part#offline-}") ;;
    offline-*) cmd=(bash "$ROOT/test/bench/offline.sh" "${part#offline-}") ;;
    *) cmd=(bash "$ROOT/test/bench/$part.sh") ;;
  esac
  echo >&2
  log "=== $part: ${cmd[*]#"$ROOT/"}"
  rc=0
  "${cmd[@]}" >&2 || rc=$?
  case "$rc" in
    0) result "part.$part" ok ;;
    130 | 143) log "stopped during $part"; exit "$rc" ;;
    *) result "part.$part" "failed (exit $rc), see its log"; RC=1 ;;
  esac
done

cp "$BENCH_RESULTS" "$BENCH_DIR/results.txt"
echo >&2
log "results of this run kept in $BENCH_DIR/results.txt"
echo
node "$TABLE_JS" "$BENCH_RESULTS" | tee ${BENCH_TABLE:+"$BENCH_TABLE"}
exit "$RC"
