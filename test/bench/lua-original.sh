#!/usr/bin/env bash
# Lua beside the original: the original 2019 C tcpkit (built from
# ../shared/reference/ with its bundled C Lua 5.2) and ours, on the same
# redis-benchmark capture (offline.sh redis records and caches it), with the
# same three scripts through process(packet), in the same run:
#   size-payload  reads packet.size and #packet.payload on every packet
#   example       the original's own scripts/example.lua (os.date, string.format of every field)
#   nothing       a process() that does nothing
# Wall time (node's and fengari's start-up included) of the best of
# BENCH_RUNS runs each, and ours/original per row. Target: <= 0.8 per row;
# above 1.0 is not done. Output goes to a file (-o for ours, > for the original).
#
#   bash test/bench/lua-original.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_RUNS=${BENCH_RUNS:-3}
bench_init lua-original
need_cli
BUILD="$ROOT/../shared/reference/build-original.sh"
[ -x "$BUILD" ] || [ -f "$BUILD" ] || die "$BUILD is absent: no original to compare with"
ORIG=$(bash "$BUILD" "${BENCH_DIR:-/tmp/tcpkit-bench}/original" | tail -1)
CAPTURE="${BENCH_DIR:-/tmp/tcpkit-bench}/redis-benchmark.pcap"
[ -s "$CAPTURE" ] || BENCH_TSHARK=0 BENCH_RUNS=1 BENCH_LUA=0 bash "$ROOT/test/bench/offline.sh" redis >&2
[ -s "$CAPTURE" ] || die "no capture at $CAPTURE"

cat >"$WORK/size-payload.lua" <<'LUA'
local n, bytes = 0, 0
function process(packet)
  n = n + 1
  if packet.size > 0 then bytes = bytes + #packet.payload end
end
LUA
cp "$(dirname "$ORIG")/scripts/example.lua" "$WORK/example.lua"
printf 'function process(packet) end\n' >"$WORK/nothing.lua"

now() { date +%s.%N; }
# best WALL seconds of BENCH_RUNS runs of the command
best() {
  local b="" t0 t1 s i
  for i in $(seq 1 "$BENCH_RUNS"); do
    t0=$(now); "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; die "failed: $*"; }; t1=$(now)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$b" ] || awk -v a="$s" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$s; fi
  done
  echo "$b"
}
# The original needs its server address: the capture is of 127.0.0.1.
printf '\n%-44s %10s %10s %8s %s\n' "script (tcpkit -r -p 6379 -S)" "ours s" "orig s" ratio verdict
for s in size-payload example nothing; do
  o=$(best "$ORIG" -r "$CAPTURE" -p 6379 -s 127.0.0.1 -S "$WORK/$s.lua")
  t=$(best node "$CLI" -r "$CAPTURE" -p 6379 -s 127.0.0.1 -S "$WORK/$s.lua" -o "$WORK/ours.out")
  r=$(awk -v a="$t" -v b="$o" 'BEGIN { printf "%.2f", a / b }')
  v=$(awk -v r="$r" 'BEGIN { print (r <= 0.8 ? "met" : (r <= 1.0 ? "not met (<= 1.0)" : "NOT MET (> 1.0)")) }')
  printf '%-44s %10s %10s %8s %s\n' "$s" "$t" "$o" "${r}x" "$v"
  result "lua_original.$s.tcpkit_s" "$t"
  result "lua_original.$s.original_s" "$o"
done
