# Shared by the benchmark scripts in test/bench/ (sourced, not run).
#
# Sets up: ROOT, CLI, WORK (a temporary directory), BENCH_DIR (the cache),
# and a cleanup that runs on exit, Ctrl-C or SIGTERM and removes what the
# script created: the processes it started (bench_track), every process left
# in its network namespaces (bench_netns), the namespaces, partial files
# (bench_partial) and WORK.
#
# Results: `result KEY VALUE` appends KEY=VALUE to $BENCH_RESULTS when it is
# set; test/bench/all.sh collects them into one table (test/bench/table.ts).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
# Node started as tcpkit's launcher starts it (the flags on the CLI's #! line;
# src/cli/v8-flags.ts says why), so that a bench measures what `tcpkit` runs.
read -r -a NODE_FLAGS <<<"$(sed -n '1s|^#!/usr/bin/env -S node||p' "$CLI" 2>/dev/null)"
TCPKIT=(node "${NODE_FLAGS[@]}" "$CLI")
BENCH_DIR=${BENCH_DIR:-/tmp/tcpkit-bench}
HZ=$(getconf CLK_TCK)

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { log "$*"; exit 1; }

# need TOOL...: each must be on the PATH.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is not installed (make deps installs it)"
  done
}

need_root() { [ "$(id -u)" = 0 ] || die "run as root (network namespaces, live capture)"; }
need_cli() { [ -f "$CLI" ] || die "$CLI is missing: run 'make build' first"; }

# ebpf_attachment FILE: where tcpkit --ebpf attached, from its notice in FILE
# ("tcx" or "socket filter", as "capturing with eBPF on ... (tcx, ..." says).
ebpf_attachment() { grep -oE '\((tcx|socket filter)[^,)]*' "$1" | head -1 | tr -d '('; }

result() {
  if [ -n "${BENCH_RESULTS:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$BENCH_RESULTS"; fi
}

_PIDS=()
_NETNS=()
_PARTIALS=()

bench_track() { _PIDS+=("$1"); }
bench_partial() { _PARTIALS+=("$1"); }

bench_untrack() {
  local keep=() p
  for p in "${_PIDS[@]+"${_PIDS[@]}"}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  _PIDS=("${keep[@]+"${keep[@]}"}")
}

# bench_netns: creates a network namespace with lo up, under a name no one
# else uses, and sets NS to it.
bench_netns() {
  NS="tk-${BENCH_NAME}-$$-$RANDOM"
  ip netns add "$NS"
  _NETNS+=("$NS")
  ip netns exec "$NS" ip link set lo up
}

# nsx CMD...: runs CMD in the current namespace $NS.
nsx() { ip netns exec "$NS" "$@"; }

# workload NAME: what offline.sh records and profile.sh reads, per workload:
# the server's port, tcpkit's mode, tshark's display filter, the cached
# capture, the tools that record it and the first recording's size. False
# for a name it does not know.
workload() {
  case "$1" in
    redis)
      PORT=6379 MODE=redis TSHARK_FILTER=resp CAPTURE="$BENCH_DIR/redis-benchmark.pcap"
      TOOLS="redis-server redis-benchmark redis-cli" SIZE=${BENCH_REDIS_REQUESTS:-120000}
      ;;
    memcached)
      PORT=11211 MODE=memcached TSHARK_FILTER=memcache CAPTURE="$BENCH_DIR/memcslap.pcap"
      TOOLS="memcached memcslap memcping" SIZE=${BENCH_MEMCACHED_KEYS:-8500}
      ;;
    http)
      PORT=8080 MODE=http TSHARK_FILTER=http CAPTURE="$BENCH_DIR/nginx-wrk.pcap"
      TOOLS="nginx wrk curl" SIZE=${BENCH_HTTP_SECONDS:-18}
      ;;
    *) return 1 ;;
  esac
}

# start_redis PORT: redis-server on 127.0.0.1:PORT in $NS, with no
# persistence; returns once it answers.
start_redis() {
  local port=$1
  ip netns exec "$NS" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --loglevel warning >"$WORK/redis-$port.log" 2>&1 &
  bench_track $!
  wait_until 50 eval "[ \"\$(nsx redis-cli -p $port ping 2>/dev/null)\" = PONG ]" ||
    { cat "$WORK/redis-$port.log" >&2; die "redis-server did not answer"; }
}

_kill_netns_pids() {
  local ns=$1 sig=$2 pid
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "-$sig" "$pid" 2>/dev/null || true; done
}

# bench_netns_del NS: stops whatever still runs in NS (all of it is ours: the
# name is unique), then removes it.
bench_netns_del() {
  local ns=$1 i keep=() n
  if ip netns list 2>/dev/null | grep -qw -- "$ns"; then
    _kill_netns_pids "$ns" TERM
    for i in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
      sleep 0.1
    done
    _kill_netns_pids "$ns" KILL
    ip netns del "$ns" 2>/dev/null || true
  fi
  for n in "${_NETNS[@]+"${_NETNS[@]}"}"; do [ "$n" = "$ns" ] || keep+=("$n"); done
  _NETNS=("${keep[@]+"${keep[@]}"}")
}

_bench_cleanup() {
  local rc=$? pid ns f
  trap - EXIT INT TERM
  for pid in "${_PIDS[@]+"${_PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ns in "${_NETNS[@]+"${_NETNS[@]}"}"; do bench_netns_del "$ns"; done
  for pid in "${_PIDS[@]+"${_PIDS[@]}"}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for f in "${_PARTIALS[@]+"${_PARTIALS[@]}"}"; do rm -f "$f"; done
  # A kernel setting a part changed for its measurement, put back.
  if [ -n "${BENCH_BPF_STATS_WAS:-}" ]; then echo "$BENCH_BPF_STATS_WAS" >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null || true; fi
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  exit "$rc"
}

# bench_init NAME: the log prefix, WORK, BENCH_DIR and the traps.
bench_init() {
  BENCH_NAME=$1
  mkdir -p "$BENCH_DIR"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/tk-$BENCH_NAME.XXXXXX")
  trap _bench_cleanup EXIT
  trap 'log interrupted; exit 130' INT
  trap 'log terminated; exit 143' TERM
}

# wait_until TRIES CMD...: runs CMD every 0.1 s until it succeeds.
wait_until() {
  local tries=$1 i
  shift
  for i in $(seq 1 "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# wait_log PID FILE REGEX: waits until FILE matches REGEX (a capturer says it
# listens), dies if PID exits first.
wait_log() {
  local pid=$1 file=$2 re=$3 i
  for i in $(seq 1 200); do
    grep -qE "$re" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$file" >&2; die "$(basename "$file" .err) exited before it was ready"; }
    sleep 0.05
  done
  cat "$file" >&2
  die "$(basename "$file" .err) did not get ready"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# cpu_ticks PID: user+system clock ticks of the process (all its threads).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# thread_ticks PID: "main TICKS" then "others TICKS" (user+system): what the
# main thread spent, and what every other thread did (V8's compiler and GC
# workers, libuv's pool; node names them all "node").
thread_ticks() {
  local t main=0 others=0 n
  for t in /proc/"$1"/task/*; do
    n=$(awk '{ l = $0; b = length(l); while (substr(l, b, 1) != ")") b--; split(substr(l, b + 2), f, " "); print f[12] + f[13] }' "$t/stat" 2>/dev/null) || continue
    if [ "${t##*/}" = "$1" ]; then main=$((main + n)); else others=$((others + n)); fi
  done
  echo "$main $others"
}
ticks_to_s() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

# settle PID: waits until PID's CPU time stops moving (it has caught up).
settle() {
  local pid=$1 a b i
  a=$(cpu_ticks "$pid")
  for i in $(seq 1 50); do
    sleep 0.2
    b=$(cpu_ticks "$pid")
    [ "$a" = "$b" ] && return 0
    a=$b
  done
}

# median FILE COLUMN; least FILE COLUMN; most FILE COLUMN: over the rows of a
# rounds file, '-' left out.
median() { awk -v c="$2" '$c != "-" { print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "-" }'; }
least() { awk -v c="$2" '$c != "-" { print $c }' "$1" | sort -g | head -1; }
most() { awk -v c="$2" '$c != "-" { print $c }' "$1" | sort -g | tail -1; }

# best_of RUNS NAME CMD...: runs CMD RUNS times (stdout to /dev/null, stderr
# to $WORK/NAME.err, the best run's kept in $WORK/NAME.best.err), prints the
# best wall time in seconds.
best_of() {
  local runs=$1 name=$2
  shift 2
  local best="" i t0 t1 s
  for i in $(seq 1 "$runs"); do
    t0=$(now)
    "$@" >/dev/null 2>"$WORK/$name.err" || { cat "$WORK/$name.err" >&2; die "$name failed: $*"; }
    t1=$(now)
    s=$(elapsed "$t0" "$t1")
    log "$name run $i: $s s"
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$s
      cp "$WORK/$name.err" "$WORK/$name.best.err"
    fi
  done
  echo "$best"
}

count_packets() {
  local n=""
  if command -v capinfos >/dev/null; then
    n=$(capinfos -M -c "$1" 2>/dev/null | sed -n 's/^Number of packets: *\([0-9]*\).*/\1/p')
  fi
  [ -n "$n" ] || n=$(tcpdump -nn -r "$1" 2>/dev/null | wc -l)
  echo "$n"
}

# The machine, one line (and as results).
machine() {
  local model
  model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  result machine.nproc "$(nproc)"
  result machine.cpu "$model"
  result machine.kernel "$(uname -r)"
  result machine.node "$(node --version)"
  result machine.memory "$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  result machine.date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) CPUs, $model, kernel $(uname -r), node $(node --version)"
}

# --- the offline parts (offline.sh, offline-kafka.sh, offline-sql.sh) ------------
# Each sets CAPTURE, PORT and PACKETS, then calls these in order.

pps() { awk -v p="$PACKETS" -v s="$1" 'BEGIN { printf "%.0f", p / s }'; }

# Times `tcpkit -r CAPTURE -p PORT ARGS... -o FILE` and `tcpdump -nn -r CAPTURE`,
# best of BENCH_RUNS each. Sets T_TCPKIT, LINES (what tcpkit wrote), LOOP and
# T_TCPDUMP.
offline_time() {
  local out="$WORK/tcpkit.out"
  log "timing $PACKETS packets, best of $BENCH_RUNS"
  T_TCPKIT=$(best_of "$BENCH_RUNS" tcpkit "${TCPKIT[@]}" -r "$CAPTURE" -p "$PORT" "$@" -o "$out")
  LINES=$(wc -l <"$out")
  # tcpkit's own clock: from the first packet read to the last line written.
  # The rest of the wall time is node's start-up, loading, and the summary.
  LOOP=$(sed -n 's/^tcpkit: pcap-file .* packets in \([0-9.]*\) s[,:].*/\1/p' "$WORK/tcpkit.best.err")
  T_TCPDUMP=$(best_of "$BENCH_RUNS" tcpdump tcpdump -nn -r "$CAPTURE")
}

# One run of `tshark -r CAPTURE ARGS...`, given up after BENCH_TSHARK_LIMIT
# seconds (BENCH_TSHARK=0 skips it). Sets T_TSHARK, or TSHARK_NOTE saying why
# there is no time.
offline_tshark() {
  T_TSHARK="" TSHARK_NOTE=""
  if [ "$BENCH_TSHARK" != 1 ]; then
    TSHARK_NOTE="skipped (BENCH_TSHARK=$BENCH_TSHARK)"
    return
  fi
  if ! command -v tshark >/dev/null; then
    TSHARK_NOTE="skipped (not installed)"
    return
  fi
  local t0 t1 rc=0
  t0=$(now)
  timeout "$BENCH_TSHARK_LIMIT" tshark -r "$CAPTURE" "$@" >/dev/null 2>"$WORK/tshark.err" || rc=$?
  t1=$(now)
  if [ "$rc" = 124 ]; then
    TSHARK_NOTE="gave up after ${BENCH_TSHARK_LIMIT} s"
  elif [ "$rc" != 0 ]; then
    TSHARK_NOTE="failed (exit $rc): $(head -1 "$WORK/tshark.err")"
  else
    T_TSHARK=$(elapsed "$t0" "$t1")
    log "tshark run 1: $T_TSHARK s"
  fi
}

# The results every offline part records, as offline.W.KEY (W: $1; the load
# described by $2, the requests in the capture $3).
offline_results() {
  local w=$1
  result "offline.$w.capture" "$CAPTURE"
  result "offline.$w.load" "$2"
  result "offline.$w.packets" "$PACKETS"
  result "offline.$w.requests" "$3"
  result "offline.$w.lines" "$LINES"
  result "offline.$w.tcpkit_s" "$T_TCPKIT"
  result "offline.$w.loop_s" "${LOOP:-}"
  result "offline.$w.tcpdump_s" "$T_TCPDUMP"
  if [ -n "$T_TSHARK" ]; then result "offline.$w.tshark_s" "$T_TSHARK"; else result "offline.$w.tshark_note" "$TSHARK_NOTE"; fi
  result "offline.$w.tshark_limit" "$BENCH_TSHARK_LIMIT"
}

# The table's rows: tcpkit (named $1), its own packet loop, tcpdump, and
# tshark (its filter named $2), with the ratio to tshark when it ran.
offline_table() {
  printf '%-34s %10s %14s %10s\n' tool seconds packets/s lines
  printf '%-34s %10s %14s %10s\n' "$1" "$T_TCPKIT" "$(pps "$T_TCPKIT")" "$LINES"
  [ -n "$LOOP" ] && printf '%-34s %10s %14s %10s\n' "  (its packet loop, its own clock)" "$LOOP" "$(pps "$LOOP")" ""
  printf '%-34s %10s %14s %10s\n' "tcpdump -nn -r" "$T_TCPDUMP" "$(pps "$T_TCPDUMP")" -
  if [ -n "$T_TSHARK" ]; then
    printf '%-34s %10s %14s %10s\n' "tshark -r -Y $2 (1 run)" "$T_TSHARK" "$(pps "$T_TSHARK")" -
    echo "tcpkit / tshark: $(awk -v a="$T_TSHARK" -v b="$T_TCPKIT" 'BEGIN { printf "%.1fx", a / b }')"
  else
    printf '%-34s %s\n' "tshark -r -Y $2" "$TSHARK_NOTE"
  fi
}

# Exits 1 unless tcpkit wrote one line for each of the $1 requests.
offline_lines_exact() {
  if [ "$LINES" = "$1" ]; then
    echo "lines check: $LINES lines for $1 requests: ok"
  else
    echo "lines check: $LINES lines for $1 requests: MISMATCH"
    exit 1
  fi
}
