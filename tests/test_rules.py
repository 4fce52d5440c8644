"""Dispatching rules: complete valid plans, the documented definitions, determinism, best rule."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from furnsim.goals import cost
from furnsim.io import load_instance
from furnsim.kpi import kpis
from furnsim.rules import (
    COMPOSITE_RULES,
    NO_DUE_SLACK,
    RULES,
    TIE_TOL,
    NoValidPlan,
    Rule,
    _lexmin,
    _static,  # internals, checked against the simulator's own view
    _winq,
    best_rule,
    get_rule,
    rule_names,
    run_policy,
)

from ._fixtures import base_tables, write
from ._tiny import SHARED, ft06_path, make

try:
    from furnsim.validate import validate
except ImportError:  # pragma: no cover - the validator ships separately
    validate = None  # type: ignore[assignment]

TA01 = SHARED / "jsp" / "ta01.txt"
TA71 = SHARED / "jsp" / "ta71.txt"


def check_valid(s, inst):
    assert s.complete
    if validate is not None:
        assert validate(s, inst) == []


@pytest.fixture(scope="module")
def fixture_inst(tmp_path_factory):
    """The fixture plant: alternative saws with a setup matrix, bounded buffers, deadlines."""
    return load_instance(write(base_tables(), "yaml", Path(tmp_path_factory.mktemp("plant"))))


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_plans_ft06(name):
    inst = load_instance(ft06_path())
    s, sim = RULES[name].plan(inst, seed=0)
    assert sim.deadlock is None
    check_valid(s, inst)
    assert s.makespan >= 55
    assert s.method == f"rule:{name}"


@pytest.mark.skipif(not TA01.exists(), reason="shared benchmarks not available")
@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_plans_ta01(name):
    inst = load_instance(TA01)
    s, sim = RULES[name].plan(inst, seed=0)
    assert sim.deadlock is None
    check_valid(s, inst)
    assert s.makespan >= 1231


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_plans_the_fixture_plant(name, fixture_inst):
    for buffers in ("hard", "soft"):
        s, sim = RULES[name].plan(fixture_inst, buffers=buffers, seed=0)
        assert sim.deadlock is None
        check_valid(s, fixture_inst)


def test_spt_and_lpt_orders():
    # one machine, three jobs there at time 0 with 5, 1 and 3 minutes
    inst = make([[("M", 5)], [("M", 1)], [("M", 3)]])
    spt, _ = get_rule("spt").plan(inst)
    lpt, _ = get_rule("LPT").plan(inst)
    assert np.argsort(spt.times["start"]).tolist() == [1, 2, 0]
    assert np.argsort(lpt.times["start"]).tolist() == [0, 2, 1]
    assert spt.times["end"].tolist() == [9, 1, 4]


def test_ties_go_to_the_lowest_job_index():
    # equal times and no deadlines: every deterministic rule takes jobs 0, 1, 2, 3 in order
    inst = make([[("M", 2)]] * 4)
    for name in rule_names(deterministic_only=True):
        s, _ = RULES[name].plan(inst)
        assert s.times["start"].tolist() == [0, 2, 4, 6], name


def test_edd_cr_atc_follow_deadlines():
    inst = make([[("M", 2)], [("M", 2)], [("M", 2)]], deadlines=[50, 3, 10])
    for name in ("EDD", "CR", "ATC", "PTWINQS", "DPTLWKRS"):
        s, _ = RULES[name].plan(inst)
        assert np.argsort(s.times["start"]).tolist() == [1, 2, 0], name


def test_setup_rule_avoids_setups():
    # machine set up for 'b'; jobs 0 and 2 need 'a', job 1 needs 'b'
    inst = make(
        [[("M", 3, "a")], [("M", 3, "b")], [("M", 3, "a")]],
        setups={"M": (["neutral", "a", "b"], [[0, 5, 5], [5, 0, 5], [5, 5, 0]])},
    )
    inst.plant.machines[0].initial_setup = "b"
    inst.__dict__.pop("compiled", None)
    s, _ = get_rule("setup").plan(inst)
    assert np.argsort(s.times["start"]).tolist() == [1, 0, 2]
    assert kpis(s, inst)["setup_count"] == 1


def test_buffer_rule_avoids_blocking():
    # job0 and job1 wait at A; after A, job0 goes on to B, job1 finishes. B's machine runs
    # job2 until 20 while job3 fills B's 1 m³ buffer: whoever goes to B first blocks A.
    inst = make(
        [
            [("A", 2, "neutral", 1.0), ("B", 1, "neutral", 1.0)],
            [("A", 2, "neutral", 1.0)],
            [("B", 20, "neutral", 1.0)],
            [("B", 1, "neutral", 1.0)],
        ],
        capacity={"B": 1.0},
    )
    fifo, _ = get_rule("fifo").plan(inst)
    buf, _ = get_rule("buffer").plan(inst)
    assert kpis(fifo, inst)["blocked_time"] > 0
    assert kpis(buf, inst)["blocked_time"] < kpis(fifo, inst)["blocked_time"]
    assert buf.times["start"][2] < buf.times["start"][0]  # job1 first on A


def test_lexmin_ties_nan_and_infinities():
    c = np.array([7, 3, 5])
    # 1 + 1e-12 ties with 1 (rounding noise), so the second key decides
    assert _lexmin(c, (np.array([1.0, 1.0 + 1e-12, 2.0]), np.array([2.0, 1.0, 0.0]))) == 3
    assert _lexmin(c, (np.array([1.0, 1.0 + 1e-6, 0.5 + 0.5]),)) == 5  # ties 7 and 5 -> index 5
    assert _lexmin(c, (np.array([np.nan, 2.0, 3.0]),)) == 3  # NaN ranks last
    assert _lexmin(c, (np.full(3, np.nan), np.array([3.0, 2.0, 1.0]))) == 5
    assert _lexmin(c, (np.array([np.inf, np.inf, np.inf]), np.array([0.0, 1.0, 0.0]))) == 5
    assert _lexmin(c, (np.array([-np.inf, 0.0, -np.inf]),)) == 5


# -- the documented definitions of the composite rules, recomputed by hand -----------------
def _reference_keys(name, sim, d):
    ci = sim.ci
    t, m = d.time, d.machine
    out = []
    for j, o in zip(d.candidates.tolist(), d.ops.tolist(), strict=True):
        p = float(ci.op_proc[o, m])
        lwkr = float(sim.op_rem_work[o])
        last = o + 1 == ci.job_op_start[j + 1]
        npt = 0.0 if last else float(sim.op_mean_proc[o + 1])
        winq = 0.0 if last else sim.queue_work(int(ci.op_wc[o + 1]))
        dl = float(ci.job_deadline[j])
        slack = min(dl - t - lwkr, NO_DUE_SLACK)  # inf deadline -> NO_DUE_SLACK
        pm = float(sim.op_mean_proc[o])
        odd = t + pm + slack * pm / lwkr
        mod = max(odd, t + p)
        out.append(
            {
                "LWKRSPT": lwkr + p,
                "LWKRMOD": lwkr + mod,
                "PTWINQ": p + winq,
                "PTWINQS": p + winq + slack,
                "DPTLWKRS": 2 * p + lwkr + slack,
                "DPTWINQNPT": 2 * p + winq + npt,
            }[name]
        )
    return np.array(out)


@pytest.mark.parametrize("name", COMPOSITE_RULES)
def test_composite_rules_match_their_definitions(name, fixture_inst):
    rule = RULES[name]
    checked = 0

    def policy(sim, d):
        nonlocal checked
        (key,) = rule.keys(sim, d, _static(sim))
        np.testing.assert_allclose(key, _reference_keys(name, sim, d), rtol=1e-9, atol=1e-9)
        ref = _reference_keys(name, sim, d)
        tied = ref <= ref.min() + TIE_TOL * max(1.0, abs(ref.min()))
        want = int(d.candidates[tied].min())
        got = rule.choose(sim, d)
        assert got == want
        checked += d.candidates.size > 1
        return got

    s, sim = run_policy(fixture_inst, policy)
    assert sim.deadlock is None and checked > 0


def test_winq_equals_simulator_queue_work(fixture_inst):
    def policy(sim, d):
        st = _static(sim)
        got = _winq(sim, d, st)
        for k, o in enumerate(d.ops.tolist()):
            w = int(st.op_next_wc[o])
            want = 0.0 if w == st.n_wc else sim.queue_work(w)
            assert got[k] == pytest.approx(want)
        return int(d.candidates[0])

    run_policy(fixture_inst, policy)


# -- determinism, randomness -----------------------------------------------------------------
def test_rules_are_deterministic(fixture_inst):
    for name in rule_names(deterministic_only=True):
        a, _ = RULES[name].plan(fixture_inst)
        b, _ = RULES[name].plan(fixture_inst)
        for f in a.times:
            np.testing.assert_array_equal(a.times[f], b.times[f])
        np.testing.assert_array_equal(a.op_machine, b.op_machine)


@pytest.mark.skipif(not TA01.exists(), reason="shared benchmarks not available")
def test_random_rule_is_seeded():
    inst = load_instance(TA01)
    r = get_rule("random")
    a, _ = r.plan(inst, seed=7)
    b, _ = r.plan(inst, seed=7)
    c, _ = r.plan(inst, seed=8)
    np.testing.assert_array_equal(a.times["start"], b.times["start"])
    assert not np.array_equal(a.times["start"], c.times["start"])


def test_get_rule_names():
    assert get_rule("atc") is RULES["ATC"]
    assert get_rule("Min-Setup") is RULES["SETUP"]
    assert get_rule("dptwinqnpt") is RULES["DPTWINQNPT"]
    assert get_rule("PT+WINQ") is RULES["PTWINQ"]
    with pytest.raises(KeyError, match="unknown rule"):
        get_rule("nope")
    assert "RANDOM" not in rule_names(deterministic_only=True)
    assert set(COMPOSITE_RULES) <= set(RULES)


def test_run_policy_accepts_functions_and_waiting():
    inst = make([[("M", 5)], [("M", 1)]], releases=[0, 2])

    def wait_for_job1(sim, d):
        if 1 in d.candidates.tolist():
            return 1
        if d.time < 2:
            return None  # keep the machine free for the short job released at 2
        return int(d.candidates[0])

    s, sim = run_policy(inst, wait_for_job1)
    assert sim.deadlock is None
    assert s.times["start"].tolist() == [3, 2]


# -- best rule -------------------------------------------------------------------------------
@pytest.mark.parametrize("goal", ["speed", "efficiency", "empty-buffers"])
def test_best_rule_picks_the_minimum(goal, fixture_inst):
    b = best_rule(fixture_inst, goal)
    costs = {}
    for name in rule_names(deterministic_only=True):
        s, _ = RULES[name].plan(fixture_inst)
        costs[name] = cost(s, goal, fixture_inst)
    assert b.costs == pytest.approx(costs)
    assert b.cost == pytest.approx(min(costs.values()))
    assert b.rule == min(costs, key=lambda n: costs[n])
    assert cost(b.schedule, goal, fixture_inst) == pytest.approx(b.cost)
    check_valid(b.schedule, fixture_inst)


def test_best_rule_subset_and_deadlocks():
    deadlocking = make(
        [[("A", 5, "neutral", 1.0), ("B", 5, "neutral", 1.0)]] * 2
        + [[("B", 5, "neutral", 1.0), ("A", 5, "neutral", 1.0)]] * 2,
        capacity={"A": 1, "B": 1},
    )
    with pytest.raises(NoValidPlan, match="every dispatching rule deadlocked") as e:
        best_rule(deadlocking, "speed", ["FIFO", "SPT"])
    assert set(e.value.deadlocks) == {"FIFO", "SPT"}
    inst = load_instance(ft06_path())
    b = best_rule(inst, "speed", ["FIFO", get_rule("MOPNR")])
    assert set(b.costs) == {"FIFO", "MOPNR"} and b.cost == min(b.costs.values())


# -- speed -----------------------------------------------------------------------------------
@pytest.mark.skipif(not TA71.exists(), reason="shared benchmarks not available")
def test_rules_are_fast_on_2000_ops():
    inst = load_instance(TA71)
    small = load_instance(ft06_path())
    for name in ("FIFO", "ATCS", "BUFFER", "DPTWINQNPT"):
        rule: Rule = RULES[name]
        # the compiled loop's machine code is loaded from numba's cache once per process
        # (0.3-0.65 s; tests/test_dashboard_jobs.py's warm-up test covers that): a plan
        # of another 24/7 job shop first, so that what is timed is the plan
        rule.plan(small)
        t = time.process_time()  # CPU seconds: a busy machine must not fail this test
        s, _ = rule.plan(inst)
        assert time.process_time() - t < 0.5, name
        assert s.complete


def test_noisy_search_is_seeded_never_worse_and_stops_in_time():
    from furnsim.rules import NoisyPolicy, search_noisy

    inst = load_instance(Path(__file__).resolve().parents[1] / "bom_data" / "demo")
    atcs = get_rule("ATCS")
    base, _ = run_policy(inst, atcs)
    c0 = cost(base, "speed", inst)
    a, sim_a, info_a = search_noisy(inst, "speed", atcs, passes=6, eps=0.05, seed=3)
    b, _, info_b = search_noisy(inst, "speed", atcs, passes=6, eps=0.05, seed=3)
    assert info_a["passes"] == 6 and info_a["costs"] == info_b["costs"]  # reproducible
    assert info_a["first_cost"] == pytest.approx(c0)  # the first pass is the rule itself
    assert len(set(info_a["costs"])) > 1  # the noise changes plans
    assert cost(a, "speed", inst) == pytest.approx(min(info_a["costs"]))
    assert min(info_a["costs"]) <= c0 + 1e-9
    check_valid(a, inst)
    assert sim_a.deadlock is None
    t = time.perf_counter()
    _, _, info_t = search_noisy(inst, "speed", atcs, time_limit=0.5, seed=0)
    wall = time.perf_counter() - t
    assert info_t["passes"] >= 1 and len(info_t["pass_s"]) == info_t["passes"]
    # A pass starts only while elapsed + the longest pass so far fits the limit, so the search
    # ends at most one pass (the slowest, stalls included) past it; pass times come from the
    # same clock, so a stalled machine cannot fail this and a search ignoring the limit can.
    assert wall < 0.5 + max(info_t["pass_s"]) + 0.05
    if info_t["passes"] > 1:
        assert sum(info_t["pass_s"][:-1]) < 0.5
    # eps = 0 (or no rng) is the wrapped rule exactly
    s0, _ = run_policy(inst, NoisyPolicy(atcs, 0.0, np.random.default_rng(0)))
    np.testing.assert_array_equal(s0.op_machine, base.op_machine)
    np.testing.assert_array_equal(s0.times["start"], base.times["start"])
    with pytest.raises(ValueError):
        search_noisy(inst, "speed", atcs)
