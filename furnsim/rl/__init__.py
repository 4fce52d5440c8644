"""Learned dispatching policies: training (``train``), loading and planning (``policy``)."""

from furnsim.rl.policy import MODELS_DIR, PolicyPlanner, load_planner, model_path, plan_with_policy

__all__ = ["MODELS_DIR", "PolicyPlanner", "load_planner", "model_path", "plan_with_policy"]
