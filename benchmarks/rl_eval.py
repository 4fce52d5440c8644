"""Shipped policies vs every dispatching rule on held-out demo-plant weeks, and plan-time scaling.

    python benchmarks/rl_eval.py                      # 20 held-out weeks, all goals, + scaling
    python benchmarks/rl_eval.py --weeks 5 --no-scaling
    python benchmarks/rl_eval.py --out docs/rl_eval.md

The policy is run as shipped (``plan_with_policy``): one greedy pass plus sampled passes
(the model's ``plan_samples``, stopped by a 1.5 s budget), the cheapest kept; the greedy
pass alone and all K passes without a time budget are reported too. The K seeded passes are
run once per week; the shipped result is the prefix that the budget rule admits, from the
measured pass times. ``LB`` is the valid lower bound of ``rl_headroom.py``.

Held-out weeks use seeds ``10000 + i`` (training draws from other seeds: selection 1000+,
validation 2000+, cloning 3000+, environments 4000+) and sizes drawn uniformly from 100–600
jobs with ``numpy.random.default_rng(10000)``. Every schedule is checked by the independent
validator and priced by the same ``furnsim.goals.cost``. The *best single rule* is the one
chosen on the training-side selection weeks (the model sidecar's ``teacher``), not the one
that happens to win on these weeks; the per-week oracle "best rule" is reported too.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from furnsim.benchmarks import (  # noqa: E402 - the weeks and bounds live in the package
    GOALS,
    HELD_OUT_SEED,
    cost_lb,
    generated_week,
    held_out_weeks,
    read_jsonl,
)

REPO = Path(__file__).resolve().parent.parent


def load_cpsat(path: Path = REPO / "benchmarks" / "rl_cpsat.jsonl") -> dict:
    """{(goal, seed): record} of ``rl_cpsat.py``'s results file."""
    return {(r["goal"], int(r["seed"])): r for r in read_jsonl(path)}


def evaluate(weeks: list, goals: tuple[str, ...], budget: float = 1.5) -> str:
    import torch

    from furnsim.goals import cost
    from furnsim.kpi import kpis
    from furnsim.rl.policy import load_planner
    from furnsim.rules import get_rule, rule_names
    from furnsim.validate import validate

    torch.set_num_threads(1)
    rules = rule_names(True)
    # rule KPIs once per (rule, week); costs per goal from the same KPIs
    rule_k: dict[str, list] = {}
    for r in rules:
        ks = []
        for w in weeks:
            s, sim = get_rule(r).plan(w)
            ks.append(None if sim.deadlock is not None else kpis(s, w))
        rule_k[r] = ks
    lines = [
        f"Held-out demo-plant weeks: {len(weeks)} (seeds {HELD_OUT_SEED}..{HELD_OUT_SEED + len(weeks) - 1}), "
        f"jobs {min(w.compiled.n_jobs for w in weeks)}–{max(w.compiled.n_jobs for w in weeks)}.",
        "",
    ]
    summary = [
        "| goal | best single rule (train) | its mean cost | PPO mean cost | **PPO / best single rule** (mean of ratios) | ratio of means | PPO greedy only / best single rule | PPO all K passes (no time budget) / best single rule | PPO / per-week best rule | LB / best single rule | PPO wins | invalid | passes within budget (mean) | plan time greedy / shipped / all K (s, mean) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    detail: list[str] = []
    cp_lines: list[str] = []

    cp = load_cpsat()
    for g in goals:
        try:
            planner = load_planner(g)
        except FileNotFoundError as e:
            summary.append(f"| {g} | - | - | (no model: {e}) | | | | | | |")
            continue
        teacher = str(planner.meta.get("teacher", "")).upper()
        rc = {
            r: np.array([math.inf if k is None else cost(k, g) for k in rule_k[r]]) for r in rules
        }
        k = int(planner.meta.get("plan_samples", 1))
        tau = float(planner.meta.get("plan_temperature", 1.0))
        pc, gc, fc, times, gtimes, ftimes, passes, invalid = [], [], [], [], [], [], [], 0
        for w in weeks:
            # the K seeded passes once; the shipped result is the prefix of them that the
            # time-budget rule of plan_best admits (same passes, same order, measured times)
            _, _, info = planner.plan_best(w, g, samples=k, temperature=tau, keep_all=True)
            cs, ts = info["sample_costs"], info["pass_s"]
            n, elapsed, longest = 1, ts[0], ts[0]
            while n < len(ts) and elapsed + longest <= budget:
                elapsed += ts[n]
                longest = max(longest, ts[n])
                n += 1
            j = int(np.argmin(cs[:n]))
            s, sim = info["passes"][j]
            bad = sim.deadlock is not None or bool(validate(s, w))
            invalid += int(bad)
            pc.append(math.inf if bad else cs[j])
            times.append(elapsed)
            passes.append(n)
            gc.append(cs[0])
            gtimes.append(ts[0])
            jf = int(np.argmin(cs))
            sf, simf = info["passes"][jf]
            fc.append(math.inf if simf.deadlock is not None or validate(sf, w) else cs[jf])
            ftimes.append(sum(ts))
        p = np.array(pc)
        b = rc[teacher]
        oracle = np.min(np.vstack(list(rc.values())), axis=0)
        lb = np.array([cost_lb(w, g) for w in weeks])
        ratio = p / b
        summary.append(
            f"| {g} | {teacher} | {b.mean():.0f} | {p.mean():.0f} | **{ratio.mean():.3f}** | {p.mean() / b.mean():.3f} | "
            f"{np.mean(np.array(gc) / b):.3f} | {np.mean(np.array(fc) / b):.3f} | "
            f"{np.mean(p / oracle):.3f} | {np.mean(lb / b):.3f} | "
            f"{int((p < b).sum())}/{len(weeks)} | {invalid} | {np.mean(passes):.1f} | "
            f"{np.mean(gtimes):.2f} / {np.mean(times):.2f} / {np.mean(ftimes):.2f} |"
        )
        cw = [
            (i, cp[(g, HELD_OUT_SEED + i)])
            for i in range(len(weeks))
            if (g, HELD_OUT_SEED + i) in cp and math.isfinite(cp[(g, HELD_OUT_SEED + i)]["cost"])
        ]
        if cw:
            idx = [i for i, _ in cw]
            cc = np.array([r["cost"] for _, r in cw])
            lbs = [(i, r["lower_bound"]) for i, r in cw if r.get("lower_bound")]
            cp_lines.append(
                f"| {g} | {len(cw)} ({', '.join(str(HELD_OUT_SEED + i) for i in idx)}) | "
                f"{np.mean(p[idx] / cc):.3f} | {np.mean(cc / b[idx]):.3f} | "
                + (
                    f"{np.mean([lb_ / b[i] for i, lb_ in lbs]):.3f} ({len(lbs)} weeks)"
                    if lbs
                    else "-"
                )
                + f" | {', '.join(sorted({str(r['status']).split(' (')[0] for _, r in cw}))} |"
            )
        detail.append(
            f"\n**{g}** — mean cost ratio of every rule to the best single rule ({teacher}) on the same weeks:\n"
        )
        detail.append("| method | mean ratio to " + teacher + " |")
        detail.append("|---|---|")
        rows = [
            (
                f"PPO shipped ({planner.meta.get('timesteps')} steps, {k} passes)",
                float(ratio.mean()),
            ),
            ("PPO greedy pass only", float(np.mean(np.array(gc) / b))),
            (f"PPO all {k} passes, no time budget", float(np.mean(np.array(fc) / b))),
            ("per-week best of the 18 rules", float(np.mean(oracle / b))),
            ("valid lower bound (rl_headroom.py)", float(np.mean(lb / b))),
        ]
        rows += [(r, float(np.mean(rc[r] / b))) for r in rules]
        for name, v in sorted(rows, key=lambda x: x[1]):
            detail.append(f"| {name} | {v:.3f} |")
    if cp_lines:
        cp_lines = [
            "",
            "CP-SAT 60 s (benchmarks/rl_cpsat.py, 1 worker, warm start = best rule; weeks it finished):",
            "",
            "| goal | weeks | PPO / CP-SAT | CP-SAT / best single rule | CP-SAT lower bound / best single rule | status |",
            "|---|---|---|---|---|---|",
            *cp_lines,
        ]
    return "\n".join(lines + summary + cp_lines + detail) + "\n"


def demo_week(goals: tuple[str, ...], budget: float = 1.5) -> str:
    """The shipped demo week (bom_data/demo/plant.yaml with its orders): PPO vs rules vs LB."""

    from furnsim.goals import cost
    from furnsim.io import load_instance
    from furnsim.rl.policy import load_planner
    from furnsim.rules import best_rule, get_rule
    from furnsim.validate import validate

    w = load_instance(REPO / "bom_data" / "demo" / "plant.yaml")
    out = [
        f"The shipped demo week (`bom_data/demo/plant.yaml`, {w.compiled.n_jobs} jobs, "
        f"{w.compiled.n_ops} operations):",
        "",
        "| goal | best single rule (train) | its cost | best of 18 rules | PPO shipped | PPO greedy | PPO / best single rule | valid lower bound | LB / best single rule |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for g in goals:
        try:
            planner = load_planner(g)
        except FileNotFoundError:
            continue
        t = str(planner.meta.get("teacher", "")).upper()
        rc = cost(get_rule(t).plan(w)[0], g, w)
        br = best_rule(w, g)
        gs, gsim = planner.plan(w)
        s, sim, _ = planner.plan_best(
            w,
            g,
            samples=int(planner.meta.get("plan_samples", 1)),
            temperature=float(planner.meta.get("plan_temperature", 1.0)),
            time_budget_s=budget,
        )
        assert sim.deadlock is None and not validate(s, w)
        pc, gc, lb = cost(s, g, w), cost(gs, g, w), cost_lb(w, g)
        out.append(
            f"| {g} | {t} | {rc:.0f} | {br.cost:.0f} ({br.rule}) | {pc:.0f} | {gc:.0f} | "
            f"{pc / rc:.3f} | {lb:.0f} | {lb / rc:.3f} |"
        )
    return "\n".join(out) + "\n"


def scaling(goal: str, sizes: list[int], budget: float = 1.5) -> str:
    import torch

    from furnsim.rl.policy import load_planner
    from furnsim.rules import get_rule
    from furnsim.validate import validate

    torch.set_num_threads(1)
    planner = load_planner(goal)
    out = [
        f"Plan time of the shipped `{goal}` policy (one greedy pass, 1 thread) on generated 150-machine weeks:",
        "",
        "| jobs | operations | machines | dispatches | greedy pass (s) | greedy valid | shipped: passes | shipped plan (s) | shipped valid | ATCS rule plan (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    k = int(planner.meta.get("plan_samples", 1))
    tau = float(planner.meta.get("plan_temperature", 1.0))
    for n in sizes:
        inst = generated_week(n)
        ci = inst.compiled
        t0 = time.perf_counter()
        s, sim = planner.plan(inst)
        tp = time.perf_counter() - t0
        ok = sim.deadlock is None and not validate(s, inst)
        t0 = time.perf_counter()
        s2, sim2, info = planner.plan_best(
            inst, goal, samples=k, temperature=tau, time_budget_s=budget
        )
        ts = time.perf_counter() - t0
        ok2 = sim2.deadlock is None and not validate(s2, inst)
        t0 = time.perf_counter()
        get_rule("ATCS").plan(inst)
        tr = time.perf_counter() - t0
        out.append(
            f"| {ci.n_jobs} | {ci.n_ops} | {ci.n_machines} | {sim.steps} | {tp:.2f} | {ok} | "
            f"{info['samples']} | {ts:.2f} | {ok2} | {tr:.2f} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--goals", default=",".join(GOALS))
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--sizes", default="100,500,1000,2000")
    ap.add_argument("--out", default=None)
    ap.add_argument("--budget", type=float, default=1.5, help="sampling time budget (s)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    goals = tuple(g for g in a.goals.split(",") if g)
    text = evaluate(held_out_weeks(a.weeks), goals, a.budget)
    text += "\n" + demo_week(goals, a.budget)
    if not a.no_scaling:
        text += "\n" + scaling("speed", [int(x) for x in a.sizes.split(",")], a.budget)
    text += f"\n(total {time.perf_counter() - t0:.0f} s)\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
