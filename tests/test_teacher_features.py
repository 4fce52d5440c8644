"""The optional teacher columns (``teacher_features``): a named rule's rank and pick.

A policy that sees its teacher's pick can clone the teacher exactly; these tests check that the
pick column is the rule's own choice at every decision, that the columns ride along with the
kit and working-time blocks, that the K-cut keeps the pick, and that the planner builds the
same inputs from a sidecar and refuses a sidecar that names no rule."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from furnsim.env.observations import (
    CANDIDATE_FEATURES,
    CONTEXT_FEATURES,
    TEACHER_FEATURES,
    CandidateObservation,
)
from furnsim.env.weeks import RandomJobShopSource, WeekSource
from furnsim.rules import get_rule, rule_names
from furnsim.sim import Simulator

REPO = Path(__file__).resolve().parents[1]


def _walk(inst, obs_fn, rule):  # type: ignore[no-untyped-def]
    """Follow ``rule`` through ``inst``; yield (observation, the rule's job) per decision."""
    sim = Simulator(inst)
    obs_fn.reset(sim)
    d = sim.decision()
    while d is not None:
        j = rule.choose(sim, d)
        yield obs_fn(sim, d), obs_fn.slots.copy(), j, d
        d = sim.dispatch(j)


@pytest.mark.parametrize("teacher", ["LWKRMOD", "SPT", "MWKR"])
def test_pick_column_is_the_rules_choice_on_job_shops(teacher: str) -> None:
    src = RandomJobShopSource(jobs=(8, 15), machines=(4, 8))
    obs_fn = CandidateObservation(64, teacher=teacher)
    F = len(CANDIDATE_FEATURES) + len(TEACHER_FEATURES)
    assert obs_fn.space["candidates"].shape == (64, F)
    n = 0
    for seed in range(4):
        for o, slots, j, d in _walk(src.week(seed), obs_fn, get_rule(teacher)):
            k = slots.size
            assert k == d.candidates.size
            pick = np.flatnonzero(o["candidates"][:k, -1] > 0)
            assert pick.size == 1 and slots[pick[0]] == j  # exactly the rule's choice
            r = o["candidates"][:k, -2]
            assert r[pick[0]] == 0.0 and (k == 1 or r.max() == 1.0)
            np.testing.assert_allclose(np.sort(r), np.arange(k) / max(k - 1, 1), rtol=1e-6)
            assert not o["candidates"][k:].any()  # padding stays empty
            n += 1
    assert n > 100


def test_columns_follow_the_kit_and_working_time_blocks() -> None:
    inst = WeekSource.from_path(None, (30, 40)).week(7)
    rule = get_rule("LWKRMOD")
    base = CandidateObservation(64, kit_features=True, working_time=True)
    full = CandidateObservation(64, kit_features=True, working_time=True, teacher="lwkrmod")
    assert full.teacher == "LWKRMOD"
    sim = Simulator(inst)
    base.reset(sim)
    full.reset(sim)
    d = sim.decision()
    checked = 0
    while d is not None and checked < 60:
        a, b = base(sim, d), full(sim, d)
        k = base.slots.size
        np.testing.assert_array_equal(a["candidates"][:k], b["candidates"][:k, :-2])
        np.testing.assert_array_equal(a["context"], b["context"])
        j = rule.choose(sim, d)
        if full.slots.size == d.candidates.size:
            assert full.slots[np.flatnonzero(b["candidates"][:k, -1])[0]] == j
        checked += 1
        d = sim.dispatch(j)
    assert checked == 60


def test_the_cut_keeps_the_teachers_pick() -> None:
    src = RandomJobShopSource(jobs=(40, 40), machines=(3, 3))
    obs_fn = CandidateObservation(4, teacher="LWKRMOD")  # K = 4 of up to 40 candidates
    cut = 0
    for o, slots, j, d in _walk(src.week(3), obs_fn, get_rule("LWKRMOD")):
        assert j in slots  # the pick is always among the kept slots
        assert o["candidates"][np.flatnonzero(slots == j)[0], -1] == 1.0
        cut += d.candidates.size > 4
    assert cut > 20


def test_random_is_not_a_teacher() -> None:
    with pytest.raises(ValueError, match="deterministic"):
        CandidateObservation(8, teacher="RANDOM")
    with pytest.raises(KeyError, match="unknown rule"):
        CandidateObservation(8, teacher="NOPE")


def _tiny_model(tmp_path: Path, teacher: str | None) -> Path:
    """A model file with a random 2-layer scorer that reads the teacher columns."""
    import torch

    F = len(CANDIDATE_FEATURES) + len(CONTEXT_FEATURES) + (2 if teacher else 0)
    g = torch.Generator().manual_seed(0)
    sd = {
        "features_extractor.enc.0.weight": torch.randn(16, F, generator=g),
        "features_extractor.enc.0.bias": torch.zeros(16),
        "features_extractor.enc.2.weight": torch.randn(16, 16, generator=g),
        "features_extractor.enc.2.bias": torch.zeros(16),
        "features_extractor.score.weight": torch.randn(1, 16, generator=g),
        "features_extractor.score.bias": torch.zeros(1),
    }
    p = tmp_path / "m.zip"
    buf = tmp_path / "policy.pth"
    torch.save(sd, buf)
    with zipfile.ZipFile(p, "w") as z:
        z.write(buf, "policy.pth")
    cfg = {"max_candidates": 64, "view": "candidates"}
    if teacher is not None:
        cfg["teacher_features"] = teacher
    meta = {"goal": "speed", "view": "candidates", "config": cfg}
    p.with_suffix(".json").write_text(json.dumps(meta))
    return p


def _follower(tmp_path: Path, teacher: str) -> Path:
    """A model whose score is only its teacher-pick input: it plans as the teacher does."""
    import torch

    p = _tiny_model(tmp_path, teacher)
    F = len(CANDIDATE_FEATURES) + len(CONTEXT_FEATURES) + 2
    pick = len(CANDIDATE_FEATURES) + 1  # rows first, then the context
    w0 = torch.zeros(16, F)
    w0[0, pick] = 3.0
    w2 = torch.zeros(16, 16)
    w2[0, 0] = 3.0
    ws = torch.zeros(1, 16)
    ws[0, 0] = 10.0
    sd = {
        "features_extractor.enc.0.weight": w0,
        "features_extractor.enc.0.bias": torch.zeros(16),
        "features_extractor.enc.2.weight": w2,
        "features_extractor.enc.2.bias": torch.zeros(16),
        "features_extractor.score.weight": ws,
        "features_extractor.score.bias": torch.zeros(1),
    }
    torch.save(sd, tmp_path / "policy.pth")
    with zipfile.ZipFile(p, "w") as z:
        z.write(tmp_path / "policy.pth", "policy.pth")
    return p


@pytest.mark.parametrize("teacher", ["LWKRMOD", "SPT"])
def test_planner_builds_the_teacher_columns_from_the_sidecar(tmp_path: Path, teacher: str) -> None:
    """A greedy pass of a scorer that reads only the pick column is the teacher's plan."""
    from furnsim.rl.policy import load_planner
    from furnsim.rules import run_policy

    pl = load_planner(path=_follower(tmp_path, teacher.lower()))
    assert pl.obs_fn.teacher == teacher
    for seed in range(3):
        inst = RandomJobShopSource(jobs=(12, 20), machines=(5, 10)).week(seed)
        sched, _ = pl.plan(inst)
        ref, _ = run_policy(inst, get_rule(teacher))
        np.testing.assert_array_equal(sched.op_machine, ref.op_machine)
        for key, v in ref.times.items():
            np.testing.assert_array_equal(sched.times[key], v, err_msg=key)


@pytest.mark.parametrize(
    ("teacher", "why"),
    [("NOPE", "not a rule name"), (3, "not a rule name"), ("RANDOM", "not a rule name")],
)
def test_a_sidecar_naming_no_rule_is_refused(tmp_path: Path, teacher: object, why: str) -> None:
    from furnsim.rl.policy import ModelRefused, load_planner

    p = _tiny_model(tmp_path, "LWKRMOD")
    meta = json.loads(p.with_suffix(".json").read_text())
    meta["config"]["teacher_features"] = teacher
    p.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelRefused, match=why):
        load_planner(path=p)


def test_input_size_mismatch_is_refused(tmp_path: Path) -> None:
    from furnsim.rl.policy import ModelRefused, load_planner

    p = _tiny_model(tmp_path, None)  # 32 inputs
    meta = json.loads(p.with_suffix(".json").read_text())
    meta["config"]["teacher_features"] = "LWKRMOD"  # the sidecar says 34
    p.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelRefused, match="reads 32 features"):
        load_planner(path=p)


def test_add_teacher_keeps_the_start_models_plans_until_a_fit(tmp_path: Path) -> None:
    """A job-shop scorer with zero-weighted LWKRMOD columns: the same scores on every
    decision, saved and loaded from weights alone; a fit then reads the columns."""
    from furnsim.rl.policy import PolicyPlanner, _load_model, _read_sidecar, load_planner
    from furnsim.rl.self_label import add_teacher

    from ._tiny import plain_jsp_model

    src = plain_jsp_model(tmp_path / "start" / "ppo-jsp.zip")
    model = _load_model(src)
    meta = add_teacher(model, _read_sidecar(src), "lwkrmod")
    assert meta["config"]["teacher_features"] == "LWKRMOD"
    with pytest.raises(ValueError, match="already reads"):
        add_teacher(model, meta)
    dest = tmp_path / "ppo-jsp.zip"
    model.save(str(dest))
    dest.with_suffix(".json").write_text(json.dumps(meta))
    old = load_planner(path=src)
    new, live = load_planner(path=dest), PolicyPlanner(model, meta)
    assert new.obs_fn.teacher == "LWKRMOD" and old.obs_fn.teacher is None
    inst = RandomJobShopSource(jobs=(15, 15), machines=(10, 10)).week(11)
    sim = Simulator(inst)
    for pl in (old, new, live):
        pl.obs_fn.reset(sim)
    d = sim.decision()
    n = 0
    while d is not None:
        ja, a = old.scores(sim, d)
        jb, b = new.scores(sim, d)
        jc, c = live.scores(sim, d)
        assert np.array_equal(ja, jb) and np.array_equal(ja, jc)
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(c, a, rtol=1e-5, atol=1e-5)
        n += d.candidates.size > 1
        d = sim.dispatch(int(ja[np.argmax(a)]))
    assert n > 50
    # the new columns are inputs: a weight on teacher_pick changes the scores
    import torch

    ext = model.policy.features_extractor
    with torch.no_grad():
        ext.enc[0].weight[:, len(CANDIDATE_FEATURES) + 1] = 1.0
    sim = Simulator(inst)
    live = PolicyPlanner(model, meta)
    live.obs_fn.reset(sim)
    d = sim.decision()
    while d.candidates.size < 3:
        d = sim.dispatch(int(d.candidates[0]))
    old.obs_fn.reset(sim)
    assert not np.allclose(live.scores(sim, d)[1], old.scores(sim, d)[1])


@pytest.mark.parametrize("teacher", [r for r in rule_names(deterministic_only=True)])
def test_pick_column_is_every_rules_choice_on_the_assembly_plant(teacher: str) -> None:
    """On a demo-assembly week (setups, hard buffers, kits, calendars) too: the pick column
    is the rule's own choice at every decision, for every deterministic rule."""
    inst = WeekSource.from_path(REPO / "bom_data" / "demo-assembly" / "plant.yaml", (20, 30))
    obs_fn = CandidateObservation(64, teacher=teacher)
    n = 0
    for o, slots, j, d in _walk(inst.week(5), obs_fn, get_rule(teacher)):
        if d.candidates.size > 64:
            continue
        pick = np.flatnonzero(o["candidates"][: slots.size, -1] > 0)
        assert pick.size == 1 and slots[pick[0]] == j, (teacher, n)
        n += 1
        if n >= 150:
            break
    assert n >= 50
