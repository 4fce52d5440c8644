"""Which plan is the better label for the generic job-shop policy: the best of N sampled
passes (self-labeling) or the optimizer's plan? (docs/rl.md, Taillard section, 2026-12-04.)

    python benchmarks/jsp_label_probe.py --size 30x20 --shops 3 --seconds 10 --samples 128

For each random job shop (Taillard's recipe, seeds 990,000+, never a training or validation
seed of the shipped runs): the shipped policy's greedy makespan, the rule LWKRMOD's, the best
of ``samples`` passes sampled from the policy (τ = 1) and its time, ``lns`` for makespan with
``seconds`` of CPU (from the best rule; ``furnsim.rl.self_label.improve_by_lns``) and
CP-SAT with ``seconds`` of wall time; each optimizer plan also replayed in the non-delay
simulator (``follow_plan``: what the policy could be taught to reproduce). One JSON line per
shop on stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from furnsim.plan import plan
from furnsim.rl.policy import load_planner
from furnsim.rl.self_label import (
    _instances,
    best_of_samples,
    follow_plan,
    improve_by_lns,
    makespan,
    parse_sizes,
    sampled_pass,
)
from furnsim.rules import get_rule

MODEL = Path(__file__).resolve().parent.parent / "furnsim" / "data" / "models" / "ppo-jsp.zip"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="30x20", help="size class, e.g. 30x20 or 20-30x15-20")
    ap.add_argument("--shops", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--model", default=str(MODEL))
    a = ap.parse_args()
    planner = load_planner(path=Path(a.model))
    for i, shop in enumerate(_instances(990_000, a.shops, sizes=parse_sizes(a.size))):
        greedy = makespan(sampled_pass(planner, shop, None)[0])
        t = time.process_time()
        best = best_of_samples(planner, shop, a.samples, 1.0, [0, i])[0]
        t_samples = time.process_time() - t
        lns_span, _ = improve_by_lns(shop, a.seconds, seed=i)
        cp = plan(shop, "speed", "cpsat", time_limit=a.seconds).schedule
        row = {
            "shop": i,
            "greedy": greedy,
            "LWKRMOD": makespan(get_rule("LWKRMOD").plan(shop)[0]),
            f"best_of_{a.samples}": best,
            "samples_cpu_s": round(t_samples, 1),
            "lns_replayed": lns_span,
            "cpsat": makespan(cp),
            "cpsat_replayed": follow_plan(shop, cp)[0],
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
