"""A candidate set of goal models against the shipped ones on the held-out weeks and the demo week.

    python benchmarks/rl_search_eval.py --models runs/search-models --goals speed
    python benchmarks/rl_search_eval.py --models runs/search-models --weeks 20 --budgets 1.5,10

For every goal and held-out week (``furnsim.benchmarks.held_out_weeks``: seeds 10000+, never
trained on) each model plans as ``plan(..., "ppo")`` does (``plan_with_policy``: greedy pass,
then sampled passes until the budget), once per budget; every plan is checked by the
validator. Costs are divided by the *best single rule* of the goal (the teacher in the
shipped model's sidecar: the rule chosen on the training-side selection weeks) and by the
per-week best of all deterministic rules; the bound (``cost_lb``) and best known costs are
reported alongside. The demo week (``bom_data/demo``) is planned through ``furnsim.plan.plan``
with each model folder, which says whether it fell back to a rule. One JSON line per
(goal, model, week, budget) goes to ``--out``; a summary table is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from furnsim.benchmarks import GOALS, HELD_OUT_SEED, best_known, cost_lb, held_out_weeks

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    import torch

    from furnsim.goals import cost
    from furnsim.rl.policy import MODELS_DIR, plan_with_policy
    from furnsim.rules import get_rule, rule_names
    from furnsim.validate import validate

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder with the candidate ppo-<goal>.zip")
    ap.add_argument("--baseline", default=str(MODELS_DIR), help="folder of the models to beat")
    ap.add_argument("--goals", default=",".join(GOALS))
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--budgets", default="1.5,10")
    ap.add_argument("--out", default="runs/rl_search_eval.jsonl")
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument(
        "--wait", action="store_true", help="wait for a model still training (its sidecar)"
    )
    a = ap.parse_args()
    torch.set_num_threads(1)
    goals = [g for g in a.goals.split(",") if g]
    budgets = [float(b) for b in a.budgets.split(",")]
    weeks = held_out_weeks(a.weeks)
    folders = {"shipped": Path(a.baseline), "new": Path(a.models)}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rule_sched = {}
    for i, w in enumerate(weeks):  # every rule once per week; costs per goal below
        for r in rule_names(True):
            s, sim = get_rule(r).plan(w)
            rule_sched[(i, r)] = None if sim.deadlock is not None else s
    print(f"rules planned in {time.perf_counter() - t0:.0f} s", flush=True)
    summary: list[str] = []
    with out.open("a", encoding="utf-8") as f:
        for g in goals:
            while a.wait and not (folders["new"] / f"ppo-{g}.json").exists():
                time.sleep(10)
            side = json.loads((folders["shipped"] / f"ppo-{g}.json").read_text())
            teacher = str(side["teacher"]).upper()
            bk = best_known(g)
            res: dict[tuple[str, float], list[float]] = {}
            greedy: dict[str, list[float]] = {}
            passes: dict[tuple[str, float], list[int]] = {}
            ref, oracle, lbs, bks = [], [], [], []
            for i, w in enumerate(weeks):
                rc = {
                    r: (math.inf if rule_sched[(i, r)] is None else cost(rule_sched[(i, r)], g, w))
                    for r in rule_names(True)
                }
                ref.append(rc[teacher])
                oracle.append(min(rc.values()))
                lbs.append(cost_lb(w, g))
                bks.append(float(bk.get(str(HELD_OUT_SEED + i), {}).get("cost", math.nan)))
                for name, folder in folders.items():
                    for b in budgets:
                        t1 = time.perf_counter()
                        s, det = plan_with_policy(
                            w, g, model=folder / f"ppo-{g}.zip", time_budget_s=b
                        )
                        secs = time.perf_counter() - t1
                        viol = validate(s, w)
                        c = float(cost(s, g, w)) if s.complete and not viol else math.inf
                        res.setdefault((name, b), []).append(c)
                        passes.setdefault((name, b), []).append(int(det["passes"]))
                        if b == budgets[0]:
                            greedy.setdefault(name, []).append(float(det["greedy_cost"]))
                        rec = {
                            "goal": g,
                            "model": name,
                            "seed": HELD_OUT_SEED + i,
                            "jobs": int(w.compiled.n_jobs),
                            "budget_s": b,
                            "cost": c,
                            "greedy_cost": det["greedy_cost"],
                            "passes": det["passes"],
                            "seconds": round(secs, 2),
                            "invalid": len(viol),
                            "teacher": teacher,
                            "teacher_cost": rc[teacher],
                            "per_week_best_rule": oracle[-1],
                            "lb": lbs[-1],
                            "best_known": bks[-1],
                            "load": os.getloadavg()[0],
                        }
                        f.write(json.dumps(rec) + "\n")
                        f.flush()
                print(f"{g} week {i}: done ({time.perf_counter() - t0:.0f} s)", flush=True)
            r_ = np.array(ref)
            summary.append(f"\n{g} (best single rule {teacher}; {len(weeks)} held-out weeks)")
            summary.append(
                "| model | budget | PPO / best single rule (mean of ratios) | ratio of sums | "
                "/ per-week best rule | / best known | wins vs rule | invalid | passes (mean) |"
            )
            summary.append("|---|---|---|---|---|---|---|---|---|")
            for name in folders:
                gr = np.array(greedy[name])
                summary.append(
                    f"| {name} | greedy | {np.mean(gr / r_):.4f} | {gr.sum() / r_.sum():.4f} | "
                    f"{np.mean(gr / np.array(oracle)):.4f} | {np.nanmean(gr / np.array(bks)):.4f} | "
                    f"{int(np.sum(gr < r_ - 1e-9))}/{len(weeks)} | | 1 |"
                )
                for b in budgets:
                    c = np.array(res[(name, b)])
                    summary.append(
                        f"| {name} | {b:g} s | {np.mean(c / r_):.4f} | {c.sum() / r_.sum():.4f} | "
                        f"{np.mean(c / np.array(oracle)):.4f} | {np.nanmean(c / np.array(bks)):.4f} | "
                        f"{int(np.sum(c < r_ - 1e-9))}/{len(weeks)} | "
                        f"{int(np.sum(~np.isfinite(c)))} | {np.mean(passes[(name, b)]):.1f} |"
                    )
            summary.append(
                f"per-week best rule / {teacher}: {np.mean(np.array(oracle) / r_):.4f}; "
                f"best known / {teacher}: {np.nanmean(np.array(bks) / r_):.4f}; "
                f"LB / {teacher}: {np.mean(np.array(lbs) / r_):.4f}"
            )
            print("\n".join(summary[-(len(folders) * (len(budgets) + 1) + 4) :]), flush=True)
    if not a.no_demo:
        from furnsim.io import load_instance
        from furnsim.plan import plan

        demo = load_instance(REPO / "bom_data" / "demo")
        for g in goals:
            for name, folder in folders.items():
                r = plan(demo, g, "ppo", models_dir=folder)
                fb = getattr(r, "fallback", None)
                line = (
                    f"demo week {g} {name}: cost {r.cost:,.2f}, method {r.method}, "
                    f"fallback {fb if fb else 'none'}"
                )
                summary.append(line)
                print(line, flush=True)
    print("\n".join(summary))
    print(f"total {time.perf_counter() - t0:.0f} s, load {os.getloadavg()}")


if __name__ == "__main__":
    main()
