"""Neighbours per CPU second with a window / group move's window decided in the compiled loop
(``lns.COMPILED_NOISE``, ``furnsim.sim.Noise``) against the same search with that window
decided in Python, one decision per call (issue 15).

    nice python benchmarks/lns_noise_bench.py --weeks 0-3 --passes 150 --out runs/noise.jsonl

For each held-out week (index 0 = seed 10000), goal and method (``lns``, ``ppo-lns``), the
optimizer makes exactly ``--passes`` neighbours with the same seed, with the flag off and on,
twice each, alternating (warm caches favour neither). It **asserts** that both give the same
cost and the very same schedule (equal work), and records the CPU seconds of the neighbours
alone (``search_s``, the faster of the two tries) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from furnsim.benchmarks import GOALS


def _weeks(spec: str) -> list[int]:
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", default="0-3")
    ap.add_argument("--goals", default=",".join(GOALS))
    ap.add_argument("--methods", default="lns,ppo-lns")
    ap.add_argument("--passes", type=int, default=150)
    ap.add_argument("--out", default="runs/lns_noise_bench.jsonl")
    a = ap.parse_args()

    import furnsim.solvers.lns as lns_mod
    from furnsim.benchmarks import held_out_weeks
    from furnsim.plan import plan

    weeks = _weeks(a.weeks)
    insts = held_out_weeks(max(weeks) + 1)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for w in weeks:
        inst = insts[w]
        for goal in a.goals.split(","):
            for method in a.methods.split(","):
                runs: dict[bool, list] = {False: [], True: []}
                for flag in (False, True, True, False):
                    lns_mod.COMPILED_NOISE = flag
                    r = plan(inst, goal, method=method, iterations=a.passes, seed=1)
                    d = r.details["lns"]
                    runs[flag].append((d["search_s"], r.cost, r.schedule))
                lns_mod.COMPILED_NOISE = True
                py, fast = runs[False][0], runs[True][0]
                assert py[1] == fast[1], (w, goal, method, py[1], fast[1])
                for f, v in py[2].times.items():
                    assert np.array_equal(v, fast[2].times[f], equal_nan=True), f
                t_py = min(x[0] for x in runs[False])
                t_fast = min(x[0] for x in runs[True])
                row = {
                    "week": 10_000 + w,
                    "jobs": int(inst.compiled.n_jobs),
                    "goal": goal,
                    "method": method,
                    "passes": a.passes,
                    "cost": py[1],
                    "python_window_s": round(t_py, 4),
                    "compiled_window_s": round(t_fast, 4),
                    "speedup": round(t_py / t_fast, 3),
                    "load": round(os.getloadavg()[0], 2),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    with out.open("a") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    for method in a.methods.split(","):
        rs = [r for r in rows if r["method"] == method]
        sp = np.array([r["speedup"] for r in rs])
        tot = sum(r["python_window_s"] for r in rs) / sum(r["compiled_window_s"] for r in rs)
        print(
            f"{method}: {len(rs)} rows, neighbours per CPU-s x{tot:.2f} (all CPU seconds), "
            f"per row mean x{sp.mean():.2f} (x{sp.min():.2f}-x{sp.max():.2f})"
        )


if __name__ == "__main__":
    main()
