#!/usr/bin/env bash
# What including the SDK costs a translation unit: preprocessed lines and
# compile time (-O2, median of 5) of small files, against the standard
# headers the hot path is compared with.
#   benchmarks/header_cost.sh [INCLUDE_DIR]   (default: this checkout's include/)
# Numbers vary with the machine and its load: compare runs made together.
set -euo pipefail
cd "$(dirname "$0")/.."
inc=${1:-include}
cxx=${CXX:-c++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '#include <atomic>\n#include <cstdint>\n#include <string_view>\nint main() { return 0; }\n' \
  >"$work/baseline.cpp"
printf '#include <comfyvn_perf/scope.hpp>\nint step(int x) {\n  PERF_SCOPE("step", "render");\n  return x + 1;\n}\nint main() { return step(0) - 1; }\n' \
  >"$work/one_scope.cpp"
printf '#include <comfyvn_perf/perf.hpp>\nint main() { return 0; }\n' >"$work/perf.cpp"
printf '#include <comfyvn_perf/http.hpp>\nint main() { return 0; }\n' >"$work/http.cpp"

median_seconds() {  # command...
  local times=()
  for _ in 1 2 3 4 5; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}

printf '%-36s %10s %10s\n' "file" "lines" "seconds"
row() {  # label file [flags...]
  local label=$1 file=$2
  shift 2
  local lines secs
  lines=$("$cxx" -std=c++17 -O2 "$@" -I "$inc" -E "$work/$file" | wc -l)
  secs=$(median_seconds "$cxx" -std=c++17 -O2 "$@" -I "$inc" -c "$work/$file" -o "$work/out.o")
  printf '%-36s %10d %10.3f\n' "$label" "$lines" "$secs"
}
row "<atomic> <cstdint> <string_view>" baseline.cpp
row "one PERF_SCOPE (scope.hpp)" one_scope.cpp
row "one PERF_SCOPE, ENABLED=0" one_scope.cpp -DCOMFYVN_PERF_ENABLED=0
row "perf.hpp" perf.cpp
row "http.hpp" http.cpp
