"""CP-SAT model: known optima, brute-force optima on tiny shops, validity, warm start."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from furnsim.goals import cost
from furnsim.io import load_instance
from furnsim.kpi import kpis
from furnsim.sim import Simulator
from furnsim.solvers.cpsat import solve_cpsat
from furnsim.validate import validate

from ._tiny import SHARED, ft06_path, make, replay

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "bom_data" / "paper_example" / "plant.yaml"


def _brute_force(inst, buffers: str = "hard") -> float:
    """Min makespan over every combination of machine sequences, replayed by the simulator."""
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
            best = min(best, float(s.makespan))
    return best


def _check(inst, s, details, expected: float) -> None:
    assert validate(s, inst) == []
    assert cost(kpis(s, inst), "speed") == pytest.approx(expected)
    assert details["lower_bound"] <= expected + 1e-6


def test_ft06_optimal() -> None:
    inst = load_instance(ft06_path())
    s, d = solve_cpsat(inst, "speed", time_limit=20, hint=None)
    assert d["solver_status"] == "OPTIMAL"
    assert s.makespan == pytest.approx(55)
    assert d["lower_bound"] == pytest.approx(55) and d["gap"] == pytest.approx(0)
    assert validate(s, inst) == []
    # pure JSSP: replaying the CP machine sequences is never worse than the CP makespan
    assert d["replay_costs"][0] <= d["objective"] + 1e-9
    assert d["progress"] and d["progress"][-1]["cost"] == pytest.approx(55)


def test_la01_optimal() -> None:
    path = SHARED / "jsp" / "la01.txt"
    if not path.exists():
        pytest.skip("shared benchmarks not present")
    s, d = solve_cpsat(load_instance(path), "speed", time_limit=30)
    assert s.makespan == pytest.approx(666)
    assert d["solver_status"] == "OPTIMAL"


def _setup_shop():
    # M1 switches between finishes a/b (10 min each way); the initial setup is neutral (2 min)
    ids = ["neutral", "a", "b"]
    mat = [[0, 2, 2], [10, 0, 10], [10, 10, 0]]
    return make(
        [
            [("M1", 3, "a"), ("M2", 4)],
            [("M1", 2, "b"), ("M2", 3)],
            [("M1", 4, "a"), ("M2", 2)],
            [("M2", 5), ("M1", 3, "b")],
        ],
        setups={"M1": (ids, mat)},
        transport={("M1", "M2"): 1, ("M2", "M1"): 2, ("STORE", "M2"): 1},
    )


def test_setups_brute_force() -> None:
    inst = _setup_shop()
    expected = _brute_force(inst)
    s, d = solve_cpsat(inst, "speed", time_limit=20, hint=None)
    assert d["solver_status"] == "OPTIMAL"
    _check(inst, s, d, expected)
    assert d["lower_bound"] == pytest.approx(expected)
    assert kpis(s, inst)["total_setup_time"] > 0


def _buffer_shop():
    # W2 and W3 hold one job each (volume 1): machines block when the next buffer is full
    routes = [
        [("W3", 2, "neutral", 1), ("W2", 6, "neutral", 1), ("W1", 2, "neutral", 1)],
        [("W3", 1, "neutral", 1), ("W2", 4, "neutral", 1)],
        [("W1", 5, "neutral", 1), ("W2", 4, "neutral", 1)],
        [("W1", 4, "neutral", 1), ("W2", 6, "neutral", 1)],
    ]
    return make(routes, capacity={"W2": 1.0, "W3": 1.0})


def test_tight_buffer_brute_force() -> None:
    inst = _buffer_shop()
    hard = _brute_force(inst, "hard")
    soft = _brute_force(inst, "soft")
    assert (hard, soft) == (22, 21)  # blocking changes the optimum
    # soft buffers: the model is exact, so CP-SAT proves the brute-force optimum
    s, d = solve_cpsat(inst, "speed", time_limit=20, hint=None, buffers="soft")
    assert d["solver_status"] == "OPTIMAL"
    _check(inst, s, d, soft)
    assert d["lower_bound"] == pytest.approx(soft)
    # hard buffers: the model is a relaxation (it may hold a job back where the simulator
    # moves it at once), so its bound may be lower; the plan that comes back is valid and at
    # least as good as the best machine sequences replayed through the simulator
    s, d = solve_cpsat(inst, "speed", time_limit=20, hint=None)
    assert validate(s, inst) == []
    assert d["cost"] <= hard + 1e-9
    assert soft - 1e-6 <= d["lower_bound"] <= hard + 1e-6


def test_paper_example_valid_all_goals() -> None:
    if not PAPER.exists():
        pytest.skip("paper example not present")
    inst = load_instance(PAPER)
    for goal in ("speed", "efficiency", "empty-buffers"):
        s, d = solve_cpsat(inst, goal, time_limit=10)
        assert validate(s, inst) == [], goal
        assert d["cost"] == pytest.approx(cost(kpis(s, inst), goal))
        assert d["lower_bound"] <= d["cost"] + 1e-6
        assert d["hint_cost"] is None or d["cost"] <= d["hint_cost"] + 1e-9


def test_never_worse_than_hint() -> None:
    from furnsim.plan import run_rule
    from furnsim.rules import get_rule

    inst = load_instance(ft06_path())
    hint, _ = run_rule(inst, get_rule("LPT"))
    hint_cost = cost(kpis(hint, inst), "speed")
    for limit in (0.01, 2.0):
        s, d = solve_cpsat(inst, "speed", time_limit=limit, hint=hint)
        assert d["cost"] <= hint_cost + 1e-9
        assert validate(s, inst) == []
    # a rule name works as a hint as well, and a tiny budget may return it unchanged
    s, d = solve_cpsat(inst, "speed", time_limit=0.01, hint="rule:SPT")
    assert d["hint"] == "rule:SPT" and d["cost"] <= d["hint_cost"] + 1e-9
    if d["source"] == "hint":
        assert "hint returned" in d["status"]


def test_soft_buffers_and_progress() -> None:
    inst = _buffer_shop()
    seen: list[tuple[str, float]] = []
    s, d = solve_cpsat(
        inst,
        "empty-buffers",
        time_limit=10,
        buffers="soft",
        progress=lambda a, b: seen.append((a, b)),
    )
    assert s.buffers == "soft" and validate(s, inst) == []
    assert seen and seen[-1][1] == 1.0
    assert d["lower_bound"] <= d["cost"] + 1e-6


def test_plan_cpsat_details() -> None:
    from furnsim.plan import plan

    res = plan(load_instance(ft06_path()), "speed", "cpsat", time_limit=10)
    assert res.valid and res.method == "cpsat" and res.fallback is None
    assert res.cost == pytest.approx(55)
    for key in ("lower_bound", "status", "gap"):
        assert key in res.details
