#!/usr/bin/env bash
# Load on the HTTP adapter while a render loop records spans.
#
#   benchmarks/http_load.sh [SECONDS [RENDER_LOOP]]   (default 15 s per wrk run)
#
# 1. Builds benchmarks/http_target.cpp (release) into build-http-bench/.
# 2. Starts it in "serve" mode (60 Hz frames under PERF_SCOPE, adapter on an
#    ephemeral port) -- or, when given, the render-loop demo binary
#    RENDER_LOOP (--port 0 --enable-perf) -- and runs wrk with 32 connections
#    against /api/perf/health and /api/perf/profiler/dashboard, then with one
#    connection against /health: requests/s, p50/p99, errors.
# 3. Runs it in "frames" mode: phases without and with a 10 Hz poller, and
#    reports the render loop's frame cost in each.
# Needs wrk (Debian package "wrk"). Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-15}
render_loop=${2:-}
out=build-http-bench
mkdir -p "$out"

if [ ! -x "$out/http_target" ] || [ benchmarks/http_target.cpp -nt "$out/http_target" ] ||
   [ include/comfyvn_perf/http.hpp -nt "$out/http_target" ]; then
  echo "== building $out/http_target" >&2
  "${CXX:-c++}" -std=c++17 -O2 -DNDEBUG -Iinclude benchmarks/http_target.cpp \
    -o "$out/http_target" -lboost_json -pthread -ldl -rdynamic
fi
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

target_pid=
cleanup() {
  if [ -n "$target_pid" ]; then kill "$target_pid" 2>/dev/null || true; wait "$target_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Start the serving target and read its port from the first line it prints.
log="$out/http_target.log"
if [ -n "$render_loop" ]; then
  "$render_loop" --port 0 --enable-perf --duration $((seconds * 3 + 30)) >"$log" 2>&1 &
else
  "$out/http_target" --mode serve --seconds $((seconds * 3 + 30)) >"$log" 2>&1 &
fi
target_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's#^listening on http://127.0.0.1:\([0-9]*\)$#\1#p' "$log" | head -n1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "http_target did not start:" >&2; cat "$log" >&2; exit 1; }
sleep 2  # let a few frames land in the profiler

# wrk latency value ("850.00us", "1.20ms", "1.01s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "?" }'
}

run_wrk() {
  local path=$1 connections=$2
  local text
  local threads=$((connections < 2 ? 1 : 2))  # wrk needs connections >= threads
  text=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:${port}${path}")
  local p50 p99 rps non2xx sockerr
  p50=$(awk '/^ +50%/ {print $2}' <<<"$text")
  p99=$(awk '/^ +99%/ {print $2}' <<<"$text")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$text")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$text")
  sockerr=$(awk '/Socket errors:/ {$1=$2=""; print}' <<<"$text")
  printf '| `%s` | %s | %s | %s | %s | %s |\n' "$path" "$connections" "$rps" "$(to_ms "$p50")" \
    "$(to_ms "$p99")" "non-2xx: ${non2xx:-0}; socket errors: ${sockerr:-none}"
}

echo "### wrk against ${render_loop:-http_target}, ${seconds} s per row"
echo
echo "| route | connections | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
run_wrk /api/perf/health 32
run_wrk /api/perf/profiler/dashboard 32
run_wrk /api/perf/health 1
cleanup
target_pid=

echo
echo "### render loop frame cost, without and with 10 Hz polling"
echo
"$out/http_target" --mode frames --phases 8 --phase-seconds 5 --poll-hz 10 | tail -n1
