"""Passes per second of the plan-time searches on 1 and 2 worker processes.

    python benchmarks/parallel_passes.py [--jobs 300] [--passes 32] [--kinds noisy,ppo]

For each search (``noisy``: ε-noisy passes around the best rule, ``ppo``: passes sampled from
the shipped speed policy) on one held-out demo-plant week (``furnsim.benchmarks``), runs the
same number of passes with ``workers=1`` (in this process) and ``workers=2`` (processes; the
pool is started and warmed first, its start is reported separately), checks that both give
the same cost and schedule, and prints passes/s and the speed-up. Timings on a shared machine
are "loaded" timings; say so when quoting them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from furnsim.benchmarks import held_out_weeks
from furnsim.planners.parallel import PassSearch, run_pass_search, shutdown_pool


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--passes", type=int, default=32)
    ap.add_argument("--kinds", default="noisy,ppo")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args(argv)
    week = held_out_weeks(1, lo=a.jobs, hi=a.jobs)[0]
    print(f"week: {week.compiled.n_jobs} jobs, {week.compiled.n_ops} operations; {a.passes} passes")
    print("| search | workers | passes/s (best of runs) | seconds | cost | same plan as 1 worker |")
    print("|---|---|---|---|---|---|")
    for kind in a.kinds.split(","):
        job = PassSearch(kind=kind, instance=week, goal="speed", seed=0, rule="ATCS", eps=0.05)
        t0 = time.perf_counter()
        run_pass_search(job, passes=2, workers=2)  # start + warm the pool (and load the model)
        start_s = time.perf_counter() - t0
        run_pass_search(job, passes=1, workers=1)  # load the model here too
        ref = None
        for w in (1, 2):
            best = None
            for _ in range(a.repeats):
                r = run_pass_search(job, passes=a.passes, workers=w)
                if best is None or r.seconds < best.seconds:
                    best = r
            assert best is not None
            if ref is None:
                ref = best
            same = best.cost == ref.cost and all(
                np.array_equal(best.schedule.times[k], ref.schedule.times[k], equal_nan=True)
                for k in ref.schedule.times
            )
            print(
                f"| {kind} | {w} | {best.passes / best.seconds:.2f} | {best.seconds:.2f} | "
                f"{best.cost:,.2f} | {same} |"
            )
        print(f"| {kind} | pool start + warm-up (2 workers, 2 passes) | | {start_s:.2f} | | |")
    shutdown_pool()


if __name__ == "__main__":
    main()
