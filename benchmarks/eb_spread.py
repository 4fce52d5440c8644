"""How far apart two searches of one held-out week land: the same method, another seed.

    H=benchmarks/heldout_table.py O=benchmarks/heldout_eb_spread.jsonl
    python $H run --goals empty-buffers --methods lns --budget 60 --search-seed 1 --out $O
    python benchmarks/eb_spread.py --out $O --reference benchmarks/heldout_eb_sidebyside.jsonl

The rows are ``heldout_table.py run --search-seed S``'s (each records ``search_seed``; the
table of ``heldout_table.py`` leaves them out). This puts each method's seed-``S`` cost over
the reference file's (seed 0) cost of the same week and method, and ``ppo-lns:10`` over each
``lns:60`` run (docs/optimizer.md, "The 60 s search against itself").
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from furnsim.heldout import ratio_stats


def _rows(path: str) -> dict[tuple[int, str, int], float]:
    out = {}
    for line in Path(path).read_text().splitlines():
        r = json.loads(line)
        if not r["valid"]:
            raise SystemExit(f"{path}: an invalid plan ({r['seed']} {r['method']})")
        out[(int(r["seed"]), str(r["method"]), int(r.get("search_seed", 0)))] = float(r["cost"])
    return out


def ratios(num: dict[int, float], den: dict[int, float]) -> str:
    weeks = sorted(set(num) & set(den))
    if not weeks:
        return "no common weeks"
    mean, of_sums, *_ = ratio_stats([(num[w], den[w]) for w in weeks])
    xs = [num[w] / den[w] for w in weeks]
    lg = [math.log(x) for x in xs]
    se = statistics.stdev(lg) / math.sqrt(len(lg)) if len(lg) > 1 else float("nan")
    return (
        f"{len(xs)} weeks: mean of ratios {mean:.3f}, geometric mean "
        f"{math.exp(statistics.mean(lg)):.3f} (log s.e. {se:.3f}), ratio of sums "
        f"{of_sums:.3f}, range {min(xs):.2f}-{max(xs):.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="rows with another search seed")
    ap.add_argument("--reference", required=True, help="seed-0 rows (heldout_table.py's)")
    a = ap.parse_args()
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
                f"ppo-lns:10 seed 0 / lns:60 seed {s}: "
                f"{ratios(of('ppo-lns:10', 0), of('lns:60', s))}"
            )


if __name__ == "__main__":
    main()
