"""The simulator's event loop compiled (numba): ``Simulator(..., fast=True)``.

The same transitions as the Python methods of :class:`furnsim.sim.engine.Simulator`
(``_commit``, ``_advance``, ``_process_events_at``, ``_retry_departures``, ``_find``,
``_try_leave_machine``, ``_depart``, ``_to_kit`` and the working-time searches of
``furnsim.calendar.MachineTime``), written over arrays, with the same float operations in the
same order, so a run gives the very same decisions and records (tests/test_fastloop.py).
The Python methods stay the reference and the fallback (no numba, intentional holds, a shop
situation, ``wait``, snapshots: the simulator hands its state over to them, see
``Simulator._to_python``).

The engine's Python containers become arrays:

* the waiting jobs of each work center (a dict in insertion order) — a doubly linked list per
  work center (``wq_head``/``wq_tail``, ``jq_next``/``jq_prev``), appended at the tail;
* the STORE queue and the blocked-machine queue of each work center (FIFO lists) — singly
  linked lists (``sq_*`` over jobs, ``bq_*`` over machines): a job / machine is in at most
  one of them at a time;
* the idle machines of a work center — ``machine_state == IDLE`` (the same set in a run
  without a shop situation); the ready and dirty work-center sets — flags, visited in
  ascending order (``sorted(...)`` / ``min(...)``);
* the event heap of ``(time, kind, seq, a, b)`` tuples — a binary heap over arrays ordered by
  ``(time, kind, seq)`` (``seq`` is unique, so the pop order is the tuples' order);
* the dispatch log — arrays appended per dispatch (the simulator extends its list from them).

A working-time search past a calendar table's horizon returns ``NEED_EXTEND`` before anything
changed; the caller extends that machine's table (``MachineTime._extend``) and calls again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from furnsim._numba import HAVE_NUMBA
from furnsim._numba import jit as _jit
from furnsim._rule_kernels import (
    C_BUFFER,
    C_CR,
    C_DPTLWKRS,
    C_DPTWINQNPT,
    C_LWKRMOD,
    C_PTWINQ,
    C_PTWINQS,
    C_SETUP,
    atc_pick,
    buffer_pick,
    composite_pick,
    fifo_pick,
    kit_pick,
)

__all__ = [
    "DEADLOCK",
    "DECISION",
    "DONE_ALL",
    "GROW",
    "HAVE_NUMBA",
    "INVALID",
    "NEED_EXTEND",
    "RULE_ATC",
    "RULE_BUFFER",
    "RULE_CR",
    "RULE_DPTLWKRS",
    "RULE_DPTWINQNPT",
    "RULE_FIFO",
    "RULE_KIT",
    "RULE_LWKRMOD",
    "RULE_NONE",
    "RULE_PTWINQ",
    "RULE_PTWINQS",
    "RULE_SETUP",
    "run",
    "run_rule",
]

# return codes of run()
DECISION, DONE_ALL, DEADLOCK, NEED_EXTEND, INVALID, GROW = range(6)

# rows of the packed arrays (the simulator's attributes are views of them)
# ji (6, n_jobs) int64
J_STATE, J_OP, J_KIT_LEFT, J_QNEXT, J_QPREV, J_SNEXT = range(6)
# jf (3, n_jobs) float64
J_ARRIVE, J_FINISH_ARRIVE, J_KIT_ARRIVE = range(3)
# mi (4, n_machines) int64
M_STATE, M_SETUP, M_JOB, M_BNEXT = range(4)
# mf (3, n_machines) float64
M_FREE_AT, M_BUSY, M_WAKE = range(3)
# wf (2, n_wc) float64
W_LEVEL, W_PEAK = range(2)
# wi (8, n_wc) int64
W_QHEAD, W_QTAIL, W_SHEAD, W_STAIL, W_BHEAD, W_BTAIL, W_READY, W_DIRTY = range(8)
# recf (7, n_ops): OP_FIELDS order
R_SS, R_SE, R_START, R_END, R_DEPART, R_ARRIVE, R_LEAVE = range(7)
# sc (12,) int64 scalars
S_STEPS, S_NDONE, S_SEQ, S_EVN, S_LOGN, S_OUT_M, S_OUT_K, S_EXT_M, S_PENDING = range(9)
N_SC = 9
# si_job (4, n_jobs) static int
SJ_FIRST, SJ_END, SJ_PARENT, SJ_NCHILD = range(4)
# sf_job (3, n_jobs) static float
SJ_KITVOL, SJ_KITTOT, SJ_RELEASE = range(3)
# si_m (4, n_machines) static int
SM_WC, SM_INIT, SM_HASCAL, SM_NONINT = range(4)
# prm (4,) int64: flags
P_SOFT, P_ANTICIP, P_KITS = range(3)

# the rules the loop can decide with itself (run_rule; Rule.loop names one and its parameter)
RULE_NONE, RULE_ATC, RULE_PTWINQS, RULE_FIFO, RULE_KIT = range(5)
assert RULE_PTWINQS == C_PTWINQS  # (composite_pick's kind)
# not a rule: RI[n] is the job to take at the decision after n dispatches (run_choices)
RULE_SCRIPT = 5
# ... and the rules of furnsim._rule_kernels.composite_pick (their kind is their id)
RULE_SETUP, RULE_CR, RULE_LWKRMOD = C_SETUP, C_CR, C_LWKRMOD
RULE_PTWINQ, RULE_DPTLWKRS, RULE_DPTWINQNPT = C_PTWINQ, C_DPTLWKRS, C_DPTWINQNPT
RULE_BUFFER = C_BUFFER  # (furnsim._rule_kernels.buffer_pick)

# job / machine states and event kinds (furnsim.sim.engine)
_AT_STORE, _WAITING, _ASSIGNED, _PROCESSING, _BLOCKED, _DONE = range(6)
_IDLE, _BUSY, _MBLOCKED = range(3)
_START, _END, _RELEASE, _WAKE = 0, 1, 2, 3
#: a STORE hold's release event sequence number: ``HOLD_SEQ + job`` (engine._HOLD_SEQ)
HOLD_SEQ = 1 << 40
_EPS = 1e-9


# -- small helpers (Python's max/min: the first argument unless the second is larger/smaller)
@_jit
def _pmax(a: float, b: float) -> float:  # pragma: no cover - compiled
    return b if b > a else a


@_jit
def _bisect_right(a: Any, x: float, lo: int, hi: int) -> int:  # pragma: no cover - compiled
    while lo < hi:
        mid = (lo + hi) // 2
        if x < a[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@_jit
def _bisect_left(a: Any, x: float, lo: int, hi: int) -> int:  # pragma: no cover - compiled
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


# -- working time (MachineTime over the packed tables; ok=False: extend the table first) ----
@_jit
def _working_at(
    m: int, t: float, cs: Any, ce: Any, off: Any, hor: Any
) -> tuple[bool, bool]:  # pragma: no cover
    if t >= hor[m]:
        return False, False
    a, b = off[m], off[m + 1]
    i = _bisect_right(ce, t, a, b)
    return True, (i < b and cs[i] <= t)


@_jit
def _next_start(
    m: int, t: float, cs: Any, ce: Any, off: Any, hor: Any
) -> tuple[bool, float]:  # pragma: no cover
    a, b = off[m], off[m + 1]
    i = _bisect_right(ce, t, a, b)
    if i < b:
        r = _pmax(t, cs[i])
        if r < hor[m]:
            return True, r
    return False, 0.0


@_jit
def _finish(
    m: int, t: float, w: float, cs: Any, ce: Any, cc: Any, off: Any, coff: Any, hor: Any
) -> tuple[bool, float, float]:  # pragma: no cover - compiled
    a, b = off[m], off[m + 1]
    n = b - a
    ca = coff[m]  # cc[ca : ca + n + 1] = the machine's cum
    i = _bisect_right(ce, t, a, b) - a
    if i < n:
        s_i = cs[a + i]
        s0 = _pmax(t, s_i)
        target = cc[ca + i] + (s0 - s_i) + w
        j = _bisect_left(cc, target - 1e-9, ca + i + 1, ca + n + 1) - ca - 1
        if j < n:
            end = cs[a + j] + (target - cc[ca + j])
            if end < hor[m]:
                return True, s0, end
    return False, 0.0, 0.0


@_jit
def _fit(
    m: int, t: float, w: float, cs: Any, ce: Any, off: Any, hor: Any
) -> tuple[bool, float]:  # pragma: no cover
    a, b = off[m], off[m + 1]
    i = _bisect_right(ce, t, a, b)
    while i < b and _pmax(t, cs[i]) + w > ce[i] + 1e-9:
        i += 1
    if i < b and _pmax(t, cs[i]) + w < hor[m]:
        return True, _pmax(t, cs[i])
    return False, 0.0


# -- the event heap: (time, kind, seq, a, b) ordered by (time, kind, seq) ---------------------
@_jit
def _less(ef: Any, ei: Any, x: int, y: int) -> bool:  # pragma: no cover - compiled
    if ef[x] != ef[y]:
        return ef[x] < ef[y]
    if ei[0, x] != ei[0, y]:
        return ei[0, x] < ei[0, y]
    return ei[1, x] < ei[1, y]


@_jit
def _swap(ef: Any, ei: Any, x: int, y: int) -> None:  # pragma: no cover - compiled
    ef[x], ef[y] = ef[y], ef[x]
    for r in range(4):
        ei[r, x], ei[r, y] = ei[r, y], ei[r, x]


@_jit
def _push(
    ef: Any, ei: Any, sc: Any, t: float, kind: int, seq: int, a: int, b: int
) -> None:  # pragma: no cover
    n = sc[S_EVN]
    ef[n] = t
    ei[0, n] = kind
    ei[1, n] = seq
    ei[2, n] = a
    ei[3, n] = b
    sc[S_EVN] = n + 1
    while n > 0:
        p = (n - 1) >> 1
        if _less(ef, ei, n, p):
            _swap(ef, ei, n, p)
            n = p
        else:
            break


@_jit
def _pop(ef: Any, ei: Any, sc: Any) -> None:  # pragma: no cover - compiled
    """Remove the top (the caller read it at index 0)."""
    n = sc[S_EVN] - 1
    sc[S_EVN] = n
    if n == 0:
        return
    _swap(ef, ei, 0, n)
    i = 0
    while True:
        lft = 2 * i + 1
        if lft >= n:
            break
        c = lft
        if lft + 1 < n and _less(ef, ei, lft + 1, lft):
            c = lft + 1
        if _less(ef, ei, c, i):
            _swap(ef, ei, c, i)
            i = c
        else:
            break


# -- state changes -------------------------------------------------------------------------
@_jit
def _set_level(wf: Any, w: int, dv: float) -> None:  # pragma: no cover - compiled
    lv = wf[W_LEVEL, w] + dv
    if abs(lv) < _EPS:
        lv = 0.0
    wf[W_LEVEL, w] = lv
    if lv > wf[W_PEAK, w]:
        wf[W_PEAK, w] = lv


@_jit
def _room(prm: Any, wf: Any, cap: Any, w: int, vol: float) -> bool:  # pragma: no cover
    return prm[P_SOFT] == 1 or wf[W_LEVEL, w] + vol <= cap[w] + _EPS


@_jit
def _wq_append(ji: Any, wi: Any, w: int, j: int) -> None:  # pragma: no cover - compiled
    t = wi[W_QTAIL, w]
    ji[J_QPREV, j] = t
    ji[J_QNEXT, j] = -1
    if t < 0:
        wi[W_QHEAD, w] = j
    else:
        ji[J_QNEXT, t] = j
    wi[W_QTAIL, w] = j


@_jit
def _wq_remove(ji: Any, wi: Any, w: int, j: int) -> None:  # pragma: no cover - compiled
    p, n = ji[J_QPREV, j], ji[J_QNEXT, j]
    if p < 0:
        wi[W_QHEAD, w] = n
    else:
        ji[J_QNEXT, p] = n
    if n < 0:
        wi[W_QTAIL, w] = p
    else:
        ji[J_QPREV, n] = p
    ji[J_QNEXT, j] = -1
    ji[J_QPREV, j] = -1


@_jit
def _depart(
    j: int,
    o: int,
    from_loc: int,
    t: float,
    ji: Any,
    jf: Any,
    wf: Any,
    wi: Any,
    recf: Any,
    op_wc: Any,
    op_vol: Any,
    transport: Any,
) -> None:  # pragma: no cover - compiled
    w = op_wc[o]
    vol = op_vol[o]
    if vol > 0:
        _set_level(wf, w, vol)
    arrive = t + transport[from_loc, w + 1]
    recf[R_DEPART, o] = t
    recf[R_ARRIVE, o] = arrive
    jf[J_ARRIVE, j] = arrive
    ji[J_STATE, j] = _WAITING
    _wq_append(ji, wi, w, j)
    wi[W_READY, w] = 1


@_jit
def _try_leave(
    m: int,
    j: int,
    t: float,
    n_wc: int,
    ji: Any,
    jf: Any,
    mi: Any,
    wf: Any,
    wi: Any,
    recf: Any,
    sc: Any,
    prm: Any,
    op_wc: Any,
    op_vol: Any,
    si_job: Any,
    sf_job: Any,
    si_m: Any,
    cap: Any,
    transport: Any,
) -> bool:  # pragma: no cover - compiled
    o = ji[J_OP, j]
    w_here = si_m[SM_WC, m]
    nxt = o + 1
    end_j = si_job[SJ_END, j]
    par = si_job[SJ_PARENT, j]
    if nxt >= end_j and par >= 0:  # _to_kit
        fp = si_job[SJ_FIRST, par]
        w = op_wc[fp]
        vol = sf_job[SJ_KITVOL, j]
        if not _room(prm, wf, cap, w, vol):
            return False
        if vol > 0:
            _set_level(wf, w, vol)
        arrive = t + transport[w_here + 1, w + 1]
        recf[R_LEAVE, o] = t
        jf[J_FINISH_ARRIVE, j] = arrive
        ji[J_STATE, j] = _DONE
        ji[J_OP, j] = o + 1
        sc[S_NDONE] += 1
        if arrive > jf[J_KIT_ARRIVE, par]:
            jf[J_KIT_ARRIVE, par] = arrive
        ji[J_KIT_LEFT, par] -= 1
        if ji[J_KIT_LEFT, par] == 0:  # the kit is complete: the assembly is a candidate
            recf[R_DEPART, fp] = t
            recf[R_ARRIVE, fp] = jf[J_KIT_ARRIVE, par]
            jf[J_ARRIVE, par] = jf[J_KIT_ARRIVE, par]
            ji[J_STATE, par] = _WAITING
            _wq_append(ji, wi, w, par)
            wi[W_READY, w] = 1
    elif nxt >= end_j:
        recf[R_LEAVE, o] = t
        jf[J_FINISH_ARRIVE, j] = t + transport[w_here + 1, n_wc + 1]
        ji[J_STATE, j] = _DONE
        ji[J_OP, j] = nxt
        sc[S_NDONE] += 1
    else:
        w = op_wc[nxt]
        if not _room(prm, wf, cap, w, op_vol[nxt]):
            return False
        recf[R_LEAVE, o] = t
        ji[J_OP, j] = nxt
        _depart(j, nxt, w_here + 1, t, ji, jf, wf, wi, recf, op_wc, op_vol, transport)
    mi[M_STATE, m] = _IDLE
    mi[M_JOB, m] = -1
    wi[W_READY, w_here] = 1
    return True


@_jit
def _commit_times(
    j: int,
    o: int,
    m: int,
    t: float,
    ji: Any,
    jf: Any,
    mi: Any,
    prm: Any,
    op_setup: Any,
    setup: Any,
    proc: Any,
    si_m: Any,
    cs: Any,
    ce: Any,
    cc: Any,
    off: Any,
    coff: Any,
    hor: Any,
) -> tuple[bool, float, float, float, float]:  # pragma: no cover - compiled
    """(ok, setup_start, setup_end, start, end) of machine m taking job j (op o) at t."""
    s_from = mi[M_SETUP, m]
    s_to = op_setup[o]
    st = 0.0 if s_from == s_to else setup[m, s_from, s_to]
    arrive = jf[J_ARRIVE, j]
    setup_start = t if prm[P_ANTICIP] == 1 else _pmax(t, arrive)
    if si_m[SM_HASCAL, m] == 0:
        setup_end = setup_start + st
        start = _pmax(setup_end, arrive)
        end = start + proc[o, m]
        return True, setup_start, setup_end, start, end
    if st > 0:
        ok, setup_start, setup_end = _finish(m, setup_start, st, cs, ce, cc, off, coff, hor)
        if not ok:
            return False, 0.0, 0.0, 0.0, 0.0
    else:
        setup_end = setup_start
    start = _pmax(setup_end, arrive)
    p = proc[o, m]
    if p > 0:
        if si_m[SM_NONINT, m] == 1:
            ok, start = _fit(m, start, p, cs, ce, off, hor)
            end = start + p
        else:
            ok, start, end = _finish(m, start, p, cs, ce, cc, off, coff, hor)
        if not ok:
            return False, 0.0, 0.0, 0.0, 0.0
    else:
        end = start
    return True, setup_start, setup_end, start, end


@_jit
def _commit(
    j: int,
    o: int,
    m: int,
    t: float,
    ss: float,
    se: float,
    start: float,
    end: float,
    ji: Any,
    mi: Any,
    mf: Any,
    wi: Any,
    recf: Any,
    reci: Any,
    sc: Any,
    ef: Any,
    ei: Any,
    log_f: Any,
    log_i: Any,
    op_wc: Any,
    op_setup: Any,
) -> None:  # pragma: no cover - compiled
    w = op_wc[o]
    _wq_remove(ji, wi, w, j)
    ji[J_STATE, j] = _ASSIGNED
    mi[M_STATE, m] = _BUSY
    mi[M_JOB, m] = j
    s_from = mi[M_SETUP, m]
    mi[M_SETUP, m] = op_setup[o]
    mf[M_FREE_AT, m] = end
    recf[R_SS, o] = ss
    recf[R_SE, o] = se
    recf[R_START, o] = start
    recf[R_END, o] = end
    reci[0, o] = m
    reci[1, o] = s_from
    seq = sc[S_SEQ] + 2
    sc[S_SEQ] = seq
    _push(ef, ei, sc, start, _START, seq - 1, j, o)
    _push(ef, ei, sc, end, _END, seq, j, m)
    sc[S_STEPS] += 1
    n = sc[S_LOGN]
    log_f[n] = t
    log_i[0, n] = m
    log_i[1, n] = j
    sc[S_LOGN] = n + 1


# -- the packed buffers: the run state in two arrays (DI: int64, DF: float64) and the instance
# in two (SI, SF), so that a call passes a few arguments (numba unboxes each one per call)
@_jit
def dyn_views(
    DI: Any, DF: Any, n_j: int, n_m: int, n_w: int, n_o: int
) -> tuple[Any, ...]:  # pragma: no cover
    """(sc, ji, mi, wi, reci, log_i, cand, cand_ops, prm, tm, jf, mf, wf, recf, log_f): views."""
    a = 0
    sc = DI[a : a + N_SC]
    a += N_SC
    ji = DI[a : a + 6 * n_j].reshape((6, n_j))
    a += 6 * n_j
    mi = DI[a : a + 4 * n_m].reshape((4, n_m))
    a += 4 * n_m
    wi = DI[a : a + 8 * n_w].reshape((8, n_w))
    a += 8 * n_w
    reci = DI[a : a + 2 * n_o].reshape((2, n_o))
    a += 2 * n_o
    log_i = DI[a : a + 2 * n_o].reshape((2, n_o))
    a += 2 * n_o
    cand = DI[a : a + n_j]
    a += n_j
    cand_ops = DI[a : a + n_j]
    a += n_j
    prm = DI[a : a + 3]
    b = 0
    tm = DF[b : b + 1]
    b += 1
    jf = DF[b : b + 3 * n_j].reshape((3, n_j))
    b += 3 * n_j
    mf = DF[b : b + 3 * n_m].reshape((3, n_m))
    b += 3 * n_m
    wf = DF[b : b + 2 * n_w].reshape((2, n_w))
    b += 2 * n_w
    recf = DF[b : b + 7 * n_o].reshape((7, n_o))
    b += 7 * n_o
    log_f = DF[b : b + n_o]
    return sc, ji, mi, wi, reci, log_i, cand, cand_ops, prm, tm, jf, mf, wf, recf, log_f


def dyn_sizes(n_j: int, n_m: int, n_w: int, n_o: int) -> tuple[int, int]:
    """Lengths of I and DF."""
    return (
        N_SC + 8 * n_j + 4 * n_m + 8 * n_w + 4 * n_o + 3,
        1 + 3 * n_j + 3 * n_m + 2 * n_w + 8 * n_o,
    )


@_jit
def static_views(SI: Any, SF: Any) -> tuple[Any, ...]:  # pragma: no cover - compiled
    """(si_job, si_m, op_wc, op_setup, wc_m_start, wc_m, wc_uniform, sf_job, op_vol, cap)."""
    n_j, n_m, n_w, n_o = SI[0], SI[1], SI[2], SI[3]
    a = 4
    si_job = SI[a : a + 4 * n_j].reshape((4, n_j))
    a += 4 * n_j
    si_m = SI[a : a + 4 * n_m].reshape((4, n_m))
    a += 4 * n_m
    op_wc = SI[a : a + n_o]
    a += n_o
    op_setup = SI[a : a + n_o]
    a += n_o
    wc_m_start = SI[a : a + n_w + 1]
    a += n_w + 1
    wc_m = SI[a : a + n_m]
    a += n_m
    wc_uniform = SI[a : a + n_w]
    b = 0
    sf_job = SF[b : b + 3 * n_j].reshape((3, n_j))
    b += 3 * n_j
    op_vol = SF[b : b + n_o]
    b += n_o
    cap = SF[b : b + n_w]
    return si_job, si_m, op_wc, op_setup, wc_m_start, wc_m, wc_uniform, sf_job, op_vol, cap


@_jit
def cal_views(CF: Any, CI: Any) -> tuple[Any, ...]:  # pragma: no cover - compiled
    """(cs, ce, cc, hor, off, coff) of the packed working-time tables."""
    n_m = CI[0]
    n_iv = CI[1]
    n_c = CI[2]
    off = CI[3 : 3 + n_m + 1]
    coff = CI[3 + n_m + 1 : 3 + 2 * (n_m + 1)]
    cs = CF[0:n_iv]
    ce = CF[n_iv : 2 * n_iv]
    cc = CF[2 * n_iv : 2 * n_iv + n_c]
    hor = CF[2 * n_iv + n_c : 2 * n_iv + n_c + n_m]
    return cs, ce, cc, hor, off, coff


def rule_tables(st: Any, job_path_work: Any) -> tuple[Any, Any]:
    """The rules' per-instance arrays packed for :func:`run_rule` (``RI`` int64, ``RF``
    float64; :func:`rule_views` unpacks them): the same values ``Rule.compiled`` passes to
    its kernel (``furnsim.rules``: ``StaticArrays``, the children of every assembly in
    ascending order, ``job_last + 1``)."""
    par = np.asarray(st.job_parent, dtype=np.int64)
    ch = np.flatnonzero(par >= 0)
    ch = ch[np.argsort(par[ch], kind="stable")]
    start = np.zeros(st.n_jobs + 1, dtype=np.int64)
    start[1:] = np.cumsum(np.bincount(par[ch], minlength=st.n_jobs))
    ri = [st.op_next_wc, par, start, st.job_last + 1, ch]
    rf = [
        st.job_log_priority, st.op_log_proc, st.op_rem_work, st.job_deadline, st.op_mean_proc,
        st.job_release, job_path_work, st.op_npt, st.op_next_vol, st.op_volume, st.cap_ext,
    ]  # fmt: skip
    RI = np.concatenate([np.asarray(x, dtype=np.int64).ravel() for x in ri])
    RF = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in rf])
    return RI, RF


@_jit
def rule_views(
    RI: Any, RF: Any, n_j: int, n_o: int, n_m: int
) -> tuple[Any, ...]:  # pragma: no cover
    """(next_wc, parent, kid_start, kids, job_end, logw, logp, rem, deadline, mean_proc,
    release, path_work, npt, next_vol, volume, cap_ext) of :func:`rule_tables`' arrays."""
    a = 0
    next_wc = RI[a : a + n_o]
    a += n_o
    parent = RI[a : a + n_j]
    a += n_j
    kid_start = RI[a : a + n_j + 1]
    a += n_j + 1
    job_end = RI[a : a + n_j]
    a += n_j
    kids = RI[a:]
    b = 0
    logw = RF[b : b + n_j]
    b += n_j
    logp = RF[b : b + n_o * n_m].reshape((n_o, n_m))
    b += n_o * n_m
    rem = RF[b : b + n_o]
    b += n_o
    dl = RF[b : b + n_j]
    b += n_j
    mean_proc = RF[b : b + n_o]
    b += n_o
    release = RF[b : b + n_j]
    b += n_j
    path_work = RF[b : b + n_j]
    b += n_j
    npt = RF[b : b + n_o]
    b += n_o
    next_vol = RF[b : b + n_o]
    b += n_o
    volume = RF[b : b + n_o]
    b += n_o
    cap_ext = RF[b:]
    return (
        next_wc,
        parent,
        kid_start,
        kids,
        job_end,
        logw,
        logp,
        rem,
        dl,
        mean_proc,
        release,
        path_work,
        npt,
        next_vol,
        volume,
        cap_ext,
    )


@_jit
def _rule_pick(
    rid: int,
    rpar: float,
    RI: Any,
    RF: Any,
    n_j: int,
    n_o: int,
    n_m: int,
    cand: Any,
    cand_ops: Any,
    k: int,
    m: int,
    t: float,
    mi: Any,
    ji: Any,
    jf: Any,
    si_m: Any,
    op_setup: Any,
    op_wc: Any,
    n_wc: int,
    proc: Any,
    setup: Any,
    cs: Any,
    ce: Any,
    cc: Any,
    off: Any,
    coff: Any,
    wf: Any,  # (2, n_wc) buffer levels (W_LEVEL), peaks
) -> int:  # pragma: no cover - compiled
    """The candidate (index into ``cand``) the rule ``rid`` picks at machine ``m``, time
    ``t``: its kernel with the arguments ``Rule.compiled`` gives it (the machine's working
    time: its slice of the packed tables, which :meth:`Simulator.run_rule` built past every
    deadline, as ``rules._calendar`` does)."""
    (nwc, par, kst, kids, jend, logw, logp, rem, dl, mproc, rel, pwork, npt, nvol, vol,
     cap_ext) = rule_views(RI, RF, n_j, n_o, n_m)  # fmt: skip
    c = cand[:k]
    ops = cand_ops[:k]
    has_cal = si_m[SM_HASCAL, m] == 1
    a, b = off[m], off[m + 1]
    ca, cb = coff[m], coff[m + 1]
    if rid == RULE_ATC:
        j = atc_pick(c, ops, m, t, mi[M_SETUP, m], 2.0, rpar, proc, setup, op_setup, logw, logp,
                     rem, dl, has_cal, cs[a:b], ce[a:b], cc[ca:cb])  # fmt: skip
    elif rid == RULE_FIFO:
        j = fifo_pick(c, jf[J_ARRIVE], rel)
    elif rid == RULE_BUFFER:
        j = buffer_pick(c, ops, m, proc, nwc, nvol, vol, cap_ext, wf[W_LEVEL], n_wc,
                        cap_ext[si_m[SM_WC, m]], dl)  # fmt: skip
    elif rid == RULE_PTWINQS or rid >= RULE_SETUP:
        j = composite_pick(rid, c, ops, m, t, mi[M_SETUP, m], proc, setup, op_setup, rem, mproc,
                           npt, op_wc, nwc, n_wc, dl, ji[J_STATE], ji[J_OP], has_cal, cs[a:b],
                           ce[a:b], cc[ca:cb])  # fmt: skip
    else:
        j = kit_pick(c, par, kst, kids, ji[J_STATE], ji[J_OP], rem, pwork, jend, dl)
    for x in range(k):
        if cand[x] == j:
            return x
    return -1


@_jit
def run(
    job: int,  # a job for the pending decision's machine (sc[S_OUT_M]), -1: just advance
    skip_single: bool,
    prio: Any,  # (n_ops, n_machines) float64 static priority (a rule's key, smallest first)
    #             taking every decision (prio_choice); (0, 0): hand the decisions out
    stop: int,  # > 0: hand the decisions out again once the dispatch log holds ``stop``
    nz_u: Any,  # noise (_loop): (n,) float64 uniforms, (0,): none
    nz_pos: Any,  # (1,) int64: the next uniform to use
    nz_p: float,
    nz_end: float,
    nz_wc: int,
    DI: Any,  # the run state, int64 (dyn_views)
    DF: Any,  # the run state, float64
    ef: Any,  # (cap,) event times
    ei: Any,  # (4, cap) event kind, seq, a, b
    SI: Any,  # the instance, int64 (static_views)
    SF: Any,  # the instance, float64
    transport: Any,
    proc: Any,
    setup: Any,
    elig: Any,  # (n_ops, n_machines) bool
    CF: Any,  # working-time tables (cal_views)
    CI: Any,
) -> int:  # pragma: no cover - compiled
    """Commit ``job`` (if >= 0) and run to the next decision (:func:`_loop`; no rule)."""
    return _loop(job, skip_single, prio, stop, RULE_NONE, 0.0, SI, SF, nz_u, nz_pos, nz_p,
                 nz_end, nz_wc, DI, DF, ef, ei, SI, SF, transport, proc, setup, elig, CF,
                 CI)  # fmt: skip


@_jit
def run_rule(
    rid: int,  # the rule's compiled pick (RULE_ATC, ...)
    rpar: float,  # its parameter (RULE_ATC: k_s; <= 0 is ATC)
    stop: int,  # as run()'s
    nz_u: Any,  # noise, as run()'s
    nz_pos: Any,
    nz_p: float,
    nz_end: float,
    nz_wc: int,
    RI: Any,  # the rules' instance arrays, int64 (rule_tables, rule_views)
    RF: Any,  # float64
    DI: Any,
    DF: Any,
    ef: Any,
    ei: Any,
    SI: Any,
    SF: Any,
    transport: Any,
    proc: Any,
    setup: Any,
    elig: Any,
    CF: Any,
    CI: Any,
) -> int:  # pragma: no cover - compiled
    """Run on, every decision taken by the rule's pick (``furnsim._rule_kernels``: the same
    job as ``Rule.compiled``), until the dispatch log holds ``stop`` dispatches (0: to the
    end); returns as :func:`_loop`."""
    no_prio = np.zeros((0, 0))
    return _loop(-1, True, no_prio, stop, rid, rpar, RI, RF, nz_u, nz_pos, nz_p, nz_end, nz_wc,
                 DI, DF, ef, ei, SI, SF, transport, proc, setup, elig, CF, CI)  # fmt: skip


@_jit
def _loop(
    job: int,  # a job for the pending decision's machine (sc[S_OUT_M]), -1: just advance
    skip_single: bool,
    prio: Any,  # (n_ops, n_machines) float64 static priority (a rule's key, smallest first)
    #             taking every decision (prio_choice); (0, 0): hand the decisions out
    stop: int,  # > 0: hand the decisions out again once the dispatch log holds ``stop``
    rid: int,  # > 0: a rule's compiled pick takes every decision (_rule_pick); 0: none
    rpar: float,  # the rule's parameter
    RI: Any,  # the rules' arrays (rule_views; unused when rid == 0)
    RF: Any,
    nz_u: Any,  # noise: at a decision of more than one candidate before ``nz_end`` (at a
    #             machine of work center ``nz_wc``; -1: any), u = nz_u[pos] (pos += 1); if
    #             u < nz_p, the candidate int(v * k) with v = nz_u[pos] (pos += 1) instead of
    #             the priority's / rule's pick (the lns window and group moves; Noise in
    #             furnsim.sim.engine draws the same in Python); (0,): none, and none once
    #             fewer than 2 are left
    nz_pos: Any,  # (1,) int64: pos
    nz_p: float,
    nz_end: float,
    nz_wc: int,
    DI: Any,  # the run state, int64 (dyn_views)
    DF: Any,  # the run state, float64
    ef: Any,  # (cap,) event times
    ei: Any,  # (4, cap) event kind, seq, a, b
    SI: Any,  # the instance, int64 (static_views)
    SF: Any,  # the instance, float64
    transport: Any,
    proc: Any,
    setup: Any,
    elig: Any,  # (n_ops, n_machines) bool
    CF: Any,  # working-time tables (cal_views)
    CI: Any,
) -> int:  # pragma: no cover - compiled
    """Commit ``job`` (if >= 0) and run to the next decision (``DECISION``: machine
    ``sc[S_OUT_M]``, ``sc[S_OUT_K]`` candidates in ``cand``), or ``DONE_ALL`` / ``DEADLOCK``;
    ``NEED_EXTEND`` (machine ``sc[S_EXT_M]``; the job still to commit in ``sc[S_PENDING]``,
    -1 if none) and ``GROW`` (the event arrays are full) change nothing left undone: call
    again with ``sc[S_PENDING]``. ``INVALID``: ``job`` is not a candidate (nothing changed)."""
    n_jobs, n_m, n_wc, n_o = SI[0], SI[1], SI[2], SI[3]
    sc, ji, mi, wi, reci, log_i, cand, cand_ops, prm, tm, jf, mf, wf, recf, log_f = dyn_views(
        DI, DF, n_jobs, n_m, n_wc, n_o
    )
    si_job, si_m, op_wc, op_setup, wc_m_start, wc_m, wc_uniform, sf_job, op_vol, cap = static_views(
        SI, SF
    )
    cs, ce, cc, hor, off, coff = cal_views(CF, CI)
    cap_ev = ef.shape[0]
    t = tm[0]
    sc[S_PENDING] = -1
    if job >= 0:
        m = sc[S_OUT_M]
        if ji[J_STATE, job] != _WAITING:
            return INVALID
        o = ji[J_OP, job]
        if not elig[o, m] or op_wc[o] != si_m[SM_WC, m]:
            return INVALID
        if sc[S_EVN] + 2 > cap_ev:
            sc[S_PENDING] = job
            return GROW
        ok, ss, se, st_, en = _commit_times(
            job, o, m, t, ji, jf, mi, prm, op_setup, setup, proc, si_m, cs, ce, cc, off, coff, hor
        )
        if not ok:
            sc[S_EXT_M] = m
            sc[S_PENDING] = job
            return NEED_EXTEND
        _commit(job, o, m, t, ss, se, st_, en, ji, mi, mf, wi, recf, reci, sc, ef, ei,
                log_f, log_i, op_wc, op_setup)  # fmt: skip
    while True:
        if sc[S_EVN] + 2 + n_m > cap_ev:
            return GROW
        # -- the events due now (_process_events_at)
        if sc[S_EVN] > 0 and ef[0] <= t:
            while sc[S_EVN] > 0 and ef[0] <= t:
                kind = ei[0, 0]
                a = ei[2, 0]
                b = ei[3, 0]
                _pop(ef, ei, sc)
                if kind == _START:
                    j, o = a, b
                    ji[J_STATE, j] = _PROCESSING
                    vol = op_vol[o]
                    if prm[P_KITS] == 1 and o == si_job[SJ_FIRST, j]:
                        vol += sf_job[SJ_KITTOT, j]
                    if vol > 0:
                        w = op_wc[o]
                        _set_level(wf, w, -vol)
                        wi[W_DIRTY, w] = 1
                elif kind == _END:
                    j, m = a, b
                    o = ji[J_OP, j]
                    mf[M_BUSY, m] += proc[o, m]
                    if not _try_leave(m, j, t, n_wc, ji, jf, mi, wf, wi, recf, sc, prm, op_wc,
                                      op_vol, si_job, sf_job, si_m, cap, transport):  # fmt: skip
                        mi[M_STATE, m] = _MBLOCKED
                        ji[J_STATE, j] = _BLOCKED
                        # the work center it waits for (_dest)
                        if o + 1 < si_job[SJ_END, j]:
                            wd = op_wc[o + 1]
                        else:
                            wd = op_wc[si_job[SJ_FIRST, si_job[SJ_PARENT, j]]]
                        mi[M_BNEXT, m] = -1
                        tl = wi[W_BTAIL, wd]
                        if tl < 0:
                            wi[W_BHEAD, wd] = m
                        else:
                            mi[M_BNEXT, tl] = m
                        wi[W_BTAIL, wd] = m
                elif kind == _WAKE:
                    m = a
                    mf[M_WAKE, m] = np.nan
                    wi[W_READY, si_m[SM_WC, m]] = 1
                else:  # release
                    j = a
                    o = si_job[SJ_FIRST, j]
                    w = op_wc[o]
                    if wi[W_SHEAD, w] >= 0 or not _room(prm, wf, cap, w, op_vol[o]):
                        ji[J_SNEXT, j] = -1
                        tl = wi[W_STAIL, w]
                        if tl < 0:
                            wi[W_SHEAD, w] = j
                        else:
                            ji[J_SNEXT, tl] = j
                        wi[W_STAIL, w] = j
                    else:
                        _depart(j, o, 0, t, ji, jf, wf, wi, recf, op_wc, op_vol, transport)
        # -- departures into freed space (_retry_departures)
        while True:
            w = -1
            for x in range(n_wc):
                if wi[W_DIRTY, x] == 1:
                    w = x
                    break
            if w < 0:
                break
            wi[W_DIRTY, w] = 0
            while wi[W_BHEAD, w] >= 0:
                m = wi[W_BHEAD, w]
                j = mi[M_JOB, m]
                if not _try_leave(m, j, t, n_wc, ji, jf, mi, wf, wi, recf, sc, prm, op_wc,
                                  op_vol, si_job, sf_job, si_m, cap, transport):  # fmt: skip
                    break
                nx = mi[M_BNEXT, m]
                wi[W_BHEAD, w] = nx
                if nx < 0:
                    wi[W_BTAIL, w] = -1
                mi[M_BNEXT, m] = -1
            if wi[W_BHEAD, w] >= 0:
                continue  # a blocked machine is first in line for the space
            while wi[W_SHEAD, w] >= 0:
                j = wi[W_SHEAD, w]
                o = si_job[SJ_FIRST, j]
                if not _room(prm, wf, cap, w, op_vol[o]):
                    break
                nx = ji[J_SNEXT, j]
                wi[W_SHEAD, w] = nx
                if nx < 0:
                    wi[W_STAIL, w] = -1
                ji[J_SNEXT, j] = -1
                _depart(j, o, 0, t, ji, jf, wf, wi, recf, op_wc, op_vol, transport)
        if sc[S_EVN] > 0 and ef[0] <= t:
            continue
        # -- the next deciding machine (_find): lowest ready work center, then machine
        fm = -1
        k = 0
        for w in range(n_wc):
            if wi[W_READY, w] == 0:
                continue
            if wi[W_QHEAD, w] < 0:
                wi[W_READY, w] = 0
                continue
            any_idle = False
            for x in range(wc_m_start[w], wc_m_start[w + 1]):
                if mi[M_STATE, wc_m[x]] == _IDLE:
                    any_idle = True
                    break
            if not any_idle:
                wi[W_READY, w] = 0
                continue
            for x in range(wc_m_start[w], wc_m_start[w + 1]):
                m = wc_m[x]
                if mi[M_STATE, m] != _IDLE:
                    continue
                if si_m[SM_HASCAL, m] == 1:
                    ok, working = _working_at(m, t, cs, ce, off, hor)
                    if not ok:
                        sc[S_EXT_M] = m
                        return NEED_EXTEND
                    if not working:  # _wake: it decides when its next window opens
                        ok, tw = _next_start(m, t, cs, ce, off, hor)
                        if not ok:
                            sc[S_EXT_M] = m
                            return NEED_EXTEND
                        if mf[M_WAKE, m] != tw:  # (NaN: none pending)
                            mf[M_WAKE, m] = tw
                            sc[S_SEQ] += 1
                            _push(ef, ei, sc, tw, _WAKE, sc[S_SEQ], m, 0)
                        continue
                k = 0
                j = wi[W_QHEAD, w]
                uni = wc_uniform[w] == 1
                while j >= 0:
                    if uni or elig[ji[J_OP, j], m]:
                        cand[k] = j
                        cand_ops[k] = ji[J_OP, j]
                        k += 1
                    j = ji[J_QNEXT, j]
                if k > 0:
                    fm = m
                    break
            if fm >= 0:
                break
        if fm >= 0:
            held = stop > 0 and sc[S_LOGN] >= stop  # (stop: hand this decision out)
            if ((skip_single and k == 1) or prio.shape[0] > 0 or rid > 0) and not held:
                # take it, go on
                q0 = nz_pos[0]  # (noise: restored if the commit must wait for a calendar)
                if rid == RULE_SCRIPT:  # the given job (no candidate: hand the decision out)
                    x = -1
                    for y in range(k):
                        if cand[y] == RI[sc[S_LOGN]]:
                            x = y
                    if x < 0:
                        sc[S_OUT_M] = fm
                        sc[S_OUT_K] = k
                        return DECISION
                elif k == 1:
                    x = 0
                else:
                    x = -1
                    if nz_u.shape[0] > 0 and t < nz_end and (nz_wc < 0 or si_m[SM_WC, fm] == nz_wc):
                        q = nz_pos[0]
                        if q + 2 <= nz_u.shape[0]:  # (none left: no noise; lns draws 2 n_ops)
                            nz_pos[0] = q + 1
                            if nz_u[q] < nz_p:
                                nz_pos[0] = q + 2
                                x = min(int(nz_u[q + 1] * k), k - 1)
                    if x < 0:
                        if rid > 0:
                            x = _rule_pick(rid, rpar, RI, RF, n_jobs, n_o, n_m, cand, cand_ops,
                                           k, fm, t, mi, ji, jf, si_m, op_setup, op_wc, n_wc,
                                           proc, setup, cs, ce, cc, off, coff, wf)  # fmt: skip
                        else:
                            x = prio_choice(prio, fm, cand, cand_ops, k)
                j = cand[x]
                o = cand_ops[x]
                ok, ss, se, st_, en = _commit_times(
                    j, o, fm, t, ji, jf, mi, prm, op_setup, setup, proc, si_m, cs, ce, cc, off,
                    coff, hor,
                )  # fmt: skip
                if not ok:
                    sc[S_EXT_M] = fm
                    nz_pos[0] = q0  # the same draw when called again
                    return NEED_EXTEND
                _commit(j, o, fm, t, ss, se, st_, en, ji, mi, mf, wi, recf, reci, sc, ef, ei,
                        log_f, log_i, op_wc, op_setup)  # fmt: skip
                continue
            sc[S_OUT_M] = fm
            sc[S_OUT_K] = k
            return DECISION
        if sc[S_EVN] == 0:
            if sc[S_NDONE] < n_jobs:
                return DEADLOCK
            return DONE_ALL
        t = ef[0]
        tm[0] = t


@_jit
def prio_choice(prio: Any, m: int, cand: Any, cand_ops: Any, k: int) -> int:  # pragma: no cover
    """The candidate (index into ``cand``) with the smallest ``prio[op, m]`` as
    ``furnsim.rules._lexmin`` takes it for one key: values within ``TIE_TOL · max(1, |min|)``
    of the minimum tie (``== min`` when it is infinite), NaN last, then the lowest job."""
    mn = np.inf
    n_ok = 0
    for i in range(k):
        v = prio[cand_ops[i], m]
        if v == v:
            if n_ok == 0 or v < mn:
                mn = v
            n_ok += 1
    best = -1
    if n_ok == 0:  # every value NaN: all tie
        for i in range(k):
            if best < 0 or cand[i] < cand[best]:
                best = i
        return best
    fin = math.isfinite(mn)
    thr = mn + 1e-9 * (abs(mn) if abs(mn) > 1.0 else 1.0)
    for i in range(k):
        v = prio[cand_ops[i], m]
        sel = v <= thr if fin else v == mn
        if sel and (best < 0 or cand[i] < cand[best]):
            best = i
    return best


@_jit
def init(
    DI: Any, DF: Any, ef: Any, ei: Any, SI: Any, SF: Any, hold: Any
) -> None:  # pragma: no cover
    """Reset's first part: empty jobs are done, the others (not assemblies) are released --
    at ``hold[j]`` instead where that is not NaN (a STORE hold placed before the first event:
    its release event keyed after every plain release of that instant, in job order, as the
    Python engine's; ``hold`` may be empty: no holds)."""
    n_j = SI[0]
    sc, ji, _mi, _wi, _reci, _li, _c, _co, _prm, _tm, _jf, _mf, _wf, _recf, _lf = dyn_views(
        DI, DF, n_j, SI[1], SI[2], SI[3]
    )
    si_job, _sm, _ow, _os, _ws, _wm, _wu, sf_job, _ov, _cap = static_views(SI, SF)
    for j in range(n_j):
        if si_job[SJ_END, j] == si_job[SJ_FIRST, j]:
            ji[J_STATE, j] = _DONE
            sc[S_NDONE] += 1
        elif si_job[SJ_NCHILD, j] == 0:
            sc[S_SEQ] += 1
            if hold.shape[0] > j and not np.isnan(hold[j]):
                _push(ef, ei, sc, hold[j], _RELEASE, HOLD_SEQ + j, j, 0)
            else:
                _push(ef, ei, sc, sf_job[SJ_RELEASE, j], _RELEASE, sc[S_SEQ], j, 0)


@_jit
def winq(
    out: Any, ws: Any, wc_n: Any, op_mean_proc: Any, ji: Any, wi: Any
) -> None:  # pragma: no cover - compiled
    """``out[w]`` = work queued per machine at each work center ``w`` of ``ws`` (as
    ``observations._winq``: the waiting jobs' mean processing, summed in arrival order)."""
    for i in range(ws.shape[0]):
        w = ws[i]
        s = 0.0
        j = wi[W_QHEAD, w]
        while j >= 0:
            s += op_mean_proc[ji[J_OP, j]]
            j = ji[J_QNEXT, j]
        out[w] = s / max(wc_n[w], 1.0)


class FastStatic:
    """The per-instance arrays of the compiled loop (built once per compiled instance)."""

    __slots__ = ("SF", "SI", "elig", "ev_cap", "proc", "setup", "si_job", "transport")

    def __init__(self, sim: Any) -> None:
        ci = sim.ci
        n_o, n_m, n_w, n_j = ci.n_ops, ci.n_machines, ci.n_wc, ci.n_jobs
        s = ci.job_op_start
        counts = np.bincount(ci.machine_wc, minlength=n_w)
        elig = np.zeros((n_o, n_m), dtype=np.bool_)
        elig[np.repeat(np.arange(n_o), np.diff(ci.op_elig_start)), ci.op_elig_machine] = True
        # uniform: every op of the work center is eligible on all its machines (_wc_uniform:
        # as many eligible machines as the work center has)
        uni = np.ones(n_w, dtype=np.int64)
        uni[np.unique(ci.op_wc[elig.sum(axis=1) != counts[ci.op_wc]])] = 0
        si_m = np.zeros((4, n_m), dtype=np.int64)
        si_m[SM_WC] = ci.machine_wc
        si_m[SM_INIT] = ci.machine_init_setup
        si_m[SM_HASCAL] = [mt is not None for mt in sim._mt]
        si_m[SM_NONINT] = sim._nonint
        parts = [
            np.array([n_j, n_m, n_w, n_o], dtype=np.int64),
            s[:-1], s[1:], ci.job_parent, ci.job_n_children,  # si_job rows
            si_m.ravel(),
            ci.op_wc, ci.op_setup,
            np.r_[0, np.cumsum(counts)],  # wc_m_start
            np.argsort(ci.machine_wc, kind="stable"),  # wc_m (ascending per work center)
            uni,
        ]  # fmt: skip
        self.SI = np.concatenate([np.asarray(x, dtype=np.int64).ravel() for x in parts])
        self.si_job = self.SI[4 : 4 + 4 * n_j].reshape(4, n_j)
        self.SF = np.concatenate(
            [
                np.asarray(x, dtype=np.float64).ravel()
                for x in (
                    ci.job_kit_volume,
                    sim._kit_total,
                    ci.job_release,
                    ci.op_volume,
                    ci.wc_capacity,
                )
            ]  # fmt: skip
        )
        self.elig = elig
        self.transport = np.ascontiguousarray(ci.transport, dtype=np.float64)
        self.proc = np.ascontiguousarray(ci.op_proc, dtype=np.float64)
        self.setup = np.ascontiguousarray(ci.setup_time, dtype=np.float64)
        # pending events: releases, and per machine a start, an end and a wake-up
        self.ev_cap = n_j + 4 * n_m + 16


class CalendarTables:
    """The machines' working-time tables packed for the kernel (``MachineTime``'s
    ``starts``/``ends``/``cum`` and horizon per machine), rebuilt when a table grew."""

    __slots__ = ("CF", "CI", "hor", "key")

    def __init__(self, mts: list[Any]) -> None:
        self.key = _key(mts)
        ss, es, cs_, offs, coffs = [], [], [], [0], [0]
        hor = np.zeros(len(mts))
        for m, mt in enumerate(mts):
            if mt is not None:
                ss.append(mt.starts)
                es.append(mt.ends)
                cs_.append(mt.cum)
                hor[m] = mt.horizon
            offs.append(offs[-1] + (0 if mt is None else mt.starts.size))
            coffs.append(coffs[-1] + (0 if mt is None else mt.cum.size))
        cs = np.concatenate(ss) if ss else np.zeros(0)
        cc = np.concatenate(cs_) if cs_ else np.zeros(0)
        self.CF = np.concatenate([cs, np.concatenate(es) if es else np.zeros(0), cc, hor])
        self.CI = np.array([len(mts), cs.size, cc.size, *offs, *coffs], dtype=np.int64)
        self.hor = hor

    def current(self, mts: list[Any]) -> bool:
        return self.key == _key(mts)


def _key(mts: list[Any]) -> tuple[Any, ...]:
    return tuple(None if mt is None else (id(mt.starts), mt.horizon) for mt in mts)
