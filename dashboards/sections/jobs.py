"""The dashboard's background work, run in worker processes, not threads.

Planning ahead, the trained policy's plan after a quick one, the other views' figures and the
Excel workbook are seconds of CPU-bound Python. In a thread of the Streamlit process they
held the interpreter lock that also serves the page (the script runs and the websocket), so
a tab switch right after a plan waited for the workbook. In a worker process (lower CPU
priority, ``nice``) they take only a spare core. Each function takes and returns picklable
values (instances, plan results, plotly figures, bytes).
"""

from __future__ import annotations

import contextlib
import io
import os
from datetime import datetime
from typing import Any

__all__ = ["QUICK", "QUICK_RULES", "excel", "figure", "init", "plan_and_figure", "plan_result"]

QUICK = "quick"
QUICK_RULES = ("rule:ATC", "rule:EDD")  # the quick plan: the better of two fast rules


def init() -> None:
    """Worker start: a lower CPU priority, and the heavy imports done once."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)
    import furnsim.export
    import furnsim.plan
    import furnsim.viz  # noqa: F401


def plan_result(inst: Any, goal: str, method: str, tl: Any) -> Any:
    """The PlanResult of ``method`` (``QUICK``: the better valid plan of two fast rules)."""
    from furnsim.plan import plan

    if method == QUICK:
        res = None
        for m in QUICK_RULES:
            r = plan(inst, goal, m)
            if res is None or (r.valid, -r.cost) > (res.valid, -res.cost):
                res = r
        assert res is not None
        return res
    return plan(inst, goal, method, time_limit=tl)


def figure(res: Any, inst: Any, ps: datetime, view: str) -> Any:
    """The plotly figure of a result view: 'Gantt by machine', 'Gantt by order', 'Buffers'."""
    from furnsim import viz

    if view == "Gantt by machine":
        return viz.gantt(res.schedule, inst, "machine", ps)
    if view == "Gantt by order":
        return viz.gantt(res.schedule, inst, "order", ps)
    return viz.buffer_figure(res.schedule, inst, ps)


def plan_and_figure(
    inst: Any, goal: str, method: str, tl: Any, ps: datetime, view: str
) -> tuple[Any, Any]:
    """A plan ahead and the figure a click shows first."""
    res = plan_result(inst, goal, method, tl)
    return res, figure(res, inst, ps, view)


def excel(res: Any, inst: Any, ps: datetime, slot: int) -> bytes:
    """The plan's Excel workbook (``furnsim.export.write_schedule_excel``) as bytes."""
    from furnsim.export import write_schedule_excel

    buf = io.BytesIO()
    write_schedule_excel(res, inst, buf, plan_start=ps, slot_minutes=slot)
    return buf.getvalue()
