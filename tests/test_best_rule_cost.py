"""The start of every method: ``best_rule`` reads each rule's cost from its finished run and
builds only the winner's schedule, and ``cost`` reads only the KPIs its goal weighs. Both
must give exactly what the full schedule's KPIs give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from furnsim.goals import cost, load_goals
from furnsim.io import load_instance
from furnsim.kpi import kpis
from furnsim.rules import best_rule, get_rule, rule_names, run_policy

from ._tiny import ft06_path

REPO = Path(__file__).resolve().parents[1]
GOALS = list(load_goals().values())


@pytest.fixture(scope="module")
def instances():
    return {
        "ft06": load_instance(ft06_path()),
        # shifts (working-time KPIs) and assemblies (kits)
        "demo_shifts": load_instance(REPO / "bom_data" / "demo_shifts" / "plant.yaml"),
        "assembly": load_instance(REPO / "bom_data" / "demo-assembly" / "plant.yaml"),
    }


def _full_cost(s, g, inst) -> float:
    """The goal's cost from every KPI of the schedule (no ``need``)."""
    k = kpis(s, inst)
    if k["complete"] < 1.0:
        return float("inf")
    return float(sum(w * k[n] for n, w in g.weights.items() if w))


@pytest.mark.parametrize("which", ["ft06", "demo_shifts", "assembly"])
@pytest.mark.parametrize("buffers", ["hard", "soft"])
def test_best_rule_costs_are_each_rules_schedule_cost(instances, which, buffers):
    inst = instances[which]
    plans = {r: run_policy(inst, get_rule(r), buffers=buffers, seed=0) for r in rule_names(True)}
    for g in GOALS:
        b = best_rule(inst, g, buffers=buffers)
        want = {}
        for r, (s, sim) in plans.items():
            want[r] = float("inf") if sim.deadlock is not None else cost(s, g, inst)
        assert b.costs == want, g.name
        finite = {r: c for r, c in want.items() if c < float("inf")}
        # the first listed of the cheapest wins, and its schedule is the rule's own plan
        assert b.rule == min(finite, key=lambda r: (finite[r], list(finite).index(r)))
        assert b.cost == cost(b.schedule, g, inst) == finite[b.rule]
        assert b.schedule.method == f"rule:{b.rule}"
        own = plans[b.rule][0]
        for k, v in own.times.items():
            np.testing.assert_array_equal(b.schedule.times[k], v)
        np.testing.assert_array_equal(b.schedule.op_machine, own.op_machine)


@pytest.mark.parametrize("which", ["ft06", "demo_shifts", "assembly"])
def test_cost_reads_only_what_the_goal_weighs_and_equals_the_full_kpis(instances, which):
    inst = instances[which]
    for r in ("ATCS", "FIFO", "LWKR"):
        for buffers in ("hard", "soft"):
            s, sim = run_policy(inst, get_rule(r), buffers=buffers)
            if sim.deadlock is not None:
                continue
            for g in GOALS:
                assert cost(s, g, inst) == pytest.approx(_full_cost(s, g, inst), rel=1e-12)
