#!/usr/bin/env python3
"""The dashboard page (GET /api/perf/ui) in headless Chromium, against the
render-loop demo or against stubbed API answers (contract §7,
docs/dashboard.md).

    check_dashboard.py --demo DEMO --mode on    --screenshot PNG [--page HTML]
    check_dashboard.py --demo DEMO --mode off   --screenshot PNG [--page HTML]
    check_dashboard.py --demo DEMO --mode token --screenshot PNG [--page HTML]
    check_dashboard.py             --mode stub  --screenshot PNG [--page HTML]

on:    DEMO --port 0 --enable-perf --duration 0 --spike-every 20
off:   DEMO --port 0 --duration 0 --config COPY, COPY a temporary copy of
       config/comfyvn.json (every flag off); once the off state is checked,
       the copy gets enable_perf_profiler_dashboard=true (enable_perf stays
       off) and the profiler panels must show the demo's data.
token: DEMO --port 0 --enable-perf --duration 0 --token T.
stub:  no demo: the page is served from a made-up origin whose API answers
       are stubbed in dashboard_check.cjs (look-alike sites, coverage below
       1, a (frame) budget's window p95, a route that answers "disabled").
dashboard_check.cjs drives the page: the test hooks of §7, no console error,
no request outside the origin. The page always runs under a strict
Content-Security-Policy (script-src and style-src by hash, no
'unsafe-inline'); the hashes are the kDashboardScriptHash and
kDashboardStyleHash constants of include/comfyvn_perf/http/ui_page.hpp, which
must match the page served. The demo must exit 0 on SIGTERM. The screenshot
is written on every run, pass or fail.
--page serves that HTML file instead of the compiled-in page (to work on ui/
without a C++ rebuild: `tools/gen_ui_header.py --html /tmp/page.html`); its
hashes are then computed from the file. --header reads the page (stub mode)
and the hashes from another ui_page.hpp.
Tools: node, /usr/bin/chromium ($COMFYVN_CHROMIUM overrides),
$COMFYVN_TOOLS_DIR/node/node_modules/playwright-core; ./dev test installs them.
"""

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HEADER = os.path.join(ROOT, "include", "comfyvn_perf", "http", "ui_page.hpp")
# The stub's origin: never contacted, every request to it is answered by the check.
STUB_BASE = "http://127.0.0.1:9"


def header_constant(text, name):
    m = re.search(r"\b" + name + r'\s*=\s*"([^"]*)"', text)
    return m.group(1) if m else None


def header_page(text):
    """The page the header compiles in: its adjacent raw literals, joined."""
    m = re.search(r'R"(comfyvn_ui\d*)\(', text)
    if not m:
        return None
    d = m.group(1)
    return "".join(re.findall(r'R"' + d + r"\((.*?)\)" + d + '"', text, re.S))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo")
    ap.add_argument("--mode", choices=["on", "off", "token", "stub"], required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--page")
    ap.add_argument("--header", default=HEADER)
    ap.add_argument("--spike-every", default="20")
    a = ap.parse_args()
    if a.mode != "stub" and not a.demo:
        toolslib.fail(f"--mode {a.mode} needs --demo")

    node = shutil.which("node")
    if not node:
        toolslib.fail("node not found on PATH: run ./dev test to install it")
    chromium = toolslib.require_file(os.environ.get("COMFYVN_CHROMIUM", "/usr/bin/chromium"), "chromium")
    modules = os.path.join(toolslib.tools_dir(), "node", "node_modules")
    if not os.path.isfile(os.path.join(modules, "playwright-core", "package.json")):
        toolslib.fail(f"npm package playwright-core not found under {modules}: run ./dev test to install it")
    try:
        with open(a.header, encoding="utf-8") as f:
            header = f.read()
    except OSError as e:
        toolslib.fail(f"cannot read {a.header}: {e.strerror}")

    tmp = tempfile.mkdtemp(prefix="comfyvn-dashboard-")
    cmd = [node, os.path.join(HERE, "dashboard_check.cjs"), "--node-modules", modules,
           "--chromium", chromium, "--mode", a.mode, "--screenshot", a.screenshot, "--full-page"]
    for flag, name in (("--csp-script-hash", "kDashboardScriptHash"), ("--csp-style-hash", "kDashboardStyleHash")):
        value = header_constant(header, name)
        if value:
            cmd += [flag, value]
    page = a.page
    if a.mode == "stub" and not page:
        page = os.path.join(tmp, "page.html")
        html = header_page(header)
        if not html:
            toolslib.fail(f"no raw-string literals of the page found in {a.header}")
        with open(page, "w", encoding="ascii", newline="\n") as f:
            f.write(html)
        cmd += ["--page-from-header"]
    if page:
        cmd += ["--page", page]

    token = None
    demo = None
    if a.mode == "token":
        token = secrets.token_hex(16)
        cmd += ["--token", token]
    if a.mode == "off":
        # A copy of the shipped config (every flag off) that the check may edit.
        config = os.path.join(tmp, "comfyvn.json")
        shutil.copyfile(os.path.join(ROOT, "config", "comfyvn.json"), config)
        cmd += ["--config-file", config]
        os.environ.pop("COMFYVN_ENABLE_PERF", None)
        demo = toolslib.Demo(a.demo)
        demo.args = [a.demo, "--port", "0", "--duration", "0", "--config", config]
    elif a.mode in ("on", "token"):
        demo = toolslib.Demo(a.demo)
        demo.args = [a.demo, "--port", "0", "--enable-perf", "--duration", "0",
                     "--spike-every", a.spike_every] + (["--token", token] if token else [])
    if demo:
        print("demo:", " ".join(arg if arg != token else "<token>" for arg in demo.args), flush=True)

    code = 0
    rc = 1
    try:
        if demo:
            demo.start()
        cmd += ["--base", demo.base if demo else STUB_BASE]
        # The browser gets a private HOME: no profile or crash folder left behind.
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_CACHE_HOME=tmp)
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=110, env=env)
            rc = 0 if r.returncode == 0 else 1
        except subprocess.TimeoutExpired:
            print("FAIL: the browser check ran past 110 s", flush=True)
            rc = 1
    finally:
        if demo:
            code = demo.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if code != 0:
        print(f"FAIL: the demo exited {code} on SIGTERM; last lines: {demo.lines[-5:]}", flush=True)
        return 1
    return rc


if __name__ == "__main__":
    toolslib.timed(main)
