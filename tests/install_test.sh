#!/usr/bin/env bash
# `meson install` + pkg-config are enough to build an outside program that
# uses the whole SDK (the HTTP adapter included when it was built).
set -euo pipefail
build_dir=$1
src_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DESTDIR="$work/root" meson install -C "$build_dir" --quiet --no-rebuild >/dev/null
prefix=$(meson introspect "$build_dir" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
pcdir=$(find "$work/root" -name comfyvn_perf.pc -printf '%h\n' | head -n1)
test -n "$pcdir" || { echo "comfyvn_perf.pc was not installed"; exit 1; }
test -f "$work/root$prefix/include/comfyvn_perf/perf.hpp" || { echo "headers not installed"; exit 1; }
# Point pkg-config at the staged tree (the .pc names the final prefix).
export PKG_CONFIG_PATH="$pcdir"
export PKG_CONFIG_SYSROOT_DIR="$work/root"
cat > "$work/consumer.cpp" <<'CPP'
#include <comfyvn_perf/perf.hpp>
#if __has_include(<comfyvn_perf/http.hpp>)
#include <comfyvn_perf/http.hpp>
#endif
#include <cstdio>
int main() {
  auto& p = comfyvn::perf::perf_profiler();
  p.set_enabled(true);
  for (int i = 0; i < 10; ++i) { PERF_SCOPE("consumer", "install"); }
  const auto rows = p.aggregates();
  std::printf("%s\n", boost::json::serialize(p.health()).c_str());
  return rows.size() == 1 && rows[0].count == 10 ? 0 : 1;
}
CPP
# shellcheck disable=SC2046
c++ -std=c++17 "$work/consumer.cpp" -o "$work/consumer" $(pkg-config --cflags --libs comfyvn_perf)
"$work/consumer" >/dev/null
echo "installed headers + comfyvn_perf.pc build and run a consumer"
