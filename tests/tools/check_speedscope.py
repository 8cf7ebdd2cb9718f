#!/usr/bin/env python3
"""speedscope imports the demo's Chrome trace cleanly (contract §6, §7).

    check_speedscope.py --demo DEMO --screenshot PNG
    check_speedscope.py --trace-file FILE --screenshot PNG --expect-nesting-warning
    check_speedscope.py --gpu-demo EXAMPLE --screenshot PNG --expect-profile "gpu: main"

First form: runs `DEMO --enable-perf --duration 3 --trace T.json` (it must
exit 0 and write valid JSON), then loads T.json into speedscope in headless
Chromium (speedscope_check.cjs): it must import as a Trace Event Format
profile with no console warning or error ("Tried to end ..." means spans on
a thread do not nest) and no request outside 127.0.0.1.
Second form, the self-test: a deliberately non-nesting trace must be flagged.
Third form: a GPU example (gpu_vulkan, gpu_gl) runs `EXAMPLE --frames 30
--trace T.json`; besides the checks above, speedscope must list a profile
(one per thread) named as --expect-profile says. An example that exits 77
(no usable device) skips the check, unless COMFYVN_PERF_REQUIRE_GPU=1.
Tools: node, /usr/bin/chromium ($COMFYVN_CHROMIUM overrides),
$COMFYVN_TOOLS_DIR/node/node_modules/{playwright-core,speedscope}; ./dev test
installs them.
"""

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def describe(trace_path):
    with open(trace_path, "rb") as f:
        doc = json.loads(f.read())
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    phases = collections.Counter(e.get("ph") for e in events)
    threads = {(e.get("pid"), e.get("tid")): e.get("args", {}).get("name")
               for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    spans_per_tid = collections.Counter((e.get("pid"), e.get("tid")) for e in events if e.get("ph") == "X")
    print(f"trace: {os.path.getsize(trace_path)} bytes, events by phase {dict(phases)}, "
          f"otherData {json.dumps(doc.get('otherData')) if isinstance(doc, dict) else None}")
    for key, n in sorted(spans_per_tid.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  pid {key[0]} tid {key[1]} ({threads.get(key, 'unnamed')}): {n} spans")
    return phases.get("X", 0)


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--demo")
    src.add_argument("--trace-file")
    src.add_argument("--gpu-demo")
    ap.add_argument("--expect-profile")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--expect-nesting-warning", action="store_true")
    a = ap.parse_args()

    node = shutil.which("node")
    if not node:
        toolslib.fail("node not found on PATH: run ./dev test to install it")
    chromium = toolslib.require_file(os.environ.get("COMFYVN_CHROMIUM", "/usr/bin/chromium"), "chromium")
    modules = os.path.join(toolslib.tools_dir(), "node", "node_modules")
    for pkg, probe in (("playwright-core", "package.json"),
                       ("speedscope", os.path.join("dist", "release", "index.html"))):
        path = os.path.join(modules, pkg, probe)
        if not os.path.isfile(path):
            toolslib.fail(f"npm package {pkg} not found at {path}: run ./dev test to install it")

    tmp = tempfile.mkdtemp(prefix="comfyvn-speedscope-")
    try:
        if a.demo:
            trace = os.path.join(tmp, "trace.json")
            t0 = time.monotonic()
            r = subprocess.run([a.demo, "--enable-perf", "--duration", "3", "--trace", trace],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               text=True, timeout=30)
            print(f"demo --duration 3 --trace: exit {r.returncode} after {time.monotonic() - t0:.1f} s")
            if r.returncode != 0:
                toolslib.fail(f"the demo exited {r.returncode}: {r.stdout.splitlines()[-5:]}")
            if not os.path.isfile(trace):
                toolslib.fail(f"the demo exited 0 but wrote no trace at {trace}")
        elif a.gpu_demo:
            trace = os.path.join(tmp, "trace.json")
            r = subprocess.run([a.gpu_demo, "--frames", "30", "--trace", trace],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               text=True, timeout=60)
            print(r.stdout.strip().splitlines()[0] if r.stdout.strip() else "(no output)")
            if r.returncode == 77:
                if os.environ.get("COMFYVN_PERF_REQUIRE_GPU") == "1":
                    toolslib.fail(f"no usable device under COMFYVN_PERF_REQUIRE_GPU=1: {r.stdout.strip()}")
                print("skipped: no usable device")
                return 77
            if r.returncode != 0 or not os.path.isfile(trace):
                toolslib.fail(f"the example exited {r.returncode}: {r.stdout.splitlines()[-5:]}")
        else:
            trace = a.trace_file
        try:
            spans = describe(trace)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            toolslib.fail(f"the trace is not Chrome Trace Event JSON: {e}")
        if spans == 0:
            toolslib.fail("the trace holds no complete (\"ph\":\"X\") events")

        cmd = [node, os.path.join(HERE, "speedscope_check.cjs"), "--node-modules", modules,
               "--chromium", chromium, "--trace", trace, "--screenshot", a.screenshot]
        if a.expect_nesting_warning:
            cmd.append("--expect-nesting-warning")
        if a.expect_profile:
            cmd += ["--expect-profile", a.expect_profile]
        # The browser gets a private HOME: no profile or crash folder left behind.
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_CACHE_HOME=tmp)
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=90, env=env)
        return 0 if r.returncode == 0 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    toolslib.timed(main)
