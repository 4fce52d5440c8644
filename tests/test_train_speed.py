"""The faster training path computes what the stock one does.

* ``CandidatePolicy.forward`` / ``evaluate_actions`` (furnsim/rl/net.py) against sb3-contrib's
  ``MaskableActorCriticPolicy`` with its ``MaskableCategoricalDistribution``: same actions for
  the same seed, same values, log-probabilities, entropies and gradients;
* the numpy rollout forward against the torch one (and it follows in-place weight updates);
* the used-slot extractor: one observation or many give the same features, equal to the plain
  per-row pass;
* ``Tanh`` against ``torch.tanh``;
* ``FastVecEnv`` against ``DummyVecEnv`` step by step, episode ends and masks included;
* MaskablePPO through both: the rollout's log-probabilities and values are the update's.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import torch  # noqa: E402
from sb3_contrib import MaskablePPO  # noqa: E402
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from furnsim.env import DEMO_PLANT, FurnitureShopEnv  # noqa: E402
from furnsim.rl.fast_vec_env import FastVecEnv  # noqa: E402
from furnsim.rl.net import CandidateExtractor, CandidatePolicy, Tanh  # noqa: E402
from furnsim.rl.ray_vec_env import make_vec_env  # noqa: E402

pytestmark = pytest.mark.skipif(not DEMO_PLANT.exists(), reason="demo plant not found")


def _env(lo: int, hi: int) -> FurnitureShopEnv:
    return FurnitureShopEnv("speed", "candidates", plant="random-jsp", jobs=(lo, hi))


@pytest.fixture(scope="module")
def batch() -> tuple[dict[str, torch.Tensor], np.ndarray, FurnitureShopEnv]:
    """40 observations of random legal play on demo weeks (2..~20 candidates) and a terminal
    one (no slot used)."""
    env = FurnitureShopEnv("speed", "candidates", jobs=(20, 40), reward_scale="rule:ATCS")
    rng = np.random.default_rng(0)
    obs, masks = [], []
    o, _ = env.reset(seed=3)
    while len(obs) < 40:
        obs.append(o)
        masks.append(env.action_masks())
        o, _, done, _, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        if done:
            o, _ = env.reset()
    obs.append(env.obs_fn.empty())  # what the env shows once the episode is over
    masks.append(np.eye(1, env.action_space.n, dtype=bool)[0])  # ... and its mask
    ob = {k: torch.as_tensor(np.stack([x[k] for x in obs])) for k in obs[0]}
    assert (ob["mask"].sum(1) == 0).any() and ob["mask"].sum(1).max() >= 8
    return ob, np.stack(masks), env


def _policy(env: FurnitureShopEnv, seed: int = 0) -> CandidatePolicy:
    torch.manual_seed(seed)
    return CandidatePolicy(env.observation_space, env.action_space, lambda _: 1e-3)


def _sub(ob: dict[str, torch.Tensor], idx: slice | list[int]) -> dict[str, torch.Tensor]:
    return {k: v[idx] for k, v in ob.items()}


def test_policy_equals_the_stock_masked_categorical(batch) -> None:  # type: ignore[no-untyped-def]
    ob, masks, env = batch
    pol = _policy(env)
    for idx in (slice(0, 2), slice(None)):
        o, mk = _sub(ob, idx), masks[idx]
        torch.manual_seed(7)
        a1, v1, l1 = pol(o, action_masks=mk)  # with gradients: the torch path
        torch.manual_seed(7)
        a2, v2, l2 = MaskableActorCriticPolicy.forward(pol, o, action_masks=mk)
        assert torch.equal(a1, a2)  # the same draw from the same probabilities
        assert mk[np.arange(len(a1)), a1.numpy()].all()
        torch.testing.assert_close(v1, v2, atol=1e-6, rtol=0)
        torch.testing.assert_close(l1, l2, atol=1e-5, rtol=0)
        for m in (mk, None):
            ours = pol.evaluate_actions(o, a1, action_masks=m)
            stock = MaskableActorCriticPolicy.evaluate_actions(pol, o, a1, action_masks=m)
            for x, y in zip(ours, stock, strict=True):
                assert y is not None
                torch.testing.assert_close(x, y, atol=2e-5, rtol=1e-5)
    # gradients of a PPO-like loss at legal actions (a1: the whole batch's draw)
    grads = []
    stock_eval = MaskableActorCriticPolicy.evaluate_actions
    for fn in (pol.evaluate_actions, lambda *a, **k: stock_eval(pol, *a, **k)):
        pol.zero_grad()
        v, lp, ent = fn(ob, a1, action_masks=masks)
        (v.square().mean() - lp.mean() - 0.01 * ent.mean()).backward()
        grads.append([p.grad.clone() for p in pol.parameters() if p.grad is not None])
    for g1, g2 in zip(*grads, strict=True):
        torch.testing.assert_close(g1, g2, atol=1e-5, rtol=1e-4)


def test_numpy_rollouts_equal_the_torch_forward(batch) -> None:  # type: ignore[no-untyped-def]
    ob, masks, env = batch

    def both(pol: CandidatePolicy, o: dict, mk: np.ndarray) -> tuple:
        with torch.no_grad():
            pol.numpy_rollouts = True
            fast = pol(o, action_masks=mk, deterministic=True)
            pol.numpy_rollouts = False
            ref = pol(o, action_masks=mk, deterministic=True)
            pol.numpy_rollouts = True
        return fast, ref

    pol = _policy(env)
    for idx in (slice(0, 1), slice(0, 2), slice(None)):
        (a, v, lp), (a2, v2, lp2) = both(pol, _sub(ob, idx), masks[idx])
        assert a.dtype == a2.dtype and v.shape == v2.shape and lp.shape == lp2.shape
        assert torch.equal(a, a2)
        torch.testing.assert_close(v, v2, atol=1e-5, rtol=0)
        torch.testing.assert_close(lp, lp2, atol=1e-5, rtol=0)
    # in-place updates (the optimizer's) show through; a copy uses its own parameters
    with torch.no_grad():
        for p in pol.parameters():
            p.add_(0.05 * torch.randn_like(p))
    twin = copy.deepcopy(pol)
    with torch.no_grad():
        for p in twin.parameters():
            p.mul_(-1.5)
    for q in (pol, twin):
        (a, v, lp), (a2, v2, lp2) = both(q, ob, masks)
        assert torch.equal(a, a2)
        torch.testing.assert_close(v, v2, atol=1e-5, rtol=0)
    # sampling: never a masked slot, frequencies follow the probabilities
    o, mk = _sub(ob, slice(8, 12)), masks[8:12]
    torch.manual_seed(0)
    counts = np.zeros(mk.shape)
    with torch.no_grad():
        for _ in range(3000):
            a, _, _ = pol(o, action_masks=mk)
            counts[np.arange(len(a)), a.numpy()] += 1
        _, _, lp = pol(o, action_masks=mk, deterministic=True)
        logits = pol.extract_features(o)[:, : mk.shape[1]]
    assert counts[~mk].sum() == 0
    p = torch.softmax(logits.masked_fill(torch.as_tensor(~mk), -1e8), -1).numpy()
    assert np.abs(counts / 3000 - p).max() < 0.04


def test_extractor_same_features_for_one_or_many_observations(batch) -> None:  # type: ignore[no-untyped-def]
    ob, _, env = batch
    torch.manual_seed(0)
    ext = CandidateExtractor(env.observation_space, hidden=16)
    k = ext.K
    with torch.no_grad():
        many = ext(ob)
        one = torch.cat([ext(_sub(ob, [i])) for i in range(len(ob["mask"]))])
        full = ext.embed(ob)  # the plain pass over every row, padding included
    torch.testing.assert_close(one, many, atol=1e-6, rtol=0)
    m = ob["mask"]
    used = m > 0
    assert torch.equal(many[:, :k][~used], torch.zeros(int((~used).sum())))  # padding: 0
    torch.testing.assert_close(
        many[:, :k][used], ext.score(full).squeeze(-1)[used], atol=1e-6, rtol=0
    )
    pooled = (full * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
    torch.testing.assert_close(many[:, k : k + 16], pooled, atol=1e-6, rtol=0)


def test_tanh_is_torch_tanh() -> None:
    x = torch.linspace(-12, 12, 200_001, requires_grad=True)
    y = Tanh()(x)
    torch.testing.assert_close(y, torch.tanh(x), atol=3e-7, rtol=0)
    (g,) = torch.autograd.grad(y.sum(), x)
    (g2,) = torch.autograd.grad(torch.tanh(x).sum(), x)
    torch.testing.assert_close(g, g2, atol=5e-7, rtol=0)


def _venvs() -> tuple[DummyVecEnv, FastVecEnv]:
    fns = [lambda: Monitor(_env(4, 8)) for _ in range(2)]
    a, b = DummyVecEnv(fns), FastVecEnv(fns)
    for v in (a, b):
        v.seed(11)
    return a, b


def test_fast_vec_env_equals_dummy_vec_env() -> None:
    dummy, fast = _venvs()
    assert isinstance(make_vec_env("fast", [lambda: _env(4, 8)]), FastVecEnv)
    o1, o2 = dummy.reset(), fast.reset()
    rng = np.random.default_rng(1)
    ends = 0
    for step in range(60):
        m1 = np.stack(dummy.env_method("action_masks"))
        m2 = np.stack(fast.env_method("action_masks"))
        assert np.array_equal(m1, m2)
        for k in o1:
            assert np.array_equal(o1[k], o2[k])
        acts = np.array([rng.choice(np.flatnonzero(row)) for row in m1])
        o1, r1, d1, i1 = dummy.step(acts)
        o2, r2, d2, i2 = fast.step(acts)
        assert r1.dtype == r2.dtype and np.array_equal(r1, r2) and np.array_equal(d1, d2)
        for a, b in zip(i1, i2, strict=True):
            assert a.keys() == b.keys()
            for key in a:
                if key == "terminal_observation":
                    assert all(np.array_equal(a[key][f], b[key][f]) for f in a[key])
                elif key == "episode":  # Monitor's return and length (t is wall time)
                    assert (a[key]["r"], a[key]["l"]) == (b[key]["r"], b[key]["l"])
                else:
                    assert a[key] == b[key]
        ends += int(d1.sum())
        if step == 30:  # anything that may change an environment drops the step's masks
            for v in (dummy, fast):
                v.env_method("set_jobs", 5, 7)
            assert not fast._masks_valid
            fast.set_attr("illegal_penalty", 2.0)
            assert not fast._masks_valid
    assert ends >= 4
    # the handed-out observation is a copy: stepping does not change it
    before = {k: v.copy() for k, v in o2.items()}
    fast.step(np.array([rng.choice(np.flatnonzero(r)) for r in fast.env_method("action_masks")]))
    assert all(np.array_equal(before[k], o2[k]) for k in o2)
    assert fast.get_attr("illegal_penalty") == [2.0, 2.0]


@pytest.mark.parametrize("vec", ["dummy", "fast"])
def test_rollout_log_probs_and_values_are_the_updates(vec: str) -> None:
    """With learning rate 0 the update sees the parameters the rollout used: the log-probs and
    values the numpy rollout stored equal what ``evaluate_actions`` computes from the buffer."""
    venv = make_vec_env(vec, [lambda: Monitor(_env(6, 12)) for _ in range(2)])
    model = MaskablePPO(
        CandidatePolicy,
        venv,
        n_steps=48,
        batch_size=32,
        n_epochs=1,
        learning_rate=0.0,
        seed=0,
        device="cpu",
        policy_kwargs={"features_extractor_kwargs": {"hidden": 16}},
    )
    model.learn(96)
    assert model.num_timesteps >= 96
    buf = model.rollout_buffer
    data = next(buf.get(None))  # one batch: the whole rollout, flattened
    with torch.no_grad():
        v, lp, _ = model.policy.evaluate_actions(
            data.observations, data.actions.long().flatten(), action_masks=data.action_masks
        )
    torch.testing.assert_close(lp, data.old_log_prob, atol=1e-5, rtol=0)
    torch.testing.assert_close(v.flatten(), data.old_values, atol=1e-5, rtol=0)
    assert len(model.ep_info_buffer) > 0  # Monitor's episodes reached the learner
    venv.close()
