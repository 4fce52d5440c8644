"""CP-SAT model, part 4: build, warm-start, solve, and turn the solution into a Schedule.

The CP model is a relaxation of the simulator (docs/cpsat.md): every schedule the simulator
can produce (with any decisions, waits included) is a solution, so the solver's bound is a
lower bound on the goal cost of every rule / policy plan. The model may also hold a job
back (at STORE or on its machine) where the simulator would move it at once; so the solution
is *replayed* through the simulator with the CP machine sequences (the machine waits when
the next job of its sequence is not there yet), which gives a schedule with exactly the
simulator's semantics. The raw CP timing is kept as well where it is exact and valid; the
cheapest valid candidate wins, and the warm-start hint is returned when nothing beats it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from furnsim.goals import Goal, cost, get_goal
from furnsim.kpi import kpis
from furnsim.model import Instance
from furnsim.sim import OP_FIELDS, Schedule, Simulator
from furnsim.solvers.cpsat.calendar import (
    MAX_CALENDAR_TERMS,
    add_working_time,
    calendar_terms_within,
    working_time_horizon,
)
from furnsim.solvers.cpsat.constraints import add_buffers, add_machines, add_operations
from furnsim.solvers.cpsat.objective import Objective, add_objective
from furnsim.solvers.cpsat.variables import CpData, CpVars, build_data, build_variables

__all__ = [
    "CpSolution",
    "NoUsablePlan",
    "build_model",
    "replay_exact",
    "replay_sequences",
    "solve_cpsat",
]

Progress = Callable[[str, float], None]


class NoUsablePlan(RuntimeError):
    """CP-SAT's solutions are not executable (their timing is invalid and their replay
    deadlocks, e.g. a swap through two full buffers) and there is no valid hint."""


@dataclass
class CpSolution:
    """One CP-SAT solution in model units (time units of ``1/time_scale`` min)."""

    objective: float  # goal cost of the CP model (objective / obj_scale)
    wall: float  # seconds since the solve started
    machine: np.ndarray  # (n_ops,) int64
    ss: np.ndarray  # (n_ops,) int64
    sd: np.ndarray  # (n_ops,) int64
    st: np.ndarray  # (n_ops,) int64
    en: np.ndarray  # (n_ops,) int64
    lv: np.ndarray  # (n_ops,) int64
    dep0: np.ndarray  # (n_jobs,) int64 (-1 for a job without operations)

    def sequences(self) -> dict[int, list[int]]:
        """Machine -> its operations in CP order (by setup start, then start)."""
        out: dict[int, list[int]] = {}
        order = np.lexsort((np.arange(self.ss.size), self.st, self.ss))
        for o in order.tolist():
            out.setdefault(int(self.machine[o]), []).append(int(o))
        return out


def build_model(
    instance: Instance,
    goal: str | Goal = "speed",
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    time_scale: int | None = None,
    hint_horizon: float = 0.0,
    circuit_max_ops: int = 120,
    calendar_terms: int = MAX_CALENDAR_TERMS,
) -> tuple[cp_model.CpModel, CpData, CpVars, Objective]:
    """The CP-SAT model of ``instance`` for ``goal`` (variables, constraints, objective);
    working time is modelled exactly up to ``calendar_terms`` element-table entries
    (:func:`furnsim.solvers.cpsat.calendar.add_working_time`)."""
    if buffers not in ("hard", "soft"):
        raise ValueError(f"buffers must be 'hard' or 'soft', not {buffers!r}")
    model = cp_model.CpModel()
    data = build_data(instance.compiled, time_scale=time_scale, hint_horizon=hint_horizon)
    paused = working_time_horizon(data)  # working time: longer horizon, pausing ops
    v = build_variables(model, data, buffers=buffers, paused=paused)
    add_operations(
        model, data, v, buffers=buffers, anticipatory_setups=anticipatory_setups, paused=paused
    )
    add_machines(model, data, v, circuit_max_ops=circuit_max_ops)
    data.working_time_model = add_working_time(model, data, v, calendar_terms)
    add_buffers(model, data, v, buffers=buffers)
    if getattr(instance, "situation", None) is not None:  # planning from a shop state
        from furnsim.replan.cpsat import add_situation

        add_situation(model, data, v, instance)
    obj = add_objective(model, data, v, get_goal(goal))
    return model, data, v, obj


# -- hint ---------------------------------------------------------------------------------------
def _resolve_hint(
    instance: Instance,
    hint: Schedule | str | None,
    goal: Goal,
    buffers: str,
    anticipatory_setups: bool,
) -> tuple[Schedule | None, str]:
    """The hint as a Schedule. Besides a Schedule only the rules are resolved here
    (``auto``/``best-rule``, ``rule:NAME``): a plan of another method is made by the planners
    (``furnsim.planners``) and passed as a Schedule, so this module never imports them."""
    if hint is None or isinstance(hint, Schedule):
        return hint, "schedule" if hint is not None else ""
    name = hint.strip()
    low = name.lower()
    if low in ("auto", "best-rule", "best_rule", "rules"):
        from furnsim.rules import NoValidPlan, best_rule

        try:
            br = best_rule(instance, goal, buffers=buffers, anticipatory_setups=anticipatory_setups)
        except NoValidPlan:
            return None, name
        return br.schedule, f"rule:{br.rule}"
    if low.startswith("rule:"):
        from furnsim.rules import get_rule, run_policy

        s, sim = run_policy(
            instance,
            get_rule(name.split(":", 1)[1]),
            buffers=buffers,
            anticipatory_setups=anticipatory_setups,
        )
        return (None if sim.deadlock is not None else s), name
    if low in ("cpsat", "cp-sat"):
        raise ValueError("hint='cpsat' would warm-start CP-SAT with itself")
    raise ValueError(
        f"hint={name!r}: give a Schedule, 'auto'/'best-rule' or 'rule:NAME' "
        "(plan with another method first: furnsim.planners / plan(method='cpsat', hint=...))"
    )


def _add_hint(model: cp_model.CpModel, data: CpData, v: CpVars, s: Schedule) -> None:
    ts = data.time_scale
    ci = data.ci
    t = s.times
    wt = getattr(ci, "working", None)  # furnsim.calendar.WorkingTime | None (24/7)

    def q(x: float) -> int:  # rounded up: keeps every real schedule feasible (variables.py)
        return int(math.ceil(float(x) * ts - 1e-6))

    seqs: dict[int, list[int]] = {}
    order = np.lexsort((np.arange(s.n_ops), t["start"], t["setup_start"]))
    for o in order.tolist():
        seqs.setdefault(int(s.op_machine[o]), []).append(int(o))
    for o in range(ci.n_ops):
        m = int(s.op_machine[o])
        for mm, lit in v.pres[o].items():
            if lit is not True:
                model.add_hint(lit, mm == m)
        model.add_hint(v.st[o], q(t["start"][o]))
        model.add_hint(v.en[o], q(t["end"][o]))
        if v.ss[o] is not v.st[o]:
            model.add_hint(v.ss[o], q(t["setup_start"][o]))
        if v.lv[o] is not v.en[o]:
            model.add_hint(v.lv[o], q(t["leave"][o]))
        if not isinstance(v.sd[o], int):
            # the setup's working minutes (with working time it pauses over closed time, so
            # its span on the clock can be longer than the setup)
            a, b = float(t["setup_start"][o]), float(t["setup_end"][o])
            mt = wt.machines[m] if wt is not None else None
            model.add_hint(
                v.sd[o], q(float(mt.worked(a, b)) if mt is not None and b > a else b - a)
            )
    for j, d in v.dep0.items():
        model.add_hint(d, q(t["depart"][int(data.first_op[j])]))
    for m, lits in v.arcs.items():
        seq = seqs.get(m, [])
        # a machine without operations in the hint uses none of its arcs
        used = set(zip([-1, *seq[:-1]], seq, strict=True)) if seq else set()
        for key, lit in lits.items():
            model.add_hint(lit, key in used)
    if v.makespan is not None:
        model.add_hint(v.makespan, q(np.nanmax(t["end"])) if s.n_ops else 0)


def _complete_hint(model: cp_model.CpModel, limit: float, workers: int) -> bool:
    """Turn the partial hint into a complete solution hint (every model variable).

    ``_add_hint`` sets times, machines and circuit arcs; auxiliary variables (interval sizes,
    tardiness, relaxed setup parts, family literals, …) are left to CP-SAT, whose hint search
    may then not finish on big models (the demo week with *empty buffers* found no solution
    at all in 60 s). A short solve with the hinted variables fixed completes the rest
    (optimally for the free variables, within ``limit`` s); its values become the hint.
    Returns False (hint left as it was) if that fails.
    """
    s = cp_model.CpSolver()
    s.parameters.fix_variables_to_their_hinted_value = True
    s.parameters.max_time_in_seconds = limit
    s.parameters.num_workers = max(1, int(workers))
    st = s.solve(model)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False
    values = list(s.response_proto.solution)
    model.clear_hints()
    model.proto.solution_hint.vars.extend(range(len(values)))
    model.proto.solution_hint.values.extend(values)
    return True


# -- solution handling --------------------------------------------------------------------------
class _Recorder(cp_model.CpSolverSolutionCallback):
    """Logs (time, cost, bound) per improving solution; keeps the last ``keep`` solutions."""

    def __init__(
        self,
        data: CpData,
        v: CpVars,
        obj: Objective,
        keep: int,
        time_limit: float,
        progress: Progress | None,
    ) -> None:
        super().__init__()
        self.data, self.v, self.obj = data, v, obj
        self.solutions: deque[CpSolution] = deque(maxlen=max(1, keep))
        # the first ones too: close to the hint, they replay best once later solutions lean
        # on the relaxation (demo week, 300 s: all of the last five replayed worse than the hint)
        self.first: list[CpSolution] = []
        self.keep = max(1, keep)
        self.log: list[dict[str, float]] = []
        self.t0 = time.perf_counter()
        self.time_limit = time_limit
        self.progress = progress

    def on_solution_callback(self) -> None:
        wall = time.perf_counter() - self.t0
        c = self.obj.cost(self.ObjectiveValue())
        b = self.obj.cost(self.BestObjectiveBound())
        self.log.append({"time_s": round(wall, 3), "cost": c, "bound": b})
        sol = _read(self.data, self.v, self.obj, self.Value, c, wall)
        if len(self.first) < self.keep:
            self.first.append(sol)
        self.solutions.append(sol)
        if self.progress is not None:
            self.progress(
                f"cp-sat: cost {c:.6g} (bound {b:.6g})", min(1.0, wall / max(self.time_limit, 1e-9))
            )


def _read(
    data: CpData, v: CpVars, obj: Objective, value: Callable[[Any], int], c: float, wall: float
) -> CpSolution:
    n = data.ci.n_ops
    mach = np.full(n, -1, dtype=np.int64)
    for o in range(n):
        for m, lit in v.pres[o].items():
            if lit is True or value(lit):
                mach[o] = m
                break
    dep0 = np.full(data.ci.n_jobs, -1, dtype=np.int64)
    for j, d in v.dep0.items():
        dep0[j] = value(d)
    return CpSolution(
        objective=c,
        wall=wall,
        machine=mach,
        ss=np.array([value(x) for x in v.ss], dtype=np.int64),
        sd=np.array([x if isinstance(x, int) else value(x) for x in v.sd], dtype=np.int64),
        st=np.array([value(x) for x in v.st], dtype=np.int64),
        en=np.array([value(x) for x in v.en], dtype=np.int64),
        lv=np.array([value(x) for x in v.lv], dtype=np.int64),
        dep0=dep0,
    )


def replay_sequences(
    instance: Instance,
    sequences: dict[int, list[int]],
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    method: str = "cpsat",
) -> tuple[Schedule | None, str]:
    """Run the simulator, each machine taking its operations in the given order.

    A machine whose next operation's job is not a candidate yet waits. Returns the schedule,
    or ``None`` and why (the order deadlocks the shop or would stall it).
    """
    sim = Simulator(instance, buffers=buffers, anticipatory_setups=anticipatory_setups)
    op_job = sim.ci.op_job
    # operations a shop state fixed at reset (rec_machine set) are not decisions any more
    seqs = {m: [o for o in seq if sim.rec_machine[o] < 0] for m, seq in sequences.items()}
    pos = dict.fromkeys(seqs, 0)
    deviations = 0
    d = sim.decision()
    while d is not None:
        seq = seqs.get(d.machine, [])
        i = pos.get(d.machine, 0)
        if i < len(seq):
            o = seq[i]
            if np.any((d.candidates == op_job[o]) & (d.ops == o)):
                pos[d.machine] = i + 1
                d = sim.dispatch(int(op_job[o]))
                continue
        cur = d
        try:
            d = sim.wait()
        except RuntimeError as e:
            # waiting would stall the shop (the CP plan held a job back where the simulator
            # cannot): take the candidate that comes first in the rest of the sequence
            rest = {op: k for k, op in enumerate(seq[i:])}
            ranked = [
                (rest[int(op)], int(j))
                for j, op in zip(cur.candidates, cur.ops, strict=True)
                if int(op) in rest
            ]
            if not ranked:
                return None, str(e)
            k, j = min(ranked)
            seq.insert(i, seq.pop(i + k))
            pos[cur.machine] = i + 1
            deviations += 1
            d = sim.dispatch(j)
    if sim.deadlock is not None:
        return None, sim.deadlock.message
    return sim.schedule(method=method), f"{deviations} deviations" if deviations else ""


def replay_exact(
    instance: Instance,
    sol: CpSolution,
    time_scale: float,
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    method: str = "cpsat",
) -> tuple[Schedule | None, str]:
    """Replay a CP solution through the simulator *with the holds it implies*.

    Every job is held at STORE until its CP departure and every machine waits (a recorded
    machine hold) until its next operation's CP decision, so processing starts where CP-SAT put
    it (docs/semantics.md "Intentional holds"): where CP's setup ends before its start, the
    decision is placed so that the setup ends at the start. Where the simulator cannot follow
    (a departure delayed by a full buffer, a job not there yet), the machine waits for the job
    and the replay goes on; the note says how many operations start elsewhere than in CP.
    Returns the hold-aware schedule, or ``None`` and why (a deadlock).
    """
    ts = float(time_scale)
    ci = instance.compiled
    rel = ci.job_release
    store = {
        j: float(sol.dep0[j]) / ts
        for j in range(ci.n_jobs)
        if sol.dep0[j] >= 0 and ci.job_n_children[j] == 0 and sol.dep0[j] / ts > rel[j] + 1e-9
    }
    sim = Simulator(
        instance,
        buffers=buffers,
        anticipatory_setups=anticipatory_setups,
        record_holds=True,
        store_holds=store,
    )
    op_job = ci.op_job
    seqs = {m: [o for o in seq if sim.rec_machine[o] < 0] for m, seq in sol.sequences().items()}
    pos = dict.fromkeys(seqs, 0)
    d = sim.decision()
    # a hold the simulator cannot grant (it would stall the shop) hands back the same decision;
    # never loop on it: the exact replay is then given up (the sequence replay still stands)
    last: tuple[int, float, int] | None = None
    repeats = 0
    steps_left = 50 * int(ci.n_ops) + 1000
    while d is not None:
        m, t = d.machine, sim.time
        seq = seqs.get(m, [])
        i = pos.get(m, 0)
        key = (int(m), float(t), int(i))
        repeats = repeats + 1 if key == last else 0
        last = key
        steps_left -= 1
        if repeats > 3 or steps_left < 0:
            return None, f"exact replay made no progress on machine {m} at t={t:g}"
        if i >= len(seq):  # nothing more for this machine
            d = sim.hold_machine(until=math.inf, reason="cpsat: done")
            continue
        o = seq[i]
        j = int(op_job[o])
        here = bool(np.any((d.candidates == j) & (d.ops == o)))
        # the decision CP-SAT implies: its setup start, or later so that the setup ends at
        # the start (a machine does not idle between its setup and a job that is there)
        s_from = int(sim.machine_setup[m])
        s_to = int(ci.op_setup[o])
        setup = 0.0 if s_from == s_to else float(ci.setup_time[m, s_from, s_to])
        when = max(float(sol.ss[o]) / ts, float(sol.st[o]) / ts - setup)
        if here and when <= t + 1e-9:
            pos[m] = i + 1
            d = sim.dispatch(j)
        elif here:
            d = sim.hold_machine(until=when, job=None, reason="cpsat")
        elif when > t + 1e-9:
            # job j may be here for another of its operations (alternative machines): then
            # wait by time only
            waiting_for = None if bool(np.any(d.candidates == j)) else j
            d = sim.hold_machine(until=when, job=waiting_for, reason="cpsat")
        else:
            d = sim.hold_machine(until=math.inf, job=j, reason="cpsat: job late")
    if sim.deadlock is not None:
        return None, sim.deadlock.message
    out = sim.schedule(method=method)
    off = int(np.sum(np.abs(out.times["start"] - sol.st / ts) > 1e-6))
    return out, f"{off} operations start elsewhere than in CP" if off else ""


def _raw_schedule(
    instance: Instance, data: CpData, sol: CpSolution, buffers: str, anticipatory: bool
) -> Schedule:
    """The CP timing as a Schedule (only meaningful when the data are exact)."""
    ci = data.ci
    ts = float(data.time_scale)
    n = ci.n_ops
    setup_from = np.full(n, -1, dtype=np.int64)
    for m, seq in sol.sequences().items():
        prev = int(ci.machine_init_setup[m])
        for o in seq:
            setup_from[o] = prev
            prev = int(ci.op_setup[o])
    times = {f: np.full(n, np.nan) for f in OP_FIELDS}
    times["setup_start"] = sol.ss / ts
    times["setup_end"] = (sol.ss + sol.sd) / ts
    times["start"] = sol.st / ts
    times["end"] = sol.en / ts
    times["leave"] = sol.lv / ts
    dep = np.empty(n)
    arr = np.empty(n)
    fin = np.full(ci.n_jobs, np.nan)
    for o in range(n):
        j = int(ci.op_job[o])
        w = int(ci.op_wc[o]) + 1
        if o == data.first_op[j] and j in data.children:  # released by its kit
            dep[o] = sol.dep0[j] / ts
            arr[o] = max(
                sol.lv[data.last_op[c]] / ts + ci.transport[int(ci.op_wc[data.last_op[c]]) + 1, w]
                for c in data.children[j]
            )
        elif o == data.first_op[j]:
            dep[o] = sol.dep0[j] / ts
            arr[o] = dep[o] + ci.transport[0, w]
        else:
            dep[o] = sol.lv[o - 1] / ts
            arr[o] = dep[o] + ci.transport[int(ci.op_wc[o - 1]) + 1, w]
        if o == data.last_op[j] and data.parent[j] >= 0:  # kit arrival at the parent
            fin[j] = sol.lv[o] / ts + ci.transport[w, data.kit_wc(j) + 1]
        elif o == data.last_op[j]:
            fin[j] = sol.en[o] / ts + ci.transport[w, ci.n_wc + 1]
    times["depart"], times["arrive"] = dep, arr
    return Schedule.from_compiled(
        ci,
        instance_name=instance.name,
        op_machine=sol.machine,
        op_setup_from=setup_from,
        times=times,
        finish_arrive=fin,
        buffers=buffers,
        anticipatory_setups=anticipatory,
        method="cpsat",
    )


def _price(instance: Instance, s: Schedule, goal: Goal) -> tuple[float, int]:
    from furnsim.validate import validate

    if not s.complete:
        return math.inf, -1
    viol = validate(s, instance)
    return float(cost(kpis(s, instance), goal)), len(viol)


# -- the entry point -----------------------------------------------------------------------------
def solve_cpsat(
    instance: Instance,
    goal: str | Goal = "speed",
    *,
    time_limit: float = 60.0,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    progress: Progress | None = None,
    hint: Schedule | str | None = "auto",
    hint_label: str | None = None,
    workers: int = 2,
    seed: int | None = 0,
    time_scale: int | None = None,
    keep_solutions: int = 5,
    circuit_max_ops: int = 120,
    log_search: bool = False,
    calendar_terms: int | None = None,
    **options: Any,
) -> tuple[Schedule, dict[str, Any]]:
    """Plan ``instance`` for ``goal`` with CP-SAT; return the schedule and solver details.

    ``hint``: a Schedule, ``"rule:NAME"``, ``"auto"``/``"best-rule"`` (the best dispatching
    rule for the goal; the default), or ``None``; ``hint_label`` names where a Schedule hint
    came from (``details["hint"]``). A plan of another method (``ppo``, ``lns``) is made by
    the planners and passed as a Schedule (``plan(method="cpsat", hint="ppo")`` does that).
    The hint is fed to CP-SAT with ``AddHint`` and returned unchanged when the solver finds
    nothing cheaper within ``time_limit`` seconds (which includes building the hint and the
    model), so the result is never worse than the hint. ``details`` holds ``status``,
    ``objective`` (CP cost of the best CP solution), ``lower_bound`` (on the goal cost),
    ``gap`` (of the returned schedule to the bound), ``cost``, ``source``, ``wall_time_s``,
    ``progress`` (best cost over time) and more (docs/cpsat.md).

    ``calendar_terms``: the most element-table entries of an exact working-time model; more
    and working time is relaxed (``details["working_time_model"]``). Default: what CP-SAT's
    presolve expands in a tenth of the time left after the hint (it runs twice: completing
    the hint, then the solve), since that presolve does not stop at the time limit
    (:func:`furnsim.solvers.cpsat.calendar.calendar_terms_within`).
    """
    t_start = time.perf_counter()
    g = get_goal(goal)
    ignored = sorted(k for k in options if k not in ("seed",))
    if progress is not None:
        progress("cp-sat: warm start", 0.0)
    hint_s, hint_name = _resolve_hint(instance, hint, g, buffers, anticipatory_setups)
    if hint_label is not None and hint_s is not None:
        hint_name = hint_label  # where the caller's Schedule came from (e.g. "rule:ATC")
    hint_cost, hint_viol = (math.inf, -1) if hint_s is None else _price(instance, hint_s, g)
    hint_ok = hint_s is not None and hint_viol == 0 and math.isfinite(hint_cost)
    hint_h = (
        float(np.nanmax(hint_s.times["leave"]))
        if hint_ok and hint_s is not None and hint_s.n_ops
        else 0.0
    )

    if calendar_terms is None:
        left = time_limit - (time.perf_counter() - t_start)
        calendar_terms = calendar_terms_within(left, share=0.1)
    model, data, v, obj = build_model(
        instance,
        g,
        buffers=buffers,
        anticipatory_setups=anticipatory_setups,
        time_scale=time_scale,
        hint_horizon=hint_h,
        circuit_max_ops=circuit_max_ops,
        calendar_terms=calendar_terms,
    )
    hint_completed = False
    if hint_ok and hint_s is not None:
        _add_hint(model, data, v, hint_s)
        left = time_limit - (time.perf_counter() - t_start)
        hint_completed = _complete_hint(model, min(10.0, max(0.5, 0.2 * left)), workers)
    t_built = time.perf_counter()
    remaining = max(0.5, time_limit - (t_built - t_start))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = remaining
    solver.parameters.num_workers = max(1, int(workers))
    if seed is not None:
        solver.parameters.random_seed = int(seed)
    solver.parameters.log_search_progress = bool(log_search)
    # presolve probing costs ~1 deterministic s on the demo week (up to 20 s wall on a busy
    # 2-core machine) before the first solution; keep it to a small share of short runs
    probe = min(1.0, remaining / 300)
    solver.parameters.probing_deterministic_time_limit = probe
    solver.parameters.presolve_probing_deterministic_time_limit = min(30.0, 30 * probe)
    if progress is not None:
        progress("cp-sat: solving", 0.0)
    rec = _Recorder(data, v, obj, keep_solutions, remaining, progress)
    status = solver.solve(model, rec)
    status_name = solver.status_name(status)
    t_solved = time.perf_counter()
    has_solution = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    sols = [x for x in rec.first if all(x is not y for y in rec.solutions)] + list(rec.solutions)
    if has_solution and (not sols or sols[-1].objective > obj.cost(solver.objective_value) + 1e-12):
        sols.append(
            _read(data, v, obj, solver.value, obj.cost(solver.objective_value), t_solved - t_built)
        )
    bound = (
        obj.cost(solver.best_objective_bound)
        if has_solution or status == cp_model.UNKNOWN
        else math.nan
    )
    if status == cp_model.UNKNOWN and not sols:
        bound = obj.cost(solver.best_objective_bound)

    # candidates: replays of the recent solutions (best last), the raw CP timing of the best
    best: tuple[float, Schedule, str] | None = None
    replay_costs: list[float] = []
    replay_failures: list[str] = []
    raw_cost = math.nan
    raw_problem = ""
    replay_notes: list[str] = []
    exact_cost, exact_note = math.nan, ""
    for k, sol in enumerate(reversed(sols)):
        if k == 0 and data.exact and data.ci.working is None:  # raw timing has no segments
            raw = _raw_schedule(instance, data, sol, buffers, anticipatory_setups)
            rc, rv = _price(instance, raw, g)
            raw_cost = rc if rv == 0 else math.nan
            if rv:
                from furnsim.validate import validate

                raw_problem = str(validate(raw, instance)[0])
            if rv == 0:
                best = (rc, raw, "cpsat")
        if k == 0 and data.ci.working is None:  # the best one, replayed with its holds
            try:
                s, why = replay_exact(
                    instance,
                    sol,
                    data.time_scale,
                    buffers=buffers,
                    anticipatory_setups=anticipatory_setups,
                )
            except (ValueError, RuntimeError) as e:  # a hold the simulator refuses
                s, why = None, f"exact replay not possible: {e}"
            if s is not None:
                c, nv = _price(instance, s, g)
                exact_cost = c if nv == 0 else math.nan
                exact_note = why
                if nv == 0 and (best is None or c < best[0] - 1e-9):
                    best = (c, s, "cpsat-holds")
            else:
                exact_note = why
        s, why = replay_sequences(
            instance, sol.sequences(), buffers=buffers, anticipatory_setups=anticipatory_setups
        )
        if s is None:
            replay_failures.append(why)
            continue
        if why:
            replay_notes.append(why)
        c, nv = _price(instance, s, g)
        replay_costs.append(c)
        if nv == 0 and (best is None or c < best[0] - 1e-9):
            best = (c, s, "cpsat-replay")
    source = "cpsat"
    if best is not None and (not hint_ok or best[0] < hint_cost - 1e-9):
        schedule, final_cost, source = best[1], best[0], best[2]
        schedule.method = "cpsat"
    elif hint_ok and hint_s is not None:
        schedule, final_cost, source = hint_s, hint_cost, "hint"
    else:
        raise NoUsablePlan(
            f"CP-SAT found no executable plan ({status_name}) and there is no valid hint"
            + (f"; its timing breaks the semantics: {raw_problem}" if raw_problem else "")
            + (
                f"; replaying its machine sequences: {replay_failures[0]}"
                if replay_failures
                else ""
            )
        )
    lb_valid = not obj.unmodelled
    tolerance = 0.0
    if not data.exact:
        lits = {lit.index for p in v.pres for lit in p.values() if lit is not True}
        tolerance = (
            sum(abs(c) for var, c in obj.coefs.items() if var.index not in lits) / obj.obj_scale
        )
    lower = max(0.0, bound - tolerance) if lb_valid and math.isfinite(bound) else math.nan
    if status == cp_model.INFEASIBLE:
        lower = math.nan
    gap = (final_cost - lower) / max(abs(final_cost), 1e-9) if math.isfinite(lower) else math.nan
    if math.isfinite(gap) and gap < 0:
        gap = 0.0  # rounding of a non-exact model
    status_out = (
        status_name
        if source != "hint"
        else f"{status_name} (hint returned: CP-SAT found nothing better)"
    )
    details: dict[str, Any] = {
        "status": status_out,
        "solver_status": status_name,
        "source": source,
        "cost": final_cost,
        "objective": sols[-1].objective if sols else math.nan,
        "lower_bound": lower,
        "cp_bound": bound,
        "bound_tolerance": tolerance,
        "gap": gap,
        "wall_time_s": round(time.perf_counter() - t_start, 3),
        "solve_time_s": round(t_solved - t_built, 3),
        "build_time_s": round(t_built - t_start, 3),
        "progress": rec.log,
        "hint": hint_name or None,
        "hint_cost": hint_cost if hint_ok else None,
        "hint_completed": hint_completed,
        "replay_costs": replay_costs,
        "replay_failures": replay_failures[:5],
        "replay_notes": replay_notes[:5],
        "raw_cost": raw_cost,
        "holds_replay_cost": exact_cost,
        "holds_replay_note": exact_note,
        "time_scale": data.time_scale,
        "volume_scale": data.volume_scale,
        "obj_scale": obj.obj_scale,
        "exact": bool(data.exact and obj.exact),
        "unmodelled": obj.unmodelled,
        "relaxed_setup_machines": [data.ci.machine_ids[m] for m in v.relaxed_machines],
        "working_time_model": data.working_time_model,
        "calendar_terms": data.calendar_terms,  # the exact working time's table entries
        "workers": int(workers),
        "buffers": buffers,
        "n_conflicts": int(solver.num_conflicts),
        "n_branches": int(solver.num_branches),
    }
    if ignored:
        details["ignored_options"] = ignored
    schedule.meta = {
        **schedule.meta,
        "cpsat": {k: details[k] for k in ("status", "lower_bound", "gap", "source")},
    }
    if progress is not None:
        progress(f"cp-sat: {status_out}, cost {final_cost:.6g}", 1.0)
    return schedule, details
