"""What intentional holds change on congested weeks (docs/rl.md "Holds").

Congested held-out demo-plant weeks (seeds 10011, 10005, 10013: hard buffers block the saws,
docs/rl.md) — the best of a few rules for ``speed`` against the same rule with a simple STORE
release-control heuristic made of recorded holds: at every decision, the jobs at STORE whose
target buffer is above ``X`` of its capacity are held until the next event. ``first`` looks at
the job's first buffer, ``next`` at the buffer after its first operation (where the saws'
output goes). Every plan is validated (hold-aware rules). Plus CP-SAT on small instances: the
old sequence replay against the exact replay with the holds the solution implies.

    python benchmarks/holds_bench.py [--weeks 10011,10005,10013] [--rules ATCS,PTWINQS,LWKRSPT]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from furnsim.goals import cost
from furnsim.kpi import kpis
from furnsim.rules import get_rule
from furnsim.sim import Simulator
from furnsim.sim.engine import AT_STORE
from furnsim.validate import validate

HELD_OUT_SEED = 10000


def week(seed: int):
    from furnsim.env import WeekSource

    sizes = np.random.default_rng(HELD_OUT_SEED).integers(100, 601, size=20)
    return WeekSource.from_path(None).week(seed, int(sizes[seed - HELD_OUT_SEED]))


def run(inst, rule_name: str, x: float | None = None, which: str = "first"):
    rule = get_rule(rule_name)
    sim = Simulator(inst, record_holds=x is not None)
    ci = sim.ci
    first = ci.job_op_start[:-1]
    n_ops_job = ci.job_op_start[1:] - first
    target = np.where(
        which == "next",
        ci.op_wc[np.minimum(first + 1, ci.n_ops - 1)],
        ci.op_wc[np.minimum(first, ci.n_ops - 1)],
    )
    has_target = (n_ops_job > 1) if which == "next" else (n_ops_job > 0)
    cap = ci.wc_capacity
    d = sim.decision()
    while d is not None:
        t1 = sim.next_event_time
        if x is not None and t1 is not None:
            full = sim.wc_level > x * cap
            held = set(sim.held_jobs)
            jobs = [
                int(j)
                for j in np.flatnonzero(
                    (sim.job_state == AT_STORE)
                    & has_target
                    & full[target]
                    & (ci.job_release < t1 - 1e-6)
                    & (ci.job_n_children == 0)
                )
                if int(j) not in held
            ]
            if jobs:
                d = sim.hold_jobs(jobs, t1, f"release control {which} > {x:.0%}")
                continue
        d = sim.dispatch(int(rule.choose(sim, d)))
    return sim.schedule(method=f"rule:{rule_name}"), sim


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weeks", default="10011,10005,10013")
    ap.add_argument("--rules", default="ATCS,PTWINQS,LWKRSPT")
    ap.add_argument("--xs", default="first:0.5,first:0.8,next:0.5,next:0.8")
    ap.add_argument("--no-cpsat", action="store_true", help="skip the small CP-SAT replays")
    args = ap.parse_args()
    variants = [(w, float(x)) for w, x in (v.split(":") for v in args.xs.split(","))]
    print("| week | jobs | plan | makespan | speed cost | blocked min | holds | valid | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seed in (int(s) for s in args.weeks.split(",")):
        inst = week(seed)
        best = None
        for r in args.rules.split(","):
            s, sim = run(inst, r)
            if sim.deadlock is None:
                c = cost(kpis(s, inst), "speed")
                if best is None or c < best[0]:
                    best = (c, r, s)
        assert best is not None
        c0, r, s0 = best
        k0 = kpis(s0, inst)
        print(
            f"| {seed} | {len(inst.jobs)} | best rule {r} | {s0.makespan:,.0f} | {c0:,.1f} | "
            f"{k0['blocked_time']:,.0f} | 0 | {not validate(s0, inst)} | |"
        )
        for which, x in variants:
            t = time.perf_counter()
            s, sim = run(inst, r, x, which)
            dt = time.perf_counter() - t
            if sim.deadlock is not None:
                print(f"| {seed} | | {r} + hold {which}>{x:.0%} | deadlock | | | | | {dt:.1f} |")
                continue
            k = kpis(s, inst)
            c = cost(k, "speed")
            vs = validate(s, inst)
            print(
                f"| {seed} | | {r} + hold {which}>{x:.0%} | {s.makespan:,.0f} | {c:,.1f} "
                f"({c / c0:.3f}) | {k['blocked_time']:,.0f} | {len(s.holds or [])} | "
                f"{not vs} | {dt:.1f} |"
            )
    if not args.no_cpsat:
        cpsat_small()


def cpsat_small() -> None:
    from ortools.sat.python import cp_model

    from furnsim.generate import generate_orders  # noqa: F401  (kept for symmetry)
    from furnsim.io import load_instance
    from furnsim.solvers.cpsat.solve import _read, build_model, replay_exact, replay_sequences

    print("\n| instance | CP makespan | old replay | exact replay (holds) | starts equal | valid |")
    print("|---|---|---|---|---|---|")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests._tiny import ft06_path

    cases = [("ft06", load_instance(ft06_path()))]
    from furnsim.env import WeekSource

    for seed in (1, 2, 3):
        cases.append((f"demo week {seed} (12 jobs)", WeekSource.from_path(None).week(seed, 12)))
    for name, inst in cases:
        model, data, v, obj = build_model(inst, "speed")
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = 10
        solver.parameters.num_workers = 2
        solver.parameters.random_seed = 0
        st = solver.solve(model)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            print(f"| {name} | no solution | | | | |")
            continue
        sol = _read(data, v, obj, solver.value, 0.0, 0.0)
        ts = float(data.time_scale)
        old, _ = replay_sequences(inst, sol.sequences())
        new, why = replay_exact(inst, sol, ts)
        cp_ms = float(sol.en.max()) / ts
        om = old.makespan if old is not None else math.nan
        nm = new.makespan if new is not None else math.nan
        eq = new is not None and bool(np.allclose(new.times["start"], sol.st / ts, atol=1e-6))
        ok = new is not None and not validate(new, inst)
        print(f"| {name} | {cp_ms:,.1f} | {om:,.1f} | {nm:,.1f} | {eq} ({why or 'exact'}) | {ok} |")


if __name__ == "__main__":
    main()
