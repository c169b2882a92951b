#!/usr/bin/env bash
# Lua benchmark: packets per second through a script's process(packet), on
# the same capture of redis-benchmark traffic as offline.sh redis (recorded
# by it when not cached), with tcpkit -r ... -S in raw mode.
#
#   bash test/bench/lua-raw.sh
#
# Three scripts: process() that reads nothing, one that reads size and
# payload (the target), and one that reads every field. The time is the
# whole run (node's start, reading the file, decoding, the Lua calls); the
# CPU time (user + system) is shown too, as it depends less on what else
# the machine is running.
#
# Environment:
#   BENCH_DIR          the capture's cache directory (default /tmp/tcpkit-bench)
#   BENCH_RUNS         timed runs per script, the best is reported (default 3)
#   BENCH_TARGET_PPS   the target for the size+payload script (default 300000)
set -euo pipefail

# ROOT, CLI, and TCPKIT (node started as the tcpkit command starts it).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TARGET_PPS=${BENCH_TARGET_PPS:-300000}
PORT=6379

log() { printf 'lua-raw: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -f "$CLI" ] || die "$CLI is missing: run 'make build' first"
# The offline benchmark's redis capture (test/bench/offline.sh redis records it once).
CAPTURE="${BENCH_DIR:-/tmp/tcpkit-bench}/redis-benchmark.pcap"
[ -s "$CAPTURE" ] || BENCH_TSHARK=0 BENCH_RUNS=1 BENCH_LUA=0 bash "$ROOT/test/bench/offline.sh" redis >&2
[ -s "$CAPTURE" ] || die "no capture at $CAPTURE"
META="${CAPTURE%.pcap}.meta"
PACKETS=$(sed -n 's/^packets=//p' "$META")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tk-lua-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/nothing.lua" <<'LUA'
local n = 0
function process(packet) n = n + 1 end
function process_end() print(n) end
LUA
cat >"$WORK/size-payload.lua" <<'LUA'
local n, bytes = 0, 0
function process(packet)
  n = n + 1
  if packet.size > 0 then bytes = bytes + #packet.payload end
end
function process_end() print(n, bytes) end
LUA
cat >"$WORK/every-field.lua" <<'LUA'
local n, sum = 0, 0
function process(p)
  n = n + 1
  sum = sum + p.tv_sec + p.tv_usec + p.sport + p.dport + p.seq + p.ack + p.flags + p.size + p.len
  local s = p.sip .. p.dip .. p.payload
  if p.request then sum = sum + #s end
end
function process_end() print(n, sum) end
LUA

now() { date +%s.%N; }
TIMEFORMAT='%U %S' # bash's time: user and system seconds

# best_of SCRIPT: "WALL CPU", the best wall time and the best CPU time of
# BENCH_RUNS runs, in seconds; checks that the script saw every packet.
best_of() {
  local name=$1 best="" best_cpu="" i t0 t1 s cpu seen
  for i in $(seq 1 "$BENCH_RUNS"); do
    t0=$(now)
    { time "${TCPKIT[@]}" -r "$CAPTURE" -p "$PORT" -S "$WORK/$name.lua" >"$WORK/$name.out" 2>"$WORK/$name.err" \
      || { cat "$WORK/$name.err" >&2; die "$name failed"; }; } 2>"$WORK/$name.time"
    t1=$(now)
    seen=$(cut -f1 "$WORK/$name.out")
    [ "$seen" = "$PACKETS" ] || die "$name saw $seen packets of $PACKETS"
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    cpu=$(awk '{ printf "%.3f", $1 + $2 }' "$WORK/$name.time")
    log "$name run $i: $s s, CPU $cpu s"
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
    if [ -z "$best_cpu" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then best_cpu=$cpu; fi
  done
  echo "$best $best_cpu"
}

pps() { awk -v p="$PACKETS" -v s="$1" 'BEGIN { printf "%.0f", p / s }'; }

read -r T_NOTHING C_NOTHING <<<"$(best_of nothing)"
read -r T_TARGET C_TARGET <<<"$(best_of size-payload)"
read -r T_EVERY C_EVERY <<<"$(best_of every-field)"

echo
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), node $(node --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "capture: $CAPTURE, $PACKETS packets"
echo
printf '%-34s %10s %14s %10s %16s\n' "script (tcpkit -r -S, raw mode)" seconds packets/s "CPU s" "packets/CPU-s"
printf '%-34s %10s %14s %10s %16s\n' "process() reads nothing" "$T_NOTHING" "$(pps "$T_NOTHING")" "$C_NOTHING" "$(pps "$C_NOTHING")"
printf '%-34s %10s %14s %10s %16s\n' "reads size and payload" "$T_TARGET" "$(pps "$T_TARGET")" "$C_TARGET" "$(pps "$C_TARGET")"
printf '%-34s %10s %14s %10s %16s\n' "reads every field" "$T_EVERY" "$(pps "$T_EVERY")" "$C_EVERY" "$(pps "$C_EVERY")"
echo
TARGET=$(pps "$T_TARGET")
if [ "$TARGET" -ge "$BENCH_TARGET_PPS" ]; then
  echo "target: $TARGET packets/s >= $BENCH_TARGET_PPS: met"
else
  echo "target: $TARGET packets/s < $BENCH_TARGET_PPS: NOT met"
fi
