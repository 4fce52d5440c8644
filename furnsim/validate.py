"""Independent re-check of a :class:`~furnsim.sim.Schedule` against its :class:`Instance`.

Whoever made the schedule — the simulator, a dispatching rule, PPO or CP-SAT — it is checked
here against the shop semantics of ``docs/semantics.md``, recomputed from the instance's
domain objects (jobs, routings, machines' setup matrices, transport, buffer capacities). This
module deliberately imports nothing from :mod:`furnsim.sim.engine` and does not use the
compiled arrays, so a bug in the simulator or the compiler cannot hide itself.

    violations = validate(schedule, instance)
    if violations:
        print(format_violations(violations))

Violation kinds (:data:`KINDS`):

``identity``        the schedule is not for this instance (sizes, job ids, op -> work center,
                    machine / setup / work-center names, volumes, buffer mode)
``missing``         an operation has no machine or a time is not a finite number
``eligibility``     the machine is not an eligible machine of the operation's work center
``duration``        ``end - start != δ·d(machine) + fixed``
``setup``           wrong needed setup, wrong setup time, ``setup_start <= setup_end <= start``
                    broken, or (anticipatory setups off) the setup starts before the job is there
``decision``        the setup starts before the decision was possible: before the job departed
                    toward the machine's work center (anticipatory setups), before minute 0 or
                    before the job's release
``idle``            processing starts later than ``max(setup_end, arrive)`` (the machine would
                    sit idle with its setup done and the job there); in a hold-aware schedule
                    (``holds`` recorded) also: an idle machine had a candidate in its working
                    time and decided nothing outside its machine holds (non-delay)
``setup-sequence``  a machine's first ``setup_from`` is not its initial setup, or an operation's
                    ``setup_from`` is not the previous operation's ``setup_to`` on that machine
``capacity``        two operations overlap on one machine (occupied from setup start until the
                    job leaves it)
``precedence``      route order: ``depart(k+1) = leave(k) >= end(k)``, ``start >= arrive``
``transport``       ``arrive != depart + T[from, to]`` or ``finish_arrive != end + T[wc, FINISHED]``
``release``         a job departs from STORE before its release, or (hard buffers) later than its
                    release although the first buffer had room and nobody was ahead of it
                    (a recorded STORE hold explains the wait while it lasts)
``buffer``          (hard buffers) a buffer holds more than its capacity
``working-time``    (calendars, downtime) a processing or setup segment in closed time, segments
                    not summing to the working minutes, a pause in working time, a split
                    non-interruptible operation (:mod:`furnsim.validate_calendar`)
``blocking``        a job stays on its machine after processing without a reason: the next buffer
                    had room at the end of processing, the job did not leave when room was freed,
                    the operation is the last one (FINISHED never blocks), or buffers are soft
``join``            (assembly) an assembly's first operation is not released when its kit is
                    complete: ``depart`` = the latest ``leave`` of its children's last operations,
                    ``arrive`` = their latest kit arrival; a child's kit arrival is not
                    ``leave + T[wc, parent's wc]``; the schedule's parents are not the instance's.
                    Kit volumes count in the parent's buffer for ``buffer``/``blocking``/``release``.
``instant``         (hard buffers) no order of the events of one instant is possible: departures
                    that each need room freed at the same minute by a processing start that
                    itself waits for one of them (e.g. a swap through two full buffers — a
                    deadlock, docs/semantics.md "Simultaneous events")

``state``, ``pin``, ``outage``
                    planning from a shop state (``instance.situation``): see
                    :mod:`furnsim.replan.check`. The state's history before ``now`` is given, not
                    re-derived: operations done/running in the state are exempt from the
                    duration, setup-time, decision, idle, setup-chain and working-time rules (the
                    check compares them with the state instead), the first later operation on a
                    machine starts from the machine's setup at ``now``, and a wait that began
                    before ``now`` needs its reason from ``now`` on
``hold``            a recorded hold is inconsistent (:mod:`furnsim.validate_holds`): unknown
                    job/machine, ``until <= from``, overlapping holds, a STORE hold on a job
                    that was not waiting at STORE or that departs before the hold ends, a
                    machine hold while an operation occupies the machine

The rules are those the *caller* names (``buffers``, ``anticipatory_setups``; by default what
the schedule declares): a schedule whose declared mode differs is reported (``identity``).
Schedule files are untrusted: :func:`load_schedule` parses them strictly (plain JSON, bounded
size, every key, type, length and index checked, duplicate ids refused) and raises
:class:`ScheduleFormatError` with a message naming the field.

Complexity: O(n log n) in the number of operations (sorts per machine and per buffer); a few
milliseconds for thousands of operations.
"""

from __future__ import annotations

import contextlib
import json
import math
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.model import FINISHED, STORE, Instance
from furnsim.sim.schedule import OP_FIELDS, Schedule
from furnsim.validate_calendar import check_working_time, read_segments, working_time_ops
from furnsim.validate_holds import read_holds

__all__ = [
    "KINDS",
    "MAX_SCHEDULE_BYTES",
    "ScheduleFormatError",
    "Violation",
    "format_violations",
    "is_valid",
    "load_schedule",
    "validate",
]

KINDS = (
    "identity",
    "missing",
    "eligibility",
    "duration",
    "setup",
    "decision",
    "idle",
    "setup-sequence",
    "capacity",
    "precedence",
    "transport",
    "release",
    "buffer",
    "blocking",
    "join",
    "instant",
    "working-time",
    "state",
    "pin",
    "outage",
    "hold",
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: its ``kind`` (see :data:`KINDS`), a readable message, the op indices."""

    kind: str
    message: str
    ops: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = f" (ops {', '.join(map(str, self.ops))})" if self.ops else ""
        return f"[{self.kind}] {self.message}{where}"


# -- reference data, recomputed from the domain objects ---------------------------------
class _Ref:
    """What the rules need, built once per instance from jobs, routings and the plant."""

    def __init__(self, inst: Instance) -> None:
        plant = inst.plant
        self.job_ids = [j.id for j in inst.jobs]
        self.wc_ids = [w.id for w in plant.work_centers]
        wc_pos = {w: i for i, w in enumerate(self.wc_ids)}
        self.machine_ids = [m.id for m in plant.machines]
        self.machines = {m.id: m for m in plant.machines}
        self.machine_wc = {m.id: m.work_center for m in plant.machines}
        op_job, op_step, op_wc, op_vol, op_setup, op_proc = [], [], [], [], [], []
        first, last = [], []
        release = []
        # assembly: parent job, kit volume (δ × final volume of the component), from the catalog
        j_pos = {job.id: j for j, job in enumerate(inst.jobs)}
        parent, kit_vol, assembly = [], [], []
        for job in inst.jobs:
            parent.append(j_pos[job.parent] if job.parent else -1)
            comp = {c.id: c for c in inst.catalog.article(job.article).components}[job.component]
            kit_vol.append(job.delta * comp.final_volume_per_piece if job.parent else 0.0)
            assembly.append(
                any(c.parent == job.component for c in inst.catalog.article(job.article).components)
            )
        for j, job in enumerate(inst.jobs):
            ops = inst.operations_of(j)
            release.append(float(job.release))
            for k, op in enumerate(ops):
                wc = plant.work_center(op.work_center)
                elig = [m for m in wc.machines if not op.machines or m in op.machines]
                op_job.append(j)
                op_step.append(k)
                op_wc.append(wc_pos[op.work_center])
                # the kit is the material of an assembly's first step: no volume of its own
                op_vol.append(0.0 if (k == 0 and assembly[j]) else job.delta * op.volume_per_piece)
                op_setup.append(op.setup)
                op_proc.append(
                    {m: job.delta * op.piece_minutes(m) + op.fixed_minutes for m in elig}
                )
                first.append(k == 0)
                last.append(k == len(ops) - 1)
        self.n_ops = len(op_job)
        self.op_job = np.array(op_job, dtype=np.int64)  # (n_ops,)
        self.op_step = np.array(op_step, dtype=np.int64)  # (n_ops,)
        self.op_wc = np.array(op_wc, dtype=np.int64)  # (n_ops,) index into wc_ids
        self.op_volume = np.array(op_vol, dtype=float)  # (n_ops,)
        self.op_setup = op_setup  # (n_ops,) needed setup id
        self.op_proc = op_proc  # (n_ops,) {eligible machine id: minutes}
        self.op_first = np.array(first, dtype=bool)  # (n_ops,)
        self.op_last = np.array(last, dtype=bool)  # (n_ops,)
        self.job_release = np.array(release, dtype=float)  # (n_jobs,)
        self.job_parent = np.array(parent, dtype=np.int64)  # (n_jobs,) -1 = FINISHED
        self.job_kit_volume = np.array(kit_vol, dtype=float)  # (n_jobs,)
        self.job_assembly = np.array(assembly, dtype=bool)  # (n_jobs,) released by its kit
        self.has_assembly = bool(self.job_assembly.any())
        n_j = len(self.job_ids)
        idx = np.arange(self.n_ops, dtype=np.int64)
        self.job_first = np.full(n_j, self.n_ops, dtype=np.int64)  # (n_jobs,)
        np.minimum.at(self.job_first, self.op_job, idx)
        self.job_last = np.full(n_j, -1, dtype=np.int64)  # (n_jobs,)
        np.maximum.at(self.job_last, self.op_job, idx)
        # where a job goes after each op, and with what volume: the next op, or for a child's
        # last op its parent's first work center with the kit volume; -1 = FINISHED
        nxt_wc = np.full(self.n_ops, -1, dtype=np.int64)
        nxt_vol = np.zeros(self.n_ops)
        inner = np.flatnonzero(~self.op_last)
        nxt_wc[inner] = self.op_wc[inner + 1]
        nxt_vol[inner] = self.op_volume[inner + 1]
        for j in np.flatnonzero(self.job_parent >= 0).tolist():
            lo = int(self.job_last[j])
            if lo >= 0:
                nxt_wc[lo] = self.op_wc[self.job_first[self.job_parent[j]]]
                nxt_vol[lo] = self.job_kit_volume[j]
        self.op_next_wc = nxt_wc  # (n_ops,)
        self.op_next_vol = nxt_vol  # (n_ops,)
        # a STORE first op: the first op of a job that is not an assembly
        self.op_store = self.op_first & ~self.job_assembly[self.op_job]  # (n_ops,)
        self.capacity = np.array(
            [w.buffer_capacity for w in plant.work_centers], dtype=float
        )  # (n_wc,)
        # transport between locations 0 = STORE, 1..n_wc = work centers, n_wc + 1 = FINISHED
        n_w = len(self.wc_ids)
        locs = [STORE, *self.wc_ids, FINISHED]
        tr = np.full((n_w + 2, n_w + 2), np.nan)
        for a in range(n_w + 1):
            for b in range(1, n_w + 2):
                if a == 0 and b == n_w + 1:
                    continue
                with contextlib.suppress(KeyError):
                    tr[a, b] = plant.transport.time(locs[a], locs[b])
        self.transport = tr  # (n_wc + 2, n_wc + 2) minutes, nan = undefined


_REF_CACHE: weakref.WeakKeyDictionary[Instance, _Ref] = weakref.WeakKeyDictionary()


def _ref(inst: Instance) -> _Ref:
    r = _REF_CACHE.get(inst)
    if r is None:
        r = _Ref(inst)
        _REF_CACHE[inst] = r
    return r


# -- the check ------------------------------------------------------------------------
class _Checker:
    worktime_ops: set[int] = set()  # noqa: RUF012 (read-only default; ops timed in working minutes)

    def __init__(
        self,
        s: Schedule,
        ref: _Ref,
        tol: float,
        buffers: str,
        anticipatory: bool,
        view: Any = None,
    ) -> None:
        self.s, self.ref, self.tol = s, ref, tol
        self.mode = buffers  # the mode the caller validates under (not the file's)
        self.hard = buffers == "hard"
        self.anticipatory = anticipatory
        self.out: list[Violation] = []
        # (n_ops,) the operation before each one on its machine (-1: first), from machines()
        self.prev_on_machine = np.full(ref.n_ops, -1, dtype=np.int64)
        # planning from a shop state (furnsim.replan.check.SituationView), or None
        self.view = view
        self.now = view.now if view is not None else -math.inf
        self.fixed = view.fixed if view is not None else np.zeros(ref.n_ops, dtype=bool)
        # recorded STORE holds: job -> sorted [(from, until)] (docs/semantics.md)
        self.store_holds: dict[int, list[tuple[float, float]]] = {}

    def add(self, kind: str, msg: str, ops: Iterable[Any]) -> None:
        self.out.append(Violation(kind, msg, tuple(int(o) for o in ops)))

    def name(self, o: Any) -> str:
        r = self.ref
        return f"op {o} ({r.job_ids[r.op_job[o]]} step {r.op_step[o] + 1})"

    def mname(self, o: Any) -> str:
        m = int(self.s.op_machine[o])
        return self.s.machine_ids[m] if 0 <= m < len(self.s.machine_ids) else f"#{m}"

    # structure --------------------------------------------------------------------
    def identity(self) -> bool:
        """False when the schedule cannot be checked further (sizes differ)."""
        s, r = self.s, self.ref
        n = r.n_ops
        arrays = {
            "op_job": s.op_job,
            "op_step": s.op_step,
            "op_wc": s.op_wc,
            "op_volume": s.op_volume,
            "op_machine": s.op_machine,
            "op_setup_from": s.op_setup_from,
            "op_setup_to": s.op_setup_to,
        }
        for f in OP_FIELDS:
            if f not in s.times:
                self.add("identity", f"the schedule has no {f!r} times", [])
                return False
            arrays[f] = s.times[f]
        bad = [k for k, a in arrays.items() if np.shape(a) != (n,)]
        if bad:
            self.add("identity", f"the instance has {n} operations but {', '.join(bad)} do not", [])
            return False
        if np.shape(s.finish_arrive) != (len(r.job_ids),) or list(s.job_ids) != r.job_ids:
            self.add("identity", "the schedule's jobs are not the instance's jobs", [])
            return False
        for what, ids in (
            ("job", s.job_ids),
            ("machine", s.machine_ids),
            ("work-center", s.wc_ids),
            ("setup", s.setup_ids),
        ):
            dup = sorted(k for k, c in Counter(ids).items() if c > 1)
            if dup:
                # an alias would let two operations share one machine unseen
                self.add("identity", f"duplicate {what} ids in the schedule: {dup[:5]}", [])
                return False
        if s.buffers not in ("hard", "soft"):
            self.add("identity", f"unknown buffer mode {s.buffers!r}", [])
        elif s.buffers != self.mode:
            self.add(
                "identity",
                f"the schedule declares {s.buffers} buffers but is validated under "
                f"{self.mode} buffers",
                [],
            )
        if bool(s.anticipatory_setups) != self.anticipatory:
            self.add(
                "identity",
                "the schedule declares anticipatory setups "
                f"{'on' if s.anticipatory_setups else 'off'} but is validated with them "
                f"{'on' if self.anticipatory else 'off'}",
                [],
            )
        for what, a, b in (("job", s.op_job, r.op_job), ("route step", s.op_step, r.op_step)):
            diff = np.flatnonzero(np.asarray(a) != b)
            if diff.size:
                self.add("identity", f"{diff.size} operations have the wrong {what}", diff[:20])
                return False
        # work centers by name
        wc_code = {w: i for i, w in enumerate(r.wc_ids)}
        smap = np.array([wc_code.get(w, -1) for w in s.wc_ids] + [-1], dtype=np.int64)
        swc = np.asarray(s.op_wc, dtype=np.int64)
        swc = smap[np.where((swc >= 0) & (swc < len(s.wc_ids)), swc, len(s.wc_ids))]
        for o in np.flatnonzero(swc != r.op_wc)[:20]:
            self.add(
                "identity", f"{self.name(o)} belongs to work center {r.wc_ids[r.op_wc[o]]}", [o]
            )
        vol = np.asarray(s.op_volume, dtype=float)
        bad_vol = np.flatnonzero(
            ~(np.abs(vol - r.op_volume) <= self.tol * np.maximum(1.0, r.op_volume))
        )
        for o in bad_vol[:20]:
            self.add(
                "identity", f"{self.name(o)} has volume {r.op_volume[o]:g}, not {vol[o]:g}", [o]
            )
        for m in s.machine_ids:
            if m not in r.machines:
                self.add("identity", f"machine {m!r} is not in the plant", [])
        if r.has_assembly or s.has_assembly:
            sp = np.asarray(s.job_parent, dtype=np.int64)
            for j in np.flatnonzero(sp != r.job_parent)[:20].tolist():
                want = r.job_ids[r.job_parent[j]] if r.job_parent[j] >= 0 else "FINISHED"
                self.add(
                    "join", f"job {r.job_ids[j]} goes into {want}, the schedule says otherwise", []
                )
        return True

    # per operation ------------------------------------------------------------------
    def operations(self) -> np.ndarray:
        """Missing, eligibility, duration and setup rules; returns the mask of checkable ops."""
        s, r, tol = self.s, self.ref, self.tol
        n = r.n_ops
        t = s.times
        mach = np.asarray(s.op_machine, dtype=np.int64)
        finite = np.ones(n, dtype=bool)
        for f in OP_FIELDS:
            finite &= np.isfinite(t[f])
        placed = (mach >= 0) & (mach < len(s.machine_ids))
        ok = placed & finite
        for o in np.flatnonzero(~placed).tolist():
            self.add("missing", f"{self.name(o)} is not scheduled", [o])
        for o in np.flatnonzero(placed & ~finite).tolist():
            bad = [f for f in OP_FIELDS if not math.isfinite(t[f][o])]
            self.add("missing", f"{self.name(o)} has no {', '.join(bad)} time", [o])
        fa = np.asarray(s.finish_arrive, dtype=float)
        last_ok = np.zeros(len(r.job_ids), dtype=bool)
        last_ok[r.op_job[r.op_last]] = ok[r.op_last]
        for j in np.flatnonzero(last_ok & ~np.isfinite(fa)):
            self.add("missing", f"job {r.job_ids[j]} has no arrival at FINISHED", [])

        setup_ids = list(s.setup_ids)
        n_set = len(setup_ids)
        sfrom = np.asarray(s.op_setup_from, dtype=np.int64).tolist()
        sto = np.asarray(s.op_setup_to, dtype=np.int64).tolist()
        mach_l = mach.tolist()
        ss, se, st, en, ar, dp = (
            t[f].tolist() for f in ("setup_start", "setup_end", "start", "end", "arrive", "depart")
        )
        anticipatory = self.anticipatory
        release = r.job_release[r.op_job].tolist()
        for o in np.flatnonzero(ok).tolist():
            mid = s.machine_ids[mach_l[o]]
            machine = r.machines.get(mid)
            proc = r.op_proc[o].get(mid)
            if proc is None:
                why = (
                    "not in the plant"
                    if machine is None
                    else f"not eligible (work center {r.machine_wc[mid]})"
                )
                self.add("eligibility", f"{self.name(o)} runs on machine {mid}, {why}", [o])
            elif (
                o not in self.worktime_ops
                and not self.fixed[o]
                and abs((en[o] - st[o]) - proc) > tol * max(1.0, proc)
            ):
                self.add(
                    "duration",
                    f"{self.name(o)} on {mid} takes {en[o] - st[o]:g} min, expected {proc:g}",
                    [o],
                )
            need = r.op_setup[o]
            to = setup_ids[sto[o]] if 0 <= sto[o] < n_set else None
            fr = setup_ids[sfrom[o]] if 0 <= sfrom[o] < n_set else None
            if to != need:
                self.add(
                    "setup", f"{self.name(o)} needs setup {need!r}, the schedule says {to!r}", [o]
                )
            if not (ss[o] <= se[o] + tol and se[o] <= st[o] + tol):
                self.add(
                    "setup",
                    f"{self.name(o)}: setup {ss[o]:g}..{se[o]:g} does not end by the start {st[o]:g}",
                    [o],
                )
            if not anticipatory and ss[o] < ar[o] - tol:
                self.add(
                    "setup",
                    f"{self.name(o)}: setup starts at {ss[o]:g} before the job arrives at {ar[o]:g} "
                    "(anticipatory setups are off)",
                    [o],
                )
            # the decision (= setup start) is possible once the job departed toward the
            # machine, never before 0 or the release (the machine being free: machines())
            earliest = max(0.0, dp[o], release[o])
            if ss[o] < earliest - tol and not self.fixed[o]:
                why = (
                    "minute 0"
                    if earliest == 0.0
                    else f"the job departs toward {r.wc_ids[r.op_wc[o]]} at {dp[o]:g}"
                    if earliest == dp[o]
                    else f"the release {release[o]:g}"
                )
                self.add(
                    "decision",
                    f"{self.name(o)}: setup starts at {ss[o]:g}, before the decision is possible "
                    f"({why})",
                    [o],
                )
            ready = max(se[o], ar[o])
            # (working time: validate_calendar checks the first working minute instead)
            if (
                o not in self.worktime_ops
                and not self.fixed[o]
                and st[o] > ready + tol * max(1.0, abs(ready))
            ):
                self.add(
                    "idle",
                    f"{self.name(o)} starts at {st[o]:g}, but its setup was done at {se[o]:g} and "
                    f"the job was there at {ar[o]:g}: processing starts at {ready:g}",
                    [o],
                )
            if machine is None:
                continue
            if fr is None or not machine.has_setup(fr) or not machine.has_setup(need):
                self.add(
                    "setup",
                    f"{self.name(o)}: setup {fr!r} -> {need!r} is not in the matrix of {mid}",
                    [o],
                )
                continue
            want = machine.setup_time(fr, need)
            if (
                o not in self.worktime_ops
                and not self.fixed[o]
                and abs((se[o] - ss[o]) - want) > tol * max(1.0, want)
            ):
                self.add(
                    "setup",
                    f"{self.name(o)} on {mid}: setup {fr} -> {need} takes {se[o] - ss[o]:g} min, expected {want:g}",
                    [o],
                )
        return ok

    # per machine ----------------------------------------------------------------------
    def machines(self, ok: np.ndarray) -> None:
        s, r, tol = self.s, self.ref, self.tol
        t = s.times
        ops = np.flatnonzero(ok)
        if ops.size == 0:
            return
        mach = np.asarray(s.op_machine, dtype=np.int64)[ops]
        keys = [t[f][ops] for f in ("setup_start", "leave", "end", "start")]
        order = np.lexsort((ops, *keys, mach))
        seq = ops[order]  # ops grouped by machine, in time order
        m_seq = mach[order]
        setup_ids = list(s.setup_ids)
        code = {sid: i for i, sid in enumerate(setup_ids)}
        smap = np.array([*range(len(setup_ids)), -1], dtype=np.int64)

        def codes(a: np.ndarray) -> np.ndarray:
            a = np.asarray(a, dtype=np.int64)
            return smap[np.where((a >= 0) & (a < len(setup_ids)), a, len(setup_ids))]

        s_from = codes(s.op_setup_from)[seq]
        s_to = codes(s.op_setup_to)[seq]
        head = np.ones(seq.size, dtype=bool)
        head[1:] = m_seq[1:] != m_seq[:-1]
        # zero-length operations at one instant on one machine may have run in any order:
        # take an order that follows the setup chain
        k = np.stack([a[order] for a in keys])
        tie = np.zeros(seq.size, dtype=bool)
        tie[1:] = ~head[1:] & np.all(np.abs(np.diff(k, axis=1)) <= tol, axis=0)
        if tie.any():
            init = np.array(
                [
                    code.get(r.machines[m].initial_setup, -2) if m in r.machines else -2
                    for m in s.machine_ids
                ]
            )
            _untie(seq, s_from, s_to, head, tie, init[m_seq])
        # a shop state: its history keeps its own setups (checked against the state); the
        # first later op on a machine starts from the machine's setup at now
        exempt = np.zeros(seq.size, dtype=bool)
        if self.view is not None:
            fx = self.fixed[seq]
            exempt = fx.copy()
            after = ~fx & (head | np.r_[False, fx[:-1]])
            for ii in np.flatnonzero(after).tolist():
                mid = s.machine_ids[m_seq[ii]]
                at_now = self.view.setup_at_now.get(mid)
                if at_now is None:
                    continue
                exempt[ii] = True
                if s_from[ii] != code.get(at_now, -2):
                    o = int(seq[ii])
                    self.add(
                        "setup-sequence",
                        f"{self.name(o)} is the first on {mid} after now but starts from setup "
                        f"{_sid(setup_ids, s.op_setup_from[o])!r}, not {at_now!r} (its setup at now)",
                        [o],
                    )
        # first op of each machine: its initial setup
        for i in np.flatnonzero(head & ~exempt):
            o = int(seq[i])
            mid = s.machine_ids[m_seq[i]]
            machine = r.machines.get(mid)
            if machine is None:
                continue
            if s_from[i] != code.get(machine.initial_setup, -2):
                fr = setup_ids[s_from[i]] if s_from[i] >= 0 else None
                self.add(
                    "setup-sequence",
                    f"{self.name(o)} is the first on {mid} but starts from setup {fr!r}, "
                    f"not the initial setup {machine.initial_setup!r}",
                    [o],
                )
        # consecutive pairs on one machine
        same = np.flatnonzero(~head[1:]) + 1  # position i: pair (seq[i-1], seq[i])
        a, b = seq[same - 1], seq[same]
        self.prev_on_machine[b] = a
        overlap = t["setup_start"][b] < t["leave"][a] - tol
        for pa, pb in zip(a[overlap].tolist(), b[overlap].tolist(), strict=True):
            self.add(
                "capacity",
                f"on {self.mname(pb)}: {self.name(pb)} starts its setup at {t['setup_start'][pb]:g} "
                f"before {self.name(pa)} leaves the machine at {t['leave'][pa]:g}",
                [pa, pb],
            )
        broken = (s_from[same] != s_to[same - 1]) & ~exempt[same]
        for pa, pb in zip(a[broken].tolist(), b[broken].tolist(), strict=True):
            self.add(
                "setup-sequence",
                f"on {self.mname(pb)}: {self.name(pb)} starts from setup "
                f"{_sid(setup_ids, s.op_setup_from[pb])!r} but {self.name(pa)} left it in "
                f"{_sid(setup_ids, s.op_setup_to[pa])!r}",
                [pa, pb],
            )

    # per job --------------------------------------------------------------------------
    def routes(self, ok: np.ndarray) -> None:
        s, r, tol = self.s, self.ref, self.tol
        t = s.times
        dep, arr, st, en, lv = t["depart"], t["arrive"], t["start"], t["end"], t["leave"]
        loc = r.op_wc + 1
        tr = r.transport
        n_w = len(r.wc_ids)
        # every op: it leaves its machine after processing, starts after arriving
        for o in np.flatnonzero(ok & (lv < en - tol)):
            self.add(
                "precedence",
                f"{self.name(o)} leaves its machine at {lv[o]:g} before its end {en[o]:g}",
                [o],
            )
        for o in np.flatnonzero(ok & (st < arr - tol)):
            self.add(
                "precedence",
                f"{self.name(o)} starts at {st[o]:g} before the job arrives at {arr[o]:g}",
                [o],
            )
        # first ops: from STORE, not before the release (assemblies: released by their kit)
        f_ops = np.flatnonzero(ok & r.op_store)
        rel = r.job_release[r.op_job[f_ops]]
        for o, rl in zip(
            f_ops[dep[f_ops] < rel - tol].tolist(),
            rel[dep[f_ops] < rel - tol].tolist(),
            strict=True,
        ):
            self.add(
                "release",
                f"{self.name(o)} departs from STORE at {dep[o]:g} before the release {rl:g}",
                [o],
            )
        self._transport(f_ops, np.zeros(f_ops.size, dtype=np.int64), "STORE")
        # consecutive ops of a job
        nxt = np.flatnonzero(ok[:-1] & ok[1:] & ~r.op_last[:-1])  # k with k+1 in the same job
        b = nxt + 1
        bad = np.abs(dep[b] - lv[nxt]) > tol
        for k in nxt[bad].tolist():
            self.add(
                "precedence",
                f"{self.name(k + 1)} departs at {dep[k + 1]:g}, but the job leaves the machine of "
                f"step {r.op_step[k] + 1} at {lv[k]:g}",
                [k, k + 1],
            )
        self._transport(b, loc[nxt], None)
        if r.has_assembly:
            self._joins(ok)
        # last ops: no blocking, then FINISHED (a child's last op goes to its parent: _joins)
        l_ops = np.flatnonzero(ok & r.op_last & (r.op_next_wc < 0))
        for o in l_ops[lv[l_ops] > en[l_ops] + tol].tolist():
            self.add(
                "blocking",
                f"{self.name(o)} is the last step but stays on its machine until {lv[o]:g} after "
                f"its end {en[o]:g} (FINISHED has no buffer)",
                [o],
            )
        fa = np.asarray(s.finish_arrive, dtype=float)[r.op_job[l_ops]]
        want = en[l_ops] + tr[loc[l_ops], n_w + 1]
        bad = np.isfinite(fa) & ~(np.abs(fa - want) <= tol * np.maximum(1.0, np.abs(want)))
        for o, f, w in zip(l_ops[bad].tolist(), fa[bad].tolist(), want[bad].tolist(), strict=True):
            self.add(
                "transport",
                f"job {r.job_ids[r.op_job[o]]} arrives at FINISHED at {f:g}, expected {w:g} "
                f"(end {en[o]:g} + transport)",
                [o],
            )

    def _joins(self, ok: np.ndarray) -> None:
        """Every child's kit arrival, and every assembly released exactly at its kit."""
        s, r, tol = self.s, self.ref, self.tol
        t = s.times
        lv = t["leave"]
        fa = np.asarray(s.finish_arrive, dtype=float)
        kids = np.flatnonzero(r.job_parent >= 0)
        lo = r.job_last[kids]
        good = ok[lo]
        kids, lo = kids[good], lo[good]
        fp = r.job_first[r.job_parent[kids]]
        want = lv[lo] + r.transport[r.op_wc[lo] + 1, r.op_wc[fp] + 1]
        bad = ~(np.abs(fa[kids] - want) <= self.tol * np.maximum(1.0, np.abs(want)))
        for j, o, w in zip(kids[bad].tolist(), lo[bad].tolist(), want[bad].tolist(), strict=True):
            self.add(
                "join",
                f"job {r.job_ids[j]} arrives at its kit at {fa[j]:g}, expected {w:g} (leave "
                f"{lv[o]:g} + transport to {r.wc_ids[r.op_wc[r.job_first[r.job_parent[j]]]]})",
                [o],
            )
        dep, arr, st = t["depart"], t["arrive"], t["start"]
        for p in np.flatnonzero(r.job_assembly).tolist():
            o = int(r.job_first[p])
            if o >= r.n_ops or not ok[o]:
                continue
            ch = np.flatnonzero(r.job_parent == p)
            lc = r.job_last[ch]
            if not np.all(ok[lc]) or not np.all(np.isfinite(fa[ch])):
                self.add(
                    "join",
                    f"{self.name(o)} is scheduled but its kit is incomplete "
                    f"({', '.join(r.job_ids[c] for c in ch[~(ok[lc] & np.isfinite(fa[ch]))])} missing)",
                    [o],
                )
                continue
            kd, ka = float(lv[lc].max()), float(fa[ch].max())
            if abs(dep[o] - kd) > tol or abs(arr[o] - ka) > tol * max(1.0, abs(ka)):
                self.add(
                    "join",
                    f"{self.name(o)} is released at {dep[o]:g} / arrives {arr[o]:g}, but its kit is "
                    f"complete when the last child leaves at {kd:g} and arrives at {ka:g}",
                    [o, *lc.tolist()],
                )
            late = lc[fa[ch] > st[o] + tol]
            for c_o in late.tolist():
                self.add(
                    "join",
                    f"{self.name(o)} starts at {st[o]:g} before its child {self.name(c_o)} arrives "
                    f"at {fa[r.op_job[c_o]]:g}",
                    [o, c_o],
                )

    def _transport(self, ops: np.ndarray, from_loc: np.ndarray, label: str | None) -> None:
        r, t, tol = self.ref, self.s.times, self.tol
        dep, arr = t["depart"][ops], t["arrive"][ops]
        want = dep + r.transport[from_loc, r.op_wc[ops] + 1]
        bad = ~(np.abs(arr - want) <= tol * np.maximum(1.0, np.abs(want)))
        locs = [STORE, *r.wc_ids]
        for i in np.flatnonzero(bad).tolist():
            o = int(ops[i])
            src = label or locs[from_loc[i]]
            tt = r.transport[from_loc[i], r.op_wc[o] + 1]
            self.add(
                "transport",
                f"{self.name(o)} departs {src} at {dep[i]:g} and arrives at {r.wc_ids[r.op_wc[o]]} at "
                f"{arr[i]:g}, but the transport takes {tt:g} min",
                [o],
            )

    # buffers and blocking -------------------------------------------------------------
    def buffers(self, ok: np.ndarray) -> None:
        s, r, tol = self.s, self.ref, self.tol
        t = s.times
        hard = self.hard
        dep, st, en, lv = t["depart"], t["start"], t["end"], t["leave"]
        n_w = len(r.wc_ids)
        # a job holds its volume from departure until its processing starts; in a partial
        # schedule (a deadlock) a job that departed but never started holds it to the end
        held = np.flatnonzero(np.isfinite(dep) & (r.op_volume > 0))
        until = np.where(np.isfinite(st), st, np.inf)
        # holdings: (op reported, work center, volume, from, until); kits: a child holds its
        # kit volume in its parent's first buffer from its last leave to the parent's start
        h_op, h_w, h_v, h_from = held, r.op_wc[held], r.op_volume[held], dep[held]
        h_until = until[held]
        has_next = r.op_next_wc >= 0
        ok_next = np.r_[ok[1:], False] if r.n_ops else np.zeros(0, dtype=bool)
        if r.has_assembly:
            kid_last = r.op_last & has_next
            ok_next = np.where(kid_last, True, ok_next)
            kl = np.flatnonzero(kid_last & np.isfinite(lv) & (r.op_next_vol > 0))
            fp = r.job_first[r.job_parent[r.op_job[kl]]]
            h_op = np.concatenate([h_op, kl])
            h_w = np.concatenate([h_w, r.op_wc[fp]])
            h_v = np.concatenate([h_v, r.op_next_vol[kl]])
            h_from = np.concatenate([h_from, lv[kl]])
            h_until = np.concatenate([h_until, until[fp]])
        # blocked ops: the job stays on the machine after processing (its next step is ok)
        k_all = np.flatnonzero(ok & has_next & ok_next)
        blocked = k_all[lv[k_all] > en[k_all] + tol]
        if not hard:
            for k in blocked.tolist():
                self.add(
                    "blocking",
                    f"{self.name(k)} stays on {self.mname(k)} from {en[k]:g} to {lv[k]:g} although "
                    "buffers are soft (departures are always allowed)",
                    [k],
                )
            return
        # every job waiting on its machine after processing (still there at a deadlock: nan)
        k_any = np.flatnonzero(np.isfinite(en) & has_next)
        waits = k_any[~(lv[k_any] <= en[k_any] + tol)]
        queue = (waits, en[waits], np.where(np.isfinite(lv[waits]), lv[waits], np.inf))
        b_next_w = r.op_next_wc[blocked]
        for w in range(n_w):
            cap = float(r.capacity[w])
            sel = h_w == w
            mine, vol, m_from, m_until = h_op[sel], h_v[sel], h_from[sel], h_until[sel]
            kb = blocked[b_next_w == w]
            if mine.size == 0 and kb.size == 0:
                continue
            fin = np.isfinite(m_until)
            times = np.concatenate([m_from, m_until[fin]])
            dv = np.concatenate([vol, -vol[fin]])
            # at equal times, releases (processing starts) come before reservations
            order = np.lexsort((dv, times))
            times, dv = times[order], dv[order]
            level = np.cumsum(dv)
            vtol = tol * max(1.0, cap if math.isfinite(cap) else 1.0)
            if math.isfinite(cap) and level.size:
                # an overfull level counts when it lasts longer than tol
                gap = np.diff(times, append=np.inf)
                over = (level > cap + vtol) & (gap > tol)
                self._overflow(w, cap, times, level, over, mine, m_from, m_until)
            if kb.size:
                q = r.op_next_wc[queue[0]] == w
                self._blocking(
                    w, cap, vtol, kb, times, level, dv, (queue[0][q], queue[1][q], queue[2][q])
                )
            self._store_waits(w, cap, vtol, times, level, dv, queue)

    def _overflow(
        self,
        w: int,
        cap: float,
        times: np.ndarray,
        level: np.ndarray,
        over: np.ndarray,
        mine: np.ndarray,
        dep: np.ndarray,
        st: np.ndarray,
    ) -> None:
        idx = np.flatnonzero(over)
        if idx.size == 0:
            return
        # one violation per overfull episode (a run of consecutive overfull levels)
        starts = idx[np.concatenate([[True], np.diff(idx) > 1])]
        ends = idx[np.concatenate([np.diff(idx) > 1, [True]])]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            t0 = times[a]
            peak = float(level[a : b + 1].max())
            inside = mine[(dep <= t0 + self.tol) & (st > t0 + self.tol)]
            self.add(
                "buffer",
                f"buffer of {self.ref.wc_ids[w]} holds {peak:g} > capacity {cap:g} from {t0:g} "
                f"to {times[b + 1] if b + 1 < times.size else math.inf:g}",
                np.sort(inside),
            )

    def _level_at(self, times: np.ndarray, level: np.ndarray, t: float) -> float:
        """Buffer level just after every change at time ``t``."""
        i = int(np.searchsorted(times, t + self.tol, side="right")) - 1
        return float(level[i]) if i >= 0 else 0.0

    def _freed_at(self, frees: np.ndarray, t: float) -> bool:
        """Did a processing start free room at time ``t``?"""
        j = int(np.searchsorted(frees, t - self.tol, side="left"))
        return j < frees.size and frees[j] <= t + self.tol

    def _store_waits(
        self,
        w: int,
        cap: float,
        vtol: float,
        times: np.ndarray,
        level: np.ndarray,
        dv: np.ndarray,
        queue: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """A job waits at STORE after its release only while its first buffer has no room.

        Same rule as blocking: at the start of the wait the buffer must have been too full for
        it (or someone was ahead of it: a blocked machine, or a job that began waiting at STORE
        earlier), and it departs at an instant when a processing start freed room. A recorded
        STORE hold explains the wait while it lasts; the wait after it starts at ``until``
        (docs/semantics.md "Intentional holds": first come first served by effective release,
        plain releases before ends of holds at equal times, then job index).
        """
        r, tol = self.ref, self.tol
        dep = self.s.times["depart"]
        firsts = np.flatnonzero(r.op_store & (r.op_wc == w) & np.isfinite(dep))
        if firsts.size == 0:
            return
        rel = r.job_release[r.op_job[firsts]]
        late = firsts[dep[firsts] > rel + tol]
        if late.size == 0:
            return
        wname = r.wc_ids[w]
        frees = times[dv < 0]
        q, q_end, q_leave = queue
        qw = r.op_next_wc[q] == w if q.size else np.zeros(0, dtype=bool)
        q, q_end, q_leave = q[qw], q_end[qw], q_leave[qw]
        now = self.now
        # every stretch of waiting at STORE: (op, job, from, until, after a hold?, ends by departing)
        gaps: list[tuple[int, int, float, float, int, bool]] = []
        # (jobs still at STORE at the end of a deadlocked plan: only as ones ahead of others)
        stuck = np.flatnonzero(r.op_store & (r.op_wc == w) & ~np.isfinite(dep))
        for o in [*late.tolist(), *stuck.tolist()]:
            j = int(r.op_job[o])
            d_o = float(dep[o]) if math.isfinite(dep[o]) else math.inf
            a, flag = float(r.job_release[j]), 0
            for h0, h1 in self.store_holds.get(j, []):
                if h0 > a + tol:
                    gaps.append((o, j, a, min(h0, d_o), flag, False))
                a, flag = max(a, h1), 1
            if d_o > a + tol:
                gaps.append((o, j, a, d_o, flag, True))
        # a STORE hold that takes a queued job out of the queue lets those behind it go
        unqueued = np.sort(np.array([g[3] for g in gaps if not g[5]], dtype=float))
        checked = set(late.tolist())
        # first come first served: gaps by (start, after a hold?, job); prefix max of their ends
        order = sorted(range(len(gaps)), key=lambda i: (gaps[i][2], gaps[i][4], gaps[i][1]))
        g_start = np.array([gaps[i][2] for i in order], dtype=float)
        g_key = [(gaps[i][4], gaps[i][1]) for i in order]
        gap_end = np.array([gaps[i][3] for i in order], dtype=float)
        g_max = np.maximum.accumulate(gap_end) if gap_end.size else gap_end

        def ahead(e0: float, flag: int, j: int, e: float) -> bool:
            """A job that began waiting before (e0, flag, j) still waits at e."""
            p1 = int(np.searchsorted(g_start, e0 - tol, side="left"))
            if p1 > 0 and g_max[p1 - 1] > e + tol:
                return True
            p2 = int(np.searchsorted(g_start, e0 + tol, side="right"))
            return any(
                g_key[i] < (flag, j) and g_key[i][1] != j and gap_end[i] > e + tol
                for i in range(p1, p2)
            )

        for o, j_o, e, g_end, flag, departs in gaps:
            if o not in checked:
                continue
            vol = float(r.op_volume[o])
            key = (e, flag, j_o)
            if e < now - tol:  # waiting at STORE since before now (the state's history)
                if g_end <= now + tol:
                    continue
                e = now
            what = "its release" if flag == 0 else "the end of its STORE hold"
            if not math.isfinite(cap):
                self.add(
                    "release",
                    f"{self.name(o)} waits at STORE from {what} {e:g} to {g_end:g}, but the "
                    f"buffer of {wname} always has room for it",
                    [o],
                )
                continue
            lev = self._level_at(times, level, e)
            if lev + vol <= cap - vtol:
                store_ahead = ahead(key[0], flag, j_o, e)
                machine_ahead = bool(np.any((q_end <= e + tol) & (q_leave > e + tol)))
                if not (store_ahead or machine_ahead):
                    self.add(
                        "release",
                        f"{self.name(o)} waits at STORE from {what} {e:g} to {g_end:g}, but at "
                        f"{e:g} the buffer of {wname} held {lev:g} of {cap:g}: room for its {vol:g}",
                        [o],
                    )
                    continue
            if (
                departs
                and not self._freed_at(frees, float(dep[o]))
                and not abs(dep[o] - now) <= tol
                and not self._freed_at(unqueued, float(dep[o]))
            ):
                self.add(
                    "release",
                    f"{self.name(o)} departs from STORE at {dep[o]:g}, but no room was freed in the "
                    f"buffer of {wname} then: it should have left when room appeared",
                    [o],
                )

    def _blocking(
        self,
        w: int,
        cap: float,
        vtol: float,
        kb: np.ndarray,
        times: np.ndarray,
        level: np.ndarray,
        dv: np.ndarray,
        queue: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        r, tol = self.ref, self.tol
        t = self.s.times
        en, lv = t["end"], t["leave"]
        wname = r.wc_ids[w]
        frees = times[dv < 0]  # instants when a processing start frees room in w (sorted)
        # jobs waiting on their machines for this buffer: (op, end, leave); first come, first served
        q, q_end, q_leave = queue
        now = self.now
        for k in kb.tolist():
            vol = float(r.op_next_vol[k])
            e = float(en[k])
            if e < now - tol:  # the wait began before now (the state's history)
                if lv[k] <= now + tol:
                    continue
                e = now  # from now on it needs its reason
            if not math.isfinite(cap) or vol <= 0:
                self.add(
                    "blocking",
                    f"{self.name(k)} stays on {self.mname(k)} from {e:g} to {lv[k]:g}, but the buffer of "
                    f"{wname} always has room for it",
                    [k],
                )
                continue
            lev = self._level_at(times, level, e)
            if lev + vol <= cap - vtol:
                ahead = (q != k) & (q_end <= e + tol) & (q_leave > e + tol)
                if not ahead.any():
                    self.add(
                        "blocking",
                        f"{self.name(k)} stays on {self.mname(k)} from {e:g} to {lv[k]:g}, but at {e:g} the "
                        f"buffer of {wname} held {lev:g} of {cap:g}: room for its {vol:g}",
                        [k],
                    )
                    continue
            if not self._freed_at(frees, float(lv[k])) and not abs(lv[k] - now) <= tol:
                self.add(
                    "blocking",
                    f"{self.name(k)} leaves {self.mname(k)} at {lv[k]:g}, but no room was freed in the "
                    f"buffer of {wname} then: it should have left when room appeared",
                    [k],
                )

    # simultaneous events ----------------------------------------------------------------
    def instants(self) -> None:
        """(hard buffers) At every instant where a buffer gets more departures than it has
        room for without the processing starts of that instant, some order of the instant's
        events must let each departure find room when it happens (:class:`_Instant`)."""
        if not self.hard:
            return
        s, r, tol = self.s, self.ref, self.tol
        t = s.times
        dep, ss, st, lv = t["depart"], t["setup_start"], t["start"], t["leave"]
        vol, cap_all = r.op_volume, r.capacity
        n = r.n_ops
        # holdings (wc, from, until, volume): operations, and children waiting for their kit
        h_w, h_d, h_s, h_v = r.op_wc, dep, st, vol
        if r.has_assembly:
            kids = np.flatnonzero(r.job_parent >= 0)
            lo = r.job_last[kids]
            fp = r.job_first[r.job_parent[kids]]
            h_w = np.concatenate([h_w, r.op_wc[fp]])
            h_d = np.concatenate([h_d, lv[lo]])
            h_s = np.concatenate([h_s, st[fp]])
            h_v = np.concatenate([h_v, r.job_kit_volume[kids]])
        consuming = np.isfinite(h_d) & (h_v > 0) & np.isfinite(cap_all[h_w])
        found: list[tuple[float, int, float]] = []  # (instant, wc, level just before it)
        for w in np.unique(h_w[consuming]).tolist():
            ops = np.flatnonzero(consuming & (h_w == w))
            d = h_d[ops]
            sv = np.where(np.isfinite(h_s[ops]), h_s[ops], np.inf)
            v = h_v[ops]
            od, os_ = np.argsort(d, kind="stable"), np.argsort(sv, kind="stable")
            ds, ss_ = d[od], sv[os_]
            cd, cs = np.r_[0.0, np.cumsum(v[od])], np.r_[0.0, np.cumsum(v[os_])]
            cap = float(cap_all[w])
            vtol = tol * max(1.0, cap)
            inst_t = np.array(_clusters(ds, tol))
            lo = np.searchsorted(ds, inst_t - tol, "left")
            # held just before the instant (departed before it, not started before it)
            # + departing at it
            held = cd[lo] - cs[np.searchsorted(ss_, inst_t - tol, "left")]
            at = cd[np.searchsorted(ds, inst_t + tol, "right")] - cd[lo]
            for i in np.flatnonzero(held + at > cap + vtol).tolist():
                found.append((float(inst_t[i]), w, float(held[i])))
        if not found:
            return
        found.sort()
        contested: list[tuple[float, dict[int, float]]] = []
        for t0, w, before in found:
            if not contested or t0 > contested[-1][0] + tol:
                contested.append((t0, {}))
            contested[-1][1][w] = before
        nxt_in_job = np.r_[~r.op_last[:-1], False] if n else np.zeros(0, dtype=bool)
        index = {f: _TimeIndex(a) for f, a in (("d", dep), ("s", ss), ("p", st), ("l", lv))}
        for t0, levels in contested:
            self._instant(t0, levels, index, dep, nxt_in_job)

    def _instant(
        self,
        t0: float,
        levels: dict[int, float],
        index: dict[str, _TimeIndex],
        dep: np.ndarray,
        nxt_in_job: np.ndarray,
    ) -> None:
        r, tol = self.ref, self.tol
        d_ops, s_ops, p_ops = (set(index[k].at(t0, tol)) for k in ("d", "s", "p"))
        l_ops = index["l"].at(t0, tol)

        def leave_event(o: int) -> tuple[int, int]:
            # leaving the machine toward the next op is that op's departure
            return (_D, o + 1) if nxt_in_job[o] and (o + 1) in d_ops else (_L, o)

        events: list[tuple[int, int]] = [(_D, o) for o in sorted(d_ops)]
        events += [(_S, o) for o in sorted(s_ops)] + [(_P, o) for o in sorted(p_ops)]
        leaves = {o: leave_event(o) for o in l_ops}
        events += sorted({e for e in leaves.values() if e[0] == _L})
        preds: dict[tuple[int, int], list[tuple[int, int]]] = {}
        # zero-time operations that occupy their machine only at t0 may have run there in
        # any order: a later operation on the machine needs all of them gone, they need the
        # last operation before them gone, and among themselves no order is imposed
        instant_only = s_ops & set(l_ops)
        for o in s_ops:
            pr = []
            prev = int(self.prev_on_machine[o])
            while prev in instant_only:
                if o not in instant_only:
                    pr.append(leaves[prev])
                prev = int(self.prev_on_machine[prev])
            if prev >= 0 and prev in leaves:
                pr.append(leaves[prev])
            if o in d_ops:
                pr.append((_D, o))
            preds[(_S, o)] = pr
        for o in p_ops:
            pr = [(_S, o)] if o in s_ops else []
            if o in d_ops:
                pr.append((_D, o))
            preds[(_P, o)] = pr
        for o, e in leaves.items():
            if o in p_ops:
                preds.setdefault(e, []).append((_P, o))
        need = {
            (_D, o): (int(r.op_wc[o]), float(r.op_volume[o]))
            for o in d_ops
            if int(r.op_wc[o]) in levels and r.op_volume[o] > 0
        }
        frees = {
            (_P, o): (int(r.op_wc[o]), float(r.op_volume[o]))
            for o in p_ops
            if int(r.op_wc[o]) in levels and np.isfinite(dep[o]) and dep[o] < t0 + tol
        }
        if r.has_assembly:
            self._instant_kits(t0, levels, leaves, d_ops, p_ops, preds, need, frees)
        cap = {w: float(r.capacity[w]) for w in levels}
        vtol = tol * max(1.0, *cap.values())
        inst = _Instant(events, preds, need, frees, dict(levels), cap, vtol)
        found, done, level = inst.solve()
        if found:
            return
        stuck = [e for e in need if e not in done]
        # a buffer that overflows after the instant anyway is reported as "buffer"
        final = dict(levels)
        for w, v in need.values():
            final[w] += v
        for w, v in frees.values():
            final[w] -= v
        stuck = [e for e in stuck if final[need[e][0]] <= cap[need[e][0]] + vtol]
        if not stuck:
            return
        parts = []
        for e in stuck[:6]:
            o = e[1]
            w = need[e][0]
            src = "STORE" if r.op_first[o] else f"its machine {self.mname(o - 1)}"
            parts.append(
                f"{r.job_ids[r.op_job[o]]} waits on {src} for room in {r.wc_ids[w]} "
                f"({level[w]:g} of {cap[w]:g} held)"
            )
        self.add(
            "instant",
            f"at {t0:g} no order of the simultaneous events is possible: "
            + "; ".join(parts)
            + " — each needs room that only a processing start at the same instant would "
            "free, and that start waits for one of these moves (a swap through full buffers "
            "is a deadlock)",
            sorted({e[1] - (0 if r.op_first[e[1]] else 1) for e in stuck}),
        )

    def _instant_kits(
        self,
        t0: float,
        levels: dict[int, float],
        leaves: dict[int, tuple[int, int]],
        d_ops: set[int],
        p_ops: set[int],
        preds: dict[tuple[int, int], list[tuple[int, int]]],
        need: dict[tuple[int, int], tuple[int, float]],
        frees: dict[tuple[int, int], tuple[int, float]],
    ) -> None:
        """Kits at one instant: a child leaving its last machine toward a contested buffer
        needs room for its kit volume; an assembly is released (its first operation's
        departure) after every child that leaves at this instant; its processing start frees
        the kit volume of the children that have left."""
        r, tol = self.ref, self.tol
        lv = self.s.times["leave"]
        for o, e in leaves.items():
            j = int(r.op_job[o])
            p = int(r.job_parent[j])
            if p < 0 or o != r.job_last[j]:
                continue
            w = int(r.op_wc[r.job_first[p]])
            if w in levels and r.job_kit_volume[j] > 0:
                need[e] = (w, float(r.job_kit_volume[j]))
        for fp in d_ops | p_ops:
            p = int(r.op_job[fp])
            if not r.job_assembly[p] or fp != r.job_first[p]:
                continue
            kids = np.flatnonzero(r.job_parent == p)
            lo = r.job_last[kids]
            if fp in d_ops:
                preds.setdefault((_D, fp), []).extend(leaves[o] for o in lo.tolist() if o in leaves)
            w = int(r.op_wc[fp])
            if fp in p_ops and w in levels:
                gone = np.isfinite(lv[lo]) & (lv[lo] < t0 + tol)
                v = float(r.job_kit_volume[kids][gone].sum())
                if v > 0:
                    frees[(_P, fp)] = (w, v)


# -- one instant: is there an order of its events? ------------------------------------------
_D, _S, _P, _L = 0, 1, 2, 3  # depart toward op o, setup start (decision), processing start, leave
_SEARCH_BUDGET = 20_000  # states explored per instant before giving up (then: a violation)


class _Instant:
    """The events of one instant ``t0`` and whether some order of them is executable.

    Events (kind, op): ``_D`` the job departs toward op ``o``'s buffer (for a non-first op
    this *is* the job leaving the machine of op ``o-1``), ``_S`` the setup start (decision)
    of ``o``, ``_P`` its processing start (frees ``o``'s volume), ``_L`` the job leaves the
    machine after its last op. Causes at the same instant (docs/semantics.md): a setup start
    needs the previous job on the machine to have left and the job to have departed; a
    processing start needs its setup start and (zero transport) its departure; a leave needs
    the processing start (zero-time op). A departure into a *contested* buffer (one that
    cannot take every departure of the instant on what it held before) needs room then.
    """

    def __init__(
        self,
        events: list[tuple[int, int]],
        preds: dict[tuple[int, int], list[tuple[int, int]]],
        need: dict[tuple[int, int], tuple[int, float]],  # consuming D event -> (wc, volume)
        frees: dict[tuple[int, int], tuple[int, float]],  # P event -> (wc, volume)
        level: dict[int, float],  # contested wc -> level just before t0
        cap: dict[int, float],
        vtol: float,
    ) -> None:
        self.events, self.preds, self.need, self.frees = events, preds, need, frees
        self.level0, self.cap, self.vtol = level, cap, vtol
        self.explored = 0

    def _close(self, done: set[tuple[int, int]], level: dict[int, float]) -> None:
        """Run every non-consuming event whose causes are done (never hurts: frees only)."""
        changed = True
        while changed:
            changed = False
            for e in self.events:
                if e in done or e in self.need:
                    continue
                if all(p in done for p in self.preds.get(e, ())):
                    done.add(e)
                    changed = True
                    f = self.frees.get(e)
                    if f is not None and f[0] in level:
                        level[f[0]] -= f[1]

    def _ready(self, done: set[tuple[int, int]], level: dict[int, float]) -> list[tuple[int, int]]:
        out = []
        for e, (w, v) in self.need.items():
            if e in done or not all(p in done for p in self.preds.get(e, ())):
                continue
            if level[w] + v <= self.cap[w] + self.vtol:
                out.append(e)
        return out

    def _do(
        self, e: tuple[int, int], done: set[tuple[int, int]], level: dict[int, float]
    ) -> tuple[set[tuple[int, int]], dict[int, float]]:
        d2, l2 = set(done), dict(level)
        d2.add(e)
        w, v = self.need[e]
        l2[w] += v
        self._close(d2, l2)
        return d2, l2

    def solve(self) -> tuple[bool, set[tuple[int, int]], dict[int, float]]:
        """(found an order, events done in the best attempt, levels then)."""
        done: set[tuple[int, int]] = set()
        level = dict(self.level0)
        self._close(done, level)
        # safe moves first (each leaves a state from which every order that worked before
        # still works): (a) every departure still to come into a buffer is ready and they all
        # fit at once; (b) a departure whose consequences free at least its own volume in
        # its buffer (every level ends no higher than before)
        progress = True
        while progress:
            progress = False
            ready = self._ready(done, level)
            for w in {self.need[e][0] for e in ready}:
                todo = [e for e, (x, _) in self.need.items() if x == w and e not in done]
                if (
                    set(todo) <= set(ready)
                    and level[w] + sum(self.need[e][1] for e in todo) <= self.cap[w] + self.vtol
                ):
                    for e in todo:
                        done, level = self._do(e, done, level)
                    progress = True
            if progress:
                continue
            for e in ready:
                d2, l2 = self._do(e, done, level)
                w = self.need[e][0]
                if l2[w] <= level[w] + self.vtol:
                    done, level = d2, l2
                    progress = True
                    break
        if len(done) == len(self.events):
            return True, done, level
        best = (done, level)
        seen: set[frozenset[tuple[int, int]]] = set()

        def dfs(d: set[tuple[int, int]], lv: dict[int, float]) -> bool:
            nonlocal best
            key = frozenset(e for e in d if e in self.need)
            if key in seen:
                return False
            seen.add(key)
            self.explored += 1
            if len(d) > len(best[0]):
                best = (d, lv)
            if len(d) == len(self.events):
                return True
            if self.explored > _SEARCH_BUDGET:
                return False
            return any(dfs(*self._do(e, d, lv)) for e in self._ready(d, lv))

        if dfs(done, level):
            return True, best[0], best[1]
        return False, best[0], best[1]


def _untie(
    seq: np.ndarray,
    s_from: np.ndarray,
    s_to: np.ndarray,
    head: np.ndarray,
    tie: np.ndarray,
    init: np.ndarray,
) -> None:
    """Reorder runs of simultaneous operations (in place) so that setups chain where possible."""
    n = seq.size
    i = 1
    while i < n:
        if not tie[i]:
            i += 1
            continue
        a = i - 1
        b = i
        while b + 1 < n and tie[b + 1]:
            b += 1
        pos = list(range(a, b + 1))
        before = int(init[a]) if head[a] else int(s_to[a - 1])
        after = int(s_from[b + 1]) if b + 1 < n and not head[b + 1] else None
        best = _chain(pos, s_from, s_to, before, after) or _chain(pos, s_from, s_to, before, None)
        if best is not None and best != pos:
            for arr in (seq, s_from, s_to):
                arr[a : b + 1] = arr[best]
        i = b + 1


def _chain(
    pos: list[int], s_from: np.ndarray, s_to: np.ndarray, before: int, after: int | None
) -> list[int] | None:
    """An order of ``pos`` whose setups chain from ``before`` (and into ``after``), or None.

    Each operation is an edge ``s_from -> s_to`` between setup states; a chaining order is an
    Eulerian trail from ``before`` (Hierholzer's algorithm, linear in ``len(pos)``; when one
    exists from ``before``, it finds one, and the degrees then force its end).
    """
    out: dict[int, list[int]] = {}
    for p in reversed(pos):  # popped from the end: the original order is tried first
        out.setdefault(int(s_from[p]), []).append(p)
    stack: list[tuple[int, int | None]] = [(before, None)]  # (vertex, edge that led there)
    trail: list[int] = []
    while stack:
        v, e = stack[-1]
        edges = out.get(v)
        if edges:
            p = edges.pop()
            stack.append((int(s_to[p]), p))
        else:
            stack.pop()
            if e is not None:
                trail.append(e)
    trail.reverse()
    if len(trail) != len(pos):
        return None
    cur = before
    for p in trail:
        if int(s_from[p]) != cur:
            return None
        cur = int(s_to[p])
    if after is not None and cur != after:
        return None
    return trail


class _TimeIndex:
    """The operations of one time field, sorted, to find those at an instant quickly."""

    def __init__(self, a: np.ndarray) -> None:
        fin = np.flatnonzero(np.isfinite(a))
        order = np.argsort(a[fin], kind="stable")
        self.ops = fin[order]  # (k,) op indices by time
        self.times = a[fin][order]  # (k,)

    def at(self, t0: float, tol: float) -> list[int]:
        i = int(np.searchsorted(self.times, t0 - tol, "left"))
        j = int(np.searchsorted(self.times, t0 + tol, "right"))
        return self.ops[i:j].tolist()


def _clusters(sorted_times: np.ndarray, tol: float) -> list[float]:
    """The distinct instants of a sorted time array (times within ``tol`` are one instant)."""
    out: list[float] = []
    for x in sorted_times[np.isfinite(sorted_times)].tolist():
        if not out or x > out[-1] + tol:
            out.append(x)
    return out


def _sid(ids: list[str], i: int) -> str | None:
    i = int(i)
    return ids[i] if 0 <= i < len(ids) else None


def validate(
    schedule: Schedule,
    instance: Instance,
    *,
    buffers: str | None = None,
    anticipatory_setups: bool | None = None,
    tol: float = 1e-6,
    situation: Any = None,
) -> list[Violation]:
    """Every rule of the shop semantics that ``schedule`` breaks (empty list = valid).

    ``buffers`` (``"hard"``/``"soft"``) and ``anticipatory_setups`` are the rules to check
    under — the plant's / the caller's; ``None`` takes what the schedule declares. A schedule
    declaring another mode is reported (``identity``) and checked under the given one.
    ``situation`` (default: ``instance.situation``) is the shop state + pins the plan started
    from (``furnsim.replan``); the plan must honour it (kinds ``state``, ``pin``, ``outage``).
    ``tol`` is the absolute tolerance in minutes (and volume units) for comparisons; durations
    and transport are compared with ``tol`` relative to their size when that is above 1.
    """
    mode = schedule.buffers if buffers is None else buffers
    if mode not in ("hard", "soft"):
        raise ValueError(f"buffers must be 'hard' or 'soft', not {mode!r}")
    antic = (
        bool(schedule.anticipatory_setups)
        if anticipatory_setups is None
        else bool(anticipatory_setups)
    )
    situation = situation if situation is not None else getattr(instance, "situation", None)
    view = None
    if situation is not None:
        from furnsim.replan.check import SituationView

        view = SituationView(schedule, situation)
    c = _Checker(schedule, _ref(instance), tol, mode, antic, view)
    if not c.identity():
        return c.out
    c.worktime_ops = working_time_ops(schedule, instance)  # durations in working minutes
    holds = None
    if schedule.holds is not None:  # a hold-aware plan (docs/semantics.md "Intentional holds")
        from furnsim.validate_holds import ParsedHolds

        holds = ParsedHolds(schedule.holds, c.ref.job_ids)
        c.store_holds = holds.store
    ok = c.operations()
    # (a shop state's history is given: its operations are compared with the state instead)
    c.out += check_working_time(schedule, instance, ok & ~c.fixed, tol)
    c.machines(ok)
    c.routes(ok)
    c.buffers(ok)
    c.instants()
    if holds is not None:
        from furnsim.validate_holds import check_holds, check_non_delay

        check_holds(c, holds)
        if view is None:  # (a shop state's frozen operations make machines wait)
            check_non_delay(c, holds, instance)
    if view is not None:
        from furnsim.replan.check import check_situation

        for kind, msg, ops in check_situation(schedule, view, tol):
            c.add(kind, msg, ops)
    return c.out


def is_valid(
    schedule: Schedule,
    instance: Instance,
    *,
    buffers: str | None = None,
    anticipatory_setups: bool | None = None,
    tol: float = 1e-6,
) -> bool:
    """True when :func:`validate` finds nothing."""
    return not validate(
        schedule, instance, buffers=buffers, anticipatory_setups=anticipatory_setups, tol=tol
    )


# -- reading untrusted schedule files -----------------------------------------------------------
#: schedule files larger than this are refused unread (a demo week's plan is a few MB)
MAX_SCHEDULE_BYTES = 64 * 1024 * 1024

_ID_LISTS = ("job_ids", "machine_ids", "wc_ids", "setup_ids")
_INT_ARRAYS = ("op_job", "op_step", "op_wc", "op_machine", "op_setup_from", "op_setup_to")


class ScheduleFormatError(ValueError):
    """A schedule file that is not a well-formed furnsim schedule (CLI: exit 2)."""


def load_schedule(src: str | Path | bytes, instance: Instance | None = None) -> Schedule:
    """Read a schedule JSON file (or ``plan --json`` output) strictly; never executes anything.

    ``src`` is a path, or the JSON text itself. Every key, type, length and index is checked;
    ids must be unique (no machine aliases); times are finite numbers or null; NaN/Infinity,
    booleans for numbers, floats for indices and files over
    :data:`MAX_SCHEDULE_BYTES` are refused. With ``instance`` the operation count and the job
    ids must be the instance's. Raises :class:`ScheduleFormatError` naming the field.
    """
    if isinstance(src, bytes):
        raw = src
        where = "schedule"
    elif isinstance(src, Path) or not str(src).lstrip().startswith("{"):
        path = Path(src)
        where = str(path)
        try:
            size = path.stat().st_size
            if size > MAX_SCHEDULE_BYTES:
                raise ScheduleFormatError(
                    f"{where}: {size:,} bytes, more than the {MAX_SCHEDULE_BYTES:,} a schedule may have"
                )
            raw = path.read_bytes()
        except OSError as e:
            raise ScheduleFormatError(f"{where}: cannot read it ({e.strerror or e})") from None
    else:
        raw = str(src).encode()
        where = "schedule"
    if len(raw) > MAX_SCHEDULE_BYTES:
        raise ScheduleFormatError(f"{where}: more than {MAX_SCHEDULE_BYTES:,} bytes")
    try:
        # NaN / Infinity may appear outside the schedule (a deadlocked plan's cost in
        # `plan --json` output); inside it every number is checked to be finite below
        d = json.loads(raw)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, huge integers, bad UTF-8
        raise ScheduleFormatError(f"{where}: not valid JSON ({e})") from None
    if isinstance(d, dict) and "format" not in d and isinstance(d.get("schedule"), dict):
        d = d["schedule"]  # the output of `furnsim plan --json`
    try:
        s = _schedule_from_checked(d)
    except ScheduleFormatError as e:
        raise ScheduleFormatError(f"{where}: {e}") from None
    if instance is not None:
        n = instance.n_operations
        if s.n_ops != n:
            raise ScheduleFormatError(
                f"{where}: {s.n_ops} operations, but the instance {instance.name!r} has {n}"
            )
        want = [j.id for j in instance.jobs]
        if s.job_ids != want:
            extra = sorted(set(s.job_ids) - set(want))[:5]
            lacking = sorted(set(want) - set(s.job_ids))[:5]
            raise ScheduleFormatError(
                f"{where}: its jobs are not the instance's jobs (unknown {extra}, missing "
                f"{lacking}{', or another order' if not extra and not lacking else ''})"
            )
    return s


def _schedule_from_checked(d: Any) -> Schedule:
    if not isinstance(d, dict):
        raise ScheduleFormatError(f"the top level is a {type(d).__name__}, not a JSON object")
    if d.get("format") != "furnsim.schedule/1":
        raise ScheduleFormatError(
            f"'format' is {d.get('format')!r}, not 'furnsim.schedule/1' (not a furnsim schedule)"
        )
    required = ("instance_name", *_ID_LISTS, *_INT_ARRAYS, "op_volume", "times", "finish_arrive")
    missing = [k for k in required if k not in d]
    if missing:
        raise ScheduleFormatError(f"missing key(s) {missing}")
    if not isinstance(d["instance_name"], str):
        raise ScheduleFormatError("'instance_name' must be text")
    ids: dict[str, list[str]] = {}
    for k in _ID_LISTS:
        v = d[k]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ScheduleFormatError(f"'{k}' must be a list of text ids")
        dup = sorted(x for x, c in Counter(v).items() if c > 1)
        if dup:
            raise ScheduleFormatError(
                f"'{k}' lists {dup[:5]} more than once (an alias would hide overlaps)"
            )
        ids[k] = v
    n = _length(d, "op_job")
    bounds = {
        "op_job": (0, len(ids["job_ids"])),
        "op_step": (0, n),
        "op_wc": (0, len(ids["wc_ids"])),
        "op_machine": (-1, len(ids["machine_ids"])),
        "op_setup_from": (-1, len(ids["setup_ids"])),
        "op_setup_to": (0, len(ids["setup_ids"])),
    }
    ints: dict[str, np.ndarray] = {}
    for k in _INT_ARRAYS:
        a = d[k]
        _length(d, k, n)
        lo, hi = bounds[k]
        for i, x in enumerate(a):
            if type(x) is not int:
                raise ScheduleFormatError(f"'{k}'[{i}] is {json.dumps(x)[:40]}, not a whole number")
            if not lo <= x < hi:
                raise ScheduleFormatError(
                    f"'{k}'[{i}] = {x} is out of range (allowed {lo} .. {hi - 1})"
                )
        ints[k] = np.array(a, dtype=np.int64)
    vol = _numbers(d["op_volume"], "op_volume", n, nullable=False)
    if np.any(vol < 0):
        raise ScheduleFormatError(f"'op_volume'[{int(np.argmax(vol < 0))}] is negative")
    times = d["times"]
    if not isinstance(times, dict):
        raise ScheduleFormatError(f"'times' is a {type(times).__name__}, not an object of fields")
    unknown = sorted(set(times) - set(OP_FIELDS))
    lacking = [f for f in OP_FIELDS if f not in times]
    if unknown or lacking:
        raise ScheduleFormatError(
            f"'times' must have exactly the fields {list(OP_FIELDS)}"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {lacking}" if lacking else "")
        )
    t = {f: _numbers(times[f], f"times.{f}", n, nullable=True) for f in OP_FIELDS}
    fin = _numbers(d["finish_arrive"], "finish_arrive", len(ids["job_ids"]), nullable=True)
    buffers = d.get("buffers", "hard")
    if buffers not in ("hard", "soft"):
        raise ScheduleFormatError(f"'buffers' is {buffers!r}, not 'hard' or 'soft'")
    antic = d.get("anticipatory_setups", True)
    if not isinstance(antic, bool):
        raise ScheduleFormatError("'anticipatory_setups' must be true or false")
    method = d.get("method", "")
    meta = d.get("meta", {})
    if not isinstance(method, str) or not isinstance(meta, dict):
        raise ScheduleFormatError("'method' must be text and 'meta' an object")
    n_jobs = len(ids["job_ids"])
    parent = np.full(n_jobs, -1, dtype=np.int64)  # assembly (optional keys)
    kit_vol = np.zeros(n_jobs)
    if "job_parent" in d:
        _length(d, "job_parent")
        if len(d["job_parent"]) != n_jobs or not all(
            type(x) is int and -1 <= x < n_jobs for x in d["job_parent"]
        ):
            raise ScheduleFormatError(f"'job_parent' must be {n_jobs} job indices or -1")
        parent = np.array(d["job_parent"], dtype=np.int64)
    if "job_kit_volume" in d:
        kit_vol = _numbers(d["job_kit_volume"], "job_kit_volume", n_jobs, nullable=False)
        if np.any(kit_vol < 0):
            raise ScheduleFormatError("'job_kit_volume' has a negative volume")
    return Schedule(
        instance_name=d["instance_name"],
        job_ids=ids["job_ids"],
        machine_ids=ids["machine_ids"],
        wc_ids=ids["wc_ids"],
        setup_ids=ids["setup_ids"],
        op_job=ints["op_job"],
        op_step=ints["op_step"],
        op_wc=ints["op_wc"],
        op_volume=vol,
        op_machine=ints["op_machine"],
        op_setup_from=ints["op_setup_from"],
        op_setup_to=ints["op_setup_to"],
        times=t,
        finish_arrive=fin,
        buffers=buffers,
        anticipatory_setups=antic,
        method=method,
        meta=meta,
        job_parent=parent,
        job_kit_volume=kit_vol,
        segments=read_segments(d, "segments", n, ScheduleFormatError),
        setup_segments=read_segments(d, "setup_segments", n, ScheduleFormatError),
        holds=read_holds(d.get("holds"), ids["job_ids"], ids["machine_ids"], ScheduleFormatError),
    )


def _length(d: dict[str, Any], key: str, n: int | None = None) -> int:
    a = d[key]
    if not isinstance(a, list):
        raise ScheduleFormatError(f"'{key}' is a {type(a).__name__}, not a list")
    if n is not None and len(a) != n:
        raise ScheduleFormatError(f"'{key}' has {len(a)} entries, 'op_job' has {n}")
    return len(a)


def _numbers(a: Any, key: str, n: int, *, nullable: bool) -> np.ndarray:
    if not isinstance(a, list):
        raise ScheduleFormatError(f"'{key}' is a {type(a).__name__}, not a list")
    if len(a) != n:
        raise ScheduleFormatError(f"'{key}' has {len(a)} entries, expected {n}")
    out = np.empty(n, dtype=float)
    for i, x in enumerate(a):
        if x is None and nullable:
            out[i] = np.nan
        elif type(x) in (int, float) and math.isfinite(x) and abs(x) < 1e15:
            out[i] = float(x)
        else:
            raise ScheduleFormatError(
                f"'{key}'[{i}] is {json.dumps(x)[:40]}, not a "
                + ("finite number or null" if nullable else "finite number")
            )
    return out


def format_violations(violations: Sequence[Violation], *, limit: int = 50) -> str:
    """A readable report: a count per kind, then one line per violation (at most ``limit``)."""
    if not violations:
        return "schedule is valid"
    counts = Counter(v.kind for v in violations)
    head = ", ".join(
        f"{k}: {counts[k]}"
        for k in sorted(counts, key=lambda k: (KINDS.index(k) if k in KINDS else 99, k))
    )
    lines = [f"{len(violations)} violation{'s' if len(violations) != 1 else ''} ({head})"]
    lines += [f"  {v}" for v in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"  ... and {len(violations) - limit} more")
    return "\n".join(lines)
