"""The one training entry point: ``furnsim train --config configs/train/speed.yaml``.

Experiments differ by config (:class:`TrainConfig`, loaded from YAML), not by copied scripts.
A run, for one goal:

1. **Teacher**: every deterministic dispatching rule plans the ``select_weeks`` weeks (seeds
   ``1000 + i``, never the held-out evaluation seeds); the rule with the lowest mean cost
   ratio is the *best single rule* for the goal (the baseline the policy must beat).
2. **Behaviour cloning** (``bc_weeks`` > 0, view ``candidates``): the shared candidate scorer
   imitates the teacher's choices on fresh weeks — a warm start at rule level.
3. **MaskablePPO** on :class:`~furnsim.env.FurnitureShopEnv` with the goal's telescoping
   reward (return = −cost / teacher cost), vectorized envs, seeds, checkpoints and evaluation
   on ``eval_weeks`` validation weeks (seeds ``2000 + i``) every ``eval_every`` steps; the
   best checkpoint (the BC one included) is kept. Stops at ``total_timesteps`` or
   ``max_minutes``.
4. The best model goes to ``<out>/ppo-<goal>.zip`` with a sidecar ``.json`` (config,
   timesteps, wall time, validation scores vs the rules, commit).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = ["TrainConfig", "TrainResult", "load_config", "main", "train"]

SELECT_SEED = 1000  # weeks for choosing the teacher / best single rule
VALID_SEED = 2000  # validation weeks for checkpoint selection
BC_SEED = 3000  # weeks for behaviour cloning
TRAIN_SEED = 4000  # offset of the environment seeds


@dataclass
class TrainConfig:
    """Typed training configuration; every field can be set in ``configs/train/*.yaml``."""

    goal: str = "speed"  # planning goal (configs/goals.yaml) whose cost the reward prices
    view: str = "candidates"  # env view: candidates (shared scorer) | rules (DFJSP) | jobs
    plant: str | None = None  # plant file; None = demo plant; "random-jsp" = random job shops
    train_jobs: list[int] = field(default_factory=lambda: [60, 250])  # week sizes drawn in training
    curriculum: list[list[int]] | None = None  # [[lo, hi], ...] size stages, equal shares
    eval_jobs: list[int] = field(
        default_factory=lambda: [100, 600]
    )  # week sizes of validation weeks
    total_timesteps: int = 60_000  # PPO environment steps (decisions) at most
    max_minutes: float = 25.0  # wall-clock budget for the whole run (teacher + BC + PPO)
    n_envs: int = 1  # parallel environments
    vec_env: str = "fast"  # fast (in-process, masks with the step) | dummy | subproc | ray
    seed: int = 0  # seeds torch, the envs' week draws and PPO
    learning_rate: float = 1e-4  # Adam step size of PPO
    n_steps: int = 1024  # steps per env per rollout
    batch_size: int = 256  # PPO minibatch
    n_epochs: int = 4  # PPO epochs per rollout
    gamma: float = 0.999  # discount (the cost telescopes exactly at 1.0)
    gae_lambda: float = 0.95  # GAE lambda
    clip_range: float = 0.1  # PPO clip
    ent_coef: float = 0.0  # entropy bonus
    hidden: int = 64  # width of the shared candidate MLP
    arch: str = "mlp"  # candidate scorer: mlp (independent rows) | attention (across candidates)
    attn_heads: int = 4  # heads of the self-attention layer (arch: attention)
    max_candidates: int = 64  # candidate slots (K) of the candidates view
    kit_features: bool = False  # append the 3 assembly kit features (a model reads 26, not 23)
    working_time_features: bool = False  # then 3 working-time features (calendars; + 3 inputs)
    teacher_features: str | None = None  # a rule name: then its rank and pick (+ 2 inputs)
    rules: list[str] | None = None  # rule set of the rules view (None = six composite rules)
    reward: str = "cost"  # cost (telescoping goal cost) | hierarchical (DFJSP)
    teacher: str = "auto"  # rule to imitate / reward scale; auto = best single rule
    select_weeks: int = 8  # weeks for choosing the best single rule
    bc_weeks: int = 12  # weeks of teacher decisions for behaviour cloning (0 = none)
    bc_epochs: int = 40  # passes over the cloning data
    bc_lr: float = 3e-3  # Adam step size for cloning
    bc_label_smoothing: float = 0.0  # > 0 keeps the cloned policy stochastic enough for PPO
    # learning from search (furnsim/rl/search_imitation.py), after cloning and before PPO
    search_rounds: int = 0  # expert-iteration rounds (0 = none)
    search_weeks: int = 16  # training weeks searched per round (seeds 6000 + 100 * round + i)
    search_jobs: list[int] | None = None  # their sizes [lo, hi] (None = train_jobs)
    search_samples: int = 4  # policy passes per week: greedy + (n - 1) sampled (plan_temperature)
    search_rules: bool = True  # every deterministic rule's plan is a candidate too
    search_noisy: int = 0  # eps-noisy passes of the week's best rule (eps 0.05)
    search_lns_iterations: int = 0  # lns neighbours from the best rule (0 = no lns)
    search_policy_noisy: int = 0  # eps-noisy passes (eps 0.05) of the scorer's greedy choice
    search_epochs: int = 20  # cross-entropy passes over all examples gathered, per round
    search_lr: float = 1e-3  # Adam step size of those passes
    search_label_smoothing: float = 0.0  # as bc_label_smoothing, for the search labels
    search_minutes: float | None = None  # wall budget of the rounds (counted from the run start)
    # price every plan (teacher choice, validation, the search's expert plans) released just
    # in time, as the planners return it for a goal that weighs buffer occupancy
    # (furnsim.solvers.release); the labels stay the plan's own machine sequences
    release_costs: bool = False
    eval_weeks: int = 6  # validation weeks for checkpoint selection
    eval_every: int = 8_192  # env steps between validations
    # where the best model + sidecar go (relative to the working directory; the shipped models
    # are package data in furnsim/data/models: run from the repo root to replace them)
    out: str = "furnsim/data/models"
    run_dir: str = "runs"  # checkpoints and TensorBoard logs (relative to the working directory)
    name: str | None = None  # model name; default ppo-<goal>
    progress_bar: bool = False  # SB3 progress bar (tqdm + rich; else a note)
    tensorboard: bool = True  # TensorBoard logs in <run_dir>/<name>/tb (skipped if not installed)
    plan_samples: int = 8  # plan: greedy + (k - 1) sampled passes, cheapest kept
    plan_temperature: float = 1.0  # softmax temperature of the sampled passes (if not tuned)
    tune_temperatures: list[float] | None = None  # pick the best on the validation weeks
    torch_threads: int = 1  # torch.set_num_threads for this run
    eval_workers: int = 1  # processes for the rule evaluations (selection / validation weeks)
    ray: str | None = None  # those and the rollouts (vec_env ray) on Ray: "auto" or an address
    ray_envs_per_actor: int = 1  # vec_env ray: environments per Ray actor (fewer calls)
    verbose: int = 1  # 0 = quiet


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` from YAML; unknown keys are an error."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    bad = sorted(set(data) - known)
    if bad:
        raise ValueError(f"{path}: unknown config keys {bad} (known: {sorted(known)})")
    return TrainConfig(**data)


@dataclass
class TrainResult:
    model_path: Path
    sidecar: dict[str, Any]


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _week_sizes(rng: np.random.Generator, n: int, lo_hi: list[int]) -> list[int]:
    return [int(x) for x in rng.integers(lo_hi[0], lo_hi[1] + 1, size=n)]


def _weeks(source: Any, base: int, n: int, lo_hi: list[int]) -> list[Any]:
    sizes = _week_sizes(np.random.default_rng(base), n, lo_hi)
    return [source.week(base + i, sizes[i]) for i in range(n)]


def schedule_cost(instance: Any, schedule: Any, goal: str, release: bool = False) -> float:
    """The goal's cost of a complete plan; with ``release``, of the plan released just in
    time where that is cheaper (what ``ppo`` and ``lns`` return for a goal that weighs buffer
    occupancy)."""
    from furnsim.goals import cost

    c = float(cost(schedule, goal, instance))
    if release:
        from furnsim.solvers.release import release_if_cheaper

        r = release_if_cheaper(instance, schedule, goal, plain_cost=c)
        if r is not None:
            c = r[1]
    return c


def plan_cost(instance: Any, schedule: Any, sim: Any, goal: str, release: bool = False) -> float:
    """:func:`schedule_cost` of a finished pass (inf = deadlock)."""
    return (
        math.inf if sim.deadlock is not None else schedule_cost(instance, schedule, goal, release)
    )


def _rule_cost_task(name: str, weeks: list[Any], goal: str, release: bool = False) -> list[float]:
    """One rule's cost on every week (inf = deadlock); a worker process / Ray task."""
    from furnsim.rules import get_rule

    r = get_rule(name)
    out = []
    for w in weeks:
        s, sim = r.plan(w)
        out.append(plan_cost(w, s, sim, goal, release))
    return out


def rule_costs(
    weeks: list[Any],
    goal: str,
    rules: list[str] | None = None,
    *,
    workers: int = 1,
    ray: str | None = None,
    release: bool = False,
) -> dict[str, list[float]]:
    """Cost of every deterministic rule on every week (inf = deadlock), one rule per task on
    ``workers`` local processes or Ray (``ray="auto"`` or an address); the same numbers for
    any of them. ``release``: priced released (:func:`plan_cost`)."""
    from furnsim.planners.parallel import map_tasks
    from furnsim.rules import rule_names

    names = list(rules or rule_names(True))
    tasks = [(n, weeks, goal, release) for n in names]
    res, _ = map_tasks(_rule_cost_task, tasks, workers=workers, ray=ray)
    return dict(zip(names, res, strict=True))


def best_single_rule(costs: dict[str, list[float]]) -> str:
    """The rule with the lowest mean cost ratio to the per-week best rule."""
    arr = np.array(list(costs.values()))  # (rules, weeks)
    best = np.min(arr, axis=0)
    ratio = np.mean(arr / best, axis=1)
    return list(costs)[int(np.argmin(ratio))]


def planner_costs(planner: Any, weeks: list[Any], goal: str, release: bool = False) -> list[float]:
    """The greedy pass's cost on every week (:func:`plan_cost`)."""
    out = []
    for w in weeks:
        s, sim = planner.plan(w)
        out.append(plan_cost(w, s, sim, goal, release))
    return out


def _behaviour_cloning(
    model: Any, cfg: TrainConfig, source: Any, teacher: str, log: Any
) -> dict[str, float]:
    """Fit the candidate scorer to the teacher's choices (cross-entropy over the masked slots)."""
    import torch

    from furnsim.env.observations import CandidateObservation
    from furnsim.rules import get_rule
    from furnsim.sim import Simulator

    rule = get_rule(teacher)
    obs_fn = CandidateObservation(
        cfg.max_candidates,
        kit_features=cfg.kit_features,
        working_time=cfg.working_time_features,
        teacher=cfg.teacher_features,
    )
    xs: dict[str, list[np.ndarray]] = {"candidates": [], "context": [], "mask": []}
    acts: list[int] = []
    for w in _weeks(source, BC_SEED, cfg.bc_weeks, cfg.train_jobs):
        sim = Simulator(w)
        obs_fn.reset(sim)
        d = sim.decision()
        while d is not None:
            j = rule.choose(sim, d)
            if d.candidates.size > 1:
                o = obs_fn(sim, d)
                hit = np.flatnonzero(obs_fn.slots == j)
                if hit.size:
                    for k in xs:
                        xs[k].append(o[k])
                    acts.append(int(hit[0]))
            d = sim.dispatch(j)
    policy = model.policy
    data = {k: torch.as_tensor(np.stack(v)) for k, v in xs.items()}
    a = torch.as_tensor(np.array(acts))
    n = a.shape[0]
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.bc_lr)
    g = torch.Generator().manual_seed(cfg.seed)
    acc = 0.0
    for _epoch in range(cfg.bc_epochs):
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, 512):
            idx = perm[i : i + 512]
            batch = {k: v[idx] for k, v in data.items()}
            logits = policy.features_extractor.scores(batch)
            logits = logits.masked_fill(batch["mask"] <= 0, -1e8)
            # cross-entropy; label smoothing spreads eps over the legal slots only
            eps = cfg.bc_label_smoothing
            legal = (batch["mask"] > 0).float()
            target = (1 - eps) * torch.nn.functional.one_hot(a[idx], logits.shape[1]).float()
            target = target + eps * legal / legal.sum(1, keepdim=True).clamp(min=1.0)
            loss = -(target * torch.log_softmax(logits, -1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        logits = policy.features_extractor.scores(data).masked_fill(data["mask"] <= 0, -1e8)
        acc = float((logits.argmax(-1) == a).float().mean())
    log(f"behaviour cloning on {n} decisions of {teacher}: accuracy {acc:.3f}")
    return {"bc_samples": n, "bc_accuracy": acc}


def tune_sampling(
    planner: Any,
    weeks: list[Any],
    goal: str,
    samples: int,
    temperatures: list[float],
    reference: np.ndarray,
    log: Any = print,
    release: bool = False,
) -> tuple[float, dict[str, float]]:
    """The sampling temperature with the lowest mean cost ratio (to ``reference``) on ``weeks``.

    Same seeds for every temperature, no time budget (deterministic); validation weeks only.
    ``release``: the kept pass priced released (:func:`plan_cost`), as ``ppo`` returns it.
    """
    scores: dict[str, float] = {}
    for tau in temperatures:
        cs = []
        for w in weeks:
            s, sim, _ = planner.plan_best(w, goal, samples=samples, temperature=tau, seed=0)
            cs.append(plan_cost(w, s, sim, goal, release))
        scores[str(tau)] = float(np.mean(np.array(cs) / reference))
        log(f"sampling {samples} passes at temperature {tau}: mean ratio {scores[str(tau)]:.4f}")
    best = min(temperatures, key=lambda t: scores[str(t)])
    return float(best), scores


def _make_env(cfg: TrainConfig, goal: str, scale: str, rank: int) -> Any:
    def thunk() -> Any:
        from stable_baselines3.common.monitor import Monitor

        from furnsim.env import FurnitureShopEnv

        env = FurnitureShopEnv(
            goal,
            cfg.view,
            plant=cfg.plant,
            jobs=tuple(cfg.train_jobs),
            reward=cfg.reward,
            reward_scale=scale,
            max_candidates=cfg.max_candidates,
            rules=cfg.rules,
            kit_features=cfg.kit_features,
            working_time_features=cfg.working_time_features,
            teacher_features=cfg.teacher_features,
        )
        env.reset(seed=cfg.seed * 1000 + TRAIN_SEED + rank)
        return Monitor(env)

    return thunk


def train(cfg: TrainConfig) -> TrainResult:
    """Run one training configuration end to end; returns where the model went."""
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback

    from furnsim.env import make_source
    from furnsim.goals import get_goal
    from furnsim.rl.policy import PolicyPlanner

    t_start = time.perf_counter()
    torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    goal = get_goal(cfg.goal).name
    name = cfg.name or f"ppo-{goal}"
    run_dir = Path(cfg.run_dir) / name
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    out_dir = Path(cfg.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if cfg.verbose:
            print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", flush=True)

    source = make_source(cfg.plant, (cfg.train_jobs[0], cfg.train_jobs[1]))
    # 1. teacher = best single rule on the selection weeks
    sel = _weeks(source, SELECT_SEED, cfg.select_weeks, cfg.eval_jobs)
    rel = bool(cfg.release_costs)
    sel_costs = rule_costs(sel, goal, workers=cfg.eval_workers, ray=cfg.ray, release=rel)
    teacher = best_single_rule(sel_costs) if cfg.teacher == "auto" else cfg.teacher.upper()
    log(f"best single rule for {goal} on {len(sel)} selection weeks: {teacher}")
    val = _weeks(source, VALID_SEED, cfg.eval_weeks, cfg.eval_jobs)
    val_rules = rule_costs(val, goal, workers=cfg.eval_workers, ray=cfg.ray, release=rel)
    val_teacher = np.array(val_rules[teacher])

    # 2. model (+ behaviour cloning)
    from furnsim.rl.ray_vec_env import make_vec_env

    envs = [_make_env(cfg, goal, f"rule:{teacher}", i) for i in range(cfg.n_envs)]
    kind = "ray" if cfg.ray else cfg.vec_env  # --ray: the rollouts in Ray actors too
    venv = make_vec_env(kind, envs, ray=cfg.ray, envs_per_actor=cfg.ray_envs_per_actor)
    tb = None
    if cfg.tensorboard:
        try:
            import tensorboard  # noqa: F401

            tb = str(run_dir / "tb")
        except ImportError:
            log("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
    progress_bar = cfg.progress_bar
    if progress_bar:
        try:
            import rich  # noqa: F401
            import tqdm  # noqa: F401
        except ImportError:
            progress_bar = False
            log("progress_bar needs tqdm and rich: running without it (pip install tqdm rich)")
    policy: Any = "MultiInputPolicy"
    policy_kwargs: dict[str, Any] = {}
    if cfg.view == "candidates":
        from furnsim.rl.net import CandidateExtractor, CandidatePolicy

        policy = CandidatePolicy
        policy_kwargs = {
            "features_extractor_class": CandidateExtractor,
            "features_extractor_kwargs": {
                "hidden": cfg.hidden,
                **({"arch": "attention", "heads": cfg.attn_heads} if cfg.arch != "mlp" else {}),
            },
        }
    elif cfg.view == "rules":
        policy = "MlpPolicy"
        policy_kwargs = {"net_arch": [cfg.hidden, cfg.hidden]}
    model = MaskablePPO(
        policy,
        venv,
        learning_rate=cfg.learning_rate,
        n_steps=cfg.n_steps,
        batch_size=cfg.batch_size,
        n_epochs=cfg.n_epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_range,
        ent_coef=cfg.ent_coef,
        seed=cfg.seed,
        policy_kwargs=policy_kwargs,
        tensorboard_log=tb,
        device="cpu",
        verbose=0,
    )
    bc_info: dict[str, Any] = {}
    if cfg.view == "candidates" and cfg.bc_weeks > 0:
        bc_info = _behaviour_cloning(model, cfg, source, teacher, log)

    meta_base = {
        "goal": goal,
        "view": cfg.view,
        "config": asdict(cfg),
        "teacher": teacher,
        "plan_samples": cfg.plan_samples,
        "plan_temperature": cfg.plan_temperature,
    }
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"ratio": math.inf}

    def validate(steps: int, tag: str = "") -> float:
        planner = PolicyPlanner(model, meta_base)
        cs = np.array(planner_costs(planner, val, goal, rel))
        ratio = float(np.mean(cs / val_teacher)) if np.all(np.isfinite(cs)) else math.inf
        rec: dict[str, Any] = {
            "steps": steps,
            "minutes": round((time.perf_counter() - t_start) / 60, 2),
            "ratio_to_teacher": ratio,
        }
        if tag:
            rec["stage"] = tag
        history.append(rec)
        suffix = f"_{tag.replace(' ', '_').replace('(', '').replace(')', '')}" if tag else ""
        ck = run_dir / "checkpoints" / f"step_{steps:08d}{suffix}.zip"
        model.save(str(ck))
        if ratio < best["ratio"]:
            best.update(ratio=ratio, steps=steps, path=ck, costs=cs.tolist(), stage=tag or "ppo")
        log(
            f"validation at {steps} steps{f' ({tag})' if tag else ''}: mean cost ratio to "
            f"{teacher} = {ratio:.4f} (best {best['ratio']:.4f})"
        )
        return ratio

    search_info: dict[str, Any] = {}
    if cfg.view == "candidates" and cfg.search_rounds > 0:
        from furnsim.rl.search_imitation import search_imitation

        search_info = search_imitation(
            model, cfg, source, goal, lambda tag: validate(0, tag), log, t_start
        )
    validate(0)

    stages = [list(map(int, x)) for x in (cfg.curriculum or [])]
    t_learn = time.perf_counter()

    class _Cb(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval = cfg.eval_every
            self.stage = -1

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_eval:
                self.next_eval += cfg.eval_every
                validate(self.num_timesteps)
            if stages:
                # equal shares of the remaining budget (steps or minutes, whichever binds first)
                left_min = max(cfg.max_minutes - (t_learn - t_start) / 60, 1e-9)
                frac = max(
                    self.num_timesteps / max(cfg.total_timesteps, 1),
                    (time.perf_counter() - t_learn) / 60 / left_min,
                )
                st = min(int(frac * len(stages)), len(stages) - 1)
                if st != self.stage:
                    self.stage = st
                    self.training_env.env_method("set_jobs", *stages[st])
                    log(f"curriculum stage {st + 1}/{len(stages)}: weeks of {stages[st]} jobs")
            return (time.perf_counter() - t_start) / 60 < cfg.max_minutes

    t_ppo = time.perf_counter()
    if cfg.total_timesteps > 0:
        model.learn(
            cfg.total_timesteps, callback=_Cb(), progress_bar=progress_bar, tb_log_name="ppo"
        )
    ppo_s = time.perf_counter() - t_ppo
    steps = int(model.num_timesteps)
    if not history or history[-1]["steps"] != steps:
        validate(steps)
    venv.close()

    # 4. ship the best checkpoint
    from sb3_contrib import MaskablePPO as _M

    import furnsim.rl.net  # noqa: F401

    best_model = _M.load(str(best["path"]), device="cpu")
    dest = out_dir / f"{name}.zip"
    best_model.save(str(dest))
    sampling: dict[str, Any] = {}
    if cfg.tune_temperatures and cfg.plan_samples > 1 and cfg.view == "candidates":
        tau, scores = tune_sampling(
            PolicyPlanner(best_model, meta_base),
            val,
            goal,
            cfg.plan_samples,
            list(cfg.tune_temperatures),
            val_teacher,
            log,
            release=rel,
        )
        meta_base["plan_temperature"] = tau
        sampling = {
            "sampling_validation": {"samples": cfg.plan_samples, "ratio_by_temperature": scores}
        }
    wall = time.perf_counter() - t_start
    side = {
        **meta_base,
        "timesteps": int(best["steps"]),
        "timesteps_run": steps,
        "wall_time_s": round(wall, 1),
        "ppo_steps_per_s": round(steps / ppo_s, 1) if ppo_s > 0 else None,
        "commit": _commit(),
        "torch_threads": cfg.torch_threads,
        **bc_info,
        **search_info,
        "kept_stage": best.get("stage"),
        **sampling,
        "validation": {
            "weeks": [
                {"seed": VALID_SEED + i, "jobs": int(w.compiled.n_jobs)} for i, w in enumerate(val)
            ],
            "policy_costs": best["costs"],
            "ratio_to_teacher": best["ratio"],
            "rule_mean_ratio_to_teacher": {
                k: float(np.mean(np.array(v) / val_teacher)) for k, v in val_rules.items()
            },
        },
        "history": history,
    }
    dest.with_suffix(".json").write_text(
        json.dumps(side, indent=2, default=str) + "\n", encoding="utf-8"
    )
    log(
        f"saved {dest} (best at {best['steps']} steps, ratio {best['ratio']:.4f}); {wall / 60:.1f} min"
    )
    return TrainResult(dest, side)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Train a furnsim dispatching policy (MaskablePPO).")
    p.add_argument("--config", required=True, help="YAML file with TrainConfig fields")
    p.add_argument("--total-timesteps", type=int, default=None)
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--workers", type=int, default=None, help="processes for rule evaluations")
    p.add_argument("--ray", default=None, help="rollouts + rule evaluations on Ray: auto|ADDRESS")
    p.add_argument(
        "--tune-sampling-only",
        action="store_true",
        help="only (re)choose the plan-time sampling temperature of the saved model",
    )
    a = p.parse_args(argv)
    cfg = load_config(
        a.config,
        total_timesteps=a.total_timesteps,
        max_minutes=a.max_minutes,
        out=a.out,
        seed=a.seed,
        eval_workers=a.workers,
        ray=a.ray,
    )
    if a.tune_sampling_only:
        retune_sampling(cfg)
        return
    train(cfg)


def retune_sampling(cfg: TrainConfig) -> dict[str, Any]:
    """Choose ``plan_temperature`` of the saved ``<out>/<name>.zip`` on the validation weeks
    (as :func:`train` does at its end) and update its sidecar."""
    import torch

    from furnsim.env import make_source
    from furnsim.goals import get_goal
    from furnsim.rl.policy import PolicyPlanner, _load_model

    torch.set_num_threads(cfg.torch_threads)
    goal = get_goal(cfg.goal).name
    dest = Path(cfg.out) / f"{cfg.name or f'ppo-{goal}'}.zip"
    side = json.loads(dest.with_suffix(".json").read_text(encoding="utf-8"))
    source = make_source(cfg.plant, (cfg.train_jobs[0], cfg.train_jobs[1]))
    val = _weeks(source, VALID_SEED, cfg.eval_weeks, cfg.eval_jobs)
    rel = bool(cfg.release_costs)
    ref = np.array(rule_costs(val, goal, [side["teacher"]], release=rel)[side["teacher"]])
    t0 = time.perf_counter()
    tau, scores = tune_sampling(
        PolicyPlanner(_load_model(dest), side),
        val,
        goal,
        cfg.plan_samples,
        list(cfg.tune_temperatures or [cfg.plan_temperature]),
        ref,
        release=rel,
    )
    side.update(
        plan_samples=cfg.plan_samples,
        plan_temperature=tau,
        sampling_validation={
            "samples": cfg.plan_samples,
            "ratio_by_temperature": scores,
            "weeks": cfg.eval_weeks,
            "tuned_after_training_s": round(time.perf_counter() - t0, 1),
        },
    )
    dest.with_suffix(".json").write_text(
        json.dumps(side, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return side


if __name__ == "__main__":
    main()
