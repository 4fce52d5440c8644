"""The optimizer's compiled decoding (``lns(..., fast=True)``, the default): the static-priority
stretches of a neighbour (incumbent-priority suffix, order-set moves, a static base rule) run
in the simulator's compiled loop (``Simulator.run_priority``) and are read back from the
dispatch log. It must be the very same search as deciding every decision in Python
(``fast=False``): the same decisions, times, snapshots and costs of every decoded plan, the
same moves and the same returned schedule -- on calendar weeks, each goal, hard and soft
buffers, with and without snapshots."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import numpy as np
import pytest

import furnsim.rules as rules_mod
import furnsim.solvers.lns as lns_mod
from furnsim.model import Instance
from furnsim.sim import Noise, Simulator
from furnsim.sim import _fastloop as fl
from furnsim.solvers.lns import _lexkey, _rank_prio, lns
from tests._rules import pinned_best_rule

pytestmark = pytest.mark.skipif(not fl.HAVE_NUMBA, reason="numba not installed")

_pinned = pinned_best_rule


@cache
def week(seed: int, jobs: int = 45) -> Instance:
    """A generated calendar-plant week (demo plant, shift calendars, hard buffers); not a
    held-out seed (10000-10019)."""
    from furnsim.env import WeekSource

    return WeekSource.from_path(None).week(seed, jobs)


def test_week_has_calendars() -> None:
    ci = week(20001).compiled
    assert ci.working is not None and any(m is not None for m in ci.working.machines)


def test_rank_prio_chooses_as_lexkey() -> None:
    """Ranks keep exact ties and break near-ties that the run's 1e-9 tolerance would merge;
    infinite keys tie among themselves (lowest job), as ``_lexkey``."""
    pick = fl.prio_choice
    key = np.array([1e4, 1e4 + 1e-7, 5.0, 5.0, np.inf, np.inf, 7.5])
    prio = _rank_prio(key, 3)
    assert prio.shape == (7, 3) and prio.flags.c_contiguous
    assert prio[:, 0].tolist() == [2.0, 3.0, 0.0, 0.0, np.inf, np.inf, 1.0]  # 5 < 7.5 < 1e4
    cases = [
        ([9, 4], [0, 1]),  # 1e4 < 1e4 + 1e-7: job 9 (raw keys would tie -> job 4)
        ([3, 8, 2], [2, 3, 6]),  # exact tie 5.0 = 5.0: the lower job (3)
        ([6, 1], [4, 5]),  # both infinite: the lower job
        ([6, 1, 2], [4, 5, 1]),  # a finite key beats infinite ones
    ]
    for jobs, ops in cases:
        c, o = np.array(jobs, dtype=np.int64), np.array(ops, dtype=np.int64)
        want = _lexkey(c, key[o])
        for m in range(3):
            assert int(c[pick(prio, m, c, o, c.size)]) == want
    raw = np.ascontiguousarray(np.broadcast_to(key[:, None], (7, 3)))
    c, o = np.array([9, 4], dtype=np.int64), np.array([0, 1], dtype=np.int64)
    assert int(c[pick(raw, 0, c, o, 2)]) == 4 != _lexkey(c, key[o])  # why ranks are needed


def _fingerprint(sim: Simulator) -> tuple:
    return (
        tuple(np.nan_to_num(sim.rec["start"], nan=-1.0).tolist()),
        tuple(sim.rec_machine.tolist()),
        tuple(sim.dispatch_log),
    )


def test_run_priority_until_and_compiled_snapshots() -> None:
    """``run_priority(key, until=n)`` stops at the decision after n dispatches; a compiled
    snapshot keeps the run compiled and restores it (also after a hand-over to Python); every
    continuation is the plan of one uninterrupted run, in Python and compiled alike."""
    inst = week(20002)
    ref = Simulator(inst)  # the Python engine
    key = rules_mod.get_rule("EDD").static_key(ref.state.static)
    ref.run_priority(key)
    want = _fingerprint(ref)
    sim = Simulator(inst, fast=True)
    d = sim.run_priority(key, until=40)
    assert d is not None and len(sim.dispatch_log) == 40 and sim._fast
    snap = sim.snapshot(compiled=True)
    assert sim._fast and "_packed" in snap
    assert sim.run_priority(key) is None
    assert _fingerprint(sim) == want
    d2 = sim.restore(snap)
    assert d2 is d and sim._fast and len(sim.dispatch_log) == 40
    assert sim.run_priority(key, until=41) is not None and len(sim.dispatch_log) == 41
    sim.run_priority(key)
    assert _fingerprint(sim) == want
    # a wait hands the run over to Python; the compiled snapshot brings it back
    sim.restore(snap)
    sim.wait()
    assert not sim._fast
    sim.restore(snap)
    assert sim._fast
    sim.run_priority(key)
    assert _fingerprint(sim) == want
    # the Python engine honours ``until`` too
    py = Simulator(inst)
    assert py.run_priority(key, until=40) is not None and len(py.dispatch_log) == 40
    py.run_priority(key)
    assert _fingerprint(py) == want


def _search(monkeypatch, inst: Instance, fast: bool, **kw) -> tuple:
    """One lns run; every plan the decoder returned (cost, decisions, times, snapshot
    indices -- none for a run with STORE holds: the Python engine replays those instead), the
    result, the compiled decisions."""
    seen: list = []
    orig = lns_mod._Decoder.run

    def spy(self, *a, **k):
        p = orig(self, *a, **k)
        seen.append(
            None
            if p is None
            else (p.cost, list(p.choices), p.times.tolist(), [] if p.holds else list(p.snap_at))
        )
        return p

    monkeypatch.setattr(lns_mod._Decoder, "run", spy)
    r = lns(inst, time_limit=None, fast=fast, **{"start_ppo": False, **kw})
    monkeypatch.setattr(lns_mod._Decoder, "run", orig)
    return seen, r


def _assert_same(sa: list, ra: lns_mod.LnsResult, sb: list, rb: lns_mod.LnsResult) -> None:
    """Two searches decoded the same plans, one by one, and ended the same."""
    assert len(sa) == len(sb)
    for i, (a, b) in enumerate(zip(sa, sb, strict=True)):
        assert a == b, f"decoded plan {i} differs"
    assert (ra.cost, ra.iterations, ra.improvements, ra.moves) == (
        rb.cost,
        rb.iterations,
        rb.improvements,
        rb.moves,
    )


def _same_search(monkeypatch, inst: Instance, **kw) -> tuple[int, lns_mod.LnsResult]:
    sa, ra = _search(monkeypatch, inst, False, **kw)
    sb, rb = _search(monkeypatch, inst, True, **kw)
    assert ra.compiled == 0
    _assert_same(sa, ra, sb, rb)
    assert [h[0] for h in ra.history] == [h[0] for h in rb.history]
    for f in ra.schedule.times:
        assert np.array_equal(ra.schedule.times[f], rb.schedule.times[f], equal_nan=True), f
    assert rb.schedule.method == "lns"
    return rb.compiled, rb


@pytest.mark.parametrize(
    "seed,goal,buffers,snapshots",
    [
        (20001, "speed", "hard", True),
        (20002, "efficiency", "soft", True),
        (20003, "empty-buffers", "hard", False),
    ],
)
def test_compiled_decoding_is_the_python_search(monkeypatch, seed, goal, buffers, snapshots):
    n, r = _same_search(
        monkeypatch,
        week(seed),
        goal=goal,
        iterations=40,
        seed=seed,
        buffers=buffers,
        snapshots=snapshots,
    )
    assert n > 0  # the compiled loop did take decisions


def test_static_base_rule_suffix_is_compiled(monkeypatch):
    """A base rule with a static key (EDD): its suffix runs compiled too, the same search."""
    monkeypatch.setattr(rules_mod, "best_rule", _pinned("EDD"))
    n, r = _same_search(
        monkeypatch,
        week(20004),
        goal="speed",
        iterations=30,
        seed=3,
        neighbourhoods=("window", "group"),
    )
    assert n > 0


class _StatePolicy:
    """A stand-in learned policy whose logits read the simulator's state (arrival times and
    machine setups), so its draws follow the run; ``choose`` = its arg-max."""

    def scores(self, sim, d):
        c = d.candidates
        arr = np.nan_to_num(np.asarray(sim.job_arrive)[c], nan=0.0)
        return c.copy(), -(arr - arr.min()) / 60.0 + 0.1 * (c % 3)

    def choose(self, sim, d):
        jobs, s = self.scores(sim, d)
        return int(jobs[int(np.argmax(s))])


def test_policy_guided_search_is_the_same(monkeypatch):
    """``ppo-lns``'s moves (policy-window draws, the policy's start) with compiled decoding:
    the same search."""
    n, r = _same_search(
        monkeypatch,
        week(20005),
        goal="empty-buffers",
        iterations=30,
        seed=5,
        policy=_StatePolicy(),
        start_ppo=True,
        neighbourhoods=("window", "orders", "policy-window"),
    )
    assert n > 0 and r.moves["policy-window"]["tried"] > 0


@pytest.mark.parametrize(
    "seed,rule,goal,buffers",
    [
        (20006, "ATCS", "speed", "hard"),
        (20007, "ATC", "empty-buffers", "soft"),
        (20008, "PTWINQS", "efficiency", "hard"),
    ],
)
def test_compiled_rule_suffix_is_the_same_search(monkeypatch, seed, rule, goal, buffers):
    """The base rule's stretches in the compiled loop (``Simulator.run_rule``: its start run
    and the rule-suffix neighbours) against deciding them one ``choose`` call at a time
    (``COMPILED_RULE_SUFFIX`` off): the same decoded plans, moves, history and schedule."""
    monkeypatch.setattr(rules_mod, "best_rule", _pinned(rule))
    ra, rb = _flag_same_search(
        monkeypatch,
        "COMPILED_RULE_SUFFIX",
        week(seed),
        True,
        goal=goal,
        iterations=40,
        seed=seed,
        buffers=buffers,
        neighbourhoods=("window", "group", "orders"),
    )
    assert rb.moves["rule"]["tried"] > 0
    assert rb.compiled > ra.compiled  # the rule's decisions were taken in the compiled loop


def _flag_same_search(monkeypatch, flag: str, inst: Instance, fast: bool, **kw) -> tuple:
    """The search with module flag ``flag`` off, then on: the same decoded plans (decisions,
    times, snapshot indices, costs), moves, history and schedule."""
    monkeypatch.setattr(lns_mod, flag, False)
    sa, ra = _search(monkeypatch, inst, fast, **kw)
    monkeypatch.setattr(lns_mod, flag, True)
    sb, rb = _search(monkeypatch, inst, fast, **kw)
    _assert_same(sa, ra, sb, rb)
    assert [(h[0], h[2]) for h in ra.history] == [(h[0], h[2]) for h in rb.history]
    for f in ra.schedule.times:
        assert np.array_equal(ra.schedule.times[f], rb.schedule.times[f], equal_nan=True), f
    return ra, rb


@pytest.mark.parametrize(
    "flag,seed,goal,buffers,fast,snapshots",
    [
        ("SKIP_SINGLES", 20009, "speed", "hard", True, True),
        ("SKIP_SINGLES", 20010, "efficiency", "soft", True, False),
        ("SKIP_SINGLES", 20011, "empty-buffers", "hard", False, True),
        ("REPLAY_COMPILED", 20012, "speed", "hard", True, True),
        ("REPLAY_COMPILED", 20013, "efficiency", "soft", True, False),
        ("COMPILED_NOISE", 20014, "speed", "hard", True, True),
        ("COMPILED_NOISE", 20015, "empty-buffers", "soft", True, False),
    ],
)
def test_skipped_singles_and_compiled_replay_are_the_same_search(
    monkeypatch, flag, seed, goal, buffers, fast, snapshots
):
    """A neighbour's one-candidate decisions taken by the simulator with the dispatch before
    them (``SKIP_SINGLES``; compiled and Python engine), and its prefix replayed in the
    compiled loop (``REPLAY_COMPILED``, ``Simulator.run_choices``), against one ``choose`` /
    ``dispatch`` call each: the same search, in every neighbourhood that uses them (with
    ``tail``, ``policy-window``)."""
    _flag_same_search(
        monkeypatch,
        flag,
        week(seed),
        fast,
        goal=goal,
        iterations=40,
        seed=seed,
        buffers=buffers,
        snapshots=snapshots,
        policy=_StatePolicy(),
        neighbourhoods=("window", "group", "orders", "tail", "policy-window"),
    )


def test_run_choices_replays_a_run() -> None:
    """``Simulator.run_choices`` replays recorded dispatches (compiled loop: one call, from a
    compiled snapshot too; Python engine: one dispatch each), stops after them, and refuses a
    job that is no candidate as ``dispatch`` does."""
    inst = week(20014)
    ref = Simulator(inst)
    ref.run_rule(rules_mod.get_rule("ATCS"))
    jobs = [j for _, _, j in ref.dispatch_log]
    want = _fingerprint(ref)
    for fast in (True, False):
        sim = Simulator(inst, fast=fast)
        d = sim.run_choices(jobs[:50])
        assert d is not None and len(sim.dispatch_log) == 50 and sim._fast == fast
        snap = sim.snapshot(compiled=True)
        assert sim.run_choices(jobs[50:]) is None
        assert _fingerprint(sim) == want
        sim.restore(snap)
        sim.run_choices(jobs[50:70])
        assert sim.run_choices(jobs[70:]) is None and _fingerprint(sim) == want
        sim.restore(snap)
        bad = next(j for j in range(inst.compiled.n_jobs) if j not in sim.decision().candidates)
        with pytest.raises(ValueError, match="not a candidate"):
            sim.run_choices([jobs[50], bad])


def test_noise_picks_by_hand() -> None:
    """``Noise.pick``: a draw per decision of two or more candidates before ``end`` (at the
    work center ``wc``), a second one for the candidate when the first is below ``p``."""
    d = SimpleNamespace(candidates=np.array([5, 6, 7]), machine=0, time=10.0)
    sim = SimpleNamespace(_machine_wc=[2, 3])
    nz = Noise(np.array([0.9, 0.1, 0.7, 0.05]), p=0.2, end=20.0)
    assert nz.pick(sim, d) == -1 and nz.pos[0] == 1  # 0.9 >= 0.2: no noise, one draw
    assert nz.pick(sim, d) == 2 and nz.pos[0] == 3  # 0.1 < 0.2: int(0.7 * 3) = 2
    assert nz.pick(sim, d) == -1 and nz.pos[0] == 3  # 0.05 < 0.2, but one uniform left
    one = SimpleNamespace(candidates=np.array([5]), machine=0, time=10.0)
    late = SimpleNamespace(candidates=np.array([5, 6]), machine=0, time=20.0)
    nz = Noise(np.array([0.0, 0.99]), p=1.0, end=20.0)
    assert nz.pick(sim, one) == -1 and nz.pick(sim, late) == -1 and nz.pos[0] == 0
    assert nz.pick(sim, d) == 2  # int(0.99 * 3)
    grouped = Noise(np.array([0.0, 0.0]), p=1.0, end=20.0, wc=3)
    assert grouped.pick(sim, d) == -1 and grouped.pos[0] == 0  # machine 0 is in center 2
    d1 = SimpleNamespace(candidates=np.array([5, 6, 7]), machine=1, time=0.0)
    assert grouped.pick(sim, d1) == 0 and grouped.pos[0] == 2


@pytest.mark.parametrize("how", ["priority", "rule"])
@pytest.mark.parametrize("wc", [-1, "busiest"])
def test_compiled_noise_draws_as_python(how: str, wc) -> None:
    """A static priority or a compiled rule pick with ``Noise``: the compiled loop takes
    the same random decisions as the Python engine (calendar week: the loop's calendar
    extensions must not draw twice), and the noise changes the plan."""
    inst = week(20021, 60)
    ref = Simulator(inst)
    key = rules_mod.get_rule("EDD").static_key(ref.state.static)
    rule = rules_mod.get_rule("ATCS")
    w = int(np.bincount(inst.compiled.op_wc).argmax()) if wc == "busiest" else -1
    u = np.random.default_rng(5).random(2 * inst.compiled.n_ops + 2)
    runs = []
    for fast in (False, True):
        # calendars built only 5 hours ahead: the compiled loop must stop for an extension
        # in the middle of many noisy decisions (and draw them again the same way)
        for mt in inst.compiled.working.machines:
            if mt is not None:
                mt._set(300.0)
        sim = Simulator(inst, fast=fast)
        nz = Noise(u, p=0.3, end=2 * 1440.0, wc=w)
        if how == "priority":
            assert sim.run_priority(key, until=25, noise=nz) is not None
            sim.run_priority(key, noise=nz)
        else:
            assert sim.run_rule(rule, until=25, noise=nz) is not None
            sim.run_rule(rule, noise=nz)
        assert sim.deadlock is None
        runs.append((_fingerprint(sim), int(nz.pos[0])))
    assert runs[0] == runs[1]
    assert runs[1][1] > 0  # the noise drew
    plain = Simulator(inst, fast=True)
    if how == "priority":
        plain.run_priority(key)
    else:
        plain.run_rule(rule)
    assert _fingerprint(plain) != runs[1][0]


@pytest.mark.parametrize("snapshots", [True, False])
def test_hold_moves_are_the_same_search(monkeypatch, snapshots):
    """``hold`` / ``hold-wait`` moves (STORE holds, placed at reset or re-timed on a resumed
    snapshot in the compiled loop) and the moves resumed from held plans: the same search as
    the Python engine's, plan for plan."""
    inst = week(20004)
    assert (np.asarray(inst.compiled.job_parent) >= 0).any()
    n, r = _same_search(
        monkeypatch,
        inst,
        goal="empty-buffers",
        iterations=40,
        seed=3,
        snapshots=snapshots,
        release="off",
        neighbourhoods=("window", "orders", "hold", "hold-wait"),
    )
    assert n > 0 and r.moves["hold"]["tried"] > 0 and r.moves["hold-wait"]["tried"] > 0
    assert r.moves["hold"]["improved"] > 0  # (else the held plans were never resumed from)
    assert any(h["kind"] == "store" for h in r.schedule.holds or [])
