"""The fast learning core (issue 14): typed state, vectorised / compiled candidate features.

Every feature row and context vector of the new implementation (numpy, and the numba kernel
when numba is installed) equals the pre-issue-14 implementation (tests/_ref_features.py)
bit for bit, decision by decision; the shipped models plan exactly the schedules recorded
before the change (tests/data/fastcore_model_plans.json).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from furnsim.env import _kernels
from furnsim.env.observations import CandidateObservation, candidate_features
from furnsim.goals import partial_cost
from furnsim.io import load_instance
from furnsim.kpi import partial_kpis
from furnsim.rules import _static
from furnsim.sim import Simulator
from furnsim.sim.state import SimState, static_arrays

from . import _ref_features as ref
from ._tiny import ft06_path

REPO = Path(__file__).resolve().parents[1]
MODES = [False, True] if _kernels.HAVE_NUMBA else [False]


@pytest.fixture(scope="module")
def instances():
    return {
        "ft06": load_instance(ft06_path()),
        "demo": load_instance(REPO / "bom_data" / "demo" / "plant.yaml"),
        "demo_shifts": load_instance(REPO / "bom_data" / "demo_shifts" / "plant.yaml"),
        "assembly": load_instance(REPO / "bom_data" / "demo-assembly" / "plant.yaml"),
    }


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def _compare_run(
    inst, kit: bool, seed: int, buffers: str = "hard", every: int = 1, fast: bool = False
) -> int:
    """Random legal actions; at each looked-at decision every mode equals the reference.
    ``fast``: the simulator runs in its compiled loop (the features read its buffers)."""
    rng = np.random.default_rng(seed)
    sim = Simulator(inst, buffers=buffers, fast=fast)
    assert sim._fast == (fast and _kernels.HAVE_NUMBA)
    d = sim.decision()
    n = 0
    while d is not None:
        if n % every == 0:
            fr, cr = ref.candidate_features(sim, d, kit=kit)
            for compiled in MODES:
                f, c = candidate_features(sim, d, kit=kit, compiled=compiled)
                assert _same(f, fr), (compiled, n, np.argwhere(f != fr)[:5])
                assert _same(c, cr), (compiled, n, c, cr)
        d = sim.dispatch(int(rng.choice(d.candidates)))
        n += 1
    return n


@pytest.mark.parametrize(
    "which,kit,buffers",
    [
        ("ft06", False, "hard"),
        ("demo", False, "hard"),
        ("demo", False, "soft"),
        ("demo_shifts", False, "hard"),
        ("assembly", True, "hard"),
        ("assembly", False, "hard"),
    ],
)
def test_features_equal_reference(instances, which, kit, buffers):
    n = _compare_run(instances[which], kit, seed=7, buffers=buffers)
    assert n > 20


@pytest.mark.parametrize(
    "which,kit,buffers",
    [("demo", False, "soft"), ("demo_shifts", False, "hard"), ("assembly", True, "hard")],
)
def test_features_of_the_compiled_loop_equal_reference(instances, which, kit, buffers):
    """The simulator in its compiled loop (furnsim/sim/_fastloop.py): the features read its
    packed buffers (WINQ from its waiting lists), still equal to the reference."""
    n = _compare_run(instances[which], kit, seed=8, buffers=buffers, fast=True)
    assert n > 20


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    seed=st.integers(0, 10_000),
    wcs=st.integers(2, 8),
    extra_m=st.integers(0, 6),
    jobs=st.integers(8, 40),
    bom_depth=st.sampled_from([0, 0, 1, 2]),
    shifts=st.sampled_from([0, 0, 1]),
)
def test_features_equal_reference_on_generated_weeks(seed, wcs, extra_m, jobs, bom_depth, shifts):
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
    _compare_run(inst, kit=bom_depth > 0, seed=seed)


def test_compiled_is_selected_when_numba_is_there_and_numpy_otherwise():
    """The numpy path is chosen automatically without numba (FURNSIM_NO_NUMBA=1 simulates a
    missing numba) and still plans; asking for the compiled path then is an error."""
    code = (
        "from furnsim.env import _kernels as k; print(k.HAVE_NUMBA);"
        "from furnsim.io import load_instance; from furnsim.sim import Simulator;"
        "from furnsim.env.observations import candidate_features as cf;"
        f"s = Simulator(load_instance({str(ft06_path())!r})); d = s.decision();"
        "print(cf(s, d)[0].shape)\n"
        "try:\n    cf(s, d, compiled=True)\nexcept RuntimeError as e:\n    print('refused', e)"
    )
    env = {**os.environ, "FURNSIM_NO_NUMBA": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "False"
    assert out[1] == "(3, 23)" or out[1].endswith(", 23)")
    assert out[2].startswith("refused") and "numba" in out[2]


def _fingerprint(sim: Simulator) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(sim.rec_machine).tobytes())
    for k in sorted(sim.rec):
        h.update(np.ascontiguousarray(sim.rec[k]).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("goal", ["speed", "efficiency", "empty-buffers", "jsp"])
def test_shipped_models_plan_identically(instances, goal, monkeypatch):
    """Same schedules as recorded before issue 14's features (every shipped model, demo week,
    shift-calendar week, assembly week, ft06), on every feature path."""
    from furnsim.rl.policy import load_planner

    rec = json.loads((REPO / "tests" / "data" / "fastcore_model_plans.json").read_text())
    pl = load_planner(path=REPO / "furnsim" / "data" / "models" / f"ppo-{goal}.zip")
    names = {"ft06": "ft06", "demo": "demo", "demo_shifts": "demo_shifts"}
    names["assembly"] = "demo-assembly"
    for mode in MODES:
        monkeypatch.setattr("furnsim.env.observations.HAVE_NUMBA", mode)
        for key, name in names.items():
            if not mode and key != "demo":
                continue  # the numpy path: one week is enough (the features are compared above)
            _, sim = pl.plan(instances[key])
            assert _fingerprint(sim) == rec[f"{goal}/{name}"], (goal, name, mode)


def test_state_is_a_view_and_the_static_bundle_is_shared(instances):
    inst = instances["demo"]
    sim = Simulator(inst)
    s = sim.state
    assert isinstance(s, SimState)
    assert s.job_op is sim.job_op and s.wc_level is sim.wc_level and s.rec is sim.rec
    # one static bundle per compiled instance: rules, observations and a second simulator
    other = Simulator(inst)
    assert s.static is static_arrays(sim) is _static(sim) is other.state.static
    obs = CandidateObservation()
    obs.reset(sim)
    assert obs._static_for(sim) is s.static
    # the state follows the engine: dispatch changes what the state shows
    d = sim.decision()
    before = int(s.steps)
    sim.dispatch(int(d.candidates[0]))
    assert s.steps == before + 1 and s.time == sim.time
    assert s.rec_machine[int(d.ops[0])] == d.machine
    # KPIs read through the seam: the state gives what the simulator gives
    assert partial_kpis(s) == partial_kpis(sim)
    assert partial_cost(sim, "efficiency") == partial_cost(s, "efficiency")
    # a reset gives a fresh bundle over the new arrays
    sim.reset()
    assert sim.state is not s and sim.state.job_op is sim.job_op


def test_static_fields_have_their_documented_shapes(instances):
    sim = Simulator(instances["assembly"])
    st_ = sim.state.static
    n_o, n_j, n_m, n_w = st_.n_ops, st_.n_jobs, st_.n_machines, st_.n_wc
    assert st_.op_proc.shape == (n_o, n_m) and st_.route.shape[0] == n_o
    for f in ("op_job", "op_wc", "op_rem_work", "op_next_wc", "op_npt", "op_work", "op_is_last"):
        assert getattr(st_, f).shape == (n_o,), f
    for f in ("job_first", "job_last", "job_deadline", "job_parent"):
        assert getattr(st_, f).shape == (n_j,), f
    assert st_.machine_wc.shape == (n_m,) and st_.cap_ext.shape == (n_w + 1,)
    # a child's last op goes on to its parent's first work center (the kit)
    kids = np.flatnonzero(st_.job_parent >= 0)
    assert kids.size
    k = int(kids[0])
    assert st_.op_next_wc[st_.job_last[k]] == st_.op_wc[st_.job_first[st_.job_parent[k]]]


@pytest.mark.skipif(not _kernels.HAVE_NUMBA, reason="numba not installed")
def test_compiled_pairwise_sum_is_numpys_sum():
    """The kernel's means are numpy's to the bit (numpy sums pairwise, not left to right)."""
    rng = np.random.default_rng(5)
    for n in [*range(0, 300), 1000, 1952, 4097]:
        a = rng.standard_normal(n) * 10 ** rng.uniform(-6, 6, n)
        assert _kernels.pairwise_sum(a, 0, n) == a.sum(), n
        if n:
            assert _kernels.pairwise_sum(a, 0, n) / n == a.mean(), n
