"""Rule-choice (DFJSP) policy vs the shipped candidate scorer on the held-out weeks (issue 5).

    python benchmarks/rl_rules_compare.py /tmp/rules_speed/ppo-rules-speed.zip
    python benchmarks/rl_rules_compare.py MODEL.zip --weeks 5 --goal speed --out table.md

Same 20 held-out demo-plant weeks as ``benchmarks/rl_eval.py`` (``held_out_weeks``, seeds
``10000 + i``), same ``furnsim.goals.cost`` and the independent validator for every schedule.
Compared, for one goal: the best single rule (ATCS for speed; the shipped model sidecar's
``teacher``), every one of the six composite rules (the rule-choice policy's action set), the
per-week best of those six, the rule-choice policy (greedy, and best of its ``plan_samples``
passes within the 1.5 s budget like ``plan_with_policy``), and the shipped candidate-scoring
policy ``furnsim/data/models/ppo-<goal>.zip`` (greedy pass, and as shipped: greedy + sampled passes within
the 1.5 s budget). Ratios are the mean over weeks of cost / best-single-rule cost; a win is a
strictly lower cost than the best single rule; plan time is the mean wall time per week
(1 torch thread).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from furnsim.benchmarks import HELD_OUT_SEED, held_out_weeks  # noqa: E402


def _run(fn, w, goal):
    from furnsim.goals import cost
    from furnsim.validate import validate

    t0 = time.perf_counter()
    s, sim = fn(w)
    dt = time.perf_counter() - t0
    bad = sim.deadlock is not None or bool(validate(s, w))
    return (math.inf if bad else float(cost(s, goal, w))), dt, bad


def compare(model: str, goal: str, n_weeks: int, budget: float) -> str:
    import torch

    from furnsim.rl.policy import load_planner
    from furnsim.rules import COMPOSITE_RULES, get_rule

    torch.set_num_threads(1)
    weeks = held_out_weeks(n_weeks)
    shipped = load_planner(goal)
    rules_pl = load_planner(path=model, trusted=True)  # our own rules-view run
    teacher = str(shipped.meta.get("teacher", "ATCS")).upper()

    def best_of(pl):
        k = int(pl.meta.get("plan_samples", 1))
        tau = float(pl.meta.get("plan_temperature", 1.0))

        def f(w):
            s, sim, _ = pl.plan_best(w, goal, samples=k, temperature=tau, time_budget_s=budget)
            return s, sim

        return f

    methods: dict[str, object] = {f"{teacher} (best single rule)": get_rule(teacher).plan}
    for r in COMPOSITE_RULES:
        methods[f"composite {r}"] = get_rule(r).plan
    rk = int(rules_pl.meta.get("plan_samples", 1))
    sk = int(shipped.meta.get("plan_samples", 1))
    methods["rule-choice PPO, greedy"] = rules_pl.plan
    methods[f"rule-choice PPO, greedy + sampled (<= {rk} passes, {budget} s)"] = best_of(rules_pl)
    methods["candidate scorer furnsim/data/models/ppo-" + goal + ".zip, greedy"] = shipped.plan
    methods[f"candidate scorer, as shipped (<= {sk} passes, {budget} s)"] = best_of(shipped)

    res: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    for name, fn in methods.items():
        out = [_run(fn, w, goal) for w in weeks]
        res[name] = (
            np.array([o[0] for o in out]),
            np.array([o[1] for o in out]),
            sum(o[2] for o in out),
        )
        print(f"  {name}: done", file=sys.stderr, flush=True)
    ref = res[f"{teacher} (best single rule)"][0]
    comp = np.vstack([res[f"composite {r}"][0] for r in COMPOSITE_RULES])
    comp_means = {r: float(np.mean(comp[i] / ref)) for i, r in enumerate(COMPOSITE_RULES)}
    best_comp = min(comp_means, key=comp_means.get)
    oracle = comp.min(axis=0)
    comp_t = np.vstack([res[f"composite {r}"][1] for r in COMPOSITE_RULES]).sum(axis=0)

    def row(name, c, t, bad):
        return (
            f"| {name} | {np.mean(c / ref):.3f} | {int((c < ref).sum())}/{len(weeks)} | "
            f"{bad} | {np.mean(t):.2f} |"
        )

    lines = [
        f"Goal `{goal}`; {len(weeks)} held-out demo-plant weeks (seeds {HELD_OUT_SEED}.."
        f"{HELD_OUT_SEED + len(weeks) - 1}, {min(w.compiled.n_jobs for w in weeks)}–"
        f"{max(w.compiled.n_jobs for w in weeks)} jobs); rule-choice model `{model}` "
        f"({rules_pl.meta.get('timesteps')} steps of {rules_pl.meta.get('timesteps_run')}, "
        f"reward `{rules_pl.meta.get('config', {}).get('reward')}`); shipped candidate scorer "
        f"`furnsim/data/models/ppo-{goal}.zip` ({shipped.meta.get('timesteps')} steps).",
        "",
        f"| method | mean cost ratio to {teacher} | wins vs {teacher} | invalid | plan time (s, mean) |",
        "|---|---|---|---|---|",
    ]
    order = [f"{teacher} (best single rule)", f"composite {best_comp}"]
    order += [k for k in methods if k.startswith(("rule-choice", "candidate"))]
    for name in order:
        c, t, bad = res[name]
        label = f"{name} (best of the six on these weeks)" if name == order[1] else name
        lines.append(row(label, c, t, bad))
    lines.append(row("per-week best of the six composite rules (oracle)", oracle, comp_t, 0))
    lines += [
        "",
        "All six composite rules (mean cost ratio to "
        + teacher
        + "): "
        + ", ".join(f"{r} {v:.3f}" for r, v in sorted(comp_means.items(), key=lambda x: x[1]))
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="rule-choice model .zip (with its .json sidecar)")
    ap.add_argument("--goal", default="speed")
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--budget", type=float, default=1.5, help="sampling time budget (s)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    text = compare(a.model, a.goal, a.weeks, a.budget)
    text += f"\n(total {time.perf_counter() - t0:.0f} s)\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
