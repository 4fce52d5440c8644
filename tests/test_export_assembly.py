"""Dispatch lists of assembly jobs: "kit complete" or "waiting for" the missing children.

Needs the assembly feature (bills of materials with joins, docs/semantics.md "Assembly"); the
module is skipped where it is not there.

Golden case, by hand (FIFO, no transport time): article CHAIR = SEAT (SAW, 10 min) and LEG
(CNC, 30 min), both children of ASSY (ASSY, 20 min); orders O1 and O2 of one chair each.
SAW makes the seats 0-10 and 10-20, CNC the legs 0-30 and 30-60. ASSY is free at 0 and
assembles O1 at 30-50 (at 0 the seat and the leg were missing; the seat arrives first); it is
free again at 50, when O2's seat (20) is there and its leg (60) is not: "waiting for LEG".
"""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pytest

pytest.importorskip("furnsim.model.bom", reason="needs the assembly feature")

from furnsim.export import write_schedule_excel  # noqa: E402
from furnsim.export.excel import KIT_COMPLETE  # noqa: E402
from furnsim.model import (  # noqa: E402
    NEUTRAL,
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
from furnsim.plan import plan  # noqa: E402
from tests.test_viz import PS  # noqa: E402


def chairs(leg_minutes: float = 30.0) -> Instance:
    plant = Plant(
        [WorkCenter(w) for w in ("SAW", "CNC", "ASSY")],
        [Machine(w, w, (NEUTRAL,), np.zeros((1, 1))) for w in ("SAW", "CNC", "ASSY")],
        TransportMatrix(default=0.0),
    )
    comps = [
        Component("SEAT", 1.0, [Operation("SAW", NEUTRAL, 10.0)], parent="ASSY"),
        Component("LEG", 1.0, [Operation("CNC", NEUTRAL, leg_minutes)], parent="ASSY"),
        Component("ASSY", 1.0, [Operation("ASSY", NEUTRAL, 20.0)]),
    ]
    orders = [Order("O1", "CHAIR", 1.0), Order("O2", "CHAIR", 1.0)]
    return Instance(plant, Catalog([Article("CHAIR", comps)]), orders, name="kits", plan_start=PS)


def _lists(inst: Instance) -> dict[str, list[dict]]:
    res = plan(inst, "speed", "rule:FIFO")
    assert res.valid
    buf = io.BytesIO()
    write_schedule_excel(res, inst, buf, slot_minutes=5)
    d = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["Dispatch lists"]
    rows = list(d.iter_rows(values_only=True))
    head = list(rows[0])
    n = head.index(None)
    out: dict[str, list[dict]] = {}
    cur: list[dict] = []
    for r in rows[1:]:
        if isinstance(r[0], str) and " · work center " in r[0]:
            cur = out.setdefault(r[0].split(" ·")[0], [])
        elif isinstance(r[0], int):
            cur.append(dict(zip(head[:n], r[:n], strict=True)))
    return out


def test_assembly_jobs_say_kit_complete_or_what_they_wait_for() -> None:
    lists = _lists(chairs())
    assy = lists["ASSY"]
    assert [(r["order"], r["component"]) for r in assy] == [("O1", "ASSY"), ("O2", "ASSY")]
    # O1: at 0 nothing had arrived (the seat comes at 10, the leg at 30)
    assert assy[0]["kit"] == "waiting for SEAT, LEG"
    # O2: ASSY is free at 50; the seat came at 20, the leg comes at 60
    assert assy[1]["kit"] == "waiting for LEG"
    # the children's own lists have no kit entry
    assert all(r["kit"] is None for m in ("SAW", "CNC") for r in lists[m])


def test_a_kit_that_is_there_when_the_machine_is_free_is_complete() -> None:
    # legs of 15 min: O2's leg arrives at 30, before ASSY is free again (at 35)
    assy = _lists(chairs(leg_minutes=15.0))["ASSY"]
    assert [r["kit"] for r in assy] == ["waiting for SEAT, LEG", KIT_COMPLETE]
