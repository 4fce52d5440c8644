"""Training rollouts on Ray: an SB3 ``VecEnv`` whose environments live in Ray actors.

:class:`RayVecEnv` is the Ray counterpart of SB3's ``SubprocVecEnv``: environment ``i`` is
built by ``env_fns[i]`` inside a Ray actor (one per environment, or ``envs_per_actor``
consecutive ones per actor; on this machine or anywhere in the cluster), ``step_async``
sends every actor its actions in one call and ``step_wait`` gathers the results. Episode
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

``make_vec_env(kind, env_fns, ray=...)`` picks ``dummy`` | ``fast`` | ``subproc`` | ``ray``.
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

VEC_ENVS = ("dummy", "fast", "subproc", "ray")
MASKS = "action_masks"  # sb3_contrib's EXPECTED_METHOD_NAME


class _EnvWorker:
    """Environments inside one Ray actor (the body of SubprocVecEnv's ``_worker``, for a group
    of ``envs_per_actor`` environments stepped one after the other). ``local`` lists are
    indices into this actor's group."""

    def __init__(self, env_fns: list[Callable[[], gym.Env]]) -> None:
        from stable_baselines3.common.vec_env.patch_gym import _patch_env

        self.envs = [_patch_env(fn()) for fn in env_fns]
        self._mask_fns: list[Callable[[], np.ndarray] | None] = []
        for env in self.envs:
            try:
                self._mask_fns.append(env.get_wrapper_attr(MASKS))
            except AttributeError:
                self._mask_fns.append(None)

    def _mask(self, k: int) -> np.ndarray | None:
        fn = self._mask_fns[k]
        return None if fn is None else fn()

    def spaces(self) -> tuple[gym.Space, gym.Space]:
        return self.envs[0].observation_space, self.envs[0].action_space

    def _step(self, k: int, action: Any) -> tuple[Any, Any, bool, dict[str, Any], Any, Any]:
        env = self.envs[k]
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        info["TimeLimit.truncated"] = truncated and not terminated
        reset_info: dict[str, Any] | None = {}
        if done:  # keep the last observation, then reset (the VecEnv contract)
            info["terminal_observation"] = obs
            obs, reset_info = env.reset()
        return obs, reward, done, info, reset_info, self._mask(k)

    def step(self, actions: list[Any]) -> list[tuple[Any, Any, bool, dict[str, Any], Any, Any]]:
        return [self._step(k, a) for k, a in enumerate(actions)]

    def reset(
        self, seeds: list[int | None], options: list[dict[str, Any]]
    ) -> list[tuple[Any, Any, Any]]:
        out = []
        for k, env in enumerate(self.envs):
            maybe_options = {"options": options[k]} if options[k] else {}
            obs, reset_info = env.reset(seed=seeds[k], **maybe_options)
            out.append((obs, reset_info, self._mask(k)))
        return out

    def env_method(
        self, local: list[int], name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> list[Any]:
        return [self.envs[k].get_wrapper_attr(name)(*args, **kwargs) for k in local]

    def get_attr(self, local: list[int], name: str) -> list[Any]:
        return [self.envs[k].get_wrapper_attr(name) for k in local]

    def has_attr(self, local: list[int], name: str) -> list[bool]:
        out = []
        for k in local:
            try:
                self.envs[k].get_wrapper_attr(name)
                out.append(True)
            except AttributeError:
                out.append(False)
        return out

    def set_attr(self, local: list[int], name: str, value: Any) -> list[None]:
        for k in local:
            setattr(self.envs[k], name, value)
        return [None for _ in local]

    def is_wrapped(self, local: list[int], wrapper_class: type[gym.Wrapper]) -> list[bool]:
        from stable_baselines3.common.env_util import is_wrapped

        return [is_wrapped(self.envs[k], wrapper_class) for k in local]

    def render(self, local: list[int]) -> list[Any]:
        return [self.envs[k].render() for k in local]

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _stack_obs(obs: Sequence[Any], space: gym.Space) -> VecEnvObs:
    from stable_baselines3.common.vec_env.subproc_vec_env import _stack_obs as stack

    return stack(list(obs), space)


class RayVecEnv(VecEnv):
    """``n`` environments in Ray actors; the SB3 ``VecEnv`` API (see the module doc).

    :param env_fns: functions that build one environment each (pickled to the actors).
    :param ray: ``"auto"`` (``RAY_ADDRESS``, else a running local instance, else a new one),
        ``"local"`` (a new local instance) or a cluster address; a ``ray.init`` made by the
        caller is reused.
    :param envs_per_actor: environments per actor (1: every env steps in parallel; more: fewer
        calls per step for the learner, each actor steps its group one after the other —
        for many environments on a cluster).
    :param num_cpus: CPUs Ray reserves per actor; None = 1, or less where the cluster has
        fewer CPUs than actors (so that every actor can be placed).
    :param start_timeout_s: how long to wait for the actors to come up before giving up
        with an error (rather than wait forever for resources the cluster does not have).
    """

    def __init__(
        self,
        env_fns: list[Callable[[], gym.Env]],
        *,
        ray: str = "auto",
        envs_per_actor: int = 1,
        num_cpus: float | None = None,
        start_timeout_s: float = 300.0,
    ) -> None:
        from furnsim.planners.parallel import connect_ray

        r = connect_ray(ray)
        self._ray = r
        n = len(env_fns)
        if n == 0:
            raise ValueError("RayVecEnv needs at least one environment")
        if envs_per_actor < 1:
            raise ValueError("envs_per_actor must be >= 1")
        # actor g holds environments groups[g] (consecutive); where[i] = (actor, local index)
        self._groups = [
            list(range(s, min(s + envs_per_actor, n))) for s in range(0, n, envs_per_actor)
        ]
        self._where = [(g, k) for g, grp in enumerate(self._groups) for k in range(len(grp))]
        if num_cpus is None:
            total = float(r.cluster_resources().get("CPU", 1.0))
            num_cpus = min(1.0, total / len(self._groups))
        actor = r.remote(_EnvWorker).options(num_cpus=num_cpus)
        self.actors = [actor.remote([env_fns[i] for i in grp]) for grp in self._groups]
        self.closed = False
        self.waiting = False
        self._pending: list[Any] = []
        self._masks: list[np.ndarray | None] = [None] * n
        try:
            obs_space, act_space = r.get(self.actors[0].spaces.remote(), timeout=start_timeout_s)
            r.get([a.spaces.remote() for a in self.actors], timeout=start_timeout_s)
        except r.exceptions.GetTimeoutError:
            self.close()
            raise RuntimeError(
                f"RayVecEnv: {len(self.actors)} environment actors ({num_cpus:g} CPU each) did "
                f"not start within {start_timeout_s:g} s; cluster resources: "
                f"{r.cluster_resources()}"
            ) from None
        super().__init__(n, obs_space, act_space)

    # -- stepping ------------------------------------------------------------------------------
    def step_async(self, actions: np.ndarray) -> None:
        self._pending = [
            a.step.remote([actions[i] for i in grp])
            for a, grp in zip(self.actors, self._groups, strict=True)
        ]
        self.waiting = True

    def step_wait(self) -> VecEnvStepReturn:
        pending, self._pending, self.waiting = self._pending, [], False
        # an env's exception is raised here (a RayTaskError that is also the env's error type)
        results = [res for part in self._ray.get(pending) for res in part]
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
        refs = [
            a.reset.remote([self._seeds[i] for i in grp], [self._options[i] for i in grp])
            for a, grp in zip(self.actors, self._groups, strict=True)
        ]
        results = [res for part in self._ray.get(refs) for res in part]
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
        refs = list(self._pending) + [a.close.remote() for a in self.actors]
        try:
            self._ray.get(refs, timeout=60)
        except Exception:  # noqa: BLE001 - a dead or stuck actor: it is killed below anyway
            pass
        finally:
            for a in self.actors:
                self._ray.kill(a)
            self._pending, self.waiting, self.closed = [], False, True

    # -- remote attributes and methods --------------------------------------------------------
    def _call(self, method: str, indices: VecEnvIndices, *args: Any) -> list[Any]:
        """``actor.method(local_indices, *args)`` on the actors holding ``indices``, one call
        per actor; the results in the order of ``indices``."""
        idx = list(self._get_indices(indices))
        by_actor: dict[int, list[int]] = {}
        for i in idx:
            by_actor.setdefault(self._where[i][0], []).append(i)
        refs = [
            getattr(self.actors[g], method).remote([self._where[i][1] for i in ii], *args)
            for g, ii in by_actor.items()
        ]
        out: dict[int, Any] = {}
        for ii, res in zip(by_actor.values(), self._ray.get(refs), strict=True):
            out.update(zip(ii, res, strict=True))
        return [out[i] for i in idx]

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        idx = list(self._get_indices(indices))
        if method_name == MASKS and not method_args and not method_kwargs:
            cached = [m for m in (self._masks[i] for i in idx) if m is not None]
            if len(cached) == len(idx):
                return [np.copy(m) for m in cached]
        else:  # the call may change an environment: its mask is fetched afresh
            for i in idx:
                self._masks[i] = None
        return self._call("env_method", idx, method_name, method_args, method_kwargs)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._call("get_attr", indices, attr_name)

    def has_attr(self, attr_name: str) -> bool:
        return all(self._call("has_attr", None, attr_name))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        idx = list(self._get_indices(indices))
        for i in idx:
            self._masks[i] = None
        self._call("set_attr", idx, attr_name, value)

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return self._call("is_wrapped", indices, wrapper_class)

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            return [None for _ in range(self.num_envs)]
        return self._call("render", None)


def make_vec_env(
    kind: str,
    env_fns: list[Callable[[], gym.Env]],
    *,
    ray: str | None = None,
    envs_per_actor: int = 1,
) -> VecEnv:
    """The vectorised environment of a training run: ``dummy`` (in this process),
    ``fast`` (in this process, fewer copies, masks with the step:
    :class:`~furnsim.rl.fast_vec_env.FastVecEnv`), ``subproc`` (one local process per environment) or ``ray`` (Ray actors of
    ``envs_per_actor`` environments each, on ``ray`` = ``"auto"`` or a cluster address;
    ``"auto"`` if None)."""
    if kind == "dummy":
        return DummyVecEnv(env_fns)
    if kind == "fast":
        from furnsim.rl.fast_vec_env import FastVecEnv

        return FastVecEnv(env_fns)
    if kind == "subproc":
        return SubprocVecEnv(env_fns)
    if kind == "ray":
        return RayVecEnv(env_fns, ray=ray or "auto", envs_per_actor=envs_per_actor)
    raise ValueError(f"vec_env: {kind!r} is not one of {', '.join(VEC_ENVS)}")
