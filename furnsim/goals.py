"""Planning goals: weighted costs over the KPIs — THE cost every method is scored by.

Goals live in ``configs/goals.yaml`` (documented) with an identical packaged copy
``furnsim/data/goals.yaml`` that is used when no path is given::

    goal = get_goal("Empty Buffers")          # or "empty-buffers", "empty_buffers"
    c = cost(schedule, goal, instance)        # or cost(kpis(schedule, instance), "speed")
    terms = cost_breakdown(schedule, goal, instance)   # {kpi: weight * value}

``cost`` is ``Σ weight_k · kpi_k`` over the goal's weights; a schedule that is not complete
(deadlock) costs ``inf``.

Incremental form (for the RL reward)
------------------------------------
Every KPI a goal may weigh is a sum over events or a time integral, so the cost of the
*partial* schedule at simulation time ``now`` is well defined (:func:`partial_cost`):

* committed at dispatch: setup and processing minutes, setup count, the completion of a job
  whose last operation is dispatched, and the makespan lower bound ``max(now, latest
  committed end)``;
* integrated up to ``now``: buffer occupancy and overflow (volume held from departure until
  processing starts, open intervals closed at ``now``), blocking (a job still blocking its
  machine counts ``now - end``), and lateness of unfinished work (an unfinished job counts
  as completing ``now``, so a late order's tardiness grows by one minute per minute);
* ``idle_time`` = makespan · machines − processing − setup − blocked, all as above.

When the simulation is done (no deadlock), ``now`` is the makespan and every quantity is
final, so ``partial_cost(sim, goal) == cost(sim.schedule(), goal, instance)`` (tested). With
the reward ``r_k = partial_cost(before) − partial_cost(after)`` the episode return
telescopes to ``partial_cost(at reset) − cost(final schedule)``: minus the cost plus a
constant (zero unless the first decision comes after time 0). A deadlocked episode has no
finite final cost; the environment should add its own penalty there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from furnsim.kpi import KPI_NAMES, kpis, partial_kpis
from furnsim.model import CompiledInstance, Instance
from furnsim.sim.schedule import Schedule

__all__ = [
    "DEFAULT_GOALS_PATH",
    "Goal",
    "cost",
    "cost_breakdown",
    "get_goal",
    "goal_names",
    "load_goals",
    "partial_cost",
]

#: the packaged copy of configs/goals.yaml
DEFAULT_GOALS_PATH = Path(__file__).parent / "data" / "goals.yaml"


@dataclass(frozen=True, eq=False)
class Goal:
    """A planning goal: ``cost = Σ weights[kpi] · kpis[kpi]`` (lower is better)."""

    name: str  # canonical key: "speed", "efficiency", "empty-buffers"
    label: str  # for people: "Speed", "Efficiency", "Empty Buffers"
    weights: dict[str, float] = field(default_factory=dict)  # KPI name -> cost per unit
    description: str = ""

    def __post_init__(self) -> None:
        if not self.weights:
            raise ValueError(f"goal {self.name!r} has no weights")
        for k, w in self.weights.items():
            if k not in KPI_NAMES:
                raise ValueError(
                    f"goal {self.name!r}: unknown KPI {k!r} (one of {', '.join(KPI_NAMES)})"
                )
            if not (isinstance(w, int | float) and math.isfinite(w) and w >= 0):
                raise ValueError(
                    f"goal {self.name!r}: weight of {k} must be a finite number >= 0, got {w!r}"
                )


def _norm(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def load_goals(path: str | Path | None = None) -> dict[str, Goal]:
    """Goals by canonical name from ``path`` (default: the packaged goals.yaml)."""
    if path is None:
        return dict(_load_default())
    return _read(Path(path))


@lru_cache(maxsize=1)
def _load_default() -> dict[str, Goal]:
    return _read(DEFAULT_GOALS_PATH)


def _read(path: Path) -> dict[str, Goal]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise ValueError(
            f"{path}: expected a mapping of goal name -> {{label, description, weights}}"
        )
    goals: dict[str, Goal] = {}
    for key, spec in data.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("weights"), dict):
            raise ValueError(f"{path}: goal {key!r} needs a 'weights' mapping")
        name = _norm(str(key))
        goals[name] = Goal(
            name=name,
            label=str(spec.get("label", key)),
            weights={str(k): float(v) for k, v in spec["weights"].items()},
            description=" ".join(str(spec.get("description", "")).split()),
        )
    return goals


def goal_names(path: str | Path | None = None) -> list[str]:
    return list(load_goals(path))


def get_goal(goal: str | Goal, goals: Mapping[str, Goal] | None = None) -> Goal:
    """A goal by name or label, dashes, underscores, spaces and case ignored."""
    if isinstance(goal, Goal):
        return goal
    table = goals if goals is not None else _load_default()
    key = _norm(goal)
    for g in table.values():
        if key in (g.name, _norm(g.label)):
            return g
    raise KeyError(
        f"unknown goal {goal!r}: choose one of {', '.join(g.label for g in table.values())}"
    )


def _kpis_of(
    schedule_or_kpis: Schedule | Mapping[str, float],
    instance: Instance | CompiledInstance | None,
    g: Goal | None = None,
) -> Mapping[str, float]:
    if isinstance(schedule_or_kpis, Schedule):
        # only what the goal weighs (the same values; ``kpis`` skips the buffer step
        # functions and the working-time pass when none of their KPIs is asked for)
        need = None if g is None else [k for k, w in g.weights.items() if w]
        return kpis(schedule_or_kpis, instance, need=need)
    return schedule_or_kpis


def _terms(k: Mapping[str, float], g: Goal) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, w in g.weights.items():
        if w == 0:
            continue
        if name not in k:
            raise ValueError(
                f"goal {g.name!r} weighs {name!r}, which these KPIs lack "
                "(pass the instance: deadline and release KPIs need it)"
            )
        out[name] = w * float(k[name])
    return out


def cost_breakdown(
    schedule_or_kpis: Schedule | Mapping[str, float],
    goal: str | Goal,
    instance: Instance | CompiledInstance | None = None,
) -> dict[str, float]:
    """The weighted terms ``{kpi: weight · value}`` whose sum is :func:`cost`."""
    return _terms(_kpis_of(schedule_or_kpis, instance), get_goal(goal))


def cost(
    schedule_or_kpis: Schedule | Mapping[str, float],
    goal: str | Goal,
    instance: Instance | CompiledInstance | None = None,
) -> float:
    """The goal's cost of a schedule (or of its KPIs); ``inf`` for an incomplete schedule."""
    g = get_goal(goal)
    k = _kpis_of(schedule_or_kpis, instance, g)
    if float(k.get("complete", 1.0)) < 1.0:
        return math.inf
    return float(sum(_terms(k, g).values()))


def partial_cost(sim: Any, goal: str | Goal) -> float:
    """Cost of the partial schedule of a running :class:`~furnsim.sim.Simulator` at ``sim.time``.

    See the module docstring; equals :func:`cost` of the final schedule once the run is done.
    """
    g = get_goal(goal)
    k = partial_kpis(sim, need=g.weights.keys())
    return float(sum(_terms(k, g).values()))
