"""Property tests: random shops x random calendars, exceptions and downtime x random decisions.

The schedule must be valid for the independent validator (no processing or setup minute in
closed time or downtime, segments summing to the working minutes, no pause in working time,
non-interruptible ops in one window), and moving one segment into closed time is caught.
Derandomized like tests/test_sim_properties.py (FURNSIM_HYPOTHESIS_EXAMPLES=N for a soak).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from furnsim.errors import DataError
from furnsim.model import (
    Calendar,
    CalendarException,
    Downtime,
    Instance,
    Plant,
    Window,
    WorkCenter,
)
from furnsim.sim import Simulator
from furnsim.validate import format_violations, validate

from .test_sim_properties import drive, shops

_SOAK = os.environ.get("FURNSIM_HYPOTHESIS_EXAMPLES")
SETTINGS = settings(
    max_examples=int(_SOAK or "120"),
    deadline=None,
    derandomize=_SOAK is None,
    suppress_health_check=[HealthCheck.too_slow],
)
BASE = datetime(2026, 11, 23)  # a Monday


@st.composite
def calendars(draw: st.DrawFn, cid: str) -> Calendar:
    wins = []
    for _ in range(draw(st.integers(1, 4))):
        days = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))))
        start = draw(st.integers(0, 287)) * 5
        length = draw(st.sampled_from([3, 5, 10, 20, 45, 120, 600]))
        wins.append(Window(days, start, (start + length) % 1440 or 1440))
    return Calendar(cid, tuple(wins))


@st.composite
def shops_with_working_time(draw: st.DrawFn) -> Instance:
    inst = draw(shops())
    plant = inst.plant
    cals = [draw(calendars(f"C{i}")) for i in range(draw(st.integers(1, 2)))]
    start = BASE + timedelta(minutes=5 * draw(st.integers(0, 7 * 288 - 1)))

    def when() -> datetime:
        return start + timedelta(minutes=draw(st.integers(-60, 3 * 1440)))

    exc = []
    for _ in range(draw(st.integers(0, 3))):
        a = when()
        b = a + timedelta(minutes=draw(st.sampled_from([5, 30, 240, 1440])))
        cid = draw(st.sampled_from([None, *[c.id for c in cals]]))
        exc.append(CalendarException(cid, a, b, draw(st.booleans())))
    down = []
    for m in plant.machines:
        if draw(st.integers(0, 3)) == 0:
            a = when()
            down.append(
                Downtime(m.id, a, a + timedelta(minutes=draw(st.sampled_from([10, 90, 600]))))
            )
    wcs = [
        WorkCenter(
            w.id,
            w.buffer_capacity,
            w.buffer_unit,
            calendar=draw(st.sampled_from([None, *[c.id for c in cals]])),
            interruptible=draw(st.sampled_from([True, True, False])),
        )
        for w in plant.work_centers
    ]
    default = draw(st.sampled_from([None, cals[0].id]))

    def build(wcs: list[WorkCenter]) -> Instance:
        p = Plant(
            wcs,
            plant.machines,
            plant.transport,
            calendars=cals,
            calendar_exceptions=exc,
            downtime=down,
            default_calendar=default,
        )
        return Instance(p, inst.catalog, inst.orders, name="random-cal", plan_start=start)

    try:
        return build(wcs)
    except DataError:  # an op longer than every window of a non-interruptible work center
        event("non-interruptible dropped")
        return build(
            [WorkCenter(w.id, w.buffer_capacity, w.buffer_unit, calendar=w.calendar) for w in wcs]
        )


SEEDS = st.integers(0, 2**32 - 1)
WAIT = st.sampled_from([0.0, 0.0, 0.2])


@pytest.mark.timeout(300)
@SETTINGS
@given(
    inst=shops_with_working_time(),
    seed=SEEDS,
    p_wait=WAIT,
    buffers=st.sampled_from(["hard", "soft"]),
)
def test_random_working_time_valid(inst, seed, p_wait, buffers):
    sim = Simulator(inst, buffers=buffers)
    drive(sim, seed, p_wait)
    s = sim.schedule()
    vs = validate(s, inst)
    if sim.deadlock is not None:
        vs = [v for v in vs if v.kind != "missing"]
        event("deadlock")
    assert vs == [], format_violations(vs)
    paused = any(len(x) > 1 for x in (s.segments or []))
    event("an op paused" if paused else "nothing paused")
    # tamper: move one processing segment into closed time right after a working interval
    wt = inst.compiled.working
    for o in range(s.n_ops):
        m = int(s.op_machine[o])
        mt = wt.machines[m] if (wt is not None and m >= 0) else None
        if mt is None or not s.segments or not s.segments[o]:
            continue
        if not all(np.isfinite(v[o]) for v in s.times.values()):
            continue  # left on its machine by a deadlock: the validator reports it as missing
        a, b = s.segments[o][0]
        if b - a < 1e-6:
            continue
        i = int(np.searchsorted(mt.ends, a, side="right"))
        if i + 1 >= mt.starts.size:
            continue
        gap_from, gap_to = mt.ends[i], mt.starts[i + 1]
        s.segments[o][0] = [float(gap_from), float(gap_from + min(b - a, gap_to - gap_from))]
        kinds = [v for v in validate(s, inst) if v.kind == "working-time"]
        assert any("closed time" in v.message for v in kinds), format_violations(kinds)
        event("tampered")
        break
