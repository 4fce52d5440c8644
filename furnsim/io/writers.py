"""Write tables (``{sheet: list of row dicts}``) as an Excel workbook, CSV folder or YAML."""

from __future__ import annotations

import csv
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

from furnsim.io._schema import SHEETS

__all__ = ["write_csv_dir", "write_workbook", "write_yaml"]

Tables = dict[str, list[dict[str, Any]]]


def _columns(name: str, rows: list[dict[str, Any]]) -> list[str]:
    cols = list(SHEETS[name].column_names) if name in SHEETS else []
    if name in SHEETS and not SHEETS[name].dynamic:
        return cols
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def _cell(v: Any) -> Any:
    if isinstance(v, float) and math.isinf(v):
        return None
    return v


def write_workbook(tables: Tables, path: str | Path, *, help_sheet: bool = True) -> Path:
    """Write one sheet per table with a bold header, frozen header row and sensible widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        cols = _columns(name, rows)
        ws.append(cols)
        for c in ws[1]:
            c.font = bold
            c.fill = fill
        for r in rows:
            ws.append([_cell(r.get(c)) for c in cols])
        ws.freeze_panes = "A2"
        for i, c in enumerate(cols, start=1):
            width = max([len(str(c))] + [len(str(r.get(c, ""))) for r in rows[:200]]) + 2
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(max(width, 8), 40)
            if name in ("orders",) and c in ("deadline", "release"):
                for row in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    if isinstance(row[0].value, datetime | date):
                        row[0].number_format = "yyyy-mm-dd hh:mm"
    if help_sheet:
        ws = wb.create_sheet("_help")
        ws.append(["sheet", "column", "required", "meaning"])
        for c in ws[1]:
            c.font = bold
        for s in SHEETS.values():
            ws.append([s.name, "", "yes" if s.required else "no", s.help])
            for col in s.columns:
                ws.append([s.name, col.name, "yes" if col.required else "no", col.help])
            if s.dynamic:
                ws.append([s.name, "...", "", s.dynamic])
        ws.column_dimensions["A"].width = 16
        ws.column_dimensions["B"].width = 24
        ws.column_dimensions["D"].width = 100
    wb.save(path)
    return path


def write_csv_dir(tables: Tables, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        cols = _columns(name, rows)
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for r in rows:
                w.writerow(["" if _cell(r.get(c)) is None else _cell(r.get(c)) for c in cols])
    return folder


def write_yaml(tables: Tables, path: str | Path) -> Path:
    import yaml

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {
        n: [{k: _cell(v) for k, v in r.items() if _cell(v) is not None} for r in rows]
        for n, rows in tables.items()
    }
    path.write_text(
        yaml.safe_dump(clean, sort_keys=False, allow_unicode=True, default_flow_style=None)
    )
    return path
