"""Replanning from the shop's present: state + events + pins -> a new plan, with stability.

    res = replan(instance, previous_plan, now="2026-03-03T10:00", events=[...],
                 goal="speed", method="best-rule", mode="replan")
    res.details["stability"]     # ops moved, Σ|Δstart|, machine changes vs the previous plan

``mode="repair"`` keeps the previous plan as far as the shop allows: every operation keeps
its machine (unless that machine has an outage after ``now``), each machine takes its jobs
in the previous order when they are there (non-delay: later ones go first only when the
earlier ones are not there yet, which right-shifts the rest), and new work is ranked by its
latest start (deadline − remaining work). ``mode="replan"`` plans the rest with ``method``
for the best goal cost; with ``nervousness`` weights the cost adds the priced changes, and
``best-rule`` then chooses among every rule and the repair.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.errors import DataError
from furnsim.model import Instance
from furnsim.plan import PlanResult
from furnsim.replan.events import Event, apply_events, parse_events
from furnsim.replan.situation import Pin, Situation
from furnsim.replan.state import ShopState, derive_state, parse_time
from furnsim.sim import Decision, Schedule, Simulator

__all__ = [
    "NERVOUSNESS_KEYS",
    "ReplanResult",
    "RepairPolicy",
    "frozen_pins",
    "load_situation",
    "nervousness_cost",
    "parse_pins",
    "replan",
    "situated",
    "stability",
]

#: stability KPIs a ``nervousness`` mapping may weigh (cost per unit)
NERVOUSNESS_KEYS = ("start_shift_total", "ops_moved", "machine_changes", "sequence_changes")


#: the plan start given to an instance without one when its state has outages (downtime
#: is anchored on dates; only the minutes after it matter)
NOMINAL_PLAN_START = datetime(2000, 1, 3, 0, 0)  # a Monday


def situated(instance: Instance, situation: Situation | ShopState | None) -> Instance:
    """A copy of ``instance`` (same catalog and orders) that plans from ``situation``.

    The state's outages (breakdowns) become downtime of the plant's machines (working time,
    docs/semantics.md): the simulator, the validator and CP-SAT follow them like planned
    maintenance. An instance without a plan start then gets :data:`NOMINAL_PLAN_START`.
    """
    if isinstance(situation, ShopState):
        situation = Situation(situation)
    plant, start = instance.plant, instance.plan_start
    outages = situation.state.outages if situation is not None else []
    if outages:
        from furnsim.model.calendars import Downtime

        start = start or NOMINAL_PLAN_START
        have = {(d.machine, d.start, d.end) for d in plant.downtime}
        extra = []
        for x in outages:
            a, b = start + timedelta(minutes=x.start), start + timedelta(minutes=x.end)
            if (x.machine, a, b) not in have:
                extra.append(Downtime(x.machine, a, b, x.reason or "breakdown"))
        if extra:
            plant = dataclasses.replace(plant, downtime=[*plant.downtime, *extra])
    return Instance(
        plant,
        instance.catalog,
        list(instance.orders),
        name=instance.name,
        plan_start=start,
        situation=situation,
    )


# -- stability -----------------------------------------------------------------------------
def _keyed(s: Schedule) -> dict[tuple[str, int], int]:
    return {
        (s.job_ids[int(j)], int(k) + 1): o
        for o, (j, k) in enumerate(zip(s.op_job, s.op_step, strict=True))
    }


def _predecessors(s: Schedule) -> dict[int, int]:
    """op -> the op before it on its machine (-1 for the first)."""
    ops = np.flatnonzero(s.op_machine >= 0)
    t = s.times
    order = np.lexsort((ops, t["start"][ops], t["setup_start"][ops], s.op_machine[ops]))
    seq = ops[order]
    out: dict[int, int] = {}
    prev_m, prev_o = -2, -1
    for o in seq.tolist():
        m = int(s.op_machine[o])
        out[o] = prev_o if m == prev_m else -1
        prev_m, prev_o = m, o
    return out


def stability(previous: Schedule, new: Schedule, *, tol: float = 1e-6) -> dict[str, float]:
    """How much ``new`` changes ``previous`` (operations matched by job id and step).

    ``ops_compared`` operations in both plans; ``ops_moved`` of them start at another time
    (``|Δstart| > tol``); ``start_shift_total``/``_mean``/``_max`` Σ/mean/max ``|Δstart|``
    (minutes); ``machine_changes`` run on another machine; ``sequence_changes`` have another
    predecessor on their machine (the floor's order changed there); ``ops_new`` /
    ``ops_removed`` only in the new / previous plan.
    """
    kp, kn = _keyed(previous), _keyed(new)
    common = [k for k in kn if k in kp]
    po = np.array([kp[k] for k in common], dtype=np.int64)
    no = np.array([kn[k] for k in common], dtype=np.int64)
    if po.size:
        d = np.abs(new.times["start"][no] - previous.times["start"][po])
        d = np.where(np.isnan(d), 0.0, d)
        pm = np.array(previous.machine_ids + [""], dtype=object)[previous.op_machine[po]]
        nm = np.array(new.machine_ids + [""], dtype=object)[new.op_machine[no]]
        mc = int(np.count_nonzero(pm != nm))
    else:
        d = np.zeros(0)
        mc = 0
    # another predecessor on the machine
    pp, pn = _predecessors(previous), _predecessors(new)
    inv_p = {o: k for k, o in kp.items()}
    inv_n = {o: k for k, o in kn.items()}
    seq = 0
    for k in common:
        a, b = pp.get(kp[k], -1), pn.get(kn[k], -1)
        ka = inv_p.get(a) if a >= 0 else None
        kb = inv_n.get(b) if b >= 0 else None
        if ka != kb:
            seq += 1
    return {
        "ops_compared": int(po.size),
        "ops_moved": int(np.count_nonzero(d > tol)),
        "start_shift_total": float(d.sum()),
        "start_shift_mean": float(d.mean()) if d.size else 0.0,
        "start_shift_max": float(d.max()) if d.size else 0.0,
        "machine_changes": mc,
        "sequence_changes": seq,
        "ops_new": len(kn) - len(common),
        "ops_removed": len(kp) - len(common),
    }


def nervousness_cost(stab: Mapping[str, float], weights: Mapping[str, float] | None) -> float:
    if not weights:
        return 0.0
    return float(sum(float(w) * float(stab.get(k, 0.0)) for k, w in weights.items()))


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, w in (weights or {}).items():
        if k not in NERVOUSNESS_KEYS:
            raise ValueError(
                f"nervousness: unknown key {k!r} (one of {', '.join(NERVOUSNESS_KEYS)})"
            )
        if not (isinstance(w, int | float) and math.isfinite(w) and w >= 0):
            raise ValueError(f"nervousness: weight of {k} must be a number >= 0 (got {w!r})")
        out[k] = float(w)
    return out


# -- pins from the previous plan --------------------------------------------------------------
def _down_after(state: ShopState, machine: str, lo: float, hi: float = math.inf) -> bool:
    return any(x.machine == machine and x.end > lo and x.start < hi for x in state.outages)


def frozen_pins(
    previous: Schedule, instance: Instance, state: ShopState, minutes: float
) -> list[Pin]:
    """Pins for the frozen horizon: operations the previous plan starts in ``[now, now+H)``.

    They keep their machine and order, not earlier than planned. Not frozen: operations of
    a machine with an outage in the horizon (the breakdown voids its plan), of removed
    orders, and those whose previous step is neither started nor frozen.
    """
    if minutes <= 0:
        return []
    now = state.now
    known = state.by_key()
    jobs = {j.id: len(instance.operations_of(i)) for i, j in enumerate(instance.jobs)}
    t = previous.times
    frozen: set[tuple[str, int]] = set()
    pins: list[Pin] = []
    order = np.argsort(t["setup_start"], kind="stable")
    for o in order.tolist():
        ss = float(t["setup_start"][o])
        if math.isnan(ss) or ss < now or ss >= now + minutes:
            continue
        job = previous.job_ids[int(previous.op_job[o])]
        step = int(previous.op_step[o]) + 1
        m = previous.machine_ids[int(previous.op_machine[o])]
        x = known.get((job, step))
        if job not in jobs or step > jobs[job] or (x is not None and x.status != "queued"):
            continue
        if _down_after(state, m, now, now + minutes):
            continue
        prev_ok = (
            step == 1
            or (job, step - 1) in frozen
            or ((job, step - 1) in known and known[(job, step - 1)].status != "queued")
        )
        if not prev_ok:
            continue
        frozen.add((job, step))
        pins.append(
            Pin(
                job,
                step,
                m,
                frozen=True,
                planned_setup_start=ss,
                planned_start=float(t["start"][o]),
            )
        )
    return pins


class RepairPolicy:
    """Each machine takes its candidates in the previous plan's order (see the module doc)."""

    name = "repair"

    def __init__(self, previous: Schedule, instance: Instance) -> None:
        ci = instance.compiled
        kp = _keyed(previous)
        self.key = np.full(ci.n_ops, np.nan)
        ss = previous.times["setup_start"]
        for o in range(ci.n_ops):
            p = kp.get((ci.job_ids[int(ci.op_job[o])], int(ci.op_step[o]) + 1))
            if p is not None:
                self.key[o] = ss[p]
        self.deadline = ci.job_deadline

    def reset(self, seed: int | None = None) -> None:
        """No state."""

    def choose(self, sim: Simulator, d: Decision) -> int:
        c = d.candidates
        if c.size == 1:
            return int(c[0])
        k = self.key[d.ops]
        new = np.isnan(k)
        if new.any():
            latest = self.deadline[c] - sim.op_rem_work[d.ops]
            k = np.where(new, np.maximum(np.where(np.isfinite(latest), latest, 1e12), d.time), k)
        i = np.lexsort((c, k))[0]
        return int(c[i])


def repair_pins(previous: Schedule, instance: Instance, state: ShopState) -> list[Pin]:
    """Every operation not started keeps its previous machine unless that one breaks down."""
    known = state.by_key()
    jobs = {j.id: len(instance.operations_of(i)) for i, j in enumerate(instance.jobs)}
    out = []
    for o in range(previous.n_ops):
        m = int(previous.op_machine[o])
        if m < 0:
            continue
        job = previous.job_ids[int(previous.op_job[o])]
        step = int(previous.op_step[o]) + 1
        x = known.get((job, step))
        if job not in jobs or step > jobs[job] or (x is not None and x.status != "queued"):
            continue
        mid = previous.machine_ids[m]
        if _down_after(state, mid, state.now):
            continue
        out.append(Pin(job, step, mid))
    return out


# -- the service ------------------------------------------------------------------------------
@dataclasses.dataclass
class ReplanResult(PlanResult):
    """A :class:`~furnsim.plan.PlanResult` plus the stability KPIs against the previous plan
    and the instance after the events, with the situation attached (validate, score and
    export the plan against it)."""

    stability: dict[str, float] = dataclasses.field(default_factory=dict)
    instance: Instance | None = None
    orders_changed: bool = False  # the events added, removed or changed orders

    def to_dict(
        self, instance: Instance | None = None, with_schedule: bool = True
    ) -> dict[str, Any]:
        """As ``PlanResult.to_dict`` (always over the instance after the events), plus
        ``stability``, ``situation`` (the state and pins it started from) and, when the events
        changed the orders, ``orders`` (the new order book, so that the next re-plan can start
        from this plan)."""
        d = super().to_dict(self.instance if self.instance is not None else instance, with_schedule)
        d["stability"] = self.stability
        sit = getattr(self.instance, "situation", None)
        if sit is not None:  # what the plan started from (--state reads "state" back)
            d["situation"] = {
                "state": sit.state.to_dict(),
                "pins": [p.to_dict() for p in sit.pins],
            }
        if self.orders_changed and self.instance is not None:
            d["orders"] = [
                {
                    "order": o.id,
                    "article": o.article,
                    "quantity": o.quantity,
                    "deadline": o.deadline if math.isfinite(o.deadline) else None,
                    "release": o.release,
                    "priority": o.priority,
                }
                for o in self.instance.orders
            ]
        return d


def _as_schedule(previous: Schedule | Mapping[str, Any] | str) -> Schedule:
    if isinstance(previous, Schedule):
        return previous
    try:
        if isinstance(previous, str):
            return Schedule.from_json(previous)
        d = dict(previous)
        if "schedule" in d and "format" not in d:
            d = d["schedule"]
        return Schedule.from_dict(d)
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"previous plan: not a furnsim schedule ({e})") from None


def _as_minutes(now: float | str | datetime, plan_start: datetime | None) -> float:
    try:
        return parse_time(now, plan_start, "now")
    except ValueError as e:
        raise DataError(str(e)) from None


def replan(
    instance: Instance,
    previous: Schedule | Mapping[str, Any] | str,
    now: float | str | datetime,
    events: Sequence[Event | Mapping[str, Any]] = (),
    *,
    goal: str = "speed",
    method: str = "best-rule",
    mode: str = "replan",
    pins: Sequence[Pin | Mapping[str, Any]] | None = None,
    frozen_minutes: float = 0.0,
    state: ShopState | None = None,
    nervousness: Mapping[str, float] | None = None,
    buffers: str = "hard",
    seed: int | None = 0,
    time_limit: float | None = None,
    **options: Any,
) -> Any:
    """Plan ``instance``'s orders from ``now`` after ``events``; returns a ``PlanResult``.

    ``previous`` is the plan in force (a Schedule, its dict, or ``furnsim plan --json``
    output); the shop state is derived from it (everything before ``now`` happened as
    planned) unless ``state`` gives it. ``events`` are :class:`Event` objects or mappings as
    in ``events.yaml``; ``pins`` lock operations (``{job, step, machine[, start]}``);
    ``frozen_minutes`` freezes what the previous plan starts in ``[now, now + H)``.
    ``result.details["stability"]`` compares the new plan with ``previous``;
    ``details["replan"]`` says what was applied. ``result.instance`` is the instance after
    the events, with the situation attached (validate the plan against it).
    """
    from furnsim.goals import cost as goal_cost
    from furnsim.goals import get_goal
    from furnsim.plan import _score, _violation_dict, plan

    t0 = time.perf_counter()
    if mode not in ("repair", "replan"):
        raise ValueError(f"mode must be 'repair' or 'replan', not {mode!r}")
    goal_name = get_goal(goal).name
    weights = _check_weights(nervousness)
    prev = _as_schedule(previous)
    t_now = _as_minutes(now, instance.plan_start)
    if state is None:
        state = derive_state(prev, t_now, plan_start=instance.plan_start)
    elif abs(state.now - t_now) > 1e-9:
        raise DataError(f"the state is as of {state.now:g}, not now={t_now:g}")
    evs: list[Event] = [e for e in events if isinstance(e, Event)]
    if len(evs) != len(events):
        evs = parse_events(
            [e.to_dict() if isinstance(e, Event) else dict(e) for e in events],
            plan_start=instance.plan_start,
        )
    new_inst, new_state, notes = apply_events(instance, state, evs)
    user_pins = [
        p if isinstance(p, Pin) else _pin(p, i, instance.plan_start)
        for i, p in enumerate(pins or [])
    ]
    fz = frozen_pins(prev, new_inst, new_state, float(frozen_minutes))
    pinned = {(p.job, p.step) for p in user_pins}
    all_pins = user_pins + [p for p in fz if (p.job, p.step) not in pinned]
    sit = Situation(new_state, all_pins)
    inst = situated(new_inst, sit)
    from furnsim.replan.situation import compile_situation

    cs = compile_situation(sit, inst.compiled)  # bad state / pins: DataError before planning
    if inst.compiled.has_assembly:
        new_state.kits = cs.kits  # the kits in the buffers at now (after the events)
    t_setup = time.perf_counter()
    anticipatory = bool(options.pop("anticipatory_setups", prev.anticipatory_setups))

    def run_repair() -> tuple[Schedule, Simulator]:
        from furnsim.rules import run_policy

        rp = repair_pins(prev, new_inst, new_state)
        taken = {(p.job, p.step) for p in all_pins}
        r_inst = situated(
            new_inst,
            Situation(new_state, all_pins + [p for p in rp if (p.job, p.step) not in taken]),
        )
        return run_policy(
            r_inst,
            RepairPolicy(prev, new_inst),
            buffers=buffers,
            anticipatory_setups=anticipatory,
            method="repair",
        )

    details: dict[str, Any] = {}
    chosen_by = ""
    if mode == "repair":
        sched, sim = run_repair()
        if sim.deadlock is not None:
            res = plan(
                inst,
                goal_name,
                "best-rule",
                buffers=buffers,
                seed=seed,
                anticipatory_setups=anticipatory,
            )
            res.fallback = (
                f"repair deadlocked ({sim.deadlock.message}); replanned with the best rule"
            )
            res.requested = "repair"
        else:
            k, c, viol = _score(inst, sched, goal_name)
            res = PlanResult(
                schedule=sched,
                kpis=k,
                cost=c,
                valid=not viol and sched.complete,
                violations=viol,
                method="repair",
                requested="repair",
                goal=goal_name,
                wall_time=0.0,
                details={},
            )
    else:
        is_best = method.strip().lower() in ("best-rule", "best_rule", "rules")
        direct = bool(weights) and is_best and time_limit is None and not options.get("samples")
        res = None
        cands: list[tuple[str, Schedule]] = []
        if direct:
            # every rule once (not plan()'s best-rule and then again): the choice is by goal
            # cost + priced changes, so each rule's plan is priced with its nervousness
            from furnsim.rules import get_rule, rule_names, run_policy

            for name in rule_names(True):
                s2, sim2 = run_policy(
                    inst,
                    get_rule(name),
                    buffers=buffers,
                    seed=seed,
                    anticipatory_setups=anticipatory,
                )
                if sim2.deadlock is None:
                    cands.append((f"rule:{name}", s2))
        else:
            if is_best and not weights and time_limit is None and not options.get("samples"):
                # every rule from the state, the same choice as plan()'s best-rule, faster
                # (one simulator per process, losers scored without a schedule, 2 processes)
                from furnsim.replan.fast import best_rule_from_state

                t_rules = time.perf_counter()
                best_s, bdet = best_rule_from_state(
                    inst,
                    goal_name,
                    buffers=buffers,
                    seed=seed,
                    anticipatory_setups=anticipatory,
                    workers=options.pop("workers", None),
                )
                if best_s is not None:
                    k, c, viol = _score(inst, best_s, goal_name)
                    bdet["rules_s"] = round(time.perf_counter() - t_rules, 4)
                    res = PlanResult(
                        schedule=best_s,
                        kpis=k,
                        cost=c,
                        valid=not viol and best_s.complete,
                        violations=viol,
                        method=bdet["best_rule"],
                        requested=method,
                        goal=goal_name,
                        wall_time=0.0,
                        details=bdet,
                    )
            fast_guard = (
                method.strip().lower().startswith("ppo")
                and not weights
                and bool(options.get("guard", True))
            )
            if fast_guard:  # the guard below: the best rule from the state, the fast way
                options["guard"] = False
            if res is None:
                workers = options.pop("workers", None)
                res = plan(
                    inst,
                    goal_name,
                    method,
                    buffers=buffers,
                    seed=seed,
                    time_limit=time_limit,
                    anticipatory_setups=anticipatory,
                    **options,
                )
                if fast_guard and res.valid and not res.fallback:
                    res = _guarded(res, inst, goal_name, buffers, seed, anticipatory, workers)
            if weights and res.valid:
                cands.append((res.method, res.schedule))
        if weights and (direct or (res is not None and res.valid)):
            # the planner weighs nervousness: the repair competes too
            rs, rsim = run_repair()
            if rsim.deadlock is None:
                cands.append(("repair", rs))
            g = get_goal(goal_name)
            scored = []
            for name, s2 in cands:
                total = float(goal_cost(s2, g, inst)) + nervousness_cost(
                    stability(prev, s2), weights
                )
                scored.append((total, name, s2))
            details["nervousness_candidates"] = {n: round(c, 3) for c, n, _ in scored}
            for _total, name, s2 in sorted(scored, key=lambda x: x[0]):
                if res is not None and s2 is res.schedule:
                    break
                k, c, viol = _score(inst, s2, goal_name)
                if viol or not s2.complete:
                    continue
                res = PlanResult(
                    schedule=s2,
                    kpis=k,
                    cost=c,
                    valid=True,
                    violations=[],
                    method=name,
                    requested=method,
                    goal=goal_name,
                    wall_time=0.0,
                    details=res.details if res is not None else {},
                )
                chosen_by = "goal cost + nervousness"
                break
        if res is None:  # every rule deadlocked or invalid: plan() falls back and says why
            res = plan(
                inst,
                goal_name,
                method,
                buffers=buffers,
                seed=seed,
                anticipatory_setups=anticipatory,
            )
    assert res is not None
    stab = stability(prev, res.schedule)
    nerv = nervousness_cost(stab, weights)
    res.details.update(details)
    res.details["stability"] = stab
    res.details["goal_cost"] = res.cost
    if weights:
        res.details["nervousness"] = {"weights": weights, "cost": nerv}
        res.cost = res.cost + nerv
    res.details["replan"] = {
        "now": t_now,
        "mode": mode,
        "method": method if mode == "replan" else "repair",
        "chosen_by": chosen_by or None,
        "events": notes,
        "state": {**new_state.counts(), "outages": [x.to_dict() for x in new_state.outages]},
        "pins": len(user_pins),
        "frozen": len(fz),
        "frozen_minutes": float(frozen_minutes),
        "setup_s": round(t_setup - t0, 4),
    }
    if res.violations:
        res.details.setdefault(
            "rejected_violations", [_violation_dict(v) for v in res.violations[:20]]
        )
    res.wall_time = time.perf_counter() - t0
    fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(PlanResult)}
    changed = [(o.id, o.article, o.quantity, o.deadline) for o in instance.orders] != [
        (o.id, o.article, o.quantity, o.deadline) for o in new_inst.orders
    ]
    return ReplanResult(**fields, stability=stab, instance=inst, orders_changed=changed)


def _guarded(
    res: PlanResult,
    inst: Instance,
    goal: str,
    buffers: str,
    seed: int | None,
    anticipatory: bool,
    workers: int | None,
) -> PlanResult:
    """A learned policy's plan against the best rule's from the state (``plan``'s guard)."""
    from furnsim.plan import _score
    from furnsim.replan.fast import best_rule_from_state

    best_s, bdet = best_rule_from_state(
        inst, goal, buffers=buffers, seed=seed, anticipatory_setups=anticipatory, workers=workers
    )
    if best_s is None:
        return res
    k, c, viol = _score(inst, best_s, goal)
    res.details["policy_cost"] = res.cost
    res.details["best_rule_cost"] = c
    if viol or not best_s.complete or not c < res.cost:
        return res
    return PlanResult(
        schedule=best_s,
        kpis=k,
        cost=c,
        valid=True,
        violations=[],
        method=bdet["best_rule"],
        requested=res.requested,
        goal=goal,
        wall_time=0.0,
        fallback=f"{res.method} plan cost {res.cost:,.2f} is worse than the best rule's "
        f"({bdet['best_rule']}: {c:,.2f})",
        details={**res.details, **bdet},
    )


def _pin(d: Mapping[str, Any], i: int, plan_start: datetime | None) -> Pin:
    try:
        job = d.get("job") or (f"{d['order']}/{d['component']}" if "order" in d else None)
        if job is None:
            raise KeyError("job")
        start = d.get("start")

        def when(k: str) -> float | None:
            v = d.get(k)
            return None if v is None else parse_time(v, plan_start, k)

        return Pin(
            str(job),
            int(d["step"]),
            str(d["machine"]),
            start=None if start is None else parse_time(start, plan_start, "start"),
            frozen=bool(d.get("frozen", False)),
            planned_setup_start=when("planned_setup_start"),
            planned_start=when("planned_start"),
        )
    except KeyError as e:
        raise DataError(f"pins entry {i}: missing field {e.args[0]!r}") from None
    except (TypeError, ValueError) as e:
        raise DataError(f"pins entry {i}: {e}") from None


def parse_pins(raw: Any, plan_start: datetime | None, source: str = "pins") -> list[Pin]:
    """Pins from a list of ``{job, step, machine[, start]}`` mappings (a pins file, the
    ``situation.pins`` of a replan output); DataError naming the entry."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise DataError(f"{source}: pins must be a list of mappings")
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, Mapping):
            raise DataError(f"{source}: pins entry {i} must be a mapping")
        out.append(_pin(p, i, plan_start))
    return out


def load_situation(
    path: str | Path, instance: Instance, *, pins: str | Path | None = None
) -> tuple[Instance, Situation]:
    """The situation a replanned plan must honour, read from files, attached to ``instance``.

    ``path`` is a ``furnsim.state/1`` file (JSON/YAML) or a ``furnsim replan --json`` output
    (its ``situation``: the state and the pins, frozen ones included; when it carries
    ``orders`` — the events changed them — they replace the instance's). ``pins`` adds a pins
    file. Raises :class:`DataError` for anything that does not fit the instance.
    """
    from furnsim.replan.situation import compile_situation
    from furnsim.replan.state import read_state_document

    p = Path(path)
    doc = read_state_document(p)
    plist: list[Pin] = []
    if isinstance(doc, dict) and isinstance(doc.get("situation"), dict):
        sit_d = doc["situation"]
        state = ShopState.from_dict(
            sit_d.get("state"), plan_start=instance.plan_start, source=f"{p}: situation.state"
        )
        plist = parse_pins(sit_d.get("pins"), instance.plan_start, f"{p}: situation.pins")
        if doc.get("orders") is not None:
            instance = _with_orders(instance, doc["orders"], f"{p}: orders")
    else:
        state = ShopState.from_dict(doc, plan_start=instance.plan_start, source=str(p))
    if pins is not None:
        pp = Path(pins)
        raw = read_state_document(pp, "pins")
        plist += parse_pins(raw, instance.plan_start, str(pp))
    sit = Situation(state, plist)
    inst = situated(instance, sit)
    compile_situation(sit, inst.compiled)
    return inst, sit


def _with_orders(instance: Instance, rows: Any, source: str) -> Instance:
    """``instance`` with the order book of a replan output (rows like the orders sheet)."""
    from furnsim.io._builder import build_orders
    from furnsim.io._tables import Row, Table

    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise DataError(f"{source}: must be a list of order rows")
    cols = ["order", "article", "quantity", "deadline", "release", "priority"]
    t = Table("orders", source, list(cols), header_row=0, schema="orders")
    for i, r in enumerate(rows):
        t.rows.append(Row(i, {c: r.get(c) for c in cols if r.get(c) is not None}))
    orders = build_orders(t, instance.plan_start, {a.id for a in instance.catalog.articles})
    return Instance(
        instance.plant,
        instance.catalog,
        orders,
        name=instance.name,
        plan_start=instance.plan_start,
    )
