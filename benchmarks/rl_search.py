"""Search curves: more passes from the policy vs the same number of noisy rule passes.

    python benchmarks/rl_search.py                              # 20 held-out weeks, all goals
    python benchmarks/rl_search.py --goals speed --weeks 5 --passes 16
    python benchmarks/rl_search.py --goals efficiency --passes 256 --eps "" \
        --out benchmarks/rl_search_long.jsonl                   # the policy alone, longer

``plan(..., method="ppo", time_limit=T)`` makes one greedy pass and then samples passes from
the policy until ``T`` is spent, keeping the cheapest. This script measures what that buys,
on the held-out weeks of ``rl_eval.py`` (seeds 10000 + i, 100–600 jobs), as a function of
the number of passes (1 = greedy, then 8, 16, 32, 64; machine-independent), with the time a
pass takes. It also asks whether the gain comes from the *policy* or from *search alone*:
the control makes the same number of passes with the best single rule (the model's teacher),
where each decision takes a uniformly random candidate with probability ``eps`` instead of
the rule's pick (ε-greedy rule sampling, ``furnsim.rules.search_noisy``; the first pass is
the rule itself). With
``--policy-eps`` the policy is run the same way (its greedy pick, or a random candidate with
probability ε), which separates "a better proposal distribution" from "sampling at τ".

Reported per goal: mean over weeks of cost / best single rule (*mean of ratios*) and total
cost / total cost of the best single rule (*ratio of means*: the issue's "mean cost") after
1, 8, 16, 32 and 64 passes, for the policy and for each ``eps``. Each (goal, week, method)
writes one JSON line to ``--out`` (default ``benchmarks/rl_search.jsonl``): every pass's
cost in order, and the seconds. Every kept schedule is validated by ``furnsim.validate``.
The noisy rule gets more passes (``--rule-passes``, default 256) than the policy (64) because
its passes are cheaper; the time columns compare them at equal pass time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "rl_search.jsonl"
CHECKPOINTS = (1, 8, 16, 32, 64, 128, 256, 512)  # shown up to the longest run in the file
TIME_CHECKPOINTS = (1.5, 5.0, 20.0, 60.0)  # seconds of pass time (loading, validation excluded)


def noisy_passes(inst, goal: str, policy, eps: float, n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """``n`` passes of ``rules.search_noisy``: the policy's own pass, then ε-noisy ones."""
    from furnsim.rules import search_noisy

    sched, _sim, info = search_noisy(inst, goal, policy, passes=n, eps=eps, seed=seed)
    return info["costs"], info["pass_s"], sched


def policy_passes(planner, inst, goal: str, n: int, tau: float, seed: int = 0):  # type: ignore[no-untyped-def]
    sched, _sim, info = planner.plan_best(inst, goal, samples=n, temperature=tau, seed=seed)
    return info["sample_costs"], info["pass_s"], sched


def _within(r: dict, seconds: float) -> tuple[float, bool]:
    """Cheapest cost among the passes that finished within ``seconds`` of pass time (the
    first pass always counts), and whether the run was long enough to reach ``seconds``."""
    t = np.cumsum(r["pass_s"])
    k = max(int(np.searchsorted(t, seconds, side="right")), 1)
    return min(r["costs"][:k]), bool(t[-1] >= seconds)


def summarize(records: list[dict], goals: tuple[str, ...]) -> str:
    longest = max((len(r["costs"]) for r in records if r["goal"] in goals), default=1)
    checkpoints = [k for k in CHECKPOINTS if k <= longest]
    head = [f"{k} passes" for k in checkpoints] + [f"{t:g} s" for t in TIME_CHECKPOINTS]
    lines = [
        "| goal | method | weeks | " + " | ".join(head) + " | s per pass (mean) |",
        "|---|---|---|" + "---|" * len(head) + "---|",
    ]
    for g in goals:
        recs = [r for r in records if r["goal"] == g]
        base = {r["seed"]: r["costs"][0] for r in recs if r["method"] == "rule"}
        if not base:
            continue
        for m in dict.fromkeys(r["method"] for r in recs):
            rs = [r for r in recs if r["method"] == m and r["seed"] in base]
            t = np.array([base[r["seed"]] for r in rs])
            cells = []
            for k in checkpoints:
                if any(len(r["costs"]) < k for r in rs):
                    cells.append("–")
                    continue
                b = np.array([min(r["costs"][:k]) for r in rs])
                cells.append(f"{np.mean(b / t):.3f} / {b.sum() / t.sum():.3f}")
            for sec in TIME_CHECKPOINTS:
                got = [_within(r, sec) for r in rs]
                b = np.array([c for c, _ in got])
                short = "" if all(ok for _, ok in got) or m == "rule" else " (all passes)"
                cells.append(f"{np.mean(b / t):.3f} / {b.sum() / t.sum():.3f}{short}")
            sp = np.mean([np.mean(r["pass_s"]) for r in rs])
            lines.append(f"| {g} | {m} | {len(rs)} | " + " | ".join(cells) + f" | {sp:.2f} |")
    lines.append(
        "\nCells: mean of per-week ratios / ratio of total costs, both to the best single rule's "
        "cost on the same week (its deterministic pass); lower is better. *n passes*: the "
        "cheapest of the first n; *t s*: the cheapest of the passes done within t seconds of "
        'pass time, on this machine ("all passes": the run ended before t on some weeks).'
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import torch

    from furnsim.benchmarks import held_out_weeks
    from furnsim.rl.policy import load_planner
    from furnsim.rules import get_rule
    from furnsim.validate import validate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--goals", default="speed,efficiency,empty-buffers")
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--passes", type=int, default=64, help="policy passes per week")
    ap.add_argument("--rule-passes", type=int, default=256, help="noisy-rule passes per week")
    ap.add_argument("--eps", default="0.05,0.2", help="noise levels of the rule control")
    ap.add_argument(
        "--policy-eps", default="", help="noise levels of the ε-greedy policy (e.g. 0.05)"
    )
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--summary-only", action="store_true", help="only print the table of --out")
    a = ap.parse_args(argv)
    goals = tuple(a.goals.split(","))
    out = Path(a.out)
    records = (
        [json.loads(x) for x in out.read_text().splitlines() if x.strip()] if out.exists() else []
    )
    if not a.summary_only:
        torch.set_num_threads(1)
        done = {(r["goal"], r["seed"], r["method"]) for r in records}
        weeks = held_out_weeks(a.weeks)
        for g in goals:
            planner = load_planner(g)
            teacher = str(planner.meta["teacher"]).upper()
            tau = float(planner.meta.get("plan_temperature", 1.0))
            methods: list[tuple[str, float | None]] = [("rule", 0.0)]
            if a.passes > 0:
                methods.append(("policy", None))
            methods += [(f"rule~{e}", float(e)) for e in a.eps.split(",") if e]
            methods += [(f"policy~{e}", float(e)) for e in a.policy_eps.split(",") if e]
            for i, w in enumerate(weeks):
                seed = 10_000 + i
                for m, eps in methods:
                    if (g, seed, m) in done:
                        continue
                    t = time.perf_counter()
                    if m == "policy":
                        costs, secs, s = policy_passes(planner, w, g, a.passes, tau)
                    elif m.startswith("policy~"):
                        costs, secs, s = noisy_passes(w, g, planner, eps or 0.0, a.passes)
                    else:
                        n = 1 if m == "rule" else a.rule_passes
                        costs, secs, s = noisy_passes(w, g, get_rule(teacher), eps or 0.0, n)
                    viol = validate(s, w)
                    rec = {
                        "goal": g,
                        "seed": seed,
                        "jobs": int(w.compiled.n_jobs),
                        "method": m,
                        "teacher": teacher,
                        "temperature": tau if m == "policy" else None,
                        "costs": costs,
                        "pass_s": [round(x, 4) for x in secs],
                        "valid": not viol,
                        "wall_s": round(time.perf_counter() - t, 2),
                    }
                    assert not viol, f"{g} week {seed} {m}: invalid plan {viol[:3]}"
                    records.append(rec)
                    with out.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(rec) + "\n")
                    print(
                        f"{g} {seed} ({rec['jobs']} jobs) {m}: first {costs[0]:.0f}, best "
                        f"{min(costs):.0f} of {len(costs)} in {rec['wall_s']:.0f} s",
                        flush=True,
                    )
    print(summarize(records, goals))


if __name__ == "__main__":
    main()
