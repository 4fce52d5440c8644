"""Working-time sheets (``calendars``, ``calendar_exceptions``, ``downtime``) and the work-center
columns ``calendar`` / ``interruptible``, read for every format by the one builder.

Every problem names file, sheet, row and column (docs/data-format.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dt_time
from typing import Any

from furnsim.errors import Location
from furnsim.io._builder import (
    _check_columns,
    _Ctx,
    _known,
    _show,
    _suggest,
    _to_datetime,
    _to_float,
    ctx_key,
)
from furnsim.io._tables import Table
from furnsim.model.calendars import DAY_NAMES, Calendar, CalendarException, Downtime, Window
from furnsim.model.plant import WorkCenter

__all__ = ["WorkingTimeData", "read_working_time"]

_DAYS = {d.lower(): i for i, d in enumerate(DAY_NAMES)} | {
    n.lower(): i
    for i, n in enumerate(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    )
}
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0"}


@dataclass
class WorkingTimeData:
    calendars: list[Calendar] = field(default_factory=list)
    exceptions: list[CalendarException] = field(default_factory=list)
    downtime: list[Downtime] = field(default_factory=list)
    default_calendar: str | None = None


def parse_days(text: str) -> tuple[int, ...] | str:
    """``Mon-Fri``, ``Sat``, ``Mon,Wed,Fri``, ``Sun-Fri`` -> weekday numbers, or an error text."""
    out: list[int] = []
    for part in re.split(r"[,;]", text):
        part = part.strip()
        if not part:
            continue
        ends = [x.strip().lower() for x in part.split("-")]
        if len(ends) > 2:
            return f"{part!r} is not a day or a range like Mon-Fri"
        for x in ends:
            if x not in _DAYS:
                return f"unknown day {x!r}{_suggest(x.title(), DAY_NAMES)} (use {', '.join(DAY_NAMES)})"
        a, b = _DAYS[ends[0]], _DAYS[ends[-1]]
        d = a
        while True:
            if d not in out:
                out.append(d)
            if d == b:
                break
            d = (d + 1) % 7
    if not out:
        return "no day given"
    return tuple(sorted(out))


def parse_clock(v: Any, from_yaml: bool) -> int | str:
    """A time of day as minutes after midnight (0..1440), or an error text."""
    if isinstance(v, dt_time):
        return v.hour * 60 + v.minute
    if isinstance(v, datetime) and v.year < 1950:  # Excel time-only cell
        return v.hour * 60 + v.minute
    if isinstance(v, str):
        m = re.fullmatch(r"(\d{1,2})[:.h](\d{2})(?::00)?", v.strip())
        if m is None:
            return f"{_show(v)} is not a time of day like 06:00 or 22:30"
        h, mi = int(m.group(1)), int(m.group(2))
        if mi >= 60 or h > 24 or (h == 24 and mi):
            return f"{_show(v)} is not a time of day between 00:00 and 24:00"
        return h * 60 + mi
    x = _to_float(v)
    if x is None:
        return f"{_show(v)} is not a time of day like 06:00"
    if from_yaml and x == int(x) and 0 <= x <= 1440:
        # YAML 1.1 reads an unquoted 14:00 as the base-60 number 840 = minutes after midnight
        return int(x)
    if 0 <= x <= 1 and not from_yaml:  # Excel stores a time as a fraction of a day
        return round(x * 1440)
    return f"{_show(v)} is not a time of day like 06:00 (write HH:MM)"


def _flag(ctx: _Ctx, t: Table, r: Any, col: str, default: bool) -> bool | None:
    v = r.values.get(col)
    if v is None:
        return default
    s = str(ctx_key(v)).strip().lower()
    if s in _YES:
        return True
    if s in _NO:
        return False
    ctx.add(f"{col} must be yes or no, got {_show(v)}", t.loc(r.number, col))
    return None


def _dt(ctx: _Ctx, t: Table, r: Any, col: str) -> datetime | None:
    v = r.values.get(col)
    if v is None:
        ctx.add(f"{col} is missing (a date and time is required)", t.loc(r.number, col))
        return None
    dt = _to_datetime(v) if not isinstance(v, int | float) or isinstance(v, bool) else None
    if dt is None:
        ctx.add(
            f"{col} {_show(v)} is not a valid date and time (use e.g. 2026-12-24 06:00)",
            t.loc(r.number, col),
        )
    return dt


def _calendars(ctx: _Ctx, t: Table) -> list[Calendar]:
    if not _check_columns(ctx, t):
        return []
    from_yaml = t.header_row == 0
    rows: dict[str, list[Window]] = {}
    first: dict[str, Location] = {}
    bad: set[str] = set()
    for r in t.rows:
        cid = ctx.text(t, r, "calendar")
        days_txt = ctx.text(t, r, "days")
        vals: dict[str, int] = {}
        ok = cid is not None and days_txt is not None
        days: tuple[int, ...] | str = ()
        if days_txt is not None:
            days = parse_days(days_txt)
            if isinstance(days, str):
                ctx.add(f"days: {days}", t.loc(r.number, "days"))
                ok = False
        for col in ("start", "end"):
            v = r.values.get(col)
            if v is None:
                ctx.add(f"{col} is missing (a time like 06:00 is required)", t.loc(r.number, col))
                ok = False
                continue
            x = parse_clock(v, from_yaml)
            if isinstance(x, str):
                ctx.add(f"{col}: {x}", t.loc(r.number, col))
                ok = False
            elif col == "start" and x == 1440:
                ctx.add("start: 24:00 is not a start time (use 00:00)", t.loc(r.number, col))
                ok = False
            else:
                vals[col] = x
        if cid is not None:
            first.setdefault(cid, t.loc(r.number))
            rows.setdefault(cid, [])
        if not ok or cid is None or isinstance(days, str):
            if cid is not None:
                bad.add(cid)
            continue
        if vals["start"] == vals["end"]:
            ctx.add(
                "window of zero length (start = end); for a whole day write 00:00 to 24:00",
                t.loc(r.number, "end"),
            )
            bad.add(cid)
            continue
        rows[cid].append(Window(days, vals["start"], vals["end"], source=t.loc(r.number)))
    return [Calendar(c, tuple(ws), source=first[c]) for c, ws in rows.items() if c not in bad]


def _exceptions(ctx: _Ctx, t: Table, cal_ids: set[str]) -> list[CalendarException]:
    out: list[CalendarException] = []
    if not _check_columns(ctx, t):
        return out
    for r in t.rows:
        cid = ctx.text(t, r, "calendar", required=False)
        a, b = _dt(ctx, t, r, "from"), _dt(ctx, t, r, "to")
        working: bool | None = None
        if r.values.get("working") is None:
            ctx.add("working is missing (yes or no)", t.loc(r.number, "working"))
        else:
            working = _flag(ctx, t, r, "working", default=True)
        ok = a is not None and b is not None and working is not None
        if cid is not None and not _known_id(ctx, t, r, "calendar", cid, cal_ids, "calendars"):
            ok = False
        if not _span_ok(ctx, t, r, a, b):
            ok = False
        if ok:
            assert a is not None and b is not None and working is not None
            out.append(CalendarException(cid, a, b, working, source=t.loc(r.number)))
    return out


def _known_id(
    ctx: _Ctx, t: Table, r: Any, col: str, value: str, known: set[str], what: str
) -> bool:
    """True when ``value`` is one of ``known``; otherwise an error at the row's ``col``."""
    if value in known:
        return True
    ctx.add(
        f"unknown {col} {value!r}{_suggest(value, known)}{_known(what, known)}",
        t.loc(r.number, col),
    )
    return False


def _span_ok(ctx: _Ctx, t: Table, r: Any, a: Any, b: Any) -> bool:
    """False (with an error at 'to') when both ends are read and 'to' is not after 'from'."""
    if a is not None and b is not None and not b > a:
        ctx.add(
            f"'to' ({b:%Y-%m-%d %H:%M}) must be after 'from' ({a:%Y-%m-%d %H:%M})",
            t.loc(r.number, "to"),
        )
        return False
    return True


def _downtime(ctx: _Ctx, t: Table, machines: set[str]) -> list[Downtime]:
    out: list[Downtime] = []
    if not _check_columns(ctx, t):
        return out
    for r in t.rows:
        mid = ctx.text(t, r, "machine")
        a, b = _dt(ctx, t, r, "from"), _dt(ctx, t, r, "to")
        ok = mid is not None and a is not None and b is not None
        if mid is not None and not _known_id(ctx, t, r, "machine", mid, machines, "machines"):
            ok = False
        if not _span_ok(ctx, t, r, a, b):
            ok = False
        if ok:
            assert mid is not None and a is not None and b is not None
            out.append(
                Downtime(mid, a, b, ctx.text(t, r, "reason", False) or "", source=t.loc(r.number))
            )
    by_m: dict[str, list[Downtime]] = {}
    for d in out:
        by_m.setdefault(d.machine, []).append(d)
    for ds in by_m.values():
        ds.sort(key=lambda d: d.start)
        for p, q in zip(ds, ds[1:], strict=False):
            if q.start < p.end:
                row = p.source.row if p.source else None
                ctx.add(
                    f"downtime of {q.machine} overlaps its downtime in row {row} "
                    f"({p.start:%Y-%m-%d %H:%M} .. {p.end:%Y-%m-%d %H:%M}): merge the two rows",
                    (q.source or t.loc()).at(column="from"),
                )
    return out


def read_working_time(
    ctx: _Ctx, tables: dict[str, Table], wcs: list[WorkCenter], machines: set[str]
) -> WorkingTimeData:
    """Read the working-time sheets and set ``calendar``/``interruptible`` on ``wcs``."""
    data = WorkingTimeData()
    t = tables.get("calendars")
    declared: set[str] = set()
    if t is not None:
        data.calendars = _calendars(ctx, t)
        declared = {
            str(ctx_key(r.values.get("calendar")))
            for r in t.rows
            if r.values.get("calendar") is not None
        }
    cal_ids = {c.id for c in data.calendars}
    st = tables.get("settings")
    if st is not None and st.columns:
        for r in st.rows:
            if ctx_key(r.values.get("key")) == "calendar" and r.values.get("value") is not None:
                cid = str(ctx_key(r.values["value"]))
                if cid not in declared:
                    ctx.add(
                        f"unknown calendar {cid!r}{_suggest(cid, declared)}{_known('calendars', declared)}",
                        st.loc(r.number, "value"),
                    )
                elif cid in cal_ids:
                    data.default_calendar = cid
    tw = tables["work_centers"]
    by_row = {w.source.row: w for w in wcs if w.source is not None}
    if tw.columns:
        for r in tw.rows:
            wcal = ctx.text(tw, r, "calendar", required=False)
            flag = _flag(ctx, tw, r, "interruptible", default=True)
            w = by_row.get(r.number)
            if wcal is not None and wcal not in declared:
                ctx.add(
                    f"unknown calendar {wcal!r}{_suggest(wcal, declared)}"
                    f"{_known('calendars', declared)}",
                    tw.loc(r.number, "calendar"),
                )
                wcal = None
            if w is None:
                continue
            w.calendar = wcal if wcal in cal_ids else None
            w.interruptible = True if flag is None else flag
    t = tables.get("calendar_exceptions")
    if t is not None:
        data.exceptions = _exceptions(ctx, t, declared)
    t = tables.get("downtime")
    if t is not None:
        data.downtime = _downtime(ctx, t, machines)
    return data
