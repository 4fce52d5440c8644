"""The Gymnasium environment: the simulator composed with an observation view and a reward."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from furnsim.env.observations import CandidateObservation, PaperObservation, ShopFeatures
from furnsim.env.rewards import make_reward
from furnsim.env.weeks import RandomJobShopSource, WeekSource, make_source
from furnsim.model import Instance
from furnsim.sim.engine import AT_STORE, Decision, Simulator

__all__ = ["VIEWS", "FurnitureShopEnv"]

VIEWS = ("jobs", "candidates", "rules")


class FurnitureShopEnv(gym.Env):
    """Dispatching in a furniture job shop, one decision (an idle machine) per step.

    The simulator (:class:`furnsim.sim.Simulator`) runs from decision to decision; the agent
    answers the pending decision. Three views of the same problem (``view=``):

    ## Action Space
    * ``"jobs"`` — ``Discrete(max_jobs)``: the job index the deciding machine takes.
    * ``"candidates"`` — ``Discrete(max_candidates)``: a slot of the candidate list.
    * ``"rules"`` — ``Discrete(len(rules))``: a dispatching rule that picks the job (DFJSP
      hyper-heuristic; default the six composite rules).

    :meth:`action_masks` gives the legal actions (sb3-contrib MaskablePPO). An illegal action
    raises ``ValueError`` (``illegal="raise"``, default) or, with ``illegal="penalty"``,
    costs ``illegal_penalty`` and leaves the state unchanged — a guard, never silent.

    ## Observation Space
    * ``"jobs"`` — ``Dict(machines=(3, max_machines), jobs=(2, max_jobs),
      buffers=(max_buffers,))``: the paper's three parts, normalized, zero padded
      (:class:`~furnsim.env.observations.PaperObservation`).
    * ``"candidates"`` — ``Dict(candidates=(K, 23), context=(9,), mask=(K,))``: size-agnostic
      per-candidate features (:class:`~furnsim.env.observations.CandidateObservation`).
    * ``"rules"`` — ``Box(7,)``: the seven DFJSP shop features
      (:class:`~furnsim.env.observations.ShopFeatures`).

    ## Rewards
    ``reward="cost"`` (default): minus the increase of the goal's cost
    (:func:`furnsim.goals.partial_cost`) between decisions, divided by the cost of a
    reference rule on the same week (``reward_scale``): the return is minus the final cost
    divided by that constant, i.e. minus the cost ratio to the reference rule.
    ``reward="hierarchical"``: the DFJSP ±1 reward (for comparison). A deadlock ends the
    episode with ``-deadlock_penalty``.

    ## Hold actions (``hold_actions=True``; off by default: shapes unchanged)
    Two more actions after the view's ``n``: ``n`` = the deciding machine **waits** (a machine
    hold until the next event), ``n + 1`` = **hold at STORE**, until the next event, the jobs not
    yet departed toward the deciding machine's work center that are released by then (release
    control; they hold no buffer space). Both are masked: legal only when something else can
    happen (an event is pending) and, for the STORE hold, when such a job exists. The schedule
    records the holds (docs/semantics.md "Intentional holds"). Observations are unchanged.

    ## Starting State
    ``reset`` draws a week from ``plant`` (default the demo plant) with
    :func:`furnsim.generate.generate_orders` and ``self.np_random`` (``jobs`` = range of
    week sizes), or uses ``options["instance"]`` / the ``instance`` given at construction;
    ``options["jobs"]`` fixes the size of the drawn week. ``options["state"]`` (a
    ``furnsim.replan.ShopState`` or ``Situation``, or its ``furnsim.state/1`` mapping) starts
    the episode mid-week from that shop state: the clock at ``now``, the past fixed, the
    decisions only about what is left (needs an instance).

    ## Episode End
    Terminated when every job is done or the shop deadlocks (hard buffers). Decisions with
    a single candidate are taken automatically (``skip_single=True``). No truncation.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        goal: str = "speed",
        view: str = "candidates",
        *,
        plant: str | Path | None = None,
        jobs: Sequence[int] = (100, 600),
        instance: Instance | None = None,
        buffers: str = "hard",
        reward: str = "cost",
        reward_scale: str | float = "rule:LWKRSPT",
        deadlock_penalty: float = 10.0,
        max_jobs: int = 700,
        max_machines: int = 32,
        max_buffers: int = 16,
        max_candidates: int = 64,
        rules: Sequence[str] | None = None,
        skip_single: bool = True,
        illegal: str = "raise",
        illegal_penalty: float = 1.0,
        kit_features: bool = False,
        hold_actions: bool = False,
        working_time_features: bool = False,
        teacher_features: str | None = None,
    ) -> None:
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
        if illegal not in ("raise", "penalty"):
            raise ValueError("illegal must be 'raise' or 'penalty'")
        self.goal = goal
        self.view = view
        self.buffers = buffers
        self.skip_single = skip_single
        self.illegal = illegal
        self.illegal_penalty = float(illegal_penalty)
        self._fixed = instance
        self._plant_path = plant
        self._jobs = (int(jobs[0]), int(jobs[1]))
        self._source: WeekSource | RandomJobShopSource | None = None
        if instance is None:
            self._source = make_source(plant, self._jobs)
        kw: dict[str, Any] = {"deadlock_penalty": deadlock_penalty}
        if reward == "cost":
            kw["scale"] = reward_scale
        self.reward_fn = make_reward(reward, goal, **kw)
        if view == "jobs":
            self.obs_fn: Any = PaperObservation(max_jobs, max_machines, max_buffers)
            self.observation_space = self.obs_fn.space
            self.action_space = spaces.Discrete(self.obs_fn.N)
        elif view == "candidates":
            self.obs_fn = CandidateObservation(
                max_candidates,
                kit_features=kit_features,
                working_time=working_time_features,
                teacher=teacher_features,
            )
            self.observation_space = self.obs_fn.space
            self.action_space = spaces.Discrete(self.obs_fn.K)
        else:
            from furnsim.rules import COMPOSITE_RULES, get_rule

            self.rules = [get_rule(r) for r in (rules or COMPOSITE_RULES)]
            self.obs_fn = ShopFeatures()
            self.observation_space = self.obs_fn.space
            self.action_space = spaces.Discrete(len(self.rules))
        # intentional holds: two more (masked) actions after the view's own
        self.hold_actions = bool(hold_actions)
        self._n_base = int(self.action_space.n)
        if self.hold_actions:
            self.action_space = spaces.Discrete(self._n_base + 2)
        self.sim: Simulator | None = None
        self._decision: Decision | None = None
        self._obs: Any = None

    # -- gymnasium API -----------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        inst = options.get("instance", self._fixed)
        if options.get("state") is not None:  # plan mid-week from a shop state
            from furnsim.replan import situated

            inst = situated(_need(inst), _as_state(options["state"], _need(inst)))
        for _ in range(20):
            if inst is None:
                assert self._source is not None
                week = self._source.sample(self.np_random, options.get("jobs"))
            else:
                week = inst
            self.sim = Simulator(
                week, buffers=self.buffers, record_holds=self.hold_actions, fast=True
            )
            self.obs_fn.reset(self.sim)
            self.reward_fn.reset(self.sim)
            self._decision = self._skip(self.sim.decision())
            if self._decision is not None or inst is not None:
                break
        self._obs = self.obs_fn(self.sim, self._decision)
        return self._obs, self._info()

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        sim = self.sim
        if sim is None:
            raise RuntimeError("call reset() before step()")
        d = self._decision
        if d is None:  # nothing to decide (an instance without decisions): the episode ends
            r = self.reward_fn(sim)
            return _copy(self._obs), r, True, False, self._info()
        if self.hold_actions and int(action) >= self._n_base:
            return self._hold(int(action) - self._n_base)
        try:
            job = self._job_of(int(action), d)
        except ValueError:
            if self.illegal == "raise":
                raise
            info = self._info()
            info["illegal_action"] = int(action)
            return _copy(self._obs), -self.illegal_penalty, False, False, info
        self._decision = sim.dispatch(job, skip_single=self.skip_single)
        r = self.reward_fn(sim)
        self._obs = self.obs_fn(sim, self._decision)
        terminated = self._decision is None
        return self._obs, r, terminated, False, self._info()

    def action_masks(self) -> np.ndarray:
        """Legal actions of the pending decision (bool, ``action_space.n``)."""
        n = int(self.action_space.n)  # type: ignore[attr-defined]
        if self._decision is None:
            m = np.zeros(n, dtype=bool)
            m[0] = True  # the episode is over / empty: any action ends it
            return m
        m = np.ones(self._n_base, dtype=bool) if self.view == "rules" else self.obs_fn.mask()
        if not self.hold_actions:
            return m
        return np.concatenate([m, self._hold_mask()])

    # -- hold actions (docs/semantics.md "Intentional holds") ---------------------------------
    def _store_jobs(self) -> list[int]:
        """Jobs a STORE hold would keep back: not departed, toward the deciding machine's work
        center, released by the next event."""
        sim, d = self.sim, self._decision
        assert sim is not None and d is not None
        t1 = sim.next_event_time
        if t1 is None:
            return []
        ci = sim.ci
        w = int(ci.machine_wc[d.machine])
        first = ci.job_op_start[:-1]
        held = set(sim.held_jobs)
        ok = (
            (sim.job_state == AT_STORE)
            & (ci.op_wc[np.minimum(first, ci.n_ops - 1)] == w)
            & (ci.job_n_children == 0)
            & (ci.job_release < t1 - 1e-6)
            & (ci.job_op_start[1:] > first)
        )
        return [int(j) for j in np.flatnonzero(ok) if int(j) not in held]

    def _hold_mask(self) -> np.ndarray:
        sim = self.sim
        assert sim is not None
        if self._decision is None or sim.next_event_time is None:
            return np.zeros(2, dtype=bool)
        return np.array([True, bool(self._store_jobs())])

    def _hold(self, k: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        sim = self.sim
        assert sim is not None
        if not self._hold_mask()[k]:
            if self.illegal == "raise":
                raise ValueError(f"hold action {k} is not possible now (masked)")
            info = self._info()
            info["illegal_action"] = self._n_base + k
            return _copy(self._obs), -self.illegal_penalty, False, False, info
        t1 = sim.next_event_time
        assert t1 is not None
        if k == 0:
            d = sim.hold_machine(until=t1, reason="env: wait")
        else:
            d = sim.hold_jobs(self._store_jobs(), t1, "env: store")
        self._decision = self._skip(d)
        r = self.reward_fn(sim)
        self._obs = self.obs_fn(sim, self._decision)
        return self._obs, r, self._decision is None, False, self._info()

    def set_jobs(self, lo: int, hi: int) -> None:
        """Change the range of drawn week sizes from the next reset on (curriculum)."""
        self._jobs = (int(lo), int(hi))
        if self._source is not None:
            self._source.jobs = self._jobs

    # -- helpers -----------------------------------------------------------------------------
    def _job_of(self, action: int, d: Decision) -> int:
        if self.view == "rules":
            if not 0 <= action < len(self.rules):
                raise ValueError(f"action {action} is not a rule index (0..{len(self.rules) - 1})")
            assert self.sim is not None
            return int(self.rules[action].choose(self.sim, d))
        return int(self.obs_fn.job_of(action))

    def _skip(self, d: Decision | None) -> Decision | None:
        if not self.skip_single:
            return d
        sim = self.sim
        assert sim is not None
        if d is not None and d.candidates.size == 1:
            assert d is sim.decision()
            d = sim.skip_singles()
        return d

    def _info(self) -> dict[str, Any]:
        sim = self.sim
        assert sim is not None
        info: dict[str, Any] = {
            "time": float(sim.time),
            "jobs": sim.n_jobs,
            "dispatched": sim.steps,
        }
        d = self._decision
        if d is not None:
            info["machine"] = int(d.machine)
            info["n_candidates"] = int(d.candidates.size)
        if sim.done:
            info["deadlock"] = sim.deadlock.message if sim.deadlock is not None else None
            info["reward_scale"] = float(getattr(self.reward_fn, "scale", 1.0))
        return info

    # -- for planners and evaluation -------------------------------------------------------------
    def schedule(self) -> Any:
        assert self.sim is not None
        return self.sim.schedule(method=f"ppo:{self.view}")


def _need(inst: Instance | None) -> Instance:
    if inst is None:
        raise ValueError("options['state'] needs an instance (options['instance'] or the env's)")
    return inst


def _as_state(state: Any, inst: Instance) -> Any:
    """A Situation, a ShopState, or a furnsim.state/1 mapping."""
    if isinstance(state, dict):
        from furnsim.replan import ShopState

        return ShopState.from_dict(state, plan_start=inst.plan_start)
    return state


def _copy(obs: Any) -> Any:
    """A fresh copy: observations handed out must not share memory (Gymnasium contract)."""
    if isinstance(obs, dict):
        return {k: v.copy() for k, v in obs.items()}
    return np.array(obs, copy=True)
