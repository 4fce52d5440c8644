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
the candidate features cannot tell what the labels do.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch

from furnsim.rl import self_label as sl
from furnsim.rl.policy import PolicyPlanner, _load_model, _read_sidecar

MODEL = Path(__file__).resolve().parent.parent / "furnsim" / "data" / "models" / "ppo-jsp.zip"
SIZES = (
    "10-20x10-15,15-25x15-20,20-30x15-20,30-40x15-20,40-50x15-20,50-70x15-20,70-100x15-20,100x20"
)


def merge(parts: list[sl.Examples]) -> sl.Examples:
    e = sl.Examples()
    for x in parts:
        e.rows += x.rows
        e.context += x.context
        e.action += x.action
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


def main() -> None:
    torch.set_num_threads(1)
    model = _load_model(MODEL)
    planner = PolicyPlanner(model, _read_sidecar(MODEL))
    sets: dict[str, list[sl.Examples]] = {"sample": [], "lns": []}
    for i, shop in enumerate(sl._instances(1_400_000, 16, sizes=sl.parse_sizes(SIZES))):
        best, choices, _ = sl.best_of_samples(planner, shop, 32, 1.0, [7, i])
        span, lns_choices = sl.improve_by_lns(shop, 8, seed=i)
        sets["sample"].append(sl.label_pass(shop, choices, planner.obs_fn)[0])
        better = span < best
        sets["lns"].append(
            sl.label_pass(shop, lns_choices, planner.obs_fn)[0] if better else sets["sample"][-1]
        )
        print(json.dumps({"shop": i, "best_sample": best, "lns": span}), flush=True)
    ext = model.policy.features_extractor
    start = copy.deepcopy(ext.state_dict())
    for labels in ("lns", "sample"):
        train, test = merge(sets[labels][:12]), merge(sets[labels][12:])
        ext.load_state_dict(start)
        for ep in range(0, 41, 10):
            if ep:
                sl.fit_examples(ext, train, epochs=10, lr=1e-3, seed=ep)
            tr = sl.fit_examples(ext, train, epochs=0, lr=0.0)
            te = sl.fit_examples(ext, test, epochs=0, lr=0.0)
            _say(labels, "shipped", ep, (tr["loss"], tr["accuracy"]), (te["loss"], te["accuracy"]))
        fit_bigger(train, test, labels)


if __name__ == "__main__":
    main()
