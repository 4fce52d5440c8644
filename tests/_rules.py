"""Shared helpers of the tests that pin the optimizer's base rule."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import furnsim.rules as rules_mod

_REAL_BEST_RULE = rules_mod.best_rule


def pinned_best_rule(rule: str) -> Callable[..., Any]:
    """``best_rule`` with its winner pinned to ``rule`` (the other rules' costs are the real
    ones: Empty Buffers' lanes start from the next cheapest rules' plans)."""

    def best(*a: Any, **k: Any) -> SimpleNamespace:
        return SimpleNamespace(rule=rule, costs=_REAL_BEST_RULE(*a, **k).costs)

    return best
