"""Issue 14 (resets): drawing a week, building its Instance and compiling it are cheap, and
give the same weeks as before, bit for bit.

``tests/data/week_hashes.json`` holds the digest of 100 weeks (four demo plants, seeds 0–24:
every order field, every job field and every compiled array) recorded on main 21cd07c, before
the trusted fast path; ``python tests/test_week_draw.py`` prints them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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


if __name__ == "__main__":  # pragma: no cover - records the digests
    json.dump(_digests(), sys.stdout, indent=1, sort_keys=True)
    print()
