#!/usr/bin/env python3
"""Dependencies between the parts of include/comfyvn_perf/ point one way.

Each folder is a part; a header may include only its own part and the parts
listed for it below (docs/architecture.md draws the same graph). `json/` sits
between each part's plain structs and its facade, so it may include only the
struct headers of other parts. Top-level headers (the umbrellas) may include
anything; config.hpp is open to all.
usage: layering.py INCLUDE_DIR
"""
import pathlib
import re
import sys

ALLOWED = {
    "os": set(),
    "core": set(),
    "metrics": {"os"},
    "json": {"os"},
    "profiler": {"core", "os", "json"},
    "budget": {"metrics", "json", "os"},
    "flags": {"json", "os"},
    "hooks": {"os"},
    "runtime": {"core", "os", "metrics", "json", "profiler", "budget", "flags", "hooks"},
    "export": {"core", "os", "metrics", "json", "profiler", "budget", "flags"},
    "gpu": {"core", "os", "profiler"},
    "http": {"core", "os", "metrics", "json", "profiler", "budget", "flags", "hooks", "runtime",
             "export"},
}
# What json/ may read of the other parts: their plain structs.
STRUCT_HEADERS = {"profiler/types.hpp", "budget/types.hpp", "metrics/sample.hpp",
                  "flags/values.hpp"}
# The hot path: nothing but the standard library's lightest headers.
CORE_STD_ALLOWED = {"cstdint", "cstddef", "string_view", "time.h", "cmath", "memory"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def main() -> int:
    root = pathlib.Path(sys.argv[1]) / "comfyvn_perf"
    problems = []
    checked = 0
    for header in sorted(root.rglob("*.hpp")):
        rel = header.relative_to(root)
        if len(rel.parts) == 1:
            continue
        part = rel.parts[0]
        if part not in ALLOWED:
            problems.append(f"{rel}: folder '{part}' is not a known part; add it to the graph")
            continue
        allowed = ALLOWED[part]
        checked += 1
        for kind, target in INCLUDE.findall(header.read_text()):
            if kind == "<":
                if part == "core" and target not in CORE_STD_ALLOWED:
                    problems.append(f"{rel}: the hot path includes <{target}>")
                if part != "http" and target.startswith("boost/beast"):
                    problems.append(f"{rel}: Boost.Beast outside the HTTP part")
                continue
            dest = (header.parent / target).resolve().relative_to(root.resolve())
            if len(dest.parts) == 1:
                if dest.name != "config.hpp":
                    problems.append(f"{rel}: includes the top-level header {dest}")
                continue
            dpart = dest.parts[0]
            if dpart == part:
                continue
            if part == "json" and str(dest) in STRUCT_HEADERS:
                continue
            if dpart not in allowed:
                problems.append(f"{rel}: the {part} part may not include {dest}")
    for p in problems:
        print("FAIL", p)
    print(f"{checked} headers checked, {len(problems)} problems")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
