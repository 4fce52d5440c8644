"""The Excel export of a plant with working time (calendars, downtime), read back with openpyxl.

Golden case, computed by hand. Plan start Monday 2026-12-21 06:00; slots of 15 minutes.

* Work center ``W`` (machine ``M``) on calendar ``DAY``: Mon-Fri 06:00-10:00 and 10:30-14:00
  (a 30-minute break). ``J0`` (180 min, setup ``oak``, no setup time from neutral) runs
  06:00-09:00; ``J1`` (120 min, setup ``pine``, 30 min from ``oak``) is set up 09:00-09:30,
  runs 09:30-10:00, pauses over the break 10:00-10:30 and runs on 10:30-12:00:
  segments ``[[210, 240], [270, 360]]``.
* Work center ``V`` (machine ``N``) runs 24/7 but is down Monday 07:00-08:00 ("oil change").
  ``J2`` (90 min) runs 06:00-07:00, pauses over the downtime, runs 08:00-08:30:
  segments ``[[0, 60], [120, 150]]``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from furnsim import viz
from furnsim.export import GANTT_FIRST_COL, GANTT_FIRST_ROW, write_schedule_excel
from furnsim.export.excel import CLOSED_FILL_HEX, DOWN_FILL_HEX, SETUP_FILL_HEX
from furnsim.model import (
    NEUTRAL,
    Article,
    Calendar,
    Catalog,
    Component,
    Downtime,
    Instance,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    Window,
    WorkCenter,
)
from furnsim.plan import plan
from tests.test_viz import run_fifo, setup_instance

MON = datetime(2026, 12, 21, 6, 0)
WEEKDAYS = (0, 1, 2, 3, 4)
DAY = Calendar("DAY", (Window(WEEKDAYS, 6 * 60, 10 * 60), Window(WEEKDAYS, 10 * 60 + 30, 14 * 60)))
SLOT = 15


def golden_instance() -> Instance:
    ids = (NEUTRAL, "oak", "pine")
    mat = np.array([[0.0, 0.0, 0.0], [30.0, 0.0, 30.0], [30.0, 30.0, 0.0]])
    plant = Plant(
        [WorkCenter("W", calendar="DAY"), WorkCenter("V")],
        [Machine("M", "W", ids, mat), Machine("N", "V")],
        TransportMatrix(default=0.0),
        calendars=[DAY],
        downtime=[
            Downtime("N", datetime(2026, 12, 21, 7), datetime(2026, 12, 21, 8), "oil change")
        ],
    )
    arts = [
        Article("A0", [Component("C", 1.0, [Operation("W", "oak", 180.0)])]),
        Article("A1", [Component("C", 1.0, [Operation("W", "pine", 120.0)])]),
        Article("A2", [Component("C", 1.0, [Operation("V", NEUTRAL, 90.0)])]),
    ]
    orders = [
        Order("J0", "A0", 1.0, deadline=600.0),
        Order("J1", "A1", 1.0, deadline=300.0),
        Order("J2", "A2", 1.0, deadline=600.0),
    ]
    return Instance(plant, Catalog(arts), orders, name="shifts", plan_start=MON)


def _rgb(cell) -> str:
    return str(cell.fill.fgColor.rgb)[-6:].upper() if cell.fill.fill_type else ""


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    inst = golden_instance()
    res = plan(inst, "speed", "rule:FIFO")
    assert res.valid
    s = res.schedule
    by_order = {inst.jobs[int(s.op_job[o])].order: o for o in range(s.n_ops)}
    # the hand-computed plan (the premise of every test below)
    assert s.op_segments(by_order["J0"]) == [[0.0, 180.0]]
    assert s.op_setup_segments(by_order["J1"]) == [[180.0, 210.0]]
    assert s.op_segments(by_order["J1"]) == [[210.0, 240.0], [270.0, 360.0]]
    assert s.op_segments(by_order["J2"]) == [[0.0, 60.0], [120.0, 150.0]]
    path = tmp_path_factory.mktemp("xl") / "shifts.xlsx"
    write_schedule_excel(res, inst, path, slot_minutes=SLOT)
    return inst, res, openpyxl.load_workbook(path)


def test_gantt_greys_the_break_and_bars_only_over_segments(golden) -> None:
    inst, _, wb = golden
    g = wb["Gantt"]
    colors = {o: c.lstrip("#").upper() for o, c in viz.order_colors(inst).items()}
    row_m = GANTT_FIRST_ROW  # plant order: M (work center W), then N
    assert g.cell(row_m, 1).value == "M" and g.cell(row_m + 1, 1).value == "N"

    def slot(row: int, k: int):
        return g.cell(row, GANTT_FIRST_COL + k)

    # M: J0 06:00-09:00 (slots 0-11), setup 09:00-09:30 (12-13), J1 09:30-10:00 (14-15),
    # the break 10:00-10:30 (16-17) grey, J1 again 10:30-12:00 (18-23)
    want = (
        [colors["J0"]] * 12
        + [SETUP_FILL_HEX] * 2
        + [colors["J1"]] * 2
        + [CLOSED_FILL_HEX] * 2
        + [colors["J1"]] * 6
    )
    assert [_rgb(slot(row_m, k)) for k in range(24)] == want
    assert CLOSED_FILL_HEX not in colors.values()
    assert slot(row_m, 16).value is None and slot(row_m, 17).value is None
    assert slot(row_m, 12).value == "S"
    # each piece of the paused bar carries the order id where it starts
    assert slot(row_m, 14).value == "J1" and slot(row_m, 18).value == "J1"
    assert slot(row_m, 0).value == "J0"
    # N: J2 06:00-07:00, down 07:00-08:00 (its reason in the first cell), J2 08:00-08:30
    want_n = [colors["J2"]] * 4 + [DOWN_FILL_HEX] * 4 + [colors["J2"]] * 2
    assert [_rgb(slot(row_m + 1, k)) for k in range(10)] == want_n
    assert slot(row_m + 1, 4).value == "oil change"
    assert [slot(row_m + 1, k).value for k in (5, 6, 7)] == [None, None, None]
    assert slot(row_m + 1, 8).value == "J2"
    # N runs 24/7: nothing after 08:30 is greyed
    assert all(_rgb(slot(row_m + 1, k)) == "" for k in range(10, 24))
    # the key explains grey and downtime, and names the downtime with its reason
    key = " ".join(str(c.value) for row in g.iter_rows(min_row=row_m + 3) for c in row if c.value)
    assert "closed" in key and "CNC" not in key
    assert "N Mon 21.12. 07:00–08:00 oil change" in key
    # the day header names the day's downtime (and calendar exceptions)
    assert g["C1"].value == "Mon 21.12.   N down 07:00–08:00 oil change"


def _dispatch(wb) -> dict[str, list[dict]]:
    """Per machine: its title, note lines and operation rows (left half) as dicts."""
    d = wb["Dispatch lists"]
    rows = list(d.iter_rows(values_only=True))
    head = list(rows[0])
    n = head.index(None)  # the spacer column ends the left half
    out: dict[str, list[dict]] = {}
    cur: list[dict] = []
    for r in rows[1:]:
        if isinstance(r[0], str) and " · work center " in r[0]:
            cur = out.setdefault(r[0].split(" ·")[0], [])
            cur.append({"title": r[0]})
        elif isinstance(r[0], str):
            cur.append({"note": r[0]})
        elif isinstance(r[0], int):
            cur.append(dict(zip(head[:n], r[:n], strict=True)))
    return out


def test_dispatch_lists_show_both_segments_and_the_working_time(golden) -> None:
    _, _, wb = golden
    d = wb["Dispatch lists"]
    head = [c.value for c in d[1]]
    assert head[:12] == [
        "#",
        "order",
        "article",
        "component",
        "qty",
        "setup",
        "setup at",
        "start",
        "end",
        "pauses",
        "next",
        "due",
    ]
    lists = _dispatch(wb)
    m, n = lists["M"], lists["N"]
    assert m[1] == {"note": "working time DAY: Mon–Fri 06:00–10:00, 10:30–14:00"}
    ops_m = [r for r in m if "order" in r]
    assert [r["order"] for r in ops_m] == ["J0", "J1"]
    j1 = ops_m[1]
    # real datetimes; the pause between the two segments; setup before
    assert j1["setup at"] == datetime(2026, 12, 21, 9, 0)
    assert j1["start"] == datetime(2026, 12, 21, 9, 30)
    assert j1["end"] == datetime(2026, 12, 21, 12, 0)
    assert j1["pauses"] == "10:00–10:30"
    assert ops_m[0]["pauses"] is None
    # the times print as weekday and time
    cell = next(c for c in d["H"] if c.value == datetime(2026, 12, 21, 9, 30))
    assert cell.number_format == "ddd hh:mm"
    # N: 24/7 with its downtime noted, and the pause over it
    assert n[1] == {"note": "working time 24/7"}
    assert n[2] == {"note": "this plan: down Mon 21.12. 07:00–08:00 oil change"}
    j2 = [r for r in n if "order" in r][0]
    assert j2["pauses"] == "07:00–08:00"
    assert (j2["start"], j2["end"]) == (datetime(2026, 12, 21, 6), datetime(2026, 12, 21, 8, 30))


def test_schedule_sheet_has_working_minutes_and_pauses(golden) -> None:
    _, _, wb = golden
    ws = wb["Schedule"]
    head = [c.value for c in ws[1]]
    recs = [dict(zip(head, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    j1 = next(r for r in recs if r["order"] == "J1")
    assert j1["processing min"] == 120  # working minutes, not 09:30-12:00 = 150
    assert j1["setup min"] == 30
    assert j1["pauses"] == "10:00–10:30"
    assert ws.print_area == "'Schedule'!$A$1:$S$1"


def test_kpi_sheet_reads_the_working_time_kpis(golden) -> None:
    _, res, wb = golden
    rows = [r for r in wb["KPIs"].iter_rows(values_only=True) if r and r[0]]
    kpi = {r[0]: r[1] for r in rows}
    k = res.kpis
    assert kpi["Available machine time"] == pytest.approx(k["available_time"])
    assert kpi["Closed machine time"] == pytest.approx(k["closed_time"])
    assert kpi["Overtime worked"] == pytest.approx(k["overtime_minutes"])
    assert kpi["Extra windows used"] == pytest.approx(k["extra_windows_used"])
    assert kpi["Mean utilization (of available time)"] == pytest.approx(
        k["utilization_mean"], abs=5e-5
    )
    # by hand: makespan 360; M works 360 - 30 (break) = 330 minutes of it, N 360 - 60 = 300
    assert k["available_time"] == pytest.approx(630.0)
    assert k["closed_time"] == pytest.approx(90.0)
    assert k["utilization_mean"] == pytest.approx((300 / 330 + 90 / 300) / 2)
    texts = [str(v) for r in wb["KPIs"].iter_rows(values_only=True) for v in r if v]
    assert "Working time" in texts
    assert any(t.startswith("DAY: Mon–Fri 06:00–10:00, 10:30–14:00 (M)") for t in texts)
    assert "this plan: N: down Mon 21.12. 07:00–08:00 oil change" in texts


def test_a_different_plan_start_is_refused_under_working_time(tmp_path) -> None:
    inst = golden_instance()
    res = plan(inst, "speed", "rule:FIFO")
    with pytest.raises(ValueError, match="working time"):
        write_schedule_excel(res, inst, tmp_path / "x.xlsx", plan_start=datetime(2027, 1, 4, 6))
    # the instance's own plan start is fine
    write_schedule_excel(res, inst, tmp_path / "x.xlsx", plan_start=MON)


def test_24_7_plants_are_unchanged(tmp_path) -> None:
    inst = setup_instance()
    s = run_fifo(inst)
    assert s.segments is None
    write_schedule_excel(s, inst, tmp_path / "p.xlsx", slot_minutes=5)
    wb = openpyxl.load_workbook(tmp_path / "p.xlsx")
    d = wb["Dispatch lists"]
    assert "pauses" not in [c.value for c in d[1]]
    assert len([c.value for c in d[1]]) == 2 * 11 + 1
    assert not any(
        isinstance(v, str) and v.startswith(("working time", "this plan"))
        for r in d.iter_rows(values_only=True)
        for v in r
    )
    fills = {_rgb(c) for row in wb["Gantt"].iter_rows() for c in row}
    assert CLOSED_FILL_HEX not in fills and DOWN_FILL_HEX not in fills
    assert "pauses" not in [c.value for c in wb["Schedule"][1]]
    texts = {str(v) for r in wb["KPIs"].iter_rows(values_only=True) for v in r if v}
    assert "Working time" not in texts and "Mean utilization" in texts


def test_columns_fit_and_dates_past_a_week_name_the_weekday(tmp_path) -> None:
    from tests.test_export_print import _check_widths

    inst = golden_instance()
    inst.orders[0].deadline = 10 * 1440.0  # Thu 31.12. 06:00: "Thu" alone would be ambiguous
    res = plan(inst, "speed", "rule:FIFO")
    write_schedule_excel(res, inst, tmp_path / "w.xlsx", slot_minutes=SLOT)
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    d = wb["Dispatch lists"]
    due = {c.number_format for c in d["L"] if isinstance(c.value, datetime)}
    assert due == {"ddd dd.mm. hh:mm"}
    for ws in wb.worksheets[1:]:
        assert _check_widths(ws) > 0, ws.title


# -- any calendar: what a slot shows is what fills it ------------------------------------------
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first_end=st.integers(7, 10),  # the first window 06:00 .. first_end:00
    gap=st.sampled_from([15, 30, 45, 60]),  # the break
    down_at=st.integers(0, 16),  # N's downtime starts 06:00 + down_at quarter hours
    down_len=st.integers(1, 8),  # quarter hours
    minutes=st.lists(st.integers(5, 60).map(lambda x: 5 * x), min_size=2, max_size=5),
)
def test_each_slot_shows_what_fills_it(first_end, gap, down_at, down_len, minutes) -> None:
    import io

    from furnsim.calendar import compile_working_time

    cal = Calendar(
        "C",
        (
            Window(WEEKDAYS, 6 * 60, first_end * 60),
            Window(WEEKDAYS, first_end * 60 + gap, 22 * 60),
        ),
    )
    d0 = MON + timedelta(minutes=15 * down_at)
    plant = Plant(
        [WorkCenter("W", calendar="C"), WorkCenter("V")],
        [Machine("M", "W"), Machine("N", "V")],
        TransportMatrix(default=0.0),
        calendars=[cal],
        downtime=[Downtime("N", d0, d0 + timedelta(minutes=15 * down_len), "repair")],
    )
    arts = [
        Article(f"A{j}", [Component("C", 1.0, [Operation("W" if j % 2 else "V", NEUTRAL, p)])])
        for j, p in enumerate(minutes)
    ]
    orders = [Order(f"J{j}", f"A{j}", 1.0) for j in range(len(minutes))]
    inst = Instance(plant, Catalog(arts), orders, name="p", plan_start=MON)
    res = plan(inst, "speed", "rule:FIFO")
    assert res.valid
    s = res.schedule
    buf = io.BytesIO()
    write_schedule_excel(res, inst, buf, slot_minutes=SLOT)
    g = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["Gantt"]
    colors = {o: c.lstrip("#").upper() for o, c in viz.order_colors(inst).items()}
    wt = compile_working_time(plant, MON)
    n_slots = max(c.column for c in g[2]) - GANTT_FIRST_COL + 1
    down = ((d0 - MON).total_seconds() / 60, (d0 - MON).total_seconds() / 60 + 15 * down_len)
    checked = 0
    for r, mid in enumerate(("M", "N")):
        mt = wt.machines[r]
        segs = [
            (a, b, inst.jobs[int(s.op_job[o])].order)
            for o in range(s.n_ops)
            if s.machine_ids[int(s.op_machine[o])] == mid
            for a, b in s.op_segments(o)
        ]
        for k in range(n_slots):
            a, b = k * SLOT, (k + 1) * SLOT
            got = _rgb(g.cell(GANTT_FIRST_ROW + r, GANTT_FIRST_COL + k))
            if mid == "N" and down[0] <= a and b <= down[1]:
                assert got == DOWN_FILL_HEX, (mid, k)
            elif float(mt.worked(a, b)) == 0:  # closed the whole slot
                assert got == CLOSED_FILL_HEX, (mid, k)
            else:
                inside = [o for x, y, o in segs if x <= a and b <= y]
                if inside:
                    assert got == colors[inside[0]], (mid, k)
                else:
                    continue
            checked += 1
    assert checked > 0


def test_working_time_in_words() -> None:
    from furnsim.calendar import THREE_SHIFTS, calendar_from_rows
    from furnsim.export._working import calendar_text, pauses_text, span_text

    assert calendar_text(calendar_from_rows("3-SHIFT", THREE_SHIFTS)) == (
        "Mon–Fri 02:15–06:00, 06:00–10:00, 10:15–18:00, 18:15–22:00; Sun–Thu 22:00–02:00"
    )
    wed = calendar_from_rows("X", (("Mon", "06:00", "10:00"), ("Sat-Mon", "12:00", "13:00")))
    assert calendar_text(wed) == "Mon 06:00–10:00; Sat–Mon 12:00–13:00"
    assert span_text(datetime(2026, 3, 6), datetime(2026, 3, 7)) == "Fri 06.03. 00:00–24:00"
    assert span_text(datetime(2026, 12, 24), datetime(2026, 12, 27)) == (
        "Thu 24.12. 00:00–Sun 27.12. 00:00"
    )
    # Monday 06:00 + minutes: a break, the night to Tuesday, a setup over the weekend
    assert pauses_text(MON, [[0, 240], [255, 300]], []) == "10:00–10:15"
    assert pauses_text(MON, [[900, 960], [1440, 1500]], []) == "22:00–Tue 06:00"
    fri = 4 * 1440 + 900  # Fri 21:00
    assert pauses_text(MON, [], [[fri, fri + 60], [7 * 1440, 7 * 1440 + 5]]) == (
        "setup 22:00–Mon 06:00"
    )
    # two weeks later: the date too
    assert pauses_text(MON, [[0, 60], [15 * 1440, 15 * 1440 + 1]], []) == ("07:00–Tue 05.01. 06:00")
    many = [[k * 60.0, k * 60.0 + 30] for k in range(6)]  # five pauses of 30 minutes
    assert (
        pauses_text(MON, many, [])
        == "06:30–07:00, 07:30–08:00, 08:30–09:00, 09:30–10:00, 10:30–11:00"
    )
    assert pauses_text(MON, many, [], max_len=27) == "06:30–07:00, 07:30–08:00 +3"  # 27 long
    assert pauses_text(MON, many, [], max_len=26) == "06:30–07:00 +4"
    assert pauses_text(MON, many, [], max_len=5) == "06:30–07:00 +4"  # at least one
