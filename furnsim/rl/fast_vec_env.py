"""An in-process SB3 ``VecEnv`` for MaskablePPO with less work per step than ``DummyVecEnv``.

:class:`FastVecEnv` steps its environments one after the other in the learner's process, as
``DummyVecEnv`` does, and returns the same values (observations, float32 rewards, dones,
infos with ``TimeLimit.truncated`` / ``terminal_observation``, automatic resets, seeds and
options used once). What it does not do per step:

* **no deep copies**: observations are written into preallocated stacked arrays (one per
  key) and handed out as one fresh copy of those; the info dicts are the environments' own
  (a new list every step; only a terminal observation is copied), where ``DummyVecEnv``
  deep-copies the whole ``OrderedDict`` of arrays and every info dict;
* **masks with the step**: right after every step / reset it asks each environment for its
  ``action_masks()`` (the bound method looked up once, through the wrappers) and stacks
  them into a preallocated ``(n_envs, n_actions)`` array; MaskablePPO's
  ``env_method("action_masks")`` before the next step is answered from that array instead
  of a lookup through every wrapper. Any other ``env_method`` or a ``set_attr`` drops them,
  and the next ``env_method("action_masks")`` asks the environments again (as
  :class:`~furnsim.rl.ray_vec_env.RayVecEnv` does).

It is generic (any Gymnasium environment, masks or none); ``benchmarks/rl_throughput.py``
runs JSSEnv through it too. ``tests/test_train_speed.py`` checks it against ``DummyVecEnv``
step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn
from stable_baselines3.common.vec_env.util import dict_to_obs

__all__ = ["FastVecEnv"]

MASKS = "action_masks"  # sb3_contrib's EXPECTED_METHOD_NAME


class FastVecEnv(DummyVecEnv):
    """``DummyVecEnv`` with stacked observation buffers, no deep copies and the action masks
    taken with every step (see the module doc)."""

    def __init__(self, env_fns: list[Callable[[], gym.Env]]) -> None:
        super().__init__(env_fns)
        self._mask_fns: list[Callable[[], np.ndarray]] | None = []
        for env in self.envs:
            try:
                self._mask_fns.append(env.get_wrapper_attr(MASKS))
            except AttributeError:
                self._mask_fns = None  # no masks: env_method("action_masks") fails as before
                break
        self._masks: np.ndarray | None = None  # (n_envs, *mask shape), allocated on first use
        self._masks_valid = False

    # -- stepping ------------------------------------------------------------------------------
    def step_wait(self) -> VecEnvStepReturn:
        infos: list[dict[str, Any]] = []
        for i, env in enumerate(self.envs):
            obs, rew, terminated, truncated, info = env.step(self.actions[i])
            done = terminated or truncated
            self.buf_rews[i] = rew
            self.buf_dones[i] = done
            info["TimeLimit.truncated"] = truncated and not terminated
            if done:  # keep the last observation (a copy: the env may reuse its arrays)
                info["terminal_observation"] = _copy(obs)
                obs, self.reset_infos[i] = env.reset()
            self._save_obs(i, obs)
            infos.append(info)
        self._take_masks()
        return self._obs_from_buf(), self.buf_rews.copy(), self.buf_dones.copy(), infos

    def reset(self) -> VecEnvObs:
        obs = super().reset()
        self._take_masks()
        return obs

    def _obs_from_buf(self) -> VecEnvObs:
        return dict_to_obs(self.observation_space, {k: v.copy() for k, v in self.buf_obs.items()})

    def _take_masks(self) -> None:
        fns = self._mask_fns
        if fns is None:
            return
        for i, fn in enumerate(fns):
            mask = fn()
            if self._masks is None:
                self._masks = np.zeros((self.num_envs, *np.shape(mask)), dtype=bool)
            self._masks[i] = mask
        self._masks_valid = True

    # -- masks from the step; anything that may change an environment drops them --------------
    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        if method_name == MASKS and not method_args and not method_kwargs:
            if not self._masks_valid:
                self._take_masks()
            if self._masks_valid and self._masks is not None:  # rows of a fresh array
                return list(self._masks[list(self._get_indices(indices))])
        else:
            self._masks_valid = False
        return super().env_method(method_name, *method_args, indices=indices, **method_kwargs)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._masks_valid = False
        super().set_attr(attr_name, value, indices)


def _copy(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: np.array(v, copy=True) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(np.array(v, copy=True) for v in obs)
    return np.array(obs, copy=True)
