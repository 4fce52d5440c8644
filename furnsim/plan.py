"""The one planning service under the CLI, the dashboard, the API and re-planning.

``plan(instance, goal, method)`` is the keyword form of the planner protocol
(:mod:`furnsim.planners`): it builds a :class:`~furnsim.planners.Budget` and a
:class:`~furnsim.planners.PlanState` and calls ``get_planner(method).plan(...)``, which runs the
method (a dispatching rule, the best rule, CP-SAT, the trained policy, LNS, or a portfolio of
them), validates its schedule with the independent validator, scores it with the goal's cost,
and falls back to the best valid dispatching rule when the method fails (deadlock, invalid
plan, missing model) — saying so in ``PlanResult.fallback`` and ``PlanResult.info``.

This module imports no solver: ``furnsim.solvers`` never imports it either (hints are
Schedules; tests/test_planners.py checks the imports are one-way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast

from furnsim.model import Instance
from furnsim.planners.base import Budget, PlanResult, PlanState, violation_dict
from furnsim.planners.methods import (
    LNS_DEFAULT_TIME_LIMIT,
    PPO_DEFAULT_BUDGET_S,
    PPO_MAX_PASSES,
    best_rule_plan,
    get_planner,
    run_rule,
    score,
)

__all__ = ["LNS_DEFAULT_TIME_LIMIT", "PPO_MAX_PASSES", "PlanResult", "plan", "run_rule"]

# the names the dashboard, replan and older callers import
_score = score
_violation_dict = violation_dict
_best_rule = best_rule_plan


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
    workers: int = 1,
    ray: str | None = None,
    passes: int | None = None,
    clock: str = "wall",
    **options: Any,
) -> PlanResult:
    """Plan ``instance`` for ``goal`` with ``method`` (``rule:NAME``, ``best-rule``, ``cpsat``,
    ``ppo``, ``lns``, ``ppo-lns``, ``portfolio:A,B,...``).

    ``lns`` (``furnsim.solvers.lns``) improves the best rule's (or policy's) plan by
    large-neighbourhood search for ``time_limit`` seconds (default
    ``LNS_DEFAULT_TIME_LIMIT``), or exactly ``iterations=N`` neighbours (``options``;
    reproducible with the same ``seed``); ``details["lns"]`` reports it. ``ppo-lns`` is
    *policy + optimizer*: the same search guided by the goal's learned policy (its pass as a
    start candidate, neighbourhoods sampled from it; ``details["policy"]``).

    ``time_limit`` (seconds) bounds CP-SAT's search and, for ``ppo``, the policy's: one greedy
    pass, then passes sampled from the policy until the time is spent, the cheapest kept
    (``samples=N`` in ``options`` caps the passes; without a time limit: the model's default,
    within 1.5 s). For ``best-rule`` a ``time_limit`` (or ``samples=N``) adds, after the
    rules, a search of ε-noisy passes around the best one (``eps`` in ``options``, default
    0.05); ``details["search"]`` reports it.

    ``clock`` (``"wall"`` or ``"cpu"``) is what ``time_limit`` counts (``Budget.clock``: CPU
    seconds of this process do not depend on other load on the machine; CP-SAT keeps its
    own wall limit).

    ``passes`` is the protocol's exact budget (``Budget.passes``: policy or noisy passes,
    LNS neighbours; no time cap unless ``time_limit``); ``samples`` is its older spelling,
    which for ``ppo`` keeps the 1.5 s cap when no time is given.

    ``workers`` (local processes) or ``ray`` (``"auto"`` or a cluster address) spread the
    pass searches (``ppo``, the ``best-rule`` search) and a portfolio's members; a number of
    passes (``samples``) gives the same plan for any of them, a time budget more passes.

    With ``guard`` (default) a learned policy's plan is also compared with the best rule's
    and replaced by it when it is worse; ``fallback`` then says so. Invalid or deadlocked plans
    always fall back to the best valid rule.
    """
    planner = get_planner(method)  # unknown method / rule: ValueError / KeyError
    low = method.strip().lower()
    samples = options.pop("samples", None)
    optimizer = low in ("lns", "ppo-lns", "ppo+lns")
    if optimizer and options.get("iterations") is None:
        options.pop("iterations", None)
    if (
        low.startswith("ppo")
        and not optimizer
        and passes is None
        and samples is not None
        and time_limit is None
        and "time_budget_s" not in options
    ):
        # the keyword API's samples=N without a time: capped at 1.5 s as it always was
        options["time_budget_s"] = PPO_DEFAULT_BUDGET_S
    if passes is None:
        passes = samples
    budget = Budget(
        time_limit=time_limit,
        passes=None if passes is None else int(passes),
        workers=int(workers),
        ray=ray,
        clock=cast(Literal["wall", "cpu"], clock),  # Budget checks it
    )
    state = PlanState(
        buffers=buffers,
        anticipatory_setups=anticipatory_setups,
        seed=seed,
        guard=guard,
        progress=progress,
        options=options,
    )
    return planner.plan(instance, goal, budget, state)
