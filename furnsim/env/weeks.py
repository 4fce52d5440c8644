"""Where training weeks come from: a plant + catalog and the seeded order generator.

``WeekSource.sample(rng, jobs)`` draws one week with :func:`furnsim.generate.generate_orders`
using the caller's generator (the environment passes ``self.np_random``), so a seed fixes
the whole episode. The default plant is the demo plant ``bom_data/demo/plant.xlsx``, shipped
as package data (``furnsim/data/demo/plant.xlsx``, an identical copy; a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.model import Catalog, Instance, Plant

__all__ = [
    "DEMO_PLANT",
    "RANDOM_JSP",
    "RandomJobShopSource",
    "WeekSource",
    "load_plant_catalog",
    "make_source",
]

#: ``plant=`` value that selects random classic job shops instead of a plant workbook
RANDOM_JSP = "random-jsp"

#: the demo plant, package data (found through importlib.resources, not the working dir)
DEMO_PLANT = Path(str(resources.files("furnsim").joinpath("data", "demo", "plant.xlsx")))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[Plant, Catalog, datetime | None]:
    from furnsim.io import load_instance

    inst = load_instance(Path(path))
    return inst.plant, inst.catalog, inst.plan_start


def _working_clock(plant: Plant, plan_start: datetime | None) -> tuple[float, Any]:
    """(working minutes of a typical machine in the first week, its MachineTime or None).

    With calendars the generator sizes and dates a week in *working* minutes of the machine
    with the median working time; :meth:`WeekSource.sample` then maps releases and deadlines
    onto the calendar (a deadline of 900 working minutes = the end of Tuesday's early shift)."""
    from furnsim.calendar import compile_working_time
    from furnsim.generate import WEEK_MINUTES

    if not getattr(plant, "has_working_time", False) or plan_start is None:
        return float(WEEK_MINUTES), None
    wt = compile_working_time(plant, plan_start)
    if wt is None:
        return float(WEEK_MINUTES), None
    per = [
        (float(m.worked(0.0, WEEK_MINUTES)) if m is not None else float(WEEK_MINUTES), k)
        for k, m in enumerate(wt.machines)
    ]
    minutes, k = sorted(per)[len(per) // 2]
    return max(minutes, 60.0), wt.machines[k]


def load_plant_catalog(path: str | Path | None = None) -> tuple[Plant, Catalog]:
    """Plant and catalog of a plant workbook / CSV folder / YAML (default: the demo plant)."""
    plant, catalog, _ = _load_path(path)
    return plant, catalog


def _load_path(path: str | Path | None) -> tuple[Plant, Catalog, datetime | None]:
    p = Path(path) if path is not None else DEMO_PLANT
    if not p.exists():
        raise FileNotFoundError(f"plant data {p} not found")
    return _load(str(p.resolve()))


@dataclass
class WeekSource:
    """Draws weeks of ``jobs`` (a range, inclusive) component jobs for one plant."""

    plant: Plant
    catalog: Catalog
    jobs: tuple[int, int] = (100, 600)  # (min, max) jobs per week, drawn uniformly
    #: the plant file's plan start (needed with calendars; deadlines fall on shift changes)
    plan_start: datetime | None = None
    #: minutes the orders are sized for (the generator's horizon): the week's mean working
    #: minutes per machine with calendars, else 24/7 (None = the generator's default)
    horizon: float | None = None
    #: with calendars: the MachineTime that maps the generator's working minutes onto the calendar
    clock: Any = None
    #: (plant, plan start, WorkingTime) compiled at the first draw, shared by every week
    _working: Any = field(default=None, repr=False, compare=False)
    #: per (plant, catalog) lookups of the generator and the instance build (built at the
    #: first draw; furnsim.model.week_template): the same weeks, built faster
    _template: Any = field(default=None, repr=False, compare=False)
    _gen_cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_path(
        cls, path: str | Path | None = None, jobs: tuple[int, int] = (100, 600)
    ) -> WeekSource:
        plant, catalog, start = _load_path(path)
        horizon, clock = _working_clock(plant, start)
        return cls(plant, catalog, (int(jobs[0]), int(jobs[1])), start, horizon, clock)

    def sample(
        self, rng: np.random.Generator, jobs: int | None = None, name: str = "week"
    ) -> Instance:
        from furnsim.generate import generate_orders

        lo, hi = self.jobs
        n = int(jobs) if jobs is not None else int(rng.integers(lo, hi + 1))
        kw = {} if self.horizon is None else {"horizon_minutes": self.horizon}
        if self.clock is None:
            orders = generate_orders(
                self.catalog, self.plant, n, rng, self.plan_start, **kw, _cache=self._gen_cache
            )
        else:  # sized and dated in working minutes, then put on the calendar
            orders = [
                replace(
                    o, release=self._on_calendar(o.release), deadline=self._on_calendar(o.deadline)
                )
                for o in generate_orders(
                    self.catalog, self.plant, n, rng, None, **kw, _cache=self._gen_cache
                )
            ]
        shared = None
        if getattr(self.plant, "has_working_time", False) and self.plan_start is not None:
            # compiled once for every week of this source (furnsim.model.instance._working_time)
            if self._working is None:
                from furnsim.calendar import compile_working_time

                self._working = (
                    self.plant,
                    self.plan_start,
                    compile_working_time(self.plant, self.plan_start),
                )
            shared = self._working
        if self._template is None or not self._template.matches(self.plant, self.catalog):
            from furnsim.model.week_template import WeekTemplate

            self._template = WeekTemplate(self.plant, self.catalog)
        inst = self._template.instance(
            orders, name=f"{name}-{n}j", plan_start=self.plan_start, shared_working=shared
        )
        return inst

    def _on_calendar(self, w: float) -> float:
        """The calendar minute at which the clock machine has worked ``w`` minutes."""
        if w <= 0 or not np.isfinite(w):
            return w
        return float(self.clock.finish(0.0, w)[1])

    def week(self, seed: int, jobs: int | None = None) -> Instance:
        """A reproducible week: the same ``seed`` gives the same orders."""
        return self.sample(np.random.default_rng(seed), jobs, name=f"week{seed}")


@dataclass
class RandomJobShopSource:
    """Random classic job shops (Taillard's recipe): every job visits every machine once in a
    random order, integer processing times uniform in ``proc`` (inclusive). One work center
    per machine, unbounded buffers, no setups or transport (as :func:`furnsim.io.read_jsp`).

    ``jobs`` and ``machines`` are ranges (inclusive) drawn per instance; ``sample`` uses the
    caller's generator, so a seed fixes the instance.
    """

    jobs: tuple[int, int] = (10, 30)
    machines: tuple[int, int] = (10, 20)
    proc: tuple[int, int] = (1, 99)

    def sample(
        self, rng: np.random.Generator, jobs: int | None = None, name: str = "jsp"
    ) -> Instance:
        from furnsim.model import (
            NEUTRAL,
            Article,
            Catalog,
            Component,
            Machine,
            Operation,
            Order,
            TransportMatrix,
            WorkCenter,
        )

        n = int(jobs) if jobs is not None else int(rng.integers(self.jobs[0], self.jobs[1] + 1))
        m = int(rng.integers(self.machines[0], self.machines[1] + 1))
        plant = Plant(
            [WorkCenter(f"M{k}") for k in range(m)],
            [Machine(f"M{k}", f"M{k}") for k in range(m)],
            TransportMatrix(default=0.0),
            name=f"{name}-{n}x{m}",
        )
        arts, orders = [], []
        for j in range(n):
            order = rng.permutation(m)
            times = rng.integers(self.proc[0], self.proc[1] + 1, size=m)
            ops = [Operation(f"M{k}", NEUTRAL, float(t)) for k, t in zip(order, times, strict=True)]
            arts.append(Article(f"J{j}", [Component(f"J{j}", 1.0, ops)]))
            orders.append(Order(f"J{j}", f"J{j}", 1.0))
        return Instance(plant, Catalog(arts), orders, name=f"{name}-{n}x{m}")

    def week(self, seed: int, jobs: int | None = None) -> Instance:
        return self.sample(np.random.default_rng(seed), jobs, name=f"jsp{seed}")


def make_source(
    plant: str | Path | None = None, jobs: tuple[int, int] = (100, 600)
) -> WeekSource | RandomJobShopSource:
    """The instance source for ``plant``: a plant file (default demo) or ``"random-jsp"``."""
    if plant is not None and str(plant) == RANDOM_JSP:
        return RandomJobShopSource(jobs=(int(jobs[0]), int(jobs[1])))
    return WeekSource.from_path(plant, jobs)
