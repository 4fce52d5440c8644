"""The hold moves of the LNS optimizer (docs/optimizer.md, "Hold moves"): ``hold`` (the early
parts of waiting kits held at STORE) and ``hold-wait`` (jobs that queue in bounded buffers
after their first operation, held at STORE by a part of that wait)."""

from __future__ import annotations

import pytest

from furnsim.goals import cost
from furnsim.solvers.lns import lns
from furnsim.validate import validate
from tests._asm import bom, store_holds_honoured


def _two_parts():
    """Assembly A (ASSY 1 min) of P1 (W1 5 min) and P2 (W2 50 min), each part 1 volume unit
    in ASSY's buffer of capacity 10, no transport."""
    return bom(
        [
            ("A", None, 1, [("ASSY", 1)], 0),
            ("P1", "A", 1, [("W1", 5)], 1),
            ("P2", "A", 1, [("W2", 50)], 1),
        ],
        capacity={"ASSY": 10},
    )


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


#: (instance, move, the neighbourhoods without it, start cost, optimum, the held job, its
#: operation's index, makespan)
CASES = {
    "kit": (_two_parts, "hold", ("window", "group", "orders", "kit"), 5.01, 0.51, "O1/P1", 1, 51),
    "queue": (_queue, "hold-wait", ("window", "group", "orders", "hold"), 5.1, 0.6, "O1/J1", 0, 60),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hold_moves_reach_the_plan_no_priority_can_by_hand(case) -> None:
    """By hand, Empty Buffers (buffer load + 0.02 · tardiness + 0.01 · makespan):

    - ``kit``: non-delay, P1 is made at 0-5 and waits 45 min for P2 in ASSY's buffer: cost
      45 · 1/10 + 0.01 · 51 = 5.01, and no priority changes that (W1 has nothing else to do).
      Held at STORE until 45, P1 is made at 45-50 and the kit meets at 50: 0.51, the optimum.
    - ``queue``: W2 starts J2 at 0 (J1 is not there yet), J1 is made on W1 at 0-5 and waits
      45 min in W2's buffer: 45 · 1/10 + 0.01 · 60 = 5.1. Held until 45, J1 is made at 45-50
      and goes on W2 at 50: 0.6, the optimum.

    The move approaches the optimum from below 45 (a later hold delays the end); the
    neighbourhoods without it stay at the start; Empty Buffers' default search draws it,
    Speed's does not."""
    build, move, without, start, best, job, op, end = CASES[case]
    inst = build()
    plain = lns(
        inst, "empty-buffers", iterations=40, seed=0, start_ppo=False, neighbourhoods=without
    )
    assert plain.start_cost == pytest.approx(start) and plain.cost == pytest.approx(start)
    r = lns(inst, "empty-buffers", iterations=40, seed=0, start_ppo=False, neighbourhoods=(move,))
    assert r.moves[move]["improved"] >= 1
    assert best <= r.cost < best + 0.05
    (h,) = r.schedule.holds
    assert h["kind"] == "store" and h["job"] == job and 44.0 < h["until"] <= 45.0
    t = r.schedule.times
    assert t["start"][op] == pytest.approx(h["until"]) and t["end"].max() == pytest.approx(end)
    assert validate(r.schedule, inst) == []
    assert r.cost == pytest.approx(cost(r.schedule, "empty-buffers", inst))
    d = lns(inst, "empty-buffers", iterations=40, seed=0, start_ppo=False)
    assert d.moves[move]["tried"] > 0 and d.cost < best + 0.1 * (start - best)
    assert lns(inst, "speed", iterations=5, seed=0).moves[move]["tried"] == 0


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    return held_out_weeks(1, lo=60, hi=60)[0]


@pytest.mark.parametrize(
    "move,seed,kinds",
    [("hold", 2, ("window", "orders", "hold")), ("hold-wait", 5, ("window", "hold", "hold-wait"))],
)
def test_hold_moves_are_reproducible_valid_and_recorded(week, move, seed, kinds) -> None:
    kw = dict(iterations=80, seed=seed, start_ppo=False, release="off", neighbourhoods=kinds)
    a = lns(week, "empty-buffers", **kw)
    b = lns(week, "empty-buffers", **kw)
    assert a.cost == b.cost and a.moves == b.moves and a.schedule.holds == b.schedule.holds
    assert a.moves[move]["tried"] > 0 and a.moves[move]["improved"] >= 1
    assert a.cost < a.start_cost
    assert validate(a.schedule, week) == []
    # the plan records its STORE holds (release control off: the search's own), honoured
    assert store_holds_honoured(a.schedule, week) > 0
    # released just in time at the end (release control on): still valid, and its cost
    c = lns(week, "empty-buffers", **{**kw, "release": "auto"})
    assert validate(c.schedule, week) == []
    assert c.cost == pytest.approx(cost(c.schedule, "empty-buffers", week))
    store_holds_honoured(c.schedule, week)


def test_a_search_of_only_hold_wait_with_nothing_queued_stops() -> None:
    """Nothing waits in a bounded buffer (unbounded buffers): the move has nothing to hold;
    a search of only it stops at once with the start plan."""
    inst = bom([("J1", None, 1, [("W1", 5, 1), ("W2", 10, 1)], 0)])
    r = lns(inst, "empty-buffers", iterations=10, start_ppo=False, neighbourhoods=("hold-wait",))
    assert r.iterations == 0 and r.cost == r.start_cost
