"""One planner protocol for every method (docs/optimizer.md, "Planner protocol").

    from furnsim.planners import Budget, PlanState, get_planner
    res = get_planner("best-rule").plan(instance, "speed", Budget(passes=64, workers=2), PlanState())
    res.info.validation, res.info.fallback, res.info.passes

``furnsim.plan.plan(instance, goal, method, ...)`` is the keyword form of the same call.
"""

from __future__ import annotations

from furnsim.planners.base import (
    Budget,
    Fallback,
    PassReport,
    PlanInfo,
    Planner,
    PlanResult,
    PlanState,
    Proposal,
    Timings,
    ValidationReport,
)
from furnsim.planners.methods import (
    LNS_DEFAULT_TIME_LIMIT,
    METHODS,
    PPO_MAX_PASSES,
    BestRulePlanner,
    CpsatPlanner,
    LnsPlanner,
    MethodPlanner,
    PortfolioPlanner,
    PpoLnsPlanner,
    PpoPlanner,
    RulePlanner,
    check_method,
    get_planner,
)

__all__ = [
    "LNS_DEFAULT_TIME_LIMIT",
    "METHODS",
    "PPO_MAX_PASSES",
    "BestRulePlanner",
    "Budget",
    "CpsatPlanner",
    "Fallback",
    "LnsPlanner",
    "MethodPlanner",
    "PassReport",
    "PlanInfo",
    "PlanResult",
    "PlanState",
    "Planner",
    "PortfolioPlanner",
    "PpoLnsPlanner",
    "PpoPlanner",
    "Proposal",
    "RulePlanner",
    "Timings",
    "ValidationReport",
    "check_method",
    "get_planner",
]
