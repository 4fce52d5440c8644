"""Learning from search: imitate the best plans found on training weeks (expert iteration).

One round, for the current candidate scorer:

1. **Search** (:func:`expert_plan`): on each of ``search_weeks`` training weeks (seeds
   ``SEARCH_SEED + 100 * round + i``; never the validation ``2000 + i`` or the held-out
   ``10000 + i`` weeks) collect plans — the scorer's greedy pass and passes sampled from it,
   every deterministic rule, ε-noisy passes of the week's best rule and the ``lns`` optimizer
   (:func:`furnsim.solvers.lns.lns`, a fixed number of neighbours, so a round is reproducible)
   — and keep the cheapest by the goal's cost.
2. **Label** (:func:`plan_labels`): replay that plan through the simulator. At each
   decision the deciding machine takes the next operation of its sequence in the plan (the
   plan's own order: operations on a machine ordered by their dispatch), so the replay *is*
   the plan; each decision with more than one candidate becomes an example (observation,
   slot of the plan's job). ``tests/test_search_imitation.py`` checks that following the
   labels reproduces the plan's start times exactly.
3. **Fit**: cross-entropy over the legal slots on all examples gathered so far (the data of
   every round is kept: aggregated as in DAgger; the states of later rounds come from plans
   that started at the improved policy), then validate greedily on the validation weeks.

The rounds run inside ``furnsim train`` (``search_rounds > 0``), after behaviour cloning and
before PPO; the best validated round's weights go into PPO (which keeps its own best
checkpoint, so the shipped model is never worse on validation than the imitation result).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from furnsim.model import Instance
from furnsim.sim import Schedule, Simulator

__all__ = [
    "SEARCH_SEED",
    "Examples",
    "ExpertPlan",
    "expert_plan",
    "fit_scorer",
    "follow_labels",
    "machine_sequences",
    "plan_labels",
    "search_imitation",
]

SEARCH_SEED = 6000  # training weeks searched by the rounds (6000 + 100 * round + i)


@dataclass
class Examples:
    """Imitation examples: one per decision with more than one candidate (ragged rows)."""

    rows: list[np.ndarray] = field(default_factory=list)  # each (k_i, F) float32: legal slots
    context: list[np.ndarray] = field(default_factory=list)  # each (C,) float32
    action: list[int] = field(default_factory=list)  # slot of the plan's job, < k_i
    unreachable: int = 0  # decisions whose job was cut from the K slots (no example)
    # example i -> a target distribution over its k_i slots, in place of action[i]'s one-hot
    soft: dict[int, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.action)

    def extend(self, other: Examples) -> None:
        n = len(self)
        self.soft.update({n + i: p for i, p in other.soft.items()})
        self.rows += other.rows
        self.context += other.context
        self.action += other.action
        self.unreachable += other.unreachable

    def targets(self, idx: np.ndarray, k: int) -> np.ndarray:
        """(B, k) target distributions of the examples ``idx``: the one-hot of the action, or
        the example's ``soft`` distribution (zero on padded slots)."""
        out = np.zeros((idx.size, k), np.float32)
        for b, i in enumerate(idx):
            p = self.soft.get(int(i))
            if p is None:
                out[b, self.action[i]] = 1.0
            else:
                out[b, : p.size] = p
        return out

    def batch(self, idx: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Zero-padded arrays of the examples ``idx``: candidates (B, k, F), context (B, C),
        mask (B, k), with k the largest row count among them; and the actions (B,)."""
        k = max(int(self.rows[i].shape[0]) for i in idx)
        f = self.rows[idx[0]].shape[1]
        cand = np.zeros((idx.size, k, f), np.float32)
        mask = np.zeros((idx.size, k), np.float32)
        for b, i in enumerate(idx):
            r = self.rows[i]
            cand[b, : r.shape[0]] = r
            mask[b, : r.shape[0]] = 1.0
        ctx = np.stack([self.context[i] for i in idx])
        return {"candidates": cand, "context": ctx, "mask": mask}, np.array(
            [self.action[i] for i in idx], dtype=np.int64
        )


def machine_sequences(schedule: Schedule) -> dict[int, list[int]]:
    """Each machine's operations in the order the plan dispatched them.

    A machine runs one operation at a time and is asked again only after the previous one
    ends, so sorting by (setup start, start, end) gives its dispatch order; equal keys (zero
    minutes of setup and processing) keep the lower operation first and are matched among
    the candidates by :func:`plan_labels`.
    """
    t = schedule.times
    om = np.asarray(schedule.op_machine)
    ops = np.flatnonzero(om >= 0)
    order = np.lexsort((ops, t["end"][ops], t["start"][ops], t["setup_start"][ops]))
    seqs: dict[int, list[int]] = {}
    for o in ops[order]:
        seqs.setdefault(int(om[o]), []).append(int(o))
    return seqs


def plan_labels(
    instance: Instance,
    schedule: Schedule,
    obs_fn: Any,
    *,
    buffers: str | None = None,
    anticipatory_setups: bool | None = None,
) -> tuple[Examples, Schedule, Simulator]:
    """Replay ``schedule`` through the simulator and label every decision with the slot of
    the job the plan chose (``obs_fn``: a :class:`~furnsim.env.observations.CandidateObservation`).

    Returns the examples and the replayed schedule; ValueError if the plan cannot be replayed
    as a non-delay sequence (it waits where the simulator asks: a hold or CP-SAT plan)."""
    sim = Simulator(
        instance,
        buffers=buffers or schedule.buffers,
        anticipatory_setups=(
            schedule.anticipatory_setups if anticipatory_setups is None else anticipatory_setups
        ),
    )
    obs_fn.reset(sim)
    seqs = machine_sequences(schedule)
    pos = dict.fromkeys(seqs, 0)
    ex = Examples()
    d = sim.decision()
    while d is not None:
        seq = seqs.get(d.machine, [])
        i = pos.get(d.machine, 0)
        # the plan's next operation on this machine (or, on a tie of keys, the first of the
        # tied ones that is a candidate now)
        j = -1
        for s in range(i, len(seq)):
            hit = np.flatnonzero(d.ops == seq[s])
            if hit.size:
                j = int(d.candidates[hit[0]])
                if s != i:
                    seq.insert(i, seq.pop(s))
                break
            t = schedule.times
            a, b = seq[i], seq[s + 1] if s + 1 < len(seq) else -1
            if b < 0 or (t["setup_start"][a], t["start"][a]) != (
                t["setup_start"][b],
                t["start"][b],
            ):
                break
        if j < 0:
            raise ValueError(
                f"the plan does not dispatch any candidate of machine {d.machine} at "
                f"t={d.time:g} (it waits there: not a non-delay plan)"
            )
        pos[d.machine] = i + 1
        if d.candidates.size > 1:
            o = obs_fn(sim, d)
            k = int(obs_fn.slots.size)
            slot = np.flatnonzero(obs_fn.slots == j)
            if slot.size:
                ex.rows.append(np.asarray(o["candidates"][:k], np.float32).copy())
                ex.context.append(np.asarray(o["context"], np.float32).copy())
                ex.action.append(int(slot[0]))
            else:
                ex.unreachable += 1
        d = sim.dispatch(j)
    if sim.deadlock is not None:
        raise ValueError(f"the replay deadlocked: {sim.deadlock.message}")
    return ex, sim.schedule(method=schedule.method), sim


def follow_labels(
    instance: Instance, ex: Examples, obs_fn: Any, *, buffers: str = "hard"
) -> Schedule:
    """Plan ``instance`` by taking, at every decision with several candidates, the labelled
    slot of the next example (single candidates are taken): a check that labels reproduce
    their plan."""
    sim = Simulator(instance, buffers=buffers)
    obs_fn.reset(sim)
    n = 0
    d = sim.skip_singles()  # one-candidate decisions are taken by the engine
    while d is not None:
        obs_fn(sim, d)
        d = sim.dispatch(int(obs_fn.slots[ex.action[n]]), skip_single=True)
        n += 1
    return sim.schedule()


@dataclass
class ExpertPlan:
    schedule: Schedule
    cost: float
    source: str  # policy:greedy | policy:sample | rule:NAME | noisy:NAME | lns
    costs: dict[str, float]  # the best cost of each kind of candidate


def expert_plan(
    instance: Instance,
    goal: str,
    planner: Any,
    *,
    samples: int = 4,
    temperature: float = 1.0,
    rules: bool = True,
    noisy: int = 0,
    noisy_eps: float = 0.05,
    lns_iterations: int = 0,
    policy_noisy: int = 0,
    seed: int = 0,
    release: bool = False,
) -> ExpertPlan:
    """The cheapest complete plan of ``instance`` among the candidates (module doc).

    ``planner``: a :class:`~furnsim.rl.policy.PolicyPlanner` (greedy + ``samples - 1``
    sampled passes, and ``policy_noisy`` passes that follow its greedy choice but take a
    random candidate with probability ``noisy_eps``; None = no policy passes). Deterministic
    for a fixed ``seed``. ``release``: every candidate is priced released just in time
    (:func:`furnsim.rl.train.schedule_cost`); the plan returned is the candidate itself, whose
    machine sequences are the labels."""
    from furnsim.rl.train import schedule_cost
    from furnsim.rules import NoValidPlan, best_rule, get_rule, search_noisy

    def price(s: Schedule) -> float:
        return schedule_cost(instance, s, goal, release)

    cands: list[tuple[float, str, Schedule]] = []
    if planner is not None and samples > 0:
        _, _, info = planner.plan_best(
            instance, goal, samples=samples, temperature=temperature, seed=seed, keep_all=True
        )
        for i, (s, sim) in enumerate(info["passes"]):
            if sim.deadlock is None:
                c = price(s)
                cands.append((c, "policy:greedy" if i == 0 else "policy:sample", s))
    if planner is not None and policy_noisy > 0:
        ss = np.random.SeedSequence([seed, 7])
        for child in ss.spawn(policy_noisy):
            s, sim = _noisy_policy_pass(instance, planner, noisy_eps, np.random.default_rng(child))
            if sim.deadlock is None:
                cands.append((price(s), "policy-noisy", s))
    if rules or noisy > 0:
        try:
            br = best_rule(instance, goal, seed=0)
            cands.append((price(br.schedule), f"rule:{br.rule}", br.schedule))
            if noisy > 0:
                s, sim, _ = search_noisy(
                    instance, goal, get_rule(br.rule), passes=noisy + 1, eps=noisy_eps, seed=seed
                )
                if sim.deadlock is None:
                    cands.append((price(s), f"noisy:{br.rule}", s))
        except NoValidPlan:
            pass
    if lns_iterations > 0:
        from furnsim.solvers.lns import lns

        best_so_far = min(cands, key=lambda x: x[0])[2] if cands else None
        r = lns(
            instance,
            goal,
            time_limit=None,
            iterations=int(lns_iterations),
            seed=seed,
            start=best_so_far,
            start_ppo=False,
        )
        if r.schedule.method == "lns":  # else it handed back ``start``: nothing cheaper
            cands.append((float(r.cost), "lns", r.schedule))
    cands = [c for c in cands if math.isfinite(c[0])]
    if not cands:
        raise ValueError("no complete plan among the search candidates")
    kinds: dict[str, float] = {}
    for c, src, _ in cands:
        k = src.split(":")[0]
        kinds[k] = min(kinds.get(k, math.inf), c)
    c, src, s = min(cands, key=lambda x: x[0])
    return ExpertPlan(s, c, src, kinds)


def _noisy_policy_pass(
    instance: Instance, planner: Any, eps: float, rng: np.random.Generator
) -> tuple[Schedule, Simulator]:
    """One pass of the policy's greedy choice, a uniformly random candidate with
    probability ``eps`` at each decision with several candidates."""
    sim = Simulator(instance)
    planner.obs_fn.reset(sim)
    d = sim.decision()
    while d is not None:
        if d.candidates.size > 1 and rng.random() < eps:
            j = int(d.candidates[rng.integers(d.candidates.size)])
        else:
            j = int(planner.choose(sim, d))
        d = sim.dispatch(j)
    return sim.schedule(method=f"{planner.name}~{eps:g}"), sim


def fit_scorer(
    extractor: Any,
    data: Examples,
    *,
    epochs: int,
    lr: float,
    seed: int = 0,
    label_smoothing: float = 0.0,
    batch_size: int = 512,
) -> dict[str, float]:
    """Cross-entropy over the legal slots (label smoothing spreads ``eps`` over them) of the
    scorer ``extractor`` (``.scores(obs)`` → logits) on ``data``; accuracy after fitting."""
    import torch

    n = len(data)
    if n == 0:
        return {"loss": math.nan, "accuracy": math.nan}
    opt = torch.optim.Adam(extractor.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    # batches of similar row counts pad less: sort by size, cut, shuffle the batch order
    sizes = np.array([r.shape[0] for r in data.rows])
    by_size = np.argsort(sizes, kind="stable")
    loss_v = math.nan
    for _epoch in range(epochs):
        order = np.lexsort((rng.permutation(n), sizes))  # by size, ties in random order
        cuts = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        for b in rng.permutation(len(cuts)):
            obs, a = data.batch(cuts[b])
            t = {k: torch.as_tensor(v) for k, v in obs.items()}
            logits = extractor.scores(t).masked_fill(t["mask"] <= 0, -1e8)
            legal = (t["mask"] > 0).float()
            target = (1 - label_smoothing) * torch.nn.functional.one_hot(
                torch.as_tensor(a), logits.shape[1]
            ).float()
            target = target + label_smoothing * legal / legal.sum(1, keepdim=True).clamp(min=1.0)
            loss = -(target * torch.log_softmax(logits, -1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_v = float(loss.detach())
    hits = 0
    with torch.no_grad():
        for i in range(0, n, batch_size):
            idx = by_size[i : i + batch_size]
            obs, a = data.batch(idx)
            t = {k: torch.as_tensor(v) for k, v in obs.items()}
            lg = extractor.scores(t).masked_fill(t["mask"] <= 0, -1e8)
            hits += int((lg.argmax(-1).numpy() == a).sum())
    return {"loss": loss_v, "accuracy": hits / n}


def search_imitation(
    model: Any,
    cfg: Any,
    source: Any,
    goal: str,
    validate: Any,
    log: Any = print,
    t_start: float | None = None,
) -> dict[str, Any]:
    """Expert-iteration rounds on ``model`` (a MaskablePPO with the candidate scorer); the
    best validated weights are loaded back into it. ``validate(tag)`` → mean validation
    ratio to the teacher (greedy). ``cfg``: a :class:`~furnsim.rl.train.TrainConfig`."""
    import torch

    from furnsim.env.observations import CandidateObservation
    from furnsim.rl.policy import PolicyPlanner
    from furnsim.rl.train import _weeks

    t0 = time.perf_counter() if t_start is None else t_start
    ext = model.policy.features_extractor
    obs_fn = CandidateObservation(
        cfg.max_candidates,
        kit_features=cfg.kit_features,
        working_time=cfg.working_time_features,
        teacher=cfg.teacher_features,
    )
    meta = {"goal": goal, "view": "candidates", "config": _cfg_dict(cfg)}
    data = Examples()
    rounds: list[dict[str, Any]] = []
    best_ratio = float(validate("search round 0 (start)"))
    best_state = {k: v.detach().clone() for k, v in model.policy.state_dict().items()}
    best_round = 0
    jobs = list(cfg.search_jobs or cfg.train_jobs)
    budget = cfg.search_minutes
    for r in range(1, cfg.search_rounds + 1):
        t_round = time.perf_counter()
        planner = PolicyPlanner(model, meta)  # a numpy snapshot of the current scorer
        weeks = _weeks(source, SEARCH_SEED + 100 * r, cfg.search_weeks, jobs)
        gains: list[float] = []
        sources: dict[str, int] = {}
        n_before = len(data)
        replay_fail = 0
        no_plan = 0
        for i, w in enumerate(weeks):
            if budget is not None and (time.perf_counter() - t0) / 60 > budget:
                log(f"search: time budget ({budget} min) reached in round {r} after {i} weeks")
                break
            try:
                ep = expert_plan(
                    w,
                    goal,
                    planner,
                    samples=cfg.search_samples,
                    temperature=cfg.plan_temperature,
                    rules=cfg.search_rules,
                    noisy=cfg.search_noisy,
                    lns_iterations=cfg.search_lns_iterations,
                    policy_noisy=cfg.search_policy_noisy,
                    seed=cfg.seed * 1000 + 100 * r + i,
                    release=cfg.release_costs,
                )
            except ValueError:  # every candidate deadlocked: nothing to imitate on this week
                no_plan += 1
                continue
            greedy = ep.costs.get("policy", math.inf)
            if "policy" in ep.costs and math.isfinite(greedy):
                gains.append(ep.cost / greedy)
            sources[ep.source.split(":")[0]] = sources.get(ep.source.split(":")[0], 0) + 1
            try:
                ex, _, _ = plan_labels(w, ep.schedule, obs_fn)
            except ValueError:
                replay_fail += 1
                continue
            data.extend(ex)
        torch.manual_seed(cfg.seed + r)
        fit = fit_scorer(
            ext,
            data,
            epochs=cfg.search_epochs,
            lr=cfg.search_lr,
            seed=cfg.seed + r,
            label_smoothing=cfg.search_label_smoothing,
        )
        ratio = float(validate(f"search round {r}"))
        rec = {
            "round": r,
            "weeks": len(weeks),
            "examples_new": len(data) - n_before,
            "examples": len(data),
            "unreachable": data.unreachable,
            "replay_failed": replay_fail,
            "no_complete_plan": no_plan,  # weeks where every candidate deadlocked
            "expert_over_policy_passes": float(np.mean(gains)) if gains else None,
            "expert_sources": sources,
            "fit_accuracy": fit["accuracy"],
            "validation_ratio": ratio,
            "seconds": round(time.perf_counter() - t_round, 1),
        }
        rounds.append(rec)
        log(
            f"search round {r}: {rec['examples_new']} new examples ({len(data)} in all), expert / "
            f"best policy pass {rec['expert_over_policy_passes']}, sources {sources}, fit accuracy "
            f"{fit['accuracy']:.3f}, validation {ratio:.4f} ({rec['seconds']} s)"
        )
        if ratio < best_ratio:
            best_ratio, best_round = ratio, r
            best_state = {k: v.detach().clone() for k, v in model.policy.state_dict().items()}
        if budget is not None and (time.perf_counter() - t0) / 60 > budget:
            break
    model.policy.load_state_dict(best_state)
    log(f"search: best round {best_round} (validation {best_ratio:.4f}) goes on to PPO")
    return {
        "search_rounds": rounds,
        "search_best_round": best_round,
        "search_best_ratio": best_ratio,
    }


def _cfg_dict(cfg: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(cfg) if is_dataclass(cfg) and not isinstance(cfg, type) else dict(cfg)
