"""Re-planning on a plant with shift calendars *and* assemblies (kits).

The assembly demo (``bom_data/demo-assembly``) on a Mon-Fri two-shift calendar (06:00-22:00
with two 15-minute breaks): a breakdown during a shift, a re-plan over the weekend (now =
Friday 20:00), and the HTTP API flow on that plant. Every plan is valid (the validator checks
working time, joins and the state) and nothing new runs in closed time or on the broken
machine during its outage.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from furnsim.io import load_instance
from furnsim.model import Calendar, Instance, Window
from furnsim.plan import plan
from furnsim.replan import replan
from furnsim.validate import format_violations, validate

ASM = Path(__file__).resolve().parents[1] / "bom_data" / "demo-assembly" / "csv"
WD = (0, 1, 2, 3, 4)
SHIFTS = Calendar("2-SHIFT", (Window(WD, 360, 600), Window(WD, 615, 1080), Window(WD, 1095, 1320)))
TUE_11 = 1440 + 5 * 60  # the plan starts Monday 2026-03-02 06:00
FRI_20 = 4 * 1440 + 14 * 60
FRI_22 = 4 * 1440 + 16 * 60
MON_06 = 7 * 1440


def _shift_plant(base):
    return dataclasses.replace(base.plant, calendars=[SHIFTS], default_calendar="2-SHIFT")


@pytest.fixture(scope="module")
def week():
    if not ASM.exists():
        pytest.skip("bom_data/demo-assembly is not here")
    base = load_instance(ASM)
    inst = Instance(
        _shift_plant(base),
        base.catalog,
        base.orders,
        name="demo-assembly-shifts",
        plan_start=base.plan_start,
    )
    assert inst.compiled.has_assembly and inst.compiled.working is not None
    res = plan(inst, "speed", "rule:ATC")
    assert res.valid
    return inst, res.schedule


def _key(s, o):
    return (s.job_ids[int(s.op_job[o])], int(s.op_step[o]) + 1)


def _new_ops(r):
    fixed = r.instance.situation.state.by_key()
    s = r.schedule
    return [
        o for o in range(s.n_ops) if _key(s, o) not in fixed or fixed[_key(s, o)].status == "queued"
    ]


def _in_working_time(r, o):
    """Every setup and processing segment of ``o`` lies in its machine's working time."""
    s = r.schedule
    mt = r.instance.compiled.working.machines[int(s.op_machine[o])]
    for a, b in [*s.op_segments(o), *s.op_setup_segments(o)]:
        if b - a > 1e-9 and float(mt.worked(a, b)) < b - a - 1e-6:
            return False
    return True


def _overlaps(s, o, a, b):
    return any(
        x < b - 1e-6 and y > a + 1e-6 and y - x > 1e-9
        for x, y in [*s.op_segments(o), *s.op_setup_segments(o)]
    )


def _started_kept(prev, r, now):
    s = r.schedule
    kp = {_key(prev, o): o for o in range(prev.n_ops)}
    for o in range(s.n_ops):
        p = kp.get(_key(s, o))
        if p is not None and prev.setup_start[p] < now:
            assert s.op_machine[o] == prev.op_machine[p]
            assert s.setup_start[o] == prev.setup_start[p]


@pytest.mark.parametrize("mode", ["repair", "replan"])
def test_breakdown_during_a_shift_with_kits(week, mode):
    inst, prev = week
    ev = [
        {
            "type": "breakdown",
            "machine": "SAW-1",
            "from": "2026-03-03T11:00",
            "to": "2026-03-03T15:00",
        },
        {
            "type": "rush_order",
            "order": "RUSH-1",
            "article": "NIGHTSTAND",  # an assembly: parts, a drawer sub-assembly, the kit
            "quantity": 12,
            "deadline": "2026-03-05T14:00",
        },
    ]
    r = replan(inst, prev, "2026-03-03T11:00", ev, mode=mode, method="rule:ATC")
    assert r.valid, format_violations(r.violations)
    assert validate(r.schedule, r.instance) == []
    s = r.schedule
    assert r.instance.situation.state.kits  # kits were waiting in their buffers at now
    _started_kept(prev, r, TUE_11)
    saw = s.machine_ids.index("SAW-1")
    new = _new_ops(r)
    assert all(s.setup_start[o] >= TUE_11 - 1e-9 for o in new)
    assert not any(_overlaps(s, o, TUE_11, TUE_11 + 240) for o in new if s.op_machine[o] == saw)
    assert all(_in_working_time(r, o) for o in new)
    rush = [o for o in range(s.n_ops) if s.job_ids[s.op_job[o]].startswith("RUSH-1/")]
    assert rush and r.stability["ops_new"] == len(rush)
    assert any(s.job_parent[s.op_job[o]] >= 0 for o in rush)  # it has kits


def test_replan_over_the_weekend_from_friday_20(week):
    inst, prev = week
    assert np.sum(prev.setup_start >= FRI_20) > 0  # the week spills over the weekend
    ev = [{"type": "breakdown", "machine": "CNC-1", "from": MON_06, "to": MON_06 + 180}]
    for method in ("rule:ATC", "rule:KIT"):
        r = replan(inst, prev, "2026-03-06T20:00", ev, method=method)
        assert r.valid, format_violations(r.violations)
        s = r.schedule
        _started_kept(prev, r, FRI_20)
        new = _new_ops(r)
        assert new and all(_in_working_time(r, o) for o in new)
        # nothing new runs in the closed weekend (Friday 22:00 - Monday 06:00)
        assert not any(_overlaps(s, o, FRI_22, MON_06) for o in new)
        # what is left on Friday evening fits before 22:00, the rest starts Monday
        assert all(s.start[o] < FRI_22 or s.start[o] >= MON_06 for o in new)
        cnc = s.machine_ids.index("CNC-1")
        assert not any(_overlaps(s, o, MON_06, MON_06 + 180) for o in new if s.op_machine[o] == cnc)


def test_api_flow_on_a_calendar_plant_with_kits(tmp_path, week):
    pytest.importorskip("fastapi")
    pytest.importorskip("sqlalchemy")
    from fastapi.testclient import TestClient

    from furnsim.api import ServerConfig, create_app
    from furnsim.io import read_plant
    from furnsim.storage import PlanStore

    from ._api_server import KEY, wait_done

    data = read_plant(ASM)
    data = dataclasses.replace(data, plant=_shift_plant(data))
    orders = [
        {"order": "SO-1", "article": "CHAIR", "quantity": 24, "deadline": "2026-03-03T14:00"},
        {"order": "SO-2", "article": "DESK", "quantity": 10, "deadline": "2026-03-04T06:00"},
        {"order": "SO-3", "article": "NIGHTSTAND", "quantity": 12, "deadline": "2026-03-04T14:00"},
    ]
    store = PlanStore("sqlite:///" + str(tmp_path / "plans.sqlite"))
    app = create_app(data, ServerConfig(api_keys=(KEY,)), store)
    with TestClient(app, headers={"X-API-Key": KEY}) as c:
        pid = c.post("/v1/plans", json={"orders": orders, "method": "rule:ATC"}).json()["id"]
        first = wait_done(c, pid, timeout=120)
        assert first["status"] == "done" and first["valid"] is True, first
        ev = [
            {
                "type": "breakdown",
                "machine": "CNC-1",
                "from": "2026-03-02T08:00",
                "to": "2026-03-02T12:00",
            },
            {
                "type": "rush_order",
                "order": "R1",
                "article": "CHAIR",
                "quantity": 8,
                "deadline": "2026-03-04T06:00",
            },
        ]
        r = c.post(f"/v1/plans/{pid}/events", json={"now": "2026-03-02T08:00", "events": ev})
        assert r.status_code == 202, r.text
        d = wait_done(c, r.json()["id"], timeout=120)
        assert d["status"] == "done" and d["valid"] is True, d
        assert d["stability"]["ops_new"] > 0
        on_cnc = [o for o in d["operations"] if o["machine"] == "CNC-1" and o["setup_start"] >= 120]
        # nothing new on CNC-1 08:00-12:00 (minutes 120-360 after Monday 06:00)
        assert all(o["setup_start"] >= 360 or o["end"] <= 120 for o in on_cnc)
        # nothing processes at night (22:00-06:00 = minutes 960-1440 of each day)
        for o in d["operations"]:
            if o["start"] >= 120 and o["end"] > o["start"]:
                day0 = (o["start"] // 1440) * 1440
                assert not (day0 + 960 <= o["start"] < day0 + 1440 - 1e-6), o
