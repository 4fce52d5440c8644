"""The demo week with bills of materials (bom_data/demo, and bom_data/demo-assembly: the same
week in 24/7): loads identically in the three formats, plans validly for every goal, and
children wait for their kits."""

from __future__ import annotations

from pathlib import Path

import pytest

from furnsim.io import load_instance
from furnsim.kpi import kpis
from furnsim.model.bom import children_of
from furnsim.rules import best_rule
from furnsim.validate import validate

DATA = Path(__file__).resolve().parents[1] / "bom_data"


@pytest.fixture(scope="module", params=["demo", "demo-assembly"])
def asm(request):
    return load_instance(DATA / request.param / "plant.xlsx")


def test_formats_load_identically(asm) -> None:
    name = "demo" if asm.plant.has_working_time else "demo-assembly"
    for src in (DATA / name / "csv", DATA / name / "plant.yaml"):
        other = load_instance(src)
        assert other.summary() == asm.summary()
        assert [(j.id, j.parent, j.delta) for j in other.jobs] == [
            (j.id, j.parent, j.delta) for j in asm.jobs
        ]


def test_structure(asm) -> None:
    # 62 orders: 486 parts + 91 assemblies (kits/assemblies, drawers, seats, headboards)
    assert asm.summary()["jobs"] == 577 and asm.summary()["operations"] == 1565
    assert sum(1 for j in asm.jobs if j.assembly) == 91
    chair = {c.id: c for c in asm.catalog.article("CHAIR").components}
    assert chair["SEAT"].parent == "SEAT-UPH" and chair["SEAT-UPH"].parent == "ASSEMBLY"
    assert [op.work_center for op in chair["ASSEMBLY"].routing] == ["ASSY", "PACK"]
    desk = asm.catalog.article("DESK").components
    kids = children_of(desk)
    assert set(kids["DRAWER"]) == {"DRAWER-FRONT", "DRAWER-SIDE", "DRAWER-BACK", "DRAWER-BOTTOM"}
    assert "DRAWER" in kids["KIT"]
    wardrobe = {c.id: c for c in asm.catalog.article("WARDROBE-2D").components}
    assert [op.work_center for op in wardrobe["KIT"].routing] == ["PACK"]
    assert wardrobe["SIDE"].parent == "KIT"


@pytest.mark.parametrize("goal", ["speed", "efficiency", "empty-buffers"])
def test_week_plans_validly(asm, goal: str) -> None:
    b = best_rule(asm, goal)
    assert validate(b.schedule, asm) == []
    k = kpis(b.schedule, asm)
    assert k["complete"] == 1.0 and k["kit_wait_time"] > 0
