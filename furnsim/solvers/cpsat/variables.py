"""CP-SAT model, part 1: integer data and decision variables.

Times are integers in units of ``1 / time_scale`` minutes and volumes in units of
``1 / volume_scale`` of the buffer unit. ``time_scale`` is the smallest of
:data:`TIME_SCALES` that makes every duration, transport time, release and deadline whole
("exact"). When none does, a processing or setup time ``x`` may take any whole value in
``[floor(x), ceil(x)]`` (transport and releases are rounded down, deadlines up): every real
schedule, its times rounded up, is then a solution of the model (so a warm start from a
simulator schedule is feasible), the solver's bound is valid up to the rounding of one time
unit per priced quantity (``details['bound_tolerance']``), and the returned schedule is
always re-timed by the simulator (docs/cpsat.md).

Per operation ``o`` (global index):

* ``ss[o]`` setup start, ``st[o]`` processing start, ``en[o]`` end, ``lv[o]`` leave (the job
  leaves the machine; ``depart`` of the next operation *is* ``lv[o]``), ``sd[o]`` setup
  duration on the machine actually chosen (0 where no eligible machine has setups);
* ``dep0[j]`` the STORE departure of job ``j`` (= ``depart`` of its first operation);
* ``pres[o][m]`` the literal "o runs on m" (``True`` where ``m`` is the only machine);
* ``occ[o][m]`` the (optional) machine-occupancy interval ``[ss, lv)`` on ``m``: the machine
  is busy from the setup start until the job leaves it (blocking included);
* ``buf[o]`` the buffer interval ``[depart, st)`` during which the job holds ``volume`` in the
  buffer of the operation's work center.

Assembly (docs/semantics.md): an assembly job ``p`` has no STORE departure; ``dep0[p]`` is the
latest ``lv`` of its children's last operations (the kit is complete) and ``kit_arr[p]`` the
latest kit arrival ``lv + T[child's wc, p's first wc]`` (its first operation's ``arrive``:
``st ≥ kit_arr``). A child's last operation may block (``lv > en``) when the parent's buffer
can fill; the child holds its kit volume there over ``[lv(last), st(first op of p))``
(``kit_buf``), in the same cumulative as the operations' holdings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from furnsim.model import CompiledInstance

__all__ = [
    "TIME_SCALES",
    "VOLUME_SCALES",
    "CpData",
    "CpVars",
    "build_data",
    "build_variables",
    "fillable_buffers",
    "release_hi",
    "store_at_release",
    "store_order",
]

TIME_SCALES = (1, 2, 4, 5, 10, 20, 25, 50, 100)
VOLUME_SCALES = (1, 10, 100, 1000, 10_000, 100_000)
_TOL = 1e-6


def _pick_scale(values: np.ndarray, scales: tuple[int, ...]) -> int | None:
    v = values[np.isfinite(values)]
    for s in scales:
        x = v * s
        if np.all(np.abs(x - np.round(x)) <= _TOL * np.maximum(1.0, np.abs(x))):
            return s
    return None


@dataclass(eq=False)
class CpData:
    """The instance in integer units for the model (see the module docstring)."""

    ci: CompiledInstance
    time_scale: int
    volume_scale: int
    exact: bool  # every time and volume is whole at these scales
    proc: list[dict[int, int]]  # per op: machine -> processing time, rounded down (time units)
    proc_hi: list[dict[int, int]]  # per op: machine -> processing time, rounded up
    proc_min: list[dict[int, float]]  # per op: machine -> processing minutes (true value)
    setup: dict[int, np.ndarray]  # machine -> (n_setups, n_setups) int setup times (diag 0), down
    setup_hi: dict[int, np.ndarray]  # the same rounded up
    setup_machines: set[int]  # machines where some relevant setup takes time
    transport: np.ndarray  # (n_wc + 2, n_wc + 2) int64
    release: np.ndarray  # (n_jobs,) int64
    deadline: np.ndarray  # (n_orders,) float64 in time units (inf = none), rounded up
    volume: np.ndarray  # (n_ops,) int64
    capacity: np.ndarray  # (n_wc,) int64, -1 = unbounded
    first_op: np.ndarray  # (n_jobs,) int64 (-1 for a job without operations)
    last_op: np.ndarray  # (n_jobs,) int64
    machine_ops: list[list[int]]  # per machine: the operations eligible on it
    horizon: int
    working_time_model: str = "none"  # working time: "none" (24/7) | "exact" | "relaxed"
    calendar_terms: int = 0  # element-table entries the exact working time needs
    parent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # (n_jobs,) int64 assembly job a child goes into, -1 = FINISHED
    kit_volume: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # (n_jobs,) int64 kit volume in volume units
    children: dict[int, list[int]] = field(default_factory=dict)  # assembly job -> children

    def kit_transport(self, j: int) -> int:
        """Transport (time units) from child ``j``'s last work center to its parent's first."""
        ci = self.ci
        p = int(self.parent[j])
        return int(
            self.transport[int(ci.op_wc[self.last_op[j]]) + 1, int(ci.op_wc[self.first_op[p]]) + 1]
        )

    def kit_wc(self, j: int) -> int:
        """The work center where child ``j`` waits for its siblings (its parent's first)."""
        return int(self.ci.op_wc[self.first_op[int(self.parent[j])]])


def build_data(
    ci: CompiledInstance, time_scale: int | None = None, hint_horizon: float = 0.0
) -> CpData:
    n_ops, n_m = ci.n_ops, ci.n_machines
    elig = [
        ci.op_elig_machine[ci.op_elig_start[o] : ci.op_elig_start[o + 1]].tolist()
        for o in range(n_ops)
    ]
    machine_ops: list[list[int]] = [[] for _ in range(n_m)]
    for o, ms in enumerate(elig):
        for m in ms:
            machine_ops[m].append(o)
    # the setup transitions that can occur on each machine: initial -> needed, needed -> needed
    used_setups: list[list[int]] = [
        sorted({int(ci.op_setup[o]) for o in machine_ops[m]}) for m in range(n_m)
    ]
    setup_vals = []
    for m in range(n_m):
        ids = used_setups[m]
        if ids:
            rows = [int(ci.machine_init_setup[m]), *ids]
            setup_vals.append(ci.setup_time[m][np.ix_(rows, ids)].ravel())
    first = np.full(ci.n_jobs, -1, dtype=np.int64)
    last = np.full(ci.n_jobs, -1, dtype=np.int64)
    for j in range(ci.n_jobs):
        a, b = int(ci.job_op_start[j]), int(ci.job_op_start[j + 1])
        if b > a:
            first[j], last[j] = a, b - 1
    # transports actually travelled
    tr_used = []
    for o in range(n_ops):
        w = int(ci.op_wc[o]) + 1
        if o == first[ci.op_job[o]]:
            tr_used.append(ci.transport[0, w])
        else:
            tr_used.append(ci.transport[int(ci.op_wc[o - 1]) + 1, w])
    kids = np.flatnonzero(ci.job_parent >= 0)
    for j in kids.tolist():  # kits: a child's last work center -> its parent's first
        tr_used.append(
            ci.transport[int(ci.op_wc[last[j]]) + 1, int(ci.op_wc[first[ci.job_parent[j]]]) + 1]
        )
    deadlines = np.full(ci.n_orders, np.inf)
    np.minimum.at(deadlines, ci.job_order, ci.job_deadline)
    all_times = np.concatenate(
        [
            ci.op_proc[~np.isnan(ci.op_proc)],
            *[v[~np.isnan(v)] for v in setup_vals],
            np.asarray(tr_used, dtype=float),
            ci.job_release,
            deadlines[np.isfinite(deadlines)],
        ]
    )
    exact = True
    if time_scale is None:
        picked = _pick_scale(all_times, TIME_SCALES)
        exact = picked is not None
        time_scale = picked or 1
    else:
        exact = _pick_scale(all_times, (time_scale,)) is not None
    ts = time_scale

    def down(x: float) -> int:
        return int(math.floor(x * ts + _TOL))

    def up(x: float) -> int:
        return int(math.ceil(x * ts - _TOL))

    proc: list[dict[int, int]] = []
    proc_hi: list[dict[int, int]] = []
    proc_min: list[dict[int, float]] = []
    for o in range(n_ops):
        proc.append({m: down(float(ci.op_proc[o, m])) for m in elig[o]})
        proc_hi.append({m: up(float(ci.op_proc[o, m])) for m in elig[o]})
        proc_min.append({m: float(ci.op_proc[o, m]) for m in elig[o]})
    setup: dict[int, np.ndarray] = {}
    setup_hi: dict[int, np.ndarray] = {}
    setup_machines: set[int] = set()
    for m in range(n_m):
        if not machine_ops[m]:
            continue
        mat = np.nan_to_num(ci.setup_time[m], nan=0.0)
        s_int = np.floor(mat * ts + _TOL).astype(np.int64)
        s_hi = np.ceil(mat * ts - _TOL).astype(np.int64)
        np.fill_diagonal(s_int, 0)
        np.fill_diagonal(s_hi, 0)
        setup[m] = s_int
        setup_hi[m] = s_hi
        rows = [int(ci.machine_init_setup[m]), *used_setups[m]]
        if np.any(s_hi[np.ix_(rows, used_setups[m])] > 0):
            setup_machines.add(m)
    transport = np.floor(ci.transport * ts + _TOL).astype(np.int64)
    release = np.floor(ci.job_release * ts + _TOL).astype(np.int64)
    deadline = np.where(np.isfinite(deadlines), np.ceil(deadlines * ts - _TOL), np.inf)
    # volumes
    cap = ci.wc_capacity
    vols = np.concatenate([ci.op_volume, ci.job_kit_volume, cap[np.isfinite(cap)]])
    vs = _pick_scale(vols, VOLUME_SCALES)
    if vs is None:
        exact = False
        vs = VOLUME_SCALES[-2]
    volume = np.floor(ci.op_volume * vs + _TOL).astype(np.int64)
    volume[(ci.op_volume > 0) & (volume == 0)] = 1
    kit_volume = np.floor(ci.job_kit_volume * vs + _TOL).astype(np.int64)
    kit_volume[(ci.job_kit_volume > 0) & (kit_volume == 0)] = 1
    children: dict[int, list[int]] = {}
    for j in kids.tolist():
        children.setdefault(int(ci.job_parent[j]), []).append(j)
    capacity = np.where(
        np.isfinite(cap), np.ceil(np.where(np.isfinite(cap), cap, 0) * vs - _TOL), -1
    ).astype(np.int64)
    # a horizon every sensible schedule fits in: the jobs one after the other, all setups paid
    serial = 0
    for o in range(n_ops):
        mx_setup = max((int(setup_hi[m].max()) for m in elig[o] if m in setup_machines), default=0)
        serial += max(proc_hi[o].values()) + mx_setup
    serial += int(transport.max()) * (n_ops + ci.n_jobs) + int(release.max(initial=0))
    horizon = max(serial, int(math.ceil(hint_horizon * ts)) + 1, 1)
    return CpData(
        ci=ci,
        time_scale=ts,
        volume_scale=vs,
        exact=exact,
        proc=proc,
        proc_hi=proc_hi,
        proc_min=proc_min,
        setup=setup,
        setup_hi=setup_hi,
        setup_machines=setup_machines,
        transport=transport,
        release=release,
        deadline=deadline,
        volume=volume,
        capacity=capacity,
        first_op=first,
        last_op=last,
        machine_ops=machine_ops,
        horizon=horizon,
        parent=ci.job_parent.astype(np.int64),
        kit_volume=kit_volume,
        children=children,
    )


@dataclass(eq=False)
class CpVars:
    """The decision variables (see the module docstring)."""

    ss: list[Any]  # IntVar (the same object as st[o] where the op has no setup)
    st: list[cp_model.IntVar]
    en: list[cp_model.IntVar]
    lv: list[Any]  # IntVar (the same object as en[o] where the job can never block)
    sd: list[Any]  # IntVar or int 0
    dep0: dict[int, cp_model.IntVar]  # job -> STORE departure
    pres: list[dict[int, Any]]  # op -> machine -> BoolVar | True
    occ: dict[int, list[Any]] = field(default_factory=dict)  # machine -> occupancy intervals
    buf: dict[int, list[tuple[int, Any]]] = field(default_factory=dict)  # wc -> [(op, interval)]
    arcs: dict[int, dict[tuple[int, int], Any]] = field(
        default_factory=dict
    )  # machine -> (i, j) -> lit
    makespan: Any = None
    tardiness: dict[int, cp_model.IntVar] = field(default_factory=dict)  # order -> tardiness
    overflow: dict[int, cp_model.IntVar] = field(default_factory=dict)  # wc -> peak overflow (soft)
    relaxed_machines: list[int] = field(default_factory=list)  # setup machines without a circuit
    can_fill: set[int] = field(default_factory=set)  # work centers whose hard buffer can fill
    buf_size: dict[int, cp_model.IntVar] = field(default_factory=dict)  # op -> st - depart
    kit_arr: dict[int, cp_model.IntVar] = field(default_factory=dict)  # assembly job -> kit arrival
    kit_buf: dict[int, list[tuple[int, Any, Any]]] = field(default_factory=dict)
    # wc -> [(child job, holding interval [lv(last), st(parent's first)), its size)]

    def depart(self, o: int, data: CpData) -> Any:
        """The departure toward operation ``o``: STORE departure or the previous op's leave."""
        j = int(data.ci.op_job[o])
        return self.dep0[j] if o == data.first_op[j] else self.lv[o - 1]

    def arrive(self, o: int, data: CpData) -> Any:
        ci = data.ci
        j = int(ci.op_job[o])
        if j in self.kit_arr and o == data.first_op[j]:
            return self.kit_arr[j]
        w = int(ci.op_wc[o]) + 1
        frm = 0 if o == data.first_op[j] else int(ci.op_wc[o - 1]) + 1
        return self.depart(o, data) + int(data.transport[frm, w])


def fillable_buffers(data: CpData) -> set[int]:
    """Work centers whose (hard) buffer can ever be full: their jobs' volumes exceed it."""
    ci = data.ci
    out = set()
    kit = np.zeros(ci.n_wc, dtype=np.int64)
    for j in np.flatnonzero(data.parent >= 0).tolist():
        kit[data.kit_wc(j)] += int(data.kit_volume[j])
    for w in range(ci.n_wc):
        mine = data.volume[ci.op_wc == w]
        if data.capacity[w] >= 0 and int(mine.sum()) + int(kit[w]) > int(data.capacity[w]):
            out.add(w)
    return out


def release_hi(data: CpData, j: int) -> int:
    """The release of job ``j`` rounded up (== ``release[j]`` with exact data)."""
    return int(math.ceil(float(data.ci.job_release[j]) * data.time_scale - _TOL))


def store_order(data: CpData) -> dict[int, list[int]]:
    """Per first work center, its jobs in STORE order: by release, then job index."""
    ci = data.ci
    order: dict[int, list[int]] = {}
    for j in range(ci.n_jobs):
        if data.first_op[j] >= 0 and j not in data.children:  # assemblies: not from STORE
            order.setdefault(int(ci.op_wc[data.first_op[j]]), []).append(j)
    for js in order.values():
        js.sort(key=lambda j: (float(ci.job_release[j]), j))
    return order


def store_at_release(data: CpData, can_fill: set[int]) -> set[int]:
    """Jobs that the simulator (hard buffers) always sends from STORE at their release.

    * every job whose first buffer can never be full (unbounded, or all its jobs fit at once):
      it always has room and nobody ever queues at STORE for it;
    * at the earliest release ``R0`` nothing is in any buffer yet (every job starts at STORE,
      released at ``R0`` or later), and STORE departures are first come, first served: the
      jobs released at ``R0``, in job order, depart at ``R0`` while their cumulated volume
      fits in the buffer (room is only ever freed, never taken, by anything else at ``R0``).
    """
    ci = data.ci
    out: set[int] = set()
    rel = ci.job_release
    firsts = [j for j in range(ci.n_jobs) if data.first_op[j] >= 0 and j not in data.children]
    if not firsts:
        return out
    r0 = min(float(rel[j]) for j in firsts)
    for w, js in store_order(data).items():
        if w not in can_fill:
            out.update(js)
            continue
        cap = float(ci.wc_capacity[w])
        acc = 0.0
        for j in js:
            if abs(float(rel[j]) - r0) > 1e-9:
                break
            acc += float(ci.op_volume[data.first_op[j]])
            if acc > cap + 1e-12 * max(1.0, cap):  # the simulator allows cap + 1e-9
                break
            out.add(j)
    return out


def build_variables(
    model: cp_model.CpModel,
    data: CpData,
    buffers: str = "hard",
    paused: set[int] | frozenset[int] = frozenset(),
) -> CpVars:
    """Create the time variables, machine-choice literals and intervals.

    ``paused``: operations that may pause over closed time (working time, calendar.py): their
    machine occupancy is ``[ss, lv)`` with a variable size, never ``p`` fixed."""
    ci, H = data.ci, data.horizon
    n_ops = ci.n_ops
    # buffers that can ever fill up (only there can a machine block or a job wait at STORE)
    can_fill = fillable_buffers(data) if buffers == "hard" else set()
    ss: list[Any] = []
    st: list[Any] = []
    en: list[Any] = []
    lv: list[Any] = []
    sd: list[Any] = []
    pres: list[dict[int, Any]] = []
    fixed_occ = []  # occupancy = processing: no setup and never blocked
    for o in range(n_ops):
        ms = list(data.proc[o])
        has_setup = any(m in data.setup_machines for m in ms)
        j = int(ci.op_job[o])
        nxt = o + 1 if o != data.last_op[j] else -1
        may_block = nxt >= 0 and int(ci.op_wc[nxt]) in can_fill and data.volume[nxt] > 0
        if nxt < 0 and data.parent.size and data.parent[j] >= 0:  # a child may block its kit
            may_block = data.kit_wc(j) in can_fill and data.kit_volume[j] > 0
        st.append(model.new_int_var(0, H, f"st{o}"))
        en.append(model.new_int_var(0, H, f"en{o}"))
        # without a setup the machine can be reserved from the start only: dropping an idle
        # reservation changes no cost; without possible blocking the job leaves at its end
        ss.append(model.new_int_var(0, H, f"ss{o}") if has_setup else st[o])
        lv.append(model.new_int_var(0, H, f"lv{o}") if may_block else en[o])
        fixed_occ.append(not has_setup and not may_block)
        if len(ms) == 1:
            pres.append({ms[0]: True})
        else:
            pres.append({m: model.new_bool_var(f"x{o}_{m}") for m in ms})
        if has_setup:
            mx = max(int(data.setup_hi[m].max()) for m in ms if m in data.setup_machines)
            sd.append(model.new_int_var(0, mx, f"sd{o}"))
        else:
            sd.append(0)
    dep0 = {}
    at_release = store_at_release(data, can_fill) if buffers == "hard" else set()
    for j in range(ci.n_jobs):
        if j in data.children and data.first_op[j] >= 0:  # released by its kit
            kids = data.children[j]
            dep0[j] = model.new_int_var(0, H, f"dep{j}")
            model.add_max_equality(dep0[j], [lv[int(data.last_op[c])] for c in kids])
            continue
        if data.first_op[j] >= 0:
            lo = int(data.release[j])
            # buffers == "soft": dep0 <= release is added in add_operations
            hi = release_hi(data, j) if j in at_release else H
            dep0[j] = model.new_int_var(lo, hi, f"dep{j}")
    v = CpVars(ss=ss, st=st, en=en, lv=lv, sd=sd, dep0=dep0, pres=pres)
    v.can_fill = can_fill
    for p, kids in data.children.items():  # the kit is complete when the last child arrives
        arr = model.new_int_var(0, H, f"kit{p}")
        model.add_max_equality(
            arr, [lv[int(data.last_op[c])] + data.kit_transport(c) for c in kids]
        )
        v.kit_arr[p] = arr
    # machine occupancy [setup start, leave)
    for o in range(n_ops):
        exact = data.proc[o] == data.proc_hi[o]
        if fixed_occ[o] and exact and o not in paused:
            for m, lit in pres[o].items():
                p = data.proc[o][m]
                if lit is True:
                    itv = model.new_fixed_size_interval_var(st[o], p, f"occ{o}_{m}")
                else:
                    itv = model.new_optional_fixed_size_interval_var(st[o], p, lit, f"occ{o}_{m}")
                v.occ.setdefault(m, []).append(itv)
            continue
        size = model.new_int_var(0, H, f"occ{o}")
        model.add(size == lv[o] - ss[o])
        for m, lit in pres[o].items():
            if lit is True:
                itv = model.new_interval_var(ss[o], size, lv[o], f"occ{o}_{m}")
            else:
                itv = model.new_optional_interval_var(ss[o], size, lv[o], lit, f"occ{o}_{m}")
            v.occ.setdefault(m, []).append(itv)
    # buffer holding [depart, start)
    for o in range(n_ops):
        w = int(ci.op_wc[o])
        if data.capacity[w] < 0 or data.volume[o] <= 0:
            continue
        d = v.depart(o, data)
        j = int(ci.op_job[o])
        frm = 0 if o == data.first_op[j] else int(ci.op_wc[o - 1]) + 1
        # at least the transport (st >= arrive): gives the objective a valid trivial bound
        size = model.new_int_var(int(data.transport[frm, w + 1]), H, f"buf{o}")
        model.add(size == st[o] - d)
        v.buf_size[o] = size
        v.buf.setdefault(w, []).append((o, model.new_interval_var(d, size, st[o], f"bufi{o}")))
    # kits: a child holds its kit volume in its parent's first buffer until the parent starts
    for p, kids in data.children.items():
        fp = int(data.first_op[p])
        for c in kids:
            w = data.kit_wc(c)
            if data.capacity[w] < 0 or data.kit_volume[c] <= 0:
                continue
            a = lv[int(data.last_op[c])]
            size = model.new_int_var(data.kit_transport(c), H, f"kbuf{c}")
            model.add(size == st[fp] - a)
            v.kit_buf.setdefault(w, []).append(
                (c, model.new_interval_var(a, size, st[fp], f"kbufi{c}"), size)
            )
    return v
