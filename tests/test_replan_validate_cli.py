"""``furnsim validate PLANT PLAN --state STATE``: a replanned plan checked from files.

The assembly demo (kits) planned with ATC, re-planned at Tuesday 10:00 after a breakdown of
SAW-1 (10:00-16:00) and a rush order, with one operation pinned to the other saw. The
replanned plan validates against its state (exit 0); tampered copies are caught (exit 1): a
pinned operation moved back, an operation put into the outage, an operation that started
before ``now`` moved; a bad state file is exit 2 with the file named.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from furnsim.cli import app

ASM = Path(__file__).resolve().parents[1] / "bom_data" / "demo-assembly" / "csv"
NOW, REPAIRED = 1680, 2040  # Tuesday 10:00 / 16:00 in minutes after Monday 06:00
EVENTS = [
    {"type": "breakdown", "machine": "SAW-1", "from": "2026-03-03T10:00", "to": "2026-03-03T16:00"},
    {
        "type": "rush_order",
        "order": "RUSH-1",
        "article": "NIGHTSTAND",
        "quantity": 12,
        "deadline": "2026-03-04T14:00",
    },
]
runner = CliRunner()


@pytest.fixture(scope="module")
def replanned(tmp_path_factory):
    if not ASM.exists():
        pytest.skip("bom_data/demo-assembly is not here")
    tmp = tmp_path_factory.mktemp("validate-state")
    plan_json = tmp / "plan.json"
    res = runner.invoke(app, ["plan", str(ASM), "--method", "rule:ATC", "--json", str(plan_json)])
    assert res.exit_code == 0, res.output
    prev = json.loads(plan_json.read_text())["schedule"]
    saw = prev["wc_ids"].index("SAW")
    o = next(
        o
        for o in range(len(prev["op_job"]))
        if prev["op_wc"][o] == saw and (prev["times"]["setup_start"][o] or 0) > 2500
    )
    job, step = prev["job_ids"][prev["op_job"][o]], prev["op_step"][o] + 1
    was = prev["machine_ids"][prev["op_machine"][o]]
    other = "SAW-2" if was == "SAW-1" else "SAW-1"
    pins = tmp / "pins.yaml"
    pins.write_text(yaml.safe_dump([{"job": job, "step": step, "machine": other}]))
    ev = tmp / "events.yaml"
    ev.write_text(yaml.safe_dump(EVENTS))
    out = tmp / "replan.json"
    res = runner.invoke(
        app,
        [
            "replan",
            str(ASM),
            "--previous",
            str(plan_json),
            "--now",
            "2026-03-03T10:00",
            "--events",
            str(ev),
            "--pins",
            str(pins),
            "--method",
            "rule:ATC",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    return tmp, out, (job, step, was, other), prev


def _validate(plan: Path, state: Path, *extra: str):
    return runner.invoke(app, ["validate", str(ASM), str(plan), "--state", str(state), *extra])


def _op(d, job, step):
    s = d["schedule"]
    return next(
        o
        for o in range(len(s["op_job"]))
        if s["job_ids"][s["op_job"][o]] == job and s["op_step"][o] == step - 1
    )


def _tampered(tmp, d, name, edit):
    d = copy.deepcopy(d)
    edit(d["schedule"])
    p = tmp / name
    p.write_text(json.dumps(d))
    return p


def test_replanned_plan_validates_against_its_state(replanned):
    tmp, out, _, _ = replanned
    res = _validate(out, out)
    assert res.exit_code == 0, res.output
    assert "state: now=1680" in res.output and "1 outage(s), 1 pin(s)" in res.output
    assert "valid:" in res.output
    # the same with the state and the pins as separate files (orders: the rush order is
    # only in the replan output, so the plain plant's orders do not fit the plan)
    d = json.loads(out.read_text())
    st = tmp / "state.json"
    st.write_text(json.dumps(d["situation"]["state"]))
    assert d["situation"]["state"]["kits"]  # kits were waiting in their buffers at now
    pins = tmp / "pins2.yaml"
    pins.write_text(yaml.safe_dump(d["situation"]["pins"]))
    orders = tmp / "orders.csv"
    cols = ["order", "article", "quantity", "deadline", "release", "priority"]
    orders.write_text(
        ",".join(cols)
        + "\n"
        + "".join(",".join(str(r[c]) for c in cols) + "\n" for r in d["orders"])
    )
    res = _validate(out, st, "--pins", str(pins), "--orders", str(orders))
    assert res.exit_code == 0, res.output


def test_pinned_operation_moved_is_caught(replanned):
    tmp, out, (job, step, was, _other), _ = replanned
    d = json.loads(out.read_text())
    o = _op(d, job, step)

    def edit(s):
        s["op_machine"][o] = s["machine_ids"].index(was)

    res = _validate(_tampered(tmp, d, "pin.json", edit), out)
    assert res.exit_code == 1, res.output
    assert "pin" in res.output and "is pinned to" in res.output


def test_operation_in_the_outage_is_caught(replanned):
    tmp, out, _, _ = replanned
    d = json.loads(out.read_text())
    s = d["schedule"]
    saw1 = s["machine_ids"].index("SAW-1")
    o = next(
        o
        for o in range(len(s["op_job"]))
        if s["op_machine"][o] == saw1 and s["times"]["setup_start"][o] >= REPAIRED
    )
    shift = s["times"]["setup_start"][o] - (NOW + 30)

    def edit(s):
        t = s["times"]
        for f in ("setup_start", "setup_end", "start", "end", "leave"):
            t[f][o] -= shift
        # consistent working-time segments: the operation now runs inside the outage
        s["segments"][o] = [[t["start"][o], t["end"][o]]]
        s["setup_segments"][o] = (
            [[t["setup_start"][o], t["setup_end"][o]]]
            if t["setup_end"][o] > t["setup_start"][o]
            else []
        )

    res = _validate(_tampered(tmp, d, "outage.json", edit), out)
    assert res.exit_code == 1, res.output
    assert "outage" in res.output and "during its outage 1680..2040" in res.output


def test_started_operation_moved_is_caught(replanned):
    tmp, out, _, _ = replanned
    d = json.loads(out.read_text())
    s = d["schedule"]
    o = next(
        o
        for o in range(len(s["op_job"]))
        if s["times"]["end"][o] < NOW - 100 and s["times"]["setup_start"][o] > 100
    )

    def edit(s):
        for f in ("setup_start", "setup_end", "start", "end"):
            s["times"][f][o] += 5

    res = _validate(_tampered(tmp, d, "started.json", edit), out)
    assert res.exit_code == 1, res.output
    assert "state" in res.output and "differs from the state's" in res.output


def test_bad_state_file_is_exit_2(replanned):
    tmp, out, _, _ = replanned
    bad = tmp / "bad_state.json"
    bad.write_text(
        json.dumps({"format": "furnsim.state/1", "now": 10, "operations": [{"job": "X"}]})
    )
    res = _validate(out, bad)
    assert res.exit_code == 2, res.output
    assert "bad_state.json" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["validate", str(ASM), str(out), "--pins", str(bad)])
    assert res.exit_code == 2 and "--pins needs --state" in res.output
