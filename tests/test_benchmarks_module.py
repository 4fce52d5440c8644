"""furnsim.benchmarks: held-out weeks, valid lower bounds (hand-computed and never above a
feasible plan), best known costs; the benchmark scripts import only the package."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from furnsim.benchmarks import (
    BEST_KNOWN,
    GOALS,
    HELD_OUT_SEED,
    best_known,
    cost_lb,
    held_out_weeks,
    makespan_lb,
    read_jsonl,
    setup_lb,
    tardiness_lb,
)
from furnsim.goals import cost, get_goal
from furnsim.model import NEUTRAL
from furnsim.rules import best_rule

from ._tiny import make

ROOT = Path(__file__).resolve().parents[1]


def test_bounds_by_hand():
    """J0: A 3 min then B 2 min, due at 4; J1: A 4 min, due at 10; one machine each.
    Chains: 5 and 4; A's load 3 + 4 = 7 with nothing after J1 and 2 min after J0 -> 7 (and
    the plan J0, J1 on A reaches it); J0 cannot finish before 5: 1 min late."""
    inst = make([[("A", 3), ("B", 2)], [("A", 4)]], deadlines=[4, 10])
    assert makespan_lb(inst) == pytest.approx(7.0)
    assert tardiness_lb(inst) == pytest.approx(1.0)
    assert setup_lb(inst) == 0.0
    w = get_goal("speed").weights
    expect = w.get("makespan", 0.0) * 7 + w.get("total_tardiness", 0.0) * 1
    assert cost_lb(inst, "speed") == pytest.approx(expect)
    # the bound is tight here: the best rule reaches it
    assert cost(best_rule(inst, "speed").schedule, "speed", inst) == pytest.approx(expect)


def test_setup_bound_counts_each_needed_changeover_once():
    """One machine starting neutral; ops need setups a, b: at least neutral->a (5) or b->a
    (3) into a, and neutral->b (4) or a->b (6) into b: 3 + 4."""
    ids = [NEUTRAL, "a", "b"]
    mat = [[0, 5, 4], [9, 0, 6], [9, 3, 0]]
    inst = make([[("M", 1, "a")], [("M", 1, "b")]], setups={"M": (ids, mat)})
    assert setup_lb(inst) == pytest.approx(7.0)


def test_held_out_weeks_are_fixed():
    a = held_out_weeks(2, lo=20, hi=30)
    b = held_out_weeks(3, lo=20, hi=30)
    assert [w.compiled.n_jobs for w in a] == [w.compiled.n_jobs for w in b[:2]]
    for x, y in zip(a, b[:2], strict=True):
        assert np.array_equal(x.compiled.op_proc, y.compiled.op_proc, equal_nan=True)
    assert a[0].compiled.n_jobs != 0 and HELD_OUT_SEED == 10_000


@pytest.mark.parametrize("goal", GOALS)
def test_lower_bound_is_below_every_rule_plan(goal):
    week = held_out_weeks(1, lo=40, hi=40)[0]
    lb = cost_lb(week, goal)
    br = best_rule(week, goal)
    feasible = [c for c in br.costs.values() if np.isfinite(c)]
    assert feasible, "every rule deadlocked on the held-out week"
    assert 0 < lb <= min(feasible) + 1e-6


def test_best_known_is_package_data(tmp_path):
    assert BEST_KNOWN.exists() and BEST_KNOWN.parent.name == "data"
    bk = best_known()
    assert set(bk) <= set(GOALS) and bk["speed"]
    one = best_known("speed")
    assert all(v["cost"] > 0 and v["source"] for v in one.values())
    assert str(HELD_OUT_SEED) in one
    p = tmp_path / "r.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert read_jsonl(p) == [{"a": 1}, {"a": 2}] and read_jsonl(tmp_path / "none") == []


def test_benchmark_scripts_import_only_the_package():
    """No script imports another script (the weeks and bounds live in furnsim.benchmarks)."""
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    shared = {"rl_eval", "rl_headroom", "rl_search", "rl_cpsat", "rl_rules_compare", "lns_bench"}
    for p in sorted((ROOT / "benchmarks").glob("*.py")):
        if p.stem not in shared:
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            mods = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for m in mods:
                assert m.split(".")[0] not in scripts, f"{p.name} imports the script {m}"


def test_bounds_by_hand_under_working_time():
    """Machine A works Mon-Fri 06:00-09:00 and 09:15-14:00; the plan starts on a Friday 06:00.
    Two jobs of 300 min on A: each chain alone ends at 11:15 (315 min), but A's 600 min of
    work take Friday's 465 working minutes and 135 on Monday: Mon 08:15 = 3 days + 135 min =
    4455 min. Efficiency: A is never idle in working time, so the bound is 0 (the 24/7
    formula, machines x makespan - processing, would say 0.5 (4455 - 600), above the plan)."""
    from datetime import datetime

    from furnsim.calendar import calendar_from_rows, with_working_time

    inst = make([[("A", 300)], [("A", 300)]])
    inst.plan_start = datetime(2026, 11, 27, 6, 0)  # a Friday
    day = calendar_from_rows("DAY", [("Mon-Fri", "06:00", "09:00"), ("Mon-Fri", "09:15", "14:00")])
    inst = with_working_time(inst, calendars=[day], default_calendar="DAY")
    assert makespan_lb(inst) == pytest.approx(4455.0, abs=0.02)
    plan = best_rule(inst, "speed").schedule
    assert plan.makespan == pytest.approx(4455.0)  # tight
    assert cost_lb(inst, "efficiency") == pytest.approx(0.0, abs=0.01)
    assert cost(plan, "efficiency", inst) >= cost_lb(inst, "efficiency") - 1e-6
    assert cost_lb(inst, "speed") <= cost(plan, "speed", inst) + 1e-6


def test_makespan_bound_through_the_kits_by_hand():
    """Desk D <- drawer R (<- front F on W1 3 min, two sides S on W2 1 min each) and top T
    (W1 5 min); transports W1->DRW 1, W2->DRW 2, DRW->ASSY 3, W1->ASSY 2; R 2 min on DRW,
    D 4 min on ASSY. Chains through the kits: R waits for F (3 + 1) and S (2 + 2) = 4, ends
    6, reaches ASSY at 9; T reaches it at 7; D ends at 9 + 4 = 13. W1 carries F and T (8 min
    on one machine), and after the last of them at least min(F's tail 1 + 2 + 3 + 4 = 10,
    T's tail 2 + 4 = 6) = 6 follow: 14. The plan F, T on W1 reaches 14 (tight); without the
    kits the chains and W1's load gave 8."""
    from ._asm import desk

    inst = desk()
    assert makespan_lb(inst) == pytest.approx(14.0)
    best = best_rule(inst, "speed").schedule
    assert best.makespan == pytest.approx(14.0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    routes=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from([1.0, 2.0, 4.0, 7.0])),
            min_size=1,
            max_size=3,
        ),
        min_size=2,
        max_size=6,
    ),
    due=st.lists(st.sampled_from([3.0, 6.0, 10.0, 20.0, math.inf]), min_size=6, max_size=6),
    two=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_tardiness_and_makespan_bounds_hold_for_random_plans(routes, due, two, seed):
    """Random shops with deadlines, random non-delay decisions: the bounds never exceed the
    plan's total tardiness and makespan."""
    from furnsim.kpi import kpis
    from furnsim.sim import Simulator

    machines = {"A1": "A", "A2": "A", "B": "B", "C": "C"} if two else None
    wcs = {op[0] for r in routes for op in r}
    if machines:
        machines = {m: w for m, w in machines.items() if w in wcs}
    inst = make(routes, deadlines=due[: len(routes)], machines=machines)
    sim = Simulator(inst)
    rng = np.random.default_rng(seed)
    d = sim.decision()
    while d is not None:
        d = sim.dispatch(int(d.candidates[rng.integers(d.candidates.size)]))
    s = sim.schedule()
    k = kpis(s, inst)
    assert tardiness_lb(inst) <= k["total_tardiness"] + 1e-6
    assert makespan_lb(inst) <= k["makespan"] + 1e-6
