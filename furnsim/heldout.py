"""The held-out evaluation table (issue 15's "must show"): every method on the held-out weeks.

One row = one (week, goal, method, budget) plan through :func:`furnsim.plan.plan` (so every
plan is validated by the independent validator), with its cost, validity, the CPU and wall
seconds the call used and the load of the machine. Methods (:func:`method_names`):

- ``single-rule`` -- the goal's best single rule (:func:`furnsim.benchmarks.teacher_of`);
- ``week-rule`` -- the cheapest of every rule on this week (``best-rule``, no search);
- ``noisy`` -- ``best-rule`` with its ε-noisy search for ``budget`` seconds (the rules count);
- ``ppo`` -- the goal's policy (shipped, or ``models_dir``) sampling for ``budget`` seconds,
  unguarded (its own plan, never the best rule's), keyed by the model file's hash so that new
  models are new rows;
- ``lns`` -- the optimizer (``furnsim.solvers.lns``) for ``budget`` seconds;
- ``ppo-lns`` -- *policy + optimizer*: the optimizer guided by the goal's policy (its pass
  as a start candidate, policy-sampled neighbourhoods; ``PpoLnsPlanner``) for ``budget``
  seconds, keyed by the model file's hash like ``ppo``;
- ``cpsat`` -- CP-SAT, 1 worker, warm-started from the best rule, ``budget`` seconds of its
  own (wall) time limit.

Budgets count CPU seconds of this process (``Budget.clock="cpu"``) unless ``clock="wall"``.
:func:`run_rows` appends rows to a JSON-lines file and skips the ones already there
(resumable); :func:`table` prints the markdown tables (ratios per goal: mean of per-week
ratios and ratio of sums, gaps to the best known cost and to the lower bound);
:func:`best_known_from` makes the best-known file (with each week's fingerprint, so a change
of the plant or the week generator is caught: :func:`check_best_known`).
``benchmarks/heldout_table.py`` is the command line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.model import Instance

__all__ = [
    "METHODS",
    "best_known_from",
    "check_best_known",
    "method_names",
    "model_tag",
    "plan_row",
    "read_rows",
    "row_key",
    "run_rows",
    "table",
    "week_fingerprint",
]

#: the method kinds of a row (``kind`` or ``kind:SECONDS`` for the budgeted ones)
METHODS = ("single-rule", "week-rule", "noisy", "ppo", "ppo-lns", "lns", "cpsat")
_BUDGETED = ("noisy", "ppo", "ppo-lns", "lns", "cpsat")
#: the methods whose rows depend on the policy file (a new model = new rows)
_WITH_MODEL = ("ppo", "ppo-lns")


def method_names(kinds: Iterable[str], budget: float) -> list[str]:
    """``["single-rule", "noisy:10", ...]``: the budgeted kinds get ``:budget`` seconds."""
    out = []
    for k in kinds:
        if k not in METHODS:
            raise ValueError(f"unknown method {k!r}: choose from {', '.join(METHODS)}")
        out.append(f"{k}:{budget:g}" if k in _BUDGETED else k)
    return out


def week_fingerprint(inst: Instance) -> str:
    """A short hash of what a plan's cost depends on: the compiled week (routes, times,
    setups, transport, buffers, releases, deadlines, kits) and the machines' working time."""
    ci = inst.compiled
    h = hashlib.sha256()
    for a in (
        ci.op_proc,
        ci.op_wc,
        ci.op_setup,
        ci.op_volume,
        ci.job_op_start,
        ci.job_release,
        ci.job_deadline,
        ci.job_priority,
        ci.job_order,
        ci.job_parent,
        ci.job_kit_volume,
        ci.machine_wc,
        ci.machine_init_setup,
        ci.setup_time,
        ci.transport,
        ci.wc_capacity,
    ):
        arr = np.nan_to_num(np.ascontiguousarray(a, dtype=np.float64), nan=-1.0, posinf=1e300)
        h.update(str(arr.shape).encode())
        h.update(np.round(arr, 6).tobytes())
    wt = ci.working
    if wt is not None:
        days = np.arange(1, 15, dtype=np.float64) * 1440.0
        for mt in wt.machines:
            h.update(b"24/7" if mt is None else np.round(mt.worked(0.0, days), 6).tobytes())
    return h.hexdigest()[:16]


def model_tag(goal: str, models_dir: str | Path | None = None) -> str:
    """Hash of the policy file ``ppo`` would load for ``goal`` ("none" if there is none)."""
    from furnsim.rl.policy import model_path

    p = model_path(goal, models_dir)
    if not p.exists():
        return "none"
    return hashlib.sha256(p.read_bytes()).hexdigest()[:10]


def row_key(r: dict[str, Any]) -> tuple[int, str, str, str, str]:
    """What identifies a row: week seed, goal, method, clock, model (ppo only)."""
    return (int(r["seed"]), str(r["goal"]), str(r["method"]), str(r["clock"]), str(r["model"]))


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return float("nan")


def plan_row(
    inst: Instance,
    seed: int,
    goal: str,
    method: str,
    *,
    clock: str = "cpu",
    models_dir: str | Path | None = None,
    lb: float | None = None,
    search_seed: int = 0,
) -> dict[str, Any]:
    """Plan ``inst`` for ``goal`` with ``method`` (:func:`method_names`) and measure it.
    ``search_seed``: the planner's seed (``PlanState.seed``; the table's rows use 0, and a
    row with another seed records it)."""
    from furnsim.benchmarks import cost_lb, teacher_of
    from furnsim.planners import Budget, PlanState, get_planner

    kind, _, b = method.partition(":")
    budget = float(b) if b else None
    model = model_tag(goal, models_dir) if kind in _WITH_MODEL else ""
    opts: dict[str, Any] = {}
    guard = True
    if kind == "single-rule":
        name = f"rule:{teacher_of(goal)}"
    elif kind in ("week-rule", "noisy"):
        name = "best-rule"
    elif kind == "ppo":
        name, guard = "ppo", False  # the policy's own plan, not the best rule's
        if models_dir is not None:
            opts["models_dir"] = str(models_dir)
    elif kind == "lns":
        name = "lns"
    elif kind == "ppo-lns":
        name = "ppo-lns"
        if models_dir is not None:
            opts["models_dir"] = str(models_dir)
    elif kind == "cpsat":
        name, opts["workers"] = "cpsat", 1  # one CP-SAT worker (solve_cpsat's option)
    else:
        raise ValueError(f"unknown method {method!r}")
    if kind in _BUDGETED and budget is None:
        raise ValueError(f"{method!r}: give a budget ({kind}:SECONDS)")
    bud = Budget(time_limit=budget, clock="cpu" if clock == "cpu" else "wall")
    load0 = _load()
    c0, w0 = time.process_time(), time.perf_counter()
    res = get_planner(name).plan(
        inst, goal, bud, PlanState(guard=guard, options=opts, seed=search_seed)
    )
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    d = res.details
    info: dict[str, Any] = {}
    if "lns" in d:
        info = {k: d["lns"][k] for k in ("start", "iterations", "improvements") if k in d["lns"]}
        if kind == "ppo-lns":  # what the policy's own moves did (tried / improved)
            mv = d["lns"].get("moves", {})
            info["policy_moves"] = {
                k: mv[k]
                for k in ("policy-window", "policy-tail", "policy")
                if mv.get(k, {}).get("tried")
            }
    elif "search" in d:
        info = {"passes": d["search"].get("passes")}
    elif kind == "ppo":
        info = {"passes": d.get("passes"), "greedy_cost": d.get("greedy_cost")}
    elif kind == "cpsat":
        info = {k: d.get(k) for k in ("status", "lower_bound", "hint_cost") if k in d}
    return {
        "seed": int(seed),
        "jobs": int(inst.compiled.n_jobs),
        "fingerprint": week_fingerprint(inst),
        "goal": goal,
        "method": method,
        "clock": clock,
        "model": model,
        "cost": float(res.cost),
        "valid": bool(res.valid),
        "used": res.method,
        "fallback": res.fallback,
        "lb": float(cost_lb(inst, goal) if lb is None else lb),
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "load": [load0, _load()],
        "info": info,
        **({"search_seed": int(search_seed)} if search_seed else {}),
    }


def run_rows(
    weeks: Sequence[tuple[int, Instance]],
    goals: Sequence[str],
    methods: Sequence[str],
    out: str | Path,
    *,
    clock: str = "cpu",
    models_dir: str | Path | None = None,
    say: Callable[[str], None] = print,
    search_seed: int = 0,
) -> list[dict[str, Any]]:
    """Plan every (week, goal, method) not yet in ``out`` and append its row; all rows of
    ``out`` (old and new) come back. ``search_seed``: the planners' seed (:func:`plan_row`);
    a row counts as done only with the same seed."""
    from furnsim.benchmarks import read_jsonl

    path = Path(out)
    rows = read_jsonl(path)
    done = {row_key(r) for r in rows if r.get("search_seed", 0) == search_seed}
    tags = {g: model_tag(g, models_dir) for g in goals}
    for seed, inst in weeks:
        for goal in goals:
            for m in methods:
                kind = m.partition(":")[0]
                key = (int(seed), goal, m, clock, tags[goal] if kind in _WITH_MODEL else "")
                if key in done:
                    continue
                r = plan_row(
                    inst, seed, goal, m, clock=clock, models_dir=models_dir, search_seed=search_seed
                )
                rows.append(r)
                done.add(row_key(r))
                with path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(r) + "\n")
                say(
                    f"{seed} {goal:13s} {m:12s} cost {r['cost']:12,.2f} valid {r['valid']} "
                    f"cpu {r['cpu_s']:7.2f} s wall {r['wall_s']:7.2f} s load {r['load'][1]}"
                )
    return rows


# -- the tables ----------------------------------------------------------------------------------
def read_rows(paths: Iterable[str | Path], clock: str = "cpu") -> list[dict[str, Any]]:
    """The rows on ``clock`` of several results files, in order; a row whose key
    (:func:`row_key`) is already in an earlier file replaces it and counts as the latest (so
    rows planned into a file of their own merge with the main table, and a re-run wins).
    Rows planned with another search seed (``search_seed``) are no table rows and are left
    out."""
    from furnsim.benchmarks import read_jsonl

    by: dict[tuple[int, str, str, str, str], dict[str, Any]] = {}
    for path in paths:
        for r in read_jsonl(path):
            if r["clock"] == clock and not r.get("search_seed"):
                by.pop(row_key(r), None)
                by[row_key(r)] = r
    return list(by.values())


def _latest(rows: Iterable[dict[str, Any]]) -> dict[tuple[int, str, str], dict[str, Any]]:
    """(seed, goal, method) -> row; for ppo the newest model's row (the last one written)."""
    out: dict[tuple[int, str, str], dict[str, Any]] = {}
    for r in rows:
        out[(int(r["seed"]), str(r["goal"]), str(r["method"]))] = r
    return out


def ratio_stats(pairs: Sequence[tuple[float, float]]) -> tuple[float, float, int, int, int]:
    """Mean of ratios a/b, ratio of sums, and how many a < b, a = b, a > b (rel. 1e-9)."""
    if not pairs:
        return (math.nan, math.nan, 0, 0, 0)
    r = [a / b for a, b in pairs]
    better = sum(1 for a, b in pairs if a < b * (1 - 1e-9))
    worse = sum(1 for a, b in pairs if a > b * (1 + 1e-9))
    return (
        float(np.mean(r)),
        sum(a for a, _ in pairs) / sum(b for _, b in pairs),
        better,
        len(pairs) - better - worse,
        worse,
    )


def table(
    rows: Sequence[dict[str, Any]],
    comparisons: Sequence[tuple[str, str, float | Mapping[str, float]]],
    best: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> str:
    """Markdown: per goal and comparison ``(a, b, target)`` the mean of the per-week ratios
    a/b, the ratio of sums, better/equal/worse, the target (a number, or one per goal: a
    goal missing from the mapping gets no line); then per goal and method the mean gap to the
    best known cost (``best``, default: the cheapest valid row per week) and to the lower
    bound, the mean CPU seconds, and how many plans were valid."""
    by = _latest(rows)
    goals = sorted({k[1] for k in by}, key=lambda g: (g not in _ORDER, _ORDER.get(g, 0), g))
    seeds = sorted({k[0] for k in by})
    best = best if best is not None else best_known_from(rows)
    lines = [
        "| goal | ratio | weeks | mean of ratios | ratio of sums | better / equal / worse "
        "| target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in goals:
        for a, b, goal_target in comparisons:
            if isinstance(goal_target, Mapping):
                if g not in goal_target:
                    continue
                target = float(goal_target[g])
            else:
                target = float(goal_target)
            pairs = [
                (by[(s, g, a)]["cost"], by[(s, g, b)]["cost"])
                for s in seeds
                if (s, g, a) in by
                and (s, g, b) in by
                and by[(s, g, a)]["valid"]
                and by[(s, g, b)]["valid"]
            ]
            mean_r, sum_r, bt, eq, wo = ratio_stats(pairs)
            met = "yes" if pairs and mean_r <= target else "no" if pairs else "–"
            lines.append(
                f"| {g} | {a} / {b} | {len(pairs)} | **{mean_r:.3f}** | {sum_r:.3f} "
                f"| {bt} / {eq} / {wo} "
                f"| ≤ {target:g} | {met} |"
            )
    lines += [
        "",
        "| goal | method | weeks | valid | gap to best known (mean) | gap to lower bound (mean) "
        "| CPU s (mean) | wall s (mean) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    methods = sorted({k[2] for k in by}, key=_method_order)
    for g in goals:
        bk = best.get(g, {})
        for meth in methods:
            rs_ = [by[(s, g, meth)] for s in seeds if (s, g, meth) in by]
            if not rs_:
                continue
            ok = [r for r in rs_ if r["valid"]]
            gaps = [r["cost"] / bk[str(r["seed"])]["cost"] - 1 for r in ok if str(r["seed"]) in bk]
            lbg = [r["cost"] / r["lb"] - 1 for r in ok if r.get("lb", 0) > 0]
            lines.append(
                f"| {g} | {meth} | {len(rs_)} | {len(ok)}/{len(rs_)} "
                f"| {100 * float(np.mean(gaps)) if gaps else math.nan:.1f} % "
                f"| {100 * float(np.mean(lbg)) if lbg else math.nan:.1f} % "
                f"| {np.mean([r['cpu_s'] for r in rs_]):.1f} "
                f"| {np.mean([r['wall_s'] for r in rs_]):.1f} |"
            )
    return "\n".join(lines)


_ORDER = {"speed": 0, "efficiency": 1, "empty-buffers": 2}


def _method_order(m: str) -> tuple[int, float, str]:
    kind, _, b = m.partition(":")
    return (METHODS.index(kind) if kind in METHODS else 99, float(b or 0), m)


# -- best known costs ----------------------------------------------------------------------------
def best_known_from(
    rows: Iterable[dict[str, Any]],
    old: dict[str, dict[str, dict[str, Any]]] | None = None,
    source: str = "",
) -> dict[str, dict[str, dict[str, Any]]]:
    """{goal: {seed: {cost, source, fingerprint}}}: the cheapest valid cost per week and goal
    among ``rows`` and the ``old`` entries whose fingerprint matches the row's week (an entry
    of another plant or generator is dropped)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    prints: dict[int, str] = {}
    rows = list(rows)
    for r in rows:
        prints[int(r["seed"])] = str(r["fingerprint"])
    for g, per in (old or {}).items():
        for s, e in per.items():
            if e.get("fingerprint") and prints.get(int(s), e["fingerprint"]) == e["fingerprint"]:
                out.setdefault(g, {})[s] = dict(e)
    for r in rows:
        if not r["valid"] or not math.isfinite(r["cost"]):
            continue
        g, s = str(r["goal"]), str(r["seed"])
        cur = out.setdefault(g, {}).get(s)
        # as stored (4 decimals): the same plan found again keeps its first source
        if cur is None or round(float(r["cost"]), 4) < cur["cost"] - 1e-9:
            src = f"{source} {r['method']}".strip()
            out[g][s] = {"cost": round(float(r["cost"]), 4), "source": src}
            out[g][s]["fingerprint"] = str(r["fingerprint"])
    return {g: dict(sorted(v.items(), key=lambda kv: int(kv[0]))) for g, v in out.items()}


def check_best_known(
    bk: dict[str, dict[str, dict[str, Any]]], weeks: Sequence[tuple[int, Instance]]
) -> list[str]:
    """What is wrong with best-known entries for ``weeks``: a missing or different week
    fingerprint (the costs belong to another plant or week), a cost below the valid lower
    bound. Empty when they fit."""
    from furnsim.benchmarks import cost_lb

    bad = []
    for seed, inst in weeks:
        fp = week_fingerprint(inst)
        for g, per in bk.items():
            e = per.get(str(seed))
            if e is None:
                continue
            if e.get("fingerprint") != fp:
                bad.append(f"{g} {seed}: fingerprint {e.get('fingerprint')} != week's {fp}")
            elif e["cost"] < cost_lb(inst, g) - 1e-6:
                bad.append(f"{g} {seed}: cost {e['cost']} below the lower bound")
    return bad
