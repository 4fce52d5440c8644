"""The shipped example data: the demo plant (three formats, two shifts + assemblies), its
variants (same week 24/7 / flat; the previous 24/7 week) and the paper's worked example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from furnsim.calendar import compile_working_time
from furnsim.io import load_instance
from furnsim.model import STORE, Instance
from furnsim.model.bom import children_of

DATA = Path(__file__).parent.parent / "bom_data"
DEMO = DATA / "demo"
PAPER = DATA / "paper_example"


@pytest.fixture(scope="module")
def demo() -> Instance:
    return load_instance(DEMO / "plant.xlsx")


@pytest.mark.parametrize("path", ["csv", "plant.yaml"])
def test_demo_formats_load_identically(demo: Instance, path: str) -> None:
    other = load_instance(DEMO / path)
    assert other.summary() == demo.summary()
    assert other.plan_start == demo.plan_start
    a, b = demo.compiled, other.compiled
    assert a.job_ids == b.job_ids and a.machine_ids == b.machine_ids and a.setup_ids == b.setup_ids
    for name in (
        "op_proc",
        "op_volume",
        "setup_time",
        "transport",
        "wc_capacity",
        "job_deadline",
        "job_release",
        "job_priority",
        "job_delta",
    ):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), err_msg=name)


def test_demo_folder_loads_the_workbook(demo: Instance) -> None:
    assert load_instance(DEMO).summary() == demo.summary()


def test_demo_sizes(demo: Instance) -> None:
    s = demo.summary()
    assert s["machines"] >= 15 and s["work_centers"] >= 10 and s["articles"] >= 12
    for a in demo.catalog.articles:  # parts (leaves) plus one root and its sub-assemblies
        kids = children_of(a.components)
        parts = [c for c in a.components if c.id not in kids]
        assert 3 <= len(parts) <= 15
        assert sum(1 for c in a.components if not c.parent) == 1, a.id
    assert 300 <= s["jobs"] <= 700 and s["orders"] == 62
    assert (
        demo.plan_start is not None and demo.plan_start.weekday() == 0 and demo.plan_start.hour == 6
    )
    # deadlines within this week and the next
    c = demo.compiled
    assert np.all(np.isfinite(c.job_deadline)) and c.job_deadline.max() <= 14 * 24 * 60
    assert np.all(c.job_deadline > c.job_release)


def test_demo_setups_asymmetric_and_virtual(demo: Instance) -> None:
    mats = [m.setup_matrix for m in demo.plant.machines]
    assert any(not np.allclose(s, s.T) for s in mats)
    virtual = [m for m in demo.plant.machines if len(m.setup_ids) > 2 and not m.setup_matrix.any()]
    assert virtual and all(m.work_center == "CNC" for m in virtual)
    # lacquer: dark -> light costs more than light -> dark
    lacq = demo.plant.machine("LACQ-1")
    assert lacq.setup_time("BLACK", "WHITE") > lacq.setup_time("WHITE", "BLACK")


def test_demo_load_and_buffers_plausible(demo: Instance) -> None:
    c = demo.compiled
    week = 5 * 24 * 60  # Mon 06:00 .. Sat 06:00
    wt = compile_working_time(demo.plant, demo.plan_start)
    assert wt is not None
    worked = np.array([m.worked(0.0, week) if m is not None else week for m in wt.machines])
    # two shifts with breaks, Friday off: 4 x 15.5 h; the lacquer line also runs nights
    assert worked[c.machine_ids.index("SAW-1")] == 4 * 930
    assert worked[c.machine_ids.index("LACQ-1")] > 1.3 * 4 * 930
    assert worked[c.machine_ids.index("CNC-1")] == 4 * 930 - 240  # the maintenance window
    fastest = np.nanmin(c.op_proc, axis=1)
    load = np.bincount(c.op_wc, weights=fastest, minlength=c.n_wc)
    per_machine = load / np.bincount(c.machine_wc, weights=worked, minlength=c.n_wc)
    # the week loads the working time, not 24/7 machine time
    assert np.median(per_machine) > 0.5 and per_machine.max() < 0.9
    # every batch fits, but no buffer holds more than a fraction of what passes through it
    peak = np.zeros(c.n_wc)
    np.maximum.at(peak, c.op_wc, c.op_volume)
    assert np.all(peak <= c.wc_capacity)
    passing = np.bincount(c.op_wc, weights=c.op_volume, minlength=c.n_wc)
    # ... the kit areas (ASSY, PACK, UPH) also receive the parts waiting for their kit
    kits = np.zeros(c.n_wc)
    arts = {a.id: a for a in demo.catalog.articles}
    for o in demo.orders:
        comps = {x.id: x for x in arts[o.article].components}
        for x in comps.values():
            if x.parent:
                w = c.wc_ids.index(comps[x.parent].routing[0].work_center)
                kits[w] += o.quantity * x.qty_per_article * x.final_volume_per_piece
    area = kits > 0  # marshalling areas hold a share of the week's kits (KIT_AREA_SHARE)
    assert set(np.array(c.wc_ids)[area]) == {"ASSY", "PACK", "UPH"}
    assert np.all(c.wc_capacity[~area] < 0.5 * passing[~area])
    assert np.all(c.wc_capacity[area] < 0.8 * (passing + kits)[area])


def test_demo_variants_are_the_same_week() -> None:
    """demo-assembly = the demo in 24/7; demo_shifts = the demo with flat articles; demo-247 =
    the previous 24/7 flat week (scripts/make_demo.py, VARIANTS)."""
    demo = load_instance(DEMO / "plant.yaml")
    asm = load_instance(DATA / "demo-assembly" / "plant.yaml")
    flat = load_instance(DATA / "demo_shifts" / "plant.yaml")
    old = load_instance(DATA / "demo-247" / "plant.yaml")
    assert demo.plant.has_working_time and not asm.plant.has_working_time
    assert [(j.id, j.parent, j.delta, j.deadline) for j in demo.jobs] == [
        (j.id, j.parent, j.delta, j.deadline) for j in asm.jobs
    ]
    assert flat.plant.has_working_time and not any(j.parent for j in flat.jobs)
    assert [(o.id, o.quantity) for o in flat.orders] == [(o.id, o.quantity) for o in demo.orders]
    assert not old.plant.has_working_time and not any(j.parent for j in old.jobs)
    assert (len(old.orders), old.summary()["jobs"]) == (58, 449)


@pytest.fixture(scope="module", params=["plant.yaml", "plant.xlsx"])
def paper(request: pytest.FixtureRequest) -> Instance:
    return load_instance(PAPER / request.param)


def test_paper_example_shape(paper: Instance) -> None:
    c = paper.compiled
    assert (c.n_jobs, c.n_machines, c.n_wc) == (3, 3, 3)
    assert [len(paper.operations_of(j)) for j in range(3)] == [3, 3, 3]
    np.testing.assert_array_equal(c.wc_capacity, [60, 43, 30])
    np.testing.assert_array_equal(c.job_delta, [400, 100, 400])
    # every batch fits its buffer, and the buffers bind: two waiting batches overflow M2 and M3
    assert np.all(c.op_volume <= c.wc_capacity[c.op_wc])
    for wc in (1, 2):
        vols = np.sort(c.op_volume[c.op_wc == wc])
        assert vols[-1] + vols[-2] > c.wc_capacity[wc]


def test_paper_example_anchors(paper: Instance) -> None:
    c = paper.compiled
    m1 = c.machine_ids.index("M1")
    s = {name: i for i, name in enumerate(c.setup_ids)}
    j1, j3 = c.job_op_start[0], c.job_op_start[2]  # first operations of job 1 and job 3
    store, loc_m1 = 0, 1 + c.wc_ids.index("M1")
    assert c.op_wc[j3] == c.wc_ids.index("M1") and c.op_wc[j1] == c.wc_ids.index("M1")
    # anchor A: O31 = 400 * 0.0625 + 0 + 4 = 29 (setup neutral -> s3 on M1, STORE -> M1 = 0)
    assert c.op_proc[j3, m1] == pytest.approx(25.0)
    assert c.setup_time[m1, s["neutral"], s["s3"]] == 4
    assert c.transport[store, loc_m1] == 0
    assert c.machine_init_setup[m1] == s["neutral"]
    o31 = c.transport[store, loc_m1] + c.setup_time[m1, s["neutral"], s["s3"]] + c.op_proc[j3, m1]
    assert o31 == pytest.approx(29.0)
    # anchor B: job 1 right after job 3 on M1 ends at 29 + 4 + 20 = 53
    assert c.op_proc[j1, m1] == pytest.approx(20.0)
    assert o31 + c.setup_time[m1, s["s3"], s["s1"]] + c.op_proc[j1, m1] == pytest.approx(53.0)
    # transport is asymmetric, setups too
    assert not np.allclose(c.transport[1:4, 1:4], c.transport[1:4, 1:4].T)
    assert not np.allclose(c.setup_time[m1], c.setup_time[m1].T)
    assert paper.compiled.transport[store, loc_m1] == paper.plant.transport.time(STORE, "M1")
