"""The independent validator: simulator schedules pass; each corruption is caught by kind."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import pytest

from furnsim.io import load_instance
from furnsim.model import (
    Article,
    Catalog,
    Component,
    Instance,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    WorkCenter,
)
from furnsim.sim import Schedule, Simulator
from furnsim.validate import KINDS, Violation, format_violations, is_valid, validate

from ._tiny import SHARED, ft06_path, make, run

SETUPS = ("neutral", "oak", "pine")
EDGES = ("neutral", "thin", "thick")


def small_plant(orders: list[Order] | None = None, *, tight: float = 1.3) -> Instance:
    """SAW (2 machines, asymmetric setups) -> EDGE (virtual setups) -> DRILL (2 machines).

    Buffers are tight (EDGE and DRILL hold about one batch) so that machines block; routes
    all run SAW -> EDGE -> DRILL, so no deadlock. TOP runs on SAW-1 only, SIDE on DRILL-2 only.
    """
    saw = np.array([[0, 10, 12], [5, 0, 8], [5, 3, 0]], dtype=float)
    edge = np.array([[0, 0, 4], [0, 0, 6], [2, 0, 0]], dtype=float)  # zeros: virtual setups
    tr = {
        ("STORE", "SAW"): 5, ("STORE", "EDGE"): 6, ("STORE", "DRILL"): 7,
        ("SAW", "EDGE"): 3, ("SAW", "DRILL"): 4, ("EDGE", "SAW"): 4,
        ("EDGE", "DRILL"): 2, ("DRILL", "SAW"): 6, ("DRILL", "EDGE"): 1,
        ("SAW", "FINISHED"): 6, ("EDGE", "FINISHED"): 5, ("DRILL", "FINISHED"): 3,
    }  # fmt: skip
    plant = Plant(
        [WorkCenter("SAW", 3.0), WorkCenter("EDGE", tight), WorkCenter("DRILL", tight)],
        [
            Machine("SAW-1", "SAW", SETUPS, saw),
            Machine("SAW-2", "SAW", SETUPS, saw.T.copy(), initial_setup="oak"),
            Machine("EDGE-1", "EDGE", EDGES, edge),
            Machine("DRILL-1", "DRILL"),
            Machine("DRILL-2", "DRILL"),
        ],
        TransportMatrix(tr),
    )
    board = [
        Operation("SAW", "oak", 0.5, 2.0, 0.1, machine_minutes={"SAW-2": 0.4}),
        Operation("EDGE", "thin", 0.3, volume_per_piece=0.1),
        Operation("DRILL", "neutral", 0.8, volume_per_piece=0.1),
    ]
    side = [
        Operation("SAW", "pine", 0.6, volume_per_piece=0.05),
        Operation("DRILL", "neutral", 0.4, volume_per_piece=0.05, machines=("DRILL-2",)),
    ]
    top = [
        Operation("SAW", "oak", 2.0, volume_per_piece=0.2, machines=("SAW-1",)),
        Operation("EDGE", "thick", 1.0, volume_per_piece=0.2),
    ]
    arts = [
        Article("SHELF", [Component("BOARD", 1, board), Component("SIDE", 2, side)]),
        Article("TABLE", [Component("TOP", 1, top)]),
    ]
    if orders is None:
        orders = [
            Order("O1", "SHELF", 10),
            Order("O2", "TABLE", 5, release=30),
            Order("O3", "SHELF", 8),
            Order("O4", "TABLE", 4),
            Order("O5", "SHELF", 12, release=10),
            Order("O6", "TABLE", 3),
        ]
    return Instance(plant, Catalog(arts), orders, name="small")


@pytest.fixture(scope="module")
def plant() -> Instance:
    return small_plant()


@pytest.fixture(scope="module")
def good(plant: Instance) -> Schedule:
    """A valid schedule with setups, transport, STORE waits and one blocked machine."""
    sim = Simulator(plant)
    s = run(sim)
    assert sim.deadlock is None and s.complete
    return s


def broken(s: Schedule) -> Schedule:
    return copy.deepcopy(s)


def reported(s: Schedule, inst: Instance, kind: str, *ops: int) -> list[Violation]:
    """Assert that ``validate`` reports ``kind`` naming all of ``ops``; return everything found."""
    vs = validate(s, inst)
    assert any(v.kind == kind and set(ops) <= set(v.ops) for v in vs), (
        f"expected {kind} on ops {ops}; got:\n{format_violations(vs)}"
    )
    return vs


def machine_pairs(s: Schedule) -> list[tuple[int, int]]:
    """Consecutive operations per machine (by start)."""
    pairs = []
    for m in range(len(s.machine_ids)):
        ops = sorted(np.flatnonzero(s.op_machine == m).tolist(), key=lambda o: s.start[o])
        pairs += list(zip(ops, ops[1:], strict=False))
    return pairs


def ops_of(s: Schedule, inst: Instance, job_id: str) -> list[int]:
    j = [jb.id for jb in inst.jobs].index(job_id)
    return np.flatnonzero(s.op_job == j).tolist()


# -- valid schedules -----------------------------------------------------------------------
def test_ft06_schedules_are_valid():
    inst = load_instance(ft06_path())
    rng = np.random.default_rng(1)
    sim = Simulator(inst)
    for _ in range(5):
        s = run(sim, lambda d: rng.choice(d.candidates))
        assert validate(s, inst) == []


@pytest.mark.skipif(
    not (SHARED / "fjsp" / "mk01.fjs").exists(), reason="../shared/benchmarks not found"
)
def test_mk01_schedules_are_valid():
    inst = load_instance(SHARED / "fjsp" / "mk01.fjs")
    rng = np.random.default_rng(2)
    for buffers in ("hard", "soft"):
        s = run(Simulator(inst, buffers=buffers), lambda d: rng.choice(d.candidates))
        assert s.complete
        assert is_valid(s, inst), format_violations(validate(s, inst))


@pytest.mark.skipif(
    not (SHARED / "jsp" / "orb07.txt").exists(), reason="../shared/benchmarks not found"
)
def test_orb07_with_a_zero_time_operation_is_valid():
    inst = load_instance(SHARED / "jsp" / "orb07.txt")
    s = run(Simulator(inst), lambda d: d.candidates[-1])
    assert s.complete and np.any(s.end == s.start)
    assert validate(s, inst) == []


def test_simultaneous_zero_time_operations_follow_the_setup_chain():
    # both run at t=0 on A with virtual setups; the validator must find the order that chains
    ids = ["neutral", "p1", "p2"]
    inst = make([[("A", 0, "p1")], [("A", 0, "p2")]], setups={"A": (ids, np.zeros((3, 3)))})
    for pick in (0, -1):
        s = run(Simulator(inst), lambda d, pick=pick: d.candidates[pick])
        assert s.start[0] == s.start[1] == s.end[0] == s.end[1] == 0
        assert validate(s, inst) == []
    s.op_setup_from[:] = ids.index("p1")  # no order chains from neutral now
    assert {v.kind for v in validate(s, inst)} == {"setup-sequence"}


def test_small_plant_schedule_is_valid_and_exercises_the_rules(plant, good):
    assert validate(good, plant) == []
    assert format_violations([]) == "schedule is valid"
    blocked = np.flatnonzero(good.leave > good.end)
    assert blocked.size >= 1  # a justified block: the next buffer was full
    assert np.any(good.setup_end > good.setup_start)
    first = good.op_step == 0
    release = np.array([plant.jobs[j].release for j in good.op_job])
    assert np.any(good.depart[first] > release[first])  # a job waited at STORE for room


@pytest.mark.parametrize("anticipatory", [True, False])
@pytest.mark.parametrize("buffers", ["hard", "soft"])
def test_small_plant_random_decisions_are_valid(plant, buffers, anticipatory):
    rng = np.random.default_rng(3)
    sim = Simulator(plant, buffers=buffers, anticipatory_setups=anticipatory)
    for _ in range(10):
        s = run(sim, lambda d: rng.choice(d.candidates))
        assert sim.deadlock is None
        assert validate(s, plant) == [], format_violations(validate(s, plant))


def test_json_round_trip_stays_valid(plant, good, tmp_path):
    p = tmp_path / "s.json"
    good.to_json(p)
    assert validate(Schedule.from_json(p), plant) == []


# -- corruptions ---------------------------------------------------------------------------
def test_shifted_start_changes_the_duration(plant, good):
    s = broken(good)
    s.times["start"][4] += 1.5
    vs = reported(s, plant, "duration", 4)
    assert "expected" in vs[0].message


def test_swapped_machines_are_ineligible(plant, good):
    s = broken(good)
    a, b = 0, 1  # SAW and EDGE steps of the same job
    s.op_machine[a], s.op_machine[b] = good.op_machine[b], good.op_machine[a]
    reported(s, plant, "eligibility", a)
    reported(s, plant, "eligibility", b)


def test_machine_outside_the_operations_subset_is_ineligible(plant, good):
    s = broken(good)
    top = ops_of(s, plant, "O2/TOP")[0]  # TOP's saw step runs on SAW-1 only
    assert s.machine_ids[s.op_machine[top]] == "SAW-1"
    s.op_machine[top] = s.machine_ids.index("SAW-2")
    reported(s, plant, "eligibility", top)


def test_dropped_setup(plant, good):
    s = broken(good)
    o = int(np.flatnonzero(good.setup_end > good.setup_start)[0])
    s.times["setup_end"][o] = s.times["setup_start"][o]
    reported(s, plant, "setup", o)


def test_wrong_needed_setup(plant, good):
    s = broken(good)
    o = ops_of(s, plant, "O1/BOARD")[0]  # needs oak
    s.op_setup_to[o] = s.setup_ids.index("pine")
    reported(s, plant, "setup", o)


def test_setup_ending_after_the_start(plant, good):
    s = broken(good)
    o = int(np.flatnonzero(good.setup_end > good.setup_start)[0])
    s.times["setup_start"][o] += 2.0
    s.times["setup_end"][o] = s.times["start"][o] + 2.0
    reported(s, plant, "setup", o)


def test_broken_setup_sequence(plant, good):
    s = broken(good)
    a, b = next((a, b) for a, b in machine_pairs(good) if s.setup_ids[good.op_setup_to[a]] == "oak")
    s.op_setup_from[b] = s.setup_ids.index("pine")
    vs = reported(s, plant, "setup-sequence", a, b)
    assert any("left it in 'oak'" in v.message for v in vs)


def test_wrong_initial_setup(plant, good):
    s = broken(good)
    m = s.machine_ids.index("SAW-1")
    first = min(np.flatnonzero(good.op_machine == m), key=lambda o: good.start[o])
    assert s.setup_ids[good.op_setup_from[first]] == "neutral"
    s.op_setup_from[first] = s.setup_ids.index("oak")
    reported(s, plant, "setup-sequence", first)


def test_overlap_on_a_machine(plant, good):
    s = broken(good)
    a, b = machine_pairs(good)[0]
    s.times["setup_start"][b] = good.leave[a] - 1.0
    reported(s, plant, "capacity", a, b)


def test_blocked_machine_is_occupied_until_the_job_leaves(plant, good):
    # the op after a blocked one on the same machine may not start before the job leaves
    k = int(np.flatnonzero(good.leave > good.end)[0])
    a, b = next((a, b) for a, b in machine_pairs(good) if a == k)
    s = broken(good)
    shift = good.setup_start[b] - (good.end[k] + good.leave[k]) / 2
    for f in ("setup_start", "setup_end"):
        s.times[f][b] -= shift
    reported(s, plant, "capacity", a, b)


def test_next_step_starting_before_the_previous_ends(plant, good):
    s = broken(good)
    k = ops_of(s, plant, "O1/BOARD")[1]
    s.times["start"][k + 1] = good.end[k] - 1.0
    s.times["end"][k + 1] = s.times["start"][k + 1] + (good.end[k + 1] - good.start[k + 1])
    reported(s, plant, "precedence", k + 1)


def test_departing_before_leaving_the_machine(plant, good):
    s = broken(good)
    k = ops_of(s, plant, "O3/BOARD")[0]
    s.times["depart"][k + 1] = good.end[k] - 2.0
    reported(s, plant, "precedence", k, k + 1)


def test_leaving_before_the_end(plant, good):
    s = broken(good)
    k = ops_of(s, plant, "O3/BOARD")[0]
    s.times["leave"][k] = good.end[k] - 1.0
    reported(s, plant, "precedence", k)


def test_shortened_transport(plant, good):
    s = broken(good)
    o = ops_of(s, plant, "O4/TOP")[1]
    s.times["arrive"][o] -= 1.0
    reported(s, plant, "transport", o)


def test_shortened_transport_from_store_and_to_finished(plant, good):
    s = broken(good)
    first, last = ops_of(s, plant, "O6/TOP")
    s.times["arrive"][first] -= 2.0
    s.finish_arrive[good.op_job[last]] -= 1.0
    reported(s, plant, "transport", first)
    reported(s, plant, "transport", last)


def test_start_before_release(plant, good):
    s = broken(good)
    o = ops_of(s, plant, "O2/TOP")[0]  # released at 30
    assert good.depart[o] >= 30
    s.times["depart"][o] = 25.0
    s.times["arrive"][o] = 30.0
    vs = reported(s, plant, "release", o)
    assert "before the release 30" in next(v.message for v in vs if v.kind == "release")


def test_overfilled_buffer_in_hard_mode(plant, good):
    # a job that waited at STORE for room leaves at its release instead
    s = broken(good)
    first = np.flatnonzero(good.op_step == 0)
    release = np.array([plant.jobs[j].release for j in good.op_job[first]])
    o = int(first[np.flatnonzero(good.depart[first] > release)[0]])
    shift = good.depart[o] - plant.jobs[good.op_job[o]].release
    s.times["depart"][o] -= shift
    s.times["arrive"][o] -= shift
    vs = reported(s, plant, "buffer", o)
    assert "capacity 3" in next(v.message for v in vs if v.kind == "buffer")
    # soft buffers may overflow (that schedule's blocking is then unjustified, though)
    s.buffers = "soft"
    assert {v.kind for v in validate(s, plant)} == {"blocking"}


def test_unjustified_blocking_with_room_in_the_next_buffer():
    inst = make([[("A", 2, "neutral", 1), ("B", 3, "neutral", 1)]], capacity={"B": 5.0})
    s = run(Simulator(inst))
    assert validate(s, inst) == []
    for f in ("leave",):
        s.times[f][0] += 4.0
    for f in ("depart", "arrive", "setup_start", "setup_end", "start", "end", "leave"):
        s.times[f][1] += 4.0
    s.finish_arrive[0] += 4.0
    vs = reported(s, inst, "blocking", 0)
    assert [v.kind for v in vs] == ["blocking"]


def test_blocking_into_an_unbounded_buffer():
    inst = make([[("A", 2, "neutral", 1), ("B", 3, "neutral", 1)]])
    s = run(Simulator(inst))
    s.times["leave"][0] += 1.0
    for f in ("depart", "arrive", "setup_start", "setup_end", "start", "end", "leave"):
        s.times[f][1] += 1.0
    s.finish_arrive[0] += 1.0
    reported(s, inst, "blocking", 0)


def test_staying_blocked_after_room_was_freed(plant, good):
    k = int(np.flatnonzero(good.leave > good.end)[0])
    s = broken(good)
    # leave a little later than the moment the next buffer got room
    nxt_free = good.leave[k]
    later = min(0.2, (good.start[k + 1] - good.arrive[k + 1]) / 2)
    assert later > 0
    s.times["leave"][k] = nxt_free + later
    s.times["depart"][k + 1] += later
    s.times["arrive"][k + 1] += later
    vs = reported(s, plant, "blocking", k)
    assert [v.kind for v in vs] == ["blocking"]


def test_last_step_never_blocks(plant, good):
    s = broken(good)
    last = ops_of(s, plant, "O6/TOP")[-1]
    s.times["leave"][last] += 1.0
    reported(s, plant, "blocking", last)


def test_soft_buffers_never_block(plant, good):
    s = broken(good)
    s.buffers = "soft"
    k = int(np.flatnonzero(good.leave > good.end)[0])
    reported(s, plant, "blocking", k)


def test_setup_before_arrival_without_anticipatory_setups(plant, good):
    s = broken(good)
    o = int(np.flatnonzero(good.setup_start < good.arrive)[0])
    s.anticipatory_setups = False
    reported(s, plant, "setup", o)


def test_unscheduled_and_unfinished_operations_are_missing(plant, good):
    s = broken(good)
    s.op_machine[3] = -1
    s.times["end"][7] = np.nan
    reported(s, plant, "missing", 3)
    reported(s, plant, "missing", 7)


def test_schedule_of_another_instance(plant, good):
    ft06 = load_instance(ft06_path())
    vs = validate(good, ft06)
    assert vs and vs[0].kind == "identity"
    s = broken(good)
    s.op_wc[0] = s.wc_ids.index("DRILL")
    reported(s, plant, "identity", 0)
    s = broken(good)
    s.job_ids = list(reversed(s.job_ids))
    assert validate(s, plant)[0].kind == "identity"
    s = broken(good)
    s.op_volume[2] *= 2
    reported(s, plant, "identity", 2)


def test_volumes_come_from_the_instance(plant, good):
    # the schedule's op_volume is not trusted: halving it does not hide an overfull buffer
    s = broken(good)
    first = np.flatnonzero(good.op_step == 0)
    release = np.array([plant.jobs[j].release for j in good.op_job[first]])
    o = int(first[np.flatnonzero(good.depart[first] > release)[0]])
    shift = good.depart[o] - plant.jobs[good.op_job[o]].release
    s.times["depart"][o] -= shift
    s.times["arrive"][o] -= shift
    s.op_volume[:] = 0.0
    kinds = {v.kind for v in validate(s, plant)}
    assert "buffer" in kinds


def test_format_violations_counts_by_kind(plant, good):
    s = broken(good)
    s.times["start"][4] += 1.5
    s.times["arrive"][6] -= 1.0
    vs = validate(s, plant)
    text = format_violations(vs, limit=1)
    assert text.splitlines()[0].startswith(f"{len(vs)} violation")
    assert "duration: 1" in text and "transport: 1" in text
    assert all(v.kind in KINDS for v in vs)
    assert not is_valid(s, plant)


# -- speed ---------------------------------------------------------------------------------
def test_validates_3000_operations_fast():
    kinds = ["SHELF", "TABLE"]
    orders = [Order(f"O{i}", kinds[i % 2], 1 + i % 5, release=float(i // 20)) for i in range(860)]
    inst = small_plant(orders, tight=50.0)
    s = run(Simulator(inst))
    assert s.n_ops >= 3000 and s.complete
    t0 = time.process_time()  # cold: includes the per-instance reference data; CPU s
    vs = validate(s, inst)
    dt = time.process_time() - t0
    assert vs == [], format_violations(vs)
    assert dt < 0.5


def test_waiting_at_store_without_reason_is_flagged():
    from furnsim.sim import Simulator
    from furnsim.validate import validate as _validate

    from ._tiny import make, run

    # two batches, buffer of A holds both: nobody has to wait at STORE
    inst = make([[("A", 5, "neutral", 1)], [("A", 5, "neutral", 1)]], capacity={"A": 2.0})
    s = run(Simulator(inst))
    assert _validate(s, inst) == []
    late = 1 if s.start[1] > s.start[0] else 0
    # delay the second job's departure from STORE to 3 (it still starts when it did)
    s.times["depart"][late] = 3.0
    s.times["arrive"][late] = 3.0
    v = _validate(s, inst)
    assert any(x.kind == "release" and late in x.ops for x in v)


def test_waiting_at_store_for_room_is_fine():
    from furnsim.sim import Simulator
    from furnsim.validate import validate as _validate

    from ._tiny import make, run

    inst = make([[("A", 5, "neutral", 1)] for _ in range(3)], capacity={"A": 1.0})
    s = run(Simulator(inst))
    assert sorted(s.depart.tolist()) == [0, 0, 5]
    assert _validate(s, inst) == []


def test_zero_volume_job_queued_behind_a_waiting_job_is_fine():
    """Regression (found by hypothesis): STORE departures are first come, first served."""
    from furnsim.sim import Simulator
    from furnsim.validate import validate as _validate

    from ._tiny import make, run

    routes = [[("A", 5, "neutral", 1)], [("A", 5, "neutral", 1)], [("A", 5, "neutral", 0)]]
    inst = make(routes, capacity={"A": 1.0}, transport={("STORE", "A"): 3})
    s = run(Simulator(inst))
    assert s.depart[2] == s.depart[1] == 3  # waits behind job 1 until A starts job 0
    assert _validate(s, inst) == []


# -- issue 10: the validator is exactly the documented semantics ------------------------------
DATA = Path(__file__).parent / "data"
SWAP = DATA / "swap_deadlock.yaml"


def test_swap_through_two_full_buffers_is_rejected():
    """The CP-SAT timing once reported valid: at t=11 A-1 and B-1 swap their finished jobs
    through two full one-piece buffers. No order of that instant's events is executable."""
    from furnsim.validate import load_schedule

    inst = load_instance(SWAP)
    s = load_schedule(DATA / "swap_deadlock_cpsat.json", inst)
    vs = validate(s, inst)
    assert [v.kind for v in vs] == ["instant", "instant"], format_violations(vs)
    assert "at 11 " in vs[0].message and "A-1" in vs[0].message and "B-1" in vs[0].message
    assert set(vs[0].ops) == {0, 4}  # O1 step 1 on A-1, O3 step 1 on B-1
    # the same timing with soft buffers (no room needed) is fine: only the hard rule forbids it
    s.buffers = "soft"
    assert validate(s, inst, buffers="soft") == []


def test_every_rule_deadlocks_on_the_swap_plant():
    from furnsim.rules import get_rule, rule_names, run_policy

    inst = load_instance(SWAP)
    names = rule_names(True)
    assert len(names) >= 5
    for name in names:
        s, sim = run_policy(inst, get_rule(name))
        assert sim.deadlock is not None and sim.deadlock.time == 11, name
        # what happened before the deadlock is correct; the rest is missing
        assert {v.kind for v in validate(s, inst)} == {"missing"}, name


def test_a_handover_at_one_instant_is_valid():
    """A -> B with one-piece buffers: the blocked A leaves at the instant B starts its job
    (room freed by a start at the same minute, taken by a departure after it)."""
    inst = make(
        [[("A", 2, "neutral", 1), ("B", 5, "neutral", 1)] for _ in range(3)],
        capacity={"A": 1.0, "B": 1.0},
    )
    sim = Simulator(inst)
    s = run(sim)
    assert sim.deadlock is None
    blocked = np.flatnonzero(s.leave > s.end)
    assert blocked.size  # A blocked, then left when B started
    k = int(blocked[0])
    assert np.any(np.abs(s.start[s.op_wc == s.op_wc[k + 1]] - s.leave[k]) < 1e-9)
    assert validate(s, inst) == []


def test_setup_before_the_decision_is_possible(plant, good):
    # anticipatory setups start at the decision, which needs the job on its way there
    o = int(np.flatnonzero((good.setup_end > good.setup_start) & (good.op_step > 0))[0])
    s = broken(good)
    dt = good.depart[o] - good.setup_start[o] - 400.0  # 400 min before it departed
    s.times["setup_start"][o] += dt
    s.times["setup_end"][o] += dt
    vs = reported(s, plant, "decision", o)
    assert any("before the decision is possible" in v.message for v in vs)
    s = broken(good)
    s.times["setup_start"][o] = -100.0
    s.times["setup_end"][o] = -100.0 + (good.setup_end[o] - good.setup_start[o])
    reported(s, plant, "decision", o)
    # the first op of a job: not before minute 0 / its release / its STORE departure
    f = int(np.flatnonzero((good.setup_end > good.setup_start) & (good.op_step == 0))[0])
    s = broken(good)
    s.times["setup_start"][f] = good.depart[f] - 0.5
    s.times["setup_end"][f] = s.times["setup_start"][f] + good.setup_end[f] - good.setup_start[f]
    reported(s, plant, "decision", f)


def test_the_earliest_legal_setup_start_is_accepted():
    # the setup starts exactly at the departure (decision at once), the job arrives later
    inst = make(
        [[("A", 3, "x")]],
        setups={"A": (["neutral", "x"], [[0, 2], [2, 0]])},
        transport={("STORE", "A"): 5},
    )
    s = run(Simulator(inst))
    assert s.setup_start[0] == s.depart[0] == 0 and s.start[0] == 5
    assert validate(s, inst) == []
    s.times["setup_start"][0] -= 1e-3
    s.times["setup_end"][0] -= 1e-3
    assert {v.kind for v in validate(s, inst)} == {"decision"}


def test_idle_start_after_setup_and_arrival(plant, good):
    o = int(np.flatnonzero(good.op_step == 0)[0])
    s = broken(good)
    for f in ("start", "end"):
        s.times[f][o] += 2.0
    s.times["leave"][o] = max(s.times["leave"][o], s.times["end"][o])
    reported(s, plant, "idle", o)


def test_machine_alias_cannot_hide_an_overlap(plant, good):
    a, b = machine_pairs(good)[0]
    s = broken(good)
    m = int(s.op_machine[b])
    s.machine_ids = [*s.machine_ids, s.machine_ids[m]]  # an alias of the same machine
    s.op_machine[b] = len(s.machine_ids) - 1
    shift = good.leave[a] - good.setup_start[b] - 1.0
    for f in ("setup_start", "setup_end", "start", "end", "leave"):
        s.times[f][b] += shift
    vs = validate(s, plant)
    assert vs and vs[0].kind == "identity" and "duplicate machine" in vs[0].message
    from furnsim.validate import ScheduleFormatError, load_schedule

    with pytest.raises(ScheduleFormatError, match="machine_ids.*more than once"):
        load_schedule(s.to_json())


def test_the_caller_chooses_the_rules_not_the_file(plant):
    s = run(Simulator(plant, buffers="soft"))
    assert validate(s, plant) == []  # the file says soft and it is a valid soft plan
    vs = validate(s, plant, buffers="hard")
    kinds = {v.kind for v in vs}
    assert "identity" in kinds and "buffer" in kinds, format_violations(vs)
    assert any("declares soft buffers" in v.message for v in vs)
    g = run(Simulator(plant))
    assert validate(g, plant, buffers="hard") == []
    assert any(v.kind == "identity" for v in validate(g, plant, anticipatory_setups=False))
    with pytest.raises(ValueError, match="hard"):
        validate(g, plant, buffers="elastic")


def test_cli_validate_takes_the_mode_from_the_command_line(plant, tmp_path):
    """A plan with 9x buffer overflow that says `buffers: soft` does not pass as hard."""
    from typer.testing import CliRunner

    from furnsim.cli import app

    runner = CliRunner()
    out = tmp_path / "soft.json"
    r = runner.invoke(
        app, ["plan", str(SWAP), "--buffers", "soft", "--method", "rule:FIFO", "--json", str(out)]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["validate", str(SWAP), str(out)])
    assert r.exit_code == 2 and "declares buffers=soft" in r.output, r.output
    assert "validated with buffers=hard" in r.output
    r = runner.invoke(app, ["validate", str(SWAP), str(out), "--buffers", "soft"])
    assert r.exit_code == 0 and "rules: buffers=soft" in r.output, r.output
    r = runner.invoke(app, ["validate", str(SWAP), str(out), "--buffers", "elastic"])
    assert r.exit_code == 2 and "--buffers" in r.output


def test_load_schedule_round_trip_and_plan_output(plant, good, tmp_path):
    from furnsim.validate import load_schedule

    p = tmp_path / "s.json"
    good.to_json(p)
    s = load_schedule(p, plant)
    assert validate(s, plant) == []
    for f in good.times:
        assert np.array_equal(s.times[f], good.times[f], equal_nan=True)
    wrapped = tmp_path / "plan.json"
    wrapped.write_text('{"kpis": {}, "schedule": ' + good.to_json() + "}")
    assert load_schedule(wrapped, plant).n_ops == good.n_ops


def test_cli_validate_reads_plan_output_with_non_finite_numbers_outside_the_schedule(tmp_path):
    """`plan --json` writes a deadlocked plan's cost as Infinity (CP-SAT's objective as NaN):
    that is not the schedule; the deadlocked schedule itself is invalid (exit 1), not bad."""
    from typer.testing import CliRunner

    from furnsim.cli import app

    runner = CliRunner()
    out = tmp_path / "dead.json"
    r = runner.invoke(app, ["plan", str(SWAP), "--method", "rule:FIFO", "--json", str(out)])
    assert r.exit_code == 1
    assert "Infinity" in out.read_text() or "NaN" in out.read_text()
    r = runner.invoke(app, ["validate", str(SWAP), str(out)])
    assert r.exit_code == 1 and "[missing]" in r.output, r.output
    # inside the schedule a non-finite number is a malformed file
    d = json.loads(out.read_text())
    d["schedule"]["times"]["start"][0] = float("nan")
    out.write_text(json.dumps(d))
    r = runner.invoke(app, ["validate", str(SWAP), str(out)])
    assert r.exit_code == 2 and "times.start'[0] is NaN" in r.output, r.output


def test_a_rotation_through_three_full_buffers_is_rejected():
    """The general cycle: A -> B -> C -> A, each machine's finished job moving into the next
    full buffer at the same instant (t=11 and t=21). Valid with soft buffers only."""
    locs = ["STORE", "A", "B", "C"]
    tr = {(a, b): 1.0 for a in locs for b in [*locs[1:], "FINISHED"] if a != b}
    tr.pop(("STORE", "FINISHED"))
    leg = [("A", "B"), ("B", "C"), ("C", "A")]
    routes = [[(u, 10, "neutral", 1), (v, 10, "neutral", 1)] for u, v in leg for _ in (0, 1)]
    inst = make(routes, capacity={"A": 1.0, "B": 1.0, "C": 1.0}, transport=tr)
    ci = inst.compiled
    mach = {w: ci.machine_ids.index(w) for w in "ABC"}
    n = ci.n_ops
    times = {f: np.zeros(n) for f in ("setup_start", "setup_end", "start", "end")}
    times.update(depart=np.zeros(n), arrive=np.zeros(n), leave=np.zeros(n))
    op_machine = np.zeros(n, dtype=np.int64)
    finish = np.zeros(ci.n_jobs)
    for j in range(ci.n_jobs):
        u, v = leg[j // 2]
        second = j % 2  # the second job of a pair waits for room, one cycle behind
        a, b = int(ci.job_op_start[j]), int(ci.job_op_start[j]) + 1
        start_a = 1.0 + 10 * second
        start_b = start_a + 20
        for o, w, dep, st in ((a, u, float(second), start_a), (b, v, start_a + 10, start_b)):
            op_machine[o] = mach[w]
            times["depart"][o], times["arrive"][o] = dep, dep + 1
            for f in ("setup_start", "setup_end", "start"):
                times[f][o] = st
            times["end"][o] = times["leave"][o] = st + 10
        finish[j] = start_b + 11
    s = Schedule.from_compiled(
        ci,
        instance_name=inst.name,
        op_machine=op_machine,
        op_setup_from=ci.op_setup.copy(),
        times=times,
        finish_arrive=finish,
    )
    vs = validate(s, inst)
    assert [v.kind for v in vs] == ["instant", "instant"], format_violations(vs)
    assert "at 11 " in vs[0].message and "at 21 " in vs[1].message
    assert all(w in vs[0].message for w in ("room in A", "room in B", "room in C"))
    assert validate(s, inst, buffers="soft") != []  # declared hard: a mode mismatch
    s.buffers = "soft"
    assert validate(s, inst) == [], format_violations(validate(s, inst))
    # and the simulator agrees: every plan of this shop deadlocks at t=11
    sim = Simulator(inst)
    run(sim)
    assert sim.deadlock is not None and sim.deadlock.time == 11
    assert len(sim.deadlock.cycle) == 3
