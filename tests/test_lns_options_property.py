"""Hypothesis: any combination of the optimizer's options gives a valid plan, never worse than
its start, and the same plan again with the same seed (a fixed number of neighbours)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from furnsim.goals import cost
from furnsim.solvers.lns import NEIGHBOURHOODS, lns
from furnsim.validate import validate
from tests._asm import store_holds_honoured

KINDS = ("window", "group", "orders", "kit", "hold", "hold-wait", "restart", "tail", "cpsat")


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    return held_out_weeks(1, lo=30, hi=30)[0]  # a 30-job calendar week with assemblies


options = st.fixed_dictionaries(
    {
        "goal": st.sampled_from(["speed", "efficiency", "empty-buffers"]),
        "neighbourhoods": st.lists(st.sampled_from(KINDS), min_size=1, max_size=4, unique=True),
        "accept": st.sampled_from(["lahc", "plateau"]),
        "accept_worse": st.sampled_from([0.0, 0.05]),
        "lahc_length": st.integers(1, 20),
        "eps": st.sampled_from([0.02, 0.1, 0.5]),
        "start_search": st.sampled_from([0.0, 0.2]),
        "lanes": st.integers(1, 5),
        "lane_phase": st.sampled_from([0.1, 0.5, 1.0]),
        "suffix_draw": st.sampled_from(["count", "rate"]),
        "orders_target": st.sampled_from(["late", "wait", "goal"]),
        "prior": st.sampled_from([None, {"incumbent": 3.0}, {"window": 2.0, "rule": 0.5}]),
        "buffers": st.sampled_from(["hard", "soft"]),
        "release": st.sampled_from(["auto", "off"]),
        "snapshots": st.booleans(),
        "seed": st.integers(0, 2**16),
        "iterations": st.integers(1, 25),
    }
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(o=options)
def test_any_options_give_a_valid_reproducible_plan(week, o) -> None:
    o = dict(o)
    goal = o.pop("goal")
    kw = dict(o, start_ppo=False, cp_time=0.2)
    a = lns(week, goal, **kw)
    assert validate(a.schedule, week, buffers=o["buffers"]) == []
    assert a.cost == pytest.approx(cost(a.schedule, goal, week), rel=1e-9)
    assert a.cost <= a.start_cost + 1e-6
    assert a.iterations <= o["iterations"]
    assert sum(a.lane_iterations or []) == sum(a.moves[n]["tried"] for n in KINDS)
    # every STORE hold is honoured (the search's own with release control off, else the
    # release's)
    store_holds_honoured(a.schedule, week)
    if "cpsat" not in o["neighbourhoods"]:  # (a CP-SAT move's result may depend on timing)
        b = lns(week, goal, **kw)
        assert a.cost == b.cost and a.moves == b.moves
        for k, v in a.schedule.times.items():
            np.testing.assert_array_equal(v, b.schedule.times[k])


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(o=options, limit=st.sampled_from([0.3, 0.8, 1.5]))
def test_any_options_with_a_time_limit_give_a_valid_plan(week, o, limit) -> None:
    """Timed runs take other paths (cpsat moves dropped near the end, lane cuts by time)."""
    o = dict(o)
    goal = o.pop("goal")
    o.pop("iterations")
    a = lns(week, goal, time_limit=limit, clock="cpu", start_ppo=False, cp_time=0.2, **o)
    assert validate(a.schedule, week, buffers=o["buffers"]) == []
    assert a.cost <= a.start_cost + 1e-6
    assert a.cost == pytest.approx(cost(a.schedule, goal, week), rel=1e-9)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    goal=st.sampled_from(["speed", "efficiency", "empty-buffers"]),
    kinds=st.lists(
        st.sampled_from([n for n in NEIGHBOURHOODS if n not in ("restart", "tail", "cpsat")]),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    policy_suffix=st.booleans(),
    lanes=st.integers(1, 3),
    temperature=st.sampled_from([0.5, 1.0, 2.0]),
    seed=st.integers(0, 2**16),
    passes=st.integers(1, 12),
)
def test_the_policy_planner_with_any_options(
    week, goal, kinds, policy_suffix, lanes, temperature, seed, passes
) -> None:
    """``ppo-lns`` through the planner (the shipped policy of the goal): valid, reproducible."""
    from furnsim.planners import Budget, PlanState, get_planner

    opts = dict(
        neighbourhoods=tuple(kinds),
        policy_suffix=policy_suffix,
        lanes=lanes,
        temperature=temperature,
    )
    try:
        a = get_planner("ppo-lns").plan(
            week, goal, Budget(passes=passes), PlanState(seed=seed, options=dict(opts))
        )
    except (ImportError, FileNotFoundError) as e:  # pragma: no cover - torch-less install
        pytest.skip(str(e))
    assert a.schedule is not None and validate(a.schedule, week) == []
    assert a.details["lns"]["lanes"] == lanes
    b = get_planner("ppo-lns").plan(
        week, goal, Budget(passes=passes), PlanState(seed=seed, options=dict(opts))
    )
    assert a.details["lns"]["best_cost"] == b.details["lns"]["best_cost"]
    assert a.details["lns"]["moves"] == b.details["lns"]["moves"]
