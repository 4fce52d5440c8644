"""Can a scorer fit the optimizer's labels? (docs/rl.md, Taillard section, 2026-12-04.)

    python benchmarks/jsp_label_fit.py        # ≈ 4 min of labels, then ≈ 10 min of fits, 1 core

Labels on 16 random job shops of the self-labeling size classes (seeds 1,400,000+, never a
training or validation seed of the shipped runs): the best of 32 passes sampled from the
shipped policy, and `lns` for makespan with 8 CPU-s (`improve_by_lns`, its plan where it is
shorter). The first 12 shops train, the last 4 are held out. Two scorers fit each label set:

* ``shipped``: the shipped model's scorer, fine-tuned 40 epochs (lr 1e-3, as ``fit_examples``
  in self-labeling, which runs 4);
* ``bigger``: from scratch, an MLP (128, 128) per candidate row and its context, then two
  transformer-encoder layers across the candidates (4 heads), 30 epochs (lr 1e-3).

One JSON line per evaluation: label set, scorer, epochs, cross-entropy and accuracy (the
share of decisions where the scorer's arg-max is the label) on the training and held-out
decisions. If neither scorer gets far above the shipped scorer's agreement before any fit,
the labels are not a function of the candidate features -- or, as ``--matter`` measures,
most of the choices they disagree on do not matter.

Three more probes:

    python benchmarks/jsp_label_fit.py --extra-features   # the bigger scorer, + 6 features
    python benchmarks/jsp_label_fit.py --matter 5         # which disagreements matter
    python benchmarks/jsp_label_fit.py --one-shot 32      # fit only what matters: one fit

``--extra-features`` appends six job-shop features to every candidate row (about the job's
next operation: its processing time, how long its machine is still busy, the job's wait
there and the machine's idle until the job comes, the jobs queued for that machine and its
unscheduled work; all / the mean processing time) and fits the bigger scorer on the
optimizer's labels with and without them. ``--matter N``: on the first N shops, the
optimizer's plan (8 CPU-s from the best rule) is replayed with the shipped policy's greedy
choice computed at every decision; at each decision where the two differ, the policy's
choice is swapped in and the plan's order followed after it: the makespan is the same (the
choice does not matter), longer, or shorter.

``--one-shot N`` fits the shipped scorer once (lr 3e-4, 4 epochs, as a self-labeling round)
on the optimizer's plans of N new shops (seeds 1,500,000+) and validates the greedy policy
on self-labeling's 128 validation shops (greedy / LWKRMOD; the shipped model: 0.9969), with
two label sets at the optimizer's decisions: ``all`` (its choices) and ``matters`` (its
choice where the swap test above says the policy's choice lengthens the plan, else the
policy's own choice).
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from furnsim.rl import self_label as sl
from furnsim.rl.policy import PolicyPlanner, _load_model, _read_sidecar
from furnsim.sim import Simulator

MODEL = Path(__file__).resolve().parent.parent / "furnsim" / "data" / "models" / "ppo-jsp.zip"
SIZES = (
    "10-20x10-15,15-25x15-20,20-30x15-20,30-40x15-20,40-50x15-20,50-70x15-20,70-100x15-20,100x20"
)
VALID_SIZES = "15x15,20x15,20x20,30x15,30x20,50x15,50x20,100x20"


def merge(parts: list[sl.Examples]) -> sl.Examples:
    e = sl.Examples()
    for x in parts:
        e.extend(x)
    return e


class Bigger(torch.nn.Module):
    def __init__(self, f: int, c: int, d: int = 128) -> None:
        super().__init__()
        self.inp = torch.nn.Sequential(
            torch.nn.Linear(f + c, d), torch.nn.ReLU(), torch.nn.Linear(d, d), torch.nn.ReLU()
        )
        layer = torch.nn.TransformerEncoderLayer(d, 4, 2 * d, 0.0, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, 2)
        self.out = torch.nn.Linear(d, 1)

    def forward(self, cand: torch.Tensor, ctx: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([cand, ctx[:, None, :].expand(-1, cand.shape[1], -1)], -1)
        h = self.enc(self.inp(x), src_key_padding_mask=mask <= 0)
        return self.out(h)[..., 0].masked_fill(mask <= 0, -1e9)


def _tensors(o: dict[str, np.ndarray]) -> list[torch.Tensor]:
    return [torch.as_tensor(o[k]) for k in ("candidates", "context", "mask")]


def evaluate(net: Bigger, data: sl.Examples) -> tuple[float, float]:
    n, hits, tot = len(data), 0, 0.0
    with torch.no_grad():
        for i in range(0, n, 256):
            o, a = data.batch(np.arange(i, min(n, i + 256)))
            lg, at = net(*_tensors(o)), torch.as_tensor(a)
            tot += float(torch.nn.functional.cross_entropy(lg, at, reduction="sum"))
            hits += int((lg.argmax(-1) == at).sum())
    return tot / n, hits / n


def fit_bigger(train: sl.Examples, test: sl.Examples, labels: str, epochs: int = 30) -> None:
    torch.manual_seed(0)
    net = Bigger(train.rows[0].shape[1], train.context[0].shape[0])
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    sizes = np.array([r.shape[0] for r in train.rows])
    for ep in range(epochs + 1):
        if ep % 5 == 0:
            _say(labels, "bigger", ep, evaluate(net, train), evaluate(net, test))
        if ep == epochs:
            break
        order = np.lexsort((rng.permutation(len(train)), sizes))
        cuts = [order[i : i + 128] for i in range(0, len(train), 128)]
        for b in rng.permutation(len(cuts)):
            o, a = train.batch(cuts[b])
            loss = torch.nn.functional.cross_entropy(net(*_tensors(o)), torch.as_tensor(a))
            opt.zero_grad()
            loss.backward()
            opt.step()


def _say(labels: str, scorer: str, ep: int, tr: tuple, te: tuple) -> None:
    row = {"labels": labels, "scorer": scorer, "epochs": ep}
    row |= {"train_ce": round(tr[0], 3), "train_acc": round(tr[1], 3)}
    row |= {"test_ce": round(te[0], 3), "test_acc": round(te[1], 3)}
    print(json.dumps(row), flush=True)


def extra_features(sim: Simulator, t: float, slots: np.ndarray) -> np.ndarray:
    """(k, 6) features of each candidate job's next operation (see the module docstring)."""
    ci = sim.ci
    proc = np.nan_to_num(ci.op_proc, nan=0.0)
    mean_p = float(proc[proc > 0].mean())
    op_m = np.nanargmin(np.where(np.isnan(ci.op_proc), np.inf, ci.op_proc), axis=1)
    end_op = np.asarray(ci.job_op_start[1:])
    rem = np.zeros(ci.op_proc.shape[1])  # unscheduled work per machine
    waiting = np.zeros(ci.op_proc.shape[1])  # jobs whose current operation waits for it
    for j in range(len(end_op)):
        o = int(sim.job_op[j])
        if o < end_op[j]:
            np.add.at(rem, op_m[o : end_op[j]], proc[o : end_op[j]].max(1))
            if sim.machine_job[op_m[o]] != j:
                waiting[op_m[o]] += 1
    out = np.zeros((len(slots), 6), np.float32)
    for k, j in enumerate(slots):
        o = int(sim.job_op[int(j)])
        if o + 1 < end_op[int(j)]:
            m2, p = op_m[o + 1], proc[o].max()
            busy = float(sim.machine_free_at[m2]) - t if sim.machine_state[m2] != 0 else 0.0
            busy = max(busy, 0.0)
            out[k] = [
                proc[o + 1].max() / mean_p,
                busy / mean_p,
                max(0.0, busy - p) / mean_p,
                max(0.0, p - busy) / mean_p,
                waiting[m2] / 10.0,
                rem[m2] / mean_p / 10.0,
            ]
    return out


def _replay(planner: Any, shop: Any, plan: Any, labels: list[int], swap: Any = None):
    """Follow ``labels`` (``plan``'s choices); with ``swap = (n, job)`` take ``job`` at choice
    ``n`` and ``plan``'s order (``follow_plan``'s) after it; without, also record where the
    greedy policy would choose otherwise. Returns the makespan and those ``(n, job)``."""
    follow = sl._FollowPlan(plan)
    sim = Simulator(shop)
    if swap is None:
        planner.obs_fn.reset(sim)
    d, n, differ = sim.decision(), 0, []
    while d is not None:
        if d.candidates.size > 1:
            if swap is not None and n >= swap[0]:
                j = swap[1] if n == swap[0] else follow.choose(sim, d)
            else:
                j = labels[n]
                g = int(planner.choose(sim, d))
                if g != j:
                    differ.append((n, g))
            n += 1
        else:
            j = int(d.candidates[0])
            if swap is None:
                planner.choose(sim, d)
        d = sim.dispatch(j)
    return sl.makespan(sim.schedule()), differ


def swap_test(planner: Any, shop: Any, seed: int) -> tuple[float, list[int], list[tuple]]:
    """The optimizer's plan of ``shop`` (8 CPU-s from the best rule) and, at each decision
    where the greedy policy chooses otherwise, ``(n, policy's job, makespan with it swapped
    in)``. Returns the plan's makespan, its choices and those triples."""
    from furnsim.solvers.lns import lns

    res = lns(shop, "speed", time_limit=8.0, clock="cpu", seed=seed, start_ppo=False)
    span, labels = sl.follow_plan(shop, res.schedule)
    base, differ = _replay(planner, shop, res.schedule, labels)
    assert base == span
    swaps = [(n, g, _replay(planner, shop, res.schedule, labels, (n, g))[0]) for n, g in differ]
    return span, labels, swaps


def matter(planner: Any, shops: int) -> None:
    planner._rng = None
    total = {"decisions": 0, "differ": 0, "same": 0, "longer": 0, "shorter": 0}
    for i, shop in enumerate(sl._instances(1_400_000, shops, sizes=sl.parse_sizes(SIZES))):
        span, labels, swaps = swap_test(planner, shop, i)
        c = {"same": 0, "longer": 0, "shorter": 0}
        for _, _, s2 in swaps:
            c["same" if s2 == span else "longer" if s2 > span else "shorter"] += 1
        losses = [s2 / span - 1 for _, _, s2 in swaps if s2 > span]
        row = {"shop": i, "jobs": shop.compiled.n_jobs, "decisions": len(labels)}
        row |= {"differ": len(swaps), **c, "mean_loss_if_longer": float(np.mean(losses or [0]))}
        print(json.dumps(row), flush=True)
        total["decisions"] += len(labels)
        total["differ"] += len(swaps)
        for k, v in c.items():
            total[k] += v
    print(json.dumps({"total": total}), flush=True)


def _examples(
    shop: Any, go: list[int], target: list[int], obs_fn: Any, extra: bool = False
) -> sl.Examples:
    """The decisions of the pass that takes ``go``, labelled ``target`` (as ``label_pass``
    when they are the same); ``extra``: each row with :func:`extra_features` appended."""
    sim = Simulator(shop)
    obs_fn.reset(sim)
    ex = sl.Examples()
    d, n = sim.skip_singles(), 0
    while d is not None:
        o = obs_fn(sim, d)
        k = int(obs_fn.slots.size)
        rows = np.asarray(o["candidates"][:k], np.float32).copy()
        if extra:
            rows = np.concatenate([rows, extra_features(sim, d.time, obs_fn.slots[:k])], 1)
        ex.rows.append(rows)
        ex.context.append(np.asarray(o["context"], np.float32).copy())
        ex.action.append(int(np.flatnonzero(obs_fn.slots == target[n])[0]))
        d = sim.dispatch(int(go[n]), skip_single=True)
        n += 1
    return ex


def one_shot(planner: Any, shops: int, valid: int) -> None:
    from furnsim.rules import get_rule

    planner._rng = None
    sets: dict[str, list[sl.Examples]] = {"all": [], "matters": []}
    for i, shop in enumerate(sl._instances(1_500_000, shops, sizes=sl.parse_sizes(SIZES))):
        span, labels, swaps = swap_test(planner, shop, i)
        target, n_cons = list(labels), 0
        for n, g, s2 in swaps:
            if s2 <= span:
                target[n] = g
            else:
                n_cons += 1
        sets["all"].append(_examples(shop, labels, labels, planner.obs_fn))
        sets["matters"].append(_examples(shop, labels, target, planner.obs_fn))
        row = {"shop": i, "span": span, "decisions": len(labels), "differ": len(swaps)}
        print(json.dumps({**row, "consequential": n_cons}), flush=True)
    val = sl._instances(300_000, valid, sizes=sl.parse_sizes(VALID_SIZES))
    ref = np.array([sl.makespan(get_rule("LWKRMOD").plan(w)[0]) for w in val])
    for labels_kind, parts in sets.items():
        torch.manual_seed(0)
        model = _load_model(MODEL)
        fit = sl.fit_examples(
            model.policy.features_extractor, merge(parts), epochs=4, lr=3e-4, seed=1
        )
        ratio = sl.validate_greedy(PolicyPlanner(model, _read_sidecar(MODEL)), val, ref)
        row = {"labels": labels_kind, **{k: round(v, 4) for k, v in fit.items()}}
        print(json.dumps({**row, "val_ratio_to_LWKRMOD": round(ratio, 4)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extra-features", action="store_true")
    ap.add_argument("--matter", type=int, default=0, metavar="SHOPS")
    ap.add_argument("--one-shot", type=int, default=0, metavar="SHOPS")
    ap.add_argument("--valid", type=int, default=128, help="validation shops for --one-shot")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = _load_model(MODEL)
    planner = PolicyPlanner(model, _read_sidecar(MODEL))
    if a.matter:
        return matter(planner, a.matter)
    if a.one_shot:
        return one_shot(planner, a.one_shot, a.valid)
    shops = sl._instances(1_400_000, 16, sizes=sl.parse_sizes(SIZES))
    labels = []  # per shop: (the best sample's choices, the label: lns's where shorter)
    for i, shop in enumerate(shops):
        best, choices, _ = sl.best_of_samples(planner, shop, 32, 1.0, [7, i])
        span, lns_choices = sl.improve_by_lns(shop, 8, seed=i)
        labels.append((choices, lns_choices if span < best else choices))
        print(json.dumps({"shop": i, "best_sample": best, "lns": span}), flush=True)
    if a.extra_features:
        rows = [
            _examples(w, lab, lab, planner.obs_fn, extra=True)
            for w, (_, lab) in zip(shops, labels, strict=True)
        ]
        for extra in (True, False):
            train, test = merge(rows[:12]), merge(rows[12:])
            if not extra:
                for e in (train, test):
                    e.rows = [r[:, :-6] for r in e.rows]
            fit_bigger(train, test, "lns" + (" + 6 features" if extra else ""))
        return None
    sets = {
        "sample": [
            _examples(w, c, c, planner.obs_fn) for w, (c, _) in zip(shops, labels, strict=True)
        ],
        "lns": [
            _examples(w, lab, lab, planner.obs_fn)
            for w, (_, lab) in zip(shops, labels, strict=True)
        ],
    }
    ext = model.policy.features_extractor
    start = copy.deepcopy(ext.state_dict())
    for kind in ("lns", "sample"):
        train, test = merge(sets[kind][:12]), merge(sets[kind][12:])
        ext.load_state_dict(start)
        for ep in range(0, 41, 10):
            if ep:
                sl.fit_examples(ext, train, epochs=10, lr=1e-3, seed=ep)
            tr = sl.fit_examples(ext, train, epochs=0, lr=0.0)
            te = sl.fit_examples(ext, test, epochs=0, lr=0.0)
            _say(kind, "shipped", ep, (tr["loss"], tr["accuracy"]), (te["loss"], te["accuracy"]))
        fit_bigger(train, test, kind)


if __name__ == "__main__":
    main()
