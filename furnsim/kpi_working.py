"""KPIs under working time (calendars, downtime): what :func:`furnsim.kpi.kpis` reports
instead of its 24/7 numbers when the instance has working time (docs/semantics.md).

* ``processing_time`` / ``total_setup_time`` — working minutes (Σ segment lengths), not
  ``end - start`` (which includes pauses over closed time);
* ``available_time`` — Σ over machines of the working minutes in ``[0, makespan)`` (a 24/7
  machine: the makespan); ``closed_time`` — the rest of ``makespan × machines``;
* ``utilization_mean`` — mean over machines of processing / available minutes;
* ``blocked_time`` — working minutes a finished job waits on its machine (closed time is not
  lost machine time); ``idle_time`` — available − processing − setup − blocked: closed time
  is not idle;
* ``overtime_minutes`` — processing and setup minutes inside extra working windows (calendar
  exceptions with ``working: yes`` outside the weekly pattern); ``extra_windows_used`` — how
  many such windows (per machine) hold any work.

:func:`machine_working_kpis` gives the same per machine for :func:`furnsim.kpi.machine_kpis`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from furnsim._numba import HAVE_NUMBA, pairwise_sum
from furnsim._numba import jit as _jit

__all__ = [
    "WORKING_TIME_KPIS",
    "machine_working_kpis",
    "partial_working_time_kpis",
    "working_time_kpis",
]

#: keys added (or replaced) when the instance has working time
WORKING_TIME_KPIS = (
    "processing_time",
    "total_setup_time",
    "blocked_time",
    "available_time",
    "closed_time",
    "utilization_mean",
    "idle_time",
    "overtime_minutes",
    "extra_windows_used",
)


def _overlap(segs: list[list[float]], s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(k,) minutes of ``segs`` inside each interval ``[s_i, e_i)``."""
    out = np.zeros(s.size)
    for a, b in segs:
        out += np.clip(np.minimum(e, b) - np.maximum(s, a), 0.0, None)
    return out


def _per_machine(schedule: Any, ci: Any, mk: float) -> dict[str, np.ndarray]:
    """(n_machines,) arrays: proc, setup, blocked (working minutes), available, overtime, and
    the number of extra windows used."""
    wt = ci.working
    n_m = len(schedule.machine_ids)
    t = schedule.times
    proc = np.zeros(n_m)
    setup = np.zeros(n_m)
    blocked = np.zeros(n_m)
    extra = [mt.extra if mt is not None else (np.zeros(0), np.zeros(0)) for mt in wt.machines]
    extra_used = [np.zeros(x[0].size) for x in extra]
    for o in range(schedule.n_ops):
        m = int(schedule.op_machine[o])
        if m < 0:
            continue
        segs = schedule.op_segments(o)
        ssegs = schedule.op_setup_segments(o)
        proc[m] += sum(b - a for a, b in segs)
        setup[m] += sum(b - a for a, b in ssegs)
        end, leave = float(t["end"][o]), float(t["leave"][o])
        mt = wt.machines[m]
        if np.isfinite(leave) and leave > end:
            blocked[m] += float(mt.worked(end, leave)) if mt is not None else leave - end
        if extra[m][0].size:
            extra_used[m] += _overlap(segs + ssegs, *extra[m])
    avail = np.array([float(mt.worked(0.0, mk)) if mt is not None else mk for mt in wt.machines])
    return {
        "proc": proc,
        "setup": setup,
        "blocked": blocked,
        "avail": avail,
        "overtime": np.array([x.sum() for x in extra_used]),
        "windows": np.array([float((x > 1e-9).sum()) for x in extra_used]),
    }


def working_time_kpis(schedule: Any, ci: Any, base: dict[str, float]) -> dict[str, float]:
    """Plant-level KPIs under working time (see the module docstring)."""
    n_m = len(schedule.machine_ids)
    mk = float(base.get("makespan", schedule.makespan))
    a = _per_machine(schedule, ci, mk)
    return {
        **_plant_sums(a["proc"], a["setup"], a["blocked"], a["avail"], mk, n_m),
        "overtime_minutes": float(a["overtime"].sum()),
        "extra_windows_used": float(a["windows"].sum()),
    }


def _plant_sums(
    proc: np.ndarray, setup: np.ndarray, blocked: np.ndarray, avail: np.ndarray, mk: float, n_m: int
) -> dict[str, float]:
    """The plant-level machine-time KPIs from per-machine minutes (full and partial runs)."""
    util = np.divide(proc, avail, out=np.zeros(n_m), where=avail > 0)
    return {
        "processing_time": float(proc.sum()),
        "total_setup_time": float(setup.sum()),
        "blocked_time": float(blocked.sum()),
        "available_time": float(avail.sum()),
        "closed_time": float(mk * n_m - avail.sum()),
        "utilization_mean": float(util.mean()) if n_m else 0.0,
        "idle_time": float((avail - proc - setup - blocked).sum()),
    }


def machine_working_kpis(schedule: Any, ci: Any) -> dict[str, dict[str, float]]:
    """Per machine id, what :func:`furnsim.kpi.machine_kpis` reports under working time."""
    mk = float(schedule.makespan)
    a = _per_machine(schedule, ci, mk)
    out = {}
    for i, mid in enumerate(schedule.machine_ids):
        av = float(a["avail"][i])
        out[mid] = {
            "processing_time": float(a["proc"][i]),
            "setup_time": float(a["setup"][i]),
            "blocked_time": float(a["blocked"][i]),
            "available_time": av,
            "idle_time": av - float(a["proc"][i] + a["setup"][i] + a["blocked"][i]),
            "utilization": float(a["proc"][i]) / av if av > 0 else 0.0,
            "overtime_minutes": float(a["overtime"][i]),
        }
    return out


def partial_working_time_kpis(sim: Any, base: dict[str, float]) -> dict[str, float]:
    """The working-time versions of the machine-time KPIs of a running Simulator at
    ``sim.time`` (for :func:`furnsim.kpi.partial_kpis`): processing and setups committed at
    dispatch (working minutes), blocking integrated up to now in working time, available
    time up to ``max(now, latest committed end)``. At the end they equal
    :func:`working_time_kpis`.

    With numba the per-machine sums come from one compiled kernel (:func:`_machine_sums`)
    that repeats numpy's arithmetic exactly (``MachineTime._w`` per operation, numpy's
    pairwise summation per machine, ``furnsim._numba.pairwise_sum``), so the KPIs are bit-identical to the numpy path
    (:func:`_partial_numpy`; tests/test_rules_compiled.py)."""
    ci = sim.ci
    now = float(sim.time)
    mk = float(base["makespan"])
    n_m = ci.n_machines
    t = sim.rec
    ops = np.flatnonzero(sim.rec_machine >= 0)
    mm = sim.rec_machine[ops]
    proc = np.bincount(mm, weights=ci.op_proc[ops, mm], minlength=n_m)
    ss, se = t["setup_start"][ops], t["setup_end"][ops]
    en, lv = t["end"][ops], t["leave"][ops]
    stop = np.where(np.isnan(lv), np.maximum(now, en), lv)
    if HAVE_NUMBA:
        setup, blocked, avail = _partial_compiled(ci.working, mm, ss, se, en, stop, mk, n_m)
    else:
        setup, blocked, avail = _partial_numpy(ci.working, mm, ss, se, en, stop, mk, n_m)
    return _plant_sums(proc, setup, blocked, avail, mk, n_m)


def _partial_numpy(
    wt: Any,
    mm: np.ndarray,
    ss: np.ndarray,
    se: np.ndarray,
    en: np.ndarray,
    stop: np.ndarray,
    mk: float,
    n_m: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_machines,) setup, blocked and available working minutes, machine by machine."""
    setup = np.zeros(n_m)
    blocked = np.zeros(n_m)
    avail = np.full(n_m, mk)
    for m, mt in enumerate(wt.machines):
        sel = mm == m
        if mt is None:
            setup[m] = float((se[sel] - ss[sel]).sum())
            blocked[m] = float(np.maximum(stop[sel] - en[sel], 0.0).sum())
            continue
        avail[m] = float(mt.worked(0.0, mk))
        if sel.any():
            setup[m] = float(mt.worked(ss[sel], se[sel]).sum())
            blocked[m] = float(mt.worked(en[sel], np.maximum(stop[sel], en[sel])).sum())
    return setup, blocked, avail


class _Flat:
    """Every machine's working intervals in flat arrays (machine ``m``: ``off[m]:off[m+1]``;
    a 24/7 machine has none and ``cal[m] == 0``), for the horizons they were built at."""

    def __init__(self, wt: Any) -> None:
        ms = wt.machines
        self.horizons = tuple(mt.horizon if mt is not None else 0.0 for mt in ms)
        self.min_horizon = min((mt.horizon for mt in ms if mt is not None), default=np.inf)
        sizes = [mt.starts.size if mt is not None else 0 for mt in ms]
        self.off = np.zeros(len(ms) + 1, dtype=np.int64)  # (n_machines + 1,)
        self.off[1:] = np.cumsum(sizes)
        self.cum_off = self.off + np.arange(len(ms) + 1)  # (n_machines + 1,) into cum
        self.cal = np.array([mt is not None for mt in ms], dtype=np.int64)  # (n_machines,)
        empty = np.zeros(0)
        self.starts = np.concatenate([mt.starts if mt is not None else empty for mt in ms])
        self.ends = np.concatenate([mt.ends if mt is not None else empty for mt in ms])
        self.cum = np.concatenate([mt.cum if mt is not None else np.zeros(1) for mt in ms])


def _flat(wt: Any, t_max: float) -> _Flat:
    """The flat intervals, every calendar machine's horizon beyond ``t_max`` (extended as
    ``MachineTime._w`` would; extending does not change a working minute before the old
    horizon)."""
    fl: _Flat | None = getattr(wt, "_flat_cache", None)
    if fl is not None and t_max < fl.min_horizon:
        return fl
    for mt in wt.machines:
        if mt is not None:
            while t_max >= mt.horizon:
                mt._extend()
    if fl is None or fl.horizons != tuple(
        mt.horizon if mt is not None else 0.0 for mt in wt.machines
    ):
        fl = _Flat(wt)
        wt._flat_cache = fl
    return fl


def _partial_compiled(
    wt: Any,
    mm: np.ndarray,
    ss: np.ndarray,
    se: np.ndarray,
    en: np.ndarray,
    stop: np.ndarray,
    mk: float,
    n_m: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_partial_numpy` in one compiled call (the same floats)."""
    hi = mk
    if se.size:
        hi = max(hi, float(se.max()), float(en.max()), float(stop.max()))
    fl = _flat(wt, hi)
    setup = np.zeros(n_m)
    blocked = np.zeros(n_m)
    avail = np.full(n_m, mk)
    _machine_sums(
        mm,
        ss,
        se,
        en,
        stop,
        mk,
        fl.cal,
        fl.off,
        fl.cum_off,
        fl.starts,
        fl.ends,
        fl.cum,
        setup,
        blocked,
        avail,
    )
    return setup, blocked, avail


@_jit
def _w1(
    t: float, starts: np.ndarray, ends: np.ndarray, cum: np.ndarray, lo: int, hi: int, c0: int
) -> float:
    """``MachineTime._w`` of one time over ``starts[lo:hi]`` (``cum[c0:]``): the same ops."""
    # np.searchsorted(starts, t, side="right") - 1
    a, b = lo, hi
    while a < b:
        mid = (a + b) >> 1
        if starts[mid] <= t:
            a = mid + 1
        else:
            b = mid
    i = a - lo - 1
    if i < 0:
        return 0.0
    s = starts[lo + i]
    inside = min(max(t - s, 0.0), ends[lo + i] - s)  # np.clip
    return cum[c0 + i] + inside


@_jit
def _machine_sums(
    mm: np.ndarray,  # (k,) machine of each dispatched operation, operations ascending
    ss: np.ndarray,  # (k,) setup start
    se: np.ndarray,  # (k,) setup end
    en: np.ndarray,  # (k,) end
    stop: np.ndarray,  # (k,) end of blocking (leave, or max(now, end) while still there)
    mk: float,
    cal: np.ndarray,  # (n_machines,) 1 = working intervals in the flat arrays, 0 = 24/7
    off: np.ndarray,  # (n_machines + 1,) into starts / ends
    cum_off: np.ndarray,  # (n_machines + 1,) into cum
    starts: np.ndarray,
    ends: np.ndarray,
    cum: np.ndarray,
    setup: np.ndarray,  # (n_machines,) out
    blocked: np.ndarray,  # (n_machines,) out
    avail: np.ndarray,  # (n_machines,) out (24/7 machines: leave mk)
) -> None:
    n_m = setup.size
    k = mm.size
    cnt = np.zeros(n_m + 1, dtype=np.int64)
    for q in range(k):
        cnt[mm[q] + 1] += 1
    for m in range(n_m):
        cnt[m + 1] += cnt[m]
    pos = cnt[:n_m].copy()
    vs = np.empty(k)
    vb = np.empty(k)
    for q in range(k):
        m = mm[q]
        p = pos[m]
        pos[m] += 1
        if cal[m]:
            lo, hi, c0 = off[m], off[m + 1], cum_off[m]
            vs[p] = _w1(se[q], starts, ends, cum, lo, hi, c0) - _w1(
                ss[q], starts, ends, cum, lo, hi, c0
            )
            vb[p] = _w1(max(stop[q], en[q]), starts, ends, cum, lo, hi, c0) - _w1(
                en[q], starts, ends, cum, lo, hi, c0
            )
        else:
            vs[p] = se[q] - ss[q]
            vb[p] = max(stop[q] - en[q], 0.0)
    for m in range(n_m):
        n = cnt[m + 1] - cnt[m]
        if cal[m]:
            lo, hi, c0 = off[m], off[m + 1], cum_off[m]
            avail[m] = _w1(mk, starts, ends, cum, lo, hi, c0) - _w1(
                0.0, starts, ends, cum, lo, hi, c0
            )
            if n == 0:
                continue
        setup[m] = 0.0 + pairwise_sum(vs, cnt[m], n)
        blocked[m] = 0.0 + pairwise_sum(vb, cnt[m], n)
