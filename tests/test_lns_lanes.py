"""Portfolio lanes of the LNS optimizer (``lns(lanes=L)``): several searches from one start,
interleaved, the worse half dropped at equal fractions of the budget (successive halving)."""

from __future__ import annotations

import numpy as np
import pytest

from furnsim.goals import cost
from furnsim.solvers.lns import BUFFER_LANES, LANE_PHASE, LANE_STARTS, default_lanes, lns
from furnsim.validate import validate


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    return held_out_weeks(1, lo=60, hi=60)[0]  # a 60-job calendar week of the demo plant


def _same(a, b) -> None:
    assert a.cost == b.cost and a.moves == b.moves
    assert [(i, c) for i, _, c in a.history] == [(i, c) for i, _, c in b.history]
    for k, v in a.schedule.times.items():
        np.testing.assert_array_equal(v, b.schedule.times[k])


@pytest.mark.parametrize("goal", ["speed", "efficiency"])
def test_one_lane_is_the_plain_search(week, goal) -> None:
    """``lanes=1`` draws exactly the search without the option (same plan, moves, history):
    the default for a goal that does not weigh buffer occupancy."""
    kw = dict(iterations=150, seed=3, start_ppo=False)
    plain = lns(week, goal, **kw)
    one = lns(week, goal, lanes=1, **kw)
    assert plain.improvements > 0  # (a search that moved)
    _same(plain, one)
    assert plain.lanes == one.lanes == 1 and one.lane_iterations == [150]


def test_empty_buffers_searches_four_lanes_by_default(week) -> None:
    """Empty Buffers (a goal that weighs buffer occupancy) searches ``BUFFER_LANES`` = 4 lanes
    from the four cheapest start plans, halved at 1/4 and 1/2 of the budget unless told
    otherwise: the default is that search,
    draw for draw; ``lanes=1`` is another one. 4 lanes, 160 neighbours, cuts at 0.5 · 1/2
    and 0.5 · 2/2 of them: 40 on 4 lanes (10 each), 40 on 2 (20 each), 80 on the best."""
    assert default_lanes("empty-buffers") == BUFFER_LANES == 4 and LANE_PHASE == 0.5
    assert default_lanes("speed") == default_lanes("efficiency") == 1
    kw = dict(iterations=160, seed=3, start_ppo=False)
    d = lns(week, "empty-buffers", **kw)
    e = lns(week, "empty-buffers", lanes=4, lane_phase=0.5, lane_starts="rules", **kw)
    _same(d, e)
    assert d.lanes == 4 and sorted(d.lane_iterations or []) == [10, 10, 30, 110]
    one = lns(week, "empty-buffers", lanes=1, **kw)
    assert one.lanes == 1 and one.lane_iterations == [160]
    for r in (d, one):
        assert validate(r.schedule, week) == []
        assert r.cost == pytest.approx(cost(r.schedule, "empty-buffers", week))


def test_lanes_halve_at_equal_fractions_and_keep_the_best(week) -> None:
    """4 lanes, 120 neighbours, cuts at 2/3 · 1/2 and 2/3 · 2/2 of them: 40 with 4 lanes (10
    each), 40 with the better 2 (20 each), 40 with the best one. Every dropped lane's best
    is frozen and no better than a survivor's at its cut, so the lane that searched longest
    holds the run's best."""
    r = lns(week, "speed", iterations=120, seed=5, start_ppo=False, lanes=4, lane_phase=2 / 3)
    assert r.lanes == 4 and r.iterations == 120
    its, costs = r.lane_iterations, r.lane_costs
    assert its is not None and costs is not None
    assert sum(its) == 120
    assert sorted(its) == [10, 10, 30, 70]
    winner = int(np.argmax(its))
    assert costs[winner] == min(costs)
    assert r.cost == pytest.approx(min(costs))  # speed: no release, the search cost is the cost
    # the two lanes dropped first were no better than the two kept, at the first cut; their
    # bests are final, so they are still no better than the kept lanes' now
    first_out = [i for i, n in enumerate(its) if n == 10]
    kept = [i for i, n in enumerate(its) if n > 10]
    assert max(costs[i] for i in kept) <= min(costs[i] for i in first_out)
    # all lanes' moves are reported together
    assert sum(r.moves[n]["tried"] for n in ("window", "group", "orders")) == 120
    assert validate(r.schedule, week) == []
    assert r.cost == pytest.approx(cost(r.schedule, "speed", week))


def test_lanes_are_reproducible_and_differ_from_one_lane(week) -> None:
    kw = dict(iterations=80, seed=7, start_ppo=False)
    a = lns(week, "empty-buffers", lanes=3, lane_phase=2 / 3, **kw)
    b = lns(week, "empty-buffers", lanes=3, lane_phase=2 / 3, **kw)
    _same(a, b)
    one = lns(week, "empty-buffers", **kw)
    # lane 0 draws the one-lane stream, but only for its turns: the runs differ
    assert a.lane_iterations != one.lane_iterations
    assert sum(a.lane_iterations or []) == 80
    # 3 lanes: two cuts (⌈log2 3⌉ = 2), at 1/3 and 2/3 of the neighbours
    # 27 neighbours on 3 lanes (9 each), 27 on the better 2 (14 and 13), 26 on the best
    assert sorted(a.lane_iterations or []) in ([9, 22, 49], [9, 23, 48])
    for r in (a, one):
        assert validate(r.schedule, week) == []
        assert r.cost <= r.start_cost + 1e-9


def test_the_default_phase_keeps_one_lane_after_half(week) -> None:
    """2 lanes: one cut, at lane_phase = 0.5 of the 100 neighbours (25 each), then the
    better lane makes the other 50."""
    r = lns(week, "efficiency", iterations=100, seed=2, start_ppo=False, lanes=2)
    assert sorted(r.lane_iterations or []) == [25, 75]
    costs = r.lane_costs or []
    assert costs[int(np.argmax(r.lane_iterations))] == min(costs)


def test_lanes_with_a_time_limit_and_the_planner(week) -> None:
    from furnsim.planners import Budget, PlanState, get_planner

    r = lns(week, "efficiency", time_limit=1.5, clock="cpu", seed=0, start_ppo=False, lanes=2)
    assert r.lanes == 2 and len(r.lane_iterations or []) == 2
    assert min(r.lane_iterations or [0]) > 0
    assert validate(r.schedule, week) == []
    res = get_planner("lns").plan(
        week, "speed", Budget(passes=30), PlanState(seed=1, options={"lanes": 2})
    )
    assert res.details["lns"]["lanes"] == 2
    assert validate(res.schedule, week) == []
    # Empty Buffers through the planners: four lanes without being asked, for the optimizer
    # and for the policy + optimizer alike
    for method in ("lns", "ppo-lns"):
        eb = get_planner(method).plan(week, "empty-buffers", Budget(passes=24), PlanState(seed=1))
        assert eb.details["lns"]["lanes"] == 4 and not eb.fallback
        assert validate(eb.schedule, week) == []


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_lanes_must_be_a_positive_whole_number(week, bad) -> None:
    with pytest.raises(ValueError, match="lanes"):
        lns(week, "speed", iterations=2, lanes=bad)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5])
def test_lane_phase_must_be_a_fraction(week, bad) -> None:
    with pytest.raises(ValueError, match="lane_phase"):
        lns(week, "speed", iterations=2, lanes=2, lane_phase=bad)


def test_lanes_start_from_the_next_cheapest_rules(week) -> None:
    """``lane_starts="rules"`` (the default): lane 0 starts from the start plan (the best rule),
    lanes 1-3 from the plans of the next cheapest rules, each its own; every lane's best is no
    dearer than the plan it started from (its start's own cost, for Speed: no release
    estimate), and the run's best is the cheapest lane's. ``"same"`` starts all four from the
    one plan, as before 2026-12-04: another search."""
    from furnsim.rules import best_rule

    assert LANE_STARTS == ("rules", "same")
    kw = dict(iterations=120, seed=4, start_ppo=False, lanes=4)
    r = lns(week, "speed", **kw)
    br = best_rule(week, "speed")
    names = r.lane_starts or []
    assert len(names) == 4 and names[0] == r.start == f"rule:{br.rule}"
    ranked = sorted((c, n) for n, c in br.costs.items() if np.isfinite(c) and n != br.rule)
    assert sorted(names[1:]) == sorted(f"rule:{n}" for _, n in ranked[:3])
    assert len(set(names)) == 4
    start_cost = {f"rule:{n}": c for n, c in br.costs.items()}
    for name, best in zip(names, r.lane_costs or [], strict=True):
        assert best <= start_cost[name] + 1e-6
    assert r.cost == pytest.approx(min(r.lane_costs or []))
    assert validate(r.schedule, week) == []
    same = lns(week, "speed", lane_starts="same", **kw)
    assert same.lane_starts == [names[0]] * 4
    assert same.lane_costs != r.lane_costs
    # Empty Buffers through the planner: the lanes' starts are reported
    from furnsim.planners import Budget, PlanState, get_planner

    eb = get_planner("lns").plan(week, "empty-buffers", Budget(passes=24), PlanState(seed=1))
    starts = eb.details["lns"]["lane_starts"]
    assert len(starts) == 4 and len(set(starts)) == 4 and starts[0] == eb.details["lns"]["start"]


@pytest.mark.parametrize("bad", ["", "policy", None])
def test_lane_starts_must_be_known(week, bad) -> None:
    with pytest.raises(ValueError, match="lane_starts"):
        lns(week, "speed", iterations=2, lanes=2, lane_starts=bad)
