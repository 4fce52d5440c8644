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
    # moves it at once, or start later than the job and setup allow), so its bound may be
    # lower and its own timing may be refused by the validator; what comes back is then its
    # machine sequences replayed through the simulator, or the hint. Guaranteed: the plan is
    # valid, never worse than the hint, never better than the brute-force optimum over every
    # executable plan, and the bound lies between the soft and the hard optimum.
    s, d = solve_cpsat(inst, "speed", time_limit=20, hint="auto")
    assert validate(s, inst) == []
    assert hard - 1e-9 <= d["cost"] <= d["hint_cost"] + 1e-9
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


# -- the model never cuts off a simulator plan ---------------------------------------------------
def _store_setup_shop():
    # A: one bounded first buffer (room for 2 jobs), STORE queue at releases 0, 0, 0, 4, 4;
    # B: two parallel setup machines (families a/b/c); C: a one-job buffer (blocking)
    ids = ["neutral", "a", "b", "c"]
    mat = [[0, 2, 3, 4], [5, 0, 6, 7], [4, 5, 0, 3], [6, 2, 8, 0]]
    fam = ["a", "b", "a", "c", "b", "a"]
    routes = [
        [
            ("A", 2 + j % 3, "neutral", 1),
            ("B", 3 + (j * 2) % 5, fam[j], 1),
            ("C", 2 + j % 2, "neutral", 1),
        ]
        for j in range(6)
    ]
    return make(
        routes,
        machines={"A1": "A", "B1": "B", "B2": "B", "C1": "C"},
        capacity={"A": 2.0, "C": 1.0},
        setups={"B1": (ids, mat), "B2": (ids, mat)},
        transport={("A", "B"): 1, ("B", "C"): 1},
        releases=[0, 0, 0, 4, 4, 0],
    )


def _mixed_volume_shop():
    # A (room 2) is first for most jobs and second for two (machines blocked toward A get
    # the room first); volumes 0.5 / 1 / 1.5, so a waiting job may have room while a blocked
    # one does not
    vols = [0.5, 1.5, 1.0, 0.5, 1.5, 1.0, 0.5]
    routes = [
        [("A", 2 + j % 3, "neutral", vols[j]), ("C", 2 + j % 2, "neutral", 1)] for j in range(5)
    ]
    routes += [[("C", 1, "neutral", 1), ("A", 3, "neutral", vols[j])] for j in (5, 6)]
    return make(
        routes,
        machines={"A1": "A", "C1": "C"},
        capacity={"A": 2.0},
        releases=[0, 0, 0, 2, 2, 0, 0],
    )


def _fixed_to(inst, goal: str, s, circuit_max_ops: int):
    """Solve the model with every hinted variable fixed to the simulator schedule ``s``."""
    from ortools.sat.python import cp_model

    from furnsim.solvers.cpsat.solve import _add_hint, build_model

    model, data, v, obj = build_model(inst, goal, circuit_max_ops=circuit_max_ops)
    _add_hint(model, data, v, s)
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_time_in_seconds = 10
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    return solver.status_name(status), obj.cost(solver.objective_value), v


@pytest.mark.parametrize(
    ("shop", "circuit_max_ops"), [("setup", 120), ("setup", 0), ("mixed", 120)]
)
def test_simulator_plans_are_model_solutions(shop: str, circuit_max_ops: int) -> None:
    """Every simulator plan satisfies the model (STORE FIFO, departures at the release, the
    buffer level during STORE waits, setup-family relaxation): fixed to it, the model is
    feasible and its objective ≤ cost."""
    from furnsim.plan import run_rule
    from furnsim.rules import RandomRule, get_rule

    inst = _store_setup_shop() if shop == "setup" else _mixed_volume_shop()
    policies = [(get_rule(n), None) for n in ("FIFO", "SPT", "LPT", "SETUP", "BUFFER")]
    policies += [(RandomRule(), k) for k in range(10)]
    n_checked = 0
    for pol, seed in policies:
        s, sim = run_rule(inst, pol, seed=seed)
        if sim.deadlock is not None:
            continue
        assert validate(s, inst) == []
        for goal in ("speed", "efficiency", "empty-buffers"):
            status, obj_cost, v = _fixed_to(inst, goal, s, circuit_max_ops)
            assert status in ("OPTIMAL", "FEASIBLE"), (pol.name, goal)
            assert obj_cost <= cost(kpis(s, inst), goal) + 1e-6, (pol.name, goal)
        n_checked += 1
    assert n_checked >= 5
    if circuit_max_ops == 0 and shop == "setup":
        assert v.relaxed_machines  # the setup-family relaxation was exercised


def test_store_departures_fixed_where_exact() -> None:
    from furnsim.solvers.cpsat.solve import build_model

    inst = _store_setup_shop()
    model, data, v, _ = build_model(inst, "speed")
    dom = {j: tuple(model.proto.variables[d.index].domain) for j, d in v.dep0.items()}
    # A holds 2 jobs: of the jobs released at 0 (0, 1, 2, 5 in STORE order) the first two
    # leave at 0 for sure; the others may wait for room
    assert dom[0] == (0, 0) and dom[1] == (0, 0)
    assert dom[2][1] > 0 and dom[5][1] > 0 and dom[3][0] == 4
    # an unbounded first buffer: every job leaves STORE at its release
    inst2 = make([[("A", 2, "neutral", 1), ("B", 1)]] * 3, releases=[0, 5, 7])
    model, data, v, _ = build_model(inst2, "empty-buffers")
    assert [tuple(model.proto.variables[d.index].domain) for d in v.dep0.values()] == [
        (0, 0),
        (5, 5),
        (7, 7),
    ]


def test_setup_family_bound() -> None:
    from furnsim.goals import Goal

    # only setups priced: with relaxed setups on M1 (circuit_max_ops=0) the bound still
    # counts one changeover into each of a and b (2 + 2 from neutral), the exact optimum 12
    # (neutral→a→b or neutral→b→a: 2 + 10)
    g = Goal("setups", "Setups", {"total_setup_time": 1.0})
    inst = _setup_shop()
    _, d = solve_cpsat(inst, g, time_limit=10, hint=None, circuit_max_ops=0, workers=1)
    assert d["relaxed_setup_machines"] == ["M1"]
    assert d["lower_bound"] == pytest.approx(4)
    # the relaxed model does not see the true setups: its replayed plan is valid but need
    # not be the optimum (12); it can never be below it
    assert d["cost"] >= 12 - 1e-9
    _, d = solve_cpsat(inst, g, time_limit=10, hint=None)
    assert d["lower_bound"] == pytest.approx(12) and d["solver_status"] == "OPTIMAL"


def test_cpsat_bench_smoke(tmp_path: Path) -> None:
    import csv
    import importlib.util

    if not (SHARED / "fjsp" / "mk01.fjs").exists():
        pytest.skip("shared benchmarks not present")
    spec = importlib.util.spec_from_file_location(
        "cpsat_bench", REPO / "benchmarks" / "cpsat_bench.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "mk.csv"
    args = ["--suite", "mk", "--instances", "mk01", "--time-limit", "5", "--csv", str(out)]
    assert bench.main(args) == 0
    (row,) = list(csv.DictReader(out.open()))
    assert float(row["cpsat_cost"]) == pytest.approx(40) and row["status"] == "OPTIMAL"
    assert float(row["first_solution_s"]) <= float(row["wall_s"])


def test_replays_first_and_last_solutions() -> None:
    from furnsim.plan import run_rule
    from furnsim.rules import get_rule

    inst = load_instance(ft06_path())
    hint, _ = run_rule(inst, get_rule("LPT"))
    _, d = solve_cpsat(inst, "speed", time_limit=3, hint=hint, keep_solutions=1)
    n = len(d["progress"])
    assert 1 <= len(d["replay_costs"]) + len(d["replay_failures"]) <= min(n, 2) + 1
    assert d["cost"] <= min(d["replay_costs"]) + 1e-9


def test_hint_with_an_unused_setup_machine() -> None:
    """Regression: a hint that leaves a setup machine empty (its circuit arcs all off)."""
    from furnsim.solvers.cpsat import solve_cpsat

    from ._tiny import make

    ids = ["neutral", "a", "b"]
    mat = [[0, 3, 3], [1, 0, 4], [1, 2, 0]]
    inst = make(
        [[("W", 2, "a")], [("W", 3, "b")]],
        machines={"W1": "W", "W2": "W", "W3": "W"},
        setups={"W1": (ids, mat), "W2": (ids, mat), "W3": (ids, mat)},
    )
    s, det = solve_cpsat(inst, "speed", time_limit=5, workers=1, hint="rule:FIFO")
    assert s.complete and det["status"] in ("OPTIMAL", "FEASIBLE") or "hint" in str(det["status"])
    assert s.makespan == 6  # both jobs in parallel: setup 3 + 3 on its own machine


def test_swap_deadlock_is_never_a_valid_cpsat_plan() -> None:
    """Issue 10.1: every plan of this plant deadlocks (a swap through two full one-piece
    buffers at t=11). CP-SAT's relaxation finds a timing, but it is not executable: the
    validator rejects it (kind ``instant``), its replay deadlocks, and plan() falls back
    saying so — never ``valid: true``."""
    from furnsim.plan import plan
    from furnsim.solvers.cpsat import NoUsablePlan

    inst = load_instance(REPO / "tests" / "data" / "swap_deadlock.yaml")
    with pytest.raises(NoUsablePlan, match=r"instant.*deadlock at t=11|deadlock at t=11"):
        solve_cpsat(inst, "speed", time_limit=5)
    res = plan(inst, "speed", "cpsat", time_limit=5)
    assert not res.valid
    assert res.fallback and "no executable plan" in res.fallback and "[instant]" in res.fallback
    assert res.deadlock and "t=11" in res.deadlock
    assert res.kpis["late_orders"] == 4 and res.kpis["on_time_rate"] == 0


def test_cli_plan_cpsat_on_the_swap_plant_is_not_valid(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from furnsim.cli import app

    out = tmp_path / "p.json"
    r = CliRunner().invoke(
        app,
        [
            "plan",
            str(REPO / "tests" / "data" / "swap_deadlock.yaml"),
            "--method",
            "cpsat",
            "--time-limit",
            "5",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 1, r.output
    assert "valid:       False" in r.output and "fallback" in r.output
    d = json.loads(out.read_text())
    assert d["valid"] is False and d["deadlock"]
