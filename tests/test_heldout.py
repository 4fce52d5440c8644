"""The held-out evaluation harness (furnsim.heldout): rows, resumability, the ratio table, the
best-known file and its week fingerprints (which catch costs of another plant or week)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from furnsim.benchmarks import HELD_OUT_SEED, best_known, held_out_weeks
from furnsim.heldout import (
    best_known_from,
    check_best_known,
    method_names,
    plan_row,
    ratio_stats,
    read_rows,
    run_rows,
    table,
    week_fingerprint,
)
from furnsim.io import load_instance
from furnsim.model import Instance

DEMO = Path(__file__).resolve().parents[1] / "bom_data" / "demo" / "plant.yaml"


@cache
def _demo() -> Instance:
    return load_instance(DEMO)


@cache
def small(n_orders: int = 4) -> Instance:
    full = _demo()
    return Instance(
        full.plant, full.catalog, full.orders[:n_orders], name="s", plan_start=full.plan_start
    )


def _row(seed: int, goal: str, method: str, cost: float, valid: bool = True) -> dict:
    return {
        "seed": seed,
        "goal": goal,
        "method": method,
        "clock": "cpu",
        "model": "",
        "cost": cost,
        "valid": valid,
        "lb": 50.0,
        "fingerprint": f"fp{seed}",
        "cpu_s": 1.0,
        "wall_s": 2.0,
    }


def test_method_names() -> None:
    assert method_names(["single-rule", "lns", "cpsat", "ppo-lns"], 10) == [
        "single-rule",
        "lns:10",
        "cpsat:10",
        "ppo-lns:10",
    ]
    with pytest.raises(ValueError, match="unknown method"):
        method_names(["sa"], 10)


def test_ratio_stats_by_hand() -> None:
    m, rs, better, equal, worse = ratio_stats([(90.0, 100.0), (200.0, 100.0), (50.0, 50.0)])
    assert m == pytest.approx((0.9 + 2.0 + 1.0) / 3)
    assert rs == pytest.approx(340.0 / 250.0)
    assert (better, equal, worse) == (1, 1, 1)


def test_table_ratios_gaps_and_invalid_rows() -> None:
    rows = [
        _row(1, "speed", "lns:10", 90.0),
        _row(1, "speed", "noisy:10", 100.0),
        _row(2, "speed", "lns:10", 100.0),
        _row(2, "speed", "noisy:10", 100.0),
        _row(3, "speed", "lns:10", 10.0, valid=False),  # never counted
        _row(3, "speed", "noisy:10", 100.0),
    ]
    out = table(rows, [("lns:10", "noisy:10", 0.95)])
    line = next(x for x in out.splitlines() if "lns:10 / noisy:10" in x)
    assert "| 2 |" in line and "**0.950**" in line and "| 1 / 1 / 0 |" in line
    assert line.endswith("| yes |")
    # best known = the cheapest valid row: noisy's gap on week 1 is 100/90 - 1
    gap = next(x for x in out.splitlines() if "| speed | noisy:10 |" in x)
    assert f"{100 * (100 / 90 - 1) / 3:.1f} %" in gap
    assert "| 2/3 |" in next(x for x in out.splitlines() if "| speed | lns:10 |" in x)


def test_best_known_keeps_the_cheapest_and_drops_other_weeks() -> None:
    old = {
        "speed": {
            "1": {"cost": 80.0, "source": "old", "fingerprint": "fp1"},  # same week: kept
            "2": {"cost": 10.0, "source": "stale", "fingerprint": "other"},  # another week
            "3": {"cost": 10.0, "source": "no print"},  # unknown week: dropped
        }
    }
    rows = [_row(1, "speed", "lns:10", 90.0), _row(2, "speed", "lns:10", 95.0)]
    rows.append(_row(2, "speed", "noisy:10", 1.0, valid=False))
    rows.append(_row(1, "speed", "ppo-lns:10", 79.99996))  # 80.0 as stored: a tie
    bk = best_known_from(rows, old, source="t.jsonl")
    assert bk["speed"]["1"]["cost"] == 80.0 and bk["speed"]["1"]["source"] == "old"
    assert bk["speed"]["2"] == {"cost": 95.0, "source": "t.jsonl lns:10", "fingerprint": "fp2"}
    assert "3" not in bk["speed"]


def test_fingerprint_tells_weeks_apart() -> None:
    a, b = small(4), small(5)
    assert week_fingerprint(a) == week_fingerprint(small(4)) != week_fingerprint(b)


def test_rows_are_valid_measured_and_resumable(tmp_path: Path) -> None:
    inst = small()
    r = plan_row(inst, 7, "speed", "single-rule")
    assert r["valid"] and r["cost"] >= r["lb"] > 0 and r["cpu_s"] > 0
    assert r["fingerprint"] == week_fingerprint(inst) and r["used"].startswith("rule:")
    out = tmp_path / "rows.jsonl"
    said: list[str] = []
    methods = ["single-rule", "week-rule", "noisy:0.5"]
    rows = run_rows([(7, inst)], ["speed"], methods, out, say=said.append)
    assert len(rows) == 3 and len(said) == 3 and all(x["valid"] for x in rows)
    by = {x["method"]: x["cost"] for x in rows}
    assert by["noisy:0.5"] <= by["week-rule"] + 1e-9 <= by["single-rule"] + 2e-9
    assert rows[-1]["cpu_s"] < 0.5 + 2.0  # a CPU budget (the rules count into it)
    again = run_rows([(7, inst)], ["speed"], methods, out, say=said.append)
    assert len(again) == 3 and len(said) == 3  # nothing planned twice
    assert len(out.read_text().splitlines()) == 3


def test_a_row_with_another_search_seed_plans_with_it_and_says_so(monkeypatch) -> None:
    import furnsim.planners as planners

    seen: list[int | None] = []
    real = planners.get_planner

    class Spy:
        def __init__(self, name: str) -> None:
            self.inner = real(name)

        def plan(self, inst, goal, budget, state):
            seen.append(state.seed)
            return self.inner.plan(inst, goal, budget, state)

    monkeypatch.setattr(planners, "get_planner", Spy)
    a = plan_row(small(), 7, "speed", "single-rule")
    b = plan_row(small(), 7, "speed", "single-rule", search_seed=3)
    assert seen == [0, 3]
    assert "search_seed" not in a and b["search_seed"] == 3  # the table's rows stay as they were
    assert a["cost"] == b["cost"]  # a rule has no random draw


def test_rows_of_another_search_seed_resume_by_seed_and_stay_out_of_the_table(tmp_path) -> None:
    out = tmp_path / "rows.jsonl"
    said: list[str] = []
    run_rows([(7, small())], ["speed"], ["single-rule"], out, say=said.append)
    rows = run_rows([(7, small())], ["speed"], ["single-rule"], out, say=said.append, search_seed=1)
    assert len(said) == 2  # seed 1 is not done by the seed-0 row
    assert [r.get("search_seed", 0) for r in rows] == [0, 1]
    run_rows([(7, small())], ["speed"], ["single-rule"], out, say=said.append, search_seed=1)
    assert len(said) == 2  # ... but by its own
    assert [r.get("search_seed", 0) for r in read_rows([out])] == [0]


def test_shipped_best_known_belongs_to_the_held_out_weeks() -> None:
    """The costs in furnsim/data/best_known.json were found on these very weeks (plant and
    generator): a change of either makes the fingerprints differ and this test fail."""
    bk = best_known()
    assert set(bk) == {"speed", "efficiency", "empty-buffers"}
    assert all(str(HELD_OUT_SEED) in v for v in bk.values())
    assert all(e.get("fingerprint") for v in bk.values() for e in v.values())
    week = held_out_weeks(1)[0]
    assert check_best_known(bk, [(HELD_OUT_SEED, week)]) == []
    stale = json.loads(json.dumps(bk))
    stale["speed"][str(HELD_OUT_SEED)]["fingerprint"] = "0" * 16
    assert check_best_known(stale, [(HELD_OUT_SEED, week)])


def test_per_goal_targets() -> None:
    rows = [
        _row(1, "speed", "ppo-lns:10", 92.0),
        _row(1, "speed", "single-rule", 100.0),
        _row(1, "efficiency", "ppo-lns:10", 92.0),
        _row(1, "efficiency", "single-rule", 100.0),
        _row(1, "empty-buffers", "ppo-lns:10", 92.0),
        _row(1, "empty-buffers", "single-rule", 100.0),
    ]
    targets = {"speed": 0.95, "efficiency": 0.90}  # no empty-buffers target: no line
    out = [x for x in table(rows, [("ppo-lns:10", "single-rule", targets)]).splitlines()]
    sp = next(x for x in out if x.startswith("| speed | ppo-lns:10 / single-rule"))
    ef = next(x for x in out if x.startswith("| efficiency | ppo-lns:10 / single-rule"))
    assert "**0.920**" in sp and "| ≤ 0.95 | yes |" in sp
    assert "**0.920**" in ef and "| ≤ 0.9 | no |" in ef
    assert not any(x.startswith("| empty-buffers | ppo-lns:10 / single-rule") for x in out)


def test_read_rows_merges_files_later_rows_win(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    old = _row(1, "speed", "lns:10", 90.0)
    a.write_text(
        "\n".join(
            json.dumps(r)
            for r in (old, _row(1, "speed", "noisy:10", 95.0), {**old, "clock": "wall"})
        )
        + "\n"
    )
    b.write_text(
        json.dumps(_row(1, "speed", "lns:10", 80.0))
        + "\n"
        + json.dumps(_row(1, "speed", "ppo-lns:10", 85.0))
        + "\n"
    )
    rows = read_rows([a, b], "cpu")
    got = {r["method"]: r["cost"] for r in rows}
    assert got == {"lns:10": 80.0, "noisy:10": 95.0, "ppo-lns:10": 85.0}
    assert len(read_rows([a, b], "wall")) == 1


def test_ppo_lns_row_names_its_model_and_the_policy_moves() -> None:
    from furnsim.heldout import model_tag

    if model_tag("speed") == "none":  # pragma: no cover - no shipped model
        pytest.skip("no shipped speed policy")
    r = plan_row(small(), 7, "speed", "ppo-lns:1.5")  # start: rules + policy pass
    assert r["valid"] and r["used"] == "ppo-lns" and r["model"] == model_tag("speed")
    # the default neighbourhoods draw policy-window moves (1 of 4 kinds) among >= 10 neighbours
    assert r["info"]["iterations"] >= 10, r["info"]
    assert set(r["info"]["policy_moves"]) == {"policy-window"}
    # Empty Buffers: the policy's pass is a start candidate, its moves are not drawn
    e = plan_row(small(), 7, "empty-buffers", "ppo-lns:1.5")
    assert e["valid"] and e["used"] == "ppo-lns" and e["model"] == model_tag("empty-buffers")
    assert e["info"]["iterations"] >= 10 and not e["info"].get("policy_moves"), e["info"]
