"""The ``hold-wait`` neighbourhood of the LNS optimizer: jobs that queue in bounded buffers
after their first operation, held at STORE by a part of that wait (docs/optimizer.md, "Hold
moves"). The kit parts' ``hold`` moves are in tests/test_lns_kit.py."""

from __future__ import annotations

import numpy as np
import pytest

from furnsim.goals import cost
from furnsim.solvers.lns import lns
from furnsim.validate import validate
from tests._asm import bom


def _queue():
    """J1: W1 5 min, then W2 10 min; J2: W2 50 min; 1 volume unit each, W2's buffer holds 10,
    the others are unbounded; no transport."""
    return bom(
        [
            ("J1", None, 1, [("W1", 5, 1), ("W2", 10, 1)], 0),
            ("J2", None, 1, [("W2", 50, 1)], 0),
        ],
        capacity={"W2": 10},
    )


def test_hold_wait_reaches_the_plan_no_priority_can_by_hand() -> None:
    """By hand: non-delay, W2 starts J2 at 0 (J1 is not there yet), J1 is made on W1 at 0-5
    and waits 45 min in W2's buffer: Empty Buffers cost 45 · 1/10 + 0.01 · 60 (makespan) =
    5.1, and no priority changes that. Held at STORE until 45, J1 is made at 45-50 and goes
    on W2 at 50: cost 0.6, the optimum, approached from below 45 (a later hold delays the
    end)."""
    inst = _queue()
    plain = lns(
        inst,
        "empty-buffers",
        iterations=40,
        seed=0,
        start_ppo=False,
        neighbourhoods=("window", "group", "orders", "hold"),
    )
    assert plain.start_cost == pytest.approx(5.1) and plain.cost == pytest.approx(5.1)
    assert plain.moves["hold"]["tried"] == 0  # (no assemblies: no kit holds)
    r = lns(
        inst, "empty-buffers", iterations=40, seed=0, start_ppo=False, neighbourhoods=("hold-wait",)
    )
    # Empty Buffers' default search draws hold-wait moves too (Speed's does not)
    d = lns(inst, "empty-buffers", iterations=40, seed=0, start_ppo=False)
    assert d.moves["hold-wait"]["tried"] > 0 and d.cost < 1.0
    assert lns(inst, "speed", iterations=5, seed=0).moves["hold-wait"]["tried"] == 0
    assert r.moves["hold-wait"]["improved"] >= 1
    assert 0.6 <= r.cost < 0.65
    (h,) = r.schedule.holds
    assert h["job"] == "O1/J1" and 44.5 < h["until"] <= 45.0
    t = r.schedule.times
    assert t["start"][0] == pytest.approx(h["until"]) and t["start"][1] == pytest.approx(50.0)
    assert t["end"].max() == pytest.approx(60.0)
    assert validate(r.schedule, inst) == []
    assert r.cost == pytest.approx(cost(r.schedule, "empty-buffers", inst))


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    return held_out_weeks(1, lo=60, hi=60)[0]


def test_hold_wait_moves_are_reproducible_and_valid(week) -> None:
    kw = dict(
        iterations=80,
        seed=5,
        start_ppo=False,
        release="off",
        neighbourhoods=("window", "hold", "hold-wait"),
    )
    a = lns(week, "empty-buffers", **kw)
    b = lns(week, "empty-buffers", **kw)
    assert a.cost == b.cost and a.moves == b.moves and a.schedule.holds == b.schedule.holds
    assert a.moves["hold-wait"]["tried"] > 0 and a.moves["hold-wait"]["improved"] >= 1
    assert a.cost < a.start_cost
    assert validate(a.schedule, week) == []
    ci = week.compiled
    first = np.asarray(ci.job_op_start[:-1])
    ids = list(ci.job_ids)
    for h in a.schedule.holds or []:
        assert h["kind"] == "store"
        assert a.schedule.times["depart"][first[ids.index(h["job"])]] >= h["until"] - 1e-9


def test_a_search_of_only_hold_wait_with_nothing_queued_stops() -> None:
    """Nothing waits in a bounded buffer (unbounded buffers): the move has nothing to hold;
    a search of only it stops at once with the start plan."""
    inst = bom([("J1", None, 1, [("W1", 5, 1), ("W2", 10, 1)], 0)])
    r = lns(inst, "empty-buffers", iterations=10, start_ppo=False, neighbourhoods=("hold-wait",))
    assert r.iterations == 0 and r.cost == r.start_cost
