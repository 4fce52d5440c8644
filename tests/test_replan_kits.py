"""Planning from a shop state on plants with assemblies (bills of materials with joins).

Golden cases computed by hand (a two-part kit with one child in its kit before ``now`` and the
other after; a sub-assembly processing at ``now`` with a partial kit at its parent; a child
still on its machine at ``now``), bad kit states, the validator on tampered replans (kind
``join``), CP-SAT from a kit state, and a property test: random BOM plants x random ``now``
-> derived state -> replan -> valid, the state and the pins kept.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from furnsim.errors import DataError
from furnsim.replan import ShopState, derive_state, replan
from furnsim.rules import get_rule, run_policy
from furnsim.validate import format_violations, validate

from ._asm import bom
from .test_assembly_properties import bom_shops
from .test_sim_properties import _SOAK


def _row(s, job, step=1):
    o = next(
        o for o in range(s.n_ops) if s.job_ids[s.op_job[o]] == job and s.op_step[o] == step - 1
    )
    return {f: float(s.times[f][o]) for f in s.times} | {"machine": s.machine_ids[s.op_machine[o]]}


def _fa(s, job):
    return float(s.finish_arrive[s.job_ids.index(job)])


# -- a two-part kit ----------------------------------------------------------------------------
def kit2():
    """K (ASSY 10) from A (W1 3, 1 m³ in the kit) and B (W2 20, 1 m³); W1 -> ASSY 2 min,
    W2 -> ASSY 1 min; the ASSY buffer holds 2 m³.

    FIFO: A 0-3 leaves at 3, its kit arrives at 5; B 0-20, arrives 21; the kit is complete
    when B departs at 20 (K: depart 20, arrive 21), ASSY takes K at 20: start 21, end 31.
    """
    return bom(
        [
            ("K", "", 1, [("ASSY", 10)], 0.0),
            ("A", "K", 1, [("W1", 3)], 1.0),
            ("B", "K", 1, [("W2", 20)], 1.0),
        ],
        capacity={"ASSY": 2.0},
        transport={("W1", "ASSY"): 2.0, ("W2", "ASSY"): 1.0},
    )


@pytest.fixture(scope="module")
def k2():
    inst = kit2()
    s, sim = run_policy(inst, get_rule("FIFO"))
    assert sim.deadlock is None and validate(s, inst) == []
    k = _row(s, "O1/K")
    assert (k["depart"], k["arrive"], k["start"], k["end"]) == (20, 21, 21, 31)
    assert (_row(s, "O1/A")["leave"], _fa(s, "O1/A")) == (3, 5)
    return inst, s


def test_derived_state_has_the_partial_kit(k2):
    _, s = k2
    st = derive_state(s, 10.0)
    by = {(x.job, x.step): x for x in st.operations}
    assert set(by) == {("O1/A", 1), ("O1/B", 1)}  # K is not released: its kit is partial
    assert (by[("O1/A", 1)].status, by[("O1/A", 1)].leave) == ("done", 3)
    assert (by[("O1/B", 1)].status, by[("O1/B", 1)].end) == ("running", 20)
    assert st.kits == [
        {
            "assembly": "O1/K",
            "work_center": "ASSY",
            "status": "partial",
            "arrived": ["O1/A"],
            "in_transit": [],
            "missing": ["O1/B"],
            "volume": 1.0,
        }
    ]
    # at 4 A's kit is still on its way (arrives at 5)
    assert derive_state(s, 4.0).kits[0]["in_transit"] == ["O1/A"]
    # at 20.5 the kit is complete (B departed at 20, arrives 21) and K assigned to ASSY
    st2 = derive_state(s, 20.5)
    k = st2.by_key()[("O1/K", 1)]
    assert (k.status, k.depart, k.arrive, k.setup_start, k.start) == ("running", 20, 21, 20, 21)
    assert st2.kits[0]["status"] == "assigned" and st2.kits[0]["in_transit"] == ["O1/B"]
    assert st2.kits[0]["volume"] == 2.0
    # at 25 K processes: the kit is consumed
    assert derive_state(s, 25.0).kits == []


@pytest.mark.parametrize("now", [0.0, 2.0, 4.0, 10.0, 20.0, 20.5, 21.0, 25.0, 31.0])
def test_same_rule_from_a_kit_state_reproduces_the_plan(k2, now):
    inst, s = k2
    r = replan(inst, s, now, method="rule:FIFO")
    assert r.valid, format_violations(r.violations)
    for f in s.times:
        assert np.array_equal(r.schedule.times[f], s.times[f], equal_nan=True), f
    assert np.array_equal(r.schedule.finish_arrive, s.finish_arrive, equal_nan=True)


def test_one_child_in_its_kit_the_other_finishes_late(k2):
    """At 10, A waits in its kit since 5; B (due to end at 20) ends late at 25: it leaves at
    25, arrives 26, which completes the kit: K depart 25, arrive 26, ASSY 26-36."""
    inst, s = k2
    ev = [{"type": "finished", "op": "O1/B/1", "at": 25}]
    r = replan(inst, s, 10.0, ev, method="rule:FIFO")
    assert r.valid, format_violations(r.violations)
    ns = r.schedule
    a, b, k = _row(ns, "O1/A"), _row(ns, "O1/B"), _row(ns, "O1/K")
    assert (a["end"], a["leave"], _fa(ns, "O1/A")) == (3, 3, 5)  # the state's history
    assert (b["end"], b["leave"], _fa(ns, "O1/B")) == (25, 25, 26)
    assert (k["depart"], k["arrive"], k["setup_start"], k["start"], k["end"]) == (
        25,
        26,
        25,
        26,
        36,
    )
    assert validate(ns, r.instance) == []
    # the result's state lists the kit as it was at now
    assert r.instance.situation.state.kits[0]["arrived"] == ["O1/A"]
    # tampered: K released before its kit is complete / started before B's kit arrives
    bad = copy.deepcopy(ns)
    o = next(o for o in range(bad.n_ops) if bad.job_ids[bad.op_job[o]] == "O1/K")
    bad.times["depart"][o] = 20.0
    kinds = {v.kind for v in validate(bad, r.instance)}
    assert "join" in kinds
    bad2 = copy.deepcopy(ns)
    for f in ("setup_start", "setup_end", "start"):
        bad2.times[f][o] -= 3.0
    bad2.times["end"][o] -= 3.0
    kinds2 = {v.kind for v in validate(bad2, r.instance)}
    assert kinds2 & {"join", "precedence"}, kinds2


def test_kit_state_round_trips_through_the_file_format(k2):
    inst, s = k2
    st = derive_state(s, 10.0)
    back = ShopState.from_dict(json.loads(st.to_json()))
    assert back.kits == st.kits
    r = replan(inst, s, 10.0, state=back, method="rule:FIFO")
    assert r.valid and _row(r.schedule, "O1/K")["start"] == 21


def test_child_still_on_its_machine_leaves_at_now(k2):
    """The state says A ended at 3 but is still on W1 at 10 (no leave): W1 is blocked; the
    replan moves A on at 10 (room at ASSY), its kit arrives at 12; K as before (20, 21)."""
    inst, s = k2
    d = derive_state(s, 10.0).to_dict()
    d.pop("kits")
    for x in d["operations"]:
        if x["job"] == "O1/A":
            del x["leave"]
    st = ShopState.from_dict(d)
    assert st.counts()["blocked"] == 1
    r = replan(inst, s, 10.0, state=st, method="rule:FIFO")
    assert r.valid, format_violations(r.violations)
    ns = r.schedule
    assert (_row(ns, "O1/A")["leave"], _fa(ns, "O1/A")) == (10, 12)
    k = _row(ns, "O1/K")
    assert (k["depart"], k["arrive"], k["start"]) == (20, 21, 21)
    # that state with the kit listed in the buffer does not fit its operations
    d2 = dict(d, kits=[{"assembly": "O1/K", "arrived": ["O1/A"]}])
    with pytest.raises(DataError, match="kits: O1/K has no kit in its buffer"):
        replan(inst, s, 10.0, state=ShopState.from_dict(d2), method="rule:FIFO")


def test_bad_kit_states_are_named(k2):
    inst, s = k2
    # K listed as released while B has not departed
    d = derive_state(s, 10.0).to_dict()
    d["operations"].append({"job": "O1/K", "step": 1, "status": "queued", "depart": 3, "arrive": 5})
    with pytest.raises(DataError, match="assembly O1/K is released but its kit is incomplete"):
        replan(inst, s, 10.0, state=ShopState.from_dict(d))
    # the kit is complete at 22 but K is not listed
    d = derive_state(s, 22.0).to_dict()
    d["operations"] = [x for x in d["operations"] if x["job"] != "O1/K"]
    d.pop("kits")
    with pytest.raises(DataError, match="list it as queued with depart 20 and arrive 21"):
        replan(inst, s, 22.0, state=ShopState.from_dict(d))
    # K released at the wrong time
    d = derive_state(s, 22.0).to_dict()
    for x in d["operations"]:
        if x["job"] == "O1/K":
            x["depart"] = 19
    with pytest.raises(DataError, match="depart 19 must be its kit's"):
        replan(inst, s, 22.0, state=ShopState.from_dict(d))
    # a kit the operations do not have
    d = derive_state(s, 10.0).to_dict()
    d["kits"].append({"assembly": "O1/X", "arrived": []})
    with pytest.raises(DataError, match="kits: O1/X has no kit"):
        replan(inst, s, 10.0, state=ShopState.from_dict(d))
    with pytest.raises(DataError, match="kits must be a list"):
        ShopState.from_dict({"now": 1, "kits": {"a": 1}})


# -- a sub-assembly in progress ----------------------------------------------------------------
def subasm():
    """R (PACK 5) from S (ASSY 10, 2 m³ in R's kit) and Z (W1 4, 1 m³); S from X (W1 4) and
    Y (W2 6); transport 0."""
    return bom(
        [
            ("R", "", 1, [("PACK", 5)], 0.0),
            ("S", "R", 1, [("ASSY", 10)], 2.0),
            ("X", "S", 1, [("W1", 4)], 1.0),
            ("Y", "S", 1, [("W2", 6)], 1.0),
            ("Z", "R", 1, [("W1", 4)], 1.0),
        ]
    )


def _op(job, machine, ss, st, end, leave=None, depart=0.0, arrive=None):
    d = {
        "job": job,
        "step": 1,
        "status": "done" if leave is not None else "running",
        "machine": machine,
        "setup_from": "neutral",
        "setup_start": ss,
        "setup_end": ss,
        "start": st,
        "end": end,
        "depart": depart,
        "arrive": depart if arrive is None else arrive,
    }
    if leave is not None:
        d["leave"] = leave
    return d


SUB_STATE = {
    "format": "furnsim.state/1",
    "now": 12,
    "operations": [
        _op("O1/X", "W1", 0, 0, 4, leave=4),  # in S's kit at 4
        _op("O1/Z", "W1", 4, 4, 8, leave=8),  # in R's kit at 8
        _op("O1/Y", "W2", 0, 0, 6, leave=6),  # completes S's kit at 6
        _op("O1/S", "ASSY", 6, 6, 16, depart=6),  # the sub-assembly processes 6-16
    ],
    "kits": [{"assembly": "O1/R", "arrived": ["O1/Z"], "missing": ["O1/S"]}],
}


def test_sub_assembly_in_progress_at_now():
    """At 12 S processes (6-16) and R's kit holds Z (since 8): S leaves at 16 and completes
    R's kit: R depart 16, arrive 16, PACK 16-21."""
    inst = subasm()
    prev, _ = run_policy(inst, get_rule("FIFO"))
    st = ShopState.from_dict(SUB_STATE)
    r = replan(inst, prev, 12.0, state=st, method="rule:SPT")
    assert r.valid, format_violations(r.violations)
    ns = r.schedule
    assert (_row(ns, "O1/S")["end"], _row(ns, "O1/S")["leave"], _fa(ns, "O1/S")) == (16, 16, 16)
    rr = _row(ns, "O1/R")
    assert (rr["depart"], rr["arrive"], rr["start"], rr["end"]) == (16, 16, 16, 21)
    assert _fa(ns, "O1/Z") == 8
    kits = r.instance.situation.state.kits
    assert kits == [
        {
            "assembly": "O1/R",
            "work_center": "PACK",
            "status": "partial",
            "arrived": ["O1/Z"],
            "in_transit": [],
            "missing": ["O1/S"],
            "volume": 1.0,
        }
    ]
    # the plan derived back at 12 gives the same state
    again = derive_state(ns, 12.0)
    assert {(x.job, x.status) for x in again.operations} == {
        (x["job"], x["status"]) for x in SUB_STATE["operations"]
    }
    assert again.kits == kits
    # ASSY breaks down 12-15: S pauses, its last 4 minutes run 15-19; R 19-24
    ev = [{"type": "breakdown", "machine": "ASSY", "from": 12, "to": 15}]
    r2 = replan(inst, prev, 12.0, ev, state=st, method="rule:FIFO")
    assert r2.valid, format_violations(r2.violations)
    assert _row(r2.schedule, "O1/S")["end"] == 19
    assert (_row(r2.schedule, "O1/R")["start"], _row(r2.schedule, "O1/R")["end"]) == (19, 24)


def test_cpsat_from_a_kit_state():
    pytest.importorskip("ortools")
    inst = subasm()
    prev, _ = run_policy(inst, get_rule("FIFO"))
    st = ShopState.from_dict(SUB_STATE)
    r = replan(inst, prev, 12.0, state=st, method="cpsat", time_limit=10)
    assert r.valid, format_violations(r.violations)
    assert _row(r.schedule, "O1/R")["end"] == 21  # optimal: nothing to gain
    assert _row(r.schedule, "O1/Z")["leave"] == 8


def test_rush_order_and_cancel_with_kits(k2):
    inst, s = k2
    ev = [
        {"type": "rush_order", "order": "R1", "article": "ART", "quantity": 1, "deadline": 80},
        {"type": "cancel", "order": "O1"},
    ]
    r = replan(inst, s, 10.0, ev, method="rule:FIFO")
    assert r.valid, format_violations(r.violations)
    ns = r.schedule
    assert "O1/K" not in ns.job_ids
    # R1 released at 10: A 10-13 (arrives 15), B 10-30 (arrives 31): K 31-41
    assert _row(ns, "R1/K")["start"] == 31
    assert r.instance.situation.state.kits == []


def test_env_resets_from_a_kit_state():
    pytest.importorskip("gymnasium")
    from furnsim.env import FurnitureShopEnv as ShopEnv
    from furnsim.replan import situated

    inst = subasm()
    st = ShopState.from_dict(SUB_STATE)
    env = ShopEnv(instance=inst, reward_scale=1.0, skip_single=False)
    obs, info = env.reset(options={"state": SUB_STATE})
    assert info["time"] >= 12.0
    done = False
    while not done:
        a = int(np.flatnonzero(env.action_masks())[0])
        obs, r, done, _, info = env.step(a)
    sched = env.schedule()
    assert validate(sched, situated(inst, st)) == []
    assert (_row(sched, "O1/R")["start"], _row(sched, "O1/R")["end"]) == (16, 21)


# -- property: random BOM plants x random now ----------------------------------------------------
SETTINGS = settings(
    max_examples=int(_SOAK or "60"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)
RULES = st.sampled_from(["FIFO", "SPT", "EDD", "ATC", "KIT", "BUFFER", "MWKR"])


@pytest.mark.timeout(300)
@SETTINGS
@given(
    inst=bom_shops(),
    rule=RULES,
    other=RULES,
    frac=st.floats(0.0, 1.0),
    pick=st.integers(0, 10_000),
    npins=st.integers(0, 3),
    down=st.one_of(st.none(), st.tuples(st.integers(0, 20), st.floats(1, 30))),
)
def test_random_bom_replan_is_valid_and_keeps_state_and_pins(
    inst, rule, other, frac, pick, npins, down
):
    prev, sim = run_policy(inst, get_rule(rule))
    assume(sim.deadlock is None)
    now = float(frac * prev.makespan)
    st_ = derive_state(prev, now)
    event(f"kits in buffers: {min(len(st_.kits or []), 2)}")
    event(f"blocked: {min(st_.counts()['blocked'], 1)}")
    # the same rule from the derived state reproduces the plan
    same = replan(inst, prev, now, method=f"rule:{rule}")
    assert same.valid, format_violations(same.violations)
    for f in prev.times:
        assert np.array_equal(same.schedule.times[f], prev.times[f], equal_nan=True), f
    # another rule with pins on operations not started yet: valid, state and pins kept
    free = np.flatnonzero(~(prev.times["setup_start"] < now)).tolist()
    pins = []
    for i in range(min(npins, len(free))):
        o = free[(pick + 7 * i) % len(free)]
        job, step = prev.job_ids[int(prev.op_job[o])], int(prev.op_step[o]) + 1
        if all((p["job"], p["step"]) != (job, step) for p in pins):
            pins.append({"job": job, "step": step, "machine": prev.machine_ids[prev.op_machine[o]]})
    ev, broken = [], -1
    if down is not None:  # a machine breaks down at now
        broken = down[0] % len(prev.machine_ids)
        ev = [
            {
                "type": "breakdown",
                "machine": prev.machine_ids[broken],
                "from": now,
                "to": now + down[1],
            }
        ]
        pins = [p for p in pins if p["machine"] != prev.machine_ids[broken]]
    r = replan(inst, prev, now, ev, method=f"rule:{other}", pins=pins)
    event(f"replan: {'deadlock' if r.deadlock else 'complete'}")
    if r.deadlock is not None:
        return
    assert r.valid, format_violations(r.violations)
    ns = r.schedule
    assert validate(ns, r.instance) == []
    key = {(ns.job_ids[ns.op_job[o]], int(ns.op_step[o])): o for o in range(ns.n_ops)}
    for o in np.flatnonzero(prev.times["setup_start"] < now).tolist():
        n = key[(prev.job_ids[prev.op_job[o]], int(prev.op_step[o]))]
        assert ns.op_machine[n] == prev.op_machine[o]
        assert ns.times["setup_start"][n] == prev.times["setup_start"][o]
        if prev.op_machine[o] != broken:  # (the broken machine's running op pauses)
            for f in ("setup_end", "start", "end"):
                assert ns.times[f][n] == prev.times[f][o], f
    if down is not None:  # nothing new on the broken machine during its outage
        fixed = r.instance.situation.state.by_key()
        for n in np.flatnonzero(ns.op_machine == broken).tolist():
            if (ns.job_ids[ns.op_job[n]], int(ns.op_step[n]) + 1) in fixed:
                continue
            for a, b in [*ns.op_segments(n), *ns.op_setup_segments(n)]:
                assert not (a < now + down[1] - 1e-6 and b > now + 1e-6 and b - a > 1e-6)
    for p in pins:
        n = key[(p["job"], p["step"] - 1)]
        assert ns.machine_ids[ns.op_machine[n]] == p["machine"]
    # every child that reached its kit before now keeps its kit arrival
    for j in np.flatnonzero(prev.job_parent >= 0).tolist():
        lo = np.flatnonzero(prev.op_job == j)[-1]
        if prev.times["leave"][lo] < now and prev.times["end"][lo] < now:
            nj = ns.job_ids.index(prev.job_ids[j])
            assert math.isclose(ns.finish_arrive[nj], prev.finish_arrive[j])


@pytest.mark.parametrize("extra", [{}, {"neighbourhoods": ["window", "hold", "hold-wait"]}])
def test_empty_buffers_search_from_a_kit_state_draws_no_hold(k2, extra):
    """``lns`` for Empty Buffers draws ``hold`` moves by default, but a re-plan's STORE is the
    shop's (jobs already out of it, pins): from a shop state it leaves the hold moves out,
    and plans."""
    inst, s = k2
    r = replan(inst, s, 1.0, method="lns", goal="empty-buffers", iterations=20, **extra)
    assert r.valid, (r.fallback, r.violations)
    moves = r.details["lns"]["moves"]
    assert moves["hold"]["tried"] == moves["hold-wait"]["tried"] == 0
    assert moves["window"]["tried"] > 0
    assert validate(r.schedule, r.instance) == []
