"""Independent checks of intentional holds and of the non-delay rule (docs/semantics.md).

Called by :func:`furnsim.validate.validate` for *hold-aware* schedules (``schedule.holds`` is a
list, possibly empty). Like the rest of the validator it imports nothing from the simulator:
everything is recomputed from the schedule's times and the instance's domain objects.

* kind ``hold``: a hold naming an unknown job / machine, with ``until <= from``, overlapping
  another hold of the same job or machine, a STORE hold on a job that was not waiting at STORE
  (``from`` before its release, an assembly, or a departure before ``until``), a machine hold
  while an operation occupies the machine (``setup_start < until`` and ``leave > from``);
* kind ``idle``: an idle, unblocked machine in its working time had a candidate (an operation it
  can run whose job had departed toward its work center and was not taken yet) and decided
  nothing, outside its machine holds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ParsedHolds", "check_holds", "check_non_delay", "read_holds"]

#: most holds a schedule file may list (bounded cost for untrusted input)
MAX_HOLDS = 1_000_000
_KEYS = {
    "store": {"kind", "job", "from", "until", "reason"},
    "machine": {"kind", "machine", "from", "until", "job", "reason"},
}


def read_holds(
    v: Any, job_ids: list[str], machine_ids: list[str], error: type[Exception]
) -> list[dict[str, Any]] | None:
    """Strictly read the ``holds`` key of an untrusted schedule file (None when absent)."""
    if v is None:
        return None
    if not isinstance(v, list):
        raise error("'holds' must be a list of hold records")
    if len(v) > MAX_HOLDS:
        raise error(f"'holds' has more than {MAX_HOLDS:,} records")
    jobs, machines = set(job_ids), set(machine_ids)
    out = []
    for i, h in enumerate(v):
        where = f"'holds'[{i}]"
        if not isinstance(h, dict) or h.get("kind") not in _KEYS:
            raise error(f"{where} must be an object with kind 'store' or 'machine'")
        kind = h["kind"]
        extra = sorted(set(h) - _KEYS[kind])
        if extra:
            raise error(f"{where}: unknown key(s) {extra[:5]}")
        for k in ("from", "until"):
            x: Any = h.get(k)
            if type(x) not in (int, float) or not math.isfinite(x) or abs(x) >= 1e15:
                raise error(f"{where}.{k} must be a finite number")
        reason = h.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 200:
            raise error(f"{where}.reason must be text (at most 200 characters)")
        job = h.get("job")
        if kind == "store" and job not in jobs:
            raise error(f"{where}.job must be one of the schedule's job ids")
        if kind == "machine":
            if h.get("machine") not in machines:
                raise error(f"{where}.machine must be one of the schedule's machine ids")
            if job is not None and job not in jobs:
                raise error(f"{where}.job must be null or one of the schedule's job ids")
        rec = {k: h[k] for k in _KEYS[kind] if k in h}
        rec["from"], rec["until"], rec["reason"] = float(h["from"]), float(h["until"]), reason
        out.append(rec)
    return out


class ParsedHolds:
    """Holds by job index (STORE) and machine id, sorted by ``from``; bad records reported."""

    def __init__(self, holds: list[dict[str, Any]], job_ids: list[str]) -> None:
        pos = {j: i for i, j in enumerate(job_ids)}
        self.store: dict[int, list[tuple[float, float]]] = {}
        self.machine: dict[str, list[tuple[float, float]]] = {}
        self.problems: list[tuple[str, list[int]]] = []
        self.raw = holds
        for h in holds:
            a, b = float(h.get("from", math.nan)), float(h.get("until", math.nan))
            if not (math.isfinite(a) and math.isfinite(b)) or b <= a:
                self.problems.append((f"hold {_fmt(h)} does not end after it starts", []))
                continue
            if h.get("kind") == "store":
                j = pos.get(h.get("job"))  # type: ignore[arg-type]
                if j is None:
                    self.problems.append((f"hold {_fmt(h)} names an unknown job", []))
                    continue
                self.store.setdefault(j, []).append((a, b))
            elif h.get("kind") == "machine":
                self.machine.setdefault(str(h.get("machine")), []).append((a, b))
            else:
                self.problems.append((f"hold {_fmt(h)} has an unknown kind", []))
        for d in (self.store, self.machine):
            for v in d.values():
                v.sort()


def _fmt(h: dict[str, Any]) -> str:
    who = h.get("job") if h.get("kind") == "store" else h.get("machine")
    return f"{h.get('kind')} {who} [{h.get('from')}, {h.get('until')})"


def check_holds(c: Any, ph: ParsedHolds) -> None:
    """Consistency of the recorded holds (kind ``hold``); ``c`` is the validator's checker."""
    s, r, tol = c.s, c.ref, c.tol
    t = s.times
    for msg, ops in ph.problems:
        c.add("hold", msg, ops)
    for j, iv in ph.store.items():
        for (a0, b0), (a1, b1) in zip(iv, iv[1:], strict=False):
            if a1 < b0 - tol:
                c.add(
                    "hold",
                    f"job {r.job_ids[j]}: STORE holds [{a0:g}, {b0:g}) and "
                    f"[{a1:g}, {b1:g}) overlap",
                    [],
                )
        o = int(r.job_first[j])
        if o >= r.n_ops or not r.op_store[o]:
            c.add(
                "hold",
                f"job {r.job_ids[j]} is held at STORE but it does not come from STORE "
                "(an assembly is released by its kit)",
                [],
            )
            continue
        rel = float(r.job_release[j])
        dep = float(t["depart"][o])
        for a, b in iv:
            if a < rel - tol:
                c.add(
                    "hold",
                    f"job {r.job_ids[j]} is held at STORE from {a:g}, before its release "
                    f"{rel:g} (it was not waiting)",
                    [o],
                )
            if math.isfinite(dep) and dep < b - tol:
                c.add(
                    "hold",
                    f"job {r.job_ids[j]} is held at STORE until {b:g} but departs at {dep:g}",
                    [o],
                )
    if not ph.machine:
        return
    mach = np.asarray(s.op_machine, dtype=np.int64)
    ids = list(s.machine_ids)
    ss, lv = t["setup_start"], t["leave"]
    by_m: dict[str, np.ndarray] = {}
    for mid in ph.machine:
        if mid not in r.machines:
            c.add("hold", f"machine {mid!r} is held but it is not in the plant", [])
            continue
        k = ids.index(mid) if mid in ids else -1
        by_m[mid] = np.flatnonzero(mach == k) if k >= 0 else np.zeros(0, dtype=np.int64)
    for mid, iv in ph.machine.items():
        for (a0, b0), (a1, b1) in zip(iv, iv[1:], strict=False):
            if a1 < b0 - tol:
                c.add(
                    "hold",
                    f"machine {mid}: holds [{a0:g}, {b0:g}) and [{a1:g}, {b1:g}) overlap",
                    [],
                )
        mine = by_m.get(mid)
        if mine is None or mine.size == 0:
            continue
        mine = mine[np.argsort(ss[mine], kind="stable")]
        occ_a = ss[mine]
        occ_b = np.where(np.isfinite(lv[mine]), lv[mine], np.inf)
        occ_max = np.maximum.accumulate(occ_b)
        for a, b in iv:
            k = int(np.searchsorted(occ_a, b - tol, side="left"))  # ops with ss < until
            if k == 0 or not occ_max[k - 1] > a + tol:
                continue
            bad = mine[:k][occ_b[:k] > a + tol]
            for o in bad[:5].tolist():
                c.add(
                    "hold",
                    f"machine {mid} is held [{a:g}, {b:g}) but {c.name(o)} occupies it "
                    f"from {ss[o]:g} to {lv[o]:g}",
                    [o],
                )


def check_non_delay(c: Any, ph: ParsedHolds, instance: Any) -> None:
    """An idle machine with a candidate decides, unless a machine hold covers it (``idle``)."""
    s, r, tol = c.s, c.ref, c.tol
    t = s.times
    ss, lv, dp = t["setup_start"], t["leave"], t["depart"]
    mach = np.asarray(s.op_machine, dtype=np.int64)
    ids = list(s.machine_ids)
    # dispatched operations (a deadlocked plan: a blocked one has no leave, it holds the
    # machine for good), and departed ones never taken (candidates until the end)
    n_m = len(ids)
    ops = np.flatnonzero((mach >= 0) & (mach < n_m) & np.isfinite(ss) & np.isfinite(dp))
    lv = np.where(np.isfinite(lv), lv, np.inf)
    # each machine's operations in time order -> idle windows [free, next decision)
    st, en = t["start"], t["end"]
    order = ops[np.lexsort((ops, st[ops], en[ops], lv[ops], ss[ops], mach[ops]))]
    prev_leave = np.full(r.n_ops, 0.0)
    idle: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    cur: dict[int, list[tuple[float, float]]] = {}
    free: dict[int, float] = {}
    for o in order.tolist():
        m = int(mach[o])
        f = free.get(m, 0.0)
        prev_leave[o] = f
        dec = ss[o] if c.anticipatory else min(ss[o], max(f, dp[o]))
        if dec > f + tol:
            cur.setdefault(m, []).append((f, float(dec)))
        free[m] = max(f, float(lv[o]))
    for k, mid in enumerate(ids):
        w = cur.get(k, [])
        f = free.get(k, 0.0)
        if math.isfinite(f):
            w = [*w, (f, math.inf)]
        if w:
            idle[mid] = (np.array([a for a, _ in w]), np.array([b for _, b in w]))
    clocks = _clocks_or_none(instance)
    hv = {mid: _Holds(iv) for mid, iv in ph.machine.items()}
    flagged = 0
    waiting = np.flatnonzero(~((mach >= 0) & np.isfinite(ss)) & np.isfinite(dp))
    for o in [*ops.tolist(), *waiting.tolist()]:
        a = float(dp[o])
        if not math.isfinite(ss[o]):
            b = math.inf
        else:
            b = float(ss[o]) if c.anticipatory else min(float(ss[o]), max(a, prev_leave[o]))
        if not b > a + tol:
            continue
        for mid in r.op_proc[o]:
            win = idle.get(mid)
            if win is None:
                continue
            wa, wb = win
            i = int(np.searchsorted(wb, a + tol, side="right"))
            while i < wa.size and wa[i] < b - tol:
                lo, hi = max(a, float(wa[i])), min(b, float(wb[i]))
                lost = _unheld(lo, hi, hv.get(mid), clocks.get(mid) if clocks else None)
                if lost > tol:
                    c.add(
                        "idle",
                        f"machine {mid} is idle from {lo:g} to {hi:g} while {c.name(o)} waits for "
                        f"it ({lost:g} working min) and no hold explains it (non-delay)",
                        [o],
                    )
                    flagged += 1
                    break
                i += 1
            if flagged >= 200:
                return


def _unheld(lo: float, hi: float, holds: Any, clock: Any) -> float:
    """Working minutes of ``[lo, hi)`` outside the holds (``_Holds`` of the machine)."""
    pieces = [(lo, hi)]
    for a, b in holds.overlapping(lo, hi) if holds is not None else []:
        nxt = []
        for x, y in pieces:
            if b <= x or a >= y:
                nxt.append((x, y))
                continue
            if a > x:
                nxt.append((x, a))
            if b < y:
                nxt.append((b, y))
        pieces = nxt
    total = 0.0
    for x, y in pieces:
        if not math.isfinite(y):  # idle for good while the job waits: look two weeks ahead
            y = x + 14 * 1440.0
        if clock is None or clock.always:
            total += y - x
        else:
            total += sum(q - p for p, q, working in clock.pieces(x, y) if working)
    return total


class _Holds:
    """One machine's holds sorted by start, for overlap queries in O(log n + k)."""

    def __init__(self, iv: list[tuple[float, float]]) -> None:
        self.iv = iv
        self.a = np.array([x for x, _ in iv], dtype=float)
        b = np.array([y for _, y in iv], dtype=float)
        self.bmax = np.maximum.accumulate(b) if b.size else b

    def overlapping(self, lo: float, hi: float) -> list[tuple[float, float]]:
        k = int(np.searchsorted(self.a, hi, side="left")) - 1
        out = []
        while k >= 0 and self.bmax[k] > lo:
            if self.iv[k][1] > lo:
                out.append(self.iv[k])
            k -= 1
        return out


def _clocks_or_none(instance: Any) -> dict[str, Any] | None:
    plant = instance.plant
    if not plant.has_working_time or instance.plan_start is None:
        return None
    from furnsim.validate_calendar import _clocks

    return _clocks(instance)
