"""The goal's partial cost, kept up to date per simulator event instead of recomputed.

:func:`furnsim.goals.partial_cost` re-runs every KPI over all operations at each decision
(O(operations) numpy work and ~100 numpy calls per step). :class:`IncrementalCost` observes
the simulator between two calls — the operations it dispatched, the jobs that departed into a
buffer, started processing or left their machine since the last call (read from the
simulator's records, so no hook in the engine is needed) — and adds their increments:

* committed at dispatch: processing and setup minutes (working minutes under calendars), the
  latest committed end (makespan bound), the completion of a job whose last operation is
  dispatched (per order: latest committed completion, number of unfinished jobs);
* closed when it happens: the blocking of a job that left its machine, the buffer
  volume·minutes of a job that started processing;
* open terms, evaluated at ``now`` over the few open items only: jobs still on a machine
  (≤ one per machine: blocking up to now), jobs waiting in a buffer (volume held up to now),
  orders with unfinished jobs (they count as completing now);
* the overflow integral ∫ max(0, level − cap) / cap dt (soft buffers): the levels of the
  touched work centers are stepped through the window's departures and starts, the others
  are constant since the last call.

With assemblies, a child that left its machine holds its kit volume in its parent's first
buffer until the parent starts processing (``Schedule.kit_holds``): these holdings are kept like
the operations' buffer holdings (open from the child's ``leave``, closed at the parent's
``start``; their steps enter the overflow integral).

The result equals :func:`furnsim.goals.partial_cost` to rounding (tests/test_fastcore.py:
every goal, with and without calendars and assemblies, hard and soft buffers). Goals that weigh
a KPI not kept here (``SUPPORTED``) fall back to the full recomputation in the reward.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from furnsim.env._kernels import A_OPEN_OK, A_TARD, A_TCLOSED, HAVE_NUMBA, reward_step
from furnsim.sim.state import SimState

__all__ = ["SUPPORTED", "IncrementalCost"]

_EPS = 1e-9
_NONE = np.zeros(0, dtype=np.int64)


def _worked(mt: Any, a: float, b: float) -> float:
    """Working minutes of machine time ``mt`` in ``[a, b)`` (``b - a`` for a 24/7 machine)."""
    return b - a if mt is None else mt.worked_before(b) - mt.worked_before(a)


#: KPIs this tracker keeps (the others need the full recomputation)
SUPPORTED = frozenset(
    {
        "makespan",
        "total_tardiness",
        "total_setup_time",
        "setup_count",
        "processing_time",
        "blocked_time",
        "idle_time",
        "buffer_volume_minutes",
        "buffer_load",
        "overflow_volume_minutes",
        "overflow_load",
    }
)
_BUF = frozenset({"buffer_volume_minutes", "buffer_load"})
_OVER = frozenset({"overflow_volume_minutes", "overflow_load"})


class IncrementalCost:
    """``partial_cost(sim, goal)`` per event: :meth:`reset` on a fresh simulator, then
    :meth:`update` after any number of dispatches returns the partial cost at ``sim.time``."""

    def __init__(self, goal: Any) -> None:
        from furnsim.goals import get_goal

        self.goal = get_goal(goal)
        self.weights = {k: float(w) for k, w in self.goal.weights.items() if w != 0}
        missing = set(self.weights) - SUPPORTED
        if missing:
            raise ValueError(f"IncrementalCost does not keep {sorted(missing)}")

    @staticmethod
    def supports(goal: Any) -> bool:
        from furnsim.goals import get_goal

        g = get_goal(goal)
        return all(k in SUPPORTED for k, w in g.weights.items() if w != 0)

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self, sim: Any) -> float:
        ci = sim.ci
        # the typed read seam of the simulator (furnsim/sim/state.py)
        self.sim = sim if isinstance(sim, SimState) else sim.state
        self.ci = ci
        n_o = ci.n_ops
        self.n_m = ci.n_machines
        need = set(self.weights)
        self.want_buf = bool(need & (_BUF | _OVER))
        self.want_over = bool(need & _OVER) and sim.buffers == "soft"
        self.want_tard = "total_tardiness" in need
        # blocking (open items, working minutes) only when a weighed KPI reads it
        self.want_blk = bool(need & {"blocked_time", "idle_time"})
        wt = ci.working
        self.mt: list[Any] = list(wt.machines) if wt is not None else [None] * self.n_m
        self.working = wt is not None
        # static per op / job / order
        starts = ci.job_op_start
        self.op_is_last = np.zeros(n_o, dtype=bool)  # (n_ops,)
        last = np.where(starts[1:] > starts[:-1], starts[1:] - 1, -1)
        self.op_is_last[last[last >= 0]] = True
        self.op_order = ci.job_order[ci.op_job]  # (n_ops,)
        n_ord = ci.n_orders
        has_ops = starts[1:] > starts[:-1]
        self.ord_unf = np.bincount(ci.job_order[has_ops], minlength=n_ord).astype(np.int64)
        self.ord_cend = np.full(n_ord, -np.inf)  # (n_orders,) latest committed completion
        od = np.full(n_ord, np.inf)
        np.minimum.at(od, ci.job_order, ci.job_deadline)
        self.ord_dl = od  # (n_orders,)
        self.ord_has_dl = np.isfinite(od)
        cap = ci.wc_capacity
        self.cap = cap  # (n_wc,)
        bounded = np.isfinite(cap)
        self.bounded = bounded
        vol = ci.op_volume
        self.op_vol = vol
        self.op_wload = np.where(
            bounded[ci.op_wc], vol / np.where(bounded, cap, 1.0)[ci.op_wc], 0.0
        )
        # assembly: the kit holdings of the children (kpi's kit_holds), one row per child
        self.kit_lo = _NONE  # (n_kits,) the child's last op (its leave opens the holding)
        self.kit_fp = _NONE  # (n_kits,) the parent's first op (its start closes it)
        self.kit_w = _NONE  # (n_kits,) the parent's first work center
        self.kit_v = np.zeros(0)  # (n_kits,) kit volume
        self.kit_wl = np.zeros(0)  # (n_kits,) kit volume / capacity (0 when unbounded)
        if getattr(ci, "has_assembly", False) and self.want_buf:
            par = ci.job_parent
            kids = np.flatnonzero(par >= 0)
            lo = np.where(has_ops, starts[1:] - 1, -1)[kids]
            fp = np.where(has_ops, starts[:-1], n_o)[par[kids]]
            kv = np.asarray(ci.job_kit_volume, dtype=float)[kids]
            ok = (lo >= 0) & (fp < n_o) & (kv > 0)
            self.kit_lo, self.kit_fp, self.kit_v = lo[ok], fp[ok], kv[ok]
            self.kit_w = ci.op_wc[self.kit_fp]
            self.kit_wl = np.where(
                bounded[self.kit_w], self.kit_v / np.where(bounded, cap, 1.0)[self.kit_w], 0.0
            )
        self.seen_kit = np.zeros(self.kit_lo.size, dtype=bool)
        self.open_kit = _NONE  # kit rows whose child left, parent not started
        # running state
        self.seen_disp = np.zeros(n_o, dtype=bool)
        self.seen_dep = np.zeros(n_o, dtype=bool)
        self.open_blk = np.zeros(0, dtype=np.int64)  # dispatched, not left
        self.open_buf = np.zeros(0, dtype=np.int64)  # departed (vol > 0), not started
        self.committed_end = 0.0
        self.proc = 0.0
        self.setup = 0.0
        self.setup_count = 0.0
        self.blk_closed = 0.0
        self.vm_closed = 0.0
        self.bl_closed = 0.0
        self.level = np.zeros(ci.n_wc)  # (n_wc,) volume held at t_prev
        self.ovm = np.zeros(ci.n_wc)  # (n_wc,) ∫ max(0, level - cap) dt so far
        self.t_prev = 0.0
        self._avail_mk = math.nan
        self._avail = 0.0
        self._n_log = -1  # dispatch-log entries already read; -1 = scan the records (first look)
        self._ptr: list[int] = []  # (n_jobs,) next op of each job to be dispatched
        self._job_end: list[int] = starts[1:].tolist()
        self._open: dict[int, list[float]] | None = None  # open orders: [deadline, completion]
        self._tard_closed = 0.0
        # the compiled step (furnsim/env/_kernels.py reward_step) while the simulator runs in
        # its compiled loop: the same bookkeeping over arrays (ptr, open orders, accumulators)
        self._nb = HAVE_NUMBA and self.sim.compiled is not None
        if self._nb:
            self._nb_ptr = starts[:-1].copy()  # (n_jobs,) (rebuilt by the first look's scan)
            self._nb_acc = np.zeros(8)  # committed end, proc, setup, setups, closed tardiness,
            #                             open orders valid, tardiness
            self._nb_open = np.zeros(n_ord, dtype=bool)  # (n_orders,) the _open dict's keys
            self._nb_new = np.empty(n_o, dtype=np.int64)  # (n_ops,) out
            self._nb_has = np.array([mt is not None for mt in self.mt], dtype=bool)
            self._nb_ints = [
                np.ascontiguousarray(x, dtype=np.int64)
                for x in (starts[:-1], starts[1:], ci.op_job, self.op_order)
            ]
            self._nb_proc = np.ascontiguousarray(ci.op_proc, dtype=np.float64)
        return self.update()

    # -- per step ----------------------------------------------------------------------------
    def update(self) -> float:
        """The partial cost at ``sim.time`` (updates the state from the simulator's records)."""
        k = self._kpis()
        return float(sum(w * k[name] for name, w in self.weights.items()))

    def kpis(self) -> dict[str, float]:
        """The kept KPIs at ``sim.time`` (call instead of :meth:`update`, not in addition);
        ``blocked_time`` and ``idle_time`` only when the goal weighs one of them, the buffer
        KPIs only when it weighs a buffer KPI."""
        return self._kpis()

    def _kpis(self) -> dict[str, float]:
        sim = self.sim
        rec = sim.rec
        now = float(sim.time)
        compiled = self._nb and self._kernel_step(now)
        if not compiled:
            self._dispatches(rec)
        mk = max(now, self.committed_end)
        out = {
            "makespan": mk,
            "processing_time": self.proc,
            "total_setup_time": self.setup,
            "setup_count": self.setup_count,
        }
        if self.want_blk:
            blocked = self._blocking(rec, now)
            out["blocked_time"] = blocked
            if self.working:
                out["idle_time"] = self._available(mk) - self.proc - self.setup - blocked
            else:
                out["idle_time"] = mk * self.n_m - self.proc - self.setup - blocked
        if self.want_tard:
            out["total_tardiness"] = self._nb_acc[A_TARD] if compiled else self._tardiness(now)
        if self.want_buf:
            out.update(self._buffers(rec, now))
        self.t_prev = now
        return out

    def _kernel_step(self, now: float) -> bool:
        """The new dispatches and the tardiness by the compiled step; False (and the Python
        bookkeeping from now on) when the simulator left its compiled loop or a record is
        past the working-time tables."""
        sim = self.sim
        fx = sim.compiled
        if fx is not None:
            n = len(sim.dispatch_log)
            rec = sim.rec
            jf, je, oj, oo = self._nb_ints
            acc = self._nb_acc
            c = reward_step(
                fx.log_i, self._n_log, n, self._nb_ptr, jf, je, oj, sim.rec_machine,
                self.seen_disp, rec["setup_start"], rec["setup_end"], rec["start"], rec["end"],
                self.working, self._nb_has, fx.cal.CF, fx.cal.CI, self._nb_proc,
                self.op_is_last, oo, self.ord_cend, self.ord_unf, self._nb_open, self.ord_dl,
                self.ord_has_dl, acc, self._nb_new, now, self.want_tard,
            )  # fmt: skip
            if c >= 0:
                self._n_log = n
                self.committed_end, self.proc, self.setup, self.setup_count = acc[:4].tolist()
                if self.want_blk and c:
                    self.open_blk = np.concatenate([self.open_blk, self._nb_new[:c]])
                return True
        # back to the Python bookkeeping, from the same state
        self._nb = False
        acc = self._nb_acc
        self.committed_end, self.proc, self.setup, self.setup_count = acc[:4].tolist()
        self._tard_closed = float(acc[A_TCLOSED])
        self._open = (
            {
                int(k): [float(self.ord_dl[k]), float(self.ord_cend[k])]
                for k in np.flatnonzero(self._nb_open)
            }
            if acc[A_OPEN_OK] == 1.0
            else None
        )
        self._n_log = -1  # (scan the records)
        return False

    def _tardiness(self, now: float) -> float:
        """Σ over orders with a deadline of max(0, completion − deadline), an order with
        unfinished jobs completing at max(latest committed completion, now): the closed orders'
        sum, plus the open orders (deadline, latest committed completion) evaluated now."""
        if self._open is None:  # (re)build from the arrays
            unf, cend, dl, has = self.ord_unf, self.ord_cend, self.ord_dl, self.ord_has_dl
            self._open = {
                int(k): [float(dl[k]), float(cend[k])] for k in np.flatnonzero(has & (unf > 0))
            }
            closed = has & (unf == 0) & (cend > -np.inf)
            self._tard_closed = float(np.maximum(cend[closed] - dl[closed], 0.0).sum())
        tot = self._tard_closed
        for dl_k, ce in self._open.values():
            x = (ce if ce > now else now) - dl_k
            if x > 0.0:
                tot += x
        return tot

    def _new_dispatches(self) -> np.ndarray | list[int]:
        """Ops dispatched since the last look, ascending: from the engine's dispatch log (a
        job's ops are dispatched in route order), or by scanning the records on the first
        look (a shop state may have fixed past operations) or if the log does not fit."""
        sim = self.sim
        log = sim.dispatch_log
        n = len(log)
        if self._n_log >= 0:
            if n == self._n_log:
                return _NONE
            ptr, rm, end, seen = self._ptr, sim.rec_machine, self._job_end, self.seen_disp
            out: list[int] = []
            for _, m, j in log[self._n_log :]:
                o = ptr[j]
                if o >= end[j] or rm[o] != m or seen[o]:
                    out = []
                    break
                out.append(o)
                ptr[j] = o + 1
            else:
                self._n_log = n
                out.sort()
                return out
        new = np.flatnonzero((sim.rec_machine >= 0) & ~self.seen_disp)
        done = np.flatnonzero(sim.rec_machine >= 0)
        ptr = self.ci.job_op_start[:-1].copy()
        np.maximum.at(ptr, self.ci.op_job[done], done + 1)
        self._ptr = ptr.tolist()
        self._n_log = n
        return new

    def _dispatches(self, rec: dict[str, np.ndarray]) -> None:
        sim = self.sim
        new = self._new_dispatches()
        if len(new) <= 16:  # the usual few per step: floats, no numpy calls
            if len(new):
                self._few_dispatches(new if isinstance(new, list) else new.tolist(), rec)
            return
        new = np.asarray(new, dtype=np.int64)
        self.seen_disp[new] = True
        m = sim.rec_machine[new]
        ss, se = rec["setup_start"][new], rec["setup_end"][new]
        st, en = rec["start"][new], rec["end"][new]
        self.committed_end = max(self.committed_end, float(en.max()))
        slen = se - ss
        self.setup_count += float((slen > _EPS).sum())
        if self.working:
            self.proc += float(self.ci.op_proc[new, m].sum())
            for i in range(new.size):
                self.setup += _worked(self.mt[int(m[i])], float(ss[i]), float(se[i]))
        else:
            self.proc += float((en - st).sum())
            self.setup += float(slen.sum())
        last = self.op_is_last[new]
        if last.any():
            orders = self.op_order[new[last]]
            np.maximum.at(self.ord_cend, orders, en[last])
            np.subtract.at(self.ord_unf, orders, 1)
            self._open = None  # the tardiness terms are rebuilt from the arrays
        if self.want_blk:
            self.open_blk = np.concatenate([self.open_blk, new])

    def _few_dispatches(self, new: list[int], rec: dict[str, np.ndarray]) -> None:
        """:meth:`_dispatches` one operation at a time (the same terms, summed in turn)."""
        rm = self.sim.rec_machine
        a_ss, a_se, a_st, a_en = rec["setup_start"], rec["setup_end"], rec["start"], rec["end"]
        seen, is_last, op_order = self.seen_disp, self.op_is_last, self.op_order
        proc = self.ci.op_proc
        ce = self.committed_end
        for o in new:
            seen[o] = True
            ss, se, en = float(a_ss[o]), float(a_se[o]), float(a_en[o])
            if en > ce:
                ce = en
            slen = se - ss
            if slen > _EPS:
                self.setup_count += 1.0
            if self.working:
                m = int(rm[o])
                self.proc += float(proc[o, m])
                self.setup += _worked(self.mt[m], ss, se)
            else:
                self.proc += en - float(a_st[o])
                self.setup += slen
            if is_last[o]:
                k = int(op_order[o])
                if en > self.ord_cend[k]:
                    self.ord_cend[k] = en
                self.ord_unf[k] -= 1
                open_ = self._open
                e = open_.get(k) if open_ is not None else None
                if open_ is not None and e is not None:  # an order with a deadline
                    if en > e[1]:
                        e[1] = en
                    if self.ord_unf[k] == 0:  # complete: its tardiness is final
                        del open_[k]
                        if e[1] - e[0] > 0.0:
                            self._tard_closed += e[1] - e[0]
        self.committed_end = ce
        if self.want_blk:
            self.open_blk = np.concatenate([self.open_blk, np.array(new, dtype=np.int64)])

    def _blocking(self, rec: dict[str, np.ndarray], now: float) -> float:
        ob = self.open_blk
        lv = rec["leave"][ob]
        en = rec["end"][ob]
        left = ~np.isnan(lv)
        if self.working:
            m = self.sim.rec_machine[ob]
            stop = np.where(left, lv, np.maximum(now, en))
            part = np.zeros(ob.size)
            for i in np.flatnonzero(stop > en).tolist():  # only jobs past their end block
                part[i] = _worked(self.mt[int(m[i])], float(en[i]), float(stop[i]))
        else:
            part = np.maximum(np.where(left, lv, now) - en, 0.0)
        if left.any():
            self.blk_closed += float(part[left].sum())
            self.open_blk = ob[~left]
            return self.blk_closed + float(part[~left].sum())
        return self.blk_closed + float(part.sum())

    def _available(self, mk: float) -> float:
        if mk != self._avail_mk:
            self._avail_mk = mk
            self._avail = float(sum(_worked(mt, 0.0, mk) for mt in self.mt))
        return self._avail

    def _buffers(self, rec: dict[str, np.ndarray], now: float) -> dict[str, float]:
        dep = rec["depart"]
        new = np.flatnonzero(~np.isnan(dep) & ~self.seen_dep)
        if new.size:
            self.seen_dep[new] = True
            new = new[self.op_vol[new] > 0]
        ob = np.concatenate([self.open_buf, new]) if new.size else self.open_buf
        s = rec["start"][ob]
        closed = s <= now + _EPS  # nan compares False: not dispatched yet
        d = dep[ob]
        v = self.op_vol[ob]
        wl = self.op_wload[ob]
        if self.kit_lo.size:
            kit_ev = self._kits(rec, now)
        if self.want_over:
            et = np.concatenate([dep[new], s[closed]])
            ev = np.concatenate([self.op_vol[new], -v[closed]])
            ew = np.concatenate([self.ci.op_wc[new], self.ci.op_wc[ob[closed]]])
            if self.kit_lo.size:
                ket, kev, kew = kit_ev
                et, ev, ew = (
                    np.concatenate([et, ket]),
                    np.concatenate([ev, kev]),
                    np.concatenate([ew, kew]),
                )
            self._overflow(et, ev, ew, now)
        if closed.any():
            dur = s[closed] - d[closed]
            self.vm_closed += float((v[closed] * dur).sum())
            self.bl_closed += float((wl[closed] * dur).sum())
            keep = ~closed
            ob, d, v, wl = ob[keep], d[keep], v[keep], wl[keep]
        self.open_buf = ob
        held = now - d
        vm = float((v * held).sum())
        bl = float((wl * held).sum())
        if self.open_kit.size:
            ok = self.open_kit
            kheld = now - rec["leave"][self.kit_lo[ok]]
            vm += float((self.kit_v[ok] * kheld).sum())
            bl += float((self.kit_wl[ok] * kheld).sum())
        out = {
            "buffer_volume_minutes": self.vm_closed + vm,
            "buffer_load": self.bl_closed + bl,
        }
        if self.want_over:
            b = self.bounded
            out["overflow_volume_minutes"] = float(self.ovm[b].sum())
            out["overflow_load"] = float((self.ovm[b] / self.cap[b]).sum())
        else:
            out["overflow_volume_minutes"] = 0.0
            out["overflow_load"] = 0.0
        return out

    def _kits(
        self, rec: dict[str, np.ndarray], now: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Open the kit holdings of children that left since the last look, close those whose
        parent started by ``now``; returns their level steps (time, volume change, work center)."""
        leave = rec["leave"]
        new = np.flatnonzero(~self.seen_kit & ~np.isnan(leave[self.kit_lo]))
        if new.size:
            self.seen_kit[new] = True
        ok = np.concatenate([self.open_kit, new]) if new.size else self.open_kit
        s = rec["start"][self.kit_fp[ok]]
        closed = s <= now + _EPS
        c = ok[closed]
        if c.size:
            dur = s[closed] - leave[self.kit_lo[c]]
            self.vm_closed += float((self.kit_v[c] * dur).sum())
            self.bl_closed += float((self.kit_wl[c] * dur).sum())
            ok = ok[~closed]
        self.open_kit = ok
        return (
            np.concatenate([leave[self.kit_lo[new]], s[closed]]),
            np.concatenate([self.kit_v[new], -self.kit_v[c]]),
            np.concatenate([self.kit_w[new], self.kit_w[c]]),
        )

    def _overflow(self, et: np.ndarray, ev: np.ndarray, ew: np.ndarray, now: float) -> None:
        """Add ∫ max(0, level − cap) over [t_prev, now] per work center, stepping the levels
        through the window's events (time ``et``, volume change ``ev``, work center ``ew``)."""
        t0 = self.t_prev
        level, cap, ovm = self.level, self.cap, self.ovm
        touched = np.zeros(level.size, dtype=bool)
        touched[ew] = True
        still = self.bounded & ~touched
        if still.any():
            ovm[still] += np.maximum(level[still] - cap[still], 0.0) * (now - t0)
        if not ew.size:
            return
        order = np.lexsort((ev, et, ew))  # by wc, time, negatives first
        et, ev, ew = et[order], ev[order], ew[order]
        i, n = 0, ew.size
        while i < n:
            w = int(ew[i])
            c = float(cap[w])
            lv = float(level[w])
            t = t0
            acc = 0.0
            while i < n and ew[i] == w:
                te = float(et[i])
                if lv > c:
                    acc += (lv - c) * max(0.0, te - t)
                lv += float(ev[i])
                if abs(lv) < _EPS:
                    lv = 0.0
                t = max(t, te)
                i += 1
            if lv > c:
                acc += (lv - c) * max(0.0, now - t)
            level[w] = lv
            if math.isfinite(c):
                ovm[w] += acc
