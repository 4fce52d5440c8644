"""The shop's present: a :class:`ShopState` as of a time ``now`` (minutes after the plan start).

A state says, per operation, what has happened before ``now``:

* ``done``    — the machine dispatched it (``setup_start < now``) and processing ended
  (``end < now``); the job may still sit on the machine (``leave`` unknown: the machine is
  **blocked**) or have left (``leave`` known, ``< now``);
* ``running`` — dispatched before ``now``, processing not finished (``end >= now``: the
  expected end); the setup may still run, or the job may still be in transit to it;
* ``queued``  — the job departed toward this operation's work center before ``now`` (it is
  in transit, ``arrive > now``, or waits in the buffer) and no machine has taken it yet; its
  volume is held in that buffer.

Operations not listed have not started and their job has not departed toward them: a job
with no listed operation waits at ``STORE`` (or is not released yet). Per machine the state
keeps the setup it is in at ``now`` (default: the setup of its last dispatched operation,
else its initial setup) and its ``outages`` (breakdowns known at ``now``).

Operations are named by job id (``ORDER/COMPONENT``) and 1-based route step, never by index,
so a state stays meaningful when orders are added or removed. The file format
(``furnsim.state/1``, JSON or YAML) is documented in ``docs/replan.md``.

:func:`derive_state` builds the state from a previous plan: everything before ``now``
happened as planned (events then say what did not).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from furnsim.errors import DataError, Issue, Location
from furnsim.sim.schedule import Schedule

__all__ = [
    "STATE_FORMAT",
    "MachineOutage",
    "OpState",
    "ShopState",
    "derive_state",
    "load_state",
    "parse_time",
]

STATE_FORMAT = "furnsim.state/1"
Status = Literal["done", "running", "queued"]
_TIME_FIELDS = ("setup_start", "setup_end", "start", "end", "depart", "arrive", "leave")


@dataclass
class OpState:
    """One operation that has started (``done``/``running``) or whose job is on its way to it."""

    job: str  # job id ORDER/COMPONENT
    step: int  # 1-based route step
    status: Status
    machine: str | None = None  # done/running: the machine that runs it
    setup_from: str | None = None  # done/running: the machine's setup before it
    setup_start: float | None = None
    setup_end: float | None = None
    start: float | None = None
    end: float | None = None  # running: the expected end
    depart: float | None = None  # departure toward this operation's work center
    arrive: float | None = None
    leave: float | None = None  # the job left the machine (known when < now)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"job": self.job, "step": self.step, "status": self.status}
        for k in ("machine", "setup_from", *_TIME_FIELDS):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d


@dataclass
class MachineOutage:
    """The machine cannot work in ``[start, end)`` (a breakdown known at ``now``)."""

    machine: str
    start: float
    end: float
    reason: str = "breakdown"

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "from": self.start, "to": self.end, "reason": self.reason}


@dataclass
class ShopState:
    """The shop as of ``now`` (minutes after the plan start); see the module docstring."""

    now: float
    operations: list[OpState] = field(default_factory=list)
    machine_setups: dict[str, str] = field(default_factory=dict)  # machine -> setup at now
    outages: list[MachineOutage] = field(default_factory=list)
    plan_start: datetime | None = None
    source: str = ""  # where it came from: "derived from plan ...", a file name
    # assemblies: the kits in their buffers at now (what the operations imply; read from a
    # file it is checked against them, None = not given)
    kits: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.now, int | float) and math.isfinite(self.now) and self.now >= 0):
            raise DataError(f"state: now must be a time >= 0 in minutes (got {self.now!r})")

    # -- views ------------------------------------------------------------------------
    def by_key(self) -> dict[tuple[str, int], OpState]:
        return {(o.job, o.step): o for o in self.operations}

    def counts(self) -> dict[str, int]:
        c = {"done": 0, "running": 0, "queued": 0, "blocked": 0}
        for o in self.operations:
            c[o.status] += 1
            if o.status == "done" and o.leave is None:
                c["blocked"] += 1
        return c

    def copy(self) -> ShopState:
        return replace(
            self,
            operations=[replace(o) for o in self.operations],
            machine_setups=dict(self.machine_setups),
            outages=[replace(x) for x in self.outages],
            kits=None if self.kits is None else [dict(k) for k in self.kits],
        )

    # -- files ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {
            "format": STATE_FORMAT,
            "now": self.now,
            "plan_start": self.plan_start.isoformat() if self.plan_start else None,
            "machines": {m: {"setup": s} for m, s in sorted(self.machine_setups.items())},
            "outages": [x.to_dict() for x in self.outages],
            "operations": [o.to_dict() for o in self.operations],
        }
        if self.kits is not None:
            d["kits"] = [dict(k) for k in self.kits]
        return d

    def to_json(self, path: str | Path | None = None) -> str:
        s = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            Path(path).write_text(s)
        return s

    @staticmethod
    def from_dict(
        d: Any, *, plan_start: datetime | None = None, source: str = "state"
    ) -> ShopState:
        """Read the ``furnsim.state/1`` mapping; raise :class:`DataError` naming each bad field."""
        issues: list[Issue] = []
        if not isinstance(d, dict):
            raise DataError([Issue("a state must be a mapping", Location(source))])
        if d.get("format", STATE_FORMAT) != STATE_FORMAT:
            issues.append(
                Issue(f"format must be {STATE_FORMAT!r}", Location(source, column="format"))
            )
        ps = d.get("plan_start")
        start = plan_start
        if ps is not None:
            try:
                start = ps if isinstance(ps, datetime) else datetime.fromisoformat(str(ps))
            except ValueError:
                issues.append(
                    Issue(
                        f"plan_start {ps!r} is not a date/time",
                        Location(source, column="plan_start"),
                    )
                )
        try:
            now = parse_time(d.get("now"), start, "now")
        except ValueError as e:
            raise DataError([*issues, Issue(str(e), Location(source, column="now"))]) from None
        ops: list[OpState] = []
        for i, raw in enumerate(d.get("operations") or []):
            where = Location(source, sheet="operations", row=i)
            if not isinstance(raw, dict):
                issues.append(Issue("an operation must be a mapping", where))
                continue
            kw: dict[str, Any] = {}
            try:
                kw["job"] = str(raw["job"])
                kw["step"] = int(raw["step"])
                st = raw.get("status")
                if st not in ("done", "running", "queued"):
                    raise ValueError(f"status must be done, running or queued (got {st!r})")
                kw["status"] = st
                for k in ("machine", "setup_from"):
                    if raw.get(k) is not None:
                        kw[k] = str(raw[k])
                for k in _TIME_FIELDS:
                    if raw.get(k) is not None:
                        kw[k] = parse_time(raw[k], start, k)
            except KeyError as e:
                issues.append(Issue(f"missing field {e.args[0]!r}", where))
                continue
            except (TypeError, ValueError) as e:
                issues.append(Issue(str(e), where))
                continue
            ops.append(OpState(**kw))
        setups: dict[str, str] = {}
        for m, v in (d.get("machines") or {}).items():
            s = v.get("setup") if isinstance(v, dict) else v
            if s is not None:
                setups[str(m)] = str(s)
        outages = []
        for i, raw in enumerate(d.get("outages") or []):
            where = Location(source, sheet="outages", row=i)
            try:
                a = parse_time(raw["from"], start, "from")
                b = parse_time(raw["to"], start, "to")
                if not b > a:
                    raise ValueError(f"to ({b:g}) must be after from ({a:g})")
                outages.append(
                    MachineOutage(str(raw["machine"]), a, b, str(raw.get("reason", "breakdown")))
                )
            except KeyError as e:
                issues.append(Issue(f"missing field {e.args[0]!r}", where))
            except (TypeError, ValueError) as e:
                issues.append(Issue(str(e), where))
        kits = d.get("kits")
        if kits is not None:
            if not isinstance(kits, list):
                issues.append(Issue("kits must be a list", Location(source, column="kits")))
                kits = None
            else:
                for i, k in enumerate(kits):
                    where = Location(source, sheet="kits", row=i)
                    if not isinstance(k, dict) or "assembly" not in k:
                        issues.append(Issue("a kit must be a mapping with 'assembly'", where))
                        continue
                    for f in ("arrived", "in_transit", "missing"):
                        if k.get(f) is not None and not isinstance(k[f], list):
                            issues.append(Issue(f"{f} must be a list of job ids", where))
        if issues:
            raise DataError(issues)
        return ShopState(
            now,
            ops,
            setups,
            outages,
            start,
            source,
            kits=[dict(k) for k in kits] if kits is not None else None,
        )


def read_state_document(path: str | Path, what: str = "state") -> Any:
    """The parsed JSON (``.json``) or YAML (anything else) document of a state, replan-output
    or pins file, size-bounded (50 MB); :class:`DataError` naming the file otherwise."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise DataError(f"{p}: cannot read the {what} ({e})") from None
    if len(text) > 50_000_000:
        raise DataError(f"{p}: {what} file too large")
    try:
        return json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise DataError(f"{p}: not valid JSON/YAML ({e})") from None


def load_state(path: str | Path, *, plan_start: datetime | None = None) -> ShopState:
    """A state file (JSON or YAML, ``furnsim.state/1``)."""
    d = read_state_document(path)
    return ShopState.from_dict(d, plan_start=plan_start, source=str(Path(path)))


def parse_time(v: Any, plan_start: datetime | None, name: str) -> float:
    """Minutes after the plan start from a number or an ISO date/time (needs ``plan_start``)."""
    if isinstance(v, bool) or v is None:
        raise ValueError(f"{name}: expected minutes or a date/time, got {v!r}")
    if isinstance(v, int | float):
        f = float(v)
    else:
        if isinstance(v, datetime):
            dt = v
        else:
            s = str(v).strip()
            try:
                f = float(s)
            except ValueError:
                try:
                    dt = datetime.fromisoformat(s)
                except ValueError:
                    raise ValueError(
                        f"{name}: {v!r} is neither minutes nor a date/time like 2026-03-03T10:00"
                    ) from None
            else:
                if not math.isfinite(f):
                    raise ValueError(f"{name}: {v!r} is not a finite time")
                return f
        if plan_start is None:
            raise ValueError(f"{name}: a date/time needs the plan start (settings.plan_start)")
        f = (dt - plan_start).total_seconds() / 60.0
    if not math.isfinite(f):
        raise ValueError(f"{name}: {v!r} is not a finite time")
    return f


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def derive_state(
    previous: Schedule, now: float, *, plan_start: datetime | None = None
) -> ShopState:
    """The state at ``now`` if everything before ``now`` happened as ``previous`` planned.

    An operation is dispatched when its ``setup_start < now`` (``done`` when also
    ``end < now``, else ``running``); a job departed toward an operation when its
    ``depart < now`` (``queued`` if not dispatched). Events at exactly ``now`` are future.
    """
    if not (math.isfinite(now) and now >= 0):
        raise DataError(f"now must be a time >= 0 in minutes (got {now!r})")
    t = previous.times
    mach = previous.op_machine
    ops: list[OpState] = []
    last_on: dict[int, tuple[tuple[float, float], int]] = {}
    for o in range(previous.n_ops):
        job = previous.job_ids[int(previous.op_job[o])]
        step = int(previous.op_step[o]) + 1
        ss, dep = float(t["setup_start"][o]), float(t["depart"][o])
        m = int(mach[o])
        if m >= 0 and not math.isnan(ss) and ss < now:
            end = float(t["end"][o])
            lv = float(t["leave"][o])
            ops.append(
                OpState(
                    job,
                    step,
                    "done" if end < now else "running",
                    machine=previous.machine_ids[m],
                    setup_from=previous.setup_ids[int(previous.op_setup_from[o])],
                    setup_start=ss,
                    setup_end=float(t["setup_end"][o]),
                    start=float(t["start"][o]),
                    end=end,
                    depart=_opt(dep),
                    arrive=_opt(float(t["arrive"][o])),
                    leave=lv if (not math.isnan(lv) and lv < now and end < now) else None,
                )
            )
            if m not in last_on or (ss, end) >= last_on[m][0]:
                last_on[m] = ((ss, end), o)
        elif not math.isnan(dep) and dep < now:
            ops.append(OpState(job, step, "queued", depart=dep, arrive=_opt(float(t["arrive"][o]))))
    setups = {
        previous.machine_ids[m]: previous.setup_ids[int(previous.op_setup_to[o])]
        for m, (_, o) in last_on.items()
    }
    return ShopState(
        float(now),
        ops,
        setups,
        [],
        plan_start,
        source=f"derived from the {previous.method or 'previous'} plan at t={now:g}",
        kits=_derived_kits(previous, now) if np.any(previous.job_parent >= 0) else None,
    )


def _derived_kits(s: Schedule, now: float) -> list[dict[str, Any]]:
    """The kits in their assemblies' buffers at ``now`` by the plan ``s`` (see
    ``furnsim.replan.situation._kits``, which computes the same from a state)."""
    t = s.times
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for o in range(s.n_ops):
        j = int(s.op_job[o])
        first.setdefault(j, o)
        last[j] = o
    kids: dict[int, list[int]] = {}
    for c in np.flatnonzero(s.job_parent >= 0).tolist():
        kids.setdefault(int(s.job_parent[c]), []).append(c)
    out: list[dict[str, Any]] = []
    for p, ch in sorted(kids.items()):
        fp = first.get(p)
        if fp is None:
            continue
        gone, missing = [], []
        for c in ch:
            lc = last.get(c)
            lv = float(t["leave"][lc]) if lc is not None else math.nan
            if lc is not None and lv < now and float(t["end"][lc]) < now:
                gone.append((c, float(s.finish_arrive[c])))
            else:
                missing.append(c)
        if not gone:
            continue
        ss, st = float(t["setup_start"][fp]), float(t["start"][fp])
        if ss < now and st < now:
            continue  # consumed: the assembly is processing
        out.append(
            {
                "assembly": s.job_ids[p],
                "work_center": s.wc_ids[int(s.op_wc[fp])],
                "status": "partial" if missing else ("assigned" if ss < now else "complete"),
                "arrived": [s.job_ids[c] for c, x in gone if x <= now],
                "in_transit": [s.job_ids[c] for c, x in gone if x > now],
                "missing": [s.job_ids[c] for c in missing],
                "volume": float(sum(s.job_kit_volume[c] for c, _ in gone)),
            }
        )
    return out


def machine_sequences(s: Schedule) -> dict[int, np.ndarray]:
    """Machine index -> its operations in plan order (setup start, start, index)."""
    ok = s.op_machine >= 0
    ops = np.flatnonzero(ok)
    order = np.lexsort((ops, s.times["start"][ops], s.times["setup_start"][ops], s.op_machine[ops]))
    seq = ops[order]
    out: dict[int, np.ndarray] = {}
    for m in np.unique(s.op_machine[seq]).tolist():
        out[int(m)] = seq[s.op_machine[seq] == m]
    return out
