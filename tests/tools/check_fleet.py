#!/usr/bin/env python3
"""The fleet rules in a real Prometheus server, over three demo processes.

    check_fleet.py DEMO RULES

Starts three `DEMO --port 0 --enable-perf --duration 0`, the third with
`--spike-every 5` (every fifth frame over 50 ms), and a Prometheus server (a
child of this script, on a free loopback port) that finds them through
file-based service discovery (labels host and build, as docs/fleet.md
configures them), scrapes every second and loads RULES
(deploy/prometheus/comfyvn_perf.rules.yml) with every duration divided by 30:
`for: 5m` becomes 10 s and a `[5m]` window 10 s, so that minutes of a fleet
pass in seconds. Polls the HTTP API until the spiky process's recorded frame
p95 (instance:comfyvn_perf_frame_duration_seconds:p95_5m) is the highest of
the three, and ComfyvnPerfFrameP95High is pending or firing for it and for no
other process (at most 45 s). Prints the p95, the limit and the alert state
per process; stops everything by PID; each demo must exit 0.
prometheus comes from $COMFYVN_TOOLS_DIR/prometheus (./dev test installs it).
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

DEADLINE_S = 45.0
SPEEDUP = 30
ALERT = "ComfyvnPerfFrameP95High"
ALERTS = ("ComfyvnPerfSpanBudgetOver", ALERT, "ComfyvnPerfSpansDropped", "ComfyvnPerfJobsStarved",
          "ComfyvnPerfAdapterDown")
P95 = "instance:comfyvn_perf_frame_duration_seconds:p95_5m"
LIMIT = "instance:comfyvn_perf_frame_p95_limit_seconds"
# host label, extra demo arguments; the last one is the slow process.
PROCESSES = (("steady-1", ()), ("steady-2", ()), ("spiky", ("--spike-every", "5")))

DURATION = re.compile(r"(for:\s*|\[)(\d+)([smh])\b")
UNIT_S = {"s": 1, "m": 60, "h": 3600}


def faster(rules):
    """The rules with every `for:` and range duration divided by SPEEDUP
    (whole seconds, at least 2: two scrapes a second apart)."""
    count = {"for": 0, "range": 0}

    def scale(m):
        count["for" if m.group(1).startswith("for") else "range"] += 1
        seconds = int(m.group(2)) * UNIT_S[m.group(3)]
        return f"{m.group(1)}{max(2, round(seconds / SPEEDUP))}s"

    text = DURATION.sub(scale, rules)
    if count["for"] < len(ALERTS) or count["range"] == 0:
        toolslib.fail(f"the rules' durations were not found where expected ({count}): "
                      "update faster() in check_fleet.py")
    return text, count


def alert_states(prom):
    """{instance: {alertname: state}} of the active (pending or firing) alerts."""
    states = {}
    for a in (prom.api("alerts") or {}).get("alerts", []):
        labels = a.get("labels", {})
        states.setdefault(labels.get("instance"), {})[labels.get("alertname")] = a.get("state")
    return states


def by_instance(result):
    out = {}
    for s in result or []:
        try:
            out[s["metric"]["instance"]] = float(s["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    return out


def main():
    if len(sys.argv) != 3:
        toolslib.fail("usage: check_fleet.py DEMO RULES")
    demo_exe, rules_path = sys.argv[1:]
    prometheus = toolslib.prometheus_tool("prometheus")
    try:
        with open(rules_path) as f:
            rules, count = faster(f.read())
    except OSError as e:
        toolslib.fail(f"cannot read the rules: {e}")

    tmp = tempfile.mkdtemp(prefix="comfyvn-fleet-")
    demos = []
    prom = None
    problems = []
    finished = False
    try:
        with open(os.path.join(tmp, "comfyvn_perf.rules.yml"), "w") as f:
            f.write(rules)
        print(f"rules: {rules_path}, durations divided by {SPEEDUP} "
              f"({count['for']} for:, {count['range']} ranges)")
        for host, extra in PROCESSES:
            demos.append((host, extra, toolslib.Demo(demo_exe, extra).start()))
        instances = {f"127.0.0.1:{d.port}": (host, extra) for host, extra, d in demos}
        slow = f"127.0.0.1:{demos[-1][2].port}"
        # What a launcher would write for file_sd_configs (docs/fleet.md).
        with open(os.path.join(tmp, "targets.json"), "w") as f:
            json.dump([{"targets": [inst], "labels": {"host": host, "build": "demo"}}
                       for inst, (host, _) in instances.items()], f)
        prom = toolslib.Prometheus(prometheus, tmp, """global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [comfyvn_perf.rules.yml]
scrape_configs:
  - job_name: comfyvn_perf
    metrics_path: /api/perf/metrics
    file_sd_configs:
      - files: [targets.json]
""").start()

        t0 = time.monotonic()
        p95 = limits = states = {}
        done = False
        next_note = 0.0
        while time.monotonic() - t0 < DEADLINE_S and prom.running():
            p95 = by_instance(prom.query(P95))
            states = alert_states(prom)
            others = [v for inst, v in p95.items() if inst != slow]
            highest = slow in p95 and len(p95) == len(instances) and all(p95[slow] > v for v in others)
            alone = (states.get(slow, {}).get(ALERT) in ("pending", "firing") and
                     not any(ALERT in s for inst, s in states.items() if inst != slow))
            if highest and alone:
                done = True
                break
            if time.monotonic() - t0 >= next_note:
                next_note += 5.0
                print(f"  {time.monotonic() - t0:4.1f} s: p95 ms "
                      f"{ {instances.get(i, (i,))[0]: round(v * 1000, 1) for i, v in p95.items()} }, "
                      f"{ALERT}: { {instances.get(i, (i,))[0]: s.get(ALERT) for i, s in states.items()} }",
                      flush=True)
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
        limits = by_instance(prom.query(LIMIT))

        loaded = sorted(r["name"] for g in (prom.api("rules") or {}).get("groups", [])
                        for r in g.get("rules", []) if r.get("type") == "alerting")
        print(f"alerting rules loaded: {', '.join(loaded) or '(none)'}")
        print(f"{'host':<9} {'instance':<16} {'flags':<16} {'frame p95':>10} {'limit':>8}  "
              f"{ALERT:<24} other active alerts")
        for inst, (host, extra) in instances.items():
            mine = states.get(inst, {})
            other = ", ".join(f"{n} {s}" for n, s in sorted(mine.items()) if n != ALERT) or "-"
            v, lim = p95.get(inst), limits.get(inst)
            print(f"{host:<9} {inst:<16} {' '.join(extra) or '-':<16} "
                  f"{'-' if v is None else f'{v * 1000:.1f} ms':>10} "
                  f"{'-' if lim is None else f'{lim * 1000:.1f} ms':>8}  "
                  f"{mine.get(ALERT, 'inactive'):<24} {other}")
        if not prom.running():
            problems.append(f"prometheus exited {prom.proc.returncode} early")
        elif sorted(loaded) != sorted(ALERTS):
            problems.append(f"Prometheus loaded the alerts {loaded}, expected {sorted(ALERTS)}")
        elif not done:
            problems.append(f"after {elapsed:.0f} s the spiky process's frame p95 was not the "
                            f"highest with {ALERT} active for it alone; targets: {prom.targets()}")
        else:
            print(f"{ALERT} active for the spiky process alone after {elapsed:.1f} s")
        finished = True
    finally:
        toolslib.stop_all(prom, {host: d for host, _, d in demos}, problems, show_log=not finished)
        shutil.rmtree(tmp, ignore_errors=True)

    if problems:
        toolslib.fail("; ".join(problems))
    print(f"PASS: the fleet rules in Prometheus single out the slow process of {len(PROCESSES)}")
    return 0


if __name__ == "__main__":
    toolslib.timed(main)
