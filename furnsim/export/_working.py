"""Working time as the Excel export shows it: closed time and downtime per machine, the
weekly pattern and the period's exceptions in words, an operation's pauses as text.

Everything is read from the compiled working time of the instance
(``instance.compiled.working``, :mod:`furnsim.calendar`) and the plant's raw tables
(calendars, exceptions, downtime); nothing here decides when work happens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from furnsim.model.calendars import DAY_NAMES

__all__ = [
    "MachineWorkingTime",
    "calendar_text",
    "machine_working_time",
    "page_notes",
    "pauses",
    "pauses_text",
    "span_text",
]

_EPS = 1e-9


@dataclass
class MachineWorkingTime:
    """One machine's non-working time in ``[0, horizon)``, minutes after the plan start."""

    closed: list[tuple[float, float]] = field(default_factory=list)  # not down: breaks, nights
    down: list[tuple[float, float, str]] = field(default_factory=list)  # downtime and reason
    calendar: str | None = None  # calendar id (None: 24/7)
    weekly: str = "24/7"  # the weekly pattern in words
    period: list[str] = field(default_factory=list)  # exceptions and downtime of the period


def _minutes(dt: datetime, ps: datetime) -> float:
    return (dt - ps).total_seconds() / 60.0


def _cut(
    iv: list[tuple[float, float]], cuts: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """``iv − cuts`` (both sorted lists of disjoint intervals)."""
    out: list[tuple[float, float]] = []
    for a, b in iv:
        pieces = [(a, b)]
        for c, d in cuts:
            nxt = []
            for x, y in pieces:
                if d <= x or c >= y:
                    nxt.append((x, y))
                    continue
                if c > x:
                    nxt.append((x, c))
                if d < y:
                    nxt.append((d, y))
            pieces = nxt
        out += [(x, y) for x, y in pieces if y - x > _EPS]
    return out


def _days_text(days: tuple[int, ...]) -> str:
    """(0, 1, 2, 3, 4) -> 'Mon–Fri'; (6, 0, 1, 2, 3) -> 'Sun–Thu'; (0, 2, 4) -> 'Mon,Wed,Fri'."""
    ds = sorted(set(days))
    if len(ds) == 7:
        return "daily"
    if len(ds) == 1:
        return DAY_NAMES[ds[0]]
    # a run of consecutive days, possibly wrapping over Sunday -> Monday
    for first in ds:
        run = [(first + k) % 7 for k in range(len(ds))]
        if sorted(run) == ds:
            return f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[-1]]}"
    return ",".join(DAY_NAMES[d] for d in ds)


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def calendar_text(cal: Any) -> str:
    """The weekly windows of a calendar in words: ``Mon–Fri 06:00–10:00, 10:15–18:00``."""
    groups: dict[tuple[int, ...], list[Any]] = {}
    for w in cal.windows:
        groups.setdefault(tuple(sorted(w.days)), []).append(w)
    parts = []
    for days, ws in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[1][0].start)):
        times = ", ".join(f"{_hm(w.start)}–{_hm(w.end)}" for w in sorted(ws, key=lambda w: w.start))
        parts.append(f"{_days_text(days)} {times}")
    return "; ".join(parts)


def span_text(a: datetime, b: datetime) -> str:
    """``Wed 04.03. 06:00–10:00``; ``Fri 06.03. 00:00–Sat 07.03. 00:00`` across days."""
    if b.date() == a.date() or (b - a <= timedelta(days=1) and b.time() == datetime.min.time()):
        end = "24:00" if b.date() != a.date() else f"{b:%H:%M}"
        return f"{a:%a %d.%m. %H:%M}–{end}"
    return f"{a:%a %d.%m. %H:%M}–{b:%a %d.%m. %H:%M}"


def machine_working_time(
    instance: Any, ps: datetime, horizon: float
) -> dict[str, MachineWorkingTime] | None:
    """Per machine id: closed time and downtime in ``[0, horizon)`` and the working time in
    words; ``None`` when the plant runs 24/7 (no calendar, no downtime)."""
    plant = getattr(instance, "plant", None)
    if plant is None or not getattr(plant, "has_working_time", False):
        return None
    wt = instance.compiled.working
    if wt is None:
        return None
    ids = list(instance.compiled.machine_ids)
    hi = max(float(horizon), 0.0)
    out: dict[str, MachineWorkingTime] = {}
    for m in plant.machines:
        mt = wt.machines[ids.index(m.id)]
        info = MachineWorkingTime()
        cal = plant.calendar_of(m.work_center)
        if cal is not None:
            info.calendar = cal.id
            info.weekly = f"{cal.id}: {calendar_text(cal)}"
            for e in plant.calendar_exceptions:
                if e.calendar not in (None, cal.id):
                    continue
                if _minutes(e.end, ps) <= 0 or _minutes(e.start, ps) >= hi:
                    continue
                kind = "extra working time" if e.working else "closed"
                info.period.append(f"{kind} {span_text(e.start, e.end)}")
        downs = []
        for d in plant.downtime:
            if d.machine != m.id:
                continue
            a, b = _minutes(d.start, ps), _minutes(d.end, ps)
            if b <= 0 or a >= hi:
                continue
            reason = d.reason or "down"
            info.period.append(f"down {span_text(d.start, d.end)} {reason}".rstrip())
            downs.append((max(a, 0.0), min(b, hi), reason))
        downs.sort()
        info.down = downs
        if mt is not None and hi > 0:
            closed: list[tuple[float, float]] = []
            prev = 0.0
            for a, b in [*mt.segments(0.0, hi), [hi, hi]]:
                if a > prev + _EPS:
                    closed.append((prev, a))
                prev = max(prev, b)
            info.closed = _cut(closed, [(a, b) for a, b, _ in downs])
        out[m.id] = info
    return out


def page_notes(instance: Any, ps: datetime, a: float, b: float) -> str:
    """Calendar exceptions and downtime within ``[a, b)`` minutes, clipped to it:
    ``closed 00:00–24:00 (every calendar) · CNC-1 down 06:00–10:00 planned maintenance``."""
    plant = getattr(instance, "plant", None)
    if plant is None:
        return ""
    used = {c.id for w in plant.work_centers if (c := plant.calendar_of(w.id)) is not None}
    parts: list[str] = []

    def clip(x: datetime, y: datetime) -> str | None:
        lo, hi = max(_minutes(x, ps), a), min(_minutes(y, ps), b)
        if hi <= lo:
            return None
        ta, tb = _at(ps, lo), _at(ps, hi)
        end = (
            "24:00"
            if tb.date() != ta.date() and tb.time() == datetime.min.time()
            else f"{tb:%H:%M}"
        )
        return f"{ta:%H:%M}–{end}"

    for e in plant.calendar_exceptions:
        if e.calendar is not None and e.calendar not in used:
            continue
        span = clip(e.start, e.end)
        if span:
            kind = "extra working time" if e.working else "closed"
            parts.append(f"{kind} {span} ({e.calendar or 'every calendar'})")
    for d in plant.downtime:
        span = clip(d.start, d.end)
        if span:
            parts.append(f"{d.machine} down {span} {d.reason}".rstrip())
    return " · ".join(parts)


def pauses(segments: list[list[float]]) -> list[tuple[float, float]]:
    """The gaps between consecutive segments of one operation."""
    return [
        (float(segments[k][1]), float(segments[k + 1][0]))
        for k in range(len(segments) - 1)
        if float(segments[k + 1][0]) - float(segments[k][1]) > _EPS
    ]


def _at(ps: datetime, minutes: float) -> datetime:
    return ps + timedelta(minutes=round(minutes))


def pauses_text(
    ps: datetime,
    segments: list[list[float]],
    setup_segments: list[list[float]],
    limit: int = 50,
    max_len: int | None = None,
) -> str:
    """An operation's pauses: ``10:00–10:15, 22:00–Tue 06:00``; setup pauses first
    (``setup 22:00–Mon 06:00``). A pause that starts on another day than the operation (or
    its setup) started names that day. At most ``limit`` pauses, and (``max_len``) as many
    as fit that many characters, at least one; the rest as ``+N``."""
    items: list[str] = []
    for prefix, segs in (("setup ", setup_segments), ("", segments)):
        if not segs:
            continue
        day = _at(ps, float(segs[0][0])).date()
        for a, b in pauses(segs):
            ta, tb = _at(ps, a), _at(ps, b)
            sa = f"{ta:%H:%M}" if ta.date() == day else _day(ta, day)
            sb = f"{tb:%H:%M}" if tb.date() == ta.date() else _day(tb, ta.date())
            items.append(f"{prefix}{sa}–{sb}")
    shown: list[str] = []
    for k, item in enumerate(items):
        rest = len(items) - k - 1
        text = ", ".join([*shown, item]) + (f" +{rest}" if rest else "")
        if shown and (len(shown) >= limit or (max_len is not None and len(text) > max_len)):
            break
        shown.append(item)
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" +{more}" if more else "")


def _day(t: datetime, ref: Any) -> str:
    # the weekday is enough within a week of the reference day, else the date too
    far = abs((t.date() - ref).days) >= 7
    return f"{t:%a %d.%m. %H:%M}" if far else f"{t:%a %H:%M}"


def slot_share(iv: list[tuple[float, float]], slot: float, n_slots: int) -> list[list[Any]]:
    """(slot, first interval index, minutes) for every slot an interval covers."""
    out: list[list[Any]] = []
    for i, (a, b) in enumerate(iv):
        k0 = max(0, int(a // slot))
        k1 = min(n_slots - 1, int(math.ceil(b / slot)) - 1)
        for k in range(k0, k1 + 1):
            ov = min(b, (k + 1) * slot) - max(a, k * slot)
            if ov > _EPS:
                out.append([k, i, ov])
    return out
