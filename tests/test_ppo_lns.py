"""Policy + optimizer (``ppo-lns``, furnsim.planners.PpoLnsPlanner): the LNS optimizer guided by
the goal's learned policy. Within its CPU budget (measured against its own neighbour times),
reproducible for a fixed number of neighbours, never worse than its start (the best rule or
the policy's pass), every plan valid; the policy's sampling distribution by hand."""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from furnsim.plan import plan
from furnsim.planners import Budget, PlanState, get_planner
from furnsim.solvers.lns import lns, policy_sample
from furnsim.validate import validate


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    return held_out_weeks(1, lo=60, hi=60)[0]  # a 60-job calendar week of the demo plant


@pytest.fixture(scope="module")
def policy():
    try:
        from furnsim.rl.policy import load_planner

        return load_planner("empty-buffers")
    except (ImportError, FileNotFoundError) as e:  # pragma: no cover - torch-less install
        pytest.skip(str(e))


class _Fixed:
    """A stand-in policy with fixed logits over the candidates."""

    def __init__(self, logits: list[float]) -> None:
        self.logits = np.asarray(logits, dtype=np.float64)

    def scores(self, sim, d):
        return d.candidates.copy(), self.logits[: d.candidates.size]


def _decision(jobs: list[int]) -> SimpleNamespace:
    c = np.asarray(jobs, dtype=np.int64)
    return SimpleNamespace(candidates=c, ops=c, machine=0, time=0.0)


def test_policy_sample_is_the_softmax_at_the_temperature() -> None:
    d = _decision([4, 7, 9])
    pol = _Fixed([0.0, math.log(3.0), -math.inf])  # softmax at tau 1: 1/4, 3/4, 0
    rng = np.random.default_rng(0)
    n = 4000
    draws = [policy_sample(pol, None, d, 1.0, rng) for _ in range(n)]
    assert set(draws) <= {4, 7}
    assert draws.count(7) / n == pytest.approx(0.75, abs=0.03)
    # tau = 2: weights 1 and sqrt(3) -> 7 with 0.634
    draws = [policy_sample(pol, None, d, 2.0, rng) for _ in range(n)]
    assert draws.count(7) / n == pytest.approx(math.sqrt(3) / (1 + math.sqrt(3)), abs=0.03)
    # tau = 0 is the arg-max, without a draw
    state = rng.bit_generator.state
    assert policy_sample(pol, None, d, 0.0, rng) == 7
    assert rng.bit_generator.state == state
    # a deviation never takes the excluded job while another one is scored
    assert {policy_sample(pol, None, d, 1.0, rng, exclude=7) for _ in range(50)} == {4}
    # nothing else scored: the excluded job comes back
    assert policy_sample(_Fixed([1.0]), None, _decision([5]), 1.0, rng, exclude=5) == 5


def test_policy_neighbourhoods_need_a_policy(week) -> None:
    with pytest.raises(ValueError, match="need a policy"):
        lns(week, "speed", iterations=1, neighbourhoods=["policy-window"], start_ppo=False)
    with pytest.raises(ValueError, match="need a policy"):
        lns(week, "speed", iterations=1, policy_suffix=True, start_ppo=False)


@pytest.mark.parametrize("goal", ["speed", "empty-buffers"])
def test_never_worse_than_its_start_valid_and_uses_the_policy(week, goal) -> None:
    from furnsim.goals import cost
    from furnsim.rl.policy import load_planner
    from furnsim.rules import best_rule

    res = plan(week, goal, "ppo-lns", passes=40, seed=1)
    if res.fallback and "not available" in res.fallback:
        pytest.skip(res.fallback)
    assert res.valid and res.fallback is None and res.method == "ppo-lns"
    assert validate(res.schedule, week, buffers="hard") == []
    ln = res.details["lns"]
    rule = best_rule(week, goal)
    greedy, _ = load_planner(goal).plan(week)
    start = min(rule.cost, float(cost(greedy, goal, week)))
    assert ln["start_cost"] == pytest.approx(start)
    assert res.cost <= start + 1e-9
    assert ln["iterations"] == 40
    policy_moves = ln["moves"]["policy-window"]["tried"] + ln["moves"]["policy-tail"]["tried"]
    kinds = res.details["policy"]["neighbourhoods"]
    if goal == "empty-buffers":
        # Empty Buffers: the policy's greedy pass is a start candidate, its moves are not drawn
        # (they took time from the hold moves); the hold moves are
        assert kinds == ["window", "group", "orders", "hold", "hold-wait"]
        assert policy_moves == 0
        assert ln["moves"]["hold"]["tried"] + ln["moves"]["hold-wait"]["tried"] > 0
    else:  # the policy's own moves were drawn (and counted)
        assert kinds == ["window", "group", "orders", "policy-window"]
        assert policy_moves > 0
    assert res.details["policy"]["model"].endswith(f"ppo-{goal}.zip")


def test_reproducible_for_a_seed_and_a_number_of_neighbours(week) -> None:
    a = plan(week, "empty-buffers", "ppo-lns", passes=25, seed=4)
    b = plan(week, "empty-buffers", "ppo-lns", passes=25, seed=4)
    if a.fallback and "not available" in a.fallback:
        pytest.skip(a.fallback)
    assert a.cost == b.cost
    assert a.details["lns"]["moves"] == b.details["lns"]["moves"]
    np.testing.assert_array_equal(a.schedule.times["start"], b.schedule.times["start"])
    np.testing.assert_array_equal(a.schedule.op_machine, b.schedule.op_machine)


def test_policy_moves_improve_alone(week, policy) -> None:
    """Only the policy's neighbourhoods and suffix: still never worse than the start, and on
    this week they find something (if not, the policy sampling or its decoding is broken)."""
    r = lns(
        week,
        "empty-buffers",
        iterations=60,
        seed=0,
        policy=policy,
        neighbourhoods=["policy-window", "policy-tail"],
        policy_suffix=True,
    )
    assert r.cost <= r.start_cost + 1e-9 and r.improvements >= 1
    assert r.moves["policy-window"]["tried"] + r.moves["policy-tail"]["tried"] == 60
    assert validate(r.schedule, week, buffers="hard") == []


def test_cpu_budget_against_its_own_neighbour_times(week) -> None:
    """The budget counts CPU seconds of the process (start plans included); the search stops
    before a neighbour would end past it, so it is overrun by at most about one neighbour
    (its own longest, measured by the method) plus the final validation."""
    limit = 1.5
    c0 = time.process_time()
    res = get_planner("ppo-lns").plan(
        week, "speed", Budget(time_limit=limit, clock="cpu"), PlanState(seed=0)
    )
    used = time.process_time() - c0
    if res.fallback and "not available" in res.fallback:
        pytest.skip(res.fallback)
    ln = res.details["lns"]
    assert ln["clock"] == "cpu" and ln["iterations"] >= 1
    if ln["start_s"] < limit:
        # the search itself: within the limit plus its longest neighbour (twice, for a
        # neighbour longer than every earlier one) -- the method's own times, any load
        assert ln["seconds"] <= limit + 2 * ln["longest_s"] + 0.05, ln
    # the whole call adds the validation and pricing of the shared plan(): one check each
    assert used <= ln["seconds"] + res.info.timings.check_s * 2 + 1.0, (used, ln)


def test_loading_the_policy_counts_into_the_budget(week, monkeypatch) -> None:
    """A first call loads the policy (about a second for a shipped model): the search gets
    what is left of the time limit, so the whole call keeps to it."""
    import furnsim.rl.policy as rp
    from furnsim.planners import parallel

    try:
        loaded = rp.load_planner("speed")  # loaded here: the stand-in's load is the spin alone
    except (ImportError, FileNotFoundError) as e:  # pragma: no cover - torch-less install
        pytest.skip(str(e))
    spin = 0.8

    def slow_load(*a, **k):
        c = time.process_time()
        while time.process_time() - c < spin:  # CPU seconds, as the budget's clock counts
            pass
        return loaded

    monkeypatch.setattr(rp, "load_planner", slow_load)
    monkeypatch.setattr(parallel, "_policy_cache", {})
    limit = 1.6
    c0 = time.process_time()
    res = get_planner("ppo-lns").plan(
        week, "speed", Budget(time_limit=limit, clock="cpu"), PlanState(seed=0)
    )
    used = time.process_time() - c0
    ln = res.details["lns"]
    assert res.details["policy"]["load_s"] >= spin
    assert ln["time_limit"] <= limit - spin + 1e-9  # the search's share
    assert used <= limit + 2 * ln["longest_s"] + res.info.timings.check_s * 2 + 0.3, (used, ln)
    # plain ppo the same: its sampled passes get what the loading left
    monkeypatch.setattr(parallel, "_policy_cache", {})
    res = get_planner("ppo").plan(
        week, "speed", Budget(time_limit=spin + 0.2, clock="cpu"), PlanState(seed=0)
    )
    assert res.details["time_budget_s"] == pytest.approx(spin + 0.2)
    assert res.details["search_budget_s"] <= 0.2 + 1e-9


def test_cli_plans_with_policy_and_optimizer() -> None:
    from furnsim.cli import app

    ex = Path(__file__).resolve().parents[1] / "bom_data" / "paper_example" / "plant.yaml"
    args = ["plan", str(ex), "--method", "ppo-lns", "--goal", "empty-buffers"]
    out = CliRunner().invoke(app, [*args, "--time-limit", "0.5", "--clock", "cpu"])
    assert out.exit_code == 0, out.output
    assert "valid:       True" in out.output and "lns:" in out.output
    assert "policy + optimizer" in out.output
