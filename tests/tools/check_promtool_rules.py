#!/usr/bin/env python3
"""The fleet rules pass promtool (contract §8).

    check_promtool_rules.py RULES TESTS

RULES is deploy/prometheus/comfyvn_perf.rules.yml, TESTS its unit tests
(comfyvn_perf.rules.test.yml). Passes when `promtool check rules RULES` and
`promtool test rules TESTS` both exit 0 and RULES defines the five alerts of
the contract, each with a summary. First, promtool must refuse a rule with a
broken expression and a unit test whose expectation is wrong, so that a
promtool that accepts anything cannot pass the check.
promtool comes from $COMFYVN_TOOLS_DIR/prometheus (./dev test installs it).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

ALERTS = ("ComfyvnPerfSpanBudgetOver", "ComfyvnPerfFrameP95High", "ComfyvnPerfSpansDropped",
          "ComfyvnPerfJobsStarved", "ComfyvnPerfAdapterDown")

BAD_RULES = """groups:
  - name: broken
    rules:
      - alert: Broken
        expr: rate(comfyvn_perf_spans_dropped_total[5m] > 0
"""

# Down from minute 1: at 1m ComfyvnPerfAdapterDown is pending, not firing
# (`for: 1m`), so a test that expects it firing must fail, with nothing got.
WRONG_TEST = """rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{job="comfyvn_perf",instance="render-1:8001"}}'
        values: '1 0 0'
    alert_rule_test:
      - alertname: ComfyvnPerfAdapterDown
        eval_time: 1m
        exp_alerts:
          - exp_labels: {{severity: critical, job: comfyvn_perf, instance: 'render-1:8001'}}
"""


def promtool(exe, *args, cwd=None):
    r = subprocess.run([exe, *args], capture_output=True, timeout=60, cwd=cwd)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace").rstrip()


def alert_blocks(text):
    """{alert name: its lines} of a rules file, read as text (the standard
    library has no YAML parser; promtool has already checked the syntax)."""
    blocks = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^\s*- (alert|record):\s*(\S+)", line)
        if m:
            current = m.group(2) if m.group(1) == "alert" else None
            if current:
                blocks[current] = []
        elif current:
            blocks[current].append(line)
    return blocks


def main():
    if len(sys.argv) != 3:
        toolslib.fail("usage: check_promtool_rules.py RULES TESTS")
    rules, tests = (os.path.abspath(p) for p in sys.argv[1:])
    exe = toolslib.prometheus_tool("promtool")
    for path in (rules, tests):
        if not os.path.isfile(path):
            toolslib.fail(f"not found: {path}")

    tmp = tempfile.mkdtemp(prefix="comfyvn-rules-")
    try:
        bad = os.path.join(tmp, "bad.rules.yml")
        with open(bad, "w") as f:
            f.write(BAD_RULES)
        rc, out = promtool(exe, "check", "rules", bad)
        if rc == 0:
            toolslib.fail("promtool accepted a rule with a broken expression: the check could not fail")
        print(f"self-test: promtool check rules refuses a broken expression (exit {rc})")
        wrong = os.path.join(tmp, "wrong.test.yml")
        with open(wrong, "w") as f:
            f.write(WRONG_TEST.format(rules=rules))
        rc, out = promtool(exe, "test", "rules", wrong)
        if rc == 0:
            toolslib.fail("promtool passed a rule test with a wrong expectation: the check could not fail")
        if "ComfyvnPerfAdapterDown" not in out or "got:[]" not in out:
            toolslib.fail(f"promtool test rules failed the wrong expectation for another reason:\n{out}")
        print(f"self-test: promtool test rules fails a wrong expectation (exit {rc})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    problems = []
    rc, out = promtool(exe, "check", "rules", rules)
    print(f"$ promtool check rules {os.path.basename(rules)}  (exit {rc})\n{out}")
    if rc != 0:
        problems.append(f"promtool check rules exited {rc}")

    # Rule files in the test are relative to the test file's folder.
    rc, out = promtool(exe, "test", "rules", os.path.basename(tests), cwd=os.path.dirname(tests))
    print(f"$ promtool test rules {os.path.basename(tests)}  (exit {rc})\n{out}")
    if rc != 0:
        problems.append(f"promtool test rules exited {rc}")

    with open(rules) as f:
        blocks = alert_blocks(f.read())
    for name in ALERTS:
        if name not in blocks:
            problems.append(f"alert {name} is missing")
        elif not any(re.match(r"^\s*summary:\s*\S", ln) for ln in blocks[name]):
            problems.append(f"alert {name} has no summary annotation")
    print(f"alerts: {', '.join(sorted(blocks))}")

    if problems:
        toolslib.fail("; ".join(problems))
    print("PASS: the fleet rules pass promtool check rules and their unit tests")
    return 0


if __name__ == "__main__":
    toolslib.timed(main)
