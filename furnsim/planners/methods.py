"""The planning methods behind :class:`furnsim.planners.Planner`.

``get_planner("rule:ATC" | "best-rule" | "ppo" | "ppo-lns" | "cpsat" | "lns" | "portfolio:A,B")``
returns the planner; ``planner.plan(instance, goal, budget, state)`` returns a validated,
priced :class:`PlanResult` with a typed :class:`PlanInfo`. Methods that need OR-Tools or
torch import them only when they run; hints and starts are passed as Schedules, so the
solvers never import the planners.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from furnsim.errors import ModelRefused
from furnsim.model import Instance
from furnsim.planners.base import (
    Budget,
    Fallback,
    PassReport,
    PlanInfo,
    PlanResult,
    PlanState,
    Progress,
    Proposal,
    Timings,
    validation_report,
    violation_dict,
)
from furnsim.sim import Schedule, Simulator

__all__ = [
    "LNS_DEFAULT_TIME_LIMIT",
    "METHODS",
    "PPO_DEFAULT_BUDGET_S",
    "PPO_LNS_BUFFER_NEIGHBOURHOODS",
    "PPO_LNS_NEIGHBOURHOODS",
    "PPO_MAX_PASSES",
    "BestRulePlanner",
    "CpsatPlanner",
    "LnsPlanner",
    "MethodPlanner",
    "PortfolioPlanner",
    "PpoLnsPlanner",
    "PpoPlanner",
    "RulePlanner",
    "best_rule_plan",
    "check_method",
    "get_planner",
    "run_rule",
    "score",
]

#: with ``ppo`` and a ``time_limit``, the policy samples passes until the time runs out (this
#: many at most); without one it makes the model's ``plan_samples`` passes within 1.5 s
PPO_MAX_PASSES = 100_000
PPO_DEFAULT_BUDGET_S = 1.5
#: ``lns`` without ``time_limit`` or a number of passes: search this many seconds
LNS_DEFAULT_TIME_LIMIT = 60.0
#: ``ppo-lns`` (policy + optimizer): the neighbourhoods and whether the policy's greedy choice
#: is a suffix mode (docs/optimizer.md, "Policy + optimizer")
PPO_LNS_NEIGHBOURHOODS = ("window", "group", "orders", "policy-window")
#: ... but for a goal that weighs buffer occupancy (Empty Buffers) without the policy's moves:
#: decided in Python, they took time from the hold moves (training weeks, 10 CPU-s: the
#: search without them 0.900 ± 0.033 of the one with them; docs/optimizer.md, "Lanes for
#: Empty Buffers"); the policy's greedy pass stays a start candidate
PPO_LNS_BUFFER_NEIGHBOURHOODS = ("window", "group", "orders")
PPO_LNS_POLICY_SUFFIX = False
#: the method names :func:`get_planner` knows (``rule:NAME`` and ``portfolio:A,B`` besides)
METHODS = ("rule:NAME", "best-rule", "ppo", "ppo-lns", "cpsat", "lns", "portfolio:A,B,...")


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


def score(
    instance: Instance,
    schedule: Schedule,
    goal: str,
    buffers: str | None = None,
    anticipatory_setups: bool | None = None,
) -> tuple[dict[str, Any], float, list[Any]]:
    """KPIs, goal cost and the validator's violations of ``schedule``."""
    from furnsim.goals import cost
    from furnsim.kpi import kpis
    from furnsim.validate import validate

    # checked under the rules asked for, not those the schedule declares (issue 10.4)
    violations = validate(
        schedule, instance, buffers=buffers, anticipatory_setups=anticipatory_setups
    )
    k = kpis(schedule, instance)
    return k, float(cost(k, goal)), list(violations)


def best_rule_plan(
    instance: Instance,
    goal: str,
    buffers: str,
    anticipatory_setups: bool,
    seed: int | None,
    progress: Progress | None,
) -> tuple[Schedule, dict[str, Any]]:
    """Every deterministic rule; the lowest-cost complete schedule (see rules.best_rule)."""
    from furnsim.rules import NoValidPlan, best_rule, get_rule, rule_names

    if progress is not None:
        progress(f"trying {len(rule_names(True))} dispatching rules", 0.0)
    try:
        best = best_rule(
            instance, goal, buffers=buffers, seed=seed, anticipatory_setups=anticipatory_setups
        )
    except NoValidPlan as e:
        # every rule deadlocked: return the FIFO attempt so the caller can show the deadlock
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


# -- the shared part -----------------------------------------------------------------------------
@dataclass
class MethodPlanner:
    """Base of every method: :meth:`propose` is the method, :meth:`plan` the shared checks."""

    name: str
    #: a learned method: with ``state.guard`` its plan is replaced by the best rule's when worse
    guarded: ClassVar[bool] = False

    def propose(
        self, instance: Instance, goal: str, budget: Budget, state: PlanState
    ) -> Proposal:  # pragma: no cover - abstract
        raise NotImplementedError

    def plan(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> PlanResult:
        """Run the method, validate and price its plan, fall back to the best valid rule when
        it failed (deadlock, invalid plan, missing model) or, for learned methods with
        ``state.guard``, when the best rule is cheaper; ``fallback`` says so."""
        from furnsim.goals import get_goal

        goal_name = get_goal(goal).name
        t0 = time.perf_counter()
        buffers, ant = state.buffers, state.anticipatory_setups
        try:
            prop = self.propose(instance, goal_name, budget, state)
        except (ImportError, FileNotFoundError, ModelRefused) as e:
            prop = Proposal(None, fallback=f"{self.name} is not available here ({e})")
        t_method = time.perf_counter() - t0
        schedule, details, fallback = prop.schedule, prop.details, prop.fallback
        deadlock = prop.deadlock
        result_method = schedule.method if schedule is not None and schedule.method else self.name
        scored: tuple[dict[str, Any], float, list[Any]] | None = None
        if schedule is not None:
            k, c, viol = score(instance, schedule, goal_name, buffers, ant)
            scored = (k, c, viol)
            if viol:
                fallback = f"{self.name} produced an invalid plan ({len(viol)} violations)"
                details["rejected_violations"] = [violation_dict(v) for v in viol[:20]]
                schedule, scored = None, None
            elif state.guard and self.guarded:
                rule_s, bdetails = best_rule_plan(
                    instance, goal_name, buffers, ant, state.seed, None
                )
                if details.get("released"):
                    # the policy's plan was released just in time: so is the rule's it is
                    # measured against (like with like; the rule's plan alone would flatter
                    # any released plan)
                    from furnsim.goals import cost as goal_cost
                    from furnsim.solvers.release import release_if_cheaper, store_held_jobs

                    plain = float(goal_cost(rule_s, goal_name, instance))
                    rel = release_if_cheaper(
                        instance,
                        rule_s,
                        goal_name,
                        buffers=buffers,
                        anticipatory_setups=ant,
                        plain_cost=plain,
                    )
                    if rel is not None:
                        details["unreleased_rule_cost"] = plain
                        details["rule_released"] = len(store_held_jobs(rel[0]))
                        rule_s = rel[0]
                rule_scored = score(instance, rule_s, goal_name, buffers, ant)
                rc = rule_scored[1]
                details["policy_cost"] = c
                details["best_rule_cost"] = rc
                if not rule_scored[2] and rule_s.complete and rc < c:
                    rel_txt = " released just in time" if "rule_released" in details else ""
                    fallback = (
                        f"{self.name} plan cost {c:,.2f} is worse than the best rule's "
                        f"({rule_s.method}{rel_txt}: {rc:,.2f})"
                    )
                    details.update(bdetails)
                    schedule, scored = rule_s, rule_scored
                    result_method = rule_s.method
        if schedule is None:
            schedule, bdetails = best_rule_plan(
                instance, goal_name, buffers, ant, state.seed, state.progress
            )
            details.update(bdetails)
            result_method = schedule.method
            if schedule.meta.get("deadlock"):
                deadlock = schedule.meta["deadlock"]
        k, c, viol = (
            scored if scored is not None else score(instance, schedule, goal_name, buffers, ant)
        )
        total = time.perf_counter() - t0
        lb = details.get("lower_bound")
        info = PlanInfo(
            requested=self.name,
            method=result_method,
            goal=goal_name,
            cost=c,
            fallback=None
            if fallback is None
            else Fallback(requested=self.name, method=result_method, reason=fallback),
            validation=validation_report(schedule, viol, state),
            timings=Timings(
                total_s=round(total, 4),
                method_s=round(t_method, 4),
                check_s=round(total - t_method, 4),
            ),
            passes=prop.passes,
            lower_bound=float(lb) if isinstance(lb, int | float) and math.isfinite(lb) else None,
        )
        return PlanResult(
            schedule=schedule,
            kpis=k,
            cost=c,
            valid=not viol and schedule.complete,
            violations=viol,
            method=result_method,
            requested=self.name,
            goal=goal_name,
            wall_time=total,
            fallback=fallback,
            deadlock=deadlock if not schedule.complete else None,
            details=details,
            info=info,
        )


# -- the methods ---------------------------------------------------------------------------------
@dataclass
class RulePlanner(MethodPlanner):
    """One dispatching rule (``rule:NAME``)."""

    rule: str = ""

    def propose(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> Proposal:
        from furnsim.rules import get_rule

        s, sim = run_rule(
            instance,
            get_rule(self.rule),
            buffers=state.buffers,
            anticipatory_setups=state.anticipatory_setups,
            seed=state.seed,
        )
        if sim.deadlock is not None:
            msg = sim.deadlock.message
            return Proposal(None, fallback=f"{self.name} deadlocked ({msg})", deadlock=msg)
        return Proposal(s)


@dataclass
class BestRulePlanner(MethodPlanner):
    """Every rule, the cheapest; with a budget (time or passes) then a search of ε-noisy passes
    around it (option ``eps``, default 0.05), on ``budget.workers`` processes or Ray."""

    def propose(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> Proposal:
        clk = budget.timer()
        t0 = clk()
        schedule, details = best_rule_plan(
            instance, goal, state.buffers, state.anticipatory_setups, state.seed, state.progress
        )
        if not (budget.time_limit or budget.passes) or details.get("all_deadlocked"):
            return Proposal(schedule, details)
        from furnsim.planners.parallel import PassSearch, run_pass_search

        name = str(details["best_rule"]).split(":", 1)[1]
        eps = float(state.options.get("eps", 0.05))
        if state.progress is not None:
            state.progress(f"searching around {name} (noise {eps:g})", 0.0)
        job = PassSearch(
            kind="noisy",
            instance=instance,
            goal=goal,
            seed=int(state.seed or 0),
            buffers=state.buffers,
            anticipatory_setups=state.anticipatory_setups,
            rule=name,
            eps=eps,
        )
        # the rules count into a time budget (as lns's start does): the search gets the rest
        left = None if budget.time_limit is None else max(budget.time_limit - (clk() - t0), 0.0)
        r = run_pass_search(
            job,
            passes=budget.passes,
            time_limit=left,
            workers=budget.workers,
            ray=budget.ray,
            clock=budget.clock,
        )
        base = float(details["rules_tried"][name])  # the rule's own cost, priced by best_rule
        details["search"] = {
            "around": f"rule:{name}",
            "eps": eps,
            "passes": r.passes,
            "seconds": round(r.seconds, 3),
            "rule_cost": base,
            "best_cost": min(r.cost, base),
            "workers": r.workers,
            "backend": r.backend,
        }
        if state.progress is not None:
            state.progress(f"{r.passes} passes around {name}", 1.0)
        report = PassReport(
            kind="noisy",
            passes=r.passes,
            workers=r.workers,
            backend=r.backend,
            seconds=round(r.seconds, 4),
            best_pass=r.best_pass,
            budget="passes" if budget.time_limit is None else "time",
        )
        if r.deadlock is None and r.cost < base:
            return Proposal(r.schedule, details, passes=report)
        return Proposal(schedule, details, passes=report)


def _load_policy(
    goal: str, model: Any, models_dir: Any, budget: Budget
) -> tuple[Any, tuple[str, str | None, str | None], float, float]:
    """The goal's policy (or ``model``) from the process's cache, loaded on first use; its
    cache key, the wall seconds the loading took, and the seconds it took on the budget's
    clock (a time limit covers the loading: the search gets the rest)."""
    from furnsim.planners import parallel
    from furnsim.rl.policy import load_planner

    key = (
        goal,
        None if model is None else str(model),
        None if models_dir is None else str(models_dir),
    )
    t0, clk = time.perf_counter(), budget.timer()
    c0 = clk()
    policy = parallel._policy_cache.get(key)
    if policy is None:
        policy = load_planner(goal, path=model, models_dir=models_dir)
        parallel._policy_cache[key] = policy
    return policy, key, time.perf_counter() - t0, clk() - c0


@dataclass
class PpoPlanner(MethodPlanner):
    """The shipped (or given: options ``model``, ``models_dir``) policy of the goal: a greedy
    pass, then passes sampled from it (``temperature``), the cheapest kept.

    Budget: ``passes`` = exactly that many passes (reproducible on any number of workers);
    ``time_limit`` = sample until the time is spent (loading the policy counts into it;
    ``details["search_budget_s"]`` is what the passes had); neither = the model's ``plan_samples``
    within 1.5 s. The option ``time_budget_s`` overrides the time (the keyword API's).
    Sampling is seeded by the option ``sample_seed`` (default 0), not ``state.seed``, so
    shipped models plan as they always did. Option ``release`` (``auto`` | ``on`` | ``off``,
    as ``lns``'s): for Empty Buffers the cheapest pass is released just in time (jobs held
    at STORE until their plan needs them, ``furnsim.solvers.release``) when that is cheaper;
    ``details["released"]`` counts the held jobs, ``details["unreleased_cost"]`` is the
    pass's own cost."""

    guarded: ClassVar[bool] = True

    def propose(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> Proposal:
        from furnsim.planners.parallel import PassSearch, run_pass_search
        from furnsim.rl.policy import model_path

        opts = dict(state.options)
        model = opts.get("model")
        models_dir = opts.get("models_dir")
        planner, key, load_s, spent = _load_policy(goal, model, models_dir, budget)
        t1 = time.perf_counter()
        meta = planner.meta
        if "time_budget_s" in opts:
            tb = opts["time_budget_s"]
        elif budget.time_limit is not None:
            tb = budget.time_limit
        elif budget.passes is not None:
            tb = None
        else:
            tb = PPO_DEFAULT_BUDGET_S
        if budget.passes is not None:
            k = int(budget.passes)
        elif budget.time_limit is not None:
            k = PPO_MAX_PASSES
        else:
            k = int(meta.get("plan_samples", 1))
        temp = opts.get("temperature")
        tau = float(temp if temp is not None else meta.get("plan_temperature", 1.0))
        job = PassSearch(
            kind="ppo",
            instance=instance,
            goal=goal,
            seed=int(opts.get("sample_seed", 0)),
            buffers=state.buffers,
            model=key[1],
            models_dir=key[2],
            temperature=tau,
        )
        search_tb = None if tb is None else float(tb)
        if search_tb is not None and "time_budget_s" not in opts and budget.time_limit is not None:
            # a time limit covers loading the policy too: the passes get the rest
            search_tb = max(search_tb - spent, 0.0)
        r = run_pass_search(
            job,
            passes=max(k, 1),
            time_limit=search_tb,
            workers=budget.workers,
            ray=budget.ray,
            clock=budget.clock,
        )
        t2 = time.perf_counter()
        details: dict[str, Any] = {
            "model": str(model or model_path(goal, models_dir)),
            "view": planner.view,
            "trained_goal": meta.get("trained_goal", meta.get("goal")),
            "timesteps": meta.get("timesteps"),
            "commit": meta.get("commit"),
            "load_s": round(load_s, 4),
            "plan_s": round(t2 - t1, 4),
            "decisions": r.decisions,
            "passes": r.passes,
            "time_budget_s": tb,
            "search_budget_s": search_tb,  # what the passes had after the policy's loading
            "greedy_cost": r.costs[0],
            "temperature": tau,
            "workers": r.workers,
            "backend": r.backend,
        }
        if r.deadlock is not None:
            details["deadlock"] = r.deadlock
        from furnsim.solvers.release import release_if_cheaper, releasing, store_held_jobs

        schedule = r.schedule
        if schedule is not None and releasing(opts.get("release", "auto"), goal):
            rel = release_if_cheaper(
                instance,
                schedule,
                goal,
                buffers=state.buffers,
                anticipatory_setups=state.anticipatory_setups,
                plain_cost=r.costs[r.best_pass] if r.costs else None,
            )
            if rel is not None:
                details["unreleased_cost"] = r.costs[r.best_pass] if r.costs else None
                schedule = rel[0]
                details["released"] = len(store_held_jobs(schedule))
        report = PassReport(
            kind="ppo",
            passes=r.passes,
            workers=r.workers,
            backend=r.backend,
            seconds=round(r.seconds, 4),
            best_pass=r.best_pass,
            budget="passes" if tb is None else "time",
        )
        return Proposal(schedule, details, passes=report)


def _resolve_hint(
    instance: Instance, goal: str, hint: Any, state: PlanState, limit: float
) -> tuple[Schedule | str | None, str | None]:
    """A CP-SAT hint given as a method name -> that method's (valid) schedule, planned within
    30 % of CP-SAT's ``limit``. The rules (``auto``/``best-rule``, ``rule:NAME``) and
    Schedules go to ``solve_cpsat`` as they are."""
    if hint is None or isinstance(hint, Schedule):
        return hint, None
    name = str(hint).strip()
    low = name.lower()
    if low in ("auto", "best-rule", "best_rule", "rules") or low.startswith("rule:"):
        return name, None
    if low in ("cpsat", "cp-sat"):
        raise ValueError("hint='cpsat' would warm-start CP-SAT with itself")
    sub = get_planner(name)
    res = sub.plan(
        instance,
        goal,
        Budget(time_limit=0.3 * limit),
        replace(state, progress=None, options={}, hint=None),
    )
    return (res.schedule if res.valid else None), res.method


@dataclass
class CpsatPlanner(MethodPlanner):
    """OR-Tools CP-SAT (``furnsim.solvers.cpsat``), warm-started from ``state.hint`` or the
    option ``hint`` (a method name, default ``auto`` = the best rule), resolved here into a
    Schedule. ``time_limit`` default 60 s; other options go to ``solve_cpsat``."""

    def propose(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> Proposal:
        from furnsim.solvers.cpsat import NoUsablePlan, solve_cpsat

        opts = dict(state.options)
        hint_opt = opts.pop("hint", "auto")
        t0 = time.perf_counter()
        limit = budget.time_limit or 60.0
        hint, label = (
            (state.hint, "schedule")
            if state.hint is not None
            else _resolve_hint(instance, goal, hint_opt, state, limit)
        )
        try:
            schedule, details = solve_cpsat(
                instance,
                goal,
                time_limit=max(limit - (time.perf_counter() - t0), 0.01),
                buffers=state.buffers,
                anticipatory_setups=state.anticipatory_setups,
                seed=state.seed,
                progress=state.progress,
                hint=hint,
                hint_label=label,
                **opts,
            )
        except NoUsablePlan as e:
            # e.g. every CP solution needs a swap through full buffers (a deadlock)
            return Proposal(None, fallback=f"{self.name}: {e}")
        return Proposal(schedule, details)


@dataclass
class LnsPlanner(MethodPlanner):
    """Large-neighbourhood search (``furnsim.solvers.lns``) from the best rule / policy plan:
    ``time_limit`` seconds (default 60) or exactly ``passes`` neighbours (option
    ``iterations`` too), reproducible with the same seed. ``state.hint`` is the cost to beat."""

    ALLOWED: ClassVar[frozenset[str]] = frozenset(
        {
            "start_ppo",
            "eps",
            "accept",
            "accept_worse",
            "lahc_length",
            "start",
            "neighbourhoods",
            "start_search",
            "fast",
            "window_width",
            "orders_jobs",
            "orders_shift",
            "orders_targeted",
            "orders_target",
            "prior",
            "release",
            "suffix_draw",
            "per_second",
            "lanes",
            "lane_phase",
            "lane_starts",
        }
    )

    def propose(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> Proposal:

        opts = dict(state.options)
        iterations = opts.pop("iterations", None)
        if iterations is None:
            iterations = budget.passes
        time_limit = budget.time_limit
        if time_limit is None and iterations is None:
            time_limit = LNS_DEFAULT_TIME_LIMIT
        unknown = set(opts) - self.ALLOWED - {"time_budget_s", "samples"}
        if unknown:
            raise ValueError(f"lns: unknown option(s) {', '.join(sorted(unknown))}")
        kw = {k: v for k, v in opts.items() if k in self.ALLOWED}
        if state.hint is not None:
            kw.setdefault("start", state.hint)
        return _lns_proposal(self.name, instance, goal, budget, state, time_limit, iterations, kw)


def _lns_proposal(
    name: str,
    instance: Instance,
    goal: str,
    budget: Budget,
    state: PlanState,
    time_limit: float | None,
    iterations: int | None,
    kw: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Proposal:
    """Run ``furnsim.solvers.lns.lns`` with the plan state's seed, buffers and progress and the
    budget's clock; its result as a Proposal (``details["lns"]`` plus ``extra``)."""
    from furnsim.rules import NoValidPlan
    from furnsim.solvers.lns import lns

    try:
        r = lns(
            instance,
            goal,
            time_limit=time_limit,
            iterations=None if iterations is None else int(iterations),
            seed=int(state.seed or 0),
            buffers=state.buffers,
            anticipatory_setups=state.anticipatory_setups,
            progress=state.progress,
            clock=budget.clock,
            **kw,
        )
    except NoValidPlan as e:  # every rule deadlocked: no start plan
        return Proposal(None, fallback=f"{name}: {str(e).splitlines()[0]}")
    details = {"lns": _lns_details(r, time_limit), **(extra or {})}
    report = PassReport(
        kind="lns",
        passes=int(r.iterations),
        workers=1,
        backend="inline",
        seconds=float(r.seconds),
        budget="passes" if time_limit is None else "time",
    )
    return Proposal(r.schedule, details, passes=report)


def _lns_details(r: Any, time_limit: float | None) -> dict[str, Any]:
    return {
        "start": r.start,
        "start_cost": r.start_cost,
        "best_cost": r.cost,
        "iterations": r.iterations,
        "improvements": r.improvements,
        "seconds": r.seconds,
        "time_limit": time_limit,
        "clock": r.clock,
        "validations": r.validations,
        "start_s": r.start_s,
        "longest_s": r.longest_s,
        "search_s": r.search_s,
        "compiled": r.compiled,
        "decisions": r.decisions,
        "released": r.released,
        "moves": r.moves,
        "move_s": r.move_s,
        "lanes": r.lanes,
        "lane_starts": r.lane_starts,
    }


@dataclass
class PpoLnsPlanner(MethodPlanner):
    """**Policy + optimizer** (``ppo-lns``): the LNS optimizer (``furnsim.solvers.lns``) guided
    by the goal's learned policy (shipped, or options ``model`` / ``models_dir``).

    The policy's greedy pass is a start candidate next to every dispatching rule (the cheaper
    one starts), and the search draws, besides ``lns``'s own neighbourhoods,
    ``policy-window`` moves (deviations drawn from the policy's distribution at
    ``temperature`` -- default: the model's ``plan_temperature`` -- instead of uniformly);
    options ``neighbourhoods`` (e.g. ``policy-tail``: the best plan's prefix resumed from a
    simulator snapshot, then a pass sampled from the policy to the end) and
    ``policy_suffix`` change that (defaults ``PPO_LNS_NEIGHBOURHOODS`` -- for Empty Buffers
    ``PPO_LNS_BUFFER_NEIGHBOURHOODS``, no policy moves, and the hold moves --,
    ``PPO_LNS_POLICY_SUFFIX``: the variant chosen by the measurements in
    docs/optimizer.md). Budget as
    ``lns``: ``time_limit`` seconds (``clock``; default 60) or exactly ``passes``
    neighbours, reproducible with the same seed. Never worse than its start (the best rule
    or the policy's pass); without a usable model it falls back to the best rule and says
    so (plain ``lns`` is the optimizer without the policy)."""

    ALLOWED: ClassVar[frozenset[str]] = LnsPlanner.ALLOWED | {"temperature", "policy_suffix"}

    def propose(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> Proposal:
        from furnsim.rl.policy import model_path
        from furnsim.solvers.lns import default_neighbourhoods
        from furnsim.solvers.release import wants_release

        opts = dict(state.options)
        model, models_dir = opts.pop("model", None), opts.pop("models_dir", None)
        opts.pop("sample_seed", None)
        policy, _key, load_s, spent = _load_policy(goal, model, models_dir, budget)
        iterations = opts.pop("iterations", None)
        if iterations is None:
            iterations = budget.passes
        time_limit = budget.time_limit
        tb = opts.pop("time_budget_s", None)  # the ppo-prefixed keyword API's time
        if time_limit is None and tb is not None:
            time_limit = float(tb)
        opts.pop("samples", None)
        if time_limit is None and iterations is None:
            time_limit = LNS_DEFAULT_TIME_LIMIT
        if time_limit is not None:  # the search gets what the policy's loading left
            time_limit = max(float(time_limit) - spent, 0.0)
        unknown = set(opts) - self.ALLOWED
        if unknown:
            raise ValueError(f"ppo-lns: unknown option(s) {', '.join(sorted(unknown))}")
        kw: dict[str, Any] = dict(opts)
        if kw.get("neighbourhoods") is None:  # (+ ``hold`` for Empty Buffers, as ``lns``)
            base = PPO_LNS_BUFFER_NEIGHBOURHOODS if wants_release(goal) else PPO_LNS_NEIGHBOURHOODS
            kw["neighbourhoods"] = default_neighbourhoods(goal, base)
        kw.setdefault("policy_suffix", PPO_LNS_POLICY_SUFFIX)
        temp = kw.pop("temperature", None)
        tau = float(temp if temp is not None else policy.meta.get("plan_temperature", 1.0))
        kw.setdefault("start_ppo", True)  # the policy's greedy pass: a start candidate
        if state.hint is not None:
            kw.setdefault("start", state.hint)
        meta = policy.meta
        extra = {
            "policy": {
                "model": str(model or model_path(goal, models_dir)),
                "trained_goal": meta.get("trained_goal", meta.get("goal")),
                "timesteps": meta.get("timesteps"),
                "commit": meta.get("commit"),
                "temperature": tau,
                "load_s": round(load_s, 4),
                "neighbourhoods": list(kw["neighbourhoods"]),
                "policy_suffix": bool(kw["policy_suffix"]),
            },
        }
        kw.update(policy=policy, temperature=tau, name=self.name)
        return _lns_proposal(
            self.name, instance, goal, budget, state, time_limit, iterations, kw, extra
        )


def _portfolio_member(
    instance: Instance, goal: str, method: str, budget: Budget, state: PlanState
) -> PlanResult:
    return get_planner(method).plan(instance, goal, budget, state)


@dataclass
class PortfolioPlanner(MethodPlanner):
    """``portfolio:A,B,...``: every member method with the same budget, side by side on
    ``budget.workers`` processes or Ray; the cheapest valid plan wins (ties: the first
    member). ``details["portfolio"]`` has each member's method, cost, validity and time."""

    members: tuple[str, ...] = ()

    def propose(self, instance: Instance, goal: str, budget: Budget, state: PlanState) -> Proposal:
        from furnsim.planners.parallel import map_tasks

        member_budget = replace(budget, workers=1, ray=None)
        member_state = replace(state, progress=None)
        t0 = time.perf_counter()
        results, backend = map_tasks(
            _portfolio_member,
            [(instance, goal, m, member_budget, member_state) for m in self.members],
            workers=min(budget.workers, len(self.members)),
            ray=budget.ray,
        )
        table = [
            {
                "member": m,
                "method": r.method,
                "cost": r.cost,
                "valid": r.valid,
                "fallback": r.fallback,
                "time_s": round(r.wall_time, 4),
            }
            for m, r in zip(self.members, results, strict=True)
        ]
        ok = [(r.cost, i) for i, r in enumerate(results) if r.valid]
        details: dict[str, Any] = {"portfolio": table, "backend": backend}
        report = PassReport(
            kind="portfolio",
            passes=len(self.members),
            workers=min(budget.workers, len(self.members)) if budget.ray is None else 0,
            backend=backend,
            seconds=round(time.perf_counter() - t0, 4),
            best_pass=min(ok)[1] if ok else None,
            budget="passes" if budget.time_limit is None else "time",
        )
        if not ok:
            return Proposal(None, details, fallback=f"{self.name}: no member made a valid plan")
        win = results[min(ok)[1]]
        details["winner"] = self.members[min(ok)[1]]
        details.update({k: v for k, v in win.details.items() if k not in details})
        return Proposal(win.schedule, details, passes=report)


def get_planner(method: str) -> MethodPlanner:
    """The planner of ``method`` (``rule:NAME``, ``best-rule``, ``ppo``, ``ppo-lns`` (policy +
    optimizer), ``cpsat``, ``lns``, ``portfolio:A,B,...``); ValueError/KeyError for an
    unknown one."""
    m = method.strip()
    low = m.lower()
    if low.startswith("rule:"):
        from furnsim.rules import get_rule

        get_rule(m.split(":", 1)[1])  # unknown rule: KeyError/ValueError now
        return RulePlanner(m, rule=m.split(":", 1)[1])
    if low in ("best-rule", "best_rule", "rules"):
        return BestRulePlanner(m)
    if low in ("cpsat", "cp-sat"):
        return CpsatPlanner(m)
    if low == "lns":
        return LnsPlanner(m)
    if low in ("ppo-lns", "ppo+lns"):
        return PpoLnsPlanner("ppo-lns")
    if low.startswith("ppo"):
        return PpoPlanner(m)
    if low.startswith("portfolio:"):
        members = tuple(x.strip() for x in m.split(":", 1)[1].split(",") if x.strip())
        if not members:
            raise ValueError("portfolio: name at least one method, e.g. portfolio:best-rule,lns")
        for x in members:
            if x.lower().startswith("portfolio"):
                raise ValueError("a portfolio cannot contain a portfolio")
            get_planner(x)
        return PortfolioPlanner(m, members=members)
    raise ValueError(
        f"unknown method {method!r}: use rule:NAME, best-rule, cpsat, ppo, ppo-lns, lns or "
        "portfolio:A,B,..."
    )


def check_method(method: str) -> str | None:
    """None when ``method`` names a planner, else the error message."""
    try:
        get_planner(method)
    except (KeyError, ValueError) as e:
        return str(e.args[0] if e.args else e)
    return None
