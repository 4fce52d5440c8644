"""Intentional holds (docs/semantics.md "Intentional holds"): hand-computed cases, the record's
JSON round trip, tampering, and the environment's hold actions behind their flag."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from furnsim.sim import Schedule, Simulator
from furnsim.validate import ScheduleFormatError, load_schedule, validate

from ._tiny import make, run

SETUP_XY = {"A": (["neutral", "x", "y"], [[0, 4, 4], [4, 0, 4], [4, 4, 0]])}


def _batch_shop():
    """Machine A (setup x) can take J1 (setup y) now, or wait 1 min for J0 (setup x) from B."""
    inst = make([[("B", 1.0), ("A", 2.0, "x")], [("A", 3.0, "y")]], setups=SETUP_XY)
    for m in inst.plant.machines:
        if m.id == "A":
            object.__setattr__(m, "initial_setup", "x")
    return inst


def _by_job(s: Schedule, f: str) -> list[float]:
    return [float(x) for x in s.times[f]]


def test_non_delay_takes_the_job_that_is_there():
    inst = _batch_shop()
    s = run(Simulator(inst))
    # ops: 0 = J0 on B, 1 = J0 on A, 2 = J1 on A
    assert _by_job(s, "start") == [0.0, 11.0, 4.0]
    assert s.makespan == 13.0 and s.holds is None


def test_machine_waits_for_the_arriving_batch_with_its_setup():
    inst = _batch_shop()
    sim = Simulator(inst)
    d = sim.reset()
    a = inst.compiled.machine_ids.index("A")
    while d is not None:
        if d.machine == a and sim.time == 0.0:
            d = sim.hold_machine(job=0, reason="batch J0 comes with setup x")
        else:
            d = sim.dispatch(0 if 0 in d.candidates else int(d.candidates[0]))
    s = sim.schedule()
    # J0: B 0..1; A keeps setup x, takes J0 at 1 (no setup) 1..3; J1: setup y 3..7, 7..10
    assert _by_job(s, "setup_start") == [0.0, 1.0, 3.0]
    assert _by_job(s, "start") == [0.0, 1.0, 7.0]
    assert _by_job(s, "end") == [1.0, 3.0, 10.0]
    assert s.makespan == 10.0
    assert s.holds == [
        {
            "kind": "machine",
            "machine": "A",
            "from": 0.0,
            "until": 1.0,
            "job": s.job_ids[0],
            "reason": "batch J0 comes with setup x",
        }
    ]
    assert validate(s, inst) == []
    # remove the hold: A sat idle while J1 waited for it
    s.holds = []
    vs = validate(s, inst)
    assert [v.kind for v in vs] == ["idle"] and vs[0].ops == (2,)
    # an old (v1) plan without a hold record is not checked for machine waits
    s.holds = None
    assert validate(s, inst) == []


def test_machine_hold_until_a_time_and_an_op_moved_into_it():
    inst = _batch_shop()
    sim = Simulator(inst)
    d = sim.reset()
    assert d is not None and d.machine == inst.compiled.machine_ids.index("A")
    d = sim.hold_machine(until=0.5)
    while d is not None:
        d = sim.dispatch(int(d.candidates[0]))
    s = sim.schedule()
    assert [(h["from"], h["until"]) for h in s.holds] == [(0.0, 0.5)]
    assert validate(s, inst) == []
    # J1's setup on A moved into the hold: caught
    s.times["setup_start"][2] = 0.25
    assert "hold" in {v.kind for v in validate(s, inst)}


def _store_shop():
    # one buffer of 1 m3 at A, two 1-m3 jobs released at 0: J1 waits for room
    return make([[("A", 5.0, "", 1.0)], [("A", 2.0, "", 1.0)]], capacity={"A": 1.0})


def test_store_hold_release_control():
    inst = _store_shop()
    s = run(Simulator(inst))
    assert _by_job(s, "depart") == [0.0, 0.0] and s.holds is None  # room freed at J0's start
    s = run(Simulator(inst, store_holds={1: 4.0}))
    # J1 held at STORE until 4: it reserves no space before, departs at 4, runs 5..7
    assert _by_job(s, "depart") == [0.0, 4.0]
    assert _by_job(s, "start") == [0.0, 5.0]
    assert s.holds == [
        {"kind": "store", "job": s.job_ids[1], "from": 0.0, "until": 4.0, "reason": "planned"}
    ]
    t, lv = s.buffer_levels()["A"]
    assert list(zip(t.tolist(), lv.tolist(), strict=True)) == [(0.0, 0.0), (4.0, 1.0), (5.0, 0.0)]
    assert validate(s, inst) == []
    bad = Schedule.from_dict(s.to_dict())
    bad.holds = []  # remove the hold: the STORE wait has no reason
    assert {v.kind for v in validate(bad, inst)} == {"release"}
    bad.holds = [{**s.holds[0], "until": 4.5}]  # extends past the departure
    assert {v.kind for v in validate(bad, inst)} == {"hold"}
    bad.holds = [{**s.holds[0], "from": -1.0}]  # before the release: J1 was not waiting
    assert "hold" in {v.kind for v in validate(bad, inst)}
    bad.holds = [s.holds[0], {**s.holds[0], "from": 2.0, "until": 3.0}]  # overlapping
    assert "hold" in {v.kind for v in validate(bad, inst)}


def test_hold_a_job_queued_at_store():
    inst = _store_shop()
    sim = Simulator(inst, record_holds=True)
    d = sim.reset()
    assert sim.store_queue(0) == [1]  # J1 waits for room
    d = sim.hold_job(1, 3.0, "later")
    while d is not None:
        d = sim.dispatch(int(d.candidates[0]))
    s = sim.schedule()
    assert _by_job(s, "depart") == [0.0, 3.0]
    assert validate(s, inst) == []


def test_bad_holds_are_refused():
    inst = _store_shop()
    sim = Simulator(inst)
    sim.reset()
    with pytest.raises(ValueError, match="end after"):
        sim.hold_machine(until=0.0)
    with pytest.raises(ValueError, match="needs an end"):
        sim.hold_machine()
    with pytest.raises(ValueError, match="already a candidate"):
        sim.hold_machine(job=0)
    with pytest.raises(ValueError, match="not at STORE"):
        sim.hold_job(0, 5.0)  # J0 departed


def test_a_hold_that_would_stall_ends():
    # A waits "for good" with nothing else left: the hold ends, the job is taken
    inst = make([[("A", 2.0)]])
    sim = Simulator(inst)
    sim.reset()
    d = sim.hold_machine(until=math.inf)
    assert d is not None and sim.time == 0.0
    d = sim.dispatch(0)
    assert d is None and sim.schedule().complete


def test_json_round_trip_and_old_files():
    s = run(Simulator(_store_shop(), store_holds={1: 4.0}))
    d = json.loads(s.to_json())
    assert d["format"] == "furnsim.schedule/1" and d["holds"] == s.holds
    assert Schedule.from_json(s.to_json()).holds == s.holds
    assert load_schedule(s.to_json()).holds == s.holds
    old = run(Simulator(_store_shop()))
    assert "holds" not in json.loads(old.to_json())  # rule plans: unchanged files
    assert load_schedule(old.to_json()).holds is None


@pytest.mark.parametrize(
    ("hold", "msg"),
    [
        ({"kind": "store", "job": "nope", "from": 0, "until": 1}, "job ids"),
        ({"kind": "machine", "machine": "A", "from": 0, "until": None}, "finite"),
        ({"kind": "store", "job": "J0/C0", "from": 0, "until": 1, "x": 1}, "unknown key"),
        ({"kind": "pause", "from": 0, "until": 1}, "kind"),
    ],
)
def test_loader_refuses_bad_hold_records(hold, msg):
    s = run(Simulator(_store_shop()))
    d = json.loads(s.to_json())
    d["holds"] = [hold]
    with pytest.raises(ScheduleFormatError, match=msg):
        load_schedule(json.dumps(d))


def test_rules_are_unchanged_by_hold_recording():
    """A simulator that records holds but makes none gives the same times (rules never hold)."""
    from furnsim.rules import get_rule

    inst = make(
        [[("A", 3.0, "x", 1.0), ("B", 2.0)], [("B", 1.0), ("A", 2.0, "y", 1.0)], [("A", 1.0)]],
        setups={"A": (["neutral", "x", "y"], [[0, 2, 3], [1, 0, 4], [2, 1, 0]])},
        capacity={"A": 1.5},
        transport={("B", "A"): 1.0},
    )

    def go(sim: Simulator, rule) -> Schedule:
        d = sim.reset()
        while d is not None:
            d = sim.dispatch(int(rule.choose(sim, d)))
        return sim.schedule()

    for name in ("FIFO", "SPT", "ATCS"):
        a = go(Simulator(inst), get_rule(name))
        b = go(Simulator(inst, record_holds=True), get_rule(name))
        assert a.holds is None and b.holds == []
        for f, v in a.times.items():
            assert np.array_equal(v, b.times[f], equal_nan=True), (name, f)
        assert validate(b, inst) == []  # and they pass the non-delay check


# -- the environment's hold actions ------------------------------------------------------------
@pytest.mark.parametrize("view", ["jobs", "candidates", "rules"])
def test_env_hold_actions_off_by_default_shapes_unchanged(view):
    pytest.importorskip("gymnasium")
    from furnsim.env import DEMO_PLANT, FurnitureShopEnv, WeekSource

    if not DEMO_PLANT.exists():
        pytest.skip("demo plant not found")
    week = WeekSource.from_path(None).week(3, 25)
    base = FurnitureShopEnv(view=view, instance=week, max_jobs=64)
    off = FurnitureShopEnv(view=view, instance=week, max_jobs=64, hold_actions=False)
    on = FurnitureShopEnv(view=view, instance=week, max_jobs=64, hold_actions=True)
    assert base.hold_actions is False
    assert off.action_space == base.action_space
    assert off.observation_space == base.observation_space
    assert on.observation_space == base.observation_space
    assert on.action_space.n == base.action_space.n + 2
    o1, _ = base.reset(seed=1)
    o2, _ = on.reset(seed=1)
    assert base.action_masks().shape == (base.action_space.n,)
    assert on.action_masks().shape == (on.action_space.n,)
    flat = [np.ravel(v) for v in o1.values()] if isinstance(o1, dict) else [o1]
    flat2 = [np.ravel(v) for v in o2.values()] if isinstance(o2, dict) else [o2]
    for a, b in zip(flat, flat2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_env_random_episode_with_holds_validates():
    pytest.importorskip("gymnasium")
    from furnsim.env import DEMO_PLANT, FurnitureShopEnv, WeekSource

    if not DEMO_PLANT.exists():
        pytest.skip("demo plant not found")
    week = WeekSource.from_path(None).week(5, 30)
    env = FurnitureShopEnv(view="candidates", instance=week, hold_actions=True)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    n = env.action_space.n
    used = {"wait": 0, "store": 0}
    done, steps, seen_store = False, 0, False
    while not done:
        m = env.action_masks()
        legal = np.flatnonzero(m)
        holds = [a for a in legal if a >= n - 2]
        seen_store = seen_store or bool(m[n - 1])
        if holds and rng.random() < 0.3:
            a = int(rng.choice(holds))
            used["wait" if a == n - 2 else "store"] += 1
        else:
            a = int(rng.choice([x for x in legal if x < n - 2] or legal))
        _, r, done, _, info = env.step(a)
        assert math.isfinite(r)
        steps += 1
        assert steps < 20_000
    s = env.schedule()
    assert s.holds is not None and used["wait"] > 0 and (used["store"] > 0 or not seen_store)
    if info.get("deadlock") is None:
        assert validate(s, week) == []
    # a masked hold action is refused
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(n - 1) if not env.action_masks()[n - 1] else env.step(10**6)


def test_env_store_hold_action():
    pytest.importorskip("gymnasium")
    from furnsim.env import FurnitureShopEnv

    # J2 comes at 10 (an event is pending): J1, waiting at STORE for room, can be held until then
    inst = make(
        [[("A", 5.0, "", 1.0)], [("A", 2.0, "", 1.0)], [("B", 1.0)]],
        capacity={"A": 1.0},
        releases=[0.0, 0.0, 10.0],
    )
    env = FurnitureShopEnv(
        view="candidates", instance=inst, hold_actions=True, skip_single=False, reward_scale=1.0
    )
    env.reset(seed=0)
    n = env.action_space.n
    m = env.action_masks()
    assert m[n - 2] and m[n - 1]  # J1 waits at STORE for room: it can be held
    env.step(n - 1)  # held until the next event
    done = False
    while not done:
        _, _, done, _, _ = env.step(int(np.flatnonzero(env.action_masks()[: n - 2])[0]))
    s = env.schedule()
    assert [(h["kind"], h["from"], h["until"]) for h in s.holds] == [("store", 0.0, 10.0)]
    assert float(s.times["depart"][1]) == 10.0
    assert validate(s, inst) == []
