"""Re-plan in the dashboard: from a moment ``now`` inside the plan, report a breakdown, a rush
order or a cancelled order, lock operations (pins) or a frozen horizon, repair or re-plan,
and compare the old and the new plan side by side (moved operations outlined, stability
KPIs). Every re-plan is kept as a named scenario in the workspace (a reload keeps it); any
scenario can be shown again and exported to Excel.

A thin layer over :func:`furnsim.replan.replan`; the scenarios are stored through the
``put``/``get`` callables (the dashboard's workspace store), as JSON: the parameters and the
new plan's schedule. The instance after the events is rebuilt from them on load
(``apply_events`` is cheap and deterministic; the planning is not repeated).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from furnsim.errors import DataError

__all__ = [
    "add_moved_outline",
    "load_scenarios",
    "moved_ops",
    "replan_figures",
    "run_replan",
    "scenario_instance",
    "section_replan",
]

_STAB_LABELS = {
    "ops_moved": "operations moved",
    "start_shift_mean": "mean start shift",
    "start_shift_max": "largest start shift",
    "machine_changes": "machine changes",
    "sequence_changes": "sequence changes",
    "ops_new": "new operations",
    "ops_removed": "removed operations",
}


def _dt(text: str) -> str:
    """A typed date/time as ISO text (the replan events read it); raises ValueError."""
    return datetime.fromisoformat(text.strip().replace("T", " ")).isoformat(timespec="minutes")


def moved_ops(previous: Any, new: Any, tol: float = 1e-6) -> np.ndarray:
    """Indices of ``new``'s operations that start at another time or on another machine than
    in ``previous`` (matched by job id and step; new operations are not 'moved')."""
    kp = {
        (previous.job_ids[int(j)], int(k)): o
        for o, (j, k) in enumerate(zip(previous.op_job, previous.op_step, strict=True))
    }
    out = []
    for o, (j, k) in enumerate(zip(new.op_job, new.op_step, strict=True)):
        p = kp.get((new.job_ids[int(j)], int(k)))
        if p is None or new.op_machine[o] < 0:
            continue
        ds = abs(float(new.times["start"][o]) - float(previous.times["start"][p]))
        pm = (
            previous.machine_ids[int(previous.op_machine[p])] if previous.op_machine[p] >= 0 else ""
        )
        if ds > tol or pm != new.machine_ids[int(new.op_machine[o])]:
            out.append(o)
    return np.array(out, dtype=np.int64)


def add_moved_outline(fig: Any, new: Any, moved: np.ndarray, ps: datetime) -> Any:
    """Outline the moved operations of ``new`` in its machine Gantt (a black frame)."""
    import plotly.graph_objects as go

    from furnsim.viz import ORDER_BAR_WIDTH, gantt_row_y

    if moved.size == 0:
        return fig
    s = new.times["start"][moved]
    e = new.times["end"][moved]
    base = np.datetime64(ps, "ms") + (s * 60_000.0).astype("timedelta64[ms]")
    fig.add_trace(
        go.Bar(
            name=f"moved ({moved.size})",
            orientation="h",
            y=gantt_row_y(fig, [new.machine_ids[int(m)] for m in new.op_machine[moved]]),
            width=ORDER_BAR_WIDTH,
            base=base,
            x=np.round((e - s) * 60_000.0),
            marker=dict(color="rgba(0,0,0,0)", line=dict(color="#111", width=2)),
            hoverinfo="skip",
        )
    )
    return fig


def scenario_instance(instance: Any, previous: Any, params: dict[str, Any]) -> Any:
    """The instance after a scenario's events (the orders the new plan is for)."""
    from furnsim.replan import apply_events, derive_state, parse_events, parse_time

    t_now = parse_time(params["now"], instance.plan_start, "now")
    state = derive_state(previous, t_now, plan_start=instance.plan_start)
    evs = parse_events(params["events"], plan_start=instance.plan_start)
    new_inst, _, _ = apply_events(instance, state, evs)
    return new_inst


def run_replan(entry: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Re-plan ``entry``'s plan with ``params`` (now, events, mode, method, pins, frozen
    minutes); returns the scenario (name, params, result, instance)."""
    from furnsim.replan import replan

    res = replan(
        entry["instance"],
        entry["result"].schedule,
        params["now"],
        params["events"],
        goal=entry["goal"],
        method=params["method"],
        mode=params["mode"],
        pins=params["pins"],
        frozen_minutes=float(params["frozen_minutes"]),
    )
    return {"name": params["name"], "params": params, "result": res, "instance": res.instance}


def _doc(sc: dict[str, Any]) -> dict[str, Any]:
    r = sc["result"]
    return {
        "name": sc["name"],
        "params": sc["params"],
        "kpis": r.kpis,
        "cost": r.cost,
        "valid": r.valid,
        "method": r.method,
        "goal": r.goal,
        "stability": getattr(r, "stability", {}),
        "schedule": r.schedule.to_dict(),
    }


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def save_scenarios(put: Callable[[bytes], None], scenarios: list[dict[str, Any]]) -> None:
    put(json.dumps([_doc(s) for s in scenarios], default=_json_default).encode())


def load_scenarios(raw: bytes | None, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored scenarios of ``entry``'s plan (others, and unreadable ones, are skipped)."""
    from furnsim.plan import PlanResult
    from furnsim.sim import Schedule

    if not raw:
        return []
    out = []
    try:
        docs = json.loads(raw)
    except ValueError:
        return []
    for d in docs if isinstance(docs, list) else []:
        try:
            if d["params"]["base"] != entry["key"]:
                continue
            res = PlanResult(
                schedule=Schedule.from_dict(d["schedule"]),
                kpis=d["kpis"],
                cost=d["cost"],
                valid=d["valid"],
                violations=[],
                method=d["method"],
                requested=d["params"]["mode"],
                goal=d["goal"],
                wall_time=0.0,
                details={},
            )
            res.stability = d["stability"]  # type: ignore[attr-defined]
            inst = scenario_instance(entry["instance"], entry["result"].schedule, d["params"])
        except Exception:  # noqa: BLE001 - a scenario that no longer fits is not shown
            continue
        out.append({"name": d["name"], "params": d["params"], "result": res, "instance": inst})
    return out


def _stability_text(v: float, key: str) -> str:
    from furnsim.viz import format_minutes

    if key.startswith("start_shift"):
        return format_minutes(v) if math.isfinite(v) else "-"
    return f"{v:,.0f}"


def stability_table(scenarios: list[dict[str, Any]], base: Any = None) -> pd.DataFrame:
    """Stability and main KPIs of each scenario, one column per scenario (first the plan in
    force, ``base``, when given)."""
    from furnsim.viz import format_minutes

    cols = {}
    first = [{"name": "as planned", "params": {"mode": "-"}, "result": base}] if base else []
    for sc in first + scenarios:
        r = sc["result"]
        st_ = getattr(r, "stability", {}) or {}
        col = {lbl: _stability_text(float(st_.get(k, 0)), k) for k, lbl in _STAB_LABELS.items()}
        k = r.kpis
        col["makespan"] = format_minutes(float(k.get("makespan") or 0))
        col["late orders"] = f"{float(k.get('late_orders') or 0):.0f}"
        col["total tardiness"] = format_minutes(float(k.get("total_tardiness") or 0))
        col["valid"] = "yes" if r.valid else "no"
        col["mode"] = sc["params"]["mode"]
        if first and sc is first[0]:
            col.update({lbl: "-" for lbl in _STAB_LABELS.values()})
        cols[sc["name"]] = col
    return pd.DataFrame(cols)


def _excel(sc: dict[str, Any], ps: datetime) -> bytes:
    from furnsim.export import write_schedule_excel

    buf = io.BytesIO()
    write_schedule_excel(sc["result"], sc["instance"], buf, plan_start=ps, slot_minutes=60)
    return buf.getvalue()


def _outages(params: dict[str, Any]) -> list[tuple[str, datetime, datetime]]:
    return [
        (e["machine"], datetime.fromisoformat(e["from"]), datetime.fromisoformat(e["to"]))
        for e in params.get("events", [])
        if e.get("type") == "breakdown"
    ]


def replan_figures(entry: dict[str, Any], sc: dict[str, Any], moved: np.ndarray) -> tuple[Any, Any]:
    """The old and the new plan's machine Gantts of a scenario: both with the "now" line
    and the reported breakdowns as red hatched bands on their machine; in the new plan the
    operations that started before now are marked fixed and the moved ones outlined.
    Built once per plan and scenario (kept in the session; a rerun only sends them)."""
    from furnsim import viz

    ps = entry["plan_start"]
    old_s, new_s = entry["result"].schedule, sc["result"].schedule
    p = sc["params"]
    key = (entry["key"], sc["name"], json.dumps(p, sort_keys=True, default=str))
    cache = st.session_state.setdefault("_rp_figs", {})
    if key in cache:
        return cache[key]  # type: ignore[no-any-return]
    now = datetime.fromisoformat(p["now"])
    t_now = (now - ps).total_seconds() / 60.0
    end = ps + timedelta(minutes=float(max(old_s.makespan, new_s.makespan)))
    fig_old = viz.gantt(old_s, entry["instance"], "machine", ps, labels=False)
    viz.mark_outages(fig_old, _outages(p), end)
    viz.mark_now(fig_old, now, ps)
    fig_new = viz.gantt(new_s, sc["instance"], "machine", ps, labels=False)
    viz.mark_fixed(fig_new, new_s, t_now, ps)
    viz.mark_outages(fig_new, _outages(p), end)
    add_moved_outline(fig_new, new_s, moved, ps)
    viz.mark_now(fig_new, now, ps)
    cache.clear()  # one scenario's figures at a time
    cache[key] = (fig_old, fig_new)
    return fig_old, fig_new


def section_replan(
    entry: dict[str, Any],
    get: Callable[[], bytes | None],
    put: Callable[[bytes], None],
) -> None:
    """The re-plan section for the plan ``entry`` ({'result', 'instance', 'plan_start',
    'key', 'goal'}); ``get``/``put`` read and write the workspace's stored scenarios."""

    ss = st.session_state
    res, inst, ps = entry["result"], entry["instance"], entry["plan_start"]
    sched = res.schedule
    mk = float(sched.makespan)
    if ss.get("replan_base") != entry["key"]:
        ss.replan_base = entry["key"]
        ss.scenarios = load_scenarios(get(), entry)
    scenarios: list[dict[str, Any]] = ss.scenarios
    st.subheader("6 · Re-plan")
    st.caption(
        "What happened since the plan started? Everything before *now* ran as planned; the "
        "events below say what did not. The old plan stays; each re-plan is a scenario."
    )
    end = ps + timedelta(minutes=mk)
    default_now = ps + timedelta(minutes=round(mk / 3 / 60) * 60)
    c1, c2, c3 = st.columns(3)
    d = c1.date_input(
        "Now: date", value=default_now.date(), min_value=ps.date(), max_value=end.date(),
        key="rp_now_date",
    )  # fmt: skip
    t = c2.time_input("Now: time", value=default_now.time(), key="rp_now_time", step=900)
    now = datetime.combine(d, t)
    st.caption(f"Now (plan time): {now:%a %d.%m. %H:%M}")
    mode = c3.radio(
        "How",
        ["replan", "repair"],
        format_func=lambda m: {
            "replan": "Re-plan the future (best plan)",
            "repair": "Repair (keep the old order, shift)",
        }[m],
        key="rp_mode",
    )
    machines = list(sched.machine_ids)
    articles = [a.id for a in inst.catalog.articles]
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    e1, e2, e3 = st.columns(3)
    with e1:
        if st.checkbox("Breakdown", key="rp_bd"):
            m = st.selectbox("Machine", machines, key="rp_bd_machine")
            fr = st.text_input("Down from", f"{now:%Y-%m-%d %H:%M}", key="rp_bd_from")
            to = st.text_input(
                "Back at", f"{now + timedelta(hours=6):%Y-%m-%d %H:%M}", key="rp_bd_to"
            )
            try:
                events.append({"type": "breakdown", "machine": m, "from": _dt(fr), "to": _dt(to)})
            except ValueError:
                problems.append("breakdown: from/to must be dates like 2026-03-03 10:00")
    with e2:
        if st.checkbox("Rush order", key="rp_rush"):
            a = st.selectbox("Article", articles, key="rp_rush_article")
            q = st.number_input("Quantity", 1, 100_000, 10, key="rp_rush_qty")
            dl = st.text_input(
                "Deadline", f"{now + timedelta(days=1):%Y-%m-%d %H:%M}", key="rp_rush_deadline"
            )
            oid = st.text_input("Order id", f"RUSH-{len(scenarios) + 1}", key="rp_rush_id")
            try:
                events.append(
                    {"type": "rush_order", "order": oid.strip(), "article": a,
                     "quantity": int(q), "deadline": _dt(dl)}
                )  # fmt: skip
            except ValueError:
                problems.append("rush order: the deadline must be a date like 2026-03-04 14:00")
    with e3:
        cancel = st.multiselect("Cancel orders", [o.id for o in inst.orders], key="rp_cancel")
        events += [{"type": "cancel", "order": o} for o in cancel]
    p1, p2, p3 = st.columns(3)
    t_now = (now - ps).total_seconds() / 60.0
    order = np.argsort(sched.times["start"], kind="stable")
    ahead = [int(o) for o in order if sched.op_machine[o] >= 0 and sched.times["start"][o] >= t_now]
    labels = {
        o: f"{sched.job_ids[int(sched.op_job[o])]} step {int(sched.op_step[o]) + 1} · "
        f"{sched.machine_ids[int(sched.op_machine[o])]} · "
        f"{ps + timedelta(minutes=float(sched.times['start'][o])):%a %H:%M}"
        for o in ahead[:300]
    }
    pinned = p1.multiselect(
        "Lock operations (keep machine and start)", list(labels), format_func=lambda o: labels[o],
        key="rp_pins", help="the next 300 operations after now",
    )  # fmt: skip
    frozen_h = p2.number_input(
        "Frozen horizon (hours after now)", 0.0, 168.0, 0.0, 1.0, key="rp_fz"
    )
    methods = ["best-rule", "rule:EDD", "rule:ATC", "rule:SPT"]
    method = p3.selectbox("Method (re-plan)", methods, key="rp_method")
    name = st.text_input(
        "Scenario name", f"{now:%a %H:%M} " + (", ".join(e["type"] for e in events) or "no event"),
        key="rp_name",
    )  # fmt: skip
    if not ps <= now <= end:
        problems.append(f"now must be within the plan ({ps:%d.%m. %H:%M} .. {end:%d.%m. %H:%M})")
    for p in problems:
        st.warning(p)
    if st.button("Re-plan", key="rp_go", type="primary", disabled=bool(problems)):
        params = {
            "name": name.strip() or f"scenario {len(scenarios) + 1}",
            "base": entry["key"],
            "now": now.isoformat(timespec="minutes"),
            "events": events,
            "mode": mode,
            "method": method,
            "frozen_minutes": float(frozen_h) * 60.0,
            "pins": [
                {
                    "job": sched.job_ids[int(sched.op_job[o])],
                    "step": int(sched.op_step[o]) + 1,
                    "machine": sched.machine_ids[int(sched.op_machine[o])],
                    "start": float(sched.times["start"][o]),
                }
                for o in pinned
            ],
        }
        with st.spinner("re-planning …"):
            try:
                sc = run_replan(entry, params)
            except DataError as e:
                st.error("Not re-planned:\n\n" + "\n".join(f"- {i}" for i in e.issues))
                sc = None
        if sc is not None:
            scenarios = [s for s in scenarios if s["name"] != sc["name"]] + [sc]
            ss.scenarios = scenarios
            ss.rp_show = sc["name"]
            save_scenarios(put, scenarios)
    if not scenarios:
        return
    st.markdown("**Scenarios** (kept in this workspace)")
    st.dataframe(stability_table(scenarios, res), width="stretch", key="rp_table")
    names = [s["name"] for s in scenarios]
    if ss.get("rp_show") not in names:
        ss.rp_show = names[-1]
    shown = st.selectbox("Show scenario", names, key="rp_show")
    sc = next(s for s in scenarios if s["name"] == shown)
    new = sc["result"].schedule
    moved = moved_ops(sched, new)
    g1, g2 = st.columns(2)
    fig_old, fig_new = replan_figures(entry, sc, moved)
    with g1:
        st.caption("Old plan")
        st.plotly_chart(fig_old, key="rp_gantt_old")
    with g2:
        st.caption(f"{shown}: {len(moved)} moved operations outlined")
        st.plotly_chart(fig_new, key="rp_gantt_new")
    x1, x2, x3 = st.columns(3)
    x1.download_button(
        "Old plan as Excel", lambda: _excel({"result": res, "instance": inst}, ps),
        file_name=f"furnsim-plan-{ps:%Y%m%d-%H%M}.xlsx", key="rp_xlsx_old",
    )  # fmt: skip
    x2.download_button(
        f"{shown} as Excel", lambda: _excel(sc, ps),
        file_name=f"furnsim-{''.join(c if c.isalnum() else '-' for c in shown)}.xlsx",
        key="rp_xlsx_new",
    )  # fmt: skip
    if x3.button("Delete this scenario", key="rp_del"):
        ss.scenarios = [s for s in scenarios if s["name"] != shown]
        save_scenarios(put, ss.scenarios)
        st.rerun()
