"""Training throughput: env steps/s of MaskablePPO *including updates*, furnsim vs JSSEnv.

    python benchmarks/rl_throughput.py                  # 60 s per setting
    python benchmarks/rl_throughput.py --seconds 20 --out /tmp/tp.md

The same MaskablePPO (sb3-contrib) with the same hyperparameters as ``configs/train/*.yaml``
(2 in-process envs, n_steps 1024, batch 256, 4 epochs, 1 torch thread) learns for a fixed
wall-clock time on each setting, all in this one process, one after the other:

* **JSSEnv ta01** (``jssenv==1.1.0``, Tassel et al.'s env; its ``real_obs`` (jobs × 7)
  flattened, SB3's default MLP 64-64; ``action_mask`` as the mask; every env step counts,
  the no-op included) — the anchor of issue 5 (≈ 600 steps/s);
* **furnsim ta01** (``FurnitureShopCandidates-v0`` with the same ta01 as a fixed instance,
  the size-agnostic candidate policy; decisions with a single candidate are skipped);
* **furnsim demo weeks** (the training setting: demo-plant weeks of 60–200 jobs, reward
  scaled by the ATCS plan of the same week, computed at every reset).

steps/s = ``model.num_timesteps`` / wall time of ``learn`` (rollouts + PPO updates). A step is
not the same unit in both envs: a JSSEnv step is one action of its agent (the no-op and
single-choice allocations included, ≈ 250 per ta01 episode), a furnsim step is one decision
with at least two candidates (the simulator takes the rest itself, ≈ 50 per ta01 episode). So
the table also gives whole episodes (complete ta01 schedules) per second.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parent.parent
TA01 = REPO.parent / "shared" / "benchmarks" / "jsp" / "ta01.txt"
HP = {"n_steps": 1024, "batch_size": 256, "n_epochs": 4, "learning_rate": 1e-4, "gamma": 0.999}


def _jssenv_gym(path: Path) -> Any:
    import gymnasium as gym
    from gymnasium import spaces
    from sim_speed import JSSEnvAdapter

    class JSSEnvMasked(gym.Env):
        """JSSEnv with a flat Box observation and ``action_masks()`` for MaskablePPO."""

        def __init__(self) -> None:
            self.inner = JSSEnvAdapter(path)
            n = int(np.prod(self.inner.observation_space["real_obs"].shape))
            self.observation_space = spaces.Box(0.0, 1.0, (n,), np.float32)
            self.action_space = self.inner.action_space
            self._mask = np.ones(self.action_space.n, dtype=bool)

        def _obs(self, o: dict) -> np.ndarray:
            self._mask = np.asarray(o["action_mask"], dtype=bool)
            return np.asarray(o["real_obs"], dtype=np.float32).ravel()

        def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
            super().reset(seed=seed)
            o, info = self.inner.reset()
            return self._obs(o), info

        def step(self, action: int) -> Any:
            o, r, done, trunc, info = self.inner.step(int(action))
            return self._obs(o), float(r), bool(done), bool(trunc), {}

        def action_masks(self) -> np.ndarray:
            return self._mask

    return JSSEnvMasked


def measure(
    label: str,
    make_env: Any,
    policy: Any,
    policy_kwargs: dict,
    seconds: float,
    vec_env: str = "dummy",
) -> dict:
    """MaskablePPO on 2 Monitor-wrapped envs for ``seconds``: env steps/s incl. updates, and
    the process's CPU time per env step (less moved by other processes than wall time).
    ``vec_env``: ``dummy`` (SB3's DummyVecEnv) or ``fast`` (furnsim.rl.fast_vec_env, generic:
    any env with ``action_masks``)."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    fns = [lambda: Monitor(make_env()) for _ in range(2)]
    if vec_env == "fast":
        from furnsim.rl.fast_vec_env import FastVecEnv

        venv: Any = FastVecEnv(fns)
    else:
        venv = DummyVecEnv(fns)
    model = MaskablePPO(
        policy, venv, seed=0, device="cpu", verbose=0, policy_kwargs=policy_kwargs, **HP
    )

    episodes = [0]

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            episodes[0] += int(np.sum(self.locals["dones"]))
            return time.perf_counter() - t0 < seconds

    t0 = time.perf_counter()
    c0 = time.process_time()
    model.learn(10**9, callback=Stop())
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    n = int(model.num_timesteps)
    venv.close()
    eps = episodes[0]
    return {
        "setting": label,
        "steps": n,
        "wall_s": wall,
        "steps_per_s": n / wall,
        "cpu_us_per_step": 1e6 * cpu / max(n, 1),
        "vec_env": vec_env,
        "episodes": eps,
        "steps_per_episode": n / max(eps, 1),
        "episodes_per_s": eps / wall,
    }


def main(argv: list[str] | None = None) -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    from furnsim.env import FurnitureShopEnv
    from furnsim.io import read_jsp
    from furnsim.rl.net import CandidateExtractor, CandidatePolicy

    ta01 = read_jsp(TA01)
    cand_kw = {
        "features_extractor_class": CandidateExtractor,
        "features_extractor_kwargs": {"hidden": 64},
    }
    rows = [
        measure("JSSEnv ta01 (MLP 64-64)", _jssenv_gym(TA01), "MlpPolicy", {}, a.seconds),
        measure(
            "furnsim ta01 (candidate policy)",
            lambda: FurnitureShopEnv("speed", "candidates", instance=ta01, reward_scale="rule:SPT"),
            CandidatePolicy,
            cand_kw,
            a.seconds,
        ),
        measure(
            "furnsim demo weeks 60–200 jobs (candidate policy)",
            lambda: FurnitureShopEnv(
                "speed", "candidates", jobs=(60, 200), reward_scale="rule:ATCS"
            ),
            CandidatePolicy,
            cand_kw,
            a.seconds,
        ),
    ]
    lines = [
        f"MaskablePPO, 2 DummyVecEnv envs, n_steps 1024, batch 256, 4 epochs, 1 torch thread, "
        f"{a.seconds:.0f} s per setting, one process; {platform.processor() or platform.machine()}, "
        "shared 2-core machine (other processes running).",
        "",
        "| setting | env steps | wall (s) | steps/s incl. updates | episodes done | steps per episode | episodes (whole schedules) per s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {r['steps']} | {r['wall_s']:.1f} | **{r['steps_per_s']:.0f}** | "
            f"{r['episodes']} | {r['steps_per_episode']:.0f} | **{r['episodes_per_s']:.2f}** |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
