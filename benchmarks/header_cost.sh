#!/usr/bin/env bash
# What including the SDK costs a translation unit: preprocessed lines,
# compile time (-O2, median of 5) and the compiler's peak memory of small
# files, against the standard headers the hot path is compared with. The
# files that use perf.hpp and http.hpp see declarations only; the
# implementation file (COMFYVN_PERF_IMPLEMENTATION, once per program) is
# measured on its own row.
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
# A file that uses the profiler, the budgets and the hooks, as a game's
# systems do; one that starts the HTTP adapter; the implementation file.
cat >"$work/perf.cpp" <<'CPP'
#include <comfyvn_perf/perf.hpp>
#include <cstdio>
#include <string>
int main() {
  namespace perf = comfyvn::perf;
  perf::perf_profiler().set_enabled(true);
  { PERF_SCOPE("step", "render"); }
  perf::budget_manager().register_job("bake", "render");
  auto sub = perf::hooks().subscribe(std::string(perf::kProfilerEvent), [](const boost::json::object&) {});
  std::printf("%s\n", boost::json::serialize(perf::perf_profiler().dashboard()).c_str());
  return 0;
}
CPP
cat >"$work/http.cpp" <<'CPP'
#include <comfyvn_perf/http.hpp>
int main() {
  comfyvn::perf::http::Options options;
  options.port = 0;
  comfyvn::perf::http::Adapter adapter(options);
  adapter.start();
  return adapter.port() != 0 ? 0 : 1;
}
CPP
printf '#define COMFYVN_PERF_IMPLEMENTATION\n#include <comfyvn_perf/perf.hpp>\n#include <comfyvn_perf/http.hpp>\n' \
  >"$work/impl.cpp"

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

printf '%-40s %10s %10s %10s\n' "file" "lines" "seconds" "peak MB"
row() {  # label file [flags...]
  local label=$1 file=$2
  shift 2
  local lines secs peak
  lines=$("$cxx" -std=c++17 -O2 "$@" -I "$inc" -E "$work/$file" | wc -l)
  secs=$(median_seconds "$cxx" -std=c++17 -O2 "$@" -I "$inc" -c "$work/$file" -o "$work/out.o")
  peak=$( { /usr/bin/time -f '%M' "$cxx" -std=c++17 -O2 "$@" -I "$inc" -c "$work/$file" \
    -o "$work/out.o"; } 2>&1 | tail -n1)
  printf '%-40s %10d %10.3f %10d\n' "$label" "$lines" "$secs" "$((peak / 1024))"
}
row "<atomic> <cstdint> <string_view>" baseline.cpp
row "one PERF_SCOPE (scope.hpp)" one_scope.cpp
row "one PERF_SCOPE, ENABLED=0" one_scope.cpp -DCOMFYVN_PERF_ENABLED=0
row "perf.hpp (profiler, budgets, hooks)" perf.cpp
row "http.hpp (starts an adapter)" http.cpp
row "implementation (once per program)" impl.cpp
