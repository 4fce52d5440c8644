"""Training rollouts on Ray: an SB3 ``VecEnv`` whose environments live in Ray actors.

:class:`RayVecEnv` is the Ray counterpart of SB3's ``SubprocVecEnv``: environment ``i`` is
built by ``env_fns[i]`` inside actor ``i`` (on this machine or anywhere in the cluster),
``step_async`` sends every actor its action and ``step_wait`` gathers the results. Episode
ends are handled exactly like ``SubprocVecEnv`` (and ``DummyVecEnv``): ``done = terminated or
truncated``, ``info["TimeLimit.truncated"]``, the last observation in
``info["terminal_observation"]`` and an automatic reset whose observation is returned;
``reset()`` passes the seeds and options set by ``seed()`` / ``set_options()`` once.
``env_method`` / ``get_attr`` / ``set_attr`` / ``has_attr`` / ``env_is_wrapped`` reach the
remote environments (the curriculum's ``env_method("set_jobs", lo, hi)`` included).

**Masks ride along.** MaskablePPO asks for ``env_method("action_masks")`` before every step,
a second round trip per step. Each actor computes its environment's mask right after every
step / reset and returns it with the result; the next ``env_method("action_masks")`` (no
arguments) is answered from those, unless a call that may change an environment
(``env_method`` of another method, ``set_attr``) came in between, which drops them.

Rewards are stacked like ``SubprocVecEnv`` (float64 for Python floats; ``DummyVecEnv``
stores float32, the rollout buffer stores float32 either way).

``make_vec_env(kind, env_fns, ray=...)`` picks ``dummy`` | ``subproc`` | ``ray``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

__all__ = ["VEC_ENVS", "RayVecEnv", "make_vec_env"]

VEC_ENVS = ("dummy", "subproc", "ray")
MASKS = "action_masks"  # sb3_contrib's EXPECTED_METHOD_NAME


class _EnvWorker:
    """One environment inside a Ray actor (the body of SubprocVecEnv's ``_worker``)."""

    def __init__(self, env_fn: Callable[[], gym.Env]) -> None:
        from stable_baselines3.common.vec_env.patch_gym import _patch_env

        self.env = _patch_env(env_fn())
        try:
            self._mask_fn: Callable[[], np.ndarray] | None = self.env.get_wrapper_attr(MASKS)
        except AttributeError:
            self._mask_fn = None

    def _mask(self) -> np.ndarray | None:
        return None if self._mask_fn is None else self._mask_fn()

    def spaces(self) -> tuple[gym.Space, gym.Space]:
        return self.env.observation_space, self.env.action_space

    def step(self, action: Any) -> tuple[Any, Any, bool, dict[str, Any], Any, Any]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        done = terminated or truncated
        info["TimeLimit.truncated"] = truncated and not terminated
        reset_info: dict[str, Any] | None = {}
        if done:  # keep the last observation, then reset (the VecEnv contract)
            info["terminal_observation"] = obs
            obs, reset_info = self.env.reset()
        return obs, reward, done, info, reset_info, self._mask()

    def reset(self, seed: int | None, options: dict[str, Any]) -> tuple[Any, Any, Any]:
        maybe_options = {"options": options} if options else {}
        obs, reset_info = self.env.reset(seed=seed, **maybe_options)
        return obs, reset_info, self._mask()

    def env_method(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.env.get_wrapper_attr(name)(*args, **kwargs)

    def get_attr(self, name: str) -> Any:
        return self.env.get_wrapper_attr(name)

    def has_attr(self, name: str) -> bool:
        try:
            self.env.get_wrapper_attr(name)
            return True
        except AttributeError:
            return False

    def set_attr(self, name: str, value: Any) -> None:
        setattr(self.env, name, value)

    def is_wrapped(self, wrapper_class: type[gym.Wrapper]) -> bool:
        from stable_baselines3.common.env_util import is_wrapped

        return is_wrapped(self.env, wrapper_class)

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _stack_obs(obs: Sequence[Any], space: gym.Space) -> VecEnvObs:
    from stable_baselines3.common.vec_env.subproc_vec_env import _stack_obs as stack

    return stack(list(obs), space)


class RayVecEnv(VecEnv):
    """``n`` environments in ``n`` Ray actors; the SB3 ``VecEnv`` API (see the module doc).

    :param env_fns: functions that build one environment each (pickled to the actors).
    :param ray: ``"auto"`` (``RAY_ADDRESS``, else a running local instance, else a new one),
        ``"local"`` (a new local instance) or a cluster address; a ``ray.init`` made by the
        caller is reused.
    :param num_cpus: CPUs Ray reserves per actor; None = 1, or less where the cluster has
        fewer CPUs than environments (so that every actor can be placed).
    :param start_timeout_s: how long to wait for the actors to come up before giving up
        with an error (rather than wait forever for resources the cluster does not have).
    """

    def __init__(
        self,
        env_fns: list[Callable[[], gym.Env]],
        *,
        ray: str = "auto",
        num_cpus: float | None = None,
        start_timeout_s: float = 300.0,
    ) -> None:
        from furnsim.planners.parallel import connect_ray

        r = connect_ray(ray)
        self._ray = r
        n = len(env_fns)
        if n == 0:
            raise ValueError("RayVecEnv needs at least one environment")
        if num_cpus is None:
            total = float(r.cluster_resources().get("CPU", 1.0))
            num_cpus = min(1.0, total / n)
        actor = r.remote(_EnvWorker).options(num_cpus=num_cpus)
        self.actors = [actor.remote(fn) for fn in env_fns]
        self.closed = False
        self.waiting = False
        self._pending: list[Any] = []
        self._masks: list[np.ndarray | None] = [None] * n
        try:
            obs_space, act_space = r.get(self.actors[0].spaces.remote(), timeout=start_timeout_s)
            r.get([a.has_attr.remote(MASKS) for a in self.actors], timeout=start_timeout_s)
        except r.exceptions.GetTimeoutError:
            self.close()
            raise RuntimeError(
                f"RayVecEnv: {n} environment actors ({num_cpus:g} CPU each) did not start "
                f"within {start_timeout_s:g} s; cluster resources: {r.cluster_resources()}"
            ) from None
        super().__init__(n, obs_space, act_space)

    # -- stepping ------------------------------------------------------------------------------
    def step_async(self, actions: np.ndarray) -> None:
        self._pending = [a.step.remote(act) for a, act in zip(self.actors, actions, strict=True)]
        self.waiting = True

    def step_wait(self) -> VecEnvStepReturn:
        results = self._ray.get(self._pending)
        self._pending = []
        self.waiting = False
        obs, rews, dones, infos, reset_infos, masks = zip(*results, strict=True)
        self.reset_infos = list(reset_infos)
        self._masks = list(masks)
        return (
            _stack_obs(obs, self.observation_space),
            np.stack(rews),
            np.stack(dones),
            list(infos),
        )

    def reset(self) -> VecEnvObs:
        refs = [a.reset.remote(self._seeds[i], self._options[i]) for i, a in enumerate(self.actors)]
        results = self._ray.get(refs)
        obs, reset_infos, masks = zip(*results, strict=True)
        self.reset_infos = list(reset_infos)
        self._masks = list(masks)
        # seeds and options are used once (as in SB3's VecEnvs)
        self._reset_seeds()
        self._reset_options()
        return _stack_obs(obs, self.observation_space)

    def close(self) -> None:
        if self.closed:
            return
        if self.waiting:
            self._ray.get(self._pending)
            self.waiting = False
        try:
            self._ray.get([a.close.remote() for a in self.actors], timeout=60)
        finally:
            for a in self.actors:
                self._ray.kill(a)
            self.closed = True

    # -- remote attributes and methods --------------------------------------------------------
    def _targets(self, indices: VecEnvIndices) -> list[int]:
        return list(self._get_indices(indices))

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        idx = self._targets(indices)
        if method_name == MASKS and not method_args and not method_kwargs:
            cached = [m for m in (self._masks[i] for i in idx) if m is not None]
            if len(cached) == len(idx):
                return [np.copy(m) for m in cached]
        else:  # the call may change an environment: its mask is fetched afresh
            for i in idx:
                self._masks[i] = None
        refs = [
            self.actors[i].env_method.remote(method_name, method_args, method_kwargs) for i in idx
        ]
        return list(self._ray.get(refs))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return list(
            self._ray.get(
                [self.actors[i].get_attr.remote(attr_name) for i in self._targets(indices)]
            )
        )

    def has_attr(self, attr_name: str) -> bool:
        return all(self._ray.get([a.has_attr.remote(attr_name) for a in self.actors]))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        idx = self._targets(indices)
        for i in idx:
            self._masks[i] = None
        self._ray.get([self.actors[i].set_attr.remote(attr_name, value) for i in idx])

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        refs = [self.actors[i].is_wrapped.remote(wrapper_class) for i in self._targets(indices)]
        return list(self._ray.get(refs))

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            return [None for _ in self.actors]
        return list(self._ray.get([a.render.remote() for a in self.actors]))


def make_vec_env(
    kind: str, env_fns: list[Callable[[], gym.Env]], *, ray: str | None = None
) -> VecEnv:
    """The vectorised environment of a training run: ``dummy`` (in this process),
    ``subproc`` (one local process per environment) or ``ray`` (one Ray actor per
    environment, on ``ray`` = ``"auto"`` or a cluster address; ``"auto"`` if None)."""
    if kind == "dummy":
        return DummyVecEnv(env_fns)
    if kind == "subproc":
        return SubprocVecEnv(env_fns)
    if kind == "ray":
        return RayVecEnv(env_fns, ray=ray or "auto")
    raise ValueError(f"vec_env: {kind!r} is not one of {', '.join(VEC_ENVS)}")
