"""Time to re-plan the demo scenario (docs/replan.md): repair, one rule, best-rule, PPO.

    python benchmarks/replan_bench.py [PLANT] [--repeat N] [--ppo]

The week of ``bom_data/demo`` planned with ATC (speed goal), re-planned at Tuesday 10:00 after
SAW-1 breaks down 10:00-16:00 and a rush order (12 NIGHTSTAND due Wednesday 14:00). Each time
is the wall time of ``furnsim.replan.replan`` (state derivation, events, planning,
validation, KPIs), the best of ``--repeat`` runs (``cpu_s``: this process's CPU seconds, which
a loaded machine does not inflate; a second process's are not in it), all in one process (the PPO model is loaded
once before it is timed; the first load is reported separately).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from furnsim.io import load_instance
from furnsim.plan import plan
from furnsim.replan import replan

EVENTS = [
    {"type": "breakdown", "machine": "SAW-1", "from": "2026-03-03T10:00", "to": "2026-03-03T16:00"},
    {
        "type": "rush_order",
        "order": "RUSH-1",
        "article": "NIGHTSTAND",
        "quantity": 12,
        "deadline": "2026-03-04T14:00",
    },
]
NOW = "2026-03-03T10:00"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("plant", nargs="?", default=str(Path(__file__).parents[1] / "bom_data/demo"))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--ppo", action="store_true", help="also time PPO (needs torch)")
    a = ap.parse_args()
    inst = load_instance(a.plant)
    prev = plan(inst, "speed", "rule:ATC").schedule
    cases: list[tuple[str, dict]] = [
        ("repair", {"mode": "repair"}),
        ("rule:ATC", {"method": "rule:ATC"}),
        ("best-rule (1 process)", {"method": "best-rule", "workers": 1}),
        ("best-rule (2 processes)", {"method": "best-rule", "workers": 2}),
        ("best-rule (default)", {"method": "best-rule"}),
    ]
    rows = []
    if a.ppo:
        t = time.perf_counter()
        r = replan(inst, prev, NOW, EVENTS, method="ppo")
        rows.append(
            {
                "case": "ppo (first call, model load)",
                "s": time.perf_counter() - t,
                "cost": r.cost,
                "valid": r.valid,
                "method": r.method,
            }
        )
        cases.append(("ppo (one pass, no guard)", {"method": "ppo", "guard": False}))
        cases.append(("ppo (guarded by best-rule)", {"method": "ppo"}))
    for name, kw in cases:
        best = cpu = None
        for _ in range(a.repeat):
            t, c0 = time.perf_counter(), time.process_time()
            r = replan(inst, prev, NOW, EVENTS, **kw)
            dt, dc = time.perf_counter() - t, time.process_time() - c0
            best = dt if best is None else min(best, dt)
            cpu = dc if cpu is None else min(cpu, dc)
        rows.append(
            {
                "case": name,
                "s": best,
                "cpu_s": cpu,
                "cost": r.cost,
                "valid": r.valid,
                "method": r.method,
                "moved": r.stability["ops_moved"],
                "workers": r.details.get("workers"),
            }
        )
    print(f"cores: {len(os.sched_getaffinity(0))}, load: {os.getloadavg()}")
    for row in rows:
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}))


if __name__ == "__main__":
    main()
