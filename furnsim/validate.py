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
``setup-sequence``  a machine's first ``setup_from`` is not its initial setup, or an operation's
                    ``setup_from`` is not the previous operation's ``setup_to`` on that machine
``capacity``        two operations overlap on one machine (occupied from setup start until the
                    job leaves it)
``precedence``      route order: ``depart(k+1) = leave(k) >= end(k)``, ``start >= arrive``
``transport``       ``arrive != depart + T[from, to]`` or ``finish_arrive != end + T[wc, FINISHED]``
``release``         a job departs from STORE before its release, or (hard buffers) later than its
                    release although the first buffer had room and nobody was ahead of it
``buffer``          (hard buffers) a buffer holds more than its capacity
``blocking``        a job stays on its machine after processing without a reason: the next buffer
                    had room at the end of processing, the job did not leave when room was freed,
                    the operation is the last one (FINISHED never blocks), or buffers are soft
``join``            (assembly) an assembly's first operation is not released when its kit is
                    complete: ``depart`` = the latest ``leave`` of its children's last operations,
                    ``arrive`` = their latest kit arrival; a child's kit arrival is not
                    ``leave + T[wc, parent's wc]``; the schedule's parents are not the instance's.
                    Kit volumes count in the parent's buffer for ``buffer``/``blocking``/``release``.

Complexity: O(n log n) in the number of operations (sorts per machine and per buffer); a few
milliseconds for thousands of operations.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from furnsim.model import FINISHED, STORE, Instance
from furnsim.sim.schedule import OP_FIELDS, Schedule

__all__ = ["KINDS", "Violation", "format_violations", "is_valid", "validate"]

KINDS = (
    "identity",
    "missing",
    "eligibility",
    "duration",
    "setup",
    "setup-sequence",
    "capacity",
    "precedence",
    "transport",
    "release",
    "buffer",
    "blocking",
    "join",
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
            assembly.append(any(c.parent == job.component for c in inst.catalog.article(job.article).components))
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
    def __init__(self, s: Schedule, ref: _Ref, tol: float) -> None:
        self.s, self.ref, self.tol = s, ref, tol
        self.out: list[Violation] = []

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
        if s.buffers not in ("hard", "soft"):
            self.add("identity", f"unknown buffer mode {s.buffers!r}", [])
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
                self.add("join", f"job {r.job_ids[j]} goes into {want}, the schedule says otherwise", [])
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
        ss, se, st, en, ar = (
            t[f].tolist() for f in ("setup_start", "setup_end", "start", "end", "arrive")
        )
        anticipatory = bool(s.anticipatory_setups)
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
            elif abs((en[o] - st[o]) - proc) > tol * max(1.0, proc):
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
            if abs((se[o] - ss[o]) - want) > tol * max(1.0, want):
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
        # first op of each machine: its initial setup
        for i in np.flatnonzero(head):
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
        overlap = t["setup_start"][b] < t["leave"][a] - tol
        for pa, pb in zip(a[overlap].tolist(), b[overlap].tolist(), strict=True):
            self.add(
                "capacity",
                f"on {self.mname(pb)}: {self.name(pb)} starts its setup at {t['setup_start'][pb]:g} "
                f"before {self.name(pa)} leaves the machine at {t['leave'][pa]:g}",
                [pa, pb],
            )
        broken = s_from[same] != s_to[same - 1]
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
        hard = s.buffers == "hard"
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

        Same rule as blocking: at the release the buffer must have been too full for it (or
        someone was ahead of it: a blocked machine, or an earlier release waiting at STORE),
        and it departs at an instant when a processing start freed room.
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
        late_rel = r.job_release[r.op_job[late]]
        for o, e in zip(late.tolist(), late_rel.tolist(), strict=True):
            vol = float(r.op_volume[o])
            if not math.isfinite(cap):
                self.add(
                    "release",
                    f"{self.name(o)} waits at STORE from its release {e:g} to {dep[o]:g}, but the buffer "
                    f"of {wname} always has room for it",
                    [o],
                )
                continue
            lev = self._level_at(times, level, e)
            if lev + vol <= cap - vtol:
                j_o = int(r.op_job[o])
                earlier = (late_rel < e - tol) | ((np.abs(late_rel - e) <= tol) & (r.op_job[late] < j_o))
                store_ahead = bool(np.any(earlier & (dep[late] > e + tol)))
                machine_ahead = bool(np.any((q_end <= e + tol) & (q_leave > e + tol)))
                if not (store_ahead or machine_ahead):
                    self.add(
                        "release",
                        f"{self.name(o)} waits at STORE from its release {e:g} to {dep[o]:g}, but at {e:g} "
                        f"the buffer of {wname} held {lev:g} of {cap:g}: room for its {vol:g}",
                        [o],
                    )
                    continue
            if not self._freed_at(frees, float(dep[o])):
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
        for k in kb.tolist():
            vol = float(r.op_next_vol[k])
            e = float(en[k])
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
            if not self._freed_at(frees, float(lv[k])):
                self.add(
                    "blocking",
                    f"{self.name(k)} leaves {self.mname(k)} at {lv[k]:g}, but no room was freed in the "
                    f"buffer of {wname} then: it should have left when room appeared",
                    [k],
                )


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
    """An order of ``pos`` whose setups chain from ``before`` (and into ``after``), or None."""
    if len(pos) > 8:
        return None

    def dfs(cur: int, left: list[int], path: list[int]) -> list[int] | None:
        if not left:
            return path if after is None or cur == after else None
        for p in left:
            if s_from[p] == cur:
                found = dfs(int(s_to[p]), [q for q in left if q != p], [*path, p])
                if found is not None:
                    return found
        return None

    return dfs(before, pos, [])


def _sid(ids: list[str], i: int) -> str | None:
    i = int(i)
    return ids[i] if 0 <= i < len(ids) else None


def validate(schedule: Schedule, instance: Instance, *, tol: float = 1e-6) -> list[Violation]:
    """Every rule of the shop semantics that ``schedule`` breaks (empty list = valid).

    ``tol`` is the absolute tolerance in minutes (and volume units) for comparisons; durations
    and transport are compared with ``tol`` relative to their size when that is above 1.
    """
    c = _Checker(schedule, _ref(instance), tol)
    if not c.identity():
        return c.out
    ok = c.operations()
    c.machines(ok)
    c.routes(ok)
    c.buffers(ok)
    return c.out


def is_valid(schedule: Schedule, instance: Instance, *, tol: float = 1e-6) -> bool:
    """True when :func:`validate` finds nothing."""
    return not validate(schedule, instance, tol=tol)


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
