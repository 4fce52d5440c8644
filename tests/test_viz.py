"""furnsim.viz: Gantt on real dates, setups and blocked time drawn apart, buffers, late orders."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import numpy as np
import pytest

from furnsim import viz
from furnsim.model import (
    Article,
    Catalog,
    Component,
    Instance,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    WorkCenter,
)
from furnsim.sim import Simulator
from tests._tiny import make, run

PS = datetime(2026, 3, 2, 6, 0)


# ---------------------------------------------------------------------------------------
# instances shared with tests/test_export_excel.py
# ---------------------------------------------------------------------------------------
def week_instance(n_orders: int = 100, comps: int = 5, seed: int = 1) -> Instance:
    """A synthetic furniture week: 11 work centers x 2 machines, ``n_orders`` x ``comps`` jobs
    of 6 operations (100 orders -> 500 jobs, 3,000 operations), setups and tight buffers."""
    rng = np.random.default_rng(seed)
    wcs = [f"W{i:02d}" for i in range(11)]
    setups = ("neutral", "oak", "pine", "white")
    mat = np.array(
        [
            [0 if a == b else 15 + 5 * ((i + j) % 3) for j, b in enumerate(setups)]
            for i, a in enumerate(setups)
        ],
        dtype=float,
    )
    machines = [Machine(f"{w}-{k}", w, setups, mat) for w in wcs for k in (1, 2)]
    plant = Plant(
        [WorkCenter(w, 6.0) for w in wcs], machines, TransportMatrix(default=5.0), name="week"
    )
    arts = []
    for a in range(8):
        cs = []
        for c in range(comps):
            route = sorted(rng.choice(11, size=6, replace=False))
            ops = [
                Operation(
                    wcs[w], setups[1 + (a + c + w) % 3], float(rng.uniform(0.3, 1.5)), 5.0, 0.02
                )
                for w in route
            ]
            cs.append(Component(f"C{c}", 1.0 + c % 2, ops))
        arts.append(Article(f"ART{a}", cs))
    orders = [
        Order(
            f"O{i:03d}",
            f"ART{i % 8}",
            float(rng.integers(10, 40)),
            deadline=float(rng.uniform(1500, 7200)),
            release=float(rng.uniform(0, 2000)),
        )
        for i in range(n_orders)
    ]
    return Instance(plant, Catalog(arts), orders, name="week", plan_start=PS)


def run_fifo(inst: Instance):
    return run(Simulator(inst))


def blocking_instance() -> Instance:
    """A fast machine A feeding a slow B through a buffer of one batch: A gets blocked."""
    inst = make(
        [[("A", 1.0, "neutral", 1.0), ("B", 10.0, "neutral", 1.0)]] * 3,
        capacity={"B": 1.0},
        deadlines=[15.0, 100.0, 20.0],
    )
    inst.plan_start = PS
    return inst


def setup_instance() -> Instance:
    """One saw with a setup matrix; two orders needing different setups."""
    setups = ("neutral", "oak", "pine")
    mat = np.array([[0, 10, 12], [5, 0, 8], [5, 9, 0]], dtype=float)
    plant = Plant(
        [WorkCenter("SAW", 10.0), WorkCenter("EDGE", 10.0)],
        [Machine("SAW-1", "SAW", setups, mat), Machine("EDGE-1", "EDGE")],
        TransportMatrix(default=2.0),
    )
    cat = Catalog(
        [
            Article(
                "SHELF",
                [
                    Component(
                        "BOARD",
                        2,
                        [Operation("SAW", "oak", 1.0), Operation("EDGE", "neutral", 0.5)],
                    )
                ],
            ),
            Article("TABLE", [Component("TOP", 1, [Operation("SAW", "pine", 3.0)])]),
        ]
    )
    orders = [Order("O1", "SHELF", 10, deadline=600), Order("O2", "TABLE", 10, deadline=30)]
    return Instance(plant, cat, orders, name="setups", plan_start=PS)


# ---------------------------------------------------------------------------------------
def test_default_plan_start_is_next_monday_0600() -> None:
    assert viz.default_plan_start(datetime(2026, 3, 4, 12, 0)) == datetime(2026, 3, 9, 6, 0)  # Wed
    assert viz.default_plan_start(datetime(2026, 3, 2, 5, 0)) == datetime(
        2026, 3, 2, 6, 0
    )  # Mon early
    assert viz.default_plan_start(datetime(2026, 3, 2, 7, 0)) == datetime(
        2026, 3, 9, 6, 0
    )  # Mon late
    inst = setup_instance()
    assert viz.resolve_plan_start(inst) == PS
    assert viz.resolve_plan_start(inst, datetime(2027, 1, 4, 6)) == datetime(2027, 1, 4, 6)


def test_format_minutes() -> None:
    assert viz.format_minutes(12) == "12 min"
    assert viz.format_minutes(270) == "4 h 30 min"
    assert viz.format_minutes(1440 + 185) == "1 d 3 h 05 min"
    assert viz.format_minutes(float("inf")) == "-"


def test_gantt_by_machine_bars_on_real_dates_coloured_by_order() -> None:
    inst = setup_instance()
    s = run_fifo(inst)
    fig = viz.gantt(s, inst)
    proc = next(t for t in fig.data if t.name.startswith("processing"))
    assert len(proc.y) == s.n_ops
    colors = viz.order_colors(inst)
    t = viz.op_table(s, inst)
    for i in range(len(t)):
        assert proc.y[i] == t.machine[i]
        start = PS + timedelta(minutes=float(t.times["start"][i]))
        assert np.datetime64(proc.base[i], "ms") == np.datetime64(start, "ms")
        assert proc.x[i] == pytest.approx((t.times["end"][i] - t.times["start"][i]) * 60_000)
        assert proc.marker.color[i] == colors[t.order[i]]
        assert list(proc.customdata[i][:4]) == [
            t.order[i],
            t.article[i],
            t.component[i],
            f"{t.quantity[i]:g}",
        ]
    assert fig.layout.xaxis.type == "date"
    assert list(fig.layout.yaxis.categoryarray) == ["SAW-1", "EDGE-1"]
    assert "%{customdata[0]}" in proc.hovertemplate and "setup" in proc.hovertemplate


def test_setups_drawn_distinctly() -> None:
    inst = setup_instance()
    s = run_fifo(inst)
    fig = viz.gantt(s, inst)
    setup = next(t for t in fig.data if t.name == "setup")
    # solid grey (no order colour is grey) and thinner than the operations' bars
    assert setup.marker.color == viz.SETUP_COLOR and setup.width == viz.SETUP_BAR_WIDTH
    assert 1 - fig.layout.bargap > viz.SETUP_BAR_WIDTH
    dur = s.times["setup_end"] - s.times["setup_start"]
    n_setups = int(np.sum(np.nan_to_num(dur) > 0))
    assert n_setups >= 2 and len(setup.y) == n_setups  # neutral->oak, oak->pine on SAW-1
    assert set(setup.y) == {"SAW-1"}
    assert sum(setup.x) == pytest.approx(float(np.nansum(dur)) * 60_000)


def test_blocked_time_drawn_distinctly() -> None:
    inst = blocking_instance()
    s = run_fifo(inst)
    blocked = np.nan_to_num(s.times["leave"] - s.times["end"])
    assert blocked.max() > 0, "the instance must block a machine"
    fig = viz.gantt(s, inst)
    tr = next(t for t in fig.data if t.name.startswith("blocked"))
    assert tr.marker.color == viz.BLOCKED_COLOR
    assert sum(tr.x) == pytest.approx(float(blocked.sum()) * 60_000)


def test_gantt_by_order_has_deadlines_and_late_flag() -> None:
    inst = blocking_instance()
    s = run_fifo(inst)
    fig = viz.gantt(s, inst, by="order")
    assert list(fig.layout.yaxis.categoryarray) == [o.id for o in inst.orders]
    dl = next(t for t in fig.data if t.name == "deadline")
    status = {r["order"]: r for r in viz.order_status(s, inst)}
    for y, c in zip(dl.y, dl.marker.color, strict=True):
        assert (c == "#D32F2F") == status[y]["late"]
    bars = [t for t in fig.data if t.type == "bar"]
    assert sum(len(t.y) for t in bars) == s.n_ops
    with pytest.raises(ValueError):
        viz.gantt(s, inst, by="job")


def test_buffer_figure_levels_and_capacity() -> None:
    inst = blocking_instance()
    s = run_fifo(inst)
    fig = viz.buffer_figure(s, inst)
    names = [t.name for t in fig.data]
    assert names.count("capacity") == 1  # only B is bounded
    level_b = next(t for t in fig.data if t.name == "B level")
    assert max(level_b.y) == pytest.approx(1.0)
    cap = next(t for t in fig.data if t.name == "capacity")
    assert list(cap.y) == [1.0, 1.0]


def test_late_orders_table() -> None:
    inst = blocking_instance()
    s = run_fifo(inst)
    df = viz.late_orders(s, inst)
    st = viz.order_status(s, inst)
    late = [r for r in st if r["late"]]
    assert len(df) == len(late) > 0
    assert list(df["late_minutes"]) == sorted(df["late_minutes"], reverse=True)
    r0 = df.iloc[0]
    src = next(r for r in st if r["order"] == r0["order"])
    assert r0["late_minutes"] == pytest.approx(src["completion_min"] - src["deadline_min"])
    assert r0["late by"] == viz.format_minutes(r0["late_minutes"])
    assert src["completion"] == PS + timedelta(minutes=src["completion_min"])


def test_order_colors_stable_and_distinct() -> None:
    ids = [f"O{i}" for i in range(300)]
    c = viz.order_colors(ids)
    assert c == viz.order_colors(ids)
    assert len(set(list(c.values())[:32])) == 32
    assert viz.SETUP_COLOR not in c.values() and viz.BLOCKED_COLOR not in c.values()
    assert viz.text_color("#FFFFFF") == "#000000" and viz.text_color("#1F1F1F") == "#FFFFFF"


def test_gantt_of_a_500_job_week_is_fast() -> None:
    inst = week_instance()
    assert len(inst.jobs) == 500 and inst.n_operations == 3000
    s = run_fifo(inst)
    viz.gantt(s, inst)  # warm imports
    t0 = time.process_time()  # CPU seconds: a busy machine must not fail this test
    fig = viz.gantt(s, inst)
    fig.to_json()  # what Streamlit sends to the browser
    dt = time.process_time() - t0
    assert len(fig.data) <= 3  # processing, setups, blocked: not one trace per order
    assert dt < 3.0, f"Gantt of 3,000 operations took {dt:.2f} s"
