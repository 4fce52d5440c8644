"""Hypothesis over ``plan()``: every method, goal, buffer mode and budget kind on a small
calendar week with assemblies gives a validated plan (or says why it fell back), priced by
the goal's cost."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from furnsim.goals import cost
from furnsim.plan import plan
from furnsim.validate import validate

METHODS = (
    "best-rule",
    "rule:ATCS",
    "rule:KIT",
    "ppo",
    "ppo-lns",
    "lns",
    "cpsat",
    "portfolio:best-rule,lns",
)


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    return held_out_weeks(1, lo=25, hi=25)[0]  # a 25-job calendar week with assemblies


@settings(
    max_examples=16,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(METHODS),
    goal=st.sampled_from(["speed", "efficiency", "empty-buffers"]),
    buffers=st.sampled_from(["hard", "soft"]),
    budget=st.sampled_from(["none", "passes", "time"]),
    seed=st.integers(0, 1000),
)
def test_every_method_gives_a_valid_plan(week, method, goal, buffers, budget, seed) -> None:
    kw: dict = {}
    if budget == "passes" and method not in ("cpsat", "rule:ATCS", "rule:KIT"):
        kw["passes"] = 6
    elif budget == "time" or method == "cpsat":
        kw["time_limit"] = 1.0
        kw["clock"] = "cpu" if method != "cpsat" else "wall"
    elif method in ("lns", "ppo-lns", "portfolio:best-rule,lns"):
        kw["passes"] = 4  # (their default is a 60 s search)
    try:
        r = plan(week, goal, method, buffers=buffers, seed=seed, **kw)
    except (ImportError, FileNotFoundError) as e:  # pragma: no cover - torch-less install
        pytest.skip(str(e))
    assert r.schedule is not None
    assert validate(r.schedule, week, buffers=buffers) == []
    assert r.cost == pytest.approx(cost(r.schedule, goal, week), rel=1e-9)
