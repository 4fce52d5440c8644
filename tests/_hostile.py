"""Helpers that turn a valid workbook into a hostile or misleading one (edit its XML)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def sheet_member(path: Path, sheet: str) -> str:
    """The zip member of ``sheet`` in a workbook written by openpyxl (sheetN.xml by position)."""
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    return f"xl/worksheets/sheet{names.index(sheet) + 1}.xml"


def edit_member(path: Path, member: str, fn: Callable[[str], str], out: Path | None = None) -> Path:
    """Rewrite one member of the zip at ``path`` (in place unless ``out``)."""
    out = out or path
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i)) for i in z.infolist()]
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == member:
                data = fn(data.decode("utf-8")).encode("utf-8")
            z.writestr(info.filename, data)
    tmp.replace(out)
    return out


def edit_sheet(path: Path, sheet: str, fn: Callable[[str], str]) -> Path:
    return edit_member(path, sheet_member(path, sheet), fn)


def set_dimension(xml: str, ref: str) -> str:
    return re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}" />', xml)


def add_after_sheetdata(xml: str, fragment: str) -> str:
    return xml.replace("</sheetData>", "</sheetData>" + fragment, 1)


def replace_cell(xml: str, ref: str, new_cell: str) -> str:
    """Replace the ``<c r="ref" ...>...</c>`` element."""
    pat = re.compile(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', re.S)
    assert pat.search(xml), f"no cell {ref}"
    return pat.sub(new_cell, xml, count=1)


def add_cell(xml: str, row: int, cell: str) -> str:
    """Append a cell to row ``row`` (the row must exist)."""
    pat = re.compile(rf'(<row r="{row}"[^>]*>.*?)(</row>)', re.S)
    assert pat.search(xml), f"no row {row}"
    return pat.sub(lambda m: m.group(1) + cell + m.group(2), xml, count=1)
