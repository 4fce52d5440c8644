"""CP-SAT plans and lower bounds on the held-out demo weeks of ``rl_eval.py``.

    python benchmarks/rl_cpsat.py --goals speed --weeks 20 --time-limit 60 --workers 1
    python benchmarks/rl_cpsat.py --goals efficiency,empty-buffers --weeks 5

Runs ``furnsim.solvers.cpsat.solve_cpsat`` (warm-started from the best rule, never worse
than it) on the same held-out weeks (seeds 10000 + i) and appends one JSON line per (goal,
week) to ``--out`` (default ``benchmarks/rl_cpsat.jsonl``): CP-SAT's cost, its proven
lower bound on the goal cost, status and wall time. ``rl_eval.py`` reads the file and reports
PPO / CP-SAT and bound / best single rule. A week already in the file is skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "rl_cpsat.jsonl"


def load(path: Path = DEFAULT_OUT) -> dict[tuple[str, int], dict]:
    """{(goal, seed): record} from the results file (empty if missing)."""
    out: dict[tuple[str, int], dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[(r["goal"], int(r["seed"]))] = r
    return out


def main(argv: list[str] | None = None) -> None:
    from furnsim.benchmarks import HELD_OUT_SEED, held_out_weeks
    from furnsim.solvers.cpsat import solve_cpsat

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--goals", default="speed")
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = load(out)
    weeks = held_out_weeks(a.weeks)
    for g in [x for x in a.goals.split(",") if x]:
        for i, w in enumerate(weeks):
            seed = HELD_OUT_SEED + i
            if (g, seed) in done:
                continue
            t0 = time.perf_counter()
            try:
                _, det = solve_cpsat(w, g, time_limit=a.time_limit, workers=a.workers)
            except Exception as e:  # the solver is young: record the failure, go on
                det = {"status": f"ERROR {type(e).__name__}: {e}"}
            rec = {
                "goal": g,
                "seed": seed,
                "jobs": int(w.compiled.n_jobs),
                "ops": int(w.compiled.n_ops),
                "time_limit": a.time_limit,
                "workers": a.workers,
                "cost": float(det.get("cost", math.nan)),
                "lower_bound": det.get("lower_bound"),
                "status": det.get("status"),
                "source": det.get("source"),
                "hint": det.get("hint"),
                "wall_s": round(time.perf_counter() - t0, 1),
            }
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
