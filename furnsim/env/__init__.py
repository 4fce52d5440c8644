"""Gymnasium environments over the furnsim simulator (needs the ``rl`` extra).

Registered ids (``gymnasium.make(id, goal="speed", ...)``):

* ``furnsim/FurnitureShop-v0`` — the paper's view: Dict(machines, jobs, buffers), the
  action is a job index (fixed maximum sizes).
* ``furnsim/FurnitureShopCandidates-v0`` — size-agnostic: per-candidate features scored by a
  shared network; any number of jobs and machines.
* ``furnsim/FurnitureShopRules-v0`` — DFJSP: seven shop features, the action picks one of the
  six composite dispatching rules.
"""

from gymnasium.envs.registration import register, registry

from furnsim.env.observations import (
    CANDIDATE_FEATURES,
    CONTEXT_FEATURES,
    KIT_FEATURES,
    CandidateObservation,
    PaperObservation,
    ShopFeatures,
    candidate_features,
)
from furnsim.env.rewards import CostReward, HierarchicalReward, make_reward
from furnsim.env.shop_env import VIEWS, FurnitureShopEnv
from furnsim.env.weeks import (
    DEMO_PLANT,
    RANDOM_JSP,
    RandomJobShopSource,
    WeekSource,
    load_plant_catalog,
    make_source,
)

__all__ = [
    "CANDIDATE_FEATURES",
    "CONTEXT_FEATURES",
    "KIT_FEATURES",
    "DEMO_PLANT",
    "ENV_IDS",
    "VIEWS",
    "CandidateObservation",
    "CostReward",
    "FurnitureShopEnv",
    "HierarchicalReward",
    "PaperObservation",
    "RANDOM_JSP",
    "RandomJobShopSource",
    "ShopFeatures",
    "WeekSource",
    "candidate_features",
    "load_plant_catalog",
    "make_reward",
    "make_source",
]

ENV_IDS = {
    "jobs": "furnsim/FurnitureShop-v0",
    "candidates": "furnsim/FurnitureShopCandidates-v0",
    "rules": "furnsim/FurnitureShopRules-v0",
}

for _view, _id in ENV_IDS.items():
    if _id not in registry:
        register(
            id=_id, entry_point="furnsim.env.shop_env:FurnitureShopEnv", kwargs={"view": _view}
        )
