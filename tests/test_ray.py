"""Ray (the ``scale`` extra) on one local instance on 127.0.0.1, started once for the module:
training rollouts in Ray actors (RayVecEnv) equal DummyVecEnv's and MaskablePPO learns through
them, ``furnsim train --ray`` asks for them; portfolios, pass searches and evaluation sweeps
run as Ray tasks with the results of one process; clear errors without Ray or without a
cluster at the address."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("sb3_contrib")

from furnsim.cli import app  # noqa: E402
from furnsim.env import DEMO_PLANT  # noqa: E402
from furnsim.planners.parallel import connect_ray  # noqa: E402

from ._tiny import ft06_path  # noqa: E402

runner = CliRunner()
CLOSED = "127.0.0.1:1"  # nothing listens on port 1


# -- errors (no Ray needed) -----------------------------------------------------------------------
def test_missing_ray_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'furnsim\[scale\]'"):
        connect_ray("auto")
    from furnsim.rl.ray_vec_env import RayVecEnv

    with pytest.raises(ImportError, match="Ray is not installed"):
        RayVecEnv([lambda: None])  # type: ignore[list-item,return-value]


def _fake_ray(monkeypatch) -> list[Any]:
    """A stand-in for the ray module that records ``ray.init``'s address."""
    calls: list[Any] = []

    class Fake:
        __spec__ = "ray"  # importlib.util.find_spec("ray") finds it (the CLI's first check)

        @staticmethod
        def is_initialized() -> bool:
            return False

        @staticmethod
        def init(address: Any = None, **_kw: Any) -> None:
            calls.append(address)

    monkeypatch.setitem(sys.modules, "ray", Fake)
    return calls


def test_addresses_and_an_unreachable_cluster(monkeypatch):
    calls = _fake_ray(monkeypatch)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    connect_ray("auto")  # RAY_ADDRESS / a running local one / else a new local instance
    connect_ray("local")
    assert calls == [None, "local"]
    for addr in (CLOSED, "ray://127.0.0.1:1"):
        with pytest.raises(ConnectionError, match="no Ray cluster answers at"):
            connect_ray(addr)  # fails at once instead of ray.init retrying for minutes
    monkeypatch.setenv("RAY_ADDRESS", CLOSED)
    with pytest.raises(ConnectionError, match=CLOSED):
        connect_ray("auto")
    assert calls == [None, "local"]  # ray.init never ran for a dead address
    monkeypatch.delenv("RAY_ADDRESS")
    # the CLI connects before any work: exit 2 with the reason, not a hang in ray.init
    r = runner.invoke(app, ["plan", str(ft06_path()), "--ray", CLOSED])
    assert r.exit_code == 2 and "--ray: no Ray cluster answers at 127.0.0.1:1" in r.output


# -- one local Ray instance ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    try:
        ray.init(
            address="local",
            include_dashboard=False,
            num_cpus=2,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
    except Exception as e:  # an overloaded machine: the raylet did not come up in time
        if "timed out during startup" not in str(e):
            raise
        ray.shutdown()
        pytest.skip(f"local Ray node did not start: {str(e).splitlines()[0]}")
    yield ray
    ray.shutdown()


def _env_fns(n: int) -> list[Any]:
    """The environment builders of a training run (small weeks), as train() makes them."""
    from furnsim.rl.train import TrainConfig, _make_env

    cfg = TrainConfig(train_jobs=[6, 9], seed=3)
    return [_make_env(cfg, "speed", "rule:SPT", i) for i in range(n)]


@pytest.fixture(scope="module")
def vec_pair(ray_local):
    """The same 3 environments in a DummyVecEnv and in 2 Ray actors (envs 0-1, env 2)."""
    if not DEMO_PLANT.exists():
        pytest.skip("demo plant not found")
    from stable_baselines3.common.vec_env import DummyVecEnv

    from furnsim.rl.ray_vec_env import RayVecEnv

    fns = _env_fns(3)
    ref, rv = DummyVecEnv(fns), RayVecEnv(fns, envs_per_actor=2)
    yield ref, rv
    ref.close()
    rv.close()


def _same_obs(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a
    )


def test_ray_vec_env_steps_exactly_like_dummy_vec_env(vec_pair):
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
    from stable_baselines3.common.monitor import Monitor

    ref, rv = vec_pair
    assert rv.num_envs == 3 and len(rv.actors) == 2
    assert rv.observation_space == ref.observation_space
    assert is_masking_supported(rv) and rv.env_is_wrapped(Monitor) == [True] * 3
    for v in (ref, rv):
        v.seed(11)
    assert _same_obs(ref.reset(), rv.reset())
    assert rv.reset_infos == ref.reset_infos
    rng = np.random.default_rng(0)
    ends = np.zeros(3, dtype=int)
    for _t in range(40):
        m_ref, m_rv = get_action_masks(ref), get_action_masks(rv)
        assert m_rv.dtype == m_ref.dtype and np.array_equal(m_ref, m_rv)
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in m_ref])
        o1, r1, d1, i1 = ref.step(acts)
        o2, r2, d2, i2 = rv.step(acts)
        assert _same_obs(o1, o2)  # after an episode end: the auto-reset's observation
        assert np.array_equal(r1, r2.astype(np.float32)) and np.array_equal(d1, d2)
        for a, b in zip(i1, i2, strict=True):
            assert a.keys() == b.keys()
            if "terminal_observation" in a:
                assert _same_obs(a.pop("terminal_observation"), b.pop("terminal_observation"))
                ea, eb = a.pop("episode"), b.pop("episode")  # Monitor's (t = wall time)
                assert (ea["r"], ea["l"]) == (eb["r"], eb["l"])
            assert a == b
        ends += d1
    assert (ends >= 2).all()  # several episodes per env: auto-resets were compared
    # curriculum and attributes reach the remote environments; masks are fetched afresh
    for v in (ref, rv):
        v.env_method("set_jobs", 3, 3, indices=[1])
    assert rv.get_attr("_jobs") == ref.get_attr("_jobs") == [(6, 9), (3, 3), (6, 9)]
    rv.set_attr("marker", 5, indices=[2, 0])
    assert rv.get_attr("marker", indices=[2, 0]) == [5, 5] and not rv.has_attr("marker")
    assert np.array_equal(get_action_masks(ref), get_action_masks(rv))  # fetched afresh
    for v in (ref, rv):
        v.seed(4)
    o1, o2 = ref.reset(), rv.reset()
    assert _same_obs(o1, o2)
    assert [i["jobs"] for i in rv.reset_infos] == [i["jobs"] for i in ref.reset_infos]
    assert np.array_equal(get_action_masks(ref), get_action_masks(rv))
    with pytest.raises(ValueError, match="slot"):  # an env's error reaches the learner
        rv.step(np.array([63, 63, 63]))  # masked: weeks of <= 9 jobs fill few of 64 slots


def test_tiny_maskable_ppo_learns_through_ray_actors(vec_pair):
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback

    from furnsim.rl.net import CandidateExtractor, CandidatePolicy

    _ref, rv = vec_pair
    steps = {"n": 0}

    class Curriculum(BaseCallback):  # as train()'s: the week sizes change mid-run
        def _on_step(self) -> bool:
            steps["n"] += 1
            if steps["n"] == 1:
                self.training_env.env_method("set_jobs", 9, 9)
            return True

    model = MaskablePPO(
        CandidatePolicy,
        rv,
        n_steps=32,
        batch_size=48,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs={
            "features_extractor_class": CandidateExtractor,
            "features_extractor_kwargs": {"hidden": 16},
        },
    )
    assert model.get_env() is rv
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as train() does (2 threads on 2 busy cores: ~10x slower)
    try:
        model.learn(192, callback=Curriculum())  # 2 rollouts of 32 steps x 3 envs, 2 updates
    finally:
        torch.set_num_threads(threads)
    assert model.num_timesteps == 192 and steps["n"] == 64
    assert len(model.ep_info_buffer) > 0  # Monitor's episode infos came back from the actors
    assert rv.get_attr("_jobs") == [(9, 9)] * 3
    rv.close()
    assert rv.closed
    rv.close()  # closing twice is a no-op


def test_train_with_ray_puts_the_rollouts_on_ray(ray_local, tmp_path: Path, monkeypatch):
    """``furnsim train --ray auto`` (config ``ray``): the rule evaluations run as Ray tasks
    and the rollouts' VecEnv is asked for as ``ray`` (recorded here; an in-process VecEnv
    stands in so that no second set of actors starts)."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    from furnsim.rl import ray_vec_env
    from furnsim.rl.train import TrainConfig, train

    asked: list[tuple[Any, ...]] = []

    def fake(kind: str, fns: list[Any], *, ray: Any = None, envs_per_actor: int = 1) -> Any:
        asked.append((kind, ray, envs_per_actor, len(fns)))
        return DummyVecEnv(fns)

    monkeypatch.setattr(ray_vec_env, "make_vec_env", fake)
    cfg = TrainConfig(
        goal="speed",
        train_jobs=[8, 12],
        eval_jobs=[8, 12],
        total_timesteps=64,
        n_envs=2,
        n_steps=32,
        batch_size=32,
        n_epochs=1,
        select_weeks=1,
        bc_weeks=0,
        eval_weeks=1,
        tensorboard=False,
        ray="auto",  # joins the running local instance
        ray_envs_per_actor=2,
        out=str(tmp_path / "models"),
        run_dir=str(tmp_path / "runs"),
        verbose=0,
    )
    res = train(cfg)
    assert asked == [("ray", "auto", 2, 2)]
    assert res.sidecar["timesteps_run"] >= 64 and res.model_path.exists()


def test_portfolio_and_pass_search_run_as_ray_tasks(ray_local):
    from furnsim.io import load_instance
    from furnsim.plan import plan
    from furnsim.planners.parallel import PassSearch, run_pass_search

    ft06 = load_instance(ft06_path())
    members = ["rule:FIFO", "rule:SPT", "rule:LPT"]
    costs = {m: plan(ft06, "speed", m).cost for m in members}
    res = plan(ft06, "speed", "portfolio:" + ",".join(members), ray="auto")
    assert res.valid and math.isclose(res.cost, min(costs.values()))
    assert res.details["backend"] == "ray" and res.info.passes is not None
    assert res.info.passes.backend == "ray"
    assert {r["member"]: r["cost"] for r in res.details["portfolio"]} == pytest.approx(costs)
    job = PassSearch(kind="noisy", instance=ft06, goal="speed", seed=3, rule="SPT", eps=0.5)
    one = run_pass_search(job, passes=6)
    on_ray = run_pass_search(job, passes=6, workers=2, ray="auto")
    assert on_ray.backend == "ray" and one.backend == "inline"
    assert on_ray.costs == one.costs and on_ray.cost == one.cost
    assert len(set(one.costs)) > 1  # the noise matters: the comparison can fail


def test_sweep_on_local_ray_is_the_same_table(ray_local, tmp_path):
    from .test_evaluate_parallel import _same, _sweep

    bad = tmp_path / "broken.txt"
    bad.write_text("2 2\n0 x\n")  # not a benchmark file: an error row, not a crash
    paths = [ft06_path(), Path(__file__).parent / "data" / "swap_deadlock.yaml", bad]
    one = _sweep(paths)
    on_ray = _sweep(paths, ray="auto")
    _same(one, on_ray)
    assert (on_ray["error"].notna()).sum() == 1 and on_ray["valid"].sum() == 3  # ft06 only
