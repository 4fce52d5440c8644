"""CP-SAT on public benchmarks and on furniture weeks: cost vs. best rule and the lower bound.

    python benchmarks/cpsat_bench.py --suite ta --instances ta01,ta02,ta03 --time-limit 60
    python benchmarks/cpsat_bench.py --suite mk --instances mk01,mk02,mk03
    python benchmarks/cpsat_bench.py --suite sdst --instances 01,02,03,04,05
    python benchmarks/cpsat_bench.py --suite demo --goals speed --time-limit 60
    python benchmarks/cpsat_bench.py --suite week --goals speed,efficiency,empty-buffers --time-limit 300

``week`` is ``generate_plant_tables(30 work centers, 150 machines, 500 jobs, seed=1)`` written
with ``furnsim.io.write_workbook`` and read back (``--week-*``, ``--seed`` change it).
``--csv`` appends one row per run as soon as it is done (long runs leave partial results);
rows also carry the build time (hint + model), the times of the first solution, the first
and the last improving solution (seconds from the call), and the number of solutions.

Suites: ``ta`` (Taillard JSSP, ``jsp/taNN.txt``), ``mk`` (Brandimarte FJSP), ``sdst`` (Fattahi
FJSP with sequence-dependent setups), ``demo`` (``bom_data/demo/plant.yaml``), ``week`` (a
generated 500-job / 150-machine week, ``furnsim.generate.generate_plant_tables``). Public
instances are solved for makespan (goal ``speed``: no deadlines there, so cost = makespan)
and compared with the best-known upper bound in ``bounds.csv``; every row also gives the best
dispatching rule (the warm start) and CP-SAT's lower bound. Prints a markdown table; ``--out``
also writes it. Measures, asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "benchmarks"


def _bks() -> dict[str, float]:
    out: dict[str, float] = {}
    p = BENCH / "bounds.csv"
    if p.exists():
        with p.open() as f:
            for row in csv.DictReader(f):
                v = row.get("optimum") or row.get("upper_bound") or ""
                if v:
                    out[row["name"]] = float(v)
    return out


def _paths(suite: str, names: list[str]) -> list[tuple[str, Path]]:
    if suite == "ta":
        names = names or [f"ta{k:02d}" for k in range(1, 11)]
        return [(n, BENCH / "jsp" / f"{n}.txt") for n in names]
    if suite == "mk":
        names = names or [f"mk{k:02d}" for k in range(1, 11)]
        return [(n, BENCH / "fjsp" / f"{n}.fjs") for n in names]
    if suite == "sdst":
        names = names or [f"{k:02d}" for k in range(1, 21)]
        return [(f"Fattahi_setup_{n}", BENCH / "sdst" / f"Fattahi_setup_{n}.fjs") for n in names]
    if suite == "demo":
        return [("demo", ROOT / "bom_data" / "demo" / "plant.yaml")]
    raise ValueError(f"unknown suite {suite!r}")


def _week(jobs: int, machines: int, work_centers: int, seed: int) -> Any:
    from furnsim.generate import generate_plant_tables
    from furnsim.io import load_instance, write_workbook

    tables = generate_plant_tables(
        work_centers=work_centers, machines=machines, jobs=jobs, seed=seed
    )
    with tempfile.TemporaryDirectory(prefix="furnsim_cpsat_") as tmp:
        p = write_workbook(tables, Path(tmp) / "week.xlsx")
        return load_instance(p, name=f"week{jobs}x{machines}")


def run_one(
    name: str, inst: Any, goal: str, time_limit: float, workers: int, bks: float | None
) -> dict[str, Any]:
    from furnsim.solvers.cpsat import solve_cpsat

    t0 = time.perf_counter()
    _, d = solve_cpsat(inst, goal, time_limit=time_limit, workers=workers, hint="auto")
    # progress times count from the solver start; shift them by the build (hint + model)
    log = [(d["build_time_s"] + p["time_s"], p["cost"]) for p in d["progress"]]
    better = [t for t, c in log[1:] if c < log[0][1] - 1e-9] if log else []
    last = max(
        (t for (t, c), (_, c0) in zip(log[1:], log[:-1], strict=True) if c < c0 - 1e-9),
        default=math.nan,
    )
    row = {
        "instance": name,
        "ops": inst.n_operations,
        "goal": goal,
        "time_limit": time_limit,
        "best_rule": d["hint"],
        "rule_cost": d["hint_cost"],
        "cpsat_cost": d["cost"],
        "lower_bound": d["lower_bound"],
        "gap_to_lb": d["gap"],
        "bks": bks,
        "gap_to_bks": (d["cost"] - bks) / bks if bks else math.nan,
        "status": d["solver_status"],
        "source": d["source"],
        "relaxed_setup_machines": len(d.get("relaxed_setup_machines", [])),
        "cp_objective": d["objective"],
        "build_s": d["build_time_s"],
        "first_solution_s": round(log[0][0], 1) if log else math.nan,
        "first_improvement_s": round(better[0], 1) if better else math.nan,
        "last_improvement_s": round(last, 1) if math.isfinite(last) else math.nan,
        "n_solutions": len(log),
        "hint_completed": d.get("hint_completed"),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    return row


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        return f"{x:.4g}" if abs(x) < 1 else f"{x:.6g}"
    return str(x)


def table(rows: list[dict[str, Any]]) -> str:
    cols = [
        "instance",
        "ops",
        "goal",
        "time_limit",
        "best_rule",
        "rule_cost",
        "cpsat_cost",
        "lower_bound",
        "gap_to_lb",
        "bks",
        "gap_to_bks",
        "status",
        "source",
        "wall_s",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    gaps = [
        r["gap_to_bks"]
        for r in rows
        if isinstance(r.get("gap_to_bks"), float) and not math.isnan(r["gap_to_bks"])
    ]
    if gaps:
        lines.append("")
        lines.append(
            f"mean gap to best known: {100 * sum(gaps) / len(gaps):.2f} % over {len(gaps)} instances"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--suite", choices=["ta", "mk", "sdst", "demo", "week"], required=True)
    ap.add_argument(
        "--instances", default="", help="comma-separated names (default: the whole suite)"
    )
    ap.add_argument("--goals", default="speed", help="comma-separated goals (demo / week)")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--week-jobs", type=int, default=500)
    ap.add_argument("--week-machines", type=int, default=150)
    ap.add_argument("--week-work-centers", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--csv", type=Path, default=None)
    a = ap.parse_args(argv)

    from furnsim.io import load_instance

    names = [n.strip() for n in a.instances.split(",") if n.strip()]
    goals = [g.strip() for g in a.goals.split(",") if g.strip()]
    bks = _bks()
    rows: list[dict[str, Any]] = []
    if a.suite == "week":
        inst = _week(a.week_jobs, a.week_machines, a.week_work_centers, a.seed)
        todo = [(inst.name, inst, g) for g in goals]
    else:
        todo = []
        for name, path in _paths(a.suite, names):
            if not path.exists():
                print(f"skip {name}: {path} not found", file=sys.stderr)
                continue
            inst = load_instance(path)
            for g in goals if a.suite == "demo" else ["speed"]:
                todo.append((name, inst, g))
    for name, inst, g in todo:
        row = run_one(name, inst, g, a.time_limit, a.workers, bks.get(name))
        rows.append(row)
        print(" ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)
        if a.csv:  # one row at a time, so long runs leave partial results
            new = not a.csv.exists()
            with a.csv.open("a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(row))
                if new:
                    w.writeheader()
                w.writerow(row)
    md = table(rows)
    print(md)
    if a.out:
        a.out.write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
