"""Compiled candidate-feature kernel (numba), with the pure-numpy path as automatic fallback.

:func:`features_kernel` fills the 23 :data:`~furnsim.env.observations.CANDIDATE_FEATURES`
of one decision in a single compiled loop over the candidates: processing / setup / slack /
buffer features, the ranks, the shop's pending load per work center (one pass over the
operations, summed in operation order exactly as ``np.bincount`` does) and the ATCS / BUFFER
teacher keys, their stable lexicographic ranks and picks (the rules' tie tolerance). Every
float operation is the one the numpy implementation does, in the same order, so the results
are bit-identical (tests/test_fastcore_features.py). Sums whose numpy order is pairwise
(means) and transcendental functions (``log``) are computed by numpy beforehand and passed in.

``HAVE_NUMBA`` is False when numba is not installed (``pip install furnsim[fast]``) or when
``FURNSIM_NO_NUMBA=1``; the observation then uses the numpy implementation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from furnsim._numba import HAVE_NUMBA, numba, pairwise_sum
from furnsim._numba import jit as _jit
from furnsim._rule_kernels import _worked_before, lexmin_index
from furnsim.sim._fastloop import (
    J_ARRIVE,
    J_OP,
    J_QNEXT,
    J_STATE,
    M_SETUP,
    M_STATE,
    S_STEPS,
    W_LEVEL,
    W_QHEAD,
    dyn_views,
)

__all__ = ["HAVE_NUMBA", "features_kernel", "numba", "pairwise_sum"]

_EPS = 1e-9
_BIG = np.finfo(np.float64).max


@_jit
def _lt(a: float, b: float) -> bool:  # pragma: no cover - compiled
    """a before b in numpy's sort order (NaN last)."""
    if a != a:
        return False
    if b != b:
        return True
    return a < b


@_jit
def _rank_into(f: Any, col: int, x: Any) -> None:  # pragma: no cover - compiled
    """f[:, col] = stable-argsort rank of x / (k - 1) in float32 (0 when k <= 1)."""
    k = x.shape[0]
    if k <= 1:
        for i in range(k):
            f[i, col] = 0.0
        return
    den = np.float32(k - 1)
    for i in range(k):
        r = 0
        xi = x[i]
        for j in range(k):
            xj = x[j]
            if _lt(xj, xi) or (j < i and not _lt(xi, xj)):
                r += 1
        f[i, col] = np.float32(r) / den


@_jit
def _lex_rank_pick(
    f: Any, col_rank: int, col_pick: int, keys: Any, jobs: Any
) -> None:  # pragma: no cover - compiled
    """Rank under keys (rows, most significant first; NaN as +inf; ties by position) and the
    rules' pick (``furnsim.rules._lexmin``: tie tolerance, NaN last, then least job index)."""
    n_keys, k = keys.shape
    den = np.float32(max(k - 1, 1))
    for i in range(k):
        r = 0
        for j in range(k):
            if j == i:
                continue
            less = False
            decided = False
            for q in range(n_keys):
                a = keys[q, j]
                b = keys[q, i]
                if a != a:
                    a = np.inf
                if b != b:
                    b = np.inf
                if a < b:
                    less = True
                    decided = True
                    break
                if a > b:
                    decided = True
                    break
            if less or (not decided and j < i):
                r += 1
        f[i, col_rank] = np.float32(r) / den
        f[i, col_pick] = 0.0
    # the pick: _lexmin
    best = lexmin_index(keys, jobs)
    f[best, col_pick] = 1.0


@_jit
def features_kernel(
    f: Any,  # (k, >=23) float32 out
    wload: Any,  # (n_wc + 1,) float64 out: pending load per work center
    jobs: Any,  # (k,) int64
    ops: Any,  # (k,) int64
    m: int,
    cur: int,
    t: float,
    P: float,
    n_wc: int,
    has_assembly: bool,
    w_here: int,
    op_proc: Any,  # (n_ops, n_machines)
    op_setup: Any,
    setup_time: Any,
    op_rem_work: Any,
    op_rem_ops: Any,
    op_wc: Any,
    op_volume: Any,
    op_next_wc: Any,
    op_next_vol: Any,
    op_job: Any,
    op_work: Any,
    route: Any,  # (n_ops, L)
    job_deadline: Any,
    job_last: Any,
    job_op: Any,  # state (n_jobs,)
    job_arrive: Any,  # state (n_jobs,)
    wc_level: Any,  # state (n_wc,)
    bounded: Any,
    cap: Any,
    cap_ext: Any,
    winq_w: Any,  # (n_wc,) queue work per machine of each candidate's next work center
    job_logw: Any,  # (n_jobs,) log(priority) (numpy's log, StaticArrays.job_log_priority)
    op_logp: Any,  # (n_ops, n_machines) log(max(p, eps)) (numpy's log, StaticArrays.op_log_proc)
    has_cal: bool,  # the deciding machine has working time (cal_*: its MachineTime arrays)
    cal_s: Any,  # (n_int,) float64 working interval starts (covering every finite deadline)
    cal_e: Any,  # (n_int,) float64 ends
    cal_c: Any,  # (n_int + 1,) float64 working minutes before each interval
    job_state: Any,  # state (n_jobs,)
    machine_state: Any,  # state (n_machines,)
    steps: int,
    wc_n_machines: Any,  # (n_wc,)
    c: Any,  # (9,) float32 out: the context (CONTEXT_FEATURES, n_cand = k)
) -> float:  # pragma: no cover - compiled
    """Fill f[:, :23], c and wload; returns the top load (max(wload), at least 1e-9)."""
    k = jobs.shape[0]
    n_ops = op_job.shape[0]
    # pending load per work center, in operation order (== np.bincount with weights)
    for w in range(wload.shape[0]):
        wload[w] = 0.0
    for o in range(n_ops):
        if o >= job_op[op_job[o]]:
            wload[op_wc[o]] += op_work[o]
    wload[n_wc] = 0.0
    top = wload[0]
    for w in range(1, wload.shape[0]):
        if wload[w] > top:
            top = wload[w]
    if not top > 1e-9:
        top = 1e-9
    proc = np.empty(k)
    s_raws = np.empty(k)
    for i in range(k):
        proc[i] = op_proc[ops[i], m]
        s_raws[i] = setup_time[m, cur, op_setup[ops[i]]]
    s_bar = pairwise_sum(s_raws, 0, k) / k  # == numpy's s.mean()
    p_bar = pairwise_sum(proc, 0, k) / k
    if not p_bar > _EPS:
        p_bar = _EPS if p_bar == p_bar else p_bar
    slack = np.empty(k)
    rem = np.empty(k)
    akeys = np.empty((2, k))
    bkeys = np.empty((4, k))
    bounded_here = bounded[w_here]
    cap_here = cap_ext[w_here]
    w_now = _worked_before(t, cal_s, cal_e, cal_c) if has_cal else 0.0
    for i in range(k):
        o = ops[i]
        j = jobs[i]
        p = proc[i]
        need = op_setup[o]
        s_raw = s_raws[i]
        s = s_raw
        if s != s:
            s = 0.0
        elif s == np.inf:
            s = _BIG
        elif s == -np.inf:
            s = -_BIG
        if need == cur:
            s = 0.0
        r = op_rem_work[o]
        rem[i] = r
        dl = job_deadline[j]
        if math.isfinite(dl):
            due = (dl - t) / (10 * P)
            sl = (dl - t - r) / (10 * P)
        else:
            due = 5.0
            sl = 5.0
        slack[i] = sl
        arr = job_arrive[j]
        last = o >= job_last[j]
        nxt = o if last else o + 1
        wn = op_wc[nxt]
        lvl = wc_level[wn] + op_volume[nxt]
        fin = last
        if has_assembly and last and op_next_wc[o] < n_wc:
            wn = op_next_wc[o]
            lvl = wc_level[wn] + op_next_vol[o]
            fin = False
        nf = 0.0 if fin or not bounded[wn] else lvl / cap[wn]
        nw = 0.0 if last else winq_w[wn] / P
        vh = op_volume[o] / cap[w_here] if bounded_here else 0.0
        f[i, 0] = p / P
        f[i, 1] = s / P
        f[i, 2] = 1.0 if need != cur else 0.0
        f[i, 3] = r / P
        f[i, 4] = op_rem_ops[o] / 10.0
        f[i, 5] = min(max(sl, -5.0), 5.0) if sl == sl else sl
        f[i, 6] = min(max(due, -5.0), 5.0) if due == due else due
        a = arr - t
        f[i, 7] = (a if (a > 0.0 or a != a) else 0.0) / P
        b = t - arr
        f[i, 8] = (b if (b > 0.0 or b != b) else 0.0) / P
        f[i, 9] = nf
        f[i, 10] = nw
        f[i, 11] = vh
        f[i, 12] = 1.0 if last else 0.0
        cnt = 0
        for q in range(k):
            if op_setup[ops[q]] == need:
                cnt += 1
        f[i, 16] = (cnt - 1) / max(k - 1, 1)
        f[i, 17] = 1.0 if ((not fin) and bounded[wn] and lvl > cap[wn] + 1e-9) else 0.0
        mx = wload[route[o, 0]]
        for q in range(1, route.shape[1]):
            v = wload[route[o, q]]
            if v > mx:
                mx = v
        f[i, 18] = mx / top
        # ATCS keys (furnsim.rules._atc_keys, k = 2, k_s = 1)
        base = job_logw[j] - op_logp[o, m]
        if s_bar > _EPS:
            base = base - s_raw / (1.0 * s_bar)
        # Simulator.until: minutes to the deadline, working minutes on a calendared machine
        ud = dl - t
        if has_cal and math.isfinite(dl) and ud > 0:
            ud = _worked_before(dl, cal_s, cal_e, cal_c) - w_now
        sla = ud - r
        du = (sla if sla > 0.0 or sla != sla else 0.0) / (2.0 * p_bar)
        akeys[0, i] = du - base
        akeys[1, i] = -base
        # BUFFER keys (furnsim.rules._buffer)
        nwc = op_next_wc[o]
        cn = cap_ext[nwc]
        lv = wc_level[min(nwc, n_wc - 1)]
        room = cn - lv - op_next_vol[o]
        bkeys[0, i] = 1.0 if room < -_EPS else 0.0
        v = op_volume[o]
        bkeys[1, i] = (p * cap_here) / v if (math.isfinite(cap_here) and v > 0) else np.inf
        fr = room / cn if math.isfinite(cn) else 1.0
        if fr > 1.0:
            fr = 1.0
        bkeys[2, i] = -fr
        bkeys[3, i] = dl
    _rank_into(f, 13, proc)
    _rank_into(f, 14, slack)
    _rank_into(f, 15, rem)
    _lex_rank_pick(f, 19, 20, akeys, jobs)
    _lex_rank_pick(f, 21, 22, bkeys, jobs)
    for i in range(k):
        for col in range(23):
            x = f[i, col]
            if x > 10.0:
                f[i, col] = 10.0
            elif x < -10.0:
                f[i, col] = -10.0
    # context (furnsim.env.observations.CONTEXT_FEATURES)
    fill = np.zeros(n_wc)
    nb = 0
    fmax = 0.0
    for w in range(n_wc):
        if bounded[w]:
            fill[w] = wc_level[w] / cap[w]
            nb += 1
        if w == 0 or fill[w] > fmax or fill[w] != fill[w]:
            fmax = fill[w]
    n_unf = 0
    n_late = 0
    for j in range(job_state.shape[0]):
        if job_state[j] != 5:  # DONE
            n_unf += 1
            if job_deadline[j] < t:
                n_late += 1
    n_m = machine_state.shape[0]
    n_blk = 0
    for q in range(n_m):
        if machine_state[q] == 2:  # MBLOCKED
            n_blk += 1
    cc = np.empty(9)
    cc[0] = k
    cc[1] = fill[w_here]
    cc[2] = pairwise_sum(fill, 0, n_wc) / max(nb, 1)
    cc[3] = fmax if n_wc else 0.0
    cc[4] = steps / max(n_ops, 1)
    cc[5] = n_blk / n_m if n_m else 0.0
    cc[6] = n_late / max(n_unf, 1)
    cc[7] = wc_n_machines[w_here] / 10.0
    cc[8] = wload[w_here] / top
    for q in range(9):
        x = np.float32(cc[q])
        if x > 10.0:
            x = np.float32(10.0)
        elif x < -10.0:
            x = np.float32(-10.0)
        c[q] = x
    return top


# -- the incremental reward's per-step bookkeeping (furnsim/env/incremental.py) ---------------
# acc (8,) float64: the IncrementalCost accumulators the kernel keeps
A_CEND, A_PROC, A_SETUP, A_SCOUNT, A_TCLOSED, A_OPEN_OK, A_TARD = range(7)


@_jit
def _cal_worked(
    m: int, a: float, b: float, has_cal: Any, CF: Any, CI: Any
) -> float:  # pragma: no cover - compiled
    """``incremental._worked``: working minutes of machine ``m`` in ``[a, b)`` from the packed
    tables of furnsim/sim/_fastloop.py (``b - a`` for a 24/7 machine)."""
    if not has_cal[m]:
        return b - a
    n_m, n_iv = CI[0], CI[1]
    lo, hi = CI[3 + m], CI[3 + m + 1]
    clo = 2 * n_iv + CI[3 + n_m + 1 + m]  # the machine's cum: hi - lo + 1 entries
    cs = CF[lo:hi]
    ce = CF[n_iv + lo : n_iv + hi]
    cc = CF[clo : clo + hi - lo + 1]
    return _worked_before(b, cs, ce, cc) - _worked_before(a, cs, ce, cc)


@_jit
def reward_step(
    log_i: Any,  # (2, cap) int64 the simulator's dispatch log: machine, job
    n_prev: int,  # log entries already read (-1: scan the records)
    n_log: int,  # log entries now
    ptr: Any,  # (n_jobs,) int64 next op of each job to be dispatched
    job_first: Any,
    job_end: Any,
    op_job: Any,
    rm: Any,  # (n_ops,) int64 the simulator's rec_machine
    seen: Any,  # (n_ops,) bool dispatched ops already counted
    ss_a: Any,  # (n_ops,) the simulator's records: setup start, setup end, start, end
    se_a: Any,
    st_a: Any,
    en_a: Any,
    working: bool,  # the plant has working time (processing from op_proc, setups worked)
    has_cal: Any,  # (n_machines,) bool
    CF: Any,  # the simulator's packed working-time tables (furnsim/sim/_fastloop.py)
    CI: Any,
    op_proc: Any,
    is_last: Any,
    op_order: Any,
    ord_cend: Any,  # (n_orders,) latest committed completion
    ord_unf: Any,  # (n_orders,) unfinished jobs
    ord_open: Any,  # (n_orders,) bool an open order with a deadline (the Python dict's keys)
    ord_dl: Any,
    ord_has: Any,
    acc: Any,  # (8,) float64 accumulators (A_*)
    new: Any,  # (n_ops,) int64 out: the new operations, ascending
    now: float,
    want_tard: bool,
) -> int:  # pragma: no cover - compiled
    """``IncrementalCost._new_dispatches`` + ``_dispatches`` + ``_tardiness`` in one call, the
    same float operations in the same order (numpy's pairwise sums where it sums arrays).
    Returns the number of new operations (in ``new``), or -1 when a record lies past the
    working-time tables (nothing counted then; the caller falls back to Python)."""
    n_o = rm.shape[0]
    c = 0
    scan = n_prev < 0
    if not scan and n_log > n_prev:
        for x in range(n_prev, n_log):
            m = log_i[0, x]
            j = log_i[1, x]
            o = ptr[j]
            if o >= job_end[j] or rm[o] != m or seen[o]:
                scan = True
                break
            new[c] = o
            c += 1
            ptr[j] = o + 1
        if not scan:
            new[:c].sort()
    if scan:
        c = 0
        for j in range(ptr.shape[0]):
            ptr[j] = job_first[j]
        for o in range(n_o):
            if rm[o] >= 0:
                if not seen[o]:
                    new[c] = o
                    c += 1
                j = op_job[o]
                if o + 1 > ptr[j]:
                    ptr[j] = o + 1
    if working:  # every record must lie inside the tables (it does: they only grow)
        for i in range(c):
            o = new[i]
            m = rm[o]
            if has_cal[m] and se_a[o] >= CF[2 * CI[1] + CI[2] + m]:
                return -1
    if 0 < c <= 16:  # _few_dispatches: one operation at a time
        ce = acc[A_CEND]
        for i in range(c):
            o = new[i]
            seen[o] = True
            ss, se, en = ss_a[o], se_a[o], en_a[o]
            if en > ce:
                ce = en
            slen = se - ss
            if slen > 1e-9:
                acc[A_SCOUNT] += 1.0
            if working:
                m = rm[o]
                acc[A_PROC] += op_proc[o, m]
                acc[A_SETUP] += _cal_worked(m, ss, se, has_cal, CF, CI)
            else:
                acc[A_PROC] += en - st_a[o]
                acc[A_SETUP] += slen
            if is_last[o]:
                k = op_order[o]
                if en > ord_cend[k]:
                    ord_cend[k] = en
                ord_unf[k] -= 1
                if acc[A_OPEN_OK] == 1.0 and ord_open[k] and ord_unf[k] == 0:
                    ord_open[k] = False  # complete: its tardiness is final
                    x = ord_cend[k] - ord_dl[k]
                    if x > 0.0:
                        acc[A_TCLOSED] += x
        acc[A_CEND] = ce
    elif c > 16:  # _dispatches' numpy path: the same pairwise sums
        tmp = np.empty(c)
        emax = en_a[new[0]]
        cnt = 0
        for i in range(c):
            o = new[i]
            seen[o] = True
            if en_a[o] > emax:
                emax = en_a[o]
            if se_a[o] - ss_a[o] > 1e-9:
                cnt += 1
        if emax > acc[A_CEND]:
            acc[A_CEND] = emax
        acc[A_SCOUNT] += float(cnt)
        if working:
            for i in range(c):
                tmp[i] = op_proc[new[i], rm[new[i]]]
            acc[A_PROC] += pairwise_sum(tmp, 0, c)
            for i in range(c):
                o = new[i]
                acc[A_SETUP] += _cal_worked(rm[o], ss_a[o], se_a[o], has_cal, CF, CI)
        else:
            for i in range(c):
                tmp[i] = en_a[new[i]] - st_a[new[i]]
            acc[A_PROC] += pairwise_sum(tmp, 0, c)
            for i in range(c):
                tmp[i] = se_a[new[i]] - ss_a[new[i]]
            acc[A_SETUP] += pairwise_sum(tmp, 0, c)
        for i in range(c):
            o = new[i]
            if is_last[o]:
                k = op_order[o]
                if en_a[o] > ord_cend[k]:
                    ord_cend[k] = en_a[o]
                ord_unf[k] -= 1
                acc[A_OPEN_OK] = 0.0  # the tardiness terms are rebuilt from the arrays
    if want_tard:
        if acc[A_OPEN_OK] == 0.0:  # (re)build from the arrays
            n_ord = ord_cend.shape[0]
            tmp = np.empty(n_ord)
            nc = 0
            for k in range(n_ord):
                ord_open[k] = ord_has[k] and ord_unf[k] > 0
                if ord_has[k] and ord_unf[k] == 0 and ord_cend[k] > -np.inf:
                    x = ord_cend[k] - ord_dl[k]
                    tmp[nc] = x if x >= 0.0 else 0.0  # np.maximum(x, 0.0)
                    nc += 1
            acc[A_TCLOSED] = pairwise_sum(tmp, 0, nc) if nc > 0 else 0.0
            acc[A_OPEN_OK] = 1.0
        tot = acc[A_TCLOSED]
        for k in range(ord_cend.shape[0]):
            if ord_open[k]:
                ce = ord_cend[k]
                x = (ce if ce > now else now) - ord_dl[k]
                if x > 0.0:
                    tot += x
        acc[A_TARD] = tot
    return c


# -- the features of a simulator in its compiled loop: few arguments, WINQ computed inside ----
@_jit
def features_fast(
    f: Any,  # (>=k, >=23) float32 out (rows 0..k-1 written)
    c: Any,  # (9,) float32 out
    jobs: Any,  # (k,) int64
    ops: Any,  # (k,) int64
    m: int,
    t: float,
    FI: Any,  # pack_static's int64 part
    FF: Any,  # pack_static's float64 part
    op_proc: Any,
    setup_time: Any,
    route: Any,
    op_logp: Any,
    DI: Any,  # the simulator's packed run state (furnsim/sim/_fastloop.py dyn_views)
    DF: Any,
    has_cal: bool,
    cal_s: Any,
    cal_e: Any,
    cal_c: Any,
    winq_w: Any,  # (n_wc,) scratch
) -> float:  # pragma: no cover - compiled
    """:func:`features_kernel` for a simulator in its compiled loop: the static arrays from
    :func:`pack_static`, the state from the loop's buffers, and WINQ (``_winq``: the waiting
    jobs' mean processing in arrival order / machines) computed here for the candidates'
    next work centers."""
    n_wc, n_o, n_j, n_m, has_asm = FI[0], FI[1], FI[2], FI[3], FI[4] == 1
    a = 5
    op_setup = FI[a : a + n_o]
    a += n_o
    op_rem_ops = FI[a : a + n_o]
    a += n_o
    op_wc = FI[a : a + n_o]
    a += n_o
    op_next_wc = FI[a : a + n_o]
    a += n_o
    op_job = FI[a : a + n_o]
    a += n_o
    job_last = FI[a : a + n_j]
    a += n_j
    bounded = FI[a : a + n_wc] != 0
    a += n_wc
    machine_wc = FI[a : a + n_m]
    P = FF[0]
    b = 1
    op_rem_work = FF[b : b + n_o]
    b += n_o
    op_volume = FF[b : b + n_o]
    b += n_o
    op_next_vol = FF[b : b + n_o]
    b += n_o
    op_work = FF[b : b + n_o]
    b += n_o
    op_mean_proc = FF[b : b + n_o]
    b += n_o
    job_deadline = FF[b : b + n_j]
    b += n_j
    job_logw = FF[b : b + n_j]
    b += n_j
    cap = FF[b : b + n_wc]
    b += n_wc
    cap_ext = FF[b : b + n_wc + 1]
    b += n_wc + 1
    wc_n_machines = FF[b : b + n_wc]
    sc, ji, mi, wi, _r, _l, _c, _co, _p, _tm, jf, _mf, wf, _rf, _lf = dyn_views(
        DI, DF, n_j, n_m, n_wc, n_o
    )
    job_op = ji[J_OP]
    qnext = ji[J_QNEXT]
    for i in range(jobs.shape[0]):  # WINQ of the next work center of every non-last op
        o = ops[i]
        if o < job_last[jobs[i]]:
            w = op_wc[o + 1]
            s = 0.0
            j = wi[W_QHEAD, w]
            while j >= 0:
                s += op_mean_proc[job_op[j]]
                j = qnext[j]
            winq_w[w] = s / max(wc_n_machines[w], 1.0)
    return features_kernel(
        f, np.empty(n_wc + 1), jobs, ops, m, mi[M_SETUP, m], t, P, n_wc, has_asm,
        machine_wc[m], op_proc, op_setup, setup_time, op_rem_work, op_rem_ops, op_wc,
        op_volume, op_next_wc, op_next_vol, op_job, op_work, route, job_deadline, job_last,
        job_op, jf[J_ARRIVE], wf[W_LEVEL], bounded, cap, cap_ext, winq_w, job_logw, op_logp,
        has_cal, cal_s, cal_e, cal_c, ji[J_STATE], mi[M_STATE], sc[S_STEPS], wc_n_machines, c,
    )  # fmt: skip


def pack_static(st: Any) -> tuple[np.ndarray, np.ndarray]:
    """(FI, FF): the 1-D static arrays :func:`features_fast` reads, packed (built once per
    ``StaticArrays``, see ``observations._packed``)."""
    ints = [
        np.array([st.n_wc, st.n_ops, st.n_jobs, st.n_machines, st.has_assembly]),
        st.op_setup, st.op_rem_ops, st.op_wc, st.op_next_wc, st.op_job, st.job_last,
        st.bounded, st.machine_wc,
    ]  # fmt: skip
    floats = [
        np.array([st.P]), st.op_rem_work, st.op_volume, st.op_next_vol, st.op_work,
        st.op_mean_proc, st.job_deadline, st.job_log_priority, st.cap, st.cap_ext,
        st.wc_n_machines,
    ]  # fmt: skip
    return (
        np.concatenate([np.asarray(x, dtype=np.int64).ravel() for x in ints]),
        np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in floats]),
    )
