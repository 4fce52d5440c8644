"""The fast learning core (issue 14): incremental reward equals the full recomputation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from furnsim.env.incremental import IncrementalCost
from furnsim.goals import load_goals, partial_cost
from furnsim.io import load_instance
from furnsim.kpi import partial_kpis
from furnsim.sim import Simulator

from ._tiny import ft06_path

REPO = Path(__file__).resolve().parents[1]
GOALS = list(load_goals().values())


def _instances() -> dict[str, object]:
    return {
        "ft06": load_instance(ft06_path()),
        # the flat 24/7 week
        "demo": load_instance(REPO / "bom_data" / "demo-247" / "plant.yaml"),
        "demo_shifts": load_instance(REPO / "bom_data" / "demo_shifts" / "plant.yaml"),
        # assemblies (kit holdings in the buffers), 24/7 and with shifts (the demo plant)
        "assembly": load_instance(REPO / "bom_data" / "demo-assembly" / "plant.yaml"),
        "demo_bom_shifts": load_instance(REPO / "bom_data" / "demo" / "plant.yaml"),
    }


@pytest.fixture(scope="module")
def instances():
    return _instances()


def _check_run(inst, buffers: str, seed: int, fast: bool = False) -> int:
    """Random legal actions; the tracker and partial_cost agree at every decision.
    ``fast``: the simulator in its compiled loop, the trackers' compiled step."""
    rng = np.random.default_rng(seed)
    sim = Simulator(inst, buffers=buffers, fast=fast)
    trackers = [IncrementalCost(g) for g in GOALS]
    vals = [t.reset(sim) for t in trackers]
    steps = 0
    while True:
        # every look early on, then every 5th (the comparison costs more than the run)
        for g, v in zip(GOALS, vals, strict=True) if steps < 150 or steps % 5 == 0 else ():
            ref = partial_cost(sim, g)
            assert v == pytest.approx(ref, rel=1e-6, abs=1e-6), (g.name, steps, sim.time)
        d = sim.decision()
        if d is None:
            for g, v in zip(GOALS, vals, strict=True):  # the end: equal to the final cost
                assert v == pytest.approx(partial_cost(sim, g), rel=1e-6, abs=1e-6)
            break
        # several dispatches between two looks, as the env's skip of single candidates does
        for _ in range(int(rng.integers(1, 3))):
            if d is None:
                break
            d = sim.dispatch(int(rng.choice(d.candidates)))
            steps += 1
        vals = [t.update() for t in trackers]
    return steps


@pytest.mark.parametrize("buffers", ["hard", "soft"])
@pytest.mark.parametrize("which", ["ft06", "demo", "demo_shifts", "assembly", "demo_bom_shifts"])
def test_incremental_cost_equals_partial_cost(instances, which, buffers):
    steps = _check_run(instances[which], buffers, seed=len(which))
    assert steps > 5


@pytest.mark.parametrize(
    "which,buffers", [("demo", "soft"), ("demo_bom_shifts", "hard"), ("assembly", "soft")]
)
def test_compiled_incremental_cost_equals_partial_cost(instances, which, buffers):
    """The tracker's compiled step (the simulator in its compiled loop) agrees too."""
    steps = _check_run(instances[which], buffers, seed=len(which) + 1, fast=True)
    assert steps > 5


def test_soft_buffers_overflow_is_exercised(instances):
    """The soft-buffer runs above do overflow, so the overflow integral is really compared."""
    inst = instances["demo"]
    sim = Simulator(inst, buffers="soft")
    t = IncrementalCost("empty-buffers")
    t.reset(sim)
    rng = np.random.default_rng(3)
    d = sim.decision()
    while d is not None:
        d = sim.dispatch(int(rng.choice(d.candidates)))
        t.update()
    k = t.kpis()
    assert k["overflow_load"] > 0


def test_unsupported_goal_is_refused():
    from furnsim.goals import Goal

    g = Goal(name="peaky", label="Peaky", weights={"peak_buffer_fill": 1.0})
    assert not IncrementalCost.supports(g)
    with pytest.raises(ValueError, match="peak_buffer_fill"):
        IncrementalCost(g)


@pytest.mark.parametrize("goal", ["speed", "efficiency", "empty-buffers"])
def test_env_rewards_equal_the_recomputed_ones(instances, goal):
    """The env's rewards with the incremental cost equal those of the full recomputation."""
    from furnsim.env import FurnitureShopEnv
    from furnsim.env.rewards import CostReward

    inst = instances["demo_shifts"]
    envs = [
        FurnitureShopEnv(goal=goal, instance=inst, buffers="soft", reward_scale=1.0)
        for _ in range(2)
    ]
    envs[1].reward_fn = CostReward(goal, scale=1.0, incremental=False)
    assert envs[0].reward_fn._inc is not None
    for e in envs:
        e.reset(seed=0)
    rng = np.random.default_rng(1)
    done = False
    for _ in range(120):  # the first part of the week (whole weeks: the tests above)
        if done:
            break
        a = int(rng.choice(np.flatnonzero(envs[0].action_masks())))
        _, r0, done, _, _ = envs[0].step(a)
        _, r1, done1, _, _ = envs[1].step(a)
        assert done == done1
        assert r0 == pytest.approx(r1, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("buffers", ["hard", "soft"])
def test_incremental_cost_from_a_shop_state(instances, buffers):
    """Planning from the shop's present (env reset with a state): the tracker starts from the
    fixed past and still equals the recomputation at every decision."""
    from furnsim.replan import derive_state, situated
    from furnsim.rules import get_rule

    inst = instances["demo_shifts"]
    s, _ = get_rule("ATC").plan(inst)
    st = derive_state(s, float(s.makespan) / 3)
    sit = situated(inst, st)
    _check_run(sit, buffers, seed=7)


def test_assembly_weeks_keep_kit_holdings(instances):
    """Kit holdings are kept per event: on the assembly week the tracker's buffer KPIs move
    with them, the reward uses it, and it equals the recomputation once kits wait."""
    from furnsim.env.rewards import CostReward

    inst = instances["assembly"]
    sim = Simulator(inst, buffers="soft")
    assert sim.ci.has_assembly
    t = IncrementalCost("empty-buffers")
    t.reset(sim)
    r = CostReward("empty-buffers", scale=1.0)
    r.reset(sim)
    assert r._use_inc
    rng = np.random.default_rng(5)
    d = sim.decision()
    kits_seen = False
    steps = 0
    while d is not None:
        d = sim.dispatch(int(rng.choice(d.candidates)))
        steps += 1
        before = r._last
        rew = r(sim)
        k = t.kpis()
        kits_seen |= t.open_kit.size > 0
        # every step early on, then every 4th (the recomputation costs more than the run)
        if d is not None and (steps < 120 or steps % 4 == 0):
            now = partial_cost(sim, "empty-buffers")
            assert rew == pytest.approx(before - now, rel=1e-6, abs=1e-6)
            assert k["buffer_load"] == pytest.approx(
                partial_kpis(sim)["buffer_load"],
                rel=1e-6,
                abs=1e-6,
            )
    assert kits_seen  # children really waited as kits


@pytest.mark.parametrize("which", ["ft06", "demo", "demo_shifts", "assembly", "demo_bom_shifts"])
def test_run_kpis_equal_the_schedule_kpis(instances, which):
    """The reward's final and reference costs read the finished run without building the
    schedule: the same value as the schedule's cost, for every goal."""
    from furnsim.goals import cost
    from furnsim.kpi import kpis, run_kpis

    sim = Simulator(instances[which])
    rng = np.random.default_rng(11)
    d = sim.decision()
    while d is not None:
        d = sim.dispatch(int(rng.choice(d.candidates)))
    assert sim.deadlock is None
    full = kpis(sim.schedule(), sim.ci)
    for g in GOALS:
        need = [k for k, w in g.weights.items() if w]
        got = run_kpis(sim, need)
        for k in need:
            assert got[k] == full[k], (g.name, k)
        assert cost(got, g) == cost(sim.schedule(), g, sim.ci)
