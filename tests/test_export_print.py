"""The Excel export on paper and against hostile text, checked by reading the file back.

* text from order files never becomes a formula, in any sheet;
* every column is at least as wide as what its values print as (no ``###``, no cut ids);
* every sheet has a print setup: landscape, fit to the page width (or a scale that makes
  the widest page fit, where manual page breaks need it), repeated title rows, sheet name
  and page number;
* dispatch lists: one machine per page, every operation once, pages that fit the paper;
* orders that did not finish show as late, as the KPIs count them.

The page count of the demo week measured with LibreOffice is in ``docs/dashboard.md``
(LibreOffice is not needed here).
"""

from __future__ import annotations

import math
import re
import zipfile
from datetime import datetime

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from furnsim.export import write_schedule_excel
from furnsim.model import (
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
from furnsim.plan import plan
from furnsim.rules import run_policy
from tests._tiny import make
from tests.test_viz import PS, run_fifo, week_instance

EVIL = ["=1+1", '=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(A1)"]

# the datetime formats the export may use, and what they print as (written out here, not
# taken from the export)
PRINTS_AS = {
    "yyyy-mm-dd hh:mm": "%Y-%m-%d %H:%M",
    "ddd hh:mm": "%a %H:%M",
    "dd.mm.yy hh:mm": "%d.%m.%y %H:%M",
    "ddd dd.mm. hh:mm": "%a %d.%m. %H:%M",  # plants with working time, past one week
}
PAPER_MM = {8: (420.0, 297.0), 9: (297.0, 210.0)}  # A3, A4: long side, short side
LO_PT_PER_UNIT = 7.0  # LibreOffice without Calibri metrics; Excel and Carlito are narrower


def evil_instance() -> Instance:
    """Order, article, component, setup, machine and plant names that look like formulas."""
    setups = ("neutral", "=oak", "-pine")
    mat = np.array([[0, 10, 12], [5, 0, 8], [5, 9, 0]], dtype=float)
    plant = Plant(
        [WorkCenter("=SAW", 10.0), WorkCenter("+EDGE", 10.0)],
        [Machine("=SAW-1", "=SAW", setups, mat), Machine("@EDGE-1", "+EDGE")],
        TransportMatrix(default=2.0),
    )
    arts = [
        Article(
            f"{e}/ART",
            [
                Component(
                    "@SUM(B2)",
                    2,
                    [Operation("=SAW", setups[1 + i % 2], 1.0), Operation("+EDGE", "neutral", 0.5)],
                )
            ],
        )
        for i, e in enumerate(EVIL)
    ]
    orders = [Order(e, f"{e}/ART", 10 + i, deadline=60.0 * (i + 1)) for i, e in enumerate(EVIL)]
    return Instance(plant, Catalog(arts), orders, name="=evil & co", plan_start=PS)


@pytest.fixture(scope="module")
def evil_book(tmp_path_factory):
    inst = evil_instance()
    res = plan(inst, "speed", "rule:FIFO")
    path = tmp_path_factory.mktemp("xl") / "evil.xlsx"
    write_schedule_excel(res, inst, path, slot_minutes=5)
    return path, openpyxl.load_workbook(path)


def test_no_formula_from_user_text_in_any_sheet(evil_book) -> None:
    path, wb = evil_book
    seen: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    seen.setdefault(ws.title, set()).add(c.value)
                    if c.value[:1] in "=+-@":
                        # Excel's quote prefix: the text stays text when someone edits it
                        assert c.quotePrefix, (ws.title, c.coordinate, c.value)
    # the ids are there, as the very characters of the file
    for sheet in ("Schedule", "Orders"):
        assert set(EVIL) <= seen[sheet], sheet
    assert {"=SAW-1", "@EDGE-1"} <= seen["Gantt"]
    assert any(v.startswith("=SAW-1 · work center =SAW") for v in seen["Dispatch lists"])
    assert {"=1+1", "-2+3"} <= seen["Dispatch lists"]
    assert {f"{e}/ART" for e in EVIL} <= seen["Orders"]
    # and no formula element anywhere in the sheets' XML
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode()
                assert not re.search(r"<f[ >]", xml), name
    # "&" in the plant name is escaped for the page header (it starts a header code)
    assert "=evil && co" in wb["Gantt"].oddHeader.right.text


# -- widths ---------------------------------------------------------------------------------
def _widths(ws) -> dict[int, float]:
    w: dict[int, float] = {}
    for dim in ws.column_dimensions.values():
        if dim.width and dim.min:
            for c in range(dim.min, dim.max + 1):
                w[c] = float(dim.width)
    return w


def _printed(c) -> str:
    v = c.value
    if isinstance(v, datetime):
        assert c.number_format in PRINTS_AS, (c.coordinate, c.number_format)
        return v.strftime(PRINTS_AS[c.number_format])
    if isinstance(v, bool):
        return str(v).upper()
    if isinstance(v, int | float):
        return str(int(v)) if float(v).is_integer() else str(v)
    return max(str(v).split("\n"), key=len)


def _check_widths(ws, skip=lambda r, c: False) -> int:
    """Every value fits its column; text may run on into empty cells to its right."""
    widths = _widths(ws)
    checked = 0
    for row in ws.iter_rows():
        for c in row:
            if c.value is None or skip(c.row, c.column):
                continue
            size = float(c.font.sz or 11)
            need = len(_printed(c)) * size / 11 + 0.5
            have = widths.get(c.column, 8.43)
            if isinstance(c.value, str):
                nxt = c.column + 1
                while have < need and ws.cell(c.row, nxt).value is None and nxt < 300:
                    have += widths.get(nxt, 8.43)
                    nxt += 1
            assert have >= need, (ws.title, c.coordinate, c.value, have, need)
            checked += 1
    return checked


@pytest.fixture(scope="module")
def week_book(tmp_path_factory):
    """A 30-order week with deadlines past the first 7 days (dates printed in full)."""
    inst = week_instance(n_orders=30, comps=3, seed=4)
    inst.orders[0].deadline = 9 * 1440.0
    s = run_fifo(inst)
    path = tmp_path_factory.mktemp("xl") / "week.xlsx"
    write_schedule_excel(s, inst, path)
    return inst, s, openpyxl.load_workbook(path)


@pytest.mark.parametrize("book", ["evil_book", "week_book"])
def test_every_column_fits_what_it_prints(book, request) -> None:
    wb = request.getfixturevalue(book)[-1]
    g = wb["Gantt"]
    machines = [r[0] for r in g.iter_rows(min_row=3, max_col=1, values_only=True)]
    n_machines = machines.index(None) if None in machines else len(machines)

    def bars(r: int, c: int) -> bool:  # an order id in a bar is cut where the next bar starts
        return 3 <= r < 3 + n_machines and c >= 3

    assert _check_widths(g, bars) > n_machines
    for ws in wb.worksheets[1:]:
        assert _check_widths(ws) > 0, ws.title
    # the dispatch-list times that printed as ### (width 16 for a 19-character format)
    d = wb["Dispatch lists"]
    starts = [c for c in d["H"] if isinstance(c.value, datetime)]
    assert starts and all(c.number_format in PRINTS_AS for c in starts)


def test_dispatch_times_print_as_weekday_within_the_week(evil_book, week_book) -> None:
    d = evil_book[1]["Dispatch lists"]
    fmts = {c.number_format for row in d.iter_rows() for c in row if isinstance(c.value, datetime)}
    assert fmts == {"ddd hh:mm"}  # a one-day plan: "Mon 06:05"
    d = week_book[-1]["Dispatch lists"]
    due = {c.number_format for c in d["K"] if isinstance(c.value, datetime)}
    assert due == {"dd.mm.yy hh:mm"}  # a deadline 9 days out: "Mon" would be ambiguous


# -- print setup ----------------------------------------------------------------------------
def _body_mm(ws) -> tuple[float, float]:
    long_side, short_side = PAPER_MM[ws.page_setup.paperSize]
    m = ws.page_margins
    return long_side - (m.left + m.right) * 25.4, short_side - (m.top + m.bottom) * 25.4


def _unit_mm(width: float) -> float:
    return width * LO_PT_PER_UNIT * 25.4 / 72


@pytest.mark.parametrize("book", ["evil_book", "week_book"])
def test_every_sheet_has_a_print_setup(book, request) -> None:
    wb = request.getfixturevalue(book)[-1]
    assert wb.sheetnames == ["Gantt", "Schedule", "Dispatch lists", "KPIs", "Buffers", "Orders"]
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.orientation == "landscape", ws.title
        assert int(ps.paperSize) in PAPER_MM, ws.title
        assert ws.print_title_rows, ws.title
        assert "&A" in ws.oddHeader.left.text and "&P" in ws.oddFooter.center.text, ws.title
        assert ws.page_margins.left <= 0.5 and ws.page_margins.top <= 0.75
        manual = bool(ws.row_breaks.brk or ws.col_breaks.brk)
        fit = bool(ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage)
        if manual:
            # Excel ignores manual breaks under "fit to page": a scale instead
            assert not fit and ps.scale and 10 <= int(ps.scale) <= 100, ws.title
        else:
            assert fit and int(ps.fitToWidth) == 1 and int(ps.fitToHeight) == 0, ws.title
    assert wb["Gantt"].print_title_rows == "$1:$2" and wb["Gantt"].print_title_cols == "$A:$B"
    assert wb["Dispatch lists"].print_title_rows == "$1:$1"
    # a data sheet: its print area is the header row, and the page header says so
    sched = wb["Schedule"]
    assert sched.print_area == "'Schedule'!$A$1:$R$1"
    assert "header row only" in sched.oddHeader.right.text
    # the buffer sheet prints its charts
    assert wb["Buffers"].print_area and len(wb["Buffers"]._charts) >= 1


def test_gantt_prints_one_day_per_page_and_the_day_fits(week_book) -> None:
    inst, s, wb = week_book
    g = wb["Gantt"]
    day_cols = [c.column for c in g[1] if c.column >= 3 and c.value]
    assert day_cols[0] == 3 and len(day_cols) >= 2
    # a break before every day but the first (Break.id = the last column of a page)
    assert sorted(b.id for b in g.col_breaks.brk) == [c - 1 for c in day_cols[1:]]
    w = _widths(g)
    last = max(c.column for c in g[2])
    pages = [*day_cols, last + 1]
    widest = max(
        sum(_unit_mm(w[c]) for c in range(a, b)) for a, b in zip(pages, pages[1:], strict=False)
    )
    printed = (_unit_mm(w[1]) + _unit_mm(w[2]) + widest) * int(g.page_setup.scale) / 100
    assert printed <= _body_mm(g)[0]
    assert int(g.page_setup.paperSize) == 8  # A3


def test_gantt_of_short_slots_prints_half_days(tmp_path) -> None:
    """15-minute slots: 96 columns a day would print at 40 %; a page is 12 hours instead."""
    inst = week_instance(n_orders=12, comps=2, seed=2)
    s = run_fifo(inst)
    write_schedule_excel(s, inst, tmp_path / "q.xlsx", slot_minutes=15)
    g = openpyxl.load_workbook(tmp_path / "q.xlsx")["Gantt"]
    starts = [c for c in g[2] if c.column >= 3]  # row 2: the time of every slot's start
    page_first = sorted(b.id + 1 for b in g.col_breaks.brk)
    assert page_first, "a plan of more than 12 hours"
    # every page starts at midnight or noon, and every midnight and noon starts a page
    at_12h = [c.column for c in starts if c.value in ("00:00", "12:00") and c.column > 3]
    assert page_first == at_12h
    assert all(g.cell(1, c).value for c in page_first)  # the day is named on every page
    bounds = [3, *page_first, max(c.column for c in starts) + 1]
    assert max(b - a for a, b in zip(bounds, bounds[1:], strict=False)) <= 48
    assert int(g.page_setup.scale) >= 60


# -- dispatch lists ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def long_lists(tmp_path_factory):
    """400 operations on saw A, 3 on edge B: the saw's list runs over several pages."""
    routes = [[("A", 1.0, "neutral", 0.0)]] * 400 + [[("B", 2.0, "neutral", 0.0)]] * 3
    inst = make(routes, deadlines=[3000.0] * 403)
    inst.plan_start = PS
    s = run_fifo(inst)
    path = tmp_path_factory.mktemp("xl") / "long.xlsx"
    write_schedule_excel(s, inst, path)
    return openpyxl.load_workbook(path)["Dispatch lists"]


def test_dispatch_lists_one_machine_per_page_every_operation_once(long_lists) -> None:
    d = long_lists
    assert [c.value for c in d[1]][:3] == ["#", "order", "article"]
    titles = [
        (r, str(d.cell(r, 1).value))
        for r in range(2, d.max_row + 1)
        if " · work center " in str(d.cell(r, 1).value)
    ]
    assert titles[0][0] == 2
    breaks = sorted(b.id for b in d.row_breaks.brk)
    # a page ends before every title but the first, and after the last row
    assert breaks == [r - 1 for r, _ in titles[1:]] + [d.max_row]
    saw = [t for _, t in titles if t.startswith("A ·")]
    edge = [t for _, t in titles if t.startswith("B ·")]
    assert len(saw) >= 2 and len(edge) == 1
    assert saw[0].endswith(f"page 1 of {len(saw)}") and "400 operations" in saw[0]
    # every operation once, numbered in run order, left column first then the right one
    right0 = 13  # 11 columns, a spacer, then the right half
    nums: dict[str, list[int]] = {"A": [], "B": []}
    for (r0, t), r1 in zip(titles, [r for r, _ in titles[1:]] + [d.max_row + 1], strict=True):
        m = t.split(" ·")[0]
        left = [d.cell(r, 1).value for r in range(r0 + 1, r1)]
        right = [d.cell(r, right0).value for r in range(r0 + 1, r1) if d.cell(r, right0).value]
        assert all(isinstance(v, int) for v in left + right)
        page = left + right
        assert page == list(range(page[0], page[0] + len(page)))
        nums[m] += page
        # the page fits the paper height at the sheet's scale (row heights as written)
        rows_pt = sum(d.row_dimensions[r].height or 15 for r in [1, *range(r0, r1)])
        body_pt = _body_mm(d)[1] / 25.4 * 72
        assert rows_pt * int(d.page_setup.scale) / 100 <= body_pt, (t, rows_pt)
        # and the width
        width_mm = sum(_unit_mm(v) for v in _widths(d).values())
        assert width_mm * int(d.page_setup.scale) / 100 <= _body_mm(d)[0]
    assert nums["A"] == list(range(1, 401)) and nums["B"] == [1, 2, 3]
    # run order: start times rise down the left column, on into the right one
    starts = []
    for r in range(titles[0][0] + 1, titles[1][0]):
        starts.append((d.cell(r, 1).value, d.cell(r, 8).value))
        if d.cell(r, right0).value:
            starts.append((d.cell(r, right0).value, d.cell(r, right0 + 7).value))
    starts.sort()
    assert [t for _, t in starts] == sorted(t for _, t in starts)


# -- unfinished orders ----------------------------------------------------------------------
def _lowest_index(sim, d) -> int:
    return int(d.candidates.min())


def test_unfinished_orders_show_as_late_as_the_kpis_count_them(tmp_path) -> None:
    inst = make(
        [[("A", 5, "neutral", 1.0), ("B", 5, "neutral", 1.0)]] * 2
        + [[("B", 5, "neutral", 1.0), ("A", 5, "neutral", 1.0)]] * 2,
        capacity={"A": 1, "B": 1},
        deadlines=[100.0, 100.0, math.inf, 100.0],
    )
    inst.plan_start = PS
    s, sim = run_policy(inst, _lowest_index)
    assert sim.deadlock is not None and not s.complete
    from furnsim.kpi import kpis

    k = kpis(s, inst)
    p = tmp_path / "deadlock.xlsx"
    write_schedule_excel(s, inst, p)
    wb = openpyxl.load_workbook(p)
    rows = list(wb["Orders"].iter_rows(min_row=2, values_only=True))
    head = [c.value for c in wb["Orders"][1]]
    by = {r[0]: dict(zip(head, r, strict=True)) for r in rows}
    unfinished = [o for o, r in by.items() if r["completion"] == "not finished"]
    assert unfinished, "the deadlock leaves orders unfinished"
    for o in unfinished:
        assert by[o]["status"] == "not finished · LATE" and by[o]["late by"] == "not finished"
        assert by[o]["late minutes"] is None
    kpi = {r[0]: r[1] for r in wb["KPIs"].iter_rows(values_only=True) if r and r[0]}
    n_late = sum(1 for r in by.values() if "LATE" in str(r["status"]))
    assert kpi["Late orders"] == k["late_orders"] == n_late


# -- any text round-trips as text ------------------------------------------------------------
_TRICKY = st.sampled_from(["=", "+", "-", "@", "#N/A", "#REF!", "=1+1", "\t=x", " =y", "'", ""])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            _TRICKY,
            st.text(max_size=40),
            _TRICKY.flatmap(lambda p: st.text(max_size=10).map(lambda t: p + t)),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_is_written_as_text(values) -> None:
    """Whatever a name holds (formula starts, error codes, control characters), it reads
    back as the same text: never a formula, never an error value."""
    import io

    from openpyxl import Workbook

    from furnsim.export._layout import CellMaker, SheetRows, clean_text

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    sr = SheetRows(ws, CellMaker())
    sr.add(values)
    sr.write(sr.widths())
    buf = io.BytesIO()
    wb.save(buf)
    back = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["t"]
    for col, v in enumerate(values, start=1):
        c = back.cell(1, col)
        want = clean_text(v).replace("\r\n", "\n").replace("\r", "\n")  # XML line ends
        if want == "":
            assert c.value is None
            continue
        assert c.data_type == "s" and c.value == want, (v, c.value, c.data_type)
