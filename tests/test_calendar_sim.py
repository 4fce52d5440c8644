"""Working time in the simulator, hand-computed golden cases, and the validator's check.

Calendar ``DAY``: Mon-Fri 06:00-09:00 and 09:15-14:00 (a 15-minute break), 465 working minutes
a day. Minutes are after the plan start.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pytest

from furnsim.calendar import compile_working_time, longest_window
from furnsim.model import (
    NEUTRAL,
    Article,
    Calendar,
    CalendarException,
    Catalog,
    Component,
    Downtime,
    Instance,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    Window,
    WorkCenter,
)
from furnsim.sim import Schedule, Simulator
from furnsim.validate import format_violations, validate

from ._tiny import run

FRI = datetime(2026, 11, 27, 6, 0)  # a Friday, 06:00
MON = datetime(2026, 12, 21, 6, 0)  # a Monday, 06:00
DAY = Calendar(
    "DAY",
    (Window((0, 1, 2, 3, 4), 6 * 60, 9 * 60), Window((0, 1, 2, 3, 4), 9 * 60 + 15, 14 * 60)),
)


def shop(
    jobs: list[tuple[float, str, float]],
    *,
    machines: tuple[str, ...] = ("M",),
    calendar: Calendar | None = DAY,
    interruptible: bool = True,
    exceptions: list[CalendarException] | None = None,
    downtime: list[Downtime] | None = None,
    setup: float = 0.0,
    plan_start: datetime = FRI,
) -> Instance:
    """One work center W with ``machines``; each job = one op (minutes, setup id, release)."""
    ids = (NEUTRAL, "oak")
    mat = np.array([[0.0, setup], [setup, 0.0]])
    plant = Plant(
        [WorkCenter("W", calendar=calendar.id if calendar else None, interruptible=interruptible)],
        [Machine(m, "W", ids, mat) for m in machines],
        TransportMatrix(default=0.0),
        calendars=[calendar] if calendar else [],
        calendar_exceptions=exceptions or [],
        downtime=downtime or [],
    )
    arts = [
        Article(f"A{j}", [Component("C", 1.0, [Operation("W", s, float(p))])])
        for j, (p, s, _) in enumerate(jobs)
    ]
    orders = [Order(f"J{j}", f"A{j}", 1.0, release=r) for j, (_, _, r) in enumerate(jobs)]
    return Instance(plant, Catalog(arts), orders, name="cal", plan_start=plan_start)


def valid(inst: Instance, s: Schedule) -> None:
    vs = validate(s, inst)
    assert vs == [], format_violations(vs)


def test_pause_over_break_and_weekend_with_setup() -> None:
    # setup 30 min at Fri 06:00, then 600 min: Fri 06:30-09:00 (150) + 09:15-14:00 (285),
    # weekend, Mon 06:00 + 165 = 08:45. Monday 06:00 = 3 days = 4320.
    inst = shop([(600, "oak", 0)], setup=30)
    s = run(Simulator(inst))
    assert (s.setup_start[0], s.setup_end[0], s.start[0], s.end[0]) == (0, 30, 30, 4320 + 165)
    assert s.segments[0] == [[30, 180], [195, 480], [4320, 4485]]
    assert s.setup_segments[0] == [[0, 30]]
    valid(inst, s)
    rec = s.records()[0]
    assert rec["segments"] == [[30, 180], [195, 480], [4320, 4485]]


def test_setup_pauses_over_a_break() -> None:
    # job 0 runs 06:00-08:45 (165); job 1's 30-min setup: 08:45-09:00 + 09:15-09:30, then 60
    inst = shop([(165, NEUTRAL, 0), (60, "oak", 0)], setup=30)
    s = run(Simulator(inst))
    assert s.setup_segments[1] == [[165, 180], [195, 210]]
    assert (s.start[1], s.end[1]) == (210, 270)
    assert s.setup_segments[0] == []
    valid(inst, s)


def test_non_interruptible_is_deferred_to_the_next_window() -> None:
    # 200 min do not fit 06:00-09:00 (180): 09:15 (195) .. 395. The next job (100, released
    # at 10) is decided at 395 (12:35): 85 min left today -> Monday 06:00 (4320).
    inst = shop([(200, NEUTRAL, 0), (100, NEUTRAL, 10)], interruptible=False)
    s = run(Simulator(inst))
    assert (s.start[0], s.end[0]) == (195, 395)
    assert (s.start[1], s.end[1]) == (4320, 4420)
    assert s.segments == [[[195, 395]], [[4320, 4420]]]
    valid(inst, s)
    # the same on an interruptible work center pauses instead
    s2 = run(Simulator(shop([(200, NEUTRAL, 0)])))
    assert s2.segments[0] == [[0, 180], [195, 215]]


def test_holiday_closes_every_calendar() -> None:
    # Mon 2026-12-21 06:00; Thu 24 - Sun 27 closed; 3 x 465 = 1395, remaining 105 on Mon 28th
    xmas = CalendarException(None, datetime(2026, 12, 24), datetime(2026, 12, 27), False)
    # an extra Saturday inside the holiday does not count: closures win
    sat = CalendarException("DAY", datetime(2026, 12, 26, 6), datetime(2026, 12, 26, 10), True)
    inst = shop([(1500, NEUTRAL, 0)], exceptions=[xmas, sat], plan_start=MON)
    s = run(Simulator(inst))
    day = 1440
    assert s.segments[0] == [
        [0, 180], [195, 480],
        [day, day + 180], [day + 195, day + 480],
        [2 * day, 2 * day + 180], [2 * day + 195, 2 * day + 480],
        [7 * day, 7 * day + 105],
    ]  # fmt: skip
    assert s.end[0] == 7 * day + 105
    valid(inst, s)


def test_overtime_saturday_is_used() -> None:
    # Fri 465, then Sat 06:00-12:00 overtime (360 min at 1440 + 1440), rest Monday
    sat = CalendarException(None, datetime(2026, 11, 28, 6), datetime(2026, 11, 28, 12), True)
    inst = shop([(900, NEUTRAL, 0)], exceptions=[sat])
    s = run(Simulator(inst))
    assert s.segments[0] == [[0, 180], [195, 480], [1440, 1800], [4320, 4320 + 75]]
    valid(inst, s)


def test_downtime_on_one_of_two_alternative_machines() -> None:
    # 24/7 work center; M1 down 06:00-08:00. At 0 only M2 can decide: job 0 on M2 [0, 60];
    # at 60 M2 takes job 1 [60, 120]; at 120 M1 is back and decides first (plant order).
    down = Downtime("M1", FRI, datetime(2026, 11, 27, 8, 0), "maintenance")
    inst = shop([(60, NEUTRAL, 0)] * 3, machines=("M1", "M2"), calendar=None, downtime=[down])
    s = run(Simulator(inst))
    assert [s.machine_ids[m] for m in s.op_machine] == ["M2", "M2", "M1"]
    assert s.start.tolist() == [0, 60, 120]
    valid(inst, s)
    # tampering: job 2 on M1 during the downtime is caught
    s.times["start"][2], s.times["end"][2] = 30.0, 90.0
    s.times["setup_start"][2] = s.times["setup_end"][2] = 30.0
    s.segments[2] = [[30.0, 90.0]]
    kinds = {v.kind for v in validate(s, inst)}
    assert "working-time" in kinds


def test_no_calendar_keeps_24_7_and_no_segments() -> None:
    inst = shop([(600, "oak", 0)], calendar=None, setup=30)
    assert inst.compiled.working is None
    s = run(Simulator(inst))
    assert (s.start[0], s.end[0]) == (30, 630)
    assert s.segments is None and s.setup_segments is None
    assert s.records()[0]["segments"] == [[30, 630]]
    assert "segments" not in s.to_dict()
    valid(inst, s)


def test_segments_json_round_trip() -> None:
    inst = shop([(600, "oak", 0)], setup=30)
    s = run(Simulator(inst))
    back = Schedule.from_json(json.dumps(s.to_dict()))
    assert back.segments == s.segments and back.setup_segments == s.setup_segments
    valid(inst, back)


def test_validator_catches_a_segment_moved_into_a_break() -> None:
    inst = shop([(600, "oak", 0)], setup=30)
    s = run(Simulator(inst))
    s.segments[0][0] = [30, 185]  # 5 minutes into the 09:00-09:15 break
    s.segments[0][1] = [200, 480]
    vs = validate(s, inst)
    assert any(v.kind == "working-time" and "closed time" in v.message for v in vs), vs
    # a schedule without segments that runs through the break is caught as well
    s.segments = None
    assert any(v.kind == "working-time" for v in validate(s, inst))


def test_validator_catches_a_pause_in_working_time_and_a_wrong_sum() -> None:
    inst = shop([(600, "oak", 0)], setup=30)
    s = run(Simulator(inst))
    s.segments[0] = [[30, 180], [200, 480], [4320, 4490]]  # pauses 09:15-09:20
    msgs = [v.message for v in validate(s, inst)]
    assert any("pauses in working time" in m for m in msgs), msgs
    s = run(Simulator(inst))
    s.segments[0][-1] = [4320, 4480]
    s.times["end"][0] = 4480
    msgs = [v.message for v in validate(s, inst)]
    assert any("expected 600" in m for m in msgs), msgs


def test_validator_catches_a_split_non_interruptible_op() -> None:
    inst = shop([(200, NEUTRAL, 0)], interruptible=False)
    s = run(Simulator(inst))
    s.segments[0] = [[0, 180], [195, 215]]
    s.times["start"][0], s.times["end"][0] = 0.0, 215.0
    s.times["setup_start"][0] = s.times["setup_end"][0] = 0.0
    msgs = [v.message for v in validate(s, inst)]
    assert any("non-interruptible" in m for m in msgs), msgs


def test_a_start_a_rounding_error_before_a_break_is_the_start_after_it() -> None:
    # job 1 follows a job that fills 06:00-09:00 and starts after the 09:00-09:15 break (195).
    # Recorded instead as starting 1e-12 min before 09:00 with that sliver as its first
    # segment (what float sums in the simulator produced on a held-out week): valid, the
    # sliver is below the tolerance and only closed time lies between it and 09:15.
    inst = shop([(180, NEUTRAL, 0), (60, NEUTRAL, 0)])
    s = run(Simulator(inst))
    assert s.segments[1] == [[195.0, 255.0]]
    a = 180.0 - 1e-12
    s.segments[1] = [[a, 180.0], [195.0, 255.0]]
    for k in ("setup_start", "setup_end", "start"):
        s.times[k][1] = a
    valid(inst, s)
    # but five working minutes before the break that the segments do not cover are caught
    s.segments[1] = [[195.0, 255.0]]
    for k in ("setup_start", "setup_end", "start"):
        s.times[k][1] = 175.0
    msgs = [v.message for v in validate(s, inst)]
    assert any("do not span 175..255" in m for m in msgs), msgs


def test_compiled_lookups() -> None:
    inst = shop([(1, NEUTRAL, 0)])
    mt = compile_working_time(inst.plant, FRI).machines[0]  # type: ignore[union-attr]
    assert mt.next_start(180) == 195 and mt.next_start(100) == 100
    assert mt.finish(170, 20) == (170, 205)
    assert mt.finish(480, 1) == (4320, 4321)  # Fri 14:00 -> Mon
    assert mt.fit(0, 200) == 195 and mt.fit(0, 285) == 195 and mt.fit(196, 285) == 4320 + 195
    assert mt.worked(0, 4320 + 10).item() == 465 + 10
    # far beyond the first horizon: extends by doubling, still the weekly pattern
    far = 52 * 7 * 1440  # a Friday a year later, 06:00
    assert mt.finish(far, 466) == (far, far + 3 * 1440 + 1)
    assert longest_window(DAY) == 285
    night = Calendar("N", (Window((6, 0, 1, 2, 3), 22 * 60, 6 * 60),))
    assert longest_window(night) == 480
    assert longest_window(Calendar("A", (Window(tuple(range(7)), 0, 1440),))) == math.inf


def test_validator_catches_a_start_later_than_the_working_time_allows() -> None:
    # non-interruptible 200 min: the earliest window that fits is 09:15 (195); 4320 is too late
    inst = shop([(200, NEUTRAL, 0)], interruptible=False)
    s = run(Simulator(inst))
    assert s.start[0] == 195
    s.times["start"][0], s.times["end"][0], s.times["leave"][0] = 4320.0, 4520.0, 4520.0
    s.finish_arrive[0] = 4520.0
    s.segments[0] = [[4320.0, 4520.0]]
    msgs = [v.message for v in validate(s, inst) if v.kind == "working-time"]
    assert any("no reason to wait" in m and "195" in m for m in msgs), msgs
    # interruptible: waiting over the break start is caught too (it could start at 0)
    inst = shop([(100, NEUTRAL, 0)])
    s = run(Simulator(inst))
    s.times["start"][0], s.times["end"][0], s.times["leave"][0] = 195.0, 295.0, 295.0
    s.finish_arrive[0] = 295.0
    s.segments[0] = [[195.0, 295.0]]
    msgs = [v.message for v in validate(s, inst) if v.kind == "working-time"]
    assert any("no reason to wait" in m for m in msgs), msgs


def test_kpis_over_working_time() -> None:
    from furnsim.kpi import kpis

    # 600 min from Fri 06:30 (setup 30) to Mon 08:45, with 6 h overtime on Saturday morning
    sat = CalendarException(None, datetime(2026, 11, 28, 6), datetime(2026, 11, 28, 12), True)
    inst = shop([(600, "oak", 0)], setup=30, exceptions=[sat])
    s = run(Simulator(inst))
    # Fri 06:30-09:00, 09:15-14:00 = 435, Sat 06:00-12:00 = 360 -> 795 > 600: ends Sat 08:45
    assert s.segments[0] == [[30, 180], [195, 480], [1440, 1440 + 165]]
    k = kpis(s, inst)
    mk = 1440 + 165
    assert k["makespan"] == mk
    assert k["processing_time"] == 600 and k["total_setup_time"] == 30
    assert k["available_time"] == 465 + 165  # Friday + Saturday until the end
    assert k["closed_time"] == mk - (465 + 165)
    assert k["idle_time"] == 0  # closed time is not idle
    assert k["utilization_mean"] == pytest.approx(600 / 630)
    assert k["overtime_minutes"] == 165 and k["extra_windows_used"] == 1
    from furnsim.kpi import machine_kpis

    mkp = machine_kpis(s, inst)["M"]
    assert mkp["utilization"] == pytest.approx(600 / 630) and mkp["idle_time"] == 0
    assert mkp["available_time"] == 630 and mkp["overtime_minutes"] == 165
    # 24/7: the old definitions
    k2 = kpis(run(Simulator(shop([(600, "oak", 0)], calendar=None, setup=30))), None)
    assert "available_time" not in k2


def test_rules_count_slack_in_working_time() -> None:
    from furnsim.rules import get_rule

    # at Fri 06:00: A (460 min, due Mon 06:10) has 465 + 10 working minutes left = slack 15;
    # B (60 min, due Fri 08:00) has 120 - 60 = 60. Elapsed, A would look relaxed (3 days).
    base = shop([(460, NEUTRAL, 0), (60, NEUTRAL, 0)])
    orders = [
        Order("J0", "A0", 1.0, deadline=3 * 1440 + 10),
        Order("J1", "A1", 1.0, deadline=120),
    ]
    inst = Instance(base.plant, base.catalog, orders, name="cal", plan_start=FRI)
    for rule in ("cr",):
        s, _ = get_rule(rule).plan(inst)
        assert s.start[0] == 0 and s.start[1] > 0, rule  # A first: it is the tight one
    # the same deadlines without a calendar: B first
    flat = shop([(460, NEUTRAL, 0), (60, NEUTRAL, 0)], calendar=None)
    inst2 = Instance(flat.plant, flat.catalog, orders, name="flat", plan_start=FRI)
    s2, _ = get_rule("cr").plan(inst2)
    assert s2.start[1] == 0


def test_working_time_features() -> None:
    from furnsim.env.working_time import working_time_features

    inst = shop([(200, NEUTRAL, 0), (100, NEUTRAL, 10)], interruptible=False)
    sim = Simulator(inst)
    d = sim.reset()
    assert d is not None and d.time == 0
    f = working_time_features(sim)
    assert f.shape == (1, 3) and f[0].tolist() == [1.0, 3.0, 0.0]  # 180 min to the break
    d = sim.dispatch(d.candidates[0])  # runs 09:15-12:35 (195..395); next decision at 395
    assert d is not None and d.time == 395
    assert working_time_features(sim)[0].tolist() == pytest.approx([1.0, 85 / 60, 0.0])
    sim.time = 500.0  # Friday 14:20: closed until Monday 06:00
    assert working_time_features(sim, clip=100)[0].tolist() == pytest.approx(
        [0.0, 0.0, (4320 - 500) / 60]
    )
    flat = Simulator(shop([(1, NEUTRAL, 0)], calendar=None))
    assert working_time_features(flat)[0].tolist() == [1.0, 10.0, 0.0]


def test_gantt_shades_closed_time() -> None:
    from furnsim.viz import gantt

    inst = shop([(600, "oak", 0)], setup=30)
    s = run(Simulator(inst))
    fig = gantt(s, inst)
    closed = [tr for tr in fig.data if tr.name == "closed (no working time)"]
    assert len(closed) == 1
    # Fri break 09:00-09:15, Fri 14:00 - Mon 06:00 (until the makespan Mon 08:45), as the
    # rectangles of one filled polygon on the machine's row
    from tests.test_viz import polygon_rects

    rects = polygon_rects(closed[0])
    assert [round((b - a) / 60_000) for a, b, _, _ in rects] == [15, 4320 - 480]
    assert {(y0 + y1) / 2 for _, _, y0, y1 in rects} == {0.0}
    assert not any(tr.name == "closed (no working time)" for tr in gantt(s, None).data)


def test_paper_example_unchanged_and_an_always_open_calendar_changes_nothing() -> None:
    from pathlib import Path

    from furnsim.calendar import calendar_from_rows, with_working_time
    from furnsim.io import load_instance

    paper = Path(__file__).resolve().parents[1] / "bom_data" / "paper_example" / "plant.yaml"
    inst = load_instance(paper)
    assert inst.compiled.working is None
    s = run(Simulator(inst))
    assert s.segments is None and s.setup_segments is None
    valid(inst, s)
    # the same plant on a calendar that never closes: identical times, one segment per op
    always = calendar_from_rows("ALWAYS", [("Mon-Sun", "00:00", "24:00")])
    inst2 = with_working_time(inst, calendars=[always], default_calendar="ALWAYS")
    assert inst2.compiled.working is not None
    s2 = run(Simulator(inst2))
    for f, v in s.times.items():
        assert np.array_equal(v, s2.times[f], equal_nan=True), f
    assert all(len(x) == 1 for x in s2.segments if x)
    valid(inst2, s2)


def test_partial_kpis_end_where_the_final_kpis_are() -> None:
    from furnsim.goals import cost, partial_cost
    from furnsim.kpi import kpis, partial_kpis

    sat = CalendarException(None, datetime(2026, 11, 28, 6), datetime(2026, 11, 28, 8), True)
    inst = shop(
        [(300, "oak", 0), (200, NEUTRAL, 30), (250, "oak", 60)],
        machines=("M1", "M2"),
        setup=30,
        exceptions=[sat],
        downtime=[Downtime("M2", FRI, datetime(2026, 11, 27, 9, 30))],
    )
    sim = Simulator(inst)
    s = run(sim)
    final, part = kpis(s, inst), partial_kpis(sim)
    for k in ("processing_time", "total_setup_time", "blocked_time", "idle_time",
              "utilization_mean", "available_time", "closed_time"):  # fmt: skip
        assert part[k] == pytest.approx(final[k]), k
    assert partial_cost(sim, "efficiency") == pytest.approx(cost(final, "efficiency"))
