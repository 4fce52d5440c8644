"""Events that change the shop's present: parse them, apply them to an instance + state.

``events.yaml`` is a list of mappings, each with a ``type``:

==============  ===========================================================================
``breakdown``   ``machine``, ``from``, ``to`` (expected end): the machine cannot work in
                ``[from, to)``. An operation running on it at ``from`` pauses and finishes
                later by the outage's length (in the state); later operations avoid the
                outage.
``rush_order``  ``order``, ``article``, ``quantity``, ``deadline`` (optional ``release``,
                ``priority``): a new order, released not before ``now``.
``cancel``      ``order``: its work stops at ``now``; its jobs leave the shop (the machines
                keep the setup they are in).
``change``      ``order`` and ``quantity`` and/or ``deadline``. The quantity of an order
                can change only while none of its jobs has left STORE.
``finished``    an operation (``op: JOB/STEP`` e.g. ``SO-1001/SIDE/2``, or ``order`` +
                ``component`` + ``step``) finished (or will finish) ``at``: early or late
                against the previous plan; it must have started before ``now``.
==============  ===========================================================================

Times are minutes after the plan start or date/times (``2026-03-03T10:00``). A bad entry
raises :class:`~furnsim.errors.DataError` naming the entry's index and field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.errors import DataError, Issue, Location
from furnsim.model import Instance, Order
from furnsim.replan.state import MachineOutage, OpState, ShopState, parse_time

__all__ = ["EVENT_TYPES", "Event", "apply_events", "load_events", "parse_events"]

EVENT_TYPES = ("breakdown", "rush_order", "cancel", "change", "finished")
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # type: (required, optional)
    "breakdown": (("machine", "from", "to"), ("reason",)),
    "rush_order": (("order", "article", "quantity", "deadline"), ("release", "priority")),
    "cancel": (("order",), ()),
    "change": (("order",), ("quantity", "deadline")),
    "finished": (("at",), ("op", "order", "component", "step", "job")),
}
_MAX_EVENTS = 10_000


@dataclass
class Event:
    """One parsed event; ``index`` is its position in the file (0-based)."""

    type: str
    index: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


def load_events(path: str | Path, *, plan_start: datetime | None = None) -> list[Event]:
    """Parse an events file (YAML or JSON list)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise DataError([Issue(f"cannot read the events ({e})", Location(str(p)))]) from None
    if len(text) > 5_000_000:
        raise DataError([Issue("events file too large", Location(str(p)))])
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise DataError([Issue(f"not valid YAML ({e})", Location(str(p)))]) from None
    return parse_events(raw, plan_start=plan_start, source=str(p))


def parse_events(
    raw: Any, *, plan_start: datetime | None = None, source: str = "events"
) -> list[Event]:
    """Check and normalize a list of event mappings (times become minutes)."""
    if raw is None:
        return []
    if isinstance(raw, dict) and "events" in raw:
        raw = raw["events"]
    if not isinstance(raw, list):
        raise DataError([Issue("events must be a list of mappings", Location(source))])
    if len(raw) > _MAX_EVENTS:
        raise DataError([Issue(f"more than {_MAX_EVENTS} events", Location(source))])
    issues: list[Issue] = []
    out: list[Event] = []
    for i, e in enumerate(raw):

        def bad(col: str, msg: str, i: int = i) -> None:
            issues.append(Issue(f"entry {i}: {msg}", Location(source, row=i, column=col)))

        if not isinstance(e, dict):
            bad("", "an event must be a mapping with a 'type'")
            continue
        typ = str(e.get("type", "")).strip().lower().replace("-", "_")
        if typ not in _FIELDS:
            bad("type", f"type {e.get('type')!r} is not one of {', '.join(EVENT_TYPES)}")
            continue
        req, opt = _FIELDS[typ]
        for k in e:
            if k != "type" and k not in req and k not in opt:
                bad(str(k), f"unknown field {k!r} for a {typ} (fields: {', '.join(req + opt)})")
        miss = [k for k in req if e.get(k) is None]
        for k in miss:
            bad(k, f"{typ} needs {k!r}")
        if miss:
            continue
        d: dict[str, Any] = {}
        ok = True
        for k in req + opt:
            if e.get(k) is None:
                continue
            v = e[k]
            try:
                if k in ("from", "to", "deadline", "release", "at"):
                    d[k] = parse_time(v, plan_start, k)
                elif k in ("quantity", "priority"):
                    if isinstance(v, bool):
                        raise ValueError
                    f = float(v)
                    if not (math.isfinite(f) and f > 0):
                        raise ValueError
                    d[k] = f
                elif k == "step":
                    if isinstance(v, bool) or int(v) != float(v) or int(v) < 1:
                        raise ValueError
                    d[k] = int(v)
                else:
                    s = str(v).strip()
                    if not s:
                        raise ValueError
                    d[k] = s
            except (TypeError, ValueError) as err:
                msg = str(err) if str(err) else f"{k}: {v!r} is not valid"
                if k in ("quantity", "priority"):
                    msg = f"{k} must be a number > 0 (got {v!r})"
                elif k == "step":
                    msg = f"step must be an integer >= 1 (got {v!r})"
                bad(k, msg)
                ok = False
        if not ok:
            continue
        if typ == "breakdown" and not d["to"] > d["from"]:
            bad("to", f"to ({d['to']:g}) must be after from ({d['from']:g})")
            continue
        if typ == "change" and "quantity" not in d and "deadline" not in d:
            bad("quantity", "change needs 'quantity' and/or 'deadline'")
            continue
        if (
            typ == "finished"
            and "op" not in d
            and "job" not in d
            and not ("order" in d and "component" in d and "step" in d)
        ):
            bad("op", "finished needs 'op' (JOB/STEP) or 'order' + 'component' + 'step'")
            continue
        out.append(Event(typ, i, d))
    if issues:
        raise DataError(issues)
    return out


def _op_key(d: dict[str, Any]) -> tuple[str, int]:
    if "op" in d:
        job, _, step = str(d["op"]).rpartition("/")
        try:
            return job, int(step)
        except ValueError:
            raise ValueError(f"op {d['op']!r} is not JOB/STEP like SO-1001/SIDE/2") from None
    if "job" in d:
        return str(d["job"]), int(d.get("step", 0))
    return f"{d['order']}/{d['component']}", int(d["step"])


def apply_events(
    instance: Instance, state: ShopState, events: list[Event], *, source: str = "events"
) -> tuple[Instance, ShopState, list[str]]:
    """The instance and state after the events (neither input is changed) and a note per event.

    The new instance has no situation attached yet; :func:`furnsim.replan.replan` attaches
    the state. Raises :class:`DataError` naming each event that does not fit the shop.
    """
    now = state.now
    st = state.copy()
    if events:
        st.kits = None  # the kits follow from the operations: recomputed after the events
    orders: list[Order] = list(instance.orders)
    issues: list[Issue] = []
    notes: list[str] = []
    machines = {m.id for m in instance.plant.machines}
    # machine setups at now before anything is removed (a cancelled op leaves its setup)
    setups = _setups_at_now(instance, st)
    st.machine_setups = {**setups, **st.machine_setups}

    def fail(ev: Event, col: str, msg: str) -> None:
        issues.append(
            Issue(
                f"entry {ev.index} ({ev.type}): {msg}", Location(source, row=ev.index, column=col)
            )
        )

    def find(oid: str) -> int | None:
        return next((k for k, o in enumerate(orders) if o.id == oid), None)

    def clock(m: str) -> Any:
        """The machine's working time before the events (None: 24/7)."""
        wt = getattr(instance.compiled, "working", None)
        return None if wt is None else wt.machines[instance.plant.machine_index[m]]

    for ev in events:
        d = ev.data
        if ev.type == "breakdown":
            m, a, b = d["machine"], d["from"], d["to"]
            if m not in machines:
                fail(ev, "machine", f"unknown machine {m!r}")
                continue
            n_ext = 0
            for x in st.operations:
                if x.status == "queued" or x.machine != m or x.end is None or x.setup_start is None:
                    continue
                if x.end > a and x.setup_start < b and x.setup_start < now:
                    # running into the breakdown: it pauses for the outage and resumes its
                    # remaining (working) minutes at the repair
                    _pause(x, a, b, clock(m))
                    x.status = "running" if x.end >= now else "done"
                    if x.leave is not None and x.leave < x.end:
                        x.leave = None
                    n_ext += 1
            if b > now:
                st.outages.append(MachineOutage(m, a, b, d.get("reason", "breakdown")))
            notes.append(
                f"breakdown of {m} {a:g}..{b:g}"
                + (f": {n_ext} running operation(s) pause until the repair" if n_ext else "")
            )
        elif ev.type == "rush_order":
            if find(d["order"]) is not None:
                fail(ev, "order", f"order {d['order']!r} exists already")
                continue
            if d["article"] not in instance.catalog:
                fail(ev, "article", f"unknown article {d['article']!r}")
                continue
            rel = max(float(d.get("release", now)), now)
            if d["deadline"] < rel:
                fail(ev, "deadline", f"deadline {d['deadline']:g} is before the release {rel:g}")
                continue
            orders.append(
                Order(
                    d["order"],
                    d["article"],
                    d["quantity"],
                    deadline=d["deadline"],
                    release=rel,
                    priority=d.get("priority", 1.0),
                    source=Location(source, row=ev.index),
                )
            )
            notes.append(
                f"rush order {d['order']}: {d['quantity']:g} x {d['article']} due {d['deadline']:g}"
            )
        elif ev.type == "cancel":
            k = find(d["order"])
            if k is None:
                fail(ev, "order", f"unknown order {d['order']!r}")
                continue
            orders.pop(k)
            prefix = d["order"] + "/"
            before = len(st.operations)
            st.operations = [x for x in st.operations if not x.job.startswith(prefix)]
            notes.append(
                f"cancel {d['order']}: {before - len(st.operations)} operation(s) stop at now"
            )
        elif ev.type == "change":
            k = find(d["order"])
            if k is None:
                fail(ev, "order", f"unknown order {d['order']!r}")
                continue
            o = orders[k]
            qty, dl = d.get("quantity", o.quantity), d.get("deadline", o.deadline)
            if "quantity" in d and qty != o.quantity:
                prefix = o.id + "/"
                if any(x.job.startswith(prefix) for x in st.operations):
                    fail(
                        ev,
                        "quantity",
                        f"order {o.id} has jobs on the floor; its quantity cannot change",
                    )
                    continue
            if dl < o.release:
                fail(ev, "deadline", f"deadline {dl:g} is before the release {o.release:g}")
                continue
            orders[k] = Order(
                o.id,
                o.article,
                qty,
                deadline=dl,
                release=o.release,
                priority=o.priority,
                source=o.source,
            )
            notes.append(
                f"change {o.id}: quantity {o.quantity:g} -> {qty:g}, deadline {o.deadline:g} -> {dl:g}"
            )
        elif ev.type == "finished":
            try:
                job, step = _op_key(d)
            except ValueError as e:
                fail(ev, "op", str(e))
                continue
            fx = st.by_key().get((job, step))
            if fx is None or fx.status == "queued":
                fail(
                    ev,
                    "op",
                    f"{job} step {step} has not started before now ({now:g}) in the previous plan",
                )
                continue
            x = fx
            at = float(d["at"])
            if x.start is not None and at < x.start:
                fail(
                    ev, "at", f"{job} step {step} starts at {x.start:g}, it cannot finish at {at:g}"
                )
                continue
            nxt = st.by_key().get((job, step + 1))
            still_on = at >= now or (x.leave is not None and at > x.leave)
            if still_on and nxt is not None:
                if nxt.status != "queued":
                    fail(
                        ev,
                        "at",
                        f"{job} step {step + 1} has started already; step {step} cannot still run",
                    )
                    continue
                st.operations.remove(nxt)  # the job is still on the machine
            if at >= now:
                later = [
                    y
                    for y in st.operations
                    if y.machine == x.machine
                    and y is not x
                    and y.status != "queued"
                    and (y.setup_start or 0) > (x.setup_start or 0)
                ]
                if later:
                    fail(
                        ev,
                        "at",
                        f"{x.machine} has started {later[0].job} step {later[0].step} after it; it cannot still run",
                    )
                    continue
            x.end = at
            x.status = "running" if at >= now else "done"
            if still_on:
                x.leave = None
            notes.append(f"{job} step {step} finishes at {at:g}")
    if issues:
        raise DataError(issues)
    try:
        new = Instance(
            instance.plant,
            instance.catalog,
            orders,
            name=instance.name,
            plan_start=instance.plan_start,
        )
    except DataError as e:
        raise DataError(
            [Issue(f"after the events: {i.message}", i.location) for i in e.issues]
        ) from None
    if new.compiled.has_assembly and events:
        _rekit(new, st)
    return new, st, notes


def _rekit(instance: Instance, st: ShopState) -> None:
    """Assemblies whose kit the events changed: a released assembly whose child no longer
    departed before ``now`` (it finishes later) goes back to waiting for its kit; a complete
    kit's release follows its children's (new) departures."""
    ci = instance.compiled
    starts = ci.job_op_start
    by = st.by_key()
    for p in np.flatnonzero(ci.job_n_children > 0).tolist():
        pid = ci.job_ids[p]
        x = by.get((pid, 1))
        if x is None or x.status != "queued":
            continue
        w = int(ci.op_wc[starts[p]])
        dep, arr, ok = -np.inf, -np.inf, True
        for c in np.flatnonzero(ci.job_parent == p).tolist():
            lc = int(starts[c + 1]) - 1
            y = by.get((ci.job_ids[c], int(ci.op_step[lc]) + 1))
            if y is None or y.status != "done" or y.leave is None:
                ok = False
                break
            dep = max(dep, y.leave)
            arr = max(arr, y.leave + float(ci.transport[int(ci.op_wc[lc]) + 1, w + 1]))
        if not ok:
            st.operations.remove(x)
        else:
            x.depart, x.arrive = float(dep), float(arr)


def _pause(x: OpState, a: float, b: float, mt: Any) -> None:
    """``x`` (dispatched, not finished at ``a``) pauses over ``[a, b)``: what is left of its
    setup and processing at ``a`` resumes at ``b`` in the machine's working time (``mt``,
    None = 24/7), processing not before the job is there (``arrive``)."""

    def worked(lo: float, hi: float) -> float:
        if hi <= lo:
            return 0.0
        return float(mt.worked(lo, hi)) if mt is not None else hi - lo

    def finish(t: float, w: float) -> tuple[float, float]:
        if w <= 0:
            return t, t
        return mt.finish(t, w) if mt is not None else (t, t + w)

    assert x.setup_start is not None and x.setup_end is not None
    assert x.start is not None and x.end is not None
    proc = worked(x.start, x.end)  # its processing in working minutes
    if x.start < a:  # processing when the machine broke: the rest after the repair
        x.end = finish(b, worked(a, x.end))[1]
        return
    if x.setup_end > a:  # in setup: the rest of the setup after the repair
        x.setup_end = finish(b, worked(max(a, x.setup_start), x.setup_end))[1]
    ready = max(x.setup_end, b, x.arrive if x.arrive is not None else b)
    x.start, x.end = finish(ready, proc)


def _setups_at_now(instance: Instance, st: ShopState) -> dict[str, str]:
    last: dict[str, tuple[tuple[float, float], str]] = {}
    ops_of: dict[str, list[Any]] = {}
    for j, job in enumerate(instance.jobs):
        ops_of[job.id] = instance.operations_of(j)
    for x in st.operations:
        if x.status == "queued" or x.machine is None or x.setup_start is None:
            continue
        route = ops_of.get(x.job)
        if route is None or not 1 <= x.step <= len(route):
            continue
        key = (x.setup_start, x.end or 0.0)
        if x.machine not in last or key >= last[x.machine][0]:
            last[x.machine] = (key, route[x.step - 1].setup)
    return {m: v[1] for m, v in last.items()}
