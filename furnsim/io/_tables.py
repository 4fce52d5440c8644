"""Raw tables from files: every format becomes ``{sheet: Table}`` with row/column locations.

Row numbers are what the user sees: the Excel row or CSV line (header = row 1, so the
first data row is 2), and for YAML the line of the file where the row's mapping starts.
Sheets whose name starts with ``_`` (``_help``, ``_notes``) are ignored.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from furnsim.errors import DataError, Issue, Location
from furnsim.io import limits

__all__ = ["Row", "Table", "read_sheet_rows", "read_tables"]

EXTRA = "__extra__"  # key in Row.values: number of non-empty cells without a header


@dataclass
class Row:
    number: int  # as the user sees it: Excel row / CSV line, or YAML line
    values: dict[str, Any]


@dataclass
class Table:
    name: str
    file: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    header_row: int = 1  # 0 = no header row in the file (YAML)
    schema: str = ""  # which schema sheet the table follows ("" = its own name)
    line: int = 0  # YAML: line of the table's key

    def loc(self, row: int | None = None, column: str = "") -> Location:
        return Location(self.file, self.name, row, column)

    @property
    def kind(self) -> str:
        return self.schema or self.name


def _norm_header(h: Any) -> str:
    if h is None:
        return ""
    if isinstance(h, float) and h.is_integer():
        h = int(h)
    return str(h).strip()


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _clean(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v if v else None
    return v


def _suspect_date(v: Any) -> bool:
    """A number typed into a date-formatted cell comes back as a date near 1900 (or a time)."""
    return (isinstance(v, datetime) and v.year < 1950) or isinstance(v, dt_time)


def _row_values(header: list[str], raw: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    vals = {h: _clean(raw[i]) if i < len(raw) else None for i, h in enumerate(header) if h}
    extra = [i for i in range(len(header), len(raw)) if not _is_blank(raw[i])]
    extra += [i for i, h in enumerate(header) if not h and i < len(raw) and not _is_blank(raw[i])]
    if extra:
        vals[EXTRA] = len(extra)
    return vals


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _limit(msg: str, loc: Location) -> DataError:
    return DataError([Issue(f"{msg} (a limit of furnsim.io.limits)", loc)])


_NOT_XLSX = (
    "not an Excel workbook: cannot read it as .xlsx (was it saved as .xls, "
    "CSV or text and renamed?). Open it in Excel and save it as .xlsx"
)


def _check_xlsx_zip(path: Path, display: str) -> None:
    """Refuse a workbook whose zip would cost too much to unpack, before openpyxl opens it.

    ``zipfile`` never unpacks more than a member's declared size, so the declared sizes
    bound what reading can cost."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise DataError([Issue(_NOT_XLSX, Location(display))]) from None
    if len(infos) > limits.MAX_XLSX_MEMBERS:
        raise _limit(
            f"the workbook holds {len(infos):,} parts; at most {limits.MAX_XLSX_MEMBERS:,} are "
            "read: this is not a plain data workbook",
            Location(display),
        )
    total = sum(i.file_size for i in infos)
    if total > limits.MAX_XLSX_UNCOMPRESSED:
        raise _limit(
            f"the workbook unpacks to {_mib(total)}; at most "
            f"{_mib(limits.MAX_XLSX_UNCOMPRESSED)} are read: split it, or remove pictures and "
            "unused sheets",
            Location(display),
        )
    _count_xml_elements(path, infos, display)


#: XML elements whose number decides what openpyxl's parsing costs (time and memory)
_COUNTED = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(c|row|si|xf|font|fill|border|numFmt|dxf|cellStyle|definedName)[\s/>]"
)
_KIND = {
    b"c": "cells",
    b"row": "cells",
    b"si": "strings",
    b"definedName": "names",
}


def _count_xml_elements(path: Path, infos: list[zipfile.ZipInfo], display: str) -> None:
    """Count, before any parsing, the elements that cost the most to build: cells and rows
    (``MAX_CELLS``), shared strings (``MAX_SHARED_STRINGS``), style records and defined names
    (``MAX_STYLES``). A fast byte scan; openpyxl then parses a workbook of bounded size."""
    bounds = {
        "cells": (limits.MAX_CELLS, "cells and rows in the sheets"),
        "strings": (limits.MAX_SHARED_STRINGS, "shared strings"),
        "styles": (limits.MAX_STYLES, "style records (formats, fonts, fills, borders)"),
        "names": (limits.MAX_STYLES, "defined names"),
    }
    counts = dict.fromkeys(bounds, 0)
    with zipfile.ZipFile(path) as z:
        for info in infos:
            if not info.filename.lower().endswith((".xml", ".rels")):
                continue  # pictures and binaries: openpyxl's read-only mode does not parse them
            with z.open(info) as f:
                data = f.read(limits.MAX_XLSX_UNCOMPRESSED + 1)
            if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
                raise DataError(
                    [
                        Issue(
                            "the workbook's XML declares entities or a DTD (<!DOCTYPE>, "
                            f"<!ENTITY> in part {info.filename}), which are refused: a data "
                            "workbook never needs them",
                            Location(display),
                        )
                    ]
                )
            for m in _COUNTED.finditer(data):
                kind = _KIND.get(m.group(1), "styles")
                counts[kind] += 1
                if counts[kind] > bounds[kind][0]:
                    raise _limit(
                        f"more than {bounds[kind][0]:,} {bounds[kind][1]} (in part "
                        f"{info.filename})",
                        Location(display),
                    )


def _sheet_parser_class() -> type:
    """openpyxl's streaming sheet parser, told to keep what ``data_only`` would lose: a
    formula cell without a saved value is marked (not read as blank), and a number typed into
    a date-formatted cell that reads as a date near 1900 keeps its number."""
    from openpyxl.worksheet._reader import (
        FORMULA_TAG,
        MERGE_TAG,
        ROW_TAG,
        VALUE_TAG,
        WorkSheetParser,
        _cast_number,
    )
    from openpyxl.worksheet.merge import MergeCells

    class _Parser(WorkSheetParser):
        def parse(self) -> Any:
            """Rows (and the merged ranges) only, through the C ElementTree parser: the byte
            scan has refused any DTD or entity declaration in the workbook already, and
            defusedxml's pure-Python parser would take 2-3 times as long."""
            from xml.etree.ElementTree import iterparse

            for _, element in iterparse(self.source):
                if element.tag == ROW_TAG:
                    row = self.parse_row(element)
                    element.clear()
                    yield row
                elif element.tag == MERGE_TAG:
                    self.merged_cells = MergeCells.from_tree(element)
                    element.clear()

        def parse_cell(self, element: Any) -> dict[str, Any]:
            d: dict[str, Any] = super().parse_cell(element)
            if d["value"] is None:
                f = element.find(FORMULA_TAG)
                if f is not None:
                    d["formula"] = "=" + f.text if f.text else "(a shared formula)"
            elif d["data_type"] == "d" and _suspect_date(d["value"]):
                raw = element.findtext(VALUE_TAG)
                if raw:
                    d["value"] = _cast_number(raw)
            return d

    return _Parser


def _col_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(i)) if 1 <= i <= 18278 else f"#{i}"


@dataclass
class _Book:
    """An opened workbook: its zip, shared strings, date styles and (name, part) of each
    worksheet. openpyxl's reader pieces, without its read-only worksheets (whose
    constructor parses a whole sheet when it has no ``<dimension>``)."""

    archive: zipfile.ZipFile
    wb: Any
    shared_strings: list[Any]
    sheets: list[tuple[str, str]]

    def close(self) -> None:
        self.archive.close()


def _open_book(path: Path, display: str) -> _Book:
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    _check_xlsx_zip(path, display)
    reader: Any = None
    try:
        reader = ExcelReader(path, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            (str(sheet.name), str(rel.target))
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in str(rel.Type)
        ]
    except Exception as e:  # noqa: BLE001 - any unreadable workbook is a data problem, not a crash
        if reader is not None:
            reader.archive.close()
        if isinstance(e, zipfile.BadZipFile):
            raise DataError([Issue(_NOT_XLSX, Location(display))]) from None
        why = _xml_refusal(e) or f"not a readable Excel workbook ({type(e).__name__}: {e})"
        raise DataError([Issue(why, Location(display))]) from None
    return _Book(reader.archive, reader.wb, reader.shared_strings, sheets)


def _read_sheet(book: _Book, target: str, display: str, name: str, budget: list[int]) -> Table:
    """One sheet, streamed row by row and bounded. The sheet's ``<dimension>`` element is not
    trusted: the extent is where the values are."""
    parser_cls = _sheet_parser_class()
    rows: list[tuple[int, dict[int, Any]]] = []
    formulas: list[tuple[int, int, str]] = []
    width = 0
    wb = book.wb
    with book.archive.open(target) as src:
        parser = parser_cls(
            src,
            book.shared_strings,
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        for idx, cells in parser.parse():
            budget[0] -= len(cells)
            if budget[0] < 0:
                raise _limit(
                    f"more than {limits.MAX_CELLS:,} cells in the workbook (is a whole column "
                    "formatted or filled?)",
                    Location(display, name, idx),
                )
            vals: dict[int, Any] = {}
            for c in cells:
                col, v = int(c["column"]), c["value"]
                if "formula" in c:
                    formulas.append((idx, col, str(c["formula"])))
                    continue
                if _is_blank(v):
                    continue
                if col > limits.MAX_COLUMNS:
                    raise _limit(
                        f"a value in column {_col_letter(col)} (column {col:,}); at most "
                        f"{limits.MAX_COLUMNS} columns are read",
                        Location(display, name, idx),
                    )
                vals[col] = v
                width = max(width, col)
            if vals:
                rows.append((idx, vals))
                if len(rows) > limits.MAX_ROWS + 1:
                    raise _limit(
                        f"more than {limits.MAX_ROWS:,} rows: split the file",
                        Location(display, name, idx),
                    )
        merged = parser.merged_cells
    header: list[str] = []
    header_row = 0
    if rows:
        header_row, hv = rows[0]
        header = [_norm_header(hv.get(i)) for i in range(1, width + 1)]
    t = Table(name, display, header, header_row=header_row)
    for r, vals in rows[1:]:
        t.rows.append(Row(r, _row_values(header, [vals.get(i) for i in range(1, width + 1)])))

    def col_name(i: int) -> str:
        return header[i - 1] if 0 < i <= len(header) and header[i - 1] else _col_letter(i)

    issues: list[Issue] = []
    for r, c, text in formulas:
        if header_row and r < header_row:
            continue
        issues.append(
            Issue(
                f"formula {text[:80]} has no saved value (the file was written by a program that "
                "does not calculate formulas): open it in Excel and save it, or type the value",
                Location(display, name, r, col_name(c)),
            )
        )
    if merged is not None:
        from openpyxl.utils.cell import range_boundaries

        for mc in getattr(merged, "mergeCell", None) or []:
            try:
                c1, r1, c2, r2 = range_boundaries(str(mc.ref))
            except (TypeError, ValueError):
                continue
            if (c1, r1) == (c2, r2) or (header_row and r2 is not None and r2 < header_row):
                continue
            issues.append(
                Issue(
                    f"merged cells {mc.ref}: only the first cell of a merged range holds the "
                    "value, the others would read as blank; unmerge them and fill every cell",
                    Location(display, name, r1, col_name(c1 or 1)),
                )
            )
    if issues:
        raise DataError(issues)
    return t


def _xml_refusal(e: BaseException) -> str | None:
    """A message when ``e`` (or what caused it) is defusedxml refusing entities or a DTD."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__module__.startswith("defusedxml"):
            return (
                "the workbook's XML declares entities or a DTD (<!DOCTYPE>, <!ENTITY>), which "
                f"are refused: a data workbook never needs them ({type(cur).__name__})"
            )
        cur = cur.__cause__ or cur.__context__
    return None


def read_xlsx(path: Path, display: str) -> dict[str, Table]:
    book = _open_book(path, display)
    tables: dict[str, Table] = {}
    issues: list[Issue] = []
    budget = [limits.MAX_CELLS]
    try:
        for title, target in book.sheets:
            name = title.strip()
            if name.startswith("_"):
                continue
            try:
                tables[name] = _read_sheet(book, target, display, name, budget)
            except DataError as e:
                issues += e.issues
                if any("furnsim.io.limits" in i.message for i in e.issues):
                    break  # past a limit: stop reading
            except Exception as e:  # noqa: BLE001 - malformed XML, entities, ...: a data problem
                text = str(e).strip()
                msg = f": {text.splitlines()[0][:200]}" if text else ""
                why = _xml_refusal(e) or f"sheet is not readable ({type(e).__name__}{msg})"
                issues.append(Issue(why, Location(display, name)))
    finally:
        book.close()
    if issues:
        raise DataError(issues)
    return tables


def read_csv_file(path: Path, display: str, name: str) -> Table:
    size = path.stat().st_size
    if size > limits.MAX_FILE_BYTES:
        raise _limit(
            f"the file has {_mib(size)}; at most {_mib(limits.MAX_FILE_BYTES)} are read",
            Location(display, name),
        )
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in raw_bytes[:4096]:
            raise DataError([Issue("not a text (CSV) file", Location(display, name))]) from None
        text = raw_bytes.decode("cp1252", errors="replace")
    sample = text[:4096]
    delim = ";" if sample.count(";") > sample.count(",") else ","
    if sample.count("\t") > max(sample.count(";"), sample.count(",")):
        delim = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header: list[str] = []
    t = Table(name, display, [], header_row=0)
    line = 0
    old_limit = csv.field_size_limit(limits.MAX_CSV_FIELD)
    try:
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                where = Location(display, name, reader.line_num or line + 1)
                if "field larger than field limit" in str(e):
                    raise DataError(
                        [
                            Issue(
                                f"a field longer than {limits.MAX_CSV_FIELD // 1024} KiB (an "
                                "unclosed quote?) (a limit of furnsim.io.limits)",
                                where,
                            )
                        ]
                    ) from None
                raise DataError([Issue(f"not readable as CSV ({e})", where)]) from None
            start, line = line + 1, reader.line_num
            if len(raw) > limits.MAX_COLUMNS:
                raise _limit(
                    f"{len(raw):,} columns; at most {limits.MAX_COLUMNS} are read",
                    Location(display, name, start),
                )
            if not header:
                if raw and any(not _is_blank(c) for c in raw):
                    header = [_norm_header(c) for c in raw]
                    t.columns = header
                    t.header_row = start
                continue
            if all(_is_blank(c) for c in raw):
                continue
            t.rows.append(Row(start, _row_values(header, raw)))
            if len(t.rows) > limits.MAX_ROWS:
                raise _limit(
                    f"more than {limits.MAX_ROWS:,} rows: split the file",
                    Location(display, name, start),
                )
    finally:
        csv.field_size_limit(old_limit)
    return t


def read_csv_dir(path: Path, display: str) -> dict[str, Table]:
    files = sorted(f for f in path.glob("*.csv") if not f.name.startswith("_"))
    if not files:
        raise DataError([Issue("folder contains no .csv tables", Location(display))])
    issues: list[Issue] = []
    tables: dict[str, Table] = {}
    for f in files:
        try:
            tables[f.stem] = read_csv_file(f, f"{display.rstrip('/')}/{f.name}", f.stem)
        except DataError as e:
            issues += e.issues
    if issues:
        raise DataError(issues)
    return tables


def _safe_loader() -> type:
    """libyaml's SafeLoader where PyYAML was built with it (10-15x faster on a plant file),
    else the pure-Python one; both resolve tags and build values with the same Python code."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_loader() -> type:
    """SafeLoader that keeps dates as text (we parse them, with a location, ourselves) and
    reads only true/false as booleans (not yes/no/on/off: an id `NO` stays `NO`)."""
    import re

    import yaml

    class _Loader(_safe_loader()):  # type: ignore[misc]
        pass

    _Loader.yaml_implicit_resolvers = {
        k: [
            (tag, rx)
            for tag, rx in v
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
        ]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return _Loader


def _yaml_cell(v: Any) -> tuple[Any, bool]:
    """A YAML value as a cell value; lists of scalars become comma-separated text."""
    if isinstance(v, list) and all(not isinstance(x, list | dict) for x in v):
        return ", ".join(str(x) for x in v), True
    if isinstance(v, list | dict):
        return None, False
    if isinstance(v, datetime | date):  # explicit !!timestamp
        return v, True
    return _clean(v), True


def _too_deep(display: str, row: int | None) -> DataError:
    return _limit(
        f"nested more than {limits.MAX_YAML_DEPTH} levels deep (a data file needs 3: tables, "
        "rows, values)",
        Location(display, row=row),
    )


def _check_yaml_events(text: str, display: str) -> None:
    """Stream the document's events once before building it: no anchors/aliases (an alias
    bomb grows exponentially when built), a bounded depth (deep nesting overflows the
    recursive composer) and a bounded number of nodes."""
    import yaml

    depth = nodes = 0
    try:
        for ev in yaml.parse(text, Loader=_safe_loader()):
            if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
                line = ev.start_mark.line + 1 if ev.start_mark is not None else None
                raise DataError(
                    [
                        Issue(
                            "YAML anchors and aliases (&name, *name) are not allowed in data "
                            "files: write every value out",
                            Location(display, row=line),
                        )
                    ]
                )
            if isinstance(ev, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.MAX_YAML_DEPTH:
                    line = ev.start_mark.line + 1 if ev.start_mark is not None else None
                    raise _too_deep(display, line)
            elif isinstance(ev, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(ev, yaml.NodeEvent):
                nodes += 1
                if nodes > limits.MAX_YAML_NODES:
                    raise _limit(f"more than {limits.MAX_YAML_NODES:,} values", Location(display))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e)
        if "maximum nesting depth" in problem:  # libyaml's scanner stops deep flow nesting
            raise _too_deep(display, row) from None
        raise DataError([Issue(f"invalid YAML: {problem}", Location(display, row=row))]) from None


def read_yaml(path: Path, display: str) -> dict[str, Table]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError([Issue("not a text (UTF-8) file", Location(display))]) from None
    _check_yaml_events(text, display)
    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e)
        raise DataError([Issue(f"invalid YAML: {problem}", Location(display, row=row))]) from None
    except (ValueError, TypeError) as e:
        raise DataError([Issue(f"invalid YAML: {e}", Location(display))]) from None
    finally:
        loader.dispose()
    if data is None:
        raise DataError([Issue("file is empty", Location(display))])
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise DataError(
            [
                Issue(
                    "top level must be a mapping of table name -> list of rows",
                    Location(display, row=1),
                )
            ]
        )
    issues: list[Issue] = []
    tables: dict[str, Table] = {}
    for knode, vnode in node.value:
        name = str(knode.value).strip()
        key_line = knode.start_mark.line + 1
        if name in tables:
            issues.append(
                Issue("table appears twice in the file", Location(display, name, key_line))
            )
            continue
        t = Table(name, display, [], header_row=0, line=key_line)
        tables[name] = t
        if name == "settings" and isinstance(vnode, yaml.MappingNode):
            for k, v in vnode.value:
                val = loader.construct_object(v, deep=True)
                t.rows.append(
                    Row(
                        k.start_mark.line + 1, {"key": _clean(k.value), "value": _yaml_cell(val)[0]}
                    )
                )
            t.columns = ["key", "value"]
            continue
        if isinstance(vnode, yaml.ScalarNode) and vnode.value in ("", "~", "null"):
            continue  # `orders:` with nothing under it = an empty table
        if not isinstance(vnode, yaml.SequenceNode):
            issues.append(
                Issue(
                    "must be a list of rows (each row a mapping column: value)",
                    Location(display, name, key_line),
                )
            )
            continue
        if len(vnode.value) > limits.MAX_ROWS:
            raise _limit(
                f"{len(vnode.value):,} rows: at most {limits.MAX_ROWS:,} are read; split the file",
                Location(display, name, key_line),
            )
        for item in vnode.value:
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                issues.append(
                    Issue("each row must be a mapping column: value", Location(display, name, line))
                )
                continue
            vals: dict[str, Any] = {}
            for k, v in item.value:
                col = _norm_header(k.value)
                if col in vals:
                    issues.append(
                        Issue("column given twice in this row", Location(display, name, line, col))
                    )
                    continue
                cell, ok = _yaml_cell(loader.construct_object(v, deep=True))
                if not ok:
                    issues.append(
                        Issue(
                            "must be a single value (not a nested list or mapping)",
                            Location(display, name, line, col),
                        )
                    )
                vals[col] = cell
                if col not in t.columns:
                    t.columns.append(col)
            t.rows.append(Row(line, vals))
    if issues:
        raise DataError(issues)
    return tables


def read_tables(path: str | Path) -> dict[str, Table]:
    """Read a workbook (.xlsx), a folder of CSV files, or a YAML file into raw tables."""
    p = Path(path)
    display = str(path)
    if not p.exists():
        raise DataError([Issue("file or folder not found", Location(display))])
    if p.is_dir():
        xlsx = sorted(x for x in p.glob("*.xlsx") if not x.name.startswith("~$"))
        if (p / "plant.xlsx").exists():
            return read_tables(p / "plant.xlsx")
        if any(p.glob("*.csv")):
            return read_csv_dir(p, display)
        ymls = sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))
        if len(xlsx) == 1:
            return read_tables(xlsx[0])
        if len(ymls) == 1:
            return read_tables(ymls[0])
        raise DataError(
            [
                Issue(
                    "folder holds no plant data (plant.xlsx, *.csv tables or one .yaml file)",
                    Location(display),
                )
            ]
        )
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise DataError(
            [
                Issue(
                    "old Excel format .xls is not supported: open it in Excel and save it as .xlsx",
                    Location(display),
                )
            ]
        )
    if suffix not in (".xlsx", ".xlsm", ".yaml", ".yml", ".csv"):
        raise DataError(
            [
                Issue(
                    f"unsupported file type {suffix or '(none)'}: use .xlsx, .csv (or a folder of them) or .yaml",
                    Location(display),
                )
            ]
        )
    size = p.stat().st_size
    if size == 0:
        raise DataError([Issue("file is empty (0 bytes)", Location(display))])
    if size > limits.MAX_FILE_BYTES:
        raise _limit(
            f"the file has {_mib(size)}; at most {_mib(limits.MAX_FILE_BYTES)} are read",
            Location(display),
        )
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(p, display)
    if suffix in (".yaml", ".yml"):
        return read_yaml(p, display)
    return {p.stem: read_csv_file(p, display, p.stem)}


def read_sheet_rows(
    path: str | Path, *, sheet: str = "orders", display: str | None = None
) -> tuple[str, list[list[Any]]]:
    """The raw rows of one table: sheet ``sheet`` of an .xlsx (matched ignoring case; else
    the first sheet) or a .csv file, read with the same bounds and checks as every reader
    (no trusted ``<dimension>``, no formula without a value, no merged cells, no XML
    entities, :mod:`furnsim.io.limits`). Returns ``(sheet name, rows)``: ``rows[i]`` is the
    file's row ``i + 1`` (the header row included, blank rows as ``[]``), its values in the
    header's column order (text stripped, blank cells None). Raises
    :class:`~furnsim.errors.DataError` naming the file (and sheet)."""
    p = Path(path)
    shown = display or p.name
    if not p.is_file():
        raise DataError([Issue("file not found", Location(shown))])
    suffix = p.suffix.lower()
    size = p.stat().st_size
    if size > limits.MAX_FILE_BYTES:
        raise _limit(
            f"the file has {_mib(size)}; at most {_mib(limits.MAX_FILE_BYTES)} are read",
            Location(shown),
        )
    if suffix in (".csv", ".txt", ".tsv"):
        t = read_csv_file(p, shown, "")
    elif suffix in (".xlsx", ".xlsm"):
        book = _open_book(p, shown)
        try:
            if not book.sheets:
                raise DataError([Issue("the workbook has no sheets", Location(shown))])
            targets = {n.strip().lower(): (n, tg) for n, tg in reversed(book.sheets)}
            name, target = targets.get(sheet.lower(), book.sheets[0])
            try:
                t = _read_sheet(book, target, shown, name, [limits.MAX_CELLS])
            except DataError:
                raise
            except Exception as e:  # noqa: BLE001 - malformed XML, entities, ...
                text = str(e).strip()
                msg = f": {text.splitlines()[0][:200]}" if text else ""
                why = _xml_refusal(e) or f"sheet is not readable ({type(e).__name__}{msg})"
                raise DataError([Issue(why, Location(shown, name))]) from None
        finally:
            book.close()
    else:
        raise DataError(
            [
                Issue(
                    f"unsupported file type {suffix or '(none)'}: use .xlsx or .csv",
                    Location(shown),
                )
            ]
        )
    last = t.rows[-1].number if t.rows else t.header_row
    if last > limits.MAX_ROWS + 1:
        raise _limit(
            f"a value in row {last:,}; at most {limits.MAX_ROWS:,} rows are read",
            Location(shown, t.name, last),
        )
    rows: list[list[Any]] = []
    if t.header_row:
        rows = [[] for _ in range(t.header_row - 1)] + [list(t.columns)]
        for r in t.rows:
            while len(rows) < r.number - 1:
                rows.append([])
            rows.append([r.values.get(c) if c else None for c in t.columns])
    return t.name, rows
