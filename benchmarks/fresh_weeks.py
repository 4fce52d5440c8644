"""Weeks no method has seen: every goal and method on freshly drawn demo-plant weeks.

    python benchmarks/fresh_weeks.py run --first 20000 --weeks 6 --out runs/fresh.jsonl \
        --methods single-rule,ppo:10,lns:10,ppo-lns:10
    python benchmarks/fresh_weeks.py run --first 20100 --weeks 1 --jobs 1500 --out runs/fresh.jsonl \
        --methods single-rule,ppo-lns:10
    python benchmarks/fresh_weeks.py table runs/fresh.jsonl
    python benchmarks/fresh_weeks.py table runs/fresh.jsonl --against single-rule,lns:60,noisy:60

Issue 15 says hidden weeks will be used. The held-out weeks (seeds 10000+) have been looked at
for many sessions, and their best known costs are in the repo; these weeks are drawn from
other seeds (week ``i``: seed ``FIRST + i``, a size in ``[lo, hi]`` jobs drawn from ``FIRST``,
or ``--jobs N``), planned by the same ``furnsim.heldout.plan_row`` as the held-out table (CPU
clock, one thread), one JSON line per plan. ``table`` prints, per goal and method, how many
plans were valid and came without a fallback, and the mean ratio to the single rule (the
goal's teacher, the issue's "best single rule") and to ``lns`` at the same budget, or to the
methods of ``--against``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np


def weeks(first: int, n: int, lo: int, hi: int, jobs: int | None) -> list[tuple[int, object]]:
    from furnsim.env import WeekSource

    src = WeekSource.from_path(None)
    sizes = np.random.default_rng(first).integers(lo, hi + 1, size=n)
    return [(first + i, src.week(first + i, jobs or int(sizes[i]))) for i in range(n)]


def cmd_run(a: argparse.Namespace) -> None:
    import torch

    from furnsim.heldout import plan_row

    torch.set_num_threads(1)
    goals = a.goals.split(",")
    methods = a.methods.split(",")
    todo = weeks(a.first, a.weeks, a.lo, a.hi, a.jobs)
    if any(m.partition(":")[0] in ("ppo", "ppo-lns") for m in methods):
        # the first policy pass in a process compiles the feature code: not part of a budget
        from contextlib import suppress

        from furnsim.rl.policy import load_planner

        for g in goals:
            with suppress(FileNotFoundError):
                load_planner(g).plan(todo[0][1])
    with Path(a.out).open("a", encoding="utf-8") as out:
        for seed, inst in todo:
            for g in goals:
                for m in methods:
                    row = plan_row(inst, seed, g, m)  # type: ignore[arg-type]
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    print(
                        f"{seed} {row['jobs']} {g} {m}: {row['cost']:,.1f} valid {row['valid']} "
                        f"used {row['used']} fallback {row['fallback']} cpu {row['cpu_s']:.1f}",
                        flush=True,
                    )


#: what ``table`` divides by ({b}: the row's own budget)
AGAINST = "single-rule,lns:{b}"


def cmd_table(a: argparse.Namespace) -> None:
    rows = [json.loads(x) for f in a.files for x in Path(f).read_text().splitlines() if x.strip()]
    cost: dict[tuple[str, str, int], float] = {}
    stats: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        cost[(r["goal"], r["method"], int(r["seed"]))] = float(r["cost"])
        stats[(r["goal"], r["method"])].append(r)
    refs = str(getattr(a, "against", None) or AGAINST).split(",")
    head = " | ".join(f"/ {x.replace('{b}', 'same budget')}" for x in refs)
    print(f"| goal | method | plans | valid | no fallback | {head} |")
    print("|---|---|---|---|---|" + "---|" * len(refs))
    for (g, m), rs in sorted(stats.items()):
        b = m.partition(":")[2]
        ratios: dict[str, list[float]] = {x.replace("{b}", b): [] for x in refs}
        for r in rs:
            for ref in ratios:
                c = cost.get((g, ref, int(r["seed"])))
                if c and math.isfinite(c) and c > 0 and ref != m:
                    ratios[ref].append(float(r["cost"]) / c)
        cells = [f"{np.mean(v):.3f} ({len(v)})" if v else "–" for v in ratios.values()]
        ok = sum(bool(r["valid"]) for r in rs)
        nofb = sum(r.get("fallback") in (None, "") for r in rs)
        print(f"| {g} | {m} | {len(rs)} | {ok} | {nofb} | {' | '.join(cells)} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="plan fresh weeks")
    r.add_argument("--first", type=int, default=20000, help="seed of the first week")
    r.add_argument("--weeks", type=int, default=6)
    r.add_argument("--lo", type=int, default=100)
    r.add_argument("--hi", type=int, default=600)
    r.add_argument("--jobs", type=int, default=None, help="every week this many jobs")
    r.add_argument("--goals", default="speed,efficiency,empty-buffers")
    r.add_argument("--methods", default="single-rule,ppo:10,lns:10,ppo-lns:10")
    r.add_argument("--out", required=True)
    t = sub.add_parser("table", help="summarize rows")
    t.add_argument("files", nargs="+")
    t.add_argument(
        "--against",
        default=AGAINST,
        help="methods to divide by, comma-separated ({b}: the row's own budget; mean of the "
        "per-week ratios, over the weeks that have both)",
    )
    a = p.parse_args()
    {"run": cmd_run, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
