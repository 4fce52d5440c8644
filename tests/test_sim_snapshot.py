"""Simulator.snapshot / restore: resuming a run from a snapshot is the same run (what the LNS
optimizer relies on to skip replaying a prefix), on a plant with calendars, hard buffers and
assemblies (kits)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from furnsim.io import load_instance
from furnsim.model import Instance
from furnsim.rules import get_rule
from furnsim.sim import Simulator

DEMO = Path(__file__).resolve().parents[1] / "bom_data" / "demo" / "plant.yaml"


@cache
def demo_week(n_orders: int = 8) -> Instance:
    full = load_instance(DEMO)
    return Instance(
        full.plant, full.catalog, full.orders[:n_orders], name="demo-8", plan_start=full.plan_start
    )


def test_fixture_has_calendars_kits_and_hard_buffers() -> None:
    ci = demo_week().compiled
    assert ci.working is not None and ci.has_assembly and np.isfinite(ci.wc_capacity).any()


def _same(a: object, b: object) -> None:
    for f in a.times:  # type: ignore[attr-defined]
        np.testing.assert_array_equal(a.times[f], b.times[f])  # type: ignore[attr-defined]
    np.testing.assert_array_equal(a.op_machine, b.op_machine)  # type: ignore[attr-defined]


def test_restore_then_the_same_choices_give_the_same_run() -> None:
    inst = demo_week()
    rule = get_rule("ATCS")
    sim = Simulator(inst)
    d = sim.reset()
    snaps, choices = {}, []
    while d is not None:
        if len(choices) % 7 == 0:
            snaps[len(choices)] = sim.snapshot()
        j = rule.choose(sim, d)
        choices.append(j)
        d = sim.dispatch(j)
    full = sim.schedule()
    log = list(sim.dispatch_log)
    assert len(snaps) >= 3
    # restore (twice from the same snapshot: it stays usable), replay the rest
    for k in sorted(snaps)[1:] + [sorted(snaps)[1]]:
        d = sim.restore(snaps[k])
        assert d is not None and sim.state.dispatch_log is sim.dispatch_log  # views kept
        assert len(sim.dispatch_log) == k
        for j in choices[k:]:
            assert d is not None and j in d.candidates
            d = sim.dispatch(j)
        assert d is None and sim.deadlock is None
        _same(full, sim.schedule())
        assert sim.dispatch_log == log


def test_a_different_choice_after_restore_differs_and_restore_undoes_it() -> None:
    inst = demo_week()
    rule = get_rule("SPT")
    sim = Simulator(inst)
    d = sim.reset()
    while d is not None and d.candidates.size < 2:
        d = sim.dispatch(rule.choose(sim, d))
    assert d is not None
    snap = sim.snapshot()
    level, t = sim.wc_level.copy(), sim.time
    sim.dispatch(int(d.candidates[-1]))
    d2 = sim.restore(snap)
    assert d2 is not None and d2.machine == d.machine
    np.testing.assert_array_equal(d2.candidates, d.candidates)
    np.testing.assert_array_equal(sim.wc_level, level)
    assert sim.time == t


def test_snapshot_refuses_runs_with_holds() -> None:
    sim = Simulator(demo_week(), record_holds=True)
    with pytest.raises(ValueError, match="holds"):
        sim.snapshot()
