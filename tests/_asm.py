"""Tiny assembly instances (bills of materials with joins) built in code."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from furnsim.model import (
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


def bom(
    parts: Sequence[tuple],
    *,
    orders: Sequence[tuple] = (("O1", 1.0, math.inf, 0.0),),
    machines: dict[str, str] | None = None,
    capacity: dict[str, float] | None = None,
    transport: dict[tuple[str, str], float] | None = None,
    article: str = "ART",
) -> Instance:
    """One article from ``parts``: (component, parent, qty_per_article, route, final_volume).

    ``route`` is a list of (work_center, minutes_per_piece[, volume_per_piece]). ``orders`` are
    (id, quantity, deadline, release). One machine per work center unless ``machines`` maps
    machine -> work center.
    """
    wcs = sorted({op[0] for p in parts for op in p[3]} | set((machines or {}).values()))
    machines = machines or {w: w for w in wcs}
    plant = Plant(
        [WorkCenter(w, (capacity or {}).get(w, math.inf)) for w in wcs],
        [Machine(m, w, (NEUTRAL,), np.zeros((1, 1))) for m, w in machines.items()],
        TransportMatrix(dict(transport or {}), default=0.0),
    )
    comps = [
        Component(
            c,
            float(q),
            [
                Operation(
                    op[0],
                    NEUTRAL,
                    float(op[1]),
                    volume_per_piece=float(op[2]) if len(op) > 2 else 0.0,
                )
                for op in route
            ],
            float(fv),
            parent=par or "",
        )
        for c, par, q, route, fv in parts
    ]
    cat = Catalog([Article(article, comps)])
    ords = [
        Order(oid, article, float(q), deadline=float(d), release=float(r))
        for oid, q, d, r in orders
    ]
    return Instance(plant, cat, ords)


def desk() -> Instance:
    """A two-level desk: D (ASSY 4) <- drawer R (DRW 2) <- front F (W1 3) and two sides S (W2
    1 each), and top T (W1 5) -> D; transports W1->DRW 1, W2->DRW 2, DRW->ASSY 3, W1->ASSY
    2."""
    parts = [
        ("D", None, 1, [("ASSY", 4)], 0),
        ("R", "D", 1, [("DRW", 2)], 0),
        ("F", "R", 1, [("W1", 3)], 0),
        ("S", "R", 2, [("W2", 1)], 0),
        ("T", "D", 1, [("W1", 5)], 0),
    ]
    tr = {("W1", "DRW"): 1, ("W2", "DRW"): 2, ("DRW", "ASSY"): 3, ("W1", "ASSY"): 2}
    return bom(parts, transport=tr)


def store_holds_honoured(schedule, instance: Instance) -> int:
    """Assert that no job of ``schedule`` leaves STORE before its recorded STORE holds end;
    the number of such holds."""
    ci = instance.compiled
    first = np.asarray(ci.job_op_start[:-1])
    ids = list(ci.job_ids)
    n = 0
    for h in schedule.holds or []:
        if h["kind"] == "store":
            j = ids.index(h["job"])
            assert schedule.times["depart"][first[j]] >= h["until"] - 1e-9, h
            n += 1
    return n
