"""Golden test: the paper's worked example comes out of the simulator as the paper computes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from furnsim.io import load_instance
from furnsim.sim import Simulator

PAPER = Path(__file__).resolve().parents[1] / "bom_data" / "paper_example" / "plant.yaml"


@pytest.fixture(scope="module")
def inst():
    return load_instance(PAPER)


def _job(inst, order):
    return next(j for j, jb in enumerate(inst.jobs) if jb.component == order)


def test_o31_and_job1_after_job3_on_m1(inst):
    ci = inst.compiled
    j1, j3 = _job(inst, "J1"), _job(inst, "J3")
    m1 = ci.machine_ids.index("M1")
    sim = Simulator(inst)
    d = sim.reset()
    # run to M1's first decision at t = 0 and give it job 3
    while d.machine != m1:
        d = sim.dispatch(d.candidates[0])
    assert d.time == 0 and j3 in d.candidates
    d = sim.dispatch(j3)
    while d is not None and not (d.machine == m1 and j1 in d.candidates):
        d = sim.dispatch(d.candidates[0])
    assert d is not None and d.time == 29  # M1 is free again when O31 ends
    d = sim.dispatch(j1)
    while d is not None:
        d = sim.dispatch(d.candidates[0])
    s = sim.schedule()
    o31 = int(ci.job_op_start[j3])
    o11 = int(ci.job_op_start[j1])
    setup_ids = ci.setup_ids
    # O31 = 400 * 0.0625 + 0 + 4 = 29: setup neutral -> s3 (4 min), then 25 min processing
    assert setup_ids[s.op_setup_from[o31]] == "neutral" and setup_ids[s.op_setup_to[o31]] == "s3"
    assert (s.setup_start[o31], s.setup_end[o31], s.start[o31], s.end[o31]) == (0, 4, 4, 29)
    assert s.end[o31] - s.setup_start[o31] == 400 * 0.0625 + 0 + 4
    # job 1 on M1 from setup s3, dispatched at 29: setup s3 -> s1 (4) + 400 * 0.05 -> ends at 53
    assert setup_ids[s.op_setup_from[o11]] == "s3"
    assert (s.setup_start[o11], s.end[o11]) == (29, 53)
    assert s.complete and sim.deadlock is None


def test_paper_example_valid_under_every_rule(inst):
    from furnsim.plan import run_rule
    from furnsim.rules import RULES
    from furnsim.validate import validate

    for name, rule in RULES.items():
        s, sim = run_rule(inst, rule, seed=0)
        assert sim.deadlock is None, name
        assert validate(s, inst) == [], name
