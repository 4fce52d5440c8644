"""Figures and tables of a schedule for people: Gantt charts, buffer levels, late orders.

Pure functions over a :class:`~furnsim.sim.Schedule` and its :class:`~furnsim.model.Instance`
(no Streamlit import): the dashboard, the Excel export and scripts share them.

Times in a schedule are minutes after the plan start; the figures put them on a real
calendar (``plan_start``: the argument, else ``instance.plan_start``, else next Monday
06:00) because planners read dates, and plotly's date axes want them.

Speed: a Gantt draws its bars as a few filled polygons (one per order colour or work center,
one for setups, blocked and closed time: one SVG path each, not an element per bar) on a
numeric row axis (row ``i`` at ``y = i``, top down; :func:`gantt_row_y`), with the hover
text on invisible points; a 500-job week (about 3,000 operations) builds and serializes in
well under a second (``docs/dashboard.md`` has the measured numbers).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "BLOCKED_COLOR",
    "LABEL_MAX_OPS",
    "SETUP_BAR_WIDTH",
    "SETUP_COLOR",
    "OpTable",
    "buffer_figure",
    "default_plan_start",
    "format_minutes",
    "gantt",
    "gantt_row_y",
    "late_orders",
    "mark_fixed",
    "mark_now",
    "mark_outages",
    "op_table",
    "order_colors",
    "order_rows",
    "order_status",
    "resolve_plan_start",
    "text_color",
]

LABEL_MAX_OPS = 800  # order ids inside bars up to this many operations (browser speed)
ORDER_BAR_WIDTH = 0.85  # operations' bars (both Gantts), in rows
ROW_LABEL_MIN_PX = 13  # the order Gantt labels orders' rows at least this far apart
HOVER_POINTS_ACROSS = 120  # hover points along long bars: one per makespan / this
SETUP_COLOR = "#9E9E9E"  # setups: grey (no order has a grey), a thinner bar than operations
SETUP_BAR_WIDTH = 0.45  # rows are 1 apart; operations are 0.85 tall (bargap 0.15)
BLOCKED_COLOR = "#B71C1C"  # a finished job waits on its machine for buffer room: dark red, crossed

# distinct colours for orders (no greys and no dark reds: those mean setup / blocked)
_BASE_PALETTE = (
    "#1F77B4",
    "#FF7F0E",
    "#2CA02C",
    "#9467BD",
    "#17BECF",
    "#BCBD22",
    "#E377C2",
    "#8C564B",
    "#636EFA",
    "#00CC96",
    "#AB63FA",
    "#FFA15A",
    "#19D3F3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
    "#3366CC",
    "#109618",
    "#0099C6",
    "#DD4477",
    "#66AA00",
    "#316395",
    "#22AA99",
    "#AAAA11",
    "#6633CC",
    "#E67300",
    "#329262",
    "#5574A6",
    "#F58518",
    "#54A24B",
    "#4C78A8",
)


# ---------------------------------------------------------------------------------------
# calendar
# ---------------------------------------------------------------------------------------
def default_plan_start(now: datetime | None = None) -> datetime:
    """Next Monday 06:00 (today's 06:00 if today is Monday and it is not 06:00 yet)."""
    now = now or datetime.now()
    monday = (now + timedelta(days=(7 - now.weekday()) % 7)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    if monday <= now:
        monday += timedelta(days=7)
    return monday


def resolve_plan_start(instance: Any = None, plan_start: datetime | None = None) -> datetime:
    """The datetime minute 0 stands for: the argument, the instance's, or next Monday 06:00."""
    if plan_start is not None:
        return plan_start
    ps = getattr(instance, "plan_start", None)
    return ps if ps is not None else default_plan_start()


def format_minutes(minutes: float) -> str:
    """A duration for people: ``2 d 3 h 05 min``, ``4 h 30 min``, ``12 min``."""
    if minutes is None or not math.isfinite(minutes):
        return "-"
    m = int(round(minutes))
    sign = "-" if m < 0 else ""
    m = abs(m)
    d, rem = divmod(m, 1440)
    h, mm = divmod(rem, 60)
    if d:
        return f"{sign}{d} d {h} h {mm:02d} min"
    if h:
        return f"{sign}{h} h {mm:02d} min"
    return f"{sign}{mm} min"


def _to_datetime64(plan_start: datetime, minutes: np.ndarray) -> np.ndarray:
    """Minutes after ``plan_start`` -> datetime64[ms] (NaT for nan)."""
    base = np.datetime64(plan_start.replace(tzinfo=None), "ms")
    ms = np.where(np.isnan(minutes), 0, np.round(minutes * 60_000.0)).astype("int64")
    out = base + ms.astype("timedelta64[ms]")
    out[np.isnan(minutes)] = np.datetime64("NaT")
    return out


# ---------------------------------------------------------------------------------------
# colours
# ---------------------------------------------------------------------------------------
def _palette(n: int) -> list[str]:
    out = list(_BASE_PALETTE[:n])
    k = 0
    while len(out) < n:  # golden-angle hues, three lightness bands: stable and distinct enough
        h = (k * 0.618033988749895 + 0.11) % 1.0
        light = (0.45, 0.62, 0.35)[(k // 7) % 3]
        r, g, b = colorsys.hls_to_rgb(h, light, 0.65)
        out.append(f"#{int(r * 255):02X}{int(g * 255):02X}{int(b * 255):02X}")
        k += 1
    return out


def order_colors(instance_or_ids: Any) -> dict[str, str]:
    """Order id -> hex colour, stable by order position (the same in Gantt, Excel and legend)."""
    if hasattr(instance_or_ids, "orders"):
        ids = [o.id for o in instance_or_ids.orders]
    else:
        ids = list(instance_or_ids)
    return dict(zip(ids, _palette(len(ids)), strict=True))


def text_color(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color``."""
    c = hex_color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if lum > 0.55 else "#FFFFFF"


# ---------------------------------------------------------------------------------------
# one table of operations (numpy columns) shared by the Gantt, the Excel export and tables
# ---------------------------------------------------------------------------------------
@dataclass
class OpTable:
    """Scheduled operations as aligned arrays (only operations that were scheduled)."""

    op: np.ndarray  # (k,) int64 global operation index
    machine: np.ndarray  # (k,) object machine id
    work_center: np.ndarray  # (k,) object
    job: np.ndarray  # (k,) object job id
    order: np.ndarray  # (k,) object order id
    article: np.ndarray  # (k,) object
    component: np.ndarray  # (k,) object
    quantity: np.ndarray  # (k,) float64 δ (pieces of the component)
    step: np.ndarray  # (k,) int64 1-based route position
    setup_from: np.ndarray  # (k,) object
    setup_to: np.ndarray  # (k,) object
    times: dict[str, np.ndarray]  # OP_FIELDS -> (k,) float64 minutes

    def __len__(self) -> int:
        return int(self.op.shape[0])


def op_table(schedule: Any, instance: Any = None) -> OpTable:
    """The scheduled operations of ``schedule`` with names from ``instance`` (if given)."""
    s = schedule
    idx = np.flatnonzero(np.asarray(s.op_machine) >= 0)
    jobs = getattr(instance, "jobs", None)
    job_ids = np.array(s.job_ids, dtype=object)
    oj = np.asarray(s.op_job)[idx]
    if jobs is not None and len(jobs) == len(s.job_ids):
        order = np.array([j.order for j in jobs], dtype=object)[oj]
        article = np.array([j.article for j in jobs], dtype=object)[oj]
        component = np.array([j.component for j in jobs], dtype=object)[oj]
        qty = np.array([j.delta for j in jobs], dtype=float)[oj]
    else:
        order = job_ids[oj]
        article = np.full(len(idx), "", dtype=object)
        component = np.full(len(idx), "", dtype=object)
        qty = np.full(len(idx), np.nan)
    setups = np.array(s.setup_ids, dtype=object)
    return OpTable(
        op=idx.astype(np.int64),
        machine=np.array(s.machine_ids, dtype=object)[np.asarray(s.op_machine)[idx]],
        work_center=np.array(s.wc_ids, dtype=object)[np.asarray(s.op_wc)[idx]],
        job=job_ids[oj],
        order=order,
        article=article,
        component=component,
        quantity=qty,
        step=np.asarray(s.op_step)[idx] + 1,
        setup_from=setups[np.asarray(s.op_setup_from)[idx]],
        setup_to=setups[np.asarray(s.op_setup_to)[idx]],
        times={k: np.asarray(v, dtype=float)[idx] for k, v in s.times.items()},
    )


# ---------------------------------------------------------------------------------------
# Gantt
# ---------------------------------------------------------------------------------------
def _fmt_dt(a: np.ndarray) -> np.ndarray:
    """datetime64 -> 'Mon 02.03. 06:00' strings (vectorized through numpy string ops)."""
    s = np.datetime_as_string(a, unit="m")  # 'YYYY-MM-DDTHH:MM'
    days = (a.astype("datetime64[D]").astype("int64") - 4) % 7  # 1970-01-01 was a Thursday
    names = np.array(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], dtype=object)[days]
    out = np.empty(len(a), dtype=object)
    for i, (nm, st) in enumerate(zip(names, s, strict=True)):
        out[i] = f"{nm} {st[8:10]}.{st[5:7]}. {st[11:16]}"
    return out


def _machine_order(schedule: Any, instance: Any) -> list[str]:
    plant = getattr(instance, "plant", None)
    if plant is not None:
        return [m.id for w in plant.work_centers for m in plant.machines if m.work_center == w.id]
    return list(schedule.machine_ids)


def _closed_time(
    fig: go.Figure, schedule: Any, instance: Any, ps: datetime, row_at: dict[str, int]
) -> None:
    """Working time: shade each machine's closed time (breaks, nights, holidays, downtime)
    up to the makespan, as one filled polygon; an operation's bar spans its pauses (its
    segments are in the JSON)."""
    wt = getattr(getattr(instance, "compiled", None), "working", None)
    mk = float(schedule.makespan)
    if wt is None or mk <= 0:
        return
    ys: list[int] = []
    a_min: list[float] = []
    b_min: list[float] = []
    for m, mt in enumerate(wt.machines):
        if mt is None:
            continue
        prev = 0.0
        for a, b in [*mt.segments(0.0, mk), [mk, mk]]:
            if a > prev:
                ys.append(row_at[schedule.machine_ids[m]])
                a_min.append(prev)
                b_min.append(a)
            prev = max(prev, b)
    if not ys:
        return
    _rects_trace(
        fig,
        _epoch_ms(ps, np.array(a_min)),
        _epoch_ms(ps, np.array(b_min)),
        np.array(ys, dtype=np.float64),
        ORDER_BAR_WIDTH / 2,
        "rgba(110,110,110,0.22)",
        name="closed (no working time)",
    )
    _downtime(fig, schedule, instance, ps, mk, row_at)


DOWNTIME_COLOR = "#E65100"


def _downtime(
    fig: go.Figure, schedule: Any, instance: Any, ps: datetime, mk: float, row_at: dict[str, int]
) -> None:
    """Machine downtime (plant sheet downtime) as orange hatched bars over the grey closed
    time, so maintenance and outages read apart from nights and holidays (a few bars: they
    stay bar elements, on the machines' numeric rows)."""
    plant = getattr(instance, "plant", None)
    ids = set(schedule.machine_ids)
    ys: list[int] = []
    a_min: list[float] = []
    b_min: list[float] = []
    text: list[str] = []
    for d in getattr(plant, "downtime", None) or []:
        a = max(0.0, (d.start - ps).total_seconds() / 60.0)
        b = min(mk, (d.end - ps).total_seconds() / 60.0)
        if d.machine in ids and b > a:
            ys.append(row_at[d.machine])
            a_min.append(a)
            b_min.append(b)
            text.append(
                f"downtime {d.machine}<br>{d.start:%a %d.%m. %H:%M} – {d.end:%a %d.%m. %H:%M}"
                + (f"<br>{d.reason}" if d.reason else "")
            )
    if not ys:
        return
    a_arr, b_arr = np.array(a_min), np.array(b_min)
    fig.add_trace(
        go.Bar(
            name="downtime",
            orientation="h",
            y=ys,
            width=ORDER_BAR_WIDTH,
            base=_to_datetime64(ps, a_arr),
            x=np.round((b_arr - a_arr) * 60_000.0),
            marker=dict(
                color="rgba(230,81,0,0.25)",
                line=dict(color=DOWNTIME_COLOR, width=1),
                pattern=dict(shape="/", fgcolor=DOWNTIME_COLOR, size=6, solidity=0.3),
            ),
            hovertext=text,
            hoverinfo="text",
        )
    )


def gantt(
    schedule: Any,
    instance: Any = None,
    by: str = "machine",
    plan_start: datetime | None = None,
    *,
    title: str | None = None,
    height: int | None = None,
    labels: bool | None = None,
) -> go.Figure:
    """A Gantt chart of ``schedule`` on real dates.

    ``by="machine"``: one row per machine (plant order); processing bars coloured by order,
    setups as thin grey bars, blocked time (a finished job waiting on its machine for
    buffer room) as dark-red crossed bars, closed time grey, downtime orange hatched. ``by="order"``: one row per order, its
    operations coloured by work center, the deadline as a diamond (red when late).
    Hover: order, article, component, quantity, machine, setup, start/end.
    ``labels``: write the order id inside the bars that have room (default: only up to
    ``LABEL_MAX_OPS`` operations - text layout is what makes a browser slow on a big week).
    Rows are numeric (row ``i`` at ``y = i``, labelled with the machine or order): draw on a
    machine's row at :func:`gantt_row_y`.
    """
    if by not in ("machine", "order"):
        raise ValueError("by must be 'machine' or 'order'")
    ps = resolve_plan_start(instance, plan_start)
    t = op_table(schedule, instance)
    start, end = t.times["start"], t.times["end"]
    s_dt, e_dt = _to_datetime64(ps, start), _to_datetime64(ps, end)
    setup_txt = np.where(
        t.setup_from == t.setup_to, t.setup_to, t.setup_from + " → " + t.setup_to
    ).astype(object)
    setup_min = t.times["setup_end"] - t.times["setup_start"]
    qty_txt = np.array([f"{q:g}" if math.isfinite(q) else "" for q in t.quantity], dtype=object)
    custom = np.column_stack(
        [
            t.order,
            t.article,
            t.component,
            qty_txt,
            t.machine,
            setup_txt,
            np.round(np.nan_to_num(setup_min), 1),
            _fmt_dt(s_dt),
            _fmt_dt(e_dt),
            t.step,
        ]
    )
    hover = (
        "<b>%{customdata[0]}</b> · %{customdata[1]} / %{customdata[2]}<br>"
        "quantity %{customdata[3]} · step %{customdata[9]}<br>"
        "machine %{customdata[4]}<br>setup %{customdata[5]} (%{customdata[6]} min)<br>"
        "%{customdata[7]} – %{customdata[8]}<extra></extra>"
    )
    show_labels = len(t) <= LABEL_MAX_OPS if labels is None else labels
    fig = go.Figure()
    if by == "machine":
        rows = _machine_order(schedule, instance)
        known = set(rows)
        rows += [m for m in dict.fromkeys(t.machine.tolist()) if m not in known]
        row_at = {r: i for i, r in enumerate(rows)}
        yi = np.array([row_at[m] for m in t.machine], dtype=np.float64)
        s_ms, e_ms = _epoch_ms(ps, start), _epoch_ms(ps, end)
        colors = (
            order_colors(instance)
            if hasattr(instance, "orders")
            else order_colors(dict.fromkeys(t.order.tolist()))
        )
        bar_colors = np.array([colors.get(o, "#1F77B4") for o in t.order], dtype=object)
        mk = float(np.nanmax(end)) - float(np.nanmin(start)) if len(t) else 0.0
        hover_every = max(mk / HOVER_POINTS_ACROSS, 1e-9)
        # processing: the bars of one colour (an order) as one filled polygon (one SVG path,
        # not an element per bar), one legend entry for all; the hover text on points
        for k, c in enumerate(dict.fromkeys(bar_colors.tolist())):
            sel = np.flatnonzero(bar_colors == c)
            _rects_trace(
                fig, s_ms[sel], e_ms[sel], yi[sel], ORDER_BAR_WIDTH / 2, c,
                name="processing (colour = order)", legendgroup="processing", showlegend=k == 0,
            )  # fmt: skip
        _separators(fig, s_ms, e_ms, yi, ORDER_BAR_WIDTH / 2)
        _hover_trace(
            fig, "processing", s_ms, e_ms, yi, start, end, hover_every, custom, hover, bar_colors
        )
        if show_labels:
            _bar_labels(fig, t.order, s_ms, e_ms, yi, bar_colors)
        # setups (only those that take time): solid grey, half as tall as an operation
        # (a hatch pattern on the week's ~900 setup bars cost browsers a third of the drawing)
        sm = np.flatnonzero(np.nan_to_num(setup_min) > 1e-9)
        if len(sm):
            ss_m, se_m = t.times["setup_start"][sm], t.times["setup_end"][sm]
            ss, se = _epoch_ms(ps, ss_m), _epoch_ms(ps, se_m)
            _rects_trace(
                fig, ss, se, yi[sm], SETUP_BAR_WIDTH / 2, SETUP_COLOR,
                name="setup", legendgroup="setup",
            )  # fmt: skip
            scd = np.column_stack(
                [
                    t.order[sm],
                    setup_txt[sm],
                    np.round(setup_min[sm], 1),
                    _fmt_dt(_to_datetime64(ps, ss_m)),
                    _fmt_dt(_to_datetime64(ps, se_m)),
                    t.component[sm],
                ]
            )
            _hover_trace(
                fig, "setup", ss, se, yi[sm], ss_m, se_m, hover_every, scd,
                "<b>setup</b> %{customdata[1]} (%{customdata[2]} min)<br>"
                "for %{customdata[0]} / %{customdata[5]}<br>%{customdata[3]} – %{customdata[4]}"
                "<extra></extra>",
                SETUP_COLOR,
            )  # fmt: skip
        # blocked time: a finished job waits on its machine for buffer room (dark red, crossed)
        bl = np.flatnonzero(np.nan_to_num(t.times["leave"] - end) > 1e-9)
        if len(bl):
            leave = t.times["leave"][bl]
            bs, be = e_ms[bl], _epoch_ms(ps, leave)
            bmin = leave - end[bl]
            _rects_trace(
                fig, bs, be, yi[bl], ORDER_BAR_WIDTH / 2, BLOCKED_COLOR,
                name="blocked (waits for buffer room)", legendgroup="blocked",
                fillpattern=dict(
                    shape="x", bgcolor=BLOCKED_COLOR, fgcolor="#FFCDD2", size=4, solidity=0.3
                ),
            )  # fmt: skip
            bcd = np.column_stack(
                [
                    t.order[bl],
                    t.component[bl],
                    np.round(bmin, 1),
                    _fmt_dt(e_dt[bl]),
                    _fmt_dt(_to_datetime64(ps, leave)),
                ]
            )
            _hover_trace(
                fig, "blocked", bs, be, yi[bl], end[bl], leave, hover_every, bcd,
                "<b>blocked</b> %{customdata[2]} min: %{customdata[0]} / "
                "%{customdata[1]} waits for room downstream<br>%{customdata[3]} – %{customdata[4]}"
                "<extra></extra>",
                BLOCKED_COLOR,
            )  # fmt: skip
        _closed_time(fig, schedule, instance, ps, row_at)
        ytitle = "machine"
    else:
        rows, y_of, order_row, tree = _order_rows(t, instance)
        row_at = {r: i for i, r in enumerate(rows)}
        yi = np.array([row_at[r] for r in y_of], dtype=np.float64)
        # x as milliseconds since 1970 (a date axis reads numbers so): compact typed arrays
        s_ms, e_ms = _epoch_ms(ps, start), _epoch_ms(ps, end)
        if tree:
            _kit_lines(fig, schedule, instance, ps, dict(zip(t.job, yi, strict=True)))
        wcs = list(schedule.wc_ids)
        wc_col = dict(zip(wcs, _palette(len(wcs)), strict=True))
        mk = float(np.nanmax(end)) - float(np.nanmin(start)) if len(t) else 0.0
        hover_every = max(mk / HOVER_POINTS_ACROSS, 1e-9)
        # per work center: its bars as one filled polygon (one SVG path, not one element per
        # bar) and, in the same legend group, the points that carry the bars' hover text
        for w in wcs:
            sel = np.flatnonzero(t.work_center == w)
            if not len(sel):
                continue
            _rects_trace(
                fig, s_ms[sel], e_ms[sel], yi[sel], ORDER_BAR_WIDTH / 2, wc_col[w],
                name=w, legendgroup=w,
            )  # fmt: skip
            _hover_trace(
                fig,
                w,
                s_ms[sel],
                e_ms[sel],
                yi[sel],
                start[sel],
                end[sel],
                hover_every,
                custom[sel],
                hover,
                wc_col[w],
            )
        if hasattr(instance, "orders"):
            st = order_status(schedule, instance, ps)
            has_dl = [r for r in st if r["deadline"] is not None]
            if has_dl:
                fig.add_trace(
                    go.Scatter(
                        name="deadline",
                        mode="markers",
                        y=[row_at[order_row.get(r["order"], r["order"])] for r in has_dl],
                        x=[r["deadline"] for r in has_dl],
                        marker=dict(
                            symbol="diamond",
                            size=9,
                            color=["#D32F2F" if r["late"] else "#212121" for r in has_dl],
                            line=dict(width=1, color="white"),
                        ),
                        customdata=[[r["order"], r["late_by"]] for r in has_dl],
                        hovertemplate="<b>%{customdata[0]}</b> deadline %{x|%a %d.%m. %H:%M}"
                        "<br>late by %{customdata[1]}<extra></extra>",
                    )
                )
        ytitle = "order"
    n = max(1, len(rows))
    fig_height = height or int(min(3000, 120 + (22 if by == "machine" else 16) * n))
    fig.update_layout(
        barmode="overlay",
        title=title,
        height=fig_height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        bargap=0.15,
        hoverlabel=dict(align="left"),
        uniformtext=dict(minsize=7, mode="hide") if show_labels else None,
    )
    # "allow": plotly's check for tick labels past the chart's edge measures every label once
    # per label (quadratic; 0.3 s of a tab switch for the order Gantt's labels)
    fig.update_xaxes(
        type="date", tickformat="%a %d.%m.\n%H:%M", showgrid=True, ticklabeloverflow="allow"
    )
    if by == "machine":  # rows on a numeric axis (row i at y = i, top down), all labelled
        if len(t) and np.isfinite(mk) and mk > 0:  # 5 % room either side, as bars had
            lo, hi = float(np.nanmin(s_ms)), float(np.nanmax(e_ms))
            pad = (hi - lo) * 0.05
            fig.update_xaxes(autorangeoptions=dict(include=[lo - pad, hi + pad]))
        fig.update_yaxes(
            type="linear",
            range=[n - 0.5, -0.5],
            tickmode="array",
            tickvals=list(range(len(rows))),
            ticktext=rows,
            ticklabeloverflow="allow",
            showgrid=False,
            zeroline=False,
            title=ytitle,
        )
    else:  # rows on a numeric axis (row i at y = i, top down): bars are filled polygons
        roots = sorted({row_at[order_row.get(o, o)] for o in dict.fromkeys(t.order.tolist())})
        ticks = _spaced(roots or [0], ROW_LABEL_MIN_PX / max(1.0, (fig_height - 100) / n))
        fig.update_yaxes(
            type="linear",
            range=[n - 0.5, -0.5],
            tickmode="array",
            tickvals=ticks,
            ticktext=[rows[i] for i in ticks],
            ticklabeloverflow="allow",
            showgrid=False,
            zeroline=False,
            title=ytitle,
        )
    return fig


def order_rows(schedule: Any, instance: Any = None) -> list[str]:
    """The rows of the order Gantt, top down: row ``i`` is drawn at ``y = i``. One row per
    order, or with a bill of materials one row per job as a tree (:func:`bom_rows`)."""
    return _order_rows(op_table(schedule, instance), instance)[0]


def _order_rows(t: OpTable, instance: Any) -> tuple[list[str], np.ndarray, dict[str, str], bool]:
    """(rows, each operation's row (k,), order id -> the row of its deadline, whether the
    rows are a bill of materials tree)."""
    tree = bom_rows(instance)
    if tree is not None:  # orders with a bill of materials: one row per job, as a tree
        row_of_job, rows, order_row = tree
        y_of = np.array(
            [row_of_job.get(j, o) for j, o in zip(t.job, t.order, strict=True)], dtype=object
        )
        return rows, y_of, order_row, True
    rows = (
        [o.id for o in instance.orders]
        if hasattr(instance, "orders")
        else list(dict.fromkeys(t.order.tolist()))
    )
    return rows, t.order, {r: r for r in rows}, False


def _spaced(rows: list[int], min_rows: float) -> list[int]:
    """The rows (sorted) that get a label: each at least ``min_rows`` below the last one."""
    out = [rows[0]]
    for r in rows[1:]:
        if r - out[-1] >= min_rows:
            out.append(r)
    return out


def _epoch_ms(plan_start: datetime, minutes: np.ndarray) -> np.ndarray:
    """Minutes after ``plan_start`` -> milliseconds since 1970 (float64, nan stays nan): what
    a date axis reads from a number."""
    base = float(np.datetime64(plan_start.replace(tzinfo=None), "ms").astype(np.int64))
    return base + np.round(np.asarray(minutes, dtype=np.float64) * 60_000.0)


def _rects_polygon(
    x0: np.ndarray, x1: np.ndarray, y: np.ndarray, half: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rectangles [x0, x1] x [y - half, y + half] as one closed polygon without gaps: from a
    common anchor (the first rectangle's corner) to each rectangle, round it, and back. The
    way to a rectangle and back encloses no area, so the filled polygon is the union of the
    rectangles, drawn by plotly as one SVG path (a trace with gaps draws a path per piece).
    Returns x (6k + 1,) and y (6k + 1,)."""
    k = len(x0)
    xs = np.empty(6 * k + 1, dtype=x0.dtype)
    ys = np.empty(6 * k + 1, dtype=np.float32)  # rows and row +- half: exact enough
    top, bottom = y - half, y + half
    xs[0:-1:6], ys[0:-1:6] = x0[0], top[0]  # the anchor before each rectangle
    xs[1::6], ys[1::6] = x0, top
    xs[2::6], ys[2::6] = x1, top
    xs[3::6], ys[3::6] = x1, bottom
    xs[4::6], ys[4::6] = x0, bottom
    xs[5::6], ys[5::6] = x0, top
    xs[-1], ys[-1] = x0[0], top[0]
    return xs, ys


def _rects_trace(
    fig: go.Figure,
    x0: np.ndarray,
    x1: np.ndarray,
    y: np.ndarray,
    half: float,
    color: str,
    **props: Any,
) -> None:
    """Rectangles (:func:`_rects_polygon`) as one filled scatter trace of ``color``, without
    hover (its points carry it: :func:`_hover_trace`); ``props``: name, legend group, ..."""
    xs, ys = _rects_polygon(x0, x1, y, half)
    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="none", fill="toself", fillcolor=color, hoverinfo="skip", **props
        )
    )


def _hover_points(
    start: np.ndarray, end: np.ndarray, every: float
) -> tuple[np.ndarray, np.ndarray]:
    """Where a bar's hover text sits: its middle, and for a bar longer than ``every`` minutes
    one point per ``every`` minutes (plotly shows the text of the nearest point within 20 px).
    Returns (the bar of each point (p,), its position as a fraction of the bar (p,))."""
    n = np.maximum(1, np.ceil(np.nan_to_num(end - start) / every)).astype(np.int64)
    at = np.repeat(np.arange(len(start)), n)
    first = np.cumsum(n) - n
    frac = (np.arange(len(at)) - np.repeat(first, n) + 0.5) / np.repeat(n, n)
    return at, frac


def _hover_trace(
    fig: go.Figure,
    group: str,
    x0: np.ndarray,
    x1: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    every: float,
    customdata: np.ndarray,
    template: str,
    bgcolor: Any,
) -> None:
    """The points that carry the hover text of bars drawn as a polygon (one trace, in the
    bars' legend group): at each bar's middle and along long bars (:func:`_hover_points`).
    ``x0``/``x1`` in ms, ``start``/``end`` in minutes, ``bgcolor`` one colour or one per bar."""
    at, frac = _hover_points(start, end, every)
    fig.add_trace(
        dict(
            type="scatter",
            name=group,
            legendgroup=group,
            showlegend=False,
            x=x0[at] + frac * (x1[at] - x0[at]),
            y=y[at].astype(np.float32),
            mode="none",
            customdata=customdata[at],
            hovertemplate=template,
            hoverlabel=dict(bgcolor=bgcolor[at] if isinstance(bgcolor, np.ndarray) else bgcolor),
        )
    )


LABEL_PLOT_PX = 1000  # the plot width assumed to decide which bars have room for their label


def _bar_labels(
    fig: go.Figure,
    text: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    y: np.ndarray,
    colors: np.ndarray,
) -> None:
    """Order ids in the middle of the bars wide enough for them (on a ``LABEL_PLOT_PX`` wide
    plot of the whole plan, about 6 px a character), in black or white on the bar's colour."""
    span = float(np.nanmax(x1) - np.nanmin(x0)) if len(x0) else 0.0
    if span <= 0:
        return
    px = (x1 - x0) / span * LABEL_PLOT_PX
    n = np.array([len(str(s)) for s in text])
    sel = np.flatnonzero(px >= 6 * n + 6)
    if not len(sel):
        return
    fig.add_trace(
        dict(
            type="scatter",
            name="processing (colour = order)",
            legendgroup="processing",
            showlegend=False,
            x=(x0[sel] + x1[sel]) / 2,
            y=y[sel].astype(np.float32),
            mode="text",
            text=text[sel],
            textposition="middle center",
            textfont=dict(size=9, color=[text_color(c) for c in colors[sel]]),
            hoverinfo="skip",
        )
    )


def _separators(fig: go.Figure, x0: np.ndarray, x1: np.ndarray, y: np.ndarray, half: float) -> None:
    """A thin dark line where a bar ends and the next one on its row starts at once, so that
    bars side by side (of one order: one colour) read apart: one path shape (one SVG element;
    a frame round every bar, 2,400 rectangles in the demo week, cost the browser a third of
    the chart's drawing time). ``x0``/``x1`` in ms, ``y`` rows."""
    o = np.lexsort((x0, y))
    at = np.flatnonzero((y[o][1:] == y[o][:-1]) & (np.abs(x0[o][1:] - x1[o][:-1]) < 0.5))
    if not len(at):
        return
    xs = x0[o][at + 1].astype("datetime64[ms]")
    # dates in a shape's path: '2026-03-02_06:00:00' (a 'T' would read as a command)
    d = np.char.replace(np.datetime_as_string(xs, "s"), "T", "_").tolist()
    r = y[o][at + 1].tolist()
    fig.add_shape(
        type="path",
        path="".join(f"M{a},{b - half:g}V{b + half:g}" for a, b in zip(d, r, strict=True)),
        xref="x",
        yref="y",
        layer="above",
        line=dict(color="rgba(0,0,0,0.5)", width=0.8),
        name="bar separators",
        legendgroup="processing",
    )


def gantt_row_y(fig: go.Figure, labels: Sequence[str]) -> list[Any]:
    """Row labels (machines, orders) -> the y of their rows in a Gantt of :func:`gantt` (row
    ``i`` at ``y = i``, top down; None for a label without a row): where to draw on a
    machine's row. A figure without labelled numeric rows gets the labels back."""
    ya = fig.layout.yaxis
    if ya.ticktext is None or ya.tickvals is None:
        return list(labels)
    rows = dict(zip(ya.ticktext, (float(v) for v in ya.tickvals), strict=True))
    return [rows.get(m) for m in labels]


NOW_COLOR = "#1565C0"
OUTAGE_COLOR = "#C62828"


def mark_now(
    fig: go.Figure, now: datetime, since: datetime | None = None, label: str | None = None
) -> go.Figure:
    """A vertical "now" line over the whole chart (blue, dashed) with its time on top; the
    time from ``since`` (e.g. the plan start) to now lightly greyed: it is past."""
    x = now.isoformat(sep=" ", timespec="minutes")
    if since is not None and since < now:
        fig.add_shape(
            type="rect", xref="x", yref="paper", y0=0, y1=1, layer="below", name="past",
            x0=since.isoformat(sep=" ", timespec="minutes"), x1=x,
            fillcolor="rgba(96,125,139,0.10)", line=dict(width=0),
        )  # fmt: skip
    fig.add_shape(
        type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
        line=dict(color=NOW_COLOR, width=2, dash="dash"), layer="above", name="now",
    )  # fmt: skip
    fig.add_annotation(
        x=x, y=1, xref="x", yref="paper", yanchor="top", xanchor="left", showarrow=False,
        text=label or f"now {now:%a %d.%m. %H:%M}", font=dict(color=NOW_COLOR, size=11),
        bgcolor="rgba(255,255,255,0.8)", name="now",
    )  # fmt: skip
    return fig


def mark_outages(
    fig: go.Figure, outages: Sequence[tuple[str, datetime, datetime]], end: datetime | None = None
) -> go.Figure:
    """Breakdowns (machine, from, back at) as red hatched bands on their machine's row,
    labelled "breakdown" (cut at ``end``, e.g. the plan's end, when given)."""
    ys, base, dur, hover = [], [], [], []
    machines = [m for m, _, _ in outages]
    row = dict(zip(machines, gantt_row_y(fig, machines), strict=True))
    for m, a, b in outages:
        if end is not None:
            b = min(b, max(a, end))
        if b <= a or row[m] is None:
            continue
        ys.append(row[m])
        base.append(np.datetime64(a, "ms"))
        dur.append((b - a).total_seconds() * 1000.0)
        hover.append(f"breakdown {m}<br>{a:%a %d.%m. %H:%M} – {b:%a %d.%m. %H:%M}")
    if not ys:
        return fig
    fig.add_trace(
        go.Bar(
            name="breakdown",
            orientation="h",
            y=ys,
            width=ORDER_BAR_WIDTH,
            base=np.array(base),
            x=np.round(np.array(dur)),
            text=["breakdown"] * len(ys),
            textposition="inside",
            insidetextanchor="middle",
            textfont=dict(color=OUTAGE_COLOR, size=10),
            marker=dict(
                color="rgba(198,40,40,0.18)",
                line=dict(color=OUTAGE_COLOR, width=1.5),
                pattern=dict(shape="x", fgcolor=OUTAGE_COLOR, size=7, solidity=0.25),
            ),
            hovertext=hover,
            hoverinfo="text",
        )
    )
    return fig


def mark_fixed(fig: go.Figure, schedule: Any, t_now: float, ps: datetime) -> go.Figure:
    """Operations that started before ``t_now`` (minutes after ``ps``) are fixed: they are
    overlaid with a grey dotted veil and a legend entry, so they read as not movable."""
    start, end = schedule.times["start"], schedule.times["end"]
    sel = (schedule.op_machine >= 0) & (start < t_now - 1e-9)
    if not sel.any():
        return fig
    fig.add_trace(
        go.Bar(
            name=f"fixed: started before now ({int(sel.sum())})",
            orientation="h",
            y=gantt_row_y(fig, [schedule.machine_ids[int(m)] for m in schedule.op_machine[sel]]),
            width=ORDER_BAR_WIDTH,
            base=_to_datetime64(ps, start[sel]),
            x=np.round((end[sel] - start[sel]) * 60_000.0),
            marker=dict(
                color="rgba(255,255,255,0.45)",
                line=dict(color="#455A64", width=1),
                pattern=dict(shape=".", fgcolor="#455A64", size=4, solidity=0.2),
            ),
            hoverinfo="skip",
        )
    )
    return fig


def bom_rows(instance: Any) -> tuple[dict[str, str], list[str], dict[str, str]] | None:
    """The order Gantt's rows for orders with a bill of materials tree (assembly), or None
    when no job has a parent: ``(job id -> row label, rows in order, order -> its root's
    row)``. An order with a tree gets one row per job, depth first from the final assembly,
    children indented under their assembly (``SO-1 ▸ CABINET``, ``SO-1 ·· └ DOOR``); an order
    without a tree keeps its one row."""
    jobs = getattr(instance, "jobs", None)
    if not jobs or not any(getattr(j, "parent", "") for j in jobs):
        return None
    by_order: dict[str, list[Any]] = {}
    for j in jobs:
        by_order.setdefault(j.order, []).append(j)
    row_of: dict[str, str] = {}
    rows: list[str] = []
    order_row: dict[str, str] = {}
    for o in [o.id for o in instance.orders]:
        js = by_order.get(o, [])
        if not any(getattr(j, "parent", "") for j in js):
            rows.append(o)
            order_row[o] = o
            for j in js:
                row_of[j.id] = o
            continue
        kids: dict[str, list[Any]] = {}
        for j in js:
            kids.setdefault(getattr(j, "parent", "") or "", []).append(j)

        def walk(j: Any, depth: int, o: str = o, kids: dict[str, list[Any]] = kids) -> None:
            label = f"{o} ▸ {j.component}" if depth == 0 else f"{o} {'·' * depth} └ {j.component}"
            row_of[j.id] = label
            rows.append(label)
            for c in kids.get(j.id, []):
                walk(c, depth + 1)

        for r in kids.get("", []):
            if not order_row.get(o):
                order_row[o] = f"{o} ▸ {r.component}"
            walk(r, 0)
    return row_of, rows, order_row


def _kit_lines(
    fig: go.Figure, schedule: Any, instance: Any, ps: datetime, row_y: dict[str, float]
) -> None:
    """Dotted lines from each child's last operation's end to its assembly's first start
    (``row_y``: job id -> its row's y), as one path shape (one SVG element, in the legend)."""
    jobs = instance.jobs
    idx = {jid: i for i, jid in enumerate(schedule.job_ids)}
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for o, (jj, m) in enumerate(zip(schedule.op_job, schedule.op_machine, strict=True)):
        if m < 0:
            continue
        j = int(jj)
        s0, e0 = float(schedule.times["start"][o]), float(schedule.times["end"][o])
        first[j] = min(first.get(j, math.inf), s0)
        last[j] = max(last.get(j, -math.inf), e0)
    a_min: list[float] = []
    b_min: list[float] = []
    ya: list[float] = []
    yb: list[float] = []
    for j in jobs:
        par = getattr(j, "parent", "")
        c, p = idx.get(j.id), idx.get(par) if par else None
        if c is None or p is None or c not in last or p not in first:
            continue
        a_min.append(last[c])
        b_min.append(first[p])
        ya.append(row_y[j.id])
        yb.append(row_y[par])
    if not a_min:
        return
    # dates in a shape's path: '2026-03-02_06:00:00' (a space would end the coordinate)
    da = np.char.replace(np.datetime_as_string(_to_datetime64(ps, np.array(a_min)), "s"), "T", "_")
    db = np.char.replace(np.datetime_as_string(_to_datetime64(ps, np.array(b_min)), "s"), "T", "_")
    path = "".join(
        f"M{x0},{y0:g}L{x1},{y1:g}" for x0, y0, x1, y1 in zip(da, ya, db, yb, strict=True)
    )
    fig.add_shape(
        type="path",
        path=path,
        xref="x",
        yref="y",
        layer="between",
        line=dict(color="rgba(60,60,60,0.6)", width=1, dash="dot"),
        name="kit → assembly",
        showlegend=True,
    )


# ---------------------------------------------------------------------------------------
# buffers
# ---------------------------------------------------------------------------------------
def buffer_figure(
    schedule: Any,
    instance: Any = None,
    plan_start: datetime | None = None,
    *,
    work_centers: Sequence[str] | None = None,
    cols: int = 2,
) -> go.Figure:
    """Buffer level over time per work center (step lines) against its capacity (dashed)."""
    from plotly.subplots import make_subplots

    ps = resolve_plan_start(instance, plan_start)
    levels = schedule.buffer_levels()
    wcs = [w for w in (work_centers or schedule.wc_ids) if w in levels]
    caps: dict[str, float] = {}
    units: dict[str, str] = {}
    plant = getattr(instance, "plant", None)
    if plant is not None:
        for w in plant.work_centers:
            caps[w.id] = w.buffer_capacity
            units[w.id] = w.buffer_unit
    ncols = max(1, min(cols, len(wcs)))
    nrows = max(1, math.ceil(len(wcs) / ncols))
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        shared_xaxes=True,
        subplot_titles=wcs or ["no buffers"],
        vertical_spacing=min(0.08, 0.5 / nrows),
        horizontal_spacing=0.06,
    )
    end = float(schedule.makespan) if schedule.n_ops else 0.0
    end_dt = ps + timedelta(minutes=end)
    for i, w in enumerate(wcs):
        r, c = i // ncols + 1, i % ncols + 1
        tt, lv = levels[w]
        if len(tt) and tt[-1] < end:
            tt = np.append(tt, end)
            lv = np.append(lv, lv[-1])
        x = _to_datetime64(ps, np.asarray(tt, dtype=float))
        unit = units.get(w, "")
        fig.add_trace(
            go.Scatter(
                x=x,
                y=lv,
                mode="lines",
                line=dict(shape="hv", width=1.5, color="#1F77B4"),
                fill="tozeroy",
                fillcolor="rgba(31,119,180,0.15)",
                name=f"{w} level",
                showlegend=i == 0,
                legendgroup="level",
                hovertemplate=f"{w}: %{{y:.3g}} {unit}<br>%{{x|%a %d.%m. %H:%M}}<extra></extra>",
            ),
            row=r,
            col=c,
        )
        cap = caps.get(w, math.inf)
        if math.isfinite(cap):
            fig.add_trace(
                go.Scatter(
                    x=[ps, end_dt],
                    y=[cap, cap],
                    mode="lines",
                    name="capacity",
                    line=dict(color="#D32F2F", dash="dash", width=1.2),
                    showlegend=i == 0,
                    legendgroup="cap",
                    hovertemplate=f"{w} capacity {cap:g} {unit}<extra></extra>",
                ),
                row=r,
                col=c,
            )
    fig.update_layout(
        height=max(260, 190 * nrows),
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
    )
    fig.update_xaxes(type="date", tickformat="%a %d.%m.")
    fig.update_annotations(font_size=11)
    return fig


# ---------------------------------------------------------------------------------------
# orders: completion, lateness
# ---------------------------------------------------------------------------------------
def order_status(
    schedule: Any, instance: Any, plan_start: datetime | None = None
) -> list[dict[str, Any]]:
    """Per order (instance order): completion, tardiness and real dates.

    Completion = end of the order's last operation (all its component jobs); an order with
    an unscheduled operation (a deadlocked plan) has no completion (``None``) and is late,
    deadline or not (``late_by`` "not finished"), as in :func:`furnsim.kpi.kpis`.
    """
    ps = resolve_plan_start(instance, plan_start)
    jobs = instance.jobs
    order_ids = [o.id for o in instance.orders]
    o_index = {o: i for i, o in enumerate(order_ids)}
    job_order = np.array([o_index[j.order] for j in jobs], dtype=np.int64)
    op_order = job_order[np.asarray(schedule.op_job)]
    ends = np.asarray(schedule.times["end"], dtype=float)
    done = np.asarray(schedule.op_machine) >= 0
    comp = np.full(len(order_ids), -np.inf)
    np.maximum.at(comp, op_order, np.where(done, ends, -np.inf))
    unfinished = np.zeros(len(order_ids), dtype=bool)
    np.logical_or.at(unfinished, op_order, ~done)
    out = []
    for i, o in enumerate(instance.orders):
        c = None if unfinished[i] or not math.isfinite(comp[i]) else float(comp[i])
        dl = o.deadline if math.isfinite(o.deadline) else None
        if dl is None:
            tard = 0.0
        elif c is None:
            tard = math.inf
        else:
            tard = max(0.0, c - dl)
        out.append(
            {
                "order": o.id,
                "article": o.article,
                "quantity": o.quantity,
                "priority": o.priority,
                "release": ps + timedelta(minutes=o.release),
                "deadline": None if dl is None else ps + timedelta(minutes=dl),
                "completion": None if c is None else ps + timedelta(minutes=c),
                "completion_min": c,
                "deadline_min": dl,
                "tardiness_min": tard,
                "late": bool(tard > 1e-9 or unfinished[i]),
                "late_by": "not finished"
                if unfinished[i]
                else format_minutes(tard)
                if tard > 1e-9
                else "",
            }
        )
    return out


def late_orders(schedule: Any, instance: Any, plan_start: datetime | None = None) -> Any:
    """The late orders, latest first, as a pandas DataFrame (how late in minutes and words)."""
    import pandas as pd

    rows = [r for r in order_status(schedule, instance, plan_start) if r["late"]]
    rows.sort(key=lambda r: -r["tardiness_min"])
    cols = [
        "order",
        "article",
        "quantity",
        "priority",
        "deadline",
        "completion",
        "tardiness_min",
        "late_by",
    ]
    df = pd.DataFrame([{k: r[k] for k in cols} for r in rows], columns=cols)
    return df.rename(columns={"tardiness_min": "late_minutes", "late_by": "late by"})
