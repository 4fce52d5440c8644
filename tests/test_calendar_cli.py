"""Working time end to end: a calendar plant through `furnsim plan --plan-start --json` and
`furnsim validate`; the plan JSON carries segments and real date/times."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from furnsim.cli import app
from furnsim.sim import Schedule

from ._fixtures import write
from .test_calendar_io import cal_tables

runner = CliRunner()


def test_plan_with_plan_start_and_validate(tmp_path: Path) -> None:
    t = cal_tables()
    t["settings"] = [s for s in t["settings"] if s["key"] != "plan_start"]
    t["orders"][0]["deadline"] = 3000
    path = write(t, "yaml", tmp_path)
    out = tmp_path / "plan.json"
    # Friday 21:30: half an hour of the late shift before the weekend
    r = runner.invoke(
        app,
        [
            "plan",
            str(path),
            "--method",
            "rule:FIFO",
            "--plan-start",
            "2026-11-27T21:30",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["valid"] is True
    ops = d["operations"]
    assert all("segments" in o and "start_at" in o for o in ops)
    assert ops[0]["start_at"].startswith("2026-11-27T")
    saw = [o for o in ops if o["work_center"] == "SAW"]
    # SAW (2 shifts Mon-Fri) runs into the overtime Saturday 06:00-12:00 of the fixture
    assert "2026-11-28T06:00" <= max(o["end_at"] for o in saw) <= "2026-11-28T12:00"
    assert any(len(o["segments"]) > 1 for o in saw)  # paused over the night
    assert d["kpis"]["overtime_minutes"] > 0 and d["kpis"]["extra_windows_used"] >= 1
    s = Schedule.from_dict(d["schedule"])
    assert s.segments is not None
    r = runner.invoke(app, ["validate", str(path), str(out)])
    assert r.exit_code != 0  # without the plan start the calendar plant is incomplete
    assert "plan start" in r.output
    r = runner.invoke(app, ["validate", str(path), str(out), "--plan-start", "2026-11-27T21:30"])
    assert r.exit_code == 0, r.output
    # one segment moved into the night: exit 1 with a working-time violation
    i = next(k for k, o in enumerate(ops) if o["work_center"] == "SAW" and len(o["segments"]) > 1)
    a, b = d["schedule"]["segments"][i][0]
    d["schedule"]["segments"][i][0] = [a + 60, b + 60]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    r = runner.invoke(app, ["validate", str(path), str(bad), "--plan-start", "2026-11-27T21:30"])
    assert r.exit_code == 1 and "working-time" in r.output, r.output
    # malformed segments are a file error (exit 2) naming the field
    d["schedule"]["segments"][i] = [[1, "x"]]
    bad.write_text(json.dumps(d))
    r = runner.invoke(app, ["validate", str(path), str(bad), "--plan-start", "2026-11-27T21:30"])
    assert r.exit_code == 2 and "segments" in r.output, r.output


def test_generate_with_shifts(tmp_path: Path) -> None:
    from furnsim.io import load_instance
    from furnsim.rules import get_rule
    from furnsim.validate import validate

    r = runner.invoke(
        app,
        ["generate", "--out", str(tmp_path), "--work-centers", "4", "--machines", "6",
         "--jobs", "30", "--shifts", "2", "--format", "yaml"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    inst = load_instance(tmp_path / "plant.yaml")
    assert inst.plant.default_calendar == "2-SHIFT"
    assert inst.compiled.working is not None
    s, sim = get_rule("FIFO").plan(inst)
    assert sim.deadlock is None and validate(s, inst) == []
    r = runner.invoke(app, ["generate", "--out", str(tmp_path), "--work-centers", "4",
                            "--machines", "6", "--shifts", "4"])  # fmt: skip
    assert r.exit_code == 2
