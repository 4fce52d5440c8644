"""Readers for standard benchmark formats into the same :class:`Instance`.

* classic JSSP (Taillard / OR-Library): ``n m`` then per job ``m`` pairs ``machine time``
  (0-indexed machines). Each machine becomes its own work center.
* Brandimarte ``.fjs``: ``n m [avg]`` then per job: number of operations, then per
  operation ``k`` followed by ``k`` pairs ``machine time`` (1-indexed). All machines stand in
  one work center ``SHOP``; each operation restricts its eligible machines and times.
* Fattahi SDST ``.fjs``: an ``.fjs`` block, then one N×N setup matrix per machine over the
  global operation index (N = total operations). Each operation gets its own setup id
  ``o<k>``; the initial (neutral) setup costs nothing.

Buffers are unlimited and transport is zero: the instances keep their textbook meaning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from furnsim.errors import DataError, Issue, Location
from furnsim.io import limits
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

__all__ = ["read_fjs", "read_jsp"]


def _tokens(path: Path) -> list[str]:
    size = path.stat().st_size
    if size > limits.MAX_FILE_BYTES:
        raise DataError(
            [
                Issue(
                    f"the file has {size / 2**20:,.1f} MiB; at most "
                    f"{limits.MAX_FILE_BYTES / 2**20:,.1f} MiB are read (a limit of furnsim.io.limits)",
                    Location(str(path)),
                )
            ]
        )
    try:
        return path.read_text().split()
    except UnicodeDecodeError:
        raise DataError([Issue("not a text file", Location(str(path)))]) from None


def _int(tok: list[str], i: int, path: Path, what: str) -> int:
    if i >= len(tok):
        raise DataError([Issue(f"file ends early: expected {what}", Location(str(path)))])
    try:
        return int(float(tok[i]))
    except ValueError:
        raise DataError(
            [
                Issue(
                    f"expected an integer for {what}, got {tok[i]!r} (token {i + 1})",
                    Location(str(path)),
                )
            ]
        ) from None


def _num(tok: list[str], i: int, path: Path, what: str, row: int | None = None) -> float:
    if i >= len(tok):
        raise DataError([Issue(f"file ends early: expected {what}", Location(str(path)))])
    try:
        x = float(tok[i])
    except ValueError:
        x = float("nan")
    if not (x >= 0 and x <= limits.MAX_MINUTES):
        raise DataError(
            [
                Issue(
                    f"{what} must be a number >= 0 and at most {limits.MAX_MINUTES:g}, got "
                    f"{tok[i]!r} (token {i + 1})",
                    Location(str(path), row=row),
                )
            ]
        )
    return x


def _check_size(n: int, m: int, path: Path) -> None:
    if n > limits.MAX_JOBS or m > limits.MAX_COLUMNS:
        raise DataError(
            [
                Issue(
                    f"header gives {n} jobs and {m} machines: at most {limits.MAX_JOBS:,} jobs "
                    f"and {limits.MAX_COLUMNS} machines (a limit of furnsim.io.limits)",
                    Location(str(path), row=1),
                )
            ]
        )


def _single_job_instance(
    name: str,
    plant: Plant,
    routes: list[list[Operation]],
) -> Instance:
    articles = [Article(f"J{j}", [Component(f"J{j}", 1.0, ops)]) for j, ops in enumerate(routes)]
    orders = [Order(f"J{j}", f"J{j}", 1.0) for j in range(len(routes))]
    return Instance(plant, Catalog(articles), orders, name=name)


def read_jsp(path: str | Path) -> Instance:
    """Classic job shop file -> Instance (one work center per machine, no setups)."""
    p = Path(path)
    tok = _tokens(p)
    n, m = _int(tok, 0, p, "number of jobs"), _int(tok, 1, p, "number of machines")
    _check_size(n, m, p)
    if n <= 0 or m <= 0:
        raise DataError(
            [
                Issue(
                    f"header must give positive jobs and machines, got {n} {m}",
                    Location(str(p), row=1),
                )
            ]
        )
    expected = 2 + 2 * n * m
    if len(tok) < expected:
        raise DataError(
            [
                Issue(
                    f"expected {n}x{m} pairs, file has only {(len(tok) - 2) // 2}", Location(str(p))
                )
            ]
        )
    wcs = [WorkCenter(f"M{k}") for k in range(m)]
    machines = [Machine(f"M{k}", f"M{k}") for k in range(m)]
    plant = Plant(wcs, machines, TransportMatrix(default=0.0), name=p.stem)
    routes = []
    i = 2
    for j in range(n):
        ops = []
        for _ in range(m):
            mk = _int(tok, i, p, f"machine of job {j}")
            d = _num(tok, i + 1, p, f"time of job {j}", row=j + 2)
            i += 2
            if not 0 <= mk < m:
                raise DataError(
                    [
                        Issue(
                            f"job {j}: machine {mk} out of range 0..{m - 1}",
                            Location(str(p), row=j + 2),
                        )
                    ]
                )
            ops.append(Operation(f"M{mk}", NEUTRAL, float(d)))
        routes.append(ops)
    return _single_job_instance(p.stem, plant, routes)


def read_fjs(path: str | Path, setups: bool | None = None) -> Instance:
    """Brandimarte ``.fjs`` (and Fattahi SDST when setup matrices follow) -> Instance."""
    p = Path(path)
    tok = _tokens(p)
    n, m = _int(tok, 0, p, "number of jobs"), _int(tok, 1, p, "number of machines")
    _check_size(n, m, p)
    if n <= 0 or m <= 0:
        raise DataError(
            [
                Issue(
                    f"header must give positive jobs and machines, got {n} {m}",
                    Location(str(p), row=1),
                )
            ]
        )
    lines = p.read_text().splitlines()
    # the optional 3rd header value (average machines per op) sits on the first line
    first = lines[0].split() if lines else []
    i = len(first) if len(first) in (2, 3) else 2
    routes_raw: list[list[list[tuple[int, float]]]] = []
    for j in range(n):
        k_ops = _int(tok, i, p, f"operation count of job {j}")
        i += 1
        if k_ops <= 0:
            raise DataError([Issue(f"job {j} has no operations", Location(str(p), row=j + 2))])
        job = []
        for o in range(k_ops):
            k = _int(tok, i, p, f"machine count of job {j} op {o}")
            i += 1
            if k <= 0:
                raise DataError(
                    [
                        Issue(
                            f"job {j} op {o}: no machine can do it (count {k})",
                            Location(str(p), row=j + 2),
                        )
                    ]
                )
            alts = []
            for _ in range(k):
                mk = _int(tok, i, p, f"machine of job {j} op {o}")
                t = _num(tok, i + 1, p, f"time of job {j} op {o}", row=j + 2)
                i += 2
                if not 1 <= mk <= m:
                    raise DataError(
                        [
                            Issue(
                                f"job {j} op {o}: machine {mk} out of range 1..{m}",
                                Location(str(p), row=j + 2),
                            )
                        ]
                    )
                alts.append((mk - 1, t))
            job.append(alts)
        routes_raw.append(job)
    rest = tok[i:]
    n_ops = sum(len(r) for r in routes_raw)
    has_setups = bool(rest) if setups is None else setups
    op_setup = [f"o{k}" for k in range(n_ops)]
    machines = []
    if has_setups:
        need = m * n_ops * n_ops
        if len(rest) < need:
            raise DataError(
                [
                    Issue(
                        f"expected {m} setup matrices of {n_ops}x{n_ops} after the jobs, found {len(rest)} numbers",
                        Location(str(p)),
                    )
                ]
            )
        vals = np.array([_num(rest, q, p, "setup time") for q in range(need)], dtype=float).reshape(
            m, n_ops, n_ops
        )
        ids = (NEUTRAL, *op_setup)
        for k in range(m):
            mat = np.zeros((n_ops + 1, n_ops + 1))
            mat[1:, 1:] = vals[k]
            np.fill_diagonal(mat, 0.0)  # the same operation never follows itself
            machines.append(Machine(f"M{k + 1}", "SHOP", ids, mat))
    else:
        machines = [Machine(f"M{k + 1}", "SHOP") for k in range(m)]
    plant = Plant([WorkCenter("SHOP")], machines, TransportMatrix(default=0.0), name=p.stem)
    routes = []
    g = 0
    for job in routes_raw:
        ops = []
        for alts in job:
            mm = {f"M{mk + 1}": t for mk, t in alts}
            ops.append(
                Operation(
                    "SHOP",
                    op_setup[g] if has_setups else NEUTRAL,
                    0.0,
                    machine_minutes=mm,
                    machines=tuple(mm),
                )
            )
            g += 1
        routes.append(ops)
    return _single_job_instance(p.stem, plant, routes)
