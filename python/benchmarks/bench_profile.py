"""What a span from Python costs, against the cheapest thing it could be compared with.

`with perf_profiler.profile("step"):` (profiler enabled, so every span is recorded) against
a bare pair of time.perf_counter_ns() calls, measured in the same run, as the ratio
profile / pair. The goal is at most 2. The pair is called through a local name (no
attribute lookup), which makes it as cheap as it can be. Also: the decorator against a plain
call of the same function, and profile() while the profiler is disabled.

Run by `./dev bench`, or: PYTHONPATH=build/python python3 python/benchmarks/bench_profile.py
Prints a table and a final line `ratio profile/pair: R`; exits 1 when R > 2 (--no-check: 0).
Nothing here is a test: timings depend on the machine.
"""

import argparse
import sys
import time

from comfyvn.perf import perf_profiler

LOOPS = 200_000
REPEATS = 7
GOAL = 2.0


def best_ns_per_loop(fn):
    """The fastest of REPEATS runs, per loop, minus nothing: each fn runs its own loop."""
    best = None
    for _ in range(REPEATS):
        t0 = time.perf_counter_ns()
        fn()
        elapsed = time.perf_counter_ns() - t0
        best = elapsed if best is None else min(best, elapsed)
    return best / LOOPS


def empty_loop():
    for _ in range(LOOPS):
        pass


def pair():
    clock = time.perf_counter_ns
    for _ in range(LOOPS):
        clock()
        clock()


def with_profile():
    profile = perf_profiler.profile
    for _ in range(LOOPS):
        with profile("bench.step"):
            pass


def with_profile_attribute():
    for _ in range(LOOPS):
        with perf_profiler.profile("bench.step"):
            pass


def target():
    return None


@perf_profiler.profile("bench.decorated")
def decorated():
    return None


def plain_calls():
    for _ in range(LOOPS):
        target()


def decorated_calls():
    for _ in range(LOOPS):
        decorated()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="exit 0 whatever the ratio")
    args = parser.parse_args()

    perf_profiler.set_enabled(True)
    perf_profiler.reset()
    rows = {}
    rows["empty loop"] = best_ns_per_loop(empty_loop)
    rows["perf_counter_ns() pair"] = best_ns_per_loop(pair)
    rows["with profile(...) (method in a local)"] = best_ns_per_loop(with_profile)
    rows["with perf_profiler.profile(...)"] = best_ns_per_loop(with_profile_attribute)
    rows["plain call"] = best_ns_per_loop(plain_calls)
    rows["decorated call"] = best_ns_per_loop(decorated_calls)
    perf_profiler.set_enabled(False)
    rows["with perf_profiler.profile(...), disabled"] = best_ns_per_loop(with_profile_attribute)

    count = {r["name"]: r["count"] for r in perf_profiler.dashboard(limit=5)["aggregates"]}
    expected = (1 + 1) * REPEATS * LOOPS  # with_profile and with_profile_attribute
    assert count.get("bench.step") == expected, (count.get("bench.step"), expected)
    perf_profiler.reset()

    loop = rows["empty loop"]
    print(f"{'ns per iteration (best of %d x %d)' % (REPEATS, LOOPS):46} {'total':>8} {'- loop':>8}")
    for name, ns in rows.items():
        print(f"{name:46} {ns:8.1f} {ns - loop:8.1f}")
    ratio = rows["with perf_profiler.profile(...)"] / rows["perf_counter_ns() pair"]
    decorator = (rows["decorated call"] - rows["plain call"]) / (
        rows["perf_counter_ns() pair"] - loop)
    print(f"decorator overhead / pair (loop removed): {decorator:.2f}")
    print(f"ratio profile/pair: {ratio:.2f} (goal <= {GOAL})")
    return 0 if args.no_check or ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
