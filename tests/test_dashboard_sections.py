"""The dashboard's working-time and re-plan sections: their pure parts (edit -> builder,
scenarios stored and read back, moved operations) and the downtime marker in the Gantt."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from dashboards.sections.replan import (  # noqa: E402
    load_scenarios,
    moved_ops,
    replan_figures,
    run_replan,
    save_scenarios,
)
from dashboards.sections.working_time import (  # noqa: E402
    with_working_time,
    working_time_rows,
)
from furnsim.errors import DataError  # noqa: E402
from furnsim.io import read_plant  # noqa: E402

SHIFTS = Path(__file__).resolve().parents[1] / "bom_data" / "demo_shifts" / "plant.xlsx"


def _read(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "plant.xlsx"
        p.write_bytes(data)
        return read_plant(p)


def test_working_time_rows_read_the_three_sheets() -> None:
    rows = working_time_rows("plant.xlsx", SHIFTS.read_bytes())
    assert rows["downtime"] == [
        {
            "machine": "CNC-1",
            "from": "2026-03-04 06:00",
            "to": "2026-03-04 10:00",
            "reason": "planned maintenance",
        }
    ]
    assert rows["calendars"][0] == {
        "calendar": "2-SHIFT",
        "days": "Mon-Fri",
        "start": "06:00",
        "end": "10:00",
    }
    assert [r["working"] for r in rows["calendar_exceptions"]] == ["no", "yes"]


def test_edited_downtime_goes_through_the_builder() -> None:
    data = SHIFTS.read_bytes()
    rows = working_time_rows("plant.xlsx", data)
    dt = rows["downtime"] + [
        {"machine": "SAW-1", "from": "2026-03-03 06:00", "to": "2026-03-03 14:00", "reason": "x"}
    ]
    plant = _read(with_working_time(data, {"downtime": dt}))
    got = {(d.machine, d.start, d.end) for d in plant.plant.downtime}
    assert ("SAW-1", datetime(2026, 3, 3, 6), datetime(2026, 3, 3, 14)) in got
    assert len(got) == 2
    # every other sheet kept: same orders, machines, calendars
    old = _read(data)
    assert len(plant.orders) == len(old.orders)
    assert [m.id for m in plant.plant.machines] == [m.id for m in old.plant.machines]
    assert len(plant.plant.calendars) == len(old.plant.calendars)


def test_bad_edit_names_sheet_row_and_column() -> None:
    data = SHIFTS.read_bytes()
    dt = [{"machine": "SAW-9", "from": "2026-03-03 06:00", "to": "2026-03-03 08:00"}]
    with pytest.raises(DataError) as e:
        _read(with_working_time(data, {"downtime": dt}))
    i = e.value.issues[0]
    assert (i.sheet, i.row, i.column) == ("downtime", 2, "machine")
    assert "unknown machine 'SAW-9'" in i.message
    cal = [{"calendar": "2-SHIFT", "days": "Fry", "start": "06:00", "end": "14:00"}]
    with pytest.raises(DataError) as e:
        _read(with_working_time(data, {"calendars": cal}))
    assert any((i.sheet, i.row, i.column) == ("calendars", 2, "days") for i in e.value.issues)


def test_removing_the_downtime_sheet_removes_downtime() -> None:
    plant = _read(with_working_time(SHIFTS.read_bytes(), {"downtime": []}))
    assert not plant.plant.downtime


@pytest.fixture(scope="module")
def planned():
    from furnsim.io import load_instance
    from furnsim.plan import plan

    inst = load_instance(SHIFTS.parent)
    res = plan(inst, "speed", "rule:EDD")
    return {
        "result": res,
        "instance": inst,
        "plan_start": inst.plan_start,
        "key": "k1",
        "goal": "speed",
    }


@pytest.mark.slow
def test_gantt_marks_downtime_apart_from_closed_time(planned) -> None:
    from furnsim import viz

    fig = viz.gantt(planned["result"].schedule, planned["instance"], "machine", labels=False)
    names = [t.name for t in fig.data]
    assert "closed (no working time)" in names and "downtime" in names
    dt = next(t for t in fig.data if t.name == "downtime")
    assert list(dt.y) == viz.gantt_row_y(fig, ["CNC-1"])  # on CNC-1's row
    assert fig.layout.yaxis.ticktext[int(dt.y[0])] == "CNC-1"
    # 06:00 .. 10:00 on Wed 4 March: 4 hours long, starting there
    assert float(dt.x[0]) == 4 * 3_600_000
    assert str(dt.base[0]).startswith("2026-03-04T06:00")


@pytest.fixture(scope="module")
def scenario(planned):
    params = {
        "name": "Tue breakdown",
        "base": "k1",
        "now": "2026-03-03T10:00",
        "events": [
            {
                "type": "breakdown",
                "machine": "SAW-1",
                "from": "2026-03-03T10:00",
                "to": "2026-03-03T16:00",
            },
            {
                "type": "rush_order",
                "order": "RUSH-1",
                "article": planned["instance"].orders[0].article,
                "quantity": 4,
                "deadline": "2026-03-04T14:00",
            },
        ],
        "mode": "repair",
        "method": "best-rule",
        "frozen_minutes": 0.0,
        "pins": [],
    }
    return run_replan(planned, params)


@pytest.mark.slow
def test_replan_scenario_round_trip_and_moved(planned, scenario) -> None:
    sc = scenario
    r = sc["result"]
    assert r.valid and r.stability["ops_new"] > 0
    assert "RUSH-1" in {o.id for o in sc["instance"].orders}
    moved = moved_ops(planned["result"].schedule, r.schedule)
    st_ = r.stability
    assert 0 < st_["ops_moved"] <= moved.size <= st_["ops_moved"] + st_["machine_changes"]
    store: dict[str, bytes] = {}
    save_scenarios(lambda b: store.__setitem__("s", b), [sc])
    back = load_scenarios(store["s"], planned)
    assert [s["name"] for s in back] == ["Tue breakdown"]
    assert back[0]["result"].stability == r.stability
    assert back[0]["result"].kpis["makespan"] == pytest.approx(r.kpis["makespan"])
    assert {o.id for o in back[0]["instance"].orders} == {o.id for o in sc["instance"].orders}
    # another plan's scenarios are not shown
    assert load_scenarios(store["s"], {**planned, "key": "other"}) == []
    assert load_scenarios(b"not json", planned) == []
    assert json.loads(store["s"])[0]["params"]["now"] == "2026-03-03T10:00"


@pytest.mark.slow
def test_replan_gantts_mark_now_breakdown_and_fixed_operations(planned, scenario) -> None:
    """Both Gantts: the "now" line and the breakdown as a labelled band on SAW-1; the new
    one: the operations that started before now marked fixed (and they are unchanged)."""
    import numpy as np

    from furnsim import viz

    old, new = planned["result"].schedule, scenario["result"].schedule
    fig_old, fig_new = replan_figures(planned, scenario, moved_ops(old, new))
    for fig in (fig_old, fig_new):
        bd = next(t for t in fig.data if t.name == "breakdown")
        assert list(bd.y) == viz.gantt_row_y(fig, ["SAW-1"]) and list(bd.text) == ["breakdown"]
        assert str(bd.base[0]).startswith("2026-03-03T10:00") and float(bd.x[0]) == 6 * 3_600_000
        now = [sh for sh in fig.layout.shapes if sh.name == "now"]
        assert len(now) == 1 and now[0].x0 == now[0].x1 == "2026-03-03 10:00"
        assert [a.text for a in fig.layout.annotations if a.name == "now"] == [
            "now Tue 03.03. 10:00"
        ]
        past = next(sh for sh in fig.layout.shapes if sh.name == "past")
        assert past.x0 == "2026-03-02 06:00" and past.x1 == "2026-03-03 10:00"
    assert not any(t.name and t.name.startswith("fixed") for t in fig_old.data)
    fixed = next(t for t in fig_new.data if t.name and t.name.startswith("fixed"))
    t_now = (datetime(2026, 3, 3, 10) - planned["plan_start"]).total_seconds() / 60
    started = np.flatnonzero((new.op_machine >= 0) & (new.times["start"] < t_now))
    assert started.size > 0 and len(fixed.x) == started.size
    # each on its machine's row, from its start
    assert list(fixed.y) == viz.gantt_row_y(
        fig_new, [new.machine_ids[int(m)] for m in new.op_machine[started]]
    )
    assert fixed.name == f"fixed: started before now ({started.size})"
    # what is marked fixed did not move: same machine and start as in the old plan
    old_at = {
        (old.job_ids[int(j)], int(k)): (old.machine_ids[int(m)], float(s))
        for j, k, m, s in zip(
            old.op_job, old.op_step, old.op_machine, old.times["start"], strict=True
        )
    }
    for o in started:
        key = (new.job_ids[int(new.op_job[o])], int(new.op_step[o]))
        m = new.machine_ids[int(new.op_machine[o])]
        assert old_at[key] == (m, pytest.approx(float(new.times["start"][o])))


def test_order_gantt_shows_the_bom_tree() -> None:
    from furnsim import viz
    from furnsim.io import load_instance
    from furnsim.plan import plan

    inst = load_instance(SHIFTS.parents[1] / "demo-assembly")
    res = plan(inst, "speed", "rule:EDD")
    fig = viz.gantt(res.schedule, inst, "order", labels=False)
    rows = viz.order_rows(res.schedule, inst)
    o = inst.orders[0].id
    mine = [r for r in rows if r.startswith(f"{o} ")]
    kids = [j for j in inst.jobs if j.order == o and j.parent]
    root = next(j for j in inst.jobs if j.order == o and not j.parent)
    assert mine[0] == f"{o} ▸ {root.component}"  # the final assembly first, children under it
    assert len(mine) == len(kids) + 1 and all(" └ " in r for r in mine[1:])
    # the order's root row is labelled (one label per order, rows on a numeric axis)
    assert mine[0] in list(fig.layout.yaxis.ticktext)
    assert rows.index(mine[0]) in list(fig.layout.yaxis.tickvals)
    # kit lines: one dotted path shape, each piece "M<child's end>,<row>L<assembly's start>,<row>"
    lines = next(sh for sh in fig.layout.shapes if sh.name == "kit → assembly")
    ends = [int(p.rsplit(",", 1)[1]) for p in lines.path.split("M")[1:]]
    assert ends.count(rows.index(mine[0])) == sum(1 for j in kids if j.parent == root.id)
    # bars sit on their job's row; the deadline on the order's root row
    dl = next(t for t in fig.data if t.name == "deadline")
    assert rows.index(mine[0]) in list(dl.y)
