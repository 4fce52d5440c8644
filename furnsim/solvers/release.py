"""Release control: keep each job at STORE until its plan needs it (issue 15, item 2).

A non-delay plan sends every job from STORE toward its first work center at its release (or
as soon as that buffer has room): on a week where every order is released on Monday, the
saws' buffers stay full until the last batch is sawn, and that occupancy is about half of
the *Empty Buffers* cost of a rule's plan. Material that has not left STORE holds no buffer
space (docs/semantics.md, "Transport and buffers"), so a planner that releases each batch
just in time keeps the same machine sequences and start times with far less
work-in-process.

:func:`release_just_in_time` does that to a finished plan: every job (not an assembly: its
kit releases it) is held at STORE -- a recorded intentional hold (docs/semantics.md,
"Intentional holds") -- until the latest departure that still lets its first operation
start as planned (with anticipatory setups: no later than the machine's decision for it, so
the machine can set up for it, and no later than ``start - transport``), and the plan is
replayed with the same machine sequences (a machine whose next job is not there yet holds
for it). The buffers only get emptier, so no job waits for room it had before; a batch that
was blocked on its machine by a full buffer leaves earlier. The result is a hold-aware plan
that the validator checks like any other.

:class:`ReleaseSaving` estimates, from a finished simulator run, how much the goal's cost
falls when its plan is released just in time (the first buffers' occupancy that the holds
remove); ``lns`` searches on that estimate for goals that weigh buffer occupancy and
releases its best plan at the end (docs/optimizer.md, "Release control").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from furnsim.model.instance import Instance
from furnsim.sim.engine import Simulator
from furnsim.sim.schedule import Schedule

__all__ = [
    "RELEASE_OPTIONS",
    "ReleaseSaving",
    "release_if_cheaper",
    "release_just_in_time",
    "release_until",
    "releasing",
    "store_held_jobs",
    "wants_release",
]

_EPS = 1e-6


def wants_release(goal: Any) -> bool:
    """Whether release control can lower ``goal``'s cost: it weighs buffer occupancy."""
    from furnsim.goals import get_goal

    g = get_goal(goal)
    return g.weights.get("buffer_load", 0.0) > 0 or g.weights.get("overflow_load", 0.0) > 0


#: the ``release`` option of the optimizer and the policy planner
RELEASE_OPTIONS = ("auto", "on", "off")


def releasing(release: str, goal: Any) -> bool:
    """Whether the ``release`` option (:data:`RELEASE_OPTIONS`) turns release control on for
    ``goal``: ``"on"``, or ``"auto"`` and the goal weighs buffer occupancy."""
    if release not in RELEASE_OPTIONS:
        raise ValueError(f"release must be 'auto', 'on' or 'off', not {release!r}")
    return release == "on" or (release == "auto" and wants_release(goal))


def store_held_jobs(schedule: Any) -> list[str]:
    """Ids of the jobs the plan holds at STORE (each once, in the order of their holds);
    empty for a plan without holds (every rule plan, a v1 plan)."""
    seen: dict[str, None] = {}
    for h in getattr(schedule, "holds", None) or ():
        if h.get("kind") == "store":
            seen.setdefault(str(h.get("job")), None)
    return list(seen)


def release_if_cheaper(
    instance: Instance,
    schedule: Schedule,
    goal: Any,
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    plain_cost: float | None = None,
    accept: Callable[[Schedule], bool] | None = None,
) -> tuple[Schedule, float] | None:
    """``schedule`` released just in time and its cost, when the replay works, ``accept``
    (e.g. the validator) takes it, and it costs less than ``schedule`` (``plain_cost``, if
    known); else None."""
    from furnsim.goals import cost

    if not schedule.complete:
        return None
    js = release_just_in_time(
        instance, schedule, buffers=buffers, anticipatory_setups=anticipatory_setups
    )
    if js is None:
        return None
    plain = float(cost(schedule, goal, instance)) if plain_cost is None else float(plain_cost)
    c = float(cost(js, goal, instance))
    if not c < plain or (accept is not None and not accept(js)):
        return None
    return js, c


def _first_ops(instance: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(jobs, their first operations, transport minutes STORE -> first work center) of the
    jobs that leave STORE (assemblies are released by their kits)."""
    ci = instance.compiled
    jobs = np.flatnonzero(np.asarray(ci.job_n_children) == 0)
    first = np.asarray(ci.job_op_start[:-1], dtype=np.int64)[jobs]
    tr = np.asarray(ci.transport, dtype=np.float64)[0, np.asarray(ci.op_wc)[first] + 1]
    return jobs, first, tr


def _latest_departure(
    times: dict[str, np.ndarray], first: np.ndarray, tr: np.ndarray, anticipatory_setups: bool
) -> np.ndarray:
    """The latest STORE departure of each first operation that keeps its start: it arrives by
    the start, and (anticipatory setups) it is a candidate when the machine decides for it
    (the setup start); without anticipatory setups the setup waits for the job."""
    st = times["start"][first]
    ss = times["setup_start"][first]
    if anticipatory_setups:
        return np.fmin(st - tr, ss)
    return np.fmin(st, ss) - tr


def release_until(
    instance: Instance, schedule: Schedule, *, anticipatory_setups: bool = True
) -> dict[int, float]:
    """``{job index: until}``: the STORE hold that releases each job of ``schedule`` just in
    time, or at its old departure where that was later (a job queued at STORE for room); only
    jobs held past their release, never assemblies. In a re-plan (a shop situation) only jobs
    that were still at STORE at ``now`` are held."""
    ci = instance.compiled
    jobs, first, tr = _first_ops(instance)
    t = schedule.times
    until = _latest_departure(t, first, tr, anticipatory_setups)
    dep = t["depart"][first]
    sit = getattr(instance, "situation", None)
    now = float(sit.now) if sit is not None else 0.0
    rel = np.maximum(np.asarray(ci.job_release, dtype=np.float64)[jobs], now)
    # a job that left late (it queued at STORE for room) keeps at least its old departure:
    # released from a queue that the emptier buffers no longer form, it would wait longer
    until = np.fmax(until, dep)
    ok = np.isfinite(until) & np.isfinite(dep) & (until > rel + _EPS) & (dep >= now - _EPS)
    return {int(j): float(u) for j, u in zip(jobs[ok], until[ok], strict=True)}


def release_just_in_time(
    instance: Instance,
    schedule: Schedule,
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    method: str | None = None,
    rounds: int = 8,
) -> Schedule | None:
    """``schedule`` replayed with its jobs held at STORE until just in time (module doc): the
    same machine sequences, no operation starting later, a hold-aware plan
    (``Schedule.holds``).

    A released job can still find a queue at STORE (a job that was not held waits there for
    room, and the released one goes behind it) and start later than planned; the jobs whose
    operations would start later then keep their old departure, and the replay is made again
    (at most ``rounds`` replays). ``None`` when no job can be held later than it left, or when
    the replay cannot follow the plan (a deadlock, no progress, a shop situation that refuses
    a hold, still later after ``rounds``)."""
    ci = instance.compiled
    until = release_until(instance, schedule, anticipatory_setups=anticipatory_setups)
    start = np.asarray(schedule.times["start"])
    first_m = np.asarray(schedule.op_machine)[np.asarray(ci.job_op_start[:-1], dtype=np.int64)]
    for _ in range(max(1, int(rounds))):
        if not until:
            return None
        out = _replay(instance, schedule, until, buffers, anticipatory_setups, method)
        if out is None:
            return None
        later = np.flatnonzero(out.times["start"] > start + _EPS)
        if not later.size:
            return out
        # drop the holds of the jobs that start something later; else of the held jobs that
        # go first to a machine where something starts later
        jobs = set(np.asarray(ci.op_job)[later].tolist()) & until.keys()
        if not jobs:
            ms = set(np.asarray(out.op_machine)[later].tolist())
            jobs = {j for j in until if int(first_m[j]) in ms} or set(until)
        for j in jobs:
            del until[j]
    return None


def _replay(
    instance: Instance,
    schedule: Schedule,
    until: dict[int, float],
    buffers: str,
    anticipatory_setups: bool,
    method: str | None,
) -> Schedule | None:
    """``schedule``'s machine sequences with the STORE holds ``until`` (None: cannot)."""
    ci = instance.compiled
    try:
        sim = Simulator(
            instance,
            buffers=buffers,
            anticipatory_setups=anticipatory_setups,
            record_holds=True,
            store_holds=until,
        )
    except ValueError:  # a job the situation does not have at STORE
        return None
    mach = np.asarray(schedule.op_machine)
    start = np.asarray(schedule.times["start"])
    done = np.asarray(sim.rec_machine) >= 0  # frozen by a shop situation
    end = np.asarray(schedule.times["end"])
    # a machine's order: by start, a zero-length operation before the one starting as it ends
    order = np.lexsort((np.fmin(schedule.times["setup_start"], start), end, start, mach))
    seqs: dict[int, list[int]] = {}
    for o in order[(mach[order] >= 0) & ~done[order]]:
        seqs.setdefault(int(mach[o]), []).append(int(o))
    pos = dict.fromkeys(seqs, 0)
    op_job = ci.op_job
    d = sim.decision()
    steps = 20 * int(ci.n_ops) + 1000
    while d is not None:
        steps -= 1
        if steps < 0:
            return None
        m = d.machine
        seq = seqs.get(m, ())
        i = pos.get(m, 0)
        if i >= len(seq):  # this machine has nothing more in the plan
            d = sim.hold_machine(until=math.inf, reason="release: done")
            continue
        o = seq[i]
        j = int(op_job[o])
        hit = (d.candidates == j) & (d.ops == o)
        if hit.any():
            pos[m] = i + 1
            d = sim.dispatch(j)
        elif (d.candidates == j).any():
            # the job is here for an earlier operation (that another machine of this work
            # center takes first): wait for the next event
            nxt = sim.next_event_time
            if nxt is None:
                return None
            d = sim.hold_machine(until=nxt, reason="release: sequence")
        else:
            try:
                d = sim.hold_machine(job=j, reason="release: sequence")
            except ValueError:
                return None
    if sim.deadlock is not None or sim.n_done != sim.n_jobs:
        return None
    return sim.schedule(method=method or schedule.method)


class ReleaseSaving:
    """What releasing a finished run just in time takes off ``goal``'s cost, estimated from
    the run's records: each first buffer's occupancy between the job's departure and its
    just-in-time departure (``weight(buffer_load) · volume / capacity`` per minute). The
    blocking the fuller buffers caused is not credited, so the release replay is usually a
    little cheaper still."""

    def __init__(self, instance: Instance, goal: Any, anticipatory_setups: bool = True) -> None:
        from furnsim.goals import get_goal

        ci = instance.compiled
        g = get_goal(goal)
        self.jobs, self.first, self.tr = _first_ops(instance)
        cap = np.asarray(ci.wc_capacity, dtype=np.float64)[np.asarray(ci.op_wc)[self.first]]
        vol = np.asarray(ci.op_volume, dtype=np.float64)[self.first]
        w = float(g.weights.get("buffer_load", 0.0))
        # per minute of occupancy removed; unbounded buffers are not in buffer_load
        self.rate = np.where(np.isfinite(cap) & (cap > 0), w * vol / np.where(cap > 0, cap, 1), 0)
        self.anticipatory = bool(anticipatory_setups)
        sit = getattr(instance, "situation", None)
        self.now = float(sit.now) if sit is not None else 0.0

    def __call__(self, rec: dict[str, np.ndarray]) -> float:
        """The estimated saving of the run recorded in ``rec`` (``Simulator.rec``)."""
        until = _latest_departure(rec, self.first, self.tr, self.anticipatory)
        dep = rec["depart"][self.first]
        gain = np.where(dep >= self.now - _EPS, until - dep, 0.0)
        gain = np.where(np.isfinite(gain) & (gain > 0), gain, 0.0)
        return float(self.rate @ gain)
