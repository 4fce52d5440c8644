"""The floor: machines with setup matrices, work centers with buffers, transport times."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from furnsim.errors import DataError, Issue, Location
from furnsim.model.calendars import Calendar, CalendarException, Downtime, check_plant_calendars

__all__ = ["FINISHED", "NEUTRAL", "STORE", "Machine", "Plant", "TransportMatrix", "WorkCenter"]

NEUTRAL = "neutral"
STORE = "STORE"
FINISHED = "FINISHED"
BUFFER_UNITS = ("m3", "pallets", "pieces")


def _fail(msg: str, where: Location | None) -> DataError:
    return DataError([Issue(msg, where or Location())])


@dataclass(eq=False)
class Machine:
    """A machine with a sequence-dependent setup matrix.

    ``setup_matrix[i, j]`` is the time in minutes to change from setup ``setup_ids[i]`` to
    ``setup_ids[j]``. Zero entries off the diagonal are "virtual" setups (a CNC program
    switch). ``neutral`` must be one of the setup ids; it is the default initial state.
    """

    id: str
    work_center: str
    setup_ids: tuple[str, ...] = (NEUTRAL,)
    setup_matrix: np.ndarray = field(default_factory=lambda: np.zeros((1, 1)))  # (k, k) minutes
    initial_setup: str = NEUTRAL
    description: str = ""
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.setup_ids = tuple(self.setup_ids)
        self.setup_matrix = np.asarray(self.setup_matrix, dtype=float)
        k = len(self.setup_ids)
        if not self.id:
            raise _fail("machine id is empty", self.source)
        if len(set(self.setup_ids)) != k:
            raise _fail(f"machine {self.id}: duplicate setup ids in its matrix", self.source)
        if NEUTRAL not in self.setup_ids:
            raise _fail(f"machine {self.id}: setup matrix lacks the '{NEUTRAL}' setup", self.source)
        if self.setup_matrix.shape != (k, k):
            raise _fail(
                f"machine {self.id}: setup matrix is {self.setup_matrix.shape}, "
                f"expected {k}x{k} (square over its setup ids)",
                self.source,
            )
        if not np.all(np.isfinite(self.setup_matrix)) or np.any(self.setup_matrix < 0):
            raise _fail(f"machine {self.id}: setup times must be finite and >= 0", self.source)
        if np.any(np.diag(self.setup_matrix) != 0):
            raise _fail(
                f"machine {self.id}: staying in the same setup must take 0 minutes (diagonal)",
                self.source,
            )
        if self.initial_setup not in self.setup_ids:
            raise _fail(
                f"machine {self.id}: initial setup {self.initial_setup!r} is not in its setup matrix",
                self.source,
            )
        self._index = {s: i for i, s in enumerate(self.setup_ids)}

    def has_setup(self, setup: str) -> bool:
        return setup in self._index

    def setup_time(self, from_setup: str, to_setup: str) -> float:
        return float(self.setup_matrix[self._index[from_setup], self._index[to_setup]])


@dataclass(eq=False)
class WorkCenter:
    """A place on the floor with one buffer in front and one or more alternative machines."""

    id: str
    buffer_capacity: float = math.inf  # in buffer_unit; inf = unlimited
    buffer_unit: str = "m3"
    machines: tuple[str, ...] = ()
    description: str = ""
    source: Location | None = field(default=None, repr=False, compare=False)
    calendar: str | None = None  # working-time calendar id; None = settings.calendar / 24/7
    interruptible: bool = True  # False: processing must fit one working window

    def __post_init__(self) -> None:
        self.machines = tuple(self.machines)
        if not self.id:
            raise _fail("work center id is empty", self.source)
        if self.id in (STORE, FINISHED):
            raise _fail(f"'{self.id}' is a reserved location name", self.source)
        if not (self.buffer_capacity > 0):
            raise _fail(
                f"work center {self.id}: buffer capacity must be > 0 (got {self.buffer_capacity})",
                self.source,
            )
        if self.buffer_unit not in BUFFER_UNITS:
            raise _fail(
                f"work center {self.id}: buffer unit {self.buffer_unit!r} is not one of {BUFFER_UNITS}",
                self.source,
            )

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.buffer_capacity)


@dataclass(eq=False)
class TransportMatrix:
    """Minutes to move a batch between locations: ``STORE``, each work center, ``FINISHED``.

    ``minutes[(a, b)]``; not necessarily symmetric. A missing pair is an error unless the
    matrix is ``default``-filled (benchmark instances have no transport).
    """

    minutes: dict[tuple[str, str], float] = field(default_factory=dict)
    default: float | None = None

    def __post_init__(self) -> None:
        for (a, b), t in self.minutes.items():
            if not (t >= 0 and math.isfinite(t)):
                raise _fail(f"transport {a} -> {b}: time must be finite and >= 0 (got {t})", None)

    def time(self, a: str, b: str) -> float:
        t = self.minutes.get((a, b))
        if t is None:
            if a == b:
                return 0.0
            if self.default is None:
                raise KeyError(f"no transport time from {a} to {b}")
            return self.default
        return t

    def missing_pairs(self, work_centers: list[str]) -> list[tuple[str, str]]:
        if self.default is not None:
            return []
        need = [(STORE, w) for w in work_centers]
        need += [(a, b) for a in work_centers for b in work_centers if a != b]
        need += [(w, FINISHED) for w in work_centers]
        return [p for p in need if p not in self.minutes]


@dataclass(eq=False)
class Plant:
    """Work centers, machines and transport; index maps are built once."""

    work_centers: list[WorkCenter]
    machines: list[Machine]
    transport: TransportMatrix = field(default_factory=lambda: TransportMatrix(default=0.0))
    name: str = "plant"
    calendars: list[Calendar] = field(default_factory=list)
    calendar_exceptions: list[CalendarException] = field(default_factory=list)
    downtime: list[Downtime] = field(default_factory=list)
    default_calendar: str | None = None  # settings.calendar: for work centers without one

    def __post_init__(self) -> None:
        issues: list[Issue] = []
        self.wc_index: dict[str, int] = {}
        for w in self.work_centers:
            if w.id in self.wc_index:
                issues.append(Issue(f"duplicate work center id {w.id!r}", w.source or Location()))
            self.wc_index[w.id] = len(self.wc_index)
        self.machine_index: dict[str, int] = {}
        members: dict[str, list[str]] = {w.id: [] for w in self.work_centers}
        for m in self.machines:
            if m.id in self.machine_index:
                issues.append(Issue(f"duplicate machine id {m.id!r}", m.source or Location()))
                continue
            self.machine_index[m.id] = len(self.machine_index)
            if m.work_center not in members:
                issues.append(
                    Issue(
                        f"machine {m.id}: unknown work center {m.work_center!r}",
                        m.source or Location(),
                    )
                )
                continue
            members[m.work_center].append(m.id)
        for w in self.work_centers:
            if not members.get(w.id):
                issues.append(Issue(f"work center {w.id} has no machine", w.source or Location()))
            w.machines = tuple(members.get(w.id, ()))
        for a, b in self.transport.missing_pairs([w.id for w in self.work_centers]):
            issues.append(Issue(f"transport time from {a} to {b} is missing"))
        issues += check_plant_calendars(self)
        if issues:
            raise DataError(issues)

    def work_center(self, wc_id: str) -> WorkCenter:
        return self.work_centers[self.wc_index[wc_id]]

    def machine(self, m_id: str) -> Machine:
        return self.machines[self.machine_index[m_id]]

    def calendar_of(self, wc_id: str) -> Calendar | None:
        """The calendar of a work center (its own, else settings.calendar); None = 24/7."""
        cid = self.work_center(wc_id).calendar or self.default_calendar
        if cid is None:
            return None
        return next(c for c in self.calendars if c.id == cid)

    @property
    def has_working_time(self) -> bool:
        """Any machine not on 24/7: a calendar in use, or downtime."""
        return bool(self.downtime) or any(
            self.calendar_of(w.id) is not None for w in self.work_centers
        )
