"""furnsim planning dashboard: the week's orders -> goal -> validated plan -> Gantt -> Excel.

Run from the repository root::

    streamlit run dashboards/app.py          # or: ./run dashboard

A thin layer over ``furnsim``: every number and figure comes from a package function
(``furnsim.plan.plan``, ``furnsim.viz``, ``furnsim.export``, ``furnsim.orderbook``); this
file only lays out sections. ``main()`` calls one function per section:

* ``section_plant``   - demo factory by default, or an uploaded plant workbook (validated;
  a bad upload shows its problems and never replaces the working plant)
* ``section_orders``  - the week's orders in an editable table, kept in the local SQLite
  order book (``furnsim.orderbook``); invalid rows are flagged, never dropped
* ``section_plan``    - plan start, goal (one click), method, Start scheduling
* ``section_results`` - KPI cards, validator badge, method and fallback, Gantts, buffers,
  late orders
* ``section_compare`` - the same orders under all three goals, side by side
* ``section_export``  - the plan as an Excel workbook for the shop floor
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import tempfile
from collections import OrderedDict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from furnsim.errors import DataError, Issue, Location
from furnsim.orderbook import (
    COLUMNS,
    OrderBook,
    check_rows,
    next_order_id,
    normalize_row,
    orders_to_rows,
    read_order_file,
    rows_to_orders,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO_PLANT = ROOT / "bom_data" / "demo" / "plant.xlsx"
MODELS = ROOT / "models"
KPI_CARDS = (
    "makespan",
    "late_orders",
    "total_tardiness",
    "total_setup_time",
    "utilization_mean",
    "peak_buffer_fill",
)
METHODS = {
    "policy": "Trained policy for the goal (PPO)",
    "best-rule": "Best dispatching rule",
    "rule": "A dispatching rule",
    "cpsat": "CP-SAT solver (time limit)",
}


# =======================================================================================
# cached data and plans
# =======================================================================================
@st.cache_data(show_spinner=False, max_entries=8)
def load_plant_file(path: str, mtime: float) -> Any:
    """Parsed plant (PlantData) of a file on disk; ``mtime`` makes an edited file reload."""
    from furnsim.io import read_plant

    del mtime
    return read_plant(path)


@st.cache_data(show_spinner=False, max_entries=8)
def load_plant_upload(name: str, data: bytes) -> Any:
    """Parsed plant of an uploaded workbook (raises DataError with every problem)."""
    from furnsim.io import read_plant

    suffix = Path(name).suffix.lower() or ".xlsx"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"upload{suffix}"
        p.write_bytes(data)
        try:
            return read_plant(p)
        except DataError as e:  # point the issues at the uploaded file's name
            raise DataError(
                [Issue(i.message, Location(name, i.sheet, i.row, i.column)) for i in e.issues]
            ) from None


@st.cache_resource(show_spinner=False)
def plan_store() -> OrderedDict[str, Any]:
    """Recent plans by input key (plant, orders, plan start, goal, method): re-planning the
    same inputs - or comparing goals after planning one of them - is instant."""
    return OrderedDict()


@st.cache_data(show_spinner=False, max_entries=4)
def excel_bytes(_result: Any, _instance: Any, key: str, slot: int, plan_start: datetime) -> bytes:
    """The plan as an xlsx workbook (built once per plan and slot width)."""
    from furnsim.export import write_schedule_excel

    del key
    buf = io.BytesIO()
    write_schedule_excel(_result, _instance, buf, plan_start=plan_start, slot_minutes=slot)
    return buf.getvalue()


def goals() -> list[tuple[str, str]]:
    from furnsim.goals import load_goals

    return [(g.name, g.label) for g in load_goals().values()]


def book() -> OrderBook:
    return OrderBook()  # $FURNSIM_DATA or ~/.local/share/furnsim/orders.sqlite


# =======================================================================================
# helpers (state <-> table)
# =======================================================================================
def _ss() -> Any:
    return st.session_state


def _rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(
        [{c: r.get(c) for c in (*COLUMNS, "problem")} for r in rows],
        columns=[*COLUMNS, "problem"],
    )
    for c in ("deadline", "release"):
        df[c] = pd.to_datetime(
            df[c].map(lambda v: v if isinstance(v, datetime) else None), errors="coerce"
        )
    for c in ("quantity", "priority"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("order", "article", "problem"):
        df[c] = df[c].astype("object").where(df[c].notna(), None)
    return df


def _frame_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict("records"):
        out.append(normalize_row(rec))
    return out


def _with_problems(rows: list[dict[str, Any]], plant: Any, start: datetime) -> list[dict[str, Any]]:
    checks = check_rows(rows, plant.catalog.index.keys(), start)
    extra = _ss().get("build_problems", {})
    out = []
    for r, c in zip(rows, checks, strict=True):
        msg = c.message or extra.get(r.get("order") or "", "")
        out.append({**normalize_row(r), "problem": msg})
    return out


def _set_rows(rows: list[dict[str, Any]], plant_name: str) -> None:
    """Replace the table (bumps the editor key so it shows the new rows) and persist it."""
    ss = _ss()
    ss.rows = rows
    ss.editor_ver = ss.get("editor_ver", 0) + 1
    book().save(plant_name, rows, [r.get("problem", "") for r in rows])


def _fmt_hours(minutes: float) -> str:
    return "-" if minutes is None or not math.isfinite(minutes) else f"{minutes / 60:,.1f} h"


def _plan_start() -> datetime:
    return _ss().plan_start


# =======================================================================================
# sections
# =======================================================================================
def section_plant() -> Any:
    """The working plant: demo factory, or an uploaded workbook that passed validation."""
    ss = _ss()
    st.subheader("1 · Plant")
    if "plant_source" not in ss:
        ss.plant_source = {"kind": "demo", "name": DEMO_PLANT.name}
    up = st.file_uploader(
        "Upload a plant workbook (.xlsx or .yaml, same sheets as bom_data/template.xlsx)",
        type=["xlsx", "yaml", "yml"],
        key="plant_upload",
    )
    if up is not None and ss.get("plant_upload_id") != up.file_id:
        ss.plant_upload_id = up.file_id
        data = up.getvalue()
        try:
            load_plant_upload(up.name, data)
        except DataError as e:
            ss.plant_issues = {"file": up.name, "issues": [i.to_dict() for i in e.issues]}
        except Exception as e:  # noqa: BLE001 - anything unreadable is an input problem
            ss.plant_issues = {
                "file": up.name,
                "issues": [Issue(f"cannot read this file: {type(e).__name__}: {e}").to_dict()],
            }
        else:
            ss.plant_source = {"kind": "upload", "name": up.name, "data": data}
            ss.plant_issues = None
            ss.pop("result", None)
            ss.pop("compare", None)
    if ss.get("plant_issues"):
        bad = ss.plant_issues
        st.error(
            f"**{bad['file']}** was not loaded: {len(bad['issues'])} problem(s). "
            "The plant below is still the one in use."
        )
        st.dataframe(
            pd.DataFrame(bad["issues"], columns=["sheet", "row", "column", "message", "file"]),
            hide_index=True,
            width="stretch",
        )
    src = ss.plant_source
    if src["kind"] == "upload":
        plant = load_plant_upload(src["name"], src["data"])
        if st.button("Back to the demo factory", key="plant_demo"):
            ss.plant_source = {"kind": "demo", "name": DEMO_PLANT.name}
            ss.pop("result", None)
            st.rerun()
    else:
        plant = load_plant_file(str(DEMO_PLANT), DEMO_PLANT.stat().st_mtime)
    p = plant.plant
    st.caption(
        f"**{plant.name}** ({src['name']}): {len(p.work_centers)} work centers, "
        f"{len(p.machines)} machines, {len(plant.catalog.articles)} articles"
    )
    return plant


def section_plan_start(plant: Any) -> datetime:
    """Plan start date and time (minute 0 of the plan); remembered per plant."""
    from furnsim.viz import default_plan_start

    ss = _ss()
    saved = book().get_setting(plant.name, "plan_start")
    default = datetime.fromisoformat(saved) if saved else (plant.plan_start or default_plan_start())
    c1, c2 = st.columns(2)
    d = c1.date_input("Plan start date", value=default.date(), key=f"ps_date_{plant.name}")
    t = c2.time_input(
        "Plan start time",
        value=default.time(),
        key=f"ps_time_{plant.name}",
        step=timedelta(minutes=30),
    )
    start = datetime.combine(d if isinstance(d, date) else default.date(), t or time(6, 0))
    if start != default:
        book().set_setting(plant.name, "plan_start", start.isoformat(sep=" ", timespec="minutes"))
    ss.plan_start = start
    return start


def section_orders(plant: Any) -> list[dict[str, Any]]:
    """The order table: edit, add, import, download. Returns the current rows (flagged)."""
    ss = _ss()
    st.subheader("2 · Orders of the week")
    start = section_plan_start(plant)
    if ss.get("rows_plant") != plant.name:  # first visit or another plant: load the book
        ob = book()
        if ob.has(plant.name):
            rows = ob.load(plant.name)
        else:
            rows = orders_to_rows(plant.orders, plant.plan_start or start)
        ss.rows_plant = plant.name
        ss.build_problems = {}
        _set_rows(_with_problems(rows, plant, start), plant.name)
    articles = sorted(plant.catalog.index.keys())

    _add_order_form(plant, articles, start)
    _import_orders(plant, start)

    base = ss.rows
    df = _rows_frame(base)
    edited = st.data_editor(
        df,
        key=f"orders_editor_{ss.editor_ver}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "order": st.column_config.TextColumn("order", help="unique order id", required=True),
            "article": st.column_config.SelectboxColumn(
                "article", options=articles, help="article from the catalog"
            ),
            "quantity": st.column_config.NumberColumn("quantity", help="pieces (> 0)", step=1),
            "deadline": st.column_config.DatetimeColumn(
                "deadline", format="YYYY-MM-DD HH:mm", step=900, help="blank = no deadline"
            ),
            "release": st.column_config.DatetimeColumn(
                "release", format="YYYY-MM-DD HH:mm", step=900, help="blank = plan start"
            ),
            "priority": st.column_config.NumberColumn("priority", help="weight > 0 (default 1)"),
            "problem": st.column_config.TextColumn(
                "problem", disabled=True, help="why the row cannot be planned yet", width="large"
            ),
        },
    )
    rows = _with_problems(_frame_rows(edited), plant, start)
    if rows != base:  # an edit: keep it (and show the new flags in the table)
        changed_flags = [r["problem"] for r in rows] != [r.get("problem", "") for r in base]
        ss.rows = rows
        book().save(plant.name, rows, [r["problem"] for r in rows])
        if changed_flags or len(rows) != len(base):
            _set_rows(rows, plant.name)
            st.rerun()
    bad = [r for r in rows if r["problem"]]
    n_ok = len(rows) - len(bad)
    if bad:
        st.warning(
            f"{len(bad)} of {len(rows)} orders have a problem and will not be planned until fixed "
            "(see the *problem* column):\n\n"
            + "\n".join(f"- **{r['order'] or '(no id)'}**: {r['problem']}" for r in bad[:8])
            + ("\n- …" if len(bad) > 8 else "")
        )
    else:
        st.caption(f"{n_ok} orders, all valid. Edits are saved in {book().path}.")
    csv = pd.DataFrame(rows, columns=[*COLUMNS, "problem"]).to_csv(index=False).encode()
    st.download_button(
        "Download the order list (CSV)",
        csv,
        file_name="orders.csv",
        mime="text/csv",
        key="orders_csv",
    )
    return rows


def _add_order_form(plant: Any, articles: list[str], start: datetime) -> None:
    ss = _ss()
    with st.expander("Add an order", expanded=False), st.form("add_order", clear_on_submit=False):
        c = st.columns([1.1, 1.6, 0.9, 1.1, 0.9, 0.8])
        if "add_id" not in ss or ss.pop("add_id_next", False):  # a fresh id after each add
            ss.add_id = next_order_id([r.get("order") for r in ss.rows])
        oid = c[0].text_input("Order id", key="add_id")
        art = c[1].selectbox("Article", articles, key="add_article")
        qty = c[2].number_input("Quantity", value=10, step=1, key="add_quantity")
        dd = c[3].date_input(
            "Deadline date", value=(start + timedelta(days=4)).date(), key="add_dl_date"
        )
        dt = c[4].time_input(
            "Deadline time", value=time(14, 0), key="add_dl_time", step=timedelta(minutes=30)
        )
        pr = c[5].number_input("Priority", value=1.0, step=0.5, key="add_priority")
        if st.form_submit_button("Add order", type="primary"):
            row = {
                "order": oid,
                "article": art,
                "quantity": qty,
                "deadline": datetime.combine(dd, dt),
                "release": None,
                "priority": pr,
            }
            rows = _with_problems([*[normalize_row(r) for r in ss.rows], row], plant, start)
            _set_rows(rows, plant.name)
            ss.add_id_next = True
            new = rows[-1]
            if new["problem"]:
                ss.flash = (
                    "warning",
                    f"Order **{oid}** was added but cannot be planned yet: {new['problem']}",
                )
            else:
                ss.flash = ("success", f"Order **{oid}** added ({qty:g} × {art}).")
            st.rerun()
    flash = ss.pop("flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])


def _import_orders(plant: Any, start: datetime) -> None:
    ss = _ss()
    with st.expander("Import orders from a file (.xlsx / .csv)", expanded=False):
        mode = st.radio(
            "Imported rows",
            ["append to the table", "replace the table"],
            horizontal=True,
            key="import_mode",
        )
        up = st.file_uploader("Orders file", type=["xlsx", "csv"], key="orders_upload")
        if up is not None and ss.get("orders_upload_id") != up.file_id:
            ss.orders_upload_id = up.file_id
            with tempfile.TemporaryDirectory() as d:
                p = Path(d) / f"orders{Path(up.name).suffix.lower()}"
                p.write_bytes(up.getvalue())
                try:
                    new, notes = read_order_file(p, start, display_name=up.name)
                except DataError as e:
                    ss.import_msg = (
                        "error",
                        f"**{up.name}** was not imported - the table is unchanged.",
                        e.issues,
                    )
                else:
                    old = [] if mode.startswith("replace") else [normalize_row(r) for r in ss.rows]
                    rows = _with_problems(old + new, plant, start)
                    _set_rows(rows, plant.name)
                    nbad = sum(1 for r in rows[len(old) :] if r["problem"])
                    msg = f"Imported {len(new)} orders from **{up.name}**" + (
                        f"; {nbad} of them are flagged (see the *problem* column)." if nbad else "."
                    )
                    ss.import_msg = ("warning" if nbad or notes else "success", msg, notes)
            st.rerun()
    msg = ss.pop("import_msg", None)
    if msg:
        kind, text, issues = msg
        getattr(st, kind)(text)
        if issues:
            st.dataframe(
                pd.DataFrame(
                    [i.to_dict() for i in issues],
                    columns=["row", "column", "message", "sheet", "file"],
                ),
                hide_index=True,
                width="stretch",
            )


def section_plan(plant: Any, rows: list[dict[str, Any]]) -> None:
    """Goal (one click), method, and the Start scheduling button with progress."""
    ss = _ss()
    st.subheader("3 · Goal and method")
    gl = goals()
    if "goal" not in ss:
        ss.goal = gl[0][0]
    cols = st.columns(len(gl))
    for col, (name, label) in zip(cols, gl, strict=True):
        col.button(
            label,
            key=f"goal_{name}",
            type="primary" if ss.goal == name else "secondary",
            width="stretch",
            on_click=lambda n=name: ss.__setitem__("goal", n),
        )
    from furnsim.goals import get_goal

    st.caption(get_goal(ss.goal).description)
    kind = st.radio("Method", list(METHODS), format_func=METHODS.get, horizontal=True, key="method")
    method = "ppo"
    time_limit = None
    if kind == "policy":
        model = MODELS / f"ppo-{ss.goal}.zip"
        if not model.exists():
            st.caption(
                f"No trained policy for this goal here ({model.name}); the best dispatching rule "
                "will be used and the results will say so."
            )
        time_limit = float(
            st.number_input(
                "Search time (s)",
                0.5,
                600.0,
                1.5,
                step=0.5,
                key="ppo_time",
                help="The policy plans the week in one pass, then samples further passes from "
                "the policy until this time is spent and keeps the cheapest. On the demo "
                "plant's test weeks, 20-60 s of search was 2-5 % cheaper on average than 1.5 s.",
            )
        )
    elif kind == "best-rule":
        method = "best-rule"
        extra = float(
            st.number_input(
                "Search time (s)",
                0.0,
                600.0,
                0.0,
                step=0.5,
                key="rule_time",
                help="0 = every rule once, the cheapest plan kept. More: then passes of the "
                "best rule that take a random eligible job at 5 % of the decisions, until this "
                "time is spent; the cheapest plan is kept.",
            )
        )
        time_limit = extra if extra > 0 else None
    elif kind == "rule":
        from furnsim.rules import RULES

        names = [n for n in RULES if n != "RANDOM"]
        method = "rule:" + st.selectbox(
            "Rule", names, index=names.index("EDD") if "EDD" in names else 0, key="rule"
        )
    else:
        method = "cpsat"
        time_limit = float(st.number_input("Time limit (s)", 5, 3600, 30, step=5, key="time_limit"))
    ss.method_str, ss.time_limit_val = method, time_limit

    ok_rows = [r for r in rows if not r["problem"]]
    if st.button(
        "Start scheduling",
        type="primary",
        key="start",
        disabled=not ok_rows,
        help=None if ok_rows else "no valid orders to plan",
    ):
        run_plan(plant, rows, ss.goal, method, time_limit)


def _instance(plant: Any, rows: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """The Instance of the valid rows; rows the model rejects are flagged and left out."""
    from furnsim.model import Instance

    ss = _ss()
    ok = [r for r in rows if not r["problem"]]
    for _ in range(2):
        orders = rows_to_orders(ok, _plan_start())
        try:
            inst = Instance(
                plant.plant, plant.catalog, orders, name=plant.name, plan_start=_plan_start()
            )
            return inst, ok
        except DataError as e:
            bad: dict[str, str] = {}
            for i in e.issues:
                if i.sheet == "orders" and i.row is not None and 1 <= i.row <= len(ok):
                    oid = ok[i.row - 1]["order"]
                    bad[oid] = (bad.get(oid, "") + "; " if oid in bad else "") + i.message
            if not bad:
                raise
            ss.build_problems = {**ss.get("build_problems", {}), **bad}
            ok = [r for r in ok if r["order"] not in bad]
    raise DataError("the orders could not be planned")


def _plan_key(plant: Any, rows: list[dict[str, Any]], goal: str, method: str, tl: Any) -> str:
    payload = json.dumps(
        [
            plant.name,
            str(_ss().plant_source.get("name")),
            [[str(r[c]) for c in COLUMNS] for r in rows],
            str(_plan_start()),
            goal,
            method,
            tl,
        ],
        default=str,
    )
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def plan_cached(
    plant: Any, rows: list[dict[str, Any]], goal: str, method: str, tl: Any, progress: Any
) -> dict[str, Any]:
    """Plan (or take the stored plan of the same inputs): {'result', 'instance', 'key', ...}."""
    from furnsim.plan import plan

    inst, ok = _instance(plant, rows)
    key = _plan_key(plant, ok, goal, method, tl)
    store = plan_store()
    if key in store:
        store.move_to_end(key)
        return store[key]
    res = plan(inst, goal, method, time_limit=tl, progress=progress)
    entry = {"result": res, "instance": inst, "key": key, "plan_start": _plan_start(), "goal": goal}
    store[key] = entry
    while len(store) > 16:
        store.popitem(last=False)
    return entry


def run_plan(plant: Any, rows: list[dict[str, Any]], goal: str, method: str, tl: Any) -> None:
    ss = _ss()
    bar = st.progress(0.0, text="planning …")

    def progress(label: str, frac: float) -> None:
        bar.progress(min(1.0, max(0.0, float(frac))), text=f"planning: {label}")

    try:
        entry = plan_cached(plant, rows, goal, method, tl, progress)
    except DataError as e:
        bar.empty()
        st.error("The orders could not be planned:\n\n" + "\n".join(f"- {i}" for i in e.issues))
        return
    bar.progress(1.0, text=f"planned in {entry['result'].wall_time:.1f} s")
    ss.result = entry
    ss.pop("compare", None)
    if ss.get("build_problems"):
        _set_rows(
            _with_problems([normalize_row(r) for r in ss.rows], plant, _plan_start()), plant.name
        )
        st.rerun()


def section_results() -> None:
    """KPI cards, validator badge, method/fallback, Gantts, buffers, late orders."""
    from furnsim import viz

    ss = _ss()
    entry = ss.get("result")
    st.subheader("4 · Plan")
    if entry is None:
        st.info("Pick a goal and press **Start scheduling**.")
        return
    res, inst, ps = entry["result"], entry["instance"], entry["plan_start"]
    _kpi_cards(res.kpis, len(inst.orders), ps)
    label = dict(goals()).get(res.goal, res.goal)
    if res.valid:
        st.success(
            f"Valid plan: the independent validator found no violations · goal **{label}** · "
            f"method **{res.method}** · {res.wall_time:.1f} s",
            icon=":material/verified:",
        )
    else:
        st.error(
            f"Not a valid plan: {len(res.violations)} violation(s)"
            + (f" · {res.deadlock}" if res.deadlock else ""),
            icon=":material/error:",
        )
    if res.fallback:
        st.warning(
            f"Fallback: requested **{res.requested}**, used **{res.method}** - {res.fallback}"
        )
    d = res.details
    if "search" in d:
        sr = d["search"]
        st.caption(
            f"Search: {sr['passes']} passes around {sr['around']} in {sr['seconds']:.1f} s · "
            f"rule {sr['rule_cost']:,.0f} → kept {sr['best_cost']:,.0f}"
        )
    if "passes" in d and "greedy_cost" in d and not res.fallback:
        st.caption(
            f"Policy search: {d['passes']} passes in {d.get('plan_s', 0):.1f} s · first (greedy) "
            f"pass {d['greedy_cost']:,.0f} · kept {res.cost:,.0f} · best dispatching rule "
            f"{d.get('best_rule_cost', float('nan')):,.0f}"
        )
    # lazy tabs: only the open tab is built and sent to the browser (a week's Gantt is big)
    tabs = st.tabs(
        ["Gantt by machine", "Gantt by order", "Buffers", "Late orders"],
        key="result_view",
        on_change="rerun",
    )
    if tabs[0].open:
        with tabs[0]:
            st.plotly_chart(viz.gantt(res.schedule, inst, "machine", ps), key="gantt_machine")
    if tabs[1].open:
        with tabs[1]:
            st.plotly_chart(viz.gantt(res.schedule, inst, "order", ps), key="gantt_order")
    if tabs[2].open:
        with tabs[2]:
            st.plotly_chart(viz.buffer_figure(res.schedule, inst, ps), key="buffers")
    if tabs[3].open:
        with tabs[3]:
            late = viz.late_orders(res.schedule, inst, ps)
            if late.empty:
                st.success("No late orders.")
            else:
                st.dataframe(late, hide_index=True, width="stretch")


def _kpi_cards(k: dict[str, Any], n_orders: int, ps: datetime) -> None:
    util = k.get("utilization_mean", k.get("mean_utilization", float("nan")))
    mk = float(k.get("makespan", float("nan")))
    cards = [
        (
            "Makespan",
            _fmt_hours(mk),
            f"ends {ps + timedelta(minutes=mk):%a %d.%m. %H:%M}" if math.isfinite(mk) else None,
        ),
        ("Late orders", f"{k.get('late_orders', 0):.0f} of {n_orders}", None),
        ("Total tardiness", _fmt_hours(float(k.get("total_tardiness", float("nan")))), None),
        ("Setup time", _fmt_hours(float(k.get("total_setup_time", float("nan")))), None),
        ("Mean utilization", f"{100 * util:.0f} %" if math.isfinite(util) else "-", None),
        ("Peak buffer fill", f"{100 * float(k.get('peak_buffer_fill', float('nan'))):.0f} %", None),
    ]
    cols = st.columns(len(cards))
    for col, (label, value, help_) in zip(cols, cards, strict=True):
        col.metric(label, value, help=help_)


def section_compare(plant: Any, rows: list[dict[str, Any]]) -> None:
    """Plan the same orders under every goal and show the KPIs side by side."""
    from furnsim import viz

    ss = _ss()
    with st.expander("Compare goals", expanded=bool(ss.get("compare"))):
        st.caption(
            "Plans the same orders with the same method under Speed, Efficiency and Empty Buffers."
        )
        if st.button(
            "Compare all goals", key="compare", disabled=not any(not r["problem"] for r in rows)
        ):
            bar = st.progress(0.0, text="comparing …")
            out = {}
            gl = goals()
            for i, (name, label) in enumerate(gl):

                def progress(lbl: str, f: float, i: int = i, label: str = label) -> None:
                    bar.progress(min(1.0, (i + f) / len(gl)), text=f"{label}: {lbl}")

                out[name] = plan_cached(
                    plant, rows, name, ss.method_str, ss.time_limit_val, progress
                )
            bar.empty()
            ss.compare = out
        cmp = ss.get("compare")
        if not cmp:
            return
        labels = dict(goals())
        table = {}
        for name, e in cmp.items():
            k, r = e["result"].kpis, e["result"]
            table[labels.get(name, name)] = {
                "makespan (h)": k["makespan"] / 60,
                "late orders": k.get("late_orders"),
                "total tardiness (h)": k.get("total_tardiness", 0) / 60,
                "setup time (h)": k.get("total_setup_time", 0) / 60,
                "mean utilization (%)": 100
                * k.get("utilization_mean", k.get("mean_utilization", 0)),
                "peak buffer fill (%)": 100 * k.get("peak_buffer_fill", 0),
                "buffer load": k.get("buffer_load"),
                "blocked time (h)": k.get("blocked_time", 0) / 60,
                "method": r.method,
                "valid": "yes" if r.valid else "NO",
            }
        st.dataframe(pd.DataFrame(table), width="stretch")
        tabs = st.tabs([labels.get(n, n) for n in cmp], key="compare_view", on_change="rerun")
        for tab, (name, e) in zip(tabs, cmp.items(), strict=True):
            if not tab.open:
                continue
            with tab:
                st.plotly_chart(
                    viz.gantt(e["result"].schedule, e["instance"], "machine", e["plan_start"]),
                    key=f"cmp_gantt_{name}",
                )


def section_export() -> None:
    """Download the plan as an Excel workbook (Gantt, dispatch lists, KPIs, buffers, orders)."""
    ss = _ss()
    entry = ss.get("result")
    if entry is None:
        return
    st.subheader("5 · Export")
    c1, c2 = st.columns([1, 3])
    slot = c1.selectbox("Gantt slot (minutes)", [15, 30, 60, 120], index=1, key="excel_slot")
    ps = entry["plan_start"]
    c2.download_button(
        "Download Excel plan (.xlsx)",
        # built when clicked (and cached), so showing the results never waits for it
        lambda: excel_bytes(entry["result"], entry["instance"], entry["key"], int(slot), ps),
        file_name=f"furnsim-plan-{entry['goal']}-{ps:%Y%m%d-%H%M}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="excel_download",
        type="primary",
    )
    c2.caption("Sheets: Gantt · Schedule · Dispatch lists · KPIs · Buffers · Orders")


def main() -> None:
    st.set_page_config(page_title="furnsim planner", page_icon="🪑", layout="wide")
    st.title("furnsim · weekly production plan")
    plant = section_plant()
    rows = section_orders(plant)
    section_plan(plant, rows)
    section_results()
    section_compare(plant, rows)
    section_export()


if __name__ == "__main__":
    main()
