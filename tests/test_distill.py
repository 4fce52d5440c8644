"""Distillation of a rule and a policy into one job-shop policy (furnsim/rl/distill.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from furnsim.env.weeks import RandomJobShopSource
from furnsim.rl.distill import distill, mixture_examples
from furnsim.rl.policy import PolicyPlanner, _load_model, _read_sidecar, load_planner
from furnsim.rl.self_label import add_teacher, makespan
from furnsim.rules import get_rule
from furnsim.sim import Simulator

from ._tiny import plain_jsp_model

JSP = Path(__file__).resolve().parents[1] / "furnsim/data/models/ppo-jsp.zip"


@pytest.fixture(scope="module")
def plain_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A job-shop scorer without teacher columns (a fresh one: the shipped model has them)."""
    return plain_jsp_model(tmp_path_factory.mktemp("plain") / "ppo-jsp.zip")


@pytest.fixture(scope="module")
def student_path(tmp_path_factory: pytest.TempPathFactory, plain_path: Path) -> Path:
    """That scorer with zero-weighted LWKRMOD columns, saved."""
    model = _load_model(plain_path)
    meta = add_teacher(model, _read_sidecar(plain_path), "LWKRMOD")
    meta["taillard"] = {"sampled_mean_gap": 0.5}  # the student's scores: not the distilled one's
    p = tmp_path_factory.mktemp("student") / "ppo-jsp.zip"
    model.save(str(p))
    p.with_suffix(".json").write_text(json.dumps(meta))
    return p


def _shop(seed: int = 4) -> object:
    return RandomJobShopSource(jobs=(12, 12), machines=(6, 6)).week(seed)


def test_eps_zero_is_the_rule(student_path: Path) -> None:
    student, guide = load_planner(path=student_path), load_planner(path=JSP)
    rule = get_rule("LWKRMOD")
    inst = _shop()
    ex, span = mixture_examples(student, guide, rule, inst, 0.0, 1.0, np.random.default_rng(0))
    assert span == makespan(rule.plan(inst)[0])
    assert len(ex) > 20
    for i, a in enumerate(ex.action):
        t = ex.soft[i]
        assert t[a] == 1.0 and t.sum() == 1.0
        assert ex.rows[i][a, -1] == 1.0  # the action is the slot of the rule's pick


@pytest.mark.parametrize("eps", [0.3, 1.0])
def test_targets_mix_the_pick_and_the_guides_softmax(student_path: Path, eps: float) -> None:
    student, guide = load_planner(path=student_path), load_planner(path=JSP)
    rule = get_rule("LWKRMOD")
    inst = _shop(5)
    ex, _ = mixture_examples(student, guide, rule, inst, eps, 0.5, np.random.default_rng(1))
    for i, a in enumerate(ex.action):
        t = ex.soft[i]
        assert abs(t.sum() - 1.0) < 1e-6 and t[a] >= 1.0 - eps - 1e-6
    # the first decision's state is known: recompute its target from the guide's scores
    sim = Simulator(inst)
    student.obs_fn.reset(sim)
    guide.obs_fn.reset(sim)
    d = sim.skip_singles()
    student.obs_fn(sim, d)
    slots = student.obs_fn.slots
    jobs, s = guide.scores(sim, d)
    p = np.exp((s - s.max()) / 0.5)
    want = eps * np.array([p[np.flatnonzero(jobs == j)[0]] for j in slots]) / p.sum()
    want[np.flatnonzero(slots == rule.choose(sim, d))[0]] += 1.0 - eps
    np.testing.assert_allclose(ex.soft[0], want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="eps"):
        mixture_examples(student, guide, rule, inst, 1.5, 1.0, np.random.default_rng(0))


def test_a_student_without_teacher_columns_is_refused(tmp_path: Path, plain_path: Path) -> None:
    assert json.loads(JSP.with_suffix(".json").read_text())["config"]["teacher_features"]
    with pytest.raises(ValueError, match="does not read a rule's pick"):
        distill(plain_path, JSP, tmp_path / "x.zip", instances=1, passes=1, valid=1)


def test_distill_fits_saves_and_picks_the_temperature(student_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "d" / "ppo-jsp.zip"
    rec = distill(
        student_path,
        JSP,
        out,
        eps=0.0,  # the rule itself: the fit must learn to follow the pick column
        instances=6,
        passes=1,
        sizes="10x8",
        epochs=30,
        lr=3e-3,
        valid=4,
        valid_sizes="10x8",
        valid_samples=2,
        temperatures=(0.5, 1.0),
        log=lambda *_: None,
    )
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["distill"]["examples"] == rec["examples"] > 100
    by_tau = {float(k): v for k, v in side["distill"]["val_best_of_samples_ratio"].items()}
    assert side["plan_temperature"] == min(by_tau, key=lambda t: by_tau[t])
    assert side["config"]["teacher_features"] == "LWKRMOD"
    assert "taillard" not in side and "student_taillard" in side["distill"]
    assert rec["loss"] < rec["loss_before"] and rec["accuracy"] > 0.95
    pl = load_planner(path=out)  # planned from the weights alone
    inst = _shop(9)
    ours, _ = pl.plan(inst)
    assert makespan(ours) > 0
    live = PolicyPlanner(_load_model(out), side)
    assert makespan(live.plan(inst)[0]) == makespan(ours)


def test_tune_temperature_writes_the_validated_choice(tmp_path: Path) -> None:
    import shutil

    from furnsim.rl.distill import main, tune_temperature

    p = tmp_path / "ppo-jsp.zip"
    shutil.copy(JSP, p)
    shutil.copy(JSP.with_suffix(".json"), p.with_suffix(".json"))
    rec = tune_temperature(
        p, (0.25, 1.0, 4.0), valid=3, valid_sizes="10x6", samples=4, log=lambda *_: None
    )
    side = json.loads(p.with_suffix(".json").read_text())
    by_tau = rec["best_of_samples_ratio"]
    assert set(by_tau) == {0.25, 1.0, 4.0}
    assert side["plan_temperature"] == rec["chosen"] == min(by_tau, key=lambda t: by_tau[t])
    assert side["temperature_validation"]["samples"] == 4
    assert load_planner(path=p).meta["plan_temperature"] == rec["chosen"]
    with pytest.raises(SystemExit):
        main(["--student", str(p)])  # distilling needs --guide and --out
