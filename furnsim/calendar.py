"""Working time compiled once: per-machine working intervals and prefix sums of working minutes.

``compile_working_time(plant, plan_start)`` turns the raw tables (weekly windows, exceptions,
downtime) into one :class:`MachineTime` per machine (``None`` = 24/7, the fast path). Every
question the simulator asks is a binary search over sorted interval arrays:

* ``next_start(t)``: the first working minute at or after ``t``;
* ``finish(t, w)``: start and end of ``w`` working minutes from ``t`` (interruptible: pauses
  over closed time), via the prefix sum ``cum`` of working minutes;
* ``fit(t, w)``: the earliest start ``>= t`` of ``w`` minutes inside one working window
  (non-interruptible);
* ``segments(a, b)``: the working intervals of ``[a, b)``.

Horizon: intervals are built for ``[0, H)`` with ``H`` = the last exception / downtime end plus
8 weeks, and rebuilt with ``2H`` when a query comes near ``H``. After the last exception the
weekly pattern repeats, so extending is exact (docs/semantics.md, "Working time").
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

import numpy as np

from furnsim.errors import Issue, Location
from furnsim.model.calendars import Calendar, CalendarException, Downtime

__all__ = [
    "WEEK",
    "MachineTime",
    "THREE_SHIFTS",
    "TWO_SHIFTS",
    "WorkingTime",
    "calendar_from_rows",
    "shift_tables",
    "check_instance_working_time",
    "compile_working_time",
    "demo_working_time",
    "longest_window",
    "merge",
    "subtract",
    "with_working_time",
]

WEEK = 7 * 1440.0
_MAX_HORIZON = 1e8  # ~190 years: a query beyond this is a bug, not a plan
_Intervals = tuple[np.ndarray, np.ndarray]  # (k,) starts, (k,) ends; sorted, disjoint


def merge(starts: np.ndarray, ends: np.ndarray) -> _Intervals:
    """Union of intervals as sorted, disjoint ``[start, end)``; touching intervals merge."""
    s = np.asarray(starts, dtype=float)
    e = np.asarray(ends, dtype=float)
    keep = e > s
    s, e = s[keep], e[keep]
    if s.size == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    emax = np.maximum.accumulate(e)
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > emax[:-1]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, s.size - 1]
    return s[first], emax[last]


def _covered(x: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(len(x),) bool: x lies in one of the merged intervals."""
    if s.size == 0:
        return np.zeros(x.shape, dtype=bool)
    i = np.searchsorted(s, x, side="right") - 1
    ok = i >= 0
    ok[ok] = x[ok] < e[i[ok]]
    return ok


def subtract(a: _Intervals, b: _Intervals) -> _Intervals:
    """``a − b`` for merged interval sets."""
    if a[0].size == 0 or b[0].size == 0:
        return a
    pts = np.unique(np.concatenate([a[0], a[1], b[0], b[1]]))
    mid = (pts[:-1] + pts[1:]) / 2
    keep = _covered(mid, *a) & ~_covered(mid, *b)
    return merge(pts[:-1][keep], pts[1:][keep])


def _clip(iv: _Intervals, lo: float, hi: float) -> _Intervals:
    return merge(np.clip(iv[0], lo, hi), np.clip(iv[1], lo, hi))


def _weekly(cal: Calendar, day0: datetime, origin: datetime, hi: float) -> _Intervals:
    """The calendar's windows from midnight ``day0`` until ``hi`` minutes after ``origin``."""
    off0 = (day0 - origin).total_seconds() / 60.0
    n_days = max(0, math.ceil((hi - off0) / 1440.0)) + 1
    day_off = off0 + 1440.0 * np.arange(n_days)
    wd = (day0.weekday() + np.arange(n_days)) % 7
    ss, es = [], []
    for w in cal.windows:
        s = day_off[np.isin(wd, w.days)] + w.start
        ss.append(s)
        es.append(s + w.minutes)
    return merge(np.concatenate(ss), np.concatenate(es))


def longest_window(cal: Calendar) -> float:
    """Length of the longest working window of the repeating weekly pattern (inf = never closes)."""
    monday = datetime(2001, 1, 1)
    s, e = _weekly(cal, monday, monday, 4 * WEEK)
    s, e = _clip((s, e), WEEK, 3 * WEEK)
    if s.size == 0:
        return 0.0
    lengths = e - s
    return math.inf if float(lengths.max()) >= 2 * WEEK else float(lengths.max())


def _minutes(dt: datetime, origin: datetime) -> float:
    return (dt - origin).total_seconds() / 60.0


def _spans(items: Sequence[CalendarException | Downtime], origin: datetime) -> _Intervals:
    return merge(
        np.array([_minutes(x.start, origin) for x in items], dtype=float),
        np.array([_minutes(x.end, origin) for x in items], dtype=float),
    )


class MachineTime:
    """Working time of one machine: sorted disjoint intervals and prefix working minutes."""

    def __init__(
        self, build: Callable[[float], _Intervals], horizon: float, extra: _Intervals
    ) -> None:
        self._build = build
        self.extra = extra  # overtime: working-yes exception time outside the weekly pattern
        self._set(horizon)

    def _set(self, horizon: float) -> None:
        if horizon > _MAX_HORIZON:
            raise RuntimeError("working-time query beyond ~190 years: no working time left?")
        # built one week past the horizon: an answer before the horizon is exact even when its
        # interval is cut at the end of the built range (24/7 after the last downtime)
        s, e = self._build(horizon + WEEK)
        self.horizon = horizon
        self.starts = s  # (k,) float64
        self.ends = e  # (k,) float64
        self.cum = np.r_[0.0, np.cumsum(e - s)]  # (k + 1,) working minutes before interval i
        self._s: list[float] = s.tolist()
        self._e: list[float] = e.tolist()
        self._c: list[float] = self.cum.tolist()
        self._n = len(self._s)

    def _extend(self) -> None:
        self._set(self.horizon * 2)

    def working_at(self, t: float) -> bool:
        while t >= self.horizon:
            self._extend()
        i = bisect_right(self._e, t)
        return i < self._n and self._s[i] <= t

    def next_start(self, t: float) -> float:
        """The first working minute at or after ``t``."""
        while True:
            i = bisect_right(self._e, t)
            if i < self._n:
                r = max(t, self._s[i])
                if r < self.horizon:
                    return r
            self._extend()

    def window(self, t: float) -> tuple[float, float]:
        """The working window containing ``t``, else the next one: ``(start, end)``."""
        while True:
            i = bisect_right(self._e, t)
            if i < self._n and self._e[i] < self.horizon:
                return self._s[i], self._e[i]
            self._extend()

    def finish(self, t: float, w: float) -> tuple[float, float]:
        """(start, end) of ``w > 0`` working minutes from ``t`` on, pausing over closed time."""
        while True:
            s, c, n = self._s, self._c, self._n
            i = bisect_right(self._e, t)
            if i < n:
                s0 = max(t, s[i])
                target = c[i] + (s0 - s[i]) + w
                # (tolerance: float sums must not spill a 1e-12 rest into the next window)
                j = bisect_left(c, target - 1e-9, i + 1) - 1
                if j < n:
                    end = s[j] + (target - c[j])
                    if end < self.horizon:
                        return s0, end
            self._extend()

    def fit(self, t: float, w: float) -> float:
        """Earliest start ``>= t`` of ``w`` working minutes inside one working window."""
        while True:
            s, e, n = self._s, self._e, self._n
            i = bisect_right(e, t)
            while i < n and max(t, s[i]) + w > e[i] + 1e-9:
                i += 1
            if i < n and max(t, s[i]) + w < self.horizon:
                return max(t, s[i])
            self._extend()

    def segments(self, a: float, b: float) -> list[list[float]]:
        """The working intervals of ``[a, b)`` (``[[a, a]]`` when ``b <= a``)."""
        if b <= a:
            return [[a, a]]
        while b >= self.horizon:
            self._extend()
        s, e = self._s, self._e
        i = bisect_right(e, a)
        out = []
        while i < self._n and s[i] < b:
            out.append([max(a, s[i]), min(b, e[i])])
            i += 1
        return out

    def worked(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        """Working minutes in ``[a, b)`` (vectorized)."""
        return self._w(np.asarray(b, dtype=float)) - self._w(np.asarray(a, dtype=float))

    def worked_before(self, t: float) -> float:
        """Working minutes before ``t``: :meth:`_w` for one float, the same arithmetic (bisect
        instead of ``searchsorted``; ``min(max(..))`` is ``np.clip``), so bit-identical."""
        while t >= self.horizon:
            self._extend()
        i = bisect_right(self._s, t) - 1
        if i < 0:
            return 0.0
        s = self._s[i]
        inside = min(max(t - s, 0.0), self._e[i] - s)
        return float(self._c[i] + inside)

    def _w(self, t: np.ndarray) -> np.ndarray:
        while np.any(t >= self.horizon):
            self._extend()
        i = np.searchsorted(self.starts, t, side="right") - 1
        ic = np.clip(i, 0, None)
        inside = np.clip(t - self.starts[ic], 0.0, self.ends[ic] - self.starts[ic])
        return np.where(i >= 0, self.cum[ic] + inside, 0.0)


@dataclass
class WorkingTime:
    """Compiled working time of a plant for one plan start."""

    plan_start: datetime
    machines: list[MachineTime | None]  # (n_machines,) None = 24/7
    machine_interruptible: list[bool]  # (n_machines,) False = processing fits one window


def _build_working(
    cal: Calendar | None,
    day0: datetime,
    origin: datetime,
    yes: _Intervals,
    off: _Intervals,
    hi: float,
) -> _Intervals:
    """Working intervals of one machine up to minute ``hi``: the calendar's weekly windows
    (24/7 without one) plus the extra working time ``yes``, minus the closed time ``off``."""
    if cal is None:
        base: _Intervals = (np.array([0.0]), np.array([hi]))
    else:
        base = _weekly(cal, day0, origin, hi)
    base = merge(np.r_[base[0], yes[0]], np.r_[base[1], yes[1]])
    return _clip(subtract(base, off), 0.0, hi)


def compile_working_time(plant: object, plan_start: datetime | None) -> WorkingTime | None:
    """Per-machine working time; ``None`` when every machine runs 24/7 (no calendar, no downtime)."""
    if not getattr(plant, "has_working_time", False):
        return None
    if plan_start is None:
        raise ValueError("calendars need a plan start (settings plan_start or --plan-start)")
    origin = plan_start
    day0 = datetime.combine(origin.date(), time()) - timedelta(days=1)
    exc = list(getattr(plant, "calendar_exceptions", []))
    down = list(getattr(plant, "downtime", []))
    last = max([_minutes(x.end, origin) for x in [*exc, *down]], default=0.0)
    horizon = max(0.0, last) + 8 * WEEK
    machines: list[MachineTime | None] = []
    interruptible: list[bool] = []
    for m in plant.machines:  # type: ignore[attr-defined]
        wc = plant.work_center(m.work_center)  # type: ignore[attr-defined]
        cal = plant.calendar_of(wc.id)  # type: ignore[attr-defined]
        interruptible.append(bool(wc.interruptible))
        dt = [d for d in down if d.machine == m.id]
        if cal is None and not dt:
            machines.append(None)
            continue
        mine = [e for e in exc if cal is not None and e.calendar in (None, cal.id)]
        yes = _spans([e for e in mine if e.working], origin)
        no = _spans([e for e in mine if not e.working], origin)
        off = merge(np.r_[no[0], _spans(dt, origin)[0]], np.r_[no[1], _spans(dt, origin)[1]])

        # a partial of a module-level function, not a closure: instances are pickled to the
        # worker processes of parallel passes and evaluations
        build = partial(_build_working, cal, day0, origin, yes, off)
        extra: _Intervals = (np.zeros(0), np.zeros(0))
        if cal is not None and yes[0].size:
            extra = _clip(
                subtract(subtract(yes, _weekly(cal, day0, origin, horizon)), off), 0.0, horizon
            )
        machines.append(MachineTime(build, horizon, extra))
    return WorkingTime(origin, machines, interruptible)


def check_instance_working_time(inst: object) -> list[Issue]:
    """Calendars need a plan start; an operation must fit the longest window of a
    non-interruptible work center (else it could never start)."""
    plant = inst.plant  # type: ignore[attr-defined]
    if not plant.has_working_time:
        return []
    issues: list[Issue] = []
    if inst.plan_start is None:  # type: ignore[attr-defined]
        # point at the first calendar (or downtime) row that needs it
        used = [plant.calendar_of(w.id) for w in plant.work_centers]
        first = next((c for c in used if c is not None), None)
        src = first.source if first is not None else plant.downtime[0].source
        issues.append(
            Issue(
                "the plant has calendars or downtime, which need a plan start: set plan_start in "
                "sheet settings or pass --plan-start",
                src or Location(),
            )
        )
    longest: dict[str, float] = {}
    for w in plant.work_centers:
        cal = plant.calendar_of(w.id)
        if not w.interruptible and cal is not None:
            longest[w.id] = longest_window(cal)
    if not longest:
        return issues
    orders = {o.id: o for o in inst.orders}  # type: ignore[attr-defined]
    for j, job in enumerate(inst.jobs):  # type: ignore[attr-defined]
        for step, op in enumerate(inst.operations_of(j), start=1):  # type: ignore[attr-defined]
            lw = longest.get(op.work_center)
            if lw is None:
                continue
            for mid in inst._eligible(op):  # type: ignore[attr-defined]
                p = job.delta * op.piece_minutes(mid) + op.fixed_minutes
                if p > lw + 1e-9:
                    where = orders[job.order].source or Location()
                    issues.append(
                        Issue(
                            f"job {job.id} step {step}: {p:g} min on {mid} is longer than the longest "
                            f"working window ({lw:g} min) of the non-interruptible work center "
                            f"{op.work_center}: it could never run (split the order or lengthen the "
                            "shift)",
                            where.at(column="quantity"),
                        )
                    )
                    break
    return issues


# -- building instances with working time (benchmarks, demo, tests) ----------------------
def _days(spec: str) -> tuple[int, ...]:
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    a, _, b = spec.partition("-")
    i, j = names.index(a), names.index(b or a)
    return tuple(sorted({(i + k) % 7 for k in range((j - i) % 7 + 1)}))


def _hm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def calendar_from_rows(cid: str, rows: Sequence[tuple[str, str, str]]) -> Calendar:
    """A calendar from ``(days, start, end)`` rows like ``("Mon-Fri", "06:00", "10:00")``."""
    from furnsim.model.calendars import Window  # noqa: PLC0415

    return Calendar(cid, tuple(Window(_days(d), _hm(a), _hm(b)) for d, a, b in rows))


#: Two shifts Mon-Fri 06:00-22:00 with a 15-minute break in each (windows: 06:00-10:00,
#: 10:15-18:00, 18:15-22:00), and three shifts Sunday 22:00 to Saturday 06:00 with breaks.
TWO_SHIFTS = (
    ("Mon-Fri", "06:00", "10:00"),
    ("Mon-Fri", "10:15", "18:00"),
    ("Mon-Fri", "18:15", "22:00"),
)
THREE_SHIFTS = (
    *TWO_SHIFTS,
    ("Sun-Thu", "22:00", "02:00"),
    ("Mon-Fri", "02:15", "06:00"),
)
ONE_SHIFT = (("Mon-Fri", "06:00", "10:00"), ("Mon-Fri", "10:15", "14:00"))


def shift_tables(shifts: int) -> dict[str, list[dict[str, Any]]]:
    """Import rows for an ``N-SHIFT`` calendar (1-3 shifts Mon-Fri with breaks) that every
    work center uses (``settings.calendar``): sheets ``calendars`` and one ``settings`` row."""
    rows = {1: ONE_SHIFT, 2: TWO_SHIFTS, 3: THREE_SHIFTS}.get(shifts)
    if rows is None:
        raise ValueError(f"shifts must be 1, 2 or 3 (got {shifts})")
    cid = f"{shifts}-SHIFT"
    return {
        "calendars": [{"calendar": cid, "days": d, "start": a, "end": b} for d, a, b in rows],
        "settings": [{"key": "calendar", "value": cid}],
    }


def with_working_time(
    instance: Any,
    *,
    calendars: Sequence[Calendar],
    wc_calendars: dict[str, str] | None = None,
    default_calendar: str | None = None,
    non_interruptible: Sequence[str] = (),
    exceptions: Sequence[CalendarException] = (),
    downtime: Sequence[Downtime] = (),
) -> Any:
    """A copy of ``instance`` whose plant has the given working time (validated again)."""
    from furnsim.model import Instance, Plant, WorkCenter  # noqa: PLC0415

    p = instance.plant
    wc_calendars = wc_calendars or {}
    wcs = [
        WorkCenter(
            w.id,
            w.buffer_capacity,
            w.buffer_unit,
            description=w.description,
            source=w.source,
            calendar=wc_calendars.get(w.id),
            interruptible=w.id not in non_interruptible,
        )
        for w in p.work_centers
    ]
    plant = Plant(
        wcs,
        p.machines,
        p.transport,
        name=p.name,
        calendars=list(calendars),
        calendar_exceptions=list(exceptions),
        downtime=list(downtime),
        default_calendar=default_calendar,
    )
    return Instance(
        plant, instance.catalog, instance.orders, name=instance.name, plan_start=instance.plan_start
    )


def demo_working_time(instance: Any) -> Any:
    """The demo floor's working time: two shifts with breaks Mon-Fri, three shifts on the
    lacquer line (``LACQ``), a non-interruptible veneer press (``VENEER``) and a 4-hour
    maintenance of the first CNC on Wednesday morning (work centers that are missing are
    skipped)."""
    start = instance.plan_start or datetime(2026, 3, 2, 6, 0)
    wc_ids = {w.id for w in instance.plant.work_centers}
    machines = {m.id for m in instance.plant.machines}
    day0 = datetime.combine(start.date(), time()) - timedelta(days=start.weekday())
    down = []
    if "CNC-1" in machines:
        a = day0 + timedelta(days=2, hours=6)
        down.append(Downtime("CNC-1", a, a + timedelta(hours=4), "planned maintenance"))
    inst = instance
    if instance.plan_start is None:
        from furnsim.model import Instance  # noqa: PLC0415

        inst = Instance(
            instance.plant, instance.catalog, instance.orders, name=instance.name, plan_start=start
        )
    return with_working_time(
        inst,
        calendars=[
            calendar_from_rows("2-SHIFT", TWO_SHIFTS),
            calendar_from_rows("3-SHIFT", THREE_SHIFTS),
        ],
        wc_calendars={"LACQ": "3-SHIFT"} if "LACQ" in wc_ids else {},
        default_calendar="2-SHIFT",
        non_interruptible=[w for w in ("VENEER",) if w in wc_ids],
        downtime=down,
    )
