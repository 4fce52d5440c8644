"""An empty plant workbook to fill in: every sheet with its header, a ``_help`` sheet that
explains each column, and an ``_example`` sheet with one example row per sheet.

Sheets whose name starts with ``_`` are ignored by the reader, so the template can be filled
in and read back as it is. ``bom_data/template.xlsx`` is this function's output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from furnsim.io._schema import SHEETS
from furnsim.io.writers import write_workbook

__all__ = ["EXAMPLE_ROWS", "template_tables", "write_template"]

# Columns of the dynamic sheets that every plant needs.
_DYNAMIC_START: dict[str, list[str]] = {
    "setup_matrices": ["neutral"],
    "transport": ["FINISHED"],
}

#: one example row per sheet (shown in the ``_example`` sheet, and in docs/data-format.md)
EXAMPLE_ROWS: dict[str, dict[str, Any]] = {
    "settings": {"key": "plan_start", "value": "2026-11-23 06:00"},
    "work_centers": {
        "work_center": "SAW",
        "buffer_capacity": 12,
        "buffer_unit": "m3",
        "description": "panel saws",
        "calendar": "2-SHIFT",
        "interruptible": "yes",
    },
    "machines": {
        "machine": "SAW-1",
        "work_center": "SAW",
        "setup_matrix": "M-SAW",
        "initial_setup": "neutral",
    },
    "setup_matrices": {
        "matrix": "M-SAW",
        "from_setup": "neutral",
        "neutral": 0,
        "oak": 10,
        "pine": 12,
    },
    "transport": {"from": "STORE", "SAW": 5, "EDGE": 6, "FINISHED": None},
    "calendars": {"calendar": "2-SHIFT", "days": "Mon-Fri", "start": "06:00", "end": "14:00"},
    "calendar_exceptions": {
        "calendar": "",
        "from": "2026-12-24 00:00",
        "to": "2026-12-27 00:00",
        "working": "no",
    },
    "downtime": {
        "machine": "SAW-1",
        "from": "2026-11-25 06:00",
        "to": "2026-11-25 10:00",
        "reason": "planned maintenance",
    },
    "articles": {"article": "SHELF", "description": "wall shelf 80 cm"},
    "components": {
        "article": "SHELF",
        "component": "BOARD",
        "qty_per_article": 4,
        "final_volume_per_piece": 0.01,
    },
    "operations": {
        "article": "SHELF",
        "component": "BOARD",
        "step": 1,
        "work_center": "SAW",
        "setup": "oak",
        "minutes_per_piece": 0.5,
        "fixed_minutes": 2,
        "volume_per_piece": 0.02,
        "machines": "SAW-1, SAW-2",
    },
    "machine_times": {
        "article": "SHELF",
        "component": "BOARD",
        "step": 1,
        "machine": "SAW-2",
        "minutes_per_piece": 0.4,
    },
    "orders": {
        "order": "4711",
        "article": "SHELF",
        "quantity": 20,
        "deadline": "2026-11-25 14:00",
        "release": 0,
        "priority": 1,
    },
}


def template_tables() -> dict[str, list[dict[str, Any]]]:
    """The template's sheets: no rows; dynamic sheets get the columns every plant needs."""
    return {name: [] for name in SHEETS}


def write_template(path: str | Path) -> Path:
    """Write the empty template workbook to ``path`` (.xlsx) and return the path."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    path = Path(path)
    write_workbook(template_tables(), path, help_sheet=True)
    wb = load_workbook(path)
    bold = Font(bold=True)
    for name, extra in _DYNAMIC_START.items():
        ws = wb[name]
        start = ws.max_column + 1
        for k, col in enumerate(extra):
            cell = ws.cell(1, start + k, col)
            cell.font = bold
    ex = wb.create_sheet("_example")
    ex.append(["One example row per sheet (this sheet is ignored when the workbook is read)."])
    ex["A1"].font = bold
    for name, row in EXAMPLE_ROWS.items():
        ex.append([])
        ex.append([name, *row.keys()])
        for c in ex[ex.max_row]:
            c.font = bold
        ex.append(["", *("" if v is None else v for v in row.values())])
    ex.column_dimensions["A"].width = 16
    wb.save(path)
    return path
