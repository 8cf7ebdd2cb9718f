"""budget_manager: jobs, limits, assets and unload handlers; errors as exceptions."""

import logging
import threading

import pytest

import comfyvn.perf as cp

LIMITS = {"max_cpu_percent", "max_mem_mb", "max_vram_mb", "max_running_jobs",
          "lazy_asset_target_mb", "max_queue_depth", "evaluation_interval"}


def test_job_flow(budgets, uid):
    budgets.apply(max_running_jobs=1)
    a, b = uid + "-a", uid + "-b"
    r = budgets.register_job(a, "render", {"perf": {"cpu_percent": 1, "ram_mb": 10}})
    assert {"job", "queue_state", "reason", "metrics", "limits"} <= r.keys()
    assert r["queue_state"] == "queued" and r["job"]["requirements"]["ram_mb"] == 10
    assert budgets.start_job(a)["job"]["status"] == "running"
    assert budgets.register_job(b)["reason"] == "job cap reached"
    with pytest.raises(cp.BudgetConflictError) as refused:
        budgets.start_job(b)
    assert isinstance(refused.value, RuntimeError)
    assert refused.value.body["reason"] == "job cap reached"
    assert budgets.finish_job(a)["job"]["status"] == "complete"
    assert b in budgets.snapshot()["queued_ids"]  # the finish freed the slot
    assert isinstance(budgets.refresh_queue(), list)
    assert budgets.start_job(b)["job"]["status"] == "running"
    assert budgets.finish_job(b, "canceled", "test over")["job"]["reason"] == "test over"
    snap = budgets.snapshot(limit=1)
    assert {"limits", "metrics", "jobs", "queued_ids", "delayed_ids", "running_ids", "assets",
            "jobs_total", "assets_total"} <= snap.keys()
    assert len(snap["jobs"]) <= 1
    health = budgets.health()
    assert {"limits", "queue", "assets", "last_evaluation", "metrics"} <= health.keys()


def test_apply_and_bad_limits(budgets):
    assert budgets.apply(max_running_jobs=2, evaluation_interval=0.5)["limits"].keys() == LIMITS
    assert budgets.limits()["max_running_jobs"] == 2
    with pytest.raises(ValueError, match="max_cpu_percent"):
        budgets.apply(max_cpu_percent=101)
    with pytest.raises(cp.BudgetValueError, match="max_queue_depth"):
        budgets.apply(max_queue_depth=0, max_running_jobs=5)
    with pytest.raises(cp.BudgetValueError, match="not a known limit") as unknown:
        budgets.apply(max_jobs=3)
    assert "max_jobs" in unknown.value.detail
    with pytest.raises(ValueError, match="max_running_jobs"):
        budgets.apply(max_running_jobs=True)
    assert budgets.limits()["max_running_jobs"] == 2  # nothing applied from a bad call


def test_errors(budgets, uid):
    with pytest.raises(cp.BudgetNotFoundError) as missing:
        budgets.start_job(uid + "-nope")
    assert isinstance(missing.value, LookupError) and missing.value.detail
    with pytest.raises(ValueError, match="job_id"):
        budgets.register_job("")
    with pytest.raises(ValueError, match="size_mb"):
        budgets.register_asset(uid, -1)
    with pytest.raises(TypeError, match="callable"):
        budgets.register_asset(uid, 1, unload=42)


def test_unload_handler(budgets, uid):
    calls = []
    budgets.register_asset(uid, 10, {"kind": "texture"},
                           unload=lambda *args: calls.append((threading.get_ident(), args)))
    out = budgets.evict_lazy_assets(asset_id=uid)
    assert [e["asset_id"] for e in out["evicted"]] == [uid] and out["freed_mb"] == 10
    assert calls == [(threading.get_ident(), (uid, {"kind": "texture"}, "explicit"))]
    assert budgets.touch_asset(uid)["reloaded"] is True
    assert budgets.unregister_asset(uid) == {"removed": True}
    assert calls[-1][1][2] == "unregister"
    assert budgets.unregister_asset(uid) == {"removed": False}


def test_unload_handler_that_raises(budgets, uid, caplog):
    def unload(asset_id, metadata, cause):
        raise RuntimeError("cannot free " + asset_id)

    budgets.register_asset(uid, 5, unload=unload)
    with caplog.at_level(logging.ERROR, logger="comfyvn.perf"):
        out = budgets.evict_lazy_assets(asset_id=uid)
    assert [e["asset_id"] for e in out["evicted"]] == [uid]
    assert any("cannot free " + uid in r.getMessage() + str(r.exc_info) for r in caplog.records)
    asset = next(a for a in budgets.snapshot(limit=10000)["assets"] if a["asset_id"] == uid)
    assert asset["loaded"] is False
    assert budgets.unregister_asset(uid)["removed"] is True
