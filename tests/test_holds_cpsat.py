"""CP-SAT's solutions replayed exactly: the holds they imply are recorded, so the simulator's
schedule starts every operation where CP-SAT put it, and it validates clean."""

from __future__ import annotations

import numpy as np
import pytest
from ortools.sat.python import cp_model

from furnsim.io import load_instance
from furnsim.solvers.cpsat import solve_cpsat
from furnsim.solvers.cpsat.solve import _read, build_model, replay_exact, replay_sequences
from furnsim.validate import format_violations, validate

from ._tiny import ft06_path, make


def _solve(inst, buffers: str = "hard", limit: float = 10.0, seed: int = 0):
    model, data, v, obj = build_model(inst, "speed", buffers=buffers)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = limit
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    sol = _read(data, v, obj, solver.value, obj.cost(solver.objective_value), 0.0)
    return data, sol


def _exact(inst, buffers: str = "hard", **kw):
    data, sol = _solve(inst, buffers, **kw)
    assert data.exact
    s, why = replay_exact(inst, sol, data.time_scale, buffers=buffers)
    assert s is not None, why
    vs = validate(s, inst)
    assert vs == [], format_violations(vs)
    ts = float(data.time_scale)
    np.testing.assert_allclose(s.times["start"], sol.st / ts, atol=1e-6)
    np.testing.assert_allclose(s.times["end"], sol.en / ts, atol=1e-6)
    assert why == ""
    assert s.holds is not None
    return data, sol, s


def _shop(**kw):
    return make(
        [
            [("A", 3.0, "x", 1.0), ("B", 2.0, "", 1.0), ("C", 4.0)],
            [("B", 5.0, "", 1.0), ("A", 1.0, "y", 1.0)],
            [("A", 2.0, "y", 1.0), ("C", 1.0), ("B", 2.0, "", 1.0)],
            [("C", 2.0), ("A", 2.0, "x", 1.0)],
        ],
        setups={"A": (["neutral", "x", "y"], [[0, 2, 3], [1, 0, 4], [2, 1, 0]])},
        transport={("STORE", "A"): 1.0, ("A", "B"): 2.0, ("B", "A"): 1.0, ("C", "A"): 1.5},
        releases=[0.0, 0.0, 3.0, 5.0],
        **kw,
    )


def test_ft06_replays_exactly() -> None:
    inst = load_instance(ft06_path())
    _, sol, s = _exact(inst, limit=20.0)
    assert s.makespan == pytest.approx(float(sol.en.max()))


def test_small_shop_with_setups_and_transport_replays_exactly() -> None:
    _exact(_shop(), buffers="soft")


def test_hard_buffers_store_holds_replay_exactly() -> None:
    # a tight buffer at A: CP-SAT may keep jobs at STORE; those waits become STORE holds
    inst = _shop(capacity={"A": 2.0, "B": 2.0})
    data, sol, s = _exact(inst)
    ts = float(data.time_scale)
    kinds = {h["kind"] for h in s.holds}
    assert kinds <= {"store", "machine"}
    # every job departs STORE when CP-SAT says (held, or at once when its release allows)
    first = inst.compiled.job_op_start[:-1]
    np.testing.assert_allclose(s.times["depart"][first], sol.dep0 / ts, atol=1e-6)


def test_removing_the_replay_holds_is_caught() -> None:
    inst = load_instance(ft06_path())
    _, _, s = _exact(inst, limit=20.0)
    machine_holds = [h for h in s.holds if h["kind"] == "machine"]
    assert machine_holds  # an optimal ft06 plan is not non-delay
    s.holds = [h for h in s.holds if h["kind"] != "machine"]
    assert "idle" in {v.kind for v in validate(s, inst)}


def test_old_replay_vs_exact_replay() -> None:
    """The old replay (sequences, waits unrecorded) is a v1 plan; the exact one is hold-aware."""
    inst = load_instance(ft06_path())
    data, sol = _solve(inst, limit=20.0)
    old, _ = replay_sequences(inst, sol.sequences())
    assert old is not None and old.holds is None and validate(old, inst) == []
    new, _ = replay_exact(inst, sol, data.time_scale)
    assert new is not None and validate(new, inst) == []
    assert new.makespan == pytest.approx(float(sol.en.max()) / data.time_scale)


def test_solve_cpsat_reports_the_exact_replay() -> None:
    s, d = solve_cpsat(load_instance(ft06_path()), "speed", time_limit=10, hint=None)
    assert validate(s, load_instance(ft06_path())) == []
    # the best CP solution replayed with its holds: a valid plan, never below the optimum 55
    assert 55 - 1e-9 <= d["holds_replay_cost"] < float("inf")
