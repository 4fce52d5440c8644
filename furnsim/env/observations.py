"""Observation builders: small objects that turn a running Simulator into arrays.

Three views, all float32 and normalized, all computed from the simulator state only:

* :class:`PaperObservation` — the paper's three parts, padded to fixed maximum sizes:
  ``machines`` (3, max_machines), ``jobs`` (2, max_jobs), ``buffers`` (max_buffers,).
* :class:`CandidateObservation` — size-agnostic: one feature row per candidate of the deciding
  machine (up to ``max_candidates`` slots) plus a shop-context vector. A shared network scores
  every row; nothing depends on the number of jobs or machines.
* :class:`ShopFeatures` — the DFJSP view (Luo 2020): seven size-free shop-level features.

Times are scaled by the instance's mean operation time ``P`` (so a feature of 1.0 means "one
typical operation"), which keeps the features comparable between a 50-job toy and a
2,000-job week.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from furnsim.rules import _lexmin, _static, get_rule
from furnsim.sim.engine import DONE, MBLOCKED, Decision, Simulator

__all__ = [
    "CANDIDATE_FEATURES",
    "CONTEXT_FEATURES",
    "KIT_FEATURES",
    "CandidateObservation",
    "PaperObservation",
    "ShopFeatures",
    "candidate_features",
]

#: one row per candidate (what a composite dispatching rule would look at)
CANDIDATE_FEATURES = (
    "proc",  # processing time on the deciding machine / P
    "setup",  # setup time needed on the deciding machine / P
    "setup_change",  # 1 if the machine must change its setup
    "rem_work",  # remaining mean work of the job incl. this op / P (LWKR / MWKR)
    "rem_ops",  # remaining operations incl. this one / 10
    "slack",  # (deadline - now - remaining work) / (10 P), clipped to [-5, 5]; 5 = no deadline
    "due",  # (deadline - now) / (10 P), clipped to [-5, 5]
    "in_transit",  # minutes until the job arrives / P
    "queued",  # minutes the job has already waited in this buffer / P
    "next_fill",  # fill of the next work center's buffer incl. this job (0 for the last op)
    "next_winq",  # work queued at the next work center per machine / P (PTWINQ)
    "vol_here",  # volume this job frees here when it starts / capacity
    "last_op",  # 1 if this is the job's last operation
    "proc_rank",  # rank of proc among the candidates, 0 (shortest) .. 1
    "slack_rank",  # rank of slack among the candidates, 0 (tightest) .. 1
    "work_rank",  # rank of rem_work among the candidates, 0 (least) .. 1
    "same_setup",  # share of the other candidates needing the same setup (batching chance)
    "would_block",  # 1 if the next buffer has no room for the job now (BUFFER's first key)
    "route_load",  # max remaining load per machine of the work centers still on the route
    #               after this op, / the bottleneck's (1 = the job still passes the bottleneck)
    "atcs_rank",  # rank under the ATCS rule, 0 (its pick) .. 1
    "atcs_pick",  # 1 for the candidate ATCS would take
    "buffer_rank",  # rank under the BUFFER rule, 0 .. 1
    "buffer_pick",  # 1 for the candidate BUFFER would take
)
#: optional (``kit_features=True``; assembly, docs/semantics.md): appended to each row. Off by
#: default so that the shipped models keep their input size (23 + 9)
KIT_FEATURES = (
    "kit_done",  # share of the candidate's siblings (its parent's kit) already on the way; 1 = no parent
    "kit_missing",  # siblings still missing besides the candidate / 10
    "kit_missing_work",  # their remaining own mean work / P
)
#: one vector per decision (the shop around the deciding machine)
CONTEXT_FEATURES = (
    "n_cand",  # candidates / max_candidates
    "fill_here",  # fill of the deciding machine's buffer
    "fill_mean",  # mean fill of bounded buffers
    "fill_max",  # max fill of bounded buffers
    "progress",  # share of operations dispatched
    "blocked",  # share of machines blocked
    "late_share",  # share of unfinished jobs already past their deadline
    "wc_machines",  # machines of this work center / 10
    "load_here",  # remaining load per machine of this work center / the bottleneck's
)


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
    sim: Simulator,
    d: Decision,
    static: _Static | None = None,
    kit: bool = False,
    working_time: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(k, F) candidate rows and (C,) context of decision ``d`` (F, C as the tuples above).

    With ``kit`` the rows get the :data:`KIT_FEATURES` appended (F + 3), then with
    ``working_time`` the 3 ``furnsim.env.working_time.WORKING_TIME_CANDIDATE_FEATURES``. With assemblies a
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
    n_f = len(CANDIDATE_FEATURES) + (len(KIT_FEATURES) if kit else 0) + (3 if working_time else 0)
    f = np.empty((k, n_f), dtype=np.float32)
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
    if working_time:
        from furnsim.env.working_time import candidate_working_time

        f[:, n_f - 3 :] = candidate_working_time(sim, m, setup + proc, np.where(fin, -1, w_next), P)
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


class _CachedStatic:
    """Per-instance static arrays, built once and rebuilt when the instance changes."""

    _static: _Static | None = None

    def _static_for(self, sim: Simulator) -> _Static:
        if self._static is None or self._static.inst_id != id(sim.ci):
            self._static = _Static(sim)
        return self._static


class CandidateObservation(_CachedStatic):
    """Size-agnostic view: ``candidates`` (K, F), ``context`` (C,), ``mask`` (K,) as 0/1.

    F = 23 candidate features (:data:`CANDIDATE_FEATURES`: processing, setup, batching
    chance, slack, buffers, remaining route's bottleneck load, and the ranks and picks of the
    two teacher rules ATCS and BUFFER), C = 9 context features (:data:`CONTEXT_FEATURES`).
    ``kit_features=True`` appends the 3 :data:`KIT_FEATURES` (F = 26): kit completeness of the
    candidate's parent, siblings still missing and their work; ``working_time=True`` then 3
    working-time features (``furnsim.env.working_time``). Models record both in their sidecar.

    When a machine has more than K candidates, the K kept are those a neutral pre-rule ranks
    first (shortest processing plus setup, then least slack; the ATCS and BUFFER picks are
    always kept), and ``slots`` maps each slot
    back to its job. K = 64 covers almost every decision
    of the demo weeks; the cut only matters in very long queues.
    """

    def __init__(
        self, max_candidates: int = 64, kit_features: bool = False, working_time: bool = False
    ) -> None:
        self.K = int(max_candidates)
        self.kit = bool(kit_features)  # append KIT_FEATURES (assembly) to every row
        self.wt = bool(working_time)  # then the 3 working-time features (calendars)
        F = len(CANDIDATE_FEATURES) + (len(KIT_FEATURES) if self.kit else 0) + 3 * self.wt
        C = len(CONTEXT_FEATURES)
        self.space = spaces.Dict(
            {
                "candidates": spaces.Box(-10.0, 10.0, (self.K, F), np.float32),
                "context": spaces.Box(-10.0, 10.0, (C,), np.float32),
                "mask": spaces.Box(0.0, 1.0, (self.K,), np.float32),
            }
        )
        self._static: _Static | None = None
        self.slots = np.zeros(0, dtype=np.int64)  # (k',) job index of each used slot

    def reset(self, sim: Simulator) -> None:
        self._static = _Static(sim)

    def empty(self) -> dict[str, np.ndarray]:
        return {k: np.zeros(s.shape, np.float32) for k, s in self.space.spaces.items()}  # type: ignore[arg-type]

    def __call__(self, sim: Simulator, d: Decision | None) -> dict[str, np.ndarray]:
        if d is None:
            self.slots = np.zeros(0, dtype=np.int64)
            return self.empty()
        f, c = candidate_features(sim, d, self._static_for(sim), kit=self.kit, working_time=self.wt)
        k = f.shape[0]
        idx = np.arange(k)
        if k > self.K:
            key = f[:, 0] + f[:, 1] + 0.1 * f[:, 5]
            key[(f[:, 20] > 0) | (f[:, 22] > 0)] = -np.inf  # always keep the teachers' picks
            idx = np.sort(np.argsort(key, kind="stable")[: self.K])
        self.slots = d.candidates[idx]
        obs = self.empty()
        obs["candidates"][: idx.size] = f[idx]
        c[0] = min(k, self.K) / self.K
        obs["context"][:] = c
        obs["mask"][: idx.size] = 1.0
        return obs

    def mask(self) -> np.ndarray:
        m = np.zeros(self.K, dtype=bool)
        m[: self.slots.size] = True
        return m

    def job_of(self, action: int) -> int:
        a = int(action)
        if not 0 <= a < self.slots.size:
            raise ValueError(f"action {a} is not a legal slot (0..{self.slots.size - 1})")
        return int(self.slots[a])


class PaperObservation(_CachedStatic):
    """The paper's observation, padded to ``max_machines`` / ``max_jobs`` / ``max_buffers``.

    * ``machines`` (3, M): current job ((job index + 1) / max_jobs, 0 = none), remaining
      operation time / P (clipped at 10), current setup ((setup index + 1) / setups).
    * ``jobs`` (2, N): current volume (volume of the next op / capacity of its buffer; 0 when
      done) and time to deadline / (10 P) clipped to [-5, 5] (5 = no deadline, 0 when done).
    * ``buffers`` (B,): fill level (level / capacity, 0 for unbounded buffers).
    Padding entries are 0. The action is a job index (N values); :meth:`mask` marks the
    candidates of the deciding machine.
    """

    def __init__(self, max_jobs: int = 700, max_machines: int = 32, max_buffers: int = 16) -> None:
        self.N, self.M, self.B = int(max_jobs), int(max_machines), int(max_buffers)
        self.space = spaces.Dict(
            {
                "machines": spaces.Box(-10.0, 10.0, (3, self.M), np.float32),
                "jobs": spaces.Box(-10.0, 10.0, (2, self.N), np.float32),
                "buffers": spaces.Box(0.0, 10.0, (self.B,), np.float32),
            }
        )
        self._static: _Static | None = None
        self._mask = np.zeros(self.N, dtype=bool)

    def reset(self, sim: Simulator) -> None:
        ci = sim.ci
        if ci.n_jobs > self.N or ci.n_machines > self.M or ci.n_wc > self.B:
            raise ValueError(
                f"instance has {ci.n_jobs} jobs / {ci.n_machines} machines / {ci.n_wc} buffers; this "
                f"view holds at most {self.N} / {self.M} / {self.B} (raise max_jobs/max_machines/"
                "max_buffers, or use the size-agnostic 'candidates' view)"
            )
        self._static = _Static(sim)

    def __call__(self, sim: Simulator, d: Decision | None) -> dict[str, np.ndarray]:
        st = self._static_for(sim)
        ci = st.ci
        n, m_, b = ci.n_jobs, ci.n_machines, ci.n_wc
        mac = np.zeros((3, self.M), np.float32)
        busy = sim.machine_job >= 0
        mac[0, :m_] = np.where(busy, (sim.machine_job + 1) / self.N, 0.0)
        mac[1, :m_] = np.clip(np.maximum(sim.machine_free_at - sim.time, 0.0) / st.P, 0, 10)
        mac[2, :m_] = (sim.machine_setup + 1) / max(len(ci.setup_ids), 1)
        jobs = np.zeros((2, self.N), np.float32)
        done = sim.job_state == DONE
        op = np.minimum(sim.job_op, max(ci.n_ops - 1, 0))
        w = ci.op_wc[op] if ci.n_ops else np.zeros(n, dtype=np.int64)
        vol = np.where(st.bounded[w], ci.op_volume[op] / st.cap[w], 0.0)
        jobs[0, :n] = np.where(done, 0.0, np.clip(vol, 0, 10))
        dl = st.deadline
        tdl = np.where(np.isfinite(dl), np.clip((dl - sim.time) / (10 * st.P), -5, 5), 5.0)
        jobs[1, :n] = np.where(done, 0.0, tdl)
        buf = np.zeros(self.B, np.float32)
        buf[:b] = np.clip(np.where(st.bounded, sim.wc_level / st.cap, 0.0), 0, 10)
        self._mask = np.zeros(self.N, dtype=bool)
        if d is not None:
            self._mask[d.candidates] = True
        return {"machines": mac, "jobs": jobs, "buffers": buf}

    def mask(self) -> np.ndarray:
        return self._mask.copy()

    def job_of(self, action: int) -> int:
        a = int(action)
        if not (0 <= a < self.N and self._mask[a]):
            raise ValueError(f"action {a} is not a candidate job of the deciding machine")
        return a


class ShopFeatures(_CachedStatic):
    """DFJSP view (Luo 2020): seven size-free shop features, Box (7,) in [0, 1]-ish.

    0 mean machine utilization, 1 its standard deviation, 2 mean operation completion rate,
    3 mean job completion rate (jobs' share of finished operations), 4 its standard deviation,
    5 estimated tardiness rate (unfinished jobs whose deadline is before now + remaining
    work), 6 actual tardiness rate (unfinished jobs already past their deadline).
    """

    names = ("u_mean", "u_std", "op_rate", "job_rate", "job_rate_std", "tard_est", "tard_act")

    def __init__(self) -> None:
        self.space = spaces.Box(-1.0, 2.0, (7,), np.float32)
        self._static: _Static | None = None

    def reset(self, sim: Simulator) -> None:
        self._static = _Static(sim)

    def __call__(self, sim: Simulator, d: Decision | None) -> np.ndarray:
        st = self._static_for(sim)
        ci = st.ci
        t = max(sim.time, 1e-9)
        u = (
            np.clip(sim.machine_busy_time / t, 0.0, 1.0)
            if sim.time > 0
            else np.zeros(ci.n_machines)
        )
        starts = ci.job_op_start
        n_ops_job = np.maximum(starts[1:] - starts[:-1], 1)
        done_ops = np.minimum(sim.job_op - starts[:-1], n_ops_job)
        jr = done_ops / n_ops_job
        unfinished = sim.job_state != DONE
        nu = max(int(unfinished.sum()), 1)
        op = np.minimum(sim.job_op, max(ci.n_ops - 1, 0))
        rem = np.where(unfinished, sim.op_rem_work[op], 0.0)
        dl = st.deadline
        est = unfinished & (dl < sim.time + rem)
        act = unfinished & (dl < sim.time)
        x = np.array(
            [
                u.mean() if u.size else 0.0,
                u.std() if u.size else 0.0,
                sim.steps / max(ci.n_ops, 1),
                jr.mean() if jr.size else 1.0,
                jr.std() if jr.size else 0.0,
                est.sum() / nu,
                act.sum() / nu,
            ],
            dtype=np.float32,
        )
        return np.clip(x, -1.0, 2.0)


def describe(obs: Any) -> str:  # pragma: no cover - debugging aid
    if isinstance(obs, dict):
        return ", ".join(f"{k}{tuple(v.shape)}" for k, v in obs.items())
    return str(np.shape(obs))
