"""Raw tables from files: every format becomes ``{sheet: Table}`` with row/column locations.

Row numbers are what the user sees: the Excel row or CSV line (header = row 1, so the
first data row is 2), and for YAML the line of the file where the row's mapping starts.
Sheets whose name starts with ``_`` (``_help``, ``_notes``) are ignored.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from furnsim.errors import DataError, Issue, Location

__all__ = ["Row", "Table", "read_tables"]

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


def _raw_rows(wb: Any, ws: Any) -> list[tuple[Any, ...]] | None:
    """The sheet's values with no date conversion (Excel serial numbers), or None if unavailable."""
    formats = getattr(wb, "_date_formats", None)
    if formats is None:
        return None
    try:
        wb._date_formats = set()
        return list(ws.iter_rows(values_only=True))
    except Exception:  # noqa: BLE001 - fall back to the converted values
        return None
    finally:
        wb._date_formats = formats


def _row_values(header: list[str], raw: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    vals = {h: _clean(raw[i]) if i < len(raw) else None for i, h in enumerate(header) if h}
    extra = [i for i in range(len(header), len(raw)) if not _is_blank(raw[i])]
    extra += [i for i, h in enumerate(header) if not h and i < len(raw) and not _is_blank(raw[i])]
    if extra:
        vals[EXTRA] = len(extra)
    return vals


def read_xlsx(path: Path, display: str) -> dict[str, Table]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    except zipfile.BadZipFile:
        raise DataError(
            [
                Issue(
                    "not an Excel workbook: the file is not in .xlsx format (was it saved as .xls, "
                    "CSV or text and renamed?). Open it in Excel and save it as .xlsx",
                    Location(display),
                )
            ]
        ) from None
    except Exception as e:  # noqa: BLE001 - any unreadable workbook is a data problem, not a crash
        raise DataError(
            [Issue(f"not a readable Excel workbook ({type(e).__name__}: {e})", Location(display))]
        ) from None
    tables: dict[str, Table] = {}
    try:
        for ws in wb.worksheets:
            name = str(ws.title).strip()
            if name.startswith("_"):
                continue
            rows = list(ws.iter_rows(values_only=True))
            if any(_suspect_date(c) for raw in rows for c in raw):
                raw_rows = _raw_rows(wb, ws)
                if raw_rows is not None and len(raw_rows) == len(rows):
                    rows = [
                        tuple(
                            rc if _suspect_date(c) else c for c, rc in zip(conv, raw, strict=False)
                        )
                        for conv, raw in zip(rows, raw_rows, strict=True)
                    ]
            header: list[str] = []
            header_row = 0
            for i, raw in enumerate(rows, start=1):
                if raw and any(not _is_blank(c) for c in raw):
                    header = [_norm_header(c) for c in raw]
                    header_row = i
                    break
            t = Table(name, display, header, header_row=header_row)
            for r, raw in enumerate(rows[header_row:], start=header_row + 1):
                if not header or raw is None or all(_is_blank(c) for c in raw):
                    continue
                t.rows.append(Row(r, _row_values(header, raw)))
            tables[name] = t
    finally:
        wb.close()
    return tables


def read_csv_file(path: Path, display: str, name: str) -> Table:
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
    for raw in reader:
        start, line = line + 1, reader.line_num
        if not header:
            if raw and any(not _is_blank(c) for c in raw):
                header = [_norm_header(c) for c in raw]
                t.columns = header
                t.header_row = start
            continue
        if all(_is_blank(c) for c in raw):
            continue
        t.rows.append(Row(start, _row_values(header, raw)))
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


def _yaml_loader() -> type:
    """SafeLoader that keeps dates as text (we parse them, with a location, ourselves) and
    reads only true/false as booleans (not yes/no/on/off: an id `NO` stays `NO`)."""
    import re

    import yaml

    class _Loader(yaml.SafeLoader):
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


def read_yaml(path: Path, display: str) -> dict[str, Table]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError([Issue("not a text (UTF-8) file", Location(display))]) from None
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
    if p.stat().st_size == 0:
        raise DataError([Issue("file is empty (0 bytes)", Location(display))])
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(p, display)
    if suffix in (".yaml", ".yml"):
        return read_yaml(p, display)
    return {p.stem: read_csv_file(p, display, p.stem)}
