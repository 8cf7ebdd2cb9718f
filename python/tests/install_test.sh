#!/usr/bin/env bash
# `meson install --tags python-runtime` installs exactly the Python package
# into the prefix's site-packages: importable from there, stubs included,
# comfyvn a namespace package, and no file of the C++ SDK.
set -euo pipefail
build_dir=$1
python=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DESTDIR="$work/root" meson install -C "$build_dir" --quiet --no-rebuild --tags python-runtime >/dev/null
ext=$(find "$work/root" -name '_perf.*.so' | head -n1)
test -n "$ext" || { echo "the extension module was not installed"; exit 1; }
site=$(dirname "$(dirname "$(dirname "$ext")")")
for f in __init__.py http.py _perf.pyi py.typed; do
  test -f "$site/comfyvn/perf/$f" || { echo "comfyvn/perf/$f was not installed"; exit 1; }
done
test ! -e "$site/comfyvn/__init__.py" || { echo "comfyvn must stay a namespace package"; exit 1; }
others=$(find "$work/root" -type f ! -path "$site/comfyvn/*")
test -z "$others" || { echo "installed besides the package: $others"; exit 1; }
cd "$work"
PYTHONPATH=$site "$python" - "$site" <<'PY'
import sys
import comfyvn.perf as cp
assert cp.__file__.startswith(sys.argv[1]), cp.__file__
cp.perf_profiler.set_enabled(True)
with cp.perf_profiler.profile("installed"):
    pass
rows = {r["name"]: r["count"] for r in cp.perf_profiler.dashboard()["aggregates"]}
assert rows["installed"] == 1, rows
print("installed into", sys.argv[1])
PY
