"""Where MaskablePPO's time goes, furnsim vs JSSEnv: equal work, CPU time per env step, by part.

    PYTHONPATH=.:JSS_DIR nice python benchmarks/train_speed.py --before-tree BASE --rounds 3
    PYTHONPATH=.:JSS_DIR python benchmarks/train_speed.py --profile furnsim --top 25   # cProfile

Every setting learns the same number of env steps (``--rollouts`` rollouts of 2 envs x
``n_steps`` 1024 after one warm-up rollout; the hyperparameters of ``rl_throughput.py``:
n_steps 1024, batch 256, 4 epochs, 1 torch thread, 2 Monitor-wrapped envs) in its own
subprocess; the settings take turns, round by round, so a busy machine slows all of them alike.
Reported per env step: CPU time of the process (``time.process_time``, which other processes
move less than wall time) and wall time, split into the env's ``step`` and ``reset`` (timed
inside the Monitor wrapper), the policy's rollout forward, the PPO update (``train``), and the
rest (the VecEnv, the rollout buffer, tensor conversion, callbacks).

Settings: ``jssenv`` (JSSEnv ta01, SB3 MlpPolicy 64-64, DummyVecEnv: the stock setup),
``jssenv-fast`` (the same through ``furnsim.rl.fast_vec_env.FastVecEnv``), ``furnsim``
(demo weeks of 60-200 jobs, the candidate policy, the VecEnv ``furnsim train`` uses:
``TrainConfig().vec_env`` of the tree), ``furnsim-dummy`` (the same with DummyVecEnv), and
``before`` (``furnsim`` of ``--before-tree``, e.g. ``git archive <commit> | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
PARTS = ("env step", "env reset", "policy forward", "update (train)", "rest")


def _model(setting: str) -> Any:
    """(MaskablePPO, the envs) of a setting, built as rl_throughput.measure builds them."""
    import torch
    from rl_throughput import HP, TA01, _jssenv_gym
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.monitor import Monitor

    from furnsim.rl.ray_vec_env import make_vec_env

    torch.set_num_threads(1)
    if setting.startswith("jssenv"):
        make: Any = _jssenv_gym(TA01)
        policy: Any = "MlpPolicy"
        kw: dict[str, Any] = {}
        kind = "fast" if setting == "jssenv-fast" else "dummy"
    else:
        from furnsim.env import FurnitureShopEnv
        from furnsim.rl.net import CandidateExtractor, CandidatePolicy
        from furnsim.rl.train import TrainConfig

        def make() -> Any:
            return FurnitureShopEnv("speed", "candidates", jobs=(60, 200), reward_scale="rule:ATCS")

        policy = CandidatePolicy
        kw = {
            "features_extractor_class": CandidateExtractor,
            "features_extractor_kwargs": {"hidden": 64},
        }
        kind = "dummy" if setting == "furnsim-dummy" else TrainConfig().vec_env
    envs: list[Any] = []

    def fn() -> Any:
        e = Monitor(make())
        envs.append(e)
        return e

    venv = make_vec_env(kind, [fn, fn])
    model = MaskablePPO(policy, venv, seed=0, device="cpu", verbose=0, policy_kwargs=kw, **HP)
    return model, envs, kind


def run(setting: str, rollouts: int) -> dict[str, Any]:
    model, envs, kind = _model(setting)
    per = model.n_steps * model.n_envs
    model.learn(per)  # warm-up: imports, caches, the numba kernels
    cpu: Counter[str] = Counter()
    wall: Counter[str] = Counter()

    def timed(obj: Any, name: str, part: str) -> None:
        f = getattr(obj, name)

        def g(*a: Any, **k: Any) -> Any:
            c, t = time.process_time(), time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                cpu[part] += time.process_time() - c
                wall[part] += time.perf_counter() - t

        setattr(obj, name, g)

    for e in envs:  # inside Monitor: the env's own work only
        timed(e.env, "step", "env step")
        timed(e.env, "reset", "env reset")
    timed(model.policy, "forward", "policy forward")
    timed(model, "train", "update (train)")
    c0, t0 = time.process_time(), time.perf_counter()
    model.learn(rollouts * per, reset_num_timesteps=False)
    c1, t1 = time.process_time() - c0, time.perf_counter() - t0
    n = rollouts * per
    cpu["rest"] = c1 - sum(cpu.values())
    wall["rest"] = t1 - sum(wall.values())
    return {
        "setting": setting,
        "vec_env": kind,
        "steps": n,
        "wall_s": t1,
        "cpu_s": c1,
        "steps_per_s": n / t1,
        "cpu_us": {p: 1e6 * cpu[p] / n for p in PARTS},
        "wall_us": {p: 1e6 * wall[p] / n for p in PARTS},
    }


def profile(setting: str, rollouts: int, top: int) -> None:
    import cProfile
    import pstats

    model, _, _ = _model(setting)
    per = model.n_steps * model.n_envs
    model.learn(per)
    prof = cProfile.Profile()
    prof.enable()
    model.learn(rollouts * per, reset_num_timesteps=False)
    prof.disable()
    st = pstats.Stats(prof)
    st.sort_stats("cumulative").print_stats(top)
    st.sort_stats("tottime").print_stats(top)


def _child(tree: Path, setting: str, rollouts: int) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", setting]
    cmd += ["--rollouts", str(rollouts)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{setting} in {tree} failed:\n{p.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(line[7:])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before-tree", default=None)
    ap.add_argument("--settings", default="jssenv,jssenv-fast,furnsim,furnsim-dummy")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rollouts", type=int, default=3, help="timed rollouts of 2048 steps")
    ap.add_argument("--profile", default=None, help="cProfile one setting instead")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print("RESULT " + json.dumps(run(a.child, a.rollouts)))
        return
    if a.profile:
        profile(a.profile, a.rollouts, a.top)
        return
    here = HERE.parent
    plan = [(s, here) for s in a.settings.split(",") if s]
    if a.before_tree:
        plan.insert(2, ("before", Path(a.before_tree).resolve()))
    res: dict[str, list[dict[str, Any]]] = {s: [] for s, _ in plan}
    loads = []
    for r in range(a.rounds):
        loads.append(os.getloadavg()[0])
        for s, tree in plan:
            x = _child(tree, "furnsim" if s == "before" else s, a.rollouts)
            res[s].append(x)
            print(
                f"round {r}: {s}: {x['steps_per_s']:.0f} steps/s, cpu {1e6 * x['cpu_s'] / x['steps']:.0f} us/step",
                flush=True,
            )
    loads.append(os.getloadavg()[0])

    def med(s: str, f: Any) -> float:
        return float(np.median([f(x) for x in res[s]]))

    ref = "jssenv" if "jssenv" in res else None
    lines = [
        f"{a.rounds} rounds x {a.rollouts} rollouts of 2,048 env steps per setting (after one "
        f"warm-up rollout), settings in turn; load average {min(loads):.1f}-{max(loads):.1f}. "
        "Medians; per env step.",
        "",
        "| setting | VecEnv | steps/s (wall) | vs JSSEnv | CPU us/step | vs JSSEnv (CPU) | "
        + " | ".join(PARTS)
        + " |",
        "|---|---|---:|---:|---:|---:|" + "---:|" * len(PARTS),
    ]
    for s, _ in plan:
        sps = med(s, lambda x: x["steps_per_s"])
        cpu = med(s, lambda x: 1e6 * x["cpu_s"] / x["steps"])
        if ref:
            r_w = f"{sps / med(ref, lambda x: x['steps_per_s']):.2f}x"
            r_c = f"{med(ref, lambda x: 1e6 * x['cpu_s'] / x['steps']) / cpu:.2f}x"
        else:
            r_w = r_c = "n/a"
        parts = " | ".join(f"{med(s, lambda x, p=p: x['cpu_us'][p]):.0f}" for p in PARTS)
        lines.append(
            f"| {s} | {res[s][0]['vec_env']} | {sps:,.0f} | {r_w} | {cpu:.0f} | {r_c} | {parts} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
