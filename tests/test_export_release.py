"""The Excel sheet *Store releases* (release control, furnsim/solvers/release.py): when each
batch leaves STORE -- a hand-computed plan, a plan without STORE holds (the workbook as
before), formula-like ids, and a long list on paper (two columns, pages that fit)."""

from __future__ import annotations

import dataclasses
import math
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl

from furnsim.export import write_schedule_excel
from furnsim.export.releases import store_held_jobs, store_releases
from furnsim.sim import Simulator
from furnsim.solvers.release import release_just_in_time
from furnsim.validate import validate
from tests._tiny import make, run
from tests.test_export_print import EVIL, _body_mm, _check_widths, _unit_mm, _widths, evil_instance
from tests.test_viz import PS

SHEETS = ["Gantt", "Schedule", "Dispatch lists", "KPIs", "Buffers", "Orders"]
SHEETS_RELEASED = [
    "Gantt",
    "Schedule",
    "Dispatch lists",
    "Store releases",
    "KPIs",
    "Buffers",
    "Orders",
]
HEADS = [
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
]


def _three_on_a_saw():
    """Saw S (buffer 10), STORE -> S 5 min; J0, J1, J2: 10 min on S, volume 4, released at 0.

    The saw takes the highest job index first: at 0 J0 and J1 leave STORE (8 <= 10), J2
    waits for room; J1 5..15, J2 (left when J1 started, at 5) 15..25, J0 25..35."""
    inst = make(
        [[("S", 10.0, "neutral", 4.0)]] * 3,
        capacity={"S": 10.0},
        transport={("STORE", "S"): 5.0},
    )
    inst.plan_start = PS
    s = run(Simulator(inst), choose=lambda d: int(d.candidates.max()))
    return inst, s


def test_hand_computed_releases_in_departure_order(tmp_path: Path) -> None:
    inst, s = _three_on_a_saw()
    assert list(s.times["depart"]) == [0.0, 0.0, 5.0]
    assert list(s.times["start"]) == [25.0, 5.0, 15.0]
    # the plan as made: J2 queued at STORE for room, no holds -> no sheet
    assert [(r.order, r.leaves) for r in store_releases(s, inst)] == [
        ("J0", "at release"),
        ("J1", "at release"),
        ("J2", "queued for room"),
    ]
    assert store_held_jobs(s) == []
    # released just in time: J2 leaves at 15 - 5 = 10, J0 at 25 - 5 = 20; J1 cannot later
    r = release_just_in_time(inst, s)
    assert r is not None and validate(r, inst) == []
    assert list(r.times["depart"]) == [20.0, 0.0, 10.0]
    assert store_held_jobs(r) == ["J0/C0", "J2/C2"]
    p = tmp_path / "released.xlsx"
    write_schedule_excel(r, inst, p)
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == SHEETS_RELEASED
    ws = wb["Store releases"]
    assert [c.value for c in ws[1]] == [*HEADS, None, *HEADS]
    assert str(ws.cell(2, 1).value).startswith(
        "Store releases · 3 batches leave STORE, 2 held there"
    )
    rows = [r[:12] for r in ws.iter_rows(min_row=3, values_only=True)]

    def at(minutes: float) -> datetime:
        return datetime(2026, 3, 2, 6, int(minutes))

    # departure order (not job order): J1 at its release, then J2 and J0 after their holds
    assert rows == [
        (1, at(0), "J1", "A1", "C1", 1, "S", "S", at(5), "at release", None, None),
        (2, at(10), "J2", "A2", "C2", 1, "S", "S", at(15), "held", at(0), at(10)),
        (3, at(20), "J0", "A0", "C0", 1, "S", "S", at(25), "held", at(0), at(20)),
    ]
    # the Schedule sheet's "departs to buffer" agrees
    sched = wb["Schedule"]
    head = [c.value for c in sched[1]]
    dep = {
        row[head.index("order")]: row[head.index("departs to buffer")]
        for row in sched.iter_rows(min_row=2, values_only=True)
    }
    assert dep == {"J0": at(20), "J1": at(0), "J2": at(10)}
    # times within the week print as "Mon 06:10"; the sheet prints like the dispatch lists
    assert ws.cell(3, 2).number_format == "ddd hh:mm"
    assert ws.print_title_rows == "$1:$1" and ws.freeze_panes == "A2"
    assert int(ws.page_setup.paperSize) == 8 and ws.page_setup.orientation == "landscape"
    assert _check_widths(ws) > 0


def _sheet_xml(path: Path) -> dict[str, str]:
    """Every worksheet's XML, the export's own timestamp (KPIs "exported") blanked."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                out[name] = z.read(name).decode()
    return out


def test_a_plan_without_store_holds_gets_the_workbook_as_before(tmp_path: Path) -> None:
    inst, s = _three_on_a_saw()
    r = release_just_in_time(inst, s)
    assert r is not None
    # the same plan as a v1 plan (holds None), as a hold-aware plan without holds, and with
    # only a machine hold: no sheet, and the very same sheets
    books = {}
    for name, holds in (
        ("v1", None),
        ("empty", []),
        ("machine", [{"kind": "machine", "machine": "S", "from": 0.0, "until": 1.0, "job": None}]),
    ):
        plan = dataclasses.replace(r, holds=holds)
        p = tmp_path / f"{name}.xlsx"
        write_schedule_excel(plan, inst, p)
        assert openpyxl.load_workbook(p).sheetnames == SHEETS, name
        books[name] = _sheet_xml(p)
    kpis = "xl/worksheets/sheet4.xml"  # KPIs: its "exported" timestamp differs by the second
    for name in ("empty", "machine"):
        assert books[name].keys() == books["v1"].keys()
        for member, xml in books[name].items():
            if member != kpis:
                assert xml == books["v1"][member], (name, member)
        pat = re.compile(r"<c r=\"B15\".*?</c>", re.S)
        assert pat.sub("", books[name][kpis]) == pat.sub("", books["v1"][kpis])


def test_a_re_plan_lists_only_what_is_still_at_store(tmp_path: Path) -> None:
    """Re-planned at minute 2: J0 and J1 left STORE at 0; J2 (queued for room) is held from
    now until 20, in time for its start at 25 after J1 and J0."""
    from furnsim.replan.service import replan

    inst, s = _three_on_a_saw()
    res = replan(inst, s, 2.0, goal="empty-buffers", method="lns", iterations=5)
    assert res.valid and [h["job"] for h in res.schedule.holds] == ["J2/C2"]
    rel = store_releases(res.schedule, res.instance)
    assert [(r.order, r.depart, r.release, r.held_from, r.held_until) for r in rel] == [
        ("J2", 20.0, 2.0, 2.0, 20.0)
    ]
    p = tmp_path / "replan.xlsx"
    write_schedule_excel(res, res.instance, p)
    ws = openpyxl.load_workbook(p)["Store releases"]
    assert str(ws.cell(2, 1).value).startswith("Store releases · 1 batch leaves STORE, 1 held")
    rows = [r[:12] for r in ws.iter_rows(min_row=3, values_only=True)]
    at = [datetime(2026, 3, 2, 6, m) for m in (20, 25, 2)]
    assert rows == [(1, at[0], "J2", "A2", "C2", 1, "S", "S", at[1], "held", at[2], at[0])]


def test_formula_like_ids_stay_text(tmp_path: Path) -> None:
    inst = evil_instance()
    s = run(Simulator(inst))
    r = release_just_in_time(inst, s)
    assert r is not None and store_held_jobs(r)
    p = tmp_path / "evil.xlsx"
    write_schedule_excel(r, inst, p)
    ws = openpyxl.load_workbook(p)["Store releases"]
    seen = set()
    for row in ws.iter_rows():
        for c in row:
            assert c.data_type != "f", (c.coordinate, c.value)
            if isinstance(c.value, str):
                seen.add(c.value)
                if c.value[:1] in "=+-@":
                    assert c.quotePrefix, (c.coordinate, c.value)
    assert set(EVIL) <= seen and "@SUM(B2)" in seen and "=SAW" in seen and "=SAW-1" in seen
    with zipfile.ZipFile(p) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<f[ >]", z.read(name).decode()), name


def test_a_long_list_prints_two_columns_a_page_and_fits(tmp_path: Path) -> None:
    """300 batches for one saw: most held; the list runs over pages, left column first."""
    n = 300
    inst = make(
        [[("S", 2.0, "neutral", 1.0)]] * n,
        capacity={"S": 4.0},
        transport={("STORE", "S"): 3.0},
    )
    inst.plan_start = PS
    r = release_just_in_time(inst, run(Simulator(inst)))
    assert r is not None
    rel = store_releases(r, inst)
    assert len(rel) == n and len(store_held_jobs(r)) >= n - 5
    p = tmp_path / "long.xlsx"
    write_schedule_excel(r, inst, p)
    ws = openpyxl.load_workbook(p)["Store releases"]
    titles = [
        row for row in range(2, ws.max_row + 1) if str(ws.cell(row, 1).value).startswith("Store")
    ]
    assert len(titles) >= 2 and str(ws.cell(titles[0], 1).value).endswith(
        f"page 1 of {len(titles)}"
    )
    assert sorted(b.id for b in ws.row_breaks.brk) == [t - 1 for t in titles[1:]] + [ws.max_row]
    right0 = len(HEADS) + 2
    nums, departs = [], []
    width_mm = sum(_unit_mm(v) for v in _widths(ws).values())
    scale = int(ws.page_setup.scale)
    assert width_mm * scale / 100 <= _body_mm(ws)[0]
    for r0, r1 in zip(titles, [*titles[1:], ws.max_row + 1], strict=True):
        for col in (1, right0):
            for row in range(r0 + 1, r1):
                if ws.cell(row, col).value is not None:
                    nums.append(ws.cell(row, col).value)
                    departs.append(ws.cell(row, col + 1).value)
        rows_pt = sum(ws.row_dimensions[x].height or 15 for x in [1, *range(r0, r1)])
        assert rows_pt * scale / 100 <= _body_mm(ws)[1] / 25.4 * 72
    assert nums == list(range(1, n + 1))  # every batch once, left column then the right one
    assert departs == sorted(departs)
    want = sorted(np.asarray(r.times["depart"]))
    assert [(d - PS).total_seconds() / 60 for d in departs] == [float(round(x)) for x in want]
    assert not any(math.isnan(x) for x in want)


def test_dashboard_line_names_the_held_batches() -> None:
    from dashboards.sections.release import release_text

    inst, s = _three_on_a_saw()
    assert release_text(s) is None
    r = release_just_in_time(inst, s)
    text = release_text(r)
    assert text is not None and text.startswith("Release control: 2 batches held at STORE")
    assert "Store releases" in text
