"""Training throughput by vectorised environment: ``vec_env`` dummy vs subproc vs ray.

    nice python benchmarks/rl_vec_envs.py                     # 3 rounds x 2 rollouts each
    nice python benchmarks/rl_vec_envs.py --rounds 1 --rollouts 1 --out /tmp/vec.md

The training setting of ``configs/train/speed.yaml`` (demo-plant weeks of 60-200 jobs, kit
and working-time features, reward scaled by the ATCS plan of the same week, MaskablePPO with
n_steps 1024, batch 256, 4 epochs, 1 torch thread) on ``--envs`` environments (2), built by
``furnsim.rl.train._make_env`` exactly as ``furnsim train`` builds them, behind:

* ``dummy``: SB3 ``DummyVecEnv``, every env in this process (the default);
* ``subproc``: SB3 ``SubprocVecEnv``, one local process per env (``forkserver``);
* ``ray``: ``furnsim.rl.ray_vec_env.RayVecEnv``, one Ray actor per env on a local Ray
  instance (``ray.init(address="local", num_cpus=--envs)`` on 127.0.0.1).

Equal work, interleaved: each round runs ``--rollouts`` whole PPO iterations (rollout +
update, ``rollouts * n_steps * envs`` env steps) on every backend in turn, the order rotated
from round to round, so that a change of machine load hits all three alike. Reported: env
steps/s incl. updates (total steps / total wall time of ``learn``) and, separately, env-only
steps/s (random legal actions, no policy: the transport cost of each backend), and the start
time of each backend (not in the rates).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ("dummy", "subproc", "ray")


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not Unix
        return "n/a"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "configs" / "train" / "speed.yaml"))
    ap.add_argument("--envs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rollouts", type=int, default=2, help="PPO iterations per round")
    ap.add_argument("--env-steps", type=int, default=400, help="vector steps, env-only rate")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--envs-per-actor", type=int, default=1, help="ray: envs per actor")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)

    import ray
    import torch
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks

    from furnsim.rl.net import CandidateExtractor, CandidatePolicy
    from furnsim.rl.ray_vec_env import make_vec_env
    from furnsim.rl.train import _make_env, load_config

    torch.set_num_threads(1)
    cfg = load_config(a.config, n_envs=a.envs)
    backends = [b for b in a.backends.split(",") if b]
    if "ray" in backends:
        ray.init(
            address="local",
            num_cpus=a.envs,
            include_dashboard=False,
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
        )
    fns = [_make_env(cfg, cfg.goal, "rule:ATCS", i) for i in range(a.envs)]
    venvs: dict[str, Any] = {}
    models: dict[str, Any] = {}
    start_s: dict[str, float] = {}
    for b in backends:
        t0 = time.perf_counter()
        venvs[b] = make_vec_env(b, fns, ray="auto", envs_per_actor=a.envs_per_actor)
        venvs[b].reset()
        start_s[b] = time.perf_counter() - t0
        models[b] = MaskablePPO(
            CandidatePolicy,
            venvs[b],
            learning_rate=cfg.learning_rate,
            n_steps=cfg.n_steps,
            batch_size=cfg.batch_size,
            n_epochs=cfg.n_epochs,
            gamma=cfg.gamma,
            gae_lambda=cfg.gae_lambda,
            clip_range=cfg.clip_range,
            ent_coef=cfg.ent_coef,
            seed=cfg.seed,
            policy_kwargs={
                "features_extractor_class": CandidateExtractor,
                "features_extractor_kwargs": {"hidden": cfg.hidden},
            },
            device="cpu",
            verbose=0,
        )
        print(f"{b}: started in {start_s[b]:.1f} s (load {_load()})", flush=True)

    per_iter = cfg.n_steps * a.envs
    steps = dict.fromkeys(backends, 0)
    wall = dict.fromkeys(backends, 0.0)
    loads: list[str] = [_load()]
    for r in range(a.rounds):
        order = backends[r % len(backends) :] + backends[: r % len(backends)]
        for b in order:
            m = models[b]
            before = m.num_timesteps
            t0 = time.perf_counter()
            m.learn(a.rollouts * per_iter, reset_num_timesteps=False)
            wall[b] += time.perf_counter() - t0
            steps[b] += m.num_timesteps - before
            print(
                f"round {r + 1} {b}: {m.num_timesteps - before} steps in "
                f"{time.perf_counter() - t0:.1f} s (load {_load()})",
                flush=True,
            )
        loads.append(_load())

    env_rate: dict[str, float] = {}
    driver_ms: dict[str, float] = {}
    rng = np.random.default_rng(0)
    for b in backends:  # env only: random legal actions, no policy, no update
        v = venvs[b]
        v.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(a.env_steps):
            acts = np.array([rng.choice(np.flatnonzero(mk)) for mk in get_action_masks(v)])
            v.step(acts)
        env_rate[b] = a.env_steps * a.envs / (time.perf_counter() - t0)
        # CPU time of this (the learner's) process per vector step: the envs' work for dummy,
        # only the transport for subproc / ray; unlike rates, hardly moved by machine load
        driver_ms[b] = (time.process_time() - c0) / a.env_steps * 1e3
    loads.append(_load())
    for v in venvs.values():
        v.close()

    lines = [
        f"MaskablePPO on {a.envs} envs ({Path(a.config).name}: n_steps {cfg.n_steps}, batch "
        f"{cfg.batch_size}, {cfg.n_epochs} epochs, 1 torch thread), {a.rounds} rounds x "
        f"{a.rollouts} PPO iterations per backend, interleaved; ray: {a.envs_per_actor} env(s) "
        "per actor; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
        f"(1/5/15 min) at the start and after each round: {'; '.join(loads)}.",
        "",
        "| vec_env | start (s) | env steps | wall (s) | steps/s incl. updates | env-only steps/s "
        "| learner CPU ms per vector step (env-only) |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in backends:
        lines.append(
            f"| {b} | {start_s[b]:.1f} | {steps[b]} | {wall[b]:.1f} | "
            f"**{steps[b] / wall[b] if wall[b] else float('nan'):.0f}** | {env_rate[b]:.0f} | "
            f"{driver_ms[b]:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")
    if "ray" in backends:
        ray.shutdown()


if __name__ == "__main__":
    main()
