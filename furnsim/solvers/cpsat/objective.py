"""CP-SAT model, part 3: the goal's cost (configs/goals.yaml) as an integer objective.

The goal's cost is ``Σ_k weight_k · KPI_k`` (furnsim.goals). Every KPI the goals use is
linear in the model's variables (furnsim.kpi definitions):

==========================  =================================================================
``makespan``                ``C ≥ en[last op of every job]``
``total_tardiness``         ``Σ_r T_r``, ``T_r ≥ en[last op of a job of r] − deadline_r``, ``T_r ≥ 0``
``weighted_tardiness``      ``Σ_r priority_r · T_r``
``max_tardiness``           ``Tmax ≥ T_r``
``mean_flow_time``          ``Σ_j (en[last_j] − release_j) / n_jobs``
``total_setup_time``        ``Σ_o sd[o]``
``processing_time``         ``Σ_{o,m} x[o,m] · p[o,m]`` (true minutes per literal)
``blocked_time``            ``Σ_o (lv[o] − en[o])``
``idle_time``               ``machines · C − processing − setup − blocked``
``buffer_volume_minutes``   ``Σ_o volume_o · (st[o] − depart[o])`` (= Σ_w ∫ level_w dt)
``buffer_load``             ``Σ_o volume_o / cap_w · (st[o] − depart[o])`` (bounded buffers)
``overflow_load``           surrogate ``Σ_w overflow_w / cap_w · 1 time unit`` (soft buffers)
``overflow_volume_minutes`` surrogate ``Σ_w overflow_w · 1 time unit``
``kit_wait_time``           ``Σ_children (kit_arr[parent] − lv[last op of child] − T)``
==========================  =================================================================

With assemblies the buffer terms include each waiting child's kit volume over
``[lv(last op of child), st(parent's first op))`` and ``blocked_time`` a child's last operation.

The overflow surrogate prices the *peak* overflow of each buffer held for one time unit: with
integer times any overflow lasts at least one unit, so the surrogate never exceeds the true
overflow integral and the bound stays valid; the returned schedule is priced exactly.
Other KPIs (``peak_buffer_fill``, ``overflow_peak``, counts and rates) are not modelled: the
solver ignores their weights and says so in ``details['unmodelled']``.

Scaling: a term in time units (``1/time_scale`` min) has cost ``weight · coef / time_scale``
per unit; the integer objective is ``Σ floor(cost per unit · obj_scale) · var``, where
``obj_scale`` is the smallest power of ten ≤ 10^6 that makes every coefficient whole (else
10^5 with the coefficients rounded down). All variables are non-negative, so rounding down
keeps the integer objective ≤ the true cost: ``objective / obj_scale`` is the goal cost in its
own units and ``bound / obj_scale`` a valid lower bound on it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from furnsim.goals import Goal
from furnsim.solvers.cpsat.variables import CpData, CpVars

__all__ = ["MODELLED_KPIS", "Objective", "add_energy_bounds", "add_objective"]

MODELLED_KPIS = frozenset(
    {
        "makespan",
        "total_tardiness",
        "weighted_tardiness",
        "max_tardiness",
        "mean_flow_time",
        "total_setup_time",
        "processing_time",
        "blocked_time",
        "idle_time",
        "buffer_volume_minutes",
        "buffer_load",
        "overflow_load",
        "overflow_volume_minutes",
        "kit_wait_time",
    }
)


@dataclass
class Objective:
    """The integer objective: ``cost = (Σ coef · var + constant) / obj_scale``."""

    obj_scale: int
    coefs: dict[Any, int] = field(default_factory=dict)
    constant: int = 0
    exact: bool = True  # no coefficient was rounded
    unmodelled: list[str] = field(default_factory=list)

    def cost(self, value: float) -> float:
        return value / self.obj_scale


class _Lin:
    """A float linear expression: var -> coefficient (cost per unit), plus a constant."""

    def __init__(self) -> None:
        self.c: dict[Any, float] = defaultdict(float)
        self.k = 0.0
        self._vars: dict[int, Any] = {}

    def add(self, var: Any, coef: float) -> None:
        if isinstance(var, int | float):
            self.k += coef * var
        elif var is True:
            self.k += coef
        else:
            key = var.index if hasattr(var, "index") else id(var)
            self._vars[key] = var
            self.c[key] += coef

    def items(self) -> list[tuple[Any, float]]:
        return [(self._vars[k], c) for k, c in self.c.items() if c != 0.0]


def add_objective(model: cp_model.CpModel, data: CpData, v: CpVars, goal: Goal) -> Objective:
    ci = data.ci
    ts = data.time_scale
    w = {k: x for k, x in goal.weights.items() if x != 0}
    lin = _Lin()
    unmodelled = sorted(k for k in w if k not in MODELLED_KPIS)
    jobs = [j for j in range(ci.n_jobs) if data.first_op[j] >= 0]
    last_ends = [v.en[int(data.last_op[j])] for j in jobs]
    n_m = ci.n_machines

    need_c = w.get("makespan", 0) > 0 or w.get("idle_time", 0) > 0
    if need_c:
        lb = max((min(data.proc[int(data.last_op[j])].values()) for j in jobs), default=0)
        cmax = model.new_int_var(lb, data.horizon, "makespan")
        for e in last_ends:
            model.add(cmax >= e)
        v.makespan = cmax
        lin.add(cmax, (w.get("makespan", 0) + w.get("idle_time", 0) * n_m) / ts)
        add_energy_bounds(model, data, v, cmax)
    tard_w = {
        "total_tardiness": w.get("total_tardiness", 0),
        "weighted_tardiness": w.get("weighted_tardiness", 0),
        "max_tardiness": w.get("max_tardiness", 0),
    }
    if any(x > 0 for x in tard_w.values()):
        prio = [0.0] * ci.n_orders
        for j in range(ci.n_jobs):
            r = int(ci.job_order[j])
            prio[r] = max(prio[r], float(ci.job_priority[j]))
        tmax = model.new_int_var(0, data.horizon, "tmax") if tard_w["max_tardiness"] > 0 else None
        for r in range(ci.n_orders):
            d = data.deadline[r]
            mine = [int(data.last_op[j]) for j in jobs if int(ci.job_order[j]) == r]
            if not math.isfinite(d) or not mine:
                continue
            t = model.new_int_var(0, data.horizon, f"tard{r}")
            for o in mine:
                model.add(t >= v.en[o] - int(d))
            v.tardiness[r] = t
            lin.add(t, (tard_w["total_tardiness"] + tard_w["weighted_tardiness"] * prio[r]) / ts)
            if tmax is not None:
                model.add(tmax >= t)
        if tmax is not None:
            lin.add(tmax, tard_w["max_tardiness"] / ts)
    if w.get("mean_flow_time", 0) > 0 and jobs:
        f = w["mean_flow_time"] / len(jobs)
        for j, e in zip(jobs, last_ends, strict=True):
            lin.add(e, f / ts)
            lin.add(-float(data.release[j]), f / ts)
    # setup, processing, blocking, idle
    w_setup = w.get("total_setup_time", 0) - w.get("idle_time", 0)
    w_proc = w.get("processing_time", 0) - w.get("idle_time", 0)
    w_block = w.get("blocked_time", 0) - w.get("idle_time", 0)
    for o in range(ci.n_ops):
        if w_setup:
            lin.add(v.sd[o], w_setup / ts)
        if w_proc:
            for m, lit in v.pres[o].items():
                lin.add(lit, w_proc * data.proc_min[o][m])
        if w_block and (v.lv[o] is not v.en[o] or o != data.last_op[int(ci.op_job[o])]):
            lin.add(v.lv[o], w_block / ts)
            lin.add(v.en[o], -w_block / ts)
    # buffers
    w_bl, w_bvm = w.get("buffer_load", 0), w.get("buffer_volume_minutes", 0)
    if w_bl or w_bvm:
        cap = ci.wc_capacity
        for o in range(ci.n_ops):
            vol = float(ci.op_volume[o])
            if vol <= 0:
                continue
            wc = int(ci.op_wc[o])
            c = w_bvm * vol + (w_bl * vol / cap[wc] if math.isfinite(cap[wc]) else 0.0)
            if c and o in v.buf_size:  # one non-negative term: st - depart of bounded buffers
                lin.add(v.buf_size[o], c / ts)
            elif c:
                lin.add(v.st[o], c / ts)
                lin.add(v.depart(o, data), -c / ts)
        sizes = {c_job: size for kits in v.kit_buf.values() for c_job, _, size in kits}
        for c_job in np.flatnonzero(data.parent >= 0).tolist():  # children waiting for their kit
            vol = float(ci.job_kit_volume[c_job])
            wc = data.kit_wc(c_job)
            c = w_bvm * vol + (w_bl * vol / cap[wc] if math.isfinite(cap[wc]) else 0.0)
            if c and c_job in sizes:
                lin.add(sizes[c_job], c / ts)
            elif c:
                lin.add(v.st[int(data.first_op[data.parent[c_job]])], c / ts)
                lin.add(v.lv[int(data.last_op[c_job])], -c / ts)
    w_kit = w.get("kit_wait_time", 0)
    if w_kit:  # Σ children (kit-complete time of the parent - own kit arrival)
        for p, kids in data.children.items():
            for c_job in kids:
                lin.add(v.kit_arr[p], w_kit / ts)
                lin.add(v.lv[int(data.last_op[c_job])], -w_kit / ts)
                lin.add(data.kit_transport(c_job), -w_kit / ts)
    w_ol, w_ovm = w.get("overflow_load", 0), w.get("overflow_volume_minutes", 0)
    if (w_ol or w_ovm) and v.overflow:
        for wc, over in v.overflow.items():
            vol_unit = 1.0 / data.volume_scale
            c = (w_ovm + w_ol / float(ci.wc_capacity[wc])) * vol_unit / ts
            lin.add(over, c)
    return _integerize(model, lin, unmodelled)


def add_energy_bounds(
    model: cp_model.CpModel, data: CpData, v: CpVars, cmax: Any, max_cuts: int = 24
) -> None:
    """Per work center: ``k · (C − h − tail) ≥ Σ (processing + setup)`` of its ops with head ≥ h.

    ``k`` machines of work center ``w``; the ops that can only run there (``elig ⊆ M_w``)
    occupy them (processing on the chosen machine + setup) within ``[head, C − tail]``:
    ``head`` = the earliest a job can depart toward such an op (release + the minimal
    processing and transport before it; setups start at the departure at the earliest),
    ``tail`` = the least processing + transport still to come after it (minimised over the
    ops), for up to ``max_cuts`` thresholds ``h`` among the heads. Valid for every plan; it
    gives the LP a makespan bound per work center that the
    per-machine NoOverlaps with optional intervals do not aggregate — what the *efficiency*
    bound (``machines · C`` in the idle time) lacks.
    """
    ci = data.ci
    n_ops = ci.n_ops
    pmin = [min(data.proc[o].values()) for o in range(n_ops)]

    def t_in(o: int) -> int:
        j = int(ci.op_job[o])
        frm = 0 if o == data.first_op[j] else int(ci.op_wc[o - 1]) + 1
        return int(data.transport[frm, int(ci.op_wc[o]) + 1])

    head = [0] * n_ops
    tail = [0] * n_ops
    for j in range(ci.n_jobs):
        a, b = int(data.first_op[j]), int(data.last_op[j])
        if a < 0:
            continue
        h = int(data.release[j])
        for o in range(a, b + 1):
            head[o] = h
            h += t_in(o) + pmin[o]
        q = 0
        for o in range(b, a - 1, -1):
            tail[o] = q
            q += pmin[o] + (t_in(o) if o > a else 0)
    for w in range(ci.n_wc):
        mw = {int(m) for m in np.flatnonzero(ci.machine_wc == w)}
        ops = [o for o in range(n_ops) if int(ci.op_wc[o]) == w and set(data.proc[o]) <= mw]
        if not ops or not mw:
            continue
        k = len(mw)
        work: dict[int, Any] = {}
        for o in ops:
            terms = [lit * data.proc[o][m] for m, lit in v.pres[o].items()]
            if not isinstance(v.sd[o], int):
                terms.append(v.sd[o])
            work[o] = sum(terms)
        # one cut per head threshold: the ops that cannot start before h (releases spread
        # over the week, so the late ones alone can set the bound)
        hs = sorted({head[o] for o in ops})
        if len(hs) > max_cuts:
            hs = [hs[int(i * (len(hs) - 1) / (max_cuts - 1))] for i in range(max_cuts)]
        for h in hs:
            mine = [o for o in ops if head[o] >= h]
            qh = min(tail[o] for o in mine)
            model.add(k * cmax >= sum(work[o] for o in mine) + k * (h + qh))


def _integerize(model: cp_model.CpModel, lin: _Lin, unmodelled: list[str]) -> Objective:
    items = lin.items()
    vals = [c for _, c in items] + [lin.k]
    scale, exact = 100_000, False
    for s in (1, 10, 100, 1000, 10_000, 100_000, 1_000_000):
        if all(abs(c * s - round(c * s)) <= 1e-7 * max(1.0, abs(c * s)) for c in vals):
            scale, exact = s, True
            break

    def down(x: float) -> int:
        y = x * scale
        return round(y) if abs(y - round(y)) <= 1e-7 * max(1.0, abs(y)) else math.floor(y)

    obj = Objective(obj_scale=scale, exact=exact, unmodelled=unmodelled)
    obj.coefs = {var: down(c) for var, c in items if down(c) != 0}
    obj.constant = down(lin.k)
    expr = sum(c * var for var, c in obj.coefs.items()) + obj.constant
    model.minimize(expr)
    return obj
