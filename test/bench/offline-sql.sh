#!/usr/bin/env bash
# Offline MySQL or PostgreSQL throughput: `tcpkit -r -m MODE` on a large
# capture recorded from a real server (MariaDB or PostgreSQL started in a
# network namespace, 8 clients of point SELECTs, prepared SELECTs, UPDATEs,
# INSERTs and errors: test/bench/sql-record.ts), beside `tcpdump -nn -r` and
# `tshark -r -Y MODE` on the same file in the same run.
#
#   bash test/bench/offline-sql.sh mysql|pgsql      (as root, after make build)
#
# Environment:
#   BENCH_DIR            cache directory (default /tmp/tcpkit-bench); the capture is kept and reused
#   BENCH_SQL_PACKETS    the capture holds at least this many packets (default 500000)
#   BENCH_RUNS           timed runs of tcpkit and tcpdump; the best is reported (default 3)
#   BENCH_TSHARK         0 to skip tshark (default 1); tshark runs once
#   BENCH_TSHARK_LIMIT   seconds after which tshark is given up (default 300)
#   BENCH_RESULTS        file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODE=${1:-}
case "$MODE" in
  mysql) PORT=3306 ;;
  pgsql) PORT=5432 ;;
  *) echo "usage: $0 mysql|pgsql" >&2; exit 2 ;;
esac
BENCH_SQL_PACKETS=${BENCH_SQL_PACKETS:-500000}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TSHARK=${BENCH_TSHARK:-1}
BENCH_TSHARK_LIMIT=${BENCH_TSHARK_LIMIT:-300}
CAPTURE="$BENCH_DIR/$MODE-$BENCH_SQL_PACKETS.pcap"
META="${CAPTURE%.pcap}.meta"
REC="$ROOT/dist/test/bench/sql-record.js"

bench_init "offline-$MODE"
need node tcpdump
need_cli
[ -f "$REC" ] || die "$REC is missing: run 'make build' first"

if [ -s "$CAPTURE" ] && [ -s "$META" ]; then
  log "reusing $CAPTURE"
else
  need_root
  PARTIAL="$BENCH_DIR/.$MODE.$$.pcap"
  bench_partial "$PARTIAL"
  log "recording at least $BENCH_SQL_PACKETS packets from a real server"
  node "$REC" "$MODE" "$PARTIAL" "$BENCH_SQL_PACKETS" >"$WORK/rec.out"
  mv "$PARTIAL" "$CAPTURE"
  tr ' ' '\n' <"$WORK/rec.out" >"$META"
fi
PACKETS=$(sed -n 's/^packets=//p' "$META")
REQUESTS=$(sed -n 's/^requests=//p' "$META")
if [ "$MODE" = mysql ]; then SERVER="MariaDB $(mariadbd --version | sed -n 's/.*Ver \([^ ]*\).*/\1/p')"; else SERVER="PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{ print $3 }')"; fi
LOAD_DESC="recorded from $SERVER: 8 clients; point, prepared and range SELECTs, UPDATE, INSERT, an error in 50"

pps() { awk -v p="$PACKETS" -v s="$1" 'BEGIN { printf "%.0f", p / s }'; }

OUT="$WORK/tcpkit.out"
log "timing $PACKETS packets, best of $BENCH_RUNS"
T_TCPKIT=$(best_of "$BENCH_RUNS" tcpkit node "$CLI" -r "$CAPTURE" -p "$PORT" -m "$MODE" -o "$OUT")
LINES=$(wc -l <"$OUT")
LOOP=$(sed -n 's/^tcpkit: pcap-file .* packets in \([0-9.]*\) s[,:].*/\1/p' "$WORK/tcpkit.best.err")
T_TCPDUMP=$(best_of "$BENCH_RUNS" tcpdump tcpdump -nn -r "$CAPTURE")

T_TSHARK="" TSHARK_NOTE=""
if [ "$BENCH_TSHARK" != 1 ]; then
  TSHARK_NOTE="skipped (BENCH_TSHARK=$BENCH_TSHARK)"
elif ! command -v tshark >/dev/null; then
  TSHARK_NOTE="skipped (not installed)"
else
  t0=$(now)
  rc=0
  timeout "$BENCH_TSHARK_LIMIT" tshark -r "$CAPTURE" -d "tcp.port==$PORT,$MODE" -Y "$MODE" >/dev/null 2>"$WORK/tshark.err" || rc=$?
  t1=$(now)
  if [ "$rc" = 124 ]; then
    TSHARK_NOTE="gave up after ${BENCH_TSHARK_LIMIT} s"
  elif [ "$rc" != 0 ]; then
    TSHARK_NOTE="failed (exit $rc): $(head -1 "$WORK/tshark.err")"
  else
    T_TSHARK=$(elapsed "$t0" "$t1")
    log "tshark run 1: $T_TSHARK s"
  fi
fi

W=$MODE
result "offline.$W.capture" "$CAPTURE"
result "offline.$W.load" "$LOAD_DESC"
result "offline.$W.packets" "$PACKETS"
result "offline.$W.requests" "$REQUESTS"
result "offline.$W.lines" "$LINES"
result "offline.$W.tcpkit_s" "$T_TCPKIT"
result "offline.$W.loop_s" "${LOOP:-}"
result "offline.$W.tcpdump_s" "$T_TCPDUMP"
if [ -n "$T_TSHARK" ]; then result "offline.$W.tshark_s" "$T_TSHARK"; else result "offline.$W.tshark_note" "$TSHARK_NOTE"; fi
result "offline.$W.tshark_limit" "$BENCH_TSHARK_LIMIT"

echo
echo "capture: $CAPTURE"
echo "         $PACKETS packets, $REQUESTS requests ($LOAD_DESC)"
echo
printf '%-34s %10s %14s %10s\n' tool seconds packets/s lines
printf '%-34s %10s %14s %10s\n' "tcpkit -r -m $MODE -o FILE" "$T_TCPKIT" "$(pps "$T_TCPKIT")" "$LINES"
[ -n "$LOOP" ] && printf '%-34s %10s %14s %10s\n' "  (its packet loop, its own clock)" "$LOOP" "$(pps "$LOOP")" ""
printf '%-34s %10s %14s %10s\n' "tcpdump -nn -r" "$T_TCPDUMP" "$(pps "$T_TCPDUMP")" -
if [ -n "$T_TSHARK" ]; then
  printf '%-34s %10s %14s %10s\n' "tshark -r -Y $MODE (1 run)" "$T_TSHARK" "$(pps "$T_TSHARK")" -
  echo "tcpkit / tshark: $(awk -v a="$T_TSHARK" -v b="$T_TCPKIT" 'BEGIN { printf "%.1fx", a / b }')"
else
  printf '%-34s %s\n' "tshark -r -Y $MODE" "$TSHARK_NOTE"
fi
echo
# Every statement and login is one line (the capture has every answer).
if [ "$LINES" = "$REQUESTS" ]; then
  echo "lines check: $LINES lines for $REQUESTS requests: ok"
else
  echo "lines check: $LINES lines for $REQUESTS requests: MISMATCH"
  exit 1
fi
