"""Empty Buffers, priced as the planners return it (released just in time): which rule wins
each week, and whether the shipped policy's sampled passes get near it (docs/rl.md, "Why
sampling cannot close it").

    python benchmarks/eb_released_probe.py rules        # every rule, training selection 1000-1007
                                                        # and validation weeks 2000-2009
    python benchmarks/eb_released_probe.py demo 1,2,4 24    # 24 policy passes per temperature
    python benchmarks/eb_released_probe.py heldout 0,1,2,3,4,5,6,7 8    # held-out weeks, 8 passes
"""

from __future__ import annotations

import math
import sys

import numpy as np

GOAL = "empty-buffers"


def released_cost(inst, schedule, sim) -> float:
    from furnsim.goals import cost
    from furnsim.solvers.release import release_if_cheaper

    if sim.deadlock is not None:
        return math.inf
    c = float(cost(schedule, GOAL, inst))
    r = release_if_cheaper(inst, schedule, GOAL, plain_cost=c)
    return c if r is None else r[1]


def rules() -> None:
    from furnsim.env.weeks import make_source
    from furnsim.rl.train import _weeks
    from furnsim.rules import get_rule, rule_names

    src = make_source(None, (60, 200))
    for tag, seed, n in (("selection", 1000, 8), ("validation", 2000, 10)):
        weeks = _weeks(src, seed, n, [100, 600])
        costs = {}
        for name in rule_names(True):
            rule = get_rule(name)
            costs[name] = [released_cost(w, *rule.plan(w)) for w in weeks]
        for i in range(n):
            col = {k: v[i] for k, v in costs.items()}
            win = min(col, key=col.get)
            print(f"{tag} week {seed + i}: best released {win} {col[win] / col['ATCS']:.3f} x ATCS,"
                  f" FIFO {col['FIFO'] / col['ATCS']:.3f} x ATCS")  # fmt: skip
        print(
            tag, "sums:", {k: round(sum(v)) for k, v in costs.items() if all(map(math.isfinite, v))}
        )


def passes(weeks: list, temperatures: list[float], n: int) -> None:
    from furnsim.rl.policy import load_planner

    pol = load_planner(GOAL)
    for label, inst in weeks:
        for tau in temperatures:
            _, _, info = pol.plan_best(inst, GOAL, samples=n, temperature=tau, keep_all=True)
            rel = [released_cost(inst, s, sim) for s, sim in info["passes"]]
            kept = int(np.argmin(info["sample_costs"]))  # what the planner keeps, then releases
            print(f"{label} tau {tau}: greedy released {rel[0]:,.2f}, kept pass released "
                  f"{rel[kept]:,.2f}, cheapest released {min(rel):,.2f}; "
                  f"released sorted {[round(x) for x in sorted(rel)[:5]]}")  # fmt: skip


def main() -> None:
    what = sys.argv[1]
    if what == "rules":
        rules()
    elif what == "demo":
        from furnsim.io import load_instance

        inst = load_instance("bom_data/demo")
        passes([("demo", inst)], [float(t) for t in sys.argv[2].split(",")], int(sys.argv[3]))
    elif what == "heldout":
        from furnsim.benchmarks import HELD_OUT_SEED, held_out_weeks

        idx = [int(i) for i in sys.argv[2].split(",")]
        ws = held_out_weeks(max(idx) + 1)
        passes([(f"week {HELD_OUT_SEED + i}", ws[i]) for i in idx], [1.0], int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
