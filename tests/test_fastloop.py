"""The compiled event loop (``Simulator(..., fast=True)``, furnsim/sim/_fastloop.py) and the
compiled per-step work of the environment (reward bookkeeping, features, reference rule).

Every decision, every state array and every record of a run in the compiled loop equals the
Python engine's (the reference), decision by decision, on the demo plant (hard and soft
buffers), the two-shift calendar week, assemblies, a flexible job shop, a deadlock, generated
weeks; after a hand-over to the Python methods (``wait``, snapshots) both go on alike; the
environment on it gives the very observations, rewards and infos of the environment on the
Python engine.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from furnsim.io import load_instance
from furnsim.rules import RULES
from furnsim.sim import Simulator
from furnsim.sim import _fastloop as fl
from furnsim.sim.schedule import OP_FIELDS

from ._tiny import ft06_path

pytestmark = pytest.mark.skipif(not fl.HAVE_NUMBA, reason="numba not installed")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "benchmarks"
STATE = (
    "job_state", "job_op", "job_arrive", "finish_arrive", "kit_left", "kit_arrive",
    "machine_state", "machine_setup", "machine_job", "machine_free_at", "machine_busy_time",
    "wc_level", "wc_peak", "rec_machine", "rec_setup_from",
)  # fmt: skip


@pytest.fixture(scope="module")
def instances():
    out = {
        "ft06": load_instance(ft06_path()),
        "demo": load_instance(REPO / "bom_data" / "demo" / "plant.yaml"),
        "demo_shifts": load_instance(REPO / "bom_data" / "demo_shifts" / "plant.yaml"),
        "assembly": load_instance(REPO / "bom_data" / "demo-assembly" / "plant.yaml"),
        "deadlock": load_instance(REPO / "tests" / "data" / "swap_deadlock.yaml"),
    }
    if (SHARED / "fjsp" / "mk01.fjs").exists():
        out["mk01"] = load_instance(SHARED / "fjsp" / "mk01.fjs")
    return out


def _same_state(a: Simulator, b: Simulator) -> None:
    for f in STATE:
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), f
    for f in OP_FIELDS:
        assert np.array_equal(a.rec[f], b.rec[f], equal_nan=True), f
    assert (a.time, a.steps, a.n_done) == (b.time, b.steps, b.n_done)
    assert a.dispatch_log == b.dispatch_log


def _same_decision(da, db) -> None:
    assert (da is None) == (db is None)
    if da is not None:
        assert (da.time, da.machine) == (db.time, db.machine)
        assert np.array_equal(da.candidates, db.candidates)
        assert np.array_equal(da.ops, db.ops)


def _random_store_holds(inst, seed: int, share: float = 0.4) -> dict[int, float]:
    """STORE holds of a random ``share`` of the jobs made from STORE material, each until its
    release + 1 … 600 minutes (some on a whole minute, as releases tie)."""
    ci = inst.compiled
    rng = np.random.default_rng(seed)
    leaf = np.flatnonzero(np.asarray(ci.job_n_children) == 0)
    pick = leaf[rng.random(leaf.size) < share]
    rel = np.asarray(ci.job_release, dtype=np.float64)
    until = rel[pick] + np.where(
        rng.random(pick.size) < 0.5, rng.integers(1, 600, pick.size), rng.uniform(1, 600, pick.size)
    )
    return {int(j): float(u) for j, u in zip(pick, until, strict=True)}


def _lockstep(
    inst, seed: int, buffers: str = "hard", hand_over_at: int = -1, holds: dict | None = None
) -> int:
    """Random legal dispatches (random skip_single) on both engines; at ``hand_over_at`` the
    compiled one hands over to Python (a snapshot, restored at once). ``holds``: the same
    STORE holds placed on both (the compiled loop runs them). Returns decisions."""
    py = Simulator(inst, buffers=buffers, store_holds=holds)
    fa = Simulator(inst, buffers=buffers, fast=True, store_holds=holds)
    assert fa._fast and not py._fast
    rng = np.random.default_rng(seed)
    da, db = py.decision(), fa.decision()
    n = 0
    while True:
        _same_decision(da, db)
        _same_state(py, fa)
        if da is None:
            break
        if n == hand_over_at and holds:
            fa._to_python()  # (a Python snapshot refuses holds: the hand-over of ``wait``)
            assert not fa._fast and fa.held_jobs == py.held_jobs
        elif n == hand_over_at:
            snap = fa.snapshot()  # the compiled loop hands over; the run goes on in Python
            assert not fa._fast
            db = fa.restore(snap)
            _same_decision(da, db)
        j = int(da.candidates[rng.integers(da.candidates.size)])
        skip = bool(rng.integers(2))
        da, db = py.dispatch(j, skip_single=skip), fa.dispatch(j, skip_single=skip)
        n += 1
    assert (py.deadlock is None) == (fa.deadlock is None)
    if py.deadlock is not None:
        assert py.deadlock.message == fa.deadlock.message
        assert py.deadlock.cycle == fa.deadlock.cycle and py.deadlock.kits == fa.deadlock.kits
    assert py.schedule().holds == fa.schedule().holds
    return n


@pytest.mark.parametrize(
    "which,buffers",
    [
        ("ft06", "hard"),
        ("demo", "hard"),
        ("demo", "soft"),
        ("demo_shifts", "hard"),
        ("assembly", "hard"),
        ("assembly", "soft"),
        ("deadlock", "hard"),
        ("mk01", "hard"),
    ],
)
def test_compiled_loop_equals_python_engine(instances, which, buffers):
    if which not in instances:
        pytest.skip("shared FJSP benchmark files not here")
    n = _lockstep(instances[which], seed=3, buffers=buffers)
    assert n >= 1


def test_hand_over_to_python_goes_on_alike(instances):
    for which in ("demo", "demo_shifts", "assembly"):
        _lockstep(instances[which], seed=11, hand_over_at=25)


@pytest.mark.parametrize("which", ["demo", "demo_shifts", "assembly", "ft06", "deadlock"])
@pytest.mark.parametrize("hand_over_at", [-1, 0, 30])
def test_compiled_loop_runs_store_holds_as_python(instances, which, hand_over_at):
    """STORE holds placed at reset (release control, the optimizer's ``hold`` moves): the
    compiled loop runs them -- each released at its hold's end after the plain releases of
    that instant -- decision for decision as the Python engine, records and holds alike, also
    after a hand-over to Python with holds still pending."""
    holds = _random_store_holds(instances[which], seed=5)
    assert holds
    n = _lockstep(instances[which], seed=7, hand_over_at=hand_over_at, holds=holds)
    assert n >= 1


def test_store_holds_delay_departures_in_the_compiled_loop(instances):
    """A held job leaves STORE no earlier than its hold's end, and the plan records it."""
    inst = instances["assembly"]
    holds = _random_store_holds(inst, seed=2, share=1.0)
    sim = Simulator(inst, fast=True, store_holds=holds)
    d = sim.decision()
    while d is not None:
        d = sim.dispatch(int(d.candidates[0]))
    assert sim._fast and sim.n_done == sim.n_jobs
    first = np.asarray(inst.compiled.job_op_start[:-1])
    for j, u in holds.items():
        assert sim.rec["depart"][first[j]] >= u - 1e-9
    recs = sim.schedule().holds
    ids = inst.compiled.job_ids
    assert sorted((h["job"], h["until"]) for h in recs) == sorted(
        (ids[j], u) for j, u in holds.items()
    )
    assert all(h["kind"] == "store" and h["reason"] == "planned" for h in recs)


def test_compiled_snapshot_keeps_its_store_holds(instances):
    """A compiled snapshot of a run with STORE holds brings its holds back on restore, even
    into a simulator reset with other holds since: the same run goes on."""
    inst = instances["assembly"]
    holds = _random_store_holds(inst, seed=4)
    sim = Simulator(inst, fast=True, store_holds=holds)
    d = sim.decision()
    for _ in range(10):
        d = sim.dispatch(int(d.candidates[-1]))
    snap = sim.snapshot(compiled=True)
    kept = [dict(h) for h in snap["holds"]]

    def finish(s, d):
        while d is not None:
            d = s.dispatch(int(d.candidates[-1]))
        return s.schedule()

    ref = finish(sim, d)
    sim.store_holds = {}
    sim.reset()
    assert sim.holds is None
    again = finish(sim, sim.restore(snap))
    for f in OP_FIELDS:
        assert np.array_equal(ref.times[f], again.times[f], equal_nan=True), f
    assert ref.holds == again.holds and ref.holds
    # the snapshot shares no list with the runs: its holds are still those it was taken with
    # (the records are shared: nothing changes a STORE hold's record once it is made)
    assert sim.holds is not snap["holds"] and snap["holds"] == kept
    sim.holds.append({"kind": "store"})
    assert snap["holds"] == kept


def test_retimed_store_holds_go_on_as_a_reset_with_them(instances):
    """``retime_store_holds`` at a decision before any changed job is released: the run goes
    on decision for decision as one reset with the new holds (records and holds alike);
    where a changed job's release is not pending any more it refuses and changes nothing."""
    inst = instances["assembly"]
    ci = inst.compiled
    rel = np.asarray(ci.job_release, dtype=np.float64)
    leaf = np.flatnonzero((np.asarray(ci.job_n_children) == 0) & (rel == rel.min()))
    assert leaf.size > 7
    a = {int(j): float(rel[j] + 2000 + 37 * i) for i, j in enumerate(leaf[:6])}
    b = dict(a)
    b[int(leaf[0])] += 500.0  # later
    b[int(leaf[1])] -= 900.0  # earlier, still after now
    b[int(leaf[2])] = b[int(leaf[3])]  # a tie with another hold's end

    def run(holds, n, then=None):
        sim = Simulator(inst, fast=True, store_holds=holds)
        d, seen = sim.decision(), []
        while d is not None:
            if len(seen) == n and then is not None:
                assert sim.time < 1000 and sim.retime_store_holds(then)
            seen.append((d.time, d.machine, d.candidates.tolist()))
            d = sim.dispatch(int(d.candidates[len(seen) % d.candidates.size]))
        return seen, sim.schedule()

    for n in (0, 5):
        sa, ra = run(a, n, then=b)
        sb, rb = run(b, n)
        assert sa == sb and ra.holds == rb.holds
        for f in OP_FIELDS:
            assert np.array_equal(ra.times[f], rb.times[f], equal_nan=True), f
    # refused: a job released at the first decision cannot be held from it on; no change
    sim = Simulator(inst, fast=True, store_holds=a)
    free = int(leaf[-1])
    assert rel[free] <= sim.time and free not in a
    before = (dict(sim.store_holds), [dict(h) for h in sim.holds], sim.decision())
    assert not sim.retime_store_holds({**a, free: 3000.0})
    assert not sim.retime_store_holds({k: v for k, v in a.items() if k != int(leaf[0])})
    assert (sim.store_holds, sim.holds, sim.decision()) == before
    py = Simulator(inst, store_holds=a)
    assert not py.retime_store_holds(b)  # (the Python engine: not supported)


def test_store_hold_errors_name_the_job(instances):
    inst = instances["assembly"]
    ci = inst.compiled
    asm = int(np.flatnonzero(np.asarray(ci.job_n_children) > 0)[0])
    leaf = int(np.flatnonzero(np.asarray(ci.job_n_children) == 0)[0])
    for fast in (False, True):
        with pytest.raises(ValueError, match="assembly"):
            Simulator(inst, fast=fast, store_holds={asm: 100.0})
        with pytest.raises(ValueError, match=f"job {leaf}"):
            Simulator(inst, fast=fast, store_holds={leaf: float(ci.job_release[leaf])})


def test_wait_hands_over_and_matches(instances):
    """``wait`` (a Python-only action) mid-run: both engines wait at the same decision."""
    inst = instances["demo"]
    py, fa = Simulator(inst), Simulator(inst, fast=True)
    da, db = py.decision(), fa.decision()
    for _ in range(30):
        j = int(da.candidates[-1])
        da, db = py.dispatch(j), fa.dispatch(j)
    da, db = py.wait(), fa.wait()
    assert not fa._fast
    while da is not None:
        _same_decision(da, db)
        j = int(da.candidates[0])
        da, db = py.dispatch(j), fa.dispatch(j)
    _same_decision(da, db)
    _same_state(py, fa)


def test_event_arrays_grow(instances, monkeypatch):
    """The compiled loop asks for more room for pending events and goes on alike."""
    import furnsim.sim.engine as eng

    real = eng._fast_static

    def tight(sim):
        fs = real(sim)
        ci = sim.ci
        has_ops = np.diff(ci.job_op_start) > 0
        fs.ev_cap = int((has_ops & (ci.job_n_children == 0)).sum())  # the releases only
        return fs

    monkeypatch.setattr(eng, "_FAST_STATIC", eng.weakref.WeakKeyDictionary())
    monkeypatch.setattr(eng, "_fast_static", tight)
    inst = load_instance(REPO / "bom_data" / "demo" / "plant.yaml")
    sim = Simulator(inst, fast=True)
    tight_cap = _fast_static_of(sim).ev_cap
    d = sim.decision()
    while d is not None:
        d = sim.dispatch(int(d.candidates[-1]), skip_single=True)
        if d is not None:
            assert sim._fast
    assert tight_cap < sim.n_jobs < sim._fx.ef.shape[0]  # it grew
    ref = Simulator(inst)
    d = ref.decision()
    while d is not None:
        d = ref.dispatch(int(d.candidates[-1]), skip_single=True)
    assert _fingerprint(sim) == _fingerprint(ref)


def _fast_static_of(sim: Simulator):
    import furnsim.sim.engine as eng

    return eng._FAST_STATIC[sim.ci]


def test_working_time_tables_are_extended_on_demand():
    """Calendar tables cut short: the compiled loop asks for longer ones (NEED_EXTEND) and
    plans what the Python engine plans with its own extensions."""
    plans = []
    for fast in (True, False):
        inst = load_instance(REPO / "bom_data" / "demo_shifts" / "plant.yaml")
        for mt in inst.compiled.working.machines:
            if mt is not None:
                mt._set(2000.0)  # 33 hours: every run goes past it
        sim = Simulator(inst, fast=fast)
        d = sim.decision()
        while d is not None:
            d = sim.dispatch(int(d.candidates[0]), skip_single=True)
        plans.append(_fingerprint(sim))
        assert max(mt.horizon for mt in inst.compiled.working.machines if mt) > 2000.0
    assert plans[0] == plans[1]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    seed=st.integers(0, 10_000),
    wcs=st.integers(2, 6),
    extra_m=st.integers(0, 5),
    jobs=st.integers(8, 40),
    bom_depth=st.sampled_from([0, 1, 2]),
    shifts=st.sampled_from([0, 1]),
    buffers=st.sampled_from(["hard", "soft"]),
    held=st.sampled_from([0.0, 0.0, 0.5]),
)
def test_compiled_loop_equals_python_on_generated_weeks(
    seed, wcs, extra_m, jobs, bom_depth, shifts, buffers, held
):
    from furnsim.generate import generate_to_dir

    with tempfile.TemporaryDirectory() as tmp:
        generate_to_dir(
            Path(tmp),
            work_centers=wcs,
            machines=wcs + extra_m,
            jobs=jobs,
            seed=seed,
            fmt="yaml",
            bom_depth=bom_depth,
            shifts=shifts,
        )
        inst = load_instance(Path(tmp) / "plant.yaml")
    holds = _random_store_holds(inst, seed, held) if held else None
    _lockstep(inst, seed=seed, buffers=buffers, hand_over_at=7, holds=holds)


def _fingerprint(sim: Simulator) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(sim.rec_machine).tobytes())
    for k in sorted(sim.rec):
        h.update(np.ascontiguousarray(sim.rec[k]).tobytes())
    return h.hexdigest()


def test_run_priority_plans_what_the_rule_plans(instances):
    """``Simulator.run_priority`` with a rule's static key (compiled loop, and Python) gives
    the plan of that rule deciding one decision at a time."""
    names = [n for n, r in RULES.items() if r.static_key is not None]
    assert {"LWKRSPT", "SPT", "EDD"} <= set(names)
    for which in ("ft06", "demo_shifts", "assembly", "mk01"):
        if which not in instances:
            continue
        for name in names if which in ("ft06", "mk01") else ["LWKRSPT", "EDD"]:
            rule = RULES[name]
            ref = Simulator(instances[which])
            d = ref.skip_singles()
            while d is not None:
                d = ref.dispatch(rule.choose(ref, d), skip_single=True)
            for fast in (True, False):
                sim = Simulator(instances[which], fast=fast)
                sim.run_priority(rule.static_key(sim.state.static))
                assert _fingerprint(sim) == _fingerprint(ref), (which, name, fast)
                assert sim.dispatch_log == ref.dispatch_log


def test_prio_choice_ties_like_lexmin():
    """Within TIE_TOL of the minimum the lowest job wins; NaN ranks last; all-NaN ties."""
    from furnsim.rules import _lexmin

    rng = np.random.default_rng(0)
    for _ in range(300):
        k = int(rng.integers(1, 7))
        cand = rng.permutation(20)[:k].astype(np.int64)
        ops = np.arange(k, dtype=np.int64)
        base = float(rng.choice([0.0, 0.5, 3.0, 1e6]))
        vals = base + rng.choice([0.0, 1e-12, 1e-10, 2e-9, 1.0], size=k) * max(1.0, base)
        vals[rng.random(k) < 0.2] = np.nan
        if rng.random() < 0.1:
            vals[:] = np.inf
        prio = vals[:, None]
        x = fl.prio_choice(prio, 0, cand, ops, k)
        assert cand[x] == _lexmin(cand, (vals,)), (vals, cand)
        assert fl.prio_choice.py_func(prio, 0, cand, ops, k) == x


def test_environment_on_the_compiled_loop_equals_python(monkeypatch):
    """Observations, rewards, infos and masks of the environment are those of the same
    environment on the Python engine, step by step (compiled features, reward bookkeeping,
    reference rule), for every goal, hard and soft buffers."""
    import furnsim.env.rewards as rw
    import furnsim.env.shop_env as se
    from furnsim.env import FurnitureShopEnv

    class PySim(Simulator):
        def __init__(self, *a, **k):
            k["fast"] = False
            super().__init__(*a, **k)

    n = 0
    for goal, buffers in (("speed", "hard"), ("efficiency", "soft"), ("empty-buffers", "hard")):
        a = FurnitureShopEnv(goal=goal, jobs=(40, 90), buffers=buffers)
        b = FurnitureShopEnv(goal=goal, jobs=(40, 90), buffers=buffers)
        for w in range(2):
            oa, ia = a.reset(seed=w)
            with monkeypatch.context() as m:
                m.setattr(se, "Simulator", PySim)
                m.setattr(rw, "Simulator", PySim)
                ob, ib = b.reset(seed=w)
            assert a.sim._fast and not b.sim._fast
            assert a.reward_fn._inc._nb and not b.reward_fn._inc._nb
            assert a.reward_fn.scale == b.reward_fn.scale
            rng = np.random.default_rng(w)
            done = False
            while True:
                for key in oa:
                    assert oa[key].dtype == ob[key].dtype and np.array_equal(oa[key], ob[key])
                assert ia == ib
                assert np.array_equal(a.action_masks(), b.action_masks())
                if done:
                    break
                act = int(rng.integers(a.obs_fn.slots.size))
                oa, ra, done, _, ia = a.step(act)
                ob, rb, done_b, _, ib = b.step(act)
                assert ra == rb and done == done_b
                n += 1
    assert n > 100


def test_reward_kernel_equals_python_bookkeeping(monkeypatch):
    """IncrementalCost's compiled step equals its Python bookkeeping to the bit when looked
    at after any number of steps, for every goal."""
    import furnsim.env.incremental as inc
    from furnsim.env import FurnitureShopEnv

    for goal in ("speed", "efficiency", "empty-buffers"):
        env = FurnitureShopEnv(goal=goal, jobs=(60, 120), buffers="soft")
        env.reset(seed=4)
        a = inc.IncrementalCost(goal)
        a.reset(env.sim)
        with monkeypatch.context() as m:
            m.setattr(inc, "HAVE_NUMBA", False)
            b = inc.IncrementalCost(goal)
            b.reset(env.sim)
        assert a._nb and not b._nb
        rng = np.random.default_rng(1)
        done, k = False, 0
        while not done:
            _, _, done, _, _ = env.step(int(rng.integers(env.obs_fn.slots.size)))
            k += 1
            if not done and k % int(rng.integers(1, 4)) == 0:
                assert a.update() == b.update()
                assert a.kpis() == b.kpis()
        assert a._nb
