"""comfyvn.perf: the comfyvn_perf instrumentation SDK from Python.

The four objects below are the process's one profiler, budget manager, hook bus and
feature flags: the same objects C++ code in the process records into when it uses the SDK
(``PERF_SCOPE``, ``comfyvn::perf::perf_profiler()``).

    from comfyvn.perf import perf_profiler, budget_manager, hooks, feature_flags

    perf_profiler.set_enabled(True)
    with perf_profiler.profile("load", "assets"):
        ...

    @perf_profiler.profile("step", "sim")
    def step(): ...

    perf_profiler.dashboard(limit=5)["top_time"]

Results are plain dicts and lists shaped as the HTTP adapter's JSON. ``comfyvn.perf.http``
serves that adapter in process. docs/python.md in the source tree describes everything.
"""

from . import http
from ._perf import (
    BUDGET_EVENT,
    PROFILER_EVENT,
    BudgetConflictError,
    BudgetError,
    BudgetFullError,
    BudgetManager,
    BudgetNotFoundError,
    BudgetValueError,
    FeatureFlags,
    Hooks,
    PerfProfiler,
    Profile,
    ProfiledFunction,
    Subscription,
    TraceBusy,
    __version__,
    budget_manager,
    feature_flags,
    hooks,
    perf_profiler,
)

__all__ = [
    "BUDGET_EVENT",
    "PROFILER_EVENT",
    "BudgetConflictError",
    "BudgetError",
    "BudgetFullError",
    "BudgetManager",
    "BudgetNotFoundError",
    "BudgetValueError",
    "FeatureFlags",
    "Hooks",
    "PerfProfiler",
    "Profile",
    "ProfiledFunction",
    "Subscription",
    "TraceBusy",
    "__version__",
    "budget_manager",
    "feature_flags",
    "hooks",
    "http",
    "perf_profiler",
]
