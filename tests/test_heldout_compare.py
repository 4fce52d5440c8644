"""``benchmarks/heldout_table.py compare``: two runs made side by side, B against A, by hand."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from tests._scripts import load_bench


def _write(path: Path, rows: list[tuple[int, str, str, float, int, bool]]) -> str:
    with path.open("w", encoding="utf-8") as f:
        for seed, goal, method, c, it, ok in rows:
            r = dict(seed=seed, goal=goal, method=method, cost=c, valid=ok, info={"iterations": it})
            f.write(json.dumps(r) + "\n")
    return str(path)


def test_compare_gives_the_geometric_mean_counts_and_neighbours(tmp_path, capsys) -> None:
    a = _write(
        tmp_path / "a.jsonl",
        [
            (1, "speed", "lns:10", 100.0, 1000, True),
            (2, "speed", "lns:10", 200.0, 1000, True),
            (3, "speed", "lns:10", 50.0, 1000, True),
            (9, "speed", "lns:10", 10.0, 1000, True),  # not in B: left out
        ],
    )
    b = _write(
        tmp_path / "b.jsonl",
        [
            (1, "speed", "lns:10", 90.0, 1200, True),  # better
            (2, "speed", "lns:10", 200.0, 1300, True),  # equal
            (3, "speed", "lns:10", 55.0, 1100, False),  # worse, and invalid
            (4, "speed", "lns:10", 1.0, 10, True),  # not in A: left out
        ],
    )
    load_bench("heldout_table").cmd_compare(argparse.Namespace(a=a, b=b))
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| speed")]
    assert len(line) == 1
    cells = [c.strip() for c in line[0].strip("|").split("|")]
    lr = [math.log(0.9), 0.0, math.log(1.1)]
    mu = sum(lr) / 3
    se = (sum((x - mu) ** 2 for x in lr) / 2) ** 0.5 / 3**0.5
    assert cells[:3] == ["speed", "lns:10", "3"]
    assert cells[3] == f"{math.exp(mu):.4f} ± {se:.4f}"
    assert cells[4] == "1 / 1 / 1"
    assert cells[5] == f"{3600 / 3000:.2f}"  # 1.20
    assert cells[6] == "False"
