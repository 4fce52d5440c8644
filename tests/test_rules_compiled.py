"""The compiled rule picks (furnsim/_rule_kernels.py: every rule without a static key) and the compiled
working-time KPIs of ``partial_cost`` (furnsim/kpi_working.py) must be the numpy path's, bit
for bit: the same pick at every decision, the same per-machine floats, and so the very same
optimizer search for a seed (issue 15). Generated calendar-plant weeks (shift calendars),
hard and soft buffers, runs that leave the rule's own path (random picks in between)."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

import furnsim.kpi_working as kw
import furnsim.rules as rules_mod
from furnsim._numba import HAVE_NUMBA, pairwise_sum
from furnsim.goals import partial_cost
from furnsim.kpi import partial_kpis
from furnsim.model import Instance
from furnsim.sim import Simulator
from furnsim.solvers.lns import lns
from tests._rules import pinned_best_rule

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")

COMPILED = (
    "ATCS", "ATC", "PTWINQS", "FIFO", "KIT", "SETUP", "CR", "LWKRMOD", "PTWINQ", "DPTLWKRS",
    "DPTWINQNPT", "BUFFER",
)  # fmt: skip

_pinned = pinned_best_rule


@cache
def week(seed: int, jobs: int = 60) -> Instance:
    """A generated calendar-plant week (demo plant, shift calendars); not a held-out seed."""
    from furnsim.env import WeekSource

    return WeekSource.from_path(None).week(seed, jobs)


def _runs(inst: Instance, buffers: str, seed: int, fast: bool):
    """Every decision (with more than one candidate) of a run that follows ATCS but takes a
    random candidate at one decision in four (states off any one rule's path)."""
    rng = np.random.default_rng(seed)
    sim = Simulator(inst, buffers=buffers, fast=fast)
    d = sim.reset()
    atcs = rules_mod.get_rule("ATCS")
    while d is not None:
        if d.candidates.size > 1:
            yield sim, d
        c = d.candidates
        j = int(c[rng.integers(c.size)]) if rng.random() < 0.25 else atcs.choose(sim, d)
        d = sim.dispatch(j)


def test_week_has_calendars_deadlines_and_kits() -> None:
    ci = week(20011).compiled
    assert ci.working is not None and all(m is not None for m in ci.working.machines)
    assert np.isfinite(ci.job_deadline).any() and ci.has_assembly


@pytest.mark.parametrize(
    "seed,buffers,fast",
    [(20011, "hard", True), (20012, "hard", False), (20013, "soft", True), (20014, "hard", True)],
)
def test_compiled_picks_are_the_numpy_picks(seed: int, buffers: str, fast: bool) -> None:
    rules = [rules_mod.get_rule(n) for n in COMPILED]
    assert all(r.compiled is not None for r in rules)
    n = 0
    for sim, d in _runs(week(seed), buffers, seed, fast):
        st = rules_mod._static(sim)
        for r in rules:
            want = rules_mod._lexmin(d.candidates, r.keys(sim, d, st))
            assert r.compiled(sim, d, st) == want == r.choose(sim, d), (r.name, d)
        n += 1
    assert n > 50


def test_compiled_pick_handles_ties_nan_and_tolerance() -> None:
    """The kernels' ``_lexmin``: near-ties within 1e-9 (relative) go to the next key, NaN
    ranks last, an infinite minimum ties its equals only, then the lowest job."""
    from furnsim._rule_kernels import _lexmin

    c = np.array([7, 3, 5, 9], dtype=np.int64)
    cases = [
        ([[1e6, 1e6 + 1e-4, 2e6, np.nan], [4.0, 3.0, 0.0, 0.0]], 3),  # tie at 1e6 -> key 2
        ([[np.nan, 2.0, 2.0, 3.0], [0.0, 1.0, 1.0, 0.0]], 3),  # 2.0 tie, key 2 tie -> job 3
        ([[np.inf, np.inf, np.nan, np.inf], [5.0, 6.0, 0.0, 1.0]], 9),
        ([[np.nan] * 4, [2.0, 1.0, 1.0, 3.0]], 3),  # all NaN: all tie
    ]
    for keys, want in cases:
        k = np.array(keys)
        assert _lexmin(k, c) == want == rules_mod._lexmin(c, tuple(k))


def test_pairwise_sum_is_numpys_sum_with_its_zero() -> None:
    rng = np.random.default_rng(1)
    for n in (0, 1, 7, 8, 9, 127, 128, 129, 1000, 9001):
        a = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 6, size=n)
        assert 0.0 + pairwise_sum(a, 0, n) == a.sum()
    z = np.array([-0.0])
    assert str(0.0 + pairwise_sum(z, 0, 1)) == str(z.sum()) == "0.0"


def _arrays(sim: Simulator) -> tuple:
    st = sim.state
    ci = st.ci
    ops = np.flatnonzero(st.rec_machine >= 0)
    t = st.rec
    now = float(st.time)
    en, lv = t["end"][ops], t["leave"][ops]
    stop = np.where(np.isnan(lv), np.maximum(now, en), lv)
    mk = float(partial_kpis(sim)["makespan"])
    return (
        ci.working,
        st.rec_machine[ops],
        t["setup_start"][ops],
        t["setup_end"][ops],
        en,
        stop,
        mk,
        ci.n_machines,
    )


@pytest.mark.parametrize("seed,buffers", [(20011, "hard"), (20015, "soft")])
def test_partial_working_kpis_are_the_numpy_ones(monkeypatch, seed: int, buffers: str) -> None:
    """Per machine (setup, blocked, available working minutes) and the goal costs, at every
    fifth decision of a run and at its end."""
    from furnsim.goals import load_goals

    goals = list(load_goals().values())
    n = 0
    sim = None
    for sim, _d in _runs(week(seed), buffers, seed, True):
        n += 1
        if n % 5:
            continue
        a = _arrays(sim)
        for x, y in zip(kw._partial_numpy(*a), kw._partial_compiled(*a), strict=True):
            assert np.array_equal(x, y)
    assert sim is not None and n > 50
    assert sim.state.rec_machine.min() >= -1
    fast = [partial_cost(sim, g) for g in goals]
    monkeypatch.setattr(kw, "HAVE_NUMBA", False)
    assert [partial_cost(sim, g) for g in goals] == fast


def test_working_kpis_extend_the_calendar_when_time_runs_past_it() -> None:
    """A time past a machine's built horizon extends it first (as ``MachineTime._w``)."""
    inst = week(20016, 20)
    wt = inst.compiled.working
    mt = next(m for m in wt.machines if m is not None)
    h = mt.horizon
    mm = np.array([wt.machines.index(mt)], dtype=np.int64)
    one = np.array([h + 10.0])
    a = (wt, mm, one - 30.0, one, one, one + 100.0, h + 500.0, len(wt.machines))
    got = kw._partial_compiled(*a)
    assert mt.horizon > h + 500.0
    for x, y in zip(got, kw._partial_numpy(*a), strict=True):
        assert np.array_equal(x, y)


def _lns(monkeypatch, inst: Instance, rule: str, compiled: bool, **kw_) -> tuple:
    monkeypatch.setattr(rules_mod, "best_rule", _pinned(rule))
    monkeypatch.setattr(rules_mod, "HAVE_NUMBA", compiled)
    monkeypatch.setattr(kw, "HAVE_NUMBA", compiled)
    r = lns(inst, time_limit=None, start_ppo=False, **kw_)
    times = {f: np.asarray(v).copy() for f, v in r.schedule.times.items()}
    return (r.cost, r.iterations, r.improvements, r.moves, [h[0] for h in r.history]), times


@pytest.mark.parametrize(
    "seed,rule,goal",
    [
        (20017, "ATCS", "speed"),
        (20018, "PTWINQS", "efficiency"),
        (20019, "FIFO", "empty-buffers"),
        (20020, "KIT", "speed"),
    ],
)
def test_lns_search_is_the_same_with_compiled_rules_and_kpis(monkeypatch, seed, rule, goal):
    """The optimizer with the compiled picks and KPIs is the numpy path's search: the same
    cost, iterations, moves, history and schedule for a fixed number of neighbours."""
    kw_ = {"goal": goal, "iterations": 30, "seed": seed, "neighbourhoods": ("window", "group")}
    a, ta = _lns(monkeypatch, week(seed), rule, False, **kw_)
    b, tb = _lns(monkeypatch, week(seed), rule, True, **kw_)
    assert a == b
    assert a[3]["rule"]["tried"] > 0  # rule-suffix neighbours were decoded
    for f in ta:
        assert np.array_equal(ta[f], tb[f], equal_nan=True), f


def _record(sim: Simulator) -> tuple:
    return (
        list(sim.dispatch_log),
        tuple(np.nan_to_num(sim.rec["start"], nan=-1.0).tolist()),
        tuple(np.nan_to_num(sim.rec["leave"], nan=-1.0).tolist()),
        tuple(sim.rec_machine.tolist()),
        sim.deadlock is None,
    )


@pytest.mark.parametrize(
    "seed,buffers,jobs", [(20021, "hard", 60), (20022, "soft", 60), (20023, "hard", 150)]
)
def test_run_rule_is_deciding_one_by_one(seed: int, buffers: str, jobs: int) -> None:
    """``Simulator.run_rule`` (the rule's pick inside the compiled loop) is the run of
    ``rule.choose`` at every decision: the same dispatch log and records, from the start and
    from a state off the rule's path (random picks first), to the end and with ``until``
    stops; the Python engine's ``run_rule`` (one ``choose`` per decision) too."""
    inst = week(seed, jobs)
    rng = np.random.default_rng(seed)
    for name in COMPILED:
        rule = rules_mod.get_rule(name)
        assert rule.loop is not None
        for off_path in (0, 25):
            picks = []  # the random start, then the rule one by one (the reference)
            ref = Simulator(inst, buffers=buffers)
            d = ref.decision()
            while d is not None:
                if len(picks) < off_path:
                    j = int(d.candidates[rng.integers(d.candidates.size)])
                else:
                    j = rule.choose(ref, d)
                picks.append(j)
                d = ref.dispatch(j)
            want = _record(ref)
            stops = sorted(set(rng.integers(off_path + 1, len(picks), size=4).tolist()))
            for fast in (True, False):
                sim = Simulator(inst, buffers=buffers, fast=fast)
                d = sim.decision()
                for j in picks[:off_path]:
                    d = sim.dispatch(j)
                for n in stops:  # stop at the decision after n dispatches, go on
                    d = sim.run_rule(rule, until=n)
                    assert d is not None and len(sim.dispatch_log) == n
                    assert sim._fast == fast
                assert sim.run_rule(rule) is None
                assert _record(sim) == want, (name, off_path, fast)


def test_run_rule_reads_working_time_past_the_tables() -> None:
    """The compiled pick reads deadlines' working minutes: ``run_rule`` extends the machines'
    working-time tables past every deadline first (as ``Rule.compiled`` does per decision)."""
    base = week(20024)
    later = 3 * 7 * 1440.0  # every other order due three weeks later: past the tables
    inst = dataclasses.replace(
        base,
        orders=[
            dataclasses.replace(o, deadline=o.deadline + later * (i % 2))
            for i, o in enumerate(base.orders)
        ],
    )
    for mt in inst.compiled.working.machines:
        if mt is not None:
            mt._set(60.0)  # the shortest tables: the run and the deadlines lie beyond them
    ref = Simulator(inst)
    d = ref.decision()
    atcs = rules_mod.get_rule("ATCS")
    while d is not None:
        d = ref.dispatch(atcs.choose(ref, d))
    for mt in inst.compiled.working.machines:
        if mt is not None:
            mt._set(60.0)
    sim = Simulator(inst, fast=True)
    st = sim.state.static
    assert st.deadline_max > 60.0 + 7 * 1440.0  # past the tables (built a week past 60 min)
    # after the first decision the run itself has needed no table past minute 60; the
    # tables reach past every deadline only because run_rule extended them before the pick
    assert sim.run_rule(atcs, until=1) is not None
    assert all(mt.horizon > st.deadline_max for mt in inst.compiled.working.machines if mt)
    assert sim.run_rule(atcs) is None
    assert _record(sim) == _record(ref)


# -- run_policy: a rule with a static key or a loop pick runs in the compiled loop ----------
_FAST_RULES = [n for n, r in rules_mod.RULES.items() if r.static_key or r.loop]


def _same_run(inst: Instance, name: str, monkeypatch: pytest.MonkeyPatch, **kw: object) -> None:
    rule = rules_mod.get_rule(name)
    s1, sim1 = rules_mod.run_policy(inst, rule, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(rules_mod, "FAST_RULE_RUNS", False)
    s0, sim0 = rules_mod.run_policy(inst, rule, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(rules_mod, "FAST_RULE_RUNS", True)
    assert (sim1.deadlock is None) == (sim0.deadlock is None)
    assert s1.method == s0.method == f"rule:{name}"
    for f, a in s0.times.items():
        np.testing.assert_array_equal(s1.times[f], a, err_msg=f"{name} {f}")
    np.testing.assert_array_equal(s1.op_machine, s0.op_machine)
    assert s1.holds == s0.holds


@pytest.mark.parametrize("name", _FAST_RULES)
def test_run_policy_in_the_compiled_loop_makes_the_same_plan(name, monkeypatch):
    assert set(_FAST_RULES) == set(rules_mod.rule_names(True))  # every deterministic rule
    inst = week(20013, 200)
    _same_run(inst, name, monkeypatch)
    _same_run(inst, name, monkeypatch, buffers="soft", anticipatory_setups=False)
