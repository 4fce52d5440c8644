"""Issue 15's held-out table: every method on the held-out calendar-plant weeks, all goals.

    # rows (resumable: rows already in --out are skipped); budgets in CPU seconds
    nice python benchmarks/heldout_table.py run --weeks 20 --budget 10
    nice python benchmarks/heldout_table.py run --weeks 20 --budget 60 --methods lns,noisy
    # new PPO models (another models directory): only their rows are planned
    nice python benchmarks/heldout_table.py run --weeks 20 --budget 10 --methods ppo \
        --models-dir runs/new_models
    # policy + optimizer (ppo-lns) rows into a file of their own
    nice python benchmarks/heldout_table.py run --weeks 20 --budget 10 --methods ppo-lns \
        --out benchmarks/heldout_ppo10.jsonl
    # the markdown tables (and --best-known: rewrite furnsim/data/best_known.json); --also adds
    # the rows of further files (the same key in a later file wins)
    python benchmarks/heldout_table.py table --budget 10 [--best-known] \
        [--also benchmarks/heldout_ppo10.jsonl]
    # two runs made side by side on one machine (e.g. a checkout of the old code and this
    # one): B against A per goal and method
    python benchmarks/heldout_table.py compare benchmarks/ab_compiledrules_before10.jsonl \
        benchmarks/ab_compiledrules_after10.jsonl
    # greedy plan time (PPO greedy pass, best rule pass) at 100..2000 jobs
    nice python benchmarks/heldout_table.py timing --jobs 100,250,500,1000,2000

Rows go to ``benchmarks/heldout_table.jsonl`` (one per week x goal x method x clock x model);
the harness is ``furnsim.heldout`` (tested), the weeks ``furnsim.benchmarks.held_out_weeks``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from furnsim.benchmarks import (
    BEST_KNOWN,
    GOALS,
    HELD_OUT_SEED,
    held_out_weeks,
)
from furnsim.heldout import (
    METHODS,
    best_known_from,
    method_names,
    read_rows,
    run_rows,
    table,
)

HERE = Path(__file__).resolve().parent
OUT = HERE / "heldout_table.jsonl"
TIMING = HERE / "heldout_timing.jsonl"


#: issue 15: the learned planner (10 s) / the best single rule, per goal
PPO_TARGETS = {"speed": 0.95, "efficiency": 0.90, "empty-buffers": 0.80}


def comparisons(
    budget: float, long: float, short: float | None = None
) -> list[tuple[str, str, float | dict[str, float]]]:
    """The table's ratios at ``budget`` (and ``long``, the optimizer's long budget); with
    ``short``, also the budget-``budget`` learned planners against the ``short`` rows."""
    b, lg = f"{budget:g}", f"{long:g}"
    out: list[tuple[str, str, float | dict[str, float]]] = [
        (f"lns:{b}", f"noisy:{b}", 0.95),
        (f"lns:{b}", f"cpsat:{b}", 0.95),
        (f"lns:{b}", "single-rule", 1.0),
        (f"noisy:{b}", "single-rule", 1.0),
        (f"ppo:{b}", "single-rule", PPO_TARGETS),
        (f"ppo:{b}", f"lns:{b}", 1.02),
        (f"ppo-lns:{b}", "single-rule", PPO_TARGETS),
        (f"ppo-lns:{b}", f"lns:{b}", 1.02),
        (f"ppo-lns:{b}", f"ppo:{b}", 1.0),
    ]
    if short is not None and short != budget:
        s = f"{short:g}"
        out += [
            (f"ppo-lns:{b}", f"lns:{s}", 1.02),
            (f"ppo-lns:{b}", f"noisy:{s}", 1.0),
            (f"ppo-lns:{b}", f"ppo:{s}", 1.0),
        ]
    if long != budget:
        out += [
            (f"lns:{lg}", f"noisy:{lg}", 0.95),
            (f"lns:{lg}", f"cpsat:{lg}", 0.95),
            (f"ppo:{b}", f"lns:{lg}", 1.02),
            (f"ppo-lns:{b}", f"lns:{lg}", 1.02),
        ]
    return out


def cmd_run(a: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)  # CPU budgets: one thread, like the other methods
    kinds = a.methods.split(",")
    methods = method_names(kinds, a.budget)
    weeks = list(enumerate(held_out_weeks(a.weeks)))
    weeks = [(HELD_OUT_SEED + i, w) for i, w in weeks][a.first :]
    if a.only:
        keep = {int(x) for x in a.only.split(",")}
        weeks = [(s, w) for s, w in weeks if s in keep]
    if weeks and {"ppo", "ppo-lns"} & set(kinds):
        # load each policy and make one pass before any row is timed: the first pass in a
        # process compiles the feature code, which is no part of a plan's budget
        from contextlib import suppress

        from furnsim.rl.policy import load_planner

        for goal in a.goals.split(","):
            with suppress(FileNotFoundError):  # no model: its rows fall back (and say so)
                load_planner(goal, models_dir=a.models_dir).plan(weeks[0][1])
    run_rows(
        weeks,
        a.goals.split(","),
        methods,
        a.out,
        clock=a.clock,
        models_dir=a.models_dir,
        search_seed=a.search_seed,
    )


def _current(rows: list[dict]) -> list[dict]:
    """Rows of the weeks as they are now (same fingerprint), with today's lower bounds."""
    from furnsim.benchmarks import cost_lb
    from furnsim.heldout import week_fingerprint

    if not rows:
        return rows
    n = max(int(r["seed"]) for r in rows) - HELD_OUT_SEED + 1
    weeks = {HELD_OUT_SEED + i: w for i, w in enumerate(held_out_weeks(n))}
    prints = {s: week_fingerprint(w) for s, w in weeks.items()}
    lbs: dict[tuple[int, str], float] = {}
    out = []
    for r in rows:
        s, g = int(r["seed"]), str(r["goal"])
        if prints.get(s) != r["fingerprint"]:
            print(f"skipped: {s} {g} {r['method']} was planned on another week")
            continue
        if (s, g) not in lbs:
            lbs[(s, g)] = float(cost_lb(weeks[s], g))
        out.append({**r, "lb": lbs[(s, g)]})
    return out


def cmd_compare(a: argparse.Namespace) -> None:
    """Rows of two runs made side by side (same weeks, same machine, same time): per goal and
    method, the geometric mean of cost B / A with its standard error, how many weeks B is
    better / equal / worse, the ratio of neighbours (optimizer rows) and whether every plan of
    B is valid. CPU budgets compare only on one machine at one time: a neighbour costs more
    CPU time on a slower or busier machine."""
    import math

    def rows(path: str) -> dict:
        out = {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[(int(r["seed"]), str(r["goal"]), str(r["method"]))] = r
        return out

    ra, rb = rows(a.a), rows(a.b)
    print(
        "| goal | method | weeks | cost B / A | better / equal / worse | neighbours B / A | B valid |"
    )
    print("|---|---|---|---|---|---|---|")
    for goal, method in sorted({(g, m) for _, g, m in rb}):
        ks = sorted(k for k in rb if k[1:] == (goal, method) and k in ra)
        if not ks:
            continue
        lr = [math.log(rb[k]["cost"] / ra[k]["cost"]) for k in ks]
        mu = sum(lr) / len(lr)
        se = (sum((x - mu) ** 2 for x in lr) / max(1, len(lr) - 1)) ** 0.5 / len(lr) ** 0.5
        tol = 1e-12
        n_b, n_e = sum(x < -tol for x in lr), sum(abs(x) <= tol for x in lr)
        it_a = sum(ra[k].get("info", {}).get("iterations") or 0 for k in ks)
        it_b = sum(rb[k].get("info", {}).get("iterations") or 0 for k in ks)
        nb = f"{it_b / it_a:.2f}" if it_a else "–"
        ok = all(rb[k]["valid"] for k in ks)
        print(
            f"| {goal} | {method} | {len(ks)} | {math.exp(mu):.4f} ± {se:.4f} | "
            f"{n_b} / {n_e} / {len(ks) - n_b - n_e} | {nb} | {ok} |"
        )


def cmd_table(a: argparse.Namespace) -> None:
    rows = _current(read_rows([a.out, *(a.also or [])], a.clock))
    if a.best_known:
        bk = best_known_from(rows, _file_best_known(), source=Path(a.out).name)
        BEST_KNOWN.write_text(json.dumps(bk, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {BEST_KNOWN} ({sum(len(v) for v in bk.values())} entries)")
    bk = best_known_from(rows, _file_best_known())
    print(table(rows, comparisons(a.budget, a.long, a.short), bk))
    for ref in dict.fromkeys((f"noisy:{a.budget:g}", f"noisy:{a.long:g}")):
        if any(r["method"] == ref for r in rows):
            print(headroom(rows, bk, ref))


def headroom(rows: list[dict], bk: dict, ref: str) -> str:
    """Per goal: how far below ``ref`` any plan is known to go (best known / ref) and how far
    it could go at most (lower bound / ref), means over the weeks with a ``ref`` row."""
    import numpy as np

    lines = [
        "",
        f"| goal | weeks | best known / {ref} (mean) | min over weeks | weeks with best known "
        f"≤ 0.95 × {ref} | lower bound / {ref} (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for g in GOALS:
        ref_rows = [r for r in rows if r["goal"] == g and r["method"] == ref and r["valid"]]
        pairs = [
            (bk[g][str(r["seed"])]["cost"] / r["cost"], r["lb"] / r["cost"])
            for r in ref_rows
            if str(r["seed"]) in bk.get(g, {})
        ]
        if not pairs:
            continue
        b = np.array([p[0] for p in pairs])
        lb = np.array([p[1] for p in pairs])
        lines.append(
            f"| {g} | {len(pairs)} | {b.mean():.3f} | {b.min():.3f} | {(b <= 0.95).sum()} "
            f"| {lb.mean():.3f} |"
        )
    return "\n".join(lines)


def _file_best_known() -> dict:
    return json.loads(BEST_KNOWN.read_text(encoding="utf-8")) if BEST_KNOWN.exists() else {}


def cmd_timing(a: argparse.Namespace) -> None:
    """Greedy plan time: one PPO greedy pass (shipped model of the goal) and one pass of the
    goal's best single rule on demo-plant weeks of N jobs (CPU and wall seconds)."""
    import torch

    from furnsim.benchmarks import teacher_of
    from furnsim.env import WeekSource
    from furnsim.rl.policy import load_planner
    from furnsim.rules import get_rule, run_policy

    torch.set_num_threads(1)
    src = WeekSource.from_path(None)
    planner = load_planner(a.goal)
    rule = get_rule(teacher_of(a.goal))
    for n in [int(x) for x in a.jobs.split(",")]:
        inst = src.week(HELD_OUT_SEED + 500 + n, n)
        row = {"jobs": n, "ops": int(inst.compiled.n_ops), "goal": a.goal}
        for name, fn in (
            ("ppo_greedy", lambda inst=inst: planner.plan(inst, buffers="hard")),
            (f"rule_{rule.name}", lambda inst=inst: run_policy(inst, rule, buffers="hard")),
        ):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            row[f"{name}_cpu_s"] = round(time.process_time() - c0, 3)
            row[f"{name}_wall_s"] = round(time.perf_counter() - w0, 3)
        import os

        row["load"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)
        with Path(a.out_timing).open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="plan the missing rows")
    r.add_argument("--weeks", type=int, default=20)
    r.add_argument("--first", type=int, default=0, help="skip the first weeks")
    r.add_argument(
        "--search-seed",
        type=int,
        default=0,
        help="the planners' seed (0: the table's rows; others: benchmarks/eb_spread.py)",
    )
    r.add_argument("--only", default=None, help="only these week seeds (comma-separated)")
    r.add_argument("--goals", default=",".join(GOALS))
    r.add_argument("--methods", default=",".join(METHODS), help=f"of {', '.join(METHODS)}")
    r.add_argument("--budget", type=float, default=10.0, help="seconds per budgeted method")
    r.add_argument("--clock", default="cpu", choices=("cpu", "wall"))
    r.add_argument("--models-dir", default=None, help="PPO models (default: shipped)")
    r.add_argument("--out", default=str(OUT))
    r.set_defaults(fn=cmd_run)
    t = sub.add_parser("table", help="print the tables")
    t.add_argument("--budget", type=float, default=10.0)
    t.add_argument("--long", type=float, default=60.0, help="the optimizer's long budget")
    t.add_argument("--clock", default="cpu", choices=("cpu", "wall"))
    t.add_argument(
        "--short",
        type=float,
        default=None,
        help="also compare the learned planners with these rows",
    )
    t.add_argument("--best-known", action="store_true", help="rewrite best_known.json")
    t.add_argument("--out", default=str(OUT))
    t.add_argument("--also", action="append", help="rows of another file too (repeatable)")
    t.set_defaults(fn=cmd_table)
    c = sub.add_parser("compare", help="two runs made side by side: B against A")
    c.add_argument("a", help="rows of run A (JSON lines)")
    c.add_argument("b", help="rows of run B")
    c.set_defaults(fn=cmd_compare)
    g = sub.add_parser("timing", help="greedy plan time at N jobs")
    g.add_argument("--jobs", default="100,250,500,1000,2000")
    g.add_argument("--goal", default="speed")
    g.add_argument("--out-timing", default=str(TIMING))
    g.set_defaults(fn=cmd_timing)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
