"""hooks and feature_flags."""

import gc
import json
import logging
import threading

import pytest

import comfyvn.perf as cp


def test_subscribe_flush_close(budgets, uid):
    got = []
    sub = cp.hooks.subscribe(cp.BUDGET_EVENT, lambda env: got.append((threading.get_ident(), env)))
    assert sub.active and sub.event == "on_perf_budget_state"
    budgets.register_job(uid)
    cp.hooks.flush()
    mine = [env for _, env in got if env["trigger"] == "job.registered"]
    assert mine and mine[0]["payload"]["job"]["id"] == uid
    assert {"trigger", "payload", "timestamp"} == mine[0].keys()
    assert all(ident != threading.get_ident() for ident, _ in got)  # the dispatcher thread
    sub.close()
    sub.close()
    assert not sub.active
    before = len(got)
    budgets.register_job(uid + "-2")
    cp.hooks.flush()
    assert len(got) == before


def test_with_statement_and_anonymised_payloads(budgets, uid):
    got = []
    with cp.hooks.subscribe(cp.BUDGET_EVENT, got.append) as sub:
        budgets.register_asset(uid, 1, {"source": "/home/alice/secret/hero.png",
                                        "api_token": "s3cr3t-value"})
        cp.hooks.flush()
    assert not sub.active
    text = json.dumps([e for e in got if e["trigger"] == "asset.registered"])
    assert uid in text and "/home/alice" not in text and "s3cr3t-value" not in text
    budgets.unregister_asset(uid)


def test_subscriber_errors_are_logged_and_counted(budgets, uid, caplog):
    def broken(env):
        raise ValueError("subscriber bug")

    errors = cp.hooks.stats()["subscriber_errors"]
    with caplog.at_level(logging.ERROR, logger="comfyvn.perf"):
        with cp.hooks.subscribe(cp.BUDGET_EVENT, broken):
            budgets.register_job(uid)
            cp.hooks.flush()
    assert cp.hooks.stats()["subscriber_errors"] > errors
    assert any("hook subscriber" in r.getMessage() for r in caplog.records)


def test_a_dropped_handle_keeps_its_subscription(budgets, uid):
    got = []
    cp.hooks.subscribe(cp.BUDGET_EVENT, got.append)
    gc.collect()
    budgets.register_job(uid)
    cp.hooks.flush()
    assert got
    for sub in list(cp._perf._live_subscriptions):
        sub.close()
    assert not cp._perf._live_subscriptions


def test_profiler_events(profiler):
    got = []
    with cp.hooks.subscribe(cp.PROFILER_EVENT, got.append):
        profiler.mark("hooked", "test")
        cp.hooks.flush()
    assert any(e["trigger"] == "mark.emitted" and e["payload"]["name"] == "hooked" for e in got)


def test_bad_subscriptions():
    with pytest.raises(TypeError, match="callable"):
        cp.hooks.subscribe(cp.BUDGET_EVENT, None)
    with pytest.raises(ValueError, match="event"):
        cp.hooks.subscribe("", print)


def test_feature_flags(tmp_path):
    flags = cp.feature_flags
    assert flags.perf_enabled() is False  # the shipped config, copied by conftest
    assert flags.config_path().endswith("comfyvn.json")
    try:
        assert flags.set_perf_enabled(True) is True
        assert flags.perf_enabled() and flags.budgets_enabled() and flags.profiler_enabled()
        with open(flags.config_path()) as f:
            assert json.load(f)["features"]["enable_perf"] is True
    finally:
        assert flags.set_perf_enabled(False) is True
    assert not flags.perf_enabled()
    cp.budget_manager.set_enabled(False)
    cp.perf_profiler.set_enabled(False)
