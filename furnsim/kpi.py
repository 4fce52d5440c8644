"""Key performance indicators of a schedule — the numbers every goal is priced on.

``kpis(schedule, instance)`` returns a flat ``dict[str, float]``; ``machine_kpis`` gives the
per-machine breakdown. Everything is computed with numpy over the operation arrays (a
3,000-operation schedule takes about a millisecond).

Definitions (times in minutes after plan start):

* ``makespan`` — end of the last operation (completion = end of the last operation; the
  transport to ``FINISHED`` does not count).
* Orders complete when their last component job completes. ``tardiness`` of an order =
  ``max(0, completion - deadline)``; an order without a deadline (``inf``) is never late.
  ``total_tardiness`` (order·minutes), ``max_tardiness``, ``weighted_tardiness`` (Σ
  priority · tardiness), ``late_orders`` (count with tardiness > 0, plus every order that
  did not finish — a deadlocked plan — deadline or not), ``on_time_rate`` (share of orders
  not late). An unfinished order with a deadline has infinite tardiness.
* ``mean_flow_time`` — mean over jobs of ``completion - release``.
* ``total_setup_time`` — Σ ``setup_end - setup_start``; ``setup_count`` — setups that take
  time (zero-time "virtual" setups are not counted).
* ``processing_time`` — Σ ``end - start``; ``utilization`` per machine = its processing time
  / makespan; ``utilization_mean`` over machines.
* ``blocked_time`` — Σ ``leave - end``: a finished job waits on its machine for room.
* ``idle_time`` — ``makespan × machines − processing − setup − blocked`` (machine·minutes).
* Buffers: a job holds ``volume`` in its operation's work-center buffer from ``depart`` to
  ``start``. ``buffer_volume_minutes`` = Σ_w ∫ level_w dt (all work centers, raw units);
  ``buffer_load`` = Σ_w ∫ level_w / cap_w dt over bounded work centers only (minutes of a
  full buffer); ``peak_buffer_fill`` = max_w peak_w / cap_w (bounded work centers);
  ``overflow_peak`` = max_w max(0, peak_w − cap_w) (raw units); ``overflow_volume_minutes``
  = Σ_w ∫ max(0, level_w − cap_w) dt; ``overflow_load`` = the same divided by cap_w. The
  overflow numbers are non-zero only with soft buffers. At equal times, volume released by a
  processing start is counted before volume reserved by a departure (as
  :meth:`Schedule.buffer_events`).
* Assembly (docs/semantics.md): a child waiting for its siblings holds its kit volume in its
  parent's first buffer from its last ``leave`` until the parent starts; those holdings count
  in every buffer KPI. ``kit_wait_time`` = Σ over children of (kit-complete time of the
  parent − the child's kit arrival), job·minutes (an incomplete kit counts up to ``now``);
  0 without assemblies.
* ``complete`` — 1.0 when every operation is scheduled, else 0.0 (a deadlocked plan);
  ``unfinished_jobs`` counts the jobs that did not finish.

The same core also prices a *partial* schedule at a time ``now`` (see
:func:`furnsim.goals.partial_cost`): decisions already taken count with their committed
times, quantities that grow with time (buffer occupancy, blocking, lateness of unfinished
work) are integrated up to ``now``; at the end of a run both views coincide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from furnsim.model import CompiledInstance, Instance
from furnsim.sim.schedule import Schedule, kit_holds
from furnsim.sim.state import SimState

if TYPE_CHECKING:
    from furnsim.sim.engine import Simulator

__all__ = ["KPI_NAMES", "kpis", "machine_kpis", "partial_kpis"]

_EPS = 1e-9

#: every key :func:`kpis` returns (those needing the instance are marked in the docs above)
KPI_NAMES = (
    "makespan",
    "total_tardiness",
    "max_tardiness",
    "weighted_tardiness",
    "late_orders",
    "on_time_rate",
    "mean_flow_time",
    "total_setup_time",
    "setup_count",
    "processing_time",
    "utilization_mean",
    "idle_time",
    "blocked_time",
    "buffer_volume_minutes",
    "buffer_load",
    "peak_buffer_fill",
    "overflow_peak",
    "overflow_volume_minutes",
    "overflow_load",
    "kit_wait_time",
    "complete",
    "unfinished_jobs",
)


def _compiled(instance: Instance | CompiledInstance | None) -> CompiledInstance | None:
    if instance is None:
        return None
    return instance.compiled if isinstance(instance, Instance) else instance


@dataclass
class _Ops:
    """The per-operation arrays the core needs (from a Schedule or a running Simulator)."""

    times: dict[str, np.ndarray]  # field -> (n_ops,) float64
    machine: np.ndarray  # (n_ops,) int64, -1 = not dispatched
    job: np.ndarray  # (n_ops,) int64
    wc: np.ndarray  # (n_ops,) int64
    volume: np.ndarray  # (n_ops,) float64
    n_machines: int
    n_wc: int
    n_jobs: int
    job_last_op: np.ndarray  # (n_jobs,) int64 index of each job's last op (-1 if none)
    job_parent: np.ndarray | None = None  # (n_jobs,) int64 assembly (-1 none); None = flat
    job_kit_volume: np.ndarray | None = None  # (n_jobs,) float64
    finish_arrive: np.ndarray | None = None  # (n_jobs,) float64: FINISHED or kit arrival


def _job_last_op(op_job: np.ndarray, n_jobs: int) -> np.ndarray:
    last = np.full(n_jobs, -1, dtype=np.int64)
    if op_job.size:
        np.maximum.at(last, op_job, np.arange(op_job.size, dtype=np.int64))
    return last


def _ops_of_schedule(s: Schedule) -> _Ops:
    return _Ops(
        times=s.times,
        machine=s.op_machine,
        job=s.op_job,
        wc=s.op_wc,
        volume=s.op_volume,
        n_machines=len(s.machine_ids),
        n_wc=len(s.wc_ids),
        n_jobs=s.n_jobs,
        job_last_op=_job_last_op(s.op_job, s.n_jobs),
        job_parent=s.job_parent if s.has_assembly else None,
        job_kit_volume=s.job_kit_volume,
        finish_arrive=s.finish_arrive,
    )


def _kit_holds(ops: _Ops) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    if ops.job_parent is None or ops.job_kit_volume is None:
        return None
    return kit_holds(ops.job_parent, ops.job_kit_volume, ops.job, ops.wc, ops.times)


def _kit_wait(ops: _Ops, now: float | None) -> float:
    """Σ over children: kit-complete time of the parent − own kit arrival (to ``now`` if open)."""
    if ops.job_parent is None or ops.finish_arrive is None:
        return 0.0
    par = ops.job_parent
    kids = np.flatnonzero(par >= 0)
    fa = ops.finish_arrive[kids]
    arrived = np.isfinite(fa)
    if now is not None:
        arrived &= fa <= now + _EPS
    n_jobs = par.size
    complete = np.ones(n_jobs, dtype=bool)
    np.logical_and.at(complete, par[kids], arrived)
    kc = np.full(n_jobs, -np.inf)
    np.maximum.at(kc, par[kids], np.where(arrived, fa, -np.inf))
    until = np.where(complete[par[kids]], kc[par[kids]], np.inf if now is None else now)
    w = np.where(arrived & np.isfinite(until), until - fa, 0.0)
    return float(np.maximum(w, 0.0).sum())


def _buffer_stats(
    ops: _Ops, cap: np.ndarray | None, now: float, steps: bool = True
) -> dict[str, float]:
    """Integrals and peaks of the buffer levels over [0, now] (peaks and overflow if ``steps``)."""
    vol = ops.volume
    dep = ops.times["depart"]
    st = ops.times["start"]
    n_w = ops.n_wc
    held = (vol > 0) & ~np.isnan(dep) & (dep <= now + _EPS)
    kh = _kit_holds(ops)
    if kh is not None and kh[0].size:  # waiting children hold their kit volume (assembly)
        k_w, k_v, k_d, k_s = kh
        vol = np.concatenate([vol, k_v])
        dep = np.concatenate([dep, k_d])
        st = np.concatenate([st, k_s])
        wc_all = np.concatenate([ops.wc, k_w])
        held = (vol > 0) & ~np.isnan(dep) & (dep <= now + _EPS)
    else:
        wc_all = ops.wc
    out = {
        "buffer_volume_minutes": 0.0,
        "buffer_load": 0.0,
        "peak_buffer_fill": 0.0,
        "overflow_peak": 0.0,
        "overflow_volume_minutes": 0.0,
        "overflow_load": 0.0,
    }
    if not held.any():
        return out
    v = vol[held]
    w = wc_all[held]
    d = dep[held]
    s = st[held]
    # the volume is held until processing starts, or until now if it has not started yet
    s_eff = np.where(np.isnan(s) | (s > now + _EPS), now, s)
    vm = np.bincount(w, weights=v * (s_eff - d), minlength=n_w)  # (n_wc,) ∫ level dt
    out["buffer_volume_minutes"] = float(vm.sum())
    if cap is None:
        cap = np.full(n_w, np.inf)
    bounded = np.isfinite(cap)
    if bounded.any():
        out["buffer_load"] = float((vm[bounded] / cap[bounded]).sum())
    if not steps:
        return out
    # step functions per work center: +v at depart, -v at start (if started by now)
    started = ~np.isnan(s) & (s <= now + _EPS)
    et = np.concatenate([d, s[started]])
    ev = np.concatenate([v, -v[started]])
    ew = np.concatenate([w, w[started]])
    order = np.lexsort((ev, et, ew))  # by wc, time, negatives first
    et, ev, ew = et[order], ev[order], ew[order]
    level = np.cumsum(ev)
    first = np.flatnonzero(np.r_[True, ew[1:] != ew[:-1]])  # first event of each wc group
    base = np.r_[0.0, level][first]  # cumulative sum before each group
    grp = np.repeat(np.arange(first.size), np.diff(np.r_[first, ew.size]))
    level = level - base[grp]
    level[np.abs(level) < _EPS] = 0.0
    peak = np.zeros(n_w)
    np.maximum.at(peak, ew, level)
    if bounded.any():
        out["peak_buffer_fill"] = float((peak[bounded] / cap[bounded]).max())
        over = np.maximum(0.0, peak - cap)
        over[~bounded] = 0.0
        out["overflow_peak"] = float(over.max())
        # ∫ max(0, level - cap) dt: each level holds until the next event of its wc (or now)
        nxt = np.r_[et[1:], now]
        last_of_group = np.r_[ew[1:] != ew[:-1], True]
        nxt[last_of_group] = now
        dur = np.maximum(0.0, nxt - et)
        c = cap[ew]
        excess = np.where(np.isfinite(c), np.maximum(0.0, level - c), 0.0)
        ovm = np.bincount(ew, weights=excess * dur, minlength=n_w)
        out["overflow_volume_minutes"] = float(ovm.sum())
        out["overflow_load"] = float((ovm[bounded] / cap[bounded]).sum())
    return out


def _machine_arrays(ops: _Ops, now: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(processing, setup, blocked) minutes per machine; blocking still going on counts to now."""
    t = ops.times
    m = ops.machine
    done = m >= 0
    mm = m[done]
    n_m = ops.n_machines
    proc = np.bincount(mm, weights=(t["end"] - t["start"])[done], minlength=n_m)
    setup = np.bincount(mm, weights=(t["setup_end"] - t["setup_start"])[done], minlength=n_m)
    end, leave = t["end"][done], t["leave"][done]
    if now is None:
        blk = np.where(np.isnan(leave), 0.0, leave - end)
    else:
        # left: leave - end; still on the machine after its end: now - end
        blk = np.where(np.isnan(leave), now - end, leave - end)
    blk = np.maximum(blk, 0.0)  # the simulator's event tolerance can leave -1e-12
    blocked = np.bincount(mm, weights=blk, minlength=n_m)
    return proc, setup, blocked


_BUFFER_KPIS = frozenset(
    {
        "buffer_volume_minutes",
        "buffer_load",
        "peak_buffer_fill",
        "overflow_peak",
        "overflow_volume_minutes",
        "overflow_load",
    }
)
_OVERFLOW_KPIS = frozenset({"overflow_peak", "overflow_volume_minutes", "overflow_load"})
#: the KPIs of the machines' time (``_machine_arrays``): skipped when ``need`` has none
_MACHINE_KPIS = frozenset(
    {
        "total_setup_time",
        "setup_count",
        "processing_time",
        "blocked_time",
        "idle_time",
        "utilization_mean",
    }
)
_STEP_KPIS = frozenset(
    {"peak_buffer_fill", "overflow_peak", "overflow_volume_minutes", "overflow_load"}
)


def _core(
    ops: _Ops,
    ci: CompiledInstance | None,
    now: float | None = None,
    need: Iterable[str] | None = None,
) -> dict[str, float]:
    """KPIs of a complete schedule (``now=None``) or of a partial one at time ``now``.

    ``need`` (KPI names) lets a caller skip the buffer step functions, the machines' time
    (:data:`_MACHINE_KPIS`) and the kit waits when it does not use them; those KPIs are then
    left out.
    """
    t = ops.times
    ends = t["end"]
    dispatched = ops.machine >= 0
    committed_end = float(np.max(ends[dispatched])) if dispatched.any() else 0.0
    makespan = committed_end if now is None else max(now, committed_end)
    horizon = makespan if now is None else now
    out: dict[str, float] = {"makespan": makespan}

    # jobs: completion = end of the last op once it is dispatched; else unknown (nan) or, for a
    # partial schedule, "not before now"
    last = ops.job_last_op
    has_ops = last >= 0
    job_c = np.full(ops.n_jobs, np.nan)
    job_c[has_ops] = np.where(dispatched[last[has_ops]], ends[last[has_ops]], np.nan)
    unfinished = has_ops & np.isnan(job_c)
    out["complete"] = float(bool(np.all(dispatched)))
    out["unfinished_jobs"] = float(unfinished.sum())
    if now is not None:
        job_c[unfinished] = now

    if ci is not None:
        rel = ci.job_release
        jc = job_c[has_ops]
        flow = jc - rel[has_ops]
        if now is not None:
            flow = np.maximum(0.0, flow)
        out["mean_flow_time"] = (
            float(np.nanmean(flow)) if flow.size and not np.all(np.isnan(flow)) else 0.0
        )
        n_o = ci.n_orders
        oc = np.full(n_o, -np.inf)
        np.maximum.at(oc, ci.job_order[has_ops], np.where(np.isnan(jc), np.inf, jc))
        od = np.full(n_o, np.inf)
        np.minimum.at(od, ci.job_order, ci.job_deadline)
        op_ = np.zeros(n_o)
        np.maximum.at(op_, ci.job_order, ci.job_priority)
        with np.errstate(invalid="ignore"):
            late = oc - od  # inf - inf (unfinished, no deadline) -> nan
        tard = np.where(np.isnan(late) | (late < 0), 0.0, late)
        tard[~np.isfinite(od)] = 0.0
        tard[oc == -np.inf] = 0.0  # orders without jobs
        out["total_tardiness"] = float(tard.sum())
        out["max_tardiness"] = float(tard.max()) if n_o else 0.0
        out["weighted_tardiness"] = float((op_ * tard).sum())
        late_mask = tard > _EPS
        if now is None:
            # an order that did not finish (a deadlocked plan) is late, deadline or not
            late_mask |= oc == np.inf
        n_late = int(late_mask.sum())
        out["late_orders"] = float(n_late)
        out["on_time_rate"] = 1.0 - n_late / n_o if n_o else 1.0

    wanted = None if need is None else set(need)
    # the machines' time and the kit waits: left out when a goal weighs none of them (Speed,
    # Empty Buffers)
    machines = wanted is None or not wanted.isdisjoint(_MACHINE_KPIS)
    if machines:
        setup_len = (t["setup_end"] - t["setup_start"])[dispatched]
        out["total_setup_time"] = float(setup_len.sum())
        out["setup_count"] = float((setup_len > _EPS).sum())
        proc, setup, blocked = _machine_arrays(ops, now)
        out["processing_time"] = float(proc.sum())
        out["blocked_time"] = float(blocked.sum())
        out["idle_time"] = float(
            makespan * ops.n_machines - proc.sum() - setup.sum() - blocked.sum()
        )
        out["utilization_mean"] = (
            float((proc / makespan).mean()) if makespan > 0 and ops.n_machines else 0.0
        )
    if machines or (wanted is not None and "kit_wait_time" in wanted):
        out["kit_wait_time"] = _kit_wait(ops, now)
    if wanted is None or wanted & _BUFFER_KPIS:
        cap = ci.wc_capacity if ci is not None else None
        steps = wanted is None or bool(wanted & _STEP_KPIS)
        out.update(_buffer_stats(ops, cap, horizon, steps=steps))
    return out


def kpis(
    schedule: Schedule,
    instance: Instance | CompiledInstance | None = None,
    need: Iterable[str] | None = None,
) -> dict[str, float]:
    """All KPIs of ``schedule`` (see the module docstring).

    Without ``instance`` the deadline / release based KPIs (tardiness, late orders, flow time)
    are left out, and every buffer counts as unbounded. ``need`` (KPI names) lets a caller skip
    the buffer step functions, the machines' time, the kit waits and the working-time pass when
    it reads none of their KPIs (the values asked for are the same; skipped ones may be left
    out).
    """
    ci = _compiled(instance)
    out = _core(_ops_of_schedule(schedule), ci, need=need)
    if ci is not None and ci.working is not None:  # calendars: furnsim/kpi_working.py
        from furnsim.kpi_working import WORKING_TIME_KPIS, working_time_kpis

        if need is None or set(need) & set(WORKING_TIME_KPIS):
            out.update(working_time_kpis(schedule, ci, out))
    return out


def partial_kpis(sim: Simulator | SimState, need: Iterable[str] | None = None) -> dict[str, float]:
    """KPIs of the partial schedule of a running Simulator at ``sim.time`` (see goals.partial_cost).

    Reads the simulator through its typed state (``sim.state``, furnsim/sim/state.py); a
    :class:`~furnsim.sim.state.SimState` may be passed directly.

    Committed at dispatch: setups, processing, completions of dispatched last operations, the
    makespan bound ``max(now, latest committed end)``. Integrated up to now: buffer levels and
    overflow, blocking, lateness of unfinished jobs (they count as completing now).
    """
    sim = sim if isinstance(sim, SimState) else sim.state
    ci: CompiledInstance = sim.ci
    ops = _state_ops(sim, ci)
    if need is not None and getattr(sim, "buffers", "soft") == "hard":
        # hard buffers never overflow: skip the step functions unless the peak is wanted
        need = set(need)
        over = need & _OVERFLOW_KPIS
        out = _core(ops, ci, now=float(sim.time), need=need - over)
        out.update(dict.fromkeys(over, 0.0))
    else:
        out = _core(ops, ci, now=float(sim.time), need=need)
    if ci.working is not None:  # calendars: furnsim/kpi_working.py
        from furnsim.kpi_working import WORKING_TIME_KPIS, partial_working_time_kpis

        # (skipped when none of them is wanted: Speed and Empty Buffers weigh none)
        if need is None or not set(need).isdisjoint(WORKING_TIME_KPIS):
            out.update(partial_working_time_kpis(sim, out))
    return out


def run_kpis(sim: Simulator, need: Iterable[str]) -> dict[str, float]:
    """The KPIs ``need`` of a finished Simulator run, equal to ``kpis(sim.schedule(), sim.ci,
    need)``: read from the simulator's records without building the schedule, unless a
    working-time KPI is needed (those read the schedule's working segments)."""
    from furnsim.kpi_working import WORKING_TIME_KPIS

    need = set(need)
    ci: CompiledInstance = sim.ci
    if ci.working is not None and need & set(WORKING_TIME_KPIS):
        return kpis(sim.schedule(), ci, need=need)
    st = sim.state
    ops = _state_ops(st, ci)
    return _core(ops, ci, need=need)


def _state_ops(st: SimState, ci: CompiledInstance) -> _Ops:
    """The operation records of a simulator's typed state, as the KPI core reads them."""
    return _Ops(
        times=st.rec,
        machine=st.rec_machine,
        job=ci.op_job,
        wc=ci.op_wc,
        volume=ci.op_volume,
        n_machines=ci.n_machines,
        n_wc=ci.n_wc,
        n_jobs=ci.n_jobs,
        job_last_op=_last_ops(ci),
        job_parent=ci.job_parent if ci.has_assembly else None,
        job_kit_volume=ci.job_kit_volume,
        finish_arrive=st.finish_arrive,
    )


def _last_ops(ci: CompiledInstance) -> np.ndarray:
    s = ci.job_op_start
    return np.where(s[1:] > s[:-1], s[1:] - 1, -1).astype(np.int64)


def machine_kpis(schedule: Schedule, instance: Any = None) -> dict[str, dict[str, float]]:
    """Per machine id: processing, setup, blocked and idle minutes, setup count, utilization."""
    ops = _ops_of_schedule(schedule)
    proc, setup, blocked = _machine_arrays(ops, None)
    mk = schedule.makespan
    t = schedule.times
    d = ops.machine >= 0
    nonzero = (t["setup_end"] - t["setup_start"])[d] > _EPS
    n_setups = np.bincount(ops.machine[d][nonzero], minlength=ops.n_machines)
    n_ops = np.bincount(ops.machine[d], minlength=ops.n_machines)
    out: dict[str, dict[str, float]] = {}
    for i, mid in enumerate(schedule.machine_ids):
        out[mid] = {
            "operations": float(n_ops[i]),
            "processing_time": float(proc[i]),
            "setup_time": float(setup[i]),
            "setup_count": float(n_setups[i]),
            "blocked_time": float(blocked[i]),
            "idle_time": float(mk - proc[i] - setup[i] - blocked[i]),
            "utilization": float(proc[i] / mk) if mk > 0 else 0.0,
        }
    ci = _compiled(instance)
    if ci is not None and ci.working is not None:  # calendars: furnsim/kpi_working.py
        from furnsim.kpi_working import machine_working_kpis

        for mid, wk in machine_working_kpis(schedule, ci).items():
            out[mid].update(wk)
    return out
