#!/usr/bin/env bash
# Offline Kafka throughput: `tcpkit -r -m kafka` on a large capture built from
# the protocol specification (test/bench/kafka-capture.ts: 200 clients,
# Produce, Fetch with records and long polls, Metadata, Heartbeat,
# OffsetCommit), beside `tcpdump -nn -r` and `tshark -r -Y kafka` on the same
# file. Debian and npm have no Kafka broker to record under load, so the
# capture is synthesized; the live test (test/live/kafka-live.test.ts) covers
# a real client.
#
#   bash test/bench/offline-kafka.sh
#
# Environment:
#   BENCH_DIR            cache directory (default /tmp/tcpkit-bench)
#   BENCH_KAFKA_PACKETS  the capture holds at least this many packets (default 600000)
#   BENCH_RUNS           timed runs of tcpkit and tcpdump; the best is reported (default 3)
#   BENCH_TSHARK         0 to skip tshark (default 1); tshark runs once
#   BENCH_TSHARK_LIMIT   seconds after which tshark is given up (default 120)
#   BENCH_RESULTS        file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_KAFKA_PACKETS=${BENCH_KAFKA_PACKETS:-600000}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TSHARK=${BENCH_TSHARK:-1}
BENCH_TSHARK_LIMIT=${BENCH_TSHARK_LIMIT:-120}
PORT=9092
CAPTURE="$BENCH_DIR/kafka-$BENCH_KAFKA_PACKETS.pcap"
META="${CAPTURE%.pcap}.meta"
GEN="$ROOT/dist/test/bench/kafka-capture.js"

bench_init offline-kafka
need node tcpdump
need_cli
[ -f "$GEN" ] || die "$GEN is missing: run 'make build' first"

if [ -s "$CAPTURE" ] && [ -s "$META" ]; then
  log "reusing $CAPTURE"
else
  PARTIAL="$BENCH_DIR/.kafka.$$.pcap"
  bench_partial "$PARTIAL"
  log "writing a capture of at least $BENCH_KAFKA_PACKETS packets"
  node "$GEN" "$PARTIAL" "$BENCH_KAFKA_PACKETS" >"$WORK/gen.out"
  mv "$PARTIAL" "$CAPTURE"
  tr ' ' '\n' <"$WORK/gen.out" >"$META"
fi
PACKETS=$(sed -n 's/^packets=//p' "$META")
REQUESTS=$(sed -n 's/^requests=//p' "$META")
LOAD_DESC="synthesized: 200 clients; Produce, Fetch (records and long polls), Metadata, Heartbeat, OffsetCommit"

pps() { awk -v p="$PACKETS" -v s="$1" 'BEGIN { printf "%.0f", p / s }'; }

OUT="$WORK/tcpkit.out"
log "timing $PACKETS packets, best of $BENCH_RUNS"
T_TCPKIT=$(best_of "$BENCH_RUNS" tcpkit node "$CLI" -r "$CAPTURE" -p "$PORT" -m kafka -o "$OUT")
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
  timeout "$BENCH_TSHARK_LIMIT" tshark -r "$CAPTURE" -d "tcp.port==$PORT,kafka" -Y kafka >/dev/null 2>"$WORK/tshark.err" || rc=$?
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

W=kafka
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
echo "         $PACKETS packets, $REQUESTS requests that expect an answer ($LOAD_DESC)"
echo
printf '%-34s %10s %14s %10s\n' tool seconds packets/s lines
printf '%-34s %10s %14s %10s\n' "tcpkit -r -m kafka -o FILE" "$T_TCPKIT" "$(pps "$T_TCPKIT")" "$LINES"
[ -n "$LOOP" ] && printf '%-34s %10s %14s %10s\n' "  (its packet loop, its own clock)" "$LOOP" "$(pps "$LOOP")" ""
printf '%-34s %10s %14s %10s\n' "tcpdump -nn -r" "$T_TCPDUMP" "$(pps "$T_TCPDUMP")" -
if [ -n "$T_TSHARK" ]; then
  printf '%-34s %10s %14s %10s\n' "tshark -r -Y kafka (1 run)" "$T_TSHARK" "$(pps "$T_TSHARK")" -
else
  printf '%-34s %s\n' "tshark -r -Y kafka" "$TSHARK_NOTE"
fi
echo
# Every request that expects an answer is one line (the capture has every answer).
if [ "$LINES" = "$REQUESTS" ]; then
  echo "lines check: $LINES lines for $REQUESTS requests: ok"
else
  echo "lines check: $LINES lines for $REQUESTS requests: MISMATCH"
  exit 1
fi
