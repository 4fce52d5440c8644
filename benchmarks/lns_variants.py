"""Search variants of ``lns`` against the default on training weeks (not the held-out ones).

    python benchmarks/lns_variants.py empty-buffers 10 \
        '{"default": {}, "kit": {"neighbourhoods": ["window", "group", "orders", "kit"]}}' \
        1,2 0,1,2,3,4 k10
    python benchmarks/lns_variants.py --table runs/lns_variants_k10.jsonl --reference default

Each (week, seed, config) is one ``lns`` run of ``BUDGET`` CPU seconds (``clock="cpu"``,
``start_ppo=False``) on the demo-plant training weeks of ``benchmarks/lns_tune.py``
(seeds 30000+), one JSON line each in ``runs/lns_variants_TAG.jsonl``. A config with
``"policy": true`` runs as ``ppo-lns`` does: the goal's shipped policy guides the search (its
greedy pass a start candidate, ``policy-window`` moves where listed) at the model's plan
temperature; give its ``neighbourhoods``. The table is the
geometric mean over (week, seed) of cost / the reference config's cost, with its standard
error and the number of wins. docs/optimizer.md ("Lanes, a suffix prior and kit moves").
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lns_tune import training_weeks  # noqa: E402


def run(goal: str, budget: float, cfgs: dict, seeds: list[int], wks: list[int], tag: str) -> None:
    from furnsim.solvers.lns import lns

    weeks = training_weeks(10)
    out_path = Path("runs") / f"lns_variants_{tag}.jsonl"
    out_path.parent.mkdir(exist_ok=True)
    lns(weeks[0], goal, iterations=20, seed=0)  # warm-up: the compiled loops
    guided: dict = {}
    if any(opt.get("policy") for opt in cfgs.values()):
        from furnsim.rl.policy import load_planner

        pol = load_planner(goal)
        guided = dict(policy=pol, start_ppo=True,
                      temperature=float(pol.meta.get("plan_temperature", 1.0)))  # fmt: skip
    with out_path.open("a") as out:
        for w in wks:
            for sd in seeds:
                for name, opt in cfgs.items():
                    kw = dict(opt)
                    kw.update(guided if kw.pop("policy", False) else {"start_ppo": False})
                    r = lns(weeks[w], goal, time_limit=budget, seed=sd, clock="cpu", **kw)
                    row = dict(goal=goal, week=w, seed=sd, budget=budget, cfg=name, cost=r.cost,
                               it=r.iterations, imp=r.improvements)  # fmt: skip
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    print(w, sd, name, round(r.cost, 1), r.iterations, r.improvements, flush=True)


def table(path: str, reference: str) -> None:
    """Per ``run`` field (one file may hold several), each config against ``reference``."""
    rows = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    for run_name in sorted({str(r.get("run", "")) for r in rows}):
        sub = [r for r in rows if str(r.get("run", "")) == run_name]
        cost = {(r["week"], r["seed"], str(r["cfg"])): r["cost"] for r in sub}
        for c in sorted({str(r["cfg"]) for r in sub} - {reference}):
            lr = [
                math.log(v / cost[(w, s, reference)])
                for (w, s, k), v in cost.items()
                if k == c and (w, s, reference) in cost
            ]
            if not lr:
                continue
            m = sum(lr) / len(lr)
            sd = (sum((x - m) ** 2 for x in lr) / max(1, len(lr) - 1)) ** 0.5
            print(
                f"{run_name or '-'} {sub[0]['goal']} {sub[0]['budget']:g} s: {c}: n {len(lr)}, "
                f"ratio {math.exp(m):.4f}, se {sd / len(lr) ** 0.5:.4f}, "
                f"wins {sum(x < 0 for x in lr)}"
            )


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "--table":
        table(a[1], a[3] if len(a) > 3 and a[2] == "--reference" else "default")
    else:
        run(a[0], float(a[1]), json.loads(a[2]), [int(x) for x in a[3].split(",")],
            [int(x) for x in a[4].split(",")], a[5])  # fmt: skip
