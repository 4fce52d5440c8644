"""``best-rule`` from a shop state, fast: the same choice as :func:`furnsim.rules.best_rule`.

Re-planning runs every deterministic rule from ``now``; what costs time besides the rules'
own decisions is per-run overhead. Here:

* **one simulator per process**, reset for each rule (its static caches — eligibility sets,
  remaining work, working-time clocks — are built once; ``reset`` re-applies the state);
* **each rule scored from the simulator** (:func:`furnsim.goals.partial_cost` at the end of
  the run equals :func:`furnsim.goals.cost` of its schedule, tested): no schedule, working-time
  segments or full KPI set is built for the rules that lose; the winner's schedule is built
  once;
* **rules that cannot win are not run**: KIT equals EDD on a plant without assemblies (same
  keys; listed later, it never wins a tie);
* **two processes** (fork) when the machine has two or more cores and the caller is
  single-threaded (an API server's worker thread is not: forking a threaded process is
  unsafe, so it runs them in turn); ``FURNSIM_REPLAN_WORKERS=1`` turns it off.

Ties go to the rule listed first, as in :func:`furnsim.rules.best_rule`.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import threading
import time
from typing import Any

from furnsim.goals import Goal, get_goal, partial_cost
from furnsim.model import Instance
from furnsim.rules import get_rule, rule_names
from furnsim.sim import Schedule, Simulator

__all__ = ["best_rule_from_state", "default_workers", "rules_to_try"]

#: below this many operations left to plan, a second process costs more than it saves
MIN_OPS_FOR_WORKERS = 300


def rules_to_try(instance: Instance) -> tuple[list[str], dict[str, str]]:
    """(rules to run in order, rules skipped -> why)."""
    names = rule_names(True)
    skipped: dict[str, str] = {}
    if not instance.compiled.has_assembly and "KIT" in names and "EDD" in names:
        skipped["KIT"] = "equals EDD without assemblies"
    return [n for n in names if n not in skipped], skipped


def default_workers(n_ops_left: int) -> int:
    """2 on a multi-core machine in a single-threaded process with enough work, else 1."""
    env = os.environ.get("FURNSIM_REPLAN_WORKERS", "").strip()
    if env:
        try:
            return max(1, min(2, int(env)))
        except ValueError:
            return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or threading.active_count() > 1 or n_ops_left < MIN_OPS_FOR_WORKERS:
        return 1
    if "fork" not in mp.get_all_start_methods():
        return 1
    return 2


def _run(
    instance: Instance,
    names: list[str],
    goal: Goal,
    buffers: str,
    seed: int | None,
    anticipatory: bool,
) -> tuple[list[tuple[str, float, str | None]], tuple[str, float, Schedule] | None]:
    """Run ``names`` in turn on one simulator: ([(rule, cost, deadlock)], best)."""
    sim = Simulator(instance, buffers=buffers, anticipatory_setups=anticipatory)
    out: list[tuple[str, float, str | None]] = []
    best: tuple[str, float, Schedule] | None = None
    for i, name in enumerate(names):
        rule = get_rule(name)
        reset = getattr(rule, "reset", None)
        if callable(reset):
            reset(seed)
        d = sim.decision() if i == 0 else sim.reset()
        choose, dispatch, wait = rule.choose, sim.dispatch, sim.wait
        while d is not None:
            j = choose(sim, d)
            d = wait() if j is None else dispatch(j)
        if sim.deadlock is not None:
            out.append((name, math.inf, sim.deadlock.message))
            continue
        c = float(partial_cost(sim, goal))
        out.append((name, c, None))
        if best is None or c < best[1]:
            best = (name, c, sim.schedule(method=f"rule:{name}"))
    return out, best


def _child(conn: Any, args: tuple[Any, ...]) -> None:  # pragma: no cover (runs in the fork)
    try:
        conn.send(("ok", _run(*args)))
    except BaseException as e:  # report, never hang the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def best_rule_from_state(
    instance: Instance,
    goal: str | Goal,
    *,
    buffers: str = "hard",
    seed: int | None = 0,
    anticipatory_setups: bool = True,
    workers: int | None = None,
) -> tuple[Schedule | None, dict[str, Any]]:
    """The best rule's schedule (None when every rule deadlocked) and details:
    ``rules_tried`` (rule -> cost or "deadlock"), ``best_rule``, ``skipped``, ``workers``."""
    g = get_goal(goal)
    names, skipped = rules_to_try(instance)
    sit = getattr(instance, "situation", None)
    left = instance.compiled.n_ops
    if sit is not None:
        from furnsim.replan.situation import compile_situation

        left = int((compile_situation(sit, instance.compiled).status != 2).sum())
    n_w = default_workers(left) if workers is None else max(1, min(2, int(workers)))
    args = (g, buffers, seed, anticipatory_setups)
    results: list[tuple[str, float, str | None]] = []
    bests: list[tuple[str, float, Schedule]] = []
    if n_w == 2 and len(names) > 1:
        ctx = mp.get_context("fork")
        theirs, mine = names[1::2], names[0::2]
        rx, tx = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(tx, (instance, theirs, *args)), daemon=True)
        proc.start()
        tx.close()
        t0 = time.perf_counter()
        r1, b1 = _run(instance, mine, *args)
        # its share takes about as long as ours: never wait for a stuck process forever
        wait = max(60.0, 10.0 * (time.perf_counter() - t0))
        status: str = "error"
        payload: Any = "the second process did not answer in time"
        try:
            if rx.poll(wait):
                status, payload = rx.recv()
        except EOFError:
            payload = "the second process ended without an answer"
        if proc.is_alive():
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
        rx.close()
        r2: list[tuple[str, float, str | None]]
        b2: tuple[str, float, Schedule] | None
        if status == "ok":
            r2, b2 = payload
        else:  # run its share here instead
            r2, b2 = _run(instance, theirs, *args)
        results = r1 + r2
        bests = [b for b in (b1, b2) if b is not None]
    else:
        n_w = 1
        r, b = _run(instance, names, *args)
        results = r
        bests = [b] if b is not None else []
    order = {n: i for i, n in enumerate(names)}
    results.sort(key=lambda x: order[x[0]])
    details: dict[str, Any] = {
        "rules_tried": {n: ("deadlock" if math.isinf(c) else c) for n, c, _ in results},
        "skipped": skipped,
        "workers": n_w,
    }
    if not bests:
        details["deadlocks"] = {n: m for n, _, m in results if m}
        return None, details
    name, _, sched = min(bests, key=lambda b: (b[1], order[b[0]]))
    details["best_rule"] = f"rule:{name}"
    return sched, details
