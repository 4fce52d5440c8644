"""How far apart two searches of one held-out week land: the same method, another seed.

    python benchmarks/eb_spread.py run --methods lns:60 --search-seed 1 --weeks 0-9 \\
        --out benchmarks/heldout_eb_spread.jsonl          # (and 10-19 in a second process)
    python benchmarks/eb_spread.py table --out benchmarks/heldout_eb_spread.jsonl \\
        --reference benchmarks/heldout_eb_sidebyside.jsonl

Rows as ``heldout_table.py``'s (``furnsim.heldout.plan_row``, CPU seconds) with
``search_seed``; the table puts each method's seed-``S`` cost over the reference file's
(seed 0) cost of the same week and method, and ``ppo-lns:10`` over both ``lns:60`` runs.
Empty Buffers by default (docs/optimizer.md, "Empty Buffers ... side by side").
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path


def _weeks(spec: str) -> list[int]:
    a, _, b = spec.partition("-")
    return list(range(int(a), int(b or a) + 1))


def cmd_run(a: argparse.Namespace) -> None:
    import torch

    from furnsim.benchmarks import HELD_OUT_SEED, held_out_weeks
    from furnsim.heldout import plan_row

    torch.set_num_threads(1)
    idx = _weeks(a.weeks)
    weeks = held_out_weeks(max(idx) + 1)
    out = Path(a.out)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["seed"], r["goal"], r["method"], r.get("search_seed", 0)))
    for i in idx:
        for m in a.methods.split(","):
            key = (HELD_OUT_SEED + i, a.goal, m, a.search_seed)
            if key in done:
                continue
            r = plan_row(weeks[i], HELD_OUT_SEED + i, a.goal, m, search_seed=a.search_seed)
            with out.open("a") as f:
                f.write(json.dumps(r) + "\n")
            print(r["seed"], m, a.search_seed, round(r["cost"], 1), r["valid"], flush=True)


def _rows(path: str) -> dict[tuple[int, str, int], float]:
    out = {}
    for line in Path(path).read_text().splitlines():
        r = json.loads(line)
        if not r["valid"]:
            raise SystemExit(f"{path}: an invalid plan ({r['seed']} {r['method']})")
        out[(int(r["seed"]), str(r["method"]), int(r.get("search_seed", 0)))] = float(r["cost"])
    return out


def ratios(num: dict, den: dict) -> str:
    weeks = sorted(set(num) & set(den))
    xs = [num[w] / den[w] for w in weeks]
    if not xs:
        return "no common weeks"
    lg = [math.log(x) for x in xs]
    se = statistics.stdev(lg) / math.sqrt(len(lg)) if len(lg) > 1 else float("nan")
    return (
        f"{len(xs)} weeks: mean of ratios {statistics.mean(xs):.3f}, geometric mean "
        f"{math.exp(statistics.mean(lg)):.3f} (log s.e. {se:.3f}), ratio of sums "
        f"{sum(num[w] for w in weeks) / sum(den[w] for w in weeks):.3f}, "
        f"range {min(xs):.2f}-{max(xs):.2f}"
    )


def cmd_table(a: argparse.Namespace) -> None:
    rows = {**_rows(a.reference), **_rows(a.out)}

    def of(method: str, s: int) -> dict[int, float]:
        return {w: c for (w, m, ss), c in rows.items() if m == method and ss == s}

    seeds = sorted({ss for (_, _, ss) in rows if ss})
    for m in sorted({m for (_, m, _) in rows}):
        for s in seeds:
            if of(m, s):
                print(f"{m} seed {s} / seed 0: {ratios(of(m, s), of(m, 0))}")
    for s in [0, *seeds]:
        if of("lns:60", s) and of("ppo-lns:10", 0):
            print(
                f"ppo-lns:10 seed 0 / lns:60 seed {s}: {ratios(of('ppo-lns:10', 0), of('lns:60', s))}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--methods", default="lns:60")
    r.add_argument("--goal", default="empty-buffers")
    r.add_argument("--search-seed", type=int, default=1)
    r.add_argument("--weeks", default="0-19", help="held-out week indices, e.g. 0-9")
    r.add_argument("--out", required=True)
    t = sub.add_parser("table")
    t.add_argument("--out", required=True)
    t.add_argument("--reference", required=True, help="seed-0 rows (heldout_table.py's)")
    a = ap.parse_args()
    {"run": cmd_run, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
