"""Simulator semantics, one hand-made case per rule of docs/semantics.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from furnsim.io import load_instance
from furnsim.sim import Simulator

from ._tiny import ft06_path, make, replay, run

FT06_OPTIMAL = {  # machine -> job order of an optimal schedule (makespan 55)
    0: [0, 3, 2, 5, 1, 4],
    1: [1, 3, 5, 0, 4, 2],
    2: [2, 0, 1, 4, 3, 5],
    3: [2, 5, 3, 0, 1, 4],
    4: [1, 4, 3, 5, 2, 0],
    5: [2, 5, 1, 4, 0, 3],
}


def test_ft06_optimal_sequence_replays_to_55():
    inst = load_instance(ft06_path())
    s = replay(Simulator(inst), FT06_OPTIMAL)
    assert s.complete
    assert s.makespan == 55


def test_ft06_any_decisions_at_least_55():
    inst = load_instance(ft06_path())
    rng = np.random.default_rng(0)
    sim = Simulator(inst)
    for _ in range(20):
        s = run(sim, lambda d: rng.choice(d.candidates))
        assert s.complete and s.makespan >= 55


def test_processing_is_delta_times_d_plus_fixed():
    inst = make([[("A", 0.5)]], quantities=[40])
    s = run(Simulator(inst))
    assert s.start[0] == 0 and s.end[0] == 20.0


def test_route_order_and_machine_capacity():
    # two jobs on the same machine: no overlap; job 0's second op waits for its first
    inst = make([[("A", 3), ("B", 2)], [("A", 4)]])
    s = run(Simulator(inst))
    assert s.start[1] >= s.end[0]
    a_ops = sorted([0, 2], key=lambda o: s.start[o])
    assert s.start[a_ops[1]] >= s.end[a_ops[0]]


def test_sequence_dependent_setup_and_state():
    ids = ["neutral", "red", "blue"]
    mat = [[0, 5, 6], [0, 0, 10], [0, 2, 0]]  # asymmetric: red->blue 10, blue->red 2
    inst = make([[("A", 1, "red")], [("A", 1, "blue")]], setups={"A": (ids, mat)})
    sim = Simulator(inst)
    d = sim.reset()
    d = sim.dispatch(0)  # neutral -> red: 5, then 1 min
    assert d is not None
    d = sim.dispatch(1)  # red -> blue: 10
    s = sim.schedule()
    assert (s.setup_start[0], s.setup_end[0], s.start[0], s.end[0]) == (0, 5, 5, 6)
    assert (s.setup_start[1], s.setup_end[1], s.start[1], s.end[1]) == (6, 16, 16, 17)
    assert ids[s.op_setup_from[1]] == "red" and ids[s.op_setup_to[1]] == "blue"
    # the other order is cheaper: blue first (6), blue->red (2)
    sim2 = Simulator(inst)
    sim2.reset()
    sim2.dispatch(1)
    sim2.dispatch(0)
    assert sim2.schedule().makespan == 6 + 1 + 2 + 1


def test_virtual_setup_costs_nothing():
    ids = ["neutral", "p1", "p2"]
    inst = make(
        [[("A", 1, "p1")], [("A", 1, "p2")]], setups={"A": (ids, [[0, 0, 0], [0, 0, 0], [0, 0, 0]])}
    )
    s = run(Simulator(inst))
    assert s.makespan == 2


def test_transport_and_anticipatory_setup():
    ids = ["neutral", "x"]
    tr = {("STORE", "A"): 7, ("A", "FINISHED"): 3}
    inst = make([[("A", 2, "x")]], setups={"A": (ids, [[0, 4], [0, 0]])}, transport=tr)
    s = run(Simulator(inst))
    # setup starts at the decision (t=0), the job arrives at 7: processing 7..9
    assert (s.depart[0], s.arrive[0], s.setup_start[0], s.setup_end[0], s.start[0], s.end[0]) == (
        0,
        7,
        0,
        4,
        7,
        9,
    )
    assert s.finish_arrive[0] == 12
    s2 = run(Simulator(inst, anticipatory_setups=False))
    assert (s2.setup_start[0], s2.setup_end[0], s2.start[0], s2.end[0]) == (7, 11, 11, 13)


def test_release_delays_departure():
    inst = make([[("A", 2)], [("A", 2)]], releases=[0, 10])
    s = run(Simulator(inst))
    assert s.depart[1] == 10 and s.start[1] == 10


def test_alternative_machines_run_in_parallel():
    inst = make([[("W", 5)], [("W", 5)]], machines={"W1": "W", "W2": "W"})
    s = run(Simulator(inst))
    assert s.makespan == 5
    assert set(s.op_machine.tolist()) == {0, 1}


def test_buffer_reserved_from_departure_until_start():
    # J0 on A for 10; J1 waits in A's buffer from 0 until 10
    inst = make([[("A", 10, "neutral", 2)], [("A", 10, "neutral", 3)]])
    s = run(Simulator(inst))
    times, levels = s.buffer_levels()["A"]
    level_at = lambda t: levels[np.searchsorted(times, t, side="right") - 1]  # noqa: E731
    assert level_at(0) == 3  # J0 (2) started at once; J1 (3) waits
    assert level_at(5) == 3
    assert level_at(10) == 0


def test_hard_buffer_blocks_machine():
    # A (fast) feeds B (slow); B's buffer holds one batch. B runs J0 1..20; J1 waits in B's
    # buffer; J2 is done on A at 3 but must stay on A (blocked) until B starts J1 at 20.
    routes = [[("A", 1, "neutral", 1), ("B", 19, "neutral", 1)] for _ in range(3)]
    inst = make(routes, capacity={"B": 1.0})
    sim = Simulator(inst)
    s = run(sim)
    assert s.complete and sim.deadlock is None
    ends = sorted(s.end[[0, 2, 4]])
    assert ends == [1, 2, 3]
    blocked = [o for o in (0, 2, 4) if s.leave[o] > s.end[o]]
    assert len(blocked) == 1
    o = blocked[0]
    assert s.end[o] == 3 and s.leave[o] == 20  # B started J0 at 1 and J1 at 20
    assert s.depart[o + 1] == 20 and s.makespan == 1 + 19 * 3


def test_store_waits_for_room():
    routes = [[("A", 10, "neutral", 1)] for _ in range(3)]
    inst = make(routes, capacity={"A": 1.0})
    s = run(Simulator(inst))
    assert sorted(s.depart.tolist()) == [
        0,
        0,
        10,
    ]  # the third waits at STORE until A starts the second


def test_deadlock_is_detected_with_cycle():
    # A and B each hold one batch in their buffer; J0 (A->B) and J1 (B->A) block each other
    routes = [
        [("A", 5, "neutral", 1), ("B", 5, "neutral", 1)],
        [("B", 5, "neutral", 1), ("A", 5, "neutral", 1)],
        [("A", 5, "neutral", 1), ("B", 5, "neutral", 1)],
        [("B", 5, "neutral", 1), ("A", 5, "neutral", 1)],
    ]
    inst = make(routes, capacity={"A": 1.0, "B": 1.0})
    sim = Simulator(inst)
    d = sim.reset()
    steps = 0
    while d is not None:
        d = sim.dispatch(d.candidates[0])
        steps += 1
        assert steps <= 100
    assert sim.deadlock is not None
    assert sim.done and not sim.schedule().complete
    cyc = sim.deadlock.cycle
    assert {c["machine"] for c in cyc} == {"A", "B"}
    assert {c["waits_for"] for c in cyc} == {"A", "B"}
    assert "deadlock" in sim.deadlock.message


def test_soft_buffers_never_block_and_measure_overflow():
    routes = [[("A", 1, "neutral", 1), ("B", 19, "neutral", 1)] for _ in range(3)]
    inst = make(routes, capacity={"B": 1.0})
    sim = Simulator(inst, buffers="soft")
    s = run(sim)
    assert np.all(s.leave == s.end)
    assert sim.wc_peak[inst.plant.wc_index["B"]] == 2.0  # one batch above capacity


def test_dispatch_rejects_non_candidate():
    inst = make([[("A", 1)], [("B", 1)]])
    sim = Simulator(inst)
    d = sim.reset()
    other = 1 if d.candidates[0] == 0 else 0
    with pytest.raises(ValueError):
        sim.dispatch(other)


def test_wait_that_would_stall_is_refused():
    inst = make([[("A", 1)]])
    sim = Simulator(inst)
    sim.reset()
    with pytest.raises(RuntimeError):
        sim.wait()


def test_schedule_json_round_trip(tmp_path):
    inst = make([[("A", 1, "neutral", 1), ("B", 2)], [("B", 1), ("A", 3)]], capacity={"A": 5})
    s = run(Simulator(inst))
    p = tmp_path / "s.json"
    s.to_json(p)
    from furnsim.sim import Schedule

    s2 = Schedule.from_json(p)
    for f in ("start", "end", "depart", "arrive", "leave", "setup_start", "setup_end"):
        assert np.array_equal(s.times[f], s2.times[f], equal_nan=True)
    assert np.array_equal(s.op_machine, s2.op_machine)
    df = s2.to_frame(inst)
    assert list(df["order"]) == ["J0", "J0", "J1", "J1"]
    assert not math.isnan(df["end"].max())


def test_same_decisions_same_schedule():
    inst = load_instance(ft06_path())
    a = run(Simulator(inst), lambda d: d.candidates[-1])
    b = run(Simulator(inst), lambda d: d.candidates[-1])
    assert np.array_equal(a.times["end"], b.times["end"])


def test_blocked_machine_takes_no_other_job():
    routes = [[("A", 1, "neutral", 1), ("B", 19, "neutral", 1)] for _ in range(3)] + [[("A", 1)]]
    inst = make(routes, capacity={"B": 1.0})
    s = run(Simulator(inst))
    # J2 blocks A from 3 to 20; J3 (A only) can only start once A is released
    assert s.end[4] == 3 and s.leave[4] == 20
    assert s.setup_start[6] >= 20 and s.start[6] == 20
