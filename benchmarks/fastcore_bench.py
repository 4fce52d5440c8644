"""Fast core (issue 14): every must-show ratio in ONE process, before vs after vs JSSEnv.

    nice python benchmarks/fastcore_bench.py --rounds 3 --seconds 6 --ppo-seconds 40
    python benchmarks/fastcore_bench.py --rounds 1 --seconds 2 --ppo-seconds 0   # quick look

1. **Environment decisions/s** — the candidates environment (all 23 features, goal reward) with
   random legal actions on demo weeks of 60–200 jobs, per feature implementation:
   ``before`` = the pre-issue-14 features (the reference kept in tests/_ref_features.py) with
   the reward recomputed from every KPI each step; ``round 1`` = the same features with the
   incremental reward; ``numpy`` = the vectorised features (what runs without numba);
   ``compiled`` = the numba kernel (furnsim/env/_kernels.py) — and JSSEnv on ta01 with random
   legal actions (``pip install --no-deps --target DIR jssenv==1.1.0`` and DIR on
   ``PYTHONPATH``, see benchmarks/README.md). The settings take turns, ``--rounds`` times, so
   a busy machine slows all of them alike; the table gives median and min–max.
2. **Greedy PPO pass** of the shipped ``speed`` policy on a generated 500-job / 150-machine
   week (``benchmarks/rl_eval.py``'s generator), best of ``--passes`` per implementation.
3. **MaskablePPO training incl. updates** (``benchmarks/rl_throughput.py``'s ``measure``, same
   hyperparameters): JSSEnv ta01 vs furnsim demo weeks with the before and the compiled
   features, ``--ppo-seconds`` each (0 skips).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # tests/_ref_features.py: the "before" features
TA01 = HERE.parent.parent / "shared" / "benchmarks" / "jsp" / "ta01.txt"

SETTINGS = ("before", "round 1", "numpy", "compiled")
LABELS = {
    "before": "before: reference features, reward recomputed (issue start)",
    "round 1": "round 1: reference features, incremental reward",
    "numpy": "after, no numba: vectorised numpy features, incremental reward",
    "compiled": "after: compiled features (numba), incremental reward",
}


@contextlib.contextmanager
def features(mode: str) -> Iterator[None]:
    """Swap the observation's feature implementation for ``mode`` (restored afterwards)."""
    import furnsim.env.observations as obs
    from tests import _ref_features as ref

    saved = obs.candidate_features, obs.HAVE_NUMBA
    try:
        if mode in ("before", "round 1"):

            def before(sim, d, static=None, kit=False, working_time=False, **_kw):  # type: ignore[no-untyped-def]
                f, c = ref.candidate_features(sim, d, static, kit)
                if working_time:  # the working-time block came after the reference round
                    from furnsim.env.working_time import candidate_working_time_block

                    wt = candidate_working_time_block(sim, d, sim.state.static.P)
                    f = np.concatenate([f, wt], axis=1)
                return f, c

            obs.candidate_features = before  # type: ignore[assignment]
        elif mode == "numpy":
            obs.HAVE_NUMBA = False
        yield
    finally:
        obs.candidate_features, obs.HAVE_NUMBA = saved


def furnsim_rate(mode: str, goal: str, seconds: float, seed: int) -> float:
    from furnsim.env import FurnitureShopEnv
    from furnsim.env.rewards import CostReward

    with features(mode):
        env = FurnitureShopEnv(goal=goal, view="candidates", jobs=(60, 200))
        env.reward_fn = CostReward(goal, incremental=mode != "before")
        rng = np.random.default_rng(seed)
        n = 0
        t_step = 0.0
        w = 0
        while t_step < seconds:
            env.reset(seed=seed + w)  # the reset (reference rule plan) is not timed
            w += 1
            done = False
            while not done:
                a = int(rng.choice(np.flatnonzero(env.action_masks())))
                t0 = time.perf_counter()
                _, _, done, _, _ = env.step(a)
                t_step += time.perf_counter() - t0
                n += 1
    return n / t_step


def jssenv_rate(seconds: float, seed: int) -> float | None:
    try:
        from sim_speed import jssenv_runner

        ep = jssenv_runner(TA01)
    except Exception:  # noqa: BLE001 - JSSEnv is optional
        return None
    rng = np.random.default_rng(seed)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        d, _raw, _ = ep(rng)
        n += d
    return n / (time.perf_counter() - t0)


def greedy_pass(passes: int) -> dict[str, float]:
    import torch
    from rl_eval import generated_week

    from furnsim.rl.policy import load_planner

    torch.set_num_threads(1)
    inst = generated_week(500)
    planner = load_planner("speed")
    out = {}
    for mode in ("before", "numpy", "compiled"):
        with features(mode):
            ts = []
            for _ in range(passes):
                t0 = time.perf_counter()
                planner.plan(inst)
                ts.append(time.perf_counter() - t0)
        out[mode] = min(ts)
    out["ops"] = float(inst.compiled.n_ops)
    return out


def ppo_rows(seconds: float) -> list[dict]:
    from rl_throughput import _jssenv_gym, measure

    from furnsim.env import FurnitureShopEnv
    from furnsim.rl.net import CandidateExtractor, CandidatePolicy

    kw = {
        "features_extractor_class": CandidateExtractor,
        "features_extractor_kwargs": {"hidden": 64},
    }
    rows = []
    if TA01.exists():
        with contextlib.suppress(Exception):  # JSSEnv is optional
            rows.append(
                measure("JSSEnv ta01 (MLP 64-64)", _jssenv_gym(TA01), "MlpPolicy", {}, seconds)
            )
    for mode in ("before", "compiled"):
        with features(mode):
            rows.append(
                measure(
                    f"furnsim demo weeks 60–200 jobs, {mode} features",
                    lambda: FurnitureShopEnv(
                        "speed", "candidates", jobs=(60, 200), reward_scale="rule:ATCS"
                    ),
                    CandidatePolicy,
                    kw,
                    seconds,
                )
            )
    return rows


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--goal", default="speed")
    ap.add_argument("--passes", type=int, default=3, help="greedy passes per implementation")
    ap.add_argument("--ppo-seconds", type=float, default=40.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from furnsim.env._kernels import HAVE_NUMBA

    modes = [m for m in SETTINGS if m != "compiled" or HAVE_NUMBA]
    rows: dict[str, list[float]] = {m: [] for m in modes}
    jss: list[float] = []
    loads = []
    for m in modes:
        furnsim_rate(m, a.goal, 0.5, 99)  # warm up (imports, caches, the numba kernel)
    for r in range(a.rounds):
        loads.append(os.getloadavg()[0])
        for m in modes:
            rows[m].append(furnsim_rate(m, a.goal, a.seconds, r))
        x = jssenv_rate(a.seconds, r)
        if x is not None:
            jss.append(x)
    lines = [
        f"goal {a.goal}, {a.rounds} rounds × {a.seconds:g} s per setting, numba "
        f"{'on' if HAVE_NUMBA else 'missing'}, load average {min(loads):.1f}–{max(loads):.1f} "
        "(2 cores)",
        "",
        "| setting | decisions/s median | min–max | vs JSSEnv ta01 |",
        "|---|---:|---:|---:|",
    ]
    ref = float(np.median(jss)) if jss else None
    for m, v in rows.items():
        med = float(np.median(v))
        ratio = f"{med / ref:.2f}×" if ref else "n/a"
        lines.append(f"| {LABELS[m]} | {med:,.0f} | {min(v):,.0f}–{max(v):,.0f} | {ratio} |")
    if jss:
        lines.append(
            f"| JSSEnv ta01, random legal actions | {ref:,.0f} | {min(jss):,.0f}–{max(jss):,.0f} "
            "| 1.00× |"
        )
    if a.passes > 0:
        g = greedy_pass(a.passes)
        lines += [
            "",
            f"Greedy pass of the shipped speed policy, generated 500-job / 150-machine week "
            f"({g['ops']:.0f} operations), best of {a.passes}:",
            "",
            "| features | greedy pass (s) |",
            "|---|---:|",
        ]
        lines += [f"| {m} | {g[m]:.3f} |" for m in ("before", "numpy", "compiled") if m in g]
    if a.ppo_seconds > 0:
        pr = ppo_rows(a.ppo_seconds)
        base = next((r["steps_per_s"] for r in pr if r["setting"].startswith("JSSEnv")), None)
        base_ep = next((r["episodes_per_s"] for r in pr if r["setting"].startswith("JSSEnv")), None)
        lines += [
            "",
            f"MaskablePPO incl. updates, {a.ppo_seconds:g} s per setting (rl_throughput.py "
            f"hyperparameters), load average {os.getloadavg()[0]:.1f}:",
            "",
            "| setting | env steps/s | vs JSSEnv | episodes/s | steps per episode |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in pr:
            ratio = f"{r['steps_per_s'] / base:.2f}×" if base else "n/a"
            lines.append(
                f"| {r['setting']} | {r['steps_per_s']:.0f} | {ratio} | "
                f"{r['episodes_per_s']:.2f} | {r['steps_per_episode']:.0f} |"
            )
        if base_ep:
            lines.append(f"(JSSEnv episodes/s {base_ep:.2f})")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
