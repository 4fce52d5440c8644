"""The optional working-time and kit features of the candidates view (recorded in a model's
sidecar): the 23 default features are unchanged, the extra columns say what the calendar says."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from furnsim.env.observations import CANDIDATE_FEATURES, KIT_FEATURES, CandidateObservation
from furnsim.env.working_time import WORKING_TIME_CANDIDATE_FEATURES
from furnsim.io import load_instance
from furnsim.model import Instance
from furnsim.rules import get_rule
from furnsim.sim import Simulator

REPO = Path(__file__).resolve().parents[1]


@cache
def week(name: str, n_orders: int = 8) -> Instance:
    full = load_instance(REPO / "bom_data" / name / "plant.yaml")
    return Instance(
        full.plant, full.catalog, full.orders[:n_orders], name=name, plan_start=full.plan_start
    )


def _rows(
    inst: Instance, steps: int = 400
) -> list[tuple[float, np.ndarray, np.ndarray, Simulator]]:
    """(time, default rows, rows with kit + working-time features) of the first decisions."""
    base = CandidateObservation(64)
    full = CandidateObservation(64, kit_features=True, working_time=True)
    rule = get_rule("EDD")
    sim = Simulator(inst)
    base.reset(sim)
    full.reset(sim)
    out = []
    d = sim.reset()
    while d is not None and len(out) < steps:
        a, b = base(sim, d), full(sim, d)
        k = int(a["mask"].sum())
        out.append((d.time, a["candidates"][:k], b["candidates"][:k], sim))
        d = sim.dispatch(rule.choose(sim, d))
    return out


def test_extra_columns_follow_the_default_ones() -> None:
    n = len(CANDIDATE_FEATURES)
    assert CandidateObservation(8).space["candidates"].shape == (8, n)
    wide = CandidateObservation(8, kit_features=True, working_time=True)
    assert wide.space["candidates"].shape == (8, n + len(KIT_FEATURES) + 3)
    assert len(WORKING_TIME_CANDIDATE_FEATURES) == 3


def test_features_on_a_24_7_week_and_on_the_shift_week() -> None:
    rows = _rows(week("demo-assembly"))
    for _, a, b, _ in rows:
        np.testing.assert_array_equal(b[:, : a.shape[1]], a)  # default features unchanged
        np.testing.assert_array_equal(b[:, -3:-1], np.tile([10.0, 1.0], (a.shape[0], 1)))
        assert np.all(b[:, -1] == 0.0)  # 24/7: every work center works now
    rows = _rows(week("demo"))
    ends = np.concatenate([b[:, -3] for _, _, b, _ in rows])
    fits = np.concatenate([b[:, -2] for _, _, b, _ in rows])
    nxt = np.concatenate([b[:, -1] for _, _, b, _ in rows])
    assert ends.max() <= 10.0 and np.isin(fits, [0.0, 1.0]).all() and nxt.min() >= 0.0
    assert ends.std() > 0  # the window end moves with the clock
    for _, a, b, _ in rows:
        np.testing.assert_array_equal(b[:, : a.shape[1]], a)
        closed = b[:, -3] == 0.0  # no time left in the window: nothing fits
        assert np.all(b[closed, -2] == 0.0)


def test_sidecar_flags_decide_the_input_size(tmp_path: Path) -> None:
    from furnsim.errors import ModelRefused
    from furnsim.rl.policy import MODELS_DIR, load_planner

    src = MODELS_DIR / "ppo-speed.zip"
    side = json.loads(src.with_suffix(".json").read_text())
    cfg = side["config"]
    planner = load_planner(path=src)
    n = (
        len(CANDIDATE_FEATURES)
        + len(KIT_FEATURES) * bool(cfg.get("kit_features"))
        + 3 * bool(cfg.get("working_time_features"))
    )
    assert planner.obs_fn.space["candidates"].shape[1] == n
    # the same weights with a sidecar that drops the working-time flag: refused, not misread
    if cfg.get("working_time_features"):
        dst = tmp_path / "ppo-speed.zip"
        shutil.copy(src, dst)
        cfg["working_time_features"] = False
        dst.with_suffix(".json").write_text(json.dumps(side))
        with pytest.raises(ModelRefused, match="features per candidate"):
            load_planner(path=dst)
