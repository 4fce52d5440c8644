"""KPIs (hand-computed on a tiny instance), goals, the one cost function and its partial form."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from furnsim.goals import (
    DEFAULT_GOALS_PATH,
    Goal,
    cost,
    cost_breakdown,
    get_goal,
    load_goals,
    partial_cost,
)
from furnsim.io import load_instance
from furnsim.kpi import KPI_NAMES, kpis, machine_kpis, partial_kpis
from furnsim.rules import RULES, run_policy
from furnsim.sim import Simulator

from ._fixtures import base_tables, write
from ._tiny import ft06_path, make

ROOT = Path(__file__).resolve().parents[1]


def tiny():
    """Two one-order jobs on work centers A (machine A, setups neutral/x) and B (buffer 4 m³).

    job0: A 10 min (setup x, 1 m³), then B 5 min (3 m³); deadline 100.
    job1: A  4 min (setup x, 1 m³), then B 6 min (2 m³); deadline 20 (will be late).
    Transport STORE->A 2 min, A->B 5 min, everything else 0.
    """
    return make(
        [
            [("A", 10, "x", 1.0), ("B", 5, "neutral", 3.0)],
            [("A", 4, "x", 1.0), ("B", 6, "neutral", 2.0)],
        ],
        capacity={"B": 4},
        setups={"A": (["neutral", "x"], [[0, 5], [5, 0]])},
        transport={("STORE", "A"): 2, ("A", "B"): 5},
        deadlines=[100, 20],
    )


def lowest_index(sim, d):
    return int(d.candidates.min())


def highest_index(sim, d):
    return int(d.candidates.max())


def test_tiny_hard_kpis_by_hand():
    inst = tiny()
    s, sim = run_policy(inst, lowest_index)
    # A: setup 0-5, job0 5-15; job1 15-19, blocked until 20 (B holds 3 m³ of job0 in
    # transit + 2 m³ > 4). B: job0 20-25 (arrives 15+5), job1 25-31 (departs 20, arrives 25).
    assert s.times["start"].tolist() == [5, 20, 15, 25]
    assert s.times["leave"].tolist() == [15, 25, 20, 31]
    k = kpis(s, inst)
    assert set(KPI_NAMES) == set(k)
    expect = {
        "makespan": 31,
        "total_tardiness": 11,  # order J1 completes 31, due 20; J0 25 <= 100
        "max_tardiness": 11,
        "weighted_tardiness": 11,  # priority 1
        "late_orders": 1,
        "on_time_rate": 0.5,
        "mean_flow_time": (25 + 31) / 2,
        "total_setup_time": 5,
        "setup_count": 1,  # the x->x "setup" takes 0 min and does not count
        "processing_time": 10 + 5 + 4 + 6,
        "blocked_time": 1,  # job1 on A from 19 to 20
        "idle_time": 31 * 2 - 25 - 5 - 1,
        "utilization_mean": (14 / 31 + 11 / 31) / 2,
        # A (unbounded): 1·(5-0) + 1·(15-0); B: 3·(20-15) + 2·(25-20)
        "buffer_volume_minutes": 20 + 25,
        "buffer_load": 25 / 4,  # unbounded A is skipped
        "peak_buffer_fill": 3 / 4,  # at t=20 job0's 3 leave before job1's 2 arrive
        "overflow_peak": 0,
        "overflow_volume_minutes": 0,
        "overflow_load": 0,
        "complete": 1,
        "unfinished_jobs": 0,
    }
    for key, v in expect.items():
        assert k[key] == pytest.approx(v), key
    mk = machine_kpis(s, inst)
    assert mk["A"] == pytest.approx(
        {
            "operations": 2,
            "processing_time": 14,
            "setup_time": 5,
            "setup_count": 1,
            "blocked_time": 1,
            "idle_time": 11,
            "utilization": 14 / 31,
        }
    )
    assert mk["B"]["idle_time"] == pytest.approx(20)


def test_tiny_soft_overflow_by_hand():
    inst = tiny()
    s, _ = run_policy(inst, lowest_index, buffers="soft")
    k = kpis(s, inst)
    # job1 leaves A at 19 into B, which holds job0's 3 m³ until 20: 5 m³ in a 4 m³ buffer
    assert k["blocked_time"] == 0
    assert k["peak_buffer_fill"] == pytest.approx(5 / 4)
    assert k["overflow_peak"] == pytest.approx(1)
    assert k["overflow_volume_minutes"] == pytest.approx(1)  # 1 m³ for 1 min
    assert k["overflow_load"] == pytest.approx(1 / 4)
    assert k["buffer_volume_minutes"] == pytest.approx(20 + 3 * 5 + 2 * 6)
    assert k["idle_time"] == pytest.approx(62 - 25 - 5)


def test_kpis_without_instance_leave_out_deadlines():
    inst = tiny()
    s, _ = run_policy(inst, lowest_index)
    k = kpis(s)
    assert "total_tardiness" not in k and "mean_flow_time" not in k
    assert k["makespan"] == 31 and k["buffer_load"] == 0  # every buffer counts as unbounded
    with pytest.raises(ValueError, match="pass the instance"):
        cost(k, "speed")


def test_no_deadline_no_tardiness():
    inst = load_instance(ft06_path())
    s, _ = RULES["SPT"].plan(inst)
    k = kpis(s, inst)
    assert k["total_tardiness"] == 0 and k["late_orders"] == 0 and k["on_time_rate"] == 1


def test_deadlocked_schedule_costs_inf():
    inst = make(
        [[("A", 5, "neutral", 1.0), ("B", 5, "neutral", 1.0)]] * 2
        + [[("B", 5, "neutral", 1.0), ("A", 5, "neutral", 1.0)]] * 2,
        capacity={"A": 1, "B": 1},
    )
    s, sim = run_policy(inst, lowest_index)
    assert sim.deadlock is not None and not s.complete
    k = kpis(s, inst)
    assert k["complete"] == 0 and k["unfinished_jobs"] > 0
    assert cost(s, "speed", inst) == math.inf


# -- goals ------------------------------------------------------------------------------------
def test_goals_load_and_names():
    goals = load_goals()
    assert list(goals) == ["speed", "efficiency", "empty-buffers"]
    assert [g.label for g in goals.values()] == ["Speed", "Efficiency", "Empty Buffers"]
    for g in goals.values():
        assert isinstance(g, Goal) and g.description and g.weights
        assert all(k in KPI_NAMES and w >= 0 for k, w in g.weights.items())
    # primary terms carry the big weights (DESIGN: "... first, then tardiness")
    assert goals["speed"].weights["makespan"] > goals["speed"].weights["total_tardiness"]
    assert (
        goals["efficiency"].weights["total_setup_time"]
        > goals["efficiency"].weights["total_tardiness"]
    )
    eb = goals["empty-buffers"].weights
    assert eb["buffer_load"] > eb["total_tardiness"] and eb["overflow_load"] > eb["total_tardiness"]
    for name in ("empty-buffers", "empty_buffers", "Empty Buffers", "EMPTY-BUFFERS"):
        assert get_goal(name).name == "empty-buffers"
    assert get_goal("Speed").name == "speed" and get_goal("efficiency").label == "Efficiency"
    with pytest.raises(KeyError, match="unknown goal"):
        get_goal("cheap")


def test_goal_yaml_copies_identical():
    documented = ROOT / "configs" / "goals.yaml"
    assert documented.read_bytes() == DEFAULT_GOALS_PATH.read_bytes()
    a, b = load_goals(documented), load_goals()
    assert {k: (g.label, g.weights) for k, g in a.items()} == {
        k: (g.label, g.weights) for k, g in b.items()
    }


def test_goal_rejects_unknown_kpi(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("fast:\n  label: Fast\n  weights: {makespam: 1}\n")
    with pytest.raises(ValueError, match="unknown KPI 'makespam'"):
        load_goals(p)
    p.write_text("fast:\n  label: Fast\n  weights: {makespan: -1}\n")
    with pytest.raises(ValueError, match=">= 0"):
        load_goals(p)


def test_cost_is_weighted_sum_and_breakdown():
    inst = tiny()
    s, _ = run_policy(inst, lowest_index)
    k = kpis(s, inst)
    for g in load_goals().values():
        terms = cost_breakdown(s, g, inst)
        assert set(terms) == {n for n, w in g.weights.items() if w}
        assert cost(s, g, inst) == pytest.approx(sum(terms.values()))
        assert cost(k, g.name) == pytest.approx(cost(s, g.label, inst))
    w = get_goal("speed").weights
    assert cost(k, "speed") == pytest.approx(w["makespan"] * 31 + w["total_tardiness"] * 11)


def test_cost_ordering_sanity():
    """Taking job1 first avoids the block and the late order: better under every goal."""
    inst = tiny()
    a, _ = run_policy(inst, lowest_index)
    b, _ = run_policy(inst, highest_index)
    kb = kpis(b, inst)
    assert kb["makespan"] == 29 and kb["total_tardiness"] == 0 and kb["blocked_time"] == 0
    for g in load_goals():
        assert cost(b, g, inst) < cost(a, g, inst), g
    # a schedule worse only in its primary KPI costs more
    k = kpis(a, inst)
    for g, key in (
        ("speed", "makespan"),
        ("efficiency", "total_setup_time"),
        ("empty-buffers", "buffer_load"),
    ):
        assert cost({**k, key: k[key] + 1}, g) > cost(k, g)


def test_kpis_fast_on_3000_ops():
    rng = np.random.default_rng(0)
    wcs = [f"W{i}" for i in range(10)]
    routes = [
        [
            (wcs[w], float(rng.uniform(1, 9)), "neutral", float(rng.uniform(0.1, 1)))
            for w in rng.permutation(10)
        ]
        for _ in range(300)
    ]
    inst = make(routes, capacity={w: 5.0 for w in wcs}, deadlines=list(rng.uniform(100, 2000, 300)))
    s, _ = run_policy(inst, lowest_index, buffers="soft")
    assert s.n_ops == 3000
    best = math.inf
    for _ in range(3):
        t = time.process_time()
        k = kpis(s, inst)
        best = min(best, time.process_time() - t)
    assert best < 0.05
    assert k["overflow_volume_minutes"] > 0  # soft buffers of 5 m³ do overflow here


# -- partial cost (RL reward) ---------------------------------------------------------------
def fixture_instance(tmp_path):
    return load_instance(write(base_tables(), "yaml", tmp_path))


@pytest.mark.parametrize("buffers", ["hard", "soft"])
@pytest.mark.parametrize("which", ["tiny", "fixture", "ft06"])
def test_partial_cost_telescopes_to_cost(which, buffers, tmp_path):
    inst = {
        "tiny": tiny,
        "fixture": lambda: fixture_instance(tmp_path),
        "ft06": lambda: load_instance(ft06_path()),
    }[which]()
    goals = list(load_goals().values())
    for rule in ("FIFO", "SETUP", "ATC"):
        sim = Simulator(inst, buffers=buffers)
        d = sim.decision()
        first = {g.name: partial_cost(sim, g) for g in goals}
        prev_k = partial_kpis(sim)
        ret = dict.fromkeys(first, 0.0)
        while d is not None:
            before = {g.name: partial_cost(sim, g) for g in goals}
            d = sim.dispatch(RULES[rule].choose(sim, d))
            for g in goals:
                ret[g.name] += before[g.name] - partial_cost(sim, g)
            k = partial_kpis(sim)
            for key in (
                "makespan",
                "total_tardiness",
                "total_setup_time",
                "buffer_volume_minutes",
                "blocked_time",
            ):
                assert k[key] >= prev_k[key] - 1e-9, key  # these only grow
            prev_k = k
        s = sim.schedule()
        assert sim.deadlock is None
        assert partial_kpis(sim) == pytest.approx(kpis(s, inst))
        for g in goals:
            c = cost(s, g, inst)
            assert partial_cost(sim, g) == pytest.approx(c)
            assert ret[g.name] == pytest.approx(first[g.name] - c)


def test_unfinished_orders_are_late():
    """Issue 10.6: a deadlocked plan is not 100 % on time — every unfinished order is late,
    deadline or not (KPIs and the late-orders table)."""
    from furnsim import viz

    # the swap plant of test_deadlocked_schedule_costs_inf; J0 also gets a deadline
    inst = make(
        [[("A", 5, "neutral", 1.0), ("B", 5, "neutral", 1.0)]] * 2
        + [[("B", 5, "neutral", 1.0), ("A", 5, "neutral", 1.0)]] * 2,
        capacity={"A": 1, "B": 1},
        deadlines=[1000, math.inf, math.inf, math.inf],
    )
    s, sim = run_policy(inst, lowest_index)
    assert sim.deadlock is not None
    finished = ~np.isnan(s.job_completion())
    assert not finished.any()  # nothing finishes: all four orders are stuck
    k = kpis(s, inst)
    assert k["late_orders"] == 4 and k["on_time_rate"] == 0.0
    assert k["total_tardiness"] == math.inf  # J0 has a deadline and never finishes
    table = viz.late_orders(s, inst)
    assert sorted(table["order"]) == ["J0", "J1", "J2", "J3"]
    assert set(table["late by"]) == {"not finished"}
    # a complete plan of the same kind of shop is unaffected: no deadline, never late
    ok = make([[("A", 5, "neutral", 1.0), ("B", 5, "neutral", 1.0)]] * 2, capacity={"A": 1})
    s2, sim2 = run_policy(ok, lowest_index)
    assert sim2.deadlock is None
    k2 = kpis(s2, ok)
    assert k2["late_orders"] == 0 and k2["on_time_rate"] == 1.0
    assert viz.late_orders(s2, ok).empty


def test_partial_kpis_keep_counting_unfinished_work_as_completing_now():
    # partial_kpis (the RL reward's view) is unchanged: unfinished jobs complete "now"
    inst = tiny()
    sim = Simulator(inst)
    sim.reset()
    k = partial_kpis(sim)
    assert k["late_orders"] == 0 and k["on_time_rate"] == 1.0


@pytest.mark.parametrize("buffers", ["hard", "soft"])
def test_kpis_asked_for_are_the_same_with_or_without_need(buffers):
    """``need`` only skips work: on a calendar plant with assemblies, at every few decisions of
    a run and at its end, each KPI asked for equals its value when all are computed (for each
    goal's weights and for sets that skip the machines' time, the kit waits or the buffers)."""
    from furnsim.env import WeekSource

    inst = WeekSource.from_path(None).week(4321, 60)
    assert inst.compiled.working is not None and inst.compiled.has_assembly
    needs = [set(g.weights) for g in load_goals().values()] + [
        {"makespan"},
        {"kit_wait_time", "total_tardiness"},
        {"buffer_load", "overflow_load"},
        {"idle_time"},
        {"available_time", "makespan"},
    ]
    sim = Simulator(inst, buffers=buffers)
    d = sim.decision()
    n = 0
    while d is not None:
        if n % 7 == 0:
            full = partial_kpis(sim)
            for need in needs:
                part = partial_kpis(sim, need=need)
                for k in need:
                    assert part[k] == pytest.approx(full[k], rel=1e-12, abs=1e-9), (n, k)
            for g in load_goals().values():
                assert partial_cost(sim, g) == pytest.approx(
                    sum(w * full[k] for k, w in g.weights.items() if w), rel=1e-12
                )
        d = sim.dispatch(RULES["ATCS"].choose(sim, d))
        n += 1
    s = sim.schedule()
    full = kpis(s, inst)
    for need in needs:
        part = kpis(s, inst, need=need)
        for k in need:
            assert part[k] == pytest.approx(full[k], rel=1e-12, abs=1e-9), k
    # the skipped groups are left out, not filled with wrong values
    assert "idle_time" not in partial_kpis(sim, need={"makespan"})
