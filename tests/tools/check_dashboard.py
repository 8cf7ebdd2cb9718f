#!/usr/bin/env python3
"""The dashboard page (GET /api/perf/ui) in headless Chromium against the
render-loop demo (contract §7, issue 14).

    check_dashboard.py --demo DEMO --mode on    --screenshot PNG [--page HTML]
    check_dashboard.py --demo DEMO --mode off   --screenshot PNG [--page HTML]
    check_dashboard.py --demo DEMO --mode token --screenshot PNG [--page HTML]

on:    DEMO --port 0 --enable-perf --duration 0 --spike-every 20
off:   DEMO --port 0 --duration 0 --config config/comfyvn.json (every flag off)
token: DEMO --port 0 --enable-perf --duration 0 --token T.
dashboard_check.cjs drives the page: the test hooks of §7, no console error,
no request outside the demo's origin. The demo must exit 0 on SIGTERM. The
screenshot is written on every run, pass or fail. --page serves that HTML
file instead of the compiled-in page (to work on ui/ without a C++ rebuild:
`tools/gen_ui_header.py --html /tmp/page.html`).
Tools: node, /usr/bin/chromium ($COMFYVN_CHROMIUM overrides),
$COMFYVN_TOOLS_DIR/node/node_modules/playwright-core; ./dev test installs them.
"""

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", required=True)
    ap.add_argument("--mode", choices=["on", "off", "token"], required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--page")
    ap.add_argument("--spike-every", default="20")
    a = ap.parse_args()

    node = shutil.which("node")
    if not node:
        toolslib.fail("node not found on PATH: run ./dev test to install it")
    chromium = toolslib.require_file(os.environ.get("COMFYVN_CHROMIUM", "/usr/bin/chromium"), "chromium")
    modules = os.path.join(toolslib.tools_dir(), "node", "node_modules")
    if not os.path.isfile(os.path.join(modules, "playwright-core", "package.json")):
        toolslib.fail(f"npm package playwright-core not found under {modules}: run ./dev test to install it")

    token = None
    extra = []
    if a.mode == "token":
        token = secrets.token_hex(16)
        extra = ["--token", token]
    demo = toolslib.Demo(a.demo)
    if a.mode == "off":
        demo.args = [a.demo, "--port", "0", "--duration", "0",
                     "--config", os.path.join(ROOT, "config", "comfyvn.json")]
        os.environ.pop("COMFYVN_ENABLE_PERF", None)
    else:
        demo.args = [a.demo, "--port", "0", "--enable-perf", "--duration", "0",
                     "--spike-every", a.spike_every, *extra]
    print("demo:", " ".join(arg if arg != token else "<token>" for arg in demo.args), flush=True)

    tmp = tempfile.mkdtemp(prefix="comfyvn-dashboard-")
    demo.start()
    try:
        cmd = [node, os.path.join(HERE, "dashboard_check.cjs"), "--node-modules", modules,
               "--chromium", chromium, "--base", demo.base, "--mode", a.mode,
               "--screenshot", a.screenshot, "--full-page"]
        if token:
            cmd += ["--token", token]
        if a.page:
            cmd += ["--page", a.page]
        # The browser gets a private HOME: no profile or crash folder left behind.
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_CACHE_HOME=tmp)
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=110, env=env)
            rc = 0 if r.returncode == 0 else 1
        except subprocess.TimeoutExpired:
            print("FAIL: the browser check ran past 110 s", flush=True)
            rc = 1
    finally:
        code = demo.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if code != 0:
        print(f"FAIL: the demo exited {code} on SIGTERM; last lines: {demo.lines[-5:]}", flush=True)
        return 1
    return rc


if __name__ == "__main__":
    toolslib.timed(main)
