"""Self-labeling (furnsim.rl.self_label): the replayed labels are the sampled pass, the best
of N is the smallest makespan, and fitting the labels lowers the cross-entropy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

from furnsim.env.weeks import RandomJobShopSource  # noqa: E402
from furnsim.rl import self_label as sl  # noqa: E402
from furnsim.rl.policy import load_planner  # noqa: E402
from furnsim.validate import validate  # noqa: E402

MODEL = Path(__file__).resolve().parent.parent / "furnsim" / "data" / "models" / "ppo-jsp.zip"


@pytest.fixture(scope="module")
def planner():
    if not MODEL.exists():
        pytest.skip("no shipped ppo-jsp model")
    return load_planner(path=MODEL)


@pytest.fixture(scope="module")
def shop():
    return RandomJobShopSource(jobs=(8, 8), machines=(5, 5)).week(2)


def test_replayed_labels_are_the_sampled_pass(planner, shop) -> None:
    s, sim, choices = sl.sampled_pass(planner, shop, np.random.default_rng(5), temperature=2.0)
    assert sim.deadlock is None and not validate(s, shop)
    ex, s2, _ = sl.label_pass(shop, choices, planner.obs_fn)
    # one example per decision with several candidates, and the replay is the same plan
    assert len(ex) == len(choices) > 0
    for f in ("setup_start", "start", "end"):
        np.testing.assert_array_equal(s.times[f], s2.times[f])
    # every label is a legal slot of its row
    assert all(0 <= a < r.shape[0] for a, r in zip(ex.action, ex.rows, strict=True))
    # a wrong choice is refused, not silently learned
    with pytest.raises(ValueError):
        sl.label_pass(shop, [-1] + choices[1:], planner.obs_fn)


def test_greedy_labels_are_the_argmax_of_the_scorer(planner, shop) -> None:
    """Replay observations equal what the policy saw: its arg-max is every greedy label."""
    _, _, choices = sl.sampled_pass(planner, shop, None)
    ex, _, _ = sl.label_pass(shop, choices, planner.obs_fn)
    (w1, b1), (w2, b2), (w3, b3) = planner._layers
    for rows, ctx, a in zip(ex.rows, ex.context, ex.action, strict=True):
        x = np.concatenate([rows, np.broadcast_to(ctx, (rows.shape[0], ctx.size))], 1)
        s = (np.tanh(np.tanh(x @ w1 + b1) @ w2 + b2) @ w3 + b3)[:, 0]
        assert int(np.argmax(s)) == a


def test_best_of_samples_is_the_smallest_and_seeded(planner, shop) -> None:
    best, choices, spans = sl.best_of_samples(planner, shop, 6, 2.0, [0, 1])
    assert len(spans) == 6 and best == min(spans)
    assert len(set(spans)) > 1  # temperature 2 on this 8 x 5 shop: the passes differ
    again = sl.best_of_samples(planner, shop, 6, 2.0, [0, 1])
    assert again[0] == best and again[1] == choices and again[2] == spans
    _, s, _ = sl.label_pass(shop, choices, planner.obs_fn)
    assert sl.makespan(s) == best


def test_fit_lowers_the_cross_entropy(planner, shop) -> None:
    import torch

    from furnsim.rl.net import CandidateExtractor

    torch.manual_seed(0)
    data = sl.Examples()
    for seed in range(3):
        _, _, ch = sl.sampled_pass(planner, shop, np.random.default_rng(seed), 1.0)
        ex, _, _ = sl.label_pass(shop, ch, planner.obs_fn)
        data.rows += ex.rows
        data.context += ex.context
        data.action += ex.action
    ext = CandidateExtractor(planner.obs_fn.space, hidden=16)
    fit = sl.fit_examples(ext, data, epochs=30, lr=1e-2, batch_size=16)
    assert fit["loss"] < 0.8 * fit["loss_before"]
    # chance level is the mean 1/k over the examples; fitting beats it
    chance = float(np.mean([1.0 / r.shape[0] for r in data.rows]))
    assert fit["accuracy"] > chance + 0.2


def test_fit_to_soft_targets(planner, shop) -> None:
    """Soft targets (``Examples.soft``) are what the fit follows: the fitted scorer's
    distribution moves towards them (the cross-entropy falls towards their entropy)."""
    import torch

    from furnsim.rl.net import CandidateExtractor

    torch.manual_seed(0)
    data, _ = sl.rollout_labels(planner, shop, 10_000, np.random.default_rng(0), tau=0.02)
    entropy = float(np.mean([-(p[p > 0] * np.log(p[p > 0])).sum() for p in data.soft.values()]))
    ext = CandidateExtractor(planner.obs_fn.space, hidden=16)
    fit = sl.fit_examples(ext, data, epochs=60, lr=1e-2, batch_size=16)
    assert fit["loss"] - entropy < 0.5 * (fit["loss_before"] - entropy)
    # the same rows with every target swapped to its reverse order fit to another loss
    flipped = sl.Examples(rows=data.rows, context=data.context, action=data.action)
    flipped.soft = {i: p[::-1].copy() for i, p in data.soft.items()}
    before = sl.fit_examples(ext, flipped, epochs=0, lr=0.0)["loss"]
    assert before > fit["loss"] + 0.5


def test_rounds_keep_the_best_validated_model(tmp_path: Path, shop) -> None:
    """One tiny round: the kept zip plans from its weights alone, its sidecar tells the
    rounds, and round 0 kept means the start model's weights unchanged."""
    if not MODEL.exists():
        pytest.skip("no shipped ppo-jsp model")
    out = tmp_path / "ppo-jsp.zip"
    small = {"jobs": (5, 5), "machines": (4, 4), "valid_jobs": (5, 5), "valid_machines": (4, 4)}
    rec = sl.self_label(
        MODEL, out, rounds=1, instances=1, samples=2, valid=2, log=lambda *_: None, **small
    )
    assert rec["rounds_run"] == 1 and [h["round"] for h in rec["history"]] == [0, 1]
    side = __import__("json").loads(out.with_suffix(".json").read_text())
    assert side["self_label"]["best_round"] == rec["best_round"]
    assert side["config"]["max_candidates"] == 64  # the start model's sidecar carried over
    start = __import__("json").loads(MODEL.with_suffix(".json").read_text())
    # the start model's Taillard scores and self-labeling are history, not this model's
    assert "taillard" not in side and rec.get("start_taillard") == start.get("taillard")
    assert rec.get("start_self_label") == start.get("self_label")
    kept = load_planner(path=out)
    s, sim = kept.plan(shop)
    assert sim.deadlock is None and not validate(s, shop)
    start = load_planner(path=MODEL)
    same = all(
        np.array_equal(a, b)
        for la, lb in zip(kept._layers, start._layers, strict=True)
        for a, b in zip(la, lb, strict=True)
    )
    h = rec["history"]
    assert same == (rec["best_round"] == 0)
    assert rec["val_ratio_to_LWKRMOD"] == min(x["val_ratio_to_LWKRMOD"] for x in h)


def test_size_classes_and_disjoint_seeds(tmp_path: Path) -> None:
    """Size classes cycle over the instances of a round (instance i from class i % n, each
    of its drawn size); the run refuses validation seeds that a training round would use."""
    assert sl.parse_sizes("15x15, 30-50x15-20") == [((15, 15), (15, 15)), ((30, 50), (15, 20))]
    for bad in ("15", "0x5", "9-3x4"):
        with pytest.raises(ValueError):
            sl.parse_sizes(bad)
    shops = sl._instances(500, 5, sizes=sl.parse_sizes("4x3,7-9x5-6"))
    dims = [(len(w.orders), len(w.plant.machines)) for w in shops]
    assert dims[::2] == [(4, 3)] * 3
    assert all(7 <= j <= 9 and 5 <= m <= 6 for j, m in dims[1::2])
    # round r uses train_seed + 1000 r + i (i < instances): 2001 is round 2's instance 1
    with pytest.raises(ValueError, match="validation seeds meet"):
        sl.self_label(
            MODEL,
            tmp_path / "x.zip",
            rounds=3,
            instances=2,
            valid=4,
            train_seed=0,
            valid_seed=1998,
            log=lambda *_: None,
        )


def test_added_attention_starts_as_the_start_model(tmp_path: Path, shop) -> None:
    """A zero-initialised attention layer leaves the scores as they were: the same plan in
    memory and from the saved zip (weights only, arch read from the sidecar)."""
    import json

    from furnsim.rl.policy import PolicyPlanner, _load_model, _read_sidecar

    mlp = MODEL.with_name("ppo-empty-buffers.zip")  # a shipped model with the mlp scorer
    if not mlp.exists() or not MODEL.exists():
        pytest.skip("no shipped models")
    model, meta = _load_model(mlp), _read_sidecar(mlp)
    assert meta["config"].get("arch", "mlp") == "mlp"
    s0, _ = PolicyPlanner(model, meta).plan(shop)
    meta2 = sl.add_attention(model, meta, 4)
    assert meta2["config"]["arch"] == "attention" and meta2["config"]["attn_heads"] == 4
    after = PolicyPlanner(model, meta2)
    assert after._attn is not None and after._attn["heads"] == 4
    model.save(str(tmp_path / "a.zip"))
    (tmp_path / "a.json").write_text(json.dumps(meta2))
    loaded = load_planner(path=tmp_path / "a.zip")
    assert loaded._attn is not None
    for p in (after, loaded):
        s1, sim = p.plan(shop)
        assert sim.deadlock is None
        np.testing.assert_array_equal(s0.times["start"], s1.times["start"])
    with pytest.raises(ValueError, match="already has"):
        sl.add_attention(model, meta2, 4)


def test_follow_plan_replays_simulator_plans_and_projects_others(planner, shop) -> None:
    """A simulator-decoded plan (a sampled pass) replays exactly from its start times; a plan
    with idle time inserted (CP-SAT's kind) replays as a non-delay plan of its own length."""
    from furnsim.rules import get_rule

    s, _, choices = sl.sampled_pass(planner, shop, np.random.default_rng(3), temperature=2.0)
    span, ch = sl.follow_plan(shop, s)
    assert ch == choices and span == sl.makespan(s)
    rule = get_rule("SPT").plan(shop)[0]
    span, ch = sl.follow_plan(shop, rule)
    assert span == sl.makespan(rule)
    # delay every operation of one job by 1000 min: the replay is still a non-delay plan,
    # shorter than the delayed one, and its choices label a valid pass
    t = {k: v.copy() for k, v in rule.times.items()}
    j0 = rule.op_job == 0
    for k in t:
        if t[k].shape == j0.shape and k != "proc":
            t[k] = np.where(j0, t[k] + 1000.0, t[k])
    late = dataclasses.replace(rule, times=t)
    span, ch = sl.follow_plan(shop, late)
    assert span < sl.makespan(late)
    _, s2, sim = sl.label_pass(shop, ch, planner.obs_fn)
    assert sim.deadlock is None and not validate(s2, shop) and sl.makespan(s2) == span


def test_optimizer_labels_are_no_worse_than_the_best_rule(planner, shop) -> None:
    """``improve_by_lns``: the optimizer's plan, replayed, is a valid pass at most as long as
    the best rule's (its start), and its choices replay through ``label_pass``."""
    from furnsim.rules import get_rule

    span, ch = sl.improve_by_lns(shop, 0.5, seed=1)
    rules = ("LWKRMOD", "SPT", "FIFO", "MWKR")
    assert span <= min(sl.makespan(get_rule(r).plan(shop)[0]) for r in rules)
    _, s, sim = sl.label_pass(shop, ch, planner.obs_fn)
    assert sim.deadlock is None and not validate(s, shop) and sl.makespan(s) == span
    # from a given plan: with no time to search, a plan shorter than every rule's comes back
    # as it is (the search starts there), where the rules' start gives the rule's length
    other = RandomJobShopSource(jobs=(8, 8), machines=(5, 5)).week(3)
    best, ch3 = sl.improve_by_lns(other, 0.5, seed=1)
    rule_only, _ = sl.improve_by_lns(other, 0.0, seed=2)
    assert best < rule_only  # the search found a shorter plan than the rules on this shop
    plan = sl.label_pass(other, ch3, planner.obs_fn)[1]
    assert sl.improve_by_lns(other, 0.0, seed=2, start=plan) == (best, ch3)


def test_rounds_with_optimizer_labels_record_them(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.skip("no shipped ppo-jsp model")
    small = {"jobs": (6, 6), "machines": (4, 4), "valid_jobs": (5, 5), "valid_machines": (4, 4)}
    rec = sl.self_label(
        MODEL,
        tmp_path / "m.zip",
        rounds=1,
        instances=2,
        samples=2,
        valid=2,
        lns_seconds=0.3,
        lns_from="sample",
        log=lambda *_: None,
        **small,
    )
    h = rec["history"][1]
    assert rec["settings"]["lns_seconds"] == 0.3 and rec["settings"]["lns_from"] == "sample"
    assert 0 <= h["lns_labels"] <= 2 and h["label_over_greedy"] <= h["best_sample_over_greedy"]
    with pytest.raises(ValueError, match="lns_from"):
        sl.self_label(MODEL, tmp_path / "y.zip", lns_seconds=1.0, lns_from="cpsat")


def _deviate(planner, shop, prefix: list[int], job: int) -> float:
    """From scratch, no snapshots: the greedy pass's first choices ``prefix``, then ``job``,
    then the greedy policy to the end; the makespan."""
    from furnsim.sim import Simulator

    sim = Simulator(shop)
    planner.obs_fn.reset(sim)
    d, n, forced = sim.decision(), 0, [*prefix, job]
    while d is not None:
        if d.candidates.size > 1 and n < len(forced):
            j, n = forced[n], n + 1
        else:
            j = planner.choose(sim, d)
        d = sim.dispatch(j)
    assert sim.deadlock is None
    return sl.makespan(sim.schedule())


def test_rollout_labels_are_strictly_better_one_step_deviations(planner, shop) -> None:
    """``rollout_labels`` queried at every decision of the greedy pass: a label differs from
    the policy's choice exactly where some other candidate, followed by the greedy policy,
    gives a shorter plan (recomputed from scratch here), and it is the shortest of those."""
    from furnsim.sim import Simulator

    _, _, choices = sl.sampled_pass(planner, shop, None)
    ex, info = sl.rollout_labels(planner, shop, 10_000, np.random.default_rng(0))
    assert len(ex) == len(choices) == info["queried"]  # every decision, in the pass's order
    greedy = info["greedy"]
    changed, best_dev, gains, per_slot = 0, greedy, [], []
    # replay the greedy pass; at each decision, every candidate's deviation from scratch
    sim = Simulator(shop)
    planner.obs_fn.reset(sim)
    d, n = sim.skip_singles(), 0
    while d is not None:
        planner.obs_fn(sim, d)
        slots = planner.obs_fn.slots[: ex.rows[n].shape[0]].copy()
        spans = {int(j): _deviate(planner, shop, choices[:n], int(j)) for j in slots}
        assert spans[choices[n]] == greedy  # greedy from its own state is the greedy plan
        label = int(slots[ex.action[n]])
        if label != choices[n]:
            changed += 1
            assert spans[label] < greedy and spans[label] == min(spans.values())
        else:
            assert min(spans.values()) >= greedy
        best_dev = min(best_dev, spans[label])
        gains.append(1 - min(spans.values()) / greedy)
        per_slot.append(np.array([spans[int(j)] for j in slots]))
        d = sim.dispatch(int(choices[n]), skip_single=True)
        n += 1
    assert changed == info["changed"] > 0  # on this shop some deviation is shorter
    assert best_dev / greedy == info["best_deviation_over_greedy"] < 1
    # with a minimum gain, only the deviations that gain more move the label
    m = max(gains) / 2
    ex_m, info_m = sl.rollout_labels(planner, shop, 10_000, np.random.default_rng(0), m)
    assert info_m["changed"] == sum(g > m for g in gains) < changed
    assert info_m["best_deviation_over_greedy"] == info["best_deviation_over_greedy"]
    keep = [g <= m for g in gains]
    assert [a for a, k in zip(ex_m.action, keep, strict=True) if not k] == [
        a for a, k in zip(ex.action, keep, strict=True) if not k
    ]
    # soft targets: softmax(-(makespan - shortest) / (tau * greedy)) over each decision's slots;
    # the hard labels stay as they were, and extend() keeps each target with its example
    ex_t, _ = sl.rollout_labels(planner, shop, 10_000, np.random.default_rng(0), tau=0.01)
    assert ex_t.action == ex.action and sorted(ex_t.soft) == list(range(len(ex)))
    for i, c in enumerate(per_slot):
        want = np.exp(-(c - c.min()) / (0.01 * greedy))
        np.testing.assert_allclose(ex_t.soft[i], want / want.sum(), rtol=1e-5, atol=1e-7)
    both = sl.Examples()
    both.extend(ex)
    both.extend(ex_t)
    assert sorted(both.soft) == [len(ex) + i for i in range(len(ex_t))]
    idx = np.array([0, len(ex)])
    t = both.targets(idx, 40)
    assert t[0, ex.action[0]] == 1 and t[0].sum() == 1  # one-hot where no soft target
    np.testing.assert_array_equal(t[1, : ex_t.soft[0].size], ex_t.soft[0])
    # a sample of decisions: that many examples, each one of the pass's (rows and label)
    few, info3 = sl.rollout_labels(planner, shop, 3, np.random.default_rng(1))
    assert len(few) == info3["queried"] == 3
    for rows, a in zip(few.rows, few.action, strict=True):
        assert any(
            r.shape == rows.shape and np.array_equal(r, rows) and b == a
            for r, b in zip(ex.rows, ex.action, strict=True)
        )


def test_rounds_with_rollout_labels_only(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.skip("no shipped ppo-jsp model")
    small = {"jobs": (6, 6), "machines": (4, 4), "valid_jobs": (5, 5), "valid_machines": (4, 4)}
    rec = sl.self_label(
        MODEL, tmp_path / "m.zip", rounds=1, instances=2, samples=0, rollout=5, valid=2,
        rollout_min_gain=0.01, rollout_tau=0.02,
        log=lambda *_: None, **small,
    )  # fmt: skip
    h = rec["history"][1]
    settings = rec["settings"]
    assert (settings["rollout_decisions"], settings["rollout_min_gain"]) == (5, 0.01)
    assert settings["rollout_tau"] == 0.02 and "best_sample_over_greedy" not in h
    assert h["examples"] == h["rollout_queried"] == 10 and 0 <= h["rollout_changed"] <= 10
    assert h["rollout_best_deviation_over_greedy"] <= 1
    with pytest.raises(ValueError, match="not both 0"):
        sl.self_label(MODEL, tmp_path / "y.zip", samples=0)
    with pytest.raises(ValueError, match="samples > 0"):
        sl.self_label(MODEL, tmp_path / "y.zip", samples=0, rollout=4, lns_seconds=1.0)
