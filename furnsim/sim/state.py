"""Typed simulator state: the one seam through which observations, rewards, rules and KPIs read.

Two bundles of numpy arrays, each field with its shape:

* :class:`StaticArrays` — per-instance constants (jobs, operations, machines, work centers,
  buffers), built once per :class:`~furnsim.model.CompiledInstance` and shared by every
  simulator, rule and observation of that instance (:func:`static_arrays`; a weak cache, so
  it goes with the instance). It merges what the rules' and the observations' static caches
  used to compute separately.
* :class:`SimState` — the live state of one running :class:`~furnsim.sim.Simulator`: views
  of the engine's own arrays (no copies; the engine mutates them in place, so a bundle stays
  current until the next ``reset``), plus the clock. The engine fills it at every reset
  (``sim.state``). Readers treat it as read-only; only the engine writes.

Readers take ``sim.state`` (or ``SimState``'s ``static``) instead of reaching into the
simulator's attributes, so the engine may change its internals behind this seam.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from furnsim.model import CompiledInstance
    from furnsim.sim.engine import Simulator

__all__ = ["SimState", "StaticArrays", "static_arrays"]


@dataclass(frozen=True, eq=False)
class StaticArrays:
    """Per-instance constants (read-only). ``L`` = longest route − 1 (at least 1)."""

    n_jobs: int
    n_ops: int
    n_machines: int
    n_wc: int
    has_assembly: bool
    P: float  # mean of op_mean_proc (1 if none): the time scale of the observations
    # -- operations
    op_job: np.ndarray  # (n_ops,) int64 job of the op
    op_wc: np.ndarray  # (n_ops,) int64 work center
    op_setup: np.ndarray  # (n_ops,) int64 setup index
    op_volume: np.ndarray  # (n_ops,) float64 volume held in the op's buffer
    op_proc: np.ndarray  # (n_ops, n_machines) float64 processing minutes, NaN = not eligible
    op_mean_proc: np.ndarray  # (n_ops,) float64 mean over eligible machines
    op_rem_work: np.ndarray  # (n_ops,) float64 mean work from the op to its order's end (LWKR)
    op_rem_ops: np.ndarray  # (n_ops,) int64 operations from the op to its order's end
    op_is_last: np.ndarray  # (n_ops,) bool last op of its job
    op_next_wc: (
        np.ndarray
    )  # (n_ops,) int64 next op's work center (a child: its kit's); n_wc if last
    op_next_vol: np.ndarray  # (n_ops,) float64 volume at the next op (kit volume); 0 if last
    op_npt: np.ndarray  # (n_ops,) float64 mean processing time of the next op; 0 if last
    op_work: np.ndarray  # (n_ops,) float64 op_mean_proc / machines of its work center
    route: np.ndarray  # (n_ops, L) int64 work centers of the job's later ops, padded with n_wc
    # -- jobs
    job_first: np.ndarray  # (n_jobs,) int64 first op (job_op_start[:-1])
    job_last: np.ndarray  # (n_jobs,) int64 last op (first - 1 for a job without ops)
    job_deadline: np.ndarray  # (n_jobs,) float64 (inf = none)
    job_priority: np.ndarray  # (n_jobs,) float64
    job_release: np.ndarray  # (n_jobs,) float64
    job_parent: np.ndarray  # (n_jobs,) int64 assembly parent, -1 = none
    job_log_priority: np.ndarray  # (n_jobs,) float64 np.log(job_priority) (ATCS)
    deadline_max: float  # the latest finite deadline (-inf if none)
    op_log_proc: np.ndarray  # (n_ops, n_machines) float64 np.log(max(op_proc, 1e-9)) (ATCS)
    # -- machines
    machine_wc: np.ndarray  # (n_machines,) int64
    setup_time: np.ndarray  # (n_machines, n_setups, n_setups) float64
    # -- work centers / buffers
    wc_capacity: np.ndarray  # (n_wc,) float64 (inf = unbounded)
    cap_ext: np.ndarray  # (n_wc + 1,) float64 capacities, inf for "finished"
    bounded: np.ndarray  # (n_wc,) bool finite positive capacity
    cap: np.ndarray  # (n_wc,) float64 capacity, 1 where unbounded (a safe divisor)
    wc_n_machines: np.ndarray  # (n_wc,) float64 machines per work center


_STATIC: weakref.WeakKeyDictionary[Any, StaticArrays] = weakref.WeakKeyDictionary()


def static_arrays(sim: Simulator) -> StaticArrays:
    """The instance constants of ``sim`` (built on first use per compiled instance)."""
    ci = sim.ci
    st = _STATIC.get(ci)
    if st is None:
        st = _build(ci, sim)
        _STATIC[ci] = st
    return st


def _build(ci: CompiledInstance, sim: Simulator) -> StaticArrays:
    n_ops, n_wc = int(ci.n_ops), int(ci.n_wc)
    s = ci.job_op_start
    last = np.zeros(n_ops, dtype=bool)
    ends = s[1:][s[1:] > s[:-1]]
    last[ends - 1] = True
    mp = sim.op_mean_proc
    nxt = np.minimum(np.arange(n_ops) + 1, max(n_ops - 1, 0))
    op_next_wc = np.where(last, n_wc, ci.op_wc[nxt]) if n_ops else np.zeros(0, dtype=np.int64)
    op_next_vol = np.where(last, 0.0, ci.op_volume[nxt]) if n_ops else np.zeros(0)
    op_npt = np.where(last, 0.0, mp[nxt]) if n_ops else np.zeros(0)
    if ci.has_assembly:  # a child's last op goes on to its parent's first op (the kit)
        kids = np.flatnonzero(ci.job_parent >= 0)
        lo = s[kids + 1] - 1
        fp = s[ci.job_parent[kids]]
        op_next_wc[lo] = ci.op_wc[fp]
        op_next_vol[lo] = ci.job_kit_volume[kids]
        op_npt[lo] = mp[fp]
    cap = ci.wc_capacity.astype(float)
    bounded = np.isfinite(cap) & (cap > 0)
    wc_n = np.bincount(ci.machine_wc, minlength=n_wc).astype(float)
    # work center of every later op of the job after op o, padded with n_wc (load 0)
    lens = np.diff(s)
    L = max(int(lens.max()) - 1, 1) if lens.size else 1
    route = np.full((n_ops, L), n_wc, dtype=np.int64)
    if n_ops:
        end = np.repeat(s[1:], lens)  # (n_ops,) one past the job's last op
        for i in range(L):
            o = np.arange(n_ops) + 1 + i
            ok = o < end
            route[ok, i] = ci.op_wc[o[ok]]
    p = float(mp.mean()) if mp.size else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):  # as the rules' ATCS keys
        logw = np.log(ci.job_priority)
        logp = np.log(np.maximum(ci.op_proc, 1e-9))
    fin_dl = ci.job_deadline[np.isfinite(ci.job_deadline)]
    return StaticArrays(
        n_jobs=int(ci.n_jobs),
        n_ops=n_ops,
        n_machines=int(ci.n_machines),
        n_wc=n_wc,
        has_assembly=bool(ci.has_assembly),
        P=p if p > 0 else 1.0,
        op_job=ci.op_job,
        op_wc=ci.op_wc,
        op_setup=ci.op_setup,
        op_volume=ci.op_volume,
        op_proc=ci.op_proc,
        op_mean_proc=mp,
        op_rem_work=sim.op_rem_work,
        op_rem_ops=sim.op_rem_ops,
        op_is_last=last,
        op_next_wc=op_next_wc.astype(np.int64),
        op_next_vol=op_next_vol,
        op_npt=op_npt,
        op_work=mp / np.maximum(wc_n[ci.op_wc], 1.0),
        route=route,
        job_first=s[:-1],
        job_last=s[1:] - 1,
        job_deadline=ci.job_deadline,
        job_priority=ci.job_priority,
        job_release=ci.job_release,
        job_log_priority=logw,
        deadline_max=float(fin_dl.max()) if fin_dl.size else -math.inf,
        op_log_proc=logp,
        job_parent=ci.job_parent,
        machine_wc=ci.machine_wc,
        setup_time=ci.setup_time,
        wc_capacity=ci.wc_capacity,
        cap_ext=np.r_[ci.wc_capacity, np.inf],
        bounded=bounded,
        cap=np.where(bounded, cap, 1.0),
        wc_n_machines=wc_n,
    )


class SimState:
    """The live state of a running simulator: views of its arrays (filled at every reset).

    Scalars (``time``, ``steps``, ``n_done``) are read through to the simulator, the arrays
    are the engine's own (mutated in place between resets).
    """

    __slots__ = (
        "_sim",
        "buffers",
        "dispatch_log",
        "finish_arrive",
        "job_arrive",
        "job_op",
        "job_state",
        "kit_arrive",
        "kit_left",
        "machine_busy_time",
        "machine_free_at",
        "machine_job",
        "machine_setup",
        "machine_state",
        "rec",
        "rec_machine",
        "rec_setup_from",
        "static",
        "wc_level",
        "wc_peak",
    )

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self.static: StaticArrays = static_arrays(sim)
        self.buffers: str = sim.buffers  # "hard" | "soft"
        # jobs
        self.job_state: np.ndarray = sim.job_state  # (n_jobs,) int64 AT_STORE..DONE
        self.job_op: np.ndarray = sim.job_op  # (n_jobs,) int64 next op (global index)
        self.job_arrive: np.ndarray = sim.job_arrive  # (n_jobs,) float64 arrival at its buffer
        self.finish_arrive: np.ndarray = sim.finish_arrive  # (n_jobs,) float64 at FINISHED/kit
        self.kit_left: np.ndarray = sim.kit_left  # (n_jobs,) int64 children not departed
        self.kit_arrive: np.ndarray = sim.kit_arrive  # (n_jobs,) float64 latest kit arrival
        # machines
        self.machine_state: np.ndarray = sim.machine_state  # (n_machines,) IDLE/BUSY/MBLOCKED
        self.machine_setup: np.ndarray = sim.machine_setup  # (n_machines,) int64 setup index
        self.machine_job: np.ndarray = sim.machine_job  # (n_machines,) int64 job or -1
        self.machine_free_at: np.ndarray = sim.machine_free_at  # (n_machines,) end of its op
        self.machine_busy_time: np.ndarray = sim.machine_busy_time  # (n_machines,) minutes
        # work centers / buffers
        self.wc_level: np.ndarray = sim.wc_level  # (n_wc,) float64 reserved buffer volume
        self.wc_peak: np.ndarray = sim.wc_peak  # (n_wc,) float64 highest level so far
        # operations (the records of the schedule so far; NaN / -1 = not yet)
        self.rec: dict[str, np.ndarray] = sim.rec  # field -> (n_ops,) float64 times
        self.rec_machine: np.ndarray = sim.rec_machine  # (n_ops,) int64 machine or -1
        self.rec_setup_from: np.ndarray = sim.rec_setup_from  # (n_ops,) int64 setup changed from
        # decisions taken: (time, machine, job) per dispatch, in order (appended by the engine)
        self.dispatch_log: list[tuple[float, int, int]] = sim.dispatch_log

    @property
    def time(self) -> float:
        return self._sim.time

    @property
    def steps(self) -> int:
        return self._sim.steps

    @property
    def n_done(self) -> int:
        return self._sim.n_done

    @property
    def ci(self) -> Any:
        return self._sim.ci

    def until(self, m: int, when: np.ndarray) -> np.ndarray:
        """Minutes from now until ``when`` on machine ``m`` (working minutes under calendars)."""
        return self._sim.until(m, when)

    def waiting_jobs(self, w: int) -> list[int]:
        """Jobs in (or on the way to) work center ``w``'s buffer, not yet assigned."""
        return self._sim.waiting_jobs(w)

    def machine_time(self, m: int) -> Any:
        """Machine ``m``'s working time (``furnsim.calendar.MachineTime``), None = 24/7."""
        return self._sim._mt[m]

    @property
    def compiled(self) -> Any:
        """The compiled event loop's packed run state (``furnsim.sim._fastloop``: dispatch
        log arrays ``log_i``, working-time tables ``cal``, ...) while it runs this simulator,
        else None (the Python methods run it). For compiled readers; read-only."""
        sim = self._sim
        return sim._fx if sim._fast else None

    def waiting_view(self, w: int) -> Iterable[int]:
        """:meth:`waiting_jobs` without the copy: the engine's live collection, in the same
        (arrival) order. Read it before the next simulator call; never change it."""
        sim = self._sim
        if sim._fast:
            return sim._fast_waiting(w)
        return sim._waiting[w].keys()

    def winq(self, ws: list[int]) -> np.ndarray:
        """(n_wc,) work queued per machine at each work center of ``ws`` (others 0): the
        waiting jobs' mean processing time (``Simulator.queue_work``'s sum, in the same
        arrival order, so bit-identical) / the work center's machines (at least 1)."""
        st = self.static
        out = np.zeros(st.n_wc)
        sim = self._sim
        if sim._fast:
            from furnsim.sim._fastloop import winq

            fx = sim._fx
            winq(out, np.array(ws, dtype=np.int64), st.wc_n_machines, st.op_mean_proc, fx.ji, fx.wi)
            return out
        jo = self.job_op
        mp = st.op_mean_proc
        for w in set(ws):
            s = 0.0  # (sum() of the floats from 0, left to right: the same additions)
            for j in sim._waiting[w]:
                s += float(mp[jo[j]])
            out[w] = s / max(st.wc_n_machines[w], 1.0)
        return out
