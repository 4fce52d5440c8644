"""Independent check of working time (calendars, exceptions, downtime) in a Schedule.

Re-derived from the raw tables of the Plant (weekly windows, exceptions, downtime as
datetimes), *not* from :mod:`furnsim.calendar`'s compiled interval arrays: whether a minute is
working time is decided here by plain date arithmetic, so a bug in the compiler or the
simulator cannot hide itself. Called by :func:`furnsim.validate.validate`; violations have the
kind ``working-time``:

* a processing or setup segment lies (partly) in closed time or in the machine's downtime;
* segments are not ordered and disjoint, or do not start at ``start`` / ``setup_start`` and
  end at ``end`` / ``setup_end``;
* they do not sum to the required working minutes (``δ·d + fixed``, the setup-matrix time);
* the operation or setup pauses while the machine has working time (a gap between two
  segments contains working time);
* a non-interruptible operation has more than one segment;
* processing starts later than the first working minute after ``max(setup_end, arrive)``
  (non-interruptible: the first start of a window that fits the operation) — the calendar
  version of the validator's ``idle`` rule.

Without working time on a machine (24/7, no downtime) nothing here applies and
:mod:`furnsim.validate` checks ``end - start`` as before.
"""

from __future__ import annotations

import bisect
import math
from datetime import date, datetime, timedelta
from typing import Any

__all__ = ["check_working_time", "read_segments", "working_time_ops"]

MAX_SEGMENTS = 1_000_000  # in one schedule file (bounded cost for untrusted input)

_KIND = "working-time"


class _Clock:
    """Is minute ``x`` (after the plan start) working time of one machine? From raw tables."""

    def __init__(self, plant: Any, machine: Any, origin: datetime) -> None:
        wc = plant.work_center(machine.work_center)
        cid = wc.calendar if wc.calendar is not None else plant.default_calendar
        self.cal = None
        for c in plant.calendars:
            if c.id == cid:
                self.cal = c
        self.origin = origin
        exc = [
            e
            for e in plant.calendar_exceptions
            if self.cal is not None and e.calendar in (None, cid)
        ]
        self.yes = [(e.start, e.end) for e in exc if e.working]
        self.no = [(e.start, e.end) for e in exc if not e.working]
        self.down = [(d.start, d.end) for d in plant.downtime if d.machine == machine.id]
        self.interruptible = bool(wc.interruptible)
        # the same date arithmetic, done once: each day's windows (datetimes, and as minutes
        # after the origin), and the exceptions' and downtime's ends as minutes, sorted
        self._day: dict[date, list[tuple[datetime, datetime]]] = {}
        self._day_min: dict[date, list[float]] = {}
        self._fixed = sorted(
            self._min(p) for a, b in [*self.down, *self.no, *self.yes] for p in (a, b)
        )

    @property
    def always(self) -> bool:
        return self.cal is None and not self.down

    def _at(self, x: float) -> datetime:
        return self.origin + timedelta(minutes=x)

    def _min(self, dt: datetime) -> float:
        return (dt - self.origin).total_seconds() / 60.0

    def _windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The calendar's windows that start on ``day``."""
        out = self._day.get(day)
        if out is not None:
            return out
        out = []
        if self.cal is not None:
            midnight = datetime(day.year, day.month, day.day)
            for w in self.cal.windows:
                if day.weekday() in w.days:
                    a = midnight + timedelta(minutes=w.start)
                    end = w.end if w.end > w.start else w.end + 1440
                    out.append((a, midnight + timedelta(minutes=end)))
        self._day[day] = out
        return out

    def _windows_min(self, day: date) -> list[float]:
        """The ends of ``day``'s windows as minutes after the origin."""
        out = self._day_min.get(day)
        if out is None:
            out = [self._min(p) for a, b in self._windows(day) for p in (a, b)]
            self._day_min[day] = out
        return out

    def working(self, x: float) -> bool:
        dt = self._at(x)
        if any(a <= dt < b for a, b in self.down):
            return False
        if self.cal is None:
            return True
        if any(a <= dt < b for a, b in self.no):
            return False
        if any(a <= dt < b for a, b in self.yes):
            return True
        d = dt.date()
        return any(a <= dt < b for day in (d - timedelta(days=1), d) for a, b in self._windows(day))

    def breakpoints(self, lo: float, hi: float) -> list[float]:
        """Every minute in ``(lo, hi)`` where the working status may change."""
        f = self._fixed
        pts = f[bisect.bisect_right(f, lo) : bisect.bisect_left(f, hi)]
        if self.cal is not None:
            d = self._at(lo).date() - timedelta(days=1)
            last = self._at(hi).date()
            while d <= last:
                pts += [m for m in self._windows_min(d) if lo < m < hi]
                d += timedelta(days=1)
        return sorted(set(pts))

    def pieces(self, lo: float, hi: float) -> list[tuple[float, float, bool]]:
        """``[lo, hi)`` cut at the breakpoints, each piece with its working status."""
        cuts = [lo, *self.breakpoints(lo, hi), hi]
        return [
            (a, b, self.working((a + b) / 2)) for a, b in zip(cuts, cuts[1:], strict=False) if b > a
        ]


def read_segments(d: dict[str, Any], key: str, n: int, error: type[Exception]) -> Any:
    """``d[key]`` as per-op lists of ``[from, to]`` (finite numbers, from <= to), or None when
    absent; raises ``error`` naming the field (strict reading of untrusted schedule files)."""
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or len(v) != n:
        raise error(f"'{key}' must be a list with one entry per operation ({n})")
    out: list[list[list[float]]] = []
    total = 0
    for i, op in enumerate(v):
        if not isinstance(op, list):
            raise error(f"'{key}'[{i}] must be a list of [from, to] pairs")
        total += len(op)
        if total > MAX_SEGMENTS:
            raise error(f"'{key}' has more than {MAX_SEGMENTS:,} segments")
        segs = []
        for k, pair in enumerate(op):
            ok = (
                isinstance(pair, list)
                and len(pair) == 2
                and all(type(x) in (int, float) and math.isfinite(x) for x in pair)
            )
            if not ok or pair[1] < pair[0]:
                raise error(f"'{key}'[{i}][{k}] must be [from, to] with finite from <= to")
            segs.append([float(pair[0]), float(pair[1])])
        out.append(segs)
    return out


def working_time_ops(schedule: Any, instance: Any) -> set[int]:
    """Ops on machines with working time: their durations are checked here, in working minutes."""
    plant = instance.plant
    if not plant.has_working_time or instance.plan_start is None:
        return set()
    clocks = _clocks(instance)
    ids = list(schedule.machine_ids)
    out = set()
    for o, m in enumerate(schedule.op_machine.tolist()):
        if 0 <= m < len(ids) and ids[m] in clocks and not clocks[ids[m]].always:
            out.add(o)
    return out


def _clocks(instance: Any) -> dict[str, _Clock]:
    plant = instance.plant
    return {m.id: _Clock(plant, m, instance.plan_start) for m in plant.machines}


def check_working_time(schedule: Any, instance: Any, ok: Any, tol: float = 1e-6) -> list[Any]:
    """Working-time violations of the ops in ``ok`` (a bool mask of checkable ops)."""
    from furnsim.validate import Violation  # noqa: PLC0415 (validate imports this module)

    plant = instance.plant
    if not plant.has_working_time or instance.plan_start is None:
        return []
    out: list[Any] = []
    clocks = _clocks(instance)
    jobs = instance.jobs
    ops = [(j, k, op) for j in range(len(jobs)) for k, op in enumerate(instance.operations_of(j))]
    t = schedule.times
    ids = list(schedule.machine_ids)
    setup_ids = list(schedule.setup_ids)

    def bad(o: int, msg: str) -> None:
        j, k, _ = ops[o]
        out.append(Violation(_KIND, f"job {jobs[j].id} step {k + 1}: {msg}", (o,)))

    for o in range(min(len(ops), schedule.n_ops)):
        if not ok[o]:
            continue
        mid = ids[int(schedule.op_machine[o])]
        clock = clocks.get(mid)
        if clock is None or clock.always:
            continue
        j, _, op = ops[o]
        machine = plant.machine(mid)
        proc = jobs[j].delta * op.piece_minutes(mid) + op.fixed_minutes
        sf = int(schedule.op_setup_from[o])
        fr = setup_ids[sf] if 0 <= sf < len(setup_ids) else None
        need = op.setup
        setup = (
            machine.setup_time(fr, need)
            if fr is not None and machine.has_setup(fr) and machine.has_setup(need)
            else None
        )
        what = [
            ("processing", schedule.op_segments(o), float(t["start"][o]), float(t["end"][o]), proc),
            (
                "setup",
                schedule.op_setup_segments(o),
                float(t["setup_start"][o]),
                float(t["setup_end"][o]),
                setup,
            ),
        ]
        for label, segs, a, b, need_min in what:
            _check_segments(bad, o, clock, label, segs, a, b, need_min, tol)
        pieces = [p for p in schedule.op_segments(o) if p[1] - p[0] > tol]
        if not clock.interruptible and proc > 0 and len(pieces) > 1:
            bad(o, f"runs on non-interruptible {mid} in {len(pieces)} pieces")
        ready = max(float(t["setup_end"][o]), float(t["arrive"][o]))
        late = _earlier_start(clock, ready, float(t["start"][o]), proc, tol)
        if late is not None:
            bad(
                o,
                f"starts at {_fmt(clock, float(t['start'][o]))}, but with its setup done and the job "
                f"there at {ready:g} it could start at {_fmt(clock, late)} (no reason to wait)",
            )
    return out


def _earlier_start(
    clock: _Clock, ready: float, start: float, proc: float, tol: float
) -> float | None:
    """An earlier possible processing start in ``[ready, start)``, or None (start is earliest)."""
    if not start > ready + tol:
        return None
    if proc <= 0:
        return ready
    for p, q, working in clock.pieces(ready, start):
        if not working or q - p <= tol:
            continue
        if clock.interruptible:
            return p
        # non-interruptible: [p, p + proc] must be working time throughout
        if all(w or b - a <= tol for a, b, w in clock.pieces(p, p + proc)):
            return p
    return None


def _check_segments(
    bad: Any,
    o: int,
    clock: _Clock,
    label: str,
    segs: list[list[float]],
    a: float,
    b: float,
    need: float | None,
    tol: float,
) -> None:
    segs = [[float(x), float(y)] for x, y in segs if y - x > tol or need == 0]
    total = sum(y - x for x, y in segs)
    if need is not None and abs(total - need) > tol * max(1.0, need):
        bad(o, f"{label} has {total:g} working minutes in its segments, expected {need:g}")
    if not segs:
        if need and need > tol:
            bad(o, f"{label} has no segments")
        return
    if any(y < x - tol for x, y in segs) or any(
        s2[0] < s1[1] - tol for s1, s2 in zip(segs, segs[1:], strict=False)
    ):
        bad(o, f"{label} segments are not ordered and disjoint: {segs}")
        return
    if _off_span(clock, a, segs[0][0], tol) or _off_span(clock, segs[-1][1], b, tol):
        bad(o, f"{label} segments {segs[0][0]:g}..{segs[-1][1]:g} do not span {a:g}..{b:g}")
    for x, y in segs:
        for p, q, working in clock.pieces(x, y):
            if not working and q - p > tol:
                bad(o, f"{label} in closed time or downtime {_fmt(clock, p)}..{_fmt(clock, q)}")
    for s1, s2 in zip(segs, segs[1:], strict=False):
        for p, q, working in clock.pieces(s1[1], s2[0]):
            if working and q - p > tol:
                bad(o, f"{label} pauses in working time {_fmt(clock, p)}..{_fmt(clock, q)}")


def _off_span(clock: _Clock, x: float, y: float, tol: float) -> bool:
    """Do the segments miss the start (or end) of their operation? ``x`` and ``y`` (the
    operation's start and its first segment's start, or the last segment's end and the
    operation's end) must be equal within ``tol``, or only closed time may lie between them:
    a start a rounding error before a break is the start after it (its sub-``tol`` piece of
    working time is the one the segment check above drops)."""
    if abs(y - x) <= tol:
        return False
    if y < x:
        return True
    return sum(q - p for p, q, working in clock.pieces(x, y) if working) > tol


def _fmt(clock: _Clock, x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:g} ({clock._at(x):%a %Y-%m-%d %H:%M})"
