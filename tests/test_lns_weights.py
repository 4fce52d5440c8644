"""How ``lns`` draws its neighbourhoods: success rate, per second of the moves' own time
(``per_second``, with a time limit), and unchanged -- reproducible -- for a fixed number of
neighbours."""

from __future__ import annotations

import time

import numpy as np
import pytest

from furnsim.solvers.lns import TIMED_AFTER, kind_weights, lns
from furnsim.validate import validate


def _moves(**tried_improved: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {k: {"tried": t, "improved": i} for k, (t, i) in tried_improved.items()}


def test_kind_weights_by_hand() -> None:
    kinds = ("window", "group", "policy-window")
    mv = _moves(window=(10, 1), group=(10, 1), **{"policy-window": (10, 1)})
    rate = 2 / 11
    # success rates alone
    np.testing.assert_allclose(kind_weights(kinds, mv), [rate] * 3)
    # with a prior
    np.testing.assert_allclose(
        kind_weights(kinds, mv, prior=np.array([1.0, 1.0, 0.5])), [rate, rate, rate / 2]
    )
    # per second: the other moves take 0.1 and 0.3 s (mean 0.2 s), the policy's 0.6 s a
    # move -- a third of the improvements per second; the others keep their rates
    w = kind_weights(kinds, mv, {"window": 1.0, "group": 3.0, "policy-window": 6.0})
    np.testing.assert_allclose(w, [rate, rate, rate / 3])
    # a policy kind with fewer than TIMED_AFTER moves keeps its rate (its time is not known)
    few = _moves(window=(10, 1), group=(10, 1), **{"policy-window": (TIMED_AFTER - 1, 0)})
    w = kind_weights(kinds, few, {"window": 1.0, "group": 1.0, "policy-window": 100.0})
    assert w[2] == pytest.approx(1.0 / TIMED_AFTER)
    # nothing spent yet: the rates
    np.testing.assert_allclose(kind_weights(kinds, mv, dict.fromkeys(kinds, 0.0)), [rate] * 3)
    # without a policy kind the times change nothing (plain lns draws as before)
    plain = ("window", "group", "orders")
    mv3 = _moves(window=(10, 1), group=(20, 4), orders=(10, 0))
    np.testing.assert_allclose(
        kind_weights(plain, mv3, {"window": 1.0, "group": 9.0, "orders": 0.1}),
        kind_weights(plain, mv3),
    )


class _SlowPolicy:
    """A stand-in policy whose every score costs 10 ms of CPU (a policy's moves are slower
    than a rule's); uniform logits."""

    def scores(self, sim, d):
        t = time.process_time()
        while time.process_time() - t < 0.010:
            pass
        return d.candidates.copy(), np.zeros(d.candidates.size)

    def choose(self, sim, d):
        return int(d.candidates[0])


@pytest.fixture(scope="module")
def week():
    from furnsim.benchmarks import held_out_weeks

    return held_out_weeks(1, lo=60, hi=60)[0]  # a 60-job calendar week of the demo plant


def _share(r) -> float:
    pw, w = r.moves["policy-window"]["tried"], r.moves["window"]["tried"]
    return pw / (pw + w)


def test_per_second_draws_slow_moves_less_often(week) -> None:
    kw = dict(
        time_limit=3.0,
        clock="cpu",
        seed=1,
        neighbourhoods=("window", "policy-window"),
        policy=_SlowPolicy(),
        start_ppo=False,
        release="off",
    )
    off = lns(week, "speed", per_second=False, **kw)
    on = lns(week, "speed", per_second=True, **kw)
    # the policy's moves cost many times a window move's: per second they are drawn far
    # less often than by success rate alone
    assert on.move_s is not None and off.move_s is not None
    slow = (off.move_s["policy-window"] / off.moves["policy-window"]["tried"]) / (
        off.move_s["window"] / off.moves["window"]["tried"]
    )
    assert slow > 5.0
    assert _share(on) < 0.6 * _share(off)
    for r in (on, off):
        assert validate(r.schedule, week) == []


def test_a_fixed_number_of_neighbours_is_not_timed(week) -> None:
    """``iterations`` without a time limit: the draw ignores the moves' times, so the same
    seed gives the same plan whatever the machine's speed."""
    kw = dict(iterations=40, seed=2, neighbourhoods=("window", "group", "orders"))
    a = lns(week, "speed", per_second=True, **kw)
    b = lns(week, "speed", per_second=False, **kw)
    assert a.moves == b.moves and a.cost == b.cost
    for k, v in a.schedule.times.items():
        np.testing.assert_array_equal(v, b.schedule.times[k])


def test_a_suffix_prior_weighs_the_suffix_draw(week) -> None:
    """``prior`` names suffix modes too: a factor on the mode's draw weight. A factor of 1 is
    the search without it (the same floats); a large one draws that mode almost always."""
    kw = dict(iterations=120, seed=4, neighbourhoods=("window", "group", "orders"))
    plain = lns(week, "empty-buffers", **kw)
    one = lns(week, "empty-buffers", prior={"incumbent": 1.0, "rule": 1.0}, **kw)
    assert plain.moves == one.moves and plain.cost == one.cost
    inc = lns(week, "empty-buffers", prior={"incumbent": 1000.0}, **kw)
    rule = lns(week, "empty-buffers", prior={"rule": 1000.0}, **kw)
    assert inc.moves["rule"]["tried"] <= 3 < inc.moves["incumbent"]["tried"]
    assert rule.moves["incumbent"]["tried"] <= 3 < rule.moves["rule"]["tried"]
    # both modes are drawn without a prior
    assert min(plain.moves["rule"]["tried"], plain.moves["incumbent"]["tried"]) >= 10
    for r in (inc, rule):
        assert validate(r.schedule, week) == []


def test_prior_names_are_checked(week) -> None:
    with pytest.raises(ValueError, match="prior"):
        lns(week, "speed", iterations=2, prior={"suffix": 2.0})
    with pytest.raises(ValueError, match="prior"):
        lns(week, "speed", iterations=2, prior={"rule": 0.0})
