"""Synthetic furniture plants and order weeks, deterministic per seed.

Two entry points:

* :func:`generate_plant_tables` - a whole plant (work centers, machines, setup matrices,
  transport, catalog) plus one week of orders, as the tables of the import schema
  (``{sheet: [row dicts]}``), ready for :func:`furnsim.io.write_workbook` and friends.
* :func:`generate_orders` - a week of orders for an existing plant and catalog, drawn from
  its article mix. The Gymnasium environment calls it with ``self.np_random``.

The plants are furniture-shaped rather than uniform random: work-center types cycle
through saw, CNC (virtual setups: program switches take no time), edge bander (asymmetric
setups by edge colour and thickness), drill, sander, lacquer (dark to light colour changes
are costly), assembly and packing; components are panels, fronts, drawer parts, tops and
solid-wood parts whose routes follow the flow saw -> CNC/edge -> drill -> sand -> lacquer
-> assembly -> packing; volumes are the parts' own volumes in m³ (times a stacking factor);
processing times follow from part dimensions and are then scaled per work center so that
the week loads each machine to a plausible 45-80 % (setups not counted). Buffers hold every
batch but only a handful of them. Deadlines are spread over the week so that a decent
schedule meets most of them but not all.

All randomness comes from one :class:`numpy.random.Generator`; the same arguments give
the same tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np

from furnsim.io import limits
from furnsim.model import (
    FINISHED,
    NEUTRAL,
    STORE,
    Article,
    Catalog,
    Component,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    WorkCenter,
)

__all__ = [
    "DEFAULT_PLAN_START",
    "WEEK_MINUTES",
    "generate_orders",
    "generate_plant_tables",
    "generate_to_dir",
    "orders_to_rows",
]

Tables = dict[str, list[dict[str, Any]]]
Seed = int | np.random.Generator

DEFAULT_PLAN_START = datetime(2026, 3, 2, 6, 0)  # a Monday, start of the early shift
WEEK_MINUTES = 5 * 24 * 60  # Monday 06:00 to Saturday 06:00 (v1 plans 24/7 minutes)
SHIFT_STARTS = (6, 14, 22)
#: with bills of materials: a kit buffer holds this share of all the week's kits there
KIT_AREA_SHARE = 0.35  # deadlines and releases fall on shift changes

# -- work-center types -----------------------------------------------------------------

TYPES = ("SAW", "CNC", "EDGE", "DRILL", "SAND", "LACQ", "ASSY", "PACK")
TYPE_TEXT = {
    "SAW": "panel sizing (beam saws)",
    "CNC": "CNC routers (program switches are virtual setups)",
    "EDGE": "edge banders",
    "DRILL": "boring machines",
    "SAND": "wide-belt sanders",
    "LACQ": "lacquer line / spray booths",
    "ASSY": "assembly benches and case clamps",
    "PACK": "packing",
}
# share of the machines a type gets beyond the first one per work center
TYPE_WEIGHT = {
    "SAW": 1.0,
    "CNC": 1.5,
    "EDGE": 1.2,
    "DRILL": 1.0,
    "SAND": 0.8,
    "LACQ": 0.8,
    "ASSY": 1.5,
    "PACK": 0.9,
}
# buffer space of a piece relative to its own volume (pallets, spacers, drying racks, cartons)
SPACE = {
    "SAW": 1.15,
    "CNC": 1.15,
    "EDGE": 1.15,
    "DRILL": 1.15,
    "SAND": 1.15,
    "LACQ": 2.0,
    "ASSY": 1.2,
    "PACK": 1.3,
}

BOARDS = {"W19": 19, "A19": 19, "O19": 19, "W16": 16, "M19": 19, "C25": 25, "H3": 3, "SOLID": 40}
EDGES = {
    "W-0.4": (0, 0.4),
    "W-1": (0, 1.0),
    "O-1": (1, 1.0),
    "OV-2": (1, 2.0),
    "A-1": (2, 1.0),
    "A-2": (2, 2.0),
}
LACQUERS = {"CLEAR": 0, "WHITE": 0, "GREY": 1, "WALNUT": 2, "BLACK": 3}
DRILLS = ("D-CASE", "D-DRAWER", "D-HINGE", "D-TOP", "D-DOWEL")
GRITS = {"G120": 120, "G180": 180, "G240": 240}
PROGRAMS = ("P-PANEL", "P-FRONT", "P-TOP", "P-LEG", "P-RAIL", "P-SEAT")
JIGS = ("A-CASE", "A-DRAWER", "A-CHAIR", "A-TABLE")
BOXES = {"BOX-S": 0, "BOX-M": 1, "BOX-L": 2, "BOX-XL": 3}
DECORS = {"white": ("W19", "W-1"), "anthracite": ("A19", "A-1"), "oak": ("O19", "O-1")}


def _setup_time(kind: str, a: str, b: str) -> float:
    """Minutes to change from setup ``a`` to ``b`` (both not neutral) on a machine of ``kind``."""
    if kind == "SAW":
        ta, tb = BOARDS[a], BOARDS[b]
        if ta == tb:
            return 3.0  # other decor, same thickness
        return 10.0 if 3 in (ta, tb) else 8.0  # pressure beam, scoring blade, book height
    if kind == "CNC":
        return 0.0  # virtual: the program switches, tools are in the changer
    if kind == "EDGE":
        (da, ea), (db, eb) = EDGES[a], EDGES[b]
        t = 3.0 + (10.0 if eb > ea else 6.0 if eb < ea else 0.0)
        return t + (
            8.0 + 6.0 * (da - db) if db < da else 3.0 if db > da else 0.0
        )  # dark -> light: purge glue
    if kind == "DRILL":
        return 5.0 if {a, b} == {"D-CASE", "D-DRAWER"} else 9.0
    if kind == "SAND":
        return 6.0 if GRITS[b] > GRITS[a] else 9.0
    if kind == "LACQ":
        da, db = LACQUERS[a], LACQUERS[b]
        if {a, b} == {"CLEAR", "WHITE"}:
            return 25.0 if a == "WHITE" else 12.0
        return 20.0 + 15.0 * (da - db) if db < da else 10.0 + 3.0 * (db - da)
    if kind == "ASSY":
        return 12.0 if "A-CHAIR" in (a, b) else 8.0
    if kind == "PACK":
        return 6.0 if BOXES[b] > BOXES[a] else 4.0
    raise ValueError(kind)


SETUP_IDS: dict[str, Sequence[str]] = {
    "SAW": tuple(BOARDS),
    "CNC": PROGRAMS,
    "EDGE": tuple(EDGES),
    "DRILL": DRILLS,
    "SAND": tuple(GRITS),
    "LACQ": tuple(LACQUERS),
    "ASSY": JIGS,
    "PACK": tuple(BOXES),
}
FROM_NEUTRAL = {
    "SAW": 5,
    "CNC": 0,
    "EDGE": 12,
    "DRILL": 8,
    "SAND": 6,
    "LACQ": 30,
    "ASSY": 10,
    "PACK": 5,
}
TO_NEUTRAL = {"LACQ": 15}

# -- catalog templates ----------------------------------------------------------------
# fmt: off
# part: kind, pieces per article (lo, hi), length mm (lo, hi), width mm (lo, hi), thickness mm
PARTS: dict[str, tuple[str, tuple[int, int], tuple[int, int], tuple[int, int], int]] = {
    "SIDE": ("panel", (2, 2), (600, 2200), (300, 600), 19),
    "TOP": ("panel", (1, 1), (450, 2000), (300, 600), 19),
    "BOTTOM": ("panel", (1, 1), (450, 2000), (300, 600), 19),
    "MIDDLE": ("panel", (1, 2), (600, 2100), (300, 560), 19),
    "DIVIDER": ("panel", (1, 2), (300, 800), (220, 450), 19),
    "RAIL": ("panel", (1, 2), (450, 1000), (80, 120), 19),
    "MODESTY": ("panel", (1, 1), (1000, 1600), (300, 450), 19),
    "SIDE-RAIL": ("panel", (2, 2), (1900, 2100), (200, 280), 19),
    "SHELF": ("shelf", (1, 4), (400, 1000), (250, 550), 19),
    "PLINTH": ("shelf", (1, 1), (450, 2000), (60, 100), 19),
    "CORNICE": ("shelf", (1, 1), (800, 2000), (50, 80), 19),
    "BACK": ("back", (1, 2), (500, 2200), (400, 1000), 3),
    "DRAWER-BOTTOM": ("back", (1, 6), (350, 600), (300, 450), 3),
    "DOOR": ("front", (1, 3), (400, 2000), (300, 600), 19),
    "FLAP": ("front", (1, 2), (400, 800), (300, 450), 19),
    "DRAWER-FRONT": ("front", (1, 6), (300, 800), (150, 300), 19),
    "DRAWER-SIDE": ("drawer", (2, 12), (300, 550), (100, 200), 16),
    "DRAWER-BACK": ("drawer", (1, 6), (300, 600), (100, 180), 16),
    "TABLE-TOP": ("top", (1, 1), (900, 2000), (500, 1000), 25),
    "LEG": ("solid", (4, 6), (120, 900), (35, 70), 45),
    "LEG-BACK": ("solid", (2, 2), (800, 950), (45, 60), 45),
    "APRON": ("solid", (2, 4), (400, 1600), (60, 100), 22),
    "STRETCHER": ("solid", (2, 4), (300, 600), (30, 50), 30),
    "SLAT": ("slat", (14, 20), (700, 900), (55, 70), 20),
    "SEAT": ("shaped", (1, 1), (380, 460), (380, 450), 15),
    "BACKREST": ("solid", (1, 1), (380, 460), (80, 140), 22),
    "HEADBOARD": ("shaped", (1, 1), (1000, 1900), (600, 1100), 15),
    "CABLE-FLAP": ("shelf", (1, 1), (200, 400), (80, 150), 19),
}
# family: assembled in the plant?, box, ordered part list (an article uses the first k parts)
FAMILIES: dict[str, tuple[bool, str, tuple[str, ...]]] = {
    "WARDROBE": (False, "BOX-XL", ("SIDE", "TOP", "BOTTOM", "BACK", "DOOR", "SHELF", "PLINTH", "MIDDLE",
                                   "DRAWER-FRONT", "DRAWER-SIDE", "DRAWER-BACK", "DRAWER-BOTTOM", "CORNICE",
                                   "DIVIDER", "RAIL")),
    "SIDEBOARD": (False, "BOX-XL", ("SIDE", "TABLE-TOP", "BOTTOM", "BACK", "DOOR", "DIVIDER", "SHELF",
                                    "DRAWER-FRONT", "DRAWER-SIDE", "DRAWER-BACK", "DRAWER-BOTTOM", "LEG",
                                    "PLINTH", "APRON", "FLAP")),
    "DRESSER": (True, "BOX-L", ("SIDE", "TOP", "BOTTOM", "BACK", "DRAWER-FRONT", "DRAWER-SIDE", "DRAWER-BACK",
                                "DRAWER-BOTTOM", "DIVIDER", "PLINTH", "LEG", "RAIL")),
    "DESK": (False, "BOX-L", ("TABLE-TOP", "SIDE", "MODESTY", "DRAWER-FRONT", "DRAWER-SIDE", "DRAWER-BACK",
                              "DRAWER-BOTTOM", "DIVIDER", "CABLE-FLAP", "RAIL")),
    "KITCHEN-CABINET": (True, "BOX-L", ("SIDE", "BOTTOM", "BACK", "DOOR", "RAIL", "SHELF", "TOP", "DRAWER-FRONT",
                                        "DRAWER-SIDE", "DRAWER-BOTTOM")),
    "BOOKSHELF": (False, "BOX-L", ("SIDE", "SHELF", "TOP", "BOTTOM", "BACK", "PLINTH", "DIVIDER", "DOOR")),
    "NIGHTSTAND": (True, "BOX-M", ("SIDE", "TOP", "BOTTOM", "BACK", "DRAWER-FRONT", "DRAWER-SIDE", "DRAWER-BACK",
                                   "DRAWER-BOTTOM", "LEG")),
    "TV-BENCH": (False, "BOX-L", ("SIDE", "TOP", "BOTTOM", "BACK", "FLAP", "DIVIDER", "SHELF", "DOOR")),
    "CHAIR": (True, "BOX-M", ("LEG", "SEAT", "LEG-BACK", "APRON", "BACKREST", "STRETCHER")),
    "TABLE": (False, "BOX-XL", ("TABLE-TOP", "LEG", "APRON", "STRETCHER", "CABLE-FLAP")),
    "BED": (False, "BOX-XL", ("SIDE-RAIL", "HEADBOARD", "SLAT", "LEG", "PLINTH", "APRON")),
    "STOOL": (True, "BOX-S", ("SEAT", "LEG", "STRETCHER")),
}
KIND_ROUTE = {  # work-center types; ASSY (assembled articles) and PACK are appended
    "panel": ("SAW", "EDGE", "DRILL"),
    "shelf": ("SAW", "EDGE"),
    "back": ("SAW",),
    "front": ("SAW", "CNC", "SAND", "LACQ", "DRILL"),
    "drawer": ("SAW", "EDGE", "DRILL"),
    "top": ("SAW", "EDGE", "SAND", "LACQ", "DRILL"),
    "solid": ("SAW", "CNC", "SAND", "LACQ"),
    "shaped": ("SAW", "CNC", "EDGE", "DRILL"),
    "slat": ("SAW", "SAND"),
}
# fmt: on


# -- internal specification -------------------------------------------------------------


@dataclass
class _Op:
    wc: str
    setup: str
    minutes: float  # per piece, before the per-machine speed factor
    fixed: float
    volume: float  # per piece, buffer space
    machines: tuple[str, ...] = ()


@dataclass
class _Comp:
    id: str
    qty: float
    ops: list[_Op]
    final_volume: float
    description: str
    parent: str = ""  # assembly it goes into (bom_depth > 0)


@dataclass
class _Art:
    id: str
    description: str
    comps: list[_Comp]


@dataclass
class _PlantSpec:
    wcs: list[tuple[str, str]] = field(default_factory=list)  # (id, type)
    capacity: dict[str, float] = field(default_factory=dict)
    machines: list[tuple[str, str, str, float]] = field(
        default_factory=list
    )  # id, wc, matrix, speed
    matrices: dict[str, tuple[str, np.ndarray]] = field(
        default_factory=dict
    )  # name -> (type, (k, k))
    transport: dict[tuple[str, str], float] = field(default_factory=dict)

    def wc_machines(self, wc: str) -> list[str]:
        return [m for m, w, _, _ in self.machines if w == wc]


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _nice(q: float) -> int:
    """Round a lot size down to what planners type: 1..20 exact, then multiples of 2, 5 and 10."""
    q = max(1.0, q)
    step = 1 if q < 20 else 2 if q < 40 else 5 if q < 150 else 10
    return int(max(1, math.floor(q / step) * step))


def _layout(spec: _PlantSpec, rng: np.random.Generator) -> None:
    """Transport minutes from a floor layout: types along the flow, halls side by side."""
    pos: dict[str, tuple[float, float]] = {}
    count: dict[str, int] = {}
    for wc, t in spec.wcs:
        k = count.get(t, 0)
        count[t] = k + 1
        pos[wc] = (TYPES.index(t) * 18.0 + rng.uniform(-4, 4), k * 22.0 + rng.uniform(-3, 3))
    pos[STORE] = (-12.0, 0.0)
    pos[FINISHED] = (len(TYPES) * 18.0 + 8.0, 0.0)
    flow = {wc: TYPES.index(t) for wc, t in spec.wcs}
    for a in [STORE, *flow]:
        for b in [*flow, FINISHED]:
            if a == b:
                continue
            d = abs(pos[a][0] - pos[b][0]) + abs(pos[a][1] - pos[b][1])
            back = (
                a in flow and b in flow and flow[b] < flow[a]
            )  # against the one-way forklift loop
            minutes = 2.0 + d / 15.0 + (2.0 if back else 0.0) + rng.uniform(0.0, 1.0)
            spec.transport[(a, b)] = float(min(15, max(2, round(minutes))))


def _plant_spec(n_wc: int, n_m: int, rng: np.random.Generator) -> _PlantSpec:
    spec = _PlantSpec()
    types = [TYPES[i % len(TYPES)] for i in range(n_wc)]
    per_type = {t: types.count(t) for t in TYPES}
    seen: dict[str, int] = {}
    for t in types:
        seen[t] = seen.get(t, 0) + 1
        spec.wcs.append((t if per_type[t] == 1 else f"{t}{seen[t]}", t))
    weights = np.array([TYPE_WEIGHT[t] for t in types], dtype=float)
    extra = (
        rng.multinomial(n_m - n_wc, weights / weights.sum()) if n_m > n_wc else np.zeros(n_wc, int)
    )
    for (wc, t), k in zip(spec.wcs, extra, strict=True):
        ids = list(SETUP_IDS[t])
        base = np.zeros((len(ids) + 1, len(ids) + 1))
        for i, a in enumerate(ids, start=1):
            base[0, i] = FROM_NEUTRAL[t]
            base[i, 0] = TO_NEUTRAL.get(t, 0)
            for j, b in enumerate(ids, start=1):
                if a != b:
                    base[i, j] = _setup_time(t, a, b)
        spec.matrices[wc] = (t, base)
        for j in range(1 + int(k)):
            # most machines run at route speed; some are newer (faster) or older (slower)
            speed = 1.0 if j == 0 else float(rng.choice([1.0, 1.0, 1.0, 0.85, 1.15, 1.3]))
            matrix = wc
            if speed >= 1.15 and t != "CNC":  # older machine: slower setups too
                matrix = f"{wc}-OLD"
                spec.matrices[matrix] = (t, np.round(base * 1.4))
            spec.machines.append((f"{wc}-{j + 1}", wc, matrix, speed))
    _layout(spec, rng)
    return spec


def _part_minutes(
    t: str, kind: str, length: float, width: float, edges: int
) -> tuple[float, float]:
    """Nominal (minutes per piece, fixed minutes per batch) from the part's size (mm)."""
    a, L = length * width / 1e6, length / 1000
    banded = {1: L, 2: 2 * L, 4: 2 * (length + width) / 1000}[edges]
    if t == "SAW":
        if kind in ("back", "slat"):
            return 0.10 + 0.10 * a, 5.0  # cut in books / multi-rip
        return 0.15 + 0.50 * a, 5.0
    if t == "CNC":
        return (1.5 + 2.0 * L, 0.0) if kind == "solid" else (1.0 + 1.8 * a, 0.0)
    if t == "EDGE":
        return 0.30 + banded / 12 + 0.20 * edges, 0.0
    if t == "DRILL":
        return 0.55 + 0.40 * a, 0.0
    if t == "SAND":
        return (0.08 + 0.1 * L, 0.0) if kind == "slat" else (0.50 + 1.00 * a + 0.2 * L, 0.0)
    if t == "LACQ":
        return 0.40 + 1.40 * a + 0.2 * L, 15.0
    if t == "ASSY":
        return (1.5 if kind in ("panel", "top") else 0.8), 0.0
    return 0.25 + 0.35 * a, 0.0  # PACK


def _catalog_spec(spec: _PlantSpec, n_articles: int, rng: np.random.Generator) -> list[_Art]:
    by_type: dict[str, list[str]] = {}
    for wc, t in spec.wcs:
        by_type.setdefault(t, []).append(wc)
    present = [t for t in TYPES if t in by_type]
    rr: dict[str, int] = dict.fromkeys(present, 0)  # round robin over work centers of a type

    def pick(t: str) -> str:
        wcs = by_type[t]
        rr[t] += 1
        return wcs[(rr[t] - 1) % len(wcs)]

    fam_names = list(FAMILIES)
    arts: list[_Art] = []
    fam_count: dict[str, int] = {}
    # sizes 3, 4 and 5 early so that any number of jobs >= 3 can be hit exactly
    forced = {0: 3, 1: 4, 2: 5}
    for n in range(n_articles):
        fam = (
            fam_names[int(rng.integers(len(fam_names)))]
            if n >= 3
            else ("STOOL", "TABLE", "TABLE")[n]
        )
        assembled, box, parts = FAMILIES[fam]
        lo = min(3, len(parts))
        k = forced.get(n, int(rng.integers(lo, len(parts) + 1)))
        k = min(k, len(parts))
        fam_count[fam] = fam_count.get(fam, 0) + 1
        decor = str(rng.choice(list(DECORS)))
        board, edge = DECORS[decor]
        front_colour = str(rng.choice(list(LACQUERS)))
        solid_colour = str(rng.choice(["CLEAR", "CLEAR", "WALNUT", "BLACK"]))
        lacquered_case = bool(rng.random() < 0.2)  # fully lacquered carcass (MDF)
        scale = rng.uniform(0.8, 1.0)  # article size within its family
        aid = f"{fam}-{fam_count[fam]}"
        comps: list[_Comp] = []
        for name in parts[:k]:
            kind, (qlo, qhi), (llo, lhi), (wlo, whi), thick = PARTS[name]
            qty = int(rng.integers(qlo, qhi + 1))
            length = round(float(rng.uniform(llo, llo + (lhi - llo) * scale)) / 10) * 10
            width = round(float(rng.uniform(wlo, whi)) / 10) * 10
            edges = 4 if kind in ("front", "top", "shaped") else int(rng.choice([1, 1, 2]))
            vol = length * width * thick / 1e9
            types = list(KIND_ROUTE[kind])
            if kind == "panel" and lacquered_case:
                types = ["SAW", "EDGE", "SAND", "LACQ", "DRILL"]
            elif kind == "front" and rng.random() < 0.3:  # drilled before the finish
                types = ["SAW", "CNC", "DRILL", "SAND", "LACQ"]
            elif kind == "panel" and rng.random() < 0.15:  # grooves routed on the CNC
                types = ["SAW", "CNC", "EDGE", "DRILL"]
            if assembled:
                types.append("ASSY")
            types.append("PACK")
            types = [t for t in types if t in by_type] or [present[0]]
            ops: list[_Op] = []
            for t in types:
                wc = pick(t)
                setup = {
                    "SAW": "SOLID"
                    if kind in ("solid", "slat")
                    else "H3"
                    if kind == "back"
                    else "W16"
                    if kind == "drawer"
                    else "M19"
                    if kind in ("front", "shaped") or (kind == "panel" and lacquered_case)
                    else "C25"
                    if kind == "top"
                    else board,
                    "CNC": {
                        "panel": "P-PANEL",
                        "front": "P-FRONT",
                        "top": "P-TOP",
                        "shaped": "P-SEAT",
                    }.get(kind, "P-LEG" if name.startswith("LEG") else "P-RAIL"),
                    "EDGE": "W-0.4" if kind == "drawer" else "OV-2" if kind == "top" else edge,
                    "DRILL": {
                        "drawer": "D-DRAWER",
                        "front": "D-HINGE",
                        "top": "D-TOP",
                        "shaped": "D-DOWEL",
                    }.get(kind, "D-CASE"),
                    "SAND": "G120"
                    if kind in ("solid", "slat")
                    else "G240"
                    if kind == "top"
                    else "G180",
                    "LACQ": solid_colour if kind in ("solid", "top") else front_colour,
                    "ASSY": "A-DRAWER"
                    if kind == "drawer"
                    else "A-CHAIR"
                    if fam in ("CHAIR", "STOOL")
                    else "A-TABLE"
                    if fam == "TABLE"
                    else "A-CASE",
                    "PACK": box,
                }[spec.matrices[wc][0]]
                d, fixed = _part_minutes(spec.matrices[wc][0], kind, length, width, edges)
                d *= float(rng.uniform(0.85, 1.15))
                machines: tuple[str, ...] = ()
                ms = spec.wc_machines(wc)
                if len(ms) >= 3 and rng.random() < 0.08:  # e.g. large format only on some machines
                    machines = tuple(
                        sorted(rng.choice(ms, size=len(ms) - 1, replace=False).tolist())
                    )
                ops.append(_Op(wc, setup, d, fixed, SPACE[spec.matrices[wc][0]] * vol, machines))
            comps.append(
                _Comp(name, qty, ops, SPACE["PACK"] * vol, f"{length:g}x{width:g}x{thick} mm")
            )
        arts.append(_Art(aid, f"{fam.lower().replace('-', ' ')} ({decor})", comps))
    return arts


def _model(spec: _PlantSpec, arts: list[_Art]) -> tuple[Plant, Catalog]:
    ids_of = {name: (NEUTRAL, *SETUP_IDS[t]) for name, (t, _) in spec.matrices.items()}
    wcs = [WorkCenter(wc, spec.capacity.get(wc, math.inf), "m3") for wc, _ in spec.wcs]
    machines = [
        Machine(m, wc, ids_of[mat], spec.matrices[mat][1], NEUTRAL)
        for m, wc, mat, _ in spec.machines
    ]
    plant = Plant(wcs, machines, TransportMatrix(dict(spec.transport)), name="synthetic")
    speed = {m: s for m, _, _, s in spec.machines}
    articles = []
    for a in arts:
        comps = []
        for c in a.comps:
            ops = []
            for o in c.ops:
                mm = {
                    m: o.minutes * speed[m]
                    for m in spec.wc_machines(o.wc)
                    if speed[m] != 1.0 and (not o.machines or m in o.machines)
                }
                ops.append(Operation(o.wc, o.setup, o.minutes, o.fixed, o.volume, mm, o.machines))
            comps.append(Component(c.id, c.qty, ops, c.final_volume, parent=c.parent))
        articles.append(Article(a.id, comps))
    return plant, Catalog(articles)


# -- orders ----------------------------------------------------------------------------


def _fit_quantity(art: Article, plant: Plant) -> float:
    """Largest order quantity whose batches (and kits) fit every buffer on the article's routes."""
    q = math.inf
    kit: dict[str, float] = {}
    for c in art.components:
        for op in c.routing:
            cap = plant.work_center(op.work_center).buffer_capacity
            if op.volume_per_piece > 0 and math.isfinite(cap):
                q = min(q, cap / (c.qty_per_article * op.volume_per_piece))
        if c.parent:
            kit[c.parent] = kit.get(c.parent, 0.0) + c.qty_per_article * c.final_volume_per_piece
    by_id = {c.id: c for c in art.components}
    for a, v in kit.items():
        cap = plant.work_center(by_id[a].routing[0].work_center).buffer_capacity
        if v > 0 and math.isfinite(cap):
            q = min(q, cap / v)
    return q


def _draw_lines(
    catalog: Catalog,
    plant: Plant,
    jobs: int,
    rng: np.random.Generator,
    lot_median: float | None,
    horizon: float = WEEK_MINUTES,
) -> list[tuple[str, int]]:
    """(article, quantity) per order, summing to ``jobs`` component jobs (exactly when possible).

    Without ``lot_median``, the median lot is chosen so that the busiest work center is
    loaded to about 70 % of ``horizon`` (processing only), and at most a third of what the
    tightest buffer holds.
    """
    arts = catalog.articles
    sizes = np.array([len(a.components) for a in arts])
    fit = np.array([_fit_quantity(a, plant) for a in arts])
    # popularity: a few runners, many slow movers
    pop = 1.0 / (1.0 + rng.permutation(len(arts))) ** 0.7
    # reach[r]: r jobs can be made of whole articles
    size_l = sizes.tolist()
    reach_l = [True] + [False] * jobs
    for r in range(1, jobs + 1):
        reach_l[r] = any(reach_l[r - s] for s in size_l if s <= r)
    reach = np.array(reach_l, dtype=bool)
    target = jobs
    while target > 0 and not reach[target]:
        target -= 1
    if target == 0:  # fewer jobs than the smallest article: one order of the smallest
        target = int(sizes.min())
        reach = np.zeros(target + 1, dtype=bool)
        reach[0] = True
    chosen: list[int] = []
    left = target
    while left > 0:
        ok = np.array([s <= left and bool(reach[left - s]) for s in sizes])
        p = pop * ok
        i = int(rng.choice(len(arts), p=p / p.sum()))
        chosen.append(i)
        left -= int(sizes[i])
    if lot_median is None:
        unit = {w.id: 0.0 for w in plant.work_centers}  # minutes per article piece ordered
        fixed = dict.fromkeys(unit, 0.0)
        fastest: dict[int, float] = {}  # per operation (by id, this call) its fastest minutes
        for i in chosen:
            for c in arts[i].components:
                for op in c.routing:
                    dmin = fastest.get(id(op))
                    if dmin is None:
                        ms = [
                            m
                            for m in plant.work_center(op.work_center).machines
                            if not op.machines or m in op.machines
                        ]
                        dmin = fastest[id(op)] = min(op.piece_minutes(m) for m in ms)
                    unit[op.work_center] += c.qty_per_article * dmin
                    fixed[op.work_center] += op.fixed_minutes
        lots = [
            (0.7 * horizon * len(plant.work_center(w).machines) - fixed[w]) / unit[w]
            for w in unit
            if unit[w] > 0
        ]
        finite = fit[np.isfinite(fit)]
        cap = 0.35 * float(np.median(finite)) if finite.size else math.inf
        lot_median = float(np.clip(min([*lots, cap]), 2.0, 500.0))
    lines: list[tuple[str, int]] = []
    for i in chosen:
        q = lot_median * float(rng.lognormal(0.0, 0.45))
        q = min(q, 0.95 * fit[i]) if math.isfinite(fit[i]) else q
        lines.append((arts[i].id, _nice(q)))
    return lines


def _shift_offset(plan_start: datetime | None) -> float:
    """Minutes from plan start to the first shift change (06:00, 14:00, 22:00) at or after it."""
    if plan_start is None:
        return 0.0
    day = datetime.combine(plan_start.date(), time())
    for d in range(2):
        for h in SHIFT_STARTS:
            t = day + timedelta(days=d, hours=h)
            if t >= plan_start:
                return (t - plan_start).total_seconds() / 60.0
    return 0.0  # pragma: no cover


def _to_shift(minutes: float, offset: float, up: bool) -> float:
    k = (minutes - offset) / 480.0
    k = math.ceil(k - 1e-9) if up else math.floor(k + 1e-9)
    return max(0.0, offset + 480.0 * k)


def _make_orders(
    lines: list[tuple[str, int]],
    catalog: Catalog,
    plant: Plant,
    rng: np.random.Generator,
    plan_start: datetime | None,
    horizon: float,
    prefix: str = "SO-",
) -> list[Order]:
    """Releases, deadlines and priorities for the order lines."""
    speed_cap: dict[str, float] = {}
    for w in plant.work_centers:
        speed_cap[w.id] = float(len(w.machines))
    load: dict[str, float] = dict.fromkeys(speed_cap, 0.0)
    flow: list[float] = []
    fastest: dict[int, float] = {}  # per operation (by id, this call) its fastest minutes
    for aid, q in lines:
        art = catalog.article(aid)
        longest = 0.0
        for c in art.components:
            t, where = 0.0, STORE
            for op in c.routing:
                dmin = fastest.get(id(op))
                if dmin is None:
                    dmin = fastest[id(op)] = min(
                        [op.piece_minutes(m) for m in plant.work_center(op.work_center).machines]
                    )
                p = q * c.qty_per_article * dmin + op.fixed_minutes
                load[op.work_center] += p
                t += p + plant.transport.time(where, op.work_center) + 10.0  # + a typical setup
                where = op.work_center
            longest = max(longest, t)
        flow.append(longest)
    # the week stretches when the plant is loaded beyond ~85 % of it
    busiest = max(load[w] / speed_cap[w] for w in load) if load else 0.0
    span = max(horizon, busiest / 0.85)
    offset = _shift_offset(plan_start)
    orders = []
    for k, ((aid, q), fl) in enumerate(zip(lines, flow, strict=True), start=1):
        release = 0.0
        if rng.random() < 0.3:  # material or customer release later in the week
            release = _to_shift(float(rng.uniform(0.1, 0.6)) * span, offset, up=False)
        pos = float(rng.uniform(0.12, 1.0))  # where in the week the customer wants it
        deadline = max(release + 1.3 * fl, release + pos * (span - release))
        deadline = _to_shift(deadline, offset, up=True)
        priority = float(rng.choice([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 3.0]))
        orders.append(Order(f"{prefix}{k:04d}", aid, float(q), deadline, release, priority))
    return orders


def generate_orders(
    catalog: Catalog,
    plant: Plant,
    jobs: int,
    rng: Seed,
    plan_start: datetime | None = None,
    horizon_minutes: float = WEEK_MINUTES,
    *,
    lot_median: float | None = None,
) -> list[Order]:
    """Draw one week of orders for an existing plant and catalog.

    Articles are drawn from the catalog with a skewed popularity (a few runners, many slow
    movers) until the orders expand into ``jobs`` component jobs - exactly, whenever whole
    articles can make that number. Quantities are lot sizes around ``lot_median`` (default:
    the lot that loads the busiest work center to about 70 % of the horizon, at most a
    third of what a typical article's tightest buffer holds), rounded like a planner would
    and capped so that every batch fits every buffer on its route.
    About 30 % of the orders are released later in the week; deadlines fall on shift
    changes (06:00, 14:00, 22:00 when ``plan_start`` is given, else every 480 minutes),
    from ~1.3x the order's own flow time up to the end of the horizon - or later, when the
    orders load the busiest work center beyond 85 % of the horizon.

    ``rng`` is a seed or a :class:`numpy.random.Generator` (the environment passes
    ``self.np_random``); the same seed gives the same orders. Times are minutes after
    ``plan_start``; see :func:`orders_to_rows` for the table form.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 (got {jobs})")
    if jobs > limits.MAX_JOBS:
        raise ValueError(f"jobs must be <= {limits.MAX_JOBS:,} (furnsim.io.limits.MAX_JOBS)")
    if not catalog.articles:
        raise ValueError("the catalog has no articles")
    g = _rng(rng)
    lines = _draw_lines(catalog, plant, jobs, g, lot_median, horizon_minutes)
    return _make_orders(lines, catalog, plant, g, plan_start, horizon_minutes)


def orders_to_rows(orders: Sequence[Order], plan_start: datetime | None) -> list[dict[str, Any]]:
    """Rows for the ``orders`` sheet: date/times when ``plan_start`` is given, else minutes."""

    def when(m: float) -> datetime | float:
        return plan_start + timedelta(minutes=m) if plan_start is not None else m

    rows = []
    for o in orders:
        q = int(o.quantity) if float(o.quantity).is_integer() else o.quantity
        rows.append(
            {
                "order": o.id,
                "article": o.article,
                "quantity": q,
                "deadline": when(o.deadline) if math.isfinite(o.deadline) else None,
                "release": when(o.release) if o.release > 0 else None,
                "priority": o.priority,
            }
        )
    return rows


# -- whole plant -------------------------------------------------------------------------


def _tables(
    spec: _PlantSpec, arts: list[_Art], orders: list[Order], plan_start: datetime, seed: int
) -> Tables:
    settings: list[dict[str, Any]] = [
        {
            "key": "name",
            "value": f"synthetic plant (seed {seed}, {len(spec.wcs)} work centers, "
            f"{len(spec.machines)} machines)",
        },
        {"key": "plan_start", "value": plan_start},
    ]
    wcs = [
        {
            "work_center": wc,
            "buffer_capacity": spec.capacity[wc],
            "buffer_unit": "m3",
            "description": TYPE_TEXT[t],
        }
        for wc, t in spec.wcs
    ]
    machines = [
        {
            "machine": m,
            "work_center": wc,
            "setup_matrix": mat,
            "initial_setup": NEUTRAL,
            "description": "" if s == 1.0 else f"time per piece x{s:g}",
        }
        for m, wc, mat, s in spec.machines
    ]
    setups: list[dict[str, Any]] = []
    for name, (t, mat) in spec.matrices.items():
        ids = [NEUTRAL, *SETUP_IDS[t]]
        for i, a in enumerate(ids):
            setups.append(
                {
                    "matrix": name,
                    "from_setup": a,
                    **{b: float(mat[i, j]) for j, b in enumerate(ids)},
                }
            )
    transport: list[dict[str, Any]] = []
    wc_ids = [wc for wc, _ in spec.wcs]
    for src in [STORE, *wc_ids]:
        row: dict[str, Any] = {"from": src}
        for dst in [*wc_ids, FINISHED]:
            row[dst] = 0.0 if src == dst else spec.transport.get((src, dst))
        transport.append(row)
    speed = {m: s for m, _, _, s in spec.machines}
    articles: list[dict[str, Any]] = []
    comps: list[dict[str, Any]] = []
    ops: list[dict[str, Any]] = []
    mtimes: list[dict[str, Any]] = []
    for art in arts:
        articles.append({"article": art.id, "description": art.description})
        for c in art.comps:
            comps.append(
                {
                    "article": art.id,
                    "component": c.id,
                    "qty_per_article": c.qty,
                    "final_volume_per_piece": round(c.final_volume, 6),
                    **({"parent": c.parent or None} if any(x.parent for x in art.comps) else {}),
                    "description": c.description,
                }
            )
            for step, o in enumerate(c.ops, start=1):
                ops.append(
                    {
                        "article": art.id,
                        "component": c.id,
                        "step": step,
                        "work_center": o.wc,
                        "setup": o.setup,
                        "minutes_per_piece": round(o.minutes, 3),
                        "fixed_minutes": round(o.fixed, 1),
                        "volume_per_piece": round(o.volume, 6),
                        "machines": ",".join(o.machines) or None,
                    }
                )
                for m in spec.wc_machines(o.wc):
                    if speed[m] != 1.0 and (not o.machines or m in o.machines):
                        mtimes.append(
                            {
                                "article": art.id,
                                "component": c.id,
                                "step": step,
                                "machine": m,
                                "minutes_per_piece": round(o.minutes * speed[m], 3),
                            }
                        )
    return {
        "settings": settings,
        "work_centers": wcs,
        "machines": machines,
        "setup_matrices": setups,
        "transport": transport,
        "articles": articles,
        "components": comps,
        "operations": ops,
        "machine_times": mtimes,
        "orders": orders_to_rows(orders, plan_start),
    }


def generate_plant_tables(
    work_centers: int,
    machines: int,
    jobs: int,
    seed: int,
    *,
    plan_start: datetime = DEFAULT_PLAN_START,
    utilization: tuple[float, float] = (0.45, 0.8),
    bom_depth: int = 0,
    max_fan_in: int = 0,
) -> Tables:
    """A synthetic furniture plant with catalog and one week of orders, as import tables.

    ``work_centers`` work centers cycle through the types saw, CNC, edge, drill, sand,
    lacquer, assembly, packing (so 8 gives one of each; 16 two of each, ...); ``machines``
    (>= ``work_centers``) are spread over them, busier types getting more. The orders expand
    into ``jobs`` component jobs (exactly whenever whole articles can make that number).
    Per work center, times per piece are scaled so that the week's processing load is a
    utilisation drawn from ``utilization`` over 5 x 24 h; buffers (m³) hold the largest
    batch with a margin and a few average ones. Same arguments, same tables.

    ``bom_depth`` (0 = independent parts, as before): 1 = each article's parts meet as one
    kit (final assembly at ASSY then packing for assembled articles, one packed kit at PACK
    for flat-pack ones); 2 = also drawer and upholstered-seat sub-assemblies.
    ``max_fan_in`` (> 0) splits larger kits into sub-kits (:mod:`furnsim.furniture`). The
    assembly work per article equals the parts' former ASSY/PACK work; buffers where kits
    wait hold the largest kit with a margin.
    """
    if work_centers < 1:
        raise ValueError(f"work_centers must be >= 1 (got {work_centers})")
    if machines < work_centers:
        raise ValueError(
            f"machines ({machines}) must be >= work_centers ({work_centers}): every work center needs one"
        )
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 (got {jobs})")
    if jobs > limits.MAX_JOBS:
        raise ValueError(f"jobs must be <= {limits.MAX_JOBS:,} (furnsim.io.limits.MAX_JOBS)")
    rng = np.random.default_rng(seed)
    spec = _plant_spec(work_centers, machines, rng)
    n_articles = int(np.clip(jobs // 30 + 5, 6, 80))
    arts = _catalog_spec(spec, n_articles, rng)
    if bom_depth > 0:
        arts = [_with_bom(a, spec, bom_depth, max_fan_in) for a in arts]
    plant, catalog = _model(spec, arts)  # buffers unlimited while the lots are drawn
    # lot size: most of the way to a plausible week on this machine park (about 65 % load at a
    # median lot of 30 with the nominal times), within 8..300 pieces; times absorb the rest
    probe = _draw_lines(catalog, plant, jobs, np.random.default_rng(rng.integers(2**32)), 30.0)
    load = _load(probe, catalog, plant)
    eff = {wc: sum(1.0 / s for _, w, _, s in spec.machines if w == wc) for wc, _ in spec.wcs}
    need = float(np.median([0.65 * WEEK_MINUTES * eff[w] / load[w] for w in load if load[w] > 0]))
    lot = float(np.clip(30.0 * need**0.7, 8.0, 300.0))
    lines = _draw_lines(catalog, plant, jobs, rng, lot)
    # per work center: scale times to the drawn utilisation
    load = _load(lines, catalog, plant)
    for wc, _ in spec.wcs:
        if load[wc] <= 0:
            continue
        target = float(rng.uniform(*utilization)) * WEEK_MINUTES * eff[wc]
        f = float(np.clip(target / load[wc], 0.1, 4.0))  # keep times per piece plausible
        for a in arts:
            for c in a.comps:
                for o in c.ops:
                    if o.wc == wc:
                        o.minutes *= f
                        o.fixed = min(o.fixed * math.sqrt(f), 60.0) if o.fixed else 0.0
    # buffers: the largest batch with a margin, and a few average ones
    vols: dict[str, list[float]] = {wc: [] for wc, _ in spec.wcs}
    by_id = {a.id: a for a in arts}
    kit_week: dict[str, float] = {}  # all kits of the week per work center
    for aid, q in lines:
        kits: dict[str, float] = {}
        for c in by_id[aid].comps:
            for o in c.ops:
                vols[o.wc].append(q * c.qty * o.volume)
            if c.parent:
                kits[c.parent] = kits.get(c.parent, 0.0) + q * c.qty * c.final_volume
        first = {c.id: c.ops[0].wc for c in by_id[aid].comps}
        for a_id, kv in kits.items():  # a whole kit waits in front of its assembly
            vols[first[a_id]].append(kv)
            kit_week[first[a_id]] = kit_week.get(first[a_id], 0.0) + kv
    for wc, _ in spec.wcs:
        v = vols[wc]
        if not v:
            spec.capacity[wc] = 2.0
            continue
        n_m = len(spec.wc_machines(wc))
        cap = max(max(v) * float(rng.uniform(1.15, 1.5)), float(np.mean(v)) * (2 + 1.5 * n_m))
        if wc in kit_week:  # a kit marshalling area: partial kits of several orders wait here
            cap = max(cap, KIT_AREA_SHARE * kit_week[wc])
        spec.capacity[wc] = math.ceil(cap * 2) / 2  # whole half m3
    plant, catalog = _model(spec, arts)
    orders = _make_orders(lines, catalog, plant, rng, plan_start, WEEK_MINUTES)
    return _tables(spec, arts, orders, plan_start, seed)


def _with_bom(art: _Art, spec: _PlantSpec, depth: int, max_fan_in: int) -> _Art:
    """The article with a bill-of-materials tree (:func:`furnsim.furniture.assembly_tree`)."""
    from furnsim.furniture import KitPart, assembly_tree, kit_space

    types = {wc: t for wc, t in spec.wcs}
    end_types = ("ASSY", "PACK")
    parts: list[KitPart] = []
    trimmed: dict[str, list[_Op]] = {}
    wc_of: dict[str, str] = {}
    setup_of: dict[str, str] = {}
    for c in art.comps:
        ops = list(c.ops)
        assy = pack = 0.0
        while ops and types[ops[-1].wc] in end_types:
            o = ops.pop()
            t = types[o.wc]
            wc_of.setdefault(t, o.wc)
            if t == "ASSY":
                assy = o.minutes
                if o.setup != "A-DRAWER":
                    setup_of.setdefault("ASSY", o.setup)
            else:
                pack = o.minutes
                setup_of.setdefault("PACK", o.setup)
        if not ops:  # nothing left before assembly (tiny plants): keep the article flat
            return art
        trimmed[c.id] = ops
        parts.append(KitPart(c.id, c.qty, c.final_volume / SPACE["PACK"], assy, pack))
    if "PACK" not in wc_of:
        return art
    assembled = "ASSY" in wc_of
    plant_assy = next((wc for wc, t in spec.wcs if t == "ASSY"), None)
    if plant_assy is None:
        depth = 1  # no assembly work center: no drawer or seat sub-assemblies
    wc_of.setdefault("ASSY", plant_assy or wc_of["PACK"])
    parent, nodes = assembly_tree(
        parts,
        assembled=assembled,
        box=setup_of["PACK"],
        jig=setup_of.get("ASSY", "A-CASE"),
        depth=depth,
        max_fan_in=max_fan_in,
    )
    by_node = {n.id: n for n in nodes}

    def first_type(cid: str) -> str:
        return by_node[cid].steps[0][0]

    comps: list[_Comp] = []
    for n in nodes:
        ops = [
            _Op(
                wc_of.get(t, wc_of["PACK"]),
                setup,
                d,
                fixed,
                0.0 if k == 0 else n.volume,  # the kit is the first step's material
            )
            for k, (t, setup, d, fixed) in enumerate(n.steps)
        ]
        fv = n.volume * kit_space(first_type(n.parent)) if n.parent else n.volume
        comps.append(_Comp(n.id, n.qty, ops, fv, n.description, n.parent))
    for c in art.comps:
        p = parent.get(c.id, "")
        own = c.final_volume / SPACE["PACK"]
        fv = own * kit_space(first_type(p)) if p else c.final_volume
        comps.append(_Comp(c.id, c.qty, trimmed[c.id], fv, c.description, p))
    return _Art(art.id, art.description, comps)


def _load(lines: list[tuple[str, int]], catalog: Catalog, plant: Plant) -> dict[str, float]:
    """Processing minutes per work center (nominal times, no setups)."""
    out = {w.id: 0.0 for w in plant.work_centers}
    for aid, q in lines:
        for c in catalog.article(aid).components:
            for op in c.routing:
                out[op.work_center] += (
                    q * c.qty_per_article * op.minutes_per_piece + op.fixed_minutes
                )
    return out


# -- files ---------------------------------------------------------------------------------

Fmt = Literal["workbook", "csv", "yaml"]


def generate_to_dir(
    out: Path,
    *,
    work_centers: int | None = None,
    machines: int | None = None,
    jobs: int,
    seed: int,
    plant: Path | None = None,
    fmt: Fmt = "workbook",
    bom_depth: int = 0,
    max_fan_in: int = 0,
    shifts: int = 0,
) -> list[Path]:
    """Write a generated plant (with its orders) or only orders for an existing plant.

    Without ``plant``: a full synthetic plant - ``out/plant.xlsx`` (``fmt="workbook"``),
    ``out/csv/*.csv`` (``"csv"``) or ``out/plant.yaml`` (``"yaml"``); ``work_centers``
    defaults to 8 (one per type) and ``machines`` to twice the work centers.
    With ``plant`` (a workbook, CSV folder or YAML file): only a week of orders for it -
    ``out/orders.xlsx`` (or ``orders.csv`` / ``orders.yaml``), with date/times when the plant
    has a ``plan_start``, else minutes. Load it with ``load_instance(plant, orders=...)``.
    ``shifts`` (1-3, new plant only) gives every work center a shift calendar Mon-Fri with
    breaks (:func:`furnsim.calendar.shift_tables`); 0 = 24/7. Returns the written paths.
    """
    from furnsim.io import read_plant, write_csv_dir, write_workbook, write_yaml

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt not in ("workbook", "csv", "yaml"):
        raise ValueError(f"unknown format {fmt!r} (workbook, csv or yaml)")
    if plant is not None:
        data = read_plant(plant)
        orders = generate_orders(data.catalog, data.plant, jobs, seed, data.plan_start)
        rows = {"orders": orders_to_rows(orders, data.plan_start)}
        if fmt == "workbook":
            return [write_workbook(rows, out / "orders.xlsx", help_sheet=False)]
        if fmt == "yaml":
            return [write_yaml(rows, out / "orders.yaml")]
        write_csv_dir(rows, out)
        return [out / "orders.csv"]
    n_wc = work_centers if work_centers is not None else len(TYPES)
    n_m = machines if machines is not None else 2 * n_wc
    tables = generate_plant_tables(
        n_wc, n_m, jobs, seed, bom_depth=bom_depth, max_fan_in=max_fan_in
    )
    if shifts:
        from furnsim.calendar import shift_tables

        extra = shift_tables(shifts)
        tables["calendars"] = extra["calendars"]
        tables["settings"] = [*tables.get("settings", []), *extra["settings"]]
    if fmt == "workbook":
        return [write_workbook(tables, out / "plant.xlsx")]
    if fmt == "yaml":
        return [write_yaml(tables, out / "plant.yaml")]
    return [write_csv_dir(tables, out / "csv")]
