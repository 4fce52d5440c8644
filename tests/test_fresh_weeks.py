"""``benchmarks/fresh_weeks.py``: weeks no method has seen, and its table, by hand."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tests._scripts import load_bench


def test_fresh_weeks_are_other_weeks_than_the_held_out_ones_and_reproducible() -> None:
    from furnsim.benchmarks import held_out_weeks
    from furnsim.heldout import week_fingerprint

    fw = load_bench("fresh_weeks")
    a = fw.weeks(20000, 2, 60, 90, None)
    b = fw.weeks(20000, 2, 60, 90, None)
    assert [s for s, _ in a] == [20000, 20001]
    assert [week_fingerprint(w) for _, w in a] == [week_fingerprint(w) for _, w in b]
    assert all(60 <= w.compiled.n_jobs <= 90 for _, w in a)
    held = {week_fingerprint(w) for w in held_out_weeks(2, lo=60, hi=90)}
    assert held.isdisjoint(week_fingerprint(w) for _, w in a)
    ((s, w),) = fw.weeks(20005, 1, 100, 600, 70)
    assert s == 20005 and w.compiled.n_jobs == 70


def test_fresh_weeks_run_and_table(tmp_path: Path, capsys) -> None:
    """One small week, one goal, the single rule and a 30-neighbour budget: rows written and
    the table's ratios computed from them."""
    fw = load_bench("fresh_weeks")
    out = tmp_path / "fresh.jsonl"
    fw.cmd_run(
        argparse.Namespace(
            first=20000, weeks=1, lo=60, hi=60, jobs=None, goals="speed",
            methods="single-rule,lns:1", out=str(out),
        )
    )  # fmt: skip
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["method"] for r in rows] == ["single-rule", "lns:1"]
    assert all(r["valid"] and r["fallback"] is None for r in rows)
    capsys.readouterr()
    fw.cmd_table(argparse.Namespace(files=[str(out)]))
    text = capsys.readouterr().out
    ratio = rows[1]["cost"] / rows[0]["cost"]
    assert f"| speed | lns:1 | 1 | 1 | 1 | {ratio:.3f} (1) | – |" in text
    assert "| speed | single-rule | 1 | 1 | 1 | – | – |" in text
    # other references: the single rule's row against lns:1, and a missing method's "–"
    fw.cmd_table(argparse.Namespace(files=[str(out)], against="lns:1,noisy:60"))
    text = capsys.readouterr().out
    assert "| goal | method | plans | valid | no fallback | / lns:1 | / noisy:60 |" in text
    assert f"| speed | single-rule | 1 | 1 | 1 | {1 / ratio:.3f} (1) | – |" in text
    assert "| speed | lns:1 | 1 | 1 | 1 | – | – |" in text
