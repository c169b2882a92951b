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

offline_time -m "$MODE"
offline_tshark -d "tcp.port==$PORT,$MODE" -Y "$MODE"
offline_results "$MODE" "$LOAD_DESC" "$REQUESTS"

echo
echo "capture: $CAPTURE"
echo "         $PACKETS packets, $REQUESTS requests ($LOAD_DESC)"
echo
offline_table "tcpkit -r -m $MODE -o FILE" "$MODE"
echo
# Every statement and login is one line (the capture has every answer).
offline_lines_exact "$REQUESTS"
