"""The LNS optimizer against the noisy best rule and CP-SAT on the held-out demo weeks.

    nice python benchmarks/lns_bench.py --goals speed --weeks 20 --time-limit 10
    python benchmarks/lns_bench.py --summary            # tables from the results file only

For each goal and held-out week of ``rl_eval.py`` (seeds 10000 + i, 100–600 jobs) it plans
the week twice through ``furnsim.plan.plan`` with the same ``--time-limit``: ``best-rule``
with that search time (every rule, then ε-noisy passes around the best one,
``rules.search_noisy``) and ``lns`` (``furnsim.solvers.lns``; its limit includes its start:
the rules and the policy's greedy pass). Both schedules are validated by ``plan``. CP-SAT is
read from ``benchmarks/rl_cpsat.jsonl`` (``rl_cpsat.py``, 60 s, 1 worker), not re-run. Each
(goal, week, method) appends one JSON line to ``--out`` (default
``benchmarks/lns_bench.jsonl``) with cost, validity, wall and CPU seconds and the machine's
load average. A (goal, week, method, time limit) already in the file is skipped.

The results files of this script (``lns_bench*.jsonl``) are from the old 24/7 demo plant;
``furnsim/data/best_known.json`` (the calendar plant, with week fingerprints) is written by
``benchmarks/heldout_table.py table --best-known``. ``best_known()`` here only feeds the
old-plant summary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

from furnsim.benchmarks import GOALS, read_jsonl  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "benchmarks" / "lns_bench.jsonl"
BEST_KNOWN = REPO / "furnsim" / "data" / "best_known.json"  # furnsim.benchmarks.best_known()
CPSAT = REPO / "benchmarks" / "rl_cpsat.jsonl"
SEARCH_FILES = (
    REPO / "benchmarks" / "rl_search.jsonl",
    REPO / "benchmarks" / "rl_search_long.jsonl",
)
#: further result files of this script that ``--best-known`` reads
EXTRA_RESULTS = (
    REPO / "benchmarks" / "lns_bench.jsonl",
    REPO / "benchmarks" / "lns_bench_30s.jsonl",
)
#: lns neighbourhoods: the default (records without the field ran it)
V1 = "window,group,orders"


def _label(r: dict) -> str:
    """``best-rule`` or ``lns[neighbourhoods]`` (records without the field are V1)."""
    if r["method"] != "lns":
        return str(r["method"])
    return f"lns[{r.get('neighbourhoods') or V1}]"


_read = read_jsonl


def run(
    goals: list[str],
    n_weeks: int,
    time_limit: float | None,
    out: Path,
    seed: int,
    passes: int | None = None,
    extra: int = 5,
    neighbourhoods: str | None = None,
    cpsat: bool = False,
) -> None:
    from furnsim.benchmarks import HELD_OUT_SEED, held_out_weeks
    from furnsim.plan import plan

    budget = _budget(time_limit, passes)
    variants = (neighbourhoods or V1).split(";")
    methods = [("best-rule", None)] + [("lns", v) for v in variants]
    if cpsat:
        methods.append(("cpsat", None))
    done = {(r["goal"], r["seed"], _label(r), r["budget"]) for r in _read(out)}
    weeks = held_out_weeks(n_weeks)
    for goal in goals:
        for i, w in enumerate(weeks):
            s = HELD_OUT_SEED + i
            for method, nb in methods:
                label = method if method != "lns" else f"lns[{nb}]"
                if (goal, s, label, budget) in done:
                    continue
                opts: dict = {}
                if passes is not None:
                    # equal simulator passes: lns makes `passes` neighbours (plus the policy's
                    # greedy pass, about `extra` rule passes of work); the noisy search gets
                    # `passes + extra` passes around the best rule
                    opts = (
                        {"iterations": passes} if method == "lns" else {"samples": passes + extra}
                    )
                load = os.getloadavg()[0]
                t0, c0 = time.perf_counter(), time.process_time()
                if method == "lns" and nb:
                    opts["neighbourhoods"] = nb.split(",")
                if method == "cpsat":
                    opts = {"workers": 1}  # the same single core as the others
                res = plan(w, goal, method, seed=seed, time_limit=time_limit, **opts)
                rec = {
                    "goal": goal,
                    "seed": s,
                    "jobs": w.compiled.n_jobs,
                    "method": method,
                    "neighbourhoods": nb if method == "lns" else None,
                    "time_limit": time_limit,
                    "passes": passes,
                    "budget": budget,
                    "cost": res.cost,
                    "valid": res.valid,
                    "used": res.method,
                    "fallback": res.fallback,
                    "wall_s": round(time.perf_counter() - t0, 2),
                    "cpu_s": round(time.process_time() - c0, 2),
                    "load1": round(load, 2),
                    "details": {
                        k: v
                        for k, v in res.details.items()
                        if k in ("lns", "search", "best_rule", "source", "status")
                    },
                }
                with out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
                print(
                    f"{goal:<13} {s} {label:<9} {res.cost:>12,.2f} valid={res.valid} "
                    f"{rec['wall_s']:.1f}s cpu {rec['cpu_s']:.1f}s load {load:.1f}",
                    flush=True,
                )


def _budget(time_limit: float | None, passes: int | None) -> str:
    if passes is not None:
        return f"{passes} passes" + (f", {time_limit:g} s" if time_limit else "")
    return f"{time_limit:g} s"


def best_known(out: Path) -> dict[str, dict[str, dict]]:
    """{goal: {seed: {cost, source}}}: the cheapest valid cost seen for each week × goal."""
    best: dict[str, dict[str, dict]] = {}

    def offer(goal: str, seed: int, cost: float, source: str) -> None:
        if not math.isfinite(cost):
            return
        cur = best.setdefault(goal, {}).get(str(seed))
        if cur is None or cost < cur["cost"] - 1e-9:
            best[goal][str(seed)] = {"cost": round(cost, 4), "source": source}

    for path in dict.fromkeys((out, *EXTRA_RESULTS)):
        for r in _read(path):
            if r.get("valid"):
                offer(r["goal"], r["seed"], r["cost"], f"{path.name} {_label(r)} {r['budget']}")
    for r in _read(CPSAT):
        offer(r["goal"], r["seed"], r["cost"], f"cpsat {r['time_limit']:g} s")
    for p in SEARCH_FILES:
        for r in _read(p):
            if r.get("valid") and r.get("costs"):
                offer(r["goal"], r["seed"], min(r["costs"]), f"{p.stem} {r['method']}")
    return {g: dict(sorted(best[g].items())) for g in GOALS if g in best}


def summary(out: Path) -> str:
    recs = [r for r in _read(out) if r.get("valid")]
    cps = {(r["goal"], r["seed"]): r for r in _read(CPSAT)}
    bk = json.loads(BEST_KNOWN.read_text()) if BEST_KNOWN.exists() else {}
    lines = [
        "| goal | budget | LNS neighbourhoods | weeks | LNS / noisy best rule (mean of ratios) "
        "| ratio of sums | LNS / CP-SAT (mean; same budget where run, else 60 s) | ratio of sums "
        "| LNS better / equal / worse than noisy | LNS gap to best known | noisy gap "
        "| CP-SAT gap | CPU s LNS / noisy (mean) | load avg (mean) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for goal in GOALS:
        for tl in sorted({r["budget"] for r in recs if r["goal"] == goal}):
            by: dict[int, dict[str, dict]] = {}
            for r in recs:
                if r["goal"] == goal and r["budget"] == tl:
                    by.setdefault(r["seed"], {})[_label(r)] = r
            variants = sorted({lb for m in by.values() for lb in m if lb.startswith("lns[")})
            # CP-SAT run in this file with the same budget, else rl_cpsat.jsonl's 60 s
            same = {(goal, s): m["cpsat"] for s, m in by.items() if "cpsat" in m}
            for v in variants:
                seeds = sorted(s for s, m in by.items() if v in m and "best-rule" in m)
                if seeds:
                    lines.append(_row(goal, tl, v, seeds, by, same or cps, bk.get(goal, {})))
    return "\n".join(lines)


def _row(goal: str, tl: str, v: str, seeds: list[int], by: dict, cps: dict, g_bk: dict) -> str:
    ln = [by[s][v]["cost"] for s in seeds]
    nz = [by[s]["best-rule"]["cost"] for s in seeds]
    cp_seeds = [s for s in seeds if (goal, s) in cps]
    cp = [cps[(goal, s)]["cost"] for s in cp_seeds]
    lc = [by[s][v]["cost"] for s in cp_seeds]
    r_n = [a / b for a, b in zip(ln, nz, strict=True)]
    r_c = [a / b for a, b in zip(lc, cp, strict=True)]
    better = sum(a < b - 1e-6 for a, b in zip(ln, nz, strict=True))
    worse = sum(a > b + 1e-6 for a, b in zip(ln, nz, strict=True))

    def gap(costs: list[float], ss: list[int]) -> str:
        g = [c / g_bk[str(s)]["cost"] - 1 for c, s in zip(costs, ss, strict=True) if str(s) in g_bk]
        return f"{100 * sum(g) / len(g):.1f} %" if g else "-"

    cpu_l = sum(by[s][v]["cpu_s"] for s in seeds) / len(seeds)
    cpu_n = sum(by[s]["best-rule"]["cpu_s"] for s in seeds) / len(seeds)
    loads = [by[s][m]["load1"] for s in seeds for m in (v, "best-rule")]
    return (
        f"| {goal} | {tl} | {v[4:-1]} | {len(seeds)} | **{sum(r_n) / len(r_n):.3f}** "
        f"| {sum(ln) / sum(nz):.3f} "
        f"| {f'**{sum(r_c) / len(r_c):.3f}**' if r_c else '-'} "
        f"| {f'{sum(lc) / sum(cp):.3f}' if cp else '-'} "
        f"| {better} / {len(seeds) - better - worse} / {worse} "
        f"| {gap(ln, seeds)} | {gap(nz, seeds)} | {gap(cp, cp_seeds)} "
        f"| {cpu_l:.1f} / {cpu_n:.1f} | {sum(loads) / len(loads):.1f} |"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--goals", default=",".join(GOALS))
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per plan")
    ap.add_argument(
        "--passes", type=int, default=None, help="equal passes instead (load-independent)"
    )
    ap.add_argument("--extra", type=int, default=5, help="noisy: passes beyond --passes")
    ap.add_argument(
        "--neighbourhoods",
        default=None,
        help=f"lns neighbourhoods (default {V1}); several variants separated by ';'",
    )
    ap.add_argument(
        "--cpsat", action="store_true", help="also run CP-SAT (1 worker) with the same budget"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--summary", action="store_true", help="only print the tables")
    ap.add_argument("--best-known", action="store_true", help="only rewrite best_known.json")
    a = ap.parse_args(argv)
    if a.best_known:
        # these files hold costs of the old 24/7 demo plant without week fingerprints; the
        # best-known file is written by heldout_table.py (fingerprinted, calendar plant)
        raise SystemExit(
            "best_known.json is written by benchmarks/heldout_table.py table --best-known"
        )
    if not a.summary:
        goals = [g.strip() for g in a.goals.split(",") if g.strip()]
        if a.time_limit is None and a.passes is None:
            a.time_limit = 60.0
        run(
            goals,
            a.weeks,
            a.time_limit,
            a.out,
            a.seed,
            a.passes,
            a.extra,
            a.neighbourhoods,
            a.cpsat,
        )
    print(summary(a.out))


if __name__ == "__main__":
    main()
