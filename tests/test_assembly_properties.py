"""Property tests: random BOM trees x random decisions -> every join respected (or a deadlock).

Random articles whose components form a tree under one root assembly (plus independent
components), random routes, kit volumes, transport and tight hard buffers; decisions from a
seeded rng with waits (as :mod:`tests.test_sim_properties`). Each schedule is checked by the
independent validator and by a direct check of every join; tampering an assembly's start to
before a child's arrival is caught.
"""

from __future__ import annotations

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

from .test_sim_properties import _SOAK, SEEDS, WAIT, drive

MIN = st.sampled_from([0.5, 1.0, 2.0, 3.0, 4.5])


@st.composite
def bom_shops(draw: st.DrawFn) -> Instance:
    n_wc = draw(st.integers(1, 4))
    wcs = [f"W{i}" for i in range(n_wc)]
    machines = []
    for w in wcs:
        for k in range(draw(st.integers(1, 2))):
            machines.append(Machine(f"{w}.{k}", w, (NEUTRAL,), np.zeros((1, 1))))
    locs = [STORE, *wcs, FINISHED]
    tr = {
        (a, b): draw(st.sampled_from([0.0, 0.0, 1.0, 2.5]))
        for a in locs[:-1]
        for b in locs[1:]
        if not (a == STORE and b == FINISHED)
    }
    articles = []
    for a in range(draw(st.integers(1, 2))):
        n = draw(st.integers(2, 7))
        in_tree = [0]
        comps = []
        for i in range(n):
            if i == 0:
                parent = ""
            elif i == 1:
                parent = "c0"
            else:
                k = draw(st.sampled_from([None, *in_tree]))
                parent = "" if k is None else f"c{k}"
            if parent:
                in_tree.append(i)
            ops = [
                Operation(
                    draw(st.sampled_from(wcs)),
                    NEUTRAL,
                    draw(MIN),
                    volume_per_piece=draw(st.sampled_from([0.0, 0.5, 1.0])),
                )
                for _ in range(draw(st.integers(1, 3)))
            ]
            comps.append(
                Component(
                    f"c{i}",
                    float(draw(st.sampled_from([1, 1, 2]))),
                    ops,
                    final_volume_per_piece=draw(st.sampled_from([0.0, 0.5, 1.0, 1.0])),
                    parent=parent,
                )
            )
        articles.append(Article(f"A{a}", comps))
    orders = [
        Order(
            f"O{k}",
            draw(st.sampled_from([a.id for a in articles])),
            float(draw(st.sampled_from([1, 1, 2]))),
            release=draw(st.sampled_from([0.0, 0.0, 3.0])),
        )
        for k in range(draw(st.integers(1, 3)))
    ]
    # tight buffers: at least the biggest batch or kit, at most a few of them
    need = dict.fromkeys(wcs, 0.5)
    for o in orders:
        art = next(a for a in articles if a.id == o.article)
        by_id = {c.id: c for c in art.components}
        kit: dict[str, float] = {}
        for c in art.components:
            for op in c.routing:
                need[op.work_center] = max(
                    need[op.work_center], o.quantity * c.qty_per_article * op.volume_per_piece
                )
            if c.parent:
                kit[c.parent] = (
                    kit.get(c.parent, 0.0)
                    + o.quantity * c.qty_per_article * c.final_volume_per_piece
                )
        for p, v in kit.items():
            w = by_id[p].routing[0].work_center
            need[w] = max(need[w], v)
    factor = draw(st.sampled_from([1.0, 1.5, 2.0, 4.0]))
    plant = Plant([WorkCenter(w, need[w] * factor) for w in wcs], machines, TransportMatrix(tr))
    return Instance(plant, Catalog(articles), orders, name="random-bom")


SETTINGS = settings(
    max_examples=int(_SOAK or "200"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _joins_ok(s, inst) -> None:
    """Directly: every assembly starts after each child's kit arrival (complete schedules)."""
    ci = inst.compiled
    for j, p in enumerate(ci.job_parent.tolist()):
        if p < 0:
            continue
        fp = int(ci.job_op_start[p])
        lo = int(ci.job_op_start[j + 1]) - 1
        assert s.finish_arrive[j] >= s.leave[lo] - 1e-9
        assert s.start[fp] >= s.finish_arrive[j] - 1e-9
        assert s.arrive[fp] >= s.finish_arrive[j] - 1e-9


@pytest.mark.timeout(180)
@SETTINGS
@given(inst=bom_shops(), seed=SEEDS, p_wait=WAIT)
def test_random_trees_hard_buffers(inst, seed, p_wait):
    sim = Simulator(inst, buffers="hard")
    steps, _ = drive(sim, seed, p_wait)
    s = sim.schedule()
    vs = validate(s, inst)
    event("deadlock" if sim.deadlock else "complete")
    event("kit blocked a machine" if np.any(s.leave > s.end) else "no blocking")
    if sim.deadlock is None:
        assert s.complete and steps == inst.n_operations
        assert vs == [], format_violations(vs)
        _joins_ok(s, inst)
    else:
        assert "deadlock" in sim.deadlock.message and sim.deadlock.blocked
        assert sim.deadlock.cycle, sim.deadlock.blocked  # kit edges close the cycle
        event("partial kits" if sim.deadlock.kits else "no partial kit")
        wrong = [v for v in vs if v.kind != "missing"]
        assert wrong == [], format_violations(wrong)


@pytest.mark.timeout(180)
@SETTINGS
@given(inst=bom_shops(), seed=SEEDS, p_wait=WAIT)
def test_random_trees_soft_buffers_and_tampering(inst, seed, p_wait):
    sim = Simulator(inst, buffers="soft")
    drive(sim, seed, p_wait)
    s = sim.schedule()
    assert sim.deadlock is None and s.complete
    vs = validate(s, inst)
    assert vs == [], format_violations(vs)
    _joins_ok(s, inst)
    # tamper: move an assembly's first operation (all its times) to before its last child arrives
    ci = inst.compiled
    asm = np.flatnonzero(ci.job_n_children > 0)
    p = int(asm[seed % asm.size])
    fp = int(ci.job_op_start[p])
    kids = np.flatnonzero(ci.job_parent == p)
    late = float(s.finish_arrive[kids].max())
    shift = float(s.start[fp]) - (late - 0.5)
    for f in ("depart", "arrive", "setup_start", "setup_end", "start", "end", "leave"):
        s.times[f][fp] -= shift
    kinds = {v.kind for v in validate(s, inst)}
    assert "join" in kinds, kinds


@pytest.mark.timeout(180)
@settings(
    max_examples=int(_SOAK or "100"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(inst=bom_shops(), seed=SEEDS, p_wait=WAIT, buffers=st.sampled_from(["hard", "soft"]))
def test_the_makespan_bound_holds_through_the_kits(inst, seed, p_wait, buffers):
    """``furnsim.benchmarks.makespan_lb`` runs its job chains through the kits (a part's tail
    goes on through its assembly, an assembly waits for its kit): never above a complete
    plan's makespan, whatever the decisions and waits."""
    from furnsim.benchmarks import makespan_lb, tardiness_lb

    sim = Simulator(inst, buffers=buffers)
    drive(sim, seed, p_wait)
    s = sim.schedule()
    if sim.deadlock is not None:
        return
    lb = makespan_lb(inst)
    assert 0 < lb <= s.makespan + 1e-6, (lb, s.makespan)
    assert tardiness_lb(inst) == 0.0  # (no deadlines here)
