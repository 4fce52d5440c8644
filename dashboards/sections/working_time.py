"""Working time in the dashboard: the loaded plant's calendars, calendar exceptions and machine
downtime, viewed and edited as tables.

An edit is written into a copy of the plant workbook (only the three sheets change) and read
back through :func:`furnsim.io.read_plant`, the project's one builder: the edited plant is
valid, or the page lists the builder's problems with sheet, row and column, exactly as for an
uploaded file, and the plant in use stays as it was.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from furnsim.errors import DataError

__all__ = ["WT_SHEETS", "section_working_time", "with_working_time", "working_time_rows"]

WT_SHEETS: dict[str, list[str]] = {
    "calendars": ["calendar", "days", "start", "end"],
    "calendar_exceptions": ["calendar", "from", "to", "working"],
    "downtime": ["machine", "from", "to", "reason"],
}
_TITLES = {
    "calendars": "Calendars (working windows per weekday; breaks are the gaps)",
    "calendar_exceptions": "Calendar exceptions (holidays: working no · overtime: working yes)",
    "downtime": "Machine downtime (maintenance, known outages)",
}


def _text(v: Any) -> str:
    """A cell as the planner reads and types it."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M}"
    if isinstance(v, time):
        return f"{v:%H:%M}"
    if isinstance(v, date):
        return f"{v:%Y-%m-%d}"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def working_time_rows(name: str, data: bytes) -> dict[str, list[dict[str, str]]]:
    """The three working-time sheets of a plant workbook as rows of text (missing = [])."""
    from furnsim.io._tables import read_tables

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"plant{Path(name).suffix.lower() or '.xlsx'}"
        p.write_bytes(data)
        tables = read_tables(p)
    out: dict[str, list[dict[str, str]]] = {}
    for sheet, cols in WT_SHEETS.items():
        t = tables.get(sheet)
        out[sheet] = (
            [] if t is None else [{c: _text(r.values.get(c)) for c in cols} for r in t.rows]
        )
    return out


# read once per workbook (content-keyed), not on every rerun of the page: reading the sheets
# took 0.2-1.1 s of every script run
_rows_cached = st.cache_data(show_spinner=False, max_entries=8)(working_time_rows)


def with_working_time(data: bytes, tables: dict[str, list[dict[str, Any]]]) -> bytes:
    """``data`` (a plant .xlsx) with the given working-time sheets replaced by ``tables``
    (sheet -> rows; an empty list removes the sheet); every other sheet is kept as it is."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    for sheet, rows in tables.items():
        cols = WT_SHEETS[sheet]
        if sheet in wb.sheetnames:
            del wb[sheet]
        if not rows:
            continue
        ws = wb.create_sheet(sheet)
        ws.append(cols)
        for r in rows:
            ws.append([(None if r.get(c) in (None, "") else str(r.get(c))) for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _editor_rows(df: Any, cols: list[str]) -> list[dict[str, str]]:
    """Rows of an edited table, blank rows dropped (a blank row is not a row in the sheet)."""
    out = []
    for rec in pd.DataFrame(df).to_dict("records"):
        row = {c: _text(None if pd.isna(rec.get(c)) else rec.get(c)) for c in cols}
        if any(row.values()):
            out.append(row)
    return out


def _windows_by_day(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Each calendar's windows per weekday as the compiled calendar reads them."""
    from furnsim.io._calendars import parse_clock, parse_days

    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    table: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        d = parse_days(r["days"])
        a, b = parse_clock(r["start"], False), parse_clock(r["end"], False)
        if isinstance(d, str) or isinstance(a, str) or isinstance(b, str):
            continue
        for i in d:
            table.setdefault(r["calendar"], {x: [] for x in days})[days[i]].append(
                f"{r['start']}–{r['end']}"
            )
    return pd.DataFrame(
        {c: {d: " · ".join(w) or "closed" for d, w in v.items()} for c, v in table.items()}
    )


def section_working_time(
    plant: Any,
    name: str,
    data: bytes | None,
    load: Callable[[str, bytes], Any],
    apply: Callable[[str, bytes], None],
    key: str,
) -> None:
    """View and edit the plant's working time.

    ``plant`` the PlantData in use; ``name``/``data`` its workbook (``None``: not an .xlsx,
    view only); ``load(name, data)`` reads a workbook through the builder (raises
    :class:`DataError`); ``apply(name, data)`` makes the edited workbook the plant in use;
    ``key`` changes with the plant (the editors start from the plant's own rows)."""
    p = plant.plant
    with st.expander("Working time: shifts, holidays, overtime, downtime", expanded=False):
        wcs = pd.DataFrame(
            {
                "work center": [w.id for w in p.work_centers],
                "calendar": [
                    getattr(w, "calendar", None) or p.default_calendar or "24/7"
                    for w in p.work_centers
                ],
                "interruptible": [
                    "yes" if getattr(w, "interruptible", True) else "no" for w in p.work_centers
                ],
            }
        )
        st.dataframe(wcs, hide_index=True, width="stretch", key=f"wt_wcs_{key}")
        if data is None or not name.lower().endswith((".xlsx", ".xlsm")):
            st.caption("Working time is edited in .xlsx plant workbooks.")
            return
        rows = _rows_cached(name, data)
        if rows["calendars"]:
            st.caption("Windows per weekday")
            st.dataframe(_windows_by_day(rows["calendars"]), width="stretch")
        edited: dict[str, list[dict[str, str]]] = {}
        for sheet, cols in WT_SHEETS.items():
            st.markdown(f"**{_TITLES[sheet]}**")
            df = pd.DataFrame(rows[sheet], columns=cols).astype("string")
            out = st.data_editor(
                df,
                num_rows="dynamic",
                hide_index=True,
                width="stretch",
                key=f"wt_{sheet}_{key}",
                column_config={c: st.column_config.TextColumn(c) for c in cols},
            )
            edited[sheet] = _editor_rows(out, cols)
        changed = edited != rows
        if st.button(
            "Apply working time", key=f"wt_apply_{key}", disabled=not changed, type="primary"
        ):
            new = with_working_time(data, edited)
            try:
                load(name, new)
            except DataError as e:
                st.session_state["wt_issues"] = [i.to_dict() for i in e.issues]
            else:
                st.session_state["wt_issues"] = None
                apply(name, new)
                st.rerun()
        bad = st.session_state.get("wt_issues")
        if bad:
            lines = [
                f"- sheet '{i['sheet']}'"
                + (f", row {i['row']}" if i.get("row") else "")
                + (f", column '{i['column']}'" if i.get("column") else "")
                + f": {i['message']}"
                for i in bad[:10]
            ]
            st.error(
                f"The working time was not applied: {len(bad)} problem(s). "
                "The plant in use is unchanged.\n\n" + "\n".join(lines)
            )
        elif changed:
            st.caption("Edited: press **Apply working time** to check and use it, then plan.")
