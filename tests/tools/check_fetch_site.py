#!/usr/bin/env python3
"""A page on another origin attacks the render-loop demo through headless
Chromium (contract §8, Trust rules; docs/http_api.md, "Browser guards").

    check_fetch_site.py --demo DEMO

DEMO --port 0 --enable-perf --duration 0 is started on an ephemeral loopback
port; fetch_site_check.cjs serves the attacker page from a second loopback
port and opens it in Chromium: a no-cors fetch, an <img> and a <script> of
/profiler/trace?seconds=5, and an auto-submitted POST form to /profiler/reset.
Each must reach the demo and be answered 403; afterwards a trace of 0.2 s
asked as curl would answers 200 (not 409: no capture was started) and a mark
posted before the attacks is still there (no reset). The demo must exit 0 on
SIGTERM. Tools: node, /usr/bin/chromium ($COMFYVN_CHROMIUM overrides),
$COMFYVN_TOOLS_DIR/node/node_modules/playwright-core; ./dev test installs them.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", required=True)
    a = ap.parse_args()

    node, chromium, modules = toolslib.browser_tools()
    demo = toolslib.Demo(a.demo)
    rc = 1
    with tempfile.TemporaryDirectory(prefix="comfyvn-fetch-site-", ignore_cleanup_errors=True) as home:
        try:
            demo.start()
            rc = toolslib.run_browser_check(
                [node, os.path.join(HERE, "fetch_site_check.cjs"), "--node-modules", modules,
                 "--chromium", chromium, "--base", demo.base], home, timeout=60)
        finally:
            code = demo.stop()
    if code != 0:
        print(f"FAIL: the demo exited {code} on SIGTERM; last lines: {demo.lines[-5:]}", flush=True)
        return 1
    return rc


if __name__ == "__main__":
    toolslib.timed(main)
