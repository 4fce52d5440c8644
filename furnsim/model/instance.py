"""An Instance = plant + catalog + orders, checked together and compiled once into arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np

from furnsim.errors import DataError, Issue, Location
from furnsim.model.bom import children_of
from furnsim.model.catalog import Article, Catalog, Component, Operation
from furnsim.model.orders import Job, Order
from furnsim.model.plant import FINISHED, STORE, Plant

__all__ = ["CompiledInstance", "Instance"]


@dataclass(eq=False)
class Instance:
    """Everything a planner needs for one planning run.

    Construction validates the cross references (articles of orders, work centers and setups
    of operations, eligible machines, job volume vs. buffer capacity) and raises one
    :class:`DataError` listing every problem.
    """

    plant: Plant
    catalog: Catalog
    orders: list[Order]
    name: str = "instance"
    plan_start: datetime | None = None
    #: the shop's present to plan from (a ``furnsim.replan.Situation``: state + pins), or
    #: None for an empty shop at time 0
    situation: Any = field(default=None, repr=False, compare=False)
    jobs: list[Job] = field(init=False)

    def __post_init__(self) -> None:
        issues: list[Issue] = []
        self._check_catalog(issues)
        self.jobs = []
        self._job_ops: list[list[Operation]] = []
        seen: set[str] = set()
        for o in self.orders:
            where = o.source or Location()
            if o.id in seen:
                issues.append(Issue(f"duplicate order id {o.id!r}", where.at(column="order")))
                continue
            seen.add(o.id)
            if o.article not in self.catalog:
                issues.append(
                    Issue(
                        f"order {o.id}: unknown article {o.article!r}", where.at(column="article")
                    )
                )
                continue
            art = self.catalog.article(o.article)
            kids = children_of(art.components)
            for comp in art.components:
                delta = o.quantity * comp.qty_per_article
                job = Job(
                    id=f"{o.id}/{comp.id}",
                    order=o.id,
                    article=art.id,
                    component=comp.id,
                    delta=delta,
                    release=max(0.0, o.release),
                    deadline=o.deadline,
                    priority=o.priority,
                    parent=f"{o.id}/{comp.parent}" if comp.parent else "",
                    assembly=comp.id in kids,
                )
                self._check_volumes(job, comp, where, issues)
                self.jobs.append(job)
                self._job_ops.append(comp.routing)
            if kids:
                self._check_kits(o, art, kids, where, issues)
        from furnsim.calendar import check_instance_working_time  # noqa: PLC0415 (cycle)

        issues += check_instance_working_time(self)
        if issues:
            raise DataError(issues)

    # -- validation -------------------------------------------------------------------
    def _check_catalog(self, issues: list[Issue]) -> None:
        plant = self.plant
        for art in self.catalog.articles:
            by_id = {c.id: c for c in art.components}
            for comp in art.components:
                par = by_id.get(comp.parent)
                if par is None:
                    continue
                a, b = comp.routing[-1].work_center, par.routing[0].work_center
                if a not in plant.wc_index or b not in plant.wc_index:
                    continue
                try:
                    plant.transport.time(a, b)
                except KeyError:
                    issues.append(
                        Issue(
                            f"{art.id}/{comp.id} cannot reach its parent {par.id}: no transport "
                            f"time from {a} (its last step) to {b} (the parent's first step)",
                            (comp.source or Location()).at(column="parent"),
                        )
                    )
            for comp in art.components:
                for step, op in enumerate(comp.routing, start=1):
                    where = op.source or comp.source or Location()
                    if op.work_center not in plant.wc_index:
                        issues.append(
                            Issue(
                                f"{art.id}/{comp.id} step {step}: unknown work center {op.work_center!r}",
                                where.at(column="work_center"),
                            )
                        )
                        continue
                    wc = plant.work_center(op.work_center)
                    for m in list(op.machines) + list(op.machine_minutes):
                        if m not in wc.machines:
                            issues.append(
                                Issue(
                                    f"{art.id}/{comp.id} step {step}: machine {m!r} is not a machine of work center {wc.id}",
                                    where.at(column="machines"),
                                )
                            )
                    elig = self._eligible(op)
                    if not elig:
                        issues.append(
                            Issue(f"{art.id}/{comp.id} step {step}: no eligible machine", where)
                        )
                    for m in elig:
                        if m in plant.machine_index and not plant.machine(m).has_setup(op.setup):
                            issues.append(
                                Issue(
                                    f"{art.id}/{comp.id} step {step}: setup {op.setup!r} is not in the setup matrix of machine {m}",
                                    where.at(column="setup"),
                                )
                            )

    def _eligible(self, op: Operation) -> list[str]:
        if op.work_center not in self.plant.wc_index:
            return []
        wc = self.plant.work_center(op.work_center)
        return [m for m in wc.machines if not op.machines or m in op.machines]

    def _check_volumes(
        self, job: Job, comp: Component, where: Location, issues: list[Issue]
    ) -> None:
        for step, op in enumerate(comp.routing, start=1):
            if op.work_center not in self.plant.wc_index:
                continue
            if step == 1 and job.assembly:
                continue  # the kit is the material of an assembly's first step (_check_kits)
            wc = self.plant.work_center(op.work_center)
            vol = job.delta * op.volume_per_piece
            if vol > wc.buffer_capacity + 1e-9:
                issues.append(
                    Issue(
                        f"job {job.id}: batch volume {vol:g} {wc.buffer_unit} at step {step} exceeds the "
                        f"buffer capacity {wc.buffer_capacity:g} of work center {wc.id} (a batch must fit "
                        "in the buffer: split the order or raise the capacity)",
                        where.at(column="quantity"),
                    )
                )

    def _check_kits(
        self,
        order: Order,
        art: Article,
        kids: dict[str, list[str]],
        where: Location,
        issues: list[Issue],
    ) -> None:
        """A kit must fit in its assembly's first buffer (else a certain deadlock)."""
        by_id = {c.id: c for c in art.components}
        for a, children in kids.items():
            wid = by_id[a].routing[0].work_center
            if wid not in self.plant.wc_index:
                continue
            wc = self.plant.work_center(wid)
            vol = sum(
                order.quantity * by_id[c].qty_per_article * by_id[c].final_volume_per_piece
                for c in children
            )
            if vol > wc.buffer_capacity + 1e-9:
                issues.append(
                    Issue(
                        f"order {order.id}: the kit of {art.id}/{a} ({', '.join(children)}) takes "
                        f"{vol:g} {wc.buffer_unit}, more than the buffer capacity "
                        f"{wc.buffer_capacity:g} of work center {wc.id} where it is assembled "
                        "(split the order or raise the capacity)",
                        where.at(column="quantity"),
                    )
                )

    # -- views --------------------------------------------------------------------------
    def operations_of(self, job_index: int) -> list[Operation]:
        return self._job_ops[job_index]

    @property
    def n_operations(self) -> int:
        return sum(len(r) for r in self._job_ops)

    def summary(self) -> dict[str, int]:
        return {
            "work_centers": len(self.plant.work_centers),
            "machines": len(self.plant.machines),
            "articles": len(self.catalog.articles),
            "components": self.catalog.n_components,
            "orders": len(self.orders),
            "jobs": len(self.jobs),
            "operations": self.n_operations,
        }

    @cached_property
    def compiled(self) -> CompiledInstance:
        return CompiledInstance.build(self)


@dataclass(eq=False)
class CompiledInstance:
    """The instance as flat numpy arrays for the simulator and the solvers.

    Operations are numbered job by job in route order. Locations: 0 = STORE,
    1..n_wc = work centers in plant order, n_wc + 1 = FINISHED.
    """

    job_ids: list[str]
    order_ids: list[str]
    machine_ids: list[str]
    wc_ids: list[str]
    setup_ids: list[str]
    job_op_start: np.ndarray  # (n_jobs + 1,) int64: ops of job j are [start[j], start[j+1])
    op_job: np.ndarray  # (n_ops,) int64
    op_step: np.ndarray  # (n_ops,) int64: 0-based position in the route
    op_wc: np.ndarray  # (n_ops,) int64
    op_setup: np.ndarray  # (n_ops,) int64: global setup index
    op_volume: np.ndarray  # (n_ops,) float64: batch volume while waiting for / on the op
    op_proc: np.ndarray  # (n_ops, n_machines) float64: minutes on machine, nan = ineligible
    op_elig_start: np.ndarray  # (n_ops + 1,) int64: CSR into op_elig_machine
    op_elig_machine: np.ndarray  # (n_elig,) int64
    machine_wc: np.ndarray  # (n_machines,) int64
    machine_init_setup: np.ndarray  # (n_machines,) int64
    setup_time: np.ndarray  # (n_machines, n_setups, n_setups) float64: nan = unknown setup
    wc_capacity: np.ndarray  # (n_wc,) float64: inf = unlimited
    transport: np.ndarray  # (n_wc + 2, n_wc + 2) float64 minutes between locations
    job_release: np.ndarray  # (n_jobs,) float64
    job_deadline: np.ndarray  # (n_jobs,) float64: inf = none
    job_priority: np.ndarray  # (n_jobs,) float64
    job_order: np.ndarray  # (n_jobs,) int64
    job_delta: np.ndarray  # (n_jobs,) float64
    # assembly (docs/semantics.md "Assembly"): all -1 / 0 without a bill of materials tree
    job_parent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # (n_jobs,) int64 the assembly job it goes into, -1 = FINISHED
    job_kit_volume: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # (n_jobs,) float64 volume a child holds in its parent's first buffer
    job_n_children: np.ndarray = field(init=False)  # (n_jobs,) int64 children of each job

    def __post_init__(self) -> None:
        n = len(self.job_ids)
        if self.job_parent.shape != (n,):
            self.job_parent = np.full(n, -1, dtype=np.int64)
        if self.job_kit_volume.shape != (n,):
            self.job_kit_volume = np.zeros(n)
        self.job_n_children = np.bincount(
            self.job_parent[self.job_parent >= 0], minlength=n
        ).astype(np.int64)

    @property
    def has_assembly(self) -> bool:
        return bool(np.any(self.job_parent >= 0))

    working: Any = None  # furnsim.calendar.WorkingTime | None (None = 24/7 everywhere)

    @property
    def n_jobs(self) -> int:
        return len(self.job_ids)

    @property
    def n_ops(self) -> int:
        return int(self.op_job.shape[0])

    @property
    def n_machines(self) -> int:
        return len(self.machine_ids)

    @property
    def n_wc(self) -> int:
        return len(self.wc_ids)

    @property
    def n_orders(self) -> int:
        return len(self.order_ids)

    @staticmethod
    def build(inst: Instance) -> CompiledInstance:
        plant = inst.plant
        machine_ids = [m.id for m in plant.machines]
        wc_ids = [w.id for w in plant.work_centers]
        setup_ids: list[str] = []
        s_index: dict[str, int] = {}
        for m in plant.machines:
            for s in m.setup_ids:
                if s not in s_index:
                    s_index[s] = len(setup_ids)
                    setup_ids.append(s)
        n_m, n_s, n_w = len(machine_ids), len(setup_ids), len(wc_ids)
        setup_time = np.full((n_m, n_s, n_s), np.nan)
        init = np.zeros(n_m, dtype=np.int64)
        mwc = np.zeros(n_m, dtype=np.int64)
        for i, m in enumerate(plant.machines):
            idx = np.array([s_index[s] for s in m.setup_ids])
            setup_time[i][np.ix_(idx, idx)] = m.setup_matrix
            init[i] = s_index[m.initial_setup]
            mwc[i] = plant.wc_index[m.work_center]
        cap = np.array([w.buffer_capacity for w in plant.work_centers], dtype=float)
        locs = [STORE, *wc_ids, FINISHED]
        transport = np.zeros((n_w + 2, n_w + 2))
        for a, la in enumerate(locs):
            for b, lb in enumerate(locs):
                if la == FINISHED or lb == STORE:
                    continue
                if la == STORE and lb == FINISHED:
                    continue
                transport[a, b] = plant.transport.time(la, lb)
        order_ids = [o.id for o in inst.orders]
        o_index = {o: i for i, o in enumerate(order_ids)}
        j_index = {j.id: i for i, j in enumerate(inst.jobs)}
        job_parent = np.array(
            [j_index[j.parent] if j.parent else -1 for j in inst.jobs], dtype=np.int64
        )
        kit_vol = np.zeros(len(inst.jobs))
        for i, job in enumerate(inst.jobs):
            if job.parent:
                comp = next(
                    c for c in inst.catalog.article(job.article).components if c.id == job.component
                )
                kit_vol[i] = job.delta * comp.final_volume_per_piece
        op_start = [0]
        op_job, op_step, op_wc, op_setup, op_vol = [], [], [], [], []
        proc_vals: list[list[float]] = []  # per op: minutes on each eligible machine
        elig_start, elig = [0], []
        # per catalog operation (by id, this call): (eligible machine indices, piece minutes)
        per_op: dict[int, tuple[list[int], list[float]]] = {}
        for j, job in enumerate(inst.jobs):
            for k, op in enumerate(inst.operations_of(j)):
                op_job.append(j)
                op_step.append(k)
                op_wc.append(plant.wc_index[op.work_center])
                op_setup.append(s_index[op.setup])
                # an assembly's first step holds no volume of its own: its kit does
                op_vol.append(0.0 if (k == 0 and job.assembly) else job.delta * op.volume_per_piece)
                em = per_op.get(id(op))
                if em is None:
                    mids = inst._eligible(op)
                    em = per_op[id(op)] = (
                        [plant.machine_index[mid] for mid in mids],
                        [op.piece_minutes(mid) for mid in mids],
                    )
                d, fx = job.delta, op.fixed_minutes
                proc_vals.append([d * pm + fx for pm in em[1]])
                elig.extend(em[0])
                elig_start.append(len(elig))
            op_start.append(len(op_job))
        op_proc = np.full((len(op_job), n_m), np.nan)
        for o, (a, b) in enumerate(zip(elig_start[:-1], elig_start[1:], strict=True)):
            op_proc[o, elig[a:b]] = proc_vals[o]
        return CompiledInstance(
            job_ids=[j.id for j in inst.jobs],
            order_ids=order_ids,
            machine_ids=machine_ids,
            wc_ids=wc_ids,
            setup_ids=setup_ids,
            job_op_start=np.array(op_start, dtype=np.int64),
            op_job=np.array(op_job, dtype=np.int64),
            op_step=np.array(op_step, dtype=np.int64),
            op_wc=np.array(op_wc, dtype=np.int64),
            op_setup=np.array(op_setup, dtype=np.int64),
            op_volume=np.array(op_vol, dtype=float),
            op_proc=op_proc,
            op_elig_start=np.array(elig_start, dtype=np.int64),
            op_elig_machine=np.array(elig, dtype=np.int64),
            machine_wc=mwc,
            machine_init_setup=init,
            setup_time=setup_time,
            wc_capacity=cap,
            transport=transport,
            job_release=np.array([j.release for j in inst.jobs], dtype=float),
            job_deadline=np.array([j.deadline for j in inst.jobs], dtype=float),
            job_priority=np.array([j.priority for j in inst.jobs], dtype=float),
            job_order=np.array([o_index[j.order] for j in inst.jobs], dtype=np.int64),
            job_delta=np.array([j.delta for j in inst.jobs], dtype=float),
            job_parent=job_parent,
            job_kit_volume=kit_vol,
            working=_working_time(inst),
        )


def _working_time(inst: Instance) -> Any:
    from furnsim.calendar import compile_working_time  # noqa: PLC0415 (cycle)

    # weeks drawn from one plant and plan start share its compiled working time
    # (furnsim.env.weeks.WeekSource; the calendars' tables only ever grow, with equal answers)
    shared = inst.__dict__.get("_shared_working")
    if shared is not None and shared[0] is inst.plant and shared[1] == inst.plan_start:
        return shared[2]
    return compile_working_time(inst.plant, inst.plan_start)
