"""benchmarks/rl_jsp.py: the Taillard table's arithmetic (hand-computed gaps) and a resumable
run on ta01 (greedy + sampled passes, every kept plan validated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._scripts import load_bench

REPO = Path(__file__).resolve().parent.parent
JSP = REPO.parent / "shared" / "benchmarks" / "jsp"
MODEL = REPO / "furnsim" / "data" / "models" / "ppo-jsp.zip"


def _bench():
    return load_bench("rl_jsp")


def _row(text: str, label: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(f"| {label}"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_table_gaps_by_hand() -> None:
    b = _bench()
    sha = "abc"
    recs = [
        {"instance": "ta01", "method": "greedy", "model_sha": sha, "gap": 0.10, "s": 0.02},
        {"instance": "ta02", "method": "greedy", "model_sha": sha, "gap": 0.20, "s": 0.04},
        # best known 100: samples 120, 105 (ta01) and 130, 140 (ta02)
        *[
            {
                "instance": n,
                "method": "sample",
                "model_sha": sha,
                "samples": 2,
                "temperature": 1.0,
                "seed": 0,
                "gap": min(ms) / 100 - 1,
                "best_known": 100.0,
                "sample_makespans": ms,
                "s": 1.0,
            }
            for n, ms in (("ta01", [120.0, 105.0]), ("ta02", [130.0, 140.0]))
        ],
        {"instance": "ta01", "method": "rule", "rule": "A", "gap": 0.30},
        {"instance": "ta02", "method": "rule", "rule": "A", "gap": 0.05},
        {"instance": "ta01", "method": "rule", "rule": "B", "gap": 0.20},
        {"instance": "ta02", "method": "rule", "rule": "B", "gap": 0.20},
        # another model's greedy record is not this table's
        {"instance": "ta01", "method": "greedy", "model_sha": "zzz", "gap": 0.0, "s": 0.0},
    ]
    text = b.table(recs, sha, samples=2, temperature=1.0, seed=0, curve=[1, 2])
    assert _row(text, "PPO generic policy, greedy")[1:] == ["15.0 %", "15.0 %", "**15.0 %**"]
    # best of 2 samples: 5 % and 30 %
    assert _row(text, "PPO generic policy, best of 2")[-1] == "**17.5 %**"
    # min(greedy, samples): 5 % and 20 %
    assert _row(text, "PPO, best of greedy and samples")[-1] == "**12.5 %**"
    # rule A (30 %, 5 %) beats rule B (20 %, 20 %) on the mean; per instance: 20 %, 5 %
    assert _row(text, "best single rule (A)")[-1] == "**17.5 %**"
    assert _row(text, "per-instance best of 2 rules")[-1] == "**12.5 %**"
    # best of the first k samples: k=1 -> 20 %, 30 %; k=2 -> 5 %, 30 %
    assert "k = 1: 25.0 %, k = 2: 17.5 %" in text
    assert "Greedy plan time per instance: mean 30 ms" in text
    assert "previous model" not in text
    # another model's rows on request, over this table's instances only (ta01: 0 %)
    prev = b.table(recs, sha, samples=2, temperature=1.0, seed=0, previous="zzz")
    assert _row(prev, "previous model (zzz), greedy")[-1] == "**0.0 %** (1 inst.)"


@pytest.mark.skipif(not (JSP / "ta01.txt").exists(), reason="../shared/benchmarks not available")
def test_run_on_ta01_is_validated_and_resumable(tmp_path: Path) -> None:
    pytest.importorskip("sb3_contrib")
    if not MODEL.exists():
        pytest.skip("no shipped ppo-jsp model")
    b = _bench()
    out = tmp_path / "jsp.jsonl"
    argv = ["--last", "1", "--samples", "3", "--no-rules", "--jsonl", str(out)]
    b.main(argv + ["--out", str(tmp_path / "t.md")])
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["method"] for r in recs] == ["greedy", "sample"]
    g, s = recs
    assert all(r["valid"] and r["best_known"] == 1231 for r in recs)  # ta01's optimum
    assert s["makespan"] == min(s["sample_makespans"]) and len(s["sample_makespans"]) == 3
    assert g["gap"] == pytest.approx(g["makespan"] / 1231 - 1)
    side = json.loads(MODEL.with_suffix(".json").read_text())
    assert s["temperature"] == side["plan_temperature"]  # the sidecar's
    # resumed: nothing redone; another seed is another measurement
    b.main(argv)
    assert len(out.read_text().splitlines()) == 2
    b.main(argv + ["--seed", "1"])
    assert len(out.read_text().splitlines()) == 3
    assert "| PPO generic policy, greedy |" in (tmp_path / "t.md").read_text()
