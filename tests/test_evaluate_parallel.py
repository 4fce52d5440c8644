"""Evaluation sweeps on 2 local processes give the same table as one process (fixed budgets;
on a local Ray instance: tests/test_ray.py); the CLI's --workers / --ray / --passes options."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from furnsim.cli import app
from furnsim.evaluate import evaluate

from ._tiny import ft06_path

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
METHODS = ["rule:SPT", "best-rule", "lns"]
COLS = ["instance", "method", "method_used", "cost", "valid", "violations", "makespan"]


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> list[Path]:
    bad = tmp_path_factory.mktemp("bad") / "broken.txt"
    bad.write_text("2 2\n0 x\n")  # not a benchmark file: an error row, not a crash
    # ft06, a plant where buffers deadlock some rules (fallbacks), a broken file
    return [ft06_path(), ROOT / "tests" / "data" / "swap_deadlock.yaml", bad]


def _sweep(paths, **kw) -> pd.DataFrame:
    return evaluate(paths, METHODS, "speed", passes=3, seed=2, **kw)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = [c for c in COLS if c in a]
    pd.testing.assert_frame_equal(
        a[cols].reset_index(drop=True), b[cols].reset_index(drop=True), check_dtype=False
    )


@pytest.fixture(scope="module")
def one(paths) -> pd.DataFrame:
    return _sweep(paths)


def test_sweep_on_2_processes_is_the_same_table(paths, one):
    seen: list[dict] = []
    two = _sweep(paths, workers=2, on_row=seen.append)
    _same(one, two)
    assert len(seen) == (len(one) - 1)  # every planned pair reported, not the error row
    assert (one["error"].notna()).sum() == 1  # the broken file: one error row
    ft = one[one["path"] == str(ft06_path())]
    assert len(ft) == 3 and ft["valid"].all()
    dead = one[one["path"].astype(str).str.endswith("swap_deadlock.yaml")]
    assert len(dead) == 3 and (dead["fallback"] != "").all()  # every method fell back


def test_workers_do_not_rerun_the_main_script(tmp_path):
    """A script without a __main__ guard (or Streamlit's app) can use workers: the worker
    processes do not import the parent's main module again."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import math\n"
        "from furnsim.planners.parallel import map_tasks\n"
        "print('main body', flush=True)\n"
        "print(map_tasks(math.factorial, [(5,), (6,), (7,)], workers=2))\n"
    )
    r = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("main body") == 1 and "([120, 720, 5040], 'processes')" in r.stdout


def test_cli_evaluate_workers_and_passes(tmp_path):
    out = tmp_path / "r.csv"
    r = runner.invoke(
        app,
        [
            "evaluate",
            "--instances",
            str(ft06_path()),
            "--methods",
            "rule:SPT,best-rule",
            "--passes",
            "3",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out)
    assert list(df["method"]) == ["rule:SPT", "best-rule"] and df["valid"].all()


def test_cli_refuses_bad_methods_and_missing_ray(monkeypatch):
    r = runner.invoke(app, ["evaluate", "--instances", str(ft06_path()), "--methods", "magic"])
    assert r.exit_code == 2 and "unknown method" in r.output
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "ray" else real(n, *a)
    )
    r = runner.invoke(app, ["plan", str(ft06_path()), "--ray", "auto"])
    assert r.exit_code == 2 and "Ray is not installed" in r.output
    r = runner.invoke(app, ["plan", str(ft06_path()), "--workers", "0"])
    assert r.exit_code == 2


def test_training_rule_evaluation_same_on_processes():
    """furnsim train's rule evaluations (selection / validation weeks) on 2 processes."""
    from furnsim.benchmarks import held_out_weeks
    from furnsim.rl.train import rule_costs

    weeks = held_out_weeks(2, lo=30, hi=40)
    rules = ["FIFO", "SPT", "ATCS"]
    one = rule_costs(weeks, "speed", rules)
    two = rule_costs(weeks, "speed", rules, workers=2)
    assert one == two and list(two) == rules and all(len(v) == 2 for v in two.values())
    assert len({tuple(v) for v in one.values()}) > 1  # the rules differ: not a constant


def test_cli_plan_portfolio_and_parallel_search(tmp_path):
    import json

    out = tmp_path / "p.json"
    r = runner.invoke(
        app,
        [
            "plan",
            str(ft06_path()),
            "--method",
            "portfolio:rule:SPT,rule:FIFO",
            "--workers",
            "2",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.output.count("portfolio:") == 2 and "<- kept" in r.output
    d = json.loads(out.read_text())
    assert (
        d["info"]["requested"] == "portfolio:rule:SPT,rule:FIFO"
        and d["info"]["validation"]["valid"]
    )
    assert d["info"]["passes"]["backend"] == "processes"
    r = runner.invoke(
        app, ["plan", str(ft06_path()), "--passes", "4", "--workers", "2", "--json", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert "workers:     4 noisy passes on processes (2 workers)" in r.output
    assert json.loads(out.read_text())["details"]["search"]["passes"] == 4
