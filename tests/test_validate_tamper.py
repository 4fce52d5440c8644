"""Tampering: a valid plan JSON, changed one way at a time, must never pass ``furnsim validate``.

The plan is the FIFO plan of ``tests/data/tamper_plant.yaml`` (setups, alternative machines,
a STORE wait, a blocked machine). Each mutation below is either a semantic violation (exit 1
and the named violation kind in the output) or a malformed file (exit 2 with a message,
never a traceback). ``test_every_tamper_is_caught`` prints "N tampered / N caught".
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from furnsim.cli import app
from furnsim.io import load_instance
from furnsim.plan import plan

DATA = Path(__file__).parent / "data"
PLANT = DATA / "tamper_plant.yaml"

Sched = dict[str, Any]


_PLANTS: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _plant_read_once(monkeypatch):
    """The CLI reads the same small plant ~130 times here: read it once (0.25 s each)."""
    import furnsim.io

    real = furnsim.io.load_instance

    def cached(path: Any, **kw: Any) -> Any:
        key = f"{path}|{sorted(kw.items())}"
        if key not in _PLANTS:
            _PLANTS[key] = real(path, **kw)
        return _PLANTS[key]

    monkeypatch.setattr(furnsim.io, "load_instance", cached)


@pytest.fixture(scope="module")
def base() -> Sched:
    inst = load_instance(PLANT)
    res = plan(inst, "speed", "rule:FIFO")
    assert res.valid
    return res.schedule.to_dict()


# -- helpers that find the operations a tamper needs -------------------------------------------
def t(d: Sched, f: str) -> list[Any]:
    return d["times"][f]


def n_ops(d: Sched) -> int:
    return len(d["op_job"])


def firsts(d: Sched) -> list[int]:
    return [o for o in range(n_ops(d)) if d["op_step"][o] == 0]


def nexts(d: Sched) -> list[int]:
    """Ops k whose job has a next op k+1."""
    return [o for o in range(n_ops(d) - 1) if d["op_job"][o + 1] == d["op_job"][o]]


def lasts(d: Sched) -> list[int]:
    return [o for o in range(n_ops(d)) if o == n_ops(d) - 1 or d["op_job"][o + 1] != d["op_job"][o]]


def with_setup(d: Sched) -> int:
    return next(o for o in range(n_ops(d)) if t(d, "setup_end")[o] > t(d, "setup_start")[o])


def machine_pair(d: Sched) -> tuple[int, int]:
    """Two consecutive ops on one machine (by setup start)."""
    by_m: dict[int, list[int]] = {}
    for o in sorted(range(n_ops(d)), key=lambda o: t(d, "setup_start")[o]):
        by_m.setdefault(d["op_machine"][o], []).append(o)
    return next((ops[0], ops[1]) for ops in by_m.values() if len(ops) > 1)


def shift(d: Sched, o: int, dt: float, fields: tuple[str, ...]) -> None:
    for f in fields:
        t(d, f)[o] += dt


OP_TIMES = ("setup_start", "setup_end", "start", "end", "leave")


# -- semantic violations: (name, expected kind, mutation) --------------------------------------
def m_start_earlier(d: Sched) -> None:
    o = with_setup(d)
    shift(d, o, -3.0, ("start", "end"))  # before its setup is done


def m_overlap(d: Sched) -> None:
    a, b = machine_pair(d)
    dt = t(d, "leave")[a] - t(d, "setup_start")[b] - 1.0
    if dt >= 0:
        dt = -1.0
    shift(d, b, dt, OP_TIMES)


def m_ineligible_other_wc(d: Sched) -> None:
    saw_op = next(o for o in range(n_ops(d)) if d["wc_ids"][d["op_wc"][o]] == "SAW")
    d["op_machine"][saw_op] = d["machine_ids"].index("EDGE-1")


def m_ineligible_subset(d: Sched) -> None:
    # SIDE step 2 runs on DRILL-2 only
    o = next(
        o
        for o in range(n_ops(d))
        if d["job_ids"][d["op_job"][o]].endswith("/SIDE") and d["op_step"][o] == 1
    )
    d["op_machine"][o] = d["machine_ids"].index("DRILL-1")


def m_setup_too_short(d: Sched) -> None:
    t(d, "setup_end")[with_setup(d)] -= 1.0


def m_setup_before_decision(d: Sched) -> None:
    o = with_setup(d)
    dt = t(d, "depart")[o] - t(d, "setup_start")[o] - 400.0  # 400 min before it departed
    shift(d, o, dt, ("setup_start", "setup_end"))


def m_setup_at_minus_100(d: Sched) -> None:
    o = with_setup(d)
    shift(d, o, -100.0 - t(d, "setup_start")[o], ("setup_start", "setup_end"))


def m_setup_before_machine_free(d: Sched) -> None:
    a, b = machine_pair(d)
    t(d, "setup_start")[b] = t(d, "leave")[a] - 2.0


def m_end_before_start(d: Sched) -> None:
    t(d, "end")[0] = t(d, "start")[0] - 1.0


def m_longer_processing(d: Sched) -> None:
    o = lasts(d)[0]
    shift(d, o, 2.0, ("end", "leave"))
    d["finish_arrive"][d["op_job"][o]] += 2.0


def m_transport_shortened(d: Sched) -> None:
    o = nexts(d)[0] + 1
    t(d, "arrive")[o] -= 1.0


def m_store_transport_shortened(d: Sched) -> None:
    t(d, "arrive")[firsts(d)[0]] -= 1.0


def m_finish_transport(d: Sched) -> None:
    d["finish_arrive"][0] -= 2.0


def m_buffer_overflow(d: Sched) -> None:
    # a job that waited at STORE for room leaves at its release instead
    inst = load_instance(PLANT)
    rel = {j.id: j.release for j in inst.jobs}
    o = next(o for o in firsts(d) if t(d, "depart")[o] > rel[d["job_ids"][d["op_job"][o]]] + 1e-6)
    dt = rel[d["job_ids"][d["op_job"][o]]] - t(d, "depart")[o]
    shift(d, o, dt, ("depart", "arrive"))


def m_wrong_setup_from(d: Sched) -> None:
    o = with_setup(d)
    cur = d["op_setup_from"][o]
    d["op_setup_from"][o] = next(i for i in range(len(d["setup_ids"])) if i != cur)


def m_wrong_needed_setup(d: Sched) -> None:
    o = with_setup(d)
    cur = d["op_setup_to"][o]
    d["op_setup_to"][o] = next(i for i in range(len(d["setup_ids"])) if i != cur)


def m_negative_times(d: Sched) -> None:
    j = d["op_job"][0]
    for o in range(n_ops(d)):
        if d["op_job"][o] == j:
            shift(d, o, -1000.0, (*OP_TIMES, "depart", "arrive"))
    d["finish_arrive"][j] -= 1000.0


def m_leave_before_end(d: Sched) -> None:
    o = lasts(d)[1]
    t(d, "leave")[o] = t(d, "end")[o] - 1.0


def m_blocking_without_reason(d: Sched) -> None:
    o = next(o for o in nexts(d) if t(d, "leave")[o] == t(d, "end")[o])
    shift(d, o, 5.0, ("leave",))
    shift(d, o + 1, 5.0, ("depart", "arrive"))


def m_blocked_too_long(d: Sched) -> None:
    o = next(o for o in nexts(d) if t(d, "leave")[o] > t(d, "end")[o])
    shift(d, o, 1.0, ("leave",))
    shift(d, o + 1, 1.0, ("depart", "arrive"))


def m_last_step_blocks(d: Sched) -> None:
    t(d, "leave")[lasts(d)[0]] += 1.0


def m_release_violated(d: Sched) -> None:
    # O2 is released at 30
    o = next(o for o in firsts(d) if d["job_ids"][d["op_job"][o]] == "O2/TOP")
    shift(d, o, -20.0, ("depart", "arrive"))


def m_store_wait_without_reason(d: Sched) -> None:
    o = firsts(d)[0]  # left STORE at its release (0)
    shift(d, o, 1.0, ("depart", "arrive"))


def m_depart_not_leave(d: Sched) -> None:
    o = nexts(d)[0] + 1
    shift(d, o, -0.5, ("depart", "arrive"))


def m_start_later_idle(d: Sched) -> None:
    o = lasts(d)[-1]
    shift(d, o, 1.0, ("start", "end", "leave"))
    d["finish_arrive"][d["op_job"][o]] += 1.0


def m_unscheduled(d: Sched) -> None:
    d["op_machine"][3] = -1


def m_null_time(d: Sched) -> None:
    t(d, "start")[2] = None


def m_unknown_machine(d: Sched) -> None:
    d["machine_ids"][1] = "SAW-9"


def m_wrong_volume(d: Sched) -> None:
    d["op_volume"][0] *= 0.5


def m_wrong_job(d: Sched) -> None:
    d["op_job"][0], d["op_job"][-1] = d["op_job"][-1], d["op_job"][0]


def m_wrong_wc(d: Sched) -> None:
    d["op_wc"][0] = (d["op_wc"][0] + 1) % len(d["wc_ids"])


SEMANTIC: list[tuple[str, str, Callable[[Sched], None]]] = [
    ("move a start earlier (before the setup ends)", "setup", m_start_earlier),
    ("overlap two operations on a machine", "capacity", m_overlap),
    ("machine of another work center", "eligibility", m_ineligible_other_wc),
    ("machine outside the operation's subset", "eligibility", m_ineligible_subset),
    ("setup too short", "setup", m_setup_too_short),
    ("setup 400 min before the job departed", "decision", m_setup_before_decision),
    ("setup at minute -100", "decision", m_setup_at_minus_100),
    ("setup before the previous job left the machine", "capacity", m_setup_before_machine_free),
    ("end before start", "duration", m_end_before_start),
    ("processing longer than its time", "duration", m_longer_processing),
    ("transport between work centers shortened", "transport", m_transport_shortened),
    ("transport from STORE shortened", "transport", m_store_transport_shortened),
    ("transport to FINISHED shortened", "transport", m_finish_transport),
    ("buffer overflow (STORE wait removed)", "buffer", m_buffer_overflow),
    ("wrong setup_from", "setup-sequence", m_wrong_setup_from),
    ("wrong needed setup", "setup", m_wrong_needed_setup),
    ("negative times (a job 1000 min earlier)", "release", m_negative_times),
    ("leave before end", "precedence", m_leave_before_end),
    ("blocking without reason", "blocking", m_blocking_without_reason),
    ("blocked after room was freed", "blocking", m_blocked_too_long),
    ("the last step blocks", "blocking", m_last_step_blocks),
    ("departs STORE before its release", "release", m_release_violated),
    ("waits at STORE although there was room", "release", m_store_wait_without_reason),
    ("departs toward the next step before leaving", "precedence", m_depart_not_leave),
    ("starts later than setup done and job there", "idle", m_start_later_idle),
    ("an operation unscheduled", "missing", m_unscheduled),
    ("a null start", "missing", m_null_time),
    ("a machine that is not in the plant", "identity", m_unknown_machine),
    ("a wrong volume", "identity", m_wrong_volume),
    ("operations swapped between jobs", "identity", m_wrong_job),
    ("an operation moved to another work center", "identity", m_wrong_wc),
]


# -- malformed files: (name, mutation of the dict, or a text replacing the whole file) ---------
def top(key: str, value: Any) -> Callable[[Sched], None]:
    def f(d: Sched) -> None:
        d[key] = value

    return f


def op_at(key: str, value: Any, i: int = 0) -> Callable[[Sched], None]:
    def f(d: Sched) -> None:
        d[key][i] = value

    return f


def time_at(field: str, value: Any, i: int = 0) -> Callable[[Sched], None]:
    def f(d: Sched) -> None:
        t(d, field)[i] = value

    return f


def drop(key: str) -> Callable[[Sched], None]:
    def f(d: Sched) -> None:
        del d[key]

    return f


def m_missing_op(d: Sched) -> None:
    for k in (
        "op_job",
        "op_step",
        "op_wc",
        "op_volume",
        "op_machine",
        "op_setup_from",
        "op_setup_to",
    ):
        d[k].pop()
    for v in d["times"].values():
        v.pop()


def m_extra_op(d: Sched) -> None:
    for k in (
        "op_job",
        "op_step",
        "op_wc",
        "op_volume",
        "op_machine",
        "op_setup_from",
        "op_setup_to",
    ):
        d[k].append(d[k][-1])
    for v in d["times"].values():
        v.append(v[-1])


def m_duplicate_machine(d: Sched) -> None:
    d["machine_ids"][1] = d["machine_ids"][0]  # SAW-2 becomes an alias of SAW-1


def m_alias_appended(d: Sched) -> None:
    d["machine_ids"].append(d["machine_ids"][0])
    d["op_machine"][0] = len(d["machine_ids"]) - 1


def m_one_times_field_short(d: Sched) -> None:
    t(d, "leave").pop()


def m_unknown_time_field(d: Sched) -> None:
    d["times"]["hold"] = [0.0] * n_ops(d)


MALFORMED: list[tuple[str, Callable[[Sched], None] | str]] = [
    ("machine index null", op_at("op_machine", None)),
    ("machine index float", op_at("op_machine", 1.0)),
    ("machine index huge", op_at("op_machine", 10**30)),
    ("machine index negative", op_at("op_machine", -5)),
    ("machine index too large", op_at("op_machine", 99)),
    ("machine index a boolean", op_at("op_machine", True)),
    ("machine index a string", op_at("op_machine", "1")),
    ("times not a mapping", top("times", [[0.0]])),
    ("times missing", drop("times")),
    ("op_job missing", drop("op_job")),
    ("job_ids a string", top("job_ids", "O1/BOARD")),
    ("a time as a string", time_at("start", "12")),
    ("a time NaN", time_at("start", float("nan"))),
    ("a time Infinity", time_at("end", float("inf"))),
    ("a time 1e999", "1e999"),
    ("a time a list", time_at("depart", [1])),
    ("missing operation", m_missing_op),
    ("extra operation", m_extra_op),
    ("one times field short", m_one_times_field_short),
    ("unknown times field", m_unknown_time_field),
    ("duplicate machine id (alias)", m_duplicate_machine),
    ("appended machine alias", m_alias_appended),
    ("declares soft buffers", top("buffers", "soft")),
    ("declares anticipatory setups off", top("anticipatory_setups", False)),
    ("unknown buffer mode", top("buffers", "elastic")),
    ("wrong format tag", top("format", "furnsim.schedule/9")),
    ("top level a list", "[]"),
    ("not JSON", "{this is not json"),
    ("empty file", ""),
    ("jobs of another instance", op_at("job_ids", "X1/BOARD")),
    ("setup index out of range", op_at("op_setup_to", 77)),
]


def _write(tmp: Path, name: str, d: Sched | str) -> Path:
    p = tmp / f"{abs(hash(name))}.json"
    if isinstance(d, str):
        p.write_text(d)
    else:
        p.write_text(json.dumps(d))  # allow_nan: NaN / Infinity tokens as a sloppy writer would
    return p


def _run(path: Path) -> tuple[int, str, BaseException | None]:
    r = CliRunner().invoke(app, ["validate", str(PLANT), str(path)])
    exc = r.exception if not isinstance(r.exception, SystemExit) else None
    return r.exit_code, r.output, exc


def _malformed_file(base: Sched, m: Callable[[Sched], None] | str) -> Sched | str:
    if isinstance(m, str):
        if m == "1e999":
            return json.dumps(base).replace('"start": [', '"start": [1e999, ', 1)
        return m
    d = copy.deepcopy(base)
    m(d)
    return d


def test_the_untampered_plan_is_valid(base, tmp_path):
    code, out, exc = _run(_write(tmp_path, "base", base))
    assert exc is None and code == 0, out
    assert "rules: buffers=hard" in out and "valid: 21 operations" in out


@pytest.mark.parametrize("name,kind,mutate", SEMANTIC, ids=[s[0] for s in SEMANTIC])
def test_semantic_tamper_is_caught(base, tmp_path, name, kind, mutate):
    d = copy.deepcopy(base)
    mutate(d)
    assert d != base, "the mutation changed nothing"
    code, out, exc = _run(_write(tmp_path, name, d))
    assert exc is None, f"{name}: traceback {exc!r}"
    assert code == 1, f"{name}: exit {code}\n{out}"
    assert f"[{kind}]" in out, f"{name}: expected a {kind} violation\n{out}"


@pytest.mark.parametrize("name,mutate", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_exits_2(base, tmp_path, name, mutate):
    code, out, exc = _run(_write(tmp_path, name, _malformed_file(base, mutate)))
    assert exc is None, f"{name}: traceback {exc!r}"
    assert code == 2, f"{name}: exit {code}\n{out}"
    assert "Traceback" not in out and "valid:" not in out
    assert out.strip(), "no message"


def test_every_tamper_is_caught(base, tmp_path, capsys):
    """The count the issue asks for: every tampered file is refused with the right exit code."""
    tried = caught = 0
    misses = []
    for name, kind, mutate in SEMANTIC:
        d = copy.deepcopy(base)
        mutate(d)
        code, out, _ = _run(_write(tmp_path, name, d))
        tried += 1
        if code == 1 and f"[{kind}]" in out:
            caught += 1
        else:
            misses.append(name)
    for name, mutate in MALFORMED:
        code, out, _ = _run(_write(tmp_path, name, _malformed_file(base, mutate)))
        tried += 1
        if code == 2:
            caught += 1
        else:
            misses.append(name)
    with capsys.disabled():
        print(f"\n{tried} tampered / {caught} caught")
    assert tried >= 60 and caught == tried, misses


def test_messages_name_the_field(base, tmp_path):
    d = copy.deepcopy(base)
    d["op_machine"][4] = 2.5
    _, out, _ = _run(_write(tmp_path, "float", d))
    assert "'op_machine'[4]" in out and "whole number" in out
    d = copy.deepcopy(base)
    d["machine_ids"][1] = d["machine_ids"][0]
    _, out, _ = _run(_write(tmp_path, "alias", d))
    assert "machine_ids" in out and "SAW-1" in out
    d = copy.deepcopy(base)
    d["buffers"] = "soft"
    _, out, _ = _run(_write(tmp_path, "soft", d))
    assert "declares buffers=soft" in out and "validated with buffers=hard" in out
    m_missing_op(d := copy.deepcopy(base))
    _, out, _ = _run(_write(tmp_path, "short", d))
    assert "20 operations" in out and "has 21" in out


def test_a_huge_file_is_refused_unread(tmp_path, monkeypatch):
    import furnsim.validate as v

    monkeypatch.setattr(v, "MAX_SCHEDULE_BYTES", 100)
    p = tmp_path / "big.json"
    p.write_text("{" + " " * 200 + "}")
    code, out, exc = _run(p)
    assert exc is None and code == 2 and "more than the 100" in out


def test_semantic_tampers_are_distinct(base):
    seen = []
    for name, _, mutate in SEMANTIC:
        d = copy.deepcopy(base)
        mutate(d)
        key = json.dumps(d, sort_keys=True)
        assert key not in seen, f"{name} duplicates another tamper"
        seen.append(key)
    assert np.unique([k for _, k, _ in SEMANTIC]).size >= 14  # kinds covered
