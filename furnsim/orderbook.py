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
    "OrderBook",
    "RowCheck",
    "check_rows",
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
CREATE TABLE IF NOT EXISTS order_rows (
    plant    TEXT NOT NULL,
    pos      INTEGER NOT NULL,
    order_id TEXT,
    article  TEXT,
    quantity REAL,
    deadline TEXT,
    release  TEXT,
    priority REAL,
    problem  TEXT,
    PRIMARY KEY (plant, pos)
);
CREATE TABLE IF NOT EXISTS settings (
    plant TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (plant, key)
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


class OrderBook:
    """Order rows per plant in a SQLite file (created on first use)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (committed on success), always closed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.executescript(_SCHEMA)
            with con:
                yield con
        finally:
            con.close()

    def has(self, plant: str) -> bool:
        """Whether anything was ever saved for ``plant`` (an empty list counts)."""
        with self._connect() as con:
            r = con.execute(
                "SELECT 1 FROM settings WHERE plant = ? AND key = '_saved' LIMIT 1", (plant,)
            ).fetchone()
        return r is not None

    def load(self, plant: str) -> list[dict[str, Any]]:
        """The rows of ``plant`` in table order (with ``problem`` as last saved)."""
        with self._connect() as con:
            cur = con.execute(
                "SELECT order_id, article, quantity, deadline, release, priority, problem "
                "FROM order_rows WHERE plant = ? ORDER BY pos",
                (plant,),
            )
            return [
                {
                    "order": r[0],
                    "article": r[1],
                    "quantity": _dec_num(r[2]),
                    "deadline": _dec_dt(r[3]),
                    "release": _dec_dt(r[4]),
                    "priority": _dec_num(r[5]),
                    "problem": r[6] or "",
                }
                for r in cur.fetchall()
            ]

    def save(
        self, plant: str, rows: Sequence[dict[str, Any]], problems: Sequence[str] | None = None
    ) -> None:
        """Replace the rows of ``plant`` (one transaction); invalid rows are stored too."""
        data = []
        for i, raw in enumerate(rows):
            r = normalize_row(raw)
            prob = problems[i] if problems is not None else raw.get("problem") or ""
            data.append(
                (
                    plant,
                    i,
                    r["order"],
                    r["article"],
                    _enc(r["quantity"]),
                    _enc(r["deadline"]),
                    _enc(r["release"]),
                    _enc(r["priority"]),
                    prob or None,
                )
            )
        with self._connect() as con:
            con.execute("DELETE FROM order_rows WHERE plant = ?", (plant,))
            con.executemany("INSERT INTO order_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", data)
            con.execute(
                "INSERT OR REPLACE INTO settings VALUES (?, '_saved', ?)",
                (plant, datetime.now().isoformat(timespec="seconds")),
            )

    def clear(self, plant: str) -> None:
        with self._connect() as con:
            con.execute("DELETE FROM order_rows WHERE plant = ?", (plant,))
            con.execute("DELETE FROM settings WHERE plant = ?", (plant,))

    def plants(self) -> list[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT DISTINCT plant FROM settings ORDER BY plant")]

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
    (``quantity`` "ten", ``deadline`` "friday") is left empty and explained in ``notes``
    (:class:`~furnsim.errors.Issue` with file/sheet/row/column) so the planner can fill it
    in; rows are flagged later by :func:`check_rows`. A deadline or release given as a
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
            import openpyxl

            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
            try:
                names = {n.lower(): n for n in wb.sheetnames}
                sheet = names.get("orders", wb.sheetnames[0])
                raw = [list(r) for r in wb[sheet].iter_rows(values_only=True)]
            finally:
                wb.close()
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
                        f"{col} {r[col]!r} is not {what}: left empty, please fill it in",
                        Location(name, sheet, n, col),
                    )
                )
                r[col] = None
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
