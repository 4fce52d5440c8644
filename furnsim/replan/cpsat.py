"""CP-SAT from a shop state: the situation's operations, pins and outages as constraints.

Called by ``furnsim.solvers.cpsat.build_model`` when the instance carries a situation:

* an operation dispatched in the state runs on its machine with its setup start and start
  fixed (equalities, in model time units rounded up as the hint is); a running operation
  the state lets end later than its nominal duration (a breakdown, a late finish) keeps its
  machine busy until that end;
* a queued job's departure is fixed; a job still at STORE departs at ``now`` or later; a
  blocked machine's job leaves at ``now`` or later (a child blocked with its kit too), a job
  that left before ``now`` left then (a child's kit departure: its assembly's release is the
  latest of them, an incomplete kit's at ``now`` or later);
* every other operation starts its setup at ``now`` or later;
* a pinned operation runs on its machine (and starts at the pinned start).

Outages (breakdowns) are downtime of the plant (``furnsim.replan.situated``): the working-time
model keeps operations out of them.

Frozen sequences are not modelled: the replay through the simulator keeps them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from furnsim.replan.situation import compile_situation

__all__ = ["add_situation"]


def add_situation(model: cp_model.CpModel, data: Any, v: Any, instance: Any) -> None:
    ci = data.ci
    cs = compile_situation(instance.situation, ci)
    ts = float(data.time_scale)
    H = int(data.horizon)

    def up(x: float) -> int:
        return int(math.ceil(float(x) * ts - 1e-6))

    def dn(x: float) -> int:
        return int(math.floor(float(x) * ts + 1e-6))

    now = dn(cs.now)
    tm = cs.times
    extra: dict[int, list[tuple[int, int]]] = {}
    for o in range(ci.n_ops):
        j = int(ci.op_job[o])
        status = int(cs.status[o])
        if status == 2:
            m = int(cs.machine[o])
            for m2, lit in v.pres[o].items():
                if lit is not True:
                    model.add(lit == int(m2 == m))
            if v.ss[o] is not v.st[o]:  # (without setups the model reserves from the start)
                model.add(v.ss[o] == up(tm["setup_start"][o]))
            model.add(v.st[o] == up(tm["start"][o]))
            nominal = float(tm["start"][o]) + float(ci.op_proc[o, m])
            end = float(tm["end"][o])
            if end > nominal + 1e-6:
                if v.lv[o] is v.en[o]:
                    extra.setdefault(m, []).append((up(nominal), min(up(end), H)))
                else:
                    model.add(v.lv[o] >= min(up(end), H))
            # a child's last operation may block too (its kit needs room at its parent)
            may_block = o != data.last_op[j] or (j < len(data.parent) and data.parent[j] >= 0)
            if v.lv[o] is not v.en[o]:
                if not cs.left[o] and may_block:
                    model.add(v.lv[o] >= now)
                elif cs.left[o]:  # it left before now (a child: its kit departed then)
                    model.add(v.lv[o] == up(tm["leave"][o]))
            continue
        model.add(v.ss[o] >= now)
        if status == 1:
            model.add(v.depart(o, data) == up(tm["depart"][o]))
        elif o == data.first_op[j] and j in v.dep0:
            hi = v.dep0[j].proto.domain[-1]
            if hi >= now:  # a job whose release bound already passed stays relaxed
                model.add(v.dep0[j] >= now)
        pm = int(cs.pin_machine[o])
        if pm >= 0:
            for m2, lit in v.pres[o].items():
                if lit is not True:
                    model.add(lit == int(m2 == pm))
            if not np.isnan(cs.pin_start[o]):
                model.add(v.st[o] == up(cs.pin_start[o]))
    # late ends as fixed intervals next to the machine's free operations (outages are the
    # plant's downtime: the working-time model has them)
    for m, spans in extra.items():
        merged: list[list[int]] = []
        for lo, hi in sorted(spans):
            if hi <= lo:
                continue
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        fixed = [
            model.new_fixed_size_interval_var(lo, hi - lo, f"busy{m}_{lo}") for lo, hi in merged
        ]
        free = [
            itv for itv in v.occ.get(m, []) if cs.status[int(itv.name[3:].split("_", 1)[0])] != 2
        ]
        model.add_no_overlap(free + fixed)
