"""Fast core (issue 14): every must-show ratio in ONE run, before vs after vs JSSEnv.

    nice python benchmarks/fastcore_bench.py --before-tree /tmp/base --rounds 3 --seconds 6 \
        --passes 3 --ppo-seconds 40
    python benchmarks/fastcore_bench.py --rounds 1 --seconds 2 --ppo-seconds 0   # quick look

``--before-tree DIR``: a checkout of the tree to compare with (``git archive <commit> | tar -x
-C DIR``); its settings run in subprocesses with ``DIR`` first on the path, taking turns with
this tree's and JSSEnv's, so a busy machine slows all of them alike.

1. **Environment decisions/s** — the candidates environment (all 23 features, goal reward) with
   random legal actions on demo weeks of 60–200 jobs: ``before`` (the other tree), ``numpy``
   (this tree without numba: the Python engine, numpy features), ``compiled`` (this tree with
   numba: the compiled event loop, feature kernel and reward step); and JSSEnv on ta01 with
   random legal actions (``pip install --no-deps --target DIR jssenv==1.1.0`` and DIR on
   ``PYTHONPATH``, see benchmarks/README.md). Two rates per setting: ``env.step`` only (the
   reset, which plans the week with the reference rule, not timed), and everything (resets
   and the random choice included, as JSSEnv's rate is; both pick a uniform legal action the
   same way, ``legal[rng.integers(legal.size)]``). ``--history`` adds the pre-issue
   features (tests/_ref_features.py) with the reward recomputed / incremental, on this tree.
2. **Greedy PPO pass** of the shipped ``speed`` policy on a generated 500-job / 150-machine
   week (``furnsim.benchmarks.generated_week``), best of ``--passes`` per tree (wall and CPU).
3. **MaskablePPO training incl. updates** (``benchmarks/rl_throughput.py``'s ``measure``, same
   hyperparameters, 2 in-process envs): JSSEnv ta01 vs furnsim demo weeks per tree,
   ``--ppo-seconds`` each (0 skips).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# tests/_ref_features.py (the pre-issue features); appended, so that the tree a child runs
# (first on PYTHONPATH) is the furnsim imported
sys.path.append(str(HERE.parent))
TA01 = HERE.parent.parent / "shared" / "benchmarks" / "jsp" / "ta01.txt"

HISTORY = {
    "before": "issue start: reference features, reward recomputed (this tree)",
    "round 1": "round 1: reference features, incremental reward (this tree)",
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
            obs.HAVE_NUMBA = False  # (not the compiled loop's in-place features either)
        elif mode == "numpy":
            obs.HAVE_NUMBA = False
        yield
    finally:
        obs.candidate_features, obs.HAVE_NUMBA = saved


def furnsim_rate(mode: str, goal: str, seconds: float, seed: int) -> tuple[float, float]:
    """(env.step decisions/s, decisions/s with resets and the random choice timed too)."""
    from furnsim.env import FurnitureShopEnv
    from furnsim.env.rewards import CostReward

    with features(mode):
        env = FurnitureShopEnv(goal=goal, view="candidates", jobs=(60, 200))
        if mode == "before":
            env.reward_fn = CostReward(goal, incremental=False)
        rng = np.random.default_rng(seed)
        n = 0
        t_step = 0.0
        w = 0
        t_all = time.perf_counter()
        while t_step < seconds:
            env.reset(seed=seed + w)  # the reset (reference rule plan) is not timed
            w += 1
            done = False
            while not done:
                legal = np.flatnonzero(env.action_masks())  # (JSSEnv's runner picks alike)
                a = int(legal[rng.integers(legal.size)])
                t0 = time.perf_counter()
                _, _, done, _, _ = env.step(a)
                t_step += time.perf_counter() - t0
                n += 1
        t_all = time.perf_counter() - t_all
    return n / t_step, n / t_all


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

    from furnsim.benchmarks import generated_week
    from furnsim.rl.policy import load_planner

    torch.set_num_threads(1)
    inst = generated_week(500)
    planner = load_planner("speed")
    planner.plan(inst)  # warm up (numba kernel, caches)
    wall, cpu = [], []
    for _ in range(passes):
        t0, c0 = time.perf_counter(), time.process_time()
        sched, _ = planner.plan(inst)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "wall": min(wall),
        "cpu": min(cpu),
        "ops": float(inst.compiled.n_ops),
        "makespan": float(sched.makespan),
    }


def ppo_row(which: str, seconds: float) -> dict | None:
    """``jssenv`` (SB3's DummyVecEnv, JSSEnv's stock use), ``jssenv-fast`` (JSSEnv through
    furnsim's generic FastVecEnv) or ``furnsim`` (the training default: FastVecEnv where the
    tree has it, DummyVecEnv in older trees)."""
    from rl_throughput import _jssenv_gym, measure

    if which.startswith("jssenv"):
        if not TA01.exists():
            return None
        vec = "fast" if which == "jssenv-fast" else "dummy"
        try:
            return measure(
                f"JSSEnv ta01 (MLP 64-64, {vec})", _jssenv_gym(TA01), "MlpPolicy", {}, seconds, vec
            )
        except Exception:  # noqa: BLE001 - JSSEnv is optional
            return None
    from furnsim.env import FurnitureShopEnv
    from furnsim.rl.net import CandidateExtractor, CandidatePolicy

    try:
        import furnsim.rl.fast_vec_env  # noqa: F401

        vec = "fast"
    except ImportError:  # a before-tree without it
        vec = "dummy"
    kw = {
        "features_extractor_class": CandidateExtractor,
        "features_extractor_kwargs": {"hidden": 64},
    }
    return measure(
        f"furnsim demo weeks 60–200 jobs ({vec})",
        lambda: FurnitureShopEnv("speed", "candidates", jobs=(60, 200), reward_scale="rule:ATCS"),
        CandidatePolicy,
        kw,
        seconds,
        vec,
    )


def child(a: argparse.Namespace) -> None:
    """One measurement in this process (the parent put the tree first on the path)."""
    import torch

    torch.set_num_threads(1)
    kind, _, mode = a.child.partition(":")
    if kind == "env":
        furnsim_rate(mode, a.goal, 0.5, 99)  # warm up (imports, caches, the numba kernel)
        out: object = furnsim_rate(mode, a.goal, a.seconds, a.seed)
    elif kind == "greedy":
        out = greedy_pass(a.passes)
    else:
        out = ppo_row(mode, a.ppo_seconds)
    print("RESULT " + json.dumps(out))


def run_child(tree: Path, spec: str, a: argparse.Namespace, seed: int = 0) -> object:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")])
    if spec == "env:numpy":
        env["FURNSIM_NO_NUMBA"] = "1"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", spec, "--goal", a.goal]
    cmd += ["--seconds", str(a.seconds), "--seed", str(seed), "--passes", str(a.passes)]
    cmd += ["--ppo-seconds", str(a.ppo_seconds)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{spec} in {tree} failed:\n{p.stderr[-3000:]}")
    return json.loads(line[7:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before-tree", default=None, help="checkout of the tree to compare with")
    ap.add_argument("--history", action="store_true", help="also the pre-issue features")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--goal", default="speed")
    ap.add_argument("--passes", type=int, default=3, help="greedy passes per tree")
    ap.add_argument("--ppo-seconds", type=float, default=40.0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rounds < 0:
        ap.error("--rounds must be 0 (no environment rounds) or more")
    if a.child:
        child(a)
        return
    here = HERE.parent
    before = Path(a.before_tree).resolve() if a.before_tree else None
    settings: list[tuple[str, Path, str]] = []
    if before is not None:
        settings.append(("before (the --before-tree)", before, "env:compiled"))
    if a.history:
        settings += [(HISTORY[m], here, f"env:{m}") for m in ("before", "round 1")]
    settings += [
        ("after, no numba: Python engine, vectorised numpy features", here, "env:numpy"),
        ("after: compiled event loop, features and reward step (numba)", here, "env:compiled"),
    ]
    step: dict[str, list[float]] = {s[0]: [] for s in settings}
    allr: dict[str, list[float]] = {s[0]: [] for s in settings}
    jss: list[float] = []
    loads = []
    for r in range(a.rounds):
        loads.append(os.getloadavg()[0])
        for label, tree, spec in settings:
            x = run_child(tree, spec, a, seed=r)
            assert isinstance(x, list)
            step[label].append(x[0])
            allr[label].append(x[1])
        y = jssenv_rate(a.seconds, r)
        if y is not None:
            jss.append(y)
    loads.append(os.getloadavg()[0])
    lines = (
        []
        if a.rounds == 0
        else [
            f"goal {a.goal}, {a.rounds} rounds × {a.seconds:g} s per setting, "
            f"load average {min(loads):.1f}–{max(loads):.1f} (2 cores)",
            "",
            "| setting | env.step decisions/s median (min–max) | vs JSSEnv | with resets | vs JSSEnv |",
            "|---|---:|---:|---:|---:|",
        ]
    )
    ref = float(np.median(jss)) if jss else None

    def ratio(x: float) -> str:
        return f"{x / ref:.2f}×" if ref else "n/a"

    for label, _, _ in settings if a.rounds else ():
        v, w = step[label], allr[label]
        med, medw = float(np.median(v)), float(np.median(w))
        lines.append(
            f"| {label} | {med:,.0f} ({min(v):,.0f}–{max(v):,.0f}) | {ratio(med)} | "
            f"{medw:,.0f} | {ratio(medw)} |"
        )
    if jss:
        lines.append(
            f"| JSSEnv ta01, random legal actions (resets included) | {ref:,.0f} "
            f"({min(jss):,.0f}–{max(jss):,.0f}) | 1.00× | | |"
        )
    trees = ([("before", before)] if before is not None else []) + [("after", here)]
    if a.passes > 0:
        lines += [
            "",
            f"Greedy pass of the shipped speed policy, generated 500-job / 150-machine week, best "
            f"of {a.passes} (load average {os.getloadavg()[0]:.1f}):",
            "",
            "| tree | operations | wall s | CPU s | makespan |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, tree in trees:
            g = run_child(tree, "greedy", a)
            assert isinstance(g, dict)
            lines.append(
                f"| {name} | {g['ops']:.0f} | {g['wall']:.3f} | {g['cpu']:.3f} | "
                f"{g['makespan']:,.1f} |"
            )
    if a.ppo_seconds > 0:
        rows = [("JSSEnv", here, "ppo:jssenv"), ("JSSEnv", here, "ppo:jssenv-fast")]
        rows += [(n, t, "ppo:furnsim") for n, t in trees]
        res = []
        for name, tree, spec in rows:
            x = run_child(tree, spec, a)
            if isinstance(x, dict):
                res.append((name, x))
        base = next((x["steps_per_s"] for n, x in res if n == "JSSEnv"), None)  # stock
        base_cpu = next((x.get("cpu_us_per_step") for n, x in res if n == "JSSEnv"), None)
        lines += [
            "",
            f"MaskablePPO incl. updates, {a.ppo_seconds:g} s per setting (rl_throughput.py "
            f"hyperparameters, 2 envs), load average {os.getloadavg()[0]:.1f}:",
            "",
            "| setting | env steps/s | vs JSSEnv (stock) | CPU µs per step | vs JSSEnv (CPU) "
            "| episodes/s | steps per episode |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, x in res:
            rt = f"{x['steps_per_s'] / base:.2f}×" if base else "n/a"
            cpu = x.get("cpu_us_per_step")
            rc = f"{base_cpu / cpu:.2f}×" if base_cpu and cpu else "n/a"
            cs = f"{cpu:.0f}" if cpu else "n/a"
            lines.append(
                f"| {name}: {x['setting']} | {x['steps_per_s']:.0f} | {rt} | {cs} | {rc} | "
                f"{x['episodes_per_s']:.2f} | {x['steps_per_episode']:.0f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
