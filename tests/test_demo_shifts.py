"""The shipped demo week with working time (bom_data/demo: shifts + assemblies, and
bom_data/demo_shifts: the same week with flat articles; scripts/make_demo.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from furnsim.io import load_instance
from furnsim.rules import get_rule
from furnsim.validate import format_violations, validate

DATA = Path(__file__).resolve().parents[1] / "bom_data"


@pytest.fixture(scope="module", params=["demo", "demo_shifts"])
def folder(request) -> Path:
    return DATA / request.param


@pytest.fixture(scope="module")
def inst(folder):
    return load_instance(folder / "plant.xlsx")


def test_demo_shifts_loads_the_same_from_xlsx_and_yaml(folder, inst) -> None:
    y = load_instance(folder / "plant.yaml")
    for a, b in ((inst.plant, y.plant),):
        assert [(w.id, w.calendar, w.interruptible) for w in a.work_centers] == [
            (w.id, w.calendar, w.interruptible) for w in b.work_centers
        ]
        assert [c.windows for c in a.calendars] == [c.windows for c in b.calendars]
    assert inst.plant.default_calendar == "2-SHIFT"
    assert inst.plant.calendar_of("LACQ").id == "3-SHIFT"  # type: ignore[union-attr]
    assert not inst.plant.work_center("VENEER").interruptible
    assert len(inst.plant.downtime) == 1 and len(inst.plant.calendar_exceptions) == 2


def test_demo_shifts_plans_validly_in_working_time(inst) -> None:
    s, sim = get_rule("ATCS").plan(inst)
    assert sim.deadlock is None
    vs = validate(s, inst)
    assert vs == [], format_violations(vs)
    assert s.segments is not None and any(len(x) > 1 for x in s.segments)  # something paused
    ci = inst.compiled
    veneer = ci.wc_ids.index("VENEER")
    assert all(len(s.segments[o]) == 1 for o in range(s.n_ops) if ci.op_wc[o] == veneer)
