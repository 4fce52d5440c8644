"""The JSSP, .fjs and Fattahi SDST readers against the public benchmark files.

The full set lives outside the repo in ``../shared/benchmarks`` (or ``$FURNSIM_BENCHMARKS``);
tests that need it are skipped with a reason when it is absent. ``tests/data/ft06.txt`` is a
copy shipped for the tests that must always run.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from furnsim.errors import DataError
from furnsim.io import load_instance, read_fjs, read_jsp
from furnsim.model import Instance

HERE = Path(__file__).parent
FT06 = HERE / "data" / "ft06.txt"


def _bench_root() -> Path:
    env = os.environ.get("FURNSIM_BENCHMARKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


BENCH = _bench_root()
needs_bench = pytest.mark.skipif(
    not (BENCH / "jsp").is_dir(),
    reason=f"benchmark folder {BENCH} not found (set FURNSIM_BENCHMARKS to the shared/benchmarks folder)",
)


def _bounds() -> dict[str, dict[str, str]]:
    p = BENCH / "bounds.csv"
    if not p.is_file():
        return {}
    with open(p, newline="", encoding="utf-8") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def _header(path: Path) -> tuple[int, int]:
    n, m = path.read_text().split()[:2]
    return int(n), int(m)


def _check_counts(inst: Instance, path: Path, bounds: dict[str, dict[str, str]]) -> None:
    c = inst.compiled
    n, m = _header(path)
    assert c.n_jobs == n, path.name
    assert c.n_machines == m, path.name
    assert c.job_op_start[-1] == c.n_ops
    assert np.all(np.diff(c.job_op_start) > 0), f"{path.name}: a job without operations"
    # every operation has at least one eligible machine with a finite time
    assert np.all(np.diff(c.op_elig_start) >= 1)
    assert np.all(np.isfinite(c.op_proc).sum(axis=1) >= 1)
    b = bounds.get(path.stem)
    if b is not None:
        assert (int(b["jobs"]), int(b["machines"])) == (n, m), path.name


# -- always-run tests on the shipped ft06 ----------------------------------------------


def test_ft06_shipped() -> None:
    inst = read_jsp(FT06)
    c = inst.compiled
    assert (c.n_jobs, c.n_machines, c.n_ops) == (6, 6, 36)
    assert c.n_wc == 6  # one work center per machine
    # job 0 is `2 1 0 3 1 6 3 7 5 3 4 6`: (machine, time) pairs in route order
    ops = range(c.job_op_start[0], c.job_op_start[1])
    route = []
    for k in ops:
        wc = int(c.op_wc[k])
        (mach,) = np.flatnonzero(np.isfinite(c.op_proc[k]))
        assert c.wc_ids[wc] == c.machine_ids[mach] == f"M{c.machine_ids[mach][1:]}"
        route += [int(c.machine_ids[mach][1:]), int(c.op_proc[k, mach])]
    assert route == [2, 1, 0, 3, 1, 6, 3, 7, 5, 3, 4, 6]
    assert list(c.op_step[ops]) == [0, 1, 2, 3, 4, 5]
    # textbook meaning: unlimited buffers, no transport, no setups
    assert np.all(np.isinf(c.wc_capacity))
    assert not c.transport.any()
    assert np.nansum(c.setup_time) == 0


def test_ft06_via_load_instance() -> None:
    assert load_instance(FT06).summary()["operations"] == 36


def test_jsp_errors_are_data_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    for text, words in [
        ("", "ends early"),
        ("2 2\n0 5 1 3\n0 4", "only"),
        ("2 2\n0 5 1 3\n0 4 7 2\n", "out of range"),
        ("2 2\n0 5 1 x\n0 4 1 2\n", "number"),
        ("0 3\n", "positive"),
    ]:
        bad.write_text(text)
        with pytest.raises(DataError) as ei:
            read_jsp(bad)
        assert any(words in i.message for i in ei.value.issues), (text, str(ei.value))
        assert all(i.file == str(bad) for i in ei.value.issues)


def test_fjs_errors_are_data_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fjs"
    for text, words in [
        ("1 2\n1 1 3 5\n", "out of range"),
        ("1 2\n1 1 1 abc\n", "number"),
        ("1 2\n1 1 1 -4\n", ">= 0"),
        ("1 2\n2 1 1 4\n", "ends early"),
        ("1 2\n0\n", "no operations"),
        ("1 2\n1 1 1 4\n\n0\n", "setup matrices"),
    ]:
        bad.write_text(text)
        with pytest.raises(DataError) as ei:
            read_fjs(bad)
        assert any(words in i.message for i in ei.value.issues), (text, str(ei.value))


def test_zero_time_operation_is_allowed_in_benchmarks(tmp_path: Path) -> None:
    """orb07 has an operation of length 0: the model accepts it for benchmark files."""
    p = tmp_path / "z.txt"
    p.write_text("1 2\n0 0 1 5\n")
    assert read_jsp(p).compiled.op_proc[0, 0] == 0


# -- the whole public set ----------------------------------------------------------------


@needs_bench
@pytest.mark.parametrize(
    ("family", "reader"), [("jsp", read_jsp), ("fjsp", read_fjs), ("sdst", read_fjs)]
)
def test_all_files_load(family: str, reader: object) -> None:
    files = sorted((BENCH / family).iterdir())
    assert files, f"no files in {BENCH / family}"
    bounds = _bounds()
    for p in files:
        inst = reader(p)  # type: ignore[operator]
        _check_counts(inst, p, bounds)


@needs_bench
def test_bounds_cover_the_files() -> None:
    bounds = _bounds()
    names = {p.stem for d in ("jsp", "fjsp", "sdst") for p in (BENCH / d).iterdir()}
    assert names <= set(bounds), sorted(names - set(bounds))[:5]


@needs_bench
def test_ft06_shared_equals_shipped() -> None:
    assert (BENCH / "jsp" / "ft06.txt").read_text().split() == FT06.read_text().split()


def _parse_fjs_ops(path: Path) -> list[dict[int, float]]:
    """Independent parse: per operation (global order), machine (1-based) -> time."""
    tok = path.read_text().split()
    n = int(tok[0])
    first = path.read_text().splitlines()[0].split()
    i = len(first)
    ops: list[dict[int, float]] = []
    for _ in range(n):
        k_ops = int(tok[i])
        i += 1
        for _ in range(k_ops):
            k = int(tok[i])
            i += 1
            ops.append({int(tok[i + 2 * a]): float(tok[i + 2 * a + 1]) for a in range(k)})
            i += 2 * k
    return ops


@needs_bench
def test_mk01_eligibility_matches_file() -> None:
    path = BENCH / "fjsp" / "mk01.fjs"
    c = read_fjs(path).compiled
    want = _parse_fjs_ops(path)
    assert c.n_ops == len(want) == 55
    # job 0, op 0 is `2 1 5 3 4`: machine 1 takes 5, machine 3 takes 4
    assert want[0] == {1: 5.0, 3: 4.0}
    for k, alts in enumerate(want):
        elig = c.op_elig_machine[c.op_elig_start[k] : c.op_elig_start[k + 1]]
        assert sorted(c.machine_ids[e] for e in elig) == sorted(f"M{m}" for m in alts)
        for mk, t in alts.items():
            assert c.op_proc[k, c.machine_ids.index(f"M{mk}")] == t
        assert np.isfinite(c.op_proc[k]).sum() == len(alts)


@needs_bench
def test_fattahi_setup_01_matrix() -> None:
    path = BENCH / "sdst" / "Fattahi_setup_01.fjs"
    c = read_fjs(path).compiled
    assert (c.n_jobs, c.n_machines, c.n_ops) == (2, 2, 4)
    rows = [line.split() for line in path.read_text().splitlines()[4:] if line.strip()]
    file_mats = np.array(rows, dtype=float).reshape(2, 4, 4)  # machine, from op, to op
    s = [c.setup_ids.index(f"o{k}") for k in range(4)]
    for m in range(2):
        for a in range(4):
            for b in range(4):
                want = 0.0 if a == b else file_mats[m, a, b]
                assert c.setup_time[m, s[a], s[b]] == want, (m, a, b)
    # a checked pair: machine 1, operation 0 -> operation 1 takes 3 minutes (line 5 of the file)
    assert c.setup_time[0, s[0], s[1]] == 3.0
    # no initial setup: from neutral every setup is free
    neutral = c.setup_ids.index("neutral")
    assert np.all(c.setup_time[:, neutral, :][:, s] == 0)
    assert list(c.op_setup) == s
