#!/usr/bin/env python3
"""Checks tools/perf_diff against dashboard files written here, in a temp folder.

usage: check_perf_diff.py PATH/TO/perf_diff

Python 3 standard library only. Every check looks at the exit status and at the
output (the table, the --json object, or the one stderr line), so a program that
always exits 0, 1 or 2 fails it. A check also fails when the program dies from
a signal or runs past its time limit. Prints one line per check; exits 1 when
any check failed.
"""

import json
import os
import random
import subprocess
import sys
import tempfile

TIMEOUT_S = 60
FAILURES = []
CHECKS = 0


def check(name, ok, detail=""):
    global CHECKS
    CHECKS += 1
    if ok:
        print(f"ok    {name}", flush=True)
    else:
        FAILURES.append(name)
        print(f"FAIL  {name}: {detail}", flush=True)


class Run:
    def __init__(self, args, stdin=None):
        self.args = args
        try:
            p = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT_S)
            self.rc = p.returncode
            self.out = p.stdout.decode("utf-8", "replace")
            self.err = p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            self.rc, self.out, self.err = "timeout", "", ""

    def describe(self):
        return f"rc={self.rc} stdout={self.out[:600]!r} stderr={self.err[:300]!r}"

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None


# ---- fixtures ----

def site(name, category="render", count=100, p95=10.0, avg=5.0, mx=20.0, total=None):
    return {
        "name": name, "category": category, "count": count,
        "total_ms": avg * count if total is None else total,
        "avg_ms": avg, "max_ms": mx, "min_ms": 0.5, "p50_ms": avg,
        "p95_ms": p95, "p99_ms": mx, "total_kb": 0.0, "max_kb": 0.0, "avg_kb": 0.0,
        "last_timestamp": 1796177946.05,
    }


def dashboard(sites, frames=None, marks=None, aggregates=True):
    top = sorted(sites, key=lambda s: -s["total_ms"])
    d = {"top_time": top, "top_memory": top}
    if aggregates:
        d["aggregates"] = sites
    d.update({"categories": {}, "marks": marks or [], "spans_recorded": 1000, "dropped": 0,
              "timestamp": 1796177946.1})
    if frames is not None:
        d["frames"] = frames
    return d


def route(d):
    return {"ok": True, "feature_flag": True, "dashboard": d}


class Files:
    def __init__(self, root):
        self.root = root
        self.n = 0

    def path(self, stem):
        self.n += 1
        return os.path.join(self.root, f"{self.n:03d}-{stem}.json")

    def write(self, stem, obj):
        p = self.path(stem)
        with open(p, "w") as f:
            json.dump(obj, f)
        return p

    def raw(self, stem, data):
        p = self.path(stem)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p


# ---- checks ----

def table_rows(out):
    """The rows of the table (site name first), between its header and the blank line."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.split()[:2] == ["site", "category"]:
            rows = []
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                rows.append(row.split())
            return rows
    return []


def expect_bad(tool, name, args, names, stdin=None, extra=None):
    """Exit 2, nothing on stdout, exactly one stderr line naming `names`."""
    r = Run([tool] + args, stdin)
    line = r.err.rstrip("\n")
    ok = (r.rc == 2 and r.out == "" and r.err.endswith("\n") and "\n" not in line
          and line.startswith("perf_diff: ") and names in line
          and (extra is None or extra in line))
    check(name, ok, f"expected exit 2 and one stderr line naming {names!r}: " + r.describe())
    return r


def base_sites():
    return [site("draw", p95=10.0), site("update", p95=4.0), site("cull", p95=2.0),
            site("present", p95=1.0)]


def main():
    if len(sys.argv) != 2:
        print("usage: check_perf_diff.py PATH/TO/perf_diff", file=sys.stderr)
        return 2
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="perf_diff_check.") as tmp:
        run_checks(tool, Files(tmp))
    print(f"{CHECKS - len(FAILURES)}/{CHECKS} checks passed", flush=True)
    if FAILURES:
        print("failed: " + ", ".join(FAILURES), flush=True)
        return 1
    return 0


def run_checks(tool, fx):
    base = fx.write("base", dashboard(base_sites()))

    # Regression: draw +20 %, update +12 %, cull +5 %, present -50 %.
    cur_sites = base_sites()
    cur_sites[0]["p95_ms"] = 12.0
    cur_sites[1]["p95_ms"] = 4.48
    cur_sites[2]["p95_ms"] = 2.1
    cur_sites[3]["p95_ms"] = 0.5
    regressed = fx.write("regressed", dashboard(cur_sites))
    r = Run([tool, base, regressed])
    rows = table_rows(r.out)
    check("regression: exit 1 with a table", r.rc == 1 and len(rows) == 4, r.describe())
    check("regression: table sorted by change, largest slowdown first",
          [row[0] for row in rows] == ["draw", "update", "cull", "present"], r.describe())
    check("regression: change % and counts columns",
          len(rows) == 4 and rows[0][:8] == ["draw", "render", "10.000", "12.000", "+20.0%",
                                              "100", "/", "100"]
          and rows[0][-1] == "REGRESSION" and rows[3][4] == "-50.0%"
          and rows[2][-1] != "REGRESSION", r.describe())
    check("regression: verdict line", "REGRESSION: 2 sites slower by more than 10%" in r.out,
          r.describe())
    r = Run([tool, base, regressed, "--json"])
    j = r.json()
    check("regression --json: exit 1 and the object",
          r.rc == 1 and j is not None and j["regression"] is True and j["regressions"] == 2
          and j["metric"] == "p95_ms" and j["threshold_pct"] == 10 and j["min_count"] == 10
          and [s["name"] for s in j["sites"]] == ["draw", "update", "cull", "present"]
          and [s["regression"] for s in j["sites"]] == [True, True, False, False]
          and abs(j["sites"][0]["change_pct"] - 20.0) < 1e-9
          and j["sites"][0]["base"] == 10.0 and j["sites"][0]["current"] == 12.0
          and j["sites"][0]["base_count"] == 100 and j["sites"][0]["counted"] is True
          and j["base"]["file"] == base and j["base"]["sites"] == 4
          and j["added"] == [] and j["removed"] == [], r.describe())
    r = Run([tool, base, regressed, "--threshold", "15"])
    check("regression: --threshold 15 leaves only draw (+20 %)",
          r.rc == 1 and "REGRESSION: 1 site slower by more than 15%" in r.out, r.describe())
    r = Run([tool, base, regressed, "--threshold=25"])
    check("regression: --threshold=25 passes", r.rc == 0 and "ok: no site" in r.out,
          r.describe())
    r = Run([tool, "--json", "--threshold", "0", base, regressed])
    j = r.json()
    check("options before the files; --threshold 0 gates any slowdown",
          r.rc == 1 and j is not None and j["regressions"] == 3, r.describe())

    # Within the threshold: +5 %, exactly +10 % (not more than 10), faster.
    within = base_sites()
    within[0]["p95_ms"] = 10.5
    within[1]["p95_ms"] = 4.4
    within[2]["p95_ms"] = 1.0
    ok_file = fx.write("within", dashboard(within))
    r = Run([tool, base, ok_file])
    check("within threshold: exit 0 and the table",
          r.rc == 0 and [row[0] for row in table_rows(r.out)] == ["update", "draw", "present",
                                                                   "cull"]
          and "ok: no site slower by more than 10% on p95_ms (4 sites gated)" in r.out,
          r.describe())
    eight = fx.write("eight", dashboard([site("s", p95=8.0)]))
    eight_eight = fx.write("eight_eight", dashboard([site("s", p95=8.8)]))
    r = Run([tool, eight, eight_eight, "--json"])
    j = r.json()
    check("exactly +10 % (8 -> 8.8) is not past 10 %",
          r.rc == 0 and j is not None and j["regression"] is False and len(j["sites"]) == 1,
          r.describe())
    r = Run([tool, eight, eight_eight, "--threshold", "9.99", "--json"])
    j = r.json()
    check("+10 % is past 9.99 %", r.rc == 1 and j is not None and j["regression"] is True,
          r.describe())
    r = Run([tool, base, base])
    check("a file against itself: exit 0, every change +0.0%",
          r.rc == 0 and len(table_rows(r.out)) == 4
          and all(row[4] == "+0.0%" for row in table_rows(r.out)), r.describe())

    # Added and removed sites: listed, never gated.
    added = base_sites()[1:] + [site("new_pass", p95=99.0, count=50)]
    added_file = fx.write("added", dashboard(added))
    r = Run([tool, base, added_file])
    check("added/removed: exit 0 (neither counts for the verdict)",
          r.rc == 0 and "ok: no site slower by more than 10% on p95_ms (3 sites gated)" in r.out,
          r.describe())
    check("added/removed: listed after the table",
          "added (only in current): 1\n  new_pass  render  99.000 ms  (count 50)" in r.out
          and "removed (only in base): 1\n  draw  render  10.000 ms  (count 100)" in r.out
          and [row[0] for row in table_rows(r.out)] == ["cull", "present", "update"],
          r.describe())
    r = Run([tool, base, added_file, "--json"])
    j = r.json()
    check("added/removed --json",
          j is not None and j["added"] == [{"name": "new_pass", "category": "render",
                                            "current": 99.0, "current_count": 50}]
          and j["removed"] == [{"name": "draw", "category": "render", "base": 10.0,
                                "base_count": 100}]
          and len(j["sites"]) == 3, r.describe())
    # Same name, other category: another site.
    recat = base_sites()
    recat[0]["category"] = "ui"
    recat[0]["p95_ms"] = 50.0
    r = Run([tool, base, fx.write("recat", dashboard(recat)), "--json"])
    j = r.json()
    check("sites are keyed by (name, category)",
          r.rc == 0 and j is not None and [(s["name"], s["category"]) for s in j["added"]]
          == [("draw", "ui")] and [(s["name"], s["category"]) for s in j["removed"]]
          == [("draw", "render")], r.describe())

    # Each metric: a file where only that metric grew 50 %.
    metrics = {"p95_ms": "p95", "avg_ms": "avg", "max_ms": "mx", "total_ms": "total"}
    m_base = fx.write("metric_base", dashboard([site("s", p95=10, avg=5, mx=20, total=500)]))
    for metric, arg in metrics.items():
        values = {"p95": 10, "avg": 5, "mx": 20, "total": 500}
        values[arg] *= 1.5
        grown = fx.write(f"metric_{metric}", dashboard([site("s", **values)]))
        for gate in metrics:
            r = Run([tool, m_base, grown, "--metric", gate, "--json"])
            j = r.json()
            want = 1 if gate == metric else 0
            ok = (r.rc == want and j is not None and j["metric"] == gate
                  and len(j["sites"]) == 1
                  and abs(j["sites"][0]["change_pct"] - (50.0 if want else 0.0)) < 1e-9)
            check(f"--metric {gate} on a file where {metric} grew 50 %: exit {want}", ok,
                  r.describe())
    r = Run([tool, m_base, fx.write("metric_avg_only", dashboard([site("s", avg=7.5,
                                                                         total=500)])),
             "--metric=avg_ms"])
    check("--metric=avg_ms table shows avg_ms",
          r.rc == 1 and "avg_ms in ms" in r.out and table_rows(r.out)[0][2:5]
          == ["5.000", "7.500", "+50.0%"], r.describe())

    # --min-count: both files need the spans.
    few_base = fx.write("few_base", dashboard([site("rare", count=5, p95=10),
                                               site("busy", count=100, p95=10)]))
    few_cur = fx.write("few_cur", dashboard([site("rare", count=50, p95=30),
                                             site("busy", count=100, p95=10.5)]))
    r = Run([tool, few_base, few_cur])
    rows = table_rows(r.out)
    check("--min-count default 10: 5 spans in BASE leaves the site out of the verdict",
          r.rc == 0 and rows and rows[0][0] == "rare" and rows[0][-1] == "--min-count)"
          and "(1 site gated)" in r.out, r.describe())
    r = Run([tool, few_base, few_cur, "--min-count", "5"])
    check("--min-count 5 gates it: exit 1", r.rc == 1 and "REGRESSION: 1 site" in r.out,
          r.describe())
    r = Run([tool, few_cur, few_base, "--min-count", "6", "--threshold", "0"])
    check("--min-count: CURRENT with too few spans is not gated either (reversed files)",
          r.rc == 0 and "(1 site gated)" in r.out, r.describe())
    r = Run([tool, few_base, few_cur, "--min-count", "1000", "--json"])
    j = r.json()
    check("--min-count above every count: nothing gated, exit 0, counted false",
          r.rc == 0 and j is not None and j["gated"] == 0
          and all(s["counted"] is False for s in j["sites"]), r.describe())
    r = Run([tool, few_base, few_cur, "--min-count", "1000"])
    check("--min-count above every count: the table says nothing was gated",
          r.rc == 0 and "nothing was gated" in r.out, r.describe())
    zero_base = fx.write("zero_base", dashboard([site("idle", count=0, p95=0, avg=0, mx=0)]))
    zero_cur = fx.write("zero_cur", dashboard([site("idle", count=0, p95=3, avg=1, mx=3)]))
    r = Run([tool, zero_base, zero_cur, "--min-count", "0", "--json"])
    j = r.json()
    check("--min-count 0 with base 0 -> current 3: 'new time', change_pct null, exit 1",
          r.rc == 1 and j is not None and j["sites"][0]["change_pct"] is None
          and j["sites"][0]["regression"] is True, r.describe())
    r = Run([tool, zero_base, zero_cur, "--min-count", "0"])
    check("base 0 -> current > 0 shows 'new time' in the table",
          r.rc == 1 and table_rows(r.out) and table_rows(r.out)[0][4:6] == ["new", "time"],
          r.describe())
    r = Run([tool, zero_base, zero_base, "--min-count", "0", "--json"])
    j = r.json()
    check("base 0 -> current 0: change 0 %, exit 0",
          r.rc == 0 and j is not None and j["sites"][0]["change_pct"] == 0, r.describe())

    # The route's body and the bare dashboard give the same answer.
    base_route = fx.write("base_route", route(dashboard(base_sites())))
    regressed_route = fx.write("regressed_route", route(dashboard(cur_sites)))
    bare = Run([tool, base, regressed, "--json"]).json()
    for a, b, what in [(base_route, regressed_route, "route vs route"),
                       (base_route, regressed, "route vs bare"),
                       (base, regressed_route, "bare vs route")]:
        r = Run([tool, a, b, "--json"])
        j = r.json()
        same = (j is not None and bare is not None and j["sites"] == bare["sites"]
                and j["regressions"] == 2)
        check(f"dashboard route body and bare object: {what} give the same sites, exit 1",
              r.rc == 1 and same, r.describe())
    r = Run([tool, base_route, regressed])
    check("route body: table as for the bare object",
          r.rc == 1 and len(table_rows(r.out)) == 4
          and table_rows(r.out) == table_rows(Run([tool, base, regressed]).out),
          r.describe())

    # top_time when there is no aggregates.
    r = Run([tool, fx.write("top_only", dashboard(base_sites(), aggregates=False)), regressed,
             "--json"])
    j = r.json()
    check("no aggregates: the sites come from top_time",
          r.rc == 1 and j is not None and j["base"]["source"] == "top_time"
          and j["current"]["source"] == "aggregates" and j["regressions"] == 2, r.describe())

    # The frame statistics as the site "(frame)".
    fr = {"count": 100, "avg_ms": 16.0, "p95_ms": 17.0, "max_ms": 30.0}
    slow_fr = {"count": 100, "avg_ms": 20.0, "p95_ms": 50.0, "max_ms": 90.0}
    fr_base = fx.write("frames_base", dashboard(base_sites(), frames=fr))
    fr_cur = fx.write("frames_cur", dashboard(base_sites(), frames=slow_fr))
    r = Run([tool, fr_base, fr_cur])
    rows = table_rows(r.out)
    check("frames: the site (frame), category frame, regresses on p95",
          r.rc == 1 and rows and rows[0][:5] == ["(frame)", "frame", "17.000", "50.000",
                                                 "+194.1%"], r.describe())
    r = Run([tool, fr_base, fr_cur, "--metric", "total_ms", "--json"])
    j = r.json()
    check("frames: total_ms is avg_ms x count",
          r.rc == 1 and j is not None and j["sites"][0]["name"] == "(frame)"
          and j["sites"][0]["base"] == 1600.0 and j["sites"][0]["current"] == 2000.0,
          r.describe())
    r = Run([tool, fr_base, fx.write("frames_zero", dashboard(
        base_sites(), frames={"count": 0, "avg_ms": 0, "p95_ms": 0, "max_ms": 0})), "--json"])
    j = r.json()
    check("frames.count 0: no (frame) site (listed as removed)",
          r.rc == 0 and j is not None and [s["name"] for s in j["removed"]] == ["(frame)"]
          and "(frame)" not in [s["name"] for s in j["sites"]], r.describe())

    # Input through a pipe (e.g. `<(curl ...)`).
    with open(regressed, "rb") as f:
        r = Run([tool, base, "/dev/stdin", "--json"], stdin=f.read())
    j = r.json()
    check("CURRENT read from a pipe", r.rc == 1 and j is not None and j["regressions"] == 2,
          r.describe())

    # ---- bad input: exit 2, one line naming the file ----
    expect_bad(tool, "missing BASE file", [os.path.join(fx.root, "nope.json"), base],
               "nope.json", extra="cannot open")
    expect_bad(tool, "missing CURRENT file (named, not BASE)",
               [base, os.path.join(fx.root, "gone.json")], "gone.json")
    expect_bad(tool, "a directory", [base, fx.root], fx.root, extra="directory")
    unreadable = fx.raw("unreadable", "{}")
    os.chmod(unreadable, 0)
    if os.access(unreadable, os.R_OK):  # root reads anything: use a path under a file
        unreadable = os.path.join(base, "x.json")
    expect_bad(tool, "unreadable file", [base, unreadable], unreadable, extra="cannot open")
    expect_bad(tool, "empty file", [fx.raw("empty", ""), base], "empty.json", extra="empty")
    expect_bad(tool, "whitespace-only file", [base, fx.raw("blank", " \n\t\n")],
               "blank.json", extra="whitespace")
    fifo = os.path.join(fx.root, "fifo.json")
    os.mkfifo(fifo)
    expect_bad(tool, "a FIFO nobody writes: exit 2, no hang", [base, fifo], "fifo.json")
    expect_bad(tool, "malformed JSON", [base, fx.raw("malformed", '{"aggregates": [}')],
               "malformed.json", extra="malformed JSON")
    expect_bad(tool, "not JSON at all", [fx.raw("text", "site,p95\ndraw,10\n"), base],
               "text.json", extra="malformed JSON")
    expect_bad(tool, "trailing garbage", [base, fx.raw("trailing", '{"aggregates":[]} x')],
               "trailing.json", extra="more data")
    with open(regressed) as f:
        full = f.read()
    expect_bad(tool, "truncated JSON (half a dashboard)",
               [base, fx.raw("truncated", full[:len(full) // 2])], "truncated.json",
               extra="truncated")
    expect_bad(tool, "truncated JSON (last byte missing)",
               [base, fx.raw("truncated1", full[:-1])], "truncated1.json", extra="truncated")
    expect_bad(tool, "invalid UTF-8", [base, fx.raw("utf8", b'{"aggregates":[],"x":"\xff"}')],
               "utf8.json")
    expect_bad(tool, "JSON nested 100000 deep",
               [base, fx.raw("deep", "[" * 100000 + "]" * 100000)], "deep.json",
               extra="deeper than")
    deep_marks = dashboard(cur_sites)
    nest = {}
    for _ in range(200):
        nest = {"m": nest}
    deep_marks["marks"] = [{"name": "m", "category": "c", "timestamp": 1, "metadata": nest}]
    expect_bad(tool, "a dashboard whose mark metadata nests 200 deep",
               [base, fx.write("deep_marks", deep_marks)], "deep_marks.json",
               extra="deeper than 128")
    ok_depth = dashboard(cur_sites)
    nest = {}
    for _ in range(100):
        nest = {"m": nest}
    ok_depth["marks"] = [{"name": "m", "category": "c", "timestamp": 1, "metadata": nest}]
    r = Run([tool, base, fx.write("depth100", ok_depth), "--json"])
    j = r.json()
    check("mark metadata nesting 100 deep is read",
          r.rc == 1 and j is not None and j["sites"] == bare["sites"], r.describe())

    wrong = [
        ("top level array", [dashboard(base_sites())], "top level"),
        ("top level number", 42, "top level"),
        ("no aggregates or top_time", {"marks": [], "spans_recorded": 0}, "aggregates"),
        ("route body without dashboard", {"ok": False, "feature_flag": False,
                                          "error": "disabled"}, "aggregates"),
        ("dashboard not an object", {"ok": True, "dashboard": [1]}, "dashboard is an array"),
        ("route dashboard without aggregates", route({"marks": []}), "dashboard has no"),
        ("aggregates not an array", {"aggregates": {"draw": 1}}, "aggregates is an object"),
        ("aggregates entry not an object", {"aggregates": [1]}, "aggregates[0]"),
        ("site without name", {"aggregates": [{k: v for k, v in site("a").items()
                                               if k != "name"}]}, "aggregates[0].name"),
        ("site name a number", {"aggregates": [dict(site("a"), name=5)]}, ".name is a number"),
        ("category null", {"aggregates": [dict(site("a"), category=None)]}, ".category"),
        ("count missing", {"aggregates": [{k: v for k, v in site("a").items()
                                           if k != "count"}]}, ".count is missing"),
        ("count negative", {"aggregates": [dict(site("a"), count=-1)]}, ".count is negative"),
        ("count fractional", {"aggregates": [dict(site("a"), count=2.5)]}, "whole number"),
        ("count a string", {"aggregates": [dict(site("a"), count="10")]}, ".count is a string"),
        ("p95_ms a string", {"aggregates": [site("a"), dict(site("b"), p95_ms="12")]},
         "aggregates[1].p95_ms is a string"),
        ("p95_ms negative", {"aggregates": [dict(site("a"), p95_ms=-0.5)]}, "negative"),
        ("p95_ms null (NaN written by a careless encoder)",
         {"aggregates": [dict(site("a"), p95_ms=None)]}, "p95_ms is null"),
        ("p95_ms missing", {"aggregates": [{k: v for k, v in site("a").items()
                                           if k != "p95_ms"}]}, "p95_ms is missing"),
        ("duplicate site", {"aggregates": [site("a"), site("a")]}, "repeats"),
        ("frames not an object", dict(dashboard(base_sites()), frames=[]), "frames is an array"),
        ("frames without p95_ms", dict(dashboard(base_sites()), frames={"count": 5}),
         "frames.p95_ms is missing"),
        ("wrong shape inside the route body",
         route({"aggregates": [dict(site("a"), max_ms=True)]}), "dashboard.aggregates[0]"),
    ]
    for name, obj, needle in wrong:
        path = fx.write("wrong", obj)
        args = [path, base]
        if "max_ms" in name or "route body" in name:
            args += ["--metric", "max_ms"]
        expect_bad(tool, f"wrong shape: {name}", args, path, extra=needle)
    expect_bad(tool, "wrong shape: a number too large for a double (1e999)",
               [base, fx.raw("inf", '{"aggregates":[{"name":"a","category":"b","count":10,'
                                    '"p95_ms":1e999}]}')], "inf.json", extra="finite")
    expect_bad(tool, "wrong shape: NaN literal is not JSON",
               [base, fx.raw("nan", '{"aggregates":[{"name":"a","category":"b","count":10,'
                                    '"p95_ms":NaN}]}')], "nan.json")
    expect_bad(tool, "control characters in a name do not break the line",
               [base, fx.raw("ctrl", '{"aggregates":[{"name":"a\\nb","category":"b",'
                                     '"count":10,"p95_ms":1},{"name":"a\\nb",'
                                     '"category":"b","count":10,"p95_ms":1}]}')],
               "ctrl.json", extra="repeats the site (a?b, b)")
    r = Run([tool, base, fx.write("metric_only_wrong", {"aggregates": [
        dict(site("draw"), max_ms="oops")]}), "--metric", "p95_ms", "--json"])
    j = r.json()
    check("only the compared metric is read: a bad max_ms is ignored on p95_ms",
          r.rc == 0 and j is not None and [s["name"] for s in j["sites"]] == ["draw"],
          r.describe())
    odd_path = os.path.join(fx.root, "line\nbreak.json")
    expect_bad(tool, "a file name with a newline stays one line", [base, odd_path], "line?break")

    # Mangled dashboards (seeded): cut anywhere, bytes changed, keys renamed. Every
    # one must end in exit 0, 1 or 2, and exit 2 with one line naming the file.
    rng = random.Random(20240601)
    with open(fr_cur, "rb") as f:
        good = f.read()
    bad_runs = []
    for i in range(150):
        data = bytearray(good)
        how = i % 3
        if how == 0:
            data = data[:rng.randrange(len(data))]
        elif how == 1:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.choice(b'{}[]",:0-9eE.\\ ntfa\x00\xff')
        else:
            for key in rng.sample([b'"count"', b'"p95_ms"', b'"name"', b'"aggregates"',
                                   b'"frames"', b'"category"'], 2):
                data = data.replace(key, rng.choice([b'"x"', b'"count"', b'"p95_ms"']), 1)
        path = fx.raw("mangled", bytes(data))
        r = Run([tool, fr_base, path])
        line = r.err.rstrip("\n")
        if r.rc not in (0, 1, 2) or (r.rc == 2 and not (path in line and "\n" not in line)) \
                or (r.rc != 2 and "ok: " not in r.out and "REGRESSION: " not in r.out):
            bad_runs.append(f"case {i}: " + r.describe())
        os.remove(path)
    check("150 mangled dashboards: exit 0/1 with a verdict or 2 with one line, never a crash",
          not bad_runs, "; ".join(bad_runs[:3]))

    # ---- big files ----
    size = 50 * 1024 * 1024
    padded = fx.path("padded_whitespace")
    with open(regressed) as f:
        body = f.read()
    with open(padded, "w") as f:
        f.write(body[:1] + " " * size + body[1:] + "\n" * 1024)
    r = Run([tool, base, padded, "--json"])
    j = r.json()
    check("50 MB of whitespace inside a dashboard: the right answer (exit 1, 2 regressions)",
          os.path.getsize(padded) > size and r.rc == 1 and j is not None
          and j["sites"] == bare["sites"], r.describe())
    marks_file = fx.path("padded_marks")
    mark = json.dumps({"name": "second", "category": "render", "timestamp": 1796177945.137,
                       "metadata": {"frame": 123456, "scene": "title"}})
    n_marks = size // (len(mark) + 1) + 1
    with open(marks_file, "w") as f:
        d = dashboard(cur_sites)
        d["marks"] = ["MARKS"]
        head, tail = json.dumps(d).split('"MARKS"')
        f.write(head)
        chunk = ",".join([mark] * 10000)
        left = n_marks
        first = True
        while left > 0:
            k = min(left, 10000)
            f.write(("" if first else ",") + (chunk if k == 10000 else ",".join([mark] * k)))
            first = False
            left -= k
        f.write(tail)
    r = Run([tool, base, marks_file, "--json"])
    j = r.json()
    check(f"a 50 MB dashboard ({n_marks} marks): the right answer (exit 1, 2 regressions)",
          os.path.getsize(marks_file) > size and r.rc == 1 and j is not None
          and j["sites"] == bare["sites"], r.describe())
    numbers = fx.path("padded_numbers")
    with open(numbers, "w") as f:
        d = dashboard(cur_sites)
        d["marks"] = ["MARKS"]
        head, tail = json.dumps(d).split('"MARKS"')
        f.write(head)
        f.write(",".join(["0"] * (size // 2)))
        f.write(tail)
    # 26 million values need more memory than perf_diff grants one file's JSON.
    expect_bad(tool, "a 50 MB array of 26 million numbers: exit 2, past the memory cap",
               [numbers, base], "padded_numbers.json", extra="more than 1024 MiB of memory")
    os.remove(numbers)
    huge = fx.path("sparse_300mb")
    with open(huge, "w") as f:
        f.write("{")
    os.truncate(huge, 300 * 1024 * 1024)
    expect_bad(tool, "a 300 MB file: exit 2 before reading it", [base, huge],
               "sparse_300mb.json", extra="larger than 256 MiB")
    os.remove(huge)

    # ---- bad options: exit 2, one line naming the option ----
    for name, args, needle in [
        ("unknown option", [base, regressed, "--frobnicate"], "--frobnicate"),
        ("unknown option with a value", ["--metric-name=x", base, regressed], "--metric-name"),
        ("--threshold without a value", [base, regressed, "--threshold"], "--threshold"),
        ("--threshold not a number", [base, regressed, "--threshold", "ten"], "--threshold"),
        ("--threshold negative", [base, regressed, "--threshold", "-5"], "--threshold"),
        ("--threshold nan", [base, regressed, "--threshold", "nan"], "--threshold"),
        ("--threshold inf", [base, regressed, "--threshold", "inf"], "--threshold"),
        ("--threshold 1e999", [base, regressed, "--threshold", "1e999"], "--threshold"),
        ("--threshold with a percent sign", [base, regressed, "--threshold", "10%"],
         "--threshold"),
        ("--threshold empty", [base, regressed, "--threshold="], "--threshold"),
        ("--metric unknown", [base, regressed, "--metric", "p99_ms"], "--metric"),
        ("--metric empty", [base, regressed, "--metric="], "--metric"),
        ("--min-count negative", [base, regressed, "--min-count", "-1"], "--min-count"),
        ("--min-count fractional", [base, regressed, "--min-count", "2.5"], "--min-count"),
        ("--min-count huge", [base, regressed, "--min-count", "99999999999999999999"],
         "--min-count"),
        ("--min-count without a value", [base, regressed, "--min-count"], "--min-count"),
        ("one file", [base], "two files"),
        ("three files", [base, regressed, base], "two files"),
        ("no arguments", [], "two files"),
    ]:
        expect_bad(tool, f"bad option: {name}", args, needle)
    expect_bad(tool, "bad option reported before any file is read",
               [os.path.join(fx.root, "nope.json"), base, "--metric", "p50_ms"], "--metric")
    r = Run([tool, "--help"])
    check("--help: usage on stdout, exit 0",
          r.rc == 0 and r.out.startswith("usage: perf_diff BASE CURRENT") and r.err == "",
          r.describe())
    r = Run([tool, "--", base, regressed])
    check("-- ends the options", r.rc == 1 and "REGRESSION" in r.out, r.describe())


if __name__ == "__main__":
    sys.exit(main())
