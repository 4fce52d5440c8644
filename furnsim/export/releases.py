"""When each batch leaves STORE in a plan: the store's release list (docs/semantics.md,
"Intentional holds" and "Transport and buffers").

A plan with release control (``furnsim/solvers/release.py``) holds jobs at STORE until just
before their first machine needs them; the floor then needs to know when to take each batch
out of the store. :func:`store_releases` reads that from a finished plan -- the departure of
each job's first operation (``times["depart"]``) and its STORE holds (``Schedule.holds``) --
for the Excel sheet *Store releases* and the dashboard. Nothing is recomputed: the list is
the plan's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from furnsim.solvers.release import store_held_jobs

__all__ = ["StoreRelease", "store_held_jobs", "store_releases"]

_EPS = 1e-6

#: how a batch leaves STORE: after a planned hold, at its release, or later (it queued at
#: STORE for room in its first buffer)
Leaves = Literal["held", "at release", "queued for room"]


@dataclass(frozen=True)
class StoreRelease:
    """One job's departure from STORE (times in minutes after the plan start)."""

    job: int  # job index in the schedule
    job_id: str
    order: str
    article: str
    component: str
    quantity: float  # nan when the instance has no job table
    depart: float  # it leaves STORE (toward its first work center)
    release: float  # its release: the earliest it may leave
    work_center: str  # its first work center
    machine: str  # the machine of its first operation ("" if unscheduled)
    start: float  # the planned start of its first operation (nan if unscheduled)
    held_from: float | None  # its STORE hold (the earliest ``from`` of its holds), else None
    held_until: float | None  # the latest ``until`` of its STORE holds, else None

    @property
    def leaves(self) -> Leaves:
        """``held`` (a planned STORE hold), ``at release``, or ``queued for room``."""
        if self.held_from is not None:
            return "held"
        if self.depart <= self.release + _EPS:
            return "at release"
        return "queued for room"


def store_releases(schedule: Any, instance: Any = None) -> list[StoreRelease]:
    """Every job that leaves STORE in ``schedule``, in departure order (ties: job index).

    Assemblies are left out (their kit releases them), and so are jobs that never leave
    STORE in the plan (an unfinished plan) or had left it before a re-plan's ``now``.
    ``instance`` gives order, article, component, quantity and release; without it the
    job id stands for the order and releases count as 0."""
    s = schedule
    op_job = np.asarray(s.op_job, dtype=np.int64)
    n_jobs = len(s.job_ids)
    # first operation of each job: the lowest operation index of the job (steps in order)
    first = np.full(n_jobs, -1, dtype=np.int64)
    for o in range(len(op_job) - 1, -1, -1):
        first[op_job[o]] = o
    parent = np.asarray(getattr(s, "job_parent", np.zeros(0)), dtype=np.int64)
    assembly = np.zeros(n_jobs, dtype=bool)
    if parent.shape == (n_jobs,):
        assembly[parent[parent >= 0]] = True
    jobs = getattr(instance, "jobs", None)
    if jobs is None or len(jobs) != n_jobs:
        jobs = None
    sit = getattr(instance, "situation", None)
    now = float(sit.now) if sit is not None else 0.0
    held: dict[str, tuple[float, float]] = {}
    for h in getattr(s, "holds", None) or ():
        if h.get("kind") != "store":
            continue
        key, a, b = str(h.get("job")), float(h["from"]), float(h["until"])
        a0, b0 = held.get(key, (a, b))
        held[key] = (min(a, a0), max(b, b0))
    depart = np.asarray(s.times["depart"], dtype=float)
    start = np.asarray(s.times["start"], dtype=float)
    op_machine = np.asarray(s.op_machine, dtype=np.int64)
    op_wc = np.asarray(s.op_wc, dtype=np.int64)
    out: list[StoreRelease] = []
    for j in range(n_jobs):
        o = int(first[j])
        if o < 0 or assembly[j] or (jobs is not None and jobs[j].assembly):
            continue
        dep = float(depart[o])
        if not math.isfinite(dep) or dep < now - _EPS:
            continue
        jid = str(s.job_ids[j])
        m = int(op_machine[o])
        hold = held.get(jid)
        job = jobs[j] if jobs is not None else None
        out.append(
            StoreRelease(
                job=j,
                job_id=jid,
                order=str(job.order) if job is not None else jid,
                article=str(job.article) if job is not None else "",
                component=str(job.component) if job is not None else "",
                quantity=float(job.delta) if job is not None else math.nan,
                depart=dep,
                release=max(float(job.release) if job is not None else 0.0, now),
                work_center=str(s.wc_ids[int(op_wc[o])]),
                machine=str(s.machine_ids[m]) if m >= 0 else "",
                start=float(start[o]),
                held_from=hold[0] if hold is not None else None,
                held_until=hold[1] if hold is not None else None,
            )
        )
    out.sort(key=lambda r: (r.depart, r.job))
    return out
