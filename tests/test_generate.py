"""Synthetic plants and order weeks: deterministic per seed, valid, and to scale."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from furnsim.generate import (
    generate_orders,
    generate_plant_tables,
    generate_to_dir,
    orders_to_rows,
)
from furnsim.io import load_instance, read_plant, write_yaml
from furnsim.model import Instance

DEMO = Path(__file__).parent.parent / "bom_data" / "demo"


def _fits_buffers(inst: Instance) -> bool:
    c = inst.compiled
    return bool(np.all(c.op_volume <= c.wc_capacity[c.op_wc] + 1e-9))


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    a = generate_plant_tables(8, 16, 60, seed=5)
    b = generate_plant_tables(8, 16, 60, seed=5)
    c = generate_plant_tables(8, 16, 60, seed=6)
    assert a == b
    assert a["operations"] != c["operations"] or a["orders"] != c["orders"]


def test_generated_plant_is_furniture_shaped(tmp_path: Path) -> None:
    tables = generate_plant_tables(16, 40, 200, seed=1)
    inst = load_instance(write_yaml(tables, tmp_path / "plant.yaml"))
    assert inst.summary()["work_centers"] == 16 and inst.summary()["machines"] == 40
    assert len(inst.jobs) == 200
    assert all(3 <= len(a.components) <= 15 for a in inst.catalog.articles)
    assert (
        inst.plan_start is not None and inst.plan_start.weekday() == 0 and inst.plan_start.hour == 6
    )
    cnc = [m for m in inst.plant.machines if m.work_center.startswith("CNC")]
    assert cnc and all(not m.setup_matrix.any() for m in cnc)  # virtual setups
    lacq = inst.plant.machines[
        [m.work_center.startswith("LACQ") for m in inst.plant.machines].index(True)
    ]
    assert lacq.setup_time("BLACK", "WHITE") > lacq.setup_time("WHITE", "BLACK")
    c = inst.compiled
    t = c.transport[:-1, 1:-1]  # from STORE / work centers to work centers
    off = t[~np.eye(t.shape[0], t.shape[1], k=-1, dtype=bool)]
    assert off.min() >= 2 and off.max() <= 15
    assert _fits_buffers(inst)
    # plausible week: per-machine processing load (fastest machine) mostly between 25 and 90 %
    load = np.bincount(c.op_wc, weights=np.nanmin(c.op_proc, axis=1), minlength=c.n_wc)
    util = load / np.bincount(c.machine_wc, minlength=c.n_wc) / (5 * 24 * 60)
    assert 0.3 < np.median(util) < 0.9
    # deadlines spread over the week, on shift changes (06:00, 14:00, 22:00)
    dl = c.job_deadline
    assert np.all(dl > c.job_release) and np.ptp(dl) > 2 * 24 * 60
    assert np.all(np.isclose(dl % 480, 0))


def test_scale_150_machines_500_jobs(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    paths = generate_to_dir(tmp_path, work_centers=40, machines=150, jobs=500, seed=3, fmt="csv")
    inst = load_instance(paths[0])
    assert time.perf_counter() - t0 < 10
    s = inst.summary()
    assert s["machines"] == 150 and s["work_centers"] == 40
    assert abs(s["jobs"] - 500) <= 25
    assert _fits_buffers(inst)


@pytest.mark.parametrize("fmt", ["workbook", "yaml"])
def test_generate_to_dir_plant(tmp_path: Path, fmt: str) -> None:
    (path,) = generate_to_dir(tmp_path, jobs=80, seed=2, fmt=fmt)  # type: ignore[arg-type]
    assert path.name == ("plant.xlsx" if fmt == "workbook" else "plant.yaml")
    assert load_instance(path).summary()["jobs"] == 80


@pytest.mark.parametrize("fmt", ["workbook", "csv", "yaml"])
def test_orders_only_for_the_demo_plant(tmp_path: Path, fmt: str) -> None:
    (path,) = generate_to_dir(tmp_path, jobs=400, seed=11, plant=DEMO, fmt=fmt)  # type: ignore[arg-type]
    assert path.parent == tmp_path and path.stem == "orders"
    inst = load_instance(DEMO, orders=path)
    assert len(inst.jobs) == 400
    assert _fits_buffers(inst)
    assert inst.compiled.job_deadline.max() <= 8 * 24 * 60


def test_generate_orders_seed_or_generator() -> None:
    data = read_plant(DEMO / "plant.yaml")
    a = generate_orders(data.catalog, data.plant, 300, 42, data.plan_start)
    b = generate_orders(data.catalog, data.plant, 300, np.random.default_rng(42), data.plan_start)
    c = generate_orders(data.catalog, data.plant, 300, 43, data.plan_start)

    def key(orders: list) -> list:
        return [(o.id, o.article, o.quantity, o.deadline, o.release, o.priority) for o in orders]

    assert key(a) == key(b) and key(a) != key(c)
    assert sum(len(data.catalog.article(o.article).components) for o in a) == 300
    rows = orders_to_rows(a, data.plan_start)
    assert rows[0]["deadline"] > data.plan_start
    assert orders_to_rows(a, None)[0]["deadline"] == a[0].deadline


def test_generate_orders_exact_job_counts() -> None:
    # the flat 24/7 week's plant (articles of 3..15 parts) and the demo (bills of materials:
    # 4..17 jobs per article, parts + kit + sub-assemblies), whenever whole articles can make it
    for plant, counts in (("demo-247", (3, 7, 50, 123)), ("demo", (4, 7, 9, 50, 123))):
        data = read_plant(DEMO.parent / plant / "plant.yaml")
        for jobs in counts:
            orders = generate_orders(data.catalog, data.plant, jobs, jobs)
            assert sum(len(data.catalog.article(o.article).components) for o in orders) == jobs
    orders = generate_orders(data.catalog, data.plant, 3, 3)  # below the smallest article
    assert sum(len(data.catalog.article(o.article).components) for o in orders) == 4


def test_bad_sizes_rejected() -> None:
    with pytest.raises(ValueError, match="machines"):
        generate_plant_tables(10, 5, 100, seed=0)
    with pytest.raises(ValueError, match="jobs"):
        generate_plant_tables(8, 8, 0, seed=0)
