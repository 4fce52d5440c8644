"""Learning from search: labels replay their plan, the attention scorer, the loop end to end."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import torch  # noqa: E402
from gymnasium import spaces  # noqa: E402

from furnsim.env import DEMO_PLANT, WeekSource  # noqa: E402
from furnsim.env.observations import CandidateObservation  # noqa: E402
from furnsim.rl.net import CandidateExtractor  # noqa: E402
from furnsim.rl.policy import ModelRefused, PolicyPlanner, load_planner  # noqa: E402
from furnsim.rl.search_imitation import (  # noqa: E402
    expert_plan,
    follow_labels,
    machine_sequences,
    plan_labels,
)
from furnsim.rl.train import TrainConfig, train  # noqa: E402
from furnsim.rules import get_rule  # noqa: E402

pytestmark = pytest.mark.skipif(not DEMO_PLANT.exists(), reason="demo plant not found")


def _week(seed: int = 6001, jobs: int = 30):  # type: ignore[no-untyped-def]
    return WeekSource.from_path(None).week(seed, jobs)


def _obs() -> CandidateObservation:
    return CandidateObservation(64, kit_features=True, working_time=True)


def _same_starts(a, b) -> bool:  # type: ignore[no-untyped-def]
    return bool(np.array_equal(a.times["start"], b.times["start"], equal_nan=True)) and bool(
        np.array_equal(a.op_machine, b.op_machine)
    )


@pytest.mark.parametrize("rule", ["ATCS", "KIT", "FIFO"])
def test_labels_of_a_rule_plan_reproduce_it_when_followed(rule: str) -> None:
    inst = _week()
    sched, sim = get_rule(rule).plan(inst)
    ex, replayed, rsim = plan_labels(inst, sched, _obs())
    assert _same_starts(replayed, sched) and rsim.steps == sim.steps
    # one example per decision with more than one candidate; every label is a legal slot
    assert len(ex) > 10 and ex.unreachable == 0
    assert all(0 <= a < r.shape[0] for a, r in zip(ex.action, ex.rows, strict=True))
    assert _same_starts(follow_labels(inst, ex, _obs()), sched)


def test_labels_of_a_searched_plan_reproduce_it() -> None:
    """The expert (best of policy passes, rules, noisy rule passes, lns) is a plan no single
    rule makes; its labels still give back exactly that plan."""
    from furnsim.goals import cost

    inst = _week(6002, 40)
    ep = expert_plan(
        inst,
        "speed",
        load_planner("speed"),
        samples=2,
        noisy=2,
        lns_iterations=5,
        policy_noisy=2,
        seed=3,
    )
    assert ep.cost == pytest.approx(cost(ep.schedule, "speed", inst))
    assert ep.cost <= min(ep.costs.values()) + 1e-9
    assert {"rule", "noisy", "policy", "policy-noisy"} <= set(ep.costs)
    ex, _, _ = plan_labels(inst, ep.schedule, _obs())
    assert _same_starts(follow_labels(inst, ex, _obs()), ep.schedule)


def test_machine_sequences_are_dispatch_order() -> None:
    inst = _week()
    sched, sim = get_rule("ATCS").plan(inst)
    seqs = machine_sequences(sched)
    log: dict[int, list[int]] = {}
    for _t, m, j in sim.dispatch_log:  # the simulator's own record of the decisions
        log.setdefault(m, []).append(j)
    assert {m: [int(sched.op_job[o]) for o in s] for m, s in seqs.items()} == log


def test_a_plan_that_waits_is_refused() -> None:
    inst = _week()
    sched, _ = get_rule("ATCS").plan(inst)
    times = {k: v.copy() for k, v in sched.times.items()}
    # swap the first two operations of a machine: the replay then finds its "next" operation
    # not yet among the candidates (the plan would have to wait)
    seqs = machine_sequences(sched)
    m, s = next((m, s) for m, s in seqs.items() if len(s) > 3)
    a, b = s[0], s[-1]
    for f in ("setup_start", "start", "end"):
        times[f][a], times[f][b] = times[f][b], times[f][a]
    bad = type(sched)(**{**sched.__dict__, "times": times})
    with pytest.raises(ValueError, match="not a non-delay plan|deadlocked"):
        plan_labels(inst, bad, _obs())


def _space(k: int, f: int = 29, c: int = 9) -> spaces.Dict:
    return spaces.Dict(
        {
            "candidates": spaces.Box(-10, 10, (k, f), np.float32),
            "context": spaces.Box(-10, 10, (c,), np.float32),
            "mask": spaces.Box(0, 1, (k,), np.float32),
        }
    )


def test_attention_scorer_is_size_agnostic_and_ignores_padding() -> None:
    torch.manual_seed(0)
    ext = CandidateExtractor(_space(64), hidden=16, arch="attention", heads=4)
    rows = torch.randn(1, 5, 29)
    ctx = torch.randn(1, 9)
    small = ext.scores({"candidates": rows, "context": ctx, "mask": torch.ones(1, 5)})
    padded = torch.cat([rows, torch.randn(1, 11, 29)], dim=1)  # garbage in padding slots
    mask = torch.cat([torch.ones(1, 5), torch.zeros(1, 11)], dim=1)
    big = ext.scores({"candidates": padded, "context": ctx, "mask": mask})
    assert big.shape == (1, 16)
    assert torch.allclose(small, big[:, :5], atol=1e-5)
    # not independent rows: changing another candidate changes this candidate's score
    other = rows.clone()
    other[0, 4] += 3.0
    moved = ext.scores({"candidates": other, "context": ctx, "mask": torch.ones(1, 5)})
    assert not torch.allclose(moved[0, :4], small[0, :4])
    # a terminal observation (no legal slot) gives finite numbers, as the critic needs
    empty = ext({"candidates": padded, "context": ctx, "mask": torch.zeros(1, 16)})
    assert torch.isfinite(empty).all()


def test_mlp_scorer_unchanged_by_the_option() -> None:
    torch.manual_seed(0)
    a = CandidateExtractor(_space(8), hidden=16)
    torch.manual_seed(0)
    b = CandidateExtractor(_space(8), hidden=16, arch="mlp")
    assert a.state_dict().keys() == b.state_dict().keys()
    assert not any("attn" in k for k in a.state_dict())
    with pytest.raises(ValueError, match="arch"):
        CandidateExtractor(_space(8), arch="transformer")


def _tiny_cfg(tmp: Path, **overrides: object) -> TrainConfig:
    """A training run of seconds: tiny weeks, one env, an attention scorer of 16."""
    kw: dict = dict(
        goal="speed",
        train_jobs=[20, 30],
        eval_jobs=[20, 30],
        total_timesteps=128,
        n_envs=1,
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        select_weeks=1,
        bc_weeks=1,
        bc_epochs=2,
        eval_weeks=2,
        eval_every=10_000,
        kit_features=True,
        working_time_features=True,
        hidden=16,
        arch="attention",
        attn_heads=2,
        search_rounds=2,
        search_weeks=2,
        search_samples=2,
        search_noisy=1,
        search_lns_iterations=2,
        search_epochs=2,
        plan_samples=1,
        tensorboard=False,
        out=str(tmp / "models"),
        run_dir=str(tmp / "runs"),
        verbose=0,
    )
    kw.update(overrides)
    return TrainConfig(**kw)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return train(_tiny_cfg(tmp_path_factory.mktemp("si")))


def test_search_loop_runs_end_to_end_and_records_rounds(tiny_run) -> None:  # type: ignore[no-untyped-def]
    side = tiny_run.sidecar
    assert side["config"]["arch"] == "attention" and side["config"]["attn_heads"] == 2
    rounds = side["search_rounds"]
    assert [r["round"] for r in rounds] == [1, 2]
    assert rounds[1]["examples"] > rounds[0]["examples"] > 0  # aggregated over rounds
    assert all(r["replay_failed"] == 0 for r in rounds)
    stages = [h.get("stage", "") for h in side["history"]]
    assert "search round 1" in stages and "search round 2" in stages
    assert side["validation"]["ratio_to_teacher"] == min(
        h["ratio_to_teacher"] for h in side["history"]
    )


def test_attention_model_loads_weights_only_and_plans_as_trained(tiny_run) -> None:  # type: ignore[no-untyped-def]
    from sb3_contrib import MaskablePPO

    import furnsim.rl.net  # noqa: F401

    path = tiny_run.model_path
    with zipfile.ZipFile(path) as z:
        sd = torch.load(z.open("policy.pth"), weights_only=True)
    assert any(k.startswith("features_extractor.attn.") for k in sd)
    weights_only = load_planner(path=path)  # never unpickles the zip's data
    assert weights_only._attn is not None and weights_only._attn["heads"] == 2
    full = PolicyPlanner(MaskablePPO.load(str(path), device="cpu"), tiny_run.sidecar)
    inst = _week(6003, 35)
    a, sa = weights_only.plan(inst)
    b, _ = full.plan(inst)
    assert sa.deadlock is None and _same_starts(a, b)
    # the numpy scorer equals the torch one on a real observation
    obs_fn = _obs()
    from furnsim.sim import Simulator

    sim = Simulator(inst)
    obs_fn.reset(sim)
    d = sim.decision()
    while d is not None and d.candidates.size < 3:
        d = sim.dispatch(int(d.candidates[0]))
    assert d is not None
    o = obs_fn(sim, d)
    ext = full.model.policy.features_extractor
    with torch.no_grad():
        t = ext.scores({k: torch.as_tensor(v[None]) for k, v in o.items()})[0, : d.candidates.size]
    np.testing.assert_allclose(weights_only._logits(sim, d), t.numpy(), atol=1e-4)


def test_sidecar_arch_mismatch_is_refused(tiny_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    side = dict(tiny_run.sidecar)
    for arch, why in (("mlp", "self-attention layer but"), ("graph", "unknown scorer arch")):
        p = tmp_path / f"m-{arch}.zip"
        shutil.copy(tiny_run.model_path, p)
        p.with_suffix(".json").write_text(
            json.dumps({**side, "config": {**side["config"], "arch": arch}}, default=str)
        )
        with pytest.raises(ModelRefused, match=why):
            load_planner(path=p)
    # an mlp model (the shipped empty-buffers policy) whose sidecar claims attention
    from furnsim.rl.policy import MODELS_DIR

    p = tmp_path / "m-claims.zip"
    shutil.copy(MODELS_DIR / "ppo-empty-buffers.zip", p)
    meta = json.loads((MODELS_DIR / "ppo-empty-buffers.json").read_text())
    assert meta["config"].get("arch", "mlp") == "mlp"
    meta["config"].update(arch="attention", attn_heads=4)
    p.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelRefused, match="no attention"):
        load_planner(path=p)


def test_search_configs_load_and_stay_within_the_budget() -> None:
    from furnsim.rl.train import load_config

    repo = Path(__file__).resolve().parents[1]
    for g in ("speed", "efficiency", "empty-buffers"):
        cfg = load_config(repo / "configs" / "train" / f"{g}-search.yaml")
        assert cfg.goal == g and cfg.arch == "attention" and cfg.search_rounds > 0
        assert cfg.max_minutes <= 30 and cfg.torch_threads == 1
        assert (cfg.search_minutes or 0) < cfg.max_minutes
        assert cfg.release_costs is False
    rel = load_config(repo / "configs" / "train" / "empty-buffers-released.yaml")
    assert rel.release_costs is True and rel.goal == "empty-buffers" and rel.max_minutes <= 30
    assert (rel.search_minutes or 0) < rel.max_minutes


def test_release_costs_price_plans_released_and_keep_them_labelable() -> None:
    """``release_costs``: the search prices every candidate as ``ppo`` returns it for Empty
    Buffers (released just in time), and the expert plan it keeps is the candidate itself
    (no holds), so its labels replay it; the rule and pass costs of the training run follow."""
    from furnsim.goals import cost
    from furnsim.rl.train import plan_cost, planner_costs, rule_costs
    from furnsim.solvers.release import release_if_cheaper

    goal = "empty-buffers"
    inst = _week(6003, 40)
    s, sim = get_rule("FIFO").plan(inst)
    plain = float(cost(s, goal, inst))
    rel = release_if_cheaper(inst, s, goal, plain_cost=plain)
    assert rel is not None and rel[1] < plain  # this week's FIFO plan gains from release
    assert plan_cost(inst, s, sim, goal) == pytest.approx(plain)
    assert plan_cost(inst, s, sim, goal, release=True) == pytest.approx(rel[1])
    two = rule_costs([inst], goal, ["FIFO"], release=True)["FIFO"]
    assert two == [pytest.approx(rel[1])]

    pol = load_planner(goal)
    ep = expert_plan(inst, goal, pol, samples=2, rules=True, policy_noisy=2, seed=1, release=True)
    assert not ep.schedule.holds  # the candidate itself, not its released copy
    r = release_if_cheaper(inst, ep.schedule, goal)
    assert ep.cost == pytest.approx(r[1] if r is not None else cost(ep.schedule, goal, inst))
    assert ep.cost <= min(ep.costs.values()) + 1e-9
    ex, _, _ = plan_labels(inst, ep.schedule, _obs())
    assert _same_starts(follow_labels(inst, ex, _obs()), ep.schedule)
    # the greedy pass priced released, as the training run validates with release_costs
    assert planner_costs(pol, [inst], goal, release=True)[0] <= planner_costs(pol, [inst], goal)[0]
    # and the sampling temperature is chosen on the kept pass released, like the reference
    from furnsim.rl.train import tune_sampling

    kept, ksim, _ = pol.plan_best(inst, goal, samples=3, temperature=1.0, seed=0)
    ref = np.array([rel[1]])
    _, scores = tune_sampling(pol, [inst], goal, 3, [1.0], ref, lambda *_: None, release=True)
    assert scores["1.0"] == pytest.approx(plan_cost(inst, kept, ksim, goal, release=True) / rel[1])


def test_a_week_without_a_complete_plan_is_skipped_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search week where every candidate deadlocks (it happened in round 2 of a 32-week
    Empty Buffers run) is counted and skipped; the run goes on, released costs and all."""
    import furnsim.rl.search_imitation as si

    real = si.expert_plan
    calls = {"n": 0}

    def flaky(*a, **k):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        assert k["release"] is True  # the config's release_costs reaches the search
        if calls["n"] == 1:
            raise ValueError("no complete plan among the search candidates")
        return real(*a, **k)

    monkeypatch.setattr(si, "expert_plan", flaky)
    cfg = _tiny_cfg(
        tmp_path,
        goal="empty-buffers",
        total_timesteps=64,
        n_steps=32,
        bc_epochs=1,
        eval_weeks=1,
        hidden=8,
        search_rounds=1,
        search_rules=False,
        search_noisy=0,
        search_lns_iterations=0,
        search_policy_noisy=1,
        search_epochs=1,
        release_costs=True,
    )
    side = train(cfg).sidecar
    (rnd,) = side["search_rounds"]
    assert rnd["no_complete_plan"] == 1 and rnd["examples"] > 0
    assert side["config"]["release_costs"] is True
