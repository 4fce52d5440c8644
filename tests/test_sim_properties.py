"""Property tests: random shops x random decisions -> a valid complete schedule or a deadlock.

Instances are built with :mod:`furnsim.model` directly: 2-6 jobs, 1-4 work centers of 1-3
machines, random (asymmetric, partly zero) setup matrices, random transport, tight hard
buffers (each at least one batch), machine subsets, releases. Decisions come from a seeded
rng, with ``sim.wait()`` now and then. Every schedule is checked by the independent
validator (:mod:`furnsim.validate`).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from furnsim.model import (
    FINISHED,
    NEUTRAL,
    STORE,
    Article,
    Catalog,
    Component,
    Instance,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    WorkCenter,
)
from furnsim.sim import Simulator
from furnsim.validate import format_violations, validate

from ._tiny import make, run

SETUPS = (NEUTRAL, "s1", "s2", "s3")
MINUTES = st.sampled_from([0.0, 0.5, 1.0, 1.25, 2.0, 3.0, 4.5, 7.0])


@st.composite
def shops(draw: st.DrawFn) -> Instance:
    n_wc = draw(st.integers(1, 4))
    wcs = [f"W{i}" for i in range(n_wc)]
    n_set = draw(st.integers(1, len(SETUPS)))
    setups = SETUPS[:n_set]
    machines: list[Machine] = []
    members: dict[str, list[str]] = {}
    for w in wcs:
        members[w] = []
        for k in range(draw(st.integers(1, 3))):
            mat = np.array(
                [
                    [
                        0.0 if a == b else draw(st.sampled_from([0.0, 0.0, 1.0, 2.5, 4.0, 9.0]))
                        for b in setups
                    ]
                    for a in setups
                ]
            )  # asymmetric, zeros = virtual setups
            mid = f"{w}.{k}"
            machines.append(
                Machine(mid, w, setups, mat, initial_setup=draw(st.sampled_from(setups)))
            )
            members[w].append(mid)
    locs = [STORE, *wcs, FINISHED]
    tr = {
        (a, b): draw(st.sampled_from([0.0, 0.0, 1.0, 2.0, 3.5, 6.0]))
        for a in locs[:-1]
        for b in locs[1:]
        if not (a == STORE and b == FINISHED)
    }
    articles, orders = [], []
    n_jobs = draw(st.integers(2, 6))
    routes = []
    for j in range(n_jobs):
        ops = []
        for _ in range(draw(st.integers(1, 4))):
            w = draw(st.sampled_from(wcs))
            subset: tuple[str, ...] = ()
            if len(members[w]) > 1 and draw(st.booleans()):
                subset = tuple(draw(st.lists(st.sampled_from(members[w]), min_size=1, unique=True)))
            alt = {m: draw(MINUTES) for m in members[w] if draw(st.integers(0, 3)) == 0}
            ops.append(
                Operation(
                    w,
                    draw(st.sampled_from(setups)),
                    draw(MINUTES),
                    fixed_minutes=draw(st.sampled_from([0.0, 0.0, 1.0, 2.0])),
                    volume_per_piece=draw(st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0])),
                    machine_minutes=alt,
                    machines=subset,
                )
            )
        qty = draw(st.sampled_from([1.0, 1.0, 2.0, 3.0]))
        routes.append((ops, qty))
        articles.append(Article(f"A{j}", [Component("C", 1.0, ops)]))
        orders.append(
            Order(f"J{j}", f"A{j}", qty, release=draw(st.sampled_from([0.0, 0.0, 1.0, 5.0, 12.5])))
        )
    # tight buffers: at least the largest single batch, at most about two of them
    biggest = dict.fromkeys(wcs, 0.0)
    for ops, qty in routes:
        for op in ops:
            biggest[op.work_center] = max(biggest[op.work_center], qty * op.volume_per_piece)
    factor = draw(st.sampled_from([1.0, 1.0, 1.5, 2.0, 3.0]))
    work_centers = [WorkCenter(w, max(biggest[w], 0.5) * factor) for w in wcs]
    plant = Plant(work_centers, machines, TransportMatrix(tr))
    return Instance(plant, Catalog(articles), orders, name="random")


def drive(sim: Simulator, seed: int, p_wait: float) -> tuple[int, int]:
    """Random decisions, with waits while other events are pending; returns (dispatches, waits)."""
    rng = np.random.default_rng(seed)
    n_ops = sim.n_ops
    max_waits = 2 * n_ops
    steps = waits = 0
    d = sim.reset()
    while d is not None:
        assert steps + waits <= n_ops + max_waits, "the simulator does not make progress"
        if waits < max_waits and rng.random() < p_wait:
            try:
                d = sim.wait()
                waits += 1
                continue
            except RuntimeError:
                pass  # nothing else can happen: a wait would stall the shop
        d = sim.dispatch(int(rng.choice(d.candidates)))
        steps += 1
    assert steps <= n_ops
    return steps, waits


SEEDS = st.integers(0, 2**32 - 1)
WAIT = st.sampled_from([0.0, 0.0, 0.2, 0.5])
# The suite runs a fixed, reproducible set of examples (derandomized); a soak with fresh
# random examples: FURNSIM_HYPOTHESIS_EXAMPLES=3000 pytest tests/test_sim_properties.py
_SOAK = os.environ.get("FURNSIM_HYPOTHESIS_EXAMPLES")
SETTINGS = settings(
    max_examples=int(_SOAK or "250"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.timeout(120)
@SETTINGS
@given(inst=shops(), seed=SEEDS, p_wait=WAIT, anticipatory=st.booleans())
def test_hard_buffers_valid_or_deadlock(inst, seed, p_wait, anticipatory):
    sim = Simulator(inst, buffers="hard", anticipatory_setups=anticipatory)
    steps, waits = drive(sim, seed, p_wait)
    event("waited" if waits else "never waited")
    s = sim.schedule()
    vs = validate(s, inst)
    event("deadlock" if sim.deadlock else "complete")
    event("a machine blocked" if np.any(s.leave > s.end) else "no blocking")
    if sim.deadlock is None:
        assert s.complete and steps == inst.n_operations
        assert np.all(np.isfinite(s.finish_arrive))
        assert vs == [], format_violations(vs)
    else:
        assert sim.deadlock.message and "deadlock" in sim.deadlock.message
        assert sim.deadlock.blocked  # something holds a machine
        assert not s.complete
        # what was done before the deadlock is still correct
        wrong = [v for v in vs if v.kind != "missing"]
        assert wrong == [], format_violations(wrong)


@pytest.mark.timeout(120)
@SETTINGS
@given(inst=shops(), seed=SEEDS, p_wait=WAIT, anticipatory=st.booleans())
def test_soft_buffers_never_deadlock(inst, seed, p_wait, anticipatory):
    sim = Simulator(inst, buffers="soft", anticipatory_setups=anticipatory)
    steps, _ = drive(sim, seed, p_wait)
    s = sim.schedule()
    assert sim.deadlock is None
    assert s.complete and steps == inst.n_operations
    assert np.all(s.leave == s.end)
    vs = validate(s, inst)
    assert vs == [], format_violations(vs)


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None, derandomize=_SOAK is None)
@given(inst=shops(), seed=SEEDS)
def test_same_decisions_same_schedule(inst, seed):
    a = Simulator(inst)
    drive(a, seed, 0.3)
    b = Simulator(inst)
    drive(b, seed, 0.3)
    for f, v in a.schedule().times.items():
        assert np.array_equal(v, b.schedule().times[f], equal_nan=True), f


# -- zero-time operations (regression: their END used to be handled before their START) --
def test_zero_time_last_operation():
    inst = make([[("A", 0)]])
    s = run(Simulator(inst))
    assert s.complete and validate(s, inst) == []


def test_zero_time_operation_releases_its_own_buffer():
    inst = make(
        [[("A", 0, NEUTRAL, 1), ("B", 1, NEUTRAL, 1)], [("A", 1, NEUTRAL, 1)]],
        capacity={"A": 1.0, "B": 1.0},
    )
    sim = Simulator(inst)
    s = run(sim)
    assert sim.deadlock is None and s.complete
    assert validate(s, inst) == []
