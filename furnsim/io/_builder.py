"""One builder behind every format: raw tables -> validated Plant, Catalog and Orders.

Every problem is collected with its file, sheet, row and column; nothing stops at the
first error, and a :class:`DataError` with the full list is raised at the end.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from furnsim.errors import DataError, Issue, Location
from furnsim.io import limits
from furnsim.io._bom import check_bom, check_transport_joins
from furnsim.io._schema import SHEETS
from furnsim.io._tables import EXTRA, Row, Table
from furnsim.model import (
    FINISHED,
    NEUTRAL,
    STORE,
    Article,
    Catalog,
    Component,
    Machine,
    Operation,
    Order,
    Plant,
    TransportMatrix,
    WorkCenter,
)

__all__ = ["PlantData", "build_orders", "build_plant"]

_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


@dataclass
class PlantData:
    plant: Plant
    catalog: Catalog
    orders: list[Order] = field(default_factory=list)
    plan_start: datetime | None = None
    name: str = "plant"


class _Ctx:
    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.bad_plan_start = False  # plan_start given but invalid (reported once, not per order)

    def add(self, msg: str, loc: Location) -> None:
        self.issues.append(Issue(msg, loc))

    # -- cell parsers ------------------------------------------------------------------
    def text(self, t: Table, r: Row, col: str, required: bool = True) -> str | None:
        v = r.values.get(col)
        if v is None:
            if required:
                self.add(f"{col} is missing (a value is required)", t.loc(r.number, col))
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()

    def number(
        self,
        t: Table,
        r: Row,
        col: str,
        *,
        required: bool = True,
        default: float | None = None,
        minimum: float | None = 0.0,
        strict_min: bool = False,
        maximum: float | None = None,
    ) -> float | None:
        v = r.values.get(col)
        if v is None:
            if required:
                self.add(f"{col} is missing (a value is required)", t.loc(r.number, col))
            return default
        x = _to_float(v)
        if x is None:
            self.add(
                f"{col} must be a number, got {_show(v)}{_excel_hint(v)}{_ambiguous(v)}",
                t.loc(r.number, col),
            )
            return None
        if not math.isfinite(x):
            self.add(f"{col} must be a finite number, got {_show(v)}", t.loc(r.number, col))
            return None
        if minimum is not None and (x < minimum or (strict_min and x == minimum)):
            rel = ">" if strict_min else ">="
            self.add(f"{col} must be {rel} {minimum:g}, got {x:g}", t.loc(r.number, col))
            return None
        if maximum is not None and x > maximum:
            self.add(
                f"{col} {_show(v)} is too large: at most {maximum:g}{_max_hint(maximum)}",
                t.loc(r.number, col),
            )
            return None
        return x

    def when(self, t: Table, r: Row, col: str, plan_start: datetime | None) -> float | None | str:
        """Minutes after plan start; accepts a date/time or a number of minutes."""
        v = r.values.get(col)
        if v is None:
            return None
        off = _utc_offset(v)
        if off is not None:
            local = _OFFSET_END.sub("", v.strip()) if isinstance(v, str) else "2026-11-23 16:00"
            self.add(
                f"{col} {_show(v)} has a UTC offset ({off}): furnsim reads times as the plant's "
                f"local wall-clock time; write the local time without an offset, e.g. {local}",
                t.loc(r.number, col),
            )
            return "bad"
        ymd = _yyyymmdd(v)
        if ymd is not None:
            self.add(
                f"{col} {_show(v)} looks like a date written without separators; write it as "
                f"{ymd} (a plain number here means minutes after plan start)",
                t.loc(r.number, col),
            )
            return "bad"
        if isinstance(v, datetime | date) or (isinstance(v, str) and _to_float(v) is None):
            dt = _to_datetime(v)
            if dt is None:
                self.add(
                    f"{col} {_show(v)} is not a valid date/time (use e.g. 2026-11-23 16:00) "
                    "or a number of minutes after plan start",
                    t.loc(r.number, col),
                )
                return "bad"
            if plan_start is None:
                if self.bad_plan_start:
                    return "bad"
                self.add(
                    f"{col} is a date/time, which needs a plan start (settings sheet key plan_start, "
                    "or --plan-start); or give minutes after plan start",
                    t.loc(r.number, col),
                )
                return "bad"
            x = (dt - plan_start).total_seconds() / 60.0
        else:
            y = _to_float(v)
            if y is None or not math.isfinite(y):
                self.add(
                    f"{col} {_show(v)} is not a date/time or a number of minutes",
                    t.loc(r.number, col),
                )
                return "bad"
            x = y
        if abs(x) > limits.MAX_MINUTES:
            self.add(
                f"{col} {_show(v)} is {abs(x) / 525_600:,.0f} years from plan start: at most "
                f"{limits.MAX_MINUTES:g} minutes (about 19 years) either way",
                t.loc(r.number, col),
            )
            return "bad"
        return x


def _show(v: Any) -> str:
    """A cell value as the user typed it (no Python reprs of dates)."""
    if isinstance(v, datetime):
        return f"'{v:%Y-%m-%d %H:%M}'" if (v.hour or v.minute) else f"'{v:%Y-%m-%d}'"
    if isinstance(v, date):
        return f"'{v:%Y-%m-%d}'"
    if isinstance(v, float) and v.is_integer():
        return f"{int(v)}"
    return repr(v) if isinstance(v, str) else str(v)


def _excel_hint(v: Any) -> str:
    if isinstance(v, datetime | date | time):
        return " (a date: did Excel turn the number into a date? format the column as Number)"
    return ""


def _max_hint(maximum: float) -> str:
    if maximum == limits.MAX_MINUTES:
        return " minutes (about 19 years; furnsim.io.limits.MAX_MINUTES)"
    return ""


_OFFSET = re.compile(r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)$")


_OFFSET_END = re.compile(r"\s*(Z|[+-]\d{2}(?::?\d{2})?)$")


def _utc_offset(v: Any) -> str | None:
    """The UTC offset written into a date/time (``+01:00``, ``Z``), or None."""
    if isinstance(v, datetime) and v.tzinfo is not None:
        off = v.utcoffset()
        return "UTC" if not off else str(v.strftime("%z"))
    if isinstance(v, str):
        m = _OFFSET.search(v.strip())
        if m:
            return m.group(1)
    return None


def _yyyymmdd(v: Any) -> str | None:
    """``2026-03-03`` when ``v`` is the number (or digits) 20260303, a date without
    separators; None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        v = str(v)
    if not (isinstance(v, str) and re.fullmatch(r"(19|20|21)\d{6}", v.strip())):
        return None
    try:
        d = datetime.strptime(v.strip(), "%Y%m%d")
    except ValueError:
        return None
    return f"{d:%Y-%m-%d}"


def _suggest(x: str, choices: Any) -> str:
    """`` (did you mean 'SAW'?)`` when a close match exists."""
    m = difflib.get_close_matches(str(x), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {m[0]!r}?)" if m else ""


def _known(what: str, choices: Any, limit: int = 12) -> str:
    cs = sorted(str(c) for c in choices)
    if not cs:
        return f"; no {what} are defined"
    more = f", ... ({len(cs)} in all)" if len(cs) > limit else ""
    return f"; known {what}: {', '.join(cs[:limit])}{more}"


def _to_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        s = v.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+\.\d+", s) or re.fullmatch(
            r"[+-]?\d{1,3}(,\d{3}){2,}", s
        ):  # 1,200.5 or 1,200,000: thousands commas, no doubt
            s = s.replace(",", "")
        elif re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+", s) or re.fullmatch(
            r"[+-]?\d{1,3}(\.\d{3}){2,}", s
        ):  # 1.200,5 or 1.200.000: thousands points
            s = s.replace(".", "").replace(",", ".")
        elif re.fullmatch(r"[+-]?\d{1,3},\d{3}", s):
            return None  # 1,200: 1200 or 1.2? ambiguous, never guessed (see _ambiguous)
        elif re.fullmatch(r"[+-]?\d+,\d+", s):  # decimal comma
            s = s.replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", s, re.I):
            return None
        try:
            return float(s)
        except ValueError:
            return None
    return None


def _ambiguous(v: Any) -> str:
    """A hint for text like ``1,200`` (a thousands separator or a decimal comma?)."""
    if isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d{1,3},\d{3}\s*", v):
        a, b = v.strip().split(",")
        dec = f"{float(f'{a}.{b}'):g}"
        return (
            f" (ambiguous: {a}{b} with a thousands separator, or {dec} with a decimal comma? "
            f"write {a}{b} or {dec})"
        )
    return ""


def _to_datetime(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, date):
        return datetime.combine(v, time())
    if isinstance(v, str):
        s = v.strip()
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(s, fmt)
            except ValueError:
                pass
        try:
            return datetime.fromisoformat(s).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _norm_name(s: str) -> str:
    return re.sub(r"[\s\-]+", "_", s.strip().lower())


def _normalize_headers(t: Table) -> None:
    """Accept `Work Center`, `work-center`, `WORK_CENTER` for the schema column `work_center`."""
    sheet = SHEETS.get(t.kind)
    if sheet is None:
        return
    canon = {_norm_name(c): c for c in sheet.column_names}
    rename = {
        c: canon[_norm_name(c)]
        for c in t.columns
        if c and c not in canon.values() and _norm_name(c) in canon
    }
    rename = {a: b for a, b in rename.items() if b not in t.columns}
    if not rename:
        return
    t.columns = [rename.get(c, c) for c in t.columns]
    for r in t.rows:
        r.values = {rename.get(k, k): v for k, v in r.values.items()}


def _col_row(t: Table, col: str) -> int | None:
    """Row to report a column problem at: the header row, or in YAML (no header row) the first
    row that uses the column, else the line of the table's key."""
    if t.header_row:
        return t.header_row
    return next((r.number for r in t.rows if col in r.values), t.line or None)


def _check_columns(ctx: _Ctx, t: Table) -> bool:
    """Required columns present; unknown columns reported (a typo would silently lose data)."""
    sheet = SHEETS[t.kind]
    if not t.columns and sheet.required:
        ctx.add(
            f"sheet is empty: it needs a header row with the columns {', '.join(sheet.column_names)}",
            t.loc(1),
        )
        return False
    if not t.columns:
        return False
    _normalize_headers(t)
    ok = True
    known = set(sheet.column_names)
    for c in sheet.columns:
        if c.required and c.name not in t.columns:
            unknown = [x for x in t.columns if x and x not in known]
            ctx.add(
                f"required column {c.name!r} is missing{_suggest(c.name, unknown)}",
                t.loc(_col_row(t, c.name), c.name),
            )
            ok = False
    if not sheet.dynamic:
        for col in t.columns:
            if col and col not in known:
                ctx.add(
                    f"unknown column {col!r}{_suggest(col, known)}; the columns of sheet {sheet.name} are "
                    f"{', '.join(sheet.column_names)}",
                    t.loc(_col_row(t, col), col),
                )
    seen: set[str] = set()
    for col in t.columns:
        if col and col in seen:
            ctx.add(f"column {col!r} appears twice in the header", t.loc(_col_row(t, col), col))
        seen.add(col)
    for r in t.rows:
        if r.values.get(EXTRA):
            ctx.add(
                "values in columns without a header (add a header or delete them)", t.loc(r.number)
            )
    return ok


def _dups(ctx: _Ctx, t: Table, key_cols: list[str], what: str) -> dict[tuple[Any, ...], Row]:
    seen: dict[tuple[Any, ...], Row] = {}
    for r in t.rows:
        key = tuple(ctx_key(r.values.get(c)) for c in key_cols)
        if any(k is None for k in key):
            continue
        if key in seen:
            ctx.add(
                f"duplicate {what} {'/'.join(map(str, key))!r}: already defined in row {seen[key].number}",
                t.loc(r.number, key_cols[-1]),
            )
        else:
            seen[key] = r
    return seen


def ctx_key(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _settings(ctx: _Ctx, tables: dict[str, Table]) -> tuple[str | None, datetime | None]:
    t = tables.get("settings")
    name, start = None, None
    if t is None or not _check_columns(ctx, t):
        return name, start
    _dups(ctx, t, ["key"], "setting")
    for r in t.rows:
        key = ctx.text(t, r, "key")
        v = r.values.get("value")
        if key == "name":
            name = None if v is None else str(v)
        elif key == "plan_start":
            start = _to_datetime(v) if v is not None and _utc_offset(v) is None else None
            if start is None:
                ctx.bad_plan_start = True
                ctx.add(
                    f"plan_start {_show(v)} is not a valid date/time (use e.g. 2026-11-23 06:00, "
                    "the plant's local time without a UTC offset)",
                    t.loc(r.number, "value"),
                )
        elif key == "calendar":
            pass  # read with the working-time sheets (furnsim.io._calendars)
        elif key is not None:
            ctx.add(
                f"unknown setting {key!r}{_suggest(key, ['name', 'plan_start', 'calendar'])} "
                "(known: name, plan_start, calendar)",
                t.loc(r.number, "key"),
            )
    return name, start


_Matrix = tuple[list[str], np.ndarray, Location]


def _setup_matrices(ctx: _Ctx, tables: dict[str, Table]) -> dict[str, _Matrix]:
    t = tables.get("setup_matrices")
    out: dict[str, _Matrix] = {}
    if t is None or not _check_columns(ctx, t):
        return out
    setup_cols = [c for c in t.columns if c and c not in ("matrix", "from_setup")]
    blocks: dict[str, list[Row]] = {}
    for r in t.rows:
        name = ctx.text(t, r, "matrix")
        frm = ctx.text(t, r, "from_setup")
        if name is None or frm is None:
            continue
        blocks.setdefault(name, []).append(r)
    for name, rows in blocks.items():
        ids = [str(ctx_key(r.values["from_setup"])) for r in rows]
        seen: dict[str, int] = {}
        bad = False
        for r, s in zip(rows, ids, strict=True):
            if s in seen:
                ctx.add(
                    f"matrix {name}: setup {s!r} has two rows (first in row {seen[s]})",
                    t.loc(r.number, "from_setup"),
                )
                bad = True
            seen.setdefault(s, r.number)
            if s not in setup_cols:
                ctx.add(
                    f"matrix {name}: setup {s!r} has a row but no column - the matrix is not square "
                    f"(add a column {s!r})",
                    t.loc(r.number, "from_setup"),
                )
                bad = True
        if NEUTRAL not in ids:
            ctx.add(
                f"matrix {name}: needs a row (and a column) for the '{NEUTRAL}' setup, the state before the first job",
                t.loc(rows[0].number, "from_setup"),
            )
            bad = True
        k = len(ids)
        mat = np.zeros((k, k))
        for i, r in enumerate(rows):
            for j, s in enumerate(ids):
                if s not in setup_cols:
                    continue
                v = r.values.get(s)
                if v is None:
                    ctx.add(
                        f"matrix {name}: setup time {ids[i]} -> {s} is blank (every cell of the matrix needs a number; "
                        "0 for a virtual setup)",
                        t.loc(r.number, s),
                    )
                    bad = True
                    continue
                x = _to_float(v)
                if x is None or not math.isfinite(x):
                    ctx.add(
                        f"matrix {name}: setup time {ids[i]} -> {s} must be a number of minutes, got {_show(v)}",
                        t.loc(r.number, s),
                    )
                    bad = True
                    continue
                if x < 0:
                    ctx.add(
                        f"matrix {name}: setup time {ids[i]} -> {s} is negative ({x:g}); it must be >= 0",
                        t.loc(r.number, s),
                    )
                    bad = True
                    continue
                if x > limits.MAX_MINUTES:
                    ctx.add(
                        f"matrix {name}: setup time {ids[i]} -> {s} is too large ({x:g}): at most "
                        f"{limits.MAX_MINUTES:g}{_max_hint(limits.MAX_MINUTES)}",
                        t.loc(r.number, s),
                    )
                    bad = True
                    continue
                if i == j and x != 0:
                    ctx.add(
                        f"matrix {name}: staying in setup {s} must take 0 minutes (diagonal), got {x:g}",
                        t.loc(r.number, s),
                    )
                    bad = True
                mat[i, j] = x
            for c in setup_cols:
                if c not in ids and r.values.get(c) is not None:
                    ctx.add(
                        f"matrix {name}: column {c!r} has a value but {c!r} has no row in this matrix - "
                        f"the matrix is not square (add a row with from_setup {c!r})",
                        t.loc(r.number, c),
                    )
                    bad = True
        out[name] = (
            (ids, mat, t.loc(rows[0].number))
            if not bad
            else ([], np.zeros((0, 0)), t.loc(rows[0].number))
        )
    return out


def _work_centers(ctx: _Ctx, tables: dict[str, Table]) -> tuple[list[WorkCenter], dict[str, None]]:
    """Valid work centers, and every id the sheet declares (so a bad row causes no follow-on errors)."""
    t = tables["work_centers"]
    out: list[WorkCenter] = []
    declared: dict[str, None] = {}  # ordered set
    if not _check_columns(ctx, t):
        return out, declared
    _dups(ctx, t, ["work_center"], "work center")
    for r in t.rows:
        wid = ctx.text(t, r, "work_center")
        cap = ctx.number(
            t, r, "buffer_capacity", required=False, default=math.inf, minimum=0.0, strict_min=True
        )
        unit = ctx.text(t, r, "buffer_unit", required=False) or "m3"
        unit = {
            "m³": "m3",
            "m^3": "m3",
            "pallet": "pallets",
            "piece": "pieces",
            "pcs": "pieces",
        }.get(unit, unit)
        if wid in (STORE, FINISHED):
            ctx.add(
                f"{wid!r} is a reserved location name; choose another work center id",
                t.loc(r.number, "work_center"),
            )
            continue
        if wid is None or wid in declared:
            continue
        declared[wid] = None
        if unit not in ("m3", "pallets", "pieces"):
            ctx.add(
                f"unknown buffer unit {unit!r} (use m3, pallets or pieces)",
                t.loc(r.number, "buffer_unit"),
            )
            continue
        if cap is None:
            continue
        out.append(
            WorkCenter(
                wid,
                cap,
                unit,
                description=ctx.text(t, r, "description", False) or "",
                source=t.loc(r.number),
            )
        )
    if not t.rows:
        ctx.add("sheet has no work centers (it needs at least one row)", t.loc(2))
    return out, declared


def _machines(
    ctx: _Ctx, tables: dict[str, Table], wcs: set[str], matrices: dict[str, _Matrix]
) -> tuple[list[Machine], dict[str, str]]:
    """Valid machines, and every declared machine id -> work center."""
    t = tables["machines"]
    out: list[Machine] = []
    declared: dict[str, str] = {}
    if not _check_columns(ctx, t):
        return out, declared
    _dups(ctx, t, ["machine"], "machine")
    for r in t.rows:
        mid = ctx.text(t, r, "machine")
        wc = ctx.text(t, r, "work_center")
        mname = ctx.text(t, r, "setup_matrix", required=False)
        init = ctx.text(t, r, "initial_setup", required=False) or NEUTRAL
        ok = mid is not None and wc is not None and mid not in declared
        if mid is not None and wc is not None and mid not in declared:
            declared[mid] = wc
        if wc is not None and wc not in wcs:
            ctx.add(
                f"unknown work center {wc!r}{_suggest(wc, wcs)}{_known('work centers', wcs)}",
                t.loc(r.number, "work_center"),
            )
            ok = False
        ids, mat = [NEUTRAL], np.zeros((1, 1))
        if mname is not None:
            if mname not in matrices:
                ctx.add(
                    f"unknown setup matrix {mname!r}{_suggest(mname, matrices)} (not in sheet setup_matrices)"
                    f"{_known('matrices', matrices)}",
                    t.loc(r.number, "setup_matrix"),
                )
                ok = False
            else:
                ids, mat, _ = matrices[mname]
                if not ids:
                    ok = False  # broken matrix already reported
        if ids and init not in ids and (mname is None or mname in matrices):
            where = (
                f"setup matrix {mname}"
                if mname
                else "a machine without setup matrix (only 'neutral')"
            )
            ctx.add(
                f"unknown initial setup {init!r}{_suggest(init, ids)}: not a setup of {where}",
                t.loc(r.number, "initial_setup"),
            )
            ok = False
        if not ok:
            continue
        assert mid is not None and wc is not None
        out.append(
            Machine(
                mid,
                wc,
                tuple(ids),
                mat.copy(),
                init,
                description=ctx.text(t, r, "description", False) or "",
                source=t.loc(r.number),
            )
        )
    return out, declared


def _transport(ctx: _Ctx, tables: dict[str, Table], wcs: list[str]) -> TransportMatrix:
    t = tables["transport"]
    minutes: dict[tuple[str, str], float] = {}
    if not _check_columns(ctx, t):
        return TransportMatrix(default=0.0)
    locs_from = [STORE, *wcs]
    locs_to = [*wcs, FINISHED]
    for c in t.columns:
        if c and c != "from" and c not in locs_to:
            if c == STORE:
                ctx.add(
                    "nothing travels to STORE: remove the column STORE", t.loc(_col_row(t, c), c)
                )
            else:
                ctx.add(
                    f"unknown destination {c!r}{_suggest(c, locs_to)}: a work center id or FINISHED",
                    t.loc(_col_row(t, c), c),
                )
    rows_by_from: dict[str, Row] = {}
    for r in t.rows:
        a = ctx.text(t, r, "from")
        if a is None:
            continue
        if a not in locs_from:
            if a == FINISHED:
                ctx.add("nothing leaves FINISHED: remove the row FINISHED", t.loc(r.number, "from"))
            else:
                ctx.add(
                    f"unknown location {a!r}{_suggest(a, locs_from)}: STORE or a work center id",
                    t.loc(r.number, "from"),
                )
            continue
        if a in rows_by_from:
            ctx.add(
                f"duplicate row for {a!r}: already in row {rows_by_from[a].number}",
                t.loc(r.number, "from"),
            )
            continue
        rows_by_from[a] = r
        for b in t.columns:
            if b not in locs_to:
                continue
            v = r.values.get(b)
            if v is None:
                continue
            x = _to_float(v)
            if x is None or not math.isfinite(x):
                ctx.add(
                    f"transport time {a} -> {b} must be a number of minutes, got {_show(v)}",
                    t.loc(r.number, b),
                )
            elif x < 0:
                ctx.add(
                    f"transport time {a} -> {b} is negative ({x:g}); it must be >= 0",
                    t.loc(r.number, b),
                )
            elif x > limits.MAX_MINUTES:
                ctx.add(
                    f"transport time {a} -> {b} is too large ({x:g}): at most "
                    f"{limits.MAX_MINUTES:g}{_max_hint(limits.MAX_MINUTES)}",
                    t.loc(r.number, b),
                )
            else:
                minutes[(a, b)] = x
    # missing pairs, reported at the cell where they belong
    for a in locs_from:
        fr = rows_by_from.get(a)
        if fr is None:
            ctx.add(
                f"no row for {a!r}: the transport times from {a} are missing (add a row with from = {a})",
                t.loc(None, "from"),
            )
            continue
        for b in locs_to:
            if a == b or (a == STORE and b == FINISHED) or (a, b) in minutes:
                continue
            if b not in t.columns:
                ctx.add(
                    f"transport time {a} -> {b} is missing (no column {b!r})", t.loc(fr.number, b)
                )
            elif fr.values.get(b) is None:
                ctx.add(f"transport time {a} -> {b} is missing (blank cell)", t.loc(fr.number, b))
    for w in wcs:  # same work center: default 0
        minutes.setdefault((w, w), 0.0)
    return TransportMatrix(minutes, default=0.0)


def _catalog(
    ctx: _Ctx,
    tables: dict[str, Table],
    plant_wcs: set[str],
    machines: dict[str, str],
    machine_setups: dict[str, tuple[str, ...]],
) -> list[Article]:
    """Articles with their components and routings.

    ``machines`` maps every declared machine id to its work center; ``machine_setups`` holds
    the setup ids of every valid machine (to check the setup of each operation).
    """
    ta, tc, to = tables["articles"], tables["components"], tables["operations"]
    if not (_check_columns(ctx, ta) & _check_columns(ctx, tc) & _check_columns(ctx, to)):
        return []
    _dups(ctx, ta, ["article"], "article")
    _dups(ctx, tc, ["article", "component"], "component")
    _dups(ctx, to, ["article", "component", "step"], "operation (article/component/step)")
    art_rows: dict[str, Row] = {}
    for r in ta.rows:
        a = ctx.text(ta, r, "article")
        if a is not None and a not in art_rows:
            art_rows[a] = r
    if not ta.rows:
        ctx.add("sheet has no articles (it needs at least one row)", ta.loc(2))
    # machine_times overrides: (article, component, step) -> {machine: (minutes, row)}
    overrides: dict[tuple[str, str, int], dict[str, tuple[float, int]]] = {}
    tm = tables.get("machine_times")
    if tm is not None and _check_columns(ctx, tm):
        _dups(
            ctx,
            tm,
            ["article", "component", "step", "machine"],
            "machine time (article/component/step/machine)",
        )
        for r in tm.rows:
            a, c = ctx.text(tm, r, "article"), ctx.text(tm, r, "component")
            st = ctx.number(tm, r, "step", minimum=1)
            m = ctx.text(tm, r, "machine")
            x = ctx.number(tm, r, "minutes_per_piece", maximum=limits.MAX_MINUTES)
            if m is not None and m not in machines:
                ctx.add(
                    f"unknown machine {m!r}{_suggest(m, machines)}", tm.loc(r.number, "machine")
                )
                continue
            if a is None or c is None or st is None or m is None or x is None:
                continue
            overrides.setdefault((a, c, int(st)), {})[m] = (x, r.number)
    # operations grouped by component
    ops: dict[tuple[str, str], list[tuple[int, Row]]] = {}
    for r in to.rows:
        a, c = ctx.text(to, r, "article"), ctx.text(to, r, "component")
        st = ctx.number(to, r, "step", minimum=1)
        if st is not None and not float(st).is_integer():
            ctx.add(
                f"step must be a whole number (1, 2, 3, ...), got {st:g}", to.loc(r.number, "step")
            )
            st = None
        if a is None or c is None or st is None:
            continue
        ops.setdefault((a, c), []).append((int(st), r))
    comps: dict[str, list[Component]] = {}
    comp_seen: set[tuple[str, str]] = set()
    for r in tc.rows:
        a, c = ctx.text(tc, r, "article"), ctx.text(tc, r, "component")
        q = ctx.number(tc, r, "qty_per_article", minimum=0.0, strict_min=True, maximum=1e9)
        fv = ctx.number(tc, r, "final_volume_per_piece", required=False, default=0.0, maximum=1e12)
        if a is not None and a not in art_rows:
            ctx.add(
                f"unknown article {a!r}{_suggest(a, art_rows)} (not in sheet articles)",
                tc.loc(r.number, "article"),
            )
            continue
        if a is None or c is None or (a, c) in comp_seen:
            continue
        comp_seen.add((a, c))
        steps = sorted(ops.get((a, c), []), key=lambda x: (x[0], x[1].number))
        if not steps:
            ctx.add(
                f"component {a}/{c} has no operations (empty routing): add its steps to sheet operations",
                tc.loc(r.number, "component"),
            )
            continue
        numbers = [s for s, _ in steps]
        if len(set(numbers)) != len(numbers):
            dup = next(s for s in numbers if numbers.count(s) > 1)
            row = next(
                rw for s, rw in steps[1:] if s == dup and rw is not steps[numbers.index(dup)][1]
            )
            ctx.add(
                f"component {a}/{c}: step {dup} appears twice - the route order is ambiguous "
                "(a route visits its steps once each, in order 1, 2, 3, ...)",
                to.loc(row.number, "step"),
            )
            continue
        if numbers != list(range(1, len(numbers) + 1)):
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            first_bad = next(rw for k, (s_, rw) in enumerate(steps, start=1) if s_ != k)
            ctx.add(
                f"component {a}/{c}: steps {', '.join(map(str, numbers))} have a gap (step "
                f"{', '.join(map(str, missing))} is missing); number the steps 1..{len(numbers)}",
                to.loc(first_bad.number, "step"),
            )
            continue
        routing: list[Operation] = []
        bad = False
        for st, orow in steps:
            loc = to.loc(orow.number)
            wc = ctx.text(to, orow, "work_center")
            setup = ctx.text(to, orow, "setup", required=False) or NEUTRAL
            d = ctx.number(to, orow, "minutes_per_piece", maximum=limits.MAX_MINUTES)
            fixed = ctx.number(
                to, orow, "fixed_minutes", required=False, default=0.0, maximum=limits.MAX_MINUTES
            )
            vol = ctx.number(
                to, orow, "volume_per_piece", required=False, default=0.0, maximum=1e12
            )
            mlist_raw = ctx.text(to, orow, "machines", required=False)
            mlist = (
                tuple(x.strip() for x in re.split(r"[,;]", mlist_raw) if x.strip())
                if mlist_raw
                else ()
            )
            if wc is not None and wc not in plant_wcs:
                ctx.add(
                    f"unknown work center {wc!r}{_suggest(wc, plant_wcs)}{_known('work centers', plant_wcs)}",
                    loc.at(column="work_center"),
                )
                bad = True
            for m in mlist:
                if m not in machines:
                    ctx.add(
                        f"unknown machine {m!r}{_suggest(m, machines)}", loc.at(column="machines")
                    )
                    bad = True
                elif wc is not None and machines[m] != wc:
                    ctx.add(
                        f"machine {m!r} stands in work center {machines[m]}, not in {wc}",
                        loc.at(column="machines"),
                    )
                    bad = True
            ov = overrides.pop((a, c, st), {})
            for m, (_, mrow) in ov.items():
                if wc is not None and machines.get(m) != wc:
                    ctx.add(
                        f"machine {m!r} stands in work center {machines.get(m)}, but {a}/{c} step {st} is done in {wc}",
                        tm.loc(mrow, "machine") if tm is not None else loc,
                    )
                    bad = True
            if wc is not None and wc in plant_wcs and not bad:
                elig = [m for m, w in machines.items() if w == wc and (not mlist or m in mlist)]
                for m in elig:
                    have = machine_setups.get(m)
                    if have is not None and setup not in have:
                        ctx.add(
                            f"unknown setup {setup!r}{_suggest(setup, have)}: machine {m} has no such setup "
                            f"in its setup matrix (its setups: {', '.join(have)})",
                            loc.at(column="setup"),
                        )
                        bad = True
                        break
            if wc is None or d is None or fixed is None or vol is None or bad:
                bad = True
                continue
            if d == 0 and fixed == 0 and not ov:
                ctx.add(
                    "operation takes no time: minutes_per_piece and fixed_minutes are both 0",
                    loc.at(column="minutes_per_piece"),
                )
                bad = True
                continue
            routing.append(
                Operation(
                    wc, setup, d, fixed, vol, {m: x for m, (x, _) in ov.items()}, mlist, source=loc
                )
            )
        if bad or q is None or fv is None:
            continue
        comps.setdefault(a, []).append(
            Component(
                c,
                q,
                routing,
                fv,
                description=ctx.text(tc, r, "description", False) or "",
                source=tc.loc(r.number),
                parent=ctx.text(tc, r, "parent", False) or "",
            )
        )
    for (a, c), steps in ops.items():
        if (a, c) not in comp_seen:
            ctx.add(
                f"operations for unknown component {a}/{c} (not in sheet components)",
                to.loc(min(rw.number for _, rw in steps), "component"),
            )
    if tm is not None:
        for (a, c, st), ov in overrides.items():
            if (a, c) in comp_seen and not any(s == st for s, _ in ops.get((a, c), [])):
                msg = f"no operation {a}/{c} step {st} in sheet operations"
            elif (a, c) in comp_seen:
                continue  # the operation itself is broken and reported already
            else:
                msg = f"unknown component {a}/{c} (not in sheet components)"
            for _, mrow in ov.values():
                ctx.add(msg, tm.loc(mrow, "step" if (a, c) in comp_seen else "component"))
    articles = []
    comp_articles = {ca for ca, _ in comp_seen}
    bad_bom = check_bom(ctx.add, comps, comp_seen)
    for a, r in art_rows.items():
        if a in bad_bom:
            continue
        if a not in comps:
            if a not in comp_articles:
                ctx.add(
                    f"article {a} has no components: add its bill of materials to sheet components",
                    ta.loc(r.number, "article"),
                )
            continue
        articles.append(
            Article(
                a,
                comps[a],
                description=ctx.text(ta, r, "description", False) or "",
                source=ta.loc(r.number),
            )
        )
    return articles


def build_plant(
    tables: dict[str, Table], file: str = "", plan_start: datetime | None = None
) -> PlantData:
    """Build and validate plant + catalog (+ orders if the tables include them).

    ``plan_start`` overrides the workbook's settings ``plan_start`` (for dated orders).
    """
    ctx = _Ctx()
    if not tables:
        raise DataError(
            [Issue("no tables found: the file has no sheets with data", Location(file))]
        )
    for sheet_name, t in tables.items():
        if sheet_name not in SHEETS:
            ctx.add(
                f"unknown sheet {sheet_name!r}{_suggest(sheet_name, SHEETS)}; the known sheets are {', '.join(SHEETS)} "
                "(sheets whose name starts with _ are ignored)",
                Location(t.file, sheet_name),
            )
    missing = [s.name for s in SHEETS.values() if s.required and s.name not in tables]
    is_dir = bool(file) and Path(file).is_dir()
    for m in missing:
        if is_dir:
            where = Location(f"{file.rstrip('/')}/{m}.csv", m)
            ctx.add(f"required table {m}.csv is missing from the folder", where)
        else:
            ctx.add(f"required sheet {m!r} is missing", Location(file, m))
    if missing:
        raise DataError(ctx.issues)
    name, start = _settings(ctx, tables)
    plan_start = plan_start if plan_start is not None else start
    matrices = _setup_matrices(ctx, tables)
    wcs, wc_dict = _work_centers(ctx, tables)
    wc_declared = set(wc_dict)
    machines, m_declared = _machines(ctx, tables, wc_declared, matrices)
    transport = _transport(ctx, tables, list(wc_dict))
    from furnsim.io._calendars import read_working_time  # noqa: PLC0415 (it imports this module)

    working = read_working_time(ctx, tables, wcs, set(m_declared))
    articles = _catalog(ctx, tables, wc_declared, m_declared, {m.id: m.setup_ids for m in machines})
    check_transport_joins(ctx.add, articles, transport)
    with_machines = set(m_declared.values())
    stray = with_machines - wc_declared  # a machine in a misspelt work center: report that only
    t = tables["work_centers"]
    for w in wcs:
        if w.id not in with_machines and not stray:
            ctx.add(
                f"work center {w.id} has no machine: add one in sheet machines",
                (w.source or t.loc()).at(column="work_center"),
            )
    orders: list[Order] = []
    if "orders" in tables:
        orders = _orders(
            ctx, tables["orders"], plan_start, {a.id for a in articles} | _article_ids(tables)
        )
    if ctx.issues:
        raise DataError(ctx.issues)
    try:
        plant = Plant(
            wcs,
            machines,
            transport,
            name=name or "plant",
            calendars=working.calendars,
            calendar_exceptions=working.exceptions,
            downtime=working.downtime,
            default_calendar=working.default_calendar,
        )
        catalog = Catalog(articles)
    except DataError as e:  # model-level checks (should be rare after the table checks)
        raise DataError(ctx.issues + e.issues) from None
    return PlantData(plant, catalog, orders, plan_start, name or "plant")


def _article_ids(tables: dict[str, Table]) -> set[str]:
    t = tables.get("articles")
    if t is None:
        return set()
    return {
        str(ctx_key(r.values["article"])) for r in t.rows if r.values.get("article") is not None
    }


def _orders(
    ctx: _Ctx, t: Table, plan_start: datetime | None, articles: set[str] | None
) -> list[Order]:
    out: list[Order] = []
    if not t.columns or not t.rows:
        ctx.add(
            "no orders: the table is empty (it needs a header row and one row per order)",
            t.loc(t.header_row or 1),
        )
        return out
    if len(t.rows) > limits.MAX_ORDERS:
        ctx.add(
            f"{len(t.rows):,} orders: at most {limits.MAX_ORDERS:,} are planned at once "
            "(furnsim.io.limits.MAX_ORDERS); split the week",
            t.loc(t.rows[limits.MAX_ORDERS].number),
        )
        return out
    if not _check_columns(ctx, t):
        return out
    _dups(ctx, t, ["order"], "order")
    seen: set[str] = set()
    for r in t.rows:
        oid = ctx.text(t, r, "order")
        art = ctx.text(t, r, "article")
        q = ctx.number(t, r, "quantity", minimum=0.0, strict_min=True, maximum=1e9)
        dl = ctx.when(t, r, "deadline", plan_start)
        rel = ctx.when(t, r, "release", plan_start)
        pr = ctx.number(
            t, r, "priority", required=False, default=1.0, minimum=0.0, strict_min=True, maximum=1e9
        )
        ok = None not in (oid, art, q, pr) and dl != "bad" and rel != "bad"
        if art is not None and articles is not None and art not in articles:
            ctx.add(
                f"unknown article {art!r}{_suggest(art, articles)} (not in the catalog)",
                t.loc(r.number, "article"),
            )
            ok = False
        dlv = math.inf if dl is None else dl
        relv = 0.0 if rel is None else rel
        if isinstance(dlv, float) and isinstance(relv, float) and dlv < relv:
            ctx.add(
                f"deadline is before release ({_minutes(dlv, plan_start)} < {_minutes(relv, plan_start)})",
                t.loc(r.number, "deadline"),
            )
            ok = False
        if not ok or oid in seen:
            continue
        assert oid is not None and art is not None and q is not None and pr is not None
        seen.add(oid)
        out.append(Order(oid, art, q, float(dlv), float(relv), pr, source=t.loc(r.number)))
    return out


def _minutes(x: float, plan_start: datetime | None) -> str:
    if plan_start is None:
        return f"minute {x:g}"
    return f"{plan_start + timedelta(minutes=x):%Y-%m-%d %H:%M}"


def build_orders(
    table: Table, plan_start: datetime | None, articles: set[str] | None = None
) -> list[Order]:
    """Build and validate an orders table on its own (xlsx/csv orders file)."""
    ctx = _Ctx()
    if table.kind != "orders":
        table.schema = "orders"
    out = _orders(ctx, table, plan_start, articles)
    if ctx.issues:
        raise DataError(ctx.issues)
    return out
