"""What the policy adds to the optimizer: ``lns`` with and without the policy's moves, equal CPU.

    # one variant on held-out weeks 10000+FIRST .. 10000+LAST, all goals, BUDGET CPU-s each
    nice python benchmarks/ppo_lns_ablation.py run A 10 0-5 [--out FILE]
    python benchmarks/ppo_lns_ablation.py compare [--out FILE]     # X / A per goal
    # outside the LNS: eps-noisy passes of the week's best rule, uniform vs policy deviations
    nice python benchmarks/ppo_lns_ablation.py noise --weeks 6 --passes 16

Variants (``furnsim.solvers.lns.lns``, seed 0, ``clock="cpu"``; the start is the best rule or
the shipped policy's greedy pass in every variant):

- ``A`` -- plain ``lns`` (window, group, orders);
- ``B`` -- + ``policy-window`` (deviations drawn from the policy at temperature 1): the
  default of ``ppo-lns``;
- ``C`` -- + ``policy-window``, ``policy-tail`` and the policy as a third suffix mode;
- ``D`` -- ``policy-window`` instead of ``window``.

Rows: ``benchmarks/ppo_lns_ablation.jsonl`` (cost, start, neighbours, improvements, the moves
per neighbourhood, CPU seconds, load). docs/optimizer.md, "Policy + optimizer".
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.benchmarks import GOALS, HELD_OUT_SEED, held_out_weeks, read_jsonl

OUT = Path(__file__).resolve().parent / "ppo_lns_ablation.jsonl"
_BASE = ("window", "group", "orders")
VARIANTS: dict[str, dict[str, Any]] = {
    "A": {},
    "B": {"neighbourhoods": (*_BASE, "policy-window"), "policy": True},
    "C": {
        "neighbourhoods": (*_BASE, "policy-window", "policy-tail"),
        "policy_suffix": True,
        "policy": True,
    },
    "D": {"neighbourhoods": ("policy-window", "group", "orders"), "policy": True},
}


def cmd_run(a: argparse.Namespace) -> None:
    import torch

    from furnsim.rl.policy import load_planner
    from furnsim.solvers.lns import lns

    torch.set_num_threads(1)
    kw = dict(VARIANTS[a.variant])
    with_policy = kw.pop("policy", False)
    lo, hi = (int(x) for x in a.weeks.split("-"))
    weeks = held_out_weeks(hi + 1)
    for g in GOALS:  # load each policy and make one pass first (feature code compiles)
        load_planner(g).plan(weeks[0])
    for wi in range(lo, hi + 1):
        for g in GOALS:
            pl = load_planner(g)
            c0 = time.process_time()
            r = lns(
                weeks[wi],
                g,
                time_limit=a.budget,
                clock="cpu",
                seed=0,
                policy=pl if with_policy else None,
                **kw,
            )
            row = {
                "variant": a.variant,
                "week": HELD_OUT_SEED + wi,
                "goal": g,
                "cost": r.cost,
                "start": r.start,
                "start_cost": r.start_cost,
                "it": r.iterations,
                "imp": r.improvements,
                "cpu": round(time.process_time() - c0, 2),
                "load": os.getloadavg()[0],
                "moves": {k: v for k, v in r.moves.items() if v["tried"]},
            }
            with Path(a.out).open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            print(a.variant, wi, g, round(r.cost, 1), r.iterations, r.improvements, row["cpu"])


class GuidedNoisy:
    """The rule's pick, or with probability ``eps`` another job drawn from the policy at
    temperature ``tau`` (``furnsim.solvers.lns.policy_sample`` without the rule's pick)."""

    def __init__(self, rule: Any, eps: float, rng: Any, policy: Any, tau: float) -> None:
        self.rule, self.eps, self.rng, self.policy, self.tau = rule, eps, rng, policy, tau
        self.name = f"{rule.name}~policy"

    def choose(self, sim: Any, d: Any) -> int:
        from furnsim.solvers.lns import policy_sample

        own = int(self.rule.choose(sim, d))
        if d.candidates.size > 1 and self.rng.random() < self.eps:
            return policy_sample(self.policy, sim, d, self.tau, self.rng, exclude=own)
        return own


def cmd_noise(a: argparse.Namespace) -> None:
    """Best of ``passes`` eps-noisy passes of the week's best rule: uniform deviations vs
    deviations drawn from the policy (tau 0.3, 1, 3); costs / the rule's, CPU s per pass."""
    import torch

    from furnsim.goals import cost
    from furnsim.rl.policy import load_planner
    from furnsim.rules import NoisyPolicy, best_rule, get_rule, run_policy

    torch.set_num_threads(1)
    weeks = held_out_weeks(a.weeks)
    wins: collections.Counter[str] = collections.Counter()
    for wi, inst in enumerate(weeks):
        for g in GOALS:
            pol = load_planner(g)
            br = best_rule(inst, g)
            rule = get_rule(br.rule)
            res: dict[str, tuple[float, float]] = {}
            for name, tau in (("uniform", 0.0), ("tau0.3", 0.3), ("tau1", 1.0), ("tau3", 3.0)):
                best, c0 = np.inf, time.process_time()
                for i in range(a.passes):
                    rng = np.random.default_rng([wi, i])
                    p = (
                        NoisyPolicy(rule, a.eps, rng)
                        if tau == 0
                        else GuidedNoisy(rule, a.eps, rng, pol, tau)
                    )
                    s, sim = run_policy(inst, p)
                    if sim.deadlock is None:
                        best = min(best, float(cost(s, g, inst)) / br.cost)
                res[name] = (round(best, 4), round((time.process_time() - c0) / a.passes, 3))
                if tau:
                    u = res["uniform"][0]
                    wins[f"{name} better"] += best < u - 1e-9
                    wins[f"{name} worse"] += best > u + 1e-9
            row = {"week": HELD_OUT_SEED + wi, "goal": g, "rule": br.rule, **res}
            row["load"] = os.getloadavg()[0]
            print(json.dumps(row), flush=True)
    print(dict(wins))


def cmd_compare(a: argparse.Namespace) -> None:
    rows = read_jsonl(a.out)
    by: dict[tuple[int, str], dict[str, float]] = collections.defaultdict(dict)
    for r in rows:
        by[(r["week"], r["goal"])][r["variant"]] = r["cost"]
    for v in sorted({r["variant"] for r in rows} - {"A"}):
        for g in (*GOALS, None):
            rs = [
                d[v] / d["A"]
                for (_, gg), d in by.items()
                if v in d and "A" in d and (g is None or gg == g)
            ]
            if rs:
                print(
                    f"{v}/A {g or 'all':13s} pairs {len(rs):2d} mean of ratios "
                    f"{np.mean(rs):.4f} better {sum(x < 1 - 1e-9 for x in rs)} "
                    f"worse {sum(x > 1 + 1e-9 for x in rs)}"
                )
        moves: collections.Counter[str] = collections.Counter()
        for r in rows:
            if r["variant"] == v:
                for k, m in r["moves"].items():
                    moves[f"{k} tried"] += m["tried"]
                    moves[f"{k} improved"] += m["improved"]
        print(f"{v} moves: {dict(moves)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("variant", choices=sorted(VARIANTS))
    r.add_argument("budget", type=float, help="CPU seconds per plan")
    r.add_argument("weeks", help="FIRST-LAST held-out week indices, e.g. 0-5")
    r.add_argument("--out", default=str(OUT))
    r.set_defaults(fn=cmd_run)
    c = sub.add_parser("compare")
    c.add_argument("--out", default=str(OUT))
    c.set_defaults(fn=cmd_compare)
    n = sub.add_parser("noise")
    n.add_argument("--weeks", type=int, default=6)
    n.add_argument("--passes", type=int, default=16)
    n.add_argument("--eps", type=float, default=0.05)
    n.set_defaults(fn=cmd_noise)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
