"""Property tests of the validator (issue 10): random small shops x random decisions.

* Whatever the decisions (waits included), the simulator's schedule is valid, or the shop
  deadlocked and only the unfinished operations are reported (``missing``); checking it
  with the mode it was made under, given explicitly, changes nothing.
* A random single-field tamper of a complete valid schedule, chosen among tampers that are
  violations by construction, is caught with its kind.

Shops and decisions come from :mod:`tests.test_sim_properties` (2-6 jobs, 1-4 work centers
of 1-3 machines, random setups / transport / tight buffers / subsets / releases).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from furnsim.model import Instance
from furnsim.sim import Schedule, Simulator
from furnsim.validate import format_violations, validate

from .test_sim_properties import _SOAK, SEEDS, WAIT, drive, shops

SETTINGS = settings(
    max_examples=int(_SOAK or "150"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(
    inst=shops(),
    seed=SEEDS,
    p_wait=WAIT,
    buffers=st.sampled_from(["hard", "hard", "soft"]),
    anticipatory=st.booleans(),
)
def test_simulator_schedules_are_valid_or_deadlocked(inst, seed, p_wait, buffers, anticipatory):
    sim = Simulator(inst, buffers=buffers, anticipatory_setups=anticipatory)
    drive(sim, seed, p_wait)
    s = sim.schedule()
    vs = validate(s, inst, buffers=buffers, anticipatory_setups=anticipatory)
    assert vs == validate(s, inst)  # the declared mode is the one it was made under
    if sim.deadlock is None:
        event("complete")
        assert s.complete and vs == [], format_violations(vs)
    else:
        event("deadlock")
        assert buffers == "hard" and not s.complete
        wrong = [v for v in vs if v.kind != "missing"]
        assert wrong == [], format_violations(wrong)
        assert any(v.kind == "missing" for v in vs)


def _eligible(inst: Instance, o: int) -> set[int]:
    ci = inst.compiled
    return set(ci.op_elig_machine[ci.op_elig_start[o] : ci.op_elig_start[o + 1]].tolist())


def _complete(inst: Instance, seed: int) -> Schedule:
    """A complete valid schedule: hard buffers, or soft ones where hard ones deadlock."""
    for buffers in ("hard", "soft"):
        sim = Simulator(inst, buffers=buffers)
        drive(sim, seed, 0.2)
        if sim.deadlock is None:
            return sim.schedule()
    raise AssertionError("soft buffers never deadlock")


TAMPERS = (
    "duration",
    "decision",
    "precedence",
    "transport",
    "finish",
    "eligibility",
    "setup",
    "missing-time",
    "missing-machine",
    "release",
    "idle",
    "alias",
)
EXPECT = {"finish": "transport", "missing-time": "missing", "missing-machine": "missing"}
EXPECT.update(alias="identity")


@SETTINGS
@given(
    inst=shops(),
    seed=SEEDS,
    tamper=st.sampled_from(TAMPERS),
    pick=st.integers(0, 10_000),
    delta=st.sampled_from([0.5, 1.0, 2.5, 40.0]),
)
def test_a_single_field_tamper_is_caught(inst, seed, tamper, pick, delta):
    s = _complete(inst, seed)
    assert validate(s, inst) == []
    n = s.n_ops
    o = pick % n
    t = s.times
    release = float(inst.jobs[int(s.op_job[o])].release)
    first = [k for k in range(n) if s.op_step[k] == 0]
    if tamper == "duration":
        t["end"][o] = t["start"][o] - delta  # a negative processing time
    elif tamper == "decision":
        earliest = max(0.0, float(t["depart"][o]), release)
        t["setup_start"][o] = earliest - delta
    elif tamper == "precedence":
        t["leave"][o] = t["end"][o] - delta
    elif tamper == "transport":
        t["arrive"][o] -= delta
    elif tamper == "finish":
        s.finish_arrive[int(s.op_job[o])] += delta
    elif tamper == "eligibility":
        others = sorted(set(range(len(s.machine_ids))) - _eligible(inst, o))
        if not others:
            event("no ineligible machine: an unknown machine index instead")
            s.op_machine[o] = len(s.machine_ids)  # not scheduled on a known machine
            tamper = "missing-machine"
        else:
            s.op_machine[o] = others[pick % len(others)]
    elif tamper == "setup":
        s.op_setup_to[o] = (int(s.op_setup_to[o]) + 1 + pick % 3) % len(s.setup_ids)
        if s.op_setup_to[o] == inst.compiled.op_setup[o]:
            s.op_setup_to[o] = (int(s.op_setup_to[o]) + 1) % len(s.setup_ids)
        if len(s.setup_ids) == 1:
            tamper = "decision"
            t["setup_start"][o] = max(0.0, float(t["depart"][o]), release) - delta
    elif tamper == "missing-time":
        t[("setup_start", "start", "end", "depart", "leave")[pick % 5]][o] = math.nan
    elif tamper == "missing-machine":
        s.op_machine[o] = -1
    elif tamper == "release":
        f = first[pick % len(first)]
        rel = float(inst.jobs[int(s.op_job[f])].release)
        t["depart"][f] = rel - delta
        o = f
    elif tamper == "idle":
        for f in ("start", "end", "leave"):
            t[f][o] += delta
    elif tamper == "alias":
        s.machine_ids = [*s.machine_ids, s.machine_ids[pick % len(s.machine_ids)]]
    kind = EXPECT.get(tamper, tamper)
    event(kind)
    vs = validate(s, inst)
    assert any(v.kind == kind for v in vs), f"{tamper}: {format_violations(vs)}"
    if tamper not in ("alias", "finish"):  # those name no operation / the job's last one
        assert any(o in v.ops or not v.ops for v in vs if v.kind == kind), format_violations(vs)


def test_tamper_kinds_are_all_validator_kinds():
    from furnsim.validate import KINDS

    assert {EXPECT.get(k, k) for k in TAMPERS} <= set(KINDS)
    assert np.unique([EXPECT.get(k, k) for k in TAMPERS]).size >= 9
