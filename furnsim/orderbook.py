"""The planner's order book: the week's order rows, kept in a local SQLite file.

The dashboard edits orders in a table; every row the planner typed or imported is stored
here per plant name - including invalid rows, which are flagged (``problem``), never dropped
- so the list survives a page reload and a restart.

* Default file: ``$FURNSIM_DATA/orders.sqlite``, else ``~/.local/share/furnsim/orders.sqlite``
  (``$XDG_DATA_HOME/furnsim`` when set). Tests pass their own path.
* A row is a dict with ``order``, ``article``, ``quantity``, ``deadline``, ``release``
  (``datetime`` or ``None``) and ``priority``. Dates are absolute, so a row keeps its meaning
  when the plan start moves.
* :func:`check_rows` flags problems per row (unknown article, quantity <= 0, deadline in
  the past, ...); :func:`rows_to_orders` turns the valid rows into model
  :class:`~furnsim.model.Order` objects (minutes after the plan start).
"""

from __future__ import annotations

import difflib
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from furnsim.io._builder import _to_datetime

__all__ = [
    "COLUMNS",
    "ApplyResult",
    "Conflict",
    "Delete",
    "Insert",
    "OrderBook",
    "Update",
    "RowCheck",
    "check_rows",
    "csv_safe",
    "default_path",
    "next_order_id",
    "normalize_row",
    "orders_to_rows",
    "read_order_file",
    "rows_to_orders",
]

#: the columns of an order row, in table order
COLUMNS = ("order", "article", "quantity", "deadline", "release", "priority")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS order_book (
    rid      INTEGER PRIMARY KEY AUTOINCREMENT,
    plant    TEXT NOT NULL,
    pos      REAL NOT NULL,
    order_id TEXT,
    article  TEXT,
    quantity REAL,
    deadline TEXT,
    release  TEXT,
    priority REAL,
    problem  TEXT,
    version  INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS order_book_plant ON order_book (plant, pos);
CREATE TABLE IF NOT EXISTS book_version (
    plant   TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    plant TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (plant, key)
);
CREATE TABLE IF NOT EXISTS workspace (
    ws      TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   BLOB,
    updated TEXT,
    PRIMARY KEY (ws, key)
);
"""


def default_path() -> Path:
    """``$FURNSIM_DATA/orders.sqlite`` or the user data folder (``~/.local/share/furnsim``)."""
    env = os.environ.get("FURNSIM_DATA")
    if env:
        return Path(env).expanduser() / "orders.sqlite"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "furnsim" / "orders.sqlite"


# ---------------------------------------------------------------------------------------
# row values
# ---------------------------------------------------------------------------------------
def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and not v.strip():
        return True
    # pandas NaT / NA without importing pandas
    return type(v).__name__ in ("NaTType", "NAType")


def _as_datetime(v: Any) -> datetime | None | str:
    """A datetime, ``None`` for blank, or the text as given when it is not a date."""
    if _blank(v):
        return None
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    if isinstance(v, datetime):
        return v.replace(tzinfo=None, microsecond=0)
    if isinstance(v, date):
        return datetime.combine(v, time(0, 0))
    s = str(v).strip()
    parsed = _to_datetime(s)
    return parsed if parsed is not None else s


def _as_number(v: Any) -> float | None | str:
    if _blank(v):
        return None
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(str(v).strip().replace(",", "."))
    except ValueError:
        return str(v)


def _as_text(v: Any) -> str | None:
    if _blank(v):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def normalize_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row with the six columns, typed where possible (text kept when it does not parse)."""
    return {
        "order": _as_text(row.get("order")),
        "article": _as_text(row.get("article")),
        "quantity": _as_number(row.get("quantity")),
        "deadline": _as_datetime(row.get("deadline")),
        "release": _as_datetime(row.get("release")),
        "priority": _as_number(row.get("priority")),
    }


# ---------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowCheck:
    """The problems of one row (empty = the row is valid)."""

    index: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        return "; ".join(self.problems)


def _fmt(dt: datetime) -> str:
    return f"{dt:%Y-%m-%d %H:%M}"


def check_rows(
    rows: Sequence[dict[str, Any]],
    articles: Iterable[str],
    plan_start: datetime,
) -> list[RowCheck]:
    """Check each row on its own and against the others (duplicate ids).

    Problems are written for planners: what is wrong and what to do.
    """
    arts = sorted(set(articles))
    art_set = set(arts)
    norm = [normalize_row(r) for r in rows]
    counts: dict[str, int] = {}
    for r in norm:
        if r["order"]:
            counts[r["order"]] = counts.get(r["order"], 0) + 1
    out = []
    for i, r in enumerate(norm):
        p: list[str] = []
        oid, art, q = r["order"], r["article"], r["quantity"]
        if not oid:
            p.append("order id is empty")
        elif counts.get(oid, 0) > 1:
            p.append(f"order id {oid!r} is used more than once")
        if not art:
            p.append("article is empty: pick one from the catalog")
        elif art not in art_set:
            close = difflib.get_close_matches(art, arts, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            p.append(f"unknown article {art!r}{hint}: not in the plant's catalog")
        if q is None:
            p.append("quantity is empty")
        elif isinstance(q, str):
            p.append(f"quantity {q!r} is not a number")
        elif not math.isfinite(q) or q <= 0:
            p.append(f"quantity must be more than 0 (got {q:g})")
        dl, rel = r["deadline"], r["release"]
        if isinstance(dl, str):
            p.append(f"deadline {dl!r} is not a date and time (use e.g. 2026-03-04 14:00)")
            dl = None
        if isinstance(rel, str):
            p.append(f"release {rel!r} is not a date and time (use e.g. 2026-03-02 06:00)")
            rel = None
        if dl is not None and dl < plan_start:
            p.append(
                f"deadline {_fmt(dl)} is in the past (before the plan start {_fmt(plan_start)})"
            )
        elif dl is not None and rel is not None and dl < rel:
            p.append(f"deadline {_fmt(dl)} is before the release {_fmt(rel)}")
        pr = r["priority"]
        if isinstance(pr, str):
            p.append(f"priority {pr!r} is not a number")
        elif pr is not None and (not math.isfinite(pr) or pr <= 0):
            p.append(f"priority must be more than 0 (got {pr:g})")
        out.append(RowCheck(i, tuple(p)))
    return out


def rows_to_orders(rows: Sequence[dict[str, Any]], plan_start: datetime) -> list[Any]:
    """Model orders of the given (already checked, valid) rows; times in minutes after plan start.

    A release before the plan start means "available at the plan start".
    Each order's ``source`` points at its row (sheet ``orders``, 1-based row number), so
    problems found later (e.g. a batch too big for a buffer) can be shown on the row.
    """
    from furnsim.errors import Location
    from furnsim.model import Order

    out = []
    for i, raw in enumerate(rows):
        r = normalize_row(raw)
        dl, rel = r["deadline"], r["release"]
        dlm = math.inf if not isinstance(dl, datetime) else (dl - plan_start).total_seconds() / 60.0
        relm = (
            0.0
            if not isinstance(rel, datetime)
            else max(0.0, (rel - plan_start).total_seconds() / 60.0)
        )
        pr = r["priority"] if isinstance(r["priority"], float) else 1.0
        out.append(
            Order(
                str(r["order"]),
                str(r["article"]),
                float(r["quantity"]),
                dlm,
                relm,
                pr,
                source=Location("", "orders", i + 1, ""),
            )
        )
    return out


def orders_to_rows(orders: Iterable[Any], plan_start: datetime) -> list[dict[str, Any]]:
    """Model orders (minutes after ``plan_start``) as rows with absolute dates."""
    from datetime import timedelta

    rows = []
    for o in orders:
        rows.append(
            {
                "order": o.id,
                "article": o.article,
                "quantity": float(o.quantity),
                "deadline": None
                if not math.isfinite(o.deadline)
                else (plan_start + timedelta(minutes=o.deadline)).replace(microsecond=0),
                "release": None
                if o.release <= 0
                else (plan_start + timedelta(minutes=o.release)).replace(microsecond=0),
                "priority": float(o.priority),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------
# storage
# ---------------------------------------------------------------------------------------
def _enc(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="minutes")
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _dec_dt(v: Any) -> datetime | str | None:
    if v is None:
        return None
    try:
        return datetime.fromisoformat(v)
    except (TypeError, ValueError):
        return v  # text the planner typed that is not a date: kept as is (and flagged)


def _dec_num(v: Any) -> float | str | None:
    if v is None or isinstance(v, float | int):
        return None if v is None else float(v)
    return str(v)


_DB_COLS = ("order_id", "article", "quantity", "deadline", "release", "priority")
_COL_DB = dict(zip(COLUMNS, _DB_COLS, strict=True))


def _db_values(row: dict[str, Any]) -> tuple[Any, ...]:
    r = normalize_row(row)
    return tuple(_enc(r[c]) for c in COLUMNS)


def _same(a: Any, b: Any) -> bool:
    """Two stored cell values are equal (normalised: 10 == 10.0, blank == None)."""
    return _enc(a) == _enc(b)


@dataclass(frozen=True)
class Insert:
    """Add a row at the end of the table."""

    row: dict[str, Any]


@dataclass(frozen=True)
class Update:
    """Change some cells of row ``rid``, which the caller last saw at ``version``."""

    rid: int
    changes: dict[str, Any]
    version: int


@dataclass(frozen=True)
class Delete:
    """Remove row ``rid``, which the caller last saw at ``version``."""

    rid: int
    version: int


Op = Insert | Update | Delete


@dataclass(frozen=True)
class Conflict:
    """An operation that was not applied because the row changed in the meantime."""

    op: Op
    reason: str  # "changed" (someone else saved the row) or "deleted"
    current: dict[str, Any] | None  # the stored row now (None when deleted)


@dataclass
class ApplyResult:
    """What :meth:`OrderBook.apply` did."""

    version_before: int  # the table version found when the write started
    version: int  # the table version after it
    inserted: list[int]  # new row ids, in the order of the Insert ops
    versions: dict[int, int]  # row id -> its version after the write (changed rows)
    conflicts: list[Conflict]

    @property
    def changed(self) -> bool:
        return self.version != self.version_before


class OrderBook:
    """Order rows per plant in a SQLite file (created on first use).

    Every row has a stable id (``rid``) and a version; the table of a plant has a version
    too, bumped by every write. Writes are row operations (:meth:`apply`): an update or
    delete names the row version it was based on and is refused - reported as a
    :class:`Conflict`, never applied - when someone else changed or deleted the row since.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (committed on success), always closed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.executescript(_SCHEMA)
            self._migrate(con)
            with con:
                con.execute("BEGIN IMMEDIATE")
                yield con
        finally:
            con.close()

    @staticmethod
    def _migrate(con: sqlite3.Connection) -> None:
        """Move rows of the first order-book layout (``order_rows``, keyed by position)."""
        old = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'order_rows'"
        ).fetchone()
        if old is None:
            return
        with con:
            con.execute(
                "INSERT INTO order_book (plant, pos, order_id, article, quantity, deadline, "
                "release, priority, problem) SELECT plant, pos, order_id, article, quantity, "
                "deadline, release, priority, problem FROM order_rows ORDER BY plant, pos"
            )
            con.execute(
                "INSERT OR IGNORE INTO book_version SELECT DISTINCT plant, 1 FROM order_rows"
            )
            con.execute("DROP TABLE order_rows")

    @staticmethod
    def _version(con: sqlite3.Connection, plant: str) -> int:
        r = con.execute("SELECT version FROM book_version WHERE plant = ?", (plant,)).fetchone()
        return 0 if r is None else int(r[0])

    @staticmethod
    def _row(r: Sequence[Any]) -> dict[str, Any]:
        return {
            "order": r[0],
            "article": r[1],
            "quantity": _dec_num(r[2]),
            "deadline": _dec_dt(r[3]),
            "release": _dec_dt(r[4]),
            "priority": _dec_num(r[5]),
            "problem": r[6] or "",
            "rid": int(r[7]),
            "version": int(r[8]),
        }

    _SELECT = (
        "SELECT order_id, article, quantity, deadline, release, priority, problem, rid, "
        "version FROM order_book"
    )

    def has(self, plant: str) -> bool:
        """Whether anything was ever saved for ``plant`` (an empty list counts)."""
        with self._connect() as con:
            return self._version(con, plant) > 0

    def version(self, plant: str) -> int:
        """The table version of ``plant`` (0 = never saved); every write bumps it."""
        with self._connect() as con:
            return self._version(con, plant)

    def snapshot(self, plant: str) -> tuple[list[dict[str, Any]], int]:
        """The rows of ``plant`` (see :meth:`load`) and the table version they belong to."""
        with self._connect() as con:
            cur = con.execute(self._SELECT + " WHERE plant = ? ORDER BY pos, rid", (plant,))
            return [self._row(r) for r in cur.fetchall()], self._version(con, plant)

    def load(self, plant: str) -> list[dict[str, Any]]:
        """The rows of ``plant`` in table order, each with ``problem`` (as last saved),
        its id ``rid`` and its ``version``."""
        return self.snapshot(plant)[0]

    def apply(self, plant: str, ops: Sequence[Op]) -> ApplyResult:
        """Apply row operations in one transaction; conflicting ones are reported, not applied.

        An :class:`Update` whose row changed since ``version`` is still applied when the
        stored cells already hold the new values (nothing would be overwritten); otherwise
        it and a :class:`Delete` of a changed row are conflicts. Deleting a row that is
        already gone is not an error.
        """
        inserted: list[int] = []
        versions: dict[int, int] = {}
        conflicts: list[Conflict] = []
        with self._connect() as con:
            before = self._version(con, plant)
            wrote = False
            pos = con.execute(
                "SELECT COALESCE(MAX(pos), -1) FROM order_book WHERE plant = ?", (plant,)
            ).fetchone()[0]
            for op in ops:
                if isinstance(op, Insert):
                    pos += 1
                    cur = con.execute(
                        "INSERT INTO order_book (plant, pos, order_id, article, quantity, "
                        "deadline, release, priority, problem) VALUES (?,?,?,?,?,?,?,?,?)",
                        (plant, pos, *_db_values(op.row), op.row.get("problem") or None),
                    )
                    rid = int(cur.lastrowid or 0)
                    inserted.append(rid)
                    versions[rid] = 1
                    wrote = True
                    continue
                found = con.execute(
                    self._SELECT + " WHERE plant = ? AND rid = ?", (plant, op.rid)
                ).fetchone()
                cur_row = None if found is None else self._row(found)
                if isinstance(op, Delete):
                    if cur_row is None:
                        continue
                    if cur_row["version"] != op.version:
                        conflicts.append(Conflict(op, "changed", cur_row))
                        continue
                    con.execute("DELETE FROM order_book WHERE rid = ?", (op.rid,))
                    wrote = True
                    continue
                changes = {k: v for k, v in op.changes.items() if k in COLUMNS or k == "problem"}
                if cur_row is None:
                    conflicts.append(Conflict(op, "deleted", None))
                    continue
                norm = normalize_row({**cur_row, **changes})
                if cur_row["version"] != op.version:
                    if all(_same(cur_row.get(k), norm.get(k, v)) for k, v in changes.items()):
                        continue  # already as wanted
                    conflicts.append(Conflict(op, "changed", cur_row))
                    continue
                sets = [f"{_COL_DB[k]} = ?" for k in changes if k in COLUMNS]
                vals = [_enc(norm[k]) for k in changes if k in COLUMNS]
                if "problem" in changes:
                    sets.append("problem = ?")
                    vals.append(changes["problem"] or None)
                if not sets:
                    continue
                con.execute(
                    f"UPDATE order_book SET {', '.join(sets)}, version = version + 1 WHERE rid = ?",
                    (*vals, op.rid),
                )
                versions[op.rid] = op.version + 1
                wrote = True
            after = before
            if wrote or before == 0:
                after = before + 1
                con.execute("INSERT OR REPLACE INTO book_version VALUES (?, ?)", (plant, after))
        return ApplyResult(before, after, inserted, versions, conflicts)

    def seed(self, plant: str, rows: Sequence[dict[str, Any]]) -> bool:
        """Store ``rows`` as the first table of ``plant`` - only if nothing was ever saved for
        it (checked in the same transaction, so two windows opening at once seed it once)."""
        with self._connect() as con:
            if self._version(con, plant) > 0:
                return False
            for i, raw in enumerate(rows):
                con.execute(
                    "INSERT INTO order_book (plant, pos, order_id, article, quantity, "
                    "deadline, release, priority, problem) VALUES (?,?,?,?,?,?,?,?,?)",
                    (plant, i, *_db_values(raw), raw.get("problem") or None),
                )
            con.execute("INSERT OR REPLACE INTO book_version VALUES (?, 1)", (plant,))
        return True

    def save(
        self, plant: str, rows: Sequence[dict[str, Any]], problems: Sequence[str] | None = None
    ) -> ApplyResult:
        """Make the table of ``plant`` hold exactly ``rows`` (invalid rows are stored too).

        Meant for seeding a table and for tests: rows with a ``rid`` that still exists are
        updated in place (based on their ``version``), the others inserted, and stored rows
        not in ``rows`` deleted - all as row operations, so a concurrent change is reported
        as a conflict instead of being overwritten.
        """
        stored = {r["rid"]: r for r in self.load(plant)}
        ops: list[Op] = []
        keep: set[int] = set()
        for i, raw in enumerate(rows):
            prob = problems[i] if problems is not None else raw.get("problem") or ""
            vals = {**normalize_row(raw), "problem": prob}
            rid = raw.get("rid")
            if isinstance(rid, int) and rid in stored:
                keep.add(rid)
                ops.append(Update(rid, vals, int(raw.get("version", stored[rid]["version"]))))
            else:
                ops.append(Insert(vals))
        ops[:0] = [Delete(rid, r["version"]) for rid, r in stored.items() if rid not in keep]
        return self.apply(plant, ops)

    def clear(self, plant: str) -> None:
        with self._connect() as con:
            con.execute("DELETE FROM order_book WHERE plant = ?", (plant,))
            con.execute("DELETE FROM book_version WHERE plant = ?", (plant,))
            con.execute("DELETE FROM settings WHERE plant = ?", (plant,))

    def plants(self) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT plant FROM book_version ORDER BY plant")]

    # small per-plant settings (plan start, goal, ...)
    def get_setting(self, plant: str, key: str, default: str | None = None) -> str | None:
        with self._connect() as con:
            r = con.execute(
                "SELECT value FROM settings WHERE plant = ? AND key = ?", (plant, key)
            ).fetchone()
        return default if r is None else r[0]

    def set_setting(self, plant: str, key: str, value: str | None) -> None:
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?, ?)", (plant, key, value))

    # a browser's workspace: what must survive a page reload (uploaded plant, last plan)
    def ws_get(self, ws: str, key: str) -> bytes | None:
        """A stored value of workspace ``ws`` (None when absent)."""
        with self._connect() as con:
            r = con.execute(
                "SELECT value FROM workspace WHERE ws = ? AND key = ?", (ws, key)
            ).fetchone()
        return None if r is None else bytes(r[0])

    def ws_put(self, ws: str, key: str, value: bytes | None) -> None:
        """Store (or, with ``None``, remove) a value of workspace ``ws``."""
        with self._connect() as con:
            if value is None:
                con.execute("DELETE FROM workspace WHERE ws = ? AND key = ?", (ws, key))
            else:
                con.execute(
                    "INSERT OR REPLACE INTO workspace VALUES (?, ?, ?, ?)",
                    (ws, key, sqlite3.Binary(value), datetime.now().isoformat(timespec="seconds")),
                )


def csv_safe(value: Any) -> Any:
    """A cell value that spreadsheet programs will not run as a formula (OWASP CSV injection).

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    apostrophe; everything else is returned unchanged.
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# ---------------------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------------------
_HEADER_ALIASES = {
    "order": "order",
    "order_id": "order",
    "id": "order",
    "article": "article",
    "article_id": "article",
    "quantity": "quantity",
    "qty": "quantity",
    "pieces": "quantity",
    "deadline": "deadline",
    "due": "deadline",
    "due_date": "deadline",
    "release": "release",
    "priority": "priority",
}


def _header_key(h: Any) -> str:
    s = "_".join(str(h or "").strip().lower().replace("-", " ").split())
    return _HEADER_ALIASES.get(s, s)


def read_order_file(
    path: str | Path, plan_start: datetime, *, display_name: str | None = None
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Read order rows from ``.xlsx`` (sheet ``orders`` or the first) or ``.csv``.

    Returns ``(rows, notes)``. Every data row comes back - a cell that does not parse
    (``quantity`` "ten", ``deadline`` "friday") is kept as text and explained in ``notes``
    (:class:`~furnsim.errors.Issue` with file/sheet/row/column); :func:`check_rows` flags
    such a row, so it is never planned as if the cell were blank ("no deadline"). A deadline or release given as a
    number means minutes after ``plan_start``. A file that cannot be read as a table, or
    lacks the ``order``/``article``/``quantity`` columns, raises
    :class:`~furnsim.errors.DataError` (nothing is imported).
    """
    from datetime import timedelta

    from furnsim.errors import DataError, Issue, Location

    p = Path(path)
    name = display_name or p.name
    suffix = p.suffix.lower()
    sheet = ""
    try:
        if suffix in (".xlsx", ".xlsm"):
            from furnsim.io import read_sheet_rows

            # bounded like every importer: no trusted <dimension>, zip bombs, entities,
            # formulas without values or merged cells (furnsim.io.limits)
            sheet, raw = read_sheet_rows(p, sheet="orders", display=name)
        elif suffix in (".csv", ".txt", ".tsv"):
            import csv

            text = p.read_bytes().decode("utf-8-sig")
            try:
                dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            raw = [list(r) for r in csv.reader(text.splitlines(), dialect)]
        else:
            raise DataError(
                [Issue(f"unsupported file type {suffix!r}: use .xlsx or .csv", Location(name))]
            )
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - a broken upload: say what, import nothing
        raise DataError(
            [Issue(f"cannot read the file as a table ({type(e).__name__}: {e})", Location(name))]
        ) from None
    # header = first non-empty row
    while raw and all(_blank(v) for v in raw[0]):
        raw.pop(0)
    if not raw:
        raise DataError([Issue("the file is empty", Location(name, sheet))])
    header = [_header_key(h) for h in raw[0]]
    missing = [c for c in ("order", "article", "quantity") if c not in header]
    if missing:
        raise DataError(
            [
                Issue(
                    f"missing column {c!r} (the header row needs order, article, quantity; "
                    f"optional deadline, release, priority; found {', '.join(map(str, raw[0]))})",
                    Location(name, sheet, 1, c),
                )
                for c in missing
            ]
        )
    rows: list[dict[str, Any]] = []
    notes: list[Issue] = []
    for n, values in enumerate(raw[1:], start=2):
        if all(_blank(v) for v in values):
            continue
        rec = {
            k: (values[i] if i < len(values) else None)
            for i, k in enumerate(header)
            if k in COLUMNS
        }
        for col in ("deadline", "release"):
            v = rec.get(col)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                rec[col] = plan_start + timedelta(minutes=float(v))
            elif (
                isinstance(v, str)
                and _as_datetime(v) is not None
                and not isinstance(_as_datetime(v), datetime)
            ):
                num = _as_number(v)
                if isinstance(num, float):
                    rec[col] = plan_start + timedelta(minutes=num)
        r = normalize_row(rec)
        for col, what in (
            ("quantity", "a number"),
            ("priority", "a number"),
            ("deadline", "a date and time"),
            ("release", "a date and time"),
        ):
            if isinstance(r[col], str):
                notes.append(
                    Issue(
                        f"{col} {r[col]!r} is not {what}: kept as written and the row is "
                        "flagged (not planned) until it is fixed",
                        Location(name, sheet, n, col),
                    )
                )
        rows.append(r)
    return rows, notes


def next_order_id(existing: Iterable[Any], prefix: str = "SO-") -> str:
    """The next free id after the highest ``<prefix><number>`` (``SO-1059`` after ``SO-1058``)."""
    import re

    best = 0
    width = 4
    taken = {str(e) for e in existing if e}
    for e in taken:
        m = re.fullmatch(re.escape(prefix) + r"(\d+)", e)
        if m:
            best = max(best, int(m.group(1)))
            width = len(m.group(1))
    n = best + 1
    while f"{prefix}{n:0{width}d}" in taken:
        n += 1
    return f"{prefix}{n:0{width}d}"
