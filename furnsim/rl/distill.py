"""Distil a rule and a policy into one job-shop policy that sees the rule's pick.

The generic job-shop policy's greedy pass is only as good as its arg-max, and its sampled
passes are only as good as its distribution. A rule (LWKRMOD) has the better arg-max on
Taillard; the self-labeled policy has the better distribution. This fits a *student* scorer
that reads the rule's rank and pick (``teacher_features``, docs/rl.md) to the mixture

    target = (1 - eps) * one-hot(the rule's pick) + eps * softmax(guide logits / guide_tau)

over the student's candidate slots, at the states that sampling the mixture itself visits
(on-policy for the target; ``passes`` per training shop). With ``eps < 0.5`` the target's
arg-max is the rule's pick, so a student that fits it plans greedily as the rule does, and
samples (at its temperature) like the rule perturbed by the guide's preferences.

Validation (shops seeded ``valid_seed + i``, never the training seeds) reports the student's
greedy pass and its best of ``valid_samples`` sampled passes, both over LWKRMOD, at each of
``temperatures``; the lowest best-of ratio picks the sidecar's ``plan_temperature``.

Run (niced, on a shared machine; the shipped ``ppo-jsp``, docs/rl.md Taillard section)::

    furnsim train --config configs/train/jsp-teacher.yaml --out runs/jsp-a
    git show 09e509d:furnsim/data/models/ppo-jsp.zip > runs/guide.zip   # (and its .json)
    python -m furnsim.rl.distill --student runs/jsp-a/ppo-jsp.zip --guide runs/guide.zip \\
        --out runs/jsp-f/ppo-jsp.zip --eps 0.2 --epochs 24
    python -m furnsim.rl.distill --tune runs/jsp-f/ppo-jsp.zip \\
        --temperatures 1,1.25,1.5,1.75,2 --valid 56 --valid-samples 128

The output is an SB3 zip planned from its weights alone, with the student's sidecar plus
``distill`` (settings, losses, validation) and the chosen ``plan_temperature``; ``--tune``
chooses that temperature again on its own validation shops (:func:`tune_temperature`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.model import Instance
from furnsim.rl.search_imitation import Examples
from furnsim.sim import Simulator

__all__ = ["distill", "main", "mixture_examples", "tune_temperature", "validate_samples"]

TRAIN_SEED = 2_100_000
VALID_SEED = 300_000


def mixture_examples(
    student: Any,
    guide: Any,
    rule: Any,
    instance: Instance,
    eps: float,
    guide_tau: float,
    rng: np.random.Generator,
) -> tuple[Examples, float]:
    """One pass over ``instance`` that draws each choice from the mixture target (module doc);
    at every decision with several candidates, the ``student``'s observation rows and the
    target over its slots (``Examples.soft``; ``action`` = the rule's slot). Returns the
    examples and the pass's makespan.

    ``student`` / ``guide``: :class:`~furnsim.rl.policy.PolicyPlanner`s of the candidates
    view; the student must keep the rule's pick among its slots (``teacher_features`` of the
    same rule does). Guide probability on jobs the student cut from its slots is dropped and
    the target renormalised."""
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must be in [0, 1], not {eps}")
    if guide_tau <= 0:
        raise ValueError(f"guide_tau must be > 0, not {guide_tau}")
    sim = Simulator(instance)
    student.obs_fn.reset(sim)
    guide.obs_fn.reset(sim)
    ex = Examples()
    d = sim.skip_singles()
    while d is not None:
        o = student.obs_fn(sim, d)
        slots = student.obs_fn.slots
        k = int(slots.size)
        j_rule = int(rule.choose(sim, d))
        hit = np.flatnonzero(slots == j_rule)
        if hit.size == 0:
            raise ValueError("the rule's pick is not among the student's slots")
        jobs, s = guide.scores(sim, d)
        z = np.exp((s - s.max()) / guide_tau)
        pos = {int(j): i for i, j in enumerate(slots)}
        p = np.zeros(k)
        for j, w in zip(jobs, z / z.sum(), strict=True):
            i = pos.get(int(j))
            if i is not None:
                p[i] += w
        p = eps * p / max(p.sum(), 1e-12)
        p[hit[0]] += 1.0 - eps
        p /= p.sum()
        ex.rows.append(np.asarray(o["candidates"][:k], np.float32).copy())
        ex.context.append(np.asarray(o["context"], np.float32).copy())
        ex.action.append(int(hit[0]))
        ex.soft[len(ex.action) - 1] = p.astype(np.float32)
        d = sim.dispatch(int(slots[rng.choice(k, p=p)]), skip_single=True)
    end = sim.schedule().times["end"]
    return ex, float(end.max()) if end.size else 0.0


def validate_samples(
    planner: Any,
    instances: list[Instance],
    reference: np.ndarray,
    samples: int,
    temperature: float,
    seed: int = 7,
) -> float:
    """Mean over ``instances`` of the best of ``samples`` sampled passes / ``reference``
    (seeds ``SeedSequence([seed, i])``)."""
    from furnsim.rl.self_label import best_of_samples

    return float(
        np.mean(
            [
                best_of_samples(planner, w, samples, temperature, [seed, i])[0] / reference[i]
                for i, w in enumerate(instances)
            ]
        )
    )


def distill(
    student_path: str | Path,
    guide_path: str | Path,
    out: str | Path,
    *,
    eps: float = 0.4,
    guide_tau: float = 1.0,
    instances: int = 64,
    passes: int = 2,
    sizes: str = "10-20x10-15,20-30x15-20,30-50x15-20,50-100x15-20",
    epochs: int = 8,
    lr: float = 1e-3,
    valid: int = 28,
    valid_sizes: str = "15x15,20x15,20x20,30x15,30x20,50x15,50x20",
    valid_samples: int = 32,
    temperatures: tuple[float, ...] = (0.5, 0.75, 1.0),
    train_seed: int = TRAIN_SEED,
    valid_seed: int = VALID_SEED,
    seed: int = 0,
    log: Any = print,
) -> dict[str, Any]:
    """Fit the student (a model you trust, with ``teacher_features``) to the mixture target on
    ``instances`` random job shops (``passes`` each), validate, and save to ``out`` with its
    sidecar. Returns the sidecar's ``distill`` record."""
    import torch

    from furnsim.rl.policy import PolicyPlanner, _load_model, _read_sidecar, load_planner
    from furnsim.rl.self_label import (
        _instances,
        fit_examples,
        makespan,
        parse_sizes,
        validate_greedy,
    )
    from furnsim.rules import get_rule

    if not temperatures or min(temperatures) <= 0:
        raise ValueError("temperatures: one or more values > 0")
    if instances < 1 or passes < 1:
        raise ValueError("instances and passes are >= 1")
    if train_seed <= valid_seed + valid and valid_seed <= train_seed + instances:
        raise ValueError("the validation seeds meet the training seeds; pick other seed bases")
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    src = Path(student_path)
    model = _load_model(src)
    meta = _read_sidecar(src)
    teacher = (meta.get("config") or {}).get("teacher_features")
    if not teacher:
        raise ValueError(
            f"{src.name} does not read a rule's pick (config.teacher_features); train it with "
            "configs/train/jsp-teacher.yaml or add the columns (self_label --add-teacher)"
        )
    rule = get_rule(teacher)
    guide = load_planner(path=guide_path)  # weights only: the guide is only asked for scores
    data = Examples()
    spans = []
    train = _instances(train_seed, instances, sizes=parse_sizes(sizes))
    student = PolicyPlanner(model, meta)
    for i, w in enumerate(train):
        rule_span = makespan(rule.plan(w)[0])
        for p in range(passes):
            rng = np.random.default_rng([seed, i, p])
            ex, c = mixture_examples(student, guide, rule, w, eps, guide_tau, rng)
            data.extend(ex)
            spans.append(c / rule_span)
    log(
        f"{len(data)} examples from {instances} shops x {passes} passes "
        f"(mixture pass / {rule.name} {np.mean(spans):.4f}) [{_min(t0):.1f} min]"
    )
    fit = fit_examples(model.policy.features_extractor, data, epochs=epochs, lr=lr, seed=seed)
    log(f"fit: CE {fit['loss_before']:.3f} -> {fit['loss']:.3f} (acc {fit['accuracy']:.3f})")
    val = _instances(valid_seed, valid, sizes=parse_sizes(valid_sizes))
    ref = np.array([makespan(rule.plan(w)[0]) for w in val])
    planner = PolicyPlanner(model, meta)
    greedy = validate_greedy(planner, val, ref)
    by_tau = {}
    for tau in temperatures:
        by_tau[float(tau)] = validate_samples(planner, val, ref, valid_samples, tau)
        log(f"validation, tau {tau}: best of {valid_samples} / {rule.name} {by_tau[tau]:.4f}")
    best_tau = min(by_tau, key=lambda t: by_tau[t])
    log(f"validation: greedy / {rule.name} {greedy:.4f}; plan temperature {best_tau}")
    record = {
        "student_model": src.name,
        "guide_model": Path(guide_path).name,
        "settings": {
            "eps": eps,
            "guide_tau": guide_tau,
            "instances": instances,
            "passes": passes,
            "sizes": sizes,
            "epochs": epochs,
            "lr": lr,
            "valid": valid,
            "valid_sizes": valid_sizes,
            "valid_samples": valid_samples,
            "temperatures": list(temperatures),
            "train_seed": train_seed,
            "valid_seed": valid_seed,
            "seed": seed,
        },
        "examples": len(data),
        "mixture_pass_over_rule": float(np.mean(spans)),
        **{k: round(v, 4) for k, v in fit.items()},
        "val_greedy_ratio": greedy,
        "val_best_of_samples_ratio": by_tau,
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }
    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(dest))
    side = dict(meta)
    side["plan_temperature"] = best_tau
    for key in ("taillard", "distill"):  # scores of the student model, not of this one
        if key in side:
            record[f"student_{key}"] = side.pop(key)
    side["distill"] = record
    dest.with_suffix(".json").write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")
    log(f"saved {dest}")
    return record


def tune_temperature(
    path: str | Path,
    temperatures: tuple[float, ...],
    *,
    valid: int = 56,
    valid_sizes: str = "15x15,20x15,20x20,30x15,30x20,50x15,50x20",
    samples: int = 128,
    valid_seed: int = VALID_SEED,
    seed: int = 11,
    log: Any = print,
) -> dict[str, Any]:
    """Pick the sampling temperature of the model at ``path`` on validation shops: the best of
    ``samples`` passes / LWKRMOD at each of ``temperatures``; the lowest mean ratio becomes the
    sidecar's ``plan_temperature`` (written in place, with the measurements under
    ``temperature_validation``). Returns that record."""
    from furnsim.rl.policy import load_planner
    from furnsim.rl.self_label import _instances, makespan, parse_sizes
    from furnsim.rules import get_rule

    if not temperatures or min(temperatures) <= 0:
        raise ValueError("temperatures: one or more values > 0")
    p = Path(path)
    planner = load_planner(path=p)
    val = _instances(valid_seed, valid, sizes=parse_sizes(valid_sizes))
    ref = np.array([makespan(get_rule("LWKRMOD").plan(w)[0]) for w in val])
    by_tau = {}
    for tau in temperatures:
        by_tau[float(tau)] = validate_samples(planner, val, ref, samples, tau, seed)
        log(f"tau {tau}: best of {samples} / LWKRMOD on {valid} shops {by_tau[float(tau)]:.4f}")
    best = min(by_tau, key=lambda t: by_tau[t])
    side_path = p.with_suffix(".json")
    side = json.loads(side_path.read_text(encoding="utf-8"))
    record = {
        "valid": valid,
        "valid_sizes": valid_sizes,
        "valid_seed": valid_seed,
        "samples": samples,
        "seed": seed,
        "best_of_samples_ratio": by_tau,
        "chosen": best,
    }
    side["plan_temperature"] = best
    side["temperature_validation"] = record
    side_path.write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")
    log(f"plan temperature {best} -> {side_path}")
    return record


def _min(t0: float) -> float:
    return round((time.perf_counter() - t0) / 60, 2)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--tune",
        metavar="MODEL",
        default=None,
        help="only pick MODEL's sampling temperature (best of --valid-samples passes on "
        "--valid shops at each of --temperatures) and write it to its sidecar",
    )
    ap.add_argument("--student", help="a model with teacher_features (trusted)")
    ap.add_argument("--guide", help="the policy whose distribution is mixed in")
    ap.add_argument("--out")
    ap.add_argument("--eps", type=float, default=0.4, help="the guide's share of the target")
    ap.add_argument("--guide-tau", type=float, default=1.0)
    ap.add_argument("--instances", type=int, default=64)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--sizes", default="10-20x10-15,20-30x15-20,30-50x15-20,50-100x15-20")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--valid", type=int, default=28)
    ap.add_argument("--valid-sizes", default="15x15,20x15,20x20,30x15,30x20,50x15,50x20")
    ap.add_argument("--valid-samples", type=int, default=32)
    ap.add_argument("--temperatures", default="0.5,0.75,1")
    ap.add_argument("--train-seed", type=int, default=TRAIN_SEED)
    ap.add_argument("--valid-seed", type=int, default=VALID_SEED)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    temps = tuple(float(t) for t in a.temperatures.split(","))
    if a.tune:
        tune_temperature(
            a.tune,
            temps,
            valid=a.valid,
            valid_sizes=a.valid_sizes,
            samples=a.valid_samples,
            valid_seed=a.valid_seed,
        )
        return
    if not (a.student and a.guide and a.out):
        ap.error("--student, --guide and --out are needed (or --tune MODEL)")
    distill(
        a.student,
        a.guide,
        a.out,
        eps=a.eps,
        guide_tau=a.guide_tau,
        instances=a.instances,
        passes=a.passes,
        sizes=a.sizes,
        epochs=a.epochs,
        lr=a.lr,
        valid=a.valid,
        valid_sizes=a.valid_sizes,
        valid_samples=a.valid_samples,
        temperatures=temps,
        train_seed=a.train_seed,
        valid_seed=a.valid_seed,
        seed=a.seed,
    )


if __name__ == "__main__":
    main()
