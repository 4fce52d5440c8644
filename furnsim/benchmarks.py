"""Held-out evaluation weeks, generated big weeks, valid lower bounds and best known costs.

What the benchmark scripts (``benchmarks/rl_eval.py``, ``rl_headroom.py``, ``rl_cpsat.py``,
``rl_search.py``, ``lns_bench.py``, ...) share lives here, so that they import only the package:

- :func:`held_out_weeks`: the evaluation weeks of the demo plant (seeds ``10000 + i``, never
  used in training: training draws ``1000 + i`` / ``2000 + i``), sizes drawn once from
  ``HELD_OUT_SEED``;
- :func:`generated_week`: a generated plant + week (e.g. 500 jobs on 150 machines);
- :func:`cost_lb` and its parts: a *valid* lower bound on a goal's cost of any feasible plan
  (job chains, work-center load with and without the changeovers each center must make, the
  tardiness of orders that cannot be on time);
- :func:`best_known`: the cheapest valid cost any method found per held-out week and goal
  (``furnsim/data/best_known.json``, written by ``benchmarks/heldout_table.py table
  --best-known``; each entry carries the week's fingerprint, ``furnsim.heldout``).
"""

from __future__ import annotations

import json
import math
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.model import Instance

__all__ = [
    "BEST_KNOWN",
    "GOALS",
    "HELD_OUT_SEED",
    "best_known",
    "cost_lb",
    "generated_week",
    "held_out_weeks",
    "makespan_lb",
    "read_jsonl",
    "setup_lb",
    "tardiness_lb",
    "teacher_of",
    "wc_setup_lb",
]

HELD_OUT_SEED = 10_000
GOALS = ("speed", "efficiency", "empty-buffers")
#: best known costs of the held-out weeks: {goal: {seed: {cost, source, fingerprint}}}
BEST_KNOWN = Path(str(resources.files("furnsim").joinpath("data", "best_known.json")))


def held_out_weeks(n: int, lo: int = 100, hi: int = 600) -> list[Instance]:
    """The first ``n`` held-out demo-plant weeks (week ``i``: seed ``HELD_OUT_SEED + i``, a
    size in ``[lo, hi]`` jobs drawn from ``HELD_OUT_SEED``); the same for every ``n``."""
    from furnsim.env import WeekSource

    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    src = WeekSource.from_path(None)
    sizes = np.random.default_rng(HELD_OUT_SEED).integers(lo, hi + 1, size=n)
    return [src.week(HELD_OUT_SEED + i, int(sizes[i])) for i in range(n)]


def generated_week(
    jobs: int, machines: int = 150, work_centers: int = 40, seed: int = 0
) -> Instance:
    """A generated plant with ``machines`` machines in ``work_centers`` centers and a week of
    ``jobs`` jobs (``furnsim.generate.generate_plant_tables``)."""
    from furnsim.generate import generate_plant_tables
    from furnsim.io import load_instance, write_workbook

    tables = generate_plant_tables(
        work_centers=work_centers, machines=machines, jobs=jobs, seed=seed
    )
    with tempfile.TemporaryDirectory(prefix="furnsim_week_") as tmp:
        if isinstance(tables, tuple):
            p = write_workbook(tables[0], Path(tmp) / "plant.xlsx")
            o = write_workbook(tables[1], Path(tmp) / "orders.xlsx")
            return load_instance(p, orders=o)
        return load_instance(write_workbook(tables, Path(tmp) / "week.xlsx"))


# -- valid lower bounds --------------------------------------------------------------------------
def _job_order(ci: Any) -> list[int]:
    """Jobs with every child before its parent (assemblies: the kit's parts come first)."""
    n = int(ci.n_jobs)
    if not ci.has_assembly:
        return list(range(n))
    par = ci.job_parent
    depth = np.zeros(n, dtype=np.int64)  # levels above the leaves: a parent after its kids
    for j in range(n):
        d, p = 0, int(par[j])
        while p >= 0 and d <= n:
            d += 1
            depth[p] = max(depth[p], d)
            p = int(par[p])
    return np.argsort(depth, kind="stable").tolist()


def _heads_tails(inst: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per op: min processing, the transport into it, its head (earliest start: release + the
    shortest processing and transports before it, transport into it included) and tail
    (shortest transports and processing after it, up to the end of the job's last op).

    With assemblies the chains run through the kits: an assembly's first operation starts
    no earlier than every part of its kit has been made and carried to it (its head), and a
    part's tail goes on with the transport to its assembly and the assembly's own chain
    (docs/semantics.md, "Assembly")."""
    ci = inst.compiled
    proc = ci.op_proc
    minp = np.where(np.isnan(proc), np.inf, proc).min(axis=1)
    starts = ci.job_op_start
    n = ci.n_ops
    job_of = ci.op_job
    loc = ci.op_wc + 1  # transport index: 0 = STORE, 1..n_wc = work centers
    first = np.zeros(n, dtype=bool)
    first[starts[:-1][np.diff(starts) > 0]] = True
    prev_loc = np.where(first, 0, np.roll(loc, 1))
    trans = ci.transport[prev_loc, loc]
    step = trans + minp  # transport into the op + its processing
    cs = np.concatenate([[0.0], np.cumsum(step)])
    idx = np.arange(n)
    head = ci.job_release[job_of] + cs[idx] - cs[starts[job_of]] + trans
    tail = cs[starts[job_of + 1]] - cs[idx + 1]
    if not ci.has_assembly:
        return minp, trans, head, tail
    par = ci.job_parent
    order = _job_order(ci)
    tr_all = np.asarray(ci.transport, dtype=np.float64)
    nonempty = np.diff(starts) > 0
    # heads: a parent's first op waits for its kit (children before parents in ``order``)
    for j in order:
        a, b = int(starts[j]), int(starts[j + 1])
        if a == b:
            continue
        kids = np.flatnonzero(par == j)
        kids = kids[nonempty[kids]]
        if kids.size:
            last = starts[kids + 1] - 1
            arrive = head[last] + minp[last] + tr_all[loc[last], loc[a]]
            # an assembly's first op: no STORE transport, its material is the kit; its
            # later ops follow as in the plain chain
            t = max(float(ci.job_release[j]), float(arrive.max()))
            head[a:b] = t - trans[a] + cs[a:b] - cs[a] + trans[a:b]
    # tails: a part's chain goes on through its assembly (parents before children)
    after = np.zeros(ci.n_jobs)  # minutes after a job's last op ends, to the product's end
    for j in reversed(order):
        a, b = int(starts[j]), int(starts[j + 1])
        p = int(par[j])
        if a == b or p < 0 or not nonempty[p]:
            continue
        pa, pb = int(starts[p]), int(starts[p + 1])
        # the assembly's chain from its first op: its processing and inner transports
        chain_p = float(minp[pa:pb].sum() + trans[pa + 1 : pb].sum())
        after[j] = float(tr_all[loc[b - 1], loc[pa]]) + chain_p + after[p]
        tail[a:b] = tail[a:b] + after[j]
    return minp, trans, head, tail


def _calendar_chain(inst: Instance) -> tuple[np.ndarray, np.ndarray] | None:
    """With working time: per op the earliest start and end of its job's chain (release,
    transports, processing on the machine that finishes it first, pausing over closed time;
    through the kits of assemblies; machine capacity and setups relaxed). None for a 24/7
    plant."""
    ci = inst.compiled
    wt = ci.working
    if wt is None or all(m is None for m in wt.machines):
        return None
    _minp, trans, _head, _tail = _heads_tails(inst)
    proc = ci.op_proc
    n = ci.n_ops
    est, eft = np.zeros(n), np.zeros(n)
    starts = ci.job_op_start
    par = ci.job_parent
    loc = ci.op_wc + 1
    tr_all = np.asarray(ci.transport, dtype=np.float64)
    nonempty = np.diff(starts) > 0
    for j in _job_order(ci):
        a, b = int(starts[j]), int(starts[j + 1])
        t = float(ci.job_release[j])
        kids = np.flatnonzero(par == j)
        kids = kids[nonempty[kids]]
        for o in range(a, b):
            if o == a and kids.size:  # the kit's parts made and carried here
                last = starts[kids + 1] - 1
                t = max(t, float((eft[last] + tr_all[loc[last], loc[o]]).max()))
            else:
                t += float(trans[o])
            est[o] = t
            best = math.inf
            for m in np.flatnonzero(~np.isnan(proc[o])):
                p = float(proc[o, m])
                mt = wt.machines[m]
                end = t + p if mt is None or p <= 0 else mt.finish(t, p)[1]
                best = min(best, end)
            t = best if math.isfinite(best) else t
            eft[o] = t
    return est, eft


def _worked(mt: Any, a: float, b: float) -> float:
    """Working minutes of a machine in ``[a, b)`` (24/7 when ``mt`` is None)."""
    if b <= a:
        return 0.0
    return b - a if mt is None else float(np.asarray(mt.worked(a, np.array([b])))[0])


def _until_worked(mts: list[Any], a: float, work: float) -> float:
    """The earliest ``T`` by which the machines ``mts`` together have ``work`` working
    minutes in ``[a, T)`` (bisection to 0.01 min, rounded down: a valid bound)."""
    if work <= 0:
        return a
    lo, hi = a, a + work
    while sum(_worked(m, a, hi) for m in mts) < work:
        lo, hi = hi, a + 2 * (hi - a)
        if hi - a > 1e8:
            return lo
    while hi - lo > 0.01:
        mid = 0.5 * (lo + hi)
        if sum(_worked(m, a, mid) for m in mts) >= work:
            hi = mid
        else:
            lo = mid
    return lo


def makespan_lb(inst: Instance, *, with_setups: bool = True) -> float:
    """A lower bound on the makespan: job chains and, per work center, its load on its
    machines after the earliest heads / before the shortest tails (P|r_j|Cmax both ways),
    with the changeovers it must make (``with_setups``). With working time also the job
    chains and the work-center loads counted in working minutes (closed time adds to them),
    each load followed by its shortest tail. With assemblies every chain runs through the
    kits (``_heads_tails``)."""
    ci = inst.compiled
    if ci.n_ops == 0:
        return 0.0
    minp, trans, head, tail = _heads_tails(inst)
    lb = float(np.max(head + minp + tail))  # job chains (release, transports, processing)
    chain = _calendar_chain(inst)
    if chain is not None:
        est, eft = chain
        lb = max(lb, float(np.max(eft)))
        mts = ci.working.machines
        for w in range(ci.n_wc):
            sel = np.flatnonzero(ci.op_wc == w)
            ms = [mts[m] for m in np.flatnonzero(ci.machine_wc == w)]
            if not sel.size or not ms:
                continue
            work = float(minp[sel].sum())
            # the work center's last op is followed by at least the shortest tail (minutes
            # of processing and transport, which take at least as long in calendar time)
            t_min = float(tail[sel].min())
            lb = max(lb, _until_worked(ms, float(est[sel].min()), work) + t_min)
            if with_setups:  # setups may start before the first job arrives, not before 0
                lb = max(lb, _until_worked(ms, 0.0, work + wc_setup_lb(ci, w)) + t_min)
    n_w = np.bincount(ci.machine_wc, minlength=ci.n_wc)
    for w in range(ci.n_wc):
        sel = np.flatnonzero(ci.op_wc == w)
        if not sel.size or n_w[w] == 0:
            continue
        for hd, tl in ((head[sel], tail[sel]), (tail[sel], head[sel])):
            o = np.argsort(hd, kind="stable")
            h, p, t = hd[o], minp[sel][o], tl[o]
            work = np.cumsum(p[::-1])[::-1] / n_w[w]  # work of ops k.. / machines
            tmin = np.minimum.accumulate(t[::-1])[::-1]
            lb = max(lb, float(np.max(h + work + tmin)))
        if with_setups:
            # all ops of w plus the changeovers w must make at least once: no machine activity
            # before the first job can leave for w, none after the last op minus the
            # shortest tail
            earliest = float(np.min(head[sel] - trans[sel]))
            work = (float(minp[sel].sum()) + wc_setup_lb(ci, w)) / n_w[w]
            lb = max(lb, earliest + work + float(np.min(tail[sel])))
    return lb


def wc_setup_lb(ci: Any, w: int) -> float:
    """Minutes of changeover work center ``w`` needs at least: every setup its ops need that no
    machine of ``w`` starts in costs at least the cheapest changeover into it."""
    ms = np.flatnonzero(ci.machine_wc == w)
    init = set(ci.machine_init_setup[ms].tolist())
    total = 0.0
    for s in set(ci.op_setup[ci.op_wc == w].tolist()) - init:
        into = ci.setup_time[ms][:, :, s].copy()  # (machines, from)
        into = np.where(np.isnan(into), np.inf, into)
        into[:, s] = np.inf  # staying in s is not a changeover into s
        v = float(into.min()) if into.size else 0.0
        total += v if math.isfinite(v) else 0.0
    return total


def setup_lb(inst: Instance) -> float:
    """Minutes of changeover the whole plant needs at least."""
    ci = inst.compiled
    return sum(wc_setup_lb(ci, w) for w in range(ci.n_wc))


def tardiness_lb(inst: Instance) -> float:
    """Σ over orders of max(0, earliest completion − deadline): an order completes with its
    last job, and a job no earlier than its chain bound (release, transports, processing)."""
    ci = inst.compiled
    if ci.n_ops == 0:
        return 0.0
    minp, _trans, head, _tail = _heads_tails(inst)
    last = ci.job_op_start[1:] - 1
    has = np.diff(ci.job_op_start) > 0
    ends = head + minp
    chain = _calendar_chain(inst)
    if chain is not None:  # working time: the chain in working minutes (never earlier)
        ends = np.maximum(ends, chain[1])
    jc = np.where(has, ends[np.maximum(last, 0)], -np.inf)
    n_o = len(ci.order_ids)
    oc = np.full(n_o, -np.inf)
    np.maximum.at(oc, ci.job_order, jc)
    od = np.full(n_o, np.inf)
    np.minimum.at(od, ci.job_order, ci.job_deadline)
    ok = np.isfinite(od) & np.isfinite(oc)
    return float(np.maximum(oc[ok] - od[ok], 0.0).sum())


def cost_lb(inst: Instance, goal: str) -> float:
    """A valid lower bound on ``goal``'s cost of any feasible plan (weights of the goal)."""
    from furnsim.goals import get_goal

    g = get_goal(goal)
    ci = inst.compiled
    w = g.weights
    cmax = makespan_lb(inst)
    tard = w.get("total_tardiness", 0.0) * tardiness_lb(inst)
    if g.name == "speed":
        return w.get("makespan", 0.0) * cmax + tard
    if g.name == "efficiency":
        # cost = setup + 0.5 idle + 0.5 blocked + tardiness, idle = available - processing -
        # setup - blocked, so cost = 0.5 setup + 0.5 (available - processing) + tardiness;
        # available = machine minutes in [0, makespan) (working minutes under calendars)
        maxp = np.where(np.isnan(ci.op_proc), -np.inf, ci.op_proc).max(axis=1).sum()
        wt = ci.working
        if wt is None:
            avail = ci.n_machines * cmax
        else:
            avail = sum(_worked(mt, 0.0, cmax) for mt in wt.machines)
        return max(0.5 * (avail - maxp) + 0.5 * setup_lb(inst), 0.0) + tard
    return w.get("makespan", 0.0) * cmax + tard


def teacher_of(goal: str) -> str:
    """The goal's best single rule, the baseline of the held-out tables: the rule chosen on
    the selection weeks when the shipped policy of ``goal`` was trained (its sidecar's
    ``teacher``), or its sidecar's ``single_rule`` where the shipped network was trained
    against another rule (``ppo-efficiency`` since 2026-12-05: the speed network, a clone
    of ATCS, selected for Efficiency on the validation weeks; the single rule stays PTWINQS)."""
    side = Path(str(resources.files("furnsim").joinpath("data", "models", f"ppo-{goal}.json")))
    if side.exists():
        meta = json.loads(side.read_text())
        return str(meta.get("single_rule", meta["teacher"])).upper()
    return {"speed": "ATCS", "efficiency": "ATCS", "empty-buffers": "BUFFER"}[goal]


# -- results files -------------------------------------------------------------------------------
def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines results file ([] if it does not exist)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]


@cache
def _best_known(path: str) -> dict[str, dict[str, dict[str, Any]]]:
    p = Path(path)
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def best_known(goal: str | None = None, path: str | Path | None = None) -> dict[str, Any]:
    """Best known costs: ``{goal: {seed: {cost, source}}}``, or ``{seed: ...}`` of one goal."""
    bk = _best_known(str(path or BEST_KNOWN))
    return dict(bk.get(goal, {})) if goal is not None else {g: dict(v) for g, v in bk.items()}
