"""CP-SAT model, working time (docs/cpsat.md "Working time"; docs/semantics.md).

For every machine with working time (``ci.working``) the compiled working intervals up to the
horizon become integer arrays ``S`` (starts), ``E`` (ends), ``C`` (working units before each
interval) and ``N`` (the next interval's start), with a zero-length sentinel at 0 when the
plan starts in closed time. Per eligible operation ``o`` on such a machine ``m`` (enforced
only when ``o`` runs on ``m``):

* **processing start** in a working interval: ``k_s`` with ``S[k_s] <= st < E[k_s]``
  (``AddElement`` over the arrays); its working coordinate ``W(st) = C[k_s] + st - S[k_s]``;
  with inexact data (times rounded up, ``variables.py``) ``st <= E[k_s]``: a start less than
  one unit before a window's end rounds onto it, where ``W`` is the next window's start;
* **interruptible**: the end in a working interval, ``S[k_e] < en <= E[k_e]``, and
  ``W(en) - W(st) = p`` (the processing time in working units; ``en - st`` is elapsed time and
  only bounded below by ``p``);
* **non-interruptible**: ``en = st + p <= E[k_s]`` (one window);
* **setup**: ``ss`` in ``[S[k], N[k])`` and ``W(st) >= C[k] + min(ss - S[k], E[k] - S[k]) + sd``,
  i.e. at least ``sd`` working units between the setup start and the processing start.

Large weeks: above :data:`MAX_CALENDAR_TERMS` table entries the working time is left out
(``details["working_time_model"] == "relaxed"``; the demo week on two shifts has ~7 M), and
``solve_cpsat`` lowers that cap to what CP-SAT's presolve expands in a share of its time
limit (:func:`calendar_terms_within`): no time limit interrupts that expansion.
Every simulator schedule satisfies these constraints exactly (the model stays a relaxation,
so the bound stays valid); the returned plan is the replay of the CP machine sequences
through the simulator, which follows the working time (the raw CP timing is not used with
working time: it has no segments).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from furnsim.solvers.cpsat.variables import CpData, CpVars

__all__ = [
    "CALENDAR_TERMS_PER_S",
    "MAX_CALENDAR_TERMS",
    "add_working_time",
    "calendar_terms_within",
    "working_time_horizon",
]


def working_time_horizon(data: CpData) -> set[int]:
    """Stretch ``data.horizon`` over closed time; return the ops whose elapsed duration may
    exceed their processing time (eligible on an interruptible machine with working time)."""
    wt = data.ci.working
    if wt is None:
        return set()
    ts = data.time_scale
    serial = data.horizon / ts  # minutes of work if everything ran one after the other
    end = serial
    for mt in wt.machines:
        if mt is not None:
            end = max(end, mt.finish(0.0, serial)[1])
    data.horizon = int(math.ceil(end * ts)) + 1
    paused: set[int] = set()
    for m, mt in enumerate(wt.machines):
        if mt is not None and wt.machine_interruptible[m]:
            paused.update(data.machine_ops[m])
    return paused


def _arrays(mt: Any, ts: int, H: int) -> tuple[list[int], list[int], list[int], list[int]]:
    mt.segments(0.0, H / ts + 1.0)  # make sure the compiled intervals cover the horizon
    keep = mt.starts * ts < H
    s = np.round(mt.starts[keep] * ts).astype(np.int64)
    e = np.minimum(np.round(mt.ends[keep] * ts), H).astype(np.int64)
    if s.size == 0 or s[0] > 0:  # sentinel: closed from 0 to the first interval
        s, e = np.r_[0, s], np.r_[0, e]
    c = np.r_[0, np.cumsum(e - s)][:-1]
    n = np.r_[s[1:], H + 1]
    return s.tolist(), e.tolist(), c.tolist(), n.tolist()


#: above this many element-table entries (Σ over eligible (op, machine) pairs with working
#: time of the intervals up to the horizon) the working time is not modelled (a relaxation)
MAX_CALENDAR_TERMS = 2_000_000

#: element-table entries CP-SAT's presolve expands per second on one core: it turns every
#: ``AddElement`` into a Boolean and two implications per entry, and no time limit stops it
#: (held-out weeks 10000, 10002, 10003, 10007, 10012: 0.50-1.64 M entries took 8-31 s, about
#: 19 µs each, on the 2-core dev machine; docs/cpsat.md "Working time")
CALENDAR_TERMS_PER_S = 50_000


def calendar_terms_within(seconds: float | None, share: float = 0.25) -> int:
    """The most element-table entries for an exact working-time model whose presolve should
    take at most ``share`` of ``seconds`` (:data:`CALENDAR_TERMS_PER_S`); no more than
    :data:`MAX_CALENDAR_TERMS`, and that with no time limit."""
    if seconds is None or not math.isfinite(seconds):
        return MAX_CALENDAR_TERMS
    return int(min(MAX_CALENDAR_TERMS, CALENDAR_TERMS_PER_S * share * max(0.0, float(seconds))))


def add_working_time(
    model: cp_model.CpModel, data: CpData, v: CpVars, max_terms: int = MAX_CALENDAR_TERMS
) -> str:
    """The working-time constraints of every operation on a machine with working time.

    Returns ``"none"`` (24/7), ``"exact"``, or ``"relaxed"`` when the tables would exceed
    ``max_terms`` entries: then only ``en - st >= p`` holds for pausing operations (the model
    stays a relaxation with a weaker bound; the plan is still the simulator's replay)."""
    ci = data.ci
    wt = ci.working
    if wt is None:
        return "none"
    H, ts = data.horizon, data.time_scale
    arrays = {}
    terms = 0
    for m, mt in enumerate(wt.machines):
        if mt is None or not data.machine_ops[m]:
            continue
        arrays[m] = _arrays(mt, ts, H)
        terms += 3 * len(arrays[m][0]) * len(data.machine_ops[m])
    data.calendar_terms = terms
    if terms > max_terms:
        return "relaxed"
    for m, (S, E, C, N) in arrays.items():
        K = len(S)
        cmax = C[-1] + (E[-1] - S[-1])
        lmax = max(e - s for s, e in zip(S, E, strict=True))
        nonint = not wt.machine_interruptible[m]

        def at(name: str, arrays: tuple[list[int], ...], K: int = K) -> list[Any]:
            k = model.new_int_var(0, K - 1, f"k{name}")
            out: list[Any] = [k]
            for i, arr in enumerate(arrays):
                x = model.new_int_var(min(arr), max(arr), f"{name}_{i}")
                model.add_element(k, arr, x)
                out.append(x)
            return out

        for o in data.machine_ops[m]:
            lit = v.pres[o][m]
            enf = [] if lit is True else [lit]
            lo, hi = data.proc[o][m], data.proc_hi[o][m]
            st, en = v.st[o], v.en[o]
            if hi > 0:
                _, s1, e1, c1 = at(f"s{o}_{m}", (S, E, C))
                model.add(st >= s1).only_enforce_if(enf)
                if data.exact:
                    model.add(st < e1).only_enforce_if(enf)
                else:
                    # times rounded up (variables.py): a start less than one unit before
                    # a window's end rounds onto it; W(st) there is the next window's start
                    model.add(st <= e1).only_enforce_if(enf)
                if nonint:
                    model.add(en <= e1).only_enforce_if(enf)
                else:
                    _, s2, e2, c2 = at(f"e{o}_{m}", (S, E, C))
                    model.add(en > s2).only_enforce_if(enf)
                    model.add(en <= e2).only_enforce_if(enf)
                    work = (c2 + en - s2) - (c1 + st - s1)
                    model.add(work >= lo).only_enforce_if(enf)
                    model.add(work <= hi).only_enforce_if(enf)
            if v.ss[o] is not st and not isinstance(v.sd[o], int):
                ss = v.ss[o]
                _, s3, e3, c3, n3 = at(f"u{o}_{m}", (S, E, C, N))
                model.add(ss >= s3).only_enforce_if(enf)
                model.add(ss < n3).only_enforce_if(enf)
                into = model.new_int_var(0, lmax, f"w{o}_{m}")
                model.add_min_equality(into, [ss - s3, e3 - s3])
                w_st = model.new_int_var(0, cmax, f"ws{o}_{m}")
                if hi > 0:
                    model.add(w_st == c1 + st - s1).only_enforce_if(enf)
                else:  # a zero-time op may start in closed time: W(st) from its own interval
                    _, s4, e4, c4, n4 = at(f"z{o}_{m}", (S, E, C, N))
                    model.add(st >= s4).only_enforce_if(enf)
                    model.add(st < n4).only_enforce_if(enf)
                    into4 = model.new_int_var(0, lmax, f"wz{o}_{m}")
                    model.add_min_equality(into4, [st - s4, e4 - s4])
                    model.add(w_st == c4 + into4).only_enforce_if(enf)
                model.add(w_st >= c3 + into + v.sd[o]).only_enforce_if(enf)
    return "exact"
