"""Stored plans: one data layer (SQLAlchemy Core) over SQLite or PostgreSQL.

The HTTP service (``furnsim serve``) keeps every plan request and its result here, so plans
survive a restart. The same schema runs on both back ends:

* embedded default: SQLite in ``$FURNSIM_DATA/plans.sqlite`` (else the user data folder,
  ``~/.local/share/furnsim``, like the order book);
* a team server: ``FURNSIM_DB_URL=postgresql://user:password@host/db`` (driver psycopg 3,
  the ``server`` extra).

Every change is a row operation (insert one plan, update one plan's status), never a
whole-table rewrite. JSON payloads (request, result) are stored as text, so the schema has
no back-end specific column types.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "PlanRecord",
    "PlanStore",
    "Status",
    "data_dir",
    "default_url",
    "normalize_url",
]

#: bump when the tables change (checked at start: a newer schema is refused)
SCHEMA_VERSION = 1

Status = Literal["queued", "running", "done", "failed"]
STATUSES: tuple[Status, ...] = ("queued", "running", "done", "failed")

_meta = sa.MetaData()

plans = sa.Table(
    "furnsim_plans",
    _meta,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "plan" | "replan"
    sa.Column("parent_id", sa.String(32), nullable=True, index=True),
    sa.Column("plant", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("goal", sa.String(64), nullable=False),
    sa.Column("method", sa.String(100), nullable=False),
    sa.Column("request", sa.Text, nullable=False),  # JSON: the validated request body
    sa.Column("result", sa.Text, nullable=True),  # JSON: PlanResult.to_dict (with schedule)
    sa.Column("valid", sa.Boolean, nullable=True),
    sa.Column("cost", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)

meta_table = sa.Table(
    "furnsim_meta",
    _meta,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def data_dir() -> Path:
    """``$FURNSIM_DATA``, else ``$XDG_DATA_HOME/furnsim`` or ``~/.local/share/furnsim``."""
    env = os.environ.get("FURNSIM_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "furnsim"


def default_url() -> str:
    """``$FURNSIM_DB_URL``, else SQLite in :func:`data_dir` (``plans.sqlite``)."""
    url = os.environ.get("FURNSIM_DB_URL")
    if url:
        return normalize_url(url)
    return "sqlite:///" + str(data_dir() / "plans.sqlite")


def normalize_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` use the psycopg 3 driver (the ``server`` extra)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, datetime):
        return o.isoformat()
    return str(o)


def dumps(obj: Any) -> str:
    """JSON text; non-finite floats are written as ``Infinity``/``NaN`` (read back by Python)."""
    return json.dumps(obj, default=_json_default, separators=(",", ":"))


def finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None`` (strict JSON for clients)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


@dataclass
class PlanRecord:
    """One stored plan (a row of ``furnsim_plans``) with its JSON decoded."""

    id: str
    kind: str
    parent_id: str | None
    plant: str
    status: str
    goal: str
    method: str
    request: dict[str, Any]
    result: dict[str, Any] | None
    valid: bool | None
    cost: float | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def _from_row(row: Any, with_result: bool = True) -> PlanRecord:
        res = row.get("result") if with_result else None
        return PlanRecord(
            id=row["id"],
            kind=row["kind"],
            parent_id=row["parent_id"],
            plant=row["plant"],
            status=row["status"],
            goal=row["goal"],
            method=row["method"],
            request=json.loads(row["request"]),
            result=json.loads(res) if res else None,
            valid=row["valid"],
            cost=row["cost"],
            error=row["error"],
            attempts=int(row["attempts"] or 0),
            created_at=_aware(row["created_at"]) or _now(),
            started_at=_aware(row["started_at"]),
            finished_at=_aware(row["finished_at"]),
        )


class PlanStore:
    """Plans in a SQL database (SQLite file or PostgreSQL), created on first use.

    Safe to share between threads: each call takes its own connection from the engine's pool
    and runs in one short transaction. On SQLite, writes are additionally serialized in-process
    (WAL mode, 30 s busy timeout), so worker threads never see "database is locked".
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = normalize_url(url) if url else default_url()
        self.backend = sa.engine.make_url(self.url).get_backend_name()
        kwargs: dict[str, Any] = {"future": True}
        if self.backend == "sqlite":
            db = sa.engine.make_url(self.url).database
            if db and db != ":memory:":
                Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.backend == "sqlite":

            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_con: Any, _rec: Any) -> None:  # pragma: no cover - trivial
                cur = dbapi_con.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

        self._write_lock = threading.Lock() if self.backend == "sqlite" else None
        self._create()

    # -- setup ---------------------------------------------------------------------------
    def _create(self) -> None:
        with self._write() as con:
            _meta.create_all(con, checkfirst=True)
            row = con.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).first()
            if row is None:
                con.execute(
                    meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the database {self.display_url} has schema version {row[0]}; this furnsim "
                    f"knows version {SCHEMA_VERSION}: upgrade furnsim"
                )

    @property
    def display_url(self) -> str:
        """The URL without its password (for logs and health)."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def drop_all(self) -> None:
        """Drop the tables (tests only)."""
        with self._write() as con:
            _meta.drop_all(con, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        if self._write_lock is None:
            with self.engine.begin() as con:
                yield con
            return
        with self._write_lock, self.engine.begin() as con:
            yield con

    def ping(self) -> bool:
        try:
            with self.engine.connect() as con:
                con.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    # -- plans ---------------------------------------------------------------------------
    def create(
        self,
        plan_id: str,
        *,
        kind: str,
        plant: str,
        goal: str,
        method: str,
        request: dict[str, Any],
        parent_id: str | None = None,
    ) -> None:
        """Insert a new plan with status ``queued``."""
        with self._write() as con:
            con.execute(
                plans.insert().values(
                    id=plan_id,
                    kind=kind,
                    parent_id=parent_id,
                    plant=plant,
                    status="queued",
                    goal=goal,
                    method=method,
                    request=dumps(request),
                    attempts=0,
                    created_at=_now(),
                )
            )

    def delete(self, plan_id: str) -> None:
        with self._write() as con:
            con.execute(plans.delete().where(plans.c.id == plan_id))

    def get(self, plan_id: str, with_result: bool = True) -> PlanRecord | None:
        cols = list(plans.c) if with_result else [c for c in plans.c if c.name != "result"]
        with self.engine.connect() as con:
            row = con.execute(sa.select(*cols).where(plans.c.id == plan_id)).mappings().first()
        return None if row is None else PlanRecord._from_row(row, with_result)

    def recent(
        self, limit: int = 50, offset: int = 0, status: str | None = None
    ) -> list[PlanRecord]:
        """Newest first, without results."""
        cols = [c for c in plans.c if c.name != "result"]
        q = sa.select(*cols).order_by(plans.c.created_at.desc(), plans.c.id.desc())
        if status is not None:
            q = q.where(plans.c.status == status)
        with self.engine.connect() as con:
            rows = con.execute(q.limit(limit).offset(offset)).mappings().all()
        return [PlanRecord._from_row(r, False) for r in rows]

    def count(self, status: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(plans)
        if status is not None:
            q = q.where(plans.c.status == status)
        with self.engine.connect() as con:
            return int(con.execute(q).scalar_one())

    def claim(self, plan_id: str) -> bool:
        """``queued`` -> ``running`` (atomic); False when the plan is not queued any more."""
        with self._write() as con:
            r = con.execute(
                plans.update()
                .where(plans.c.id == plan_id, plans.c.status == "queued")
                .values(status="running", started_at=_now(), attempts=plans.c.attempts + 1)
            )
            return r.rowcount == 1

    def finish(self, plan_id: str, result: dict[str, Any]) -> None:
        """``running`` -> ``done`` with the result (``valid``/``cost`` copied to columns)."""
        cost = result.get("cost")
        with self._write() as con:
            con.execute(
                plans.update()
                .where(plans.c.id == plan_id)
                .values(
                    status="done",
                    result=dumps(result),
                    valid=bool(result.get("valid")),
                    cost=float(cost) if isinstance(cost, int | float) else None,
                    error=None,
                    finished_at=_now(),
                )
            )

    def fail(self, plan_id: str, error: str) -> None:
        with self._write() as con:
            con.execute(
                plans.update()
                .where(plans.c.id == plan_id)
                .values(status="failed", error=error, finished_at=_now())
            )

    def requeue(self, plan_id: str, note: str | None = None) -> None:
        """Back to ``queued`` (a plan interrupted by a server stop)."""
        with self._write() as con:
            con.execute(
                plans.update()
                .where(plans.c.id == plan_id)
                .values(status="queued", started_at=None, error=note)
            )

    def unfinished(self) -> list[PlanRecord]:
        """Plans left ``queued`` or ``running`` (oldest first), without results."""
        cols = [c for c in plans.c if c.name != "result"]
        q = (
            sa.select(*cols)
            .where(plans.c.status.in_(("queued", "running")))
            .order_by(plans.c.created_at, plans.c.id)
        )
        with self.engine.connect() as con:
            rows = con.execute(q).mappings().all()
        return [PlanRecord._from_row(r, False) for r in rows]
