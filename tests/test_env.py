"""The Gymnasium environment: contract (check_env), masks, determinism, telescoping reward."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

import gymnasium as gym  # noqa: E402

from furnsim.env import DEMO_PLANT, ENV_IDS, FurnitureShopEnv, WeekSource  # noqa: E402
from furnsim.goals import cost  # noqa: E402

pytestmark = pytest.mark.skipif(not DEMO_PLANT.exists(), reason="demo plant not found")

SMALL = (20, 40)


def _small_week(seed: int = 7, jobs: int = 30):
    return WeekSource.from_path(None).week(seed, jobs)


def _run(env: FurnitureShopEnv, seed: int, act_seed: int) -> tuple[list[np.ndarray], list[float]]:
    rng = np.random.default_rng(act_seed)
    obs, _ = env.reset(seed=seed)
    flat = [np.concatenate([np.ravel(v) for v in obs.values()]) if isinstance(obs, dict) else obs]
    rewards: list[float] = []
    done = False
    while not done:
        a = int(rng.choice(np.flatnonzero(env.action_masks())))
        obs, r, done, trunc, _ = env.step(a)
        assert not trunc
        flat.append(
            np.concatenate([np.ravel(v) for v in obs.values()]) if isinstance(obs, dict) else obs
        )
        rewards.append(r)
    return flat, rewards


@pytest.mark.parametrize("view", ["jobs", "candidates", "rules"])
def test_registered_ids_make_and_step(view: str) -> None:
    env = gym.make(ENV_IDS[view], goal="speed", jobs=SMALL, max_jobs=64)
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    mask = env.unwrapped.action_masks()
    assert mask.dtype == bool and mask.shape == (env.action_space.n,) and mask.any()
    obs, r, term, trunc, info = env.step(int(np.flatnonzero(mask)[0]))
    assert env.observation_space.contains(obs) and math.isfinite(r)
    env.close()


@pytest.mark.parametrize("view", ["jobs", "candidates", "rules"])
def test_gymnasium_check_env(view: str) -> None:
    from gymnasium.utils.env_checker import check_env

    # the checker samples unmasked actions: use the guarded penalty instead of raising
    env = FurnitureShopEnv("speed", view, jobs=SMALL, max_jobs=64, illegal="penalty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)


@pytest.mark.parametrize("view", ["jobs", "candidates", "rules"])
def test_sb3_check_env(view: str) -> None:
    from stable_baselines3.common.env_checker import check_env

    env = FurnitureShopEnv("efficiency", view, jobs=SMALL, max_jobs=64, illegal="penalty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, warn=False)


@pytest.mark.parametrize("view", ["candidates", "rules"])
def test_same_seed_same_episode(view: str) -> None:
    a = FurnitureShopEnv("speed", view, jobs=SMALL)
    b = FurnitureShopEnv("speed", view, jobs=SMALL)
    oa, ra = _run(a, seed=3, act_seed=5)
    ob, rb = _run(b, seed=3, act_seed=5)
    assert len(oa) == len(ob)
    assert all(np.array_equal(x, y) for x, y in zip(oa, ob, strict=True))
    assert ra == rb
    # a different seed draws a different week
    oc, _ = _run(FurnitureShopEnv("speed", view, jobs=SMALL), seed=4, act_seed=5)
    assert len(oc) != len(oa) or not all(np.array_equal(x, y) for x, y in zip(oa, oc, strict=False))


@pytest.mark.parametrize("goal", ["speed", "efficiency", "empty-buffers"])
def test_return_is_minus_cost(goal: str) -> None:
    inst = _small_week()
    env = FurnitureShopEnv(goal, "candidates", instance=inst, reward_scale=1.0)
    _, rewards = _run(env, seed=0, act_seed=1)
    sim = env.sim
    assert sim is not None and sim.deadlock is None
    final = cost(env.schedule(), goal, inst)
    assert sum(rewards) == pytest.approx(-final, rel=1e-9, abs=1e-6)


def test_reward_scaled_by_reference_rule() -> None:
    from furnsim.rules import get_rule

    inst = _small_week()
    env = FurnitureShopEnv("speed", "rules", instance=inst, reward_scale="rule:LWKRSPT")
    _, rewards = _run(env, seed=0, act_seed=2)
    ref, _ = get_rule("LWKRSPT").plan(inst)
    assert env.reward_fn.scale == pytest.approx(cost(ref, "speed", inst))
    assert sum(rewards) == pytest.approx(-cost(env.schedule(), "speed", inst) / env.reward_fn.scale)


def test_options_instance_and_jobs() -> None:
    inst = _small_week(jobs=25)
    env = FurnitureShopEnv("speed", "candidates", jobs=SMALL)
    env.reset(seed=0, options={"instance": inst})
    assert env.sim is not None and env.sim.n_jobs == 25
    env.reset(seed=0, options={"jobs": 33})
    assert env.sim.n_jobs == 33


def test_illegal_action_raises_or_is_penalized() -> None:
    env = FurnitureShopEnv("speed", "candidates", jobs=SMALL)
    env.reset(seed=0)
    bad = int(np.flatnonzero(~env.action_masks())[0])
    with pytest.raises(ValueError):
        env.step(bad)
    env = FurnitureShopEnv(
        "speed", "candidates", jobs=SMALL, illegal="penalty", illegal_penalty=2.0
    )
    obs, _ = env.reset(seed=0)
    steps = env.sim.steps
    obs2, r, term, _, info = env.step(bad)
    assert r == -2.0 and not term and info["illegal_action"] == bad and env.sim.steps == steps
    assert all(np.array_equal(obs[k], obs2[k]) for k in obs)


def test_paper_view_rejects_too_large_week() -> None:
    env = FurnitureShopEnv("speed", "jobs", jobs=(50, 60), max_jobs=40)
    with pytest.raises(ValueError, match="candidates"):
        env.reset(seed=0)


def test_paper_view_mask_is_the_candidate_set() -> None:
    env = FurnitureShopEnv("speed", "jobs", jobs=SMALL, max_jobs=64)
    env.reset(seed=2)
    d = env.sim.decision()
    assert set(np.flatnonzero(env.action_masks())) == set(d.candidates.tolist())


def test_random_job_shop_source_is_seeded_and_classic() -> None:
    from furnsim.env import RANDOM_JSP, RandomJobShopSource
    from furnsim.rules import get_rule

    src = RandomJobShopSource(jobs=(4, 6), machines=(3, 5))
    a, b = src.week(5), src.week(5)
    ca, cb = a.compiled, b.compiled
    assert np.array_equal(ca.op_wc, cb.op_wc) and np.array_equal(
        ca.op_proc, cb.op_proc, equal_nan=True
    )
    m = ca.n_machines
    assert 4 <= ca.n_jobs <= 6 and 3 <= m <= 5 and ca.n_ops == ca.n_jobs * m
    for j in range(ca.n_jobs):  # every job visits every machine once
        ops = range(ca.job_op_start[j], ca.job_op_start[j + 1])
        assert sorted(ca.op_wc[list(ops)].tolist()) == list(range(m))
    sched, sim = get_rule("SPT").plan(a)
    assert sim.deadlock is None and sched.complete
    env = FurnitureShopEnv("speed", "candidates", plant=RANDOM_JSP, jobs=(4, 6))
    _, rewards = _run(env, seed=0, act_seed=0)
    assert env.sim is not None and env.sim.done and all(math.isfinite(r) for r in rewards)


def test_set_jobs_changes_the_drawn_sizes() -> None:
    env = FurnitureShopEnv("speed", "candidates", jobs=SMALL)
    env.set_jobs(41, 41)
    env.reset(seed=0)
    assert env.sim is not None and env.sim.n_jobs == 41


def test_teacher_pick_features_match_the_rules() -> None:
    from furnsim.env.observations import CANDIDATE_FEATURES, CandidateObservation
    from furnsim.rules import get_rule
    from furnsim.sim import Simulator

    inst = _small_week(jobs=40)
    sim = Simulator(inst)
    obs_fn = CandidateObservation(64)
    obs_fn.reset(sim)
    ia, ib = CANDIDATE_FEATURES.index("atcs_pick"), CANDIDATE_FEATURES.index("buffer_pick")
    d = sim.decision()
    checked = 0
    while d is not None:
        if d.candidates.size > 1:
            o = obs_fn(sim, d)
            c = o["candidates"][: obs_fn.slots.size]
            assert c[:, ia].sum() == 1 and c[:, ib].sum() == 1
            assert obs_fn.slots[int(np.argmax(c[:, ia]))] == get_rule("ATCS").choose(sim, d)
            assert obs_fn.slots[int(np.argmax(c[:, ib]))] == get_rule("BUFFER").choose(sim, d)
            checked += 1
        d = sim.dispatch(get_rule("ATCS").choose(sim, d))
    assert checked > 10
