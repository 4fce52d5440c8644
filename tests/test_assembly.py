"""Assembly (bills of materials with joins): hand-computed golden cases (docs/semantics.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from furnsim.errors import DataError
from furnsim.kpi import kpis
from furnsim.sim import Simulator
from furnsim.validate import format_violations, validate

from ._asm import bom, desk
from ._tiny import run


def _prefer(*prefixes: str):
    """Pick the candidate whose component id comes first in ``prefixes`` (then job index)."""

    def choose(d):
        sim_ids = choose.ids

        def key(j: int) -> tuple[int, int]:
            comp = sim_ids[j].split("/")[1]
            return (prefixes.index(comp) if comp in prefixes else len(prefixes), j)

        return min(d.candidates.tolist(), key=key)

    return choose


def _run(inst, *prefixes: str, buffers: str = "hard"):
    sim = Simulator(inst, buffers=buffers)
    choose = _prefer(*prefixes)
    choose.ids = sim.ci.job_ids
    s = run(sim, choose)
    return sim, s, s.to_frame(inst).set_index("job")


def test_two_component_kit_starts_at_the_later_arrival():
    # A: W1 3 min, transport 2 -> arrives 5; B: W2 5 min, transport 1 -> arrives 6
    inst = bom(
        [
            ("K", None, 1, [("ASSY", 4)], 0),
            ("A", "K", 1, [("W1", 3)], 1),
            ("B", "K", 1, [("W2", 5)], 1),
        ],
        transport={("W1", "ASSY"): 2, ("W2", "ASSY"): 1, ("ASSY", "FINISHED"): 7},
    )
    sim, s, f = _run(inst)
    assert f.loc["O1/K", "depart"] == 5  # B, the last child, leaves its machine
    assert f.loc["O1/K", "arrive"] == 6  # max(3 + 2, 5 + 1)
    assert f.loc["O1/K", "start"] == 6 and f.loc["O1/K", "end"] == 10
    assert s.finish_arrive.tolist() == [17, 5, 6]  # K to FINISHED; children: kit arrivals
    assert validate(s, inst) == []
    k = kpis(s, inst)
    assert k["kit_wait_time"] == 1  # A waits 6 - 5 for B
    assert k["makespan"] == 10
    # A's kit volume 1 is held in the ASSY buffer from 3 to 6, B's from 5 to 6
    assert k["buffer_volume_minutes"] == pytest.approx(3 + 1)


def test_sub_assembly_inside_an_assembly():
    # desk D <- drawer R (<- front F, 2 sides S) and top T
    inst = desk()
    assert [j.parent for j in inst.jobs] == ["", "O1/D", "O1/R", "O1/R", "O1/D"]
    sim, s, f = _run(inst, "F", "T")
    # W1: F 0..3, T 3..8; W2: S (δ = 2) 0..2
    assert (f.loc["O1/F", "end"], f.loc["O1/T", "end"], f.loc["O1/S", "end"]) == (3, 8, 2)
    # drawer kit: F arrives 3 + 1 = 4, S arrives 2 + 2 = 4 -> R 4..6
    assert (f.loc["O1/R", "arrive"], f.loc["O1/R", "start"], f.loc["O1/R", "end"]) == (4, 4, 6)
    # desk kit: R arrives 6 + 3 = 9, T arrives 8 + 2 = 10 -> D 10..14
    assert (f.loc["O1/D", "arrive"], f.loc["O1/D", "start"], f.loc["O1/D", "end"]) == (10, 10, 14)
    assert validate(s, inst) == []
    assert kpis(s, inst)["kit_wait_time"] == 1  # R waits 9 -> 10 for T


def _two_chairs(cap: float, b_minutes: float, with_x: bool) -> object:
    parts = [
        ("K", None, 1, [("ASSY", 10)], 0),
        ("A", "K", 1, [("W1", 3)], 1),
        ("B", "K", 1, [("W2", b_minutes)], 1),
    ]
    if with_x:
        parts.insert(0, ("X", None, 1, [("ASSY", 20)], 0))
    return bom(
        parts,
        orders=[("O1", 1, math.inf, 0), ("O2", 1, math.inf, 0)],
        capacity={"ASSY": cap},
    )


def test_kit_blocked_by_a_full_assembly_buffer():
    # ASSY is busy with X (0..20); O1's kit fills the 2 m3 buffer at 3; O2's children finish at 6
    # and block W1 and W2 until K1 starts at 20 and frees the room
    inst = _two_chairs(2.0, 3.0, with_x=True)
    sim, s, f = _run(inst, "K", "X", "A", "B")
    assert sim.deadlock is None
    assert (f.loc["O1/X", "start"], f.loc["O1/X", "end"]) == (0, 20)
    assert f.loc["O1/K", "arrive"] == 3 and f.loc["O1/K", "start"] == 20
    for c in ("O2/A", "O2/B"):
        assert (f.loc[c, "end"], f.loc[c, "leave"]) == (6, 20)  # blocked 14 min
    assert f.loc["O2/K", "depart"] == 20 and f.loc["O2/K", "start"] == 30
    assert validate(s, inst) == []
    k = kpis(s, inst)
    assert k["blocked_time"] == 28
    assert k["peak_buffer_fill"] == 1.0
    # tampering: O2/A leaves later than when room appeared
    s.times["leave"][s.op_job == inst.jobs.index(next(j for j in inst.jobs if j.id == "O2/A"))] = 25
    kinds = {v.kind for v in validate(s, inst)}
    assert "blocking" in kinds


def test_partial_kit_deadlock_is_detected_with_its_cycle():
    # A is fast, B slow: O1/A and O2/A fill the 2 m3 ASSY buffer; O1/B then cannot enter it
    inst = _two_chairs(2.0, 10.0, with_x=False)
    sim, s, f = _run(inst, "A", "B")
    dl = sim.deadlock
    assert dl is not None and dl.time == 10
    assert [c["machine"] for c in dl.cycle] == ["W2"]
    assert dl.cycle[0]["job"] == "O1/B" and dl.cycle[0]["waits_for"] == "ASSY"
    assert {k["assembly"]: k["missing"] for k in dl.kits} == {"O1/K": ["O1/B"], "O2/K": ["O2/B"]}
    assert "partial kits" in dl.message and "O1/K waits for O1/B" in dl.message
    wrong = [v for v in validate(s, inst) if v.kind != "missing"]
    assert wrong == [], format_violations(wrong)


def test_soft_buffers_never_block_a_kit():
    inst = _two_chairs(2.0, 3.0, with_x=True)
    sim, s, f = _run(inst, "K", "X", "A", "B", buffers="soft")
    assert sim.deadlock is None and validate(s, inst) == []
    assert (f.loc["O2/A", "leave"], f.loc["O2/B", "leave"]) == (6, 6)  # no blocking
    k = kpis(s, inst)
    assert k["overflow_peak"] == 2.0  # both kits (4 m3) wait in 2 m3 from 6 until K1 starts at 20
    assert k["overflow_volume_minutes"] == pytest.approx(2 * 14)


def test_tampered_assembly_start_is_caught():
    inst = bom(
        [
            ("K", None, 1, [("ASSY", 4)], 0),
            ("A", "K", 1, [("W1", 3)], 1),
            ("B", "K", 1, [("W2", 5)], 1),
        ],
        transport={("W1", "ASSY"): 2, ("W2", "ASSY"): 1},
    )
    _, s, _ = _run(inst)
    k = 0  # K's only op
    for f in ("setup_start", "setup_end", "start"):
        s.times[f][k] -= 2
    s.times["end"][k] -= 2
    s.times["leave"][k] -= 2
    s.finish_arrive[0] -= 2
    kinds = {v.kind for v in validate(s, inst)}
    assert kinds & {"join", "precedence"}


def test_kit_larger_than_the_assembly_buffer_is_an_input_error():
    with pytest.raises(DataError, match="kit of ART/K"):
        _two_chairs(1.5, 3.0, with_x=False)


@pytest.mark.parametrize(
    ("parts", "msg"),
    [
        ([("A", "Z", 1, [("W", 1)], 0)], "unknown parent 'Z'"),
        ([("A", "B", 1, [("W", 1)], 0), ("B", "A", 1, [("W", 1)], 0)], "cycle"),
        (
            [
                ("R1", None, 1, [("W", 1)], 0),
                ("R2", None, 1, [("W", 1)], 0),
                ("a", "R1", 1, [("W", 1)], 0),
                ("b", "R2", 1, [("W", 1)], 0),
            ],
            "2 root assemblies",
        ),
    ],
)
def test_bad_trees_are_rejected(parts, msg):
    with pytest.raises(DataError, match=msg):
        bom(parts)


def test_flat_articles_are_unchanged():
    inst = bom([("A", None, 1, [("W1", 3)], 1), ("B", None, 1, [("W2", 5)], 1)])
    ci = inst.compiled
    assert not ci.has_assembly and np.all(ci.job_parent == -1)
    _, s, _ = _run(inst)
    assert s.to_dict().keys().isdisjoint({"job_parent", "job_kit_volume"})
    assert kpis(s, inst)["kit_wait_time"] == 0


def test_kit_rule_prefers_the_batch_whose_siblings_are_nearly_done():
    from furnsim.rules import RULES, best_rule

    # O1 (1 piece) and O2 (10 pieces): B1 needs 1 min on W2, B2 10 min; O2 is more urgent
    inst = bom(
        [
            ("K", None, 1, [("ASSY", 1)], 0),
            ("A", "K", 1, [("W1", 5)], 0),
            ("B", "K", 1, [("W2", 1)], 0),
        ],
        orders=[("O1", 1, 100, 0), ("O2", 10, 20, 0)],
    )
    ids = inst.compiled.job_ids
    w1 = inst.compiled.machine_ids.index("W1")
    first = {}
    for name in ("KIT", "EDD"):
        s, sim = RULES[name].plan(inst)
        assert sim.deadlock is None and validate(s, inst) == []
        first[name] = next(ids[j] for _, m, j in sim.dispatch_log if m == w1)
    assert first == {"KIT": "O1/A", "EDD": "O2/A"}
    # the remaining work of a child runs to the end of its root: A = 5 + K's 1 (per piece)
    sim = Simulator(inst)
    assert sim.op_rem_work[inst.compiled.job_op_start[1]] == 6
    b = best_rule(inst, "speed")
    assert "KIT" in b.costs and validate(b.schedule, inst) == []


def test_kit_swap_through_a_full_buffer_is_caught_at_its_instant():
    # ASSY holds 2 m3: O2's A (2 m3) waits there for O2's slow B; O1's A must block on W1
    # from 15 until K2 starts at 30. Tampered: O1/A leaves at 15 and K1 starts at once -
    # the room K1's start frees is O1/A's own, so no order of that instant works.
    inst = bom(
        [
            ("K", None, 1, [("ASSY", 1)], 0),
            ("A", "K", 1, [("W1", 5)], 1),
            ("B", "K", 1, [("W2", 10)], 0),
        ],
        orders=[("O1", 1, math.inf, 0), ("O2", 2, math.inf, 0)],
        capacity={"ASSY": 2.0},
    )
    sim = Simulator(inst)
    ids = sim.ci.job_ids
    order = {"W1": ["O2/A", "O1/A"], "W2": ["O1/B", "O2/B"], "ASSY": ["O2/K", "O1/K"]}

    def choose(d):
        want = order[sim.ci.machine_ids[d.machine]]
        c = [ids[j] for j in d.candidates.tolist()]
        return d.candidates[min(range(len(c)), key=lambda i: want.index(c[i]))]

    s = run(sim, choose)
    f = s.to_frame(inst).set_index("job")
    assert (f.loc["O1/A", "end"], f.loc["O1/A", "leave"]) == (15, 30)
    assert validate(s, inst) == []
    j = {jid: i for i, jid in enumerate(ids)}
    a1 = int(sim.ci.job_op_start[j["O1/A"]])
    k1 = int(sim.ci.job_op_start[j["O1/K"]])
    s.times["leave"][a1] = 15
    s.finish_arrive[j["O1/A"]] = 15
    for fld, v in (
        ("depart", 15),
        ("arrive", 15),
        ("setup_start", 15),
        ("setup_end", 15),
        ("start", 15),
        ("end", 16),
        ("leave", 16),
    ):
        s.times[fld][k1] = v
    s.finish_arrive[j["O1/K"]] = 16
    kinds = {v.kind for v in validate(s, inst)}
    assert "instant" in kinds, kinds


def test_kit_under_working_time():
    # ASSY works Fri 06:00-09:00 and 09:15-14:00 (minutes 0-180, 195-480); W1/W2 run 24/7.
    # B ends at 185 and arrives at 186, in ASSY's break: the assembly starts at 195.
    from datetime import datetime

    from furnsim.model import (
        NEUTRAL,
        Article,
        Calendar,
        Catalog,
        Component,
        Instance,
        Machine,
        Operation,
        Order,
        Plant,
        TransportMatrix,
        Window,
        WorkCenter,
    )

    day = Calendar("DAY", (Window((0, 1, 2, 3, 4), 360, 540), Window((0, 1, 2, 3, 4), 555, 840)))
    z = np.zeros((1, 1))
    plant = Plant(
        [WorkCenter("ASSY", 2.0, calendar="DAY"), WorkCenter("W1"), WorkCenter("W2")],
        [Machine(w, w, (NEUTRAL,), z) for w in ("ASSY", "W1", "W2")],
        TransportMatrix({("W1", "ASSY"): 2, ("W2", "ASSY"): 1}, default=0.0),
        calendars=[day],
    )
    comps = [
        Component("K", 1, [Operation("ASSY", NEUTRAL, 10)]),
        Component("A", 1, [Operation("W1", NEUTRAL, 3)], 1.0, parent="K"),
        Component("B", 1, [Operation("W2", NEUTRAL, 185)], 1.0, parent="K"),
    ]
    inst = Instance(
        plant,
        Catalog([Article("ART", comps)]),
        [Order("O1", "ART", 1)],
        plan_start=datetime(2026, 11, 27, 6, 0),  # a Friday
    )
    sim, s, f = _run(inst)
    assert f.loc["O1/K", "arrive"] == 186
    assert (f.loc["O1/K", "start"], f.loc["O1/K", "end"]) == (195, 205)
    assert validate(s, inst) == []
    assert kpis(s, inst)["kit_wait_time"] == 186 - 5
