"""Deadlock diagnosis with partial kits (docs/semantics.md, "Assembly").

Children of an incomplete kit hold space in their assembly's buffer. When a missing child then
cannot leave its machine because that buffer is full, the shop stops with no blocked machine
at the full work center. The wait-for graph over blocked machines therefore has two kinds of
edges: machine → a blocked machine at the work center whose buffer it waits for (v1), and
machine → a machine that holds a *missing* child of a partial kit sitting in that buffer
(through missing sub-assemblies, and through jobs queued for a full work center).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from furnsim.sim.engine import Simulator

__all__ = ["diagnose_kits", "kit_features", "path_ops", "path_work"]


def path_work(parent: list[int], own_work: np.ndarray) -> np.ndarray:
    """(n_jobs,) mean work of each job's ancestors (parent, grandparent, ... the root)."""
    own = own_work.tolist()
    out = [0.0] * len(parent)
    for j, p in enumerate(parent):
        s = 0.0  # (the same float additions, along the chain)
        while p >= 0:
            s += own[p]
            p = parent[p]
        out[j] = s
    return np.array(out, dtype=np.float64)


def path_ops(parent: list[int], starts: np.ndarray) -> np.ndarray:
    """(n_jobs,) operations of each job's ancestors."""
    own = np.diff(starts).tolist()
    out = [0] * len(parent)
    for j, p in enumerate(parent):
        s = 0
        while p >= 0:
            s += own[p]
            p = parent[p]
        out[j] = s
    return np.array(out, dtype=np.int64)


def kit_features(sim: Simulator, jobs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per job (its parent's kit): (share of siblings departed, siblings still missing besides
    the job itself, their remaining own mean work). A job without parent: (1, 0, 0).

    "Departed" = left its last machine toward the kit. Used by the KIT rule and the optional
    kit features of the PPO observation.
    """
    n = jobs.size
    done = np.ones(n)
    missing = np.zeros(n)
    work = np.zeros(n)
    if not sim._has_kits or n == 0:
        return done, missing, work
    from furnsim.sim.engine import DONE

    kids = sim._children
    state = sim.job_state
    for i, j in enumerate(jobs.tolist()):
        p = sim._parent[j]
        if p < 0:
            continue
        sib = kids[p]
        gone = 0
        for s in sib:
            if state[s] == DONE:
                gone += 1
            elif s != j:
                missing[i] += 1
                o = int(sim.job_op[s])
                own = sim.op_rem_work[o] - sim.job_path_work[s] if o < sim._job_end[s] else 0.0
                work[i] += own
        done[i] = gone / len(sib)
    return done, missing, work


def diagnose_kits(
    sim: Simulator, wants: dict[int, int], blocked: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(blocked cycle, incomplete kits) of a deadlocked simulator with assemblies."""
    from furnsim.sim.engine import AT_STORE, BLOCKED, DONE, MBLOCKED, WAITING

    ci = sim.ci
    n_j = sim.n_jobs
    parent = sim._parent
    first = sim._job_first
    children: list[list[int]] = [[] for _ in range(n_j)]
    for j, p in enumerate(parent):
        if p >= 0:
            children[p].append(j)
    on_machine = {
        int(sim.machine_job[m]): m
        for m in range(sim.n_machines)
        if sim.machine_state[m] == MBLOCKED
    }
    blocked_at: dict[int, list[int]] = {}
    for m in sorted(wants):
        blocked_at.setdefault(sim._machine_wc[m], []).append(m)
    # partial kits per work center: assembly jobs with some children there and some missing
    partial: dict[int, list[int]] = {}
    kits: list[dict[str, Any]] = []
    for p in range(n_j):
        if not children[p] or sim.kit_left[p] == 0:
            continue
        arrived = [c for c in children[p] if sim.job_state[c] == DONE]
        missing = [c for c in children[p] if sim.job_state[c] != DONE]
        w = sim._op_wc[first[p]]
        if arrived:
            partial.setdefault(w, []).append(p)
        kits.append(
            {
                "assembly": ci.job_ids[p],
                "work_center": ci.wc_ids[w],
                "waiting": [ci.job_ids[c] for c in arrived],
                "missing": [ci.job_ids[c] for c in missing],
            }
        )

    def holders(j: int, seen: set[int]) -> list[int]:
        """Blocked machines that keep job j from moving on."""
        if j in seen:
            return []
        seen.add(j)
        st = int(sim.job_state[j])
        if st == BLOCKED and j in on_machine:
            return [on_machine[j]]
        out: list[int] = []
        if st == AT_STORE and children[j] and sim.kit_left[j] > 0:
            for c in children[j]:
                if sim.job_state[c] != DONE:
                    out += holders(c, seen)
            return out
        w = sim._op_wc[int(sim.job_op[j])] if st in (WAITING, AT_STORE) else -1
        if w < 0:
            return out
        out += blocked_at.get(w, [])  # its work center's machines are blocked
        if st == AT_STORE:  # queued for a full buffer: whatever holds that buffer
            out += full_holders(w, seen)
        return out

    def full_holders(w: int, seen: set[int]) -> list[int]:
        out: list[int] = []
        for p in partial.get(w, []):
            for c in children[p]:
                if sim.job_state[c] != DONE:
                    out += holders(c, seen)
        return out

    succ: dict[int, list[int]] = {}
    for m, w in wants.items():
        nxt = list(blocked_at.get(w, []))
        for x in full_holders(w, set()):
            if x not in nxt:
                nxt.append(x)
        succ[m] = nxt
    loop = _find_cycle(sorted(wants), succ)
    by_m = {b["machine"]: b for b in blocked}
    cycle = []
    for m in loop:
        entry = dict(by_m[ci.machine_ids[m]])
        w = wants[m]
        held = [
            f"{k['assembly']} waits for {', '.join(k['missing'])}"
            for k in kits
            if k["work_center"] == ci.wc_ids[w] and k["waiting"]
        ]
        if held:
            entry["kits"] = held
        cycle.append(entry)
    return cycle, kits


def _find_cycle(nodes: list[int], succ: dict[int, list[int]]) -> list[int]:
    """A cycle of the directed graph (DFS from the smallest node first), or []."""
    color: dict[int, int] = {}
    stack: list[int] = []

    def dfs(u: int) -> list[int] | None:
        color[u] = 1
        stack.append(u)
        for v in succ.get(u, []):
            if color.get(v) == 1:
                return stack[stack.index(v) :]
            if v not in color:
                found = dfs(v)
                if found:
                    return found
        stack.pop()
        color[u] = 2
        return None

    for n in nodes:
        if n not in color:
            found = dfs(n)
            if found:
                return list(found)
    return []
