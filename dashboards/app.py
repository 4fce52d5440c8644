"""furnsim planning dashboard: the week's orders -> goal -> validated plan -> Gantt -> Excel.

Run from the repository root::

    streamlit run dashboards/app.py          # or: ./run dashboard

A thin layer over ``furnsim``: every number and figure comes from a package function
(``furnsim.plan.plan``, ``furnsim.viz``, ``furnsim.export``, ``furnsim.orderbook``); this
file only lays out sections. ``main()`` calls one function per section:

* ``section_plant``   - demo factory by default, or an uploaded plant workbook (validated;
  a bad upload shows its problems and never replaces the working plant)
* ``section_orders``  - the week's orders in an editable table, kept in the local SQLite
  order book (``furnsim.orderbook``) as row operations; invalid rows are flagged, never
  dropped; a change made in another window is detected, never overwritten
* ``section_plan``    - plan start, goal (one click), method, Start scheduling
* ``section_results`` - KPI cards, validator badge, method and fallback, release control
  (batches held at STORE), Gantts, buffers, late orders
* ``section_compare`` - the same orders under all three goals, side by side
* ``section_export``  - the plan as an Excel workbook for the shop floor

What survives a page reload: the URL carries a workspace id (``?ws=...``); the uploaded
plant and the last plan of the workspace are kept in the data folder next to the orders.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from sections import jobs  # dashboards/ is on sys.path (the script dir)
from sections.release import release_text
from sections.replan import section_replan
from sections.working_time import section_working_time

from furnsim.errors import DataError, Issue, Location
from furnsim.orderbook import (
    COLUMNS,
    ApplyResult,
    Conflict,
    Delete,
    Insert,
    Op,
    OrderBook,
    Update,
    check_rows,
    csv_safe,
    next_order_id,
    normalize_row,
    orders_to_rows,
    read_order_file,
    rows_to_orders,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO_PLANT = ROOT / "bom_data" / "demo" / "plant.xlsx"
SHIFT_DEMO = ROOT / "bom_data" / "demo_shifts" / "plant.xlsx"
METHODS = {
    "policy": "Trained policy for the goal (PPO)",
    "policy-lns": "Trained policy + optimizer",
    "best-rule": "Best dispatching rule",
    "rule": "A dispatching rule",
    "cpsat": "CP-SAT solver (time limit)",
}
#: where the plain policy loses to a rule: the search starts from the better plan of the two
CHEAPER_HINT = (
    f'For a cheaper plan, choose "{METHODS["policy-lns"]}": it starts from the better of the '
    "policy's and the rules' plans and returns the cheapest plan it finds in the search time "
    "you set."
)
VIEWS = ["Gantt by machine", "Gantt by order", "Buffers", "Late orders"]
# the trained policy takes seconds (model load, search): a click shows the better plan of
# two fast rules at once, and the policy's plan replaces it when it is ready and cheaper
QUICK = jobs.QUICK
QUICK_RULES = jobs.QUICK_RULES
_WS_RE = re.compile(r"[0-9a-f]{12,32}")
_DT_HELP = "date and time, e.g. 2026-03-04 14:00"


# =======================================================================================
# cached data, plans, figures and files (shared by all sessions, keyed by content)
# =======================================================================================
@st.cache_data(show_spinner=False, max_entries=8)
def load_plant_file(path: str, mtime: float) -> tuple[Any, str]:
    """Parsed plant (PlantData) of a file on disk and the sha256 of its bytes."""
    from furnsim.io import read_plant

    del mtime
    return read_plant(path), hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
        except DataError as e:  # point the issues at the uploaded file's name, no server paths
            raise DataError(
                [
                    Issue(_no_paths(i.message, d, name), Location(name, i.sheet, i.row, i.column))
                    for i in e.issues
                ]
            ) from None
        except Exception as e:  # noqa: BLE001 - unreadable: say what, without server paths
            raise DataError(
                [Issue(_no_paths(f"cannot read this file: {type(e).__name__}: {e}", d, name))]
            ) from None


def _no_paths(text: str, tmp: str, name: str) -> str:
    """A message about an uploaded file with the server's temporary paths replaced by the
    file's own name (the page never shows server paths)."""
    out = re.sub(re.escape(tmp) + r"/[^\s'\"]*", name, text)
    return out.replace(tmp, "")


def _background() -> None:
    """The background threads (they hand work to the worker processes and wait) run at a
    lower CPU priority (nice 5, Linux: per thread), so on a busy 2-core machine what the
    planner clicks is served first."""
    import contextlib
    import os

    with contextlib.suppress(AttributeError, OSError):  # not Linux: normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)


class _Store:
    """Plans, figures and Excel files by content key, plus the background workers.

    The workers plan ahead (the default settings, while the planner looks at the page), plan
    the trained policy's plan after a quick one, and build the other views' figures and the
    Excel file of a shown plan, so the clicks that need them find them ready. The work itself
    runs in two worker processes (``sections.jobs``; plans / figures and files), so it never
    holds the interpreter lock that serves the page; the two threads only wait for them and
    file the results.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.plans: OrderedDict[str, Any] = OrderedDict()  # key -> entry or Future
        self.figs: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.excel: OrderedDict[tuple[str, int], Any] = OrderedDict()  # -> bytes or Future
        # plans ahead and workbooks on separate workers: a plan never queues behind a file
        self.worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="furnsim-plan", initializer=_background
        )
        self.files = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="furnsim-xlsx", initializer=_background
        )
        self.pending: list[Future[Any]] = []  # the latest plan-ahead jobs
        jobs.pool("plan"), jobs.pool("files")  # start the worker processes now

    @staticmethod
    def call(kind: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the ``kind`` worker process ('plan' or 'files'); in this process
        when the worker cannot be used (a new one is started for the next call); not when
        the server is stopping (its workers were ended on purpose)."""
        pool = jobs.pool(kind)
        try:
            fut = pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):  # broken or shut down
            if jobs.stopping():
                raise
            jobs.drop_pool(kind, pool)
            return fn(*args)
        try:
            return fut.result()
        except BrokenProcessPool:  # the worker died (e.g. out of memory)
            if jobs.stopping():
                raise
            jobs.drop_pool(kind, pool)
            return fn(*args)

    @staticmethod
    def _trim(d: OrderedDict[Any, Any], n: int) -> None:
        while len(d) > n:
            d.popitem(last=False)


@st.cache_resource(show_spinner=False)
def store() -> _Store:
    return _Store()


def goals() -> list[tuple[str, str]]:
    from furnsim.goals import load_goals

    return [(g.name, g.label) for g in load_goals().values()]


def book() -> OrderBook:
    return OrderBook()  # $FURNSIM_DATA or ~/.local/share/furnsim/orders.sqlite


# =======================================================================================
# small helpers
# =======================================================================================
def _ss() -> Any:
    return st.session_state


def _plural(n: float, one: str, many: str | None = None) -> str:
    n_i = int(n) if float(n).is_integer() else n
    return f"{n_i:,} {one if n_i == 1 else (many or one + 's')}"


def _duration(minutes: Any) -> str:
    """``9 h 12 min``, ``2 d 3 h 05 min``, ``0 min``; ``-`` when unknown."""
    from furnsim.viz import format_minutes

    try:
        m = float(minutes)
    except (TypeError, ValueError):
        return "-"
    return "-" if not math.isfinite(m) else format_minutes(m)


def _when(v: Any) -> str:
    return f"{v:%a %d.%m. %H:%M}" if isinstance(v, datetime) else "-"


def _cell_text(v: Any) -> str:
    """A date cell as the planner reads and types it (text that is not a date is kept)."""
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M}"
    return "" if v is None else str(v)


def _plan_start() -> datetime:
    return _ss().plan_start


def _rule_name(method: str) -> str:
    return method.split(":", 1)[1] if method.startswith("rule:") else method


def _method_label(method: str) -> str:
    """The method as shown with a result (the policy + optimizer named as such)."""
    return "ppo-lns (trained policy + optimizer)" if method == "ppo-lns" else method


def _caption_if_no_policy(goal: str) -> None:
    if not _policy_available(goal):
        st.caption(
            "No trained policy for this goal is installed here; the best dispatching rule "
            "will be used and the results will say so."
        )


def _policy_available(goal: str) -> bool:
    try:
        from furnsim.rl.policy import model_path

        return model_path(goal).exists()
    except Exception:  # noqa: BLE001 - no RL extras installed: no policy
        return False


# =======================================================================================
# workspace: what a reload must not forget (uploaded plant, last plan)
# =======================================================================================
def workspace() -> str:
    """The browser's workspace id, kept in the URL (``?ws=``) so a reload finds it again."""
    ss = _ss()
    if "ws" not in ss:
        ws = str(st.query_params.get("ws", ""))
        ss.ws = ws if _WS_RE.fullmatch(ws) else uuid.uuid4().hex[:16]
    if st.query_params.get("ws") != ss.ws:
        st.query_params["ws"] = ss.ws
    return str(ss.ws)


def _ws_plant_put(name: str | None, data: bytes | None) -> None:
    b, ws = book(), workspace()
    b.ws_put(ws, "plant", data)
    b.ws_put(ws, "plant_name", None if name is None else name.encode())


def _ws_plant_get() -> tuple[str, bytes] | None:
    b, ws = book(), workspace()
    data, name = b.ws_get(ws, "plant"), b.ws_get(ws, "plant_name")
    return None if data is None or name is None else (name.decode(), data)


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, datetime):
        return o.isoformat()
    return str(o)


def _ws_plan_put(entry: dict[str, Any]) -> None:
    res = entry["result"]
    doc = {
        "key": entry["key"],
        "plant_sha": entry["plant_sha"],
        "plan_start": entry["plan_start"].isoformat(),
        "goal": entry["goal"],
        "rows": [
            {c: _cell_text(r[c]) if c in ("deadline", "release") else r[c] for c in COLUMNS}
            for r in entry["rows"]
        ],
        "skipped": entry["skipped"],
        "result": {
            "kpis": res.kpis,
            "cost": res.cost,
            "valid": res.valid,
            "violations": len(res.violations),
            "method": res.method,
            "requested": res.requested,
            "goal": res.goal,
            "wall_time": res.wall_time,
            "fallback": res.fallback,
            "deadlock": res.deadlock,
            "details": res.details,
        },
        "schedule": res.schedule.to_dict(),
    }
    book().ws_put(workspace(), "plan", json.dumps(doc, default=_json_default).encode())


def _ws_plan_get(plant: Any, plant_sha: str) -> dict[str, Any] | None:
    """The workspace's last plan when it was made on this plant (same bytes), else None."""
    from furnsim.model import Instance
    from furnsim.plan import PlanResult
    from furnsim.sim import Schedule

    raw = book().ws_get(workspace(), "plan")
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        if doc["plant_sha"] != plant_sha:
            return None
        key = doc["key"]
        with store().lock:
            hit = store().plans.get(key)
        if isinstance(hit, dict):
            return hit
        ps = datetime.fromisoformat(doc["plan_start"])
        rows = [normalize_row(r) for r in doc["rows"]]
        inst = Instance(
            plant.plant, plant.catalog, rows_to_orders(rows, ps), name=plant.name, plan_start=ps
        )
        r = doc["result"]
        res = PlanResult(
            schedule=Schedule.from_dict(doc["schedule"]),
            kpis=r["kpis"],
            cost=r["cost"],
            valid=r["valid"],
            violations=[{}] * int(r["violations"]),
            method=r["method"],
            requested=r["requested"],
            goal=r["goal"],
            wall_time=r["wall_time"],
            fallback=r["fallback"],
            deadlock=r["deadlock"],
            details=r["details"],
        )
    except Exception:  # noqa: BLE001 - an unreadable saved plan is simply not shown
        return None
    entry = {
        "result": res,
        "instance": inst,
        "key": key,
        "plan_start": ps,
        "goal": doc["goal"],
        "rows": rows,
        "skipped": doc.get("skipped", []),
        "plant_sha": plant_sha,
    }
    with store().lock:
        store().plans[key] = entry
    return entry


# =======================================================================================
# sections
# =======================================================================================
def section_plant() -> Any:
    """The working plant: demo factory, or an uploaded workbook that passed validation."""
    ss = _ss()
    st.subheader("1 · Plant")
    if "plant_source" not in ss:
        saved = _ws_plant_get()
        ss.plant_source = {"kind": "demo", "name": DEMO_PLANT.name}
        if saved is not None:
            try:
                load_plant_upload(*saved)
            except Exception:  # noqa: BLE001 - a stored upload that no longer loads
                _ws_plant_put(None, None)
            else:
                ss.plant_source = {
                    "kind": "upload",
                    "name": saved[0],
                    "data": saved[1],
                    "sha": hashlib.sha256(saved[1]).hexdigest(),
                }
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
            ss.plant_source = {
                "kind": "upload",
                "name": up.name,
                "data": data,
                "sha": hashlib.sha256(data).hexdigest(),
            }
            _ws_plant_put(up.name, data)
            ss.plant_issues = None
            ss.pop("result", None)
            ss.pop("compare_result", None)
    if ss.get("plant_issues"):
        bad = ss.plant_issues
        st.error(
            f"**{bad['file']}** was not loaded: {_plural(len(bad['issues']), 'problem')}. "
            "The plant below is still the one in use."
        )
        st.dataframe(
            pd.DataFrame(bad["issues"], columns=["sheet", "row", "column", "message"]).fillna(""),
            hide_index=True,
            width="stretch",
        )
    src = ss.plant_source
    if src["kind"] == "demo" and st.button(
        "Use the shift demo (two and three shifts, a holiday, downtime)", key="plant_shifts"
    ):
        _use_plant_bytes("demo_shifts.xlsx", SHIFT_DEMO.read_bytes())
        st.rerun()
    if src["kind"] == "upload":
        plant = load_plant_upload(src["name"], src["data"])
        sha = src["sha"]
        if st.button("Back to the demo factory", key="plant_demo"):
            ss.plant_source = {"kind": "demo", "name": DEMO_PLANT.name}
            _ws_plant_put(None, None)
            ss.pop("result", None)
            ss.pop("compare_result", None)
            st.rerun()
    else:
        plant, sha = load_plant_file(str(DEMO_PLANT), DEMO_PLANT.stat().st_mtime)
    ss.plant_sha = sha
    p = plant.plant
    st.caption(
        f"**{plant.name}** ({src['name']}): {_plural(len(p.work_centers), 'work center')}, "
        f"{_plural(len(p.machines), 'machine')}, {_plural(len(plant.catalog.articles), 'article')}"
    )
    if "result" not in ss and not ss.get("plan_restored"):  # a reload: the last plan again
        ss.plan_restored = True
        entry = _ws_plan_get(plant, sha)
        if entry is not None:
            ss.result = entry
    return plant


def section_plant_working_time(plant: Any) -> None:
    """The plant's calendars, exceptions and downtime (view, edit, apply through the builder)."""
    src = _ss().plant_source
    section_working_time(
        plant,
        src["name"],
        src["data"] if src["kind"] == "upload" else DEMO_PLANT.read_bytes(),
        load_plant_upload,
        _use_plant_bytes,
        str(_ss().plant_sha)[:12],
    )


def _use_plant_bytes(name: str, data: bytes) -> None:
    """Make a workbook that passed the builder the plant in use (shift demo, edited working
    time), kept in the workspace like an upload."""
    ss = _ss()
    ss.plant_source = {
        "kind": "upload",
        "name": name,
        "data": data,
        "sha": hashlib.sha256(data).hexdigest(),
    }
    _ws_plant_put(name, data)
    ss.plant_issues = None
    ss.pop("result", None)
    ss.pop("compare_result", None)


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


# ---------------------------------------------------------------------------------------
# the order table: a stable editor base, its delta saved as row operations
# ---------------------------------------------------------------------------------------
def _flagged(rows: list[dict[str, Any]], plant: Any, start: datetime) -> list[dict[str, Any]]:
    """Rows (with ``rid``/``version``) and their ``problem`` for the current plant and start."""
    checks = check_rows(rows, plant.catalog.index.keys(), start)
    extra = _ss().get("build_problems", {})
    out = []
    for r, c in zip(rows, checks, strict=True):
        msg = c.message or extra.get(r.get("order") or "", "")
        out.append({**normalize_row(r), "rid": r["rid"], "version": r["version"], "problem": msg})
    return out


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The editor's data: text for ids, articles, dates and problems ("" = blank)."""
    df = pd.DataFrame(
        {
            "order": [r["order"] or "" for r in rows],
            "article": [r["article"] or "" for r in rows],
            "quantity": pd.Series(
                [r["quantity"] if isinstance(r["quantity"], float) else None for r in rows],
                dtype="float64",
            ),
            "deadline": [_cell_text(r["deadline"]) for r in rows],
            "release": [_cell_text(r["release"]) for r in rows],
            "priority": pd.Series(
                [r["priority"] if isinstance(r["priority"], float) else None for r in rows],
                dtype="float64",
            ),
            "problem": [r["problem"] or "" for r in rows],
        },
        columns=[*COLUMNS, "problem"],
    )
    return df


def _rebuild(rows: list[dict[str, Any]], version: int) -> None:
    """Show ``rows`` (the stored table at ``version``) in a fresh editor."""
    ss = _ss()
    ss.base = rows
    ss.base_df = _frame(rows)
    ss.book_ver = version
    ss.row_ver = {r["rid"]: r["version"] for r in rows}
    ss.applied = {"edited": {}, "added": [], "deleted": set()}
    ss.editor_ver = ss.get("editor_ver", 0) + 1


def _editor_key() -> str:
    return f"orders_editor_{_ss().get('editor_ver', 0)}"


def _cell(col: str, v: Any) -> Any:
    """An editor cell value as stored (quantity text that is not a number is kept)."""
    if col in ("quantity", "priority") and isinstance(v, str):
        return v.strip() or None
    return v


Pending = list[tuple[Op, Callable[[ApplyResult], None] | None]]


def _set_item(d: dict[Any, Any], k: Any, v: Any, res: ApplyResult) -> None:
    d[k] = v


def _add_item(d: set[int], k: int, res: ApplyResult) -> None:
    d.add(k)


def _replace_added(added: list[Any], j: int, vals: dict[str, Any], res: ApplyResult) -> None:
    added[j] = (added[j][0], vals)


def _append_inserted(added: list[Any], k: int, vals: dict[str, Any], res: ApplyResult) -> None:
    added.append((res.inserted[k], vals))  # the k-th Insert of this write


def _editor_ops(delta: dict[str, Any]) -> Pending:
    """Row operations for what changed in the editor since the last run, each with what to
    remember once it is saved.

    The editor reports its whole delta against its (unchanged) base every run; what was
    already saved is remembered in ``applied``, so each change is saved exactly once.
    """
    ss = _ss()
    base, applied, rv = ss.base, ss.applied, ss.row_ver
    out: Pending = []
    deleted = {int(i) for i in delta.get("deleted_rows") or []}
    for idx_s, change in (delta.get("edited_rows") or {}).items():
        idx = int(idx_s)
        if idx >= len(base) or idx in deleted:
            continue
        now = {c: _cell(c, v) for c, v in change.items() if c in COLUMNS}
        prev = applied["edited"].get(idx, {})
        diff = {c: v for c, v in now.items() if c not in prev or prev[c] != v}
        for c in prev:  # a cell set back to what it was
            if c not in now:
                diff[c] = base[idx][c]
        if diff:
            rid = base[idx]["rid"]
            out.append(
                (
                    Update(rid, diff, rv.get(rid, base[idx]["version"])),
                    partial(_set_item, applied["edited"], idx, now),
                )
            )
    for idx in sorted(deleted - applied["deleted"]):
        if idx < len(base):
            rid = base[idx]["rid"]
            out.append(
                (
                    Delete(rid, rv.get(rid, base[idx]["version"])),
                    partial(_add_item, applied["deleted"], idx),
                )
            )
    added = [
        {c: _cell(c, v) for c, v in a.items() if c in COLUMNS}
        for a in delta.get("added_rows") or []
    ]
    old = applied["added"]  # [(rid, values)] in editor order
    if len(added) < len(old):  # rows added here and removed again: match the rest in order
        keep, j = [], 0
        for rid, vals in old:
            if j < len(added) and added[j] == vals:
                keep.append((rid, vals))
                j += 1
            else:
                out.append((Delete(rid, rv.get(rid, 1)), None))
        old[:] = keep
    n_ins = 0
    for j, vals in enumerate(added):
        if j < len(old):
            rid, prev_vals = old[j]
            keys = set(vals) | set(prev_vals)
            diff = {c: vals.get(c) for c in keys if vals.get(c) != prev_vals.get(c)}
            if diff:
                out.append(
                    (
                        Update(rid, diff, rv.get(rid, 1)),
                        partial(_replace_added, old, j, vals),
                    )
                )
        else:
            out.append(
                (
                    Insert(vals),
                    partial(_append_inserted, old, n_ins, vals),
                )
            )
            n_ins += 1
    return out


def _conflict_text(c: Conflict, base: dict[int, dict[str, Any]]) -> str:
    row = c.current or base.get(getattr(c.op, "rid", -1), {})
    oid = row.get("order") or "(no id)"
    if c.reason == "deleted":
        return f"**{oid}** was deleted in another window, so your change to it was not saved."
    what = "deletion" if isinstance(c.op, Delete) else "change"
    return (
        f"**{oid}** was changed in another window since you loaded it, so your {what} was not "
        "saved. The table now shows the saved version; make the change again if it still "
        "applies."
    )


def _sync_orders(plant: Any, start: datetime) -> list[dict[str, Any]]:
    """Save the editor's new changes as row operations; notice changes made elsewhere.

    Returns the stored rows with their problems. The editor's base is rebuilt (a fresh
    editor) only when needed: another window changed the table, a change was refused, or
    the problems shown in the table changed.
    """
    ss = _ss()
    ob = book()
    if ss.get("rows_plant") != plant.name:  # first visit or another plant
        if not ob.has(plant.name):
            ob.seed(plant.name, orders_to_rows(plant.orders, plant.plan_start or start))
        ss.rows_plant = plant.name
        ss.build_problems = {}
        rows, ver = ob.snapshot(plant.name)
        _rebuild(_flagged(rows, plant, start), ver)
        return ss.base
    delta = ss.get(_editor_key())
    pending = _editor_ops(delta) if isinstance(delta, dict) else []
    rebuild = False
    if pending:
        res = ob.apply(plant.name, [op for op, _ in pending])
        ss.row_ver.update(res.versions)
        refused = {id(c.op) for c in res.conflicts}
        for op, remember in pending:
            if remember is not None and id(op) not in refused:
                remember(res)
        if res.conflicts:
            base_by_rid = {r["rid"]: r for r in ss.base}
            ss.order_msgs = [("warning", _conflict_text(c, base_by_rid)) for c in res.conflicts]
            rebuild = True
        if res.version_before != ss.book_ver:
            ss.order_msgs = [
                *ss.get("order_msgs", []),
                ("info", "The order list was changed in another window; the table shows the "
                 "latest saved version (your changes are in it)."),
            ]  # fmt: skip
            rebuild = True
        ss.book_ver = res.version
    else:
        ver = ob.version(plant.name)
        if ver != ss.book_ver:
            ss.order_msgs = [
                ("info", "The order list was changed in another window; the table now shows "
                 "the latest saved version."),
            ]  # fmt: skip
            rebuild = True
    rows, ver = ob.snapshot(plant.name)
    rows = _flagged(rows, plant, start)
    if not rebuild:
        shown = {r["rid"]: r["problem"] for r in ss.base}
        rebuild = any(r["rid"] in shown and shown[r["rid"]] != r["problem"] for r in rows)
    if rebuild:
        _rebuild(rows, ver)
    return rows


def _write(plant: Any, start: datetime, ops: list[Op]) -> ApplyResult:
    """Save an explicit change (add form, import) and show the stored table afresh."""
    ss = _ss()
    ob = book()
    res = ob.apply(plant.name, ops)
    msgs = []
    if res.version_before != ss.book_ver:
        msgs.append(
            ("info", "The order list had been changed in another window; the table now shows "
             "the latest saved version together with your change."),
        )  # fmt: skip
    if res.conflicts:
        base_by_rid = {r["rid"]: r for r in ss.base}
        msgs += [("warning", _conflict_text(c, base_by_rid)) for c in res.conflicts]
    ss.order_msgs = msgs
    rows, ver = ob.snapshot(plant.name)
    _rebuild(_flagged(rows, plant, start), ver)
    return res


def section_orders(plant: Any) -> list[dict[str, Any]]:
    """The order table: edit, add, import, download. Returns the current rows (flagged)."""
    ss = _ss()
    st.subheader("2 · Orders of the week")
    start = section_plan_start(plant)
    rows = _sync_orders(plant, start)
    articles = sorted(plant.catalog.index.keys())

    _add_order_form(plant, articles, start)
    _import_orders(plant, start, rows)

    for kind, text in ss.pop("order_msgs", []):
        getattr(st, kind)(text)
    st.data_editor(
        ss.base_df,
        key=_editor_key(),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "order": st.column_config.TextColumn("order", help="unique order id", required=True),
            "article": st.column_config.SelectboxColumn(
                "article", options=articles, help="article from the catalog"
            ),
            "quantity": st.column_config.NumberColumn("quantity", help="pieces (> 0)", step=1),
            "deadline": st.column_config.TextColumn(
                "deadline", help=f"{_DT_HELP}; blank = no deadline"
            ),
            "release": st.column_config.TextColumn(
                "release", help=f"{_DT_HELP}; blank = available at the plan start"
            ),
            "priority": st.column_config.NumberColumn("priority", help="weight > 0 (default 1)"),
            "problem": st.column_config.TextColumn(
                "problem",
                disabled=True,
                help="why the row cannot be planned yet (empty = ready to plan)",
                width="large",
            ),
        },
    )
    bad = [r for r in rows if r["problem"]]
    if bad:
        st.warning(
            f"{len(bad)} of {_plural(len(rows), 'order')} "
            f"{'has a problem' if len(bad) == 1 else 'have a problem'} and will not be planned "
            "until fixed (see the *problem* column):\n\n"
            + "\n".join(f"- **{r['order'] or '(no id)'}**: {r['problem']}" for r in bad[:8])
            + ("\n- …" if len(bad) > 8 else "")
        )
    else:
        st.caption(f"{_plural(len(rows), 'order')}, all valid. Every change is saved right away.")
    st.download_button(
        "Download the order list (CSV)",
        _orders_csv(rows),
        file_name="orders.csv",
        mime="text/csv",
        key="orders_csv",
    )
    return rows


def _orders_csv(rows: list[dict[str, Any]]) -> bytes:
    """The table as CSV; text that a spreadsheet would run as a formula is neutralised."""
    recs = [
        {
            c: csv_safe(_cell_text(r[c]) if c in ("deadline", "release") else r[c])
            for c in (*COLUMNS, "problem")
        }
        for r in rows
    ]
    return pd.DataFrame(recs, columns=[*COLUMNS, "problem"]).to_csv(index=False).encode()


def _add_order_form(plant: Any, articles: list[str], start: datetime) -> None:
    ss = _ss()
    with st.expander("Add an order", expanded=False), st.form("add_order", clear_on_submit=False):
        c = st.columns([1.1, 1.6, 0.9, 1.1, 0.9, 0.8])
        if "add_id" not in ss or ss.pop("add_id_next", False):  # a fresh id after each add
            ss.add_id = next_order_id([r.get("order") for r in ss.base])
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
            res = _write(plant, start, [Insert(row)])
            new = next((r for r in ss.base if r["rid"] in res.inserted), None)
            ss.add_id_next = True
            if new is not None and new["problem"]:
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


IMPORT_MODES = {
    "update": "update existing orders, add new ones",
    "replace": "replace the table (orders not in the file are removed)",
    "append": "append every row as a new order",
}


def import_preview(
    current: list[dict[str, Any]], new: list[dict[str, Any]], mode: str
) -> tuple[dict[str, int], list[Op]]:
    """What an import would do: counts (new, updated, unchanged, removed) and the row ops.

    Rows are matched by order id (the first stored row with that id). ``append`` adds every
    file row; ``update`` changes matched rows and adds the others; ``replace`` also removes
    the stored rows whose id is not in the file.
    """
    counts = {"new": 0, "updated": 0, "unchanged": 0, "removed": 0}
    ops: list[Op] = []
    if mode == "append":
        counts["new"] = len(new)
        return counts, [Insert(r) for r in new]
    by_id: dict[str, dict[str, Any]] = {}
    for r in current:
        if r["order"] and r["order"] not in by_id:
            by_id[r["order"]] = r
    seen: set[int] = set()
    for r in new:
        old = by_id.get(r["order"] or "")
        if old is None or old["rid"] in seen:
            counts["new"] += 1
            ops.append(Insert(r))
            continue
        seen.add(old["rid"])
        diff = {c: r[c] for c in COLUMNS if _cell_text(r[c]) != _cell_text(old[c])}
        if diff:
            counts["updated"] += 1
            ops.append(Update(old["rid"], diff, old["version"]))
        else:
            counts["unchanged"] += 1
    if mode == "replace":
        for r in current:
            if r["rid"] not in seen:
                counts["removed"] += 1
                ops.append(Delete(r["rid"], r["version"]))
    return counts, ops


def _import_orders(plant: Any, start: datetime, rows: list[dict[str, Any]]) -> None:
    ss = _ss()
    with st.expander(
        "Import orders from a file (.xlsx / .csv)", expanded=bool(ss.get("pending_import"))
    ):
        up = st.file_uploader("Orders file", type=["xlsx", "csv"], key="orders_upload")
        if up is not None and ss.get("orders_upload_id") != up.file_id:
            ss.orders_upload_id = up.file_id
            ss.pop("pending_import", None)
            with tempfile.TemporaryDirectory() as d:
                p = Path(d) / f"orders{Path(up.name).suffix.lower()}"
                p.write_bytes(up.getvalue())
                try:
                    new, notes = read_order_file(p, start, display_name=up.name)
                except DataError as e:
                    ss.import_msg = (
                        "error",
                        f"**{up.name}** was not imported - the table is unchanged.",
                        [Issue(_no_paths(i.message, d, up.name), i.location) for i in e.issues],
                    )
                else:
                    ss.pending_import = {"name": up.name, "rows": new, "notes": notes}
        pend = ss.get("pending_import")
        if pend:
            mode = st.radio(
                f"How to import the {_plural(len(pend['rows']), 'row')} of **{pend['name']}**",
                list(IMPORT_MODES),
                format_func=IMPORT_MODES.get,
                key="import_mode",
            )
            counts, ops = import_preview(rows, pend["rows"], mode)
            st.markdown(
                "This import will make: "
                + ", ".join(
                    f"**{counts[k]}** {k}" for k in ("new", "updated", "unchanged", "removed")
                )
                + "."
            )
            if pend["notes"]:
                st.caption("Cells that are not what they should be (the rows are kept, flagged):")
                _issues_table(pend["notes"])
            c1, c2 = st.columns([1, 4])
            if c1.button("Apply the import", type="primary", key="import_apply"):
                _write(plant, start, ops)
                n_new = counts["new"]
                ids = {r["order"] for r in pend["rows"]}
                nbad = sum(1 for r in ss.base if r["problem"] and r["order"] in ids)
                msg = (
                    f"Imported **{pend['name']}**: {counts['new']} new, {counts['updated']} "
                    f"updated, {counts['unchanged']} unchanged, {counts['removed']} removed"
                ) + (
                    f"; {_plural(nbad, 'imported order')} flagged (see the *problem* column)."
                    if nbad
                    else "."
                )
                del n_new
                ss.import_msg = ("warning" if nbad else "success", msg, [])
                ss.pop("pending_import", None)
                st.rerun()
            if c2.button("Cancel", key="import_cancel"):
                ss.pop("pending_import", None)
                st.rerun()
    msg = ss.pop("import_msg", None)
    if msg:
        kind, text, issues = msg
        getattr(st, kind)(text)
        if issues:
            _issues_table(issues)


def _issues_table(issues: list[Any]) -> None:
    st.dataframe(
        pd.DataFrame(
            [i.to_dict() for i in issues], columns=["row", "column", "message", "sheet"]
        ).fillna(""),
        hide_index=True,
        width="stretch",
    )


# ---------------------------------------------------------------------------------------
# goal, method, planning
# ---------------------------------------------------------------------------------------
def _request_plan() -> None:
    _ss().plan_request = True


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
        _caption_if_no_policy(ss.goal)
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
    elif kind == "policy-lns":
        method = "ppo-lns"
        _caption_if_no_policy(ss.goal)
        time_limit = float(
            st.number_input(
                "Search time (s)",
                1.0,
                3600.0,
                10.0,
                step=1.0,
                key="ppo_lns_time",
                help="Policy + optimizer: the trained policy's plan and every dispatching rule "
                "are tried, then the optimizer (large-neighbourhood search) improves the "
                "cheapest for this long, re-planning parts of the week with the simulator; "
                "part of its moves are drawn from the policy. The plan is never worse than "
                "the best rule's or the policy's own.",
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

    # a callback, not the button's return value: the click is remembered in the session
    # until a run has acted on it, even when it arrives while the page is still loading
    st.button("Start scheduling", type="primary", key="start", on_click=_request_plan)
    if ss.get("plan_request"):
        ok_rows = [r for r in rows if not r["problem"]]
        if not ok_rows:
            ss.plan_request = False
            st.warning(
                "Nothing to plan yet: "
                + (
                    "the order list is empty."
                    if not rows
                    else f"none of the {_plural(len(rows), 'order')} can be planned "
                    "(see the *problem* column)."
                )
            )
        else:
            run_plan(plant, rows, ss.goal, method, time_limit)
            ss.plan_request = False


def _instance(plant: Any, rows: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """The Instance of the valid rows; rows the model rejects are flagged and left out."""
    from furnsim.model import Instance

    ss = _ss()
    ok = [r for r in rows if not r["problem"]]
    for _ in range(3):
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


def _plan_key(
    plant_sha: str, rows: list[dict[str, Any]], ps: datetime, goal: str, method: str, tl: Any
) -> str:
    """Content key of a plan: plant bytes, planned rows, plan start, goal, method, options."""
    payload = json.dumps(
        [
            plant_sha,
            [[_cell_text(r[c]) for c in COLUMNS] for r in rows],
            str(ps),
            goal,
            method,
            tl,
        ],
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _compute(
    inst: Any, ok: list[dict[str, Any]], key: str, plant_sha: str, ps: datetime, goal: str,
    method: str, tl: Any, progress: Any, s: _Store | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Plan here (with a progress bar), or in the plan worker process (``s``, background)."""
    from furnsim.plan import plan

    if s is not None:
        res = s.call("plan", jobs.plan_result, inst, goal, method, tl)
    elif method == QUICK:  # the better of two fast rules (each plan validated)
        res = jobs.plan_result(inst, goal, method, tl)
    else:
        res = plan(inst, goal, method, time_limit=tl, progress=progress)
    return _entry(res, inst, ok, key, plant_sha, ps, goal)


def _entry(
    res: Any, inst: Any, ok: list[dict[str, Any]], key: str, plant_sha: str, ps: datetime,
    goal: str,
) -> dict[str, Any]:  # fmt: skip
    return {
        "result": res,
        "instance": inst,
        "key": key,
        "plan_start": ps,
        "goal": goal,
        "rows": ok,
        "plant_sha": plant_sha,
        "skipped": [],
    }


def _lookup(
    key: str, compute: Callable[[], dict[str, Any]], progress: Any, wait: bool = True
) -> dict[str, Any]:
    """The stored plan of ``key``: ready, waited for (being planned ahead; with ``wait``,
    else planned here at once: a cheap plan is not queued behind background work), or
    computed now."""
    import time as _time

    s = store()
    with s.lock:
        hit = s.plans.get(key)
        if hit is not None:
            s.plans.move_to_end(key)
    if isinstance(hit, Future) and (hit.cancel() or not (wait or hit.done())):
        hit = None  # queued, not started (or cheap and still running): plan it here, now
    if isinstance(hit, Future):  # being planned ahead in the background: wait for it
        while not hit.done():
            if progress is not None:
                progress("planning …", 0.5)
            _time.sleep(0.05)
        try:
            hit = hit.result()
        except Exception:  # noqa: BLE001 - plan it here instead, with the error shown
            hit = None
    if not isinstance(hit, dict):
        hit = compute()
    with s.lock:
        s.plans[key] = hit
        s._trim(s.plans, 24)
    return hit


def _skipped(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    bp = _ss().get("build_problems", {})
    return [
        {"order": r["order"] or "(no id)", "why": r["problem"] or bp.get(r["order"], "")}
        for r in rows
        if r["problem"] or r["order"] in bp
    ]


def plan_cached(
    plant: Any, rows: list[dict[str, Any]], goal: str, method: str, tl: Any, progress: Any
) -> dict[str, Any]:
    """Plan (or take the stored plan of the same inputs): {'result', 'instance', 'key', ...}."""
    inst, ok = _instance(plant, rows)
    sha, ps = _ss().plant_sha, _plan_start()
    key = _plan_key(sha, ok, ps, goal, method, tl)
    cheap = method.startswith("rule:")
    hit = _lookup(
        key,
        lambda: _compute(inst, ok, key, sha, ps, goal, method, tl, progress),
        progress,
        wait=not cheap,
    )
    return {**hit, "skipped": _skipped(rows)}


def _submit(key: str, fn: Callable[..., dict[str, Any]], *args: Any) -> Future[Any] | None:
    """Plan ``key`` on the background worker (unless stored or queued already)."""
    s = store()
    with s.lock:
        if key in s.plans:
            return None
        fut = s.worker.submit(fn, *args)
        s.plans[key] = fut

    def _done(f: Future[Any], key: str = key) -> None:
        with s.lock:
            if s.plans.get(key) is f:
                if f.cancelled() or f.exception() is not None:
                    del s.plans[key]
                else:
                    s.plans[key] = f.result()

    fut.add_done_callback(_done)
    return fut


def plan_policy_quick_first(
    plant: Any, rows: list[dict[str, Any]], goal: str, tl: Any, progress: Any
) -> dict[str, Any]:
    """The trained policy's plan when it is ready; otherwise the quick plan (the better of
    two fast rules) at once, with the policy still planning in the background: the entry's
    ``upgrade`` names the policy's plan, which replaces it when ready and cheaper."""
    inst, ok = _instance(plant, rows)
    sha, ps = _ss().plant_sha, _plan_start()
    key = _plan_key(sha, ok, ps, goal, "ppo", tl)
    with store().lock:
        hit = store().plans.get(key)
    if isinstance(hit, dict):
        return {**hit, "skipped": _skipped(rows)}
    qkey = _plan_key(sha, ok, ps, goal, QUICK, None)
    quick = _lookup(
        qkey,
        lambda: _compute(inst, ok, qkey, sha, ps, goal, QUICK, None, progress),
        progress,
        wait=False,
    )
    _submit(key, _compute, inst, ok, key, sha, ps, goal, "ppo", tl, None, store())
    return {**quick, "skipped": _skipped(rows), "upgrade": key}


def _compute_and_draw(
    s: _Store, inst: Any, ok: list[dict[str, Any]], key: str, sha: str, ps: datetime, goal: str,
    method: str, tl: Any,
) -> dict[str, Any]:  # fmt: skip
    """A plan ahead, and its machine Gantt (what a click shows first): the quick plan here
    (0.3 s, ready soonest; the worker may still be starting), other methods in the worker."""
    if method == QUICK:
        res = jobs.plan_result(inst, goal, method, tl)
        fig = jobs.figure(res, inst, ps, VIEWS[0])
    else:
        res, pf = s.call("plan", jobs.plan_and_figure, inst, goal, method, tl, ps, VIEWS[0])
        fig = pf.figure()
    entry = _entry(res, inst, ok, key, sha, ps, goal)
    with s.lock:
        s.figs.setdefault((entry["key"], VIEWS[0]), fig)
        s._trim(s.figs, 24)
    return entry


def plan_ahead(plant: Any, rows: list[dict[str, Any]]) -> None:
    """Plan the current settings in the background while the page is idle (not CP-SAT), so
    that Start scheduling finds the plan ready; for the trained policy first the quick plan
    (what a click shows at once), then the policy's plan."""
    ss = _ss()
    method, tl = ss.get("method_str"), ss.get("time_limit_val")
    if (
        method is None
        or method == "cpsat"
        or (tl or 0) > 5
        or not any(not r["problem"] for r in rows)
    ):
        return
    try:
        inst, ok = _instance(plant, rows)
    except DataError:
        return
    sha, ps, goal = ss.plant_sha, _plan_start(), ss.goal
    jobs = [(method, tl)] if method != "ppo" else [(QUICK, None), (method, tl)]
    keys = [_plan_key(sha, ok, ps, goal, m, t) for m, t in jobs]
    s = store()
    with s.lock:
        if all(k in s.plans for k in keys):
            return
        old, s.pending = s.pending, []
    for f in old:
        f.cancel()  # only the latest settings are worth planning ahead (if not started)
    for key, (m, t) in zip(keys, jobs, strict=True):
        fut = _submit(key, _compute_and_draw, s, inst, ok, key, sha, ps, goal, m, t)
        if fut is not None:
            with s.lock:
                s.pending.append(fut)


def run_plan(plant: Any, rows: list[dict[str, Any]], goal: str, method: str, tl: Any) -> None:
    ss = _ss()
    bar = st.progress(0.0, text="planning …")

    def progress(label: str, frac: float) -> None:
        bar.progress(min(1.0, max(0.0, float(frac))), text=f"planning: {label}")

    n_build = len(ss.get("build_problems", {}))
    try:
        if method == "ppo":
            entry = plan_policy_quick_first(plant, rows, goal, tl, progress)
        else:
            entry = plan_cached(plant, rows, goal, method, tl, progress)
    except DataError as e:
        bar.empty()
        st.error("The orders could not be planned:\n\n" + "\n".join(f"- {i}" for i in e.issues))
        return
    bar.empty()
    ss.result = entry
    ss.pop("compare_result", None)
    _ws_plan_put(entry)
    _figures_ahead(entry, tuple(VIEWS[1:3]))  # the open tab's Gantt is built in this run
    _excel_ahead(entry, 30)
    if len(ss.get("build_problems", {})) != n_build:  # the model flagged rows: show them
        ss.plan_request = False
        st.rerun()


# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------
def _build_figure(entry: dict[str, Any], view: str, s: _Store | None = None) -> Any:
    """The figure of a view: here, or in the files worker process (``s``, background)."""
    args = (entry["result"], entry["instance"], entry["plan_start"], view)
    return (
        jobs.figure(*args) if s is None else s.call("files", jobs.figure_portable, *args).figure()
    )


def figure(entry: dict[str, Any], view: str) -> Any:
    """The plan's figure for a view, built once per plan (a tab switch only sends it). One
    still queued or being built in the background is built here instead (0.1-0.3 s): the
    background worker runs at a lower priority, and a busy machine can starve it."""
    s = store()
    k = (entry["key"], view)
    with s.lock:
        fig = s.figs.get(k)
    if isinstance(fig, Future):
        if not fig.done():
            fig.cancel()  # if it has not started; built here either way
            fig = None
        else:
            try:
                fig = fig.result()
            except Exception:  # noqa: BLE001 - build it here (raises with the reason)
                fig = None
    if fig is None:
        fig = _build_figure(entry, view)
        with s.lock:
            s.figs[k] = fig
            s._trim(s.figs, 24)
    meta = f"{entry['key']}:{view}"
    if fig.layout.meta != meta:  # which plan the chart shows (the browser test reads it)
        fig.layout.meta = meta
    return fig


def _figures_ahead(entry: dict[str, Any], views: tuple[str, ...] = tuple(VIEWS[:3])) -> None:
    """Build the plan's figures in the background (once per plan), so a tab switch finds its
    figure ready."""
    s = store()
    for view in views:
        k = (entry["key"], view)
        with s.lock:
            if k in s.figs:
                continue
            fut = s.files.submit(_build_figure, entry, view, s)
            s.figs[k] = fut
            s._trim(s.figs, 24)

        def _done(f: Future[Any], k: tuple[str, str] = k) -> None:
            with s.lock:
                if s.figs.get(k) is f:
                    if f.cancelled() or f.exception() is not None:
                        del s.figs[k]
                    else:
                        s.figs[k] = f.result()

        fut.add_done_callback(_done)


def late_table(entry: dict[str, Any]) -> pd.DataFrame:
    """The late orders in the planner's words: dates, and how late in hours and minutes."""
    from furnsim import viz

    late = viz.late_orders(entry["result"].schedule, entry["instance"], entry["plan_start"])
    return pd.DataFrame(
        {
            "order": late["order"],
            "article": late["article"],
            "quantity": [f"{q:g}" for q in late["quantity"]],
            "deadline": [_when(v) for v in late["deadline"]],
            "finishes": [
                _when(v.to_pydatetime() if hasattr(v, "to_pydatetime") else v)
                if v is not None and not pd.isna(v)
                else "not finished in the plan"
                for v in late["completion"]
            ],
            "late by": [
                _duration(m) if math.isfinite(m) else "not finished" for m in late["late_minutes"]
            ],
        }
    )


def fallback_text(res: Any) -> str | None:
    """Why the requested method's plan is not the one shown, in plain words."""
    if not res.fallback:
        return None
    used = _rule_name(res.method)
    shown = f"so the plan of the best dispatching rule ({used}) is shown"
    req = res.requested.lower()
    d = res.details
    if req in ("ppo-lns", "ppo+lns"):
        asked = "the trained policy + optimizer"
    elif req.startswith("ppo"):
        asked = "the trained policy"
    elif req.startswith("rule:"):
        asked = f"the rule {_rule_name(res.requested)}"
    elif req.startswith("cp"):
        asked = "the CP-SAT solver"
    else:
        asked = res.requested
    if "is worse than" in res.fallback and "policy_cost" in d and "best_rule_cost" in d:
        pc, rc = float(d["policy_cost"]), float(d["best_rule_cost"])
        pct = 100 * (pc - rc) / rc if rc else float("inf")
        why = (
            f"The trained policy's plan was {pct:.2g} % worse than the best dispatching rule's "
            f"({used}), so {used}'s plan is shown."
        )
        if asked == "the trained policy":
            why += " " + CHEAPER_HINT
        return why
    if "not available" in res.fallback:
        return f"No trained policy for this goal is installed here, {shown}."
    if "deadlocked" in res.fallback:
        return f"With {asked} the plant got stuck (a full buffer blocked the flow), {shown}."
    if "invalid plan" in res.fallback:
        return f"The plan of {asked} broke the plant's rules, {shown}."
    return f"{asked[:1].upper()}{asked[1:]} could not be used, {shown}."


def section_results() -> None:
    """KPI cards, validator badge, method/fallback, Gantts, buffers, late orders."""
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
            f"method **{_method_label(res.method)}** · planned in {res.wall_time:.1f} s",
            icon=":material/verified:",
        )
    else:
        st.error(
            f"Not a valid plan: {_plural(len(res.violations), 'violation')}"
            + (f" · {res.deadlock}" if res.deadlock else ""),
            icon=":material/error:",
        )
    if entry.get("upgrade"):
        st.info(
            f"A quick plan is shown: the better of the dispatching rules "
            f"{' and '.join(_rule_name(m) for m in QUICK_RULES)}. The trained policy is still "
            "planning; when it is done, its plan replaces this one if it is better for the goal.",
            icon=":material/hourglass_top:",
        )
        upgrade_watch()
    if entry.get("note"):
        st.info(entry["note"])
    fb = fallback_text(res)
    if fb:
        st.warning(fb)
    if entry.get("skipped"):
        sk = entry["skipped"]
        st.warning(
            f"{_plural(len(sk), 'order')} {'was' if len(sk) == 1 else 'were'} not planned "
            "because of a problem in the row:\n\n"
            + "\n".join(f"- **{s['order']}**: {s['why']}" for s in sk[:8])
            + ("\n- …" if len(sk) > 8 else "")
        )
    rel = release_text(res.schedule)
    if rel:
        st.caption(rel)
    d = res.details
    if "search" in d:
        sr = d["search"]
        st.caption(
            f"Search: {_plural(sr['passes'], 'pass', 'passes')} around {_rule_name(sr['around'])} "
            f"in {sr['seconds']:.1f} s · cost of the rule's plan {sr['rule_cost']:,.0f} → "
            f"kept {sr['best_cost']:,.0f}"
        )
    if "passes" in d and "greedy_cost" in d and not res.fallback:
        st.caption(
            f"Policy search: {_plural(d['passes'], 'pass', 'passes')} in "
            f"{d.get('plan_s', 0):.1f} s · first pass {d['greedy_cost']:,.0f} · kept "
            f"{res.cost:,.0f} · best dispatching rule {d.get('best_rule_cost', float('nan')):,.0f}"
        )
    result_views(entry)


@st.fragment(run_every=1.0)
def upgrade_watch() -> None:
    """While a quick plan is shown: once the trained policy's plan is ready, show it when it
    is better for the goal (and say so), or say that the quick plan stays."""
    ss = _ss()
    entry = ss.get("result")
    key = entry.get("upgrade") if entry else None
    if not key:
        return
    with store().lock:
        hit = store().plans.get(key)
    if isinstance(hit, Future):
        return
    label = dict(goals()).get(entry["goal"], entry["goal"])
    if not isinstance(hit, dict):  # the policy failed: the quick plan stays
        ss.result = {
            **entry,
            "upgrade": None,
            "note": "The trained policy could not finish its plan, so the quick plan stays.",
        }
    else:
        new, old = hit["result"], entry["result"]
        if new.valid and new.cost < old.cost - 1e-9:
            pct = 100 * (old.cost - new.cost) / old.cost if old.cost else 0.0
            ss.result = {
                **hit,
                "skipped": entry["skipped"],
                "note": f"The trained policy's plan is ready and is {pct:.2g} % better for the "
                f"goal {label} than the quick plan, so it is shown now.",
            }
            _ws_plan_put(ss.result)
            _figures_ahead(ss.result)
            _excel_ahead(ss.result, 30)
        else:
            ss.result = {
                **entry,
                "upgrade": None,
                "policy_result": new,  # kept for the record (and the tests)
                "note": f"The trained policy's plan is ready, but it is not better for the goal "
                f"{label} than the quick plan ({_rule_name(old.method)}), so the quick plan "
                f"stays. {CHEAPER_HINT}",
            }
    st.rerun(scope="app")


@st.fragment
def result_views(entry: dict[str, Any]) -> None:
    """The plan's views on lazy tabs: only the open tab is built and sent (a week's Gantt is
    big), and switching tabs reruns only this fragment, not the whole page."""
    tabs = st.tabs(VIEWS, key="result_view", on_change="rerun")
    keys = ("gantt_machine", "gantt_order", "buffers", "")
    for tab, view, key in zip(tabs, VIEWS, keys, strict=True):
        if not tab.open:
            continue
        with tab:
            if view == "Late orders":
                late = late_table(entry)
                if late.empty:
                    st.success("No late orders.")
                else:
                    st.dataframe(late, hide_index=True, width="stretch")
            else:
                st.plotly_chart(figure(entry, view), key=key)


def _kpi_cards(k: dict[str, Any], n_orders: int, ps: datetime) -> None:
    util = k.get("utilization_mean", k.get("mean_utilization", float("nan")))
    util = float("nan") if util is None else float(util)
    mk = float(k.get("makespan") or float("nan"))
    peak = k.get("peak_buffer_fill")
    peak = float("nan") if peak is None else float(peak)
    cards = [
        (
            "Makespan",
            _duration(mk),
            f"ends {ps + timedelta(minutes=mk):%a %d.%m. %H:%M}" if math.isfinite(mk) else None,
        ),
        ("Late orders", f"{float(k.get('late_orders') or 0):.0f} of {n_orders}", None),
        ("Total tardiness", _duration(k.get("total_tardiness")), None),
        ("Setup time", _duration(k.get("total_setup_time")), None),
        ("Mean utilization", f"{100 * util:.0f} %" if math.isfinite(util) else "-", None),
        ("Peak buffer fill", f"{100 * peak:.0f} %" if math.isfinite(peak) else "-", None),
    ]
    cols = st.columns(len(cards))
    for col, (label, value, help_) in zip(cols, cards, strict=True):
        col.metric(label, value, help=help_)
    closed = float(k.get("closed_time") or 0)
    if closed > 0:  # working time: utilization is over the machines' available time
        more = [
            ("Available time", _duration(k.get("available_time")), "Σ machines' working time"),
            ("Closed time", _duration(closed), "breaks, nights, holidays, downtime"),
            ("Overtime", _duration(k.get("overtime_minutes") or 0), "work in extra windows"),
        ]
        for col, (label, value, help_) in zip(st.columns(6)[:3], more, strict=True):
            col.metric(label, value, help=help_)
        st.caption("Mean utilization = processing ÷ available (working) time per machine.")


def compare_table(cmp: dict[str, dict[str, Any]]) -> pd.DataFrame:
    labels = dict(goals())
    table = {}
    for name, e in cmp.items():
        r = e["result"]
        k = r.kpis
        util = k.get("utilization_mean", k.get("mean_utilization"))
        bl = k.get("buffer_load")
        table[labels.get(name, name)] = {
            "makespan": _duration(k.get("makespan")),
            "late orders": f"{float(k.get('late_orders') or 0):.0f}",
            "total tardiness": _duration(k.get("total_tardiness")),
            "setup time": _duration(k.get("total_setup_time")),
            "mean utilization": "-" if util is None else f"{100 * float(util):.0f} %",
            "peak buffer fill": f"{100 * float(k.get('peak_buffer_fill') or 0):.0f} %",
            "buffer load": "-" if bl is None else f"{float(bl):,.0f}",
            "blocked time": _duration(k.get("blocked_time") or 0),
            "method": _rule_name(r.method),
            "valid": "yes" if r.valid else "no",
        }
    return pd.DataFrame(table)


def section_compare(plant: Any, rows: list[dict[str, Any]]) -> None:
    """Plan the same orders under every goal and show the KPIs side by side."""
    ss = _ss()
    with st.expander("Compare goals", expanded=bool(ss.get("compare_result"))):
        st.caption(
            "Plans the same orders with the same method under Speed, Efficiency and Empty Buffers."
        )
        if st.button("Compare all goals", key="compare_btn"):
            if not any(not r["problem"] for r in rows):
                st.warning("Nothing to compare yet: no order can be planned.")
            else:
                bar = st.progress(0.0, text="comparing …")
                out = {}
                gl = goals()
                try:
                    for i, (name, label) in enumerate(gl):

                        def progress(lbl: str, f: float, i: int = i, label: str = label) -> None:
                            bar.progress(min(1.0, (i + f) / len(gl)), text=f"{label}: {lbl}")

                        out[name] = plan_cached(
                            plant, rows, name, ss.method_str, ss.time_limit_val, progress
                        )
                except DataError as e:
                    st.error(
                        "The orders could not be planned:\n\n"
                        + "\n".join(f"- {i}" for i in e.issues)
                    )
                    out = {}
                bar.empty()
                ss.compare_result = out
        cmp = ss.get("compare_result")
        if not cmp:
            return
        labels = dict(goals())
        st.dataframe(compare_table(cmp), width="stretch")
        tabs = st.tabs([labels.get(n, n) for n in cmp], key="compare_view", on_change="rerun")
        for tab, (name, ent) in zip(tabs, cmp.items(), strict=True):
            if not tab.open:
                continue
            with tab:
                st.plotly_chart(figure(ent, "Gantt by machine"), key=f"cmp_gantt_{name}")


# ---------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------
def _build_excel(entry: dict[str, Any], slot: int, s: _Store | None = None) -> bytes:
    """The plan's workbook: here, or in the files worker process (``s``, background)."""
    args = (entry["result"], entry["instance"], entry["plan_start"], slot)
    return bytes(jobs.excel(*args) if s is None else s.call("files", jobs.excel, *args))


def _excel_ahead(entry: dict[str, Any], slot: int) -> None:
    """Start building the plan's workbook in the background (once per plan and slot)."""
    s = store()
    k = (entry["key"], slot)
    with s.lock:
        if k in s.excel:
            return
        fut = s.files.submit(_build_excel, entry, slot, s)
        s.excel[k] = fut
        s._trim(s.excel, 8)

    def _done(f: Future[Any]) -> None:
        with s.lock:
            if s.excel.get(k) is f:
                if f.cancelled() or f.exception() is not None:
                    del s.excel[k]
                else:
                    s.excel[k] = f.result()

    fut.add_done_callback(_done)


def excel_bytes(entry: dict[str, Any], slot: int) -> bytes:
    """The plan's workbook (built once per plan and slot width; waits for a background build)."""
    s = store()
    k = (entry["key"], slot)
    with s.lock:
        v = s.excel.get(k)
    if isinstance(v, bytes):
        return v
    if isinstance(v, Future):
        try:
            return bytes(v.result())
        except Exception:  # noqa: BLE001 - build it here (raises with the reason)
            pass
    data = _build_excel(entry, slot)
    with s.lock:
        s.excel[k] = data
    return data


def section_export() -> None:
    """Download the plan as an Excel workbook (Gantt, dispatch lists, KPIs, buffers, orders)."""
    ss = _ss()
    entry = ss.get("result")
    if entry is None:
        return
    st.subheader("5 · Export")
    c1, c2 = st.columns([1, 3])
    slot = int(c1.selectbox("Gantt slot (minutes)", [15, 30, 60, 120], index=1, key="excel_slot"))
    ps = entry["plan_start"]
    with store().lock:
        ready = store().excel.get((entry["key"], slot))
    c2.download_button(
        "Download Excel plan (.xlsx)",
        # ready bytes when the background build is done; otherwise built when clicked
        ready if isinstance(ready, bytes) else (lambda: excel_bytes(entry, slot)),
        file_name=f"furnsim-plan-{entry['goal']}-{ps:%Y%m%d-%H%M}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="excel_download",
        type="primary",
    )
    if not isinstance(ready, bytes):
        _excel_ahead(entry, slot)
    held = release_text(entry["result"].schedule) is not None
    c2.caption(
        "Sheets: Gantt · Schedule · Dispatch lists · "
        + ("Store releases · " if held else "")
        + "KPIs · Buffers · Orders"
    )


def _timer() -> Callable[[str], None]:
    """``mark(name)``: with ``FURNSIM_DASH_TIMING=1``, per-section seconds of this run go to
    stderr when ``mark("")`` is called (a line per script or fragment run)."""
    import os
    import sys
    import time as _time

    if os.environ.get("FURNSIM_DASH_TIMING") != "1":
        return lambda name: None
    marks = [("start", _time.perf_counter())]
    began = _time.time()

    def mark(name: str) -> None:
        if name:
            marks.append((name, _time.perf_counter()))
            return
        parts = " ".join(
            f"{n}={b - a:.3f}" for (_, a), (n, b) in zip(marks, marks[1:], strict=False)
        )
        print(
            f"furnsim-dash run {marks[-1][1] - marks[0][1]:.3f}s: {parts} @{began:.3f}",
            file=sys.stderr,
        )

    return mark


@st.fragment
def section_planning(plant: Any, rows: list[dict[str, Any]]) -> None:
    """Goal, method, Start, the plan, compare, export and re-plan: one fragment, so that a
    click here (Start, a goal, a tab, a background result) reruns and re-renders only this
    part of the page, not the plant, the order table and the working time above it."""
    mark = _timer()
    mark("fragment")
    section_plan(plant, rows)
    mark("plan")
    section_results()
    mark("results")
    section_compare(plant, rows)
    mark("compare")
    section_export()
    mark("export")
    if _ss().get("result") is not None:
        section_replan(
            _ss().result,
            lambda: book().ws_get(workspace(), "scenarios"),
            lambda b: book().ws_put(workspace(), "scenarios", b),
        )
    mark("replan")
    if _ss().get("result") is None:  # the first plan: planned while the planner reads
        plan_ahead(plant, rows)
        _plotly_warm()
    mark("ahead")
    mark("")


def _plotly_warm() -> None:
    """Before the first plan: a tiny chart in a hidden container, so the browser loads and
    compiles plotly.js (a 4.7 MB chunk, loaded on the first chart) while the planner reads
    the page, not after the click."""
    import plotly.graph_objects as go

    st.html("<style>.st-key-plotly_warm{display:none}</style>")
    with st.container(key="plotly_warm"):
        st.plotly_chart(
            go.Figure(layout=dict(height=20, margin=dict(l=0, r=0, t=0, b=0))),
            key="plotly_warm_chart",
            config={"staticPlot": True},
        )


def main() -> None:
    mark = _timer()
    st.set_page_config(page_title="furnsim planner", page_icon="🪑", layout="wide")
    st.title("furnsim · weekly production plan")
    # the tables' own "Download as CSV" writes cells as they are (a formula stays a formula);
    # the page offers its own CSV download of the orders, with formulas neutralised
    st.html(
        "<style>[data-testid='stElementToolbarButton']:has(button[aria-label='Download as CSV'])"
        "{display:none}</style>"
    )
    workspace()
    plant = section_plant()
    mark("plant")
    rows = section_orders(plant)
    mark("orders")
    section_plant_working_time(plant)
    mark("working time")
    mark("")
    section_planning(plant, rows)


if __name__ == "__main__":
    main()
