"""CP-SAT model, part 2: the shop semantics as constraints (docs/semantics.md, docs/cpsat.md).

* **Operations**: ``en = st + Σ_m x[o,m] · p[o,m]``; exactly one machine per operation
  (with non-exact data ``en − st`` lies between the rounded-down and rounded-up durations).
* **Routes and transport**: the job departs toward op ``k+1`` when it leaves the machine of op
  ``k`` (``depart(k+1) = lv(k)`` by construction), arrives ``T[wc_k][wc_k+1]`` later and cannot
  start before it arrives; the first operation departs from STORE at or after the release and
  arrives ``T[STORE][wc]`` later. ``lv ≥ en``; ``lv = en`` for a last operation (FINISHED has
  no buffer) and everywhere with soft buffers (departures always allowed; there STORE
  departures happen at the release, as in the simulator).
* **Setups (anticipatory)**: the setup starts after the previous job left the machine and
  after this job departed toward it (that is when the simulator can decide); processing starts
  when the setup is done and the job is there: ``st ≥ ss + sd``, ``st ≥ arrive``. Without
  anticipatory setups the setup starts after the arrival. ``sd`` is the sequence-dependent
  setup on the machine actually chosen, from an ``AddCircuit`` per setup machine over its
  eligible operations plus a dummy node 0 (the initial setup state): arc ``0→i`` charges
  ``S[init][s_i]``, arc ``i→j`` charges ``S[s_i][s_j]`` and forces ``ss_j ≥ lv_i``; the self
  loop ``i→i`` means "i is not on this machine".
* **Machines**: a NoOverlap per machine over the occupancy intervals ``[ss, lv)`` (blocking
  keeps the machine occupied).
* **Buffers**: per bounded work center a cumulative over ``[depart, st)`` with the job's
  volume: capacity = the buffer's (hard), or capacity + ``overflow_w`` (soft; priced).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from furnsim.solvers.cpsat.variables import CpData, CpVars, release_hi, store_order

__all__ = ["add_buffers", "add_machines", "add_operations"]


def add_operations(
    model: cp_model.CpModel,
    data: CpData,
    v: CpVars,
    *,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    paused: set[int] | frozenset[int] = frozenset(),
) -> None:
    """Machine choice, durations, routes, transport lags, releases, setup/arrival timing.

    ``paused`` ops (working time) only get ``en - st >= p``; calendar.py adds the rest."""
    ci = data.ci
    for o in range(ci.n_ops):
        p = v.pres[o]
        lits = [x for x in p.values() if x is not True]
        lo, hi = data.proc[o], data.proc_hi[o]
        if lits:
            model.add_exactly_one(lits)
            if o in paused:
                model.add(v.en[o] >= v.st[o] + sum(lit * lo[m] for m, lit in p.items()))
            elif lo == hi:
                model.add(v.en[o] == v.st[o] + sum(lit * lo[m] for m, lit in p.items()))
            else:
                model.add(v.en[o] >= v.st[o] + sum(lit * lo[m] for m, lit in p.items()))
                model.add(v.en[o] <= v.st[o] + sum(lit * hi[m] for m, lit in p.items()))
        else:
            (m,) = p
            if o in paused:
                model.add(v.en[o] >= v.st[o] + lo[m])
            elif lo[m] == hi[m]:
                model.add(v.en[o] == v.st[o] + lo[m])
            else:
                model.add(v.en[o] >= v.st[o] + lo[m])
                model.add(v.en[o] <= v.st[o] + hi[m])
        arrive = v.arrive(o, data)
        model.add(v.st[o] >= arrive)
        if v.ss[o] is not v.st[o]:
            model.add(v.st[o] >= v.ss[o] + v.sd[o])
            if anticipatory_setups:
                model.add(v.ss[o] >= v.depart(o, data))
            else:
                model.add(v.ss[o] >= arrive)
        if v.lv[o] is not v.en[o]:
            model.add(v.lv[o] >= v.en[o])
    if buffers == "soft":
        for j, d in v.dep0.items():
            if j in data.children:
                continue  # an assembly departs with its kit, not from STORE
            rel = float(ci.job_release[j]) * data.time_scale
            model.add(d <= int(math.ceil(rel - 1e-6)))
    else:
        # STORE is first come, first served per work center (by release, then job index):
        # a job never leaves STORE before one ahead of it toward the same work center
        for w, js in store_order(data).items():
            if w in v.can_fill:
                for a, b in zip(js, js[1:], strict=False):
                    model.add(v.dep0[a] <= v.dep0[b])


def add_machines(
    model: cp_model.CpModel, data: CpData, v: CpVars, *, circuit_max_ops: int = 120
) -> None:
    """NoOverlap per machine; a circuit with sequence-dependent setups on setup machines.

    A setup machine with more than ``circuit_max_ops`` eligible operations (the circuit needs
    a literal per ordered pair) gets *relaxed* setups instead (:func:`_relaxed_setups`): every
    setup family the machine runs, except its initial one, pays at least the cheapest
    changeover into it. The model stays a relaxation (valid bound); the replay through the
    simulator charges the true setups.
    """
    ci = data.ci
    sd_terms: list[list[Any]] = [[] for _ in range(ci.n_ops)]
    relaxed_lb: list[list[Any]] = [[] for _ in range(ci.n_ops)]
    for m, itvs in v.occ.items():
        if len(itvs) > 1:
            model.add_no_overlap(itvs)
        if m not in data.setup_machines:
            continue
        if len(data.machine_ops[m]) > circuit_max_ops:
            _relaxed_setups(model, data, v, m, relaxed_lb)
            v.relaxed_machines.append(m)
            continue
        ops = data.machine_ops[m]
        S, Sh = data.setup[m], data.setup_hi[m]
        init = int(ci.machine_init_setup[m])
        arcs: list[tuple[int, int, Any]] = []
        lits: dict[tuple[int, int], Any] = {}
        all_present = all(v.pres[o][m] is True for o in ops)
        if not all_present:
            empty = model.new_bool_var(f"empty{m}")
            arcs.append((0, 0, empty))
            for o in ops:
                if v.pres[o][m] is not True:
                    model.add_implication(v.pres[o][m], empty.Not())
        for i, o in enumerate(ops, start=1):
            lit = v.pres[o][m]
            if lit is not True:
                arcs.append((i, i, lit.Not()))
            s_o = int(ci.op_setup[o])
            a0 = model.new_bool_var(f"a{m}_s_{o}")
            arcs.append((0, i, a0))
            lits[(-1, o)] = a0
            c0, h0 = int(S[init, s_o]), int(Sh[init, s_o])
            if h0:
                sd_terms[o].append((a0, c0, h0))
            arcs.append((i, 0, model.new_bool_var(f"a{m}_{o}_e")))
            job_o = int(ci.op_job[o])
            for k, q in enumerate(ops, start=1):
                if q == o:
                    continue
                # an earlier operation of the same job cannot follow o on any machine
                if int(ci.op_job[q]) == job_o and q < o:
                    continue
                a = model.new_bool_var(f"a{m}_{o}_{q}")
                arcs.append((i, k, a))
                lits[(o, q)] = a
                model.add(v.ss[q] >= v.lv[o]).only_enforce_if(a)
                s_q = int(ci.op_setup[q])
                c, h = int(S[s_o, s_q]), int(Sh[s_o, s_q])
                if h:
                    sd_terms[q].append((a, c, h))
        model.add_circuit(arcs)
        v.arcs[m] = lits
    for o in range(ci.n_ops):
        if isinstance(v.sd[o], int):
            continue
        terms = sd_terms[o]
        lo = sum(a * c for a, c, _ in terms) if terms else 0
        hi = sum(a * h for a, _, h in terms) if terms else 0
        r: Any = 0
        if relaxed_lb[o]:
            r = sum(relaxed_lb[o]) if len(relaxed_lb[o]) > 1 else relaxed_lb[o][0]
        if all(c == h for _, c, h in terms):
            model.add(v.sd[o] == lo + r)
        else:
            model.add(v.sd[o] >= lo + r)
            model.add(v.sd[o] <= hi + r)


def _relaxed_setups(
    model: cp_model.CpModel, data: CpData, v: CpVars, m: int, relaxed_lb: list[list[Any]]
) -> None:
    """Setup-family relaxation of machine ``m``'s sequence-dependent setups (no circuit).

    Per eligible op a part ``y[o,m] ∈ [0, max setup]``, 0 unless ``o`` runs on ``m``;
    ``sd[o]`` includes ``Σ_m y[o,m]``. Per setup family ``f`` (ops grouped by setup id) with
    ``u[m,f]`` = "some op of ``f`` runs on ``m``": unless ``f`` is the machine's initial
    setup, the first op of ``f`` on ``m`` follows the initial state or another family, so
    ``Σ_{o∈f} y[o,m] ≥ minIn(f) · u[m,f]`` with ``minIn(f)`` the cheapest setup into ``f``
    from the initial state or any other family eligible on ``m``. Summed over the families
    this says the machine's setup time is at least ``Σ_f u[m,f] · minIn(f)`` (every family
    it runs, except the initial one, is set up at least once): valid for every sequence.
    """
    ci = data.ci
    ops = data.machine_ops[m]
    S, Sh = data.setup[m], data.setup_hi[m]
    init = int(ci.machine_init_setup[m])
    fams: dict[int, list[int]] = {}
    for o in ops:
        fams.setdefault(int(ci.op_setup[o]), []).append(o)
    states = {init, *fams}
    mx = int(Sh[np.ix_(sorted(states), sorted(fams))].max())
    for f, members in fams.items():
        others = [g for g in states if g != f]
        cheapest = min((int(S[g, f]) for g in others), default=0) if f != init else 0
        ys = []
        present = []
        for o in members:
            lit = v.pres[o][m]
            y = model.new_int_var(0, mx, f"sdr{o}_{m}")
            if lit is not True:
                model.add(y == 0).only_enforce_if(lit.Not())
                present.append(lit)
            else:
                present.append(True)
            relaxed_lb[o].append(y)
            ys.append(y)
        if not cheapest:
            continue
        if any(p is True for p in present):
            model.add(sum(ys) >= cheapest)
        else:
            u = model.new_bool_var(f"fam{m}_{f}")
            for lit in present:
                model.add_implication(lit, u)
            model.add(sum(ys) >= cheapest * u)


def add_buffers(
    model: cp_model.CpModel,
    data: CpData,
    v: CpVars,
    *,
    buffers: str = "hard",
    store_waits: bool = True,
) -> None:
    """Cumulative per bounded buffer over the holding intervals [depart, start).

    With hard buffers and ``store_waits``, also :func:`_store_wait_level` (a job waits at
    STORE only while the buffer is nearly full).
    """
    for w in sorted(set(v.buf) | set(v.kit_buf)):
        items = v.buf.get(w, [])
        kits = v.kit_buf.get(w, [])
        cap = int(data.capacity[w])
        demands = [int(data.volume[o]) for o, _ in items]
        demands += [int(data.kit_volume[c]) for c, _, _ in kits]  # waiting children
        if sum(demands) <= cap:
            continue  # can never overflow
        itvs = [itv for _, itv in items] + [itv for _, itv, _ in kits]
        if buffers == "hard":
            model.add_cumulative(itvs, demands, cap)
            if store_waits and not kits:  # (kits not in its level: left out there)
                _store_wait_level(model, data, v, w)
        else:
            over = model.new_int_var(0, sum(demands) - cap, f"over{w}")
            v.overflow[w] = over
            model.add_cumulative(itvs, demands, cap + over)


def _store_wait_level(model: cp_model.CpModel, data: CpData, v: CpVars, w: int) -> None:
    """While a job waits at STORE for buffer ``w``, the buffer is nearly full (exact).

    In the simulator a job at the head of the STORE queue of ``w`` waits only while something
    has no room in ``w``: itself, or the first machine blocked toward ``w`` (blocked
    machines go first). Either way ``level + vmax > cap`` with ``vmax`` the largest volume
    any job brings to ``w``. The head-of-queue waits ``W_b = [max(release_b, dep0_a),
    dep0_b)`` (``a`` = the job before ``b`` in STORE order) are disjoint, so one cumulative
    states it: with the complements ``[0, depart_q)`` and ``[start_q, H)`` of every holding
    interval (demand ``vol_q``: "q is not in the buffer") and ``W_b`` with demand ``D``,
    ``Σ vol_q·[q not in buffer] + D·[waiting] ≤ Σ vol_q`` means ``level ≥ D`` while someone
    waits. Volumes are rounded up here and ``D = floor((cap − vmax)·scale) + 1``, so the
    constraint holds for every simulator plan whatever the rounding.
    """
    ci = data.ci
    order = store_order(data).get(w, [])
    if not order:
        return
    vs = data.volume_scale
    ops = [o for o in range(ci.n_ops) if int(ci.op_wc[o]) == w and ci.op_volume[o] > 0]
    vol_hi = {o: int(math.ceil(float(ci.op_volume[o]) * vs - 1e-9)) for o in ops}
    vmax = max(float(ci.op_volume[o]) for o in ops)
    need = int(math.floor((float(ci.wc_capacity[w]) - vmax) * vs + 1e-9)) + 1
    if need <= 0:
        return
    H = data.horizon
    itvs: list[Any] = []
    demands: list[int] = []
    for o in ops:
        d = v.depart(o, data)
        itvs.append(model.new_interval_var(0, d, d, f"nb0_{o}"))
        size = model.new_int_var(0, H, f"nbs{o}")
        model.add(size == H - v.st[o])
        itvs.append(model.new_interval_var(v.st[o], size, H, f"nb1_{o}"))
        demands += [vol_hi[o], vol_hi[o]]
    prev = None
    for j in order:
        d = v.dep0[j]
        rel = release_hi(data, j)
        if prev is None:
            start: Any = rel
        else:
            start = model.new_int_var(rel, H, f"wst{j}")
            model.add_max_equality(start, [rel, prev])
        size = model.new_int_var(0, H, f"wsz{j}")
        model.add(size == d - start)  # >= 0 by the STORE order and dep0 >= release
        itvs.append(model.new_interval_var(start, size, d, f"wait{j}"))
        demands.append(need)
        prev = d
    model.add_cumulative(itvs, demands, sum(vol_hi.values()))
