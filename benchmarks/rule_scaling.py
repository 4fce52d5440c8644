"""Plan time of dispatching rules (through plan()'s path, validator excluded) vs. week size.

    python benchmarks/rule_scaling.py [--rules ATC,EDD,BUFFER] [--jobs 100,250,500,1000,2000]

Generated furniture weeks with 150 machines / 30 work centers (hard buffers, setups,
transport). Prints one markdown row per (jobs, rule): plan time (simulator + rule, median of
3), ms per job, and also the full best-rule sweep (every deterministic rule) for each size.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from furnsim.generate import generate_plant_tables
from furnsim.io import load_instance, write_workbook
from furnsim.plan import run_rule
from furnsim.rules import best_rule, get_rule


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default="ATC,EDD,BUFFER,PTWINQS")
    ap.add_argument("--jobs", default="100,250,500,1000,2000")
    ap.add_argument("--machines", type=int, default=150)
    ap.add_argument("--work-centers", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    print("| jobs | ops | rule | plan time (s) | ms/job | makespan (h) | deadlock |")
    print("|---:|---:|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.jobs.split(",")]:
            path = Path(tmp) / f"w{n}.xlsx"
            write_workbook(generate_plant_tables(a.work_centers, a.machines, n, a.seed), path)
            inst = load_instance(path)
            n_ops = inst.n_operations
            for name in a.rules.split(","):
                times = []
                for _ in range(a.repeats):
                    t0 = time.perf_counter()
                    s, sim = run_rule(inst, get_rule(name))
                    times.append(time.perf_counter() - t0)
                t = statistics.median(times)
                print(
                    f"| {len(inst.jobs)} | {n_ops} | {name} | {t:.3f} | {1000 * t / len(inst.jobs):.3f} "
                    f"| {s.makespan / 60:.1f} | {'yes' if sim.deadlock else 'no'} |"
                )
            t0 = time.perf_counter()
            b = best_rule(inst, "speed")
            t = time.perf_counter() - t0
            print(
                f"| {len(inst.jobs)} | {n_ops} | best-rule sweep ({len(b.costs)} rules) -> {b.rule} | {t:.3f} "
                f"| {1000 * t / len(inst.jobs):.3f} | {b.schedule.makespan / 60:.1f} | - |"
            )


if __name__ == "__main__":
    main()
