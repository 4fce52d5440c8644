"""Smoke test of benchmarks/sim_speed.py (excluded by default; run with ``pytest -m bench``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "sim_speed.py"
JSP = REPO.parent / "shared" / "benchmarks" / "jsp"

pytestmark = pytest.mark.bench


def _load_script():
    spec = importlib.util.spec_from_file_location("furnsim_bench_sim_speed", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(
    not (JSP / "ta01.txt").exists(), reason="../shared/benchmarks/jsp/ta01.txt not available"
)
def test_sim_speed_ta01_one_episode(tmp_path: Path) -> None:
    bench = _load_script()
    out = tmp_path / "results.md"
    rc = bench.main(
        [
            "--instances",
            "ta01",
            "--episodes",
            "1",
            "--repeats",
            "1",
            "--no-furniture",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    assert "| instance | engine | steps/episode |" in text
    furnsim_rows = [
        ln for ln in text.splitlines() if ln.startswith("| ta01") and "| furnsim |" in ln
    ]
    assert len(furnsim_rows) == 1
    cells = [c.strip() for c in furnsim_rows[0].strip("|").split("|")]
    assert cells[2] == "225"  # 15 jobs x 15 machines: one decision per operation
    assert cells[3] == "1"
    assert float(cells[4].replace(",", "")) > 0
    # every engine that ran made one decision per operation
    for ln in text.splitlines():
        if ln.startswith("| ta01"):
            assert "| 225 |" in ln, ln


def test_rl_search_smoke(tmp_path: Path) -> None:
    """benchmarks/rl_search.py on one held-out week, 2 passes per method: every method's first
    pass is the greedy/rule pass and the table has a row per method."""
    pytest.importorskip("sb3_contrib")
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "furnsim_bench_rl_search", REPO / "benchmarks" / "rl_search.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "search.jsonl"
    argv = ["--goals", "speed", "--weeks", "1", "--passes", "2", "--rule-passes", "2"]
    mod.main(argv + ["--eps", "0.5", "--policy-eps", "0.5", "--out", str(out)])
    recs = [__import__("json").loads(x) for x in out.read_text().splitlines()]
    by = {r["method"]: r for r in recs}
    assert set(by) == {"rule", "policy", "rule~0.5", "policy~0.5"}
    assert all(r["valid"] for r in recs)
    assert by["rule~0.5"]["costs"][0] == by["rule"]["costs"][0]  # first pass = the rule itself
    assert len(by["policy"]["costs"]) == 2 and len(by["rule"]["costs"]) == 1
