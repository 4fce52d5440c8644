"""Planning from the shop's present (furnsim.replan): state, events, pins, stability.

Golden cases on a hand-made plant (times computed by hand in the comments), the validator's
situation checks on mutated plans, the environment and CP-SAT from a state, and the CLI.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from furnsim.cli import app
from furnsim.errors import DataError
from furnsim.replan import (
    ShopState,
    Situation,
    derive_state,
    parse_events,
    replan,
    situated,
    stability,
)
from furnsim.rules import get_rule, run_policy
from furnsim.validate import validate

from ._tiny import make

DEMO = Path(__file__).resolve().parents[1] / "bom_data" / "demo"

runner = CliRunner()


def shop():
    """Machines A and B; B's buffer holds 1 m³; transport A -> B 5 min.

    J0: A 2, B 20 · J1: A 3, B 5 · J2: A 4, B 1 (1 m³ at B each) · J3 (released at 20):
    A 1, B 1 (0.5 m³ per piece at B).

    FIFO (anticipatory setups, no setup times): A runs J0 0-2 (J0 departs at 2, arrives at
    B at 7; B takes it at 2, starts 7, ends 27), J1 2-5; at 5 the B buffer is full (J0 holds
    it until 7): A is blocked with J1 until 7, when J1 departs (arrives 12). A runs J2 7-11
    and is blocked again (J1 holds B's buffer until it starts at 27). J2 leaves at 27
    (arrives 32); B runs J1 27-32, J2 32-33; J3 departs at its release 20 (A's buffer is
    unbounded) but A is blocked until 27: A runs J3 27-28, J3 leaves A when J2 starts at 32
    (B's buffer full until then) and arrives at 37: B 37-38.
    """
    return make(
        [
            [("A", 2, "neutral", 0), ("B", 20, "neutral", 1)],
            [("A", 3, "neutral", 0), ("B", 5, "neutral", 1)],
            [("A", 4, "neutral", 0), ("B", 1, "neutral", 1)],
            [("A", 1, "neutral", 0), ("B", 1, "neutral", 0.5)],
        ],
        capacity={"B": 1.0},
        transport={("A", "B"): 5.0},
        releases=[0, 0, 0, 20],
    )


@pytest.fixture(scope="module")
def base():
    inst = shop()
    s, sim = run_policy(inst, get_rule("FIFO"))
    assert sim.deadlock is None and validate(s, inst) == []
    return inst, s


def _row(s, job, step):
    o = next(
        o for o in range(s.n_ops) if s.job_ids[s.op_job[o]] == job and s.op_step[o] == step - 1
    )
    return {f: float(s.times[f][o]) for f in s.times} | {"machine": s.machine_ids[s.op_machine[o]]}


def test_base_plan_as_computed_by_hand(base):
    _, s = base
    r = _row(s, "J0/C0", 2)
    assert r == {
        "setup_start": 2,
        "setup_end": 2,
        "start": 7,
        "end": 27,
        "depart": 2,
        "arrive": 7,
        "leave": 27,
        "machine": "B",
    }
    r = _row(s, "J0/C0", 2)
    assert (r["setup_start"], r["start"], r["end"], r["arrive"]) == (2, 7, 27, 7)
    r = _row(s, "J1/C1", 1)
    assert (r["start"], r["end"], r["leave"]) == (2, 5, 7)  # blocked 5..7
    r = _row(s, "J2/C2", 1)
    assert (r["start"], r["end"], r["leave"]) == (7, 11, 27)  # blocked 11..27
    assert (_row(s, "J1/C1", 2)["start"], _row(s, "J2/C2", 2)["start"]) == (27, 32)
    assert (_row(s, "J3/C3", 1)["start"], _row(s, "J3/C3", 1)["leave"]) == (27, 32)
    assert _row(s, "J3/C3", 2)["end"] == 38


# -- state derivation ------------------------------------------------------------------------
def test_state_at_10_running_and_in_transit(base):
    _, s = base
    st = derive_state(s, 10.0)
    by = {(x.job, x.step): x for x in st.operations}
    assert set(by) == {("J0/C0", 1), ("J0/C0", 2), ("J1/C1", 1), ("J1/C1", 2), ("J2/C2", 1)}
    assert by[("J0/C0", 1)].status == "done" and by[("J0/C0", 1)].leave == 2
    j02 = by[("J0/C0", 2)]
    assert (j02.status, j02.machine, j02.setup_start, j02.start, j02.end) == (
        "running",
        "B",
        2,
        7,
        27,
    )
    assert by[("J1/C1", 1)].leave == 7
    j12 = by[("J1/C1", 2)]  # in transit: departed at 7, arrives at 12
    assert (j12.status, j12.depart, j12.arrive, j12.machine) == ("queued", 7, 12, None)
    j21 = by[("J2/C2", 1)]
    assert (j21.status, j21.start, j21.end) == ("running", 7, 11)
    assert st.machine_setups == {"A": "neutral", "B": "neutral"}
    # J3 is not released yet: not in the state (it waits at STORE)


def test_state_at_15_blocked_and_in_buffer(base):
    _, s = base
    st = derive_state(s, 15.0)
    by = {(x.job, x.step): x for x in st.operations}
    j21 = by[("J2/C2", 1)]
    assert (j21.status, j21.end, j21.leave) == ("done", 11, None)  # blocks A
    assert st.counts() == {"done": 3, "running": 1, "queued": 1, "blocked": 1}
    # round trip through the file format
    back = ShopState.from_dict(json.loads(st.to_json()))
    assert [x.to_dict() for x in back.operations] == [x.to_dict() for x in st.operations]


@pytest.mark.parametrize("now", [0.0, 3.0, 7.0, 10.0, 15.0, 27.0, 30.0, 37.5])
def test_same_rule_from_derived_state_reproduces_the_plan(base, now):
    inst, s = base
    r = replan(inst, s, now, method="rule:FIFO")
    assert r.valid, r.violations
    for f in s.times:
        assert np.array_equal(r.schedule.times[f], s.times[f], equal_nan=True), f
    assert r.stability["ops_moved"] == 0 and r.stability["start_shift_total"] == 0


# -- events ------------------------------------------------------------------------------------
def test_cancel_frees_the_buffer_at_now(base):
    inst, s = base
    r = replan(inst, s, 15.0, [{"type": "cancel", "order": "J1"}], method="rule:FIFO")
    assert r.valid, r.violations
    ns = r.schedule
    assert "J1/C1" not in ns.job_ids
    # J1 (queued at B) is gone at 15: J2 leaves A at once, arrives 20; B runs J2 27-28
    r2 = _row(ns, "J2/C2", 1)
    assert (r2["end"], r2["leave"]) == (11, 15)
    assert (_row(ns, "J2/C2", 2)["start"], _row(ns, "J2/C2", 2)["end"]) == (27, 28)
    # J3: A 20-21, blocked until J2 starts at 27 (B full), arrives 32, B 32-33
    j31, j32 = _row(ns, "J3/C3", 1), _row(ns, "J3/C3", 2)
    assert (j31["start"], j31["end"], j31["leave"]) == (20, 21, 27)
    assert (j32["setup_start"], j32["start"], j32["end"]) == (28, 32, 33)
    assert r.stability["ops_removed"] == 2


def test_change_quantity_of_an_order_not_started(base):
    inst, s = base
    r = replan(
        inst, s, 15.0, [{"type": "change", "order": "J3", "quantity": 2}], method="rule:FIFO"
    )
    assert r.valid, r.violations
    ns = r.schedule
    # δ = 2: A 2 min, B 2 min, 1 m³ at B. A is blocked by J2 until 27: A 27-29; J3 leaves A
    # when J2 starts on B at 32 (1 + 1 > 1 before), arrives 37, B 37-39
    j31, j32 = _row(ns, "J3/C3", 1), _row(ns, "J3/C3", 2)
    assert (j31["start"], j31["end"], j31["leave"]) == (27, 29, 32)
    assert (j32["start"], j32["end"]) == (37, 39)
    # the rest as before
    assert _row(ns, "J1/C1", 2)["start"] == 27
    # an order with jobs on the floor keeps its quantity
    with pytest.raises(DataError, match=r"entry 0 \(change\).*J1 has jobs on the floor"):
        replan(inst, s, 15.0, [{"type": "change", "order": "J1", "quantity": 2}])


def test_breakdown_pauses_the_running_op_and_blocks_the_machine(base):
    inst, s = base
    ev = [{"type": "breakdown", "machine": "B", "from": 15, "to": 30}]
    r = replan(inst, s, 15.0, ev, method="rule:FIFO")
    assert r.valid, r.violations
    ns = r.schedule
    j02 = _row(ns, "J0/C0", 2)  # ran 7-15, pauses 15-30, 12 min left: ends 42
    assert (j02["start"], j02["end"]) == (7, 42)
    b_ops = [o for o in range(ns.n_ops) if ns.machine_ids[ns.op_machine[o]] == "B"]
    later = [o for o in b_ops if ns.setup_start[o] >= 15]
    assert later and all(ns.setup_start[o] >= 42 for o in later)
    assert _row(ns, "J1/C1", 2)["start"] == 42


def test_breakdown_in_the_future_is_avoided(base):
    inst, s = base
    ev = [{"type": "breakdown", "machine": "A", "from": 20, "to": 30}]
    r = replan(inst, s, 15.0, ev, method="rule:FIFO")
    assert r.valid, r.violations
    ns = r.schedule
    for o in range(ns.n_ops):
        if ns.machine_ids[ns.op_machine[o]] == "A" and ns.setup_start[o] >= 15:
            assert ns.end[o] <= 20 or ns.setup_start[o] >= 30


def test_finished_early(base):
    inst, s = base
    r = replan(inst, s, 15.0, [{"type": "finished", "op": "J0/C0/2", "at": 20}], method="rule:FIFO")
    assert r.valid, r.violations
    ns = r.schedule
    assert _row(ns, "J0/C0", 2)["end"] == 20
    # B takes J1 (in its buffer) at 20: 20-25; J2 leaves A at 20, arrives 25, B 25-26
    assert (_row(ns, "J1/C1", 2)["start"], _row(ns, "J1/C1", 2)["end"]) == (20, 25)
    assert _row(ns, "J2/C2", 1)["leave"] == 20
    assert _row(ns, "J2/C2", 2)["start"] == 25


def test_rush_order_is_planned_from_now(base):
    inst, s = base
    ev = [{"type": "rush_order", "order": "R", "article": "A2", "quantity": 1, "deadline": 40}]
    r = replan(inst, s, 15.0, ev, method="rule:EDD")
    assert r.valid, r.violations
    ns = r.schedule
    rows = [_row(ns, "R/C2", k) for k in (1, 2)]
    assert rows[0]["depart"] >= 15 and rows[0]["setup_start"] >= 15
    assert r.stability["ops_new"] == 2


def test_event_errors_name_entry_and_field():
    with pytest.raises(DataError) as e:
        parse_events(
            [
                {"type": "breakdown", "machine": "A", "from": 3},
                {"type": "rush_order", "order": "R", "article": "X", "quantity": 0, "deadline": 4},
                {"type": "nope"},
                {"type": "cancel", "order": "J0", "colour": "red"},
                {"type": "finished", "at": 3},
            ]
        )
    text = str(e.value)
    for needle in (
        "entry 0: breakdown needs 'to'",
        "entry 1: quantity must be",
        "entry 2: type",
        "entry 3: unknown field 'colour'",
        "entry 4: finished needs 'op'",
    ):
        assert needle in text
    cols = [(i.row, i.column) for i in e.value.issues]
    assert (0, "to") in cols and (1, "quantity") in cols and (3, "colour") in cols


def test_events_that_do_not_fit_the_shop(base):
    inst, s = base
    for ev, msg in [
        ({"type": "cancel", "order": "NOPE"}, "unknown order"),
        ({"type": "breakdown", "machine": "Z", "from": 1, "to": 2}, "unknown machine"),
        (
            {"type": "rush_order", "order": "J0", "article": "A0", "quantity": 1, "deadline": 50},
            "exists",
        ),
        ({"type": "finished", "op": "J3/C3/1", "at": 30}, "has not started"),
    ]:
        with pytest.raises(DataError, match=msg):
            replan(inst, s, 15.0, [ev])


# -- pins, frozen horizon, repair ---------------------------------------------------------------
def two_machines():
    # two parallel machines M1, M2 in W; jobs of 3/5/4/6/2 min
    return make([[("W", p)] for p in (3, 5, 4, 6, 2)], machines={"M1": "W", "M2": "W"})


def test_pins_keep_machine_and_start():
    inst = two_machines()
    s, _ = run_policy(inst, get_rule("SPT"))
    pins = [{"job": "J1/C1", "step": 1, "machine": "M1", "start": 9.0}]
    r = replan(inst, s, 0.0, pins=pins, method="rule:SPT")
    assert r.valid, r.violations
    row = _row(r.schedule, "J1/C1", 1)
    assert (row["machine"], row["start"]) == ("M1", 9.0)
    # the validator rejects a plan that moves it
    bad = replace(r.schedule, op_machine=r.schedule.op_machine.copy())
    o = 1
    bad.op_machine[o] = 1 - bad.op_machine[o]
    kinds = {v.kind for v in validate(bad, r.instance)}
    assert "pin" in kinds


def test_frozen_horizon_keeps_the_next_operations():
    inst = two_machines()
    s, _ = run_policy(inst, get_rule("LPT"))
    r = replan(inst, s, 1.0, frozen_minutes=7, method="rule:SPT")
    assert r.valid, r.violations
    assert r.details["replan"]["frozen"] > 0
    for p in r.instance.situation.pins:
        a = _row(s, p.job, p.step)
        b = _row(r.schedule, p.job, p.step)
        assert (a["machine"], a["setup_start"], a["start"]) == (
            b["machine"],
            b["setup_start"],
            b["start"],
        )


def test_repair_keeps_machines_and_order_replan_may_not(base):
    inst = two_machines()
    s, _ = run_policy(inst, get_rule("LPT"))
    ev = [{"type": "rush_order", "order": "R", "article": "A4", "quantity": 1, "deadline": 4}]
    rep = replan(inst, s, 1.0, ev, mode="repair")
    rpl = replan(inst, s, 1.0, ev, mode="replan", method="rule:SPT")
    assert rep.valid and rpl.valid
    assert rep.stability["machine_changes"] == 0
    assert rep.stability["start_shift_total"] <= rpl.stability["start_shift_total"]
    # nervousness weighs the changes: with a heavy weight the repair wins
    nerv = replan(inst, s, 1.0, ev, method="best-rule", nervousness={"start_shift_total": 100})
    cands = nerv.details["nervousness_candidates"]
    assert "repair" in cands and "rule:SPT" in cands and nerv.valid
    assert cands[nerv.method] == min(cands.values()) == pytest.approx(nerv.cost)
    plain = replan(inst, s, 1.0, ev, method="best-rule")
    assert nerv.stability["start_shift_total"] <= plain.stability["start_shift_total"]
    assert nerv.details["nervousness"]["cost"] == pytest.approx(
        100 * nerv.stability["start_shift_total"]
    )


def test_stability_counts_by_hand():
    inst = two_machines()
    a, _ = run_policy(inst, get_rule("SPT"))
    b, _ = run_policy(inst, get_rule("SPT"))
    assert stability(a, b)["ops_moved"] == 0
    b.times["start"][0] += 2.0
    b.op_machine[1] = 1 - b.op_machine[1]
    st = stability(a, b)
    assert (st["ops_moved"], st["start_shift_total"], st["machine_changes"]) == (1, 2.0, 1)


# -- the validator's independent checks -----------------------------------------------------------
def test_validator_catches_broken_state(base):
    inst, s = base
    r = replan(inst, s, 15.0, method="rule:SPT")
    assert r.valid
    # a plan made from an empty shop with another rule does not honour the state
    fresh, _ = run_policy(shop(), get_rule("LPT"))
    assert not np.array_equal(fresh.start, s.start)
    assert "state" in {v.kind for v in validate(fresh, r.instance)}
    assert validate(fresh, shop()) == []  # (it is a valid plan from an empty shop)
    # move a running operation: state violation
    bad = replace(r.schedule, times={k: v.copy() for k, v in r.schedule.times.items()})
    o = next(
        o for o in range(bad.n_ops) if bad.job_ids[bad.op_job[o]] == "J0/C0" and bad.op_step[o] == 1
    )
    bad.times["start"][o] += 1
    bad.times["end"][o] += 1
    assert "state" in {v.kind for v in validate(bad, r.instance)}
    # start something new before now
    bad = replace(r.schedule, times={k: v.copy() for k, v in r.schedule.times.items()})
    o = next(o for o in range(bad.n_ops) if bad.job_ids[bad.op_job[o]] == "J3/C3")
    for f in ("setup_start", "setup_end", "start", "end", "leave", "depart", "arrive"):
        bad.times[f][o] -= 20
    msgs = [v.message for v in validate(bad, r.instance) if v.kind == "state"]
    assert any("at STORE at now=15 but departs at 0" in m for m in msgs), msgs
    assert any("not started at now=15 but its setup start is 7" in m for m in msgs), msgs


def test_validator_catches_outage_overlap(base):
    inst, s = base
    ev = [{"type": "breakdown", "machine": "A", "from": 20, "to": 30}]
    r = replan(inst, s, 15.0, ev, method="rule:FIFO")
    plain = situated(inst, Situation(replace(r.instance.situation.state, outages=[])))
    s2, _ = run_policy(plain, get_rule("FIFO"))  # ignores the outage
    kinds = {v.kind for v in validate(s2, r.instance)}
    assert "outage" in kinds


def test_bad_state_is_a_data_error(base):
    inst, s = base
    st = derive_state(s, 15.0)
    st.operations[0].machine = "Z"
    with pytest.raises(DataError, match="unknown machine"):
        replan(inst, s, 15.0, state=st)
    with pytest.raises(DataError, match="now"):
        ShopState.from_dict({"format": "furnsim.state/1", "now": "soon"})


# -- every method from a state -------------------------------------------------------------------
def test_cpsat_from_a_state_honours_it(base):
    pytest.importorskip("ortools")
    inst, s = base
    ev = [{"type": "breakdown", "machine": "B", "from": 15, "to": 30}]
    r = replan(inst, s, 15.0, ev, method="cpsat", time_limit=10)
    assert r.valid, r.violations
    assert "lower_bound" in r.details and r.details["lower_bound"] <= r.cost + 1e-6
    assert validate(r.schedule, r.instance) == []


def test_env_resets_from_a_state(base):
    pytest.importorskip("gymnasium")
    from furnsim.env import FurnitureShopEnv as ShopEnv

    inst, s = base
    st = derive_state(s, 15.0)
    env = ShopEnv(instance=inst, reward_scale=1.0, skip_single=False)
    obs, info = env.reset(options={"state": st.to_dict()})
    assert info["time"] >= 15.0 and info["dispatched"] == 0  # the first decision after now
    done = False
    while not done:
        a = int(np.flatnonzero(env.action_masks())[0])
        obs, r, done, _, info = env.step(a)
    sched = env.schedule()
    assert validate(sched, situated(inst, st)) == []
    assert _row(sched, "J0/C0", 2)["end"] == 27


# -- the demo scenario ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_week():
    from furnsim.io import load_instance
    from furnsim.plan import plan

    # the flat 24/7 week: the checks below use 24/7 arithmetic (a 6 h outage = 360 min later);
    # tests/test_replan_calendars.py covers re-planning on calendars
    inst = load_instance(DEMO.parent / "demo-247")
    return inst, plan(inst, "speed", "rule:ATC").schedule


DEMO_EVENTS = [
    {"type": "breakdown", "machine": "SAW-1", "from": "2026-03-03T10:00", "to": "2026-03-03T16:00"},
    {
        "type": "rush_order",
        "order": "RUSH-1",
        "article": "NIGHTSTAND",
        "quantity": 12,
        "deadline": "2026-03-04T14:00",
    },
]


@pytest.mark.parametrize("mode", ["repair", "replan"])
def test_demo_breakdown_and_rush_order(demo_week, mode):
    inst, prev = demo_week
    now = 24 * 60 + 4 * 60  # Tuesday 10:00 = 1680 min after Monday 06:00
    r = replan(inst, prev, "2026-03-03T10:00", DEMO_EVENTS, mode=mode, method="rule:ATC")
    assert r.valid, r.violations[:5]
    assert r.details["replan"]["now"] == now
    ns = r.schedule
    # every operation that started before now keeps machine and times (the one running on
    # the broken saw ends 6 h later)
    kn = {(ns.job_ids[ns.op_job[o]], int(ns.op_step[o])): o for o in range(ns.n_ops)}
    saw = ns.machine_ids.index("SAW-1")
    for o in np.flatnonzero(prev.setup_start < now).tolist():
        n = kn[(prev.job_ids[prev.op_job[o]], int(prev.op_step[o]))]
        assert ns.machine_ids[ns.op_machine[n]] == prev.machine_ids[prev.op_machine[o]]
        assert ns.setup_start[n] == prev.setup_start[o]
        if ns.op_machine[n] == saw and prev.end[o] > now:  # paused by the breakdown
            assert ns.end[n] == pytest.approx(prev.end[o] + 360)
            shift = 360 if prev.start[o] > now else 0
            assert ns.start[n] == pytest.approx(prev.start[o] + shift)
        else:
            for f in ("setup_end", "start", "end"):
                assert ns.times[f][n] == prev.times[f][o]
    # nothing new on the broken saw during its outage
    new = (ns.op_machine == saw) & (ns.setup_start >= now)
    assert not np.any(new & (ns.setup_start < now + 360) & (ns.end > now))
    # nothing else starts before now
    started = np.isin(
        np.arange(ns.n_ops),
        [
            kn[(prev.job_ids[prev.op_job[o]], int(prev.op_step[o]))]
            for o in np.flatnonzero(prev.setup_start < now)
        ],
    )
    assert np.all(ns.setup_start[~started] >= now)
    # the rush order is planned
    rush = [o for o in range(ns.n_ops) if ns.job_ids[ns.op_job[o]].startswith("RUSH-1/")]
    assert rush and all(ns.op_machine[o] >= 0 and ns.start[o] >= now for o in rush)
    st = r.stability
    assert st["ops_new"] == len(rush) and st["ops_compared"] == prev.n_ops
    assert st["ops_moved"] > 0
    if mode == "repair":
        # machines change only where the broken saw's work moved
        assert st["machine_changes"] <= int(
            np.sum((prev.op_machine == saw) & (prev.setup_start >= now))
        )


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_replan(tmp_path):
    plan_json = tmp_path / "plan.json"
    res = runner.invoke(app, ["plan", str(DEMO), "--method", "rule:ATC", "--json", str(plan_json)])
    assert res.exit_code == 0, res.output
    ev = tmp_path / "events.yaml"
    ev.write_text(yaml.safe_dump(DEMO_EVENTS))
    out = tmp_path / "out.json"
    res = runner.invoke(
        app,
        [
            "replan",
            str(DEMO),
            "--previous",
            str(plan_json),
            "--now",
            "2026-03-03T10:00",
            "--events",
            str(ev),
            "--json",
            str(out),
            "--mode",
            "repair",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "stability:" in res.output
    d = json.loads(out.read_text())
    assert d["valid"] and d["method"] == "repair"
    assert set(d["stability"]) >= {"ops_moved", "start_shift_total", "machine_changes"}
    assert d["schedule"]["format"] == "furnsim.schedule/1"
    # the state it started from reads back (furnsim replan --state)
    st = ShopState.from_dict(d["situation"]["state"])
    assert st.now == 1680 and st.counts()["running"] > 0
    assert [x.machine for x in st.outages] == ["SAW-1"]
    # the replanned plan validates against the replanned instance via the API
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- {type: breakdown, machine: SAW-1, from: 2026-03-03T10:00}\n- {type: cancel}\n"
    )
    res = runner.invoke(
        app,
        [
            "replan",
            str(DEMO),
            "--previous",
            str(plan_json),
            "--now",
            "2026-03-03T10:00",
            "--events",
            str(bad),
        ],
    )
    assert res.exit_code == 2
    assert (
        "entry 0: breakdown needs 'to'" in res.output
        and "entry 1: cancel needs 'order'" in res.output
    )
    assert "Traceback" not in res.output
    res = runner.invoke(
        app, ["replan", str(DEMO), "--previous", str(plan_json), "--now", "tomorrow"]
    )
    assert res.exit_code == 2 and "now" in res.output


def test_time_parsing_needs_plan_start():
    with pytest.raises(DataError, match="plan start"):
        replan(shop(), run_policy(shop(), get_rule("FIFO"))[0], "2026-03-03T10:00")
    assert math.isfinite(15.0)


# -- the HTTP API's re-plan endpoint with the real core ----------------------------------------
# starlette's TestClient warns that it prefers httpx2 (as in tests/test_api.py)
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_api_events_replan_chain(tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("sqlalchemy")
    from fastapi.testclient import TestClient

    from furnsim.api import ServerConfig, create_app
    from furnsim.io import read_plant
    from furnsim.storage import PlanStore

    from ._api_server import KEY, PAPER, wait_done

    orders = [
        {"order": "O1", "article": "A1", "quantity": 400, "deadline": 140},
        {"order": "O2", "article": "A2", "quantity": 100, "deadline": 90},
        {"order": "O3", "article": "A3", "quantity": 400, "deadline": 120},
    ]
    store = PlanStore("sqlite:///" + str(tmp_path / "plans.sqlite"))
    app = create_app(read_plant(PAPER), ServerConfig(api_keys=(KEY,)), store)
    with TestClient(app, headers={"X-API-Key": KEY}) as c:
        assert c.get("/v1/health").json()["replan"] is True
        pid = c.post("/v1/plans", json={"orders": orders, "method": "rule:EDD"}).json()["id"]
        first = wait_done(c, pid)
        assert first["status"] == "done"
        ev = [
            {"type": "breakdown", "machine": "M2", "from": 20, "to": 50},
            {"type": "rush_order", "order": "R1", "article": "A2", "quantity": 50, "deadline": 150},
        ]
        r = c.post(f"/v1/plans/{pid}/events", json={"now": 20, "events": ev})
        assert r.status_code == 202, r.text
        d = wait_done(c, r.json()["id"])
        assert d["status"] == "done" and d["valid"] is True, d
        assert d["stability"]["ops_new"] == 3 and "start_shift_total" in d["stability"]
        m2 = [o for o in d["operations"] if o["machine"] == "M2" and o["setup_start"] >= 20]
        assert m2 and all(o["setup_start"] >= 50 for o in m2)
        # a re-plan of the re-plan starts from its orders (the rush order included)
        r = c.post(
            f"/v1/plans/{r.json()['id']}/events",
            json={"now": 60, "events": [{"type": "cancel", "order": "R1"}]},
        )
        d2 = wait_done(c, r.json()["id"])
        assert d2["status"] == "done" and d2["valid"] is True, d2
        assert d2["stability"]["ops_removed"] == 3
        # a bad event: the re-plan fails and says which entry and field
        r = c.post(f"/v1/plans/{pid}/events", json={"now": 20, "events": [{"type": "cancel"}]})
        bad = wait_done(c, r.json()["id"])
        assert bad["status"] == "failed" and "entry 0: cancel needs 'order'" in bad["error"]


# -- working time (shift calendars): a breakdown during a shift, a replan over a weekend --------
SHIFTS = Path(__file__).resolve().parents[1] / "bom_data" / "demo_shifts" / "plant.xlsx"


@pytest.fixture(scope="module")
def shift_week():
    if not SHIFTS.exists():
        pytest.skip("bom_data/demo_shifts is not here")
    from furnsim.io import load_instance
    from furnsim.plan import plan

    inst = load_instance(SHIFTS)
    return inst, plan(inst, "speed", "rule:ATC").schedule


def _segments_in(s, o, a, b):
    return any(
        x < b - 1e-9 and y > a + 1e-9 and y - x > 1e-9
        for x, y in [*s.op_segments(o), *s.op_setup_segments(o)]
    )


def test_breakdown_during_a_shift(shift_week):
    inst, prev = shift_week
    now = 24 * 60 + 5 * 60  # Tuesday 11:00, inside the morning shift
    ev = [
        {
            "type": "breakdown",
            "machine": "SAW-1",
            "from": "2026-03-03T11:00",
            "to": "2026-03-03T15:00",
        },
        {
            "type": "rush_order",
            "order": "RUSH-1",
            "article": "NIGHTSTAND",
            "quantity": 12,
            "deadline": "2026-03-05T14:00",
        },
    ]
    for mode in ("repair", "replan"):
        r = replan(inst, prev, "2026-03-03T11:00", ev, mode=mode, method="rule:ATC")
        assert r.valid, r.violations[:5]
        ns = r.schedule
        saw = ns.machine_ids.index("SAW-1")
        fixed = r.instance.situation.state.by_key()
        for o in np.flatnonzero(ns.op_machine == saw).tolist():
            key = (ns.job_ids[ns.op_job[o]], int(ns.op_step[o]) + 1)
            if key not in fixed:  # nothing new on the broken saw during its outage
                assert not _segments_in(ns, o, now, now + 240)
        # work that started before now keeps machine and start
        kp = {
            (prev.job_ids[prev.op_job[o]], int(prev.op_step[o]) + 1): o for o in range(prev.n_ops)
        }
        for key, x in fixed.items():
            if x.status != "queued":
                assert x.setup_start == prev.setup_start[kp[key]] < now
        rush = [o for o in range(ns.n_ops) if ns.job_ids[ns.op_job[o]].startswith("RUSH-1/")]
        assert rush and all(ns.setup_start[o] >= now for o in rush)
        assert r.stability["ops_new"] == len(rush)
        # what ran on the saw at 11:00 pauses until 15:00 and still gets all its working
        # minutes (its segments avoid the outage and the breaks)
        paused = [
            o
            for o in np.flatnonzero(ns.op_machine == saw).tolist()
            if ns.setup_start[o]
            < now
            < prev.end[kp[(ns.job_ids[ns.op_job[o]], int(ns.op_step[o]) + 1)]]
        ]
        for o in paused:
            segs = ns.op_segments(o)
            assert not _segments_in(ns, o, now, now + 240)
            p = prev.end[kp[(ns.job_ids[ns.op_job[o]], int(ns.op_step[o]) + 1)]]
            q = prev.start[kp[(ns.job_ids[ns.op_job[o]], int(ns.op_step[o]) + 1)]]
            want = sum(
                b - a
                for a, b in prev.op_segments(kp[(ns.job_ids[ns.op_job[o]], int(ns.op_step[o]) + 1)])
            )
            assert sum(b - a for a, b in segs) == pytest.approx(want), (p, q, segs)


def test_replan_over_a_weekend(shift_week):
    inst, prev = shift_week
    # Saturday 2026-03-07 18:00: the overtime window ended at 14:00; the next working minute
    # is Monday 2026-03-09 06:00 (7 days after the plan start = 10080 min)
    now, monday = 5 * 1440 + 12 * 60, 7 * 1440
    ev = [
        {
            "type": "breakdown",
            "machine": "SAW-2",
            "from": "2026-03-09T06:00",
            "to": "2026-03-09T10:00",
        },
        {
            "type": "rush_order",
            "order": "RUSH-2",
            "article": "DESK",
            "quantity": 5,
            "deadline": "2026-03-10T14:00",
        },
    ]
    r = replan(inst, prev, "2026-03-07T18:00", ev, method="rule:ATC")
    assert r.valid, r.violations[:5]
    ns = r.schedule
    fixed = r.instance.situation.state.by_key()
    new = [
        o
        for o in range(ns.n_ops)
        if (ns.job_ids[ns.op_job[o]], int(ns.op_step[o]) + 1) not in fixed
        or fixed[(ns.job_ids[ns.op_job[o]], int(ns.op_step[o]) + 1)].status == "queued"
    ]
    assert new
    # nothing new is set up or processed over the weekend; the lacquer line (3 shifts)
    # starts its week on Sunday at 22:00
    lacq = {m for m in ns.machine_ids if m.startswith("LACQ")}
    for o in new:
        first = monday - 8 * 60 if ns.machine_ids[ns.op_machine[o]] in lacq else monday
        assert not _segments_in(ns, o, now, first), (
            ns.machine_ids[ns.op_machine[o]],
            ns.op_segments(o),
        )
        assert ns.start[o] >= first - 1e-9
    saw2 = ns.machine_ids.index("SAW-2")
    assert not any(
        _segments_in(ns, o, monday, monday + 240) for o in new if ns.op_machine[o] == saw2
    )
    assert r.stability["ops_compared"] == prev.n_ops


def test_ppo_from_a_state(base):
    pytest.importorskip("torch")
    inst, s = base
    ev = [{"type": "rush_order", "order": "R", "article": "A2", "quantity": 1, "deadline": 40}]
    r = replan(inst, s, 15.0, ev, method="ppo", guard=False)
    if r.fallback and "not available" in r.fallback:
        pytest.skip(r.fallback)
    assert r.method.startswith("ppo") and r.valid, (r.fallback, r.violations)
    assert validate(r.schedule, r.instance) == []
    for key in (("J0/C0", 2), ("J2/C2", 1)):  # running / blocked at 15: unchanged
        assert _row(r.schedule, *key)["start"] == _row(s, *key)["start"]


def test_state_file_round_trip_and_errors(tmp_path, base):
    inst, s = base
    st = derive_state(s, 15.0)
    f = tmp_path / "state.yaml"
    f.write_text(yaml.safe_dump(st.to_dict()))
    from furnsim.replan import load_state

    back = load_state(f)
    r = replan(inst, s, 15.0, state=back, method="rule:FIFO")
    assert r.valid and r.stability["ops_moved"] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: furnsim.state/1\nnow: 15\noperations:\n  - {job: J0/C0, step: 1}\n")
    with pytest.raises(DataError, match=r"row 0.*status|status.*row 0|missing field"):
        load_state(bad)
    with pytest.raises(DataError, match="is not before now"):
        replan(inst, s, 5.0, state=ShopState.from_dict({**st.to_dict(), "now": 5}))


def test_situation_files_read_once_with_clear_errors(tmp_path, base):
    """load_situation reads state and pins files through the same bounded reader as load_state:
    a plain state file, a missing file, broken YAML and a bad pins file each name the file."""
    from furnsim.replan import load_situation

    inst, s = base
    st = derive_state(s, 15.0)
    f = tmp_path / "state.json"
    f.write_text(json.dumps(st.to_dict()))
    inst2, sit = load_situation(f, inst)
    assert sit.state.now == 15.0 and sit.pins == []
    with pytest.raises(DataError, match=r"missing\.yaml: cannot read the state"):
        load_situation(tmp_path / "missing.yaml", inst)
    broken = tmp_path / "broken.yaml"
    broken.write_text("now: [15\n")
    with pytest.raises(DataError, match=r"broken\.yaml: not valid JSON/YAML"):
        load_situation(broken, inst)
    with pytest.raises(DataError, match=r"nopins\.yaml: cannot read the pins"):
        load_situation(f, inst, pins=tmp_path / "nopins.yaml")
    badpins = tmp_path / "badpins.yaml"
    badpins.write_text("job: J0/C0\n")
    with pytest.raises(DataError, match=r"badpins\.yaml: pins must be a list"):
        load_situation(f, inst, pins=badpins)


def test_cli_pins_and_state_on_the_demo(tmp_path):
    plan_json = tmp_path / "plan.json"
    res = runner.invoke(app, ["plan", str(DEMO), "--method", "rule:ATC", "--json", str(plan_json)])
    assert res.exit_code == 0, res.output
    prev = json.loads(plan_json.read_text())["schedule"]
    # pin a job's first not-started step to the other saw
    o = next(
        o
        for o in range(len(prev["op_job"]))
        if prev["op_wc"][o] == prev["wc_ids"].index("SAW")
        and (prev["times"]["setup_start"][o] or 0) > 2000
    )
    job = prev["job_ids"][prev["op_job"][o]]
    other = "SAW-2" if prev["machine_ids"][prev["op_machine"][o]] == "SAW-1" else "SAW-1"
    pins = tmp_path / "pins.yaml"
    pins.write_text(
        yaml.safe_dump([{"job": job, "step": prev["op_step"][o] + 1, "machine": other}])
    )
    out = tmp_path / "out.json"
    res = runner.invoke(
        app,
        [
            "replan",
            str(DEMO),
            "--previous",
            str(plan_json),
            "--now",
            "2026-03-03T10:00",
            "--pins",
            str(pins),
            "--method",
            "rule:ATC",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    row = next(
        r for r in d["operations"] if r["job"] == job and r["step"] == prev["op_step"][o] + 1
    )
    assert row["machine"] == other
    state = tmp_path / "state.json"
    state.write_text(json.dumps(d["situation"]["state"]))
    res = runner.invoke(
        app,
        [
            "replan",
            str(DEMO),
            "--previous",
            str(plan_json),
            "--now",
            "2026-03-03T10:00",
            "--state",
            str(state),
            "--method",
            "rule:ATC",
        ],
    )
    assert res.exit_code == 0, res.output
    pins.write_text(yaml.safe_dump([{"job": job, "step": 1, "machine": "NOPE"}]))
    res = runner.invoke(
        app,
        [
            "replan",
            str(DEMO),
            "--previous",
            str(plan_json),
            "--now",
            "2026-03-03T10:00",
            "--pins",
            str(pins),
        ],
    )
    assert res.exit_code == 2 and "NOPE" in res.output


def test_lns_from_a_state(base):
    inst, s = base
    ev = [{"type": "breakdown", "machine": "B", "from": 15, "to": 30}]
    r = replan(inst, s, 15.0, ev, method="lns", time_limit=1.0)
    assert r.valid, (r.fallback, r.violations)
    assert validate(r.schedule, r.instance) == []
    assert _row(r.schedule, "J0/C0", 2)["end"] == 42  # paused by the breakdown, as in the state


def test_paused_operation_resumes_in_working_time(shift_week):
    from furnsim.replan import apply_events

    inst, prev = shift_week
    now = 1740  # Tuesday 11:00; SAW-1 is processing an operation with `rem` minutes left
    st = derive_state(prev, now)
    saw = [x for x in st.operations if x.machine == "SAW-1" and x.status == "running"]
    assert len(saw) == 1 and saw[0].end > now
    rem = saw[0].end - now
    # down until rem/2 before 18:00 (minute 2160): rem/2 runs until 18:00, the 18:00-18:15
    # break pauses it, the other rem/2 runs from 18:15 (minute 2175)
    down_to = 2160 - rem / 2
    ev = parse_events([{"type": "breakdown", "machine": "SAW-1", "from": now, "to": down_to}])
    _, st2, notes = apply_events(inst, st, ev)
    x = st2.by_key()[(saw[0].job, saw[0].step)]
    assert x.end == pytest.approx(2175 + rem / 2)
    assert x.start == saw[0].start and "pause until the repair" in notes[0]
