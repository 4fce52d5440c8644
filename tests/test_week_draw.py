"""Issue 14 (resets): drawing a week, building its Instance and compiling it are cheap, and
give the same weeks as before, bit for bit.

``tests/data/week_hashes.json`` holds the digest of 100 weeks (four demo plants, seeds 0–24:
every order field, every job field and every compiled array) recorded on main 21cd07c, before
the trusted fast path; ``python tests/test_week_draw.py`` prints them again.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
PLANTS = ("demo", "demo-247", "demo-assembly", "demo_shifts")
SEEDS = range(25)
HASHES = REPO / "tests" / "data" / "week_hashes.json"


def _week_digest(inst) -> str:  # type: ignore[no-untyped-def]
    h = hashlib.sha256()
    for o in inst.orders:
        h.update(repr((o.id, o.article, o.quantity, o.deadline, o.release, o.priority)).encode())
    for j in inst.jobs:
        h.update(repr(dataclasses.astuple(j)).encode())
    for k in range(len(inst.jobs)):
        h.update(repr([(o.work_center, o.setup) for o in inst.operations_of(k)]).encode())
    c = inst.compiled
    for f in dataclasses.fields(c):
        v = getattr(c, f.name)
        if isinstance(v, np.ndarray):
            h.update(f"{f.name}{v.dtype}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, list):
            h.update(repr(v).encode())
    h.update(repr((inst.name, inst.plan_start)).encode())
    return h.hexdigest()


def _digests() -> dict[str, str]:
    from furnsim.env.weeks import WeekSource

    out = {}
    for plant in PLANTS:
        src = WeekSource.from_path(REPO / "bom_data" / plant / "plant.yaml", (60, 200))
        for seed in SEEDS:
            out[f"{plant}/{seed}"] = _week_digest(src.week(seed))
    return out


def test_drawn_weeks_hash_as_recorded() -> None:
    """100 weeks drawn now equal those of main before the fast path (orders, jobs, arrays)."""
    want = json.loads(HASHES.read_text())
    assert len(want) == len(PLANTS) * len(SEEDS)
    got = _digests()
    bad = [k for k in want if got[k] != want[k]]
    assert not bad, bad


def _same_instance(a, b) -> None:  # type: ignore[no-untyped-def]
    assert (a.name, a.plan_start, a.plant, a.catalog) == (b.name, b.plan_start, b.plant, b.catalog)
    assert a.orders == b.orders and a.situation is b.situation is None
    assert a.jobs == b.jobs  # (Job is a frozen dataclass: field by field)
    assert len(a._job_ops) == len(b._job_ops)
    assert all(x is y for x, y in zip(a._job_ops, b._job_ops, strict=True))
    ca, cb = a.compiled, b.compiled
    for f in dataclasses.fields(ca):
        x, y = getattr(ca, f.name), getattr(cb, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            assert x.tobytes() == y.tobytes(), f.name  # bit for bit (nan included)
        elif f.name == "working":
            assert x is y or (x is None) == (y is None), f.name
        else:
            assert x == y, f.name


def _source(plant: str):  # type: ignore[no-untyped-def]
    from furnsim.env.weeks import WeekSource

    return WeekSource.from_path(REPO / "bom_data" / plant / "plant.yaml", (60, 200))


@pytest.mark.parametrize("plant", PLANTS)
def test_fast_build_equals_checked_build(plant: str) -> None:
    """The template's instance (arrays, fast checks) equals ``Instance(...)`` + its compile,
    on 30 drawn weeks of every demo plant (10–400 jobs)."""
    from furnsim.generate import generate_orders
    from furnsim.model import Instance
    from furnsim.model.week_template import WeekTemplate

    src = _source(plant)
    tmpl = WeekTemplate(src.plant, src.catalog)
    assert tmpl.ok
    rng = np.random.default_rng(7)
    for k in range(30):
        n = int(rng.integers(10, 401))
        orders = generate_orders(src.catalog, src.plant, n, rng, src.plan_start)
        fast = tmpl.instance(orders, name=f"w{k}", plan_start=src.plan_start)
        assert "compiled" in fast.__dict__  # built by the fast path, not the checked one
        ref = Instance(src.plant, src.catalog, orders, name=f"w{k}", plan_start=src.plan_start)
        _same_instance(fast, ref)


def _errors(build, *args, **kw) -> str:  # type: ignore[no-untyped-def]
    from furnsim.errors import DataError

    with pytest.raises(DataError) as e:
        build(*args, **kw)
    return str(e.value)


def test_fast_build_rejects_what_instance_rejects() -> None:
    """Too-large batches, kits that do not fit, operations longer than the longest window,
    duplicate orders and unknown articles: the same DataError (messages, order) as
    ``Instance(...)``; a calendar plant without a plan start too."""
    from furnsim.errors import DataError
    from furnsim.model import Instance, Order
    from furnsim.model.week_template import WeekTemplate

    kinds = {"batch volume": "", "the kit of": "", "longest working window": ""}
    cases = []
    for plant in ("demo", "demo-assembly", "demo_shifts"):
        src = _source(plant)
        arts = [a.id for a in src.catalog.articles]
        ok = [Order(f"O{i}", a, 2.0, 5000.0) for i, a in enumerate(arts)]
        huge = [Order(f"BIG{i}", a, 1e6, 5000.0) for i, a in enumerate(arts[:3])]
        cases += [
            (src, [*ok, *huge], src.plant),  # batch volumes (and kits, windows) too large
            (src, [*ok, Order("O1", arts[0], 1.0)], src.plant),  # a duplicate order id
            (src, [*ok, Order("X", "no-such-article", 1.0)], src.plant),
        ]
        # just above the smallest quantity each article is refused at (bisection): one kind
        # of problem alone, so that each fast check must flag it by itself; with unlimited
        # buffers on the shift plant, the longest working window is what refuses
        plants = [src.plant]
        if plant == "demo_shifts":
            plants.insert(0, copy.deepcopy(src.plant))
            for w in plants[0].work_centers:
                w.buffer_capacity = math.inf
        for pl in plants:
            cat = src.catalog

            def refused(a: str, q: float, pl=pl, cat=cat, start=src.plan_start) -> str | None:  # type: ignore[no-untyped-def]
                try:
                    Instance(pl, cat, [Order("Q", a, q)], plan_start=start)
                except DataError as e:
                    return str(e)
                return None

            for a in arts:
                if all(kinds.values()):
                    break
                lo, hi = 1.0, 1e7
                if refused(a, lo) or not refused(a, hi):
                    continue
                for _ in range(25):
                    mid = (lo * hi) ** 0.5
                    lo, hi = (lo, mid) if refused(a, mid) else (mid, hi)
                msg = refused(a, hi) or ""
                hit = [x for x in kinds if x in msg]
                if len(hit) == 1 and not kinds[hit[0]]:
                    kinds[hit[0]] = plant
                    cases.append((src, [*ok, Order("Q", a, hi)], pl))
    assert all(kinds.values()), kinds  # each kind of problem alone, on some plant
    for src, orders, pl in cases:
        tmpl = WeekTemplate(pl, src.catalog)
        want = _errors(Instance, pl, src.catalog, orders, plan_start=src.plan_start)
        got = _errors(tmpl.instance, orders, plan_start=src.plan_start)
        assert got == want
        # and just below the refusal, the fast path builds what the checked path builds
        if orders[-1].id == "Q":
            q = orders[-1].quantity * (1 - 1e-6)
            fine = [*orders[:-1], Order("Q", orders[-1].article, q)]
            ref = Instance(pl, src.catalog, fine, plan_start=src.plan_start)
            fast = tmpl.instance(fine, plan_start=src.plan_start)
            assert "compiled" in fast.__dict__
            _same_instance(fast, ref)
    src = _source("demo_shifts")
    orders = [Order("O1", src.catalog.articles[0].id, 2.0)]
    want = _errors(lambda: Instance(src.plant, src.catalog, orders))
    assert "need a plan start" in want
    assert _errors(lambda: WeekTemplate(src.plant, src.catalog).instance(orders)) == want


if __name__ == "__main__":  # pragma: no cover - records the digests
    json.dump(_digests(), sys.stdout, indent=1, sort_keys=True)
    print()
