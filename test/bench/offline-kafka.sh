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

offline_time -m kafka
offline_tshark -d "tcp.port==$PORT,kafka" -Y kafka
offline_results kafka "$LOAD_DESC" "$REQUESTS"

echo
echo "capture: $CAPTURE"
echo "         $PACKETS packets, $REQUESTS requests that expect an answer ($LOAD_DESC)"
echo
offline_table "tcpkit -r -m kafka -o FILE" kafka
echo
# Every request that expects an answer is one line (the capture has every answer).
offline_lines_exact "$REQUESTS"
