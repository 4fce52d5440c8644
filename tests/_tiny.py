"""Tiny instances built in code for simulator tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from furnsim.model import (
    NEUTRAL,
    Article,
    Catalog,
    Component,
    Instance,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    WorkCenter,
)

HERE = Path(__file__).parent
SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


def ft06_path() -> Path:
    p = HERE / "data" / "ft06.txt"
    return p if p.exists() else SHARED / "jsp" / "ft06.txt"


def make(
    routes: Sequence[Sequence[tuple]],
    *,
    machines: dict[str, str] | None = None,
    capacity: dict[str, float] | None = None,
    setups: dict[str, tuple[list[str], list[list[float]]]] | None = None,
    transport: dict[tuple[str, str], float] | None = None,
    releases: Sequence[float] | None = None,
    deadlines: Sequence[float] | None = None,
    quantities: Sequence[float] | None = None,
) -> Instance:
    """Routes: per job a list of (work_center, minutes_per_piece[, setup[, volume_per_piece]]).

    ``machines`` maps machine -> work center (default: one machine per work center, same name).
    ``setups`` maps machine -> (setup ids, matrix). Quantities default to 1 (δ = 1).
    """
    wcs = sorted({op[0] for r in routes for op in r} | set((machines or {}).values()))
    machines = machines or {w: w for w in wcs}
    capacity = capacity or {}
    setups = setups or {}
    plant_machines = []
    for mid, w in machines.items():
        if mid in setups:
            ids, mat = setups[mid]
            plant_machines.append(Machine(mid, w, tuple(ids), np.array(mat, dtype=float)))
        else:
            ids = sorted(
                {NEUTRAL} | {op[2] for r in routes for op in r if len(op) > 2 and op[0] == w}
            )
            plant_machines.append(Machine(mid, w, tuple(ids), np.zeros((len(ids), len(ids)))))
    plant = Plant(
        [WorkCenter(w, capacity.get(w, math.inf)) for w in wcs],
        plant_machines,
        TransportMatrix(dict(transport or {}), default=0.0),
    )
    arts = []
    for j, r in enumerate(routes):
        ops = [
            Operation(
                op[0],
                op[2] if len(op) > 2 else NEUTRAL,
                float(op[1]),
                volume_per_piece=float(op[3]) if len(op) > 3 else 0.0,
            )
            for op in r
        ]
        arts.append(Article(f"A{j}", [Component(f"C{j}", 1.0, ops)]))
    orders = [
        Order(
            f"J{j}",
            f"A{j}",
            float(quantities[j]) if quantities else 1.0,
            deadline=float(deadlines[j]) if deadlines else math.inf,
            release=float(releases[j]) if releases else 0.0,
        )
        for j in range(len(routes))
    ]
    return Instance(plant, Catalog(arts), orders, name="tiny")


def run(sim, choose=lambda d: d.candidates[0]):
    d = sim.reset()
    while d is not None:
        d = sim.dispatch(choose(d))
    return sim.schedule()


def replay(sim, sequences: dict[int, list[int]]):
    """Follow fixed job sequences per machine; wait when the next job is not there yet."""
    pos = {m: 0 for m in sequences}
    d = sim.reset()
    while d is not None:
        seq = sequences[d.machine]
        want = seq[pos[d.machine]] if pos[d.machine] < len(seq) else None
        if want is not None and want in d.candidates.tolist():
            pos[d.machine] += 1
            d = sim.dispatch(want)
        else:
            d = sim.wait()
    return sim.schedule()


def plain_jsp_model(dest: Path, seed: int = 0) -> Path:
    """A freshly initialised job-shop candidate scorer (23 + 9 inputs, no teacher columns),
    saved as an SB3 zip with a sidecar: a start model for the teacher-column tests."""
    import json

    from sb3_contrib import MaskablePPO

    from furnsim.env import FurnitureShopEnv
    from furnsim.rl.net import CandidateExtractor, CandidatePolicy

    env = FurnitureShopEnv("speed", "candidates", plant="random-jsp", jobs=(6, 9))
    model = MaskablePPO(
        CandidatePolicy,
        env,
        n_steps=64,
        batch_size=32,
        seed=seed,
        policy_kwargs={
            "features_extractor_class": CandidateExtractor,
            "features_extractor_kwargs": {"hidden": 64},
        },
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(dest))
    meta = {"goal": "speed", "view": "candidates", "config": {"max_candidates": 64}}
    dest.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return dest
