"""CP-SAT on a time window (or one work center within it) with the rest of a plan fixed.

Used by the LNS optimizer (``furnsim.solvers.lns``, neighbourhood ``cpsat``): the exact model
of ``build_model`` is built once per instance and goal; each sub-solve copies it, fixes every
operation of the incumbent that starts before the window (machine and all times), fixes the
machine of every operation that starts after it and lets those only move later, leaves the
operations in the window free (or only those of one work center), and solves for a short
deterministic budget with one worker, hinted with the incumbent. The result is not a plan:
it is a *priority key* (the CP start of every operation, minutes) that the LNS decoder turns
back into a simulator run, so the candidate keeps the simulator's semantics and is validated
like every other neighbour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from furnsim.goals import get_goal
from furnsim.model import Instance
from furnsim.sim import Schedule
from furnsim.solvers.cpsat.solve import _add_hint, build_model

__all__ = ["WindowModel", "WindowResult"]


@dataclass
class WindowResult:
    key: np.ndarray | None  # (n_ops,) CP start per operation, minutes; None: no solution
    machine: np.ndarray | None  # (n_ops,) CP machine per operation
    status: str
    free_ops: int
    objective: float  # CP cost of the sub-solution (inf without one)


def _set(domain: Any, lo: int, hi: int) -> None:
    domain.clear()
    domain.extend([int(lo), int(hi)])


class WindowModel:
    """The exact CP model of one instance and goal, re-solved on windows of a plan."""

    def __init__(
        self,
        instance: Instance,
        goal: Any,
        *,
        buffers: str = "hard",
        anticipatory_setups: bool = True,
        horizon: float = 0.0,
        circuit_max_ops: int = 120,
        calendar_terms: int | None = None,
    ) -> None:
        self.model, self.data, self.v, self.obj = build_model(
            instance,
            get_goal(goal),
            buffers=buffers,
            anticipatory_setups=anticipatory_setups,
            hint_horizon=horizon,
            circuit_max_ops=circuit_max_ops,
            **({} if calendar_terms is None else {"calendar_terms": int(calendar_terms)}),
        )
        self.ts = float(self.data.time_scale)
        self.ci = self.data.ci
        self.presolve = True
        #: the operations after the window keep their machine; their times are free (True)
        #: or may only move later (False)
        self.after_free = True

    def _q(self, x: float) -> int:
        return int(math.ceil(float(x) * self.ts - 1e-6))

    def solve(
        self,
        s: Schedule,
        t_a: float,
        t_b: float,
        *,
        wc: int | None = None,
        deterministic_time: float = 1.0,
        wall_time: float | None = None,
        seed: int = 0,
    ) -> WindowResult:
        """Re-optimise the operations of ``s`` that start in ``[t_a, t_b)`` (only those of
        work center ``wc`` when given) with the rest fixed; ``s`` is the hint."""
        ci, v = self.ci, self.v
        start = np.asarray(s.times["start"], dtype=np.float64)
        mach = np.asarray(s.op_machine)
        before = start < t_a
        after = start >= t_b
        free = ~before & ~after
        if wc is not None:
            in_wc = np.asarray(ci.op_wc) == wc
            before = before | (free & ~in_wc)  # the window's other ops are fixed too
            free = free & in_wc
        if not free.any():
            return WindowResult(None, None, "empty", 0, math.inf)
        base = self.model
        base.clear_hints()
        _add_hint(base, self.data, v, s)
        m = base.clone()
        hint = dict(zip(m.proto.solution_hint.vars, m.proto.solution_hint.values, strict=True))
        var = m.proto.variables

        def fix(x: Any) -> None:
            if isinstance(x, int) or x is True:
                return
            i = x.Index()
            if i in hint:
                _set(var[i].domain, hint[i], hint[i])

        def at_least(x: Any, lo: int) -> None:
            if isinstance(x, int):
                return
            d = var[x.Index()].domain
            vals = list(d)
            if vals and vals[0] < lo <= vals[-1]:
                # a single interval [lo, max] (the model's time domains are intervals)
                _set(d, lo, vals[-1])

        t = s.times
        first_op = self.data.first_op
        for o in np.flatnonzero(before).tolist():
            for x in (v.st[o], v.en[o], v.ss[o], v.lv[o], v.sd[o]):
                fix(x)
            for lit in v.pres[o].values():
                fix(lit)
            j = int(ci.op_job[o])
            if o == int(first_op[j]) and j in v.dep0:
                fix(v.dep0[j])
        for o in np.flatnonzero(after).tolist():
            for mm, lit in v.pres[o].items():
                if lit is not True:
                    b = int(mm == int(mach[o]))
                    _set(var[lit.Index()].domain, b, b)
            if not self.after_free:
                at_least(v.ss[o], self._q(t["setup_start"][o]))
                at_least(v.st[o], self._q(t["start"][o]))
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = 1
        p.random_seed = int(seed)
        p.max_deterministic_time = float(deterministic_time)
        if wall_time is not None:
            p.max_time_in_seconds = float(wall_time)
        p.probing_deterministic_time_limit = 0.0
        p.presolve_probing_deterministic_time_limit = 0.0
        p.max_presolve_iterations = 1
        p.symmetry_level = 0
        p.cp_model_presolve = self.presolve
        st = solver.solve(m)
        name = solver.status_name(st)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return WindowResult(None, None, name, int(free.sum()), math.inf)
        key = np.array([solver.value(x) for x in v.st], dtype=np.float64) / self.ts
        cp_mach = np.full(ci.n_ops, -1, dtype=np.int64)
        for o in range(ci.n_ops):
            for mm, lit in v.pres[o].items():
                if lit is True or solver.boolean_value(lit):
                    cp_mach[o] = mm
                    break
        cost = self.obj.cost(solver.objective_value)
        return WindowResult(key, cp_mach, name, int(free.sum()), cost)

    @staticmethod
    def sequences(key: np.ndarray, machine: np.ndarray) -> dict[int, np.ndarray]:
        """Machine -> its operations in CP start order (ties by operation index)."""
        order = np.lexsort((np.arange(key.size), key, machine))
        m = machine[order]
        cuts = np.flatnonzero(np.diff(m)) + 1
        return {
            int(g[0]): o
            for g, o in zip(np.split(m, cuts), np.split(order, cuts), strict=True)
            if g.size and g[0] >= 0
        }
