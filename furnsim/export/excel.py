"""A plan as an Excel workbook for the shop floor (openpyxl, write-only mode).

Sheets (what prints is laid out for paper; the measured page counts are in
``docs/dashboard.md``):

* **Gantt** — one row per machine (plant order, from row ``GANTT_FIRST_ROW``), one column per
  time slot of ``slot_minutes`` (slot ``k`` = column ``GANTT_FIRST_COL + k`` covers
  ``[plan_start + k·slot, plan_start + (k+1)·slot)``). A slot shows what occupies the
  machine longest in it: processing (filled in the order's colour; the order id in the
  first slot of the bar), a setup (grey, ``S``) or blocked time (dark red, ``B``). Row 1 has
  the day, row 2 the time; panes are frozen at the first slot; a short key follows below
  (order colours and details: the *Orders* sheet). Printed A3 landscape, one day per page
  across (column breaks at midnight; 12 hours a page for 15-minute slots), scaled so the
  widest page fits, the day/time rows and the machine columns repeated on every page.
  Operations much shorter than a slot may be hidden behind longer neighbours — the
  *Dispatch lists* and *Schedule* sheets have every operation to the minute.
  With working time (calendars, downtime; docs/semantics.md) a slot also shows the
  machine's **closed** time (light grey: breaks, nights, weekends, holidays) and its
  **downtime** (dark grey, the reason in the first cell, every downtime listed in the key;
  a page's day header names its calendar exceptions and downtime);
  processing is drawn over the operation's ``segments`` and setups over its
  ``setup_segments``, so a batch that pauses over a break shows the gap. Closed time wins a
  tie with work in a slot (a 15-minute break shows in a 30-minute slot).
* **Schedule** — one row per operation with real datetimes (setup, start, end, leave,
  depart, arrive) and minutes (with working time: working minutes and a ``pauses``
  column listing every pause), with filters. A data sheet for the screen: its print area is
  the header row, and the page header says so (the dispatch lists print every operation).
* **Dispatch lists** — per machine in run order, printed A3 landscape with one machine per
  page (a long list continues on the next page). Each page holds two columns of operations
  side by side, left ``1..R`` then right ``R+1..2R``, so that a week of 2,000 operations on
  23 machines prints on 28 pages; the column header (row 1) repeats on every page.
  With working time: a ``pauses`` column after ``end`` (``10:00–10:15, 22:00–Tue 06:00``;
  at most what fits 26 characters, then ``+N``), times past the first week as
  ``Tue 10.03. 06:00``, and under each machine's title its weekly working time and this
  plan's calendar exceptions and downtime.
* **Store releases** — only for a plan that holds jobs at STORE (release control,
  ``furnsim/solvers/release.py``; ``Schedule.holds`` of kind ``store``): when to take each
  batch out of the store. One row per job that leaves STORE (assemblies are released by
  their kits), in departure order (:func:`furnsim.export.releases.store_releases`): the
  departure (``times["depart"]`` of its first operation), order, article, component,
  quantity, first work center and machine, its planned start there, and how it leaves
  (``held`` with the hold's from / until, ``at release``, or ``queued for room`` in its
  first buffer). Printed like the dispatch lists: A3 landscape, two columns side by side
  (left ``1..R``, right ``R+1..2R``), the column header on every page, a title row with
  the page number. Times as in the dispatch lists (``Mon 10:00`` within the week; with
  working time ``Tue 10.03. 06:00`` past it; transport and holds run 24/7, so a time may
  lie in closed time). A plan without STORE holds gets no such sheet: its workbook is the
  one it always was.
* **KPIs** — the plan's method, goal, validity and every KPI (the plan's own KPI values,
  not recomputed); per-machine figures to the right.
  With working time: available and closed machine time, utilization of available time,
  overtime worked and extra windows used (the plan's KPI values), and a *Working time*
  block (calendars, exceptions, downtime) under the per-machine figures.
* **Buffers** — peak level per slot for each work center against its capacity, with a
  native line chart per work center; the print area is the charts (three across).
* **Orders** — every order with its colour, deadline, completion and lateness; an order
  that did not finish shows ``not finished`` (late when it has a deadline).

Every string is written as text, never as a formula (an order id ``=1+1`` stays ``=1+1``);
column widths fit the printed length of their values. Style objects are created once and
shared, cells are streamed (write-only), so a 500-job week (about 3,000 operations) is
written in about two seconds (see ``docs/dashboard.md``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from furnsim.export._layout import (
    A3,
    A4,
    CellMaker,
    SheetRows,
    column_mm,
    fit_scale,
    page_body_mm,
    print_setup,
)
from furnsim.export._working import (
    MachineWorkingTime,
    machine_working_time,
    page_notes,
    pauses_text,
    span_text,
)
from furnsim.export.releases import store_held_jobs, store_releases
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
WEEK_TIME_FORMAT = "ddd hh:mm"  # dispatch lists when every time lies within 7 days
DATE_TIME_FORMAT = "dd.mm.yy hh:mm"  # dispatch lists otherwise
WEEKDAY_DATE_TIME_FORMAT = "ddd dd.mm. hh:mm"  # dispatch lists with working time, past a week
SETUP_FILL_HEX = "BDBDBD"
NOT_FINISHED = "not finished"
_KIND_PROC, _KIND_SETUP, _KIND_BLOCKED, _KIND_CLOSED, _KIND_DOWN = 1, 2, 3, 4, 5
#: ties in a Gantt slot: downtime, then closed time, then processing, setup, blocked
_RANK = {_KIND_DOWN: 5, _KIND_CLOSED: 4, _KIND_PROC: 3, _KIND_SETUP: 2, _KIND_BLOCKED: 1}
CLOSED_FILL_HEX = "D9D9D9"  # Gantt: the machine's closed time (breaks, nights, holidays)
DOWN_FILL_HEX = "5F5F5F"  # Gantt: machine downtime (maintenance), its reason in the first cell

#: dispatch lists: row heights (pt) of the operation rows (8 pt text), the column header
#: and the machine title
DISPATCH_ROW_PT = 10.0
#: dispatch lists: characters of the pauses column (more pauses: "+N"; all: sheet Schedule)
DISPATCH_PAUSES_LEN = 26
KIT_COMPLETE = "kit complete"  # dispatch lists: an assembly job whose children are all there
DISPATCH_HEAD_PT = 12.0
DISPATCH_TITLE_PT = 14.0

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
    ("available_time", "Available machine time", "machine·min"),
    ("closed_time", "Closed machine time", "machine·min"),
    ("overtime_minutes", "Overtime worked", "machine·min"),
    ("extra_windows_used", "Extra windows used", ""),
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
        self.bold = Font(name="Calibri", size=11, bold=True)
        self.title = Font(name="Calibri", bold=True, size=13)
        self.small = Font(name="Calibri", size=8)
        self.small_bold = Font(name="Calibri", size=8, bold=True)
        self.white_small = Font(name="Calibri", size=8, color="FFFFFF", bold=True)
        self.black_small = Font(name="Calibri", size=8, color="000000", bold=True)
        self.late = Font(name="Calibri", size=11, bold=True, color="B71C1C")
        self.late_small = Font(name="Calibri", size=8, bold=True, color="B71C1C")
        self.header_fill = PatternFill("solid", fgColor="DDE3EA")
        self.day_fill = PatternFill("solid", fgColor="C5CFDA")
        self.setup_fill = PatternFill("solid", fgColor=SETUP_FILL_HEX)
        self.blocked_fill = PatternFill("solid", fgColor=BLOCKED_COLOR.lstrip("#"))
        self.closed_fill = PatternFill("solid", fgColor=CLOSED_FILL_HEX)
        self.down_fill = PatternFill("solid", fgColor=DOWN_FILL_HEX)
        self.center = Alignment(horizontal="center", vertical="center")
        self.left = Alignment(horizontal="left", vertical="center")
        thin = Side(style="thin", color="9E9E9E")
        self.day_border = Border(left=Side(style="medium", color="424242"))
        self.cell_border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.indent = Alignment(horizontal="left", indent=1)
        self.right = Alignment(horizontal="right")
        self.list_title = Font(name="Calibri", bold=True, size=10)
        self.cell = CellMaker()  # styled cells: st.cell(ws, value, font=..., fill=..., ...)
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


def _dt(ps: datetime, minutes: float) -> datetime | None:
    """Minutes after plan start as a datetime rounded to the minute (what the floor reads)."""
    if minutes is None or not math.isfinite(minutes):
        return None
    return ps + timedelta(minutes=round(minutes))


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


def _plan_label(instance: Any, ps: datetime) -> str:
    name = getattr(instance, "name", "") or "plan"
    return f"furnsim plan {name} from {ps:%Y-%m-%d %H:%M}"


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
    maps minute 0 onto the calendar (default: the instance's, else next Monday 06:00); with
    working time (calendars, downtime) it must be the instance's own plan start (the working
    time is laid out from it), else ``ValueError``.
    Returns ``path_or_buffer``.
    """
    if not slot_minutes or slot_minutes <= 0:
        raise ValueError("slot_minutes must be > 0")
    result = result_or_schedule if hasattr(result_or_schedule, "schedule") else None
    schedule = result.schedule if result is not None else result_or_schedule
    ps = resolve_plan_start(instance, plan_start)
    plant = getattr(instance, "plant", None)
    own_start = getattr(instance, "plan_start", None)
    if getattr(plant, "has_working_time", False) and own_start is not None and ps != own_start:
        raise ValueError(
            f"plan_start {ps:%Y-%m-%d %H:%M} differs from the instance's "
            f"{own_start:%Y-%m-%d %H:%M}: its working time (calendars, downtime) is laid out "
            "from the instance's plan start"
        )
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
    label = _plan_label(instance, ps)
    slot = float(slot_minutes)
    n_slots = _gantt_slots(ops, slot)
    working = machine_working_time(instance, ps, n_slots * slot)
    wb = Workbook(write_only=True)
    _gantt_sheet(wb, st, schedule, instance, ops, ps, slot, n_slots, working, result, label)
    _schedule_sheet(wb, st, schedule, ops, ps, working, label)
    _dispatch_sheet(wb, st, schedule, instance, ops, ps, working, label)
    if store_held_jobs(schedule):  # release control: when each batch leaves STORE
        _store_sheet(wb, st, schedule, instance, ps, working, label)
    _kpi_sheet(wb, st, schedule, instance, kpis, result, ps, slot_minutes, working, label)
    _buffer_sheet(wb, st, schedule, instance, ps, float(slot_minutes), label)
    _orders_sheet(wb, st, status, colors, label)
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


def _slot_owners(
    ops: Any,
    schedule: Any,
    machines: list[str],
    slot: float,
    n_slots: int,
    working: dict[str, MachineWorkingTime] | None,
) -> dict[str, list[Any]]:
    """Per machine: per slot ``(kind, index, minutes)`` of what occupies it longest.

    Processing counts its ``segments`` and setups their ``setup_segments`` (a batch that
    pauses over a break leaves the break to the closed time); blocked time is
    ``[end, leave)``. Closed time and downtime (index into the machine's ``closed`` /
    ``down`` list) win ties, so a 15-minute break shows in a 30-minute slot; among work,
    processing wins ties: it is what the floor needs to see."""
    share: dict[str, list[dict[tuple[int, int], float]]] = {
        m: [{} for _ in range(n_slots)] for m in machines
    }

    def add(row: list[dict[tuple[int, int], float]], kind: int, i: int, a: float, b: float) -> None:
        if not (b - a > 1e-9) or math.isnan(a) or math.isnan(b):
            return
        k0 = max(0, int(a // slot))
        k1 = min(n_slots - 1, int(math.ceil(b / slot)) - 1)
        for k in range(k0, k1 + 1):
            ov = min(b, (k + 1) * slot) - max(a, k * slot)
            if ov > 1e-9:
                d = row[k]
                d[(kind, i)] = d.get((kind, i), 0.0) + ov

    t = ops.times
    has_segments = getattr(schedule, "segments", None) is not None
    has_setup_segments = getattr(schedule, "setup_segments", None) is not None
    for i in range(len(ops)):
        row = share.get(ops.machine[i])
        if row is None:
            continue
        o = int(ops.op[i])
        if has_setup_segments:
            for a, b in schedule.op_setup_segments(o):
                add(row, _KIND_SETUP, i, float(a), float(b))
        else:
            add(row, _KIND_SETUP, i, float(t["setup_start"][i]), float(t["setup_end"][i]))
        if has_segments:
            for a, b in schedule.op_segments(o):
                add(row, _KIND_PROC, i, float(a), float(b))
        else:
            add(row, _KIND_PROC, i, float(t["start"][i]), float(t["end"][i]))
        add(row, _KIND_BLOCKED, i, float(t["end"][i]), float(t["leave"][i]))
    for m, info in (working or {}).items():
        row = share.get(m)
        if row is None:
            continue
        for a, b in info.closed:
            add(row, _KIND_CLOSED, 0, a, b)  # one kind: every closed minute of the slot counts
        for j, (a, b, _) in enumerate(info.down):
            add(row, _KIND_DOWN, j, a, b)
    owners: dict[str, list[Any]] = {}
    for m, row in share.items():
        out: list[Any] = [None] * n_slots
        for k, d in enumerate(row):
            if d:
                best = max(d.values())
                # ties (within a rounding error): the higher rank wins
                cands = [(kk, v) for kk, v in d.items() if v >= best - 1e-6]
                # equal processing: the later operation (it starts in the slot), else the first
                (kind, i), ov = max(
                    cands,
                    key=lambda kv: (
                        _RANK[kv[0][0]],
                        kv[0][1] if kv[0][0] == _KIND_PROC else -kv[0][1],
                    ),
                )
                out[k] = (kind, i, ov)
        owners[m] = out
    return owners


def _gantt_slots(ops: Any, slot: float) -> int:
    """Slots of the Gantt: up to the last end or leave."""
    horizon = 0.0
    for f in ("leave", "end"):
        v = ops.times[f]
        if len(v) and not np.all(np.isnan(v)):
            horizon = max(horizon, float(np.nanmax(v)))
    return max(1, int(math.ceil(horizon / slot - 1e-9)))


def gantt_page_minutes(slot: float) -> int:
    """Minutes of the day one printed Gantt page covers: a day for slots of 30 minutes and
    more, else a part of the day of at most 48 slots (15-minute slots: 12 hours)."""
    for span in (1440, 720, 480, 360, 240, 180, 120):
        if span <= 48 * slot + 1e-9:
            return span
    return 60


def gantt_page_starts(ps: datetime, slot: float, n_slots: int) -> list[int]:
    """Slots (0-based) that start a printed page: each midnight (and, for short slots, each
    ``gantt_page_minutes`` of the day). The Gantt's column breaks."""
    span = gantt_page_minutes(slot)
    keys = []
    for k in range(n_slots):
        t = ps + timedelta(minutes=k * slot)
        keys.append((t.date(), (t.hour * 60 + t.minute) // span))
    return [k for k in range(1, n_slots) if keys[k] != keys[k - 1]]


def _gantt_sheet(
    wb: Any,
    st: _Styles,
    schedule: Any,
    instance: Any,
    ops: Any,
    ps: datetime,
    slot: float,
    n_slots: int,
    working: dict[str, MachineWorkingTime] | None,
    result: Any,
    label: str,
) -> None:
    ws = wb.create_sheet("Gantt")
    rows = _machine_rows(schedule, instance)
    owners = _slot_owners(ops, schedule, [m for m, _ in rows], slot, n_slots, working)
    colors = order_colors(instance)
    sr = SheetRows(ws, st.cell)

    # header rows: day (row 1), time (row 2)
    goal = getattr(result, "goal", "")
    method = getattr(result, "method", "") or getattr(schedule, "method", "")
    r1: list[Any] = [st.cell(ws, "Gantt", font=st.title), None]
    r2: list[Any] = [
        st.cell(ws, "machine", font=st.bold, fill=st.header_fill),
        st.cell(ws, "work center", font=st.small_bold, fill=st.header_fill),
    ]
    spill1 = [1]
    page_starts = gantt_page_starts(ps, slot, n_slots)
    firsts = {0, *page_starts}
    for k in range(n_slots):
        t = ps + timedelta(minutes=k * slot)
        new_page = k in firsts
        if new_page:
            day = f"{t:%a %d.%m.}"
            if working:  # the page's calendar exceptions and downtime
                nxt = min([p for p in page_starts if p > k], default=n_slots)
                note = page_notes(instance, ps, k * slot, nxt * slot)
                day += f"   {note}" if note else ""
            r1.append(st.cell(ws, day, font=st.bold, fill=st.day_fill, border=st.day_border))
            spill1.append(GANTT_FIRST_COL + k)
        else:
            r1.append(st.cell(ws, None, fill=st.day_fill))
        # label whole hours only (a half-hour label does not fit a narrow slot column)
        hour = f"{t:%H:%M}" if slot >= 60 or t.minute == 0 else None
        r2.append(
            st.cell(
                ws,
                hour,
                font=st.small,
                fill=st.header_fill,
                align=st.center,
                border=st.day_border if new_page else None,
            )
        )
    sr.add(r1, spill=spill1)
    sr.add(r2)

    spill_bars: list[int] = []
    for m, w in rows:
        line: list[Any] = [st.cell(ws, m, font=st.bold), st.cell(ws, w, font=st.small)]
        prev: tuple[int, int] | None = None
        spill_bars.clear()
        for k, own in enumerate(owners[m]):
            if own is None:
                line.append(None)
                prev = None
                continue
            kind, i, _ = own
            first = prev != (kind, i)
            prev = (kind, i)
            if kind == _KIND_PROC:
                col = colors.get(ops.order[i], "#1F77B4")
                if first:
                    spill_bars.append(GANTT_FIRST_COL + k)
                line.append(
                    st.cell(
                        ws,
                        str(ops.order[i]) if first else None,
                        fill=st.fill(col),
                        font=st.font_on(col),
                    )
                )
            elif kind == _KIND_SETUP:
                line.append(
                    st.cell(ws, "S", fill=st.setup_fill, font=st.black_small, align=st.center)
                )
            elif kind == _KIND_CLOSED:
                line.append(st.cell(ws, None, fill=st.closed_fill))
            elif kind == _KIND_DOWN:
                reason = working[m].down[i][2] if working else "down"
                if first:
                    spill_bars.append(GANTT_FIRST_COL + k)
                line.append(
                    st.cell(ws, reason if first else None, fill=st.down_fill, font=st.white_small)
                )
            else:
                line.append(
                    st.cell(
                        ws,
                        "B" if first else None,
                        fill=st.blocked_fill,
                        font=st.white_small,
                        align=st.center,
                    )
                )
        # an order id runs on over its bar (it is cut where the next bar starts)
        sr.add(line, spill=list(spill_bars))

    # key (order colours and details are in the Orders sheet): the symbol in column A, its
    # text from the first slot of every page, so that each printed page shows it whole
    text_cols = [GANTT_FIRST_COL + k for k in (0, *page_starts)]
    key = [
        (
            st.cell(ws, "Key", font=st.bold),
            f"goal {goal or '-'} · method {method or '-'} · a column = {slot:g} min",
        ),
        (
            st.cell(ws, "S", fill=st.setup_fill, font=st.black_small, align=st.center),
            "setup (changing the machine's setup)",
        ),
        (
            st.cell(ws, "B", fill=st.blocked_fill, font=st.white_small, align=st.center),
            "blocked: the finished batch waits on the machine for room in the next buffer",
        ),
        (
            st.cell(ws, "order", font=st.small_bold),
            "a bar in the order's colour, its id where it starts; colours, deadlines and "
            "lateness of every order: sheet Orders",
        ),
    ]
    if working:
        key[1:1] = [
            (
                st.cell(ws, None, fill=st.closed_fill),
                "closed: the machine's calendar has no working time (breaks, nights, weekends, "
                "holidays); a bar pauses there and goes on after it",
            ),
            (
                st.cell(ws, "down", fill=st.down_fill, font=st.white_small),
                "machine down (downtime): "
                + (
                    "; ".join(
                        f"{m} {span_text(ps + timedelta(minutes=a), ps + timedelta(minutes=b))} {r}"
                        for m, info in working.items()
                        for a, b, r in info.down
                    )[:240]
                    or "none in this plan"
                ),
            ),
        ]
    sr.add([])
    for symbol, text in key:
        kline: list[Any] = [symbol, None] + [None] * n_slots
        for c in text_cols:
            kline[c - 1] = st.cell(ws, text, font=st.small)
        sr.add(kline, spill=text_cols)

    slot_width = 4.2 if slot <= 30 else 6.0
    fixed = {GANTT_FIRST_COL + k: slot_width for k in range(n_slots)}
    ws.freeze_panes = f"{get_column_letter(GANTT_FIRST_COL)}{GANTT_FIRST_ROW}"  # before rows
    widths = sr.widths(fixed=fixed)
    # printed one day per page across (a manual column break at each midnight, and noon for
    # short slots); the scale makes the widest page (machine columns + the longest span) fit
    # an A3 page's width
    for k in page_starts:
        ws.col_breaks.append(Break(id=GANTT_FIRST_COL + k - 1))
    bounds = [0, *page_starts, n_slots]
    widest = max(b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    need_mm = column_mm(widths.get(1, 8.43)) + column_mm(widths.get(2, 8.43))
    need_mm += widest * column_mm(slot_width)
    scale = fit_scale(need_mm, A3)
    # machine rows share the page height (15-24 pt): taller bars where the plant is small
    body_pt = page_body_mm(A3)[1] / 25.4 * 72 * 100 / scale
    other_rows = GANTT_FIRST_ROW - 1 + 1 + len(key) + 1  # headers, blank, key, spare
    bar_pt = max(15.0, min(24.0, (0.95 * body_pt - other_rows * 15.0) / max(1, len(rows))))
    for r in range(GANTT_FIRST_ROW, GANTT_FIRST_ROW + len(rows)):
        ws.row_dimensions[r].height = bar_pt
    print_setup(
        ws,
        paper=A3,
        title_rows=f"1:{GANTT_FIRST_ROW - 1}",
        title_cols="A:B",
        scale=scale if page_starts else None,  # no manual break: plain fit to width
        header=label,
    )
    sr.write(widths)


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


def _schedule_sheet(
    wb: Any,
    st: _Styles,
    schedule: Any,
    ops: Any,
    ps: datetime,
    working: dict[str, MachineWorkingTime] | None,
    label: str,
) -> None:
    ws = wb.create_sheet("Schedule")
    sr = SheetRows(ws, st.cell)
    columns = _SCHEDULE_COLUMNS if working is None else (*_SCHEDULE_COLUMNS, "pauses")
    ncol = len(columns)
    sr.add([st.cell(ws, h, font=st.bold, fill=st.header_fill) for h in columns])
    t = ops.times
    order = np.lexsort((ops.machine.astype(str), t["start"]))
    fields = ("setup_start", "start", "end", "leave", "depart", "arrive")
    for i in order:
        o = int(ops.op[i])
        if working is None:
            proc = t["end"][i] - t["start"][i]
            setup = t["setup_end"][i] - t["setup_start"][i]
            extra: list[Any] = []
        else:  # working minutes: the segments (end - start includes the pauses)
            segs, ssegs = schedule.op_segments(o), schedule.op_setup_segments(o)
            proc = sum(b - a for a, b in segs)
            setup = sum(b - a for a, b in ssegs)
            extra = [pauses_text(ps, segs, ssegs) or None]
        sr.add(
            [
                str(ops.order[i]),
                str(ops.article[i]),
                str(ops.component[i]),
                _num(ops.quantity[i], 3),
                int(ops.step[i]),
                str(ops.work_center[i]),
                str(ops.machine[i]),
                str(ops.setup_from[i]),
                str(ops.setup_to[i]),
                *[st.cell(ws, _dt(ps, float(t[f][i])), fmt=DATETIME_FORMAT) for f in fields],
                _num(proc),
                _num(setup),
                _num(t["leave"][i] - t["end"][i]),
                *extra,
            ]
        )
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(ncol)}{len(ops) + 1}"
    # a data sheet: printed, it would be one page per ~40 operations; the dispatch lists
    # print every operation per machine instead
    print_setup(
        ws,
        paper=A4,
        title_rows="1:1",
        header=(
            f"data sheet: prints its header row only · all {len(ops)} operations "
            "print per machine in sheet Dispatch lists"
        ),
        print_area=f"A1:{get_column_letter(ncol)}1",
    )
    sr.write(sr.widths())


# ---------------------------------------------------------------------------------------
_DISPATCH_HEADS = (
    "#",
    "order",
    "article",
    "component",
    "qty",
    "setup",
    "setup at",
    "start",
    "end",
    "next",
    "due",
)


#: with working time: the operation's pauses (over breaks, nights, downtime) after its end
_DISPATCH_HEADS_WORKING = (*_DISPATCH_HEADS[:9], "pauses", *_DISPATCH_HEADS[9:])


def dispatch_rows_per_column(scale: int = 100) -> int:
    """Operations per column of a printed dispatch-list page (two columns a page) at
    ``scale`` percent."""
    _, body_h_mm = page_body_mm(A3)
    body_pt = body_h_mm / 25.4 * 72 * 100 / scale  # unscaled points a page holds
    # less the repeated header row and the machine title row; 4 % to spare for renderers
    return int((0.96 * body_pt - DISPATCH_HEAD_PT - DISPATCH_TITLE_PT) / DISPATCH_ROW_PT)


def _time_format(ps: datetime, minutes: np.ndarray, weekday_dates: bool = False) -> str:
    """``Mon 10:00`` when every time lies in the 7 days from the plan start, else the date
    (``Tue 10.03. 06:00`` with ``weekday_dates``: shift plans read by weekday)."""
    v = np.asarray(minutes, dtype=float)
    v = v[np.isfinite(v)]
    week = not len(v) or (float(v.min()) >= 0 and float(v.max()) < 7 * 1440 - 0.5)
    if week:
        return WEEK_TIME_FORMAT
    return WEEKDAY_DATE_TIME_FORMAT if weekday_dates else DATE_TIME_FORMAT


def _dispatch_sheet(
    wb: Any,
    st: _Styles,
    schedule: Any,
    instance: Any,
    ops: Any,
    ps: datetime,
    working: dict[str, MachineWorkingTime] | None,
    label: str,
) -> None:
    ws = wb.create_sheet("Dispatch lists")
    sr = SheetRows(ws, st.cell)
    heads: tuple[str, ...] = _DISPATCH_HEADS if working is None else _DISPATCH_HEADS_WORKING
    t = ops.times
    blocks: list[tuple[str, str, np.ndarray]] = []  # per machine: its operations in run order
    for m, w in _machine_rows(schedule, instance):
        sel = np.flatnonzero(ops.machine == m)
        blocks.append((m, w, sel[np.argsort(t["start"][sel], kind="stable")]))
    kits = _kit_texts(schedule, instance, ops, blocks)
    if kits is not None:  # assembly: the kit of each assembly job, after "pauses" / "end"
        at = heads.index("next")
        heads = (*heads[:at], "kit", *heads[at:])
    nh = len(heads)
    right0 = nh + 2  # first column of the right half (one spacer column between)
    deadlines = {o.id: o.deadline for o in getattr(instance, "orders", [])}
    has_setup = (t["setup_end"] - t["setup_start"]) > 1e-9
    op_due = np.array([deadlines.get(o, math.inf) for o in ops.order], dtype=float)
    wd = working is not None
    f_setup = _time_format(ps, t["setup_start"][has_setup], wd)
    f_start = _time_format(ps, t["start"], wd)
    f_end = _time_format(ps, t["end"], wd)
    f_due = _time_format(ps, op_due, wd)
    # next work center of each operation (same job, next step)
    nxt: dict[int, str] = {}
    op_job, op_wc = np.asarray(schedule.op_job), np.asarray(schedule.op_wc)
    for o in range(len(op_job) - 1):
        if op_job[o + 1] == op_job[o]:
            nxt[o] = str(schedule.wc_ids[int(op_wc[o + 1])])

    def head() -> list[Any]:
        return [
            st.cell(
                ws,
                h,
                font=st.small_bold,
                fill=st.header_fill,
                align=st.indent
                if h in ("order", "setup", "next", "pauses", "kit")
                else (st.right if h in ("#", "qty", "setup at", "start", "end", "due") else None),
            )
            for h in heads
        ]

    sr.add([*head(), None, *head()])
    f8, b8 = st.small, st.small_bold

    def op_cells(n: int, i: int) -> list[Any]:
        # "→ W19": the machine is set up to W19 first; "W19": it already is
        setup = str(ops.setup_to[i])
        if has_setup[i] or ops.setup_from[i] != ops.setup_to[i]:
            setup = "→ " + setup
        dl = float(op_due[i])
        late = math.isfinite(dl) and float(t["end"][i]) > dl + 1e-9
        cells = [
            st.cell(ws, n, font=f8),
            st.cell(ws, str(ops.order[i]), font=b8, align=st.indent),
            st.cell(ws, str(ops.article[i]), font=f8),
            st.cell(ws, str(ops.component[i]), font=f8),
            st.cell(ws, _num(ops.quantity[i], 3), font=f8),
            st.cell(ws, setup, font=f8, align=st.indent),
            st.cell(
                ws,
                _dt(ps, float(t["setup_start"][i])) if has_setup[i] else None,
                font=f8,
                fmt=f_setup,
            ),
            st.cell(ws, _dt(ps, float(t["start"][i])), font=b8, fmt=f_start),
            st.cell(ws, _dt(ps, float(t["end"][i])), font=f8, fmt=f_end),
        ]
        if working is not None:
            o = int(ops.op[i])
            text = pauses_text(
                ps,
                schedule.op_segments(o),
                schedule.op_setup_segments(o),
                max_len=DISPATCH_PAUSES_LEN,
            )
            cells.append(st.cell(ws, text or None, font=f8, align=st.indent))
        if kits is not None:
            kit = kits.get(i)
            cells.append(
                st.cell(ws, kit, font=b8 if kit and kit != KIT_COMPLETE else f8, align=st.indent)
            )
        cells += [
            st.cell(ws, nxt.get(int(ops.op[i]), "FINISHED"), font=f8, align=st.indent),
            st.cell(ws, _dt(ps, dl), font=st.late_small if late else f8, fmt=f_due),
        ]
        return cells

    # the widths (hence the print scale, hence the rows a page holds) come from the values:
    # lay out once to measure, then by pages
    probe = SheetRows(ws, st.cell)
    probe.add(sr.rows[0])
    lines: list[list[list[Any]]] = []  # per block, per operation: its cells
    for _, _, sel in blocks:
        lines.append([op_cells(n, int(i)) for n, i in enumerate(sel, start=1)])
        for cells in lines[-1]:
            probe.add(cells)
    need = probe.needed_widths()
    half = {c: math.ceil(max(need.get(c, 0.0), 3.0) * 2) / 2 for c in range(1, nh + 1)}
    widths = {**half, nh + 1: 1.5, **{c + right0 - 1: v for c, v in half.items()}}
    scale = fit_scale(sum(column_mm(v) for v in widths.values()), A3)
    per_col = dispatch_rows_per_column(scale)

    for (m, w, sel), cells_of in zip(blocks, lines, strict=True):
        # working time of the machine (weekly pattern; this plan's exceptions and downtime)
        notes = _working_notes(working.get(m) if working else None)
        rows_here = max(1, per_col - len(notes))  # the notes take rows of the left column
        n_pages = max(1, math.ceil(len(sel) / (2 * rows_here)))
        for p in range(n_pages):
            chunk = sel[p * 2 * rows_here : (p + 1) * 2 * rows_here]
            title = f"{m} · work center {w} · {len(sel)} operations"
            if n_pages > 1:
                title += f" · page {p + 1} of {n_pages}"
            if not len(sel):
                title += " · nothing to do"
            sr.add([st.cell(ws, title, font=st.list_title)], spill=[1])
            ws.row_dimensions[sr.n].height = DISPATCH_TITLE_PT
            for note in notes:
                sr.add([st.cell(ws, note, font=st.small)], spill=[1])
            n_left = min(rows_here, len(chunk))
            for r in range(n_left):
                k = p * 2 * rows_here + r  # position in the machine's list
                line = list(cells_of[k])
                if r + rows_here < len(chunk):
                    line += [None, *cells_of[k + rows_here]]
                sr.add(line)
            sr.page_break()
    _finish_list_sheet(ws, sr, scale, label, widths)


# ---------------------------------------------------------------------------------------
_STORE_HEADS = (
    "#",
    "leaves STORE",
    "order",
    "article",
    "component",
    "qty",
    "to",
    "machine",
    "starts",
    "how",
    "held from",
    "held until",
)


def _store_sheet(
    wb: Any,
    st: _Styles,
    schedule: Any,
    instance: Any,
    ps: datetime,
    working: dict[str, MachineWorkingTime] | None,
    label: str,
) -> None:
    """Store releases: every job that leaves STORE, in departure order (a plan with STORE
    holds only). Printed like the dispatch lists: A3 landscape, two columns of jobs side by
    side (left ``1..R``, right ``R+1..2R``), the column header on every page."""
    ws = wb.create_sheet("Store releases")
    sr = SheetRows(ws, st.cell)
    rel = store_releases(schedule, instance)
    nh = len(_STORE_HEADS)
    wd = working is not None

    def fmt(values: list[float | None]) -> str:
        return _time_format(ps, np.array([v for v in values if v is not None], dtype=float), wd)

    f_dep = fmt([r.depart for r in rel])
    f_start = fmt([r.start for r in rel])
    f_from = fmt([r.held_from for r in rel])
    f_until = fmt([r.held_until for r in rel])
    right_cols = ("#", "qty", "leaves STORE", "starts", "held from", "held until")

    def head() -> list[Any]:
        return [
            st.cell(
                ws,
                h,
                font=st.small_bold,
                fill=st.header_fill,
                align=st.indent
                if h in ("order", "how")
                else (st.right if h in right_cols else None),
            )
            for h in _STORE_HEADS
        ]

    sr.add([*head(), None, *head()])
    f8, b8 = st.small, st.small_bold

    def cells(n: int, r: Any) -> list[Any]:
        held = r.held_from is not None
        return [
            st.cell(ws, n, font=f8),
            st.cell(ws, _dt(ps, r.depart), font=b8, fmt=f_dep),
            st.cell(ws, r.order, font=b8, align=st.indent),
            st.cell(ws, r.article, font=f8),
            st.cell(ws, r.component, font=f8),
            st.cell(ws, _num(r.quantity, 3), font=f8),
            st.cell(ws, r.work_center, font=f8),
            st.cell(ws, r.machine, font=f8),
            st.cell(ws, _dt(ps, r.start), font=f8, fmt=f_start),
            st.cell(ws, r.leaves, font=b8 if held else f8, align=st.indent),
            st.cell(ws, _dt(ps, r.held_from) if held else None, font=f8, fmt=f_from),
            st.cell(ws, _dt(ps, r.held_until) if held else None, font=f8, fmt=f_until),
        ]

    lines = [cells(n, r) for n, r in enumerate(rel, start=1)]
    # widths (hence the print scale, hence the rows a page holds) from the values
    probe = SheetRows(ws, st.cell)
    probe.add(sr.rows[0])
    for line in lines:
        probe.add(line)
    need = probe.needed_widths()
    half = {c: math.ceil(max(need.get(c, 0.0), 3.0) * 2) / 2 for c in range(1, nh + 1)}
    widths = {**half, nh + 1: 1.5, **{c + nh + 1: v for c, v in half.items()}}
    scale = fit_scale(sum(column_mm(v) for v in widths.values()), A3)
    rows_here = dispatch_rows_per_column(scale)
    n_held = sum(1 for r in rel if r.held_from is not None)
    n_pages = max(1, math.ceil(len(lines) / (2 * rows_here)))
    for p in range(n_pages):
        chunk = lines[p * 2 * rows_here : (p + 1) * 2 * rows_here]
        title = (
            f"Store releases · {_plural_batches(len(rel))} {'leaves' if len(rel) == 1 else 'leave'} "
            f"STORE, {n_held} held there "
            "until their first machine needs them · take each out at its time"
        )
        if n_pages > 1:
            title += f" · page {p + 1} of {n_pages}"
        sr.add([st.cell(ws, title, font=st.list_title)], spill=[1])
        ws.row_dimensions[sr.n].height = DISPATCH_TITLE_PT
        for r in range(min(rows_here, len(chunk))):
            line = list(chunk[r])
            if r + rows_here < len(chunk):
                line += [None, *chunk[r + rows_here]]
            sr.add(line)
        sr.page_break()
    _finish_list_sheet(ws, sr, scale, label, widths)


def _finish_list_sheet(ws: Any, sr: SheetRows, scale: int, label: str, widths: Any) -> None:
    """The row heights, frozen header and A3 print setup of a printed list (the Dispatch
    lists, Store releases), then the rows are written."""
    ws.row_dimensions[1].height = DISPATCH_HEAD_PT
    for r in range(2, sr.n + 1):
        if r not in ws.row_dimensions:
            ws.row_dimensions[r].height = DISPATCH_ROW_PT
    ws.freeze_panes = "A2"
    print_setup(ws, paper=A3, title_rows="1:1", scale=scale, header=label)
    sr.write(widths)


def _plural_batches(n: int) -> str:
    return f"{n} batch" if n == 1 else f"{n} batches"


def _kit_texts(
    schedule: Any, instance: Any, ops: Any, blocks: list[tuple[str, str, np.ndarray]]
) -> dict[int, str] | None:
    """Assembly (docs/semantics.md, "Assembly"): for the first operation of each assembly job
    (op-table row -> text), ``kit complete`` when every child has arrived by the time the
    machine is free for it (the previous job on the machine left it; the plan start for the
    first), else ``waiting for`` the children still missing then, in order of arrival.
    ``None`` for a plan without assembly jobs."""
    parent = np.asarray(getattr(schedule, "job_parent", np.zeros(0)), dtype=np.int64)
    n_jobs = len(schedule.job_ids)
    if parent.shape != (n_jobs,) or not bool(np.any(parent >= 0)):
        return None
    kit_arrive = np.asarray(schedule.finish_arrive, dtype=float)  # a child's: its kit arrival
    jobs = getattr(instance, "jobs", None)
    names = (
        [str(j.component) for j in jobs]
        if jobs is not None and len(jobs) == n_jobs
        else [str(j) for j in schedule.job_ids]
    )
    children: dict[int, list[int]] = {}
    for c in np.flatnonzero(parent >= 0):
        children.setdefault(int(parent[c]), []).append(int(c))
    op_job = np.asarray(schedule.op_job)
    leave = ops.times["leave"]
    out: dict[int, str] = {}
    for _, _, sel in blocks:
        free = 0.0  # when the machine is free for the next job in its run order
        for i in sel:
            i = int(i)
            o = int(ops.op[i])
            j = int(op_job[o])
            first = o == 0 or int(op_job[o - 1]) != j
            if first and j in children:
                late = sorted(
                    (float(kit_arrive[c]), names[c])
                    for c in children[j]
                    if not kit_arrive[c] <= free + 1e-9  # nan (never arrived) is missing too
                )
                out[i] = (
                    KIT_COMPLETE if not late else _fit_list("waiting for ", [n for _, n in late])
                )
            if math.isfinite(float(leave[i])):
                free = max(free, float(leave[i]))
    return out


def _fit_list(prefix: str, items: list[str], max_len: int = DISPATCH_PAUSES_LEN) -> str:
    """``prefix`` and as many of ``items`` as fit ``max_len`` characters (at least one), then
    ``+N``."""
    shown: list[str] = []
    for k, item in enumerate(items):
        rest = len(items) - k - 1
        text = prefix + ", ".join([*shown, item]) + (f" +{rest}" if rest else "")
        if shown and len(text) > max_len:
            break
        shown.append(item)
    more = len(items) - len(shown)
    return prefix + ", ".join(shown) + (f" +{more}" if more else "")


def _working_notes(info: MachineWorkingTime | None) -> list[str]:
    """Lines under a machine's dispatch-list title: its weekly working time, then this
    plan's calendar exceptions and downtime (none for a plant without working time)."""
    if info is None:
        return []
    notes = [f"working time {info.weekly}"]
    if info.period:
        text = "this plan: " + " · ".join(info.period)
        notes.append(text if len(text) <= 300 else text[:299] + "…")
    return notes


# ---------------------------------------------------------------------------------------
def _kpi_sheet(
    wb: Any,
    st: _Styles,
    schedule: Any,
    instance: Any,
    kpis: dict[str, Any],
    result: Any,
    ps: datetime,
    slot: float,
    working: dict[str, MachineWorkingTime] | None,
    label: str,
) -> None:
    ws = wb.create_sheet("KPIs")
    sr = SheetRows(ws, st.cell)
    left: list[list[Any]] = [[st.cell(ws, "Plan", font=st.title)]]
    info: list[tuple[str, Any]] = [
        ("plant / instance", str(getattr(instance, "name", ""))),
        ("plan start", st.cell(ws, ps, fmt=DATETIME_FORMAT)),
        ("goal", str(getattr(result, "goal", "") or "")),
        ("method", str(getattr(result, "method", "") or getattr(schedule, "method", "") or "")),
        ("requested method", str(getattr(result, "requested", "") or "")),
        ("fallback", str(getattr(result, "fallback", None) or "")),
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
        ("exported", st.cell(ws, datetime.now().replace(microsecond=0), fmt=DATETIME_FORMAT)),
    ]
    for k, v in info:
        left.append([st.cell(ws, k, font=st.bold), v])
    left.append([])
    left.append([st.cell(ws, "KPIs", font=st.title)])
    left.append(
        [st.cell(ws, h, font=st.bold, fill=st.header_fill) for h in ("KPI", "value", "unit", "key")]
    )
    done: set[str] = set()
    for key, name, unit in _KPI_LABELS:
        if key in kpis and name not in done:
            done.add(name)
            v = kpis[key]
            if working is not None:  # under working time (docs/semantics.md, "Working time")
                name = _WORKING_NAMES.get(key, name)
            extra = (
                f" ({format_minutes(float(v))})"
                if unit == "min" and isinstance(v, int | float)
                else ""
            )
            left.append([name, _num(v, 4), unit + extra, key])
    for key, v in kpis.items():
        if key not in {k for k, _, _ in _KPI_LABELS} and isinstance(v, int | float):
            left.append([key, _num(v, 4), "", key])
    # per-machine figures to the right (one printed page for the whole sheet)
    right: list[list[Any]] = []
    try:
        from furnsim.kpi import machine_kpis

        per = machine_kpis(schedule, instance)
    except Exception:  # noqa: BLE001
        per = {}
    if per:
        right.append([st.cell(ws, "Machines", font=st.title)])
        if working is not None:
            right.append(
                [
                    st.cell(
                        ws,
                        "minutes are working minutes; utilization = processing / available time",
                        font=st.small,
                    )
                ]
            )
        cols = list(next(iter(per.values())).keys())
        right.append(
            [
                st.cell(ws, h.replace("_", " "), font=st.bold, fill=st.header_fill)
                for h in ["machine", *cols]
            ]
        )
        for m, d in per.items():
            right.append([str(m), *[_num(d[c], 4) for c in cols]])
    if working is not None:
        right += _working_block(ws, st, working)
    gap = 6  # right block from column F
    for r in range(max(len(left), len(right))):
        a = left[r] if r < len(left) else []
        b = right[r] if r < len(right) else []
        line = [*a, *([None] * (gap - 1 - len(a)))] + list(b) if b else list(a)
        spill = [1] if len(a) == 1 else []
        if len(a) == 2 and isinstance(a[1], str):
            spill.append(2)  # a long name runs on over the empty unit / key columns
        if len(b) == 1:
            spill.append(gap)
        sr.add(line, spill=spill)
    print_setup(ws, paper=A4, title_rows="1:1", header=label)
    sr.write(sr.widths(min_widths={5: 2.0}))


_WORKING_NAMES = {
    "utilization_mean": "Mean utilization (of available time)",
    "processing_time": "Processing time (working min)",
    "total_setup_time": "Total setup time (working min)",
    "idle_time": "Idle time (available, unused)",
    "blocked_time": "Blocked time (working min)",
}


def _working_block(ws: Any, st: _Styles, working: dict[str, MachineWorkingTime]) -> list[list[Any]]:
    """KPIs sheet: each calendar's weekly windows, then this plan's exceptions and downtime."""
    out: list[list[Any]] = [[], [st.cell(ws, "Working time", font=st.title)]]
    seen: dict[str, list[str]] = {}
    for m, info in working.items():
        seen.setdefault(info.weekly, []).append(m)
    for weekly, ms in seen.items():
        who = ", ".join(ms) if len(ms) <= 6 else f"{len(ms)} machines"
        out.append([st.cell(ws, f"{weekly} ({who})", font=st.small)])
    exceptions = sorted(
        {p for info in working.values() for p in info.period if not p.startswith("down ")}
    )
    downs = [f"{m}: {p}" for m, i in working.items() for p in i.period if p.startswith("down ")]
    period = exceptions + downs
    for p in period[:40]:
        out.append([st.cell(ws, f"this plan: {p}", font=st.small)])
    return out


# ---------------------------------------------------------------------------------------
_CHARTS_ACROSS = 3
_CHART_COLS = 9  # columns (width _CHART_COL_W) per chart
_CHART_ROWS = 14  # rows per chart
_CHART_COL_W = 9.0


def _buffer_sheet(
    wb: Any, st: _Styles, schedule: Any, instance: Any, ps: datetime, slot: float, label: str
) -> None:
    ws = wb.create_sheet("Buffers")
    sr = SheetRows(ws, st.cell)
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
    first_chart_col = 2 * len(wcs) + 3
    head = [st.cell(ws, "slot start", font=st.bold, fill=st.header_fill)]
    for w in wcs:
        u = units.get(w, "")
        head.append(st.cell(ws, f"{w} level ({u})", font=st.bold, fill=st.header_fill))
        head.append(st.cell(ws, f"{w} capacity", font=st.bold, fill=st.header_fill))
    head += [None] * (first_chart_col - 1 - len(head))
    head.append(
        st.cell(ws, "Buffer level (peak per slot) against capacity, per work center", font=st.title)
    )
    sr.add(head, spill=[first_chart_col])
    for k in range(n):
        line: list[Any] = [st.cell(ws, ps + timedelta(minutes=float(grid[k])), fmt=DATETIME_FORMAT)]
        for w in wcs:
            cap = caps.get(w, math.inf)
            line.append(round(float(peaks[w][k]), 4))
            line.append(cap if math.isfinite(cap) else None)
        sr.add(line)
    n_chart_rows = max(1, math.ceil(len(wcs) / _CHARTS_ACROSS))
    last_col = first_chart_col + _CHARTS_ACROSS * _CHART_COLS - 1
    fixed = {c: _CHART_COL_W for c in range(first_chart_col, last_col + 1)}
    ws.freeze_panes = "B2"
    # one native line chart per work center (level vs capacity), in a grid right of the table
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
        anchor_col = first_chart_col + (i % _CHARTS_ACROSS) * _CHART_COLS
        anchor = f"{get_column_letter(anchor_col)}{2 + (i // _CHARTS_ACROSS) * _CHART_ROWS}"
        ws.add_chart(ch, anchor)
    # printed: the charts (the table is data for them and for the screen)
    area = (
        f"{get_column_letter(first_chart_col)}1:"
        f"{get_column_letter(last_col)}{1 + n_chart_rows * _CHART_ROWS}"
    )
    print_setup(ws, paper=A3, title_rows="1:1", header=label, print_area=area)
    sr.write(sr.widths(fixed=fixed))


# ---------------------------------------------------------------------------------------
def _orders_sheet(
    wb: Any, st: _Styles, status: list[dict[str, Any]], colors: dict[str, str], label: str
) -> None:
    ws = wb.create_sheet("Orders")
    sr = SheetRows(ws, st.cell)
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
    sr.add([st.cell(ws, h, font=st.bold, fill=st.header_fill) for h in heads])
    for r in status:
        col = colors.get(r["order"], "#1F77B4")
        tard = r["tardiness_min"]
        if r["completion"] is None:
            # an order that did not finish is late when it has a deadline
            state = f"{NOT_FINISHED} · LATE" if r["late"] else NOT_FINISHED
            late_by = NOT_FINISHED if r["late"] else ""
        else:
            state = "LATE" if r["late"] else "on time"
            late_by = r["late_by"]
        sr.add(
            [
                st.cell(ws, str(r["order"]), fill=st.fill(col), font=st.font_on(col)),
                str(r["article"]),
                _num(r["quantity"], 3),
                _num(r["priority"], 3),
                st.cell(ws, r["release"], fmt=DATETIME_FORMAT),
                st.cell(ws, r["deadline"], fmt=DATETIME_FORMAT),
                st.cell(
                    ws,
                    r["completion"] if r["completion"] is not None else NOT_FINISHED,
                    fmt=DATETIME_FORMAT,
                ),
                _num(tard, 1) if math.isfinite(tard) and r["completion"] is not None else None,
                late_by,
                st.cell(ws, state, font=st.late if r["late"] else None),
            ]
        )
    ws.freeze_panes = "A2"
    print_setup(ws, paper=A4, title_rows="1:1", header=label)
    sr.write(sr.widths())
