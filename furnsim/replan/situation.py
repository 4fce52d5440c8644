"""A :class:`Situation` = the shop's present (a :class:`ShopState`) + the planner's pins.

Attached to an :class:`~furnsim.model.Instance` (``instance.situation``) it makes every
planner plan from ``now``: the simulator's ``reset`` starts the clock at ``now`` with the
state's operations fixed, the running ones ending as the state says, the jobs in transit or
in buffers holding their space, blocked machines blocked, and it keeps the pins; rules, the
best-rule search, PPO, CP-SAT's hint and replay, and the environment then work unchanged.
The validator checks the same situation independently (``furnsim.replan.check``).

Pins:

* ``Pin(job, step, machine)`` — the operation runs on ``machine``;
* ``start`` — and starts processing exactly then (the simulator does not start it earlier;
  if it cannot start it then, the validator reports a ``pin`` violation);
* ``frozen`` — part of the frozen horizon: the machine takes its frozen operations next, in
  the order of their planned setup starts, not earlier than planned (``planned_setup_start``,
  ``planned_start``): "the next shift stays as planned" as far as the shop allows.
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from furnsim.errors import DataError, Issue, Location
from furnsim.replan.state import ShopState
from furnsim.sim.schedule import OP_FIELDS

if TYPE_CHECKING:
    from furnsim.model import CompiledInstance
    from furnsim.sim.engine import Simulator

__all__ = ["CompiledSituation", "Pin", "Situation", "compile_situation"]

_INF = math.inf
_EPS = 1e-9


@dataclass
class Pin:
    """An operation locked to a machine (and optionally a start); see the module docstring."""

    job: str
    step: int  # 1-based
    machine: str
    start: float | None = None
    frozen: bool = False
    planned_setup_start: float | None = None
    planned_start: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"job": self.job, "step": self.step, "machine": self.machine}
        if self.start is not None:
            d["start"] = self.start
        if self.frozen:
            d["frozen"] = True
            for k in ("planned_setup_start", "planned_start"):
                if getattr(self, k) is not None:
                    d[k] = getattr(self, k)
        return d


@dataclass(eq=False)
class Situation:
    """The present a plan starts from: the shop state and the pins."""

    state: ShopState
    pins: list[Pin] = field(default_factory=list)

    @property
    def now(self) -> float:
        return self.state.now


@dataclass(eq=False)
class CompiledSituation:
    """The situation as arrays over a compiled instance's operations."""

    now: float
    status: np.ndarray  # (n_ops,) int8: 0 free, 1 queued (departed), 2 dispatched (done/running)
    machine: np.ndarray  # (n_ops,) int64 machine of dispatched ops, -1
    setup_from: np.ndarray  # (n_ops,) int64 setup index before a dispatched op, -1
    times: dict[str, np.ndarray]  # OP_FIELDS -> (n_ops,) float, nan = unknown / future
    left: np.ndarray  # (n_ops,) bool: the job left the machine after this op before now
    machine_setup: np.ndarray  # (n_machines,) int64 setup at now
    pin_machine: np.ndarray  # (n_ops,) int64 pinned machine, -1
    pin_start: np.ndarray  # (n_ops,) float exact pinned start, nan
    min_ss: np.ndarray  # (n_ops,) float setup may not start earlier (frozen), -inf
    min_st: np.ndarray  # (n_ops,) float pinned processing start (the setup ends then), -inf
    frozen_seq: dict[int, list[int]]  # machine -> frozen ops in order
    outages: dict[int, list[tuple[float, float]]]  # machine -> sorted [start, end) (also downtime)
    kits: list[dict[str, Any]] = field(default_factory=list)  # kits in buffers at now

    @property
    def dispatched(self) -> np.ndarray:
        return self.status == 2

    @property
    def constrained(self) -> bool:
        return bool(
            self.frozen_seq
            or np.any(self.pin_machine >= 0)
            or np.any(np.isfinite(self.min_ss))
            or np.any(np.isfinite(self.min_st))
        )


_CACHE: weakref.WeakKeyDictionary[Any, tuple[int, CompiledSituation]] = weakref.WeakKeyDictionary()


def compile_situation(sit: Situation, ci: CompiledInstance) -> CompiledSituation:
    """Check the situation against the instance and compile it (cached per instance)."""
    hit = _CACHE.get(ci)
    if hit is not None and hit[0] == id(sit):
        return hit[1]
    cs = _compile(sit, ci)
    _CACHE[ci] = (id(sit), cs)
    return cs


def _compile(sit: Situation, ci: CompiledInstance) -> CompiledSituation:
    st = sit.state
    now = float(st.now)
    n, n_m = ci.n_ops, ci.n_machines
    issues: list[Issue] = []
    src = st.source or "state"
    job_index = {jid: j for j, jid in enumerate(ci.job_ids)}
    m_index = {mid: i for i, mid in enumerate(ci.machine_ids)}
    s_index = {sid: i for i, sid in enumerate(ci.setup_ids)}
    status = np.zeros(n, dtype=np.int8)
    machine = np.full(n, -1, dtype=np.int64)
    setup_from = np.full(n, -1, dtype=np.int64)
    times = {f: np.full(n, np.nan) for f in OP_FIELDS}
    left = np.zeros(n, dtype=bool)
    starts = ci.job_op_start

    def op_of(job: str, step: int, where: Location) -> int | None:
        j = job_index.get(job)
        if j is None:
            issues.append(Issue(f"unknown job {job!r}", where))
            return None
        a, b = int(starts[j]), int(starts[j + 1])
        if not 1 <= step <= b - a:
            issues.append(Issue(f"job {job} has no step {step} (it has {b - a})", where))
            return None
        return a + step - 1

    for i, os_ in enumerate(st.operations):
        where = Location(src, sheet="operations", row=i)
        o = op_of(os_.job, os_.step, where)
        if o is None:
            continue
        name = f"{os_.job} step {os_.step}"
        if status[o]:
            issues.append(Issue(f"{name} is listed twice", where))
            continue
        if os_.depart is None or os_.arrive is None:
            issues.append(Issue(f"{name}: a {os_.status} operation needs depart and arrive", where))
            continue
        if os_.depart >= now:
            issues.append(
                Issue(f"{name}: departs at {os_.depart:g}, not before now ({now:g})", where)
            )
        times["depart"][o] = os_.depart
        times["arrive"][o] = os_.arrive
        if os_.status == "queued":
            status[o] = 1
            continue
        status[o] = 2
        m = m_index.get(os_.machine or "")
        if m is None:
            issues.append(Issue(f"{name}: unknown machine {os_.machine!r}", where))
            continue
        if math.isnan(ci.op_proc[o, m]):
            issues.append(Issue(f"{name}: machine {os_.machine} cannot run it", where))
            continue
        machine[o] = m
        sf = s_index.get(os_.setup_from or "")
        if sf is None:
            issues.append(Issue(f"{name}: unknown setup_from {os_.setup_from!r}", where))
            continue
        setup_from[o] = sf
        miss = [k for k in ("setup_start", "setup_end", "start", "end") if getattr(os_, k) is None]
        if miss:
            issues.append(Issue(f"{name}: a {os_.status} operation needs {', '.join(miss)}", where))
            continue
        for fk in ("setup_start", "setup_end", "start", "end"):
            times[fk][o] = getattr(os_, fk)
        if not os_.setup_start < now:  # type: ignore[operator]
            issues.append(
                Issue(f"{name}: setup_start {os_.setup_start:g} is not before now ({now:g})", where)
            )
        if not (os_.setup_start <= os_.setup_end <= os_.start <= os_.end):  # type: ignore[operator]
            issues.append(Issue(f"{name}: needs setup_start <= setup_end <= start <= end", where))
        if os_.leave is not None:
            if os_.leave < os_.end - 1e-9 or os_.leave >= now:  # type: ignore[operator]
                issues.append(Issue(f"{name}: leave {os_.leave:g} must be in [end, now)", where))
            times["leave"][o] = os_.leave
            left[o] = True

    # per job: dispatched prefix, then at most one queued op (a child's last operation may
    # block: its kit needs room in its parent's first buffer)
    parent = ci.job_parent.tolist()
    for j in range(ci.n_jobs):
        a, b = int(starts[j]), int(starts[j + 1])
        stat = status[a:b]
        k = 0
        while k < b - a and stat[k] == 2:
            k += 1
        rest = stat[k:]
        bad = rest[1:].any() if rest.size else False
        if bad:
            issues.append(
                Issue(
                    f"job {ci.job_ids[j]}: its operations must be done/running, then at most one queued, in route order",
                    Location(src),
                )
            )
            continue
        for o in range(a, a + k):
            nxt_known = o + 1 < b and status[o + 1] > 0
            if nxt_known:
                d = times["depart"][o + 1]
                if times["end"][o] >= now and not math.isnan(times["end"][o]):
                    issues.append(
                        Issue(
                            f"job {ci.job_ids[j]} step {o - a + 1} is still running but the job departed toward step {o - a + 2}",
                            Location(src),
                        )
                    )
                if not left[o]:
                    times["leave"][o] = d
                    left[o] = True
                elif abs(times["leave"][o] - d) > 1e-6:
                    issues.append(
                        Issue(
                            f"job {ci.job_ids[j]} step {o - a + 1}: leave {times['leave'][o]:g} != depart of the next step {d:g}",
                            Location(src),
                        )
                    )
            elif o + 1 == b and times["end"][o] < now and not left[o] and parent[j] < 0:
                times["leave"][o] = times["end"][o]  # the last step never blocks
                left[o] = True
            elif left[o] and o + 1 < b:
                issues.append(
                    Issue(
                        f"job {ci.job_ids[j]} step {o - a + 1} left its machine but the next step is not listed as queued",
                        Location(src),
                    )
                )

    kits = _kits(ci, status, times, left, now, issues, src) if ci.has_assembly else []
    if st.kits is not None:
        _check_kits(st.kits, kits, src, issues)

    # machines: no overlap among dispatched ops; setup at now
    machine_setup = ci.machine_init_setup.copy()
    last_ss = np.full(n_m, -_INF)
    for m in range(n_m):
        ops = np.flatnonzero(machine == m)
        if ops.size == 0:
            continue
        # in time order; zero-length operations at one instant first
        ops = ops[np.lexsort((ops, times["end"][ops], times["setup_start"][ops]))]
        for x, y in zip(ops[:-1].tolist(), ops[1:].tolist(), strict=True):
            held = times["leave"][x] if left[x] else _INF
            if times["setup_start"][y] < held - 1e-6:
                issues.append(
                    Issue(
                        f"machine {ci.machine_ids[m]}: {ci.job_ids[ci.op_job[y]]} step {ci.op_step[y] + 1} starts before {ci.job_ids[ci.op_job[x]]} step {ci.op_step[x] + 1} leaves the machine",
                        Location(src),
                    )
                )
        o = int(ops[-1])
        machine_setup[m] = ci.op_setup[o]
        last_ss[m] = times["setup_start"][o]
    for mid, sid in st.machine_setups.items():
        m = m_index.get(mid)
        s_ = s_index.get(sid)
        if m is None:
            issues.append(
                Issue(f"machines: unknown machine {mid!r}", Location(src, sheet="machines"))
            )
        elif s_ is None or math.isnan(ci.setup_time[m, s_, s_]):
            issues.append(
                Issue(
                    f"machines: setup {sid!r} is not in the matrix of {mid}",
                    Location(src, sheet="machines"),
                )
            )
        else:
            machine_setup[m] = s_
    outages: dict[int, list[tuple[float, float]]] = {}
    for i, x in enumerate(st.outages):
        m = m_index.get(x.machine)
        if m is None:
            issues.append(
                Issue(f"unknown machine {x.machine!r}", Location(src, sheet="outages", row=i))
            )
            continue
        outages.setdefault(m, []).append((float(x.start), float(x.end)))
    for m in outages:
        outages[m].sort()

    # pins
    pin_machine = np.full(n, -1, dtype=np.int64)
    pin_start = np.full(n, np.nan)
    min_ss = np.full(n, -_INF)
    min_st = np.full(n, -_INF)
    frozen: dict[int, list[tuple[float, int]]] = {}
    for i, p in enumerate(sit.pins):
        where = Location("pins", row=i)
        o = op_of(p.job, p.step, where)
        if o is None:
            continue
        m = m_index.get(p.machine)
        if m is None or math.isnan(ci.op_proc[o, m]):
            issues.append(
                Issue(f"pin {p.job} step {p.step}: machine {p.machine!r} cannot run it", where)
            )
            continue
        if status[o] == 2:
            if machine[o] != m:
                issues.append(
                    Issue(
                        f"pin {p.job} step {p.step}: it already runs on {ci.machine_ids[machine[o]]}, not {p.machine}",
                        where,
                    )
                )
            continue
        pin_machine[o] = m
        if p.start is not None:
            if p.start < now - 1e-9:
                issues.append(
                    Issue(
                        f"pin {p.job} step {p.step}: start {p.start:g} is before now ({now:g})",
                        where,
                    )
                )
            pin_start[o] = p.start
            min_st[o] = p.start
        if p.frozen:
            if p.planned_setup_start is not None:
                min_ss[o] = max(p.planned_setup_start, now)
            key = p.planned_setup_start if p.planned_setup_start is not None else now
            frozen.setdefault(m, []).append((key, o))
    if issues:
        raise DataError(issues)
    frozen_seq = {m: [o for _, o in sorted(v)] for m, v in frozen.items()}
    return CompiledSituation(
        now=now,
        status=status,
        machine=machine,
        setup_from=setup_from,
        times=times,
        left=left,
        machine_setup=machine_setup,
        pin_machine=pin_machine,
        pin_start=pin_start,
        min_ss=min_ss,
        min_st=min_st,
        frozen_seq=frozen_seq,
        outages=outages,
        kits=kits,
    )


def _kits(
    ci: CompiledInstance,
    status: np.ndarray,
    times: dict[str, np.ndarray],
    left: np.ndarray,
    now: float,
    issues: list[Issue],
    src: str,
) -> list[dict[str, Any]]:
    """Check every assembly's kit against its children and list the kits in the buffers.

    A child has **departed** toward its kit when its last operation is done and it left its
    machine before ``now``; its kit arrives ``T`` later at the parent's first work center and
    holds its kit volume there until the assembly's processing starts. An assembly may be
    listed (queued = released, or dispatched) only when every child departed, with
    ``depart`` = their latest departure and ``arrive`` = their latest kit arrival; when every
    child departed it must be listed.
    """
    starts = ci.job_op_start
    parent = ci.job_parent
    T = ci.transport
    kids: dict[int, list[int]] = {}
    for c in np.flatnonzero(parent >= 0).tolist():
        kids.setdefault(int(parent[c]), []).append(c)
    out: list[dict[str, Any]] = []
    for p, ch in sorted(kids.items()):
        a_p, b_p = int(starts[p]), int(starts[p + 1])
        if a_p == b_p:
            continue
        fp = a_p
        w = int(ci.op_wc[fp])
        gone: list[tuple[int, float, float]] = []  # (child, kit depart, kit arrival)
        missing: list[int] = []
        for c in ch:
            a, b = int(starts[c]), int(starts[c + 1])
            lc = b - 1
            if b > a and status[lc] == 2 and left[lc]:
                lv = float(times["leave"][lc])
                gone.append((c, lv, lv + float(T[int(ci.op_wc[lc]) + 1, w + 1])))
            else:
                missing.append(c)
        name = ci.job_ids[p]
        listed = bool(status[a_p:b_p].any())
        if listed and missing:
            issues.append(
                Issue(
                    f"assembly {name} is released but its kit is incomplete at now ({now:g}): "
                    f"{', '.join(ci.job_ids[c] for c in missing)} not departed toward it",
                    Location(src, sheet="operations"),
                )
            )
            continue
        if not gone:
            continue
        dep = max(g[1] for g in gone)
        arr = max(g[2] for g in gone)
        if not missing:
            if not listed:
                issues.append(
                    Issue(
                        f"assembly {name}: its kit is complete (the last child departed at "
                        f"{dep:g}) but its step 1 is not listed: list it as queued with "
                        f"depart {dep:g} and arrive {arr:g}",
                        Location(src, sheet="operations"),
                    )
                )
                continue
            for f, want in (("depart", dep), ("arrive", arr)):
                got = float(times[f][fp])
                if not abs(got - want) <= 1e-6 * max(1.0, abs(want)):
                    issues.append(
                        Issue(
                            f"assembly {name} step 1: {f} {got:g} must be its kit's "
                            f"({'latest child departure' if f == 'depart' else 'latest kit arrival'}"
                            f" {want:g})",
                            Location(src, sheet="operations"),
                        )
                    )
        consumed = status[fp] == 2 and float(times["start"][fp]) < now
        if consumed:
            continue
        out.append(
            {
                "assembly": name,
                "work_center": ci.wc_ids[w],
                "status": (
                    "partial" if missing else ("assigned" if status[fp] == 2 else "complete")
                ),
                "arrived": [ci.job_ids[c] for c, _, x in gone if x <= now],
                "in_transit": [ci.job_ids[c] for c, _, x in gone if x > now],
                "missing": [ci.job_ids[c] for c in missing],
                "volume": float(sum(ci.job_kit_volume[c] for c, _, _ in gone)),
            }
        )
    return out


def _check_kits(
    given: list[dict[str, Any]], kits: list[dict[str, Any]], src: str, issues: list[Issue]
) -> None:
    """A state's optional ``kits`` must say what its operations say."""
    want = {k["assembly"]: k for k in kits}
    seen: set[str] = set()
    for i, k in enumerate(given):
        where = Location(src, sheet="kits", row=i)
        a = str(k.get("assembly"))
        seen.add(a)
        w = want.get(a)
        if w is None:
            issues.append(
                Issue(f"kits: {a} has no kit in its buffer by the operations listed", where)
            )
            continue
        got = set(map(str, k.get("arrived") or [])) | set(map(str, k.get("in_transit") or []))
        exp = set(w["arrived"]) | set(w["in_transit"])
        if got != exp:
            issues.append(
                Issue(
                    f"kits: {a} holds {sorted(exp)} by the operations listed, not {sorted(got)}",
                    where,
                )
            )
    for a in sorted(set(want) - seen):
        issues.append(
            Issue(
                f"kits: the kit of {a} (children departed: "
                f"{', '.join(want[a]['arrived'] + want[a]['in_transit'])}) is not listed",
                Location(src, sheet="kits"),
            )
        )


# -- the simulator side --------------------------------------------------------------------
class Constraints:
    """Pins and frozen sequences inside the simulator (``sim._cons``); outages are the plant's
    downtime (working time), which the simulator follows on its own."""

    def __init__(self, cs: CompiledSituation) -> None:
        self.cs = cs
        self.pin = cs.pin_machine.tolist()
        self.min_ss = cs.min_ss
        self.min_st = cs.min_st
        self.frozen = {m: deque(seq) for m, seq in cs.frozen_seq.items() if seq}

    def candidates(self, sim: Simulator, m: int, w: int) -> list[int]:
        waiting = sim._waiting[w]
        job_op = sim.job_op
        fz = self.frozen.get(m)
        if fz:
            o = fz[0]
            j = int(sim.ci.op_job[o])
            return [j] if j in waiting and job_op[j] == o else []
        elig = sim._elig
        pin = self.pin
        out = []
        for j in waiting:
            o = int(job_op[j])
            if m in elig[o] and (pin[o] < 0 or pin[o] == m):
                out.append(j)
        return out

    def earliest(self, o: int, setup_start: float, setup: float) -> float:
        """The setup start of ``o``: not earlier than frozen; with a pinned start, the setup
        ends then (the machine never idles with the setup done and the job there)."""
        return max(setup_start, float(self.min_ss[o]), float(self.min_st[o]) - setup)

    def dispatched(self, m: int, o: int) -> None:
        fz = self.frozen.get(m)
        if fz and fz[0] == o:
            fz.popleft()


def apply_situation(sim: Simulator, sit: Situation) -> None:
    """Put a freshly reset simulator into the situation's state at ``now`` (called by reset)."""
    from furnsim.sim import engine as E

    ci = sim.ci
    cs = compile_situation(sit, ci)
    now = cs.now
    sim.time = now
    sim._events.clear()
    sim._seq = 0
    for f in OP_FIELDS:
        known = ~np.isnan(cs.times[f])
        sim.rec[f][known] = cs.times[f][known]
    sim.rec_machine[:] = cs.machine
    sim.rec_setup_from[:] = cs.setup_from
    sim.machine_setup[:] = cs.machine_setup
    starts = ci.job_op_start
    proc = ci.op_proc
    held: list[tuple[float, int, int]] = []
    releases: list[tuple[float, int]] = []
    queued: list[tuple[float, int, int]] = []
    for j in range(ci.n_jobs):
        a, b = int(starts[j]), int(starts[j + 1])
        if a == b:
            continue
        s = cs.status[a:b]
        k = int(np.count_nonzero(s == 2))
        for o in range(a, a + k):
            if cs.left[o]:
                sim.machine_busy_time[int(cs.machine[o])] += float(proc[o, cs.machine[o]])
        if k < b - a and s[k] == 1:
            queued.append((float(cs.times["depart"][a + k]), j, a + k))
        elif k == 0:
            if not (sim._has_kits and sim._n_children[j]):  # an assembly waits for its kit
                releases.append((float(ci.job_release[j]), j))
        else:
            o = a + k - 1
            m = int(cs.machine[o])
            if cs.left[o]:  # the last step is done: the job is finished (or in its kit)
                sim.job_state[j] = E.DONE
                sim.job_op[j] = b
                sim.n_done += 1
                p = sim._parent[j]
                if p < 0:
                    sim.finish_arrive[j] = (
                        cs.times["end"][o] + ci.transport[ci.op_wc[o] + 1, ci.n_wc + 1]
                    )
                    continue
                # a child departed toward its parent's first work center: its kit arrives
                # there and holds its volume until the assembly's processing starts
                fp = sim._job_first[p]
                wp = int(ci.op_wc[fp])
                arr = float(cs.times["leave"][o]) + float(ci.transport[ci.op_wc[o] + 1, wp + 1])
                sim.finish_arrive[j] = arr
                sim.kit_left[p] -= 1
                if arr > sim.kit_arrive[p]:
                    sim.kit_arrive[p] = arr
                if not (cs.status[fp] == 2 and cs.times["start"][fp] < now):
                    vol = float(sim._kit_vol[j])
                    if vol > 0:
                        sim._set_level(wp, vol)
                continue
            sim.job_op[j] = o
            sim.job_arrive[j] = cs.times["arrive"][o]
            sim.machine_job[m] = j
            sim.machine_state[m] = E.BUSY
            sim.machine_free_at[m] = cs.times["end"][o]
            if cs.times["start"][o] >= now:
                sim.job_state[j] = E.ASSIGNED
                vol = float(ci.op_volume[o])
                if vol > 0:
                    sim._set_level(int(ci.op_wc[o]), vol)
                sim._push(float(cs.times["start"][o]), E._START, j, o)
            else:
                sim.job_state[j] = E.PROCESSING
            end = float(cs.times["end"][o])
            if end >= now:
                sim._push(end, E._END, j, m)
            else:
                held.append((end, j, m))
    # the machines still holding a job that ended before now try to pass it on at now,
    # in the order they finished; then the jobs waiting at STORE, by release
    for _, j, m in sorted(held):
        sim._push(now, E._END, j, m)
    for r, j in sorted(releases):
        sim._push(max(r, now), E._RELEASE, j, 0)
    for _, j, o in sorted(queued):
        w = int(ci.op_wc[o])
        sim.job_op[j] = o
        sim.job_state[j] = E.WAITING
        sim.job_arrive[j] = cs.times["arrive"][o]
        sim._waiting[w][j] = None
        sim._ready.add(w)
        vol = float(ci.op_volume[o])
        if vol > 0:
            sim._set_level(w, vol)
    for w, ms in enumerate(sim._wc_machines):
        sim._idle[w] = {m for m in ms if sim.machine_state[m] == E.IDLE}
        sim._ready.add(w)
    sim._cons = Constraints(cs) if cs.constrained else None
