"""Compiled picks of the dispatching rules without a static key (ATCS, ATC, FIFO, KIT, BUFFER,
and through :func:`composite_pick` PTWINQS, SETUP, CR, LWKRMOD, PTWINQ, DPTLWKRS, DPTWINQNPT):
one call per decision instead of a handful of numpy operations.

Each kernel computes the rule's keys with the float operations of ``furnsim.rules`` in the
same order (``np.log`` values come precomputed from ``StaticArrays``, means are numpy's
pairwise sums, ``np.maximum`` / ``np.minimum`` keep their NaN and signed-zero behaviour,
working minutes are ``MachineTime.worked_before``'s arithmetic) and picks as
``furnsim.rules._lexmin`` (the tie tolerance, NaN last, then the lowest job), so the pick is
the numpy path's (tests/test_rules_compiled.py). Without numba (``furnsim._numba``) these
are plain Python functions and ``furnsim.rules`` keeps its numpy path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from furnsim._numba import jit, pairwise_sum

__all__ = ["atc_pick", "buffer_pick", "composite_pick", "fifo_pick", "kit_pick"]

TIE_TOL = 1e-9  # furnsim.rules.TIE_TOL
_EPS = 1e-9  # furnsim.rules._EPS
NO_DUE_SLACK = 1e6  # furnsim.rules.NO_DUE_SLACK
_WAITING = 1  # furnsim.sim.engine job state: in a buffer or in transit to it
_DONE = 5  # furnsim.sim.engine job state: left its last machine (a child: toward its kit)
#: the rules :func:`composite_pick` computes (also their ``RULE_*`` ids in the compiled loop,
#: furnsim.sim._fastloop, where PTWINQS is 2 and 5 is taken)
C_PTWINQS = 2
C_SETUP, C_CR, C_LWKRMOD, C_PTWINQ, C_DPTLWKRS, C_DPTWINQNPT = range(6, 12)
C_BUFFER = 12  # (its ``RULE_*`` id: buffer_pick)


@jit
def _worked_before(x: float, cs: Any, ce: Any, cc: Any) -> float:  # pragma: no cover - compiled
    """``MachineTime.worked_before`` (bisect right, ``min(max(..))``): the same floats."""
    lo = 0
    hi = cs.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if cs[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    i = lo - 1
    if i < 0:
        return 0.0
    s = cs[i]
    inside = min(max(x - s, 0.0), ce[i] - s)
    return cc[i] + inside


@jit
def _until(
    dl: float, t: float, w_now: float, has_cal: bool, cs: Any, ce: Any, cc: Any
) -> float:  # pragma: no cover - compiled
    """``Simulator.until`` of one deadline: elapsed minutes, working minutes of a calendared
    machine when the deadline is finite and ahead."""
    left = dl - t
    if has_cal and math.isfinite(dl) and left > 0:
        left = _worked_before(dl, cs, ce, cc) - w_now
    return left


@jit
def lexmin_index(keys: Any, c: Any) -> int:  # pragma: no cover - compiled
    """``furnsim.rules._lexmin`` over ``keys`` (rows, most significant first): values within
    ``TIE_TOL · max(1, |min|)`` of a row's minimum tie, NaN ranks last (all NaN: all tie),
    an infinite minimum ties only its equals; then the lowest job of ``c``. Returns that
    candidate's index (the environment's feature kernel marks its teacher pick with it)."""
    n_keys, k = keys.shape
    alive = np.ones(k, dtype=np.bool_)
    n_alive = k
    for q in range(n_keys):
        m = np.inf
        any_num = False
        for i in range(k):
            if alive[i]:
                v = keys[q, i]
                if v == v:
                    if not any_num or v < m:
                        m = v
                    any_num = True
        if not any_num:
            continue
        if math.isfinite(m):
            lim = m + TIE_TOL * max(1.0, abs(m))
            for i in range(k):
                if alive[i] and not (keys[q, i] <= lim):
                    alive[i] = False
                    n_alive -= 1
        else:
            for i in range(k):
                if alive[i] and keys[q, i] != m:
                    alive[i] = False
                    n_alive -= 1
        if n_alive == 1:
            break
    best = -1
    for i in range(k):
        if alive[i] and (best < 0 or c[i] < c[best]):
            best = i
    return best


@jit
def _lexmin(keys: Any, c: Any) -> int:  # pragma: no cover - compiled
    """The job :func:`lexmin_index` picks."""
    return int(c[lexmin_index(keys, c)])


@jit
def atc_pick(
    c: Any,  # (k,) int64 candidate jobs
    ops: Any,  # (k,) int64 their next operations
    m: int,  # the deciding machine
    t: float,  # now
    cur: int,  # the machine's current setup
    k_due: float,  # ATC's k (2)
    k_setup: float,  # ATCS's k_s (1); <= 0: ATC (no setup term)
    op_proc: Any,  # (n_ops, n_machines)
    setup_time: Any,  # (n_machines, n_setups, n_setups)
    op_setup: Any,  # (n_ops,)
    job_logw: Any,  # (n_jobs,) np.log(priority)
    op_logp: Any,  # (n_ops, n_machines) np.log(max(p, 1e-9))
    op_rem_work: Any,  # (n_ops,)
    job_deadline: Any,  # (n_jobs,)
    has_cal: bool,  # machine m has working time (cs, ce, cc: its MachineTime arrays)
    cs: Any,
    ce: Any,
    cc: Any,
) -> int:  # pragma: no cover - compiled
    """The job ATC (``k_setup <= 0``) or ATCS picks (``furnsim.rules._atc_keys``)."""
    k = c.shape[0]
    p = np.empty(k)
    base = np.empty(k)
    for i in range(k):
        p[i] = op_proc[ops[i], m]
        base[i] = job_logw[c[i]] - op_logp[ops[i], m]
    if k_setup > 0:
        s = np.empty(k)
        for i in range(k):
            s[i] = setup_time[m, cur, op_setup[ops[i]]]
        s_bar = (0.0 + pairwise_sum(s, 0, k)) / k  # float(s.mean())
        if s_bar > _EPS:
            den = k_setup * s_bar
            for i in range(k):
                base[i] = base[i] - s[i] / den
    p_bar = (0.0 + pairwise_sum(p, 0, k)) / k
    if p_bar < _EPS:  # max(float(p.mean()), _EPS): a NaN mean stays
        p_bar = _EPS
    den = k_due * p_bar
    w_now = _worked_before(t, cs, ce, cc) if has_cal else 0.0
    keys = np.empty((2, k))
    for i in range(k):
        sl = _until(job_deadline[c[i]], t, w_now, has_cal, cs, ce, cc) - op_rem_work[ops[i]]
        due = (sl if (sl > 0.0 or sl != sl) else 0.0) / den  # np.maximum(slack, 0.0)
        keys[0, i] = due - base[i]
        keys[1, i] = -base[i]
    return _lexmin(keys, c)


@jit
def _winq(
    q: Any, op_wc: Any, op_mean_proc: Any, n_wc: int, job_state: Any, job_op: Any
) -> None:  # pragma: no cover - compiled
    """``rules._winq``'s queue per work center into ``q`` (np.bincount: job order)."""
    q[:] = 0.0
    for j in range(job_state.shape[0]):
        if job_state[j] == _WAITING:
            o = job_op[j]
            q[op_wc[o]] += op_mean_proc[o]
    q[n_wc] = 0.0


@jit
def fifo_pick(c: Any, job_arrive: Any, job_release: Any) -> int:  # pragma: no cover - compiled
    """The job FIFO picks: earliest arrival at the buffer, then release (``rules._fifo``)."""
    k = c.shape[0]
    keys = np.empty((2, k))
    for i in range(k):
        keys[0, i] = job_arrive[c[i]]
        keys[1, i] = job_release[c[i]]
    return _lexmin(keys, c)


@jit
def kit_pick(
    c: Any,  # (k,) int64 candidate jobs
    job_parent: Any,  # (n_jobs,) int64, -1 = none
    kid_start: Any,  # (n_jobs + 1,) int64 children of job p: kids[kid_start[p]:kid_start[p + 1]]
    kids: Any,  # int64 children, ascending per parent (Simulator._children)
    job_state: Any,  # state (n_jobs,)
    job_op: Any,  # state (n_jobs,)
    op_rem_work: Any,  # (n_ops,) the simulator's (to the order's root)
    job_path_work: Any,  # (n_jobs,) work of the job's ancestors
    job_end: Any,  # (n_jobs,) one past the job's last operation
    job_deadline: Any,  # (n_jobs,)
) -> int:  # pragma: no cover - compiled
    """The job KIT picks: least own remaining work of the siblings still missing, then the
    deadline (``furnsim.rules._kit``, ``furnsim.sim.kits.kit_features``: the same sums)."""
    k = c.shape[0]
    keys = np.empty((2, k))
    for i in range(k):
        j = c[i]
        w = 0.0
        p = job_parent[j]
        if p >= 0:
            for x in range(kid_start[p], kid_start[p + 1]):
                s = kids[x]
                if job_state[s] == _DONE or s == j:
                    continue
                o = job_op[s]
                own = op_rem_work[o] - job_path_work[s] if o < job_end[s] else 0.0
                w += own
        keys[0, i] = w
        keys[1, i] = job_deadline[j]
    return _lexmin(keys, c)


@jit
def composite_pick(
    kind: int,  # C_SETUP ... C_DPTWINQNPT
    c: Any,  # (k,) int64 candidate jobs
    ops: Any,  # (k,) int64 their next operations
    m: int,  # the deciding machine
    t: float,  # now
    cur: int,  # the machine's current setup
    op_proc: Any,  # (n_ops, n_machines)
    setup_time: Any,  # (n_machines, n_setups, n_setups)
    op_setup: Any,  # (n_ops,)
    op_rem_work: Any,  # (n_ops,)
    op_mean_proc: Any,  # (n_ops,)
    op_npt: Any,  # (n_ops,)
    op_wc: Any,  # (n_ops,)
    op_next_wc: Any,  # (n_ops,) n_wc after the last operation
    n_wc: int,
    job_deadline: Any,  # (n_jobs,)
    job_state: Any,  # state (n_jobs,)
    job_op: Any,  # state (n_jobs,)
    has_cal: bool,
    cs: Any,
    ce: Any,
    cc: Any,
) -> int:  # pragma: no cover - compiled
    """The job PTWINQS, SETUP, CR, LWKRMOD, PTWINQ, DPTLWKRS or DPTWINQNPT picks (``kind``),
    with the float operations of their keys in ``furnsim.rules`` (``_ptwinqs``,
    ``_min_setup``, ``_cr``, ``_lwkrmod`` with ``_mod``, ``_ptwinq``, ``_dptlwkrs``,
    ``_dptwinqnpt``)."""
    k = c.shape[0]
    keys = np.empty((2 if kind == C_SETUP else 1, k))
    if kind == C_SETUP:
        for i in range(k):
            keys[0, i] = setup_time[m, cur, op_setup[ops[i]]]
            keys[1, i] = job_deadline[c[i]]
        return _lexmin(keys, c)
    q = np.empty(n_wc + 1)  # WINQ per next work center
    if kind in (C_PTWINQS, C_PTWINQ, C_DPTWINQNPT):
        _winq(q, op_wc, op_mean_proc, n_wc, job_state, job_op)
    if kind in (C_PTWINQ, C_DPTWINQNPT):
        for i in range(k):
            o = ops[i]
            p = op_proc[o, m]
            if kind == C_PTWINQ:
                keys[0, i] = p + q[op_next_wc[o]]
            else:
                keys[0, i] = (2.0 * p + q[op_next_wc[o]]) + op_npt[o]
        return _lexmin(keys, c)
    w_now = _worked_before(t, cs, ce, cc) if has_cal else 0.0
    for i in range(k):
        o = ops[i]
        rem = op_rem_work[o]
        until = _until(job_deadline[c[i]], t, w_now, has_cal, cs, ce, cc)
        if kind == C_CR:
            r = rem if (rem > _EPS or rem != rem) else _EPS  # np.maximum(rem, _EPS)
            keys[0, i] = until / r
            continue
        sl = until - rem
        sl = sl if (sl < NO_DUE_SLACK or sl != sl) else NO_DUE_SLACK  # _slack's np.minimum
        p = op_proc[o, m]
        if kind == C_PTWINQS:
            keys[0, i] = (p + q[op_next_wc[o]]) + sl
        elif kind == C_DPTLWKRS:
            keys[0, i] = (2.0 * p + rem) + sl
        else:  # C_LWKRMOD: rem + max(t + pm + slack · pm / rem, t + p) (rules._mod)
            pm = op_mean_proc[o]
            share = pm / rem if rem > _EPS else 0.0
            odd = (t + pm) + sl * share
            tp = t + p
            # np.maximum(odd, tp): a NaN wins
            keys[0, i] = rem + (odd if (odd != odd or (tp == tp and odd >= tp)) else tp)
    return _lexmin(keys, c)


@jit
def buffer_pick(
    c: Any,  # (k,) int64 candidate jobs
    ops: Any,  # (k,) int64 their next operations
    m: int,  # the deciding machine
    op_proc: Any,  # (n_ops, n_machines)
    op_next_wc: Any,  # (n_ops,) n_wc after the last operation
    op_next_vol: Any,  # (n_ops,)
    op_volume: Any,  # (n_ops,)
    cap_ext: Any,  # (n_wc + 1,) capacities, inf for "finished"
    wc_level: Any,  # state (n_wc,) reserved buffer volume
    n_wc: int,
    cap_here: float,  # the capacity of the deciding machine's buffer
    job_deadline: Any,  # (n_jobs,)
) -> int:  # pragma: no cover - compiled
    """The job BUFFER picks (``furnsim.rules._buffer``): the next buffer has room, drains this
    buffer fastest, the emptiest next buffer, EDD -- the same floats."""
    k = c.shape[0]
    keys = np.empty((4, k))
    for i in range(k):
        o = ops[i]
        w = op_next_wc[o]
        cap_next = cap_ext[w]
        room = cap_next - wc_level[min(w, n_wc - 1)] - op_next_vol[o]
        keys[0, i] = 1.0 if room < -_EPS else 0.0
        frac = room / cap_next if math.isfinite(cap_next) else 1.0
        keys[2, i] = -(frac if (frac < 1.0 or frac != frac) else 1.0)  # np.minimum(frac, 1)
        v = op_volume[o]
        keys[1, i] = op_proc[o, m] * cap_here / v if (math.isfinite(cap_here) and v > 0) else np.inf
        keys[3, i] = job_deadline[c[i]]
    return _lexmin(keys, c)
