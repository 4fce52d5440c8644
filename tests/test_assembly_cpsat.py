"""CP-SAT with joins: small kits equal brute force, replays are valid, simulator plans are
solutions of the model (fixed to them, it is feasible and prices them no higher)."""

from __future__ import annotations

import itertools
import math

import pytest

from furnsim.goals import cost
from furnsim.kpi import kpis
from furnsim.sim import Simulator
from furnsim.solvers.cpsat import solve_cpsat
from furnsim.validate import validate

from ._asm import bom
from ._tiny import replay


def _brute_force(inst, goal: str, buffers: str = "hard") -> float:
    """Min cost over every combination of machine sequences, replayed by the simulator."""
    ci = inst.compiled
    per_machine: dict[int, list[int]] = {}
    for o in range(ci.n_ops):
        (m,) = ci.op_elig_machine[ci.op_elig_start[o] : ci.op_elig_start[o + 1]].tolist()
        per_machine.setdefault(m, []).append(int(ci.op_job[o]))
    machines = sorted(per_machine)
    best = math.inf
    for combo in itertools.product(*(itertools.permutations(per_machine[m]) for m in machines)):
        sim = Simulator(inst, buffers=buffers)
        try:
            s = replay(sim, {m: list(seq) for m, seq in zip(machines, combo, strict=True)})
        except RuntimeError:  # the order would stall the shop
            continue
        if sim.deadlock is None and s.complete:
            best = min(best, cost(kpis(s, inst), goal))
    return best


def _two_chairs(cap: float = math.inf):
    # two orders of a chair: seat S (W1) and back B (W2, 2 pieces) -> assembled at ASSY
    return bom(
        [
            ("K", None, 1, [("ASSY", 3)], 0),
            ("S", "K", 1, [("W1", 4)], 1),
            ("B", "K", 2, [("W2", 1.5), ("W1", 1)], 0.5),
        ],
        orders=[("O1", 1, 20, 0), ("O2", 2, 15, 0)],
        capacity={"ASSY": cap},
        transport={("W1", "ASSY"): 2, ("W2", "W1"): 1, ("W2", "ASSY"): 3},
    )


def _desk():
    # a drawer R (front F, sides S) inside a desk D with a top T
    return bom(
        [
            ("D", None, 1, [("ASSY", 4)], 0),
            ("R", "D", 1, [("DRW", 2)], 1),
            ("F", "R", 1, [("W1", 3)], 0.5),
            ("S", "R", 2, [("W2", 1)], 0.5),
            ("T", "D", 1, [("W1", 5)], 1),
        ],
        orders=[("O1", 1, 30, 0), ("O2", 1, 25, 2)],
        capacity={"ASSY": 3.0, "DRW": 2.0},
        transport={("W1", "DRW"): 1, ("W2", "DRW"): 2, ("DRW", "ASSY"): 3, ("W1", "ASSY"): 2},
    )


@pytest.mark.parametrize("goal", ["speed", "efficiency", "empty-buffers"])
def test_small_kit_equals_brute_force(goal: str) -> None:
    inst = _two_chairs()
    expected = _brute_force(inst, goal)
    s, d = solve_cpsat(inst, goal, time_limit=20, hint=None)
    assert validate(s, inst) == []
    assert d["cost"] == pytest.approx(expected)
    assert d["lower_bound"] <= expected + 1e-6
    if goal == "speed":  # unbounded buffers: the model is exact
        assert d["solver_status"] == "OPTIMAL"
        assert d["lower_bound"] == pytest.approx(expected)


def test_kit_through_a_tight_buffer_replays_valid() -> None:
    inst = _two_chairs(cap=4.0)  # O2's kit fills the ASSY buffer alone
    hard = _brute_force(inst, "speed")
    s, d = solve_cpsat(inst, "speed", time_limit=20, hint=None)
    assert validate(s, inst) == []
    assert d["cost"] <= hard + 1e-9
    assert d["lower_bound"] <= hard + 1e-6


def test_sub_assembly_replays_valid_and_beats_the_rules() -> None:
    from furnsim.rules import best_rule

    inst = _desk()
    b = best_rule(inst, "speed")
    s, d = solve_cpsat(inst, "speed", time_limit=20)
    assert validate(s, inst) == []
    assert d["cost"] <= b.cost + 1e-9
    assert d["lower_bound"] <= d["cost"] + 1e-6


@pytest.mark.parametrize("shop", ["chairs", "tight", "desk"])
def test_simulator_plans_are_model_solutions(shop: str) -> None:
    from ortools.sat.python import cp_model

    from furnsim.rules import RandomRule, get_rule, run_policy
    from furnsim.solvers.cpsat.solve import _add_hint, build_model

    inst = {"chairs": _two_chairs(), "tight": _two_chairs(4.0), "desk": _desk()}[shop]
    policies = [(get_rule(n), None) for n in ("FIFO", "SPT", "EDD", "KIT", "BUFFER")]
    policies += [(RandomRule(), k) for k in range(6)]
    checked = 0
    for pol, seed in policies:
        s, sim = run_policy(inst, pol, seed=seed)
        if sim.deadlock is not None:
            continue
        assert validate(s, inst) == []
        for goal in ("speed", "empty-buffers"):
            model, data, v, obj = build_model(inst, goal)
            _add_hint(model, data, v, s)
            solver = cp_model.CpSolver()
            solver.parameters.fix_variables_to_their_hinted_value = True
            solver.parameters.max_time_in_seconds = 10
            solver.parameters.num_workers = 1
            status = solver.status_name(solver.solve(model))
            assert status in ("OPTIMAL", "FEASIBLE"), (pol.name, goal)
            assert obj.cost(solver.objective_value) <= cost(kpis(s, inst), goal) + 1e-6
        checked += 1
    assert checked >= 4


@pytest.mark.timeout(300)
def test_random_trees_simulator_plans_are_model_solutions() -> None:
    """Random BOM shops (tests/test_assembly_properties.py) x random decisions: every complete
    simulator plan, fixed into the model, is feasible and priced no higher (hard and soft)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from ortools.sat.python import cp_model

    from furnsim.solvers.cpsat.solve import _add_hint, build_model

    from .test_assembly_properties import bom_shops
    from .test_sim_properties import drive

    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        inst=bom_shops(), seed=st.integers(0, 2**32 - 1), buffers=st.sampled_from(["hard", "soft"])
    )
    def check(inst, seed, buffers):
        sim = Simulator(inst, buffers=buffers)
        drive(sim, seed, 0.0)
        if sim.deadlock is not None:
            return
        s = sim.schedule()
        for goal in ("speed", "empty-buffers"):
            model, data, v, obj = build_model(inst, goal, buffers=buffers)
            _add_hint(model, data, v, s)
            solver = cp_model.CpSolver()
            solver.parameters.fix_variables_to_their_hinted_value = True
            solver.parameters.max_time_in_seconds = 10
            solver.parameters.num_workers = 1
            status = solver.status_name(solver.solve(model))
            assert status in ("OPTIMAL", "FEASIBLE"), goal
            assert obj.cost(solver.objective_value) <= cost(kpis(s, inst), goal) + 1e-6

    check()


@pytest.mark.timeout(300)
def test_random_trees_cpsat_plans_are_valid() -> None:
    from hypothesis import HealthCheck, given, settings

    from .test_assembly_properties import bom_shops

    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(inst=bom_shops())
    def check(inst):
        try:
            s, d = solve_cpsat(inst, "speed", time_limit=3, workers=1)
        except Exception as e:  # every rule deadlocked and CP found nothing executable
            assert "deadlock" in str(e).lower() or "usable" in type(e).__name__.lower(), e
            return
        assert validate(s, inst) == []
        assert d["lower_bound"] <= d["cost"] + 1e-6

    check()


def test_kit_wait_goal_equals_brute_force() -> None:
    from furnsim.goals import Goal

    g = Goal("kits", "Kits", {"makespan": 1.0, "kit_wait_time": 0.5})
    inst = _two_chairs()
    ci = inst.compiled
    per_machine: dict[int, list[int]] = {}
    for o in range(ci.n_ops):
        (m,) = ci.op_elig_machine[ci.op_elig_start[o] : ci.op_elig_start[o + 1]].tolist()
        per_machine.setdefault(m, []).append(int(ci.op_job[o]))
    best = math.inf
    ms = sorted(per_machine)
    for combo in itertools.product(*(itertools.permutations(per_machine[m]) for m in ms)):
        sim = Simulator(inst)
        try:
            s = replay(sim, {m: list(q) for m, q in zip(ms, combo, strict=True)})
        except RuntimeError:
            continue
        if sim.deadlock is None:
            best = min(best, cost(kpis(s, inst), g))
    s, d = solve_cpsat(inst, g, time_limit=20, hint=None)
    assert validate(s, inst) == [] and not d.get("unmodelled")
    assert d["cost"] == pytest.approx(best)
    assert d["lower_bound"] == pytest.approx(best)  # unbounded buffers: exact, proven


def test_lns_plans_kits_validly() -> None:
    from furnsim.plan import plan

    for inst in (_desk(), _two_chairs(4.0)):
        r = plan(inst, "speed", "lns", time_limit=2)
        assert r.fallback is None and validate(r.schedule, inst) == []
        assert r.cost >= _brute_force(inst, "speed") - 1e-6  # never below the optimum
