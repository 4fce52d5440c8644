"""The ``kit`` and ``hold`` neighbourhoods of the LNS optimizer: the early parts of waiting kits
later -- by priority, and held at STORE."""

from __future__ import annotations

import numpy as np
import pytest

from furnsim.goals import cost
from furnsim.solvers.lns import lns
from furnsim.validate import validate
from tests.test_lns_cpsat import ft06


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    w = held_out_weeks(1, lo=60, hi=60)[0]  # a 60-job calendar week with assemblies
    assert (np.asarray(w.compiled.job_parent) >= 0).any()
    return w


def test_kit_moves_alone_improve_a_week_with_assemblies(week) -> None:
    r = lns(week, "empty-buffers", iterations=150, seed=1, start_ppo=False, neighbourhoods=("kit",))
    assert r.moves["kit"]["tried"] == 150
    assert r.moves["kit"]["improved"] >= 1 and r.improvements >= 1
    # a kit move draws no suffix mode: it follows the shifted priorities to the end
    assert r.moves["incumbent"]["tried"] == r.moves["rule"]["tried"] == 0
    assert r.cost < r.start_cost
    assert validate(r.schedule, week) == []
    assert r.cost == pytest.approx(cost(r.schedule, "empty-buffers", week))


def test_kit_moves_are_reproducible_and_mix_with_the_others(week) -> None:
    kw = dict(iterations=120, seed=4, start_ppo=False, neighbourhoods=("window", "group", "kit"))
    a = lns(week, "speed", **kw)
    b = lns(week, "speed", **kw)
    assert a.cost == b.cost and a.moves == b.moves
    assert a.moves["kit"]["tried"] > 0 and a.moves["window"]["tried"] > 0
    assert validate(a.schedule, week) == []


def test_without_assemblies_kit_moves_are_left_out() -> None:
    inst = ft06()
    r = lns(inst, "speed", iterations=30, seed=0, neighbourhoods=("window", "kit", "hold"))
    assert r.moves["kit"]["tried"] == r.moves["hold"]["tried"] == 0
    assert r.moves["window"]["tried"] == 30
    with pytest.raises(ValueError, match="kit and hold neighbourhoods need assemblies"):
        lns(inst, "speed", iterations=5, neighbourhoods=("kit",))
