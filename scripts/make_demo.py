"""Build the shipped example data: the demo furniture plant and the paper's worked example.

The demo plant (``bom_data/demo/``) is hand-designed, not random: an 11-work-center case-goods
and solid-wood factory with 23 machines, 16 articles and one week of orders. Processing
times are derived from the real dimensions of each component with the formulas in
``_times`` (documented in ``bom_data/demo/README.md``), so that a door takes longer to
lacquer than a shelf pin strip, and volumes are the parts' own volumes in m³.

The same source data is written three times - ``plant.xlsx`` (primary), ``csv/`` and
``plant.yaml`` - so the three readers can be tested to load identically.

The paper example (``bom_data/paper_example/``) reconstructs the 3-job, 3-machine worked
example of Schneevogt et al. (2024), see its README for which numbers are reconstructed.

Run from the repository root::

    python scripts/make_demo.py            # writes demo, paper example and demo-assembly
    python scripts/make_demo.py --check    # also prints the load and buffer report
    python scripts/make_demo.py --assembly-only   # only bom_data/demo-assembly
"""

from __future__ import annotations

import argparse
import copy
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from furnsim.io import write_csv_dir, write_workbook, write_yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DEMO = ROOT / "furnsim" / "data" / "demo" / "plant.xlsx"
Tables = dict[str, list[dict[str, Any]]]

PLAN_START = datetime(2026, 3, 2, 6, 0)  # a Monday, start of the early shift
WEEK_MINUTES = 5 * 24 * 60  # Mon 06:00 .. Sat 06:00, the horizon the loads are computed over

# --------------------------------------------------------------------------------------
# Floor: work centers, machines
# --------------------------------------------------------------------------------------

# fmt: off
# id, buffer m3, description, floor position (x, y) in metres (for transport times)
WORK_CENTERS: list[tuple[str, float, str, tuple[float, float]]] = [
    ("SAW", 5.0, "panel sizing: two beam saws, buffer = board stacks on the infeed lift tables", (10, 0)),
    ("VENEER", 1.5, "hot press laying real-wood veneer on chipboard cores", (22, 12)),
    ("WOOD", 1.5, "solid-wood shop: four-sided moulders (legs, rails, slats)", (15, 30)),
    ("CNC", 2.0, "CNC routers: two 3-axis nesting/routing, one 5-axis for curved solid parts", (35, 10)),
    ("EDGE", 3.0, "edge banders (one new with quick glue change, one older)", (40, 0)),
    ("DRILL", 2.5, "through-feed boring machines (32 mm system, hinge cups, dowels)", (55, 0)),
    ("SAND", 2.0, "wide-belt sanders", (60, 15)),
    ("LACQ", 3.0, "lacquer: automatic spray line with drying tunnel and a manual booth", (80, 15)),
    ("UPH", 1.5, "upholstery benches (seats, headboards)", (85, 30)),
    ("ASSY", 2.0, "assembly: case clamps and benches for assembled articles", (100, 10)),
    ("PACK", 3.0, "packing: automatic carton line and manual packing table", (115, 0)),
]
# fmt: on
STORE_POS = (0.0, 0.0)  # raw-material store (board stacks, solid-wood lumber)
FINISHED_POS = (130.0, 0.0)  # finished-goods dispatch area

# fmt: off
# machine, work center, setup matrix, description, speed factor (1.0 = the route's time)
MACHINES: list[tuple[str, str, str, str, float]] = [
    ("SAW-1", "SAW", "SAW", "beam saw, 2019, with automatic lift table", 1.0),
    ("SAW-2", "SAW", "SAW", "beam saw, 2006, manual loading", 1.25),
    ("VEN-1", "VENEER", "VENEER", "single-daylight hot press 3.2 x 1.6 m", 1.0),
    ("WOOD-1", "WOOD", "WOOD", "four-sided moulder, 7 spindles", 1.0),
    ("WOOD-2", "WOOD", "WOOD", "four-sided moulder, 5 spindles, older", 1.2),
    ("CNC-1", "CNC", "CNC", "3-axis router, nesting table", 1.0),
    ("CNC-2", "CNC", "CNC", "3-axis router, console table", 1.0),
    ("CNC-3", "CNC", "CNC", "5-axis router (the only one for curved chair legs)", 0.9),
    ("EDGE-1", "EDGE", "EDGE-NEW", "edge bander with glue-pot quick change, 25 m/min", 1.0),
    ("EDGE-2", "EDGE", "EDGE-OLD", "edge bander, older, 18 m/min, slow glue change", 1.3),
    ("DRILL-1", "DRILL", "DRILL", "CNC through-feed boring machine", 1.0),
    ("DRILL-2", "DRILL", "DRILL", "boring machine, manual head changes", 1.2),
    ("SAND-1", "SAND", "SAND", "wide-belt sander, 2 heads", 1.0),
    ("SAND-2", "SAND", "SAND", "wide-belt sander, 1 head", 1.15),
    ("LACQ-1", "LACQ", "LACQ-LINE", "automatic spray line with UV/air drying tunnel", 1.0),
    ("LACQ-2", "LACQ", "LACQ-BOOTH", "manual spray booth with drying racks", 1.6),
    ("UPH-1", "UPH", "UPH", "upholstery bench", 1.0),
    ("UPH-2", "UPH", "UPH", "upholstery bench", 1.0),
    ("ASSY-1", "ASSY", "ASSY", "case clamp (cabinets, dressers)", 1.0),
    ("ASSY-2", "ASSY", "ASSY", "case clamp (cabinets, dressers)", 1.0),
    ("ASSY-3", "ASSY", "ASSY", "assembly bench (chairs, stools, small cases)", 1.1),
    ("PACK-1", "PACK", "PACK", "automatic carton erector and packing line", 1.0),
    ("PACK-2", "PACK", "PACK", "manual packing table", 1.4),
]

# fmt: on

# --------------------------------------------------------------------------------------
# Setups (minutes). Each matrix lists `neutral` (clean machine at plan start) first.
# --------------------------------------------------------------------------------------

# saw: board type = decor + thickness; thickness changes move the pressure beam and scoring blade
SAW_BOARDS = {"W19": 19, "A19": 19, "O19": 19, "W16": 16, "M19": 19, "C25": 25, "P15": 15, "H3": 3}

# edge: (colour darkness 0 light .. 2 dark, thickness mm)
EDGES = {"W-0.4": (0, 0.4), "W-1": (0, 1.0), "O-1": (1, 1.0), "OV-2": (1, 2.0), "A-1": (2, 1.0)}

# lacquer: darkness of the colour; changing dark -> light needs a full flush of lines and guns
LACQUERS = {"CLEAR": 0, "WHITE": 0, "GREY": 1, "WALNUT": 2, "BLACK": 3}

DRILL_SETUPS = ["D-CASE", "D-DRAWER", "D-HINGE", "D-TOP", "D-DOWEL"]
SAND_GRITS = {"G120": 120, "G180": 180, "G240": 240}
CNC_PROGRAMS = ["P-FRONT", "P-TOP", "P-SEAT", "P-LEG", "P-RAIL", "P-HEAD"]
WOOD_PROFILES = {"LEG": "square", "BEAM": "square", "RAIL": "flat", "SLAT": "flat", "TOP": "glued"}
VENEERS = {"OAK-V": 0, "WALNUT-V": 1}
FABRICS = ["FAB-GREY", "FAB-SAND", "FAB-BLUE"]
ASSY_JIGS = ["A-CASE", "A-DRAWER", "A-CHAIR", "A-KITCHEN"]
BOXES = {"BOX-S": 0, "BOX-M": 1, "BOX-L": 2, "BOX-XL": 3}


def _matrix(
    ids: list[str], f: Any, from_neutral: float, to_neutral: float
) -> dict[str, dict[str, float]]:
    allids = ["neutral", *ids]
    out: dict[str, dict[str, float]] = {}
    for a in allids:
        out[a] = {}
        for b in allids:
            if a == b:
                t = 0.0
            elif a == "neutral":
                t = from_neutral
            elif b == "neutral":
                t = to_neutral
            else:
                t = float(f(a, b))
            out[a][b] = t
    return out


def _saw(a: str, b: str) -> float:
    ta, tb = SAW_BOARDS[a], SAW_BOARDS[b]
    if ta == tb:
        return 3  # other decor, same thickness: next stack from the lift table
    if tb == 3:
        return 10  # to thin HDF: book height, scoring blade, lower pressure
    if ta == 3:
        return 12
    return 8


def _edge(a: str, b: str, slow: float = 1.0) -> float:
    (da, ta), (db, tb) = EDGES[a], EDGES[b]
    t = 3.0  # change the edge coil
    if tb > ta:
        t += 10  # thicker edge: trimming and profile scraper units re-set
    elif tb < ta:
        t += 6
    if db < da:
        t += 8 + 6 * (da - db)  # dark -> light: purge the dark glue (hot-melt) from the pot
    elif db > da:
        t += 3
    return round(t * slow)


def _lacq(a: str, b: str, booth: bool = False) -> float:
    da, db = LACQUERS[a], LACQUERS[b]
    if {a, b} == {"CLEAR", "WHITE"}:
        t = 25.0 if a == "WHITE" else 12.0  # white pigment would cloud the clear coat
    elif db < da:
        t = 20 + 15 * (da - db)  # dark -> light: flush pumps, lines, guns; test panel
    else:
        t = 10 + 3 * (db - da)  # light -> dark: a short flush is enough
    return round(t * (0.6 if booth else 1.0))  # a manual gun is quicker to clean than a line


def _drill(a: str, b: str) -> float:
    return 5 if {a, b} == {"D-CASE", "D-DRAWER"} else 9


def _sand(a: str, b: str) -> float:
    return 6 if SAND_GRITS[b] > SAND_GRITS[a] else 9  # back to a coarse belt: also re-set height


def _wood(a: str, b: str) -> float:
    return 15 if WOOD_PROFILES[a] == WOOD_PROFILES[b] else 30  # knife sets and pressure shoes


def _veneer(a: str, b: str) -> float:
    return 20 if VENEERS[a] > VENEERS[b] else 12


def _assy(a: str, b: str) -> float:
    return 12 if "A-CHAIR" in (a, b) else 8


def _pack(a: str, b: str) -> float:
    return 6 if BOXES[b] > BOXES[a] else 4  # carton erector format change


SETUP_MATRICES: dict[str, dict[str, dict[str, float]]] = {
    "SAW": _matrix(list(SAW_BOARDS), _saw, 5, 0),
    "VENEER": _matrix(list(VENEERS), _veneer, 15, 0),
    "WOOD": _matrix(list(WOOD_PROFILES), _wood, 25, 0),
    "CNC": _matrix(CNC_PROGRAMS, lambda a, b: 0, 0, 0),  # virtual: a program switch
    "EDGE-NEW": _matrix(list(EDGES), _edge, 12, 0),
    "EDGE-OLD": _matrix(list(EDGES), lambda a, b: _edge(a, b, 1.5), 20, 0),
    "DRILL": _matrix(DRILL_SETUPS, _drill, 8, 0),
    "SAND": _matrix(list(SAND_GRITS), _sand, 6, 0),
    "LACQ-LINE": _matrix(list(LACQUERS), _lacq, 30, 15),
    "LACQ-BOOTH": _matrix(list(LACQUERS), lambda a, b: _lacq(a, b, booth=True), 15, 8),
    "UPH": _matrix(FABRICS, lambda a, b: 10, 5, 0),
    "ASSY": _matrix(ASSY_JIGS, _assy, 10, 0),
    "PACK": _matrix(list(BOXES), _pack, 5, 0),
}

# --------------------------------------------------------------------------------------
# Catalog. A component: id, qty per article, length x width x thickness (mm), material,
# route kind, options. Times and volumes follow from the dimensions (see _times).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    id: str
    qty: int
    length: float  # mm
    width: float  # mm
    thick: float  # mm
    material: str  # saw board (W19, ...) or solid wood (OAK, BEECH)
    route: str  # case | shelf | back | door | front | drawer | veneer | lacq_top | solid | raw | beam | uph
    edge: str = ""  # edge setup (EDGES) for banded parts
    edges: int = 1  # number of banded edges
    colour: str = ""  # lacquer colour (LACQUERS) or veneer (VENEERS) or fabric
    cnc: str = ""  # CNC program
    machines: str = ""  # restrict a step to machines (CNC only here)
    desc: str = ""

    @property
    def area(self) -> float:  # m2
        return self.length * self.width / 1e6

    @property
    def volume(self) -> float:  # m3 per piece
        return self.length * self.width * self.thick / 1e9


# fmt: off
# article id, description, assembled in the plant?, box size, components
ARTICLES: list[tuple[str, str, bool, str, list[Part]]] = [
    ("WARDROBE-2D", "wardrobe 2 doors 100x200x58, white carcass, oak-decor doors", False, "BOX-XL", [
        Part("SIDE", 2, 2000, 580, 19, "W19", "case", "W-1", 1),
        Part("TOP", 1, 1000, 580, 19, "W19", "case", "W-1", 1),
        Part("BOTTOM", 1, 962, 580, 19, "W19", "case", "W-1", 1),
        Part("SHELF", 2, 960, 540, 19, "W19", "shelf", "W-1", 1),
        Part("BACK", 1, 1990, 990, 3, "H3", "back"),
        Part("DOOR", 2, 1990, 496, 19, "O19", "door", "O-1", 4),
        Part("PLINTH", 1, 962, 80, 19, "W19", "shelf", "W-1", 1),
    ]),
    ("WARDROBE-3D", "wardrobe 3 doors + 2 drawers 150x220x60, white lacquered fronts", False, "BOX-XL", [
        Part("SIDE", 2, 2200, 580, 19, "W19", "case", "W-1", 1),
        Part("MIDDLE", 1, 2100, 560, 19, "W19", "case", "W-1", 1),
        Part("TOP", 1, 1500, 580, 19, "W19", "case", "W-1", 1),
        Part("BOTTOM", 1, 1462, 580, 19, "W19", "case", "W-1", 1),
        Part("SHELF", 2, 960, 540, 19, "W19", "shelf", "W-1", 1),
        Part("SHELF-SMALL", 3, 480, 540, 19, "W19", "shelf", "W-1", 1),
        Part("BACK", 2, 2190, 740, 3, "H3", "back"),
        Part("DOOR", 3, 1980, 496, 19, "M19", "front", colour="WHITE", cnc="P-FRONT"),
        Part("DRAWER-FRONT", 2, 496, 200, 19, "M19", "front", colour="WHITE", cnc="P-FRONT"),
        Part("DRAWER-SIDE", 4, 500, 160, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BACK", 2, 420, 140, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BOTTOM", 2, 480, 430, 3, "H3", "back"),
        Part("PLINTH", 1, 1462, 80, 19, "W19", "shelf", "W-1", 1),
        Part("CORNICE", 1, 1520, 60, 19, "W19", "shelf", "W-1", 2),
    ]),
    ("DESK", "desk 160x80, oak-veneered top, anthracite pedestal with 3 drawers", False, "BOX-L", [
        Part("TOP", 1, 1600, 800, 25, "C25", "veneer", "OV-2", 4, colour="CLEAR"),
        Part("SIDE", 2, 740, 760, 19, "A19", "case", "A-1", 3),
        Part("MODESTY", 1, 1500, 400, 19, "A19", "case", "A-1", 2),
        Part("PED-SIDE", 2, 600, 500, 19, "A19", "case", "A-1", 1),
        Part("PED-TOP", 1, 420, 500, 19, "A19", "case", "A-1", 1),
        Part("DRAWER-FRONT", 3, 420, 190, 19, "A19", "door", "A-1", 4),
        Part("DRAWER-SIDE", 6, 450, 140, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BACK", 3, 350, 120, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BOTTOM", 3, 440, 370, 3, "H3", "back"),
        Part("CABLE-FLAP", 1, 300, 120, 19, "A19", "shelf", "A-1", 4),
    ]),
    ("BOOKSHELF", "bookshelf 80x200x30, white", False, "BOX-L", [
        Part("SIDE", 2, 2000, 300, 19, "W19", "case", "W-1", 1),
        Part("TOP", 1, 800, 300, 19, "W19", "case", "W-1", 1),
        Part("BOTTOM", 1, 762, 300, 19, "W19", "case", "W-1", 1),
        Part("SHELF", 4, 760, 280, 19, "W19", "shelf", "W-1", 1),
        Part("BACK", 1, 1990, 790, 3, "H3", "back"),
        Part("PLINTH", 1, 762, 60, 19, "W19", "shelf", "W-1", 1),
    ]),
    ("CHAIR", "dining chair, solid oak, upholstered seat (assembled)", True, "BOX-M", [
        Part("LEG-FRONT", 2, 450, 45, 45, "OAK", "solid", colour="CLEAR", cnc="P-LEG"),
        Part("LEG-BACK", 2, 900, 60, 45, "OAK", "solid", colour="CLEAR", cnc="P-LEG", machines="CNC-3",
             desc="curved: only the 5-axis router"),
        Part("RAIL-SIDE", 2, 400, 70, 22, "OAK", "solid", colour="CLEAR", cnc="P-RAIL"),
        Part("RAIL-FRONT", 2, 420, 70, 22, "OAK", "solid", colour="CLEAR", cnc="P-RAIL"),
        Part("BACKREST", 1, 420, 120, 22, "OAK", "solid", colour="CLEAR", cnc="P-RAIL", machines="CNC-3"),
        Part("SEAT", 1, 440, 430, 15, "P15", "uph", colour="FAB-GREY", cnc="P-SEAT"),
    ]),
    ("TABLE", "dining table 180x90, oak-veneered top, solid oak legs (flat-pack)", False, "BOX-XL", [
        Part("TOP", 1, 1800, 900, 25, "C25", "veneer", "OV-2", 4, colour="CLEAR"),
        Part("LEG", 4, 730, 70, 70, "OAK", "solid", colour="CLEAR", cnc="P-LEG"),
        Part("APRON-LONG", 2, 1500, 90, 22, "OAK", "solid", colour="CLEAR", cnc="P-RAIL"),
        Part("APRON-SHORT", 2, 700, 90, 22, "OAK", "solid", colour="CLEAR", cnc="P-RAIL"),
        Part("CORNER-BRACKET", 4, 150, 60, 30, "BEECH", "beam"),
    ]),
    ("BED-160", "bed frame 160x200, upholstered headboard, oak-decor rails", False, "BOX-XL", [
        Part("HEADBOARD", 1, 1650, 1000, 15, "P15", "uph", colour="FAB-SAND", cnc="P-HEAD"),
        Part("FOOTBOARD", 1, 1650, 400, 19, "O19", "door", "O-1", 4),
        Part("SIDE-RAIL", 2, 2000, 250, 19, "O19", "case", "O-1", 2),
        Part("CENTER-BEAM", 1, 2000, 70, 45, "BEECH", "beam"),
        Part("SLAT", 28, 800, 65, 20, "BEECH", "raw"),
        Part("LEG", 6, 250, 60, 60, "BEECH", "solid", colour="BLACK", cnc="P-LEG"),
    ]),
    ("DRESSER", "dresser with 6 drawers, white lacquered top and fronts, oak legs (assembled)", True, "BOX-XL", [
        Part("SIDE", 2, 900, 450, 19, "W19", "case", "W-1", 1),
        Part("TOP", 1, 1200, 480, 19, "M19", "lacq_top", colour="WHITE", cnc="P-TOP"),
        Part("BOTTOM", 1, 1162, 450, 19, "W19", "case", "W-1", 1),
        Part("DIVIDER", 1, 860, 430, 19, "W19", "case", "W-1", 1),
        Part("BACK", 1, 1190, 890, 3, "H3", "back"),
        Part("DRAWER-FRONT", 6, 570, 260, 19, "M19", "front", colour="WHITE", cnc="P-FRONT"),
        Part("DRAWER-SIDE", 12, 420, 180, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BACK", 6, 480, 160, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BOTTOM", 6, 500, 410, 3, "H3", "back"),
        Part("PLINTH", 1, 1162, 80, 19, "W19", "shelf", "W-1", 1),
        Part("LEG", 4, 150, 40, 40, "OAK", "solid", colour="CLEAR", cnc="P-LEG"),
    ]),
    ("NIGHTSTAND", "nightstand with 2 drawers, grey lacquered (assembled)", True, "BOX-M", [
        Part("SIDE", 2, 550, 400, 19, "W19", "case", "W-1", 1),
        Part("TOP", 1, 480, 420, 19, "M19", "lacq_top", colour="GREY", cnc="P-TOP"),
        Part("BOTTOM", 1, 442, 400, 19, "W19", "case", "W-1", 1),
        Part("BACK", 1, 540, 470, 3, "H3", "back"),
        Part("DRAWER-FRONT", 2, 460, 220, 19, "M19", "front", colour="GREY", cnc="P-FRONT"),
        Part("DRAWER-SIDE", 4, 360, 150, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BACK", 2, 380, 130, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BOTTOM", 2, 400, 350, 3, "H3", "back"),
        Part("LEG", 4, 200, 35, 35, "OAK", "solid", colour="WALNUT", cnc="P-LEG"),
    ]),
    ("TV-BENCH", "TV bench 180x45x40, oak decor with black lacquered doors", False, "BOX-L", [
        Part("SIDE", 2, 450, 400, 19, "O19", "case", "O-1", 4),
        Part("TOP", 1, 1800, 400, 19, "O19", "case", "O-1", 4),
        Part("BOTTOM", 1, 1762, 400, 19, "O19", "case", "O-1", 1),
        Part("DIVIDER", 2, 392, 380, 19, "O19", "case", "O-1", 1),
        Part("DOOR", 2, 580, 400, 19, "M19", "front", colour="BLACK", cnc="P-FRONT"),
        Part("FLAP", 1, 580, 400, 19, "M19", "front", colour="BLACK", cnc="P-FRONT"),
        Part("SHELF", 2, 570, 360, 19, "O19", "shelf", "O-1", 1),
        Part("BACK", 1, 1790, 440, 3, "H3", "back"),
    ]),
    ("KITCHEN-BASE-60", "kitchen base cabinet 60, white carcass, grey lacquered door (assembled)", True, "BOX-L", [
        Part("SIDE", 2, 720, 560, 19, "W19", "case", "W-1", 1),
        Part("BOTTOM", 1, 562, 560, 19, "W19", "case", "W-1", 1),
        Part("RAIL", 2, 562, 100, 19, "W19", "case", "W-1", 1),
        Part("BACK", 1, 710, 590, 3, "H3", "back"),
        Part("SHELF", 1, 558, 500, 19, "W19", "shelf", "W-1", 1),
        Part("DOOR", 1, 716, 596, 19, "M19", "front", colour="GREY", cnc="P-FRONT"),
        Part("PLINTH-CLIP", 4, 100, 40, 19, "W19", "shelf", "W-1", 1),
    ]),
    ("KITCHEN-WALL-60", "kitchen wall cabinet 60, white carcass, white lacquered doors (assembled)", True, "BOX-M", [
        Part("SIDE", 2, 720, 320, 19, "W19", "case", "W-1", 1),
        Part("TOP", 1, 562, 320, 19, "W19", "case", "W-1", 1),
        Part("BOTTOM", 1, 562, 320, 19, "W19", "case", "W-1", 1),
        Part("BACK", 1, 710, 590, 3, "H3", "back"),
        Part("SHELF", 2, 558, 280, 19, "W19", "shelf", "W-1", 1),
        Part("DOOR", 2, 716, 296, 19, "M19", "front", colour="WHITE", cnc="P-FRONT"),
    ]),
    ("COFFEE-TABLE", "coffee table 110x60, walnut veneer and walnut-stained oak", False, "BOX-M", [
        Part("TOP", 1, 1100, 600, 25, "C25", "veneer", "OV-2", 4, colour="WALNUT"),
        Part("SHELF", 1, 1000, 500, 25, "C25", "veneer", "OV-2", 2, colour="WALNUT"),
        Part("LEG", 4, 420, 50, 50, "OAK", "solid", colour="WALNUT", cnc="P-LEG"),
        Part("APRON", 4, 500, 80, 22, "OAK", "solid", colour="WALNUT", cnc="P-RAIL"),
    ]),
    ("SHOE-CABINET", "shoe cabinet with 2 tilting flaps, white", False, "BOX-M", [
        Part("SIDE", 2, 1000, 240, 19, "W19", "case", "W-1", 1),
        Part("TOP", 1, 800, 250, 19, "W19", "case", "W-1", 3),
        Part("BOTTOM", 1, 762, 240, 19, "W19", "case", "W-1", 1),
        Part("FLAP", 2, 760, 450, 19, "M19", "front", colour="WHITE", cnc="P-FRONT"),
        Part("BACK", 1, 990, 790, 3, "H3", "back"),
        Part("DIVIDER", 1, 762, 220, 19, "W19", "shelf", "W-1", 1),
    ]),
    ("BAR-STOOL", "bar stool, solid oak, round seat (assembled)", True, "BOX-M", [
        Part("SEAT", 1, 380, 380, 30, "OAK", "solid", colour="CLEAR", cnc="P-SEAT", desc="glued-up round seat"),
        Part("LEG", 4, 750, 40, 40, "OAK", "solid", colour="CLEAR", cnc="P-LEG"),
        Part("FOOT-RING", 4, 330, 30, 30, "OAK", "solid", colour="CLEAR", cnc="P-RAIL"),
    ]),
    ("SIDEBOARD", "sideboard 200x85x45, oak veneer top, anthracite carcass, oak legs", False, "BOX-XL", [
        Part("SIDE", 2, 780, 450, 19, "A19", "case", "A-1", 3),
        Part("TOP", 1, 2000, 460, 25, "C25", "veneer", "OV-2", 4, colour="CLEAR"),
        Part("BOTTOM", 1, 1962, 450, 19, "A19", "case", "A-1", 1),
        Part("DIVIDER", 2, 740, 430, 19, "A19", "case", "A-1", 1),
        Part("SHELF", 3, 620, 400, 19, "A19", "shelf", "A-1", 1),
        Part("BACK", 2, 990, 770, 3, "H3", "back"),
        Part("DOOR", 2, 640, 740, 19, "A19", "door", "A-1", 4),
        Part("DRAWER-FRONT", 3, 640, 240, 19, "A19", "door", "A-1", 4),
        Part("DRAWER-SIDE", 6, 400, 180, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BACK", 3, 560, 160, 16, "W16", "drawer", "W-0.4", 1),
        Part("DRAWER-BOTTOM", 3, 580, 390, 3, "H3", "back"),
        Part("PLINTH", 1, 1962, 60, 19, "A19", "shelf", "A-1", 1),
        Part("LEG", 4, 120, 50, 50, "OAK", "solid", colour="CLEAR", cnc="P-LEG"),
        Part("TOP-TRIM", 2, 2000, 30, 10, "OAK", "solid", colour="CLEAR", cnc="P-RAIL"),
        Part("HANDLE-RAIL", 1, 1900, 30, 20, "OAK", "solid", colour="CLEAR", cnc="P-RAIL"),
    ]),
]

# fmt: on
# space a piece takes in the buffer in front of a work center, relative to its own volume:
# stacked panels ~1.15 (pallet, spacers), lacquered parts on drying racks, foam on seats
SPACE = {
    "SAW": 1.15,
    "VENEER": 1.2,
    "WOOD": 1.3,
    "CNC": 1.15,
    "EDGE": 1.15,
    "DRILL": 1.15,
    "SAND": 1.15,
    "LACQ": 2.0,
    "UPH": 2.5,
    "ASSY": 1.2,
    "PACK": 1.3,
}


def _route(p: Part, assembled: bool, box: str) -> list[tuple[str, str, float, float]]:
    """(work center, setup, minutes per piece, fixed minutes per batch) for each step."""
    a, L = p.area, p.length / 1000
    perim = 2 * (p.length + p.width) / 1000
    banded = {1: L, 2: 2 * L, 3: 2 * L + p.width / 1000, 4: perim}[p.edges]
    saw = ("SAW", p.material, 0.30 + 0.45 * a, 5.0)  # book cutting: handling + cut length
    edge = (
        "EDGE",
        p.edge,
        0.30 + banded / 12 + 0.20 * p.edges,
        0.0,
    )  # ~12 m/min net + return per pass
    drill = {
        "case": ("DRILL", "D-CASE", 0.60 + 0.40 * a, 0.0),
        "drawer": ("DRILL", "D-DRAWER", 0.50, 0.0),
        "door": ("DRILL", "D-HINGE", 0.70, 0.0),
        "front": ("DRILL", "D-HINGE", 0.70, 0.0),
        "veneer": ("DRILL", "D-TOP", 0.90, 0.0),
        "beam": ("DRILL", "D-DOWEL", 0.50, 0.0),
    }
    sand_panel = ("SAND", "G240" if p.route == "veneer" else "G180", 0.50 + 1.00 * a, 0.0)
    lacq_panel = ("LACQ", p.colour, 0.50 + 1.4 * a, 15.0)  # conveyor line + rack handling
    wood = (
        "WOOD",
        {"raw": "SLAT", "beam": "BEAM"}.get(p.route, "LEG" if p.thick >= 35 else "RAIL"),
        0.30 + 0.60 * L,
        15.0,
    )  # cross-cut, rip, plane, mould
    assy_t = (
        1.5 if p.route in ("case", "lacq_top", "veneer") else 0.8 if p.route != "drawer" else 1.0
    )
    assy = (
        "ASSY",
        "A-CHAIR"
        if p.material == "OAK" and p.cnc in ("P-LEG", "P-RAIL", "P-SEAT") and box == "BOX-M"
        else "A-DRAWER"
        if p.route == "drawer"
        else "A-CASE",
        assy_t,
        0.0,
    )
    pack = ("PACK", box, 0.25 + 0.35 * a, 0.0)
    r = p.route
    steps: list[tuple[str, str, float, float]]
    if r in ("case", "drawer"):
        steps = [saw, edge, drill[r]]
    elif r == "shelf":
        steps = [saw, edge]
    elif r == "back":
        steps = [("SAW", "H3", 0.15 + 0.10 * a, 5.0)]  # thin HDF is cut in books of 8
    elif r == "door":
        steps = [saw, edge, drill["door"]]
    elif r == "front":  # MDF front: handle groove, sand, lacquer, then hinge cups
        steps = [saw, ("CNC", p.cnc, 1.2 + 2.0 * a, 0.0), sand_panel, lacq_panel, drill["front"]]
    elif r == "lacq_top":
        steps = [saw, ("CNC", p.cnc, 1.0 + 1.5 * a, 0.0), sand_panel, lacq_panel]
    elif (
        r == "veneer"
    ):  # core cut; veneer spliced + pressed; edged, fine-sanded, lacquered, drilled
        steps = [
            saw,
            ("VENEER", "WALNUT-V" if p.colour == "WALNUT" else "OAK-V", 2.0 + 3.5 * a, 10.0),
            edge,
            sand_panel,
            lacq_panel,
            drill["veneer"],
        ]
    elif r == "solid":
        cnc_t = 1.5 + 2.0 * L if p.cnc == "P-LEG" else 0.6 + 1.0 * L + 4.0 * a
        steps = [
            wood,
            ("CNC", p.cnc, cnc_t, 0.0),
            ("SAND", "G120", 0.35 + 0.40 * L + 0.9 * a, 0.0),
            ("LACQ", p.colour, 0.30 + 0.25 * L + 1.4 * a, 15.0),
        ]
    elif r == "raw":
        steps = [wood]
    elif r == "beam":
        steps = [wood, drill["beam"]]
    elif r == "uph":
        steps = [
            saw,
            ("CNC", p.cnc, 1.0 + 1.2 * a, 0.0),
            ("UPH", p.colour, 9.0 + 24.0 * a, 0.0),
        ]  # foam, fabric, staples
    else:
        raise ValueError(f"unknown route kind {r!r}")
    if assembled:
        steps.append(assy)
    steps.append(pack)
    return steps


# --------------------------------------------------------------------------------------
# One week of orders: (order id, article, quantity, deadline "Dd HH:MM" from Monday, release)
# Typical lots: cabinets and wardrobes 20-60, chairs 60-120 (sets of 4/6), kitchen 40-80.
# --------------------------------------------------------------------------------------

DAYS = {"Mon": 0, "Tue": 1, "Wed": 2, "Thu": 3, "Fri": 4, "Sat": 5, "Sun": 6}

# fmt: off
ORDERS: list[tuple[str, str, int, str, str]] = [
    # (id, article, qty, deadline, release)  deadline/release: "Day HH:MM" (week 1) or "+Day HH:MM" (week 2)
    ("SO-1001", "WARDROBE-2D", 22, "Tue 14:00", ""),
    ("SO-1002", "CHAIR", 52, "Wed 06:00", ""),
    ("SO-1003", "DESK", 16, "Tue 06:00", ""),
    ("SO-1004", "BOOKSHELF", 32, "Mon 14:00", ""),
    ("SO-1005", "KITCHEN-BASE-60", 26, "Tue 22:00", ""),
    ("SO-1006", "KITCHEN-WALL-60", 26, "Tue 22:00", ""),
    ("SO-1007", "NIGHTSTAND", 22, "Tue 14:00", ""),
    ("SO-1008", "TV-BENCH", 14, "Wed 06:00", ""),
    ("SO-1009", "TABLE", 14, "Wed 14:00", ""),
    ("SO-1010", "SHOE-CABINET", 28, "Tue 06:00", ""),
    ("SO-1011", "BED-160", 12, "Thu 06:00", ""),
    ("SO-1012", "DRESSER", 14, "Wed 22:00", ""),
    ("SO-1013", "COFFEE-TABLE", 16, "Wed 14:00", ""),
    ("SO-1014", "BAR-STOOL", 28, "Tue 14:00", ""),
    ("SO-1015", "SIDEBOARD", 8, "Thu 06:00", ""),
    ("SO-1016", "WARDROBE-3D", 12, "Thu 14:00", ""),
    ("SO-1017", "BOOKSHELF", 22, "Wed 06:00", ""),
    ("SO-1018", "CHAIR", 40, "Thu 14:00", ""),
    ("SO-1019", "KITCHEN-BASE-60", 22, "Thu 06:00", "Tue 06:00"),
    ("SO-1020", "KITCHEN-WALL-60", 22, "Thu 06:00", "Tue 06:00"),
    ("SO-1021", "WARDROBE-2D", 16, "Thu 14:00", ""),
    ("SO-1022", "DESK", 14, "Thu 22:00", ""),
    ("SO-1023", "NIGHTSTAND", 20, "Fri 06:00", "Tue 14:00"),
    ("SO-1024", "TV-BENCH", 12, "Fri 06:00", ""),
    ("SO-1025", "SHOE-CABINET", 22, "Thu 06:00", ""),
    ("SO-1026", "TABLE", 8, "Fri 14:00", "Wed 06:00"),
    ("SO-1027", "DRESSER", 10, "Fri 14:00", "Tue 06:00"),
    ("SO-1028", "BED-160", 8, "Fri 22:00", "Wed 06:00"),
    ("SO-1029", "CHAIR", 32, "Fri 22:00", "Wed 06:00"),
    ("SO-1030", "COFFEE-TABLE", 14, "Fri 22:00", "Wed 14:00"),
    ("SO-1031", "BOOKSHELF", 28, "Fri 06:00", "Wed 06:00"),
    ("SO-1032", "KITCHEN-BASE-60", 20, "Fri 22:00", "Thu 06:00"),
    ("SO-1033", "KITCHEN-WALL-60", 20, "Fri 22:00", "Thu 06:00"),
    ("SO-1034", "BAR-STOOL", 20, "Fri 14:00", "Wed 14:00"),
    ("SO-1035", "WARDROBE-2D", 14, "+Mon 06:00", "Thu 06:00"),
    ("SO-1036", "SIDEBOARD", 6, "+Mon 06:00", "Thu 06:00"),
    ("SO-1037", "WARDROBE-3D", 6, "+Mon 06:00", "Thu 14:00"),
    ("SO-1038", "DESK", 12, "+Mon 06:00", "Thu 14:00"),
    ("SO-1039", "SHOE-CABINET", 16, "+Mon 06:00", "Fri 06:00"),
    ("SO-1040", "NIGHTSTAND", 16, "+Mon 06:00", "Fri 06:00"),
    ("SO-1041", "TV-BENCH", 8, "+Mon 14:00", "Fri 06:00"),
    ("SO-1042", "DRESSER", 6, "+Mon 22:00", "Fri 14:00"),
    ("SO-1043", "CHAIR", 28, "+Tue 06:00", "Fri 14:00"),
    ("SO-1044", "TABLE", 6, "+Tue 06:00", "Fri 14:00"),
    ("SO-1045", "KITCHEN-BASE-60", 14, "+Mon 06:00", "Fri 06:00"),
    ("SO-1046", "BOOKSHELF", 20, "+Mon 06:00", "Fri 22:00"),
    ("SO-1047", "COFFEE-TABLE", 10, "+Mon 22:00", "Fri 22:00"),
    ("SO-1048", "BED-160", 6, "+Tue 14:00", "Fri 22:00"),
    ("SO-1049", "WARDROBE-2D", 12, "+Tue 14:00", "Fri 22:00"),
    ("SO-1050", "BAR-STOOL", 12, "+Tue 22:00", "Fri 22:00"),
    ("SO-1051", "SIDEBOARD", 6, "+Wed 06:00", "Fri 22:00"),
    ("SO-1052", "KITCHEN-WALL-60", 14, "+Mon 06:00", "Fri 06:00"),
    ("SO-1053", "WARDROBE-3D", 8, "+Tue 22:00", "Sat 06:00"),
    ("SO-1054", "SIDEBOARD", 8, "Fri 14:00", "Tue 14:00"),
    ("SO-1055", "DESK", 8, "Fri 22:00", "Wed 14:00"),
    ("SO-1056", "NIGHTSTAND", 14, "+Mon 06:00", "Thu 14:00"),
    ("SO-1057", "TV-BENCH", 10, "+Mon 22:00", "Fri 14:00"),
    ("SO-1058", "BED-160", 6, "+Mon 06:00", "Thu 22:00"),
    ("SO-1059", "CHAIR", 28, "Thu 22:00", "Tue 06:00"),
    ("SO-1060", "DESK", 12, "+Mon 14:00", "Wed 14:00"),
    ("SO-1061", "WARDROBE-3D", 8, "+Tue 06:00", "Thu 06:00"),
    ("SO-1062", "KITCHEN-BASE-60", 16, "Thu 22:00", "Tue 14:00"),
]
#: the previous demo week (v1): 58 orders sized for 24/7 machine time (bom_data/demo-247)
ORDERS_247: list[tuple[str, str, int, str, str]] = [
    # (id, article, qty, deadline, release)  deadline/release: "Day HH:MM" (week 1) or "+Day HH:MM" (week 2)
    ("SO-1001", "WARDROBE-2D", 40, "Tue 14:00", ""),
    ("SO-1002", "CHAIR", 96, "Wed 06:00", ""),
    ("SO-1003", "DESK", 30, "Tue 06:00", ""),
    ("SO-1004", "BOOKSHELF", 60, "Mon 14:00", ""),
    ("SO-1005", "KITCHEN-BASE-60", 48, "Tue 22:00", ""),
    ("SO-1006", "KITCHEN-WALL-60", 48, "Tue 22:00", ""),
    ("SO-1007", "NIGHTSTAND", 40, "Tue 14:00", ""),
    ("SO-1008", "TV-BENCH", 25, "Wed 06:00", ""),
    ("SO-1009", "TABLE", 24, "Wed 14:00", ""),
    ("SO-1010", "SHOE-CABINET", 50, "Tue 06:00", ""),
    ("SO-1011", "BED-160", 20, "Thu 06:00", ""),
    ("SO-1012", "DRESSER", 24, "Wed 22:00", ""),
    ("SO-1013", "COFFEE-TABLE", 30, "Wed 14:00", ""),
    ("SO-1014", "BAR-STOOL", 48, "Tue 14:00", ""),
    ("SO-1015", "SIDEBOARD", 16, "Thu 06:00", ""),
    ("SO-1016", "WARDROBE-3D", 20, "Thu 14:00", ""),
    ("SO-1017", "BOOKSHELF", 40, "Wed 06:00", ""),
    ("SO-1018", "CHAIR", 72, "Thu 14:00", ""),
    ("SO-1019", "KITCHEN-BASE-60", 40, "Thu 06:00", "Tue 06:00"),
    ("SO-1020", "KITCHEN-WALL-60", 40, "Thu 06:00", "Tue 06:00"),
    ("SO-1021", "WARDROBE-2D", 30, "Thu 14:00", ""),
    ("SO-1022", "DESK", 24, "Thu 22:00", ""),
    ("SO-1023", "NIGHTSTAND", 36, "Fri 06:00", "Tue 14:00"),
    ("SO-1024", "TV-BENCH", 20, "Fri 06:00", ""),
    ("SO-1025", "SHOE-CABINET", 40, "Thu 06:00", ""),
    ("SO-1026", "TABLE", 16, "Fri 14:00", "Wed 06:00"),
    ("SO-1027", "DRESSER", 18, "Fri 14:00", "Tue 06:00"),
    ("SO-1028", "BED-160", 16, "Fri 22:00", "Wed 06:00"),
    ("SO-1029", "CHAIR", 60, "Fri 22:00", "Wed 06:00"),
    ("SO-1030", "COFFEE-TABLE", 24, "Fri 22:00", "Wed 14:00"),
    ("SO-1031", "BOOKSHELF", 50, "Fri 06:00", "Wed 06:00"),
    ("SO-1032", "KITCHEN-BASE-60", 36, "Fri 22:00", "Thu 06:00"),
    ("SO-1033", "KITCHEN-WALL-60", 36, "Fri 22:00", "Thu 06:00"),
    ("SO-1034", "BAR-STOOL", 36, "Fri 14:00", "Wed 14:00"),
    ("SO-1035", "WARDROBE-2D", 24, "+Mon 06:00", "Thu 06:00"),
    ("SO-1036", "SIDEBOARD", 12, "+Mon 06:00", "Thu 06:00"),
    ("SO-1037", "WARDROBE-3D", 12, "+Mon 06:00", "Thu 14:00"),
    ("SO-1038", "DESK", 20, "+Mon 06:00", "Thu 14:00"),
    ("SO-1039", "SHOE-CABINET", 30, "+Mon 06:00", "Fri 06:00"),
    ("SO-1040", "NIGHTSTAND", 30, "+Mon 06:00", "Fri 06:00"),
    ("SO-1041", "TV-BENCH", 16, "+Mon 14:00", "Fri 06:00"),
    ("SO-1042", "DRESSER", 12, "+Mon 22:00", "Fri 14:00"),
    ("SO-1043", "CHAIR", 48, "+Tue 06:00", "Fri 14:00"),
    ("SO-1044", "TABLE", 12, "+Tue 06:00", "Fri 14:00"),
    ("SO-1045", "KITCHEN-BASE-60", 24, "+Mon 06:00", "Fri 06:00"),
    ("SO-1046", "BOOKSHELF", 36, "+Mon 06:00", "Fri 22:00"),
    ("SO-1047", "COFFEE-TABLE", 18, "+Mon 22:00", "Fri 22:00"),
    ("SO-1048", "BED-160", 10, "+Tue 14:00", "Fri 22:00"),
    ("SO-1049", "WARDROBE-2D", 20, "+Tue 14:00", "Fri 22:00"),
    ("SO-1050", "BAR-STOOL", 24, "+Tue 22:00", "Fri 22:00"),
    ("SO-1051", "SIDEBOARD", 10, "+Wed 06:00", "Fri 22:00"),
    ("SO-1052", "KITCHEN-WALL-60", 24, "+Mon 06:00", "Fri 06:00"),
    ("SO-1053", "WARDROBE-3D", 16, "+Tue 22:00", "Sat 06:00"),
    ("SO-1054", "SIDEBOARD", 14, "Fri 14:00", "Tue 14:00"),
    ("SO-1055", "DESK", 16, "Fri 22:00", "Wed 14:00"),
    ("SO-1056", "NIGHTSTAND", 24, "+Mon 06:00", "Thu 14:00"),
    ("SO-1057", "TV-BENCH", 18, "+Mon 22:00", "Fri 14:00"),
    ("SO-1058", "BED-160", 12, "+Mon 06:00", "Thu 22:00"),
]
# fmt: on
PRIORITY = {"SO-1002": 2.0, "SO-1005": 2.0, "SO-1006": 2.0, "SO-1015": 1.5, "SO-1036": 1.5}


def _when(s: str) -> datetime | None:
    if not s:
        return None
    week = 7 if s.startswith("+") else 0
    day, hhmm = s.lstrip("+").split()
    h, m = map(int, hhmm.split(":"))
    monday = PLAN_START.replace(hour=0, minute=0)
    return monday + timedelta(days=DAYS[day] + week, hours=h, minutes=m)


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def _transport_minutes(a: tuple[float, float], b: tuple[float, float], backward: bool) -> float:
    """Forklift: 2 min load/unload + 1 min per 15 m (aisles, Manhattan) + 2 min against the one-way loop."""
    d = abs(a[0] - b[0]) + abs(a[1] - b[1])
    return float(min(15, max(2, round(2 + d / 15 + (2 if backward else 0)))))


def demo_tables(
    bom_depth: int = 0, orders: list[tuple[str, str, int, str, str]] | None = None
) -> Tables:
    """All sheets of the demo plant (24/7, flat articles), including the week's orders.

    ``bom_depth`` > 0: the same plant and week with bills of materials
    (:func:`_assembly_tables`): parts meet as kits, drawers and upholstered seats are
    sub-assemblies (``bom_data/demo-assembly``). ``orders``: the week (default
    :data:`ORDERS`; :data:`ORDERS_247` is the previous 24/7 week).
    """
    if bom_depth > 0:
        return _assembly_tables(demo_tables(orders=orders), bom_depth)
    settings: list[dict[str, Any]] = [
        {"key": "name", "value": "Demo furniture plant (case goods + solid wood)"},
        {"key": "plan_start", "value": PLAN_START},
    ]
    wcs = [
        {"work_center": w, "buffer_capacity": cap, "buffer_unit": "m3", "description": d}
        for w, cap, d, _ in WORK_CENTERS
    ]
    machines = [
        {
            "machine": m,
            "work_center": w,
            "setup_matrix": mat,
            "initial_setup": "neutral",
            "description": d + (f" (x{f:g} time per piece)" if f != 1 else ""),
        }
        for m, w, mat, d, f in MACHINES
    ]
    setups: list[dict[str, Any]] = []
    for name, mat in SETUP_MATRICES.items():
        for frm, times in mat.items():
            setups.append({"matrix": name, "from_setup": frm, **times})
    pos = {w: p for w, _, _, p in WORK_CENTERS}
    order_x = [w for w, *_ in WORK_CENTERS]
    transport: list[dict[str, Any]] = []
    for a in ["STORE", *order_x]:
        row: dict[str, Any] = {"from": a}
        pa = STORE_POS if a == "STORE" else pos[a]
        for b in [*order_x, "FINISHED"]:
            if a == b:
                row[b] = 0.0
                continue
            pb = FINISHED_POS if b == "FINISHED" else pos[b]
            back = a != "STORE" and b != "FINISHED" and order_x.index(b) < order_x.index(a)
            row[b] = _transport_minutes(pa, pb, back)
        transport.append(row)
    articles: list[dict[str, Any]] = []
    comps: list[dict[str, Any]] = []
    ops: list[dict[str, Any]] = []
    mtimes: list[dict[str, Any]] = []
    speed = {m: f for m, _, _, _, f in MACHINES}
    wc_machines = {w: [m for m, mw, *_ in MACHINES if mw == w] for w, *_ in WORK_CENTERS}
    for art, desc, assembled, box, parts in ARTICLES:
        articles.append({"article": art, "description": desc})
        for p in parts:
            route = _route(p, assembled, box)
            space_last = SPACE["PACK"] * p.volume
            comps.append(
                {
                    "article": art,
                    "component": p.id,
                    "qty_per_article": p.qty,
                    "final_volume_per_piece": round(space_last, 6),
                    "description": p.desc
                    or f"{p.length:g}x{p.width:g}x{p.thick:g} mm {p.material}",
                }
            )
            for step, (wc, setup, d, fixed) in enumerate(route, start=1):
                restrict = p.machines if wc == "CNC" and p.machines else ""
                ops.append(
                    {
                        "article": art,
                        "component": p.id,
                        "step": step,
                        "work_center": wc,
                        "setup": setup,
                        "minutes_per_piece": round(d, 3),
                        "fixed_minutes": fixed,
                        "volume_per_piece": round(SPACE[wc] * p.volume, 6),
                        "machines": restrict or None,
                    }
                )
                for m in wc_machines[wc]:
                    if speed[m] != 1.0 and (not restrict or m in restrict.split(",")):
                        mtimes.append(
                            {
                                "article": art,
                                "component": p.id,
                                "step": step,
                                "machine": m,
                                "minutes_per_piece": round(d * speed[m], 3),
                            }
                        )
    orders_rows: list[dict[str, Any]] = []
    for oid, art, qty, dl, rel in ORDERS if orders is None else orders:
        orders_rows.append(
            {
                "order": oid,
                "article": art,
                "quantity": qty,
                "deadline": _when(dl),
                "release": _when(rel),
                "priority": PRIORITY.get(oid, 1.0),
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
        "orders": orders_rows,
    }


def _assembly_tables(flat: Tables, depth: int) -> Tables:
    """The demo with bill-of-materials trees, from :mod:`furnsim.furniture` (shared with the
    generator): each article's parts lose their ASSY/PACK steps to a root (``ASSEMBLY`` at ASSY
    then PACK for assembled articles, ``KIT`` at PACK for flat-pack ones) whose time per article
    is the sum of those steps; drawers (front, sides, back, bottom) and upholstered seats and
    headboards become sub-assemblies. The kit buffers (ASSY, PACK, UPH) become marshalling
    areas that hold the largest order's kit with a margin and a share of the week's kits."""
    from furnsim.furniture import KitPart, assembly_tree, kit_space

    t = {k: [dict(r) for r in v] for k, v in flat.items()}
    speed = {m: f for m, _, _, _, f in MACHINES}
    wc_machines = {w: [m for m, mw, *_ in MACHINES if mw == w] for w, *_ in WORK_CENTERS}
    ops_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for o in t["operations"]:
        ops_of.setdefault((o["article"], o["component"]), []).append(o)
    comps: list[dict[str, Any]] = []
    ops: list[dict[str, Any]] = []
    mtimes = [m for m in t["machine_times"]]
    for art, _desc, assembled, box, parts in ARTICLES:
        kit_parts: list[KitPart] = []
        jig = "A-CASE"
        own: dict[str, list[dict[str, Any]]] = {}
        for p in parts:
            route = list(ops_of[(art, p.id)])
            assy = pack = 0.0
            while route and route[-1]["work_center"] in ("ASSY", "PACK"):
                o = route.pop()
                if o["work_center"] == "ASSY":
                    assy = o["minutes_per_piece"]
                    jig = o["setup"] if o["setup"] != "A-DRAWER" else jig
                else:
                    pack = o["minutes_per_piece"]
            uph = None
            if depth >= 2 and route and route[-1]["work_center"] == "UPH":
                o = route.pop()
                uph = ("UPH", o["setup"], o["minutes_per_piece"], o["fixed_minutes"])
            own[p.id] = route
            kit_parts.append(KitPart(p.id, p.qty, p.volume, assy, pack, uph))
        parent, nodes = assembly_tree(kit_parts, assembled=assembled, box=box, jig=jig, depth=depth)
        first = {n.id: n.steps[0][0] for n in nodes}
        for n in nodes:
            fv = n.volume * kit_space(first[n.parent]) if n.parent else 0.0
            comps.append(
                {
                    "article": art,
                    "component": n.id,
                    "qty_per_article": n.qty,
                    "final_volume_per_piece": round(fv, 6),
                    "parent": n.parent or None,
                    "description": n.description,
                }
            )
            for step, (wc, setup, d, fixed) in enumerate(n.steps, start=1):
                ops.append(
                    {
                        "article": art,
                        "component": n.id,
                        "step": step,
                        "work_center": wc,
                        "setup": setup,
                        "minutes_per_piece": round(d, 3),
                        "fixed_minutes": fixed,
                        "volume_per_piece": 0.0 if step == 1 else round(SPACE[wc] * n.volume, 6),
                        "machines": None,
                    }
                )
                for m in wc_machines[wc]:
                    if speed[m] != 1.0:
                        mtimes.append(
                            {
                                "article": art,
                                "component": n.id,
                                "step": step,
                                "machine": m,
                                "minutes_per_piece": round(d * speed[m], 3),
                            }
                        )
        for p in parts:
            row = next(c for c in t["components"] if c["article"] == art and c["component"] == p.id)
            par = parent.get(p.id, "")
            row["parent"] = par or None
            row["final_volume_per_piece"] = round(p.volume * kit_space(first[par]), 6)
            comps.append(row)
            ops.extend(own[p.id])
    kept = {(o["article"], o["component"], o["step"]) for o in ops}
    mtimes = [m for m in mtimes if (m["article"], m["component"], m["step"]) in kept]
    t["components"], t["operations"], t["machine_times"] = comps, ops, mtimes
    # kit buffers: the largest order's kit with a margin, and a third of the week's kits
    qty = {}
    for o in t["orders"]:
        qty.setdefault(o["article"], []).append(o["quantity"])
    first_wc = {(o["article"], o["component"]): o["work_center"] for o in ops if o["step"] == 1}
    largest: dict[str, float] = {}
    week: dict[str, float] = {}
    for c in comps:
        if not c.get("parent"):
            continue
        w = first_wc[(c["article"], c["parent"])]
        for q in qty.get(c["article"], []):
            v = q * c["qty_per_article"] * c["final_volume_per_piece"]
            week[w] = week.get(w, 0.0) + v
    kit_of: dict[tuple[str, str], float] = {}
    for c in comps:
        if c.get("parent"):
            k = (c["article"], c["parent"])
            kit_of[k] = kit_of.get(k, 0.0) + c["qty_per_article"] * c["final_volume_per_piece"]
    for (a, par), v in kit_of.items():
        w = first_wc[(a, par)]
        largest[w] = max(largest.get(w, 0.0), v * max(qty.get(a, [0])))
    for row in t["work_centers"]:
        w = row["work_center"]
        if w in largest:
            need = max(1.25 * largest[w], KIT_AREA_SHARE * week[w], row["buffer_capacity"])
            row["buffer_capacity"] = float(-(-need // 1))  # whole m3
            row["description"] += " + kit marshalling area"
    t["settings"][0]["value"] = "Demo furniture plant with assemblies (kits, drawers, seats)"
    return t


#: kit buffers of the assembly demo hold at least this share of the week's kits there
KIT_AREA_SHARE = 0.6


# --------------------------------------------------------------------------------------
# The paper's worked example (Schneevogt et al. 2024), reconstructed - see its README
# --------------------------------------------------------------------------------------


def paper_tables() -> Tables:
    """Three jobs, three machines M1-M3 (each its own work center), buffers 60/43/30 m³."""
    setup: dict[
        str, list[list[float]]
    ] = {  # rows: from, columns: to (neutral, s1, s2, s3); asymmetric
        "M1": [
            [0, 5, 3, 4],
            [2, 0, 6, 3],
            [2, 5, 0, 7],
            [2, 4, 8, 0],
        ],  # neutral->s3 = 4, s3->s1 = 4
        "M2": [[0, 3, 6, 5], [2, 0, 4, 9], [2, 7, 0, 3], [2, 5, 2, 0]],
        "M3": [[0, 6, 2, 3], [3, 0, 5, 4], [3, 8, 0, 6], [3, 2, 7, 0]],
    }
    ids = ["neutral", "s1", "s2", "s3"]
    transport: dict[
        str, list[float | None]
    ] = {  # from -> to (M1, M2, M3, FINISHED); STORE -> M1 = 0
        "STORE": [0, 3, 5, None],
        "M1": [0, 4, 6, 5],
        "M2": [5, 0, 3, 4],
        "M3": [7, 2, 0, 2],
    }
    # job: (batch size, deadline, [(machine, setup, minutes per piece, volume per piece)])
    jobs: dict[str, tuple[int, float, list[tuple[str, str, float, float]]]] = {
        "J1": (
            400,
            140,
            [("M1", "s1", 0.05, 0.07), ("M2", "s1", 0.06, 0.07), ("M3", "s1", 0.04, 0.07)],
        ),
        "J2": (
            100,
            90,
            [("M2", "s2", 0.15, 0.25), ("M1", "s2", 0.20, 0.25), ("M3", "s2", 0.12, 0.20)],
        ),
        "J3": (
            400,
            120,
            [("M1", "s3", 0.0625, 0.075), ("M3", "s3", 0.05, 0.075), ("M2", "s3", 0.045, 0.07)],
        ),
    }
    caps = {"M1": 60.0, "M2": 43.0, "M3": 30.0}
    tables: Tables = {
        "settings": [
            {"key": "name", "value": "Schneevogt et al. 2024 worked example (reconstructed)"},
            {"key": "plan_start", "value": PLAN_START},
        ],
        "work_centers": [
            {
                "work_center": m,
                "buffer_capacity": c,
                "buffer_unit": "m3",
                "description": f"machine {m} as its own work center",
            }
            for m, c in caps.items()
        ],
        "machines": [
            {"machine": m, "work_center": m, "setup_matrix": m, "initial_setup": "neutral"}
            for m in caps
        ],
        "setup_matrices": [
            {"matrix": m, "from_setup": ids[i], **dict(zip(ids, row, strict=True))}
            for m, mat in setup.items()
            for i, row in enumerate(mat)
        ],
        "transport": [
            {
                "from": a,
                **{
                    b: t
                    for b, t in zip(["M1", "M2", "M3", "FINISHED"], row, strict=True)
                    if t is not None
                },
            }
            for a, row in transport.items()
        ],
        "articles": [],
        "components": [],
        "operations": [],
        "orders": [],
    }
    for k, (job, (qty, deadline, route)) in enumerate(jobs.items(), start=1):
        art = f"A{k}"
        tables["articles"].append({"article": art, "description": f"product of job {job}"})
        tables["components"].append(
            {
                "article": art,
                "component": job,
                "qty_per_article": 1,
                "final_volume_per_piece": route[-1][3],
            }
        )
        for step, (m, s, d, v) in enumerate(route, start=1):
            tables["operations"].append(
                {
                    "article": art,
                    "component": job,
                    "step": step,
                    "work_center": m,
                    "setup": s,
                    "minutes_per_piece": d,
                    "fixed_minutes": 0,
                    "volume_per_piece": v,
                }
            )
        tables["orders"].append(
            {"order": f"O{k}", "article": art, "quantity": qty, "deadline": deadline}
        )
    return tables


# --------------------------------------------------------------------------------------


def report(tables: Tables) -> dict[str, float]:
    """Print the load of each work center over the week and the batch volumes against its buffer.

    Load = Σ δ·d + fixed over all operations at the work center (setups not included), divided
    by the week's machine minutes (5 x 24 h) times the effective number of machines (a machine
    with speed factor f counts as 1/f). Returns the utilisation in % per work center.
    """
    comps = {(c["article"], c["component"]): c for c in tables["components"]}
    qty_of: dict[str, list[float]] = {}
    for o in tables["orders"]:
        qty_of.setdefault(o["article"], []).append(o["quantity"])
    caps = {w["work_center"]: w["buffer_capacity"] for w in tables["work_centers"]}
    speed = {m: f for m, _, _, _, f in MACHINES}
    eff: dict[str, float] = dict.fromkeys(caps, 0.0)
    n_mach: dict[str, int] = dict.fromkeys(caps, 0)
    for m in tables["machines"]:
        eff[m["work_center"]] += 1.0 / speed.get(m["machine"], 1.0)
        n_mach[m["work_center"]] += 1
    load: dict[str, float] = dict.fromkeys(caps, 0.0)
    vmax: dict[str, float] = dict.fromkeys(caps, 0.0)
    vsum: dict[str, list[float]] = {w: [] for w in caps}
    for op in tables["operations"]:
        c = comps[(op["article"], op["component"])]
        w = op["work_center"]
        for q in qty_of.get(op["article"], []):
            delta = q * c["qty_per_article"]
            load[w] += delta * op["minutes_per_piece"] + op["fixed_minutes"]
            v = delta * op["volume_per_piece"]
            vmax[w] = max(vmax[w], v)
            vsum[w].append(v)
    jobs = sum(sum(1 for c in comps if c[0] == o["article"]) for o in tables["orders"])
    print(
        f"orders {len(tables['orders'])}, jobs {jobs}, operations {sum(len(v) for v in vsum.values())}"
    )
    print(
        f"{'wc':8} {'mach':>4} {'load min':>9} {'util %':>7} {'buffer m3':>9} {'max batch':>9} {'mean':>6}"
    )
    util = {}
    for w in caps:
        util[w] = 100 * load[w] / (eff[w] * WEEK_MINUTES)
        mean = sum(vsum[w]) / max(1, len(vsum[w]))
        print(
            f"{w:8} {n_mach[w]:4d} {load[w]:9.0f} {util[w]:7.1f} {caps[w]:9.1f} {vmax[w]:9.2f} {mean:6.2f}"
        )
        assert vmax[w] <= caps[w], f"a batch does not fit the buffer of {w}"
    return util


def shift_tables(demo: Tables) -> Tables:
    """The demo week with working time (``bom_data/demo_shifts``): two shifts Mon-Fri with
    breaks for most work centers (settings calendar), three shifts on the lacquer line, a
    non-interruptible veneer press, a holiday on Friday with an overtime Saturday morning, and
    a maintenance window on CNC-1 (docs/semantics.md, "Working time")."""
    t = copy.deepcopy(demo)
    two = [
        ("Mon-Fri", "06:00", "10:00"),
        ("Mon-Fri", "10:15", "18:00"),
        ("Mon-Fri", "18:15", "22:00"),
    ]
    three = [*two, ("Sun-Thu", "22:00", "02:00"), ("Mon-Fri", "02:15", "06:00")]
    t["calendars"] = [
        {"calendar": c, "days": d, "start": a, "end": b}
        for c, rows in (("2-SHIFT", two), ("3-SHIFT", three))
        for d, a, b in rows
    ]
    t["calendar_exceptions"] = [
        {"calendar": None, "from": "2026-03-06 00:00", "to": "2026-03-07 00:00", "working": "no"},
        {
            "calendar": "2-SHIFT",
            "from": "2026-03-07 06:00",
            "to": "2026-03-07 14:00",
            "working": "yes",
        },
    ]
    t["downtime"] = [
        {
            "machine": "CNC-1",
            "from": "2026-03-04 06:00",
            "to": "2026-03-04 10:00",
            "reason": "planned maintenance",
        },
    ]
    t["settings"] = [*t["settings"], {"key": "calendar", "value": "2-SHIFT"}]
    for w in t["work_centers"]:
        if w["work_center"] == "LACQ":
            w["calendar"] = "3-SHIFT"
        if w["work_center"] == "VENEER":
            w["interruptible"] = "no"
    return t


def plant_tables() -> Tables:
    """The demo plant as shipped (``bom_data/demo``): the week's articles as bill-of-materials
    trees (:func:`demo_tables` with ``bom_depth=2``) in the plant's working time
    (:func:`shift_tables`)."""
    t = shift_tables(demo_tables(bom_depth=2))
    t["settings"][0]["value"] = (
        "Demo furniture plant: two shifts (three on the lacquer line), assemblies and kits"
    )
    return t


def without_calendars(tables: Tables) -> Tables:
    """The same plant and week in 24/7 machine time (no calendars, exceptions or downtime)."""
    t = copy.deepcopy(tables)
    for k in ("calendars", "calendar_exceptions", "downtime"):
        t.pop(k, None)
    t["settings"] = [s for s in t["settings"] if s["key"] != "calendar"]
    for w in t["work_centers"]:
        w.pop("calendar", None)
        w.pop("interruptible", None)
    return t


def write_all(
    tables: Tables, folder: Path, *, csv_dir: bool, yaml_name: str = "plant.yaml"
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_workbook(tables, folder / "plant.xlsx")
    write_yaml(tables, folder / yaml_name)
    if csv_dir:
        if (folder / "csv").exists():
            shutil.rmtree(folder / "csv")
        write_csv_dir(tables, folder / "csv")


#: folder -> (what it is, builder, write a csv/ folder too); ``demo`` is the shipped plant
VARIANTS: dict[str, tuple[str, Any, bool]] = {
    "demo": ("two shifts + assemblies (the shipped plant)", plant_tables, True),
    "demo-assembly": ("the same week, assemblies, 24/7", lambda: demo_tables(bom_depth=2), True),
    "demo_shifts": (
        "the same week, flat articles, two shifts",
        lambda: shift_tables(demo_tables()),
        False,
    ),
    "demo-247": (
        "the previous 24/7 flat week (58 orders)",
        lambda: demo_tables(orders=ORDERS_247),
        True,
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bom_data",
        help="folder that receives demo/, its variants and paper_example/",
    )
    ap.add_argument("--check", action="store_true", help="print the load and buffer report")
    args = ap.parse_args()
    done = []
    for name, (_what, build, csv_dir) in VARIANTS.items():
        t = build()
        write_all(t, args.out / name, csv_dir=csv_dir)
        done.append(args.out / name)
        if args.check:
            print(f"--- {name}")
            report(t)
    write_all(paper_tables(), args.out / "paper_example", csv_dir=False)
    done.append(args.out / "paper_example")
    if args.out == ROOT / "bom_data":  # the package's copy of the demo plant (training weeks)
        shutil.copyfile(args.out / "demo" / "plant.xlsx", PACKAGE_DEMO)
        done.append(PACKAGE_DEMO)
    print("wrote " + ", ".join(str(p) for p in done))


if __name__ == "__main__":
    main()
