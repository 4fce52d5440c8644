"""The one planning service under the CLI and the dashboard.

``plan(instance, goal, method)`` runs a method (a dispatching rule, the best rule, and later
CP-SAT or a trained policy), validates its schedule with the independent validator, scores it
with the goal's cost, and falls back to the best valid dispatching rule when the method fails
(deadlock, invalid plan, missing model) — saying so in ``PlanResult.fallback``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from furnsim.errors import ModelRefused
from furnsim.model import Instance
from furnsim.sim import Schedule, Simulator

__all__ = ["LNS_DEFAULT_TIME_LIMIT", "PPO_MAX_PASSES", "PlanResult", "plan", "run_rule"]

#: with ``method="ppo"`` and a ``time_limit``, the policy samples passes until the time runs
#: out (this many at most); without one it makes the model's ``plan_samples`` passes within
#: 1.5 s
PPO_MAX_PASSES = 100_000
#: ``method="lns"`` without ``time_limit`` or ``iterations``: search this many seconds
LNS_DEFAULT_TIME_LIMIT = 60.0


@dataclass
class PlanResult:
    schedule: Schedule
    kpis: dict[str, Any]
    cost: float
    valid: bool
    violations: list[Any]
    method: str  # the method that produced the schedule
    requested: str  # the method asked for
    goal: str
    wall_time: float
    fallback: str | None = None  # why the requested method was not used
    deadlock: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(
        self, instance: Instance | None = None, with_schedule: bool = True
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kpis": self.kpis,
            "cost": self.cost,
            "valid": self.valid,
            "violations": [_violation_dict(v) for v in self.violations],
            "method": self.method,
            "requested": self.requested,
            "goal": self.goal,
            "fallback": self.fallback,
            "deadlock": self.deadlock,
            "wall_time_s": self.wall_time,
            "details": self.details,
            "operations": self.schedule.records(instance),
        }
        if with_schedule:
            d["schedule"] = self.schedule.to_dict()
        return d


def _violation_dict(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    return {
        "kind": getattr(v, "kind", ""),
        "message": getattr(v, "message", str(v)),
        "ops": list(getattr(v, "ops", ())),
    }


def run_rule(
    instance: Instance,
    rule: Any,
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    seed: int | None = None,
) -> tuple[Schedule, Simulator]:
    """Plan a whole instance with one dispatching rule (or any policy) through the simulator."""
    from furnsim.rules import run_policy

    return run_policy(
        instance, rule, buffers=buffers, seed=seed, anticipatory_setups=anticipatory_setups
    )


def _score(
    instance: Instance,
    schedule: Schedule,
    goal: str,
    buffers: str | None = None,
    anticipatory_setups: bool | None = None,
) -> tuple[dict[str, Any], float, list[Any]]:
    from furnsim.goals import cost
    from furnsim.kpi import kpis
    from furnsim.validate import validate

    # checked under the rules asked for, not those the schedule declares (issue 10.4)
    violations = validate(
        schedule, instance, buffers=buffers, anticipatory_setups=anticipatory_setups
    )
    k = kpis(schedule, instance)
    return k, float(cost(k, goal)), list(violations)


def _rule_method(name: str) -> Any:
    from furnsim.rules import get_rule

    return get_rule(name)


def plan(
    instance: Instance,
    goal: str = "speed",
    method: str = "best-rule",
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    seed: int | None = 0,
    time_limit: float | None = None,
    progress: Callable[[str, float], None] | None = None,
    guard: bool = True,
    **options: Any,
) -> PlanResult:
    """Plan ``instance`` for ``goal`` with ``method`` (``rule:NAME``, ``best-rule``, ``cpsat``, ``ppo``,
    ``lns``).

    ``lns`` (``furnsim.solvers.lns``) improves the best rule's (or policy's) plan by
    large-neighbourhood search for ``time_limit`` seconds (default
    ``LNS_DEFAULT_TIME_LIMIT``), or exactly ``iterations=N`` neighbours (``options``;
    reproducible with the same ``seed``); ``details["lns"]`` reports it.

    ``time_limit`` (seconds) bounds CP-SAT's search and, for ``ppo``, the policy's: one greedy
    pass, then passes sampled from the policy until the time is spent, the cheapest kept
    (``samples=N`` in ``options`` caps the passes; without a time limit: the model's default,
    within 1.5 s). For ``best-rule`` a ``time_limit`` (or ``samples=N``) adds, after the
    rules, a search of ε-noisy passes around the best one (``rules.search_noisy``; ``eps``
    in ``options``, default 0.05); ``details["search"]`` reports it.

    With ``guard`` (default) a learned policy's plan is also compared with the best rule's
    and replaced by it when it is worse; ``fallback`` then says so. Invalid or deadlocked plans
    always fall back to the best valid rule.
    """
    from furnsim.goals import get_goal

    goal_name = get_goal(goal).name
    t0 = time.perf_counter()
    requested = method
    fallback: str | None = None
    details: dict[str, Any] = {}
    schedule: Schedule | None = None
    deadlock: str | None = None
    m = method.strip()
    try:
        if m.lower().startswith("rule:"):
            rule = _rule_method(m.split(":", 1)[1])
            schedule, sim = run_rule(
                instance, rule, buffers=buffers, anticipatory_setups=anticipatory_setups, seed=seed
            )
            if sim.deadlock is not None:
                deadlock = sim.deadlock.message
                fallback = f"{m} deadlocked ({deadlock})"
                schedule = None
        elif m.lower() in ("best-rule", "best_rule", "rules"):
            schedule, details = _best_rule(
                instance, goal_name, buffers, anticipatory_setups, seed, progress
            )
            if (time_limit or options.get("samples")) and not details.get("all_deadlocked"):
                schedule = _search_best_rule(
                    instance,
                    goal_name,
                    schedule,
                    details,
                    time_limit=time_limit,
                    passes=options.get("samples"),
                    eps=float(options.get("eps", 0.05)),
                    seed=seed or 0,
                    buffers=buffers,
                    anticipatory_setups=anticipatory_setups,
                    progress=progress,
                )
        elif m.lower() in ("cpsat", "cp-sat"):
            from furnsim.solvers.cpsat import NoUsablePlan, solve_cpsat

            try:
                schedule, details = solve_cpsat(
                    instance,
                    goal_name,
                    time_limit=time_limit or 60.0,
                    buffers=buffers,
                    anticipatory_setups=anticipatory_setups,
                    seed=seed,
                    progress=progress,
                    **options,
                )
            except NoUsablePlan as e:
                # e.g. every CP solution needs a swap through full buffers (a deadlock)
                fallback = f"{m}: {e}"
                schedule = None
        elif m.lower() == "lns":
            from furnsim.rules import NoValidPlan

            try:
                schedule, details = _lns(
                    instance,
                    goal_name,
                    time_limit=time_limit,
                    seed=seed or 0,
                    buffers=buffers,
                    anticipatory_setups=anticipatory_setups,
                    progress=progress,
                    **options,
                )
            except NoValidPlan as e:  # every rule deadlocked: no start plan
                fallback = f"{m}: {str(e).splitlines()[0]}"
                schedule = None
        elif m.lower().startswith("ppo"):
            from furnsim.rl.policy import plan_with_policy

            if time_limit is not None:
                # a search budget: sampled passes from the policy until it runs out
                options.setdefault("time_budget_s", float(time_limit))
                options.setdefault("samples", PPO_MAX_PASSES)
            schedule, details = plan_with_policy(instance, goal_name, buffers=buffers, **options)
        else:
            raise ValueError(
                f"unknown method {method!r}: use rule:NAME, best-rule, cpsat, ppo or lns"
            )
    except (ImportError, FileNotFoundError, ModelRefused) as e:
        fallback = f"{m} is not available here ({e})"
        schedule = None
    result_method = schedule.method if schedule is not None and schedule.method else m
    scored: tuple[dict[str, Any], float, list[Any]] | None = None
    if schedule is not None:
        k, c, viol = _score(instance, schedule, goal_name, buffers, anticipatory_setups)
        scored = (k, c, viol)
        if viol:
            fallback = f"{m} produced an invalid plan ({len(viol)} violations)"
            details["rejected_violations"] = [_violation_dict(v) for v in viol[:20]]
            schedule, scored = None, None
        elif guard and m.lower().startswith("ppo"):
            rule_s, bdetails = _best_rule(
                instance, goal_name, buffers, anticipatory_setups, seed, None
            )
            rule_scored = _score(instance, rule_s, goal_name, buffers, anticipatory_setups)
            rc = rule_scored[1]
            details["policy_cost"] = c
            details["best_rule_cost"] = rc
            if not rule_scored[2] and rule_s.complete and rc < c:
                fallback = f"{m} plan cost {c:,.2f} is worse than the best rule's ({rule_s.method}: {rc:,.2f})"
                details.update(bdetails)
                schedule, scored = rule_s, rule_scored
                result_method = rule_s.method
    if schedule is None:
        schedule, bdetails = _best_rule(
            instance, goal_name, buffers, anticipatory_setups, seed, progress
        )
        details.update(bdetails)
        result_method = schedule.method
        if schedule.meta.get("deadlock"):
            deadlock = schedule.meta["deadlock"]
    k, c, viol = (
        scored
        if scored is not None
        else _score(instance, schedule, goal_name, buffers, anticipatory_setups)
    )
    return PlanResult(
        schedule=schedule,
        kpis=k,
        cost=c,
        valid=not viol and schedule.complete,
        violations=viol,
        method=result_method,
        requested=requested,
        goal=goal_name,
        wall_time=time.perf_counter() - t0,
        fallback=fallback,
        deadlock=deadlock if not schedule.complete else None,
        details=details,
    )


def _search_best_rule(
    instance: Instance,
    goal: str,
    schedule: Schedule,
    details: dict[str, Any],
    *,
    time_limit: float | None,
    passes: int | None,
    eps: float,
    seed: int,
    buffers: str,
    anticipatory_setups: bool,
    progress: Callable[[str, float], None] | None,
) -> Schedule:
    """ε-noisy passes of the best rule (``rules.search_noisy``) within ``time_limit`` seconds
    or ``passes`` passes; the cheaper of that and the rule's own plan, recorded in ``details``."""
    from furnsim.rules import get_rule, search_noisy

    name = str(details["best_rule"]).split(":", 1)[1]
    if progress is not None:
        progress(f"searching around {name} (noise {eps:g})", 0.0)
    s2, sim2, info = search_noisy(
        instance,
        goal,
        get_rule(name),
        time_limit=time_limit,
        passes=passes,
        eps=eps,
        seed=seed,
        buffers=buffers,
        anticipatory_setups=anticipatory_setups,
    )
    base = float(details["rules_tried"][name])  # the rule's own cost, priced by best_rule
    best = min(info["costs"])
    details["search"] = {
        "around": f"rule:{name}",
        "eps": info["eps"],
        "passes": info["passes"],
        "seconds": info["seconds"],
        "rule_cost": base,
        "best_cost": min(best, base),
    }
    if progress is not None:
        progress(f"{info['passes']} passes around {name}", 1.0)
    if sim2.deadlock is None and best < base:
        return s2
    return schedule


def _best_rule(
    instance: Instance,
    goal: str,
    buffers: str,
    anticipatory_setups: bool,
    seed: int | None,
    progress: Callable[[str, float], None] | None,
) -> tuple[Schedule, dict[str, Any]]:
    """Every deterministic rule; the lowest-cost complete schedule (see rules.best_rule)."""
    from furnsim.rules import NoValidPlan, best_rule, rule_names

    if progress is not None:
        progress(f"trying {len(rule_names(True))} dispatching rules", 0.0)
    try:
        best = best_rule(
            instance, goal, buffers=buffers, seed=seed, anticipatory_setups=anticipatory_setups
        )
    except NoValidPlan as e:
        # every rule deadlocked: return the FIFO attempt so the caller can show the deadlock
        from furnsim.rules import get_rule

        s, _ = run_rule(
            instance,
            get_rule("FIFO"),
            buffers=buffers,
            anticipatory_setups=anticipatory_setups,
            seed=seed,
        )
        return s, {"all_deadlocked": True, "deadlocks": getattr(e, "deadlocks", {})}
    if progress is not None:
        progress(f"best rule {best.rule}", 1.0)
    tried = {k: ("deadlock" if v == float("inf") else v) for k, v in best.costs.items()}
    return best.schedule, {"rules_tried": tried, "best_rule": f"rule:{best.rule}"}


def _lns(
    instance: Instance,
    goal: str,
    *,
    time_limit: float | None,
    seed: int,
    buffers: str,
    anticipatory_setups: bool,
    progress: Callable[[str, float], None] | None,
    **options: Any,
) -> tuple[Schedule, dict[str, Any]]:
    """``furnsim.solvers.lns.lns`` with the planner's options; ``iterations`` (or ``samples``,
    the CLI's ``--passes``) fixes the number of neighbours."""
    from furnsim.solvers.lns import lns

    iterations = options.pop("iterations", None)
    samples = options.pop("samples", None)
    if iterations is None:
        iterations = samples
    if time_limit is None and iterations is None:
        time_limit = LNS_DEFAULT_TIME_LIMIT
    allowed = {"start_ppo", "eps", "accept_worse", "start", "neighbourhoods"}
    unknown = set(options) - allowed - {"time_budget_s"}
    if unknown:
        raise ValueError(f"lns: unknown option(s) {', '.join(sorted(unknown))}")
    r = lns(
        instance,
        goal,
        time_limit=time_limit,
        iterations=None if iterations is None else int(iterations),
        seed=seed,
        buffers=buffers,
        anticipatory_setups=anticipatory_setups,
        progress=progress,
        **{k: v for k, v in options.items() if k in allowed},
    )
    details = {
        "lns": {
            "start": r.start,
            "start_cost": r.start_cost,
            "best_cost": r.cost,
            "iterations": r.iterations,
            "improvements": r.improvements,
            "seconds": r.seconds,
            "time_limit": time_limit,
            "moves": r.moves,
        }
    }
    return r.schedule, details
