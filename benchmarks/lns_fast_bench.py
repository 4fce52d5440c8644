"""Neighbours per CPU second of the optimizer, Python decoding against compiled (issue 15).

    nice python benchmarks/lns_fast_bench.py --weeks 0-3 --passes 150 --out runs/lns_fast.jsonl
    python benchmarks/lns_fast_bench.py --summary --out runs/lns_fast.jsonl
    python benchmarks/lns_fast_bench.py --compare runs/before.jsonl --out runs/after.jsonl

For each held-out week (``held_out_weeks``: index 0 = seed 10000), goal and method (``lns``,
``ppo-lns``) it plans the week twice through ``furnsim.plan.plan`` with exactly ``--passes``
neighbours and the same seed: option ``fast=False`` (every decision in the Python simulator,
as before) and ``fast=True`` (the compiled event loop; the static-priority stretches of a
neighbour in one compiled call). It **asserts** that both give the same cost and the very
same schedule (equal work: the same neighbours), and records the CPU seconds of the
neighbours alone (``details["lns"]["search_s"]``, ``time.process_time``), neighbours per CPU
second, the decisions made and how many of them the compiled loop took in one call, and the
load average. The order of the two runs alternates per row (warm caches favour neither).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from furnsim.benchmarks import GOALS, read_jsonl


def _weeks(spec: str) -> list[int]:
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def run(weeks: list[int], goals: list[str], methods: list[str], passes: int, out: Path) -> None:
    from furnsim.benchmarks import held_out_weeks
    from furnsim.plan import plan

    insts = held_out_weeks(max(weeks) + 1)
    done = {(r["week"], r["goal"], r["method"], r["passes"]) for r in read_jsonl(out)}
    # compile the loop before the first timed run (numba caches it on disk afterwards)
    plan(insts[0], "speed", "lns", passes=2, clock="cpu", start_ppo=False)
    n = 0
    for w in weeks:
        inst = insts[w]
        for goal in goals:
            for method in methods:
                if (w, goal, method, passes) in done:
                    continue
                res = {}
                order = (False, True) if n % 2 == 0 else (True, False)
                n += 1
                for fast in order:
                    load = os.getloadavg()[0]
                    r = plan(inst, goal, method, passes=passes, clock="cpu", seed=0, fast=fast)
                    ln = r.details["lns"]
                    res[fast] = (r, ln, load)
                (ra, la, _), (rb, lb, _) = res[False], res[True]
                same = ra.cost == rb.cost and all(
                    np.array_equal(
                        np.asarray(ra.schedule.times[f]),
                        np.asarray(rb.schedule.times[f]),
                        equal_nan=True,
                    )
                    for f in ra.schedule.times
                )
                assert same, f"week {w} {goal} {method}: compiled decoding changed the plan"
                assert la["moves"] == lb["moves"] and la["iterations"] == lb["iterations"]
                row = {
                    "week": w,
                    "seed": 10000 + w,
                    "jobs": inst.compiled.n_jobs,
                    "goal": goal,
                    "method": method,
                    "passes": passes,
                    "cost": ra.cost,
                    "same_plan": same,
                    "start": la["start"],
                    "search_s_py": la["search_s"],
                    "search_s_fast": lb["search_s"],
                    "nb_per_s_py": round(la["iterations"] / max(la["search_s"], 1e-9), 1),
                    "nb_per_s_fast": round(lb["iterations"] / max(lb["search_s"], 1e-9), 1),
                    "speedup": round(la["search_s"] / max(lb["search_s"], 1e-9), 3),
                    "decisions": lb["decisions"],
                    "compiled": lb["compiled"],
                    "start_s_py": la["start_s"],
                    "start_s_fast": lb["start_s"],
                    "load": [round(res[False][2], 2), round(res[True][2], 2)],
                    "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                }
                print(json.dumps(row), flush=True)
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")


def summary(out: Path) -> None:
    rows = read_jsonl(out)
    print(
        "| method | goal | rows | neighbours / CPU-s Python | compiled | speed-up (mean) "
        "| decisions compiled | load |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method in sorted({r["method"] for r in rows}):
        for goal in GOALS:
            rs = [r for r in rows if r["method"] == method and r["goal"] == goal]
            if not rs:
                continue
            py = np.mean([r["nb_per_s_py"] for r in rs])
            fa = np.mean([r["nb_per_s_fast"] for r in rs])
            sp = np.mean([r["speedup"] for r in rs])
            frac = sum(r["compiled"] for r in rs) / max(sum(r["decisions"] for r in rs), 1)
            loads = [x for r in rs for x in r["load"]]
            print(
                f"| {method} | {goal} | {len(rs)} | {py:.0f} | {fa:.0f} | **{sp:.2f}×** "
                f"| {100 * frac:.0f} % | {min(loads):.1f}–{max(loads):.1f} |"
            )


def compare(before: Path, after: Path) -> None:
    """Two runs of this benchmark by two versions of the code (same weeks, passes, machine):
    the same costs (asserted: the same search) and the compiled neighbours per CPU second."""
    key = ("week", "goal", "method", "passes")
    a = {tuple(r[k] for k in key): r for r in read_jsonl(after)}
    b = {tuple(r[k] for k in key): r for r in read_jsonl(before)}
    both = sorted(set(a) & set(b))
    for k in both:
        assert a[k]["cost"] == b[k]["cost"], f"{k}: the search changed"
    print(
        "| method | goal | rows | neighbours / CPU-s before | after | ratio (mean of rows) "
        "| min–max | base rules | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for method in sorted({k[2] for k in both}):
        for goal in GOALS:
            ks = [k for k in both if k[2] == method and k[1] == goal]
            if not ks:
                continue
            nb = np.mean([b[k]["nb_per_s_fast"] for k in ks])
            na = np.mean([a[k]["nb_per_s_fast"] for k in ks])
            r = [a[k]["nb_per_s_fast"] / b[k]["nb_per_s_fast"] for k in ks]
            starts = sorted({a[k]["start"].removeprefix("rule:") for k in ks})
            loads = [x for k in ks for x in (*a[k]["load"], *b[k]["load"])]
            print(
                f"| {method} | {goal} | {len(ks)} | {nb:.0f} | {na:.0f} | **{np.mean(r):.2f}×** "
                f"| {min(r):.2f}–{max(r):.2f} | {', '.join(starts)} "
                f"| {min(loads):.1f}–{max(loads):.1f} |"
            )
    r = [a[k]["nb_per_s_fast"] / b[k]["nb_per_s_fast"] for k in both]
    print(
        f"\nall {len(both)} rows: same cost; ratio mean {np.mean(r):.2f}×, "
        f"{min(r):.2f}–{max(r):.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", default="0-3", help="held-out week indices, e.g. 0-3")
    ap.add_argument("--goals", default=",".join(GOALS))
    ap.add_argument("--methods", default="lns,ppo-lns")
    ap.add_argument("--passes", type=int, default=150)
    ap.add_argument("--out", type=Path, default=Path("runs/lns_fast_bench.jsonl"))
    ap.add_argument("--summary", action="store_true")
    ap.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="rows of this benchmark by another version of the code (before): compare --out",
    )
    a = ap.parse_args()
    if a.compare is not None:
        compare(a.compare, a.out)
        return
    if not a.summary:
        run(_weeks(a.weeks), a.goals.split(","), a.methods.split(","), a.passes, a.out)
    summary(a.out)


if __name__ == "__main__":
    main()
