"""The planner protocol: ``Planner.plan(instance, goal, budget, state) -> PlanResult``.

Every planning method (a dispatching rule, the best rule with its noisy search, the learned
policy, CP-SAT, the LNS optimizer) is a :class:`Planner`. A planner only *proposes* a
schedule (:meth:`MethodPlanner.propose`); the shared :meth:`MethodPlanner.plan` validates it
with the independent validator, prices it with the goal, guards learned plans against the best
rule and falls back to the best valid rule when the method fails, and reports all of it in the
typed :class:`PlanInfo` (``PlanResult.info``). ``furnsim.plan.plan`` is the keyword façade over
this (CLI, dashboard, API, replan).

The dataclasses here import nothing heavy (no OR-Tools, no torch).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from furnsim.model import Instance
from furnsim.sim import Schedule

__all__ = [
    "Budget",
    "Fallback",
    "PassReport",
    "PlanInfo",
    "PlanResult",
    "PlanState",
    "Planner",
    "Proposal",
    "Timings",
    "ValidationReport",
    "violation_dict",
]

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Budget:
    """How much a planner may spend.

    ``passes`` fixes the work (policy passes, noisy passes, LNS neighbours): the same
    ``passes`` and seed give the same plan, whatever ``workers`` or ``ray`` is. ``time_limit``
    (seconds) bounds the wall time instead; with several workers a time budget yields more
    passes, so its plan may differ from a 1-worker run. ``workers``: local processes for pass
    searches (1 = in this process). ``ray``: ``"auto"`` or a cluster address to run passes on
    Ray instead of local processes (needs the ``scale`` extra).

    ``clock`` says what ``time_limit`` counts: ``"wall"`` (elapsed seconds) or ``"cpu"``
    (``time.process_time``: CPU seconds of the planning process, all its threads; with
    several local workers each gets ``time_limit / workers`` of its own CPU). A CPU budget
    does not shrink when other work loads the machine, so plans made under load compare
    fairly. CP-SAT always runs on its own (wall) time limit.
    """

    time_limit: float | None = None
    passes: int | None = None
    workers: int = 1
    ray: str | None = None
    clock: Literal["wall", "cpu"] = "wall"

    def __post_init__(self) -> None:
        if self.time_limit is not None and not self.time_limit >= 0:
            raise ValueError(f"time_limit must be >= 0 seconds, not {self.time_limit!r}")
        if self.passes is not None and int(self.passes) < 1:
            raise ValueError(f"passes must be >= 1, not {self.passes!r}")
        if int(self.workers) < 1:
            raise ValueError(f"workers must be >= 1, not {self.workers!r}")
        if self.clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', not {self.clock!r}")

    def timer(self) -> Callable[[], float]:
        """The clock ``time_limit`` is measured on (``time.perf_counter`` or ``process_time``)."""
        return time.process_time if self.clock == "cpu" else time.perf_counter


@dataclass(frozen=True)
class PlanState:
    """The rules a plan is made under and what the method may start from.

    The shop state of a re-plan (work in progress, pins) travels on the instance
    (``instance.situation``); ``hint`` is a schedule a method may warm-start from (CP-SAT's
    hint, LNS's start). ``options`` are method-specific extras (``eps``, ``temperature``,
    ``model``, ``neighbourhoods``, ...).
    """

    buffers: str = "hard"
    anticipatory_setups: bool = True
    seed: int | None = 0
    guard: bool = True
    hint: Schedule | None = None
    progress: Progress | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.buffers not in ("hard", "soft"):
            raise ValueError(f"buffers must be 'hard' or 'soft', not {self.buffers!r}")


@dataclass
class Fallback:
    """The requested method's plan was not used: ``reason`` says why, ``method`` what replaced it."""

    requested: str
    method: str
    reason: str


@dataclass
class ValidationReport:
    """The independent validator's verdict on the returned schedule."""

    valid: bool
    complete: bool
    violations: int
    kinds: dict[str, int]  # violation kind -> count
    buffers: str
    anticipatory_setups: bool


@dataclass
class Timings:
    total_s: float  # the whole plan() call
    method_s: float  # the method's own work (its search, solve, passes)
    check_s: float  # validation and pricing (and the guard's best rule)


@dataclass
class PassReport:
    """A search made of passes (policy samples, noisy rule passes, LNS neighbours)."""

    kind: str  # "ppo" | "noisy" | "lns"
    passes: int
    workers: int
    backend: str  # "inline" | "processes" | "ray"
    seconds: float
    best_pass: int | None = None
    budget: str = ""  # "passes" (reproducible for any worker count) | "time"

    @property
    def passes_per_s(self) -> float:
        return self.passes / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class PlanInfo:
    """Typed summary of a plan: what was asked, what ran, the fallback, the check, the cost."""

    requested: str
    method: str
    goal: str
    cost: float
    fallback: Fallback | None
    validation: ValidationReport
    timings: Timings
    passes: PassReport | None = None
    lower_bound: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.passes is not None:
            d["passes"]["passes_per_s"] = round(self.passes.passes_per_s, 3)
        return d


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
    info: PlanInfo | None = None  # the typed report (set by every Planner)

    def to_dict(
        self, instance: Instance | None = None, with_schedule: bool = True
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kpis": self.kpis,
            "cost": self.cost,
            "valid": self.valid,
            "violations": [violation_dict(v) for v in self.violations],
            "method": self.method,
            "requested": self.requested,
            "goal": self.goal,
            "fallback": self.fallback,
            "deadlock": self.deadlock,
            "wall_time_s": self.wall_time,
            "details": self.details,
            "operations": self.schedule.records(instance),
        }
        if self.info is not None:
            d["info"] = self.info.to_dict()
        if with_schedule:
            d["schedule"] = self.schedule.to_dict()
        return d


def violation_dict(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    return {
        "kind": getattr(v, "kind", ""),
        "message": getattr(v, "message", str(v)),
        "ops": list(getattr(v, "ops", ())),
    }


def validation_report(
    schedule: Schedule, violations: list[Any], state: PlanState
) -> ValidationReport:
    kinds = Counter(str(violation_dict(v).get("kind", "")) for v in violations)
    return ValidationReport(
        valid=not violations and schedule.complete,
        complete=bool(schedule.complete),
        violations=len(violations),
        kinds=dict(kinds),
        buffers=state.buffers,
        anticipatory_setups=state.anticipatory_setups,
    )


@dataclass
class Proposal:
    """What a method returns before the shared checks: a schedule (None = failed, with
    ``fallback`` saying why), its details, the deadlock message and the pass report."""

    schedule: Schedule | None
    details: dict[str, Any] = field(default_factory=dict)
    fallback: str | None = None
    deadlock: str | None = None
    passes: PassReport | None = None


@runtime_checkable
class Planner(Protocol):
    """One planning method behind the common interface."""

    name: str

    def plan(
        self, instance: Instance, goal: str, budget: Budget, state: PlanState
    ) -> PlanResult: ...
