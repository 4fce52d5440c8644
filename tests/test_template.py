"""The shipped template workbook is what ``write_template`` writes, and reads back cleanly."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from furnsim.errors import DataError
from furnsim.io import load_instance
from furnsim.io._schema import SHEETS
from furnsim.io.template import EXAMPLE_ROWS, write_template

SHIPPED = Path(__file__).resolve().parents[1] / "bom_data" / "template.xlsx"


def _layout(path: Path) -> dict[str, list[str]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {
            ws.title: [c for c in next(ws.iter_rows(max_row=1, values_only=True)) if c]
            for ws in wb.worksheets
        }
    finally:
        wb.close()


def test_shipped_template_matches_function(tmp_path: Path) -> None:
    fresh = write_template(tmp_path / "t.xlsx")
    assert _layout(SHIPPED) == _layout(fresh), (
        "regenerate: python -c 'from furnsim.io.template import "
        'write_template; write_template("bom_data/template.xlsx")\''
    )


def test_template_has_every_sheet_and_column(tmp_path: Path) -> None:
    layout = _layout(write_template(tmp_path / "t.xlsx"))
    for name, sheet in SHEETS.items():
        assert layout[name][: len(sheet.columns)] == sheet.column_names
    assert layout["setup_matrices"][2:] == ["neutral"]
    assert layout["transport"][1:] == ["FINISHED"]
    assert "_help" in layout and "_example" in layout
    assert set(EXAMPLE_ROWS) == set(SHEETS)


def test_empty_template_reads_as_empty_not_as_broken(tmp_path: Path) -> None:
    with pytest.raises(DataError) as ei:
        load_instance(write_template(tmp_path / "t.xlsx"))
    msgs = [i.message for i in ei.value.issues]
    assert any("no work centers" in m for m in msgs)
    assert not any("unknown sheet" in m or "unknown column" in m for m in msgs), msgs
