"""Dispatching rules: policies that answer the simulator's decisions.

A rule ranks the candidates of a :class:`~furnsim.sim.Decision` (machine ``m`` idle at time
``t``) by one or more keys, smallest first, and takes the first; remaining ties go to the
lowest job index, so every rule except RANDOM is deterministic::

    schedule, sim = get_rule("atc").plan(instance)
    best = best_rule(instance, "speed")          # every rule, lowest cost complete plan

Notation for a candidate job ``j`` whose next operation is ``o``:

* ``p``     = processing time of ``o`` on machine ``m`` (``op_proc[o, m]``);
* ``p̄_o``   = mean processing time of ``o`` over its eligible machines;
* ``s``     = setup time on ``m`` from its current setup to ``o``'s setup;
* ``LWKR``  = remaining mean work of the job from ``o`` to its end, ``o`` included;
* ``ops``   = number of remaining operations, ``o`` included;
* ``d``     = the job's (order's) deadline, ``w`` its priority, ``r`` its release;
* ``slack`` = ``d − t − LWKR``; in the composite rules it is capped at ``1e6`` minutes
  (``NO_DUE_SLACK``), the slack of a job without deadline, so that those rules still rank
  such jobs by their other terms;
* ``NPT``   = mean processing time of the operation after ``o`` (0 if ``o`` is the last);
* ``WINQ``  = work in the next queue: Σ mean processing time of the next operation of every
  job waiting for (in the buffer of, or in transit to) the work center of the operation
  after ``o`` (as ``Simulator.queue_work``); 0 if ``o`` is the last operation;
* ``MOD``   = modified operation due date ``max(odd, t + p)``, where the operation due date
  ``odd = t + p̄_o + slack · p̄_o / LWKR`` allots the job's slack to its remaining
  operations in proportion to their work (so the last operation is due at ``d``).

Rules (key order = priority; all minimized; key values within ``TIE_TOL = 1e-9`` — relative
beyond 1 — of the minimum tie, so rounding noise never decides instead of the next key):

==========  ======================================================================
FIFO        arrival at the work center's buffer (``job_arrive``), then release
SPT / LPT   ``p`` / ``−p``
EDD         ``d``
MWKR/LWKR   ``−LWKR`` / ``LWKR``
MOPNR       ``−ops``
CR          critical ratio ``(d − t) / LWKR`` (no deadline = ∞)
ATC         ``−[log(w/p) − max(0, slack) / (k·p̄)]`` with ``k = 2``, ``p̄`` = mean ``p`` of
            the candidates (the log of the apparent-tardiness-cost index); then
            ``−w/p`` (WSPT), which decides alone when no candidate has a deadline
ATCS        ATC times ``exp(−s / (k_s·s̄))`` with ``k_s = 1``, ``s̄`` = mean ``s`` of the
            candidates (setup-aware ATC); then ``−(w/p)·exp(−s/(k_s·s̄))``
SETUP       ``s``, then ``d`` (least setup, then EDD)
BUFFER      ``would_block`` (1 when the job's next buffer — after this operation — has no
            room for it now; a job finishing its route always has room), then
            ``p · cap_here / v_here`` (machine minutes per full buffer freed: drain this
            buffer fastest — WSPT with the buffer share as weight; ∞ for an unbounded
            buffer or no volume), then ``−min(1, room_after / cap_next)`` (the emptiest
            next buffer; 1 when unbounded or finishing), then ``d``
LWKRSPT     ``LWKR + p``
LWKRMOD     ``LWKR + MOD``
PTWINQ      ``p + WINQ``
PTWINQS     ``p + WINQ + slack``
DPTLWKRS    ``2p + LWKR + slack``
DPTWINQNPT  ``2p + WINQ + NPT``
KIT         assembly: ``kit_missing_work`` (remaining own mean work of the siblings of
            the candidate that have not yet left for the kit; 0 without a parent), then
            ``d`` — first the batch that completes (or nearly completes) a kit, so children
            wait less for siblings and hold less buffer space; without assemblies = EDD
RANDOM      uniform among the candidates (seeded ``numpy.random.Generator``)
==========  ======================================================================

With assemblies (docs/semantics.md) the remaining work of a child (``LWKR``, ``ops``,
``slack``) runs to the end of its order's root: its own route plus its parent's, and so on;
``NPT``, ``WINQ`` and ``BUFFER``'s next buffer of a child's last operation are those of its
parent's first operation (kit volume). On instances without assemblies every rule is as
before, and KIT equals EDD (listed later, it never wins ``best_rule`` there).

The composite rules follow the job-shop priority-rule literature (Holthaus & Rajendran
1997/2000; Sels, Gheysen & Vanhoucke 2012) and are the action set of the size-agnostic RL
view. ``docs/rules.md`` has the same table. Per-decision work is a handful of numpy
operations over the candidate array; static per-instance arrays are built once.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from furnsim._numba import HAVE_NUMBA
from furnsim.model import CompiledInstance, Instance
from furnsim.sim import Decision, Schedule, Simulator
from furnsim.sim._fastloop import (
    RULE_ATC,
    RULE_BUFFER,
    RULE_CR,
    RULE_DPTLWKRS,
    RULE_DPTWINQNPT,
    RULE_FIFO,
    RULE_KIT,
    RULE_LWKRMOD,
    RULE_PTWINQ,
    RULE_PTWINQS,
    RULE_SETUP,
)
from furnsim.sim.state import StaticArrays, static_arrays

__all__ = [
    "COMPOSITE_RULES",
    "NO_DUE_SLACK",
    "RULES",
    "TIE_TOL",
    "BestRule",
    "NoValidPlan",
    "NoisyPolicy",
    "Policy",
    "RandomRule",
    "Rule",
    "best_rule",
    "get_rule",
    "rule_names",
    "run_policy",
    "search_noisy",
]

#: slack (minutes) of a job without deadline in the composite rules
NO_DUE_SLACK = 1e6
#: keys closer than this (relative beyond 1) to the minimum tie and go to the next key
TIE_TOL = 1e-9
_EPS = 1e-9
_WAITING = 1  # furnsim.sim.engine job state: in a buffer or in transit to it

Keys = tuple[np.ndarray, ...]


class Policy(Protocol):
    """Anything that answers decisions: returns a candidate job index (or None to wait)."""

    name: str

    def choose(self, sim: Simulator, decision: Decision) -> int | None: ...


# -- static per-instance arrays: the simulator's typed seam (furnsim/sim/state.py) -------------
_Static = StaticArrays  # the rules' static data is the shared per-instance bundle
_static = static_arrays


# -- per-decision quantities ---------------------------------------------------------------
def _p(sim: Simulator, d: Decision, st: _Static) -> np.ndarray:
    return st.op_proc[d.ops, d.machine]


def _setup(sim: Simulator, d: Decision, st: _Static) -> np.ndarray:
    m = d.machine
    return st.setup_time[m, int(sim.state.machine_setup[m]), st.op_setup[d.ops]]


def _until_due(sim: Simulator, d: Decision, st: _Static) -> np.ndarray:
    """deadline − now; with working time, the deciding machine's working minutes until the
    deadline (closed time is no time to work in; a past deadline stays negative elapsed)."""
    return sim.state.until(d.machine, st.job_deadline[d.candidates])


def _slack(sim: Simulator, d: Decision, st: _Static) -> np.ndarray:
    """deadline − now − remaining work, capped at NO_DUE_SLACK (the slack without deadline)."""
    sl = _until_due(sim, d, st) - st.op_rem_work[d.ops]
    return np.minimum(sl, NO_DUE_SLACK)


def _winq(sim: Simulator, d: Decision, st: _Static) -> np.ndarray:
    """Work waiting for each candidate's next work center (0 after the last operation)."""
    waiting = np.flatnonzero(sim.state.job_state == _WAITING)
    ops = sim.state.job_op[waiting]
    q = np.bincount(st.op_wc[ops], weights=st.op_mean_proc[ops], minlength=st.n_wc + 1)
    q[st.n_wc] = 0.0
    return q[st.op_next_wc[d.ops]]


def _mod(sim: Simulator, d: Decision, st: _Static, p: np.ndarray) -> np.ndarray:
    rem = st.op_rem_work[d.ops]
    pm = st.op_mean_proc[d.ops]
    share = np.divide(pm, rem, out=np.zeros_like(pm), where=rem > _EPS)
    odd = d.time + pm + _slack(sim, d, st) * share
    return np.maximum(odd, d.time + p)


def _log_ratio(w: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.log(w) - np.log(np.maximum(p, _EPS))


# -- key functions (each returns keys, most significant first) ------------------------------
def _fifo(sim: Simulator, d: Decision, st: _Static) -> Keys:
    c = d.candidates
    return (sim.state.job_arrive[c], st.job_release[c])


def _spt(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (_p(sim, d, st),)


def _lpt(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (-_p(sim, d, st),)


def _edd(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (st.job_deadline[d.candidates],)


def _mwkr(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (-st.op_rem_work[d.ops],)


def _lwkr(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (st.op_rem_work[d.ops],)


def _mopnr(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (-st.op_rem_ops[d.ops],)


def _cr(sim: Simulator, d: Decision, st: _Static) -> Keys:
    rem = np.maximum(st.op_rem_work[d.ops], _EPS)
    return (_until_due(sim, d, st) / rem,)


def _atc_keys(sim: Simulator, d: Decision, st: _Static, k: float, k_setup: float | None) -> Keys:
    c = d.candidates
    p = _p(sim, d, st)
    base = _log_ratio(st.job_priority[c], p)
    if k_setup is not None:
        s = _setup(sim, d, st)
        s_bar = float(s.mean())
        if s_bar > _EPS:
            base = base - s / (k_setup * s_bar)
    p_bar = max(float(p.mean()), _EPS)
    slack = _until_due(sim, d, st) - st.op_rem_work[d.ops]  # inf without deadline
    due = np.maximum(slack, 0.0) / (k * p_bar)
    return (due - base, -base)


def _atc(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return _atc_keys(sim, d, st, 2.0, None)


def _atcs(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return _atc_keys(sim, d, st, 2.0, 1.0)


def _min_setup(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (_setup(sim, d, st), st.job_deadline[d.candidates])


def _buffer(sim: Simulator, d: Decision, st: _Static) -> Keys:
    ops = d.ops
    nwc = st.op_next_wc[ops]
    cap_next = st.cap_ext[nwc]
    bounded = np.isfinite(cap_next)
    level = sim.state.wc_level[np.minimum(nwc, st.n_wc - 1)]  # finishing jobs: inf capacity anyway
    room_after = cap_next - level - st.op_next_vol[ops]
    would_block = room_after < -_EPS
    frac = np.ones(ops.size)
    np.divide(room_after, cap_next, out=frac, where=bounded)
    np.minimum(frac, 1.0, out=frac)
    # machine minutes per full buffer freed here (p · cap / v): smallest drains fastest
    cap_here = float(st.cap_ext[int(st.machine_wc[d.machine])])
    v = st.op_volume[ops]
    per_buffer = np.full(ops.size, np.inf)
    if math.isfinite(cap_here):
        np.divide(_p(sim, d, st) * cap_here, v, out=per_buffer, where=v > 0)
    return (would_block, per_buffer, -frac, st.job_deadline[d.candidates])


def _kit(sim: Simulator, d: Decision, st: _Static) -> Keys:
    from furnsim.sim.kits import kit_features

    _, _, work = kit_features(sim, d.candidates)
    return (work, st.job_deadline[d.candidates])


def _lwkrspt(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (st.op_rem_work[d.ops] + _p(sim, d, st),)


def _lwkrmod(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (st.op_rem_work[d.ops] + _mod(sim, d, st, _p(sim, d, st)),)


def _ptwinq(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (_p(sim, d, st) + _winq(sim, d, st),)


def _ptwinqs(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (_p(sim, d, st) + _winq(sim, d, st) + _slack(sim, d, st),)


def _dptlwkrs(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (2.0 * _p(sim, d, st) + st.op_rem_work[d.ops] + _slack(sim, d, st),)


def _dptwinqnpt(sim: Simulator, d: Decision, st: _Static) -> Keys:
    return (2.0 * _p(sim, d, st) + _winq(sim, d, st) + st.op_npt[d.ops],)


# -- rule objects ----------------------------------------------------------------------------
def _lexmin(c: np.ndarray, keys: Keys) -> int:
    """The candidate that is smallest in ``keys`` lexicographically, then in job index.

    Values within ``TIE_TOL · max(1, |min|)`` of a key's minimum tie (rounding noise must not
    decide where the next key should); NaN ranks last.
    """
    idx: np.ndarray | None = None
    for k in keys:
        kk = k if idx is None else k[idx]
        m = kk.min()
        if m != m:  # a NaN: rank NaNs last, or all tie when every value is NaN
            if np.isnan(kk).all():
                continue
            m = np.nanmin(kk)
        sel = kk <= m + TIE_TOL * max(1.0, abs(m)) if math.isfinite(m) else kk == m
        idx = np.flatnonzero(sel) if idx is None else idx[sel]
        if idx.size == 1:
            return int(c[idx[0]])
    return int(c.min() if idx is None else c[idx].min())


KeyFn = Callable[[Simulator, Decision, _Static], Keys]


@dataclass(eq=False)
class Rule:
    """A dispatching rule: rank candidates by ``keys`` (smallest first), ties by job index."""

    name: str
    keys: KeyFn = field(repr=False)
    description: str = ""
    #: the one key as a static (n_ops, n_machines) table when it depends on the operation and
    #: the machine only (``Simulator.run_priority`` then takes the decisions: the same plan)
    static_key: Callable[[_Static], np.ndarray] | None = field(default=None, repr=False)
    #: the same pick in one compiled call (furnsim/_rule_kernels.py), used where numba is
    #: installed; ``keys`` stays the definition (and the path without numba)
    compiled: Callable[[Simulator, Decision, _Static], int] | None = field(default=None, repr=False)
    #: ``compiled``'s kernel inside the simulator's compiled loop: (``RULE_*`` of
    #: ``furnsim.sim._fastloop``, parameter), so ``Simulator.run_rule`` takes a whole stretch
    #: of decisions in one call (the same picks)
    loop: tuple[int, float] | None = field(default=None, repr=False)

    def reset(self, seed: int | None = None) -> None:
        """Deterministic rules keep no state."""

    def choose(self, sim: Simulator, decision: Decision) -> int:
        c = decision.candidates
        if c.size == 1:
            return int(c[0])
        if self.compiled is not None and HAVE_NUMBA:
            return self.compiled(sim, decision, _static(sim))
        return _lexmin(c, self.keys(sim, decision, _static(sim)))

    def plan(
        self,
        instance: Instance | CompiledInstance,
        *,
        buffers: str = "hard",
        seed: int | None = None,
        anticipatory_setups: bool = True,
    ) -> tuple[Schedule, Simulator]:
        """Plan the whole instance with this rule (see :func:`run_policy`)."""
        return run_policy(
            instance, self, buffers=buffers, seed=seed, anticipatory_setups=anticipatory_setups
        )


class RandomRule(Rule):
    """Uniform among the candidates; ``reset(seed)`` (done by ``run_policy``) reseeds."""

    def __init__(self, name: str = "RANDOM", seed: int | None = 0) -> None:
        super().__init__(name, _fifo, "uniform random candidate (seeded)")
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def choose(self, sim: Simulator, decision: Decision) -> int:
        c = decision.candidates
        return int(c[int(self.rng.integers(c.size))]) if c.size > 1 else int(c[0])


#: :func:`run_policy` runs a rule with a static key or a compiled loop pick in the
#: simulator's compiled loop (tests/test_rules_compiled.py switches it off to compare)
FAST_RULE_RUNS = True


def run_policy(
    instance: Instance | CompiledInstance,
    policy: Policy | Callable[[Simulator, Decision], int | None],
    *,
    buffers: str = "hard",
    seed: int | None = None,
    anticipatory_setups: bool = True,
    method: str | None = None,
) -> tuple[Schedule, Simulator]:
    """Run the simulator to the end, asking ``policy`` at every decision.

    ``policy`` is a :class:`Policy` (``choose(sim, decision)``) or a plain function of
    ``(sim, decision)``; returning ``None`` makes the machine wait. A policy with a
    ``reset(seed)`` method is reset first. The schedule's ``method`` is ``rule:NAME``; check
    ``sim.deadlock`` (the schedule is then incomplete).
    """
    sim = _run_sim(
        instance, policy, buffers=buffers, seed=seed, anticipatory_setups=anticipatory_setups
    )
    name = getattr(policy, "name", getattr(policy, "__name__", "policy"))
    return sim.schedule(method=method or f"rule:{name}"), sim


def _run_sim(
    instance: Instance | CompiledInstance,
    policy: Policy | Callable[[Simulator, Decision], int | None],
    *,
    buffers: str = "hard",
    seed: int | None = None,
    anticipatory_setups: bool = True,
) -> Simulator:
    """:func:`run_policy`'s run, without building the schedule (the finished simulator)."""
    reset = getattr(policy, "reset", None)
    if callable(reset):
        reset(seed)
    choose: Callable[[Simulator, Decision], int | None] = getattr(policy, "choose", None) or policy  # type: ignore[assignment]
    # a rule with a static key or a compiled loop pick takes every decision in the
    # simulator's compiled loop (Simulator.run_priority / run_rule): the same plan
    fast = type(policy) is Rule and FAST_RULE_RUNS and HAVE_NUMBA
    if fast and (policy.static_key is not None or policy.loop is not None):  # type: ignore[union-attr]
        rule: Rule = policy  # type: ignore[assignment]
        sim = Simulator(
            instance, buffers=buffers, anticipatory_setups=anticipatory_setups, fast=True
        )
        if rule.static_key is not None:
            sim.run_priority(rule.static_key(sim.state.static))
        else:
            sim.run_rule(rule)
        return sim
    sim = Simulator(instance, buffers=buffers, anticipatory_setups=anticipatory_setups)
    d = sim.decision()
    dispatch, wait = sim.dispatch, sim.wait
    while d is not None:
        j = choose(sim, d)
        d = wait() if j is None else dispatch(j)
    return sim


def _r(
    name: str,
    fn: KeyFn,
    desc: str,
    static: Callable[[_Static], np.ndarray] | None = None,
    compiled: Callable[[Simulator, Decision, _Static], int] | None = None,
    loop: tuple[int, float] | None = None,
) -> Rule:
    return Rule(name, fn, desc, static, compiled, loop)


def _c(name: str, fn: KeyFn, desc: str, rid: int) -> Rule:
    """A rule of ``_rule_kernels.composite_pick``: compiled per decision and in the loop."""
    return Rule(name, fn, desc, None, _composite_compiled(rid), (rid, 0.0))


# -- compiled picks (furnsim/_rule_kernels.py): the same pick as ``keys`` + ``_lexmin`` ------
_NO_CAL = np.zeros(0)


def _calendar(
    sim: Simulator, m: int, st: _Static
) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray]:
    """Machine ``m``'s working intervals (``MachineTime`` arrays), built past now and past
    every finite deadline (extended as ``worked_before`` would: earlier minutes stay)."""
    mt = sim.state.machine_time(m)
    if mt is None:
        return False, _NO_CAL, _NO_CAL, _NO_CAL
    hi = max(float(sim.time), st.deadline_max)
    while hi >= mt.horizon:
        mt._extend()
    return True, mt.starts, mt.ends, mt.cum


def _atc_compiled(k_setup: float) -> Callable[[Simulator, Decision, _Static], int]:
    def pick(sim: Simulator, d: Decision, st: _Static) -> int:
        from furnsim import _rule_kernels as rk

        m = d.machine
        cal, cs, ce, cc = _calendar(sim, m, st)
        state = sim.state
        return int(
            rk.atc_pick(
                d.candidates, d.ops, m, float(sim.time), int(state.machine_setup[m]), 2.0,
                k_setup, st.op_proc, st.setup_time, st.op_setup, st.job_log_priority,
                st.op_log_proc, st.op_rem_work, st.job_deadline, cal, cs, ce, cc,
            )
        )  # fmt: skip

    return pick


_KIDS: weakref.WeakKeyDictionary[_Static, tuple[np.ndarray, np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _kit_compiled(sim: Simulator, d: Decision, st: _Static) -> int:
    from furnsim import _rule_kernels as rk

    kids = _KIDS.get(st)
    if kids is None:  # children per parent, ascending (Simulator._children) as CSR
        par = st.job_parent
        ch = np.flatnonzero(par >= 0)
        ch = ch[np.argsort(par[ch], kind="stable")]
        start = np.zeros(st.n_jobs + 1, dtype=np.int64)
        start[1:] = np.cumsum(np.bincount(par[ch], minlength=st.n_jobs))
        kids = _KIDS[st] = (start, ch.astype(np.int64), st.job_last + 1)
    state = sim.state
    return int(
        rk.kit_pick(
            d.candidates, st.job_parent, kids[0], kids[1], state.job_state, state.job_op,
            st.op_rem_work, sim.job_path_work, kids[2], st.job_deadline,
        )
    )  # fmt: skip


def _composite_compiled(kind: int) -> Callable[[Simulator, Decision, _Static], int]:
    """PTWINQS, SETUP, CR, LWKRMOD, PTWINQ, DPTLWKRS or DPTWINQNPT (``kind``: its ``RULE_*``
    id)."""

    def pick(sim: Simulator, d: Decision, st: _Static) -> int:
        from furnsim import _rule_kernels as rk

        m = d.machine
        cal, cs, ce, cc = _calendar(sim, m, st)
        state = sim.state
        return int(
            rk.composite_pick(
                kind, d.candidates, d.ops, m, float(sim.time), int(state.machine_setup[m]),
                st.op_proc, st.setup_time, st.op_setup, st.op_rem_work, st.op_mean_proc,
                st.op_npt, st.op_wc, st.op_next_wc, st.n_wc, st.job_deadline, state.job_state,
                state.job_op, cal, cs, ce, cc,
            )
        )  # fmt: skip

    return pick


def _buffer_compiled(sim: Simulator, d: Decision, st: _Static) -> int:
    from furnsim import _rule_kernels as rk

    return int(
        rk.buffer_pick(
            d.candidates, d.ops, d.machine, st.op_proc, st.op_next_wc, st.op_next_vol,
            st.op_volume, st.cap_ext, sim.state.wc_level, st.n_wc,
            float(st.cap_ext[int(st.machine_wc[d.machine])]), st.job_deadline,
        )
    )  # fmt: skip


def _fifo_compiled(sim: Simulator, d: Decision, st: _Static) -> int:
    from furnsim import _rule_kernels as rk

    return int(rk.fifo_pick(d.candidates, sim.state.job_arrive, st.job_release))


# the keys of SPT, LPT, EDD, MWKR, LWKR and LWKRSPT per (operation, machine): the same values
# (one float operation each) the per-decision keys compute
def _spt_table(st: _Static) -> np.ndarray:
    return st.op_proc


def _lpt_table(st: _Static) -> np.ndarray:
    return -st.op_proc


def _edd_table(st: _Static) -> np.ndarray:
    return np.repeat(st.job_deadline[st.op_job][:, None], st.n_machines, axis=1)


def _mwkr_table(st: _Static) -> np.ndarray:
    return np.repeat(-st.op_rem_work[:, None], st.n_machines, axis=1)


def _mopnr_table(st: _Static) -> np.ndarray:
    return np.repeat(-st.op_rem_ops[:, None].astype(np.float64), st.n_machines, axis=1)


def _lwkr_table(st: _Static) -> np.ndarray:
    return np.repeat(st.op_rem_work[:, None], st.n_machines, axis=1)


def _lwkrspt_table(st: _Static) -> np.ndarray:
    return st.op_rem_work[:, None] + st.op_proc


#: the six composite rules (the action set of the rule-choosing RL view)
COMPOSITE_RULES = ("LWKRSPT", "LWKRMOD", "PTWINQ", "PTWINQS", "DPTLWKRS", "DPTWINQNPT")

RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        _r(
            "FIFO",
            _fifo,
            "earliest arrival at the work center, then release",
            None,
            _fifo_compiled,
            (RULE_FIFO, 0.0),
        ),
        _r("SPT", _spt, "shortest processing time on this machine", _spt_table),
        _r("LPT", _lpt, "longest processing time on this machine", _lpt_table),
        _r("EDD", _edd, "earliest deadline", _edd_table),
        _r("MWKR", _mwkr, "most work remaining", _mwkr_table),
        _r("LWKR", _lwkr, "least work remaining", _lwkr_table),
        _r("MOPNR", _mopnr, "most operations remaining", _mopnr_table),
        _c("CR", _cr, "critical ratio (deadline - now) / remaining work", RULE_CR),
        _r(
            "ATC", _atc, "apparent tardiness cost, k = 2", None, _atc_compiled(0.0), (RULE_ATC, 0.0)
        ),
        _r(
            "ATCS",
            _atcs,
            "apparent tardiness cost with setups, k = 2, k_s = 1",
            None,
            _atc_compiled(1.0),
            (RULE_ATC, 1.0),
        ),
        _c("SETUP", _min_setup, "least setup time on this machine, then EDD", RULE_SETUP),
        _r(
            "BUFFER",
            _buffer,
            "next buffer has room; drain this buffer; emptiest next buffer; EDD",
            None,
            _buffer_compiled,
            (RULE_BUFFER, 0.0),
        ),
        _r("LWKRSPT", _lwkrspt, "LWKR + p", _lwkrspt_table),
        _c("LWKRMOD", _lwkrmod, "LWKR + modified operation due date", RULE_LWKRMOD),
        _c("PTWINQ", _ptwinq, "p + work in next queue", RULE_PTWINQ),
        _c("PTWINQS", _ptwinqs, "p + WINQ + slack", RULE_PTWINQS),
        _c("DPTLWKRS", _dptlwkrs, "2p + LWKR + slack", RULE_DPTLWKRS),
        _c(
            "DPTWINQNPT",
            _dptwinqnpt,
            "2p + WINQ + next operation's processing time",
            RULE_DPTWINQNPT,
        ),
        _r(
            "KIT",
            _kit,
            "assembly: least work left to complete the candidate's kit, then EDD",
            None,
            _kit_compiled,
            (RULE_KIT, 0.0),
        ),
        RandomRule(),
    )
}

_ALIASES = {"MIN-SETUP": "SETUP", "MINSETUP": "SETUP", "MIN_SETUP": "SETUP", "RAND": "RANDOM"}


def rule_names(deterministic_only: bool = False) -> list[str]:
    return [n for n in RULES if not (deterministic_only and n == "RANDOM")]


def get_rule(name: str) -> Rule:
    """A rule by name, case-insensitive (``spt``, ``Atc``, ``min-setup``)."""
    key = name.strip().upper()
    key = _ALIASES.get(key, key)
    if key.replace("-", "").replace("_", "").replace("+", "") in RULES:
        key = key.replace("-", "").replace("_", "").replace("+", "")
    try:
        return RULES[key]
    except KeyError:
        raise KeyError(f"unknown rule {name!r}: choose one of {', '.join(RULES)}") from None


# -- best rule -------------------------------------------------------------------------------
class NoValidPlan(RuntimeError):
    """Every rule tried deadlocked."""

    def __init__(self, deadlocks: dict[str, str]) -> None:
        self.deadlocks = deadlocks
        lines = "\n".join(f"  {k}: {v}" for k, v in deadlocks.items())
        super().__init__(f"every dispatching rule deadlocked:\n{lines}")


@dataclass
class BestRule:
    rule: str  # name of the winning rule
    schedule: Schedule
    simulator: Simulator
    cost: float
    costs: dict[str, float] = field(default_factory=dict)  # rule -> cost (inf = deadlock)
    deadlocks: dict[str, str] = field(default_factory=dict)  # rule -> deadlock message


def best_rule(
    instance: Instance,
    goal: Any = "speed",
    rules: Iterable[str | Rule] | None = None,
    *,
    buffers: str = "hard",
    seed: int | None = 0,
    anticipatory_setups: bool = True,
) -> BestRule:
    """Run every rule (default: all but RANDOM) and keep the lowest-cost complete plan.

    Deadlocked runs are skipped; if all deadlock, :class:`NoValidPlan` lists why. Ties go to
    the rule listed first.
    """
    from furnsim.goals import cost, get_goal
    from furnsim.kpi import run_kpis

    g = get_goal(goal)
    need = [k for k, w in g.weights.items() if w]
    chosen: Sequence[str | Rule] = list(rules) if rules is not None else rule_names(True)
    best: tuple[str, Simulator, float] | None = None
    costs: dict[str, float] = {}
    deadlocks: dict[str, str] = {}
    for r in chosen:
        rule = get_rule(r) if isinstance(r, str) else r
        sim = _run_sim(
            instance, rule, buffers=buffers, seed=seed, anticipatory_setups=anticipatory_setups
        )
        if sim.deadlock is not None:
            deadlocks[rule.name] = sim.deadlock.message
            costs[rule.name] = math.inf
            continue
        # read from the finished run (the schedule's cost exactly; only the winner's
        # schedule is built)
        c = cost(run_kpis(sim, need), g)
        costs[rule.name] = c
        if best is None or c < best[2]:
            best = (rule.name, sim, c)
    if best is None:
        raise NoValidPlan(deadlocks)
    name, sim, c = best
    return BestRule(name, sim.schedule(method=f"rule:{name}"), sim, c, costs, deadlocks)


class NoisyPolicy:
    """Another policy's pick, or with probability ``eps`` a uniformly random candidate.

    ``rng=None`` makes it the wrapped policy exactly. The random decisions never ask the
    wrapped policy, so noisy passes of a learned policy are a little cheaper than its own.
    """

    def __init__(self, policy: Any, eps: float, rng: np.random.Generator | None) -> None:
        self.policy, self.eps, self.rng = policy, float(eps), rng
        self.name = f"{getattr(policy, 'name', 'policy')}~{self.eps:g}"

    def choose(self, sim: Simulator, d: Decision) -> int | None:
        if self.rng is not None and d.candidates.size > 1 and self.rng.random() < self.eps:
            return int(d.candidates[self.rng.integers(d.candidates.size)])
        return self.policy.choose(sim, d)


def search_noisy(
    instance: Instance | CompiledInstance,
    goal: Any,
    policy: Any,
    *,
    time_limit: float | None = None,
    passes: int | None = None,
    eps: float = 0.05,
    seed: int = 0,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
) -> tuple[Schedule, Simulator, dict[str, Any]]:
    """The policy's own pass, then ε-noisy passes of it; the cheapest complete one wins.

    Each noisy pass follows ``policy`` but takes a uniformly random candidate at a decision
    with probability ``eps`` (:class:`NoisyPolicy`; pass ``i`` is seeded with child ``i`` of
    ``numpy.random.SeedSequence(seed)``, so a fixed ``passes`` is reproducible). Passes stop
    at ``passes`` or when the next one would end past ``time_limit`` seconds (the first pass
    always runs); at least one of the two must be given. ``benchmarks/rl_search.py`` compares
    it with sampling the learned policies (docs/rl.md). ``info``: ``passes``, ``first_cost``,
    ``costs`` and ``pass_s`` (every pass, in order), ``eps``, ``seconds``.
    """
    from furnsim.goals import cost, get_goal

    if time_limit is None and passes is None:
        raise ValueError("give time_limit or passes")
    g = get_goal(goal)
    t0 = time.perf_counter()
    ss = np.random.SeedSequence(seed)
    best: tuple[float, Schedule, Simulator] | None = None
    costs: list[float] = []
    secs: list[float] = []
    longest = 0.0
    n_max = passes if passes is not None else 10**9
    for i in range(max(int(n_max), 1)):
        if i and time_limit is not None and time.perf_counter() - t0 + longest > time_limit:
            break
        t1 = time.perf_counter()
        rng = None if i == 0 else np.random.default_rng(ss.spawn(1)[0])
        sched, sim = run_policy(
            instance,
            NoisyPolicy(policy, eps, rng),
            buffers=buffers,
            anticipatory_setups=anticipatory_setups,
            method=f"rule:{getattr(policy, 'name', 'policy')}" if i == 0 else None,
        )
        c = math.inf if sim.deadlock is not None else float(cost(sched, g, instance))
        secs.append(time.perf_counter() - t1)
        longest = max(longest, secs[-1])
        costs.append(c)
        if best is None or c < best[0]:
            best = (c, sched, sim)
    assert best is not None
    info = {
        "passes": len(costs),
        "first_cost": costs[0],
        "costs": costs,
        "pass_s": secs,
        "eps": float(eps),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return best[1], best[2], info
