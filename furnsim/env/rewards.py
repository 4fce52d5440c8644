"""Reward objects: small, stateful between ``reset`` and episode end.

:class:`CostReward` is the goal reward: ``r_k = (partial_cost before − partial_cost after) /
scale`` with :func:`furnsim.goals.partial_cost`, the same cost the evaluator uses. The
return telescopes to ``−cost(final schedule) / scale`` (the cost at reset is 0 when the first
decision is at time 0, otherwise a constant). At the last step the final cost is taken from
:func:`furnsim.goals.cost` of the finished schedule, so the identity is exact. Between decisions the partial cost is kept per event
(:class:`furnsim.env.incremental.IncrementalCost`, equal to the recomputation). ``scale`` is
the cost of a reference dispatching rule on the same week (``scale="rule:NAME"``), a fixed
number, or 1: with a rule reference the return is minus the cost *ratio* to that rule, so
returns of a 100-job and a 600-job week are comparable.

:class:`HierarchicalReward` is the DFJSP reward (Luo 2020): +1 / −1 / 0 by whether the
actual tardiness rate, then the estimated one, then the mean machine utilization improved.
It is offered for comparison; it does not telescope to the goal cost.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from furnsim.sim.engine import Simulator

__all__ = ["CostReward", "HierarchicalReward", "make_reward"]


class CostReward:
    """Minus the increase of the goal's cost between decisions, divided by ``scale``."""

    def __init__(
        self,
        goal: str,
        scale: str | float = "rule:LWKRSPT",
        deadlock_penalty: float = 10.0,
        incremental: bool = True,
    ) -> None:
        from furnsim.env.incremental import IncrementalCost
        from furnsim.goals import get_goal

        self.goal = get_goal(goal)
        # per-event partial cost (furnsim/env/incremental.py) unless the goal weighs a KPI it
        # does not keep; ``incremental=False`` recomputes every KPI each step (the reference)
        self._inc = (
            IncrementalCost(self.goal)
            if incremental and IncrementalCost.supports(self.goal)
            else None
        )
        self._need = [k for k, w in self.goal.weights.items() if w != 0]
        self.scale_spec = scale
        self.deadlock_penalty = float(deadlock_penalty)  # in units of the scale
        self.scale = 1.0
        self._last = 0.0
        self._use_inc = False

    def _reference(self, sim: Simulator) -> float:
        spec = self.scale_spec
        if isinstance(spec, int | float):
            return float(spec)
        if isinstance(spec, str) and spec.lower().startswith("rule:"):
            from furnsim.goals import cost
            from furnsim.kpi import run_kpis
            from furnsim.rules import get_rule

            ref = Simulator(
                sim.ci, buffers=sim.buffers, anticipatory_setups=sim.anticipatory_setups, fast=True
            )
            rule = get_rule(spec.split(":", 1)[1])
            if rule.static_key is not None:  # the whole run in the simulator (same plan)
                ref.run_priority(rule.static_key(ref.state.static))
            else:
                # (a rule takes a lone candidate: the simulator does it, the same plan)
                d = ref.skip_singles()
                while d is not None:
                    d = ref.dispatch(rule.choose(ref, d), skip_single=True)
            if ref.deadlock is None:
                c = cost(run_kpis(ref, self._need), self.goal)
                if math.isfinite(c) and c > 0:
                    return float(c)
            return max(float(sim.job_total_work.sum()), 1.0)  # the reference deadlocked
        return 1.0

    def reset(self, sim: Simulator) -> None:
        from furnsim.goals import partial_cost

        self.scale = self._reference(sim)
        self._use_inc = self._inc is not None
        if self._use_inc:
            assert self._inc is not None
            self._last = self._inc.reset(sim)
        else:
            self._last = partial_cost(sim, self.goal)

    def __call__(self, sim: Simulator) -> float:
        if sim.done:
            from furnsim.goals import cost
            from furnsim.kpi import run_kpis

            if sim.deadlock is not None:
                return -self.deadlock_penalty
            # the goal's KPIs of the finished run (= kpis(sim.schedule(), ...) for those)
            now = cost(run_kpis(sim, self._need), self.goal)
        elif self._use_inc:
            assert self._inc is not None
            now = self._inc.update()
        else:
            from furnsim.goals import partial_cost

            now = partial_cost(sim, self.goal)
        r = (self._last - now) / self.scale
        self._last = now
        return float(r)


class HierarchicalReward:
    """DFJSP reward: compare actual tardiness rate, then estimated, then utilization."""

    def __init__(self, goal: str = "", deadlock_penalty: float = 10.0) -> None:
        from furnsim.env.observations import ShopFeatures

        self._f = ShopFeatures()
        self._prev = np.zeros(7, dtype=np.float32)
        self.deadlock_penalty = float(deadlock_penalty)
        self.scale = 1.0

    def reset(self, sim: Simulator) -> None:
        self._f.reset(sim)
        self._prev = self._f(sim, None)

    def __call__(self, sim: Simulator) -> float:
        if sim.deadlock is not None:
            return -self.deadlock_penalty
        x = self._f(sim, None)
        p = self._prev
        self._prev = x
        for i, better_if_lower in ((6, True), (5, True), (0, False)):
            if abs(x[i] - p[i]) > 1e-9:
                improved = (x[i] < p[i]) if better_if_lower else (x[i] > p[i])
                return 1.0 if improved else -1.0
        return 0.0


def make_reward(kind: str, goal: str, **kw: Any) -> CostReward | HierarchicalReward:
    """``cost`` (default, the goal's telescoping cost) or ``hierarchical`` (DFJSP)."""
    if kind == "cost":
        return CostReward(goal, **kw)
    if kind == "hierarchical":
        return HierarchicalReward(goal, **{k: v for k, v in kw.items() if k == "deadlock_penalty"})
    raise ValueError(f"unknown reward {kind!r}: use 'cost' or 'hierarchical'")
