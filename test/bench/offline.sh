#!/usr/bin/env bash
# Offline throughput: `tcpkit -r` on a large capture of a real server under a
# load generator, beside `tcpdump -nn -r` and `tshark -r` on the same file.
#
#   bash test/bench/offline.sh redis|memcached|http
#
#   redis      redis-server, redis-benchmark -t set,get,incr,lpush -c 50
#   memcached  memcached, memcslap (libmemcached-tools) -t get -c 50: text protocol, sets
#              then gets of values up to a few KiB, one connection per client
#   http       nginx (keep-alive), wrk -t 2 -c 50, a 600-byte static file
#
# The capture (at least BENCH_MIN_PACKETS packets) is recorded once by
# tcpdump, inside a network namespace of its own, and cached in BENCH_DIR;
# later runs reuse it. tcpkit writes every line to a file (-o). With redis,
# the same capture also goes through a Lua script in raw mode
# (test/bench/lua-raw.lua, reading each packet's size and payload), when
# this build of tcpkit has -S.
#
# Environment:
#   BENCH_DIR            cache directory (default /tmp/tcpkit-bench)
#   BENCH_MIN_PACKETS    the capture must hold at least this many (default 800000)
#   BENCH_RUNS           timed runs of tcpkit and tcpdump; the best is reported (default 3)
#   BENCH_TSHARK         0 to skip tshark (default 1); tshark runs once
#   BENCH_TSHARK_LIMIT   seconds after which tshark is given up (default 120)
#   BENCH_LUA            0 to skip the Lua row (default 1)
#   BENCH_RECAPTURE      1 to record a new capture even if one is cached
#   BENCH_REDIS_REQUESTS, BENCH_MEMCACHED_KEYS, BENCH_HTTP_SECONDS
#                        the first recording's size (redis-benchmark -n per
#                        test, memcslap -e, wrk -d); a recording that comes
#                        out short of BENCH_MIN_PACKETS is made again, larger
#   BENCH_RESULTS        file that collects KEY=VALUE results (test/bench/all.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKLOAD=${1:-}
BENCH_MIN_PACKETS=${BENCH_MIN_PACKETS:-800000}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TSHARK=${BENCH_TSHARK:-1}
BENCH_TSHARK_LIMIT=${BENCH_TSHARK_LIMIT:-120}
BENCH_LUA=${BENCH_LUA:-1}
BENCH_RECAPTURE=${BENCH_RECAPTURE:-0}
CLIENTS=50
LUA_SCRIPT="$ROOT/test/bench/lua-raw.lua"

workload "$WORKLOAD" || { echo "usage: bash test/bench/offline.sh redis|memcached|http" >&2; exit 2; }
META="${CAPTURE%.pcap}.meta"

bench_init "offline-$WORKLOAD"
# shellcheck disable=SC2086
need node ip tcpdump $TOOLS
need_cli

# --- the server and its load, in namespace $NS ------------------------------

start_server() {
  local pid
  case "$WORKLOAD" in
    redis)
      start_redis "$PORT"
      return
      ;;
    memcached)
      ip netns exec "$NS" memcached -u root -l 127.0.0.1 -p "$PORT" -U 0 -t 2 -m 256 >"$WORK/server.log" 2>&1 &
      pid=$!
      ready() { nsx memcping --servers="127.0.0.1:$PORT"; }
      ;;
    http)
      mkdir -p "$WORK/www" "$WORK/nginx-tmp"
      head -c 600 /dev/zero | tr '\0' x >"$WORK/www/index.html"
      # One worker in the foreground, no access log, and connections that stay
      # open for the whole run (wrk's keep-alive is the point).
      cat >"$WORK/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/server.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  client_body_temp_path $WORK/nginx-tmp;
  proxy_temp_path $WORK/nginx-tmp;
  fastcgi_temp_path $WORK/nginx-tmp;
  uwsgi_temp_path $WORK/nginx-tmp;
  scgi_temp_path $WORK/nginx-tmp;
  server { listen 127.0.0.1:$PORT; root $WORK/www; }
}
EOF
      ip netns exec "$NS" nginx -c "$WORK/nginx.conf" -e "$WORK/server.log" >>"$WORK/server.log" 2>&1 &
      pid=$!
      ready() { [ "$(nsx curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 200 ]; }
      ;;
  esac
  bench_track "$pid"
  wait_until 100 ready || { cat "$WORK/server.log" >&2; die "the $WORKLOAD server did not answer"; }
}

# run_load N: the load generator, sized N; sets LOAD_REQUESTS (requests it
# sent and got answered) and LOAD_DESC.
run_load() {
  local n=$1
  case "$WORKLOAD" in
    redis)
      LOAD_DESC="redis-benchmark -t set,get,incr,lpush -c $CLIENTS -n $n"
      nsx redis-benchmark -p "$PORT" -t set,get,incr,lpush -n "$n" -c "$CLIENTS" -q >"$WORK/load.out"
      LOAD_REQUESTS=$((n * 4))
      ;;
    memcached)
      # Sets n keys (values of up to a few KiB), then each client gets them all.
      LOAD_DESC="memcslap -t get -c $CLIENTS -e $n"
      nsx memcslap -s "127.0.0.1:$PORT" -t get -c "$CLIENTS" -e "$n" >"$WORK/load.out"
      LOAD_REQUESTS=$(sed -n 's/^Time to \(set\|get\) *\([0-9]*\) keys.*/\2/p' "$WORK/load.out" | awk '{ s += $1 } END { print s + 0 }')
      ;;
    http)
      LOAD_DESC="wrk -t 2 -c $CLIENTS -d ${n}s"
      nsx wrk -t 2 -c "$CLIENTS" -d "${n}s" "http://127.0.0.1:$PORT/" >"$WORK/load.out"
      LOAD_REQUESTS=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$WORK/load.out")
      ;;
  esac
  tr '\r' '\n' <"$WORK/load.out" | grep -E 'requests per second|^Time to get|^Requests/sec' | sed 's/^/  /' >&2 || true
  [ "${LOAD_REQUESTS:-0}" -gt 0 ] || { cat "$WORK/load.out" >&2; die "the load generator reported no requests"; }
}

# record N FILE: the load, sized N, captured into FILE by tcpdump. False when
# tcpdump dropped packets (it fell behind: the capture is incomplete).
record() {
  local n=$1 file=$2
  bench_netns
  start_server
  # -Z root: write the file as root (tcpdump would drop to its own user).
  ip netns exec "$NS" tcpdump -i lo -nn -U -s 0 -B 262144 -Z root -w "$file" "tcp port $PORT" 2>"$WORK/tcpdump.err" &
  local tcpd=$!
  bench_track "$tcpd"
  wait_log "$tcpd" "$WORK/tcpdump.err" 'listening on'

  log "recording $WORKLOAD load, size $n (namespace $NS)"
  run_load "$n"

  # Let tcpdump write out what is still in its buffer: killed at once, it
  # would lose the last requests and replies.
  sleep 1
  kill -INT "$tcpd"
  wait "$tcpd" || true
  bench_untrack "$tcpd"
  bench_netns_del "$NS"

  grep -v 'listening on' "$WORK/tcpdump.err" | sed 's/^/  tcpdump: /' >&2 || true
  local dropped
  dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/tcpdump.err")
  if [ "${dropped:-0}" != 0 ]; then
    log "tcpdump dropped $dropped packets: the capture is incomplete"
    return 1
  fi
}

# --- the capture, cached -------------------------------------------------------

if [ "$BENCH_RECAPTURE" = 1 ]; then rm -f "$CAPTURE" "$META"; fi
if [ -s "$CAPTURE" ] && [ -s "$META" ] &&
  [ "$(sed -n 's/^packets=//p' "$META")" -ge "$BENCH_MIN_PACKETS" ] 2>/dev/null; then
  log "reusing $CAPTURE (BENCH_RECAPTURE=1 records a new one)"
else
  need_root
  n=$SIZE
  PARTIAL="$BENCH_DIR/.$WORKLOAD.$$.pcap"
  bench_partial "$PARTIAL"
  for attempt in 1 2 3 4; do
    rm -f "$PARTIAL"
    record "$n" "$PARTIAL" || continue
    got=$(count_packets "$PARTIAL")
    log "captured $got packets for $LOAD_REQUESTS requests"
    if [ "$got" -ge "$BENCH_MIN_PACKETS" ]; then
      mv "$PARTIAL" "$CAPTURE"
      printf 'load=%s\nrequests=%s\npackets=%s\n' "$LOAD_DESC" "$LOAD_REQUESTS" "$got" >"$META"
      break
    fi
    # Scale up, with 10% to spare.
    n=$(((n * BENCH_MIN_PACKETS * 11) / (got * 10) + 1))
    log "fewer than $BENCH_MIN_PACKETS packets; again with size $n"
  done
  [ -s "$CAPTURE" ] || die "could not record $BENCH_MIN_PACKETS packets without losing any: try on a quieter machine"
fi

REQUESTS=$(sed -n 's/^requests=//p' "$META")
LOAD_DESC=$(sed -n 's/^load=//p' "$META")
# Captures cached by the first version of this script say how they were made
# in other words.
if [ -z "$LOAD_DESC" ] && [ "$WORKLOAD" = redis ]; then
  LOAD_DESC="redis-benchmark -t $(sed -n 's/^tests=//p' "$META") -c $(sed -n 's/^clients=//p' "$META") -n $(sed -n 's/^requests_per_test=//p' "$META")"
fi
PACKETS=$(count_packets "$CAPTURE")

# --- timing ----------------------------------------------------------------------

offline_time -m "$MODE"
offline_tshark -Y "$TSHARK_FILTER"

# Raw mode through a Lua script: only if this tcpkit has -S. A tiny capture
# tells: exit 0 is a yes, "not supported" a no, anything else a failure.
T_LUA="" LUA_NOTE="" LUA_SEEN=""
if [ "$WORKLOAD" = redis ] && [ "$BENCH_LUA" = 1 ]; then
  rc=0
  "${TCPKIT[@]}" -r "$ROOT/test/fixtures/redis-demo.pcap" -p "$PORT" -m raw -S "$LUA_SCRIPT" -o /dev/null 2>"$WORK/lua-probe.err" || rc=$?
  if [ "$rc" = 0 ]; then
    LUA_OUT="$WORK/lua.out"
    T_LUA=$(best_of "$BENCH_RUNS" lua "${TCPKIT[@]}" -r "$CAPTURE" -p "$PORT" -m raw -S "$LUA_SCRIPT" -o "$LUA_OUT")
    # The script's last line counts what it was given (if process_end ran).
    LUA_SEEN=$(sed -n 's/^lua-raw: \([0-9]*\) packets.*/\1/p' "$LUA_OUT" | tail -1)
  elif grep -q 'not supported' "$WORK/lua-probe.err"; then
    LUA_NOTE="not built"
  else
    LUA_NOTE="failed (exit $rc): $(head -1 "$WORK/lua-probe.err")"
  fi
elif [ "$WORKLOAD" = redis ]; then
  LUA_NOTE="skipped (BENCH_LUA=$BENCH_LUA)"
fi

# --- report ------------------------------------------------------------------------

W=$WORKLOAD
offline_results "$W" "$LOAD_DESC" "$REQUESTS"
if [ "$WORKLOAD" = redis ]; then
  result offline.lua.script "${LUA_SCRIPT#"$ROOT/"}"
  if [ -n "$T_LUA" ]; then
    result offline.lua.packets "$PACKETS"
    result offline.lua.tcpkit_s "$T_LUA"
    result offline.lua.seen "${LUA_SEEN:-}"
  else
    result offline.lua.note "$LUA_NOTE"
  fi
fi

echo
echo "capture: $CAPTURE"
echo "         $PACKETS packets, $REQUESTS requests ($LOAD_DESC)"
echo
offline_table "tcpkit -r -m $MODE -o FILE" "$TSHARK_FILTER"
if [ "$WORKLOAD" = redis ]; then
  if [ -n "$T_LUA" ]; then
    printf '%-34s %10s %14s %10s\n' "tcpkit -r -m raw -S lua-raw.lua" "$T_LUA" "$(pps "$T_LUA")" "${LUA_SEEN:--}"
  else
    printf '%-34s %s (%s)\n' "tcpkit -r -m raw -S lua-raw.lua" "$LUA_NOTE" "${LUA_SCRIPT#"$ROOT/"}"
  fi
fi
echo

RC=0
# Each request the load generator sent is one line; allow 0.5% (the load
# generators' own commands at start, requests in flight when it stopped).
DIFF=$((LINES - REQUESTS))
if [ "${DIFF#-}" -le $((REQUESTS / 200 + 10)) ]; then
  echo "lines check: $LINES lines for $REQUESTS requests sent (difference $DIFF): ok"
else
  echo "lines check: $LINES lines for $REQUESTS requests sent (difference $DIFF): MISMATCH"
  RC=1
fi
if [ -n "$LUA_SEEN" ] && [ "$LUA_SEEN" != "$PACKETS" ]; then
  echo "lua check: the script was given $LUA_SEEN of $PACKETS packets"
fi
result "offline.$W.lines_ok" "$([ "$RC" = 0 ] && echo 1 || echo 0)"
echo
echo "tcpkit's summary (best run):"
sed 's/^/  /' "$WORK/tcpkit.best.err"
exit "$RC"
