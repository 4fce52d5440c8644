"""Reference candidate features: the implementation before issue 14 (kept verbatim).

tests/test_fastcore_features.py checks the vectorised / compiled features of
furnsim/env/observations.py against this one, decision by decision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from furnsim.env.observations import CANDIDATE_FEATURES, KIT_FEATURES
from furnsim.rules import _lexmin, _static, get_rule
from furnsim.sim.engine import DONE, MBLOCKED, Decision, Simulator


def _scale(sim: Simulator) -> float:
    mp = sim.op_mean_proc
    p = float(mp.mean()) if mp.size else 1.0
    return p if p > 0 else 1.0


def _ranks(x: np.ndarray) -> np.ndarray:
    k = x.shape[0]
    if k <= 1:
        return np.zeros(k, dtype=np.float32)
    r = np.empty(k, dtype=np.float32)
    r[np.argsort(x, kind="stable")] = np.arange(k, dtype=np.float32)
    return r / (k - 1)


class _Static:
    """Per-instance constants, computed once per reset (habit 9: static data once)."""

    def __init__(self, sim: Simulator) -> None:
        ci = sim.ci
        self.ci = ci
        self.P = _scale(sim)
        cap = ci.wc_capacity.astype(float)
        self.bounded = np.isfinite(cap) & (cap > 0)  # (n_wc,)
        self.cap = np.where(self.bounded, cap, 1.0)  # (n_wc,)
        self.wc_n_machines = np.bincount(ci.machine_wc, minlength=ci.n_wc).astype(float)  # (n_wc,)
        self.job_last = ci.job_op_start[1:] - 1  # (n_jobs,) last op index
        self.deadline = ci.job_deadline  # (n_jobs,)
        # work center of every later op of the job after op o, padded with n_wc (load 0)
        n_ops = int(ci.n_ops)
        starts = ci.job_op_start
        lens = np.diff(starts)
        L = max(int(lens.max()) - 1, 1) if lens.size else 1
        route = np.full((n_ops, L), ci.n_wc, dtype=np.int64)
        if n_ops:
            end = np.repeat(starts[1:], lens)  # (n_ops,) one past the job's last op
            for i in range(L):
                o = np.arange(n_ops) + 1 + i
                ok = o < end
                route[ok, i] = ci.op_wc[o[ok]]
        self.route = route  # (n_ops, L)
        self.op_job = ci.op_job
        self.op_work = sim.op_mean_proc / np.maximum(self.wc_n_machines[ci.op_wc], 1.0)
        self.sim_id = id(sim)
        self.inst_id = id(ci)


_RULE_KEYS: dict[str, Any] = {}


def _rule_ranks(sim: Simulator, d: Decision, name: str) -> tuple[np.ndarray, int]:
    """(k,) rank of each candidate under rule ``name`` (0 = first) in [0, 1], and its pick."""
    keys = _RULE_KEYS.get(name) or _RULE_KEYS.setdefault(name, get_rule(name).keys)
    keys = keys(sim, d, _static(sim))
    k = d.candidates.size
    order = np.lexsort(tuple(np.where(x != x, np.inf, x) for x in reversed(keys)))
    r = np.empty(k, dtype=np.float32)
    r[order] = np.arange(k, dtype=np.float32) / max(k - 1, 1)
    pick = int(np.flatnonzero(d.candidates == _lexmin(d.candidates, keys))[0])
    return r, pick


def candidate_features(
    sim: Simulator, d: Decision, static: _Static | None = None, kit: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(k, F) candidate rows and (C,) context of decision ``d`` (F, C as the tuples above).

    With ``kit`` the rows get the :data:`KIT_FEATURES` appended (F + 3). With assemblies a
    child's last operation looks at its parent's buffer (kit volume) for ``next_fill`` and
    ``would_block``, as the BUFFER rule does.
    """
    st = static if static is not None else _Static(sim)
    ci = st.ci
    P = st.P
    t = d.time
    m = d.machine
    jobs = d.candidates
    ops = d.ops
    k = jobs.shape[0]
    proc = ci.op_proc[ops, m]
    cur = int(sim.machine_setup[m])
    need = ci.op_setup[ops]
    setup = ci.setup_time[m, cur, need]
    if not np.isfinite(setup).all():
        setup = np.nan_to_num(setup)
    setup = np.where(need == cur, 0.0, setup)
    rem = sim.op_rem_work[ops]
    dl = st.deadline[jobs]
    due = np.where(np.isfinite(dl), (dl - t) / (10 * P), 5.0)
    slack = np.where(np.isfinite(dl), (dl - t - rem) / (10 * P), 5.0)
    arr = sim.job_arrive[jobs]
    last = ops >= st.job_last[jobs]
    nxt = np.where(last, ops, ops + 1)
    w_next = ci.op_wc[nxt]
    lvl = sim.wc_level[w_next] + ci.op_volume[nxt]
    fin = last  # the job goes to FINISHED after this op
    if ci.has_assembly:  # a child's last op goes to its parent's buffer with its kit volume
        rs = _static(sim)
        to_kit = last & (rs.op_next_wc[ops] < ci.n_wc)
        w_next = np.where(to_kit, rs.op_next_wc[ops], w_next)
        lvl = np.where(to_kit, sim.wc_level[w_next] + rs.op_next_vol[ops], lvl)
        fin = last & ~to_kit
    next_fill = np.where(fin | ~st.bounded[w_next], 0.0, lvl / st.cap[w_next])
    winq_w = np.zeros(ci.n_wc)
    for w in set(w_next[~last].tolist()):
        winq_w[w] = sim.queue_work(w) / max(st.wc_n_machines[w], 1.0)
    next_winq = np.where(last, 0.0, winq_w[w_next] / P)
    w_here = int(ci.machine_wc[m])
    vol_here = ci.op_volume[ops] / st.cap[w_here] if st.bounded[w_here] else np.zeros(k)
    f = np.empty((k, len(CANDIDATE_FEATURES) + (len(KIT_FEATURES) if kit else 0)), dtype=np.float32)
    f[:, 0] = proc / P
    f[:, 1] = setup / P
    f[:, 2] = need != cur
    f[:, 3] = rem / P
    f[:, 4] = sim.op_rem_ops[ops] / 10.0
    f[:, 5] = np.clip(slack, -5, 5)
    f[:, 6] = np.clip(due, -5, 5)
    f[:, 7] = np.maximum(arr - t, 0.0) / P
    f[:, 8] = np.maximum(t - arr, 0.0) / P
    f[:, 9] = next_fill
    f[:, 10] = next_winq
    f[:, 11] = vol_here
    f[:, 12] = last
    f[:, 13] = _ranks(proc)
    f[:, 14] = _ranks(slack)
    f[:, 15] = _ranks(rem)
    f[:, 16] = ((need[:, None] == need[None, :]).sum(axis=1) - 1) / max(k - 1, 1)
    f[:, 17] = (~fin) & st.bounded[w_next] & (lvl > st.cap[w_next] + 1e-9)
    pending = np.arange(ci.n_ops) >= sim.job_op[st.op_job]
    wload = np.bincount(ci.op_wc[pending], weights=st.op_work[pending], minlength=ci.n_wc + 1)
    wload[ci.n_wc] = 0.0
    top = max(float(wload.max()), 1e-9)
    f[:, 18] = wload[st.route[ops]].max(axis=1) / top
    ra, pa = _rule_ranks(sim, d, "ATCS")
    rb, pb = _rule_ranks(sim, d, "BUFFER")
    f[:, 19] = ra
    f[:, 20] = 0.0
    f[pa, 20] = 1.0
    f[:, 21] = rb
    f[:, 22] = 0.0
    f[pb, 22] = 1.0
    if kit:
        from furnsim.sim.kits import kit_features

        share, missing, work = kit_features(sim, jobs)
        f[:, 23] = share
        f[:, 24] = missing / 10.0
        f[:, 25] = work / P
    np.clip(f, -10.0, 10.0, out=f)
    fill = np.where(st.bounded, sim.wc_level / st.cap, 0.0)
    nb = max(int(st.bounded.sum()), 1)
    unfinished = sim.job_state != DONE
    late = unfinished & (st.deadline < t)
    c = np.array(
        [
            0.0,  # n_cand, set by the caller who knows max_candidates
            fill[w_here],
            fill.sum() / nb,
            fill.max() if fill.size else 0.0,
            sim.steps / max(ci.n_ops, 1),
            float((sim.machine_state == MBLOCKED).mean()) if ci.n_machines else 0.0,
            late.sum() / max(int(unfinished.sum()), 1),
            st.wc_n_machines[w_here] / 10.0,
            wload[w_here] / top,
        ],
        dtype=np.float32,
    )
    c[0] = k
    return f, np.clip(c, -10.0, 10.0)
