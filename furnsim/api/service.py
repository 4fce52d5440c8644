"""The planning work behind the API: request rows -> Instance (through the one orders
builder of ``furnsim.io``), and ``plan``/``replan`` runs whose results are stored.

Nothing here knows HTTP; :class:`RequestInvalid` carries field errors the app turns into 422.
"""

from __future__ import annotations

import importlib
import math
import sys
from datetime import datetime, timedelta
from typing import Any

from furnsim.errors import DataError, Issue
from furnsim.io import PlantData, _check_workload
from furnsim.io._builder import _norm_name, build_orders
from furnsim.io._schema import SHEETS
from furnsim.io._tables import Row, Table, _clean, _norm_header
from furnsim.model import Instance
from furnsim.storage import PlanRecord, PlanStore

__all__ = [
    "REPLAN_MODULE",
    "PlanService",
    "RequestInvalid",
    "check_goal",
    "check_method",
    "field_of",
    "replan_function",
]

#: the continuous-planning core (issue 13); ``POST /v1/plans/{id}/events`` needs it
REPLAN_MODULE = "furnsim.replan"

_SOURCE = "request"  # the "file" of orders that come in a request body


class RequestInvalid(ValueError):
    """Field errors of a request: ``[(field path, message), ...]``."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in errors))


def field_of(issue: Issue, prefix: str = "orders") -> str:
    """The body path of a builder issue: row i of the orders table is ``orders[i]``."""
    if issue.file != _SOURCE or issue.sheet != "orders":
        return ""
    if issue.row is None:
        return f"{prefix}[*].{issue.column}" if issue.column else prefix
    return f"{prefix}[{issue.row}]" + (f".{issue.column}" if issue.column else "")


def orders_table(rows: list[dict[str, Any]]) -> tuple[Table, list[tuple[str, str]]]:
    """JSON rows as the raw table the file readers make (row number = index in the list)."""
    t = Table("orders", _SOURCE, [], header_row=0, schema="orders")
    # `Quantity`, `Order`: matched to the schema's names as a sheet header would be, per row
    names = SHEETS["orders"].column_names
    canon = {_norm_name(c): c for c in names}
    errors: list[tuple[str, str]] = []
    for i, raw in enumerate(rows):
        vals: dict[str, Any] = {}
        for key, v in raw.items():
            col = _norm_header(key)
            col = canon.get(_norm_name(col), col)
            if col in vals:
                errors.append((f"orders[{i}].{col}", "column given twice in this row"))
                continue
            if isinstance(v, list | dict):
                errors.append(
                    (f"orders[{i}].{col}", "must be a single value, not a list or object")
                )
                continue
            vals[col] = _clean(v)
            if col not in t.columns:
                t.columns.append(col)
        t.rows.append(Row(i, vals))
    # the required columns always exist: a row without a value is reported at that row
    t.columns += [
        c.name for c in SHEETS["orders"].columns if c.required and c.name not in t.columns
    ]
    return t, errors


def check_goal(goal: str) -> tuple[str | None, str | None]:
    """(canonical goal name, None) or (None, error message)."""
    from furnsim.goals import get_goal

    try:
        return get_goal(goal).name, None
    except (KeyError, ValueError) as e:
        return None, str(e.args[0] if e.args else e)


def check_method(method: str) -> str | None:
    """None when ``method`` is one ``furnsim.plan.plan`` knows, else the error message (the
    planners' own check: rule:NAME, best-rule, cpsat, ppo, ppo-lns, lns, portfolio:A,B,...)."""
    from furnsim.planners import check_method as planner_check

    return planner_check(method)


def replan_function() -> Any | None:
    """``furnsim.replan.replan`` when that module exists, else None (the API answers 501).

    An import error inside an existing module (a missing dependency of it) is raised, not
    taken for "not there"."""
    try:
        mod = importlib.import_module(REPLAN_MODULE)
    except ModuleNotFoundError as e:
        if e.name != REPLAN_MODULE:
            raise
        return None
    except ImportError:  # None in sys.modules: switched off
        if sys.modules.get(REPLAN_MODULE, True) is None:
            return None
        raise
    fn = getattr(mod, "replan", None)
    return fn if callable(fn) else None


class PlanService:
    """One plant, loaded at start; builds instances and runs plans for the worker pool."""

    def __init__(
        self, plant: PlantData, *, max_time_limit: float = 300.0, default_time_limit: float = 60.0
    ) -> None:
        self.data = plant
        self.max_time_limit = max_time_limit
        self.default_time_limit = default_time_limit

    @property
    def plant_name(self) -> str:
        return self.data.name

    # -- requests ------------------------------------------------------------------------
    def plan_start(self, override: str | datetime | None) -> datetime | None:
        if override is None:
            return self.data.plan_start
        if isinstance(override, datetime):
            return override.replace(tzinfo=None)
        return datetime.fromisoformat(override).replace(tzinfo=None)

    def instance(
        self, rows: list[dict[str, Any]] | None, plan_start: str | datetime | None = None
    ) -> Instance:
        """The instance of a request's orders (or the plant file's); RequestInvalid on errors."""
        start = self.plan_start(plan_start)
        d = self.data
        if rows is None:
            if not d.orders:
                raise RequestInvalid([("orders", "required: the plant file has no orders")])
            orders = d.orders
        else:
            table, errors = orders_table(rows)
            try:
                orders = build_orders(table, start, {a.id for a in d.catalog.articles})
            except DataError as e:
                seen = {f for f, _ in errors}  # a nested value is reported once, not as missing
                errors += [(field_of(i), i.message) for i in e.issues if field_of(i) not in seen]
            if errors:
                raise RequestInvalid(errors)
        try:  # bounded cost: the same workload limits as files (furnsim.io.limits)
            _check_workload(d.plant, d.catalog, orders, _SOURCE)
            return Instance(d.plant, d.catalog, orders, name=d.name, plan_start=start)
        except DataError as e:
            raise RequestInvalid([(field_of(i), i.message) for i in e.issues]) from None

    def check_options(
        self, method: str, options: dict[str, Any], prefix: str = "options"
    ) -> list[tuple[str, str]]:
        errors: list[tuple[str, str]] = []
        tl = options.get("time_limit")
        if tl is not None and tl > self.max_time_limit:
            errors.append(
                (f"{prefix}.time_limit", f"at most {self.max_time_limit:g} s on this server")
            )
        ml = method.strip().lower()
        if options.get("passes") is not None and not (ml.startswith("ppo") or ml == "best-rule"):
            errors.append((f"{prefix}.passes", "only with method ppo or best-rule"))
        return errors

    # -- runs ----------------------------------------------------------------------------
    def _plan_kwargs(self, method: str, options: dict[str, Any]) -> dict[str, Any]:
        ml = method.strip().lower()
        tl = options.get("time_limit")
        if tl is None and ml in ("cpsat", "cp-sat", "lns", "ppo-lns", "ppo+lns"):
            tl = self.default_time_limit
        kw: dict[str, Any] = {
            "buffers": options.get("buffers", "hard"),
            "seed": int(options.get("seed", 0)),
            "time_limit": tl,
        }
        passes = options.get("passes")
        if passes is not None:  # as `furnsim plan --passes`
            kw["samples"] = int(passes)
            if ml.startswith("ppo"):
                kw["time_budget_s"] = tl
        return kw

    def instance_of(self, rec: PlanRecord, store: PlanStore, depth: int = 0) -> Instance:
        """The instance a stored plan was made for (a re-plan: its own orders or its parent's)."""
        if rec.kind == "plan":
            opts = rec.request.get("options") or {}
            return self.instance(rec.request.get("orders"), opts.get("plan_start"))
        full = rec if rec.result is not None else store.get(rec.id)
        if full is not None and full.result is not None and full.result.get("orders"):
            root = self._root_start(rec, store)
            return self.instance(full.result["orders"], root)
        parent = store.get(rec.parent_id or "", with_result=False)
        if parent is None or depth > 1000:
            raise RuntimeError(f"plan {rec.id}: its previous plan {rec.parent_id} is gone")
        return self.instance_of(parent, store, depth + 1)

    def _root_start(self, rec: PlanRecord, store: PlanStore) -> str | None:
        cur: PlanRecord | None = rec
        for _ in range(1000):
            if cur is None or cur.kind == "plan":
                break
            cur = store.get(cur.parent_id or "", with_result=False)
        if cur is None:
            return None
        return (cur.request.get("options") or {}).get("plan_start")

    def run(self, rec: PlanRecord, store: PlanStore) -> dict[str, Any]:
        """Plan a stored request; the result as ``furnsim plan --json`` writes it."""
        if rec.kind == "replan":
            return self._run_replan(rec, store)
        from furnsim.plan import plan

        inst = self.instance_of(rec, store)
        opts = rec.request.get("options") or {}
        res = plan(inst, rec.goal, rec.method, **self._plan_kwargs(rec.method, opts))
        return res.to_dict(inst)

    def _run_replan(self, rec: PlanRecord, store: PlanStore) -> dict[str, Any]:
        """The boundary to the continuous-planning core (docs/api.md)::

            furnsim.replan.replan(instance, previous_schedule, *, now, events, goal, method,
                                  buffers, seed, time_limit, [samples, time_budget_s])
              -> PlanResult | (new_instance, PlanResult)

        ``now`` in minutes after the plan start, ``events`` as the client sent them;
        ``stability`` from ``to_dict()``, else ``kpis`` or ``details``."""
        from furnsim.sim import Schedule

        fn = replan_function()
        if fn is None:
            raise RuntimeError(f"{REPLAN_MODULE} is not available on this server any more")
        parent = store.get(rec.parent_id or "")
        if parent is None or parent.result is None or "schedule" not in parent.result:
            raise RuntimeError(f"the previous plan {rec.parent_id} has no stored schedule")
        inst = self.instance_of(parent, store)
        previous = Schedule.from_dict(parent.result["schedule"])
        req = rec.request
        now = req["now"]
        if isinstance(now, str):
            if inst.plan_start is None:
                raise RuntimeError("now is a date/time but the plan has no plan start")
            now = (datetime.fromisoformat(now).replace(tzinfo=None) - inst.plan_start) / timedelta(
                minutes=1
            )
        opts = req.get("options") or {}
        out = fn(
            inst,
            previous,
            now=float(now),
            events=req.get("events") or [],
            goal=rec.goal,
            method=rec.method,
            **self._plan_kwargs(rec.method, opts),
        )
        new_inst, res = out if isinstance(out, tuple) else (inst, out)
        d: dict[str, Any] = res.to_dict(new_inst)
        if "stability" not in d:
            d["stability"] = res.kpis.get("stability", res.details.get("stability"))
        if new_inst is not inst:  # the events changed the orders: keep them for the next re-plan
            d["orders"] = [
                {
                    "order": o.id,
                    "article": o.article,
                    "quantity": o.quantity,
                    "deadline": o.deadline if math.isfinite(o.deadline) else None,
                    "release": o.release,
                    "priority": o.priority,
                }
                for o in new_inst.orders
            ]
        return d
