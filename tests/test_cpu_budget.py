"""CPU-time budgets (Budget.clock="cpu"): a budget in CPU seconds of the planning process, so
that methods compared on a loaded machine get the same work, not the same elapsed time."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import pytest

from furnsim.io import load_instance
from furnsim.model import Instance
from furnsim.plan import plan
from furnsim.planners import Budget
from furnsim.planners.parallel import PassSearch, run_pass_search

DEMO = Path(__file__).resolve().parents[1] / "bom_data" / "demo" / "plant.yaml"


@cache
def small() -> Instance:
    full = load_instance(DEMO)
    return Instance(full.plant, full.catalog, full.orders[:4], name="s", plan_start=full.plan_start)


def test_budget_clock_is_checked_and_picks_the_timer() -> None:
    assert Budget(time_limit=1.0, clock="cpu").timer() is time.process_time
    assert Budget(time_limit=1.0).timer() is time.perf_counter
    with pytest.raises(ValueError, match="clock"):
        Budget(time_limit=1.0, clock="gpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clock"):
        plan(small(), "speed", "best-rule", time_limit=1.0, clock="gpu")


def test_pass_search_stops_on_cpu_time() -> None:
    job = PassSearch(kind="noisy", instance=small(), goal="speed", rule="ATCS")
    c0 = time.process_time()
    r = run_pass_search(job, time_limit=0.6, clock="cpu")
    used = time.process_time() - c0
    longest = max(r.pass_s)
    assert r.passes >= 2 and used <= 0.6 + 2 * longest + 0.2, (used, r.passes, longest)
    with pytest.raises(ValueError, match="clock"):
        run_pass_search(job, time_limit=0.6, clock="gpu")


def test_noisy_best_rule_counts_the_rules_into_a_cpu_budget() -> None:
    c0 = time.process_time()
    res = plan(small(), "speed", "best-rule", time_limit=1.0, clock="cpu")
    used = time.process_time() - c0
    assert res.valid and res.details["search"]["passes"] >= 1
    # the rules and the noisy passes share the budget; validation and pricing come after
    assert used <= 1.0 + 1.0, used


def test_cli_plan_takes_a_cpu_clock() -> None:
    from typer.testing import CliRunner

    from furnsim.cli import app

    ex = str(Path(__file__).resolve().parents[1] / "bom_data" / "paper_example" / "plant.yaml")
    args = ["plan", ex, "--method", "best-rule", "--time-limit", "0.5"]
    out = CliRunner().invoke(app, [*args, "--clock", "cpu"])
    assert out.exit_code == 0, out.output
    assert "valid:       True" in out.output
    bad = CliRunner().invoke(app, [*args, "--clock", "gpu"])
    assert bad.exit_code != 0 and "clock" in bad.output
