"""A plan as an Excel workbook for the shop floor (openpyxl, write-only mode).

Sheets:

* **Gantt** — one row per machine (plant order, from row ``GANTT_FIRST_ROW``), one column per
  time slot of ``slot_minutes`` (slot ``k`` = column ``GANTT_FIRST_COL + k`` covers
  ``[plan_start + k·slot, plan_start + (k+1)·slot)``). A slot shows what occupies the
  machine longest in it: processing (filled in the order's colour; the order id in the
  first slot of the bar), a setup (grey, ``S``) or blocked time (dark red, ``B``). Row 1 has
  the day, row 2 the time; panes are frozen at the first slot; a legend of all orders
  follows below; printed landscape on A3, one day per page across (column breaks at
  midnight), machine names and the time header repeated on every page.
  Operations much shorter than a slot may be hidden behind longer neighbours — the
  *Dispatch lists* and *Schedule* sheets have every operation to the minute.
* **Schedule** — one row per operation with real datetimes (setup, start, end, leave,
  depart, arrive) and minutes.
* **Dispatch lists** — one block per machine in run order, a page break between blocks.
* **KPIs** — the plan's method, goal, validity and every KPI; per-machine figures.
* **Buffers** — peak level per slot for each work center against its capacity, with a
  native line chart per work center.
* **Orders** — every order with its colour, deadline, completion and lateness.

Style objects are created once and shared, cells are streamed (write-only), so a 500-job
week (about 3,000 operations) is written in about a second (see ``docs/dashboard.md``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from furnsim.viz import (
    BLOCKED_COLOR,
    format_minutes,
    op_table,
    order_colors,
    order_status,
    resolve_plan_start,
    text_color,
)

__all__ = ["GANTT_FIRST_COL", "GANTT_FIRST_ROW", "write_schedule_excel"]

GANTT_FIRST_ROW = 3  # first machine row of the Gantt sheet (rows 1-2: day and time headers)
GANTT_FIRST_COL = 3  # first slot column (A: machine, B: work center)
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
SETUP_FILL_HEX = "BDBDBD"
_KIND_PROC, _KIND_SETUP, _KIND_BLOCKED = 1, 2, 3

_KPI_LABELS: list[tuple[str, str, str]] = [
    ("makespan", "Makespan", "min"),
    ("total_tardiness", "Total tardiness", "min"),
    ("max_tardiness", "Max tardiness", "min"),
    ("weighted_tardiness", "Weighted tardiness", "min"),
    ("late_orders", "Late orders", ""),
    ("on_time_rate", "On-time rate", "share"),
    ("mean_flow_time", "Mean flow time", "min"),
    ("total_setup_time", "Total setup time", "min"),
    ("setup_count", "Setups", ""),
    ("processing_time", "Processing time", "min"),
    ("utilization_mean", "Mean utilization", "share"),
    ("mean_utilization", "Mean utilization", "share"),
    ("idle_time", "Idle time", "machine·min"),
    ("blocked_time", "Blocked time", "machine·min"),
    ("buffer_load", "Buffer load", "full-buffer·min"),
    ("buffer_volume_minutes", "Buffer volume·minutes", "unit·min"),
    ("peak_buffer_fill", "Peak buffer fill", "share"),
    ("overflow_peak", "Overflow peak", "unit"),
    ("overflow_volume_minutes", "Overflow volume·minutes", "unit·min"),
    ("overflow_load", "Overflow load", ""),
    ("complete", "Complete", ""),
    ("unfinished_jobs", "Unfinished jobs", ""),
]


class _Styles:
    """Every style object once (openpyxl dedups them, but creating them per cell is slow)."""

    def __init__(self) -> None:
        self.bold = Font(bold=True)
        self.title = Font(bold=True, size=13)
        self.small = Font(size=8)
        self.white_small = Font(size=8, color="FFFFFF", bold=True)
        self.black_small = Font(size=8, color="000000", bold=True)
        self.header_fill = PatternFill("solid", fgColor="DDE3EA")
        self.day_fill = PatternFill("solid", fgColor="C5CFDA")
        self.setup_fill = PatternFill("solid", fgColor=SETUP_FILL_HEX)
        self.blocked_fill = PatternFill("solid", fgColor=BLOCKED_COLOR.lstrip("#"))
        self.center = Alignment(horizontal="center", vertical="center")
        self.left = Alignment(horizontal="left", vertical="center")
        thin = Side(style="thin", color="9E9E9E")
        self.day_border = Border(left=Side(style="medium", color="424242"))
        self.cell_border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self._fills: dict[str, PatternFill] = {}
        self._fonts: dict[str, Font] = {}

    def fill(self, hex_color: str) -> PatternFill:
        h = hex_color.lstrip("#").upper()
        f = self._fills.get(h)
        if f is None:
            f = self._fills[h] = PatternFill("solid", fgColor=h)
        return f

    def font_on(self, hex_color: str) -> Font:
        h = hex_color.lstrip("#").upper()
        f = self._fonts.get(h)
        if f is None:
            f = self._fonts[h] = (
                self.white_small if text_color("#" + h) == "#FFFFFF" else self.black_small
            )
        return f


def _cell(
    ws: Any,
    value: Any,
    *,
    font: Any = None,
    fill: Any = None,
    fmt: str | None = None,
    align: Any = None,
    border: Any = None,
) -> WriteOnlyCell:
    c = WriteOnlyCell(ws, value=value)
    if font is not None:
        c.font = font
    if fill is not None:
        c.fill = fill
    if fmt is not None:
        c.number_format = fmt
    if align is not None:
        c.alignment = align
    if border is not None:
        c.border = border
    return c


def _dt(ps: datetime, minutes: float) -> datetime | None:
    """Minutes after plan start as a datetime rounded to the minute (what the floor reads)."""
    if minutes is None or not math.isfinite(minutes):
        return None
    return ps + timedelta(minutes=round(minutes))


def _col_mm(width_chars: float) -> float:
    """Printed width of a column of ``width_chars`` (Calibri 11: about 7 px a char + 5 px)."""
    return (width_chars * 7 + 5) * 25.4 / 96


def _num(x: Any, nd: int = 2) -> Any:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return x
    if not math.isfinite(v):
        return None
    return round(v, nd)


# ---------------------------------------------------------------------------------------
def write_schedule_excel(
    result_or_schedule: Any,
    instance: Any,
    path_or_buffer: str | Path | IO[bytes],
    *,
    plan_start: datetime | None = None,
    slot_minutes: float = 30,
) -> str | Path | IO[bytes]:
    """Write the plan (a ``PlanResult`` or a ``Schedule``) of ``instance`` as an xlsx workbook.

    ``path_or_buffer``: a file path or a binary buffer (``io.BytesIO``). ``plan_start``
    maps minute 0 onto the calendar (default: the instance's, else next Monday 06:00).
    Returns ``path_or_buffer``.
    """
    if not slot_minutes or slot_minutes <= 0:
        raise ValueError("slot_minutes must be > 0")
    result = result_or_schedule if hasattr(result_or_schedule, "schedule") else None
    schedule = result.schedule if result is not None else result_or_schedule
    ps = resolve_plan_start(instance, plan_start)
    kpis = dict(getattr(result, "kpis", None) or {})
    if not kpis:
        try:
            from furnsim.kpi import kpis as compute_kpis

            kpis = compute_kpis(schedule, instance)
        except Exception:  # noqa: BLE001 - the KPIs sheet is then short, the rest still useful
            kpis = {"makespan": float(schedule.makespan)}

    st = _Styles()
    colors = order_colors(instance)
    ops = op_table(schedule, instance)
    status = order_status(schedule, instance, ps)
    wb = Workbook(write_only=True)
    _gantt_sheet(wb, st, schedule, instance, ops, colors, status, ps, float(slot_minutes), result)
    _schedule_sheet(wb, st, ops, colors, ps)
    _dispatch_sheet(wb, st, schedule, instance, ops, ps)
    _kpi_sheet(wb, st, schedule, instance, kpis, result, ps, slot_minutes)
    _buffer_sheet(wb, st, schedule, instance, ps, float(slot_minutes))
    _orders_sheet(wb, st, status, colors)
    if isinstance(path_or_buffer, str | Path):
        Path(path_or_buffer).parent.mkdir(parents=True, exist_ok=True)
    wb.save(path_or_buffer)
    return path_or_buffer


# ---------------------------------------------------------------------------------------
def _machine_rows(schedule: Any, instance: Any) -> list[tuple[str, str]]:
    plant = getattr(instance, "plant", None)
    if plant is not None:
        return [
            (m.id, w.id)
            for w in plant.work_centers
            for m in plant.machines
            if m.work_center == w.id
        ]
    wc_of = {}
    for m, w in zip(np.asarray(schedule.op_machine), np.asarray(schedule.op_wc), strict=True):
        if m >= 0:
            wc_of[schedule.machine_ids[m]] = schedule.wc_ids[w]
    return [(m, wc_of.get(m, "")) for m in schedule.machine_ids]


def _slot_owners(ops: Any, machines: list[str], slot: float, n_slots: int) -> dict[str, list[Any]]:
    """Per machine: per slot (kind, op row, overlap) of what occupies it longest."""
    owners: dict[str, list[Any]] = {m: [None] * n_slots for m in machines}
    t = ops.times
    intervals = (
        (_KIND_SETUP, t["setup_start"], t["setup_end"]),
        (_KIND_PROC, t["start"], t["end"]),
        (_KIND_BLOCKED, t["end"], t["leave"]),
    )
    for kind, a_arr, b_arr in intervals:
        for i in range(len(ops)):
            a, b = float(a_arr[i]), float(b_arr[i])
            if not (b - a > 1e-9) or math.isnan(a) or math.isnan(b):
                continue
            row = owners.get(ops.machine[i])
            if row is None:
                continue
            k0 = max(0, int(a // slot))
            k1 = min(n_slots - 1, int(math.ceil(b / slot)) - 1)
            for k in range(k0, k1 + 1):
                ov = min(b, (k + 1) * slot) - max(a, k * slot)
                if ov <= 1e-9:
                    continue
                cur = row[k]
                # processing wins ties: it is what the floor needs to see
                if (
                    cur is None
                    or ov > cur[2] + 1e-9
                    or (abs(ov - cur[2]) <= 1e-9 and kind == _KIND_PROC)
                ):
                    row[k] = (kind, i, ov)
    return owners


def _gantt_sheet(
    wb: Any,
    st: _Styles,
    schedule: Any,
    instance: Any,
    ops: Any,
    colors: dict[str, str],
    status: list[dict[str, Any]],
    ps: datetime,
    slot: float,
    result: Any,
) -> None:
    ws = wb.create_sheet("Gantt")
    rows = _machine_rows(schedule, instance)
    horizon = 0.0
    for f in ("leave", "end"):
        v = ops.times[f]
        if len(v) and not np.all(np.isnan(v)):
            horizon = max(horizon, float(np.nanmax(v)))
    n_slots = max(1, int(math.ceil(horizon / slot - 1e-9)))
    owners = _slot_owners(ops, [m for m, _ in rows], slot, n_slots)

    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 11
    slot_width = 4.2 if slot <= 30 else 6.0
    for k in range(n_slots):
        ws.column_dimensions[get_column_letter(GANTT_FIRST_COL + k)].width = slot_width
    ws.freeze_panes = f"{get_column_letter(GANTT_FIRST_COL)}{GANTT_FIRST_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 8  # A3
    # printed one day per page across (a manual column break at each midnight)
    day_starts = [
        k for k in range(1, n_slots)
        if (ps + timedelta(minutes=k * slot)).date() != (ps + timedelta(minutes=(k - 1) * slot)).date()
    ]  # fmt: skip
    for k in day_starts:
        ws.col_breaks.append(Break(id=GANTT_FIRST_COL + k - 1))
    # scale so that one day fits an A3 landscape page (Excel and LibreOffice ignore manual
    # breaks under "fit to pages", so the scale is computed instead)
    day_cols = min(n_slots, int(round(1440 / slot)))
    need_mm = (_col_mm(12) + _col_mm(11) + day_cols * _col_mm(slot_width)) or 1.0
    ws.page_setup.scale = max(10, min(100, int(400.0 / need_mm * 100)))
    ws.print_title_rows = f"1:{GANTT_FIRST_ROW - 1}"
    ws.print_title_cols = "A:B"
    ws.page_margins.left = ws.page_margins.right = 0.3
    ws.page_margins.top = ws.page_margins.bottom = 0.4
    ws.oddHeader.center.text = (
        f"furnsim plan — {getattr(instance, 'name', '')} — from {ps:%Y-%m-%d %H:%M}"
    )
    ws.oddFooter.center.text = "page &P of &N"

    # header rows: day (row 1), time (row 2)
    goal = getattr(result, "goal", "")
    method = getattr(result, "method", "") or getattr(schedule, "method", "")
    r1: list[Any] = [_cell(ws, "Gantt", font=st.title), None]
    r2: list[Any] = [
        _cell(ws, "machine", font=st.bold, fill=st.header_fill),
        _cell(ws, "work center", font=st.bold, fill=st.header_fill),
    ]
    prev_day = None
    for k in range(n_slots):
        t = ps + timedelta(minutes=k * slot)
        day = t.date()
        new_day = day != prev_day
        prev_day = day
        r1.append(
            _cell(ws, f"{t:%a %d.%m.}", font=st.bold, fill=st.day_fill, border=st.day_border)
            if new_day
            else _cell(ws, None, fill=st.day_fill)
        )
        # label whole hours only (a half-hour label does not fit a narrow slot column)
        label = f"{t:%H:%M}" if slot >= 60 or t.minute == 0 else None
        r2.append(
            _cell(
                ws,
                label,
                font=st.small,
                fill=st.header_fill,
                align=st.center,
                border=st.day_border if new_day else None,
            )
        )
    ws.append(r1)
    ws.append(r2)

    for m, w in rows:
        line: list[Any] = [_cell(ws, m, font=st.bold), _cell(ws, w, font=st.small)]
        prev: tuple[int, int] | None = None
        for own in owners[m]:
            if own is None:
                line.append(None)
                prev = None
                continue
            kind, i, _ = own
            first = prev != (kind, i)
            prev = (kind, i)
            if kind == _KIND_PROC:
                col = colors.get(ops.order[i], "#1F77B4")
                line.append(
                    _cell(
                        ws, ops.order[i] if first else None, fill=st.fill(col), font=st.font_on(col)
                    )
                )
            elif kind == _KIND_SETUP:
                line.append(
                    _cell(ws, "S", fill=st.setup_fill, font=st.black_small, align=st.center)
                )
            else:
                line.append(
                    _cell(
                        ws,
                        "B" if first else None,
                        fill=st.blocked_fill,
                        font=st.white_small,
                        align=st.center,
                    )
                )
        ws.append(line)

    # legend
    ws.append([])
    ws.append(
        [
            _cell(ws, "Legend", font=st.title),
            _cell(ws, f"goal {goal or '-'} · method {method or '-'} · one column = {slot:g} min"),
        ]
    )
    ws.append(
        [
            _cell(ws, "S", fill=st.setup_fill, font=st.black_small, align=st.center),
            "setup (changing the machine's setup)",
        ]
    )
    ws.append(
        [
            _cell(ws, "B", fill=st.blocked_fill, font=st.white_small, align=st.center),
            "blocked: the finished batch waits on the machine for room in the next buffer",
        ]
    )
    ws.append(
        [
            _cell(ws, "order", font=st.bold),
            _cell(ws, "article · quantity · deadline · completion", font=st.bold),
        ]
    )
    for r in status:
        col = colors.get(r["order"], "#1F77B4")
        info = f"{r['article']} · {r['quantity']:g} pcs"
        if r["deadline"] is not None:
            info += f" · due {r['deadline']:%a %d.%m. %H:%M}"
        if r["completion"] is not None:
            info += f" · done {r['completion']:%a %d.%m. %H:%M}"
        if r["late"]:
            info += f" · LATE by {r['late_by']}"
        ws.append([_cell(ws, r["order"], fill=st.fill(col), font=st.font_on(col)), info])


# ---------------------------------------------------------------------------------------
_SCHEDULE_COLUMNS = (
    "order",
    "article",
    "component",
    "quantity",
    "step",
    "work center",
    "machine",
    "setup from",
    "setup to",
    "setup start",
    "start",
    "end",
    "leaves machine",
    "departs to buffer",
    "arrives in buffer",
    "processing min",
    "setup min",
    "blocked min",
)


def _schedule_sheet(wb: Any, st: _Styles, ops: Any, colors: dict[str, str], ps: datetime) -> None:
    ws = wb.create_sheet("Schedule")
    widths = (9, 10, 11, 9, 5, 10, 10, 10, 10, 17, 17, 17, 17, 17, 17, 10, 8, 9)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(_SCHEDULE_COLUMNS))}{len(ops) + 1}"
    ws.append([_cell(ws, h, font=st.bold, fill=st.header_fill) for h in _SCHEDULE_COLUMNS])
    t = ops.times
    order = np.lexsort((ops.machine.astype(str), t["start"]))
    fields = ("setup_start", "start", "end", "leave", "depart", "arrive")
    for i in order:
        # raw datetimes: openpyxl gives them a date format (cheaper than a styled cell each)
        ws.append(
            [
                ops.order[i],
                ops.article[i],
                ops.component[i],
                _num(ops.quantity[i], 3),
                int(ops.step[i]),
                ops.work_center[i],
                ops.machine[i],
                ops.setup_from[i],
                ops.setup_to[i],
                *[_dt(ps, float(t[f][i])) for f in fields],
                _num(t["end"][i] - t["start"][i]),
                _num(t["setup_end"][i] - t["setup_start"][i]),
                _num(t["leave"][i] - t["end"][i]),
            ]
        )


def _dispatch_sheet(
    wb: Any, st: _Styles, schedule: Any, instance: Any, ops: Any, ps: datetime
) -> None:
    ws = wb.create_sheet("Dispatch lists")
    heads = (
        "#",
        "order",
        "article",
        "component",
        "quantity",
        "step",
        "setup",
        "setup min",
        "setup start",
        "start",
        "end",
        "leaves machine",
        "next",
        "order deadline",
    )
    for ci, width in enumerate((5, 9, 10, 11, 9, 5, 16, 9, 16, 16, 16, 16, 10, 16), start=1):
        ws.column_dimensions[get_column_letter(ci)].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    t = ops.times
    deadlines = {o.id: o.deadline for o in getattr(instance, "orders", [])}
    # next work center of each operation (same job, next step)
    nxt: dict[int, str] = {}
    op_job, op_wc = np.asarray(schedule.op_job), np.asarray(schedule.op_wc)
    for o in range(len(op_job) - 1):
        if op_job[o + 1] == op_job[o]:
            nxt[o] = schedule.wc_ids[int(op_wc[o + 1])]
    row = 0
    for bi, (m, w) in enumerate(_machine_rows(schedule, instance)):
        sel = np.flatnonzero(ops.machine == m)
        sel = sel[np.argsort(t["start"][sel], kind="stable")]
        if bi:
            ws.append([])
            row += 1
            ws.row_breaks.append(Break(id=row))
        ws.append(
            [
                _cell(ws, f"{m}", font=st.title),
                _cell(ws, f"work center {w} · {len(sel)} operations", font=st.small),
            ]
        )
        ws.append([_cell(ws, h, font=st.bold, fill=st.header_fill) for h in heads])
        row += 2
        for n, i in enumerate(sel, start=1):
            setup = (
                ops.setup_to[i]
                if ops.setup_from[i] == ops.setup_to[i]
                else f"{ops.setup_from[i]} → {ops.setup_to[i]}"
            )
            dl = deadlines.get(ops.order[i], math.inf)
            ws.append(
                [
                    n,
                    ops.order[i],
                    ops.article[i],
                    ops.component[i],
                    _num(ops.quantity[i], 3),
                    int(ops.step[i]),
                    setup,
                    _num(t["setup_end"][i] - t["setup_start"][i]),
                    _dt(ps, float(t["setup_start"][i])),
                    _dt(ps, float(t["start"][i])),
                    _dt(ps, float(t["end"][i])),
                    _dt(ps, float(t["leave"][i])),
                    nxt.get(int(ops.op[i]), "FINISHED"),
                    _dt(ps, dl),
                ]
            )
            row += 1


def _kpi_sheet(
    wb: Any,
    st: _Styles,
    schedule: Any,
    instance: Any,
    kpis: dict[str, Any],
    result: Any,
    ps: datetime,
    slot: float,
) -> None:
    ws = wb.create_sheet("KPIs")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 16
    ws.column_dimensions["D"].width = 14
    ws.column_dimensions["E"].width = 14
    ws.column_dimensions["F"].width = 12
    ws.append([_cell(ws, "Plan", font=st.title)])
    info: list[tuple[str, Any]] = [
        ("plant / instance", getattr(instance, "name", "")),
        ("plan start", _cell(ws, ps, fmt=DATETIME_FORMAT)),
        ("goal", getattr(result, "goal", "")),
        ("method", getattr(result, "method", "") or getattr(schedule, "method", "")),
        ("requested method", getattr(result, "requested", "")),
        ("fallback", getattr(result, "fallback", None) or ""),
        (
            "valid (independent validator)",
            "" if result is None else ("yes" if result.valid else "NO"),
        ),
        ("violations", "" if result is None else len(result.violations)),
        ("cost (goal)", _num(getattr(result, "cost", None), 4)),
        ("orders", len(getattr(instance, "orders", []))),
        ("jobs", len(getattr(instance, "jobs", []))),
        ("operations", int(schedule.n_ops)),
        ("Gantt slot", f"{slot:g} min"),
        ("exported", _cell(ws, datetime.now().replace(microsecond=0), fmt=DATETIME_FORMAT)),
    ]
    for k, v in info:
        ws.append([_cell(ws, k, font=st.bold), v])
    ws.append([])
    ws.append([_cell(ws, "KPIs", font=st.title)])
    ws.append(
        [_cell(ws, h, font=st.bold, fill=st.header_fill) for h in ("KPI", "value", "unit", "key")]
    )
    done: set[str] = set()
    for key, label, unit in _KPI_LABELS:
        if key in kpis and label not in done:
            done.add(label)
            v = kpis[key]
            extra = (
                f" ({format_minutes(float(v))})"
                if unit == "min" and isinstance(v, int | float)
                else ""
            )
            ws.append([label, _num(v, 4), unit + extra, key])
    for key, v in kpis.items():
        if key not in {k for k, _, _ in _KPI_LABELS} and isinstance(v, int | float):
            ws.append([key, _num(v, 4), "", key])
    try:
        from furnsim.kpi import machine_kpis

        per = machine_kpis(schedule, instance)
    except Exception:  # noqa: BLE001
        per = {}
    if per:
        ws.append([])
        ws.append([_cell(ws, "Machines", font=st.title)])
        cols = list(next(iter(per.values())).keys())
        ws.append([_cell(ws, h, font=st.bold, fill=st.header_fill) for h in ["machine", *cols]])
        for m, d in per.items():
            ws.append([m, *[_num(d[c], 4) for c in cols]])


def _buffer_sheet(
    wb: Any, st: _Styles, schedule: Any, instance: Any, ps: datetime, slot: float
) -> None:
    ws = wb.create_sheet("Buffers")
    levels = schedule.buffer_levels()
    plant = getattr(instance, "plant", None)
    caps = {w.id: w.buffer_capacity for w in plant.work_centers} if plant is not None else {}
    units = {w.id: w.buffer_unit for w in plant.work_centers} if plant is not None else {}
    wcs = [w for w in schedule.wc_ids if w in levels]
    horizon = float(schedule.makespan) if schedule.n_ops else 0.0
    n = max(1, int(math.ceil(horizon / slot - 1e-9)))
    grid = np.arange(n, dtype=float) * slot
    # peak level in each slot: the level carried in at the slot start, and every change inside
    peaks: dict[str, np.ndarray] = {}
    for w in wcs:
        tt, lv = levels[w]
        tt = np.asarray(tt, dtype=float)
        lv = np.asarray(lv, dtype=float)
        idx = np.searchsorted(tt, grid, side="right") - 1
        carried = np.where(idx >= 0, lv[np.clip(idx, 0, None)], 0.0)
        pk = carried.copy()
        slot_of = np.clip((tt // slot).astype(np.int64), 0, n - 1)
        np.maximum.at(pk, slot_of, lv)
        peaks[w] = pk
    ws.column_dimensions["A"].width = 16
    head = [_cell(ws, "slot start", font=st.bold, fill=st.header_fill)]
    for w in wcs:
        u = units.get(w, "")
        head.append(_cell(ws, f"{w} level ({u})", font=st.bold, fill=st.header_fill))
        head.append(_cell(ws, f"{w} capacity", font=st.bold, fill=st.header_fill))
    ws.append(head)
    ws.freeze_panes = "B2"
    for k in range(n):
        line: list[Any] = [_cell(ws, ps + timedelta(minutes=float(grid[k])), fmt=DATETIME_FORMAT)]
        for w in wcs:
            cap = caps.get(w, math.inf)
            line.append(round(float(peaks[w][k]), 4))
            line.append(cap if math.isfinite(cap) else None)
        ws.append(line)
    # one native line chart per work center (level vs capacity), in a grid right of the table
    first_chart_col = 2 * len(wcs) + 3
    cats = Reference(ws, min_col=1, min_row=2, max_row=n + 1)
    for i, w in enumerate(wcs):
        ch = LineChart()
        ch.title = f"{w}: buffer level vs capacity"
        ch.height, ch.width = 6.5, 15
        ch.y_axis.title = units.get(w, "")
        ch.x_axis.number_format = "dd.mm hh:mm"
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        col = 2 + 2 * i
        ch.add_data(
            Reference(ws, min_col=col, max_col=col + 1, min_row=1, max_row=n + 1),
            titles_from_data=True,
        )
        ch.set_categories(cats)
        ch.legend.position = "b"
        if len(ch.series) > 1:
            ch.series[1].graphicalProperties.line.dashStyle = "dash"
            ch.series[1].graphicalProperties.line.solidFill = "D32F2F"
        ch.series[0].graphicalProperties.line.solidFill = "1F77B4"
        for s in ch.series:
            s.smooth = False
        anchor = f"{get_column_letter(first_chart_col + (i % 2) * 10)}{2 + (i // 2) * 14}"
        ws.add_chart(ch, anchor)


def _orders_sheet(
    wb: Any, st: _Styles, status: list[dict[str, Any]], colors: dict[str, str]
) -> None:
    ws = wb.create_sheet("Orders")
    heads = (
        "order",
        "article",
        "quantity",
        "priority",
        "release",
        "deadline",
        "completion",
        "late minutes",
        "late by",
        "status",
    )
    for ci, width in enumerate((10, 12, 9, 8, 16, 16, 16, 12, 16, 9), start=1):
        ws.column_dimensions[get_column_letter(ci)].width = width
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, h, font=st.bold, fill=st.header_fill) for h in heads])
    for r in status:
        col = colors.get(r["order"], "#1F77B4")
        tard = r["tardiness_min"]
        state = "not done" if r["completion"] is None else ("LATE" if r["late"] else "on time")
        ws.append(
            [
                _cell(ws, r["order"], fill=st.fill(col), font=st.font_on(col)),
                r["article"],
                _num(r["quantity"], 3),
                _num(r["priority"], 3),
                _cell(ws, r["release"], fmt=DATETIME_FORMAT),
                _cell(ws, r["deadline"], fmt=DATETIME_FORMAT),
                _cell(ws, r["completion"], fmt=DATETIME_FORMAT),
                _num(tard, 1) if math.isfinite(tard) else None,
                r["late_by"],
                state,
            ]
        )
