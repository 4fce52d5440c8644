"""A fast, equal build of generated weeks: one plant + catalog, many order lists (issue 14).

:class:`WeekTemplate` precomputes, once per (plant, catalog), what every week of that plant
needs: the catalog's cross-reference check, per component the job it makes and its
operations' compiled rows (work center, setup, eligible machines, minutes per piece), the
plant's tables (setups, transport, capacities) and the longest working windows. Then
:meth:`WeekTemplate.instance` builds the :class:`~furnsim.model.instance.Instance` of an
order list with its :class:`~furnsim.model.instance.CompiledInstance` by array operations —
the same jobs, the same operation lists and arrays equal to the bit to what
``Instance(...)`` and ``CompiledInstance.build`` give (the same float operations), checked
vectorised: batch volumes and kits against the buffers, operations against the longest
working window. Anything the fast checks flag (or an input they do not cover: duplicate or
unknown orders, a catalog with issues, calendars without a plan start) is built by
``Instance(...)`` itself, which raises the usual :class:`~furnsim.errors.DataError` with the
usual messages.

The template is valid while the plant and catalog are not changed (the owner,
``furnsim.env.weeks.WeekSource``, never changes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from furnsim.model.bom import children_of
from furnsim.model.catalog import Catalog, Component
from furnsim.model.instance import CompiledInstance, Instance, _plant_tables, _working_time
from furnsim.model.orders import Job, Order
from furnsim.model.plant import Plant

__all__ = ["WeekTemplate"]


@dataclass
class _Comp:
    comp: Component
    assembly: bool
    n_ops: int
    step: np.ndarray  # (k,) int64
    wc: np.ndarray  # (k,) int64
    setup: np.ndarray  # (k,) int64
    vpp: np.ndarray  # (k,) float64 volume per piece
    first_free: bool  # an assembly: its first step holds no volume (the kit does)
    cap_eps: np.ndarray  # (k,) float64 buffer capacity + 1e-9 (inf where not checked)
    pm: np.ndarray  # (k, n_machines) minutes per piece, nan = ineligible
    fixed: np.ndarray  # (k,) float64
    elig: list[np.ndarray]  # per op: eligible machine indices (plant order)
    longest: np.ndarray  # (k,) float64 longest working window + 1e-9 (nan = unchecked)


@dataclass
class _Art:
    comps: list[_Comp]
    kids: dict[str, list[str]]
    parent_pos: np.ndarray  # (n_comps,) position of the parent component, -1 = none


class WeekTemplate:
    """Per (plant, catalog) lookups that build many weeks' instances fast and equal."""

    def __init__(self, plant: Plant, catalog: Catalog) -> None:
        self.plant = plant
        self.catalog = catalog
        probe = Instance.__new__(Instance)
        probe.plant, probe.catalog = plant, catalog
        issues: list[Any] = []
        probe._check_catalog(issues)
        #: the catalog refers to the plant correctly (else every week takes the checked path)
        self.ok = not issues
        self.tables = _plant_tables(plant)
        self._arts: dict[str, _Art] = {}
        if not self.ok:
            return
        from furnsim.calendar import longest_window  # noqa: PLC0415 (cycle)

        longest: dict[str, float] = {}
        for w in plant.work_centers:
            cal = plant.calendar_of(w.id)
            if not w.interruptible and cal is not None:
                longest[w.id] = longest_window(cal)
        n_m = len(plant.machines)
        s_index = {s: i for i, s in enumerate(self.tables["setup_ids"])}
        for art in catalog.articles:
            kids = children_of(art.components)
            pos = {c.id: i for i, c in enumerate(art.components)}
            comps = []
            for comp in art.components:
                assembly = comp.id in kids
                k = len(comp.routing)
                pm = np.full((k, n_m), np.nan)
                elig = []
                cap_eps = np.full(k, np.inf)
                lw = np.full(k, np.nan)
                for s, op in enumerate(comp.routing):
                    mids = probe._eligible(op)
                    idx = np.array([plant.machine_index[m] for m in mids], dtype=np.int64)
                    pm[s, idx] = [op.piece_minutes(m) for m in mids]
                    elig.append(idx)
                    if not (s == 0 and assembly):
                        cap_eps[s] = plant.work_center(op.work_center).buffer_capacity + 1e-9
                    if op.work_center in longest:
                        lw[s] = longest[op.work_center] + 1e-9
                comps.append(
                    _Comp(
                        comp=comp,
                        assembly=assembly,
                        n_ops=k,
                        step=np.arange(k, dtype=np.int64),
                        wc=np.array(
                            [plant.wc_index[op.work_center] for op in comp.routing], dtype=np.int64
                        ),
                        setup=np.array([s_index[op.setup] for op in comp.routing], dtype=np.int64),
                        vpp=np.array([op.volume_per_piece for op in comp.routing], dtype=float),
                        first_free=assembly,
                        cap_eps=cap_eps,
                        pm=pm,
                        fixed=np.array([op.fixed_minutes for op in comp.routing], dtype=float),
                        elig=elig,
                        longest=lw,
                    )
                )
            parent_pos = np.array(
                [pos[c.parent] if c.parent else -1 for c in art.components], dtype=np.int64
            )
            self._arts[art.id] = _Art(comps, kids, parent_pos)

    def matches(self, plant: Plant, catalog: Catalog) -> bool:
        return plant is self.plant and catalog is self.catalog

    def instance(
        self,
        orders: list[Order],
        name: str = "instance",
        plan_start: datetime | None = None,
        shared_working: Any = None,
    ) -> Instance:
        """``Instance(plant, catalog, orders, name=name, plan_start=plan_start)``, compiled.

        ``shared_working``: the ``(plant, plan start, WorkingTime)`` the week's compiled
        instance shares (see ``furnsim.model.instance._working_time``)."""
        fast = self._fast(orders, name, plan_start, shared_working)
        if fast is not None:
            return fast
        inst = Instance(self.plant, self.catalog, orders, name=name, plan_start=plan_start)
        if shared_working is not None:
            inst.__dict__["_shared_working"] = shared_working
        return inst

    def _fast(
        self,
        orders: list[Order],
        name: str,
        plan_start: datetime | None,
        shared_working: Any,
    ) -> Instance | None:
        plant = self.plant
        if not self.ok or (plant.has_working_time and plan_start is None):
            return None
        arts = self._arts
        seen: set[str] = set()
        for o in orders:
            if o.id in seen or o.article not in arts:
                return None  # the checked path reports it
            seen.add(o.id)
        inst = Instance.__new__(Instance)
        inst.plant, inst.catalog, inst.orders = plant, self.catalog, orders
        inst.name, inst.plan_start, inst.situation = name, plan_start, None
        if shared_working is not None:
            inst.__dict__["_shared_working"] = shared_working
        jobs: list[Job] = []
        job_ops: list[Any] = []
        tmpl: list[_Comp] = []
        parent: list[int] = []
        kit_checks: list[tuple[Order, _Art]] = []
        for o in orders:
            at = arts[o.article]
            first = len(jobs)
            rel = max(0.0, o.release)
            for ct, pp in zip(at.comps, at.parent_pos.tolist(), strict=True):
                c = ct.comp
                jobs.append(
                    Job(
                        id=f"{o.id}/{c.id}",
                        order=o.id,
                        article=o.article,
                        component=c.id,
                        delta=o.quantity * c.qty_per_article,
                        release=rel,
                        deadline=o.deadline,
                        priority=o.priority,
                        parent=f"{o.id}/{c.parent}" if c.parent else "",
                        assembly=ct.assembly,
                    )
                )
                job_ops.append(c.routing)
                tmpl.append(ct)
                parent.append(first + pp if pp >= 0 else -1)
            if at.kids:
                kit_checks.append((o, at))
        # kits: the sum of Instance._check_kits, in its order of additions
        for o, at in kit_checks:
            by_id = {ct.comp.id: ct.comp for ct in at.comps}
            for a, children in at.kids.items():
                cap = plant.work_center(by_id[a].routing[0].work_center).buffer_capacity
                vol = sum(
                    o.quantity * by_id[c].qty_per_article * by_id[c].final_volume_per_piece
                    for c in children
                )
                if vol > cap + 1e-9:
                    return None
        inst.jobs = jobs
        inst._job_ops = job_ops
        ci = self._compile(inst, tmpl, parent)
        if ci is None:
            return None
        inst.__dict__["compiled"] = ci
        return inst

    def _compile(
        self, inst: Instance, tmpl: list[_Comp], parent: list[int]
    ) -> CompiledInstance | None:
        jobs = inst.jobs
        n = len(jobs)
        lens = np.array([ct.n_ops for ct in tmpl], dtype=np.int64)
        op_start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens, out=op_start[1:])
        delta = np.array([j.delta for j in jobs], dtype=float)
        d_op = np.repeat(delta, lens)
        vpp = np.concatenate([ct.vpp for ct in tmpl])
        op_vol = d_op * vpp
        cap_eps = np.concatenate([ct.cap_eps for ct in tmpl])
        if np.any(op_vol > cap_eps):  # Instance._check_volumes would report it
            return None
        free = [op_start[i] for i, ct in enumerate(tmpl) if ct.first_free]
        op_vol[free] = 0.0
        op_proc = (
            d_op[:, None] * np.concatenate([ct.pm for ct in tmpl])
            + np.concatenate([ct.fixed for ct in tmpl])[:, None]
        )
        longest = np.concatenate([ct.longest for ct in tmpl])
        chk = ~np.isnan(longest)
        if chk.any() and np.any(op_proc[chk] > longest[chk, None]):
            return None  # check_instance_working_time would report it
        elig = [e for ct in tmpl for e in ct.elig]
        elig_start = np.zeros(len(elig) + 1, dtype=np.int64)
        np.cumsum([e.size for e in elig], out=elig_start[1:])
        kit_vol = np.zeros(n)
        for i, (job, ct) in enumerate(zip(jobs, tmpl, strict=True)):
            if job.parent:
                kit_vol[i] = job.delta * ct.comp.final_volume_per_piece
        t = self.tables
        o_index = {o.id: i for i, o in enumerate(inst.orders)}
        return CompiledInstance(
            job_ids=[j.id for j in jobs],
            order_ids=[o.id for o in inst.orders],
            machine_ids=list(t["machine_ids"]),
            wc_ids=list(t["wc_ids"]),
            setup_ids=list(t["setup_ids"]),
            job_op_start=op_start,
            op_job=np.repeat(np.arange(n, dtype=np.int64), lens),
            op_step=np.concatenate([ct.step for ct in tmpl]),
            op_wc=np.concatenate([ct.wc for ct in tmpl]),
            op_setup=np.concatenate([ct.setup for ct in tmpl]),
            op_volume=op_vol,
            op_proc=op_proc,
            op_elig_start=elig_start,
            op_elig_machine=np.concatenate(elig) if elig else np.zeros(0, dtype=np.int64),
            machine_wc=t["machine_wc"].copy(),
            machine_init_setup=t["machine_init_setup"].copy(),
            setup_time=t["setup_time"].copy(),
            wc_capacity=t["wc_capacity"].copy(),
            transport=t["transport"].copy(),
            job_release=np.array([j.release for j in jobs], dtype=float),
            job_deadline=np.array([j.deadline for j in jobs], dtype=float),
            job_priority=np.array([j.priority for j in jobs], dtype=float),
            job_order=np.array([o_index[j.order] for j in jobs], dtype=np.int64),
            job_delta=delta,
            job_parent=np.array(parent, dtype=np.int64),
            job_kit_volume=kit_vol,
            working=_working_time(inst),
        )
