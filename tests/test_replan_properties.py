"""Property tests: random small shops x random ``now`` x rules -> the replan is valid and
honours the state (every operation started before ``now`` keeps machine and times, nothing
else starts before ``now``); the same rule with no events reproduces the previous plan."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from furnsim.replan import replan
from furnsim.rules import get_rule, run_policy
from furnsim.validate import format_violations, validate

from .test_sim_properties import _SOAK, shops

RULES = st.sampled_from(["FIFO", "SPT", "EDD", "MWKR", "ATC", "SETUP", "BUFFER", "PTWINQ"])
SETTINGS = settings(
    max_examples=int(_SOAK or "60"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _started_unchanged(prev, new, now, moved_machine=None):
    key = {(new.job_ids[new.op_job[o]], int(new.op_step[o])): o for o in range(new.n_ops)}
    started = set()
    for o in np.flatnonzero(prev.setup_start < now).tolist():
        n = key[(prev.job_ids[prev.op_job[o]], int(prev.op_step[o]))]
        started.add(n)
        assert new.op_machine[n] == prev.op_machine[o]
        assert new.setup_start[n] == prev.setup_start[o]
        if moved_machine is None or new.op_machine[n] != moved_machine:
            for f in ("setup_end", "start", "end"):
                assert new.times[f][n] == prev.times[f][o], f
    rest = np.array([o not in started for o in range(new.n_ops)])
    assert np.all(new.setup_start[rest] >= now - 1e-9)


@pytest.mark.timeout(300)
@SETTINGS
@given(inst=shops(), rule=RULES, other=RULES, frac=st.floats(0.0, 1.0))
def test_replan_from_random_now_is_valid_and_honours_the_state(inst, rule, other, frac):
    prev, sim = run_policy(inst, get_rule(rule))
    assume(sim.deadlock is None)
    now = float(frac * prev.makespan)
    same = replan(inst, prev, now, method=f"rule:{rule}")
    assert same.valid, format_violations(same.violations)
    for f in prev.times:
        assert np.array_equal(same.schedule.times[f], prev.times[f], equal_nan=True), f
    assert np.array_equal(same.schedule.op_machine, prev.op_machine)
    r = replan(inst, prev, now, method=f"rule:{other}")
    event("deadlock" if r.deadlock else "complete")
    if r.deadlock is None:
        assert r.valid, format_violations(r.violations)
        _started_unchanged(prev, r.schedule, now)
        assert validate(r.schedule, r.instance) == []


@pytest.mark.timeout(300)
@SETTINGS
@given(
    inst=shops(), rule=RULES, frac=st.floats(0.0, 1.0), m=st.integers(0, 20), dur=st.floats(1, 30)
)
def test_breakdown_at_random_now(inst, rule, frac, m, dur):
    prev, sim = run_policy(inst, get_rule(rule))
    assume(sim.deadlock is None)
    now = float(frac * prev.makespan)
    mid = prev.machine_ids[m % len(prev.machine_ids)]
    ev = [{"type": "breakdown", "machine": mid, "from": now, "to": now + dur}]
    for mode in ("replan", "repair"):
        r = replan(inst, prev, now, ev, mode=mode, method=f"rule:{rule}")
        event(f"{mode}: {'deadlock' if r.deadlock else 'complete'}")
        if r.deadlock is not None:
            continue
        assert r.valid, format_violations(r.violations)
        s = r.schedule
        k = prev.machine_ids.index(mid)
        _started_unchanged(prev, s, now, moved_machine=k)
        # nothing new is set up or processed on it during the outage (an operation may pause
        # across it: working time)
        for o in np.flatnonzero((s.op_machine == k) & (s.setup_start >= now)).tolist():
            for a, b in [*s.op_segments(o), *s.op_setup_segments(o)]:
                # (1e-6: downtime is anchored on datetimes, exact to the microsecond)
                assert not (a < now + dur - 1e-6 and b > now + 1e-6 and b - a > 1e-6), (o, a, b)
