"""Property tests for intentional holds (docs/semantics.md "Intentional holds").

Random shops (plain, with working time, with assemblies) x random decisions that include
random holds (STORE holds, machine holds until a time or until a job comes, passes): every
schedule the simulator makes validates clean under the hold-aware rules (non-delay included),
or the shop deadlocked and what was done is correct. Rules (non-delay decisions) validate clean
under the non-delay check too. Tampering with a recorded hold is caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from furnsim.sim import Simulator
from furnsim.sim.engine import AT_STORE, DONE
from furnsim.validate import format_violations, validate

from .test_assembly_properties import bom_shops
from .test_calendar_properties import shops_with_working_time
from .test_sim_properties import _SOAK, SEEDS, drive, shops

SETTINGS = settings(
    max_examples=int(_SOAK or "150"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)
LENGTHS = (0.5, 1.0, 2.0, 3.5, 7.0, 20.0)


def drive_holds(sim: Simulator, seed: int, p_hold: float) -> dict[str, int]:
    """Random decisions with random holds; returns how many of each were made."""
    rng = np.random.default_rng(seed)
    n = {"dispatch": 0, "wait": 0, "store": 0, "machine": 0, "await": 0}
    budget = 3 * sim.n_ops + 3
    d = sim.reset()
    while d is not None:
        assert sum(n.values()) <= sim.n_ops + 2 * budget, "no progress"
        holds = n["wait"] + n["store"] + n["machine"] + n["await"]
        r = rng.random()
        if holds < budget and r < p_hold:
            kind = rng.integers(0, 4)
            try:
                if kind == 0:
                    d = sim.wait()
                    n["wait"] += 1
                    continue
                if kind == 1:
                    store = [
                        j
                        for j in range(sim.n_jobs)
                        if sim.job_state[j] == AT_STORE
                        and j not in sim.held_jobs
                        and sim.ci.job_n_children[j] == 0
                    ]
                    if store:
                        j = int(rng.choice(store))
                        t0 = max(sim.time, float(sim.ci.job_release[j]))
                        d = sim.hold_job(j, t0 + float(rng.choice(LENGTHS)), "random")
                        n["store"] += 1
                        continue
                if kind == 2:
                    d = sim.hold_machine(until=sim.time + float(rng.choice(LENGTHS)))
                    n["machine"] += 1
                    continue
                if kind == 3:
                    w = sim.ci.machine_wc[d.machine]
                    later = [
                        j
                        for j in range(sim.n_jobs)
                        if sim.job_state[j] != DONE
                        and j not in d.candidates
                        and any(
                            sim.ci.op_wc[o] == w
                            for o in range(int(sim.job_op[j]), int(sim.ci.job_op_start[j + 1]))
                        )
                    ]
                    if later:
                        j = int(rng.choice(later))
                        until = (
                            math.inf
                            if rng.random() < 0.5
                            else sim.time + float(rng.choice(LENGTHS))
                        )
                        d = sim.hold_machine(until=until, job=j, reason="await")
                        n["await"] += 1
                        continue
            except (RuntimeError, ValueError):
                pass  # not possible here (stall, ineligible): decide instead
        d = sim.dispatch(int(rng.choice(d.candidates)))
        n["dispatch"] += 1
    return n


def _explain(sim: Simulator, vs: list) -> str:
    s = sim.schedule()
    cols = ["job", "step", "machine", "setup_start", "start", "end", "depart", "arrive", "leave"]
    return (
        f"{format_violations(vs)}\n{s.to_frame()[cols].to_string()}\nholds: {s.holds}\n"
        f"dispatches: {sim.dispatch_log}"
    )


def _check(sim: Simulator, inst) -> list:
    s = sim.schedule()
    vs = validate(s, inst)
    if sim.deadlock is not None:
        event("deadlock")
        vs = [v for v in vs if v.kind != "missing"]
    else:
        assert s.complete
    return vs


@pytest.mark.timeout(300)
@SETTINGS
@given(
    inst=shops(),
    seed=SEEDS,
    p=st.sampled_from([0.1, 0.3, 0.6]),
    buffers=st.sampled_from(["hard", "soft"]),
    anticipatory=st.booleans(),
)
def test_random_holds_validate_clean(inst, seed, p, buffers, anticipatory):
    sim = Simulator(inst, buffers=buffers, anticipatory_setups=anticipatory, record_holds=True)
    n = drive_holds(sim, seed, p)
    for k, v in n.items():
        if v and k != "dispatch":
            event(f"{k} holds")
    vs = _check(sim, inst)
    assert vs == [], _explain(sim, vs)
    s = sim.schedule()
    assert s.holds is not None
    for h in s.holds:
        assert h["until"] > h["from"]


@pytest.mark.timeout(300)
@settings(SETTINGS, max_examples=int(_SOAK or "80"))
@given(inst=shops_with_working_time(), seed=SEEDS, p=st.sampled_from([0.1, 0.4]))
def test_random_holds_with_working_time(inst, seed, p):
    sim = Simulator(inst, record_holds=True)
    drive_holds(sim, seed, p)
    vs = _check(sim, inst)
    assert vs == [], format_violations(vs)


@pytest.mark.timeout(300)
@settings(SETTINGS, max_examples=int(_SOAK or "80"))
@given(inst=bom_shops(), seed=SEEDS, p=st.sampled_from([0.1, 0.4]))
def test_random_holds_with_assemblies(inst, seed, p):
    sim = Simulator(inst, record_holds=True)
    drive_holds(sim, seed, p)
    vs = _check(sim, inst)
    assert vs == [], format_violations(vs)


@pytest.mark.timeout(300)
@SETTINGS
@given(
    inst=shops(),
    seed=SEEDS,
    buffers=st.sampled_from(["hard", "soft"]),
    anticipatory=st.booleans(),
)
def test_non_delay_decisions_pass_the_non_delay_check(inst, seed, buffers, anticipatory):
    """Decisions without waits (what every rule makes) are non-delay: with an empty hold
    record the strict check finds nothing."""
    sim = Simulator(inst, buffers=buffers, anticipatory_setups=anticipatory)
    drive(sim, seed, 0.0)
    assert sim.schedule().holds is None  # rules record nothing: v1 plans
    s = sim.schedule()
    s.holds = []
    vs = validate(s, inst)
    if sim.deadlock is not None:
        vs = [v for v in vs if v.kind != "missing"]
    assert vs == [], format_violations(vs)


@pytest.mark.timeout(300)
@settings(SETTINGS, max_examples=int(_SOAK or "60"))
@given(inst=shops_with_working_time(), seed=SEEDS)
def test_non_delay_with_working_time(inst, seed):
    sim = Simulator(inst)
    drive(sim, seed, 0.0)
    s = sim.schedule()
    s.holds = []
    vs = validate(s, inst)
    if sim.deadlock is not None:
        vs = [v for v in vs if v.kind != "missing"]
    assert vs == [], format_violations(vs)


@pytest.mark.timeout(600)
@settings(SETTINGS, max_examples=int(_SOAK or "60"))
@given(inst=shops(), seed=SEEDS, pick=st.integers(0, 10**6), how=st.integers(0, 2))
def test_tampered_holds_are_caught(inst, seed, pick, how):
    sim = Simulator(inst, record_holds=True)
    drive_holds(sim, seed, 0.5)
    if sim.deadlock is not None:
        return
    s = sim.schedule()
    assert validate(s, inst) == []
    holds = [h for h in (s.holds or []) if h["reason"] != "wait"]
    if not holds:
        event("no holds to tamper with")
        return
    h = holds[pick % len(holds)]
    k = s.holds.index(h)
    if h["kind"] == "store":
        j = s.job_ids.index(h["job"])
        o = int(np.flatnonzero(s.op_job == j)[0])
        if how == 0:  # the hold extends past the departure
            s.holds[k] = {**h, "until": float(s.depart[o]) + 1.0}
        elif how == 1:  # the hold begins before the release
            s.holds[k] = {**h, "from": float(inst.compiled.job_release[j]) - 1.0}
        else:  # a second, overlapping hold
            s.holds.append(dict(h))
        event(f"store tamper {how}")
        kinds = {v.kind for v in validate(s, inst)}
        assert "hold" in kinds, kinds
    else:
        m = s.machine_ids.index(h["machine"])
        ops = np.flatnonzero(s.op_machine == m)
        if how == 2:
            s.holds.append(dict(h))
        elif ops.size:  # move an operation of that machine into the hold
            o = int(ops[pick % ops.size])
            shift = (h["from"] + h["until"]) / 2 - float(s.times["setup_start"][o])
            for f in ("setup_start", "setup_end", "start", "end", "leave"):
                s.times[f][o] += shift
        else:
            return
        event(f"machine tamper {how}")
        kinds = {v.kind for v in validate(s, inst)}
        assert "hold" in kinds, kinds
