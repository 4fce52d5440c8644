"""Working time as input data: shift calendars, calendar exceptions, machine downtime.

These are the raw tables as validated dataclasses (docs/semantics.md, "Working time");
:mod:`furnsim.calendar` compiles them into per-machine working intervals.
Days are 0 = Monday .. 6 = Sunday; window times are minutes after midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from furnsim.errors import DataError, Issue, Location

__all__ = [
    "DAY_NAMES",
    "Calendar",
    "CalendarException",
    "Downtime",
    "Window",
    "check_plant_calendars",
]

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_MINUTES = 1440


def _fail(msg: str, where: Location | None) -> DataError:
    return DataError([Issue(msg, where or Location())])


@dataclass(frozen=True)
class Window:
    """A working window on each of ``days``: ``start``..``end`` minutes after midnight.

    ``end < start`` means the window ends the next day (``end`` may be 1440 = 24:00).
    """

    days: tuple[int, ...]
    start: int
    end: int
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.days or any(not (0 <= d <= 6) for d in self.days):
            raise _fail(f"window days must be 0..6 (Mon..Sun), got {self.days}", self.source)
        if not (0 <= self.start < DAY_MINUTES) or not (0 <= self.end <= DAY_MINUTES):
            raise _fail(f"window {self.start}..{self.end}: times must be 00:00..24:00", self.source)
        if self.start == self.end:
            raise _fail(
                "window of zero length (start = end); for a whole day write 00:00-24:00",
                self.source,
            )

    @property
    def minutes(self) -> int:
        """Length of the window in minutes (it may run past midnight)."""
        return (
            self.end - self.start if self.end > self.start else self.end + DAY_MINUTES - self.start
        )


@dataclass(eq=False)
class Calendar:
    """A named weekly pattern of working windows; the gaps are breaks and closed time."""

    id: str
    windows: tuple[Window, ...]
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.windows = tuple(self.windows)
        if not self.id:
            raise _fail("calendar id is empty", self.source)
        if not self.windows:
            raise _fail(f"calendar {self.id} has no working window", self.source)


@dataclass(eq=False)
class CalendarException:
    """Extra working time (``working``) or closed time (holiday) in ``[start, end)``.

    ``calendar`` None = every calendar (never a 24/7 work center without calendar).
    """

    calendar: str | None
    start: datetime
    end: datetime
    working: bool
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise _fail(
                f"exception {self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M}: "
                "'to' must be after 'from'",
                self.source,
            )


@dataclass(eq=False)
class Downtime:
    """A machine is unavailable in ``[start, end)`` (planned maintenance, a known outage)."""

    machine: str
    start: datetime
    end: datetime
    reason: str = ""
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.machine:
            raise _fail("downtime: machine is empty", self.source)
        if not self.end > self.start:
            raise _fail(
                f"downtime of {self.machine} {self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M}: "
                "'to' must be after 'from'",
                self.source,
            )


def check_plant_calendars(plant: object) -> list[Issue]:
    """Cross references of a Plant's working-time data (called from ``Plant.__post_init__``)."""
    issues: list[Issue] = []
    cals: list[Calendar] = list(getattr(plant, "calendars", ()))
    ids: set[str] = set()
    for c in cals:
        if c.id in ids:
            issues.append(Issue(f"duplicate calendar id {c.id!r}", c.source or Location()))
        ids.add(c.id)
    default = getattr(plant, "default_calendar", None)
    if default is not None and default not in ids:
        issues.append(Issue(f"settings: unknown calendar {default!r} (not in sheet calendars)"))
    for w in getattr(plant, "work_centers", ()):
        cal = getattr(w, "calendar", None)
        if cal is not None and cal not in ids:
            issues.append(
                Issue(
                    f"work center {w.id}: unknown calendar {cal!r}",
                    (w.source or Location()).at(column="calendar"),
                )
            )
    for e in getattr(plant, "calendar_exceptions", ()):
        if e.calendar is not None and e.calendar not in ids:
            issues.append(
                Issue(
                    f"calendar exception: unknown calendar {e.calendar!r}",
                    (e.source or Location()).at(column="calendar"),
                )
            )
    machines = set(getattr(plant, "machine_index", {}))
    by_machine: dict[str, list[Downtime]] = {}
    for d in getattr(plant, "downtime", ()):
        if d.machine not in machines:
            issues.append(
                Issue(
                    f"downtime: unknown machine {d.machine!r}",
                    (d.source or Location()).at(column="machine"),
                )
            )
            continue
        by_machine.setdefault(d.machine, []).append(d)
    for m, ds in by_machine.items():
        ds = sorted(ds, key=lambda d: d.start)
        for a, b in zip(ds, ds[1:], strict=False):
            if b.start < a.end:
                first = f" (row {a.source.row})" if a.source and a.source.row else ""
                issues.append(
                    Issue(
                        f"downtime of {m} {b.start:%Y-%m-%d %H:%M} .. {b.end:%Y-%m-%d %H:%M} overlaps "
                        f"the downtime {a.start:%Y-%m-%d %H:%M} .. {a.end:%Y-%m-%d %H:%M}{first}",
                        (b.source or Location()).at(column="from"),
                    )
                )
    return issues
