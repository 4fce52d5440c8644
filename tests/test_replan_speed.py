"""The fast best-rule from a shop state (furnsim.replan.fast) chooses exactly what
``furnsim.rules.best_rule`` chooses, in one process or two; PPO's guard the same way."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from furnsim.goals import cost
from furnsim.plan import plan
from furnsim.replan import derive_state, replan, situated
from furnsim.replan.fast import best_rule_from_state, rules_to_try
from furnsim.rules import NoValidPlan, best_rule, get_rule, run_policy

from .test_assembly_properties import bom_shops
from .test_sim_properties import _SOAK, shops

DEMO = Path(__file__).resolve().parents[1] / "bom_data" / "demo"


def _same_choice(inst, goal="speed"):
    try:
        ref = best_rule(inst, goal)
    except NoValidPlan:
        ref = None
    for workers in (1, 2):
        s, det = best_rule_from_state(inst, goal, workers=workers)
        if ref is None:
            assert s is None and det["deadlocks"]
            continue
        assert det["best_rule"] == f"rule:{ref.rule}", (det["rules_tried"], ref.costs)
        assert math.isclose(cost(s, goal, inst), ref.cost, rel_tol=1e-9, abs_tol=1e-9)
        for name, c in det["rules_tried"].items():  # scored from the simulator = cost()
            want = ref.costs[name]
            if c == "deadlock":
                assert math.isinf(want)
            else:
                assert math.isclose(c, want, rel_tol=1e-9, abs_tol=1e-6), name
        assert np.array_equal(s.times["start"], ref.schedule.times["start"], equal_nan=True)


@pytest.mark.timeout(300)
@settings(
    max_examples=int(_SOAK or "15"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    inst=st.one_of(shops(), bom_shops()),
    frac=st.floats(0.0, 1.0),
    goal=st.sampled_from(["speed", "efficiency", "empty-buffers"]),
)
def test_fast_best_rule_chooses_what_best_rule_chooses(inst, frac, goal):
    prev, sim = run_policy(inst, get_rule("FIFO"))
    assume(sim.deadlock is None)
    now = float(frac * prev.makespan)
    si = situated(inst, derive_state(prev, now))
    _same_choice(si, goal)


def test_kit_is_skipped_only_without_assemblies():
    from ._asm import bom

    asm = bom([("K", "", 1, [("A", 1)], 0.0), ("C", "K", 1, [("B", 1)], 1.0)])
    assert "KIT" in rules_to_try(asm)[0]
    from ._tiny import make

    flat = make([[("A", 1)]])
    names, skipped = rules_to_try(flat)
    assert "KIT" not in names and "KIT" in skipped


@pytest.fixture(scope="module")
def demo_case():
    if not DEMO.exists():
        pytest.skip("bom_data/demo is not here")
    from furnsim.io import load_instance

    inst = load_instance(DEMO)
    prev = plan(inst, "speed", "rule:ATC").schedule
    ev = [
        {"type": "breakdown", "machine": "SAW-1", "from": 1680, "to": 2040},
        {
            "type": "rush_order",
            "order": "R1",
            "article": "NIGHTSTAND",
            "quantity": 12,
            "deadline": 3360,
        },
    ]
    return inst, prev, ev


def test_demo_best_rule_is_plans_best_rule(demo_case):
    inst, prev, ev = demo_case
    r = replan(inst, prev, 1680, ev, method="best-rule", workers=2)
    # the demo has assemblies (bom_data/demo: kits, drawers, seats): KIT is a rule of its own
    assert r.valid and "KIT" not in r.details["skipped"]
    ref = plan(r.instance, "speed", "best-rule")
    assert r.method == ref.method
    assert r.cost == pytest.approx(ref.cost, rel=1e-12)
    assert np.array_equal(r.schedule.times["start"], ref.schedule.times["start"], equal_nan=True)


def test_ppo_guard_from_the_state(demo_case):
    pytest.importorskip("torch")
    inst, prev, ev = demo_case
    try:
        r = replan(inst, prev, 1680, ev, method="ppo")
    except Exception as e:  # no packaged model: nothing to guard
        pytest.skip(f"ppo not available: {e}")
    if r.fallback and "not available" in r.fallback:
        pytest.skip(r.fallback)
    assert r.valid
    assert "policy_cost" in r.details and "best_rule_cost" in r.details
    assert r.cost == pytest.approx(min(r.details["policy_cost"], r.details["best_rule_cost"]))


def test_workers_default(monkeypatch):
    from furnsim.replan.fast import MIN_OPS_FOR_WORKERS, default_workers

    monkeypatch.setenv("FURNSIM_REPLAN_WORKERS", "1")
    assert default_workers(10_000) == 1
    monkeypatch.setenv("FURNSIM_REPLAN_WORKERS", "2")
    assert default_workers(10) == 2
    monkeypatch.delenv("FURNSIM_REPLAN_WORKERS")
    assert default_workers(MIN_OPS_FOR_WORKERS - 1) == 1  # too little work for a fork
    import threading

    ev = threading.Event()
    t = threading.Thread(target=ev.wait)
    t.start()
    try:  # a threaded process (an API server) never forks
        assert default_workers(10_000) == 1
    finally:
        ev.set()
        t.join()
