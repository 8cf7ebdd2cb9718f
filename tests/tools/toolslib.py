"""Shared helpers of the real-tool checks (tests/tools/check_*.py).

Python 3 standard library only. Every request goes to 127.0.0.1 and ignores
proxy settings; every process started here is stopped by its own PID.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

LISTENING = re.compile(r"^listening on http://127\.0\.0\.1:(\d+)$")

# No proxy, whatever the environment says: the checks talk to loopback only.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fail(message):
    """Prints one FAIL line and exits 1."""
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def tools_dir():
    d = os.environ.get("COMFYVN_TOOLS_DIR", "")
    if not d:
        fail("COMFYVN_TOOLS_DIR is not set (run the check through `meson test`); "
             "run ./dev test to install the tools")
    return d


def require_file(path, what):
    """Fails (never skips) when a tool ./dev test installs is missing."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK | os.R_OK)):
        fail(f"{what} not found at {path}: run ./dev test to install it")
    return path


def prometheus_tool(name):
    """promtool or prometheus, as ./dev test unpacks them under COMFYVN_TOOLS_DIR."""
    return require_file(os.path.join(tools_dir(), "prometheus", "usr", "bin", name), name)


def browser_tools():
    """node, chromium and the node_modules folder holding playwright-core, for
    the headless-browser checks ($COMFYVN_CHROMIUM overrides /usr/bin/chromium)."""
    node = shutil.which("node")
    if not node:
        fail("node not found on PATH: run ./dev test to install it")
    chromium = require_file(os.environ.get("COMFYVN_CHROMIUM", "/usr/bin/chromium"), "chromium")
    modules = os.path.join(tools_dir(), "node", "node_modules")
    if not os.path.isfile(os.path.join(modules, "playwright-core", "package.json")):
        fail(f"npm package playwright-core not found under {modules}: run ./dev test to install it")
    return node, chromium, modules


def run_browser_check(cmd, home, timeout):
    """Runs a node browser check with `home` as its HOME, so that the browser
    leaves no profile or crash folder behind: 0 when it exits 0, else 1 (also
    past `timeout` seconds)."""
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        print(f"FAIL: the browser check ran past {timeout:.0f} s", flush=True)
        return 1
    return 0 if r.returncode == 0 else 1


def free_port():
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5.0):
    """GET on loopback: (status, headers, body bytes)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing a non-loopback URL: {url}")
    req = urllib.request.Request(url, headers={"Accept": "*/*"})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def stop_pid(proc, what, timeout=10.0):
    """SIGTERM to this child by PID, then wait; SIGKILL if it hangs. Its exit code."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            print(f"{what} (pid {proc.pid}) ignored SIGTERM for {timeout:.0f} s: killed", flush=True)
            return None
    return proc.returncode


class Demo:
    """The render-loop demo serving HTTP on an ephemeral port:
    `render_loop --port 0 --enable-perf --duration 0` until stop()."""

    def __init__(self, exe, extra=()):
        self.exe = exe
        self.args = [exe, "--port", "0", "--enable-perf", "--duration", "0", *extra]
        self.proc = None
        self.port = None
        self.lines = []
        self._ready = threading.Event()
        self._reader = None

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            m = LISTENING.match(line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._ready.set()
        self._ready.set()  # EOF: the demo exited

    def start(self, timeout=20.0):
        if not os.access(self.exe, os.X_OK):
            fail(f"demo not found or not executable: {self.exe}")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1)
        # Drains stdout for the whole run (the demo prints a status line a second).
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or self.port is None:
            self.stop()
            fail(f"the demo printed no 'listening on http://127.0.0.1:PORT' line within {timeout:.0f} s; "
                 f"output: {self.lines[-10:]}")
        print(f"demo pid {self.proc.pid} listening on 127.0.0.1:{self.port}", flush=True)
        return self

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        """SIGTERM by PID; the demo must exit 0."""
        if self.proc is None:
            return 0
        rc = stop_pid(self.proc, "demo")
        if self._reader:
            self._reader.join(timeout=5)
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class Prometheus:
    """A Prometheus server on a free loopback port, a child of this script:
    its configuration, storage and log in `folder` (the caller's temporary
    folder). `config` is the YAML text of prometheus.yml."""

    def __init__(self, exe, folder, config):
        self.exe = exe
        self.folder = folder
        self.config = config
        self.proc = None
        self.port = None
        self.log_path = os.path.join(folder, "prometheus.log")

    def start(self):
        config_path = os.path.join(self.folder, "prometheus.yml")
        with open(config_path, "w") as f:
            f.write(self.config)
        self.port = free_port()
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [self.exe, f"--config.file={config_path}",
                 f"--storage.tsdb.path={os.path.join(self.folder, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.folder)
        print(f"prometheus pid {self.proc.pid} on 127.0.0.1:{self.port}", flush=True)
        return self

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def api(self, path):
        """GET /api/v1/PATH: the `data` of a successful answer, else None
        (None too while the server is not listening yet)."""
        try:
            status, _, body = http_get(f"{self.base}/api/v1/{path}")
            doc = json.loads(body) if status == 200 else None
        except (OSError, ValueError):
            return None
        return doc.get("data") if isinstance(doc, dict) and doc.get("status") == "success" else None

    def query(self, expr):
        """An instant query: its `result` list, or None."""
        data = self.api(f"query?query={urllib.parse.quote(expr)}")
        return data.get("result") if isinstance(data, dict) else None

    def targets(self):
        """scrapeUrl, health and lastError of each active target, for a failure message."""
        data = self.api("targets") or {}
        return [{k: t.get(k) for k in ("scrapeUrl", "health", "lastError")}
                for t in data.get("activeTargets", [])]

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read().splitlines()[-lines:]
        except OSError:
            return []

    def stop(self):
        """SIGTERM by PID; its exit code (None when it was never started)."""
        return stop_pid(self.proc, "prometheus") if self.proc else None


def stop_all(prom, demos, problems, show_log=False):
    """Stops the Prometheus server, then each demo ({name: Demo}), by PID. Adds
    to `problems` a server that exited early or badly and a demo that did not
    exit 0; prints the server's log tail then, or when `show_log`."""
    if prom is not None:
        was_running = prom.running()
        rc = prom.stop()
        if was_running and rc != 0:
            problems.append(f"prometheus exited {rc} on SIGTERM")
    for name, demo in demos.items():
        rc = demo.stop()
        if rc != 0:
            problems.append(f"the demo {name} exited {rc} on SIGTERM, expected 0")
    if (problems or show_log) and prom is not None:
        print("prometheus log (tail):\n  " + "\n  ".join(prom.log_tail()), flush=True)


def first_value(result):
    """The value of an instant query's first sample, as a float, or None."""
    try:
        return float(result[0]["value"][1])
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def timed(fn):
    """Runs main(), prints its wall time, exits with its code."""
    t0 = time.monotonic()
    try:
        rc = fn()
    finally:
        print(f"({time.monotonic() - t0:.1f} s)", flush=True)
    sys.exit(rc)
