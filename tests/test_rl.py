"""Training entry point (tiny smoke run), config loading, shipped models plan validly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

from furnsim.env import DEMO_PLANT, WeekSource  # noqa: E402
from furnsim.rl.policy import MODELS_DIR, load_planner, plan_with_policy  # noqa: E402
from furnsim.rl.train import TrainConfig, load_config, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GOALS = ["speed", "efficiency", "empty-buffers"]

pytestmark = pytest.mark.skipif(not DEMO_PLANT.exists(), reason="demo plant not found")


def test_configs_load_and_are_typed() -> None:
    for g in GOALS:
        cfg = load_config(REPO / "configs" / "train" / f"{g}.yaml")
        assert isinstance(cfg, TrainConfig) and cfg.goal == g and cfg.view == "candidates"
        assert cfg.torch_threads == 1 and cfg.max_minutes <= 30
        assert cfg.vec_env == "fast"  # furnsim.rl.fast_vec_env (tests/test_train_speed.py)
    jsp = load_config(REPO / "configs" / "train" / "jsp.yaml")
    assert jsp.plant == "random-jsp" and jsp.max_minutes <= 30
    rules = load_config(REPO / "configs" / "train" / "rules-speed.yaml")
    assert rules.view == "rules"


def test_config_rejects_unknown_keys(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("goal: speed\nlearning_rat: 0.1\n")
    with pytest.raises(ValueError, match="learning_rat"):
        load_config(p)


@pytest.mark.filterwarnings("ignore:rich is experimental")
def test_tiny_training_run_saves_a_model_that_plans(tmp_path: Path) -> None:
    cfg = TrainConfig(
        goal="speed",
        train_jobs=[20, 30],
        eval_jobs=[20, 30],
        total_timesteps=256,
        curriculum=[[20, 25], [25, 30]],
        progress_bar=True,  # degrades to a note when tqdm/rich are missing
        n_envs=1,
        n_steps=128,
        batch_size=64,
        n_epochs=1,
        select_weeks=1,
        bc_weeks=1,
        bc_epochs=1,
        eval_weeks=1,
        eval_every=10_000,
        teacher="auto",
        out=str(tmp_path / "models"),
        run_dir=str(tmp_path / "runs"),
        verbose=0,
    )
    res = train(cfg)
    assert res.model_path.exists()
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        pass
    else:  # installed with the rl extra: the run leaves TensorBoard event files
        assert list((tmp_path / "runs" / "ppo-speed" / "tb").rglob("events.out.tfevents.*"))
    side = json.loads(res.model_path.with_suffix(".json").read_text())
    for key in ("config", "timesteps", "wall_time_s", "validation", "commit", "teacher"):
        assert key in side
    assert side["timesteps_run"] >= 256
    planner = load_planner(path=res.model_path)
    inst = WeekSource.from_path(None).week(11, 25)
    sched, sim = planner.plan(inst)
    assert sim.deadlock is None and sched.complete


def test_sampled_passes_are_seeded_and_never_worse_than_greedy() -> None:
    from furnsim.goals import cost

    planner = load_planner("speed")
    inst = WeekSource.from_path(None).week(987_653, 60)
    greedy, _ = planner.plan(inst)
    a, sim_a, info_a = planner.plan_best(inst, "speed", samples=3, seed=1)
    b, _, info_b = planner.plan_best(inst, "speed", samples=3, seed=1)
    assert sim_a.deadlock is None and info_a["samples"] == 3
    assert info_a["sample_costs"] == info_b["sample_costs"]  # same seed, same passes
    assert info_a["greedy_cost"] == pytest.approx(cost(greedy, "speed", inst))
    assert cost(a, "speed", inst) == pytest.approx(min(info_a["sample_costs"]))
    assert cost(a, "speed", inst) <= info_a["greedy_cost"] + 1e-9


def test_shipped_jsp_policy_plans_ta01() -> None:
    from furnsim.io import read_jsp
    from furnsim.validate import validate

    ta01 = REPO.parent / "shared" / "benchmarks" / "jsp" / "ta01.txt"
    path = MODELS_DIR / "ppo-jsp.zip"
    if not ta01.exists():
        pytest.skip("shared benchmarks not found")
    assert path.exists() and path.stat().st_size < 5_000_000
    inst = read_jsp(ta01)
    sched, sim = load_planner(path=path).plan(inst)
    assert sim.deadlock is None and validate(sched, inst) == []
    assert sched.makespan >= 1231  # ta01's optimum


def test_missing_model_raises_file_not_found(tmp_path: Path) -> None:
    inst = WeekSource.from_path(None).week(11, 20)
    with pytest.raises(FileNotFoundError):
        plan_with_policy(inst, "speed", models_dir=tmp_path)


@pytest.mark.parametrize("goal", GOALS)
def test_shipped_model_plans_a_demo_week_validly(goal: str) -> None:
    from furnsim.goals import cost
    from furnsim.validate import validate

    path = MODELS_DIR / f"ppo-{goal}.zip"
    assert path.exists(), f"shipped model {path} missing"
    assert path.stat().st_size < 5_000_000
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["goal"] == goal and side["timesteps"] >= 0
    inst = WeekSource.from_path(None).week(987_654, 150)  # a week no training run has seen
    sched, details = plan_with_policy(inst, goal)
    assert "deadlock" not in details
    assert validate(sched, inst) == []
    assert math.isfinite(cost(sched, goal, inst))


@pytest.mark.parametrize("goal", ["speed", "efficiency"])
def test_shipped_policy_plans_the_demo_week_without_a_fallback(goal: str) -> None:
    """Issue 15: the demo week planned by the shipped policy, its greedy pass alone, is no
    dearer than the best of all dispatching rules, so the guard keeps it."""
    from furnsim.io import load_instance
    from furnsim.plan import plan

    if not (MODELS_DIR / f"ppo-{goal}.zip").exists():
        pytest.skip("no shipped model")
    inst = load_instance(REPO / "bom_data" / "demo")
    res = plan(inst, goal, "ppo", passes=1)
    assert res.valid and res.fallback is None, res.fallback
    assert res.method == f"ppo:{goal}"
    assert res.details["policy_cost"] <= res.details["best_rule_cost"]


def test_released_policy_plan_is_measured_against_the_released_rule() -> None:
    """Empty Buffers: ``ppo`` releases its pass just in time (jobs held at STORE). The guard
    releases the best rule's plan too before it compares; the rule's plan alone would flatter
    any released plan. On the demo week the policy (an ATCS clone) released costs 7,227 and
    FIFO released 6,169, so the planner falls back, says so, and returns the cheaper plan."""
    from furnsim.goals import cost
    from furnsim.io import load_instance
    from furnsim.plan import plan
    from furnsim.rules import best_rule
    from furnsim.solvers.release import release_if_cheaper
    from furnsim.validate import validate

    if not (MODELS_DIR / "ppo-empty-buffers.zip").exists():
        pytest.skip("no shipped model")
    inst = load_instance(REPO / "bom_data" / "demo")
    res = plan(inst, "empty-buffers", "ppo", passes=1)
    rule = best_rule(inst, "empty-buffers")
    released = release_if_cheaper(inst, rule.schedule, "empty-buffers")
    assert released is not None and released[1] < rule.cost
    assert res.details["released"] > 0  # the policy's own plan was released
    assert res.fallback is not None and "released just in time" in res.fallback
    assert res.method == rule.schedule.method
    assert res.cost == pytest.approx(released[1]) and res.cost < res.details["policy_cost"]
    assert res.details["unreleased_rule_cost"] == pytest.approx(rule.cost)
    assert validate(res.schedule, inst) == []
    assert cost(res.schedule, "empty-buffers", inst) == pytest.approx(res.cost)


def test_single_rule_of_a_goal_is_the_sidecars_choice() -> None:
    """The held-out tables' baseline: the rule chosen on the selection weeks. The shipped
    Efficiency network is the speed network (a clone of ATCS), so its sidecar names the
    goal's single rule apart from the network's teacher."""
    from furnsim.benchmarks import teacher_of

    side = json.loads((MODELS_DIR / "ppo-efficiency.json").read_text())
    assert side["teacher"] == "ATCS" and side["trained_goal"] == "speed"
    assert teacher_of("efficiency") == "PTWINQS" == side["single_rule"]
    assert teacher_of("speed") == json.loads((MODELS_DIR / "ppo-speed.json").read_text())["teacher"]


def test_plan_service_uses_the_policy() -> None:
    from furnsim.plan import plan

    if not (MODELS_DIR / "ppo-speed.zip").exists():
        pytest.skip("no shipped speed model")
    inst = WeekSource.from_path(None).week(987_655, 60)
    res = plan(inst, "speed", "ppo", guard=False)
    assert res.valid
    assert res.fallback is None and res.method.startswith("ppo")
    # with the guard (default) the result is never worse than the best rule, and says why
    guarded = plan(inst, "speed", "ppo")
    assert guarded.valid
    assert guarded.cost <= guarded.details["policy_cost"] + 1e-9
    assert guarded.cost <= guarded.details["best_rule_cost"] + 1e-9
    if guarded.method.startswith("rule:"):
        assert guarded.fallback and "worse than the best rule" in guarded.fallback
    else:
        assert guarded.fallback is None


def test_light_loader_reads_the_same_scorer_as_the_full_model() -> None:
    """Planning reads the scorer from the zip without building SB3's model; same weights,
    same plan as the policy of the fully loaded MaskablePPO."""
    from furnsim.rl.policy import PolicyPlanner, _load_model

    path = MODELS_DIR / "ppo-speed.zip"
    light = load_planner(path=path)
    assert light.model is None  # the light path was taken
    full = PolicyPlanner(_load_model(path), light.meta)
    for (wa, ba), (wb, bb) in zip(light._layers, full._layers, strict=True):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(ba, bb)
    inst = WeekSource.from_path(None).week(4242, 40)
    a, _ = light.plan(inst)
    b, _ = full.plan(inst)
    np.testing.assert_array_equal(a.op_machine, b.op_machine)
    np.testing.assert_array_equal(a.times["start"], b.times["start"])
