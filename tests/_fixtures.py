"""A small valid plant with orders, as raw tables ``{sheet: [row dicts]}``.

Tests copy it, break one thing, write it with ``furnsim.io.write_workbook`` /
``write_csv_dir`` / ``write_yaml`` and check the error that comes back.

Plant: SAW (2 machines with setup matrix M-SAW over neutral/oak/pine), EDGE, DRILL.
Articles: SHELF (BOARD x4, SIDE x2), TABLE (TOP x1, LEG x4). Three orders.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from furnsim.io import write_csv_dir, write_workbook, write_yaml

Tables = dict[str, list[dict[str, Any]]]

FORMATS = ("xlsx", "csv", "yaml")

# fmt: off
_BASE: Tables = {
    "settings": [
        {"key": "name", "value": "fixture"},
        {"key": "plan_start", "value": "2026-11-23 06:00"},
    ],
    "work_centers": [
        {"work_center": "SAW", "buffer_capacity": 10, "buffer_unit": "m3", "description": "panel saws"},
        {"work_center": "EDGE", "buffer_capacity": 8, "buffer_unit": "m3"},
        {"work_center": "DRILL", "buffer_capacity": None, "buffer_unit": "m3"},
    ],
    "machines": [
        {"machine": "SAW-1", "work_center": "SAW", "setup_matrix": "M-SAW", "initial_setup": "neutral"},
        {"machine": "SAW-2", "work_center": "SAW", "setup_matrix": "M-SAW", "initial_setup": "oak"},
        {"machine": "EDGE-1", "work_center": "EDGE"},
        {"machine": "DRILL-1", "work_center": "DRILL"},
    ],
    "setup_matrices": [
        {"matrix": "M-SAW", "from_setup": "neutral", "neutral": 0, "oak": 10, "pine": 12},
        {"matrix": "M-SAW", "from_setup": "oak", "neutral": 5, "oak": 0, "pine": 8},
        {"matrix": "M-SAW", "from_setup": "pine", "neutral": 5, "oak": 9, "pine": 0},
    ],
    "transport": [
        {"from": "STORE", "SAW": 5, "EDGE": 6, "DRILL": 7},
        {"from": "SAW", "SAW": 0, "EDGE": 3, "DRILL": 4, "FINISHED": 6},
        {"from": "EDGE", "SAW": 3, "EDGE": 0, "DRILL": 2, "FINISHED": 5},
        {"from": "DRILL", "SAW": 4, "EDGE": 2, "DRILL": 0, "FINISHED": 3},
    ],
    "articles": [
        {"article": "SHELF", "description": "wall shelf"},
        {"article": "TABLE", "description": "side table"},
    ],
    "components": [
        {"article": "SHELF", "component": "BOARD", "qty_per_article": 4, "final_volume_per_piece": 0.01},
        {"article": "SHELF", "component": "SIDE", "qty_per_article": 2},
        {"article": "TABLE", "component": "TOP", "qty_per_article": 1},
        {"article": "TABLE", "component": "LEG", "qty_per_article": 4},
    ],
    "operations": [
        {"article": "SHELF", "component": "BOARD", "step": 1, "work_center": "SAW", "setup": "oak",
         "minutes_per_piece": 0.5, "fixed_minutes": 2, "volume_per_piece": 0.02},
        {"article": "SHELF", "component": "BOARD", "step": 2, "work_center": "EDGE",
         "minutes_per_piece": 0.3, "volume_per_piece": 0.02},
        {"article": "SHELF", "component": "BOARD", "step": 3, "work_center": "DRILL",
         "minutes_per_piece": 0.2, "volume_per_piece": 0.02},
        {"article": "SHELF", "component": "SIDE", "step": 1, "work_center": "SAW", "setup": "pine",
         "minutes_per_piece": 0.6, "volume_per_piece": 0.01},
        {"article": "SHELF", "component": "SIDE", "step": 2, "work_center": "DRILL",
         "minutes_per_piece": 0.4, "volume_per_piece": 0.01},
        {"article": "TABLE", "component": "TOP", "step": 1, "work_center": "SAW", "setup": "oak",
         "minutes_per_piece": 2.0, "volume_per_piece": 0.05, "machines": "SAW-1"},
        {"article": "TABLE", "component": "TOP", "step": 2, "work_center": "EDGE",
         "minutes_per_piece": 1.0, "volume_per_piece": 0.05},
        {"article": "TABLE", "component": "LEG", "step": 1, "work_center": "SAW", "setup": "pine",
         "minutes_per_piece": 0.5, "volume_per_piece": 0.01},
        {"article": "TABLE", "component": "LEG", "step": 2, "work_center": "DRILL",
         "minutes_per_piece": 0.3, "volume_per_piece": 0.01},
    ],
    "machine_times": [
        {"article": "SHELF", "component": "BOARD", "step": 1, "machine": "SAW-2", "minutes_per_piece": 0.4},
    ],
    "orders": [
        {"order": "O1", "article": "SHELF", "quantity": 20, "deadline": "2026-11-24 14:00", "priority": 1},
        {"order": "O2", "article": "TABLE", "quantity": 5, "deadline": 600, "release": 60, "priority": 2},
        {"order": "O3", "article": "SHELF", "quantity": 10, "deadline": 2000},
    ],
}
# fmt: on

#: what the base instance holds (check-data --json summary)
BASE_SUMMARY = {
    "work_centers": 3,
    "machines": 4,
    "articles": 2,
    "components": 4,
    "orders": 3,
    "jobs": 6,  # O1, O3: 2 components each; O2: 2
    "operations": 14,  # SHELF 3 + 2 (x2 orders), TABLE 2 + 2
}


def base_tables() -> Tables:
    """A fresh deep copy of the valid base plant (mutate it freely)."""
    return copy.deepcopy(_BASE)


def row_of(tables: Tables, sheet: str, **match: Any) -> dict[str, Any]:
    """The first row of ``sheet`` whose values match ``match``."""
    for r in tables[sheet]:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    raise KeyError(f"no row {match} in {sheet}")


def index_of(tables: Tables, sheet: str, **match: Any) -> int:
    return tables[sheet].index(row_of(tables, sheet, **match))


def write(tables: Tables, fmt: str, folder: Path, stem: str = "plant") -> Path:
    """Write ``tables`` in ``fmt`` (xlsx, csv or yaml) under ``folder``; return the path to read."""
    if fmt == "xlsx":
        return write_workbook(tables, folder / f"{stem}.xlsx")
    if fmt == "csv":
        return write_csv_dir(tables, folder / stem)
    if fmt == "yaml":
        return write_yaml(tables, folder / f"{stem}.yaml")
    raise ValueError(fmt)


def file_of(path: Path, fmt: str, sheet: str) -> str:
    """The file name an issue about ``sheet`` should carry."""
    return str(path / f"{sheet}.csv") if fmt == "csv" else str(path)


def user_row(path: Path, fmt: str, sheet: str, index: int) -> int:
    """The row number the user sees for data row ``index`` (0-based) of ``sheet``.

    Excel and CSV: header is row 1, so data row 0 is row 2. YAML: the line of the file.
    """
    if fmt != "yaml":
        return index + 2
    import yaml

    node = yaml.compose(path.read_text(encoding="utf-8"))
    for k, v in node.value:
        if k.value == sheet:
            return v.value[index].start_mark.line + 1
    raise KeyError(sheet)


def rename_column(path: Path, fmt: str, sheet: str, old: str, new: str) -> None:
    """Rename a header in a written file (the writers only write schema columns)."""
    if fmt == "xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path)
        ws = wb[sheet]
        for c in ws[1]:
            if c.value == old:
                c.value = new
        wb.save(path)
    elif fmt == "csv":
        f = path / f"{sheet}.csv"
        lines = f.read_text(encoding="utf-8").split("\n")
        lines[0] = ",".join(new if h == old else h for h in lines[0].split(","))
        f.write_text("\n".join(lines), encoding="utf-8")
    else:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data[sheet] = [{(new if k == old else k): v for k, v in r.items()} for r in data[sheet]]
        write_yaml(data, path)
