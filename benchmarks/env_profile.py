"""Where env.step spends its time: cProfile of the candidates env, random legal actions.

    python benchmarks/env_profile.py                 # 3 demo weeks, goal speed
    python benchmarks/env_profile.py --goal empty-buffers --weeks 5 --top 25
    python benchmarks/env_profile.py --top 0 --split 7   # + CPU µs per step: reward / features

Prints decisions/s without the profiler, then the share of ``env.step`` spent in the
observation (``obs_fn``), the reward (``reward_fn``) and the simulator (``dispatch``, the
skipped one-candidate decisions included), and the top functions by own time — of the steps
only (the profiler is on during ``env.step`` calls, not during resets).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import numpy as np


def run(
    goal: str, weeks: int, seed: int = 0, prof: cProfile.Profile | None = None
) -> tuple[int, float]:
    """Random legal actions on ``weeks`` demo weeks; only ``env.step`` is timed (and profiled:
    the resets, which plan the week with the reference rule, are left out)."""
    from furnsim.env import FurnitureShopEnv

    env = FurnitureShopEnv(goal=goal, view="candidates", jobs=(60, 200))
    rng = np.random.default_rng(seed)
    steps = 0
    t_step = 0.0
    for w in range(weeks):
        env.reset(seed=seed + w)
        done = False
        while not done:
            a = int(rng.choice(np.flatnonzero(env.action_masks())))
            t0 = time.perf_counter()
            if prof is not None:
                prof.enable()
            _, _, done, _, _ = env.step(a)
            if prof is not None:
                prof.disable()
            t_step += time.perf_counter() - t0
            steps += 1
    return steps, t_step


def split(goal: str, weeks: int, reps: int) -> None:
    """CPU µs per ``env.step`` with the reward and/or the candidate features replaced by
    constants (min of ``reps`` runs of the same weeks and actions, process time: less load
    dependent than wall time). The differences are what the reward and the features cost."""
    import furnsim.env.observations as obs
    import furnsim.env.rewards as rewards

    def zeros(sim, d, *_a, **_k):  # type: ignore[no-untyped-def]
        return np.zeros((d.candidates.size, 23), np.float32), np.zeros(9, np.float32)

    def nothing(*_a, **_k):  # type: ignore[no-untyped-def]
        return None  # (the compiled loop's path: the rows stay zero)

    saved = rewards.CostReward.__call__, obs.candidate_features, obs._fast_features
    for name in ("all", "no reward", "no features", "neither"):
        if "reward" in name or name == "neither":
            rewards.CostReward.__call__ = lambda self, sim: 0.0  # type: ignore[method-assign]
        if "features" in name or name == "neither":
            obs.candidate_features = zeros  # type: ignore[assignment]
            obs._fast_features = nothing  # type: ignore[assignment]
        from furnsim.env import FurnitureShopEnv

        best = np.inf
        for _ in range(reps):
            env = FurnitureShopEnv(goal=goal, view="candidates", jobs=(60, 200))
            rng = np.random.default_rng(0)
            n, t = 0, 0.0
            for w in range(weeks):
                env.reset(seed=w)
                done = False
                while not done:
                    act = int(rng.integers(env.obs_fn.slots.size))
                    t0 = time.process_time()
                    _, _, done, _, _ = env.step(act)
                    t += time.process_time() - t0
                    n += 1
            best = min(best, t / n)
        print(f"{name:12s} {best * 1e6:7.1f} µs CPU per env.step ({n} steps, min of {reps})")
        rewards.CostReward.__call__, obs.candidate_features, obs._fast_features = saved  # type: ignore[method-assign]
    try:  # the anchor: JSSEnv ta01, random legal actions, resets included (as fastcore_bench)
        import sys
        from pathlib import Path

        here = Path(__file__).resolve().parent
        sys.path.insert(0, str(here))
        from sim_speed import jssenv_runner

        ep = jssenv_runner(here.parent.parent / "shared" / "benchmarks" / "jsp" / "ta01.txt")
    except Exception:  # noqa: BLE001 - JSSEnv is optional
        return
    rng = np.random.default_rng(0)
    ep(rng)
    best = np.inf
    for _ in range(reps):
        n, t0 = 0, time.process_time()
        for _ in range(5):
            n += ep(rng)[0]
        best = min(best, (time.process_time() - t0) / n)
    print(f"JSSEnv ta01  {best * 1e6:7.1f} µs CPU per decision (5 episodes, min of {reps})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goal", default="speed")
    ap.add_argument("--weeks", type=int, default=3)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--split", type=int, default=0, help="also the CPU split, min of N runs")
    a = ap.parse_args()
    run(a.goal, 1, seed=99)  # warm up imports and caches
    steps, t = run(a.goal, a.weeks)
    print(f"goal {a.goal}: {steps} decisions, env.step {steps / t:,.0f} decisions/s (no profiler)")
    pr = cProfile.Profile()
    run(a.goal, a.weeks, prof=pr)
    st = pstats.Stats(pr)
    total = obs = rew = eng = 0.0
    for (file, _line, fn), (_cc, _nc, _tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        if fn == "step" and file.endswith("shop_env.py"):
            total = ct
        elif fn == "__call__" and file.endswith("observations.py") and ct > obs:
            obs = ct
        elif fn == "__call__" and file.endswith("rewards.py"):
            rew = max(rew, ct)
        elif fn == "dispatch" and file.endswith("engine.py"):
            eng = ct
    if total:
        print(
            f"env.step {total:.2f} s: observation {obs / total:.0%}, reward {rew / total:.0%}, "
            f"simulator {eng / total:.0%}"
        )
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(a.top)
    print(s.getvalue())
    if a.split:
        split(a.goal, a.weeks, a.split)


if __name__ == "__main__":
    main()
