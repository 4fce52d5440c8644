"""No silent misreads: every value is read as the user meant it, or is an error that names
file, sheet, row and column (issue 10, section 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from furnsim.errors import DataError, Issue
from furnsim.io import load_instance, read_orders
from furnsim.io._builder import _to_float
from tests._fixtures import FORMATS, base_tables, user_row, write
from tests._hostile import add_after_sheetdata, edit_sheet, replace_cell, set_dimension


def errors(path: Path, **kw: Any) -> list[Issue]:
    with pytest.raises(DataError) as e:
        load_instance(path, **kw)
    return e.value.issues


def one(issues: list[Issue], *, sheet: str, column: str, words: tuple[str, ...]) -> Issue:
    hits = [
        i
        for i in issues
        if i.sheet == sheet and i.column == column and all(w in i.message for w in words)
    ]
    assert hits, f"no issue in {sheet}/{column} with {words}: {[str(i) for i in issues]}"
    return hits[0]


# -- Excel: what openpyxl's read-only mode or data_only would hide ------------------------


def _many_orders(n: int) -> dict[str, Any]:
    t = base_tables()
    t["orders"] = [
        {"order": f"O{i}", "article": "SHELF", "quantity": 2, "deadline": 3000} for i in range(n)
    ]
    return t


def test_stale_dimension_does_not_hide_rows(tmp_path: Path) -> None:
    """A workbook whose <dimension> says A1:F4 still gives all 58 orders."""
    path = write(_many_orders(58), "xlsx", tmp_path)
    edit_sheet(path, "orders", lambda x: set_dimension(x, "A1:F4"))
    inst = load_instance(path)
    assert len(inst.orders) == 58
    # an orders-only file too
    orders = write({"orders": _many_orders(58)["orders"]}, "xlsx", tmp_path, "orders")
    edit_sheet(orders, "orders", lambda x: set_dimension(x, "A1:D4"))
    assert len(read_orders(orders, inst.catalog)) == 58


def test_formula_without_saved_value_is_an_error(tmp_path: Path) -> None:
    path = write(base_tables(), "xlsx", tmp_path)
    edit_sheet(path, "work_centers", lambda x: replace_cell(x, "B2", '<c r="B2"><f>8+2</f></c>'))
    i = one(
        errors(path), sheet="work_centers", column="buffer_capacity", words=("=8+2", "saved value")
    )
    assert i.row == 2 and i.file == str(path)


def test_formula_with_saved_value_reads_the_value(tmp_path: Path) -> None:
    path = write(base_tables(), "xlsx", tmp_path)
    edit_sheet(
        path, "work_centers", lambda x: replace_cell(x, "B2", '<c r="B2"><f>8+4</f><v>12</v></c>')
    )
    inst = load_instance(path)
    assert inst.plant.work_center("SAW").buffer_capacity == 12


def test_merged_cells_are_an_error(tmp_path: Path) -> None:
    """B2:B4 merged: only B2 holds 10; B3 would read blank (= unlimited buffer)."""
    path = write(base_tables(), "xlsx", tmp_path)

    def merge(x: str) -> str:
        x = replace_cell(x, "B3", "")
        return add_after_sheetdata(x, '<mergeCells count="1"><mergeCell ref="B2:B4"/></mergeCells>')

    edit_sheet(path, "work_centers", merge)
    i = one(errors(path), sheet="work_centers", column="buffer_capacity", words=("merged", "B2:B4"))
    assert i.row == 2


# -- numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,5", 1.5),
        ("12,25", 12.25),
        ("1200", 1200.0),
        ("1 200", 1200.0),
        ("1,200.5", 1200.5),
        ("1,200,000", 1_200_000.0),
        ("1.200,5", 1200.5),
        ("1.200.000", 1_200_000.0),
        ("0.125", 0.125),
        ("1e3", 1000.0),
        ("1,200", None),  # 1200 or 1.2: ambiguous, never 1.2
        ("-3,000", None),
        ("1,2,3", None),
        ("12abc", None),
        ("1_000", None),  # Python's float() would accept it
    ],
)
def test_number_text(text: str, value: float | None) -> None:
    assert _to_float(text) == value


@pytest.mark.parametrize("fmt", ["csv", "yaml"])
def test_thousands_separator_is_not_read_as_a_decimal(fmt: str, tmp_path: Path) -> None:
    t = base_tables()
    t["orders"][0]["quantity"] = "1,200"
    path = write(t, fmt, tmp_path)
    i = one(
        errors(path), sheet="orders", column="quantity", words=("ambiguous", "write 1200 or 1.2)")
    )
    assert i.row == user_row(path, fmt, "orders", 0)


# -- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "when", ["2026-11-24T14:00+01:00", "2026-11-24 14:00Z", "2026-11-24T14:00:00-0500"]
)
def test_date_with_utc_offset_is_rejected(fmt: str, when: str, tmp_path: Path) -> None:
    t = base_tables()
    t["orders"][0]["deadline"] = when
    path = write(t, fmt, tmp_path)
    i = one(
        errors(path), sheet="orders", column="deadline", words=("UTC offset", "e.g. 2026-11-24")
    )
    assert i.row == user_row(path, fmt, "orders", 0)


def test_plan_start_with_utc_offset_is_rejected(tmp_path: Path) -> None:
    t = base_tables()
    t["settings"][1]["value"] = "2026-11-23T06:00+01:00"
    path = write(t, "yaml", tmp_path)
    one(errors(path), sheet="settings", column="value", words=("plan_start", "UTC offset"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_written_as_a_number_is_rejected(fmt: str, tmp_path: Path) -> None:
    t = base_tables()
    t["orders"][1]["deadline"] = 20260303  # would be 38 years of minutes
    path = write(t, fmt, tmp_path)
    i = one(errors(path), sheet="orders", column="deadline", words=("2026-03-03", "separators"))
    assert i.row == user_row(path, fmt, "orders", 1)


@pytest.mark.parametrize(
    "value", ["2090-01-01 06:00", 5e7, -2e7, "1950-01-01"], ids=["2090", "5e7", "-2e7", "1950"]
)
def test_dates_and_minutes_far_from_plan_start_are_rejected(value: Any, tmp_path: Path) -> None:
    t = base_tables()
    t["orders"][1]["deadline"] = value
    path = write(t, "csv", tmp_path)
    one(errors(path), sheet="orders", column="deadline", words=("years from plan start",))


def test_plain_minutes_and_local_dates_still_read(tmp_path: Path) -> None:
    t = base_tables()
    t["orders"][1]["deadline"] = "2026-11-24T14:00"
    t["orders"][2]["deadline"] = 9_000_000  # < 1e7 minutes
    inst = load_instance(write(t, "csv", tmp_path))
    o = {o.id: o for o in inst.orders}
    assert o["O2"].deadline == pytest.approx(32 * 60)  # 06:00 -> 14:00 next day
    assert o["O3"].deadline == 9_000_000


# -- magnitudes -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_huge_minutes_per_piece_is_rejected(fmt: str, tmp_path: Path) -> None:
    t = base_tables()
    t["operations"][0]["minutes_per_piece"] = 1e10
    path = write(t, fmt, tmp_path)
    i = one(errors(path), sheet="operations", column="minutes_per_piece", words=("too large",))
    assert i.row == user_row(path, fmt, "operations", 0)


@pytest.mark.parametrize(
    ("sheet", "idx", "col"),
    [("transport", 0, "SAW"), ("setup_matrices", 0, "oak"), ("operations", 1, "fixed_minutes")],
)
def test_huge_times_are_rejected_everywhere(sheet: str, idx: int, col: str, tmp_path: Path) -> None:
    t = base_tables()
    t[sheet][idx][col] = 2e7
    path = write(t, "csv", tmp_path)
    one(errors(path), sheet=sheet, column=col, words=("too large",))


def test_batch_longer_than_the_horizon_is_rejected(tmp_path: Path) -> None:
    """Each value is sane, the batch is not: 5e5 tables x 4 legs x 0.5 min x ... > 1e7 min."""
    t = base_tables()
    t["orders"][1]["quantity"] = 6_000_000  # TABLE: TOP 2 min/piece on SAW-1 -> 1.2e7 min
    path = write(t, "csv", tmp_path)
    i = one(errors(path), sheet="orders", column="quantity", words=("order O2", "19 years"))
    assert i.row == 3


# -- the CLI --------------------------------------------------------------------------


def test_cli_plan_start_with_offset_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from furnsim.cli import app

    path = write(base_tables(), "yaml", tmp_path)
    res = CliRunner().invoke(app, ["check-data", str(path), "--plan-start", "2026-11-23T06:00Z"])
    assert res.exit_code == 2 and "--plan-start" in res.output and "UTC offset" in res.output
