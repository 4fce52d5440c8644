"""Event-driven simulator of the extended job shop (no Gymnasium import).

The engine owns the shop state and its transitions; a policy only answers decisions:

    sim = Simulator(instance)
    d = sim.reset()
    while d is not None:
        d = sim.dispatch(d.candidates[0])      # or sim.wait()
    schedule = sim.schedule()                  # sim.deadlock is set if the shop locked up

Semantics (docs/semantics.md): time in minutes; a machine runs one operation at a time, no
preemption; processing = δ·d (+ fixed); setup = S_m[current][needed], anticipatory by default
(the setup starts at dispatch, processing when both setup and job are there); transport from
the matrix STORE -> first work center -> ... -> FINISHED; a job holds its volume in the
destination buffer from departure until its processing starts; with hard buffers a job only
departs when the destination has room, otherwise it waits at STORE or blocks its machine.
"""

from __future__ import annotations

import heapq
import math
import weakref
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from furnsim.model import CompiledInstance, Instance
from furnsim.sim.schedule import OP_FIELDS, Schedule
from furnsim.sim.state import SimState

__all__ = [
    "ASSIGNED",
    "AT_STORE",
    "BLOCKED",
    "BUSY",
    "DONE",
    "IDLE",
    "MBLOCKED",
    "PROCESSING",
    "WAITING",
    "Deadlock",
    "Decision",
    "Noise",
    "Simulator",
]

_EPS = 1e-9

# job states
AT_STORE, WAITING, ASSIGNED, PROCESSING, BLOCKED, DONE = range(6)
# machine states
IDLE, BUSY, MBLOCKED = range(3)
# event kinds, in the order they are handled at equal times: processing starts (free
# buffer space), processing ends (departures may use that space), releases, a machine's
# working window opens (working time: it may decide again)
_START, _END, _RELEASE, _WAKE, _HOLD_END = 0, 1, 2, 3, 4
# a STORE hold ends with a release event keyed after every plain release of that instant, in
# job order (docs/semantics.md "Intentional holds")
_HOLD_SEQ = 1 << 40


@dataclass(frozen=True)
class Decision:
    """A machine is idle and can take one of ``candidates`` (job indices) next."""

    time: float
    machine: int
    candidates: np.ndarray  # (k,) int64 job indices
    ops: np.ndarray  # (k,) int64 the candidates' next operation


@dataclass
class Deadlock:
    """The shop cannot move: no operation running or in transit, no decision, work left."""

    time: float
    cycle: list[dict[str, Any]]  # [{machine, job, waits_for}] forming the blocked cycle
    blocked: list[dict[str, Any]] = field(default_factory=list)  # every blocked machine
    kits: list[dict[str, Any]] = field(
        default_factory=list
    )  # incomplete kits: assembly, waiting, missing

    @property
    def message(self) -> str:
        chain = " -> ".join(
            f"{c['machine']} (holding {c['job']}, needs room in {c['waits_for']}"
            + (f"; full of partial kits: {'; '.join(c['kits'])}" if c.get("kits") else "")
            + ")"
            for c in self.cycle
        )
        return f"deadlock at t={self.time:g}: {chain or 'no progress possible'}"


class Simulator:
    """The shop simulator. ``buffers`` is ``"hard"`` (blocking) or ``"soft"`` (overflow measured)."""

    # per instance (_engine_static: built once per compiled instance, shared, never changed)
    n_jobs: int
    n_ops: int
    n_machines: int
    n_wc: int
    op_mean_proc: np.ndarray  # (n_ops,) mean over the eligible machines
    op_min_proc: np.ndarray  # (n_ops,)
    op_rem_work: np.ndarray  # (n_ops,) mean work from the op to its order's end
    op_rem_ops: np.ndarray  # (n_ops,) operations from the op to its order's end
    job_total_work: np.ndarray  # (n_jobs,) the job's own mean work
    job_path_work: np.ndarray  # (n_jobs,) mean work of its ancestors (assemblies)
    _op_wc: list[int]
    _op_setup: list[int]
    _op_vol: list[float]
    _op_job: list[int]
    _job_first: list[int]
    _job_end: list[int]
    _machine_wc: list[int]
    _cap: list[float]
    _transport: list[list[float]]
    _elig: list[set[int]]  # per op its eligible machines
    _proc: np.ndarray  # (n_ops, n_machines)
    _setup: np.ndarray  # (n_machines, n_setups, n_setups)
    _wc_machines: list[list[int]]
    _wc_uniform: list[bool]
    _release: list[float]
    _parent: list[int]
    _kit_vol: list[float]
    _n_children: list[int]
    _has_kits: bool
    _kit_total: list[float]
    _children: list[list[int]]
    _mt: list[Any]  # per machine its MachineTime, None = 24/7
    _nonint: list[bool]
    _calendared: bool

    def __init__(
        self,
        instance: Instance | CompiledInstance,
        *,
        buffers: str = "hard",
        anticipatory_setups: bool = True,
        record_holds: bool = False,
        store_holds: dict[int, float] | None = None,
        fast: bool = False,
    ) -> None:
        if buffers not in ("hard", "soft"):
            raise ValueError(f"buffers must be 'hard' or 'soft', not {buffers!r}")
        self.buffers = buffers
        self.anticipatory_setups = anticipatory_setups
        # intentional holds (docs/semantics.md): record them in the schedule (hold-aware plan);
        # store_holds = {job: until} holds placed before the first event (release control)
        self.record_holds = bool(record_holds or store_holds)
        self.store_holds = dict(store_holds or {})
        # only STORE holds placed at reset (no hold taken during the run): the compiled loop
        # can run them (``store_holds`` may be set again before a ``reset``)
        self._only_store_holds = not record_holds
        # the compiled event loop (furnsim/sim/_fastloop.py) when numba is installed and the
        # run needs nothing only the Python methods do (holds taken during the run, a shop
        # situation; STORE holds placed at reset it runs); the same decisions and records.
        # ``wait``, holds and snapshots hand the state over to Python.
        self._want_fast = bool(fast)
        self._set_instance(instance)
        self.reset()

    # -- static data ------------------------------------------------------------------
    def _set_instance(self, instance: Instance | CompiledInstance) -> None:
        self.instance = instance if isinstance(instance, Instance) else None
        ci = instance.compiled if isinstance(instance, Instance) else instance
        self.ci = ci
        self.name = self.instance.name if self.instance is not None else "instance"
        # the per-instance tables, built once per compiled instance and shared (read-only)
        static = _ENGINE_STATIC.get(ci)
        if static is None:
            static = _ENGINE_STATIC[ci] = _engine_static(ci)
        self.__dict__.update(static)
        # everything set so far is per instance; the rest is run state (snapshot/restore)
        self._static_keys = frozenset(vars(self)) | {"_static_keys", "state"}

    # -- lifecycle --------------------------------------------------------------------
    def reset(self, instance: Instance | CompiledInstance | None = None) -> Decision | None:
        """Start over (optionally on another instance) and run to the first decision."""
        if instance is not None:
            self._set_instance(instance)
        self._fast = False
        self._fx: Any = None
        if (
            self._want_fast
            and self._only_store_holds
            and getattr(self.instance, "situation", None) is None
        ):
            from furnsim.sim import _fastloop

            if _fastloop.HAVE_NUMBA:
                return self._fast_reset()
        n_j, n_o, n_m, n_w = self.n_jobs, self.n_ops, self.n_machines, self.n_wc
        self.time = 0.0
        self.steps = 0
        self.job_state = np.zeros(n_j, dtype=np.int64)  # (n_jobs,) AT_STORE..DONE
        self.job_op = np.array(self._job_first, dtype=np.int64)  # (n_jobs,) next op (global idx)
        self.job_arrive = np.full(n_j, np.nan)  # (n_jobs,) arrival at the current work center
        self.machine_state = np.zeros(n_m, dtype=np.int64)  # (n_machines,) IDLE/BUSY/MBLOCKED
        self.machine_setup = self.ci.machine_init_setup.copy()  # (n_machines,) current setup idx
        self.machine_job = np.full(n_m, -1, dtype=np.int64)  # (n_machines,) job on it or -1
        self.machine_free_at = np.zeros(n_m)  # (n_machines,) end of current op
        self.machine_busy_time = np.zeros(n_m)  # (n_machines,) processing minutes so far
        self.wc_level = np.zeros(n_w)  # (n_wc,) reserved buffer volume
        self.wc_peak = np.zeros(n_w)  # (n_wc,) highest level seen
        self._waiting: list[dict[int, None]] = [{} for _ in range(n_w)]  # unassigned jobs per wc
        self._idle: list[set[int]] = [set(ms) for ms in self._wc_machines]
        self._store_q: list[list[int]] = [[] for _ in range(n_w)]
        self._blocked_q: list[list[int]] = [[] for _ in range(n_w)]
        self._waited: set[int] = set()
        self._ready: set[int] = set()  # work centers that may have an idle machine + waiting job
        self._events: list[tuple[float, int, int, int, int]] = []
        self._wake_at: dict[int, float] = {}  # machine -> pending window-open event time
        self._seq = 0
        self._dirty: set[int] = set()
        self.n_done = 0
        self.deadlock: Deadlock | None = None
        self.rec = {f: np.full(n_o, np.nan) for f in OP_FIELDS}
        self.rec_machine = np.full(n_o, -1, dtype=np.int64)
        self.rec_setup_from = np.full(n_o, -1, dtype=np.int64)
        self.finish_arrive = np.full(n_j, np.nan)
        self.dispatch_log: list[tuple[float, int, int]] = []  # (time, machine, job)
        self.kit_left = np.array(
            self._n_children, dtype=np.int64
        )  # (n_jobs,) children not departed
        self.kit_arrive = np.full(n_j, -np.inf)  # (n_jobs,) latest kit arrival so far
        for j in range(n_j):
            if self._job_end[j] == self._job_first[j]:
                self.job_state[j] = DONE
                self.n_done += 1
            elif self._n_children[j] == 0:
                self._push(self._release[j], _RELEASE, j, 0)  # assemblies wait for their kit
        self._decision: Decision | None = None
        # holds: None = none recorded (a v1 plan); job -> until (held at STORE); machine ->
        # [until, awaited job, record]; job -> machines awaiting it; machine -> open wait record
        self.holds: list[dict[str, Any]] | None = (
            [] if self.record_holds or self.store_holds else None
        )
        self._job_hold: dict[int, float] = {}
        self._m_hold: dict[int, tuple[float, int, dict[str, Any]]] = {}
        self._awaited: dict[int, set[int]] = {}
        self._wait_rec: dict[int, dict[str, Any]] = {}
        self._cons: Any = None  # pins / frozen operations of a shop state, or None
        situation = getattr(self.instance, "situation", None)
        if situation is not None:  # plan from the shop's present (furnsim.replan)
            from furnsim.replan.situation import apply_situation

            apply_situation(self, situation)
        self.state = SimState(self)  # the typed read seam (furnsim/sim/state.py)
        for j, until in sorted(self.store_holds.items()):
            self._hold_job(int(j), float(until), "planned")
        return self._advance()

    @property
    def done(self) -> bool:
        """All jobs finished, or the shop deadlocked."""
        return self.n_done == self.n_jobs or self.deadlock is not None

    def decision(self) -> Decision | None:
        """The pending decision, or None when done."""
        return self._decision

    # -- the compiled event loop (furnsim/sim/_fastloop.py) ----------------------------
    def _fast_reset(self) -> Decision | None:
        """:meth:`reset` with the run state in the compiled loop's packed arrays; the
        attributes (``job_state``, ``rec``, ...) are views of them, as ``sim.state``'s."""
        from furnsim.sim import _fastloop as fl

        n_j, n_o, n_m, n_w = self.n_jobs, self.n_ops, self.n_machines, self.n_wc
        fs = _fast_static(self)
        self._fast = True
        self.time = 0.0
        self.steps = 0
        self.n_done = 0
        ni, nf = fl.dyn_sizes(n_j, n_m, n_w, n_o)
        DI = np.zeros(ni, dtype=np.int64)  # the packed run state: ints
        DF = np.zeros(nf)
        sc, ji, mi, wi, reci, log_i, cand, cand_ops, prm, tm, jf, mf, wf, recf, log_f = (
            fl.dyn_views.py_func(DI, DF, n_j, n_m, n_w, n_o)
        )
        ji[...] = -1
        ji[fl.J_STATE] = AT_STORE
        ji[fl.J_OP] = fs.si_job[fl.SJ_FIRST]
        ji[fl.J_KIT_LEFT] = fs.si_job[fl.SJ_NCHILD]
        jf[...] = np.nan
        jf[fl.J_KIT_ARRIVE] = -np.inf
        mi[...] = -1
        mi[fl.M_STATE] = IDLE
        mi[fl.M_SETUP] = self.ci.machine_init_setup
        mf[fl.M_WAKE] = np.nan
        wi[...] = -1
        wi[fl.W_READY] = 0
        wi[fl.W_DIRTY] = 0
        recf[...] = np.nan
        reci[...] = -1
        prm[:] = (self.buffers == "soft", self.anticipatory_setups, self._has_kits)
        # the views everything else reads (the Python engine's arrays)
        self.job_state, self.job_op, self.kit_left = ji[0], ji[1], ji[2]
        self.job_arrive, self.finish_arrive, self.kit_arrive = jf[0], jf[1], jf[2]
        self.machine_state, self.machine_setup, self.machine_job = mi[0], mi[1], mi[2]
        self.machine_free_at, self.machine_busy_time = mf[0], mf[1]
        self.wc_level, self.wc_peak = wf[0], wf[1]
        self.rec = {f: recf[i] for i, f in enumerate(OP_FIELDS)}
        self.rec_machine, self.rec_setup_from = reci[0], reci[1]
        self.deadlock = None
        self.dispatch_log = []
        self._decision = None
        self._job_hold = {}
        self._m_hold = {}
        self._awaited = {}
        self._wait_rec = {}
        self._cons = None
        # STORE holds placed now: their release events at the hold's end (the compiled loop
        # keeps them as events; ``_to_python`` hands the ones still pending over)
        self.holds = [] if self.store_holds else None
        hold = _NO_HOLD
        if self.store_holds:
            hold = np.full(n_j, np.nan)
            for j, until in sorted(self.store_holds.items()):
                j, until = int(j), float(until)
                self.holds.append(self._store_hold_record(j, until, 0.0, "planned"))  # type: ignore[union-attr]
                hold[j] = until
        fx = _Fast(DI, DF, np.zeros(fs.ev_cap), np.zeros((4, fs.ev_cap), dtype=np.int64), fs)
        fx.cal = _calendar_tables(self)
        fx.sc, fx.ji, fx.mi, fx.mf, fx.wi, fx.tm = sc, ji, mi, mf, wi, tm
        fx.cand, fx.cand_ops, fx.log_f, fx.log_i = cand, cand_ops, log_f, log_i
        fx.pack()
        self._fx = fx
        fl.init(DI, DF, fx.ef, fx.ei, fs.SI, fs.SF, hold)
        self.state = SimState(self)
        return self._fast_run(-1, False)

    def _fast_run(
        self,
        job: int,
        skip_single: bool,
        prio: np.ndarray | None = None,
        stop: int = 0,
        rule: tuple[int, float] | None = None,
        script: np.ndarray | None = None,
        noise: Noise | None = None,
    ) -> Decision | None:
        """One call of the compiled loop (commit ``job`` if >= 0, run to the next decision),
        with the calendar extensions and event-array growth it asks for; with ``prio`` every
        decision is taken by it (``run_priority``), with ``rule`` = (``_fastloop.RULE_*``,
        parameter) by that rule's compiled pick (``run_rule``; ``job`` must be -1; with
        ``script``, ``RULE_SCRIPT``: ``script[n]`` after ``n`` dispatches, ``run_choices``),
        until the dispatch log holds ``stop`` dispatches (0: to the end); ``noise``: a
        :class:`Noise` perturbs those decisions (as ``Noise.pick``)."""
        if prio is None:
            prio = _NO_PRIO
        nz = _NO_NOISE if noise is None else noise.args()
        from furnsim.sim import _fastloop as fl

        fx = self._fx
        sc = fx.sc
        n_log = sc[fl.S_LOGN]
        rt: Any = None
        if rule is not None:
            rt = (script, _NO_RF) if script is not None else _rule_tables(self)
        while True:
            if rule is not None and job < 0:
                code = fl.run_rule(rule[0], rule[1], stop, *nz, *rt, *fx.args)
            else:
                code = fl.run(job, skip_single, prio, stop, *nz, *fx.args)
            if code == fl.NEED_EXTEND:
                m = int(sc[fl.S_EXT_M])
                mt = self._mt[m]
                if mt.horizon == fx.cal.hor[m]:  # (else another reader extended it already)
                    mt._extend()
                fx.cal = _calendar_tables(self)
                fx.pack()
            elif code == fl.GROW:
                fx.grow()
            else:
                break
            job = int(sc[fl.S_PENDING])
        self.time = float(fx.tm[0])
        self.steps = int(sc[fl.S_STEPS])
        self.n_done = int(sc[fl.S_NDONE])
        n = int(sc[fl.S_LOGN])
        if n > n_log:
            self.dispatch_log.extend(
                zip(
                    fx.log_f[n_log:n].tolist(),
                    fx.log_i[0, n_log:n].tolist(),
                    fx.log_i[1, n_log:n].tolist(),
                    strict=True,
                )
            )
        if code == fl.DECISION:
            k = int(sc[fl.S_OUT_K])
            d = Decision(self.time, int(sc[fl.S_OUT_M]), fx.cand[:k].copy(), fx.cand_ops[:k].copy())
            self._decision = d
            return d
        if code == fl.INVALID:
            d0 = self._decision
            assert d0 is not None
            raise ValueError(
                f"job {job} is not a candidate of machine {d0.machine} at t={d0.time:g}"
            )
        self._decision = None
        if code == fl.DEADLOCK:
            self._to_python()
            self.deadlock = self._diagnose()
        return None

    def _to_python(self) -> None:
        """Hand the run over to the Python methods: the compiled loop's queues, heap and
        flags become the engine's containers (same order), the arrays stay."""
        from furnsim.sim import _fastloop as fl

        fx = self._fx
        if not self._fast or fx is None:
            return
        n_w = self.n_wc
        self._waiting = [dict.fromkeys(self._fast_waiting(w)) for w in range(n_w)]
        self._idle = [{m for m in ms if self.machine_state[m] == IDLE} for ms in self._wc_machines]
        self._store_q = [_chain(fx.wi[fl.W_SHEAD, w], fx.ji[fl.J_SNEXT]) for w in range(n_w)]
        self._blocked_q = [_chain(fx.wi[fl.W_BHEAD, w], fx.mi[fl.M_BNEXT]) for w in range(n_w)]
        self._waited = set()
        self._ready = {int(w) for w in np.flatnonzero(fx.wi[fl.W_READY])}
        self._dirty = {int(w) for w in np.flatnonzero(fx.wi[fl.W_DIRTY])}
        n = int(fx.sc[fl.S_EVN])
        self._events = [(float(fx.ef[i]), *(int(x) for x in fx.ei[:, i])) for i in range(n)]  # type: ignore[misc]
        heapq.heapify(self._events)
        wake = fx.mf[fl.M_WAKE]
        self._wake_at = {int(m): float(wake[m]) for m in np.flatnonzero(~np.isnan(wake))}
        self._seq = int(fx.sc[fl.S_SEQ])
        # the STORE holds placed at reset whose release events are still pending
        self._job_hold = {
            int(j): float(u)
            for j, u in self.store_holds.items()
            if self.job_state[int(j)] == AT_STORE and float(u) > self.time + _EPS
        }
        self._fast = False
        self._fx = None

    def _fast_waiting(self, w: int) -> list[int]:
        """The waiting jobs of work center ``w`` in arrival order (the compiled loop's list)."""
        from furnsim.sim import _fastloop as fl

        fx = self._fx
        return _chain(fx.wi[fl.W_QHEAD, w], fx.ji[fl.J_QNEXT])

    # -- snapshots (search: restart a run from a decision instead of replaying it) ------
    def snapshot(self, compiled: bool = False) -> dict[str, Any]:
        """A copy of the run state now (cheap: no static data), for :meth:`restore`.

        Not for a run with intentional holds or a shop situation (pins, frozen operations):
        those share records between structures; ``ValueError`` then (``TypeError`` for run
        state of a type it does not know how to copy). The run goes on in Python (the
        compiled loop hands over), unless ``compiled`` and it runs in the compiled loop: then
        the snapshot is a copy of the loop's packed arrays and the run stays compiled (and
        :meth:`restore` puts it back into the compiled loop). A compiled run's only holds
        are the STORE holds placed at its reset: its snapshot keeps them."""
        fx = self._fx
        packed = compiled and self._fast and fx is not None
        if (
            (self.holds is not None and not packed)
            or self._cons is not None
            or self._job_hold
            or self._m_hold
        ):
            raise ValueError("snapshot: not supported with holds or a shop situation")
        if packed:
            from furnsim.sim import _fastloop as fl

            n_ev = int(fx.sc[fl.S_EVN])
            return {
                "_packed": (
                    fx.DI.copy(),
                    fx.DF.copy(),
                    fx.ef[:n_ev].copy(),
                    fx.ei[:, :n_ev].copy(),
                ),
                "time": self.time,
                "steps": self.steps,
                "n_done": self.n_done,
                "_decision": self._decision,
                "dispatch_log": list(self.dispatch_log),
                "store_holds": dict(self.store_holds),
                # (the records themselves are never changed once a packed snapshot can be
                # taken -- STORE holds, closed machine holds --: a copy of the list will do)
                "holds": None if self.holds is None else list(self.holds),
            }
        self._to_python()
        return {k: _copy_state(v) for k, v in vars(self).items() if k not in self._static_keys}

    def restore(self, snap: dict[str, Any]) -> Decision | None:
        """Put the run back into the state of ``snap`` (same instance; the snapshot stays
        usable); returns the decision pending then. Arrays are restored in place, so
        ``sim.state``'s views stay current."""
        packed = snap.get("_packed")
        if packed is not None:
            return self._restore_packed(snap, packed)
        self._to_python()
        for k, v in snap.items():
            cur = getattr(self, k, None)
            if isinstance(v, np.ndarray) and isinstance(cur, np.ndarray) and cur.shape == v.shape:
                np.copyto(cur, v)
            elif k == "rec" and isinstance(cur, dict):
                for f, a in v.items():
                    np.copyto(cur[f], a)
            elif k == "dispatch_log" and isinstance(cur, list):
                cur[:] = v
            else:
                setattr(self, k, _copy_state(v))
        return self._decision

    def _restore_packed(self, snap: dict[str, Any], packed: tuple[Any, ...]) -> Decision | None:
        """:meth:`restore` of a compiled snapshot: back into the compiled loop."""
        from furnsim.sim import _fastloop as fl

        if not self._fast or self._fx is None:  # handed over since (wait, deadlock): re-enter
            self._fast_reset()
        fx = self._fx
        DI, DF, ef, ei = packed
        np.copyto(fx.DI, DI)
        np.copyto(fx.DF, DF)
        n_ev = ef.shape[0]
        while fx.ef.shape[0] < n_ev + 2:
            fx.grow()
        fx.ef[:n_ev] = ef
        fx.ei[:, :n_ev] = ei
        assert int(fx.sc[fl.S_EVN]) == n_ev
        self.time, self.steps, self.n_done = snap["time"], snap["steps"], snap["n_done"]
        self._decision = snap["_decision"]
        self.dispatch_log[:] = snap["dispatch_log"]
        self.store_holds = dict(snap["store_holds"])
        self.holds = None if snap["holds"] is None else list(snap["holds"])
        self.deadlock = None
        return self._decision

    # -- actions ----------------------------------------------------------------------
    def dispatch(
        self, job: int, *, skip_single: bool = False, until: int | None = None
    ) -> Decision | None:
        """The deciding machine takes ``job`` next; runs to the next decision.

        ``skip_single``: decisions with one candidate on the way are taken at once (the
        dispatches a caller would make, without handing their decisions out) -- with
        ``until``, only while ``dispatch_log`` holds fewer than ``until`` dispatches."""
        d = self._decision
        if d is None:
            raise RuntimeError("no decision pending: the simulation is done")
        job = int(job)
        if self._fast and 0 <= job < self.n_jobs:
            return self._fast_run(job, skip_single, None, 0 if until is None else max(until, 1))
        if not (0 <= job < self.n_jobs) or self.job_state[job] != WAITING:
            raise ValueError(f"job {job} is not a candidate of machine {d.machine} at t={d.time:g}")
        o = int(self.job_op[job])
        m = d.machine
        if m not in self._elig[o] or self._op_wc[o] != self._machine_wc[m]:
            raise ValueError(f"job {job} is not a candidate of machine {d.machine} at t={d.time:g}")
        self._decision = None
        self._commit(job, o, m)
        return self._advance(skip_single, until)

    def skip_singles(self) -> Decision | None:
        """Take the pending decision's only candidate, and every following one-candidate
        decision; the first decision with a choice (None: done)."""
        d = self._decision
        if d is None or d.candidates.size != 1:
            return d
        return self.dispatch(int(d.candidates[0]), skip_single=True)

    def run_priority(
        self, key: np.ndarray, until: int | None = None, noise: Noise | None = None
    ) -> Decision | None:
        """Take the pending and every later decision by a static priority: the candidate
        with the smallest ``key[op, machine]`` ((n_ops, n_machines) float), values within
        ``furnsim.rules.TIE_TOL · max(1, |min|)`` of the minimum tying (NaN last), then the
        lowest job index — what a rule with that one key chooses (``Rule.static_key``).
        Runs to the end (done or deadlock: None), or with ``until`` only until
        ``dispatch_log`` holds ``until`` dispatches: the decision pending then is returned
        (every decision is one dispatch here). In the compiled loop when the simulator runs
        in it, the same plan as deciding one by one. ``noise`` (a :class:`Noise`): a random
        candidate instead at some decisions, as ``noise.pick`` draws them."""
        key = np.ascontiguousarray(key, dtype=np.float64)
        if key.shape != (self.n_ops, self.n_machines):
            raise ValueError(f"key must have shape {(self.n_ops, self.n_machines)}")
        d = self._decision
        stop = 0 if until is None else int(until)
        if d is None or (until is not None and len(self.dispatch_log) >= stop):
            return d
        if self._fast and key.shape[0] > 0:
            return self._fast_run(-1, True, key, max(stop, 0), noise=noise)
        from furnsim.sim._fastloop import prio_choice

        pick = getattr(prio_choice, "py_func", prio_choice)
        while d is not None and (until is None or len(self.dispatch_log) < stop):
            k = d.candidates.size
            x = -1 if noise is None else noise.pick(self, d)
            if x < 0:
                x = 0 if k == 1 else pick(key, d.machine, d.candidates, d.ops, k)
            d = self.dispatch(int(d.candidates[x]))
        return d

    def run_rule(
        self, rule: Any, until: int | None = None, noise: Noise | None = None
    ) -> Decision | None:
        """Take the pending and every later decision by ``rule`` (a ``furnsim.rules.Rule``:
        ``rule.choose``), as :meth:`run_priority` does by a static priority: to the end (done
        or deadlock: None), or with ``until`` only until ``dispatch_log`` holds ``until``
        dispatches (the decision pending then is returned). When the simulator runs in the
        compiled loop and the rule has a compiled pick there (``rule.loop`` = (``RULE_*`` of
        ``furnsim.sim._fastloop``, parameter): every rule without a static key), the decisions are
        taken there in one call: the very job ``rule.choose`` takes at each (the same kernel,
        the same floats), so the same plan; otherwise one ``rule.choose`` per decision.
        ``noise``: as :meth:`run_priority`'s."""
        d = self._decision
        stop = 0 if until is None else int(until)
        if d is None or (until is not None and len(self.dispatch_log) >= stop):
            return d
        spec = getattr(rule, "loop", None)
        if self._fast and spec is not None:
            # the deciding machine's working minutes up to every deadline (rules._calendar)
            if self._calendared:
                hi = max(float(self.time), self.state.static.deadline_max)
                for mt in self._mt:
                    while mt is not None and hi >= mt.horizon:
                        mt._extend()
                fx = self._fx
                if not fx.cal.current(self._mt):
                    fx.cal = _calendar_tables(self)
                    fx.pack()
            return self._fast_run(
                -1, True, None, max(stop, 0), (int(spec[0]), float(spec[1])), noise=noise
            )
        choose = rule.choose
        while d is not None and (until is None or len(self.dispatch_log) < stop):
            x = -1 if noise is None else noise.pick(self, d)
            d = self.dispatch(int(d.candidates[x]) if x >= 0 else int(choose(self, d)))
        return d

    def run_choices(self, jobs: list[int]) -> Decision | None:
        """Take the pending decision and the ones after it by ``jobs`` (the i-th by
        ``jobs[i]``: a replay of recorded dispatches; ``ValueError`` when one is not a
        candidate then); returns the decision pending after them (None: done or deadlock).
        In the compiled loop in one call when the simulator runs in it."""
        d = self._decision
        if d is None or not jobs:
            return d
        if self._fast:
            from furnsim.sim import _fastloop as fl

            n0 = len(self.dispatch_log)
            script = np.full(n0 + len(jobs), -1, dtype=np.int64)
            script[n0:] = jobs
            d = self._fast_run(-1, False, None, n0 + len(jobs), (fl.RULE_SCRIPT, 0.0), script)
            n = len(self.dispatch_log) - n0
            if d is None or n == len(jobs):
                return d
            jobs = jobs[n:]  # a job that is no candidate: the error of dispatch()
        for j in jobs:
            if d is None:
                break
            d = self.dispatch(int(j))
        return d

    def _commit(self, job: int, o: int, m: int) -> None:
        """Machine ``m`` takes waiting ``job`` (its next op ``o``) now."""
        t = self.time
        w = self._op_wc[o]
        del self._waiting[w][job]
        self._idle[w].discard(m)
        self.job_state[job] = ASSIGNED
        self.machine_state[m] = BUSY
        self.machine_job[m] = job
        s_from = int(self.machine_setup[m])
        s_to = self._op_setup[o]
        st = 0.0 if s_from == s_to else float(self._setup[m, s_from, s_to])
        arrive = float(self.job_arrive[job])
        setup_start = t if self.anticipatory_setups else max(t, arrive)
        if self._cons is not None:  # pins / frozen operations of a shop state (furnsim.replan)
            setup_start = self._cons.earliest(o, setup_start, st)
            self._cons.dispatched(m, o)
        mt = self._mt[m]
        if mt is None:
            setup_end = setup_start + st
            start = max(setup_end, arrive)
            end = start + float(self._proc[o, m])
        else:  # working time: setups pause; processing pauses or fits one window
            if st > 0:
                setup_start, setup_end = mt.finish(setup_start, st)
            else:
                setup_end = setup_start
            start = max(setup_end, arrive)
            p = float(self._proc[o, m])
            if p > 0:
                if self._nonint[m]:
                    start = mt.fit(start, p)
                    end = start + p
                else:
                    start, end = mt.finish(start, p)
            else:
                end = start
        self.machine_setup[m] = s_to
        self.machine_free_at[m] = end
        rec = self.rec
        rec["setup_start"][o] = setup_start
        rec["setup_end"][o] = setup_end
        rec["start"][o] = start
        rec["end"][o] = end
        self.rec_machine[o] = m
        self.rec_setup_from[o] = s_from
        self._seq += 2
        heapq.heappush(self._events, (start, _START, self._seq - 1, job, o))
        heapq.heappush(self._events, (end, _END, self._seq, job, m))
        self.steps += 1
        self.dispatch_log.append((t, m, job))

    def wait(self) -> Decision | None:
        """The deciding machine takes nothing now; it is asked again after the next event."""
        d = self._decision
        if d is None:
            raise RuntimeError("no decision pending: the simulation is done")
        self._to_python()
        if not self._events:
            others = self._find_decision(exclude={*self._waited, d.machine})
            if others is None:
                raise RuntimeError(
                    f"machine {self.ci.machine_ids[d.machine]} waits at t={self.time:g} but nothing else "
                    "can happen: waiting here would stall the shop"
                )
        self._waited.add(d.machine)
        if self.holds is not None and d.machine not in self._wait_rec:
            # hold-aware: the pass is a machine hold until the next event
            self._wait_rec[d.machine] = self._new_hold_rec(d.machine, -1, "wait")
        self._decision = None
        return self._advance()

    # -- intentional holds (docs/semantics.md) ------------------------------------------
    def hold_job(self, job: int, until: float, reason: str = "") -> Decision | None:
        """Keep ``job`` at STORE until ``until`` (release control); runs to the next decision.

        The job must come from STORE and not have departed; it may be waiting there for room
        or not be released yet (the hold then starts at its release). It holds no buffer space.
        """
        if self._decision is None:
            raise RuntimeError("no decision pending: the simulation is done")
        self._to_python()
        self._hold_job(int(job), float(until), reason)
        self._decision = None
        return self._advance()

    def hold_jobs(self, jobs: list[int], until: float, reason: str = "") -> Decision | None:
        """:meth:`hold_job` for several jobs at once (one decision)."""
        if self._decision is None:
            raise RuntimeError("no decision pending: the simulation is done")
        self._to_python()
        for j in jobs:
            self._hold_job(int(j), float(until), reason)
        self._decision = None
        return self._advance()

    def hold_machine(
        self, until: float | None = None, job: int | None = None, reason: str = ""
    ) -> Decision | None:
        """The deciding machine idles on purpose, keeping its setup, until ``until`` (minutes;
        ``math.inf`` = for good) or until ``job`` departs toward its work center, whichever is
        first; then it is asked again. Runs to the next decision."""
        d = self._decision
        if d is None:
            raise RuntimeError("no decision pending: the simulation is done")
        self._to_python()
        m, t = d.machine, self.time
        u = math.inf if until is None else float(until)
        if job is None and until is None:
            raise ValueError("hold_machine needs an end: until, job, or until=math.inf")
        if not u > t + _EPS:
            raise ValueError(f"a machine hold must end after now (t={t:g}), not at {u:g}")
        jw = -1
        if job is not None:
            jw = int(job)
            w = self._machine_wc[m]
            if not (0 <= jw < self.n_jobs) or self.job_state[jw] == DONE:
                raise ValueError(f"job {job} is not a job that can still come to machine {m}")
            if jw in self._waiting[w]:
                raise ValueError(f"job {jw} is already a candidate of machine {m} at t={t:g}")
            later = range(int(self.job_op[jw]), self._job_end[jw])
            if not any(self._op_wc[o] == w and m in self._elig[o] for o in later):
                raise ValueError(f"job {jw} has no operation left that machine {m} can run")
            self._awaited.setdefault(jw, set()).add(m)
        rec = self._new_hold_rec(m, jw, reason)
        self._m_hold[m] = (u, jw, rec)
        if math.isfinite(u):
            self._push(u, _HOLD_END, m, 0)
        self._decision = None
        return self._advance()

    @property
    def next_event_time(self) -> float | None:
        """When the next event after now happens (None: nothing pending later)."""
        t = self.time + _EPS
        if self._fast:
            from furnsim.sim import _fastloop as fl

            ef = self._fx.ef[: self._fx.sc[fl.S_EVN]]
            later = ef[ef > t]
            return float(later.min()) if later.size else None
        return min((float(e[0]) for e in self._events if e[0] > t), default=None)

    @property
    def held_machines(self) -> list[int]:
        """Machines in a hold now."""
        return sorted(self._m_hold)

    def retime_store_holds(self, holds: dict[int, float]) -> bool:
        """Make ``holds`` ({job: until}) the run's STORE holds, as if placed at its reset, in
        a compiled run (``fast``) now at a decision where every job whose hold changes has
        not been released yet: its release event (at its release, or its old hold's end) is
        still pending, as is the new one. The run then goes on exactly as a run reset with
        ``holds`` (up to now nothing differs). False, and nothing changed, where that cannot
        be done (not compiled, a changed job already released, a hold not ending after
        now)."""
        from furnsim.sim import _fastloop as fl

        fx = self._fx
        if not self._fast or fx is None:
            return False
        old = self.store_holds
        changed = sorted(
            j for j in set(old) | set(holds) if old.get(j, math.nan) != holds.get(j, math.nan)
        )
        if not changed:
            return True
        n = int(fx.sc[fl.S_EVN])
        ef, ei = fx.ef[:n], fx.ei[:, :n]
        at: dict[int, int] = {}
        rel = np.flatnonzero(ei[0] == _RELEASE)
        for x in rel[np.isin(ei[2, rel], changed)].tolist():
            at[int(ei[2, x])] = x
        t = self.time + _EPS
        if len(at) != len(changed) or any(
            not ef[at[j]] > t or not holds.get(j, float(self._release[j])) > t for j in changed
        ):
            return False
        items = sorted((int(j), float(u)) for j, u in holds.items())
        recs = [self._store_hold_record(j, u, 0.0, "planned") for j, u in items]  # (checks)
        seq0 = self._release_seq()
        for j in changed:
            x = at[j]
            u = holds.get(j)
            if u is None:  # no hold now: its plain release event (the seq reset gave it)
                ef[x], ei[1, x] = self._release[j], seq0[j]
            else:
                ef[x], ei[1, x] = float(u), fl.HOLD_SEQ + j
        order = np.lexsort((ei[1], ei[0], ef))  # a sorted array is a heap (unique keys)
        ef[:] = ef[order]
        ei[:, :] = ei[:, order]
        self.store_holds = dict(items)
        self.holds = recs or None  # (as reset records them: in job order)
        return True

    def _release_seq(self) -> np.ndarray:
        """(n_jobs,) the sequence number of each job's plain release event (as reset pushes
        them: one per job made from STORE material, in job order)."""
        leaf = (np.asarray(self._job_end) > np.asarray(self._job_first)) & (
            np.asarray(self._n_children) == 0
        )
        return np.cumsum(leaf)

    @property
    def held_jobs(self) -> list[int]:
        """Jobs held at STORE now."""
        return sorted(self._job_hold)

    def store_queue(self, w: int) -> list[int]:
        """Jobs released and waiting at STORE for room in work center ``w``'s buffer."""
        if self._fast:
            from furnsim.sim import _fastloop as fl

            return _chain(self._fx.wi[fl.W_SHEAD, w], self._fx.ji[fl.J_SNEXT])
        return list(self._store_q[w])

    def _new_hold_rec(self, m: int, job: int, reason: str) -> dict[str, Any]:
        if self.holds is None:
            self.holds = []
        rec: dict[str, Any] = {
            "kind": "machine",
            "machine": self.ci.machine_ids[m],
            "from": float(self.time),
            "until": None,
            "job": self.ci.job_ids[job] if job >= 0 else None,
            "reason": str(reason),
        }
        self.holds.append(rec)
        return rec

    def _close_hold(self, rec: dict[str, Any]) -> None:
        """The hold ends now (a zero-length hold is no hold and is dropped)."""
        assert self.holds is not None
        if self.time > rec["from"] + _EPS:
            rec["until"] = float(self.time)
        else:
            self.holds.remove(rec)

    def _end_machine_hold(self, m: int) -> None:
        _, jw, rec = self._m_hold.pop(m)
        if jw >= 0:
            ms = self._awaited.get(jw)
            if ms is not None:
                ms.discard(m)
                if not ms:
                    del self._awaited[jw]
        self._close_hold(rec)
        self._ready.add(self._machine_wc[m])

    def _hold_job(self, j: int, until: float, reason: str) -> None:
        if not (0 <= j < self.n_jobs) or self.job_state[j] != AT_STORE:
            raise ValueError(f"job {j} is not at STORE at t={self.time:g}")
        if j in self._job_hold:
            raise ValueError(f"job {j} is already held at STORE")
        rec = self._store_hold_record(j, until, self.time, reason)
        w = self._op_wc[self._job_first[j]]
        if j in self._store_q[w]:
            self._store_q[w].remove(j)
            self._dirty.add(w)  # the jobs behind it may go now
        self._job_hold[j] = until
        if self.holds is None:
            self.holds = []
        self.holds.append(rec)
        heapq.heappush(self._events, (until, _RELEASE, _HOLD_SEQ + j, j, 0))

    def _store_hold_record(self, j: int, until: float, now: float, reason: str) -> dict[str, Any]:
        """The record of holding job ``j`` (at STORE) from ``now`` until ``until``;
        ``ValueError`` for an assembly or a hold that would not end after its release."""
        if not 0 <= j < self.n_jobs:
            raise ValueError(f"job {j} is not at STORE at t={now:g}")
        if self._n_children[j] > 0:
            raise ValueError(f"job {j} is an assembly: its kit releases it, not STORE")
        t0 = max(now, float(self._release[j]))
        if not until > t0 + _EPS:
            raise ValueError(f"a STORE hold of job {j} must end after {t0:g}, not at {until:g}")
        return {
            "kind": "store",
            "job": self.ci.job_ids[j],
            "from": t0,
            "until": float(until),
            "reason": str(reason),
        }

    # -- internals --------------------------------------------------------------------
    def _push(self, t: float, kind: int, a: int, b: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, kind, self._seq, a, b))

    def _set_level(self, w: int, dv: float) -> None:
        lv = self.wc_level[w] + dv
        if abs(lv) < _EPS:
            lv = 0.0
        self.wc_level[w] = lv
        if lv > self.wc_peak[w]:
            self.wc_peak[w] = lv

    def _room(self, w: int, vol: float) -> bool:
        return self.buffers == "soft" or self.wc_level[w] + vol <= self._cap[w] + _EPS

    def _depart(self, j: int, o: int, from_loc: int) -> None:
        """Job j leaves ``from_loc`` (0 = STORE, 1+w = work center w) toward op o's work center."""
        w = self._op_wc[o]
        t = self.time
        vol = self._op_vol[o]
        if vol > 0:
            self._set_level(w, vol)
        arrive = t + self._transport[from_loc][w + 1]
        self.rec["depart"][o] = t
        self.rec["arrive"][o] = arrive
        self.job_arrive[j] = arrive
        self.job_state[j] = WAITING
        self._waiting[w][j] = None
        self._ready.add(w)
        if self._awaited:
            self._job_came(j, w)

    def _job_came(self, j: int, w: int) -> None:
        """Machine holds waiting for job j at work center w end now."""
        for m in sorted(self._awaited.get(j, ())):
            if self._machine_wc[m] == w and m in self._m_hold:
                self._end_machine_hold(m)

    def _dest(self, j: int, o: int) -> int:
        """Work center job j goes to after op o (-1 = FINISHED); a child goes to its parent."""
        if o + 1 < self._job_end[j]:
            return self._op_wc[o + 1]
        p = self._parent[j]
        return self._op_wc[self._job_first[p]] if p >= 0 else -1

    def _to_kit(self, j: int, o: int, w_here: int) -> bool:
        """A finished child departs toward its parent's first buffer (False: no room)."""
        p = self._parent[j]
        fp = self._job_first[p]
        w = self._op_wc[fp]
        vol = self._kit_vol[j]
        if not self._room(w, vol):
            return False
        t = self.time
        if vol > 0:
            self._set_level(w, vol)
        arrive = t + self._transport[w_here + 1][w + 1]
        self.rec["leave"][o] = t
        self.finish_arrive[j] = arrive
        self.job_state[j] = DONE
        self.job_op[j] = o + 1
        self.n_done += 1
        if arrive > self.kit_arrive[p]:
            self.kit_arrive[p] = arrive
        self.kit_left[p] -= 1
        if self.kit_left[p] == 0:  # the kit is complete: the assembly is a candidate
            self.rec["depart"][fp] = t
            self.rec["arrive"][fp] = self.kit_arrive[p]
            self.job_arrive[p] = self.kit_arrive[p]
            self.job_state[p] = WAITING
            self._waiting[w][p] = None
            self._ready.add(w)
            if self._awaited:
                self._job_came(p, w)
        return True

    def _try_leave_machine(self, m: int, j: int) -> bool:
        """After processing (or while blocked): move the job on to its next work center."""
        o = int(self.job_op[j])  # the op just finished
        t = self.time
        w_here = self._machine_wc[m]
        nxt = o + 1
        if nxt >= self._job_end[j] and self._parent[j] >= 0:
            if not self._to_kit(j, o, w_here):
                return False
        elif nxt >= self._job_end[j]:
            self.rec["leave"][o] = t
            self.finish_arrive[j] = t + self._transport[w_here + 1][self.n_wc + 1]
            self.job_state[j] = DONE
            self.job_op[j] = nxt
            self.n_done += 1
        else:
            w = self._op_wc[nxt]
            if not self._room(w, self._op_vol[nxt]):
                return False
            self.rec["leave"][o] = t
            self.job_op[j] = nxt
            self._depart(j, nxt, w_here + 1)
        self.machine_state[m] = IDLE
        self.machine_job[m] = -1
        self._idle[w_here].add(m)
        self._ready.add(w_here)
        return True

    def _process_events_at(self, t: float) -> None:
        ev = self._events
        while ev and ev[0][0] <= t:
            _, kind, _, a, b = heapq.heappop(ev)
            if kind == _START:
                j, o = a, b
                self.job_state[j] = PROCESSING
                vol = self._op_vol[o]
                if self._has_kits and o == self._job_first[j]:
                    vol += self._kit_total[j]  # the assembly consumes its kit
                if vol > 0:
                    w = self._op_wc[o]
                    self._set_level(w, -vol)
                    self._dirty.add(w)
            elif kind == _END:
                j, m = a, b
                o = int(self.job_op[j])
                self.machine_busy_time[m] += float(self._proc[o, m])
                if not self._try_leave_machine(m, j):
                    self.machine_state[m] = MBLOCKED
                    self.job_state[j] = BLOCKED
                    self._blocked_q[self._dest(j, o)].append(m)
            elif kind == _WAKE:
                m = a
                self._wake_at.pop(m, None)
                self._ready.add(self._machine_wc[m])
            elif kind == _HOLD_END:
                m = a
                h = self._m_hold.get(m)
                if h is not None and h[0] <= t + _EPS:
                    self._end_machine_hold(m)
            else:  # release
                j = a
                if self._job_hold:
                    held = self._job_hold.get(j)
                    if held is not None and held > t + _EPS:
                        continue  # held at STORE: released again when the hold ends
                    self._job_hold.pop(j, None)
                o = self._job_first[j]
                w = self._op_wc[o]
                if self._store_q[w] or not self._room(w, self._op_vol[o]):
                    self._store_q[w].append(j)
                else:
                    self._depart(j, o, 0)
        self._waited.clear()
        if self._wait_rec:
            for rec in self._wait_rec.values():
                self._close_hold(rec)
            self._wait_rec.clear()

    def _retry_departures(self) -> None:
        while self._dirty:
            w = min(self._dirty)
            self._dirty.discard(w)
            bq = self._blocked_q[w]
            while bq:
                m = bq[0]
                j = int(self.machine_job[m])
                if not self._try_leave_machine(m, j):
                    break
                bq.pop(0)
            if bq:
                continue  # a blocked machine is first in line for the space
            sq = self._store_q[w]
            while sq:
                j = sq[0]
                o = self._job_first[j]
                if not self._room(w, self._op_vol[o]):
                    break
                sq.pop(0)
                self._depart(j, o, 0)

    def _candidates(self, m: int, w: int) -> list[int]:
        if self._cons is not None:
            return self._cons.candidates(self, m, w)
        waiting = self._waiting[w]
        if self._wc_uniform[w]:
            return list(waiting)
        job_op = self.job_op
        elig = self._elig
        return [j for j in waiting if m in elig[job_op[j]]]

    def _find_decision(self, exclude: set[int] | None = None) -> Decision | None:
        found = self._find(exclude)
        if found is None:
            return None
        c = np.array(found[1], dtype=np.int64)
        return Decision(self.time, found[0], c, self.job_op[c])

    def _find(self, exclude: set[int] | None = None) -> tuple[int, list[int]] | None:
        """The next deciding machine and its candidates (lowest work center, then machine)."""
        exclude = self._waited if exclude is None else exclude
        ready = self._ready
        for w in sorted(ready) if len(ready) > 1 else list(ready):
            if not self._waiting[w] or not self._idle[w]:
                ready.discard(w)
                continue
            idle = self._idle[w]
            for m in sorted(idle) if len(idle) > 1 else idle:
                if m in exclude or m in self._m_hold:
                    continue
                mt = self._mt[m]
                if mt is not None and not mt.working_at(self.time):
                    self._wake(m, mt)
                    continue
                cands = self._candidates(m, w)
                if cands:
                    return m, cands
        return None

    def _wake(self, m: int, mt: Any) -> None:
        """An idle machine in closed time decides when its next working window opens."""
        t = mt.next_start(self.time)
        if self._wake_at.get(m) != t:
            self._wake_at[m] = t
            self._push(t, _WAKE, m, 0)

    def _advance(self, skip_single: bool = False, until: int | None = None) -> Decision | None:
        while True:
            if self._events and self._events[0][0] <= self.time:
                self._process_events_at(self.time)
            if self._dirty:
                self._retry_departures()
            if self._events and self._events[0][0] <= self.time:
                continue
            found = self._find()
            if found is not None:
                m, cands = found
                if (
                    skip_single
                    and len(cands) == 1
                    and (until is None or len(self.dispatch_log) < until)
                ):  # the only choice: take it, go on
                    j = cands[0]
                    self._commit(j, int(self.job_op[j]), m)
                    continue
                c = np.array(cands, dtype=np.int64)
                d = Decision(self.time, m, c, self.job_op[c])
                self._decision = d
                return d
            if not self._events and self._m_hold:
                # nothing else can happen: machine holds end (never stall or hang)
                for m in sorted(self._m_hold):
                    self._end_machine_hold(m)
                continue
            if not self._events:
                if self.n_done < self.n_jobs:
                    self.deadlock = self._diagnose()
                self._decision = None
                return None
            self.time = self._events[0][0]

    def _diagnose(self) -> Deadlock:
        ids = self.ci
        blocked = []
        wants: dict[int, int] = {}
        for m in range(self.n_machines):
            if self.machine_state[m] == MBLOCKED:
                j = int(self.machine_job[m])
                w = self._dest(j, int(self.job_op[j]))
                wants[m] = w
                blocked.append(
                    {
                        "machine": ids.machine_ids[m],
                        "job": ids.job_ids[j],
                        "waits_for": ids.wc_ids[w],
                        "buffer_level": float(self.wc_level[w]),
                        "capacity": float(self._cap[w]),
                    }
                )
        # follow machine -> wanted work center -> a blocked machine there, until a repeat
        cycle: list[dict[str, Any]] = []
        if wants and not self._has_kits:
            start = min(wants)
            seen: list[int] = []
            cur: int | None = start
            while cur is not None and cur not in seen:
                seen.append(cur)
                cur = next((x for x in self._wc_machines[wants[cur]] if x in wants), None)
            if cur is not None:
                loop = seen[seen.index(cur) :]
                by_m = {ids.machine_ids[x]: x for x in loop}
                cycle = [b for b in blocked if b["machine"] in by_m]
                cycle.sort(key=lambda b: loop.index(by_m[b["machine"]]))
            return Deadlock(self.time, cycle, blocked)
        from furnsim.sim.kits import diagnose_kits

        cycle, kits = diagnose_kits(self, wants, blocked)
        return Deadlock(self.time, cycle, blocked, kits)

    # -- output -----------------------------------------------------------------------
    def schedule(self, method: str = "") -> Schedule:
        segs, ssegs = self._segments() if self._calendared else (None, None)
        return Schedule.from_compiled(
            self.ci,
            instance_name=self.name,
            op_machine=self.rec_machine,
            op_setup_from=self.rec_setup_from,
            times=self.rec,
            finish_arrive=self.finish_arrive,
            buffers=self.buffers,
            anticipatory_setups=self.anticipatory_setups,
            method=method,
            meta={"deadlock": self.deadlock.message} if self.deadlock else {},
            segments=segs,
            setup_segments=ssegs,
            holds=self._hold_records(),
        )

    def _hold_records(self) -> list[dict[str, Any]] | None:
        """The holds so far; a hold still open ends now (a partial schedule)."""
        if self.holds is None:
            return None
        out = []
        for h in self.holds:
            h = dict(h)
            if h["until"] is None:
                if not self.time > h["from"] + _EPS:
                    continue
                h["until"] = float(self.time)
            out.append(h)
        return out

    def _segments(self) -> tuple[list[list[list[float]]], list[list[list[float]]]]:
        """Per op the processing and setup intervals in working time (docs/semantics.md)."""
        rec = self.rec
        segs: list[list[list[float]]] = []
        ssegs: list[list[list[float]]] = []
        for o in range(self.n_ops):
            m = int(self.rec_machine[o])
            a, b = float(rec["start"][o]), float(rec["end"][o])
            sa, sb = float(rec["setup_start"][o]), float(rec["setup_end"][o])
            mt = self._mt[m] if m >= 0 else None
            if m < 0:
                segs.append([])
                ssegs.append([])
            elif mt is None:
                segs.append([[a, b]])
                ssegs.append([[sa, sb]] if sb > sa else [])
            else:
                segs.append(mt.segments(a, b))
                ssegs.append(mt.segments(sa, sb) if sb > sa else [])
        return segs, ssegs

    # -- convenient views for policies ---------------------------------------------------
    def queue_work(self, w: int) -> float:
        """Work (mean minutes) waiting for work center ``w``: the WINQ of a job headed there."""
        jo = self.job_op
        mp = self.op_mean_proc
        return float(sum(mp[jo[j]] for j in self.waiting_jobs(w)))

    def until(self, m: int, when: np.ndarray) -> np.ndarray:
        """Minutes from now until each of ``when`` (inf stays inf): elapsed on a 24/7 machine,
        working minutes of machine ``m`` with working time (negative elapsed when past)."""
        left = when - self.time
        mt = self._mt[m]
        if mt is None:
            return left
        ok = np.isfinite(when) & (left > 0)
        if ok.any():
            left = left.copy()
            idx = np.flatnonzero(ok)
            if idx.size > 64:
                left[ok] = mt.worked(self.time, when[ok])
            else:  # a few candidates: the same arithmetic per float (bisect, no numpy calls)
                w1 = mt.worked_before
                w0 = w1(self.time)
                for i in idx.tolist():
                    left[i] = w1(float(when[i])) - w0
        return left

    def waiting_jobs(self, w: int) -> list[int]:
        if self._fast:
            return self._fast_waiting(w)
        return list(self._waiting[w])


_ENGINE_STATIC: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _engine_static(ci: CompiledInstance) -> dict[str, Any]:
    """The simulator's per-instance attributes (``Simulator._set_instance``; shared by every
    simulator of the compiled instance, never changed)."""
    self = SimpleNamespace()  # (the attributes, as Simulator reads them)
    n_ops, n_m, n_w = ci.n_ops, ci.n_machines, ci.n_wc
    self.n_jobs, self.n_ops, self.n_machines, self.n_wc = ci.n_jobs, n_ops, n_m, n_w
    proc = ci.op_proc
    elig = ~np.isnan(proc)
    cnt = np.maximum(elig.sum(axis=1), 1)
    self.op_mean_proc = np.where(elig, proc, 0.0).sum(axis=1) / cnt  # (n_ops,)
    self.op_min_proc = np.where(elig, proc, np.inf).min(axis=1) if n_ops else np.zeros(0)
    # remaining work/ops from each op to the end of its job (inclusive)
    # (per job the sums from its last op backwards, one float addition at a time: what
    # np.cumsum of the reversed job gives, without a numpy call per job)
    starts = ci.job_op_start
    sl = starts.tolist()
    mp = self.op_mean_proc.tolist()
    rem_l = [0.0] * n_ops
    for j in range(ci.n_jobs):
        acc = 0.0
        for o in range(sl[j + 1] - 1, sl[j] - 1, -1):
            acc += mp[o]
            rem_l[o] = acc
    rem = np.array(rem_l, dtype=np.float64)
    end_of = np.repeat(starts[1:], np.diff(starts))  # (n_ops,) one past the job's last op
    rem_ops = (end_of - np.arange(n_ops)).astype(np.int64)
    self.op_rem_work = rem  # (n_ops,)
    self.op_rem_ops = rem_ops  # (n_ops,)
    has = starts[1:] > starts[:-1]
    self.job_total_work = (
        np.where(has, rem[np.minimum(starts[:-1], n_ops - 1)], 0.0)
        if n_ops
        else np.zeros(ci.n_jobs)
    )  # (n_jobs,)
    # python-level lookups for the hot loop
    self._op_wc = ci.op_wc.tolist()
    self._op_setup = ci.op_setup.tolist()
    self._op_vol = ci.op_volume.tolist()
    self._op_job = ci.op_job.tolist()
    self._job_first = starts[:-1].tolist()
    self._job_end = starts[1:].tolist()
    self._machine_wc = ci.machine_wc.tolist()
    self._cap = ci.wc_capacity.tolist()
    self._transport = ci.transport.tolist()
    em, es = ci.op_elig_machine.tolist(), ci.op_elig_start.tolist()
    self._elig = [set(em[es[o] : es[o + 1]]) for o in range(n_ops)]
    self._proc = proc  # numpy (n_ops, n_m)
    self._setup = ci.setup_time
    self._wc_machines = [[] for _ in range(n_w)]
    for m, w in enumerate(self._machine_wc):
        self._wc_machines[w].append(m)
    # does each work center have machines with different eligibility? (FJSP-style subsets)
    self._wc_uniform = [True] * n_w
    n_wm = [len(ms) for ms in self._wc_machines]
    for o, w in enumerate(self._op_wc):
        if len(self._elig[o]) != n_wm[w]:
            self._wc_uniform[w] = False
    self._release = ci.job_release.tolist()
    # assembly: where a finished child goes, and how much room its kit takes there
    self._parent = ci.job_parent.tolist()
    self._kit_vol = ci.job_kit_volume.tolist()
    self._n_children = ci.job_n_children.tolist()
    self._has_kits = bool(ci.has_assembly)
    kit_total = [0.0] * ci.n_jobs
    for j, p in enumerate(self._parent):
        if p >= 0:
            kit_total[p] += self._kit_vol[j]
    self._kit_total = kit_total  # per assembly job: the volume its kit frees at its start
    self._children = [[] for _ in range(ci.n_jobs)]
    for j, p in enumerate(self._parent):
        if p >= 0:
            self._children[p].append(j)
    # work after a child's own route: its parent's, grandparent's, ... up to the root; the
    # remaining work (LWKR, slack) of a child runs to the end of its order's root
    path = np.zeros(ci.n_jobs)
    if self._has_kits:
        from furnsim.sim.kits import path_ops, path_work

        path = path_work(self._parent, self.job_total_work)
        job_of = ci.op_job
        self.op_rem_work = self.op_rem_work + path[job_of]
        self.op_rem_ops = self.op_rem_ops + path_ops(self._parent, starts)[job_of]
    self.job_path_work = path  # (n_jobs,) work of the job's ancestors
    # working time (docs/semantics.md): per machine None = 24/7 (the fast path)
    wt = ci.working
    self._mt = list(wt.machines) if wt is not None else [None] * n_m
    self._nonint = [not x for x in wt.machine_interruptible] if wt else [False] * n_m
    self._calendared = wt is not None and any(x is not None for x in self._mt)
    return vars(self)


def _chain(head: int, nxt: np.ndarray) -> list[int]:
    """The items of a linked list of the compiled loop from ``head`` (-1 = end)."""
    out = []
    i = int(head)
    while i >= 0:
        out.append(i)
        i = int(nxt[i])
    return out


class _Fast:
    """The compiled loop's run state of one simulator (packed arrays, their views) and the
    argument tuple of its calls."""

    def __init__(
        self, DI: np.ndarray, DF: np.ndarray, ef: np.ndarray, ei: np.ndarray, fs: Any
    ) -> None:
        self.DI, self.DF, self.ef, self.ei, self.fs = DI, DF, ef, ei, fs
        self.cal: Any = None
        self.args: tuple[Any, ...] = ()
        self.sc = self.ji = self.mi = self.mf = self.wi = self.tm = DI
        self.cand = self.cand_ops = self.log_i = DI
        self.log_f = DF

    def pack(self) -> None:
        fs, cal = self.fs, self.cal
        self.args = (
            self.DI, self.DF, self.ef, self.ei, fs.SI, fs.SF, fs.transport, fs.proc, fs.setup,
            fs.elig, cal.CF, cal.CI,
        )  # fmt: skip

    def grow(self) -> None:
        """Twice the room for pending events (the heap keeps its order)."""
        n = self.ef.shape[0]
        ef = np.zeros(2 * n)
        ei = np.zeros((4, 2 * n), dtype=np.int64)
        ef[:n] = self.ef
        ei[:, :n] = self.ei
        self.ef, self.ei = ef, ei
        self.pack()


_FAST_STATIC: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_NO_CAL: dict[int, Any] = {}
_NO_PRIO = np.zeros((0, 0))
_NO_HOLD = np.zeros(0)
_NO_RF = np.zeros(0)
_NO_NOISE = (np.zeros(0), np.zeros(1, dtype=np.int64), 0.0, 0.0, -1)


class Noise:
    """Random decisions among a priority's or a rule's (the lns ``window`` and ``group``
    moves), drawn from a fixed array of uniforms so that the compiled loop and Python draw
    the same: at a decision of more than one candidate before time ``end``, at a machine of
    work center ``wc`` (-1: any), ``u`` = the next uniform; if ``u < p`` the candidate
    ``int(v * k)`` (``v`` the next uniform, ``k`` candidates) is taken instead; once fewer
    than two uniforms are left there is no more noise."""

    def __init__(self, u: np.ndarray, p: float, end: float, wc: int = -1) -> None:
        self.u = np.ascontiguousarray(u, dtype=np.float64)
        self.pos = np.zeros(1, dtype=np.int64)
        self.p, self.end, self.wc = float(p), float(end), int(wc)

    def args(self) -> tuple[np.ndarray, np.ndarray, float, float, int]:
        return self.u, self.pos, self.p, self.end, self.wc

    def pick(self, sim: Simulator, d: Decision) -> int:
        """The candidate index the noise takes at ``d`` (consuming its draws), -1: none."""
        k = int(d.candidates.size)
        if k < 2 or not d.time < self.end:
            return -1
        if self.wc >= 0 and int(sim._machine_wc[d.machine]) != self.wc:
            return -1
        q = int(self.pos[0])
        if q + 2 > self.u.size:
            return -1
        self.pos[0] = q + 1
        if self.u[q] < self.p:
            self.pos[0] = q + 2
            return min(int(self.u[q + 1] * k), k - 1)
        return -1


def _fast_static(sim: Simulator) -> Any:
    """The compiled loop's per-instance arrays (built once per compiled instance)."""
    from furnsim.sim._fastloop import FastStatic

    fs = _FAST_STATIC.get(sim.ci)
    if fs is None:
        fs = FastStatic(sim)
        _FAST_STATIC[sim.ci] = fs
    return fs


_RULE_TABLES: weakref.WeakKeyDictionary[Any, tuple[np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _rule_tables(sim: Simulator) -> tuple[np.ndarray, np.ndarray]:
    """The rules' arrays for ``run_rule`` (``_fastloop.rule_tables``; once per instance)."""
    rt = _RULE_TABLES.get(sim.ci)
    if rt is None:
        from furnsim.sim._fastloop import rule_tables

        rt = _RULE_TABLES[sim.ci] = rule_tables(sim.state.static, sim.job_path_work)
    return rt


def _calendar_tables(sim: Simulator) -> Any:
    """The machines' working-time tables for the compiled loop (shared per working time,
    rebuilt when a table grew)."""
    from furnsim.sim._fastloop import CalendarTables

    wt = sim.ci.working
    if wt is None:  # 24/7: tables the loop never reads
        cal = _NO_CAL.get(sim.n_machines)
        if cal is None:
            cal = _NO_CAL[sim.n_machines] = CalendarTables([None] * sim.n_machines)
        return cal
    cal = getattr(wt, "_fast_tables", None)  # (WorkingTime compares by value: no weak key)
    if cal is None or not cal.current(sim._mt):
        cal = CalendarTables(sim._mt)
        wt._fast_tables = cal
    return cal


def _copy_state(v: Any) -> Any:
    """An independent copy of one run-state value (arrays, containers of plain values)."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, list):
        if not v or isinstance(v[0], tuple | int | float):
            return list(v)
        return [_copy_state(x) for x in v]
    if isinstance(v, dict):
        if not v or not isinstance(next(iter(v.values())), np.ndarray | list | dict | set):
            return dict(v)
        return {k: _copy_state(x) for k, x in v.items()}
    if isinstance(v, set):
        return set(v)
    if v is None or isinstance(v, int | float | str | tuple | np.generic | Decision | Deadlock):
        return v  # immutable
    raise TypeError(f"snapshot: cannot copy run state of type {type(v).__name__}")
