"""Continuous planning: plan from the shop's present, with events, pins and stability.

    from furnsim.replan import replan
    res = replan(instance, previous_plan, now="2026-03-03T10:00", events=[
        {"type": "breakdown", "machine": "SAW-1", "from": "2026-03-03T10:00", "to": "2026-03-03T16:00"},
        {"type": "rush_order", "order": "RUSH-1", "article": "NIGHTSTAND", "quantity": 10,
         "deadline": "2026-03-04T14:00"},
    ], mode="replan")
    res.valid, res.stability["ops_moved"]

See ``docs/replan.md`` (formats, semantics) and ``docs/semantics.md`` ("Planning from a
state").
"""

from furnsim.replan.events import EVENT_TYPES, Event, apply_events, load_events, parse_events
from furnsim.replan.service import (
    NERVOUSNESS_KEYS,
    RepairPolicy,
    ReplanResult,
    frozen_pins,
    load_situation,
    nervousness_cost,
    parse_pins,
    replan,
    situated,
    stability,
)
from furnsim.replan.situation import Pin, Situation, compile_situation
from furnsim.replan.state import (
    STATE_FORMAT,
    MachineOutage,
    OpState,
    ShopState,
    derive_state,
    load_state,
    parse_time,
)

__all__ = [
    "EVENT_TYPES",
    "NERVOUSNESS_KEYS",
    "STATE_FORMAT",
    "Event",
    "MachineOutage",
    "OpState",
    "Pin",
    "RepairPolicy",
    "ReplanResult",
    "ShopState",
    "Situation",
    "apply_events",
    "compile_situation",
    "derive_state",
    "frozen_pins",
    "load_events",
    "load_situation",
    "load_state",
    "nervousness_cost",
    "parse_events",
    "parse_pins",
    "parse_time",
    "replan",
    "situated",
    "stability",
]
