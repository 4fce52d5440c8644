"""One builder behind every format: raw tables -> validated Plant, Catalog and Orders.

Every problem is collected with its file, sheet, row and column; nothing stops at the
first error, and a :class:`DataError` with the full list is raised at the end.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np

from furnsim.errors import DataError, Issue, Location
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

    def add(self, msg: str, loc: Location) -> None:
        self.issues.append(Issue(msg, loc))

    # -- cell parsers ------------------------------------------------------------------
    def text(self, t: Table, r: Row, col: str, required: bool = True) -> str | None:
        v = r.values.get(col)
        if v is None:
            if required:
                self.add("value is missing", t.loc(r.number, col))
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
    ) -> float | None:
        v = r.values.get(col)
        if v is None:
            if required:
                self.add("value is missing", t.loc(r.number, col))
            return default
        x = _to_float(v)
        if x is None:
            self.add(f"{col} must be a number, got {_show(v)}{_excel_hint(v)}", t.loc(r.number, col))
            return None
        if not math.isfinite(x):
            self.add(f"{col} must be a finite number, got {_show(v)}", t.loc(r.number, col))
            return None
        if minimum is not None and (x < minimum or (strict_min and x == minimum)):
            rel = ">" if strict_min else ">="
            self.add(f"{col} must be {rel} {minimum:g}, got {x:g}", t.loc(r.number, col))
            return None
        return x

    def when(self, t: Table, r: Row, col: str, plan_start: datetime | None) -> float | None | str:
        """Minutes after plan start; accepts a date/time or a number of minutes."""
        v = r.values.get(col)
        if v is None:
            return None
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
                self.add(
                    f"{col} is a date/time, which needs a plan start (settings sheet key plan_start, "
                    "or --plan-start); or give minutes after plan start",
                    t.loc(r.number, col),
                )
                return "bad"
            return (dt - plan_start).total_seconds() / 60.0
        x = _to_float(v)
        if x is None or not math.isfinite(x):
            self.add(f"{col} {_show(v)} is not a date/time or a number of minutes", t.loc(r.number, col))
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
        s = v.strip().replace("\u00a0", "").replace(" ", "")
        if re.fullmatch(r"[+-]?\d+,\d+", s):  # decimal comma
            s = s.replace(",", ".")
        try:
            return float(s)
        except ValueError:
            return None
    return None


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
    rename = {c: canon[_norm_name(c)] for c in t.columns if c and c not in canon.values() and _norm_name(c) in canon}
    rename = {a: b for a, b in rename.items() if b not in t.columns}
    if not rename:
        return
    t.columns = [rename.get(c, c) for c in t.columns]
    for r in t.rows:
        r.values = {rename.get(k, k): v for k, v in r.values.items()}


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
    hdr = t.header_row or None
    known = set(sheet.column_names)
    for c in sheet.columns:
        if c.required and c.name not in t.columns:
            unknown = [x for x in t.columns if x and x not in known]
            ctx.add(f"required column {c.name!r} is missing{_suggest(c.name, unknown)}", t.loc(hdr, c.name))
            ok = False
    if not sheet.dynamic:
        for c in t.columns:
            if c and c not in known:
                ctx.add(
                    f"unknown column {c!r}{_suggest(c, known)}; the columns of sheet {sheet.name} are "
                    f"{', '.join(sheet.column_names)}",
                    t.loc(hdr, c),
                )
    seen: set[str] = set()
    for c in t.columns:
        if c and c in seen:
            ctx.add(f"column {c!r} appears twice in the header", t.loc(hdr, c))
        seen.add(c)
    for r in t.rows:
        if r.values.get(EXTRA):
            ctx.add("values in columns without a header (add a header or delete them)", t.loc(r.number))
    return ok


def _dups(ctx: _Ctx, t: Table, key_cols: list[str]) -> dict[tuple[Any, ...], Row]:
    seen: dict[tuple[Any, ...], Row] = {}
    for r in t.rows:
        key = tuple(None if r.values.get(c) is None else str(r.values.get(c)).strip() for c in key_cols)
        if any(k is None for k in key):
            continue
        if key in seen:
            ctx.add(
                f"duplicate {'/'.join(key_cols)} {'/'.join(map(str, key))!r} (first in row {seen[key].number})",
                t.loc(r.number, key_cols[-1]),
            )
        else:
            seen[key] = r
    return seen


def _settings(ctx: _Ctx, tables: dict[str, Table]) -> tuple[str | None, datetime | None]:
    t = tables.get("settings")
    name, start = None, None
    if t is None or not _check_columns(ctx, t):
        return name, start
    for r in t.rows:
        key = ctx.text(t, r, "key")
        v = r.values.get("value")
        if key == "name":
            name = None if v is None else str(v)
        elif key == "plan_start":
            start = _to_datetime(v) if v is not None else None
            if start is None:
                ctx.add(f"{v!r} is not a date/time", t.loc(r.number, "value"))
        elif key is not None:
            ctx.add(f"unknown setting {key!r} (known: name, plan_start)", t.loc(r.number, "key"))
    return name, start


def _setup_matrices(ctx: _Ctx, tables: dict[str, Table]) -> dict[str, tuple[list[str], np.ndarray, Location]]:
    t = tables.get("setup_matrices")
    out: dict[str, tuple[list[str], np.ndarray, Location]] = {}
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
        ids = [str(r.values["from_setup"]).strip() for r in rows]
        seen: dict[str, int] = {}
        bad = False
        for r, s in zip(rows, ids, strict=True):
            if s in seen:
                ctx.add(f"matrix {name}: setup {s!r} appears twice as a row (first in row {seen[s]})", t.loc(r.number, "from_setup"))
                bad = True
            seen.setdefault(s, r.number)
            if s not in setup_cols:
                ctx.add(
                    f"matrix {name}: setup {s!r} has a row but no column - the matrix is not square",
                    t.loc(r.number, "from_setup"),
                )
                bad = True
        if NEUTRAL not in ids:
            ctx.add(f"matrix {name}: needs a row for the '{NEUTRAL}' setup", t.loc(rows[0].number, "from_setup"))
            bad = True
        k = len(ids)
        mat = np.zeros((k, k))
        for i, r in enumerate(rows):
            for j, s in enumerate(ids):
                if s not in setup_cols:
                    continue
                v = r.values.get(s)
                if v is None:
                    ctx.add(f"matrix {name}: setup time {ids[i]} -> {s} is missing (the matrix is not square)", t.loc(r.number, s))
                    bad = True
                    continue
                x = ctx.number(t, r, s, minimum=0.0)
                if x is None:
                    bad = True
                    continue
                if i == j and x != 0:
                    ctx.add(f"matrix {name}: staying in setup {s} must take 0 minutes (got {x:g})", t.loc(r.number, s))
                    bad = True
                mat[i, j] = x
            for c in setup_cols:
                if c not in ids and r.values.get(c) is not None:
                    ctx.add(
                        f"matrix {name}: column {c!r} has a value but {c!r} has no row in this matrix (not square)",
                        t.loc(r.number, c),
                    )
                    bad = True
        if not bad:
            out[name] = (ids, mat, t.loc(rows[0].number))
        else:
            out[name] = ([], np.zeros((0, 0)), t.loc(rows[0].number))  # known but broken
    return out


def _work_centers(ctx: _Ctx, tables: dict[str, Table]) -> list[WorkCenter]:
    t = tables["work_centers"]
    out: list[WorkCenter] = []
    if not _check_columns(ctx, t):
        return out
    _dups(ctx, t, ["work_center"])
    seen: set[str] = set()
    for r in t.rows:
        wid = ctx.text(t, r, "work_center")
        cap = ctx.number(t, r, "buffer_capacity", required=False, default=math.inf, minimum=0.0, strict_min=True)
        unit = ctx.text(t, r, "buffer_unit", required=False) or "m3"
        unit = {"m³": "m3", "m^3": "m3", "pallet": "pallets", "piece": "pieces", "pcs": "pieces"}.get(unit, unit)
        if wid in (STORE, FINISHED):
            ctx.add(f"{wid!r} is a reserved location name", t.loc(r.number, "work_center"))
            continue
        if unit not in ("m3", "pallets", "pieces"):
            ctx.add(f"unknown buffer unit {unit!r} (m3, pallets or pieces)", t.loc(r.number, "buffer_unit"))
            continue
        if wid is None or cap is None or wid in seen:
            continue
        seen.add(wid)
        out.append(
            WorkCenter(wid, cap, unit, description=ctx.text(t, r, "description", False) or "", source=t.loc(r.number))
        )
    if not t.rows:
        ctx.add("sheet has no work centers", t.loc())
    return out


def _machines(
    ctx: _Ctx, tables: dict[str, Table], wcs: set[str], matrices: dict[str, tuple[list[str], np.ndarray, Location]]
) -> list[Machine]:
    t = tables["machines"]
    out: list[Machine] = []
    if not _check_columns(ctx, t):
        return out
    _dups(ctx, t, ["machine"])
    seen: set[str] = set()
    for r in t.rows:
        mid = ctx.text(t, r, "machine")
        wc = ctx.text(t, r, "work_center")
        mname = ctx.text(t, r, "setup_matrix", required=False)
        init = ctx.text(t, r, "initial_setup", required=False) or NEUTRAL
        ok = mid is not None and wc is not None and mid not in seen
        if wc is not None and wc not in wcs:
            ctx.add(f"unknown work center {wc!r}", t.loc(r.number, "work_center"))
            ok = False
        ids, mat = [NEUTRAL], np.zeros((1, 1))
        if mname is not None:
            if mname not in matrices:
                ctx.add(f"unknown setup matrix {mname!r} (not in sheet setup_matrices)", t.loc(r.number, "setup_matrix"))
                ok = False
            else:
                ids, mat, _ = matrices[mname]
                if not ids:
                    ok = False  # broken matrix already reported
        if ok and init not in ids:
            ctx.add(f"initial setup {init!r} is not in setup matrix {mname or '(none)'}", t.loc(r.number, "initial_setup"))
            ok = False
        if not ok:
            continue
        assert mid is not None and wc is not None
        seen.add(mid)
        out.append(
            Machine(
                mid, wc, tuple(ids), mat.copy(), init,
                description=ctx.text(t, r, "description", False) or "",
                source=t.loc(r.number),
            )
        )
    return out


def _transport(ctx: _Ctx, tables: dict[str, Table], wcs: list[str]) -> TransportMatrix:
    t = tables["transport"]
    minutes: dict[tuple[str, str], float] = {}
    if not _check_columns(ctx, t):
        return TransportMatrix(default=0.0)
    locs_from = set([STORE, *wcs])
    locs_to = set([*wcs, FINISHED])
    for c in t.columns:
        if c and c != "from" and c not in locs_to:
            ctx.add(f"unknown destination {c!r} (a work center or FINISHED)", t.loc(t.header_row or None, c))
    rows_by_from: dict[str, Row] = {}
    for r in t.rows:
        a = ctx.text(t, r, "from")
        if a is None:
            continue
        if a not in locs_from:
            ctx.add(f"unknown location {a!r} (STORE or a work center)", t.loc(r.number, "from"))
            continue
        if a in rows_by_from:
            ctx.add(f"duplicate row for {a!r} (first in row {rows_by_from[a].number})", t.loc(r.number, "from"))
            continue
        rows_by_from[a] = r
        for b in t.columns:
            if b not in locs_to:
                continue
            x = ctx.number(t, r, b, required=False, default=None)
            if x is not None:
                minutes[(a, b)] = x
    # missing pairs, reported at the cell where they belong
    for a in [STORE, *wcs]:
        for b in [*wcs, FINISHED]:
            if a == b or (a == STORE and b == FINISHED) or (a, b) in minutes:
                continue
            r = rows_by_from.get(a)
            if r is None:
                ctx.add(f"no row for {a!r}: transport times from {a} are missing", t.loc(None, "from"))
                break
            if b not in t.columns:
                ctx.add(f"transport time {a} -> {b} is missing (no column {b!r})", t.loc(t.header_row or None, b))
                continue
            if r.values.get(b) is None:
                ctx.add(f"transport time {a} -> {b} is missing", t.loc(r.number, b))
    for w in wcs:  # same work center: default 0
        minutes.setdefault((w, w), 0.0)
    return TransportMatrix(minutes, default=0.0)


def _catalog(ctx: _Ctx, tables: dict[str, Table], plant_wcs: set[str], machines: dict[str, str]) -> list[Article]:
    ta, tc, to = tables["articles"], tables["components"], tables["operations"]
    if not (_check_columns(ctx, ta) & _check_columns(ctx, tc) & _check_columns(ctx, to)):
        return []
    _dups(ctx, ta, ["article"])
    _dups(ctx, tc, ["article", "component"])
    _dups(ctx, to, ["article", "component", "step"])
    art_rows: dict[str, Row] = {}
    for r in ta.rows:
        a = ctx.text(ta, r, "article")
        if a is not None and a not in art_rows:
            art_rows[a] = r
    if not ta.rows:
        ctx.add("sheet has no articles", ta.loc())
    # machine_times overrides
    overrides: dict[tuple[str, str, int], dict[str, float]] = {}
    tm = tables.get("machine_times")
    if tm is not None and _check_columns(ctx, tm):
        for r in tm.rows:
            a, c = ctx.text(tm, r, "article"), ctx.text(tm, r, "component")
            st = ctx.number(tm, r, "step", minimum=1)
            m = ctx.text(tm, r, "machine")
            x = ctx.number(tm, r, "minutes_per_piece")
            if m is not None and m not in machines:
                ctx.add(f"unknown machine {m!r}", tm.loc(r.number, "machine"))
                continue
            if None in (a, c, st, m, x):
                continue
            overrides.setdefault((a, c, int(st)), {})[m] = x  # type: ignore[index,arg-type]
    # operations grouped by component
    ops: dict[tuple[str, str], list[tuple[int, Row]]] = {}
    for r in to.rows:
        a, c = ctx.text(to, r, "article"), ctx.text(to, r, "component")
        st = ctx.number(to, r, "step", minimum=1)
        if st is not None and not float(st).is_integer():
            ctx.add(f"step must be a whole number (got {st:g})", to.loc(r.number, "step"))
            st = None
        if a is None or c is None or st is None:
            continue
        ops.setdefault((a, c), []).append((int(st), r))
    comps: dict[str, list[Component]] = {}
    comp_seen: set[tuple[str, str]] = set()
    for r in tc.rows:
        a, c = ctx.text(tc, r, "article"), ctx.text(tc, r, "component")
        q = ctx.number(tc, r, "qty_per_article", minimum=0.0, strict_min=True)
        fv = ctx.number(tc, r, "final_volume_per_piece", required=False, default=0.0)
        if a is not None and a not in art_rows:
            ctx.add(f"unknown article {a!r} (not in sheet articles)", tc.loc(r.number, "article"))
            continue
        if a is None or c is None or (a, c) in comp_seen:
            continue
        comp_seen.add((a, c))
        steps = sorted(ops.get((a, c), []), key=lambda x: x[0])
        if not steps:
            ctx.add(f"component {a}/{c} has no operations (empty routing)", tc.loc(r.number, "component"))
            continue
        numbers = [s for s, _ in steps]
        expect = list(range(1, len(numbers) + 1))
        if numbers != expect:
            if len(set(numbers)) != len(numbers):
                ctx.add(
                    f"component {a}/{c}: steps {numbers} repeat a step - the route order is ambiguous (cyclic)",
                    to.loc(steps[0][1].number, "step"),
                )
            else:
                ctx.add(f"component {a}/{c}: steps {numbers} must be 1..{len(numbers)} without gaps", to.loc(steps[0][1].number, "step"))
            continue
        routing: list[Operation] = []
        bad = False
        for st, orow in steps:
            wc = ctx.text(to, orow, "work_center")
            setup = ctx.text(to, orow, "setup", required=False) or NEUTRAL
            d = ctx.number(to, orow, "minutes_per_piece")
            fixed = ctx.number(to, orow, "fixed_minutes", required=False, default=0.0)
            vol = ctx.number(to, orow, "volume_per_piece", required=False, default=0.0)
            mlist_raw = ctx.text(to, orow, "machines", required=False)
            mlist = tuple(x.strip() for x in re.split(r"[,;]", mlist_raw) if x.strip()) if mlist_raw else ()
            if wc is not None and wc not in plant_wcs:
                ctx.add(f"unknown work center {wc!r}", to.loc(orow.number, "work_center"))
                bad = True
            for m in mlist:
                if m not in machines:
                    ctx.add(f"unknown machine {m!r}", to.loc(orow.number, "machines"))
                    bad = True
                elif wc is not None and machines[m] != wc:
                    ctx.add(f"machine {m!r} stands in {machines[m]}, not in {wc}", to.loc(orow.number, "machines"))
                    bad = True
            if wc is None or d is None or fixed is None or vol is None or bad:
                bad = True
                continue
            if d == 0 and fixed == 0:
                ctx.add("operation takes no time: minutes_per_piece and fixed_minutes are both 0", to.loc(orow.number, "minutes_per_piece"))
                bad = True
                continue
            ov = overrides.pop((a, c, st), {})
            for m in ov:
                if machines.get(m) != wc:
                    ctx.add(f"machine_times: machine {m!r} is not in work center {wc}", to.loc(orow.number, "work_center"))
                    bad = True
            routing.append(Operation(wc, setup, d, fixed, vol, ov, mlist, source=to.loc(orow.number)))
        if bad or q is None or fv is None:
            continue
        comps.setdefault(a, []).append(
            Component(c, q, routing, fv, description=ctx.text(tc, r, "description", False) or "", source=tc.loc(r.number))
        )
    for (a, c), steps in ops.items():
        if (a, c) not in comp_seen:
            ctx.add(f"operations for unknown component {a}/{c} (not in sheet components)", to.loc(steps[0][1].number, "component"))
    if tm is not None:
        for (a, c, st) in overrides:
            ctx.add(f"machine_times: no operation {a}/{c} step {st}", tm.loc(None, "step"))
    articles = []
    for a, r in art_rows.items():
        if a not in comps:
            if not any(ca == a for ca, _ in comp_seen):
                ctx.add(f"article {a} has no components", ta.loc(r.number, "article"))
            continue
        articles.append(Article(a, comps[a], description=ctx.text(ta, r, "description", False) or "", source=ta.loc(r.number)))
    return articles


def build_plant(tables: dict[str, Table], file: str = "") -> PlantData:
    """Build and validate plant + catalog (+ orders if the tables include them)."""
    ctx = _Ctx()
    if not tables:
        raise DataError([Issue("no tables found (the file is empty)", Location(file))])
    for name in tables:
        if name not in SHEETS:
            t = tables[name]
            ctx.add(f"unknown sheet {name!r} (known: {', '.join(SHEETS)})", Location(t.file, name))
    missing = [s.name for s in SHEETS.values() if s.required and s.name not in tables]
    for m in missing:
        ctx.add("required sheet is missing", Location(file, m))
    if missing:
        raise DataError(ctx.issues)
    name, plan_start = _settings(ctx, tables)
    matrices = _setup_matrices(ctx, tables)
    wcs = _work_centers(ctx, tables)
    wc_ids = [w.id for w in wcs]
    machines = _machines(ctx, tables, set(wc_ids), matrices)
    transport = _transport(ctx, tables, wc_ids)
    articles = _catalog(ctx, tables, set(wc_ids), {m.id: m.work_center for m in machines})
    with_machines = {m.work_center for m in machines}
    t = tables["work_centers"]
    for w in wcs:
        if w.id not in with_machines:
            ctx.add(f"work center {w.id} has no machine (sheet machines)", w.source or t.loc())
    orders: list[Order] = []
    if "orders" in tables:
        orders = _orders(ctx, tables["orders"], plan_start, {a.id for a in articles} | _article_ids(tables))
    if ctx.issues:
        raise DataError(ctx.issues)
    try:
        plant = Plant(wcs, machines, transport, name=name or "plant")
        catalog = Catalog(articles)
    except DataError as e:  # model-level checks (should be rare after the table checks)
        raise DataError(ctx.issues + e.issues) from None
    return PlantData(plant, catalog, orders, plan_start, name or "plant")


def _article_ids(tables: dict[str, Table]) -> set[str]:
    t = tables.get("articles")
    if t is None:
        return set()
    return {str(r.values["article"]).strip() for r in t.rows if r.values.get("article") is not None}


def _orders(ctx: _Ctx, t: Table, plan_start: datetime | None, articles: set[str] | None) -> list[Order]:
    out: list[Order] = []
    if not _check_columns(ctx, t):
        return out
    _dups(ctx, t, ["order"])
    seen: set[str] = set()
    for r in t.rows:
        oid = ctx.text(t, r, "order")
        art = ctx.text(t, r, "article")
        q = ctx.number(t, r, "quantity", minimum=0.0, strict_min=True)
        dl = ctx.when(t, r, "deadline", plan_start)
        rel = ctx.when(t, r, "release", plan_start)
        pr = ctx.number(t, r, "priority", required=False, default=1.0, minimum=0.0, strict_min=True)
        ok = None not in (oid, art, q, pr) and dl != "bad" and rel != "bad"
        if art is not None and articles is not None and art not in articles:
            ctx.add(f"unknown article {art!r}", t.loc(r.number, "article"))
            ok = False
        dlv = math.inf if dl is None else dl
        relv = 0.0 if rel is None else rel
        if ok and isinstance(dlv, float) and isinstance(relv, float) and dlv < relv:
            ctx.add(f"deadline is before release ({dlv:g} < {relv:g} minutes)", t.loc(r.number, "deadline"))
            ok = False
        if not ok or oid in seen:
            continue
        assert oid is not None and art is not None and q is not None and pr is not None
        seen.add(oid)
        out.append(Order(oid, art, q, float(dlv), float(relv), pr, source=t.loc(r.number)))
    if not t.rows:
        ctx.add("no orders in the table", t.loc())
    return out


def build_orders(
    table: Table, plan_start: datetime | None, articles: set[str] | None = None
) -> list[Order]:
    """Build and validate an orders table on its own (xlsx/csv orders file)."""
    ctx = _Ctx()
    out = _orders(ctx, table, plan_start, articles)
    if ctx.issues:
        raise DataError(ctx.issues)
    return out
