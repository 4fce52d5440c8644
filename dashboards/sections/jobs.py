"""The dashboard's background work, run in worker processes, not threads.

Planning ahead, the trained policy's plan after a quick one, the other views' figures and the
Excel workbook are seconds of CPU-bound Python. In a thread of the Streamlit process they
held the interpreter lock that also serves the page (the script runs and the websocket), so
a tab switch right after a plan waited for the workbook. In a worker process (lower CPU
priority, ``nice``) they take only a spare core. Each function takes and returns picklable
values (instances, plan results, plotly figures as :class:`PortableFigure`, bytes).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "NICE",
    "QUICK",
    "QUICK_RULES",
    "PortableFigure",
    "drop_pool",
    "excel",
    "exit_with_parent",
    "figure",
    "figure_portable",
    "init",
    "plan_and_figure",
    "plan_result",
    "pool",
    "stopping",
    "warm_up",
]

QUICK = "quick"
QUICK_RULES = ("rule:ATC", "rule:EDD")  # the quick plan: the better of two fast rules


# CPU priority of the workers: the trained policy's plan (tens of seconds) yields most; the
# files worker builds what a later click downloads (the workbook: 3 s CPU), so it must not
# starve behind the page on a busy machine
NICE = {"plan": 10, "files": 5}


def exit_with_parent() -> None:
    """End this worker process as soon as the process that started it ends, however it ends
    (stopped, killed, crashed): a thread waits on multiprocessing's parent sentinel (the
    read end of a pipe whose write end only the parent holds: the kernel closes it when the
    parent dies, and the wait returns) and then exits at once, a running job with it.

    Without it a worker outlived a stopped Streamlit server: the pool's queue keeps the
    worker waiting for work forever, and a worker busy with a long plan runs on. Not
    ``PR_SET_PDEATHSIG``: that signal follows the parent *thread*, and the pools are
    started from short-lived threads."""
    import multiprocessing
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child (called in the server itself)
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os._exit(3)

    threading.Thread(target=watch, name="furnsim-exit-with-parent", daemon=True).start()


def init(nice: int = 10, warm: bool = False) -> None:
    """Worker start: exit with the server (:func:`exit_with_parent`), a lower CPU priority,
    and the heavy imports done once; with ``warm`` also :func:`warm_up`."""
    exit_with_parent()
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, nice)  # absolute: it may have inherited it already
    import furnsim.export
    import furnsim.plan
    import furnsim.viz  # noqa: F401

    if warm:
        warm_up()


# a small week of the demo factory (calendar plant) that the planning worker plans once
WARM_UP_WEEK = Path(__file__).resolve().parents[2] / "bom_data" / "demo"
WARM_UP_ORDERS = 4


def warm_up() -> None:
    """Plan a few orders of the demo week the way the first click does (``QUICK``), so that
    the planning path's lazy imports and compiled kernels (the simulator's compiled loop
    that runs the quick rules, loaded from numba's on-disk cache) are loaded before the
    first click, not on it: in a fresh process
    the demo week's first quick plan took 1.2-3.7 s against 0.5 s for the next one (2026-12-03).
    A warm-up that fails (no demo data next to the code) is skipped: it only saves time."""
    import dataclasses

    from furnsim.io import load_instance

    with contextlib.suppress(Exception):
        inst = load_instance(WARM_UP_WEEK)
        plan_result(
            dataclasses.replace(inst, orders=inst.orders[:WARM_UP_ORDERS]), "speed", QUICK, None
        )


# the worker processes, one per kind ('plan', 'files'), shared by every session and script run
# of this server (this module is imported once; the app script itself re-runs on every click)
_POOLS: dict[str, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def pool(kind: str) -> ProcessPoolExecutor:
    """The worker process of ``kind``, started on first use (spawned: the server has threads)
    from a thread at its nice level (``NICE``), so the process and its start-up imports
    (seconds) run at that priority from the first instruction."""
    import multiprocessing

    if _STOPPING.is_set():
        raise RuntimeError("the server is stopping")
    with _LOCK:
        p = _POOLS.get(kind)
        if p is not None:
            return p
        p = _POOLS[kind] = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init,
            initargs=(NICE.get(kind, 10), kind == "plan"),
        )

        _stop_workers_at_exit()

    def start() -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE.get(kind, 10))
        with contextlib.suppress(RuntimeError):  # the interpreter is shutting down
            p.submit(int)  # the worker process starts in the submitting thread

    threading.Thread(target=start, name=f"furnsim-{kind}-start", daemon=True).start()
    return p


_EXIT_HOOK: list[bool] = []
_STOPPING = threading.Event()


def stopping() -> bool:
    """Whether the server is stopping (its workers are being ended): a job whose worker
    went away then is dropped, not run in the server instead."""
    return _STOPPING.is_set()


def _stop_workers_at_exit() -> None:
    """Once per process (called under ``_LOCK``): when the server stops, end the workers
    at once. Python's exit otherwise waits for a running job first (the trained policy's
    plan: up to a minute), so a stopped server lingered that long. The hook runs before
    ``concurrent.futures`` joins its workers: ``threading._register_atexit`` is the hook
    ``concurrent.futures`` itself uses (private; ``atexit`` runs after the join)."""
    if _EXIT_HOOK:
        return
    _EXIT_HOOK.append(True)
    register = getattr(threading, "_register_atexit", None)
    with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
        (register or atexit.register)(_stop_workers)


def _stop_workers() -> None:
    import multiprocessing

    _STOPPING.set()
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for p in pools:
        with contextlib.suppress(Exception):
            p.shutdown(wait=False, cancel_futures=True)
    for child in multiprocessing.active_children():  # the pools' workers
        with contextlib.suppress(Exception):
            child.terminate()


def drop_pool(kind: str, p: ProcessPoolExecutor) -> None:
    """Forget a broken worker ``p``; the next ``pool(kind)`` starts a new one."""
    with _LOCK:
        if _POOLS.get(kind) is p:
            del _POOLS[kind]
    with contextlib.suppress(Exception):
        p.shutdown(wait=False, cancel_futures=True)


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


class PortableFigure:
    """A plotly figure that crosses the process boundary cheaply. A pickled ``go.Figure`` is
    its dict, and unpickling builds the figure again *validating* every property: 0.3-0.5 s
    for the demo week's machine Gantt, holding the interpreter lock of the server process,
    whose websocket then stalls (a click's Gantt reached the browser 0.8 s after its script
    run had ended, while the other views' figures came back from the worker). This keeps the
    dict and builds the figure unvalidated (about 0.03 s): it was validated when it was made
    in the worker."""

    __slots__ = ("d",)

    def __init__(self, fig: Any) -> None:
        self.d = fig.to_dict()

    def figure(self) -> Any:
        import plotly.graph_objects as go

        return go.Figure(self.d, _validate=False)


def figure_portable(res: Any, inst: Any, ps: datetime, view: str) -> PortableFigure:
    """:func:`figure` for a worker process: to be rebuilt with ``.figure()``."""
    return PortableFigure(figure(res, inst, ps, view))


def plan_and_figure(
    inst: Any, goal: str, method: str, tl: Any, ps: datetime, view: str
) -> tuple[Any, PortableFigure]:
    """A plan ahead and the figure a click shows first (in a worker process: portable)."""
    res = plan_result(inst, goal, method, tl)
    return res, figure_portable(res, inst, ps, view)


def excel(res: Any, inst: Any, ps: datetime, slot: int) -> bytes:
    """The plan's Excel workbook (``furnsim.export.write_schedule_excel``) as bytes."""
    from furnsim.export import write_schedule_excel

    buf = io.BytesIO()
    write_schedule_excel(res, inst, buf, plan_start=ps, slot_minutes=slot)
    return buf.getvalue()
