"""CP-SAT with working time: tiny shops equal the brute force over machine sequences replayed
by the simulator (which follows the calendars), and the plan is valid."""

from __future__ import annotations

from datetime import datetime

import pytest

from furnsim.calendar import calendar_from_rows, with_working_time
from furnsim.model import CalendarException, Downtime
from furnsim.solvers.cpsat import solve_cpsat
from furnsim.validate import format_violations, validate

from ._tiny import make
from .test_cpsat import _brute_force

FRI = datetime(2026, 11, 27, 6, 0)
DAY = calendar_from_rows("DAY", [("Mon-Fri", "06:00", "09:00"), ("Mon-Fri", "09:15", "14:00")])


def _shop(non_interruptible: tuple[str, ...] = ()):
    inst = make(
        [
            [("A", 200, "oak"), ("B", 250)],
            [("B", 240), ("A", 400)],
            [("A", 180, "oak"), ("B", 120)],
        ],
        setups={"A": (["neutral", "oak"], [[0, 20], [20, 0]])},
        transport={("A", "B"): 5, ("B", "A"): 5},
    )
    inst.plan_start = FRI
    return with_working_time(
        inst,
        calendars=[DAY],
        default_calendar="DAY",
        non_interruptible=non_interruptible,
        exceptions=[CalendarException(None, datetime(2026, 11, 30), datetime(2026, 12, 1), False)],
        downtime=[Downtime("B", datetime(2026, 11, 27, 8), datetime(2026, 11, 27, 10))],
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("nonint", [(), ("B",)], ids=["interruptible", "B-non-interruptible"])
def test_cpsat_with_calendars_equals_brute_force(nonint: tuple[str, ...]) -> None:
    inst = _shop(nonint)
    best = _brute_force(inst)
    assert best > 1440  # the plan runs over the weekend and Monday's holiday
    s, d = solve_cpsat(inst, "speed", time_limit=30, hint=None)
    vs = validate(s, inst)
    assert vs == [], format_violations(vs)
    assert d["lower_bound"] <= best + 1e-6  # the model is a relaxation of the simulator
    assert d["solver_status"] == "OPTIMAL"
    assert s.makespan == pytest.approx(best)
    # the bound is tight: the CP model knows the working time (24/7 it would be far lower)
    assert d["lower_bound"] == pytest.approx(best)


def test_large_calendar_tables_fall_back_to_a_relaxation() -> None:
    from ortools.sat.python import cp_model

    from furnsim.solvers.cpsat.calendar import add_working_time
    from furnsim.solvers.cpsat.solve import build_model

    inst = _shop()
    _, data, _, _ = build_model(inst, "speed")
    assert data.working_time_model == "exact"
    model, data, v, _ = build_model(inst, "speed")
    assert add_working_time(cp_model.CpModel(), data, v, max_terms=10) == "relaxed"
    s, d = solve_cpsat(inst, "speed", time_limit=10, hint=None)
    assert d["working_time_model"] == "exact" and validate(s, inst) == []


def _hint_is_a_solution(inst, schedule) -> bool:
    """The CP model with every hinted variable fixed to ``schedule``'s values has a solution
    (``_complete_hint``: what ``solve_cpsat`` does with its warm start)."""
    from furnsim.solvers.cpsat.solve import _add_hint, _complete_hint
    from furnsim.solvers.cpsat.window import WindowModel

    wm = WindowModel(inst, "speed", horizon=1.5 * float(max(schedule.times["leave"])))
    wm.model.clear_hints()
    _add_hint(wm.model, wm.data, wm.v, schedule)
    return _complete_hint(wm.model, 60.0, 1)


def test_a_start_just_before_a_window_end_is_a_solution_of_the_model() -> None:
    """Inexact data (thirds of a minute: no time scale makes them whole): times are rounded
    up, so an operation that starts 1/3 min before its window ends (and pauses) has its
    hinted start *on* the window's end; the model must still accept the simulator's plan as
    a warm start (it did not before 2026-12-04)."""
    from furnsim.rules import get_rule, run_policy
    from furnsim.solvers.cpsat.variables import build_data

    inst = make([[("A", 179 + 2 / 3), ("B", 30 + 1 / 3)]])
    inst.plan_start = FRI
    inst = with_working_time(inst, calendars=[DAY], default_calendar="DAY")
    assert not build_data(inst.compiled).exact
    s, _ = run_policy(inst, get_rule("FIFO"))
    assert s.times["start"][1] == pytest.approx(179 + 2 / 3)  # B starts before 09:00, pauses
    assert s.times["end"][1] == pytest.approx(195 + 30)  # ... and resumes at 09:15
    assert _hint_is_a_solution(inst, s)


def test_a_setup_paused_over_closed_time_is_a_solution_of_the_model() -> None:
    """The hinted setup duration is the setup's working minutes, not its span on the clock
    (a setup pauses over closed time): a demo-plant week's rule plans are warm starts."""
    from furnsim.env import WeekSource
    from furnsim.rules import get_rule, run_policy

    inst = WeekSource.from_path(None).week(777, 15)
    machines = inst.compiled.working.machines
    paused = 0  # setups whose span on the clock is longer than their working minutes
    for rule in ("ATCS", "FIFO", "SPT"):
        s, _ = run_policy(inst, get_rule(rule))
        t = s.times
        for o in range(s.n_ops):
            a, b, mt = t["setup_start"][o], t["setup_end"][o], machines[int(s.op_machine[o])]
            paused += bool(b > a and mt is not None and b - a > float(mt.worked(a, b)) + 1e-6)
        assert _hint_is_a_solution(inst, s), rule
    assert paused  # the case this test is about


def test_calendar_term_cap_follows_the_time_limit() -> None:
    from furnsim.solvers.cpsat.calendar import (
        CALENDAR_TERMS_PER_S,
        MAX_CALENDAR_TERMS,
        calendar_terms_within,
    )

    assert calendar_terms_within(None) == MAX_CALENDAR_TERMS
    assert calendar_terms_within(float("inf")) == MAX_CALENDAR_TERMS
    assert calendar_terms_within(60, share=0.2) == 12 * CALENDAR_TERMS_PER_S
    assert calendar_terms_within(10**6) == MAX_CALENDAR_TERMS
    assert calendar_terms_within(-5) == 0
    assert calendar_terms_within(5) < calendar_terms_within(50)


@pytest.mark.timeout(120)
def test_a_short_time_limit_relaxes_working_time_and_holds() -> None:
    """An 80-job demo-plant week needs ~137 k element-table entries for exact working time,
    which CP-SAT's presolve expands for ~2.6 s (twice: completing the hint, then the solve)
    whatever its time limit. With 3 s the model relaxes the working time and keeps the limit
    (2 s more for the replay and pricing); the plan (the simulator's replay) is still valid."""
    import time

    from furnsim.env.weeks import make_source
    from furnsim.solvers.cpsat.solve import build_model

    week = make_source(None, (60, 200)).week(7, 80)
    _, data, _, _ = build_model(week, "speed")
    assert data.working_time_model == "exact" and data.calendar_terms > 100_000
    t0 = time.perf_counter()
    s, d = solve_cpsat(week, "speed", time_limit=3, workers=1)
    wall = time.perf_counter() - t0
    assert d["working_time_model"] == "relaxed"
    assert d["calendar_terms"] == data.calendar_terms
    assert wall < 3 + 2.0, d  # the limit, plus the replay and pricing of the plan
    assert validate(s, week) == []
    # asked for, the exact model is still built
    _, d2 = solve_cpsat(week, "speed", time_limit=3, workers=1, calendar_terms=10**7)
    assert d2["working_time_model"] == "exact"
