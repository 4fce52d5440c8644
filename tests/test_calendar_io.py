"""Working-time input (calendars, calendar_exceptions, downtime, work-center calendar columns):
read the same from Excel, CSV and YAML, and every problem names file, sheet, row and column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from furnsim.errors import DataError
from furnsim.io import load_instance
from furnsim.io._calendars import parse_clock, parse_days

from ._fixtures import FORMATS, Tables, base_tables, file_of, user_row, write


def cal_tables() -> Tables:
    """The base fixture with two shifts Mon-Fri on SAW, a holiday, a non-interruptible EDGE."""
    t = base_tables()
    t["calendars"] = [
        {"calendar": "2S", "days": "Mon-Fri", "start": "06:00", "end": "14:00"},
        {"calendar": "2S", "days": "Mon-Fri", "start": "14:30", "end": "22:00"},
        {"calendar": "NIGHT", "days": "Sun-Thu", "start": "22:00", "end": "06:00"},
    ]
    t["calendar_exceptions"] = [
        {"calendar": None, "from": "2026-11-24 00:00", "to": "2026-11-25 00:00", "working": "no"},
        {"calendar": "2S", "from": "2026-11-28 06:00", "to": "2026-11-28 12:00", "working": "yes"},
    ]
    t["downtime"] = [
        {
            "machine": "SAW-1",
            "from": "2026-11-23 06:00",
            "to": "2026-11-23 10:00",
            "reason": "maint",
        },
    ]
    t["work_centers"][0]["calendar"] = "2S"
    t["work_centers"][1]["interruptible"] = "no"
    t["work_centers"][1]["calendar"] = "2S"
    return t


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_all_formats(fmt: str, tmp_path: Path) -> None:
    inst = load_instance(write(cal_tables(), fmt, tmp_path))
    p = inst.plant
    assert [(w.calendar, w.interruptible) for w in p.work_centers] == [
        ("2S", True),
        ("2S", False),
        (None, True),
    ]
    assert [c.id for c in p.calendars] == ["2S", "NIGHT"]
    assert p.calendars[2 - 1].windows[0].days == (0, 1, 2, 3, 6)  # Sun-Thu wraps
    assert [(e.calendar, e.working) for e in p.calendar_exceptions] == [(None, False), ("2S", True)]
    assert p.downtime[0].start == datetime(2026, 11, 23, 6)
    wt = inst.compiled.working
    saw1 = wt.machines[0]
    # plan start Mon 06:00; SAW-1 down until 10:00; Tue is a holiday; Sat 06:00-12:00 overtime
    assert saw1.starts[:4].tolist() == [240, 510, 2880, 3390]
    assert saw1.ends[:4].tolist() == [480, 960, 3360, 3840]
    assert 5 * 1440 in saw1.starts.tolist()  # Sat 06:00
    assert saw1.extra[0].tolist() == [5 * 1440] and saw1.extra[1].tolist() == [5 * 1440 + 360]
    assert wt.machines[3] is None  # DRILL: no calendar, no downtime = 24/7
    assert wt.machine_interruptible == [True, True, False, True]


def test_default_calendar_from_settings(tmp_path: Path) -> None:
    t = cal_tables()
    t["settings"].append({"key": "calendar", "value": "NIGHT"})
    inst = load_instance(write(t, "yaml", tmp_path))
    assert inst.plant.default_calendar == "NIGHT"
    assert inst.plant.calendar_of("DRILL").id == "NIGHT"  # type: ignore[union-attr]
    assert inst.plant.calendar_of("SAW").id == "2S"  # type: ignore[union-attr]


def test_no_calendar_is_24_7(tmp_path: Path) -> None:
    inst = load_instance(write(base_tables(), "csv", tmp_path))
    assert inst.compiled.working is None


def test_unquoted_yaml_times(tmp_path: Path) -> None:
    p = write(cal_tables(), "yaml", tmp_path)
    text = p.read_text().replace("'06:00'", "06:00").replace("'14:00'", "14:00")
    text = text.replace("'14:30'", "14:30").replace("'22:00'", "22:00")
    p.write_text(text)
    assert "end: 14:00" in text or "14:00}" in text
    inst = load_instance(p)
    w = inst.plant.calendars[0].windows
    assert [(x.start, x.end) for x in w] == [(360, 840), (870, 1320)]


def test_parsers() -> None:
    assert parse_days("Mon-Fri") == (0, 1, 2, 3, 4)
    assert parse_days("sat") == (5,)
    assert parse_days("Mon,Wed,Fri") == (0, 2, 4)
    assert parse_days("Fri-Mon") == (0, 4, 5, 6)
    assert parse_days("Sunday") == (6,)
    assert isinstance(parse_days("Mo-Fr"), str)
    assert parse_clock("6:00", False) == 360
    assert parse_clock("24:00", False) == 1440
    assert parse_clock(0.25, False) == 360  # Excel fraction of a day
    assert parse_clock(840, True) == 840  # YAML base-60 14:00
    assert isinstance(parse_clock("25:00", False), str)
    assert isinstance(parse_clock(6, False), str)


# -- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Tables], Any]
    sheet: str
    row: int | None  # 0-based data row of `sheet`
    column: str
    words: tuple[str, ...]


def setv(sheet: str, idx: int, **values: Any) -> Callable[[Tables], None]:
    def f(t: Tables) -> None:
        t[sheet][idx].update(values)

    return f


def add(sheet: str, row: dict[str, Any]) -> Callable[[Tables], None]:
    def f(t: Tables) -> None:
        t[sheet].append(row)

    return f


# fmt: off
CASES = [
    Case("wc-unknown-calendar", setv("work_centers", 2, calendar="2SS"), "work_centers", 2, "calendar",
         ("unknown calendar", "'2SS'", "did you mean '2S'")),
    Case("wc-interruptible-bad", setv("work_centers", 2, interruptible="maybe"), "work_centers", 2,
         "interruptible", ("yes or no",)),
    Case("bad-day", setv("calendars", 1, days="Mon-Fry"), "calendars", 1, "days", ("unknown day", "fry")),
    Case("zero-window", setv("calendars", 0, end="06:00"), "calendars", 0, "end", ("zero length",)),
    Case("bad-time", setv("calendars", 0, start="6 Uhr"), "calendars", 0, "start", ("not a time of day",)),
    Case("missing-days", setv("calendars", 0, days=None), "calendars", 0, "days", ("missing",)),
    Case("exc-unknown-calendar", setv("calendar_exceptions", 1, calendar="NIGH"), "calendar_exceptions", 1,
         "calendar", ("unknown calendar", "did you mean 'NIGHT'")),
    Case("exc-working-bad", setv("calendar_exceptions", 0, working="perhaps"), "calendar_exceptions", 0,
         "working", ("yes or no",)),
    Case("exc-to-before-from", setv("calendar_exceptions", 0, to="2026-11-23 00:00"), "calendar_exceptions",
         0, "to", ("must be after",)),
    Case("exc-bad-date", setv("calendar_exceptions", 1, **{"from": "soon"}), "calendar_exceptions", 1,
         "from", ("not a valid date",)),
    Case("down-unknown-machine", setv("downtime", 0, machine="SAW-3"), "downtime", 0, "machine",
         ("unknown machine", "SAW-3")),
    Case("down-overlap", add("downtime", {"machine": "SAW-1", "from": "2026-11-23 09:00",
                                          "to": "2026-11-23 11:00"}), "downtime", 1, "from",
         ("overlaps", "row")),
    Case("settings-unknown-calendar", add("settings", {"key": "calendar", "value": "NITE"}), "settings", 2,
         "value", ("unknown calendar", "NIGHT")),
]
# fmt: on


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_errors_name_file_sheet_row_column(case: Case, fmt: str, tmp_path: Path) -> None:
    t = cal_tables()
    case.mutate(t)
    path = write(t, fmt, tmp_path)
    with pytest.raises(DataError) as ei:
        load_instance(path)
    hits = [
        i
        for i in ei.value.issues
        if i.sheet == case.sheet
        and i.column == case.column
        and all(w.lower() in i.message.lower() for w in case.words)
    ]
    assert hits, "\n".join(map(str, ei.value.issues))
    want = user_row(path, fmt, case.sheet, case.row) if case.row is not None else None
    assert any(i.row == want for i in hits), [str(i) for i in hits]
    assert any(i.file == file_of(path, fmt, case.sheet) for i in hits)


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_interruptible_op_longer_than_every_window(fmt: str, tmp_path: Path) -> None:
    t = cal_tables()
    # EDGE (non-interruptible, 2S: longest window 8 h): TABLE/TOP takes 1 min per piece
    for w in t["work_centers"]:
        w["buffer_capacity"] = None
    t["orders"][1]["quantity"] = 500  # 500 min > 480 min
    path = write(t, fmt, tmp_path)
    with pytest.raises(DataError) as ei:
        load_instance(path)
    hits = [i for i in ei.value.issues if "longest working window" in i.message]
    assert hits and "EDGE" in hits[0].message and "480" in hits[0].message
    assert hits[0].sheet == "orders" and hits[0].column == "quantity"
    assert hits[0].row == user_row(path, fmt, "orders", 1)
    t["orders"][1]["quantity"] = 480  # fits exactly
    load_instance(write(t, fmt, tmp_path / "ok"))


def test_calendars_need_a_plan_start(tmp_path: Path) -> None:
    t = cal_tables()
    t["settings"] = [s for s in t["settings"] if s["key"] != "plan_start"]
    t["orders"][0]["deadline"] = 3000
    with pytest.raises(DataError, match="plan start") as ei:
        load_instance(write(t, "yaml", tmp_path))
    issue = next(i for i in ei.value.issues if "plan start" in i.message)
    assert issue.sheet == "calendars" and issue.file.endswith("plant.yaml") and issue.row
    inst = load_instance(write(t, "yaml", tmp_path / "b"), plan_start=datetime(2026, 11, 23, 6))
    assert inst.compiled.working is not None


def test_excel_time_and_date_cells(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    p = write(cal_tables(), "xlsx", tmp_path)
    wb = openpyxl.load_workbook(p)
    ws = wb["calendars"]
    hdr = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if hdr[c.column - 1] in ("start", "end"):
                h, m = map(int, str(c.value).split(":"))
                c.value = dt.time(h % 24, m)
                c.number_format = "hh:mm"
    ws = wb["downtime"]
    ws["B2"].value = dt.datetime(2026, 11, 23, 6, 0)  # a real Excel date/time cell
    ws["B2"].number_format = "yyyy-mm-dd hh:mm"
    wb.save(p)
    inst = load_instance(p)
    wins = [(w.start, w.end) for c in inst.plant.calendars for w in c.windows]
    assert wins == [(360, 840), (870, 1320), (1320, 360)]
    assert inst.plant.downtime[0].start == dt.datetime(2026, 11, 23, 6, 0)
