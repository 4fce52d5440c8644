"""Tune the LNS optimizer's search settings on *training* weeks (never the held-out ones).

    # configurations: NAME=JSON (options of lns / ppo-lns; "default" = {} is the reference)
    nice -n 19 python benchmarks/lns_tune.py run --method ppo-lns --budget 10 --weeks 10 \
        --config default={} --config lahc5='{"lahc_length": 5}'
    nice -n 19 python benchmarks/lns_tune.py run --configs configs.json   # {NAME: {options}}
    python benchmarks/lns_tune.py table --method ppo-lns --budget 10      # mean ratios per goal

The weeks are the demo plant's weeks of the held-out generator (``WeekSource.week``) with
seeds ``--seed0 + i`` (default 30000; sizes 100..600 jobs drawn from ``--seed0`` as
``furnsim.benchmarks.held_out_weeks`` does from 10000), so the held-out seeds 10000..10019
are never planned here. Each (config, method, budget, week, goal) is one plan through the
planner (``get_planner(method).plan``: validated), with ``Budget(clock="cpu")``; one JSON
line per plan goes to ``--out`` (default ``runs/lns_tune.jsonl``), rows already there are
skipped (resumable; a config's options are part of its key, so an edited config re-runs).
``table`` prints per config and goal the mean over weeks of cost / the reference config's
cost on the same week (< 1: better), the number of weeks, and wins / losses.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.benchmarks import GOALS, HELD_OUT_SEED, read_jsonl

SEED0 = 30_000


def training_weeks(n: int, seed0: int = SEED0, lo: int = 100, hi: int = 600) -> list[Any]:
    """``n`` demo-plant weeks with seeds ``seed0 + i`` (not the held-out ones)."""
    from furnsim.env import WeekSource

    if seed0 <= HELD_OUT_SEED + 100 and seed0 + n > HELD_OUT_SEED:
        raise ValueError("these seeds overlap the held-out weeks (10000..10099)")
    src = WeekSource.from_path(None)
    sizes = np.random.default_rng(seed0).integers(lo, hi + 1, size=n)
    return [src.week(seed0 + i, int(sizes[i])) for i in range(n)]


def _key(r: dict[str, Any]) -> tuple[str, str, str, float, int, str, int]:
    return (
        r["config"],
        r["options"],
        r["method"],
        float(r["budget"]),
        r["seed"],
        r["goal"],
        int(r.get("search_seed", 0)),
    )


def _options(o: dict[str, Any]) -> dict[str, Any]:
    """JSON lists of two numbers as tuples (the range options)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in o.items()}


def run(args: argparse.Namespace) -> None:
    from furnsim.planners import Budget, PlanState, get_planner

    configs: dict[str, dict[str, Any]] = {}
    if args.configs:
        configs.update(json.loads(Path(args.configs).read_text()))
    for c in args.config or []:
        name, _, js = c.partition("=")
        configs[name] = json.loads(js or "{}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {_key(r) for r in read_jsonl(out)} if out.exists() else set()
    goals = args.goals.split(",")
    weeks = training_weeks(args.weeks, args.seed0)
    # warm-up (not recorded): compile the simulator's loops, load the policies
    for goal in goals:
        get_planner(args.method).plan(weeks[0], goal, Budget(passes=2), PlanState())
    for name, opts in configs.items():
        okey = json.dumps(opts, sort_keys=True)
        for i, inst in enumerate(weeks):
            seed = args.seed0 + i
            for goal in goals:
                row = {
                    "config": name,
                    "options": okey,
                    "method": args.method,
                    "budget": float(args.budget),
                    "seed": seed,
                    "goal": goal,
                    "search_seed": args.search_seed,
                }
                if _key(row) in done:
                    continue
                c0, w0 = time.process_time(), time.perf_counter()
                res = get_planner(args.method).plan(
                    inst,
                    goal,
                    Budget(time_limit=args.budget, clock="cpu"),
                    PlanState(seed=args.search_seed, options=_options(opts)),
                )
                d = res.details.get("lns", {})
                mv = {k: v for k, v in d.get("moves", {}).items() if v.get("tried")}
                row.update(
                    jobs=int(inst.compiled.n_jobs),
                    cost=float(res.cost),
                    valid=bool(res.valid),
                    start_cost=d.get("start_cost"),
                    iterations=d.get("iterations"),
                    improvements=d.get("improvements"),
                    moves=mv,
                    cpu_s=round(time.process_time() - c0, 3),
                    wall_s=round(time.perf_counter() - w0, 3),
                )
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(
                    f"{name:>14} {seed} {goal:>13} {row['cost']:>12.2f} "
                    f"it={row['iterations']} cpu={row['cpu_s']}",
                    flush=True,
                )


def table(args: argparse.Namespace) -> str:
    rows = [
        r
        for r in read_jsonl(args.out)
        if r["method"] == args.method and float(r["budget"]) == float(args.budget) and r["valid"]
    ]
    # the reference: its mean cost over its search seeds on the same week and goal
    refs: dict[tuple[int, str], list[float]] = {}
    for r in rows:
        if r["config"] == args.reference:
            refs.setdefault((r["seed"], r["goal"]), []).append(r["cost"])
    ref = {k: float(np.mean(v)) for k, v in refs.items()}
    goals = [g for g in GOALS if any(r["goal"] == g for r in rows)]
    names = list(dict.fromkeys(r["config"] for r in rows))
    head = "| config | " + " | ".join(f"{g} (n, W/L)" for g in goals) + " | mean |"
    lines = [
        f"{args.method}:{args.budget:g} CPU-s, mean of cost / {args.reference} per week"
        " (its mean over its search seeds); n = plans (weeks x search seeds), W/L = wins / losses",
        "",
        head,
        "|" + "---|" * (len(goals) + 2),
    ]
    for name in names:
        cells, means = [], []
        for g in goals:
            rs = [
                (r["cost"], ref[(r["seed"], g)])
                for r in rows
                if r["config"] == name
                and r["goal"] == g
                and (r["seed"], g) in ref
                and (args.search_seed is None or r.get("search_seed", 0) == args.search_seed)
            ]
            rat = [c / b if b > 0 else (1.0 if c <= b else math.inf) for c, b in rs]
            if not rat:
                cells.append("-")
                continue
            w = sum(c < b - 1e-9 for c, b in rs)
            lo = sum(c > b + 1e-9 for c, b in rs)
            means.append(float(np.mean(rat)))
            cells.append(f"{np.mean(rat):.4f} ({len(rat)}, {w}/{lo})")
        m = f"{np.mean(means):.4f}" if means else "-"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {m} |")
    text = "\n".join(lines)
    print(text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for cmd in ("run", "table"):
        p = sub.add_parser(cmd)
        p.add_argument("--method", default="ppo-lns", help="lns or ppo-lns")
        p.add_argument("--budget", type=float, default=10.0, help="CPU seconds per plan")
        p.add_argument("--out", default="runs/lns_tune.jsonl")
        if cmd == "run":
            p.add_argument("--weeks", type=int, default=10)
            p.add_argument("--seed0", type=int, default=SEED0)
            p.add_argument("--goals", default=",".join(GOALS))
            p.add_argument("--config", action="append", help="NAME=JSON options")
            p.add_argument("--configs", help="a JSON file {NAME: {options}}")
            p.add_argument("--search-seed", type=int, default=0, help="the planner's seed")
        else:
            p.add_argument("--reference", default="default")
            p.add_argument("--search-seed", type=int, default=None, help="only this seed's rows")
    args = ap.parse_args()
    run(args) if args.cmd == "run" else table(args)


if __name__ == "__main__":
    main()
