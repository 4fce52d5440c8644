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

import weakref
from typing import Any

import numpy as np
from gymnasium import spaces

from furnsim.env._kernels import HAVE_NUMBA, features_fast, features_kernel, pack_static
from furnsim.env.working_time import candidate_working_time_block
from furnsim.rules import _lexmin, get_rule
from furnsim.sim.engine import DONE, MBLOCKED, Decision, Simulator
from furnsim.sim.state import StaticArrays

__all__ = [
    "CANDIDATE_FEATURES",
    "CONTEXT_FEATURES",
    "KIT_FEATURES",
    "TEACHER_FEATURES",
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
#: optional (``teacher="LWKRMOD"`` etc.): the rank and pick of one named rule, appended last
#: (after the kit and working-time columns). The goal models see their teachers ATCS and
#: BUFFER in the 23 rows; a model whose teacher is another rule (the generic job-shop policy's
#: LWKRMOD) gets its teacher here, so that its cloned start is that rule exactly
TEACHER_FEATURES = (
    "teacher_rank",  # rank under the teacher rule, 0 (its pick) .. 1
    "teacher_pick",  # 1 for the candidate the teacher rule would take
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
    return sim.state.static.P


def _ranks(x: np.ndarray) -> np.ndarray:
    k = x.shape[0]
    if k <= 1:
        return np.zeros(k, dtype=np.float32)
    r = np.empty(k, dtype=np.float32)
    r[np.argsort(x, kind="stable")] = np.arange(k, dtype=np.float32)
    return r / (k - 1)


#: the per-instance constants: one bundle shared with the rules (furnsim/sim/state.py)
_Static = StaticArrays

_RULE_KEYS: dict[str, Any] = {}


def _rule_ranks(sim: Simulator, d: Decision, name: str) -> tuple[np.ndarray, int]:
    """(k,) rank of each candidate under rule ``name`` (0 = first) in [0, 1], and its pick."""
    keys = _RULE_KEYS.get(name) or _RULE_KEYS.setdefault(name, get_rule(name).keys)
    keys = keys(sim, d, sim.state.static)
    k = d.candidates.size
    order = np.lexsort(tuple(np.where(x != x, np.inf, x) for x in reversed(keys)))
    r = np.empty(k, dtype=np.float32)
    r[order] = np.arange(k, dtype=np.float32) / max(k - 1, 1)
    pick = int(np.flatnonzero(d.candidates == _lexmin(d.candidates, keys))[0])
    return r, pick


def _winq(sim: Simulator, st: StaticArrays, ws: Any) -> np.ndarray:
    """(n_wc,) work queued per machine at each work center of ``ws`` (others 0).

    ``Simulator.queue_work``'s sum, in the same (insertion) order, so bit-identical."""
    return sim.state.winq(ws)


def candidate_features(
    sim: Simulator,
    d: Decision,
    static: StaticArrays | None = None,
    kit: bool = False,
    *,
    compiled: bool | None = None,
    working_time: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(k, F) candidate rows and (C,) context of decision ``d`` (F, C as the tuples above).

    With ``kit`` the rows get the :data:`KIT_FEATURES` appended (F + 3), then with
    ``working_time`` the 3 ``furnsim.env.working_time.WORKING_TIME_CANDIDATE_FEATURES``
    (a separate block after the kernel, like the kit columns). With assemblies a
    child's last operation looks at its parent's buffer (kit volume) for ``next_fill`` and
    ``would_block``, as the BUFFER rule does.

    ``compiled`` (default: when numba is installed) computes the rows in one compiled kernel
    (furnsim/env/_kernels.py); ``False`` uses vectorised numpy. Both are bit-identical.
    """
    state = sim.state
    st = state.static
    use_nb = HAVE_NUMBA if compiled is None else (compiled and HAVE_NUMBA)
    if compiled and not HAVE_NUMBA:
        raise RuntimeError("compiled features need numba (pip install furnsim[fast])")
    P = st.P
    t = d.time
    m = d.machine
    jobs = d.candidates
    ops = d.ops
    k = jobs.shape[0]
    F = len(CANDIDATE_FEATURES) + (len(KIT_FEATURES) if kit else 0) + (3 if working_time else 0)
    w_here = int(st.machine_wc[m])
    if use_nb:
        f = np.empty((k, F), dtype=np.float32)
        c = np.empty(len(CONTEXT_FEATURES), dtype=np.float32)
        fx = state.compiled
        if fx is not None:  # the simulator's compiled loop: its buffers, WINQ inside
            _fast_features(f, c, st, fx, d, sim)
            if kit:
                _kit_columns(sim, jobs, f, P)
            if working_time:
                f[:, F - 3 :] = candidate_working_time_block(sim, d, P)
            return f, c
        cur = int(state.machine_setup[m])
        nl = ops < st.job_last[jobs]
        winq_w = _winq(sim, st, st.op_wc[ops[nl] + 1].tolist()) if nl.any() else _NO_WINQ
        features_kernel(
            f, np.empty(st.n_wc + 1), jobs, ops, m, cur, float(t), P, st.n_wc,
            st.has_assembly, w_here, st.op_proc, st.op_setup, st.setup_time, st.op_rem_work,
            st.op_rem_ops, st.op_wc, st.op_volume, st.op_next_wc, st.op_next_vol, st.op_job,
            st.op_work, st.route, st.job_deadline, st.job_last, state.job_op, state.job_arrive,
            state.wc_level, st.bounded, st.cap, st.cap_ext, winq_w,
            st.job_log_priority, st.op_log_proc, *_calendar(sim, m, st, t),
            state.job_state, state.machine_state, state.steps, st.wc_n_machines, c,
        )  # fmt: skip
        if kit:
            _kit_columns(sim, jobs, f, P)
        if working_time:
            f[:, F - 3 :] = candidate_working_time_block(sim, d, P)
        return f, c
    f, wload, top = _features_numpy(sim, d, st, F)
    if kit:
        _kit_columns(sim, jobs, f, P)
    if working_time:
        f[:, F - 3 :] = candidate_working_time_block(sim, d, P)
    fill = np.where(st.bounded, state.wc_level / st.cap, 0.0)
    nb = max(int(st.bounded.sum()), 1)
    unfinished = state.job_state != DONE
    late = unfinished & (st.job_deadline < t)
    c = np.array(
        [
            0.0,  # n_cand, set by the caller who knows max_candidates
            fill[w_here],
            fill.sum() / nb,
            fill.max() if fill.size else 0.0,
            state.steps / max(st.n_ops, 1),
            float((state.machine_state == MBLOCKED).mean()) if st.n_machines else 0.0,
            late.sum() / max(int(unfinished.sum()), 1),
            st.wc_n_machines[w_here] / 10.0,
            wload[w_here] / top,
        ],
        dtype=np.float32,
    )
    c[0] = k
    return f, np.clip(c, -10.0, 10.0)


_NO_WINQ = np.zeros(0)
_EPS = 1e-9
_PACKED: weakref.WeakKeyDictionary[StaticArrays, Any] = weakref.WeakKeyDictionary()


def _fast_features(
    f: np.ndarray, c: np.ndarray, st: StaticArrays, fx: Any, d: Decision, sim: Simulator
) -> None:
    """Fill ``f[:k]`` and ``c`` with :func:`features_fast` (a simulator in its compiled loop)."""
    pk = _PACKED.get(st)
    if pk is None:
        FI, FF = pack_static(st)
        pk = _PACKED[st] = (FI, FF, st.op_proc, st.setup_time, st.route, st.op_log_proc)
    m = d.machine
    features_fast(
        f, c, d.candidates, d.ops, m, d.time, *pk, fx.DI, fx.DF, *_calendar(sim, m, st, d.time),
        np.empty(st.n_wc),
    )  # fmt: skip


_NO_CAL = (False, np.zeros(0), np.zeros(0), np.zeros(1))


def _calendar(sim: Simulator, m: int, st: StaticArrays, t: float) -> tuple[Any, ...]:
    """(has_cal, starts, ends, cum) of machine ``m``'s working time for the kernel's
    ``Simulator.until``, built past ``t`` and every finite deadline (24/7: no calendar)."""
    mt = sim.state.machine_time(m)
    if mt is None:
        return _NO_CAL
    while mt.horizon <= st.deadline_max or mt.horizon <= t:
        mt._extend()  # (the same answers, a longer table: calendar.MachineTime._set)
    return True, mt.starts, mt.ends, mt.cum


def _kit_columns(sim: Simulator, jobs: np.ndarray, f: np.ndarray, P: float) -> None:
    from furnsim.sim.kits import kit_features

    share, missing, work = kit_features(sim, jobs)
    n = len(CANDIDATE_FEATURES)
    f[:, n] = share
    f[:, n + 1] = missing / 10.0
    f[:, n + 2] = work / P
    np.clip(f[:, n:], -10.0, 10.0, out=f[:, n:])


def _features_numpy(
    sim: Simulator, d: Decision, st: StaticArrays, F: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """The 23 rows in vectorised numpy (the reference arithmetic); kit columns left empty."""
    state = sim.state
    P = st.P
    t = d.time
    m = d.machine
    jobs = d.candidates
    ops = d.ops
    k = jobs.shape[0]
    proc = st.op_proc[ops, m]
    cur = int(state.machine_setup[m])
    need = st.op_setup[ops]
    setup = st.setup_time[m, cur, need]
    if not np.isfinite(setup).all():
        setup = np.nan_to_num(setup)
    setup = np.where(need == cur, 0.0, setup)
    rem = st.op_rem_work[ops]
    dl = st.job_deadline[jobs]
    due = np.where(np.isfinite(dl), (dl - t) / (10 * P), 5.0)
    slack = np.where(np.isfinite(dl), (dl - t - rem) / (10 * P), 5.0)
    arr = state.job_arrive[jobs]
    last = ops >= st.job_last[jobs]
    nxt = np.where(last, ops, ops + 1)
    w_next = st.op_wc[nxt]
    lvl = state.wc_level[w_next] + st.op_volume[nxt]
    fin = last  # the job goes to FINISHED after this op
    if st.has_assembly:  # a child's last op goes to its parent's buffer with its kit volume
        to_kit = last & (st.op_next_wc[ops] < st.n_wc)
        w_next = np.where(to_kit, st.op_next_wc[ops], w_next)
        lvl = np.where(to_kit, state.wc_level[w_next] + st.op_next_vol[ops], lvl)
        fin = last & ~to_kit
    next_fill = np.where(fin | ~st.bounded[w_next], 0.0, lvl / st.cap[w_next])
    winq_w = _winq(sim, st, w_next[~last].tolist())
    next_winq = np.where(last, 0.0, winq_w[w_next] / P)
    w_here = int(st.machine_wc[m])
    vol_here = st.op_volume[ops] / st.cap[w_here] if st.bounded[w_here] else np.zeros(k)
    f = np.empty((k, F), dtype=np.float32)
    f[:, 0] = proc / P
    f[:, 1] = setup / P
    f[:, 2] = need != cur
    f[:, 3] = rem / P
    f[:, 4] = st.op_rem_ops[ops] / 10.0
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
    pending = np.arange(st.n_ops) >= state.job_op[st.op_job]
    wload = np.bincount(st.op_wc[pending], weights=st.op_work[pending], minlength=st.n_wc + 1)
    wload[st.n_wc] = 0.0
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
    n = len(CANDIDATE_FEATURES)
    np.clip(f[:, :n], -10.0, 10.0, out=f[:, :n])
    return f, wload, top


class _CachedStatic:
    """Per-instance static arrays: the simulator's shared bundle (``sim.state.static``)."""

    _static: StaticArrays | None = None

    def _static_for(self, sim: Simulator) -> StaticArrays:
        st = sim.state.static
        self._static = st
        return st


class CandidateObservation(_CachedStatic):
    """Size-agnostic view: ``candidates`` (K, F), ``context`` (C,), ``mask`` (K,) as 0/1.

    F = 23 candidate features (:data:`CANDIDATE_FEATURES`: processing, setup, batching
    chance, slack, buffers, remaining route's bottleneck load, and the ranks and picks of the
    two teacher rules ATCS and BUFFER), C = 9 context features (:data:`CONTEXT_FEATURES`).
    ``kit_features=True`` appends the 3 :data:`KIT_FEATURES` (F = 26): kit completeness of the
    candidate's parent, siblings still missing and their work; ``working_time=True`` then 3
    working-time features (``furnsim.env.working_time``); ``teacher="LWKRMOD"`` (any rule
    name) then the 2 :data:`TEACHER_FEATURES`, that rule's rank and pick. Models record all
    three in their sidecar.

    When a machine has more than K candidates, the K kept are those a neutral pre-rule ranks
    first (shortest processing plus setup, then least slack; the ATCS and BUFFER picks, and
    the teacher's, are always kept), and ``slots`` maps each slot
    back to its job. K = 64 covers almost every decision
    of the demo weeks; the cut only matters in very long queues.
    """

    def __init__(
        self,
        max_candidates: int = 64,
        kit_features: bool = False,
        working_time: bool = False,
        teacher: str | None = None,
    ) -> None:
        self.K = int(max_candidates)
        self.kit = bool(kit_features)  # append KIT_FEATURES (assembly) to every row
        self.wt = bool(working_time)  # then the 3 working-time features (calendars)
        self.teacher = None if teacher is None else get_rule(teacher).name  # then its rank, pick
        if self.teacher == "RANDOM":
            raise ValueError("a teacher rule must be deterministic (not RANDOM)")
        F = len(CANDIDATE_FEATURES) + (len(KIT_FEATURES) if self.kit else 0) + 3 * self.wt
        F += len(TEACHER_FEATURES) if self.teacher else 0
        C = len(CONTEXT_FEATURES)
        self.space = spaces.Dict(
            {
                "candidates": spaces.Box(-10.0, 10.0, (self.K, F), np.float32),
                "context": spaces.Box(-10.0, 10.0, (C,), np.float32),
                "mask": spaces.Box(0.0, 1.0, (self.K,), np.float32),
            }
        )
        self._static: StaticArrays | None = None
        self.slots = np.zeros(0, dtype=np.int64)  # (k',) job index of each used slot

    def reset(self, sim: Simulator) -> None:
        self._static = sim.state.static

    def empty(self) -> dict[str, np.ndarray]:
        F = self.space["candidates"].shape[1]  # type: ignore[index]
        return {
            "candidates": np.zeros((self.K, F), np.float32),
            "context": np.zeros(len(CONTEXT_FEATURES), np.float32),
            "mask": np.zeros(self.K, np.float32),
        }

    def __call__(self, sim: Simulator, d: Decision | None) -> dict[str, np.ndarray]:
        if d is None:
            self.slots = np.zeros(0, dtype=np.int64)
            return self.empty()
        k = d.candidates.shape[0]
        if k <= self.K and not (self.kit or self.wt or self.teacher) and HAVE_NUMBA:
            fx = sim.state.compiled
            if fx is not None:  # the kernel writes the observation's rows in place
                obs = self.empty()
                c = obs["context"]
                _fast_features(obs["candidates"], c, sim.state.static, fx, d, sim)
                self.slots = d.candidates
                c[0] = k / self.K
                obs["mask"][:k] = 1.0
                return obs
        f, c = candidate_features(sim, d, None, kit=self.kit, working_time=self.wt)
        if self.teacher:
            r, p = _rule_ranks(sim, d, self.teacher)
            t = np.zeros((f.shape[0], len(TEACHER_FEATURES)), dtype=np.float32)
            t[:, 0] = r
            t[p, 1] = 1.0
            f = np.concatenate([f, t], axis=1)
        k = f.shape[0]
        obs = self.empty()
        if k > self.K:
            key = f[:, 0] + f[:, 1] + 0.1 * f[:, 5]
            key[(f[:, 20] > 0) | (f[:, 22] > 0)] = -np.inf  # always keep the teachers' picks
            if self.teacher:
                key[f[:, -1] > 0] = -np.inf
            idx = np.sort(np.argsort(key, kind="stable")[: self.K])
            self.slots = d.candidates[idx]
            obs["candidates"][: idx.size] = f[idx]
        else:
            self.slots = d.candidates
            obs["candidates"][:k] = f
        c[0] = min(k, self.K) / self.K
        obs["context"][:] = c
        obs["mask"][: self.slots.size] = 1.0
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
        self._static: StaticArrays | None = None
        self._mask = np.zeros(self.N, dtype=bool)

    def reset(self, sim: Simulator) -> None:
        ci = sim.ci
        if ci.n_jobs > self.N or ci.n_machines > self.M or ci.n_wc > self.B:
            raise ValueError(
                f"instance has {ci.n_jobs} jobs / {ci.n_machines} machines / {ci.n_wc} buffers; this "
                f"view holds at most {self.N} / {self.M} / {self.B} (raise max_jobs/max_machines/"
                "max_buffers, or use the size-agnostic 'candidates' view)"
            )
        self._static = sim.state.static

    def __call__(self, sim: Simulator, d: Decision | None) -> dict[str, np.ndarray]:
        st = self._static_for(sim)
        sim_st = sim.state
        ci = sim_st.ci
        n, m_, b = ci.n_jobs, ci.n_machines, ci.n_wc
        mac = np.zeros((3, self.M), np.float32)
        busy = sim_st.machine_job >= 0
        mac[0, :m_] = np.where(busy, (sim_st.machine_job + 1) / self.N, 0.0)
        mac[1, :m_] = np.clip(np.maximum(sim_st.machine_free_at - sim_st.time, 0.0) / st.P, 0, 10)
        mac[2, :m_] = (sim_st.machine_setup + 1) / max(len(ci.setup_ids), 1)
        jobs = np.zeros((2, self.N), np.float32)
        done = sim_st.job_state == DONE
        op = np.minimum(sim_st.job_op, max(ci.n_ops - 1, 0))
        w = ci.op_wc[op] if ci.n_ops else np.zeros(n, dtype=np.int64)
        vol = np.where(st.bounded[w], ci.op_volume[op] / st.cap[w], 0.0)
        jobs[0, :n] = np.where(done, 0.0, np.clip(vol, 0, 10))
        dl = st.job_deadline
        tdl = np.where(np.isfinite(dl), np.clip((dl - sim_st.time) / (10 * st.P), -5, 5), 5.0)
        jobs[1, :n] = np.where(done, 0.0, tdl)
        buf = np.zeros(self.B, np.float32)
        buf[:b] = np.clip(np.where(st.bounded, sim_st.wc_level / st.cap, 0.0), 0, 10)
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
        self._static: StaticArrays | None = None

    def reset(self, sim: Simulator) -> None:
        self._static = sim.state.static

    def __call__(self, sim: Simulator, d: Decision | None) -> np.ndarray:
        st = self._static_for(sim)
        sim_st = sim.state
        ci = sim_st.ci
        t = max(sim_st.time, 1e-9)
        u = (
            np.clip(sim_st.machine_busy_time / t, 0.0, 1.0)
            if sim_st.time > 0
            else np.zeros(ci.n_machines)
        )
        starts = ci.job_op_start
        n_ops_job = np.maximum(starts[1:] - starts[:-1], 1)
        done_ops = np.minimum(sim_st.job_op - starts[:-1], n_ops_job)
        jr = done_ops / n_ops_job
        unfinished = sim_st.job_state != DONE
        nu = max(int(unfinished.sum()), 1)
        op = np.minimum(sim_st.job_op, max(ci.n_ops - 1, 0))
        rem = np.where(unfinished, st.op_rem_work[op], 0.0)
        dl = st.job_deadline
        est = unfinished & (dl < sim_st.time + rem)
        act = unfinished & (dl < sim_st.time)
        x = np.array(
            [
                u.mean() if u.size else 0.0,
                u.std() if u.size else 0.0,
                sim_st.steps / max(ci.n_ops, 1),
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
