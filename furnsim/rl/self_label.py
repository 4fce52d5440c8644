"""Self-labeling for the generic job-shop policy (Corsini et al. 2024, "Self-Labeling the Job
Shop Scheduling Problem"): the policy labels its own training data.

One round, for the current candidate scorer:

1. **Sample**: on each of ``instances`` random job shops (Taillard's recipe,
   :class:`~furnsim.env.weeks.RandomJobShopSource`; seeds ``TRAIN_SEED + 1000 * round + i``,
   never the validation seeds ``VALID_SEED + i`` nor the Taillard files) run ``samples``
   passes sampled from the policy at ``temperature`` (:func:`sampled_pass`, which records the
   job chosen at every decision with more than one candidate).
2. **Label**: the pass with the smallest makespan is the pseudo-label. Replaying its choices
   through the simulator (:func:`label_pass`) gives one example per decision: the observation
   the policy saw and the slot of the job the best pass chose (the simulator is deterministic,
   so the replay *is* that pass; ``tests/test_self_label.py`` checks the start times match).
3. **Fit**: cross-entropy over the legal slots on the examples of the last ``keep_rounds``
   rounds (:func:`fit_examples`), then the greedy policy is validated on random job shops of
   Taillard's sizes (mean makespan ratio to the rule LWKRMOD); the best validated round is kept (saved
   to ``out`` whenever it improves, so a stopped run leaves its best model).

Run (niced, on a shared machine)::

    python -m furnsim.rl.self_label --model furnsim/data/models/ppo-jsp.zip \\
        --out runs/jsp-sl/ppo-jsp.zip --minutes 35

``--sizes 10-20x10-15,50-100x15-20`` trains on several size classes (instance ``i`` of a
round from class ``i % n``), ``--valid-sizes`` likewise for the validation shops;
``--train-seed`` / ``--valid-seed`` move the seed bases (a run refuses bases whose seeds
meet); ``--add-attention 4`` first gives an ``mlp`` start model a zero-initialised
self-attention layer across the candidates (:func:`add_attention`: round 0 plans exactly as
the start model); ``--add-teacher LWKRMOD`` likewise gives it that rule's rank and pick as
two zero-weighted input columns (:func:`add_teacher`); ``--lns SECONDS`` also runs the optimizer (:func:`improve_by_lns`, the
``lns`` method for makespan from the best rule) on each training shop and labels from its
plan where that is shorter than the best sample (its plans are decoded by the simulator, so
:func:`follow_plan` replays them exactly as a sequence of choices); ``--rollout K`` labels
K decisions per shop on the greedy policy's own trajectory by one-step rollouts
(:func:`rollout_labels`: each other candidate dispatched instead, the greedy policy
completing the plan; ``--rollout-min-gain``, ``--rollout-tau``), and ``--samples 0`` makes
those the only labels. docs/rl.md (Taillard section) has the runs behind the shipped model.

The output is an SB3 zip (the same format ``furnsim train`` writes, planned from its
weights alone) with a sidecar: the start model's sidecar plus ``self_label`` (settings,
per-round history; the start model's own ``self_label`` and ``taillard`` records move into
it as ``start_self_label`` / ``start_taillard``). Judging it on Taillard is
``benchmarks/rl_jsp.py --model ...``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.model import Instance
from furnsim.rl.search_imitation import Examples
from furnsim.sim import Schedule, Simulator

__all__ = [
    "add_attention",
    "add_teacher",
    "TRAIN_SEED",
    "VALID_SEED",
    "Examples",
    "best_of_samples",
    "fit_examples",
    "follow_plan",
    "improve_by_lns",
    "label_pass",
    "parse_sizes",
    "rollout_labels",
    "sampled_pass",
    "self_label",
    "validate_greedy",
]

TRAIN_SEED = 70_000  # training instances: TRAIN_SEED + 1000 * round + i
VALID_SEED = 90_000  # validation instances: VALID_SEED + i


def makespan(schedule: Schedule) -> float:
    end = schedule.times["end"]
    return float(end.max()) if end.size else 0.0


def sampled_pass(
    planner: Any, instance: Instance, rng: np.random.Generator | None, temperature: float = 1.0
) -> tuple[Schedule, Simulator, list[int]]:
    """One pass of ``planner`` (a :class:`~furnsim.rl.policy.PolicyPlanner`), sampled with
    ``rng`` (None = greedy); also the job chosen at each decision with several candidates."""
    sim = Simulator(instance)
    planner.obs_fn.reset(sim)
    planner._rng, planner._temperature = rng, float(temperature)
    choices: list[int] = []
    try:
        d = sim.decision()
        while d is not None:
            j = planner.choose(sim, d)
            if d.candidates.size > 1:
                choices.append(int(j))
            d = sim.dispatch(j)
    finally:
        planner._rng = None
    return sim.schedule(method=planner.name), sim, choices


def best_of_samples(
    planner: Any, instance: Instance, samples: int, temperature: float, seed: Any
) -> tuple[float, list[int], list[float]]:
    """``samples`` sampled passes (child seeds of ``SeedSequence(seed)``): the best makespan,
    its choices (the first best on ties) and every pass's makespan."""
    best: tuple[float, list[int]] | None = None
    spans = []
    for child in np.random.SeedSequence(seed).spawn(int(samples)):
        s, sim, ch = sampled_pass(planner, instance, np.random.default_rng(child), temperature)
        c = math.inf if sim.deadlock is not None else makespan(s)
        spans.append(c)
        if best is None or c < best[0]:
            best = (c, ch)
    assert best is not None
    return best[0], best[1], spans


class _FollowPlan:
    """A chooser that replays ``schedule``: at every decision the candidate whose operation
    starts earliest in it (:func:`follow_plan`; the optimizer's start candidate when it
    searches from a given plan)."""

    def __init__(self, schedule: Schedule) -> None:
        self.start = np.asarray(schedule.times["start"], dtype=np.float64)

    def choose(self, sim: Simulator, d: Any) -> int:
        return int(d.candidates[int(np.argmin(self.start[d.ops]))])


def follow_plan(instance: Instance, schedule: Schedule) -> tuple[float, list[int]]:
    """Replay ``schedule`` in the (non-delay) simulator: at every decision the candidate whose
    operation starts earliest in ``schedule``. Returns the replay's makespan and the job chosen
    at each decision with several candidates (as :func:`sampled_pass`). A plan decoded by the
    simulator (a rule's, a policy pass, an LNS plan) replays exactly; a plan with inserted
    idle time (CP-SAT's) replays as its non-delay projection, which can be longer."""
    follow = _FollowPlan(schedule)
    sim = Simulator(instance)
    choices: list[int] = []
    d = sim.decision()
    while d is not None:
        j = follow.choose(sim, d)
        if d.candidates.size > 1:
            choices.append(j)
        d = sim.dispatch(j)
    if sim.deadlock is not None:
        return math.inf, choices
    return makespan(sim.schedule()), choices


def improve_by_lns(
    instance: Instance, seconds: float, seed: int = 0, start: Schedule | None = None
) -> tuple[float, list[int]]:
    """The optimizer's improvement as a label: ``seconds`` (CPU) of
    :func:`furnsim.solvers.lns.lns` for makespan (goal ``speed``), replayed by
    :func:`follow_plan`. It searches from the best dispatching rule, or from ``start`` (a
    simulator-decoded plan, e.g. the best sampled pass) where that is shorter, so that its
    improvements stay near the policy's own plans. Returns its makespan and choices."""
    from furnsim.solvers.lns import lns

    res = lns(
        instance,
        "speed",
        time_limit=float(seconds),
        clock="cpu",
        seed=seed,
        start_ppo=start is not None,
        policy=_FollowPlan(start) if start is not None else None,
    )
    return follow_plan(instance, res.schedule)


def label_pass(
    instance: Instance, choices: list[int], obs_fn: Any
) -> tuple[Examples, Schedule, Simulator]:
    """Replay ``choices`` (from :func:`sampled_pass`) and record, at each decision with several
    candidates, the observation and the slot of the chosen job."""
    sim = Simulator(instance)
    obs_fn.reset(sim)
    ex = Examples()
    n = 0
    d = sim.skip_singles()  # one-candidate decisions are taken by the engine
    while d is not None:
        o = obs_fn(sim, d)
        k = int(obs_fn.slots.size)
        slot = np.flatnonzero(obs_fn.slots == choices[n])
        if slot.size == 0:
            raise ValueError(f"choice {n} (job {choices[n]}) is not a candidate of the replay")
        ex.rows.append(np.asarray(o["candidates"][:k], np.float32).copy())
        ex.context.append(np.asarray(o["context"], np.float32).copy())
        ex.action.append(int(slot[0]))
        d = sim.dispatch(int(choices[n]), skip_single=True)
        n += 1
    if n != len(choices):
        raise ValueError(f"the replay took {n} of {len(choices)} choices")
    return ex, sim.schedule(), sim


def rollout_labels(
    planner: Any,
    instance: Instance,
    decisions: int,
    rng: np.random.Generator,
    min_gain: float = 0.0,
    tau: float = 0.0,
) -> tuple[Examples, dict[str, float]]:
    """Labels on the greedy policy's own trajectory from one-step rollouts (a rollout
    policy-improvement step, queried DAgger-style at the states the policy meets).

    The greedy pass of ``planner`` is replayed; at ``decisions`` of its decisions with several
    candidates (drawn by ``rng`` without replacement; all of them if there are fewer), every
    other candidate the scorer sees is dispatched instead and the greedy policy completes the
    plan from there (:meth:`Simulator.snapshot` / ``restore``: no replay of the prefix). The
    label is the candidate whose completion has the smallest makespan; the policy's own choice
    wins ties, so a label differs from it only where deviating at that one decision and then
    following the policy is strictly shorter, by more than ``min_gain`` (a fraction of the
    greedy makespan: small gains of a chaotic completion are kept as the policy's own choice).
    One example per queried decision; with ``tau > 0`` it also gets a soft target over all its
    candidates, softmax(-(makespan - shortest) / (tau * greedy makespan)) of their
    completions (``Examples.soft``; :func:`fit_examples` then fits that distribution, so a
    candidate that lengthens the plan is pushed down even where the best one is not learnt).
    ``info``: the greedy makespan, the queried decisions, how many labels differ from the
    policy's choice and the best one-step deviation's makespan over greedy."""
    g, _, choices = sampled_pass(planner, instance, None)
    g_span = makespan(g)
    n_dec = len(choices)
    pick = set(rng.choice(n_dec, size=min(int(decisions), n_dec), replace=False).tolist())
    obs_fn = planner.obs_fn
    sim = Simulator(instance)
    obs_fn.reset(sim)
    ex = Examples()
    changed, best_dev = 0, g_span
    d = sim.skip_singles()
    n = 0
    while d is not None:
        if n in pick:
            o = obs_fn(sim, d)
            k = int(obs_fn.slots.size)
            slots = obs_fn.slots[:k].copy()
            rows = np.asarray(o["candidates"][:k], np.float32).copy()
            ctx = np.asarray(o["context"], np.float32).copy()
            spans = np.full(k, g_span)  # greedy from here is the greedy plan
            snap = sim.snapshot(compiled=True)
            for s, j in enumerate(slots):
                if int(j) == int(choices[n]):
                    continue
                sim.restore(snap)
                dd = sim.dispatch(int(j), skip_single=True)
                while dd is not None:
                    dd = sim.dispatch(planner.choose(sim, dd), skip_single=True)
                spans[s] = math.inf if sim.deadlock is not None else makespan(sim.schedule())
            d = sim.restore(snap)
            own = int(np.flatnonzero(slots == choices[n])[0])
            others = np.where(np.arange(k) == own, math.inf, spans)
            alt = int(np.argmin(others))  # the first shortest deviation
            # the label moves only for a deviation shorter than greedy by more than min_gain
            slot = alt if others[alt] < g_span * (1.0 - float(min_gain)) else own
            label = int(slots[slot])
            best_dev = min(best_dev, float(others[alt]))
            if tau > 0:
                z = -(spans - spans.min()) / (float(tau) * g_span)
                p = np.exp(np.where(np.isfinite(z), z, -np.inf))
                ex.soft[len(ex)] = (p / p.sum()).astype(np.float32)
            changed += label != int(choices[n])
            ex.rows.append(rows)
            ex.context.append(ctx)
            ex.action.append(slot)
        d = sim.dispatch(int(choices[n]), skip_single=True)
        n += 1
    info = {
        "greedy": g_span,
        "queried": float(len(pick)),
        "changed": float(changed),
        "best_deviation_over_greedy": best_dev / g_span,
    }
    return ex, info


def fit_examples(
    extractor: Any, data: Examples, *, epochs: int, lr: float, batch_size: int = 256, seed: int = 0
) -> dict[str, float]:
    """Cross-entropy over the legal slots of ``extractor.scores`` (the candidate scorer of
    :class:`~furnsim.rl.net.CandidateExtractor`) on ``data`` (to the one-hot of each action,
    or to an example's soft target, ``Examples.soft``): loss before/after, accuracy (of the
    actions) after."""
    import torch

    n = len(data)
    if n == 0:
        return {"loss_before": math.nan, "loss": math.nan, "accuracy": math.nan}
    opt = torch.optim.Adam(extractor.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    sizes = np.array([r.shape[0] for r in data.rows])

    def loss_acc(idx: np.ndarray) -> tuple[Any, int]:
        obs, a = data.batch(idx)
        t = {k: torch.as_tensor(v) for k, v in obs.items()}
        lg = extractor.scores(t).masked_fill(t["mask"] <= 0, -1e9)
        at = torch.as_tensor(a)
        # soft targets where an example has them (else the one-hot of its action)
        target = torch.as_tensor(data.targets(idx, lg.shape[1])) if data.soft else at
        return torch.nn.functional.cross_entropy(lg, target, reduction="sum"), int(
            (lg.argmax(-1) == at).sum()
        )

    def evaluate() -> tuple[float, float]:
        tot, hits = 0.0, 0
        order = np.argsort(sizes, kind="stable")
        with torch.no_grad():
            for i in range(0, n, batch_size):
                lo, h = loss_acc(order[i : i + batch_size])
                tot += float(lo)
                hits += h
        return tot / n, hits / n

    before, _ = evaluate()
    for _ in range(int(epochs)):
        # batches of similar candidate counts pad less: sorted by size, shuffled batch order
        order = np.lexsort((rng.permutation(n), sizes))
        cuts = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        for b in rng.permutation(len(cuts)):
            lo, _ = loss_acc(cuts[b])
            opt.zero_grad()
            (lo / cuts[b].size).backward()
            opt.step()
    after, acc = evaluate()
    return {"loss_before": before, "loss": after, "accuracy": acc}


def validate_greedy(planner: Any, instances: list[Instance], reference: np.ndarray) -> float:
    """Mean ratio of the greedy policy's makespan to ``reference`` (one per instance)."""
    spans = []
    for w in instances:
        s, sim, _ = sampled_pass(planner, w, None)
        spans.append(math.inf if sim.deadlock is not None else makespan(s))
    return float(np.mean(np.array(spans) / reference))


Size = tuple[tuple[int, int], tuple[int, int]]  # ((jobs lo, hi), (machines lo, hi)), inclusive


def _instances(
    seed0: int,
    n: int,
    jobs: tuple[int, int] = (10, 20),
    machines: tuple[int, int] = (10, 15),
    sizes: list[Size] | None = None,
) -> list[Any]:
    """``n`` random job shops, seeds ``seed0 + i``; instance ``i`` drawn from the size class
    ``sizes[i % len(sizes)]`` (default: the one class ``(jobs, machines)``)."""
    from furnsim.env.weeks import RandomJobShopSource

    srcs = [RandomJobShopSource(jobs=j, machines=m) for j, m in (sizes or [(jobs, machines)])]
    return [srcs[i % len(srcs)].week(seed0 + i) for i in range(n)]


def parse_sizes(text: str) -> list[Size]:
    """``"15x15,30-50x15-20"`` -> ``[((15, 15), (15, 15)), ((30, 50), (15, 20))]``."""

    def rng(t: str) -> tuple[int, int]:
        lo, _, hi = t.partition("-")
        a, b = int(lo), int(hi or lo)
        if not 1 <= a <= b:
            raise ValueError(f"bad range {t!r}")
        return a, b

    out = []
    for part in text.split(","):
        j, sep, m = part.strip().lower().partition("x")
        if not sep:
            raise ValueError(f"a size is JOBSxMACHINES, not {part!r}")
        out.append((rng(j), rng(m)))
    return out


def self_label(
    model_path: str | Path,
    out: str | Path,
    *,
    rounds: int = 20,
    instances: int = 16,
    samples: int = 64,
    temperature: float = 1.0,
    epochs: int = 4,
    lr: float = 1e-4,
    keep_rounds: int = 1,
    jobs: tuple[int, int] = (10, 20),
    machines: tuple[int, int] = (10, 15),
    valid: int = 16,
    valid_jobs: tuple[int, int] = (15, 30),
    valid_machines: tuple[int, int] = (15, 20),
    sizes: list[Size] | None = None,
    valid_sizes: list[Size] | None = None,
    train_seed: int = TRAIN_SEED,
    valid_seed: int = VALID_SEED,
    attention_heads: int = 0,
    teacher: str | None = None,
    lns_seconds: float = 0.0,
    lns_from: str = "rule",
    rollout: int = 0,
    rollout_min_gain: float = 0.0,
    rollout_tau: float = 0.0,
    minutes: float | None = None,
    seed: int = 0,
    log: Any = print,
) -> dict[str, Any]:
    """Self-labeling rounds from the (trusted, your own or shipped) model at ``model_path``;
    the best validated weights (round 0 = the start model) are saved to ``out`` with a
    sidecar. Returns the ``self_label`` record of the sidecar.

    ``sizes`` / ``valid_sizes`` (size classes, instance ``i`` of a round from class
    ``i % len``) replace ``jobs``/``machines`` and ``valid_jobs``/``valid_machines``. Training
    shops are seeded ``train_seed + 1000 * round + i``, validation shops ``valid_seed + i``;
    the two seed sets must not meet (checked). ``attention_heads > 0`` first adds a
    zero-initialised self-attention layer to an ``mlp`` start model (:func:`add_attention`);
    ``teacher="LWKRMOD"`` first gives it that rule's rank and pick columns, zero-weighted
    (:func:`add_teacher`).
    ``lns_seconds > 0`` also runs the optimizer for that many CPU seconds on each training
    shop (:func:`improve_by_lns`); its plan is the label where it is shorter than the best
    sample (expert iteration with the optimizer's improvements); ``lns_from="sample"`` starts
    that search from the best sample's plan (where it beats the best rule) instead of the
    best rule's. ``rollout > 0`` adds labels on the greedy policy's own trajectory: at
    ``rollout`` of its decisions per shop, the candidate whose one-step deviation, completed
    by the greedy policy, is shortest (:func:`rollout_labels`, by more than
    ``rollout_min_gain``; with ``rollout_tau > 0`` fitted as soft targets over the candidates'
    completions); with ``samples=0`` those are the only labels."""
    import torch

    from furnsim.rl.policy import PolicyPlanner, _load_model, _read_sidecar
    from furnsim.rules import get_rule

    if lns_from not in ("rule", "sample"):
        raise ValueError(f"lns_from is 'rule' or 'sample', not {lns_from!r}")
    if samples < 0 or rollout < 0 or not (samples or rollout):
        raise ValueError("samples and rollout are >= 0 and not both 0 (a round needs labels)")
    if lns_seconds > 0 and samples == 0:
        raise ValueError("lns labels replace the best sample's: they need samples > 0")
    if not 0 < instances <= 1000:
        raise ValueError("instances per round must be in 1..1000 (the seeds of a round)")
    train_seeds = range(train_seed + 1000, train_seed + 1000 * (rounds + 1))
    if any(
        s in train_seeds and (s - train_seed) % 1000 < instances
        for s in range(valid_seed, valid_seed + valid)
    ):
        raise ValueError("the validation seeds meet the training seeds; pick other seed bases")
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    src = Path(model_path)
    model = _load_model(src)
    meta = _read_sidecar(src)
    if teacher:
        meta = add_teacher(model, meta, teacher)
    if attention_heads:
        meta = add_attention(model, meta, attention_heads)
    ext = model.policy.features_extractor
    val = _instances(valid_seed, valid, valid_jobs, valid_machines, valid_sizes)
    ref = np.array([makespan(get_rule("LWKRMOD").plan(w)[0]) for w in val])

    def snapshot() -> Any:
        return PolicyPlanner(model, meta)  # numpy copy of the current scorer

    best_ratio = validate_greedy(snapshot(), val, ref)
    best_round = 0
    history: list[dict[str, Any]] = [
        {"round": 0, "val_ratio_to_LWKRMOD": best_ratio, "minutes": _min(t0)}
    ]
    settings = {
        "instances": instances,
        "samples": samples,
        "temperature": temperature,
        "epochs": epochs,
        "lr": lr,
        "keep_rounds": keep_rounds,
        **(
            {"sizes": [[list(j), list(m)] for j, m in sizes]}
            if sizes
            else {"jobs": list(jobs), "machines": list(machines)}
        ),
        "valid": valid,
        **(
            {"valid_sizes": [[list(j), list(m)] for j, m in valid_sizes]}
            if valid_sizes
            else {"valid_jobs": list(valid_jobs), "valid_machines": list(valid_machines)}
        ),
        "train_seed": train_seed,
        "valid_seed": valid_seed,
        "seed": seed,
        **({"added_attention_heads": attention_heads} if attention_heads else {}),
        **({"added_teacher": meta["config"]["teacher_features"]} if teacher else {}),
        **({"lns_seconds": lns_seconds, "lns_from": lns_from} if lns_seconds else {}),
        **(
            {
                "rollout_decisions": rollout,
                "rollout_min_gain": rollout_min_gain,
                "rollout_tau": rollout_tau,
            }
            if rollout
            else {}
        ),
    }
    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)

    def save() -> dict[str, Any]:
        """The kept weights (the best validated round so far) to ``out`` with a sidecar;
        written after every improvement, so a stopped run leaves its best model behind."""
        record = {
            "start_model": src.name,
            "rounds_run": len(history) - 1,
            "best_round": best_round,
            "val_ratio_to_LWKRMOD": best_ratio,
            "settings": settings,
            "history": history,
            "wall_time_s": round(time.perf_counter() - t0, 1),
        }
        side = dict(meta)
        # the start model's own self-labeling and Taillard scores describe the start model:
        # kept, nested, as this run's history
        for key, new_key in (("self_label", "start_self_label"), ("taillard", "start_taillard")):
            if key in side:
                record[new_key] = side.pop(key)
        side["self_label"] = record
        dest.with_suffix(".json").write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")
        return record

    model.save(str(dest))
    save()
    log(f"round 0 (start): greedy / LWKRMOD on {valid} validation shops = {best_ratio:.4f}")
    recent: list[Examples] = []
    for r in range(1, rounds + 1):
        if minutes is not None and _min(t0) > minutes:
            log(f"time budget of {minutes} min reached before round {r}")
            break
        planner = snapshot()
        new = Examples()
        gains, label_gains, lns_used = [], [], 0
        queried, changed, devs = 0.0, 0.0, []
        for i, w in enumerate(_instances(train_seed + 1000 * r, instances, jobs, machines, sizes)):
            if rollout > 0:
                rng = np.random.default_rng([seed, r, i, 1])
                rex, info = rollout_labels(planner, w, rollout, rng, rollout_min_gain, rollout_tau)
                new.extend(rex)
                queried, changed = queried + info["queried"], changed + info["changed"]
                devs.append(info["best_deviation_over_greedy"])
            if samples == 0:
                continue
            g, _, _ = sampled_pass(planner, w, None)
            best, choices, _ = best_of_samples(planner, w, samples, temperature, [seed, r, i])
            gains.append(best / makespan(g))
            ex, base = None, None
            if lns_seconds > 0:
                if lns_from == "sample":  # the best sample's plan: the search's start
                    ex, base, _ = label_pass(w, choices, planner.obs_fn)
                c, ch = improve_by_lns(w, lns_seconds, seed * 1_000_000 + 1000 * r + i, base)
                if c < best:
                    best, choices, lns_used, ex = c, ch, lns_used + 1, None
            label_gains.append(best / makespan(g))
            if ex is None:
                ex, _, _ = label_pass(w, choices, planner.obs_fn)
            new.extend(ex)
        recent = [*recent, new][-max(int(keep_rounds), 1) :]
        data = Examples()
        for e in recent:  # the labels of the last ``keep_rounds`` rounds
            data.extend(e)
        fit = fit_examples(ext, data, epochs=epochs, lr=lr, seed=seed * 1000 + r)
        ratio = validate_greedy(snapshot(), val, ref)
        rec = {
            "round": r,
            "examples": len(data),
            **({"best_sample_over_greedy": float(np.mean(gains))} if samples else {}),
            **(
                {"label_over_greedy": float(np.mean(label_gains)), "lns_labels": lns_used}
                if lns_seconds > 0
                else {}
            ),
            **(
                {
                    "rollout_queried": int(queried),
                    "rollout_changed": int(changed),
                    "rollout_best_deviation_over_greedy": float(np.mean(devs)),
                }
                if rollout > 0
                else {}
            ),
            **{k: round(v, 4) for k, v in fit.items()},
            "val_ratio_to_LWKRMOD": ratio,
            "minutes": _min(t0),
        }
        history.append(rec)
        log(
            f"round {r}: {len(data)} examples"
            + (
                f", best of {samples} / greedy {rec['best_sample_over_greedy']:.4f}"
                if samples
                else ""
            )
            + (
                f", rollout labels {int(changed)} of {int(queried)} changed "
                f"(best deviation / greedy {rec['rollout_best_deviation_over_greedy']:.4f})"
                if rollout > 0
                else ""
            )
            + (
                f", label / greedy {rec['label_over_greedy']:.4f} ({lns_used} from the optimizer)"
                if lns_seconds > 0
                else ""
            )
            + f", CE {fit['loss_before']:.3f} -> "
            f"{fit['loss']:.3f} (acc {fit['accuracy']:.3f}), validation {ratio:.4f} "
            f"[{rec['minutes']:.1f} min]"
        )
        if ratio < best_ratio:
            best_ratio, best_round = ratio, r
            model.save(str(dest))
        save()
    record = save()
    log(f"kept round {best_round} (validation {best_ratio:.4f}) -> {dest}")
    return record


def add_attention(model: Any, meta: dict[str, Any], heads: int = 4) -> dict[str, Any]:
    """Give the ``mlp`` candidate scorer of ``model`` (a loaded MaskablePPO) one self-attention
    layer across the candidate rows (``arch="attention"`` of :class:`~furnsim.rl.net.
    CandidateExtractor`), with the residual's output projection zeroed: the scores are the
    start model's exactly until a fit moves them. In place; returns the sidecar for the new
    scorer (``config.arch`` / ``config.attn_heads``, which planning reads)."""
    import torch

    from furnsim.rl.net import CandidateExtractor

    pol = model.policy
    old = pol.features_extractor
    if getattr(old, "arch", "mlp") != "mlp":
        raise ValueError("the start model's scorer already has a self-attention layer")
    hidden = int(old.score.in_features)
    new = CandidateExtractor(model.observation_space, hidden=hidden, arch="attention", heads=heads)
    res = new.load_state_dict(old.state_dict(), strict=False)
    assert not res.unexpected_keys and all(k.startswith("attn.") for k in res.missing_keys)
    with torch.no_grad():
        new.attn.out_proj.weight.zero_()
        new.attn.out_proj.bias.zero_()
    pol.features_extractor = pol.pi_features_extractor = pol.vf_features_extractor = new
    kw = {**(pol.features_extractor_kwargs or {}), "arch": "attention", "heads": int(heads)}
    pol.features_extractor_kwargs = kw
    model.policy_kwargs = {**model.policy_kwargs, "features_extractor_kwargs": kw}
    pol._numpy = None  # the numpy rollout path serves the mlp scorer only
    lr = pol.optimizer.param_groups[0]["lr"]  # a fresh optimizer over the new parameters
    pol.optimizer = pol.optimizer_class(pol.parameters(), lr=lr, **pol.optimizer_kwargs)
    cfg = dict(meta.get("config", {}))
    cfg.update(arch="attention", attn_heads=int(heads))
    return {**meta, "config": cfg}


def add_teacher(model: Any, meta: dict[str, Any], rule: str = "LWKRMOD") -> dict[str, Any]:
    """Give the scorer of ``model`` (a loaded MaskablePPO) the 2 teacher columns of ``rule``
    (``TEACHER_FEATURES``: its rank and pick, appended to each candidate row), with zero
    weights: the scores are the start model's exactly until a fit moves them. In place;
    returns the sidecar for the new inputs (``config.teacher_features``, which planning
    reads)."""
    import torch
    from torch import nn

    from furnsim.env.observations import CONTEXT_FEATURES, TEACHER_FEATURES, CandidateObservation

    cfg = dict(meta.get("config", {}))
    if cfg.get("teacher_features"):
        raise ValueError(f"the start model already reads {cfg['teacher_features']}'s columns")
    obs = CandidateObservation(  # the new inputs' space; refuses RANDOM and unknown rules
        model.observation_space["candidates"].shape[0],
        kit_features=cfg.get("kit_features") is True,
        working_time=cfg.get("working_time_features") is True,
        teacher=rule,
    )
    pol = model.policy
    ext = pol.features_extractor
    old = ext.enc[0]
    n_row = old.in_features - len(CONTEXT_FEATURES)  # [rows | teacher | context]
    t = len(TEACHER_FEATURES)
    new = nn.Linear(old.in_features + t, old.out_features)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, :n_row] = old.weight[:, :n_row]
        new.weight[:, n_row + t :] = old.weight[:, n_row:]
        new.bias.copy_(old.bias)
    ext.enc[0] = new
    model.observation_space = pol.observation_space = ext._observation_space = obs.space
    pol._numpy = None  # the numpy rollout path is rebuilt from the new weights
    lr = pol.optimizer.param_groups[0]["lr"]  # a fresh optimizer over the new parameters
    pol.optimizer = pol.optimizer_class(pol.parameters(), lr=lr, **pol.optimizer_kwargs)
    cfg.update(teacher_features=obs.teacher)
    return {**meta, "config": cfg}


def _min(t0: float) -> float:
    return round((time.perf_counter() - t0) / 60, 2)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Self-labeling rounds for the generic job-shop policy")
    ap.add_argument("--model", required=True, help="start model (a zip you trust)")
    ap.add_argument("--out", required=True, help="where the kept model goes (.zip + .json)")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--instances", type=int, default=16, help="random job shops per round")
    ap.add_argument("--samples", type=int, default=64, help="sampled passes per job shop")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--keep-rounds", type=int, default=1, help="fit on the last K rounds' labels")
    ap.add_argument("--valid", type=int, default=16)
    ap.add_argument("--sizes", default=None, help="training size classes, e.g. 15x15,50-100x20")
    ap.add_argument("--valid-sizes", default=None, help="validation size classes (same form)")
    ap.add_argument("--train-seed", type=int, default=TRAIN_SEED)
    ap.add_argument("--valid-seed", type=int, default=VALID_SEED)
    ap.add_argument(
        "--add-attention",
        type=int,
        default=0,
        metavar="HEADS",
        help="add a zero-initialised self-attention layer (HEADS heads) to an mlp start model",
    )
    ap.add_argument(
        "--add-teacher",
        default=None,
        metavar="RULE",
        help="add RULE's rank and pick columns (zero-weighted) to the start model's inputs",
    )
    ap.add_argument(
        "--lns",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also label from the optimizer's plan (SECONDS of CPU per shop) where it is shorter",
    )
    ap.add_argument(
        "--lns-from",
        choices=("rule", "sample"),
        default="rule",
        help="the optimizer searches from the best rule's plan or the best sample's",
    )
    ap.add_argument(
        "--rollout",
        type=int,
        default=0,
        metavar="K",
        help="also label K decisions per shop on the greedy trajectory by one-step rollouts",
    )
    ap.add_argument(
        "--rollout-min-gain",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="a rollout label leaves the policy's choice only for a gain above this fraction",
    )
    ap.add_argument(
        "--rollout-tau",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="fit rollout labels as soft targets, softmax(-makespan / (FRACTION * greedy))",
    )
    ap.add_argument("--minutes", type=float, default=None, help="wall-clock budget")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    self_label(
        a.model,
        a.out,
        rounds=a.rounds,
        instances=a.instances,
        samples=a.samples,
        temperature=a.temperature,
        epochs=a.epochs,
        lr=a.lr,
        keep_rounds=a.keep_rounds,
        valid=a.valid,
        sizes=parse_sizes(a.sizes) if a.sizes else None,
        valid_sizes=parse_sizes(a.valid_sizes) if a.valid_sizes else None,
        train_seed=a.train_seed,
        valid_seed=a.valid_seed,
        attention_heads=a.add_attention,
        teacher=a.add_teacher,
        lns_seconds=a.lns,
        lns_from=a.lns_from,
        rollout=a.rollout,
        rollout_min_gain=a.rollout_min_gain,
        rollout_tau=a.rollout_tau,
        minutes=a.minutes,
        seed=a.seed,
    )


if __name__ == "__main__":
    main()
