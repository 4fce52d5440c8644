"""Shipped policies: load a trained model from ``models/`` and plan a whole week in one pass.

``plan_with_policy(instance, goal)`` is what ``furnsim.plan.plan(..., method="ppo")`` calls.
It loads ``models/ppo-<goal>.zip`` (with its sidecar ``ppo-<goal>.json``), runs the
simulator from the first decision to the last asking the policy greedily (the arg-max of the
masked logits), and returns the schedule with details. A missing model raises
:class:`FileNotFoundError`, so the planner falls back to the best rule and says so.

The ``candidates`` policy scores each candidate of the deciding machine with a shared
network; the work per decision grows with the number of candidates only, never with the
number of jobs or machines, so a 2,000-job week is planned the same way as a 100-job one.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.model import Instance
from furnsim.sim import Schedule, Simulator

__all__ = ["MODELS_DIR", "PolicyPlanner", "load_planner", "model_path", "plan_with_policy"]

#: shipped models (found from this file, not the working directory)
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def model_path(goal: str, models_dir: str | Path | None = None) -> Path:
    from furnsim.goals import get_goal

    return Path(models_dir or MODELS_DIR) / f"ppo-{get_goal(goal).name}.zip"


class PolicyPlanner:
    """A loaded policy that answers simulator decisions (``choose(sim, decision)``)."""

    def __init__(self, model: Any, meta: dict[str, Any]) -> None:
        import torch

        self.model = model
        self.meta = meta
        self.view = str(meta.get("view", "candidates"))
        self.name = f"ppo:{meta.get('goal', '')}"
        self._torch = torch
        cfg = meta.get("config", {})
        if self.view == "candidates":
            from furnsim.env.observations import CandidateObservation

            k = int(model.observation_space["candidates"].shape[0])
            self.obs_fn: Any = CandidateObservation(k)
            ext = model.policy.features_extractor
            # numpy copy of the shared scorer: a (k, 24) forward pass per decision, no torch
            # dispatch overhead (the same arithmetic as CandidateExtractor.scores)
            lin = [m for m in ext.enc if hasattr(m, "weight")] + [ext.score]
            self._layers = [
                (
                    m.weight.detach().numpy().T.astype(np.float64),
                    m.bias.detach().numpy().astype(np.float64),
                )
                for m in lin
            ]
        elif self.view == "rules":
            from furnsim.env.observations import ShopFeatures
            from furnsim.rules import COMPOSITE_RULES, get_rule

            self.obs_fn = ShopFeatures()
            self.rules = [get_rule(r) for r in (cfg.get("rules") or COMPOSITE_RULES)]
        else:
            raise ValueError(
                f"planning with view {self.view!r} is not supported (use candidates or rules)"
            )

    def reset(self, seed: int | None = None) -> None:
        """Greedy policies keep no state between runs."""

    def choose(self, sim: Simulator, d: Any) -> int:
        if d.candidates.size == 1:
            return int(d.candidates[0])
        torch = self._torch
        obs = self.obs_fn(sim, d)
        if self.view == "candidates":
            k = self.obs_fn.slots.size
            x = np.concatenate(
                [obs["candidates"][:k], np.broadcast_to(obs["context"], (k, obs["context"].size))],
                axis=1,
            ).astype(np.float64)
            (w1, b1), (w2, b2), (w3, b3) = self._layers
            s = np.tanh(np.tanh(x @ w1 + b1) @ w2 + b2) @ w3 + b3
            return int(self.obs_fn.slots[int(np.argmax(s[:, 0]))])
        del torch
        a, _ = self.model.predict(obs, deterministic=True)
        return int(self.rules[int(a)].choose(sim, d))

    def plan(self, instance: Instance, *, buffers: str = "hard") -> tuple[Schedule, Simulator]:
        """One greedy pass over the whole instance."""
        sim = Simulator(instance, buffers=buffers)
        self.obs_fn.reset(sim)
        d = sim.decision()
        choose, dispatch = self.choose, sim.dispatch
        with self._torch.inference_mode():
            while d is not None:
                d = dispatch(choose(sim, d))
        return sim.schedule(method=self.name), sim


def _load_model(path: Path) -> Any:
    from sb3_contrib import MaskablePPO

    import furnsim.rl.net  # noqa: F401 - the custom policy class must be importable

    return MaskablePPO.load(str(path), device="cpu")


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> PolicyPlanner:
    p = Path(path)
    side = p.with_suffix(".json")
    meta = json.loads(side.read_text(encoding="utf-8")) if side.exists() else {}
    return PolicyPlanner(_load_model(p), meta)


def load_planner(
    goal: str | None = None, *, path: str | Path | None = None, models_dir: str | Path | None = None
) -> PolicyPlanner:
    """The shipped policy of ``goal`` (or the model at ``path``); FileNotFoundError if none."""
    if path is None:
        if goal is None:
            raise ValueError("give a goal or a model path")
        path = model_path(goal, models_dir)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"no trained policy at {p} (train one: python -m furnsim.rl.train --config configs/ppo-<goal>.yaml)"
        )
    import torch

    torch.set_num_threads(1)
    return _cached(str(p.resolve()), p.stat().st_mtime)


def plan_with_policy(
    instance: Instance,
    goal: str,
    *,
    buffers: str = "hard",
    model: str | Path | None = None,
    models_dir: str | Path | None = None,
    **_: Any,
) -> tuple[Schedule, dict[str, Any]]:
    """Plan ``instance`` for ``goal`` with the shipped (or given) policy in one greedy pass.

    Returns ``(schedule, details)``; details name the model, its training steps and commit,
    and the planning time. A deadlocked pass returns the incomplete schedule (the planner
    then falls back to the best rule and says so).
    """
    t0 = time.perf_counter()
    planner = load_planner(goal, path=model, models_dir=models_dir)
    t1 = time.perf_counter()
    schedule, sim = planner.plan(instance, buffers=buffers)
    t2 = time.perf_counter()
    meta = planner.meta
    details: dict[str, Any] = {
        "model": str(model or model_path(goal, models_dir)),
        "view": planner.view,
        "trained_goal": meta.get("goal"),
        "timesteps": meta.get("timesteps"),
        "commit": meta.get("commit"),
        "load_s": round(t1 - t0, 4),
        "plan_s": round(t2 - t1, 4),
        "decisions": int(sim.steps),
    }
    if sim.deadlock is not None:
        details["deadlock"] = sim.deadlock.message
    return schedule, details
