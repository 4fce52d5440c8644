"""The validator's check of a situation (state + pins): an independent re-check.

Like :mod:`furnsim.validate` this reads only the schedule and the situation's domain data
(job ids, steps, machine names, times) — no simulator, no compiled arrays. Kinds:

``state``   an operation done/running in the state lost its machine or times; a queued job's
            departure/arrival changed; something not in the state starts (setup or processing)
            before ``now``, or a job at STORE departs before ``now``; a machine blocked in the
            state is released before ``now``
``pin``     a pinned operation is not on its machine, or (with a start) not started then; a
            machine's frozen operations are not its next ones in the planned order
``outage``  an operation (not already running in the state) has a setup or processing segment in
            an outage of its machine
"""

from __future__ import annotations

from typing import Any

import numpy as np

from furnsim.sim.schedule import Schedule

__all__ = ["SituationView", "check_situation"]


class SituationView:
    """What the validator needs from a situation, keyed by the schedule's op indices."""

    def __init__(self, s: Schedule, sit: Any) -> None:
        st = sit.state
        self.now = float(st.now)
        self.sit = sit
        key = {
            (s.job_ids[int(j)], int(k) + 1): o
            for o, (j, k) in enumerate(zip(s.op_job, s.op_step, strict=True))
        }
        self.key = key
        self.ops = [(key.get((x.job, x.step)), x) for x in st.operations]
        n = s.n_ops
        self.fixed = np.zeros(n, dtype=bool)  # dispatched in the state (done / running)
        self.known = np.zeros(n, dtype=bool)  # in the state at all
        for o, x in self.ops:
            if o is not None:
                self.known[o] = True
                self.fixed[o] = x.status != "queued"
        # the setup each machine is in at now
        last: dict[str, tuple[tuple[float, float], str]] = {}
        for o, x in self.ops:
            if (
                o is not None
                and x.status != "queued"
                and x.machine
                and x.setup_start is not None
                and (x.machine not in last or (x.setup_start, x.end or 0.0) >= last[x.machine][0])
            ):
                last[x.machine] = (
                    (x.setup_start, x.end or 0.0),
                    s.setup_ids[int(s.op_setup_to[o])],
                )
        self.setup_at_now = {m: v[1] for m, v in last.items()}
        self.setup_at_now.update(st.machine_setups)


def check_situation(
    s: Schedule, view: SituationView, tol: float
) -> list[tuple[str, str, tuple[int, ...]]]:
    """(kind, message, ops) for every way ``s`` does not honour the situation."""
    out: list[tuple[str, str, tuple[int, ...]]] = []
    t = s.times
    now = view.now
    mach = s.op_machine

    def name(o: int) -> str:
        return f"op {o} ({s.job_ids[int(s.op_job[o])]} step {int(s.op_step[o]) + 1})"

    def mname(o: int) -> str | None:
        m = int(mach[o])
        return s.machine_ids[m] if 0 <= m < len(s.machine_ids) else None

    def differs(a: float, b: float | None) -> bool:
        return b is not None and not (abs(float(a) - b) <= tol * max(1.0, abs(b)))

    for o, x in view.ops:
        if o is None:
            out.append(("state", f"the state's {x.job} step {x.step} is not in the plan", ()))
            continue
        fields = ["depart", "arrive"]
        if x.status != "queued":
            if mname(o) != x.machine:
                out.append(
                    (
                        "state",
                        f"{name(o)} ran on {x.machine} before now but the plan puts it on {mname(o)}",
                        (o,),
                    )
                )
            fields += ["setup_start", "setup_end", "start", "end", "leave"]
        elif t["setup_start"][o] < now - tol:
            out.append(
                (
                    "state",
                    f"{name(o)} is queued at now={now:g} but its setup starts at {t['setup_start'][o]:g}",
                    (o,),
                )
            )
        for f in fields:
            if differs(t[f][o], getattr(x, f)):
                out.append(
                    (
                        "state",
                        f"{name(o)}: {f} {t[f][o]:g} differs from the state's {getattr(x, f):g}",
                        (o,),
                    )
                )
        if x.status == "done" and x.leave is None and t["leave"][o] < now - tol:
            out.append(
                (
                    "state",
                    f"{name(o)} blocks its machine at now={now:g} but the plan lets it leave at {t['leave'][o]:g}",
                    (o,),
                )
            )
    # nothing else starts before now; jobs at STORE depart at now or later
    free = ~view.known
    for f in ("setup_start", "start"):
        for o in np.flatnonzero(free & (t[f] < now - tol)).tolist():
            out.append(
                (
                    "state",
                    f"{name(o)} is not started at now={now:g} but its {f.replace('_', ' ')} is {t[f][o]:g}",
                    (o,),
                )
            )
    first = np.ones(s.n_ops, dtype=bool)
    first[1:] = s.op_job[1:] != s.op_job[:-1]
    for o in np.flatnonzero(free & first & (t["depart"] < now - tol)).tolist():
        out.append(
            (
                "state",
                f"{name(o)}: the job is at STORE at now={now:g} but departs at {t['depart'][o]:g}",
                (o,),
            )
        )

    # pins
    frozen: dict[str, list[tuple[float, int]]] = {}
    for p in view.sit.pins:
        o = view.key.get((p.job, p.step))
        if o is None:
            out.append(("pin", f"pinned {p.job} step {p.step} is not in the plan", ()))
            continue
        if mname(o) != p.machine:
            out.append(("pin", f"{name(o)} is pinned to {p.machine} but runs on {mname(o)}", (o,)))
        if p.start is not None and differs(t["start"][o], p.start):
            out.append(
                (
                    "pin",
                    f"{name(o)} is pinned to start at {p.start:g} but starts at {t['start'][o]:g}",
                    (o,),
                )
            )
        if p.frozen and not view.fixed[o]:
            k = p.planned_setup_start if p.planned_setup_start is not None else now
            frozen.setdefault(p.machine, []).append((k, o))
    for mid, lst in frozen.items():
        want = [o for _, o in sorted(lst)]
        if mid not in s.machine_ids:
            continue
        m = s.machine_ids.index(mid)
        mine = np.flatnonzero((mach == m) & ~view.fixed)
        mine = mine[np.lexsort((mine, t["start"][mine], t["setup_start"][mine]))]
        got = mine[: len(want)].tolist()
        if got != want:
            out.append(
                (
                    "pin",
                    f"machine {mid}: the frozen operations {want} are not its next ones in that order (got {got})",
                    tuple(want),
                )
            )

    # outages: no setup or processing segment in one (an interruptible operation may pause
    # across it)
    for x in view.sit.state.outages:
        if x.machine not in s.machine_ids:
            continue
        m = s.machine_ids.index(x.machine)
        mine = np.flatnonzero((mach == m) & ~view.fixed)
        hit = [
            o
            for o in mine.tolist()
            if any(
                a < x.end - tol and b > x.start + tol and b - a > tol
                for a, b in [*s.op_segments(o), *s.op_setup_segments(o)]
            )
        ]
        for o in hit:
            out.append(
                (
                    "outage",
                    f"{name(o)} runs on {x.machine} {t['setup_start'][o]:g}..{t['end'][o]:g} during its outage {x.start:g}..{x.end:g}",
                    (o,),
                )
            )
    return out
