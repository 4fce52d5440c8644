"""Release control alone (furnsim/solvers/release.py): a rule's plan of each held-out week,
released just in time, against the plan itself -- what the holds change, without search.

    nice python benchmarks/release_table.py --weeks 20 [--goals empty-buffers,speed,efficiency]

For each week and goal: the goal's single rule (the table's ``single-rule``) and the cheapest
of all rules (``week-rule``), each plain and released; every released plan is validated. One
JSON line per row to ``benchmarks/release_table.jsonl`` and a markdown summary on stdout
(docs/optimizer.md, "Release control").
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from furnsim.benchmarks import HELD_OUT_SEED, held_out_weeks, teacher_of
from furnsim.goals import cost, get_goal
from furnsim.kpi import kpis
from furnsim.rules import best_rule, get_rule, run_policy
from furnsim.solvers.release import release_just_in_time, store_held_jobs
from furnsim.validate import validate

OUT = Path(__file__).resolve().parent / "release_table.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--goals", default="empty-buffers,speed,efficiency")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    rows = []
    weeks = held_out_weeks(a.weeks)
    for i, inst in enumerate(weeks):
        for goal in a.goals.split(","):
            g = get_goal(goal)
            br = best_rule(inst, g)
            plans = {
                "single-rule": run_policy(inst, get_rule(teacher_of(goal)))[0],
                "week-rule": br.schedule,
            }
            for name, s in plans.items():
                t0 = time.process_time()
                r = release_just_in_time(inst, s)
                dt = time.process_time() - t0
                c0 = float(cost(s, g, inst))
                c1 = c0 if r is None else float(cost(r, g, inst))
                k0 = kpis(s, inst)
                k1 = k0 if r is None else kpis(r, inst)
                row = {
                    "seed": HELD_OUT_SEED + i,
                    "jobs": int(inst.compiled.n_jobs),
                    "goal": goal,
                    "plan": name,
                    "rule": s.method,
                    "cost": c0,
                    "released_cost": c1,
                    "held": 0 if r is None else len(store_held_jobs(r)),
                    "valid": r is None or validate(r, inst) == [],
                    "cpu_s": round(dt, 3),
                    "makespan": [k0["makespan"], k1["makespan"]],
                    "buffer_load": [k0["buffer_load"], k1["buffer_load"]],
                    "blocked_time": [k0["blocked_time"], k1["blocked_time"]],
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    Path(a.out).write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(
        "\n| goal | plan | weeks | released / plain (mean) | min–max | held jobs (mean) | "
        "makespan | blocked min | valid | CPU s (mean) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for goal in a.goals.split(","):
        for name in ("single-rule", "week-rule"):
            rs = [r for r in rows if r["goal"] == goal and r["plan"] == name]
            q = np.array([r["released_cost"] / r["cost"] for r in rs])
            mk = np.mean([r["makespan"][1] / r["makespan"][0] for r in rs])
            bl = np.mean([r["blocked_time"][1] - r["blocked_time"][0] for r in rs])
            print(
                f"| {goal} | {name} | {len(rs)} | {q.mean():.3f} | {q.min():.3f}–{q.max():.3f} "
                f"| {np.mean([r['held'] for r in rs]):.0f} | ×{mk:.3f} | {bl:+.0f} "
                f"| {sum(r['valid'] for r in rs)}/{len(rs)} "
                f"| {np.mean([r['cpu_s'] for r in rs]):.2f} |"
            )


if __name__ == "__main__":
    main()
