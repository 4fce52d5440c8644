"""Fast core (issue 14): environment decisions/s, before vs after, and JSSEnv ta01 — one run.

    nice python benchmarks/fastcore_bench.py --rounds 3 --seconds 8

The candidates environment (all features, goal reward) with random legal actions on demo weeks
of 60–200 jobs, with the reward recomputed from every KPI each step (``incremental=False``,
the behaviour before issue 14) and with the per-event cost
(:class:`furnsim.env.incremental.IncrementalCost`); JSSEnv on ta01 with random legal actions
when ``JSSEnv`` imports (``pip install --no-deps jssenv==1.1.0``, see benchmarks/README.md).
The settings take turns, ``--rounds`` times, so a busy machine slows all of them alike; the
table gives the median and the spread (min–max) per setting and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
TA01 = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "jsp" / "ta01.txt"


def furnsim_rate(incremental: bool, goal: str, seconds: float, seed: int) -> float:
    from furnsim.env import FurnitureShopEnv
    from furnsim.env.rewards import CostReward

    env = FurnitureShopEnv(goal=goal, view="candidates", jobs=(60, 200))
    env.reward_fn = CostReward(goal, incremental=incremental)
    rng = np.random.default_rng(seed)
    n = 0
    t_step = 0.0
    w = 0
    while t_step < seconds:
        env.reset(seed=seed + w)  # the reset (reference rule plan) is not timed
        w += 1
        done = False
        while not done:
            a = int(rng.choice(np.flatnonzero(env.action_masks())))
            t0 = time.perf_counter()
            _, _, done, _, _ = env.step(a)
            t_step += time.perf_counter() - t0
            n += 1
    return n / t_step


def jssenv_rate(seconds: float, seed: int) -> float | None:
    try:
        from sim_speed import jssenv_runner

        ep = jssenv_runner(TA01)
    except Exception:  # noqa: BLE001 - JSSEnv is optional
        return None
    rng = np.random.default_rng(seed)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        d, _raw, _ = ep(rng)
        n += d
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--goal", default="speed")
    a = ap.parse_args()
    rows: dict[str, list[float]] = {"before (full recompute)": [], "after (incremental)": []}
    jss: list[float] = []
    loads = []
    furnsim_rate(True, a.goal, 1.0, 99)  # warm up
    for r in range(a.rounds):
        loads.append(os.getloadavg()[0])
        rows["before (full recompute)"].append(furnsim_rate(False, a.goal, a.seconds, r))
        rows["after (incremental)"].append(furnsim_rate(True, a.goal, a.seconds, r))
        x = jssenv_rate(a.seconds, r)
        if x is not None:
            jss.append(x)
    if jss:
        rows["JSSEnv ta01"] = jss
    print(
        f"goal {a.goal}, {a.rounds} rounds × {a.seconds:g} s, load average {min(loads):.1f}–{max(loads):.1f}"
    )
    print("| setting | decisions/s median | min–max | vs JSSEnv |")
    print("|---|---:|---:|---:|")
    ref = float(np.median(jss)) if jss else None
    for k, v in rows.items():
        med = float(np.median(v))
        ratio = f"{med / ref:.2f}×" if ref else "n/a"
        print(f"| {k} | {med:,.0f} | {min(v):,.0f}–{max(v):,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
