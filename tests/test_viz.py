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


def polygon_rects(tr) -> list[tuple[float, float, float, float]]:
    """The rectangles of a fill trace's polygon (anchor, 4 corners, back to the first corner;
    per rectangle, no gaps) as (x0, x1, y0, y1) in ms / rows."""
    x, y = np.asarray(tr.x, dtype=float), np.asarray(tr.y, dtype=float)
    assert len(x) % 6 == 1 and not np.isnan(x).any() and not np.isnan(y).any()  # no gaps
    assert (x[0:-1:6] == x[0]).all() and (y[0:-1:6] == y[0]).all() and x[-1] == x[0]
    for i in range(0, len(x) - 1, 6):  # a rectangle, closed
        assert x[i + 1] == x[i + 4] == x[i + 5] and x[i + 2] == x[i + 3]
        assert y[i + 1] == y[i + 2] == y[i + 5] and y[i + 3] == y[i + 4]
    return [(x[i + 1], x[i + 2], y[i + 1], y[i + 3]) for i in range(0, len(x) - 1, 6)]


def _ms(minutes: float) -> int:
    return int(np.datetime64(PS, "ms").astype(np.int64)) + round(minutes * 60_000)


def _hover_pts(fig, group: str) -> list[tuple[float, float, list]]:
    return [
        (x, y, list(cd))
        for tr in fig.data
        if tr.legendgroup == group and tr.customdata is not None
        for x, y, cd in zip(tr.x, tr.y, tr.customdata, strict=True)
    ]


def test_gantt_by_machine_bars_on_real_dates_coloured_by_order() -> None:
    """Every operation is one rectangle of its order's colour on its machine's row, from its
    start to its end; its hover text (order, article, component, quantity) sits on the bar."""
    inst = setup_instance()
    s = run_fifo(inst)
    fig = viz.gantt(s, inst)
    # rows on a numeric axis: row i at y = i from the top, every machine labelled (plant order)
    ya = fig.layout.yaxis
    assert ya.type == "linear" and tuple(ya.range) == (1.5, -0.5)
    assert list(ya.ticktext) == ["SAW-1", "EDGE-1"] and list(ya.tickvals) == [0, 1]
    assert viz.gantt_row_y(fig, ["EDGE-1", "SAW-1", "nope"]) == [1.0, 0.0, None]
    assert fig.layout.xaxis.type == "date"
    # processing: one polygon per order colour, one legend entry for all, no bar elements
    proc = [tr for tr in fig.data if tr.fill == "toself" and tr.legendgroup == "processing"]
    assert not any(tr.type == "bar" for tr in fig.data)
    assert [tr.showlegend for tr in proc].count(True) == 1
    assert {tr.name for tr in proc} == {"processing (colour = order)"}
    by_color = {tr.fillcolor: polygon_rects(tr) for tr in proc}
    colors = viz.order_colors(inst)
    assert set(by_color) == set(colors.values())
    assert sum(len(v) for v in by_color.values()) == s.n_ops
    t = viz.op_table(s, inst)
    pts = _hover_pts(fig, "processing")
    for i in range(len(t)):
        x0, x1 = _ms(t.times["start"][i]), _ms(t.times["end"][i])
        r = ["SAW-1", "EDGE-1"].index(t.machine[i])
        half = viz.ORDER_BAR_WIDTH / 2
        assert any(
            (a, b) == (x0, x1) and abs(y0 - (r - half)) < 1e-6 and abs(y1 - (r + half)) < 1e-6
            for a, b, y0, y1 in by_color[colors[t.order[i]]]
        ), f"operation {i}"
        mine = [cd for x, y, cd in pts if y == r and x0 <= x <= x1]
        assert mine and mine[0][:5] == [
            t.order[i],
            t.article[i],
            t.component[i],
            f"{t.quantity[i]:g}",
            t.machine[i],
        ]
    hov = next(
        tr for tr in fig.data if tr.legendgroup == "processing" and tr.customdata is not None
    )
    assert "%{customdata[0]}" in hov.hovertemplate and "setup" in hov.hovertemplate
    # few operations: the order ids are written on the bars with room for them, centred
    lab = next(tr for tr in fig.data if tr.mode == "text")
    assert set(lab.text) <= {"O1", "O2"} and len(lab.text) >= 1
    machines = ["SAW-1", "EDGE-1"]
    for x, y, txt in zip(lab.x, lab.y, lab.text, strict=True):
        assert any(
            x == (_ms(t.times["start"][i]) + _ms(t.times["end"][i])) / 2
            and y == machines.index(t.machine[i])
            and t.order[i] == txt
            for i in range(len(t))
        )
    assert not any(tr.mode == "text" for tr in viz.gantt(s, inst, labels=False).data)


def test_setups_drawn_distinctly() -> None:
    inst = setup_instance()
    s = run_fifo(inst)
    fig = viz.gantt(s, inst)
    setup = next(t for t in fig.data if t.name == "setup" and t.fill == "toself")
    # solid grey (no order colour is grey) and thinner than the operations' bars
    assert setup.fillcolor == viz.SETUP_COLOR and setup.fillpattern.shape is None
    assert viz.SETUP_BAR_WIDTH < viz.ORDER_BAR_WIDTH
    rects = polygon_rects(setup)
    assert all(abs((y1 - y0) - viz.SETUP_BAR_WIDTH) < 1e-6 for _, _, y0, y1 in rects)
    dur = s.times["setup_end"] - s.times["setup_start"]
    n_setups = int(np.sum(np.nan_to_num(dur) > 0))
    assert n_setups >= 2 and len(rects) == n_setups  # neutral->oak, oak->pine on SAW-1
    assert {round((y0 + y1) / 2) for _, _, y0, y1 in rects} == {0}  # SAW-1's row
    assert sum(b - a for a, b, _, _ in rects) == pytest.approx(float(np.nansum(dur)) * 60_000)
    # each setup's hover text: what it changes, how long, for which order
    pts = _hover_pts(fig, "setup")
    for a, b, y0, y1 in rects:
        mine = [cd for x, y, cd in pts if a <= x <= b and y == round((y0 + y1) / 2)]
        assert mine and float(mine[0][2]) == pytest.approx((b - a) / 60_000)
        assert "→" in mine[0][1] and mine[0][0] in {"O1", "O2"}


def test_blocked_time_drawn_distinctly() -> None:
    inst = blocking_instance()
    s = run_fifo(inst)
    blocked = np.nan_to_num(s.times["leave"] - s.times["end"])
    assert blocked.max() > 0, "the instance must block a machine"
    fig = viz.gantt(s, inst)
    tr = next(t for t in fig.data if t.name.startswith("blocked") and t.fill == "toself")
    assert tr.fillcolor == viz.BLOCKED_COLOR and tr.fillpattern.shape == "x"  # dark red, crossed
    rects = polygon_rects(tr)
    assert len(rects) == int((blocked > 1e-9).sum())
    assert sum(b - a for a, b, _, _ in rects) == pytest.approx(float(blocked.sum()) * 60_000)
    for i in np.flatnonzero(blocked > 1e-9):  # from the end to the leave, on its machine's row
        r = viz.gantt_row_y(fig, [s.machine_ids[int(s.op_machine[i])]])[0]
        x0, x1 = _ms(s.times["end"][i]), _ms(s.times["leave"][i])
        assert any((a, b) == (x0, x1) and y0 < r < y1 for a, b, y0, y1 in rects)
    pts = _hover_pts(fig, "blocked")
    assert len({cd[0] for _, _, cd in pts}) >= 1 and all(float(cd[2]) > 0 for _, _, cd in pts)


def test_touching_bars_are_separated() -> None:
    """Bars that touch on a row (one ends where the next starts) get a thin line between
    them (one path shape): bars of one order side by side read apart."""
    inst = week_instance(n_orders=10)
    s = run_fifo(inst)
    fig = viz.gantt(s, inst, labels=False)
    t = viz.op_table(s, inst)
    rows = viz.gantt_row_y(fig, list(t.machine))
    touching = {
        (_ms(t.times["start"][j]), rows[j])
        for i in range(len(t))
        for j in range(len(t))
        if rows[i] == rows[j] and i != j and _ms(t.times["end"][i]) == _ms(t.times["start"][j])
    }
    assert touching, "the instance must have touching bars"
    sep = [sh for sh in fig.layout.shapes if sh.name == "bar separators"]
    assert len(sep) == 1
    got = set()
    for seg in sep[0].path.split("M")[1:]:
        x, rest = seg.split(",")
        y0, y1 = (float(v) for v in rest.split("V"))
        ms = int(np.datetime64(x.replace("_", "T"), "ms").astype(np.int64))
        got.add((ms, (y0 + y1) / 2))
    # the path's dates are to the second
    assert {(x // 1000, y) for x, y in got} == {(x // 1000, y) for x, y in touching}


def _order_bars(fig) -> dict[str, list[tuple[float, float, float, float]]]:
    """The order Gantt's rectangles per work center, read back from each fill trace's polygon:
    (x0, x1, y0, y1) in ms/rows."""
    return {tr.name: polygon_rects(tr) for tr in fig.data if tr.fill == "toself"}


def test_gantt_by_order_has_deadlines_and_late_flag() -> None:
    inst = blocking_instance()
    s = run_fifo(inst)
    fig = viz.gantt(s, inst, by="order")
    rows = viz.order_rows(s, inst)
    assert rows == [o.id for o in inst.orders]
    # rows on a numeric axis, row i at y = i from the top, every order labelled
    assert fig.layout.yaxis.type == "linear" and tuple(fig.layout.yaxis.range) == (
        len(rows) - 0.5,
        -0.5,
    )
    assert list(fig.layout.yaxis.tickvals) == list(range(len(rows)))
    assert list(fig.layout.yaxis.ticktext) == rows
    dl = next(t for t in fig.data if t.name == "deadline")
    status = {r["order"]: r for r in viz.order_status(s, inst)}
    for y, c in zip(dl.y, dl.marker.color, strict=True):
        assert (c == "#D32F2F") == status[rows[int(y)]]["late"]
    # every operation is one rectangle of its work center's colour, on its order's row, from
    # its start to its end (ms since 1970: what the date axis reads)
    t = viz.op_table(s, inst)
    bars = _order_bars(fig)
    assert sum(len(v) for v in bars.values()) == s.n_ops
    base = np.datetime64(PS, "ms").astype(np.int64)
    for i in range(len(t)):
        x0 = base + round(t.times["start"][i] * 60_000)
        x1 = base + round(t.times["end"][i] * 60_000)
        r = rows.index(t.order[i])
        assert any(
            (a, b) == (x0, x1) and abs(y0 - (r - 0.425)) < 1e-6 and abs(y1 - (r + 0.425)) < 1e-6
            for a, b, y0, y1 in bars[t.work_center[i]]
        ), f"operation {i}"
    with pytest.raises(ValueError):
        viz.gantt(s, inst, by="job")


def test_order_gantt_hover_text_along_each_bar() -> None:
    """Every bar carries its hover text (order, article / component, machine, setup, dates)
    at its middle, and a long bar at least every makespan / HOVER_POINTS_ACROSS."""
    inst = setup_instance()
    s = run_fifo(inst)
    fig = viz.gantt(s, inst, by="order")
    t = viz.op_table(s, inst)
    base = np.datetime64(PS, "ms").astype(np.int64)
    every = (np.nanmax(t.times["end"]) - np.nanmin(t.times["start"])) / viz.HOVER_POINTS_ACROSS
    rows = viz.order_rows(s, inst)
    pts = [
        (x, y, cd)
        for tr in fig.data
        if tr.fill != "toself" and tr.customdata is not None and tr.name != "deadline"
        for x, y, cd in zip(tr.x, tr.y, tr.customdata, strict=True)
    ]
    for i in range(len(t)):  # in ms
        a = base + round(t.times["start"][i] * 60_000)
        b = base + round(t.times["end"][i] * 60_000)
        mine = sorted(x for x, y, _ in pts if y == rows.index(t.order[i]) and a <= x <= b)
        assert mine, f"operation {i} has no hover point"
        assert mine[0] - a <= every * 30_000 + 1 and b - mine[-1] <= every * 30_000 + 1
        assert np.diff(mine).max(initial=0) <= every * 60_000 + 1
        cd = next(cd for x, y, cd in pts if x == mine[0] and y == rows.index(t.order[i]))
        assert list(cd[:5]) == [
            t.order[i],
            t.article[i],
            t.component[i],
            f"{t.quantity[i]:g}",
            t.machine[i],
        ]
    assert sum(1 for tr in fig.data if tr.showlegend is not False) >= 1


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
    # bars as polygons: one per order colour, setups, blocked, closed time, and the hover
    # points of each kind; no bar traces (a bar is an SVG element per operation in the browser)
    assert not any(tr.type == "bar" for tr in fig.data)
    assert len(fig.data) <= len(inst.orders) + 2 * 2 + 1 + 1
    proc = [tr for tr in fig.data if tr.fill == "toself" and tr.legendgroup == "processing"]
    assert sum(len(polygon_rects(tr)) for tr in proc) == s.n_ops
    assert dt < 3.0, f"Gantt of 3,000 operations took {dt:.2f} s"
    # the order view: per work center one filled polygon and its hover points, no bar
    # traces (a bar is an SVG element per operation in the browser)
    t0 = time.process_time()
    fig = viz.gantt(s, inst, by="order")
    fig.to_json()
    dt = time.process_time() - t0
    assert len(fig.data) <= 2 * len(s.wc_ids) + 1  # + the deadlines
    assert not any(tr.type == "bar" for tr in fig.data)
    assert sum(len(v) for v in _order_bars(fig).values()) == s.n_ops
    assert dt < 3.0, f"order Gantt of 3,000 operations took {dt:.2f} s"
