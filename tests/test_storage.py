"""The plan store (SQLAlchemy Core) on SQLite and, with FURNSIM_TEST_PG_URL, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sa = pytest.importorskip("sqlalchemy")

from furnsim.storage import PlanStore, normalize_url  # noqa: E402

PG_URL = os.environ.get("FURNSIM_TEST_PG_URL")
# (under pytest-xdist one process with tests/test_api.py, which drops the shared PostgreSQL
# tables: tests/conftest.py)
_CREATED: list[str] = []


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PlanStore]:
    if request.param == "sqlite":
        s = PlanStore("sqlite:///" + str(tmp_path / "plans.sqlite"))
    else:
        if not PG_URL:
            pytest.skip("FURNSIM_TEST_PG_URL is not set (scripts/ci_postgres.sh starts PostgreSQL)")
        s = PlanStore(PG_URL)
    yield s
    for pid in _CREATED:  # leave the shared PostgreSQL tables as they were
        s.delete(pid)
    _CREATED.clear()
    s.dispose()


def _new(store: PlanStore, n: int, plant: str = "p") -> list[str]:
    tag = uuid.uuid4().hex[:8]  # the PostgreSQL tables are shared with other tests
    ids = [f"{tag}-{i:03d}" for i in range(n)]
    _CREATED.extend(ids)
    for i in ids:
        store.create(i, kind="plan", plant=plant, goal="speed", method="rule:EDD", request={"i": i})
    return ids


def test_lifecycle_and_json_roundtrip(store: PlanStore) -> None:
    (pid,) = _new(store, 1)
    rec = store.get(pid)
    assert rec is not None and rec.status == "queued" and rec.attempts == 0
    assert rec.request == {"i": pid} and rec.result is None
    assert rec.created_at.tzinfo is not None
    assert store.claim(pid) and not store.claim(pid)
    result = {"valid": True, "cost": float("inf"), "kpis": {"makespan": 12.5}, "operations": []}
    store.finish(pid, result)
    rec = store.get(pid)
    assert rec is not None and rec.status == "done" and rec.valid is True
    assert rec.cost == float("inf") and rec.result == result and rec.attempts == 1
    assert rec.finished_at is not None and rec.started_at is not None
    assert store.get(pid, with_result=False).result is None  # type: ignore[union-attr]
    assert store.get("no-such-plan") is None


def test_claim_is_atomic_under_threads(store: PlanStore) -> None:
    """8 threads race to claim 40 plans: each plan is claimed exactly once."""
    ids = _new(store, 40)

    def claim_all(_: int) -> list[str]:
        return [i for i in ids if store.claim(i)]

    with ThreadPoolExecutor(8) as ex:
        won = [i for got in ex.map(claim_all, range(8)) for i in got]
    assert sorted(won) == ids


def test_unfinished_recent_count(store: PlanStore) -> None:
    ids = _new(store, 4)
    store.claim(ids[1])
    store.claim(ids[2])
    store.fail(ids[2], "boom")
    store.requeue(ids[1])
    unfinished = [r.id for r in store.unfinished() if r.id in ids]
    assert unfinished == [ids[0], ids[1], ids[3]]  # oldest first
    failed = store.get(ids[2])
    assert failed is not None and failed.status == "failed" and failed.error == "boom"
    recent = [r.id for r in store.recent(limit=500) if r.id in ids]
    assert recent == ids[::-1]  # newest first
    assert store.count("failed") >= 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "plans.sqlite")
    PlanStore(url).dispose()
    eng = sa.create_engine(url)
    with eng.begin() as con:
        con.execute(sa.text("UPDATE furnsim_meta SET value = '99' WHERE key = 'schema_version'"))
    eng.dispose()
    with pytest.raises(RuntimeError, match="schema version 99"):
        PlanStore(url)


def test_urls() -> None:
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FURNSIM_DB_URL", raising=False)
    monkeypatch.setenv("FURNSIM_DATA", str(tmp_path / "data"))
    s = PlanStore()
    assert s.backend == "sqlite"
    assert (tmp_path / "data" / "plans.sqlite").exists()
    s.dispose()
    monkeypatch.setenv("FURNSIM_DB_URL", "postgresql://u:secret@127.0.0.1:1/db")
    from furnsim.storage import default_url

    assert default_url().startswith("postgresql+psycopg://")
