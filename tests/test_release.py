"""Release control (furnsim/solvers/release.py; issue 15 item 2): a plan's jobs held at STORE
until their plan needs them -- a hand-computed case, properties on random shops (plain, with
working time, with assemblies), and the optimizer's use of it for Empty Buffers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from furnsim.goals import cost, get_goal
from furnsim.kpi import kpis
from furnsim.rules import get_rule, run_policy
from furnsim.sim import Simulator
from furnsim.solvers.lns import lns
from furnsim.solvers.release import (
    ReleaseSaving,
    release_just_in_time,
    release_until,
    wants_release,
)
from furnsim.validate import format_violations, validate

from ._tiny import make, run
from .test_assembly_properties import bom_shops
from .test_calendar_properties import shops_with_working_time
from .test_sim_properties import _SOAK, SEEDS, drive, shops

SETTINGS = settings(
    max_examples=int(_SOAK or "120"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _saw_shop():
    """Saw S (buffer 10), STORE -> S 5 min; J0 and J1: 10 min on S, volume 4, released at 0."""
    return make(
        [[("S", 10.0, "neutral", 4.0)], [("S", 10.0, "neutral", 4.0)]],
        capacity={"S": 10.0},
        transport={("STORE", "S"): 5.0},
    )


def test_hand_computed_release_halves_the_saw_buffer():
    inst = _saw_shop()
    s = run(Simulator(inst))
    # non-delay: both leave STORE at 0 (8 <= 10) and arrive at 5; J0 5..15, J1 15..25
    assert list(s.times["depart"]) == [0.0, 0.0]
    assert list(s.times["start"]) == [5.0, 15.0]
    # buffer: J0 holds 4 over [0, 5), J1 4 over [0, 15): (20 + 60) / 10 = 8 full-buffer-min
    assert kpis(s, inst)["buffer_load"] == pytest.approx(8.0)
    assert release_until(inst, s) == {1: 10.0}  # J1 leaves at 15 - 5; J0 cannot go later
    r = release_just_in_time(inst, s)
    assert r is not None
    assert list(r.times["depart"]) == [0.0, 10.0]
    assert list(r.times["start"]) == [5.0, 15.0] and list(r.times["end"]) == [15.0, 25.0]
    assert kpis(r, inst)["buffer_load"] == pytest.approx(4.0)  # (20 + 20) / 10
    assert [h for h in r.holds if h["kind"] == "store"] == [
        {"kind": "store", "job": r.job_ids[1], "from": 0.0, "until": 10.0, "reason": "planned"}
    ]
    assert validate(r, inst) == []
    g = get_goal("empty-buffers")
    assert cost(s, g, inst) - cost(r, g, inst) == pytest.approx(4.0)
    # the estimate from the run's records is exact here (nothing was blocked)
    sim = Simulator(inst)
    run(sim)
    assert ReleaseSaving(inst, g)(sim.rec) == pytest.approx(4.0)


def test_nothing_to_release_gives_none():
    inst = make([[("S", 10.0, "neutral", 4.0)]], capacity={"S": 10.0})
    s = run(Simulator(inst))
    assert release_until(inst, s) == {}
    assert release_just_in_time(inst, s) is None


def test_wants_release_only_for_goals_that_weigh_buffers():
    assert wants_release("empty-buffers")
    assert not wants_release("speed") and not wants_release("efficiency")


def _check_release(inst, seed, buffers="hard", anticipatory=True):
    sim = Simulator(inst, buffers=buffers, anticipatory_setups=anticipatory)
    drive(sim, seed, 0.0)
    if sim.deadlock is not None:
        event("deadlock")
        return
    s = sim.schedule()
    r = release_just_in_time(inst, s, buffers=buffers, anticipatory_setups=anticipatory)
    if r is None:  # nothing to hold, or every hold would make something start later
        event("nothing released" if not release_until(inst, s) else "holds given up")
        return
    event("released")
    vs = validate(r, inst, buffers=buffers, anticipatory_setups=anticipatory)
    assert vs == [], format_violations(vs)
    # the same machine sequences, no operation later, no makespan longer; every job waits in
    # its first buffer no longer (later buffers can hold a batch that no longer blocks its
    # machine)
    assert np.array_equal(r.op_machine, s.op_machine)
    assert np.all(r.times["start"] <= s.times["start"] + 1e-6)
    assert r.makespan <= s.makespan + 1e-6
    ci = inst.compiled
    first = np.asarray(ci.job_op_start[:-1])[np.asarray(ci.job_n_children) == 0]
    wait0 = s.times["start"][first] - s.times["depart"][first]
    wait1 = r.times["start"][first] - r.times["depart"][first]
    assert np.all(wait1 <= wait0 + 1e-6)
    if kpis(r, inst)["buffer_volume_minutes"] > kpis(s, inst)["buffer_volume_minutes"] + 1e-6:
        event("a later buffer fuller (a batch no longer blocked)")
    # every STORE hold ends no later than the job's first decision / arrival need
    for h in r.holds:
        assert h["until"] > h["from"]


@pytest.mark.timeout(300)
@SETTINGS
@given(
    inst=shops(),
    seed=SEEDS,
    buffers=st.sampled_from(["hard", "soft"]),
    anticipatory=st.booleans(),
)
def test_release_of_random_plans_is_valid_and_never_later(inst, seed, buffers, anticipatory):
    _check_release(inst, seed, buffers, anticipatory)


@pytest.mark.timeout(300)
@settings(SETTINGS, max_examples=int(_SOAK or "60"))
@given(inst=shops_with_working_time(), seed=SEEDS)
def test_release_with_working_time(inst, seed):
    _check_release(inst, seed)


@pytest.mark.timeout(300)
@settings(SETTINGS, max_examples=int(_SOAK or "60"))
@given(inst=bom_shops(), seed=SEEDS)
def test_release_with_assemblies(inst, seed):
    _check_release(inst, seed)


# -- the optimizer: release control for Empty Buffers --------------------------------------


def test_lns_releases_its_best_plan_for_empty_buffers():
    from .test_lns import shifts_week

    inst = shifts_week(6)
    g = get_goal("empty-buffers")
    on = lns(inst, g, iterations=30, time_limit=None, seed=3)
    off = lns(inst, g, iterations=30, time_limit=None, seed=3, release="off")
    assert off.released == 0 and off.schedule.holds is None
    assert on.released > 0
    store = [h for h in on.schedule.holds if h["kind"] == "store"]
    assert len(store) == on.released
    assert validate(on.schedule, inst) == []
    # the reported cost is the released plan's own, and far below the plain search's
    assert on.cost == pytest.approx(cost(on.schedule, g, inst))
    assert off.cost == pytest.approx(cost(off.schedule, g, inst))
    assert on.cost < 0.9 * off.cost
    # the buffer occupancy fell; makespan and lateness are those of a plan of the same kind
    k_on, k_off = kpis(on.schedule, inst), kpis(off.schedule, inst)
    assert k_on["buffer_load"] < k_off["buffer_load"]


@pytest.mark.parametrize("goal", ["speed", "efficiency"])
def test_release_auto_leaves_other_goals_alone(goal):
    from .test_lns import shifts_week

    inst = shifts_week(4)
    auto = lns(inst, goal, iterations=15, time_limit=None, seed=1)
    off = lns(inst, goal, iterations=15, time_limit=None, seed=1, release="off")
    assert auto.released == 0 and auto.cost == off.cost
    assert np.array_equal(auto.schedule.times["start"], off.schedule.times["start"])


def test_release_option_is_checked_and_reaches_the_planners():
    from furnsim.planners import Budget, PlanState, get_planner

    from .test_lns import shifts_week

    inst = shifts_week(4)
    with pytest.raises(ValueError, match="release"):
        lns(inst, "empty-buffers", iterations=1, time_limit=None, release="yes")
    res = get_planner("lns").plan(
        inst,
        "empty-buffers",
        Budget(passes=5),
        PlanState(options={"release": "off", "iterations": 5}),
    )
    assert res.valid and res.schedule.holds is None
    res = get_planner("lns").plan(
        inst, "empty-buffers", Budget(passes=5), PlanState(options={"iterations": 5})
    )
    assert res.valid and res.details["lns"]["released"] > 0


def test_rules_keep_their_non_delay_plans():
    """Release control is the optimizer's: a rule's plan holds nothing."""
    from .test_lns import shifts_week

    s, _ = run_policy(shifts_week(4), get_rule("FIFO"))
    assert s.holds is None


def test_cli_says_how_many_jobs_the_plan_holds_at_store():
    from pathlib import Path

    from typer.testing import CliRunner

    from furnsim.cli import app

    paper = Path(__file__).resolve().parents[1] / "bom_data" / "paper_example" / "plant.yaml"
    args = ["plan", str(paper), "--method", "lns", "--passes", "3"]
    out = CliRunner().invoke(app, [*args, "--goal", "empty-buffers"])
    assert out.exit_code == 0, out.output
    assert "valid:       True" in out.output
    assert "held at STORE until the plan needs them" in out.output
    out = CliRunner().invoke(app, [*args, "--goal", "speed"])
    assert out.exit_code == 0 and "held at STORE" not in out.output
    # the policy's released plan loses to the best rule's, released as well (the guard
    # compares like with like): the rule's plan is shown, and what it holds is said
    ppo = ["plan", str(paper), "--method", "ppo", "--passes", "1", "--goal", "empty-buffers"]
    out = CliRunner().invoke(app, ppo)
    assert out.exit_code == 0 and "fallback" in out.output, out.output
    assert "released just in time" in out.output and "held at STORE" in out.output


def test_a_re_plan_releases_only_what_is_still_at_store():
    from furnsim.replan.service import replan

    from .test_lns import shifts_week

    inst = shifts_week(6)
    base = lns(inst, "empty-buffers", iterations=20, time_limit=None)
    now = 0.2 * base.schedule.makespan
    res = replan(inst, base.schedule, now, goal="empty-buffers", method="lns", iterations=15)
    assert res.valid and res.fallback is None
    s = res.schedule
    store = [h for h in s.holds or () if h["kind"] == "store"]
    assert store and res.details["lns"]["released"] == len(store)
    assert all(h["from"] >= now - 1e-6 for h in store)  # held from now on, never before
    assert validate(s, res.instance) == []


def test_the_policy_planner_releases_its_plan_for_empty_buffers():
    from furnsim.planners import Budget, PlanState, get_planner

    from .test_lns import shifts_week

    inst = shifts_week(6)
    ppo = get_planner("ppo")
    res = ppo.plan(inst, "empty-buffers", Budget(passes=2), PlanState(guard=False))
    assert res.valid and res.fallback is None
    assert res.details["released"] > 0
    assert res.cost < res.details["unreleased_cost"]
    off = ppo.plan(
        inst, "empty-buffers", Budget(passes=2), PlanState(guard=False, options={"release": "off"})
    )
    assert "released" not in off.details and off.schedule.holds is None
    assert res.cost < off.cost
    # with the guard, the released plan is set against the best rule's plan released too
    guarded = ppo.plan(inst, "empty-buffers", Budget(passes=2), PlanState())
    assert guarded.valid and guarded.cost <= res.cost + 1e-9
    assert guarded.details["best_rule_cost"] < guarded.details["unreleased_rule_cost"]
    if guarded.fallback is not None:
        assert "released just in time" in guarded.fallback
    sp = ppo.plan(inst, "speed", Budget(passes=2), PlanState())
    assert "released" not in sp.details
