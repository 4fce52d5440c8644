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


def _two_parts():
    """Assembly A (ASSY 1 min) of P1 (W1 5 min) and P2 (W2 50 min), each part 1 volume unit
    in ASSY's buffer of capacity 10, no transport."""
    from tests._asm import bom

    return bom(
        [
            ("A", None, 1, [("ASSY", 1)], 0),
            ("P1", "A", 1, [("W1", 5)], 1),
            ("P2", "A", 1, [("W2", 50)], 1),
        ],
        capacity={"ASSY": 10},
    )


def test_hold_moves_reach_the_plan_no_priority_can_by_hand() -> None:
    """By hand: non-delay, P1 is made at 0-5 and waits 45 min for P2 in ASSY's buffer:
    Empty Buffers cost 45 · 1/10 (buffer load) + 0.01 · 51 (makespan) = 5.01, and no priority
    changes that (W1 has nothing else to do). Held at STORE until 45, P1 is made at 45-50 and
    the kit meets at 50: cost 0.51, the optimum. Hold moves approach it from below 45 (a later
    hold delays the assembly); priority moves stay at 5.01."""
    inst = _two_parts()
    plain = lns(
        inst,
        "empty-buffers",
        iterations=40,
        seed=0,
        start_ppo=False,
        neighbourhoods=("window", "group", "orders", "kit"),
    )
    assert plain.start_cost == pytest.approx(5.01) and plain.cost == pytest.approx(5.01)
    # Empty Buffers' default search draws hold moves too (Speed's does not)
    assert lns(inst, "empty-buffers", iterations=40, seed=0, start_ppo=False).cost < 0.6
    assert lns(inst, "speed", iterations=5, seed=0).moves["hold"]["tried"] == 0
    r = lns(inst, "empty-buffers", iterations=40, seed=0, start_ppo=False, neighbourhoods=("hold",))
    assert r.moves["hold"]["improved"] >= 1
    assert 0.51 <= r.cost < 0.52
    (h,) = r.schedule.holds
    assert h["kind"] == "store" and h["job"] == "O1/P1" and 44.0 < h["until"] <= 45.0
    t = r.schedule.times
    assert t["start"][1] == pytest.approx(h["until"]) and t["end"].max() == pytest.approx(51.0)
    assert validate(r.schedule, inst) == []


def test_hold_moves_are_reproducible_valid_and_recorded(week) -> None:
    kw = dict(
        iterations=80,
        seed=2,
        start_ppo=False,
        release="off",
        neighbourhoods=("window", "orders", "hold"),
    )
    a = lns(week, "empty-buffers", **kw)
    b = lns(week, "empty-buffers", **kw)
    assert a.cost == b.cost and a.moves == b.moves and a.schedule.holds == b.schedule.holds
    assert a.moves["hold"]["tried"] > 0 and a.moves["hold"]["improved"] >= 1
    assert a.cost < a.start_cost
    assert validate(a.schedule, week) == []
    # the plan records its STORE holds (release control off: the search's own), honoured
    held = {h["job"]: h["until"] for h in a.schedule.holds or [] if h["kind"] == "store"}
    assert held
    ci = week.compiled
    first = np.asarray(ci.job_op_start[:-1])
    for j, jid in enumerate(ci.job_ids):
        if jid in held:
            assert a.schedule.times["depart"][first[j]] >= held[jid] - 1e-9
    # released just in time at the end (release control on): still valid, and its cost
    c = lns(week, "empty-buffers", **{**kw, "release": "auto"})
    assert validate(c.schedule, week) == []
    assert c.cost == pytest.approx(cost(c.schedule, "empty-buffers", week))
