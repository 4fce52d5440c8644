"""Malformed input: every problem comes back as a DataError naming file, sheet, row, column.

Each case starts from the small valid plant in ``_fixtures.py``, breaks one thing, writes it
as an Excel workbook, a CSV folder and a YAML file, and checks the issue that comes back.
Rows are what the user sees: in Excel and CSV the header is row 1 and the first data row 2;
in YAML the row is the line of the file.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from furnsim.errors import DataError, Issue
from furnsim.io import load_instance, read_orders, read_plant, write_csv_dir, write_workbook

from ._fixtures import (
    BASE_SUMMARY,
    FORMATS,
    Tables,
    base_tables,
    file_of,
    index_of,
    rename_column,
    user_row,
    write,
)


def load_errors(path: Path, orders: Path | None = None) -> list[Issue]:
    with pytest.raises(DataError) as ei:
        load_instance(path, orders=orders)
    assert ei.value.issues, "a DataError must carry at least one issue"
    for i in ei.value.issues:  # every issue says where and what
        assert i.file and i.message
    return ei.value.issues


def find(issues: list[Issue], *, sheet: str, column: str, words: tuple[str, ...]) -> list[Issue]:
    return [
        i
        for i in issues
        if i.sheet == sheet
        and i.column == column
        and all(w.lower() in i.message.lower() for w in words)
    ]


# -- the cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Tables], Any]
    sheet: str
    row: int | str | None  # 0-based data row index after the mutation, "header", or None
    column: str
    words: tuple[str, ...]  # all must appear in the message (case-insensitive)


def setv(sheet: str, idx: int, **values: Any) -> Callable[[Tables], None]:
    def f(t: Tables) -> None:
        t[sheet][idx].update(values)

    return f


def append(sheet: str, row: dict[str, Any]) -> Callable[[Tables], None]:
    def f(t: Tables) -> None:
        t[sheet].append(dict(row))

    return f


def delete_row(sheet: str, **match: Any) -> Callable[[Tables], None]:
    def f(t: Tables) -> None:
        del t[sheet][index_of(t, sheet, **match)]

    return f


def add_matrix_column(t: Tables) -> None:
    for r in t["setup_matrices"]:
        r["beech"] = 3


def dup_first_step(t: Tables) -> None:
    t["operations"].append(dict(t["operations"][0], minutes_per_piece=0.7))


def gap_in_steps(t: Tables) -> None:
    t["operations"][2]["step"] = 4  # SHELF/BOARD steps 1, 2, 4


# fmt: off
CASES = [
    # unknown references
    Case("unknown-wc-of-machine", setv("machines", 2, work_center="EDG"), "machines", 2, "work_center",
         ("unknown work center", "'EDG'", "did you mean 'EDGE'")),
    Case("unknown-wc-of-operation", setv("operations", 1, work_center="EDGER"), "operations", 1, "work_center",
         ("unknown work center", "EDGER")),
    Case("unknown-machine-in-operation", setv("operations", 5, machines="SAW-9"), "operations", 5, "machines",
         ("unknown machine", "SAW-9")),
    Case("machine-of-other-wc", setv("operations", 5, machines="EDGE-1"), "operations", 5, "machines",
         ("EDGE-1", "not in SAW")),
    Case("unknown-machine-in-machine-times", setv("machine_times", 0, machine="SAW-3"), "machine_times", 0,
         "machine", ("unknown machine", "SAW-3")),
    Case("machine-times-no-such-step", setv("machine_times", 0, step=7), "machine_times", 0, "step",
         ("no operation", "step 7")),
    Case("unknown-setup-of-operation", setv("operations", 0, setup="walnut"), "operations", 0, "setup",
         ("unknown setup", "walnut")),
    Case("unknown-initial-setup", setv("machines", 1, initial_setup="teak"), "machines", 1, "initial_setup",
         ("unknown initial setup", "teak")),
    Case("initial-setup-without-matrix", setv("machines", 2, initial_setup="oak"), "machines", 2,
         "initial_setup", ("unknown initial setup", "oak")),
    Case("unknown-setup-matrix", setv("machines", 0, setup_matrix="M-SAWW"), "machines", 0, "setup_matrix",
         ("unknown setup matrix", "did you mean 'M-SAW'")),
    # setup matrices
    Case("matrix-row-without-column",
         append("setup_matrices", {"matrix": "M-SAW", "from_setup": "beech", "neutral": 1, "oak": 1, "pine": 1}),
         "setup_matrices", 3, "from_setup", ("not square", "beech")),
    Case("matrix-column-without-row", add_matrix_column, "setup_matrices", 0, "beech",
         ("not square", "no row")),
    Case("matrix-blank-cell", setv("setup_matrices", 1, pine=None), "setup_matrices", 1, "pine",
         ("oak -> pine", "blank")),
    Case("matrix-negative", setv("setup_matrices", 2, oak=-4), "setup_matrices", 2, "oak",
         ("negative", "-4")),
    Case("matrix-not-a-number", setv("setup_matrices", 2, oak="ten"), "setup_matrices", 2, "oak",
         ("must be a number", "'ten'")),
    Case("matrix-nonzero-diagonal", setv("setup_matrices", 1, oak=3), "setup_matrices", 1, "oak",
         ("diagonal", "0 minutes")),
    Case("matrix-without-neutral", delete_row("setup_matrices", from_setup="neutral"), "setup_matrices", 0,
         "from_setup", ("neutral",)),
    # transport
    Case("transport-missing-pair", setv("transport", 2, DRILL=None), "transport", 2, "DRILL",
         ("EDGE -> DRILL", "missing")),
    Case("transport-missing-row", delete_row("transport", **{"from": "DRILL"}), "transport", None, "from",
         ("no row for 'DRILL'",)),
    Case("transport-negative", setv("transport", 0, SAW=-1), "transport", 0, "SAW", ("negative",)),
    Case("transport-not-a-number", setv("transport", 1, FINISHED="x"), "transport", 1, "FINISHED",
         ("must be a number", "'x'")),
    Case("transport-unknown-location", setv("transport", 3, **{"from": "DRIL"}), "transport", 3, "from",
         ("unknown location", "DRIL")),
    # numbers
    Case("minutes-not-a-number", setv("operations", 3, minutes_per_piece="abc"), "operations", 3,
         "minutes_per_piece", ("must be a number", "'abc'")),
    Case("minutes-negative", setv("operations", 3, minutes_per_piece=-3), "operations", 3, "minutes_per_piece",
         (">= 0", "-3")),
    Case("minutes-missing", setv("operations", 4, minutes_per_piece=None), "operations", 4, "minutes_per_piece",
         ("missing",)),
    Case("operation-takes-no-time", setv("operations", 4, minutes_per_piece=0), "operations", 4,
         "minutes_per_piece", ("no time",)),
    Case("buffer-capacity-negative", setv("work_centers", 1, buffer_capacity=-8), "work_centers", 1,
         "buffer_capacity", ("> 0",)),
    Case("buffer-unit-unknown", setv("work_centers", 1, buffer_unit="litre"), "work_centers", 1, "buffer_unit",
         ("unknown buffer unit", "litre")),
    Case("qty-per-article-zero", setv("components", 1, qty_per_article=0), "components", 1, "qty_per_article",
         ("> 0",)),
    Case("step-not-whole", setv("operations", 4, step=1.5), "operations", 4, "step", ("whole number",)),
    # duplicates
    Case("dup-work-center", append("work_centers", {"work_center": "SAW", "buffer_capacity": 5}), "work_centers",
         3, "work_center", ("duplicate", "SAW", "row")),
    Case("dup-machine", append("machines", {"machine": "SAW-1", "work_center": "SAW"}), "machines", 4, "machine",
         ("duplicate", "SAW-1")),
    Case("dup-article", append("articles", {"article": "SHELF"}), "articles", 2, "article",
         ("duplicate", "SHELF")),
    Case("dup-component", append("components", {"article": "SHELF", "component": "BOARD", "qty_per_article": 1}),
         "components", 4, "component", ("duplicate", "SHELF/BOARD")),
    Case("dup-step", dup_first_step, "operations", 9, "step", ("step 1 appears twice",)),
    Case("dup-order", append("orders", {"order": "O1", "article": "TABLE", "quantity": 1}), "orders", 3, "order",
         ("duplicate", "O1")),
    Case("dup-setting", append("settings", {"key": "name", "value": "again"}), "settings", 2, "key",
         ("duplicate",)),
    # catalog structure
    Case("article-without-components", append("articles", {"article": "CHAIR"}), "articles", 2, "article",
         ("CHAIR", "no components")),
    Case("component-unknown-article",
         append("components", {"article": "CHAIRR", "component": "SEAT", "qty_per_article": 1}), "components",
         4, "article", ("unknown article", "CHAIRR")),
    Case("empty-routing", append("components", {"article": "TABLE", "component": "DRAWER", "qty_per_article": 1}),
         "components", 4, "component", ("TABLE/DRAWER", "no operations")),
    Case("gap-in-steps", gap_in_steps, "operations", 2, "step", ("gap", "step 3 is missing")),
    Case("work-center-without-machine", delete_row("machines", machine="DRILL-1"), "work_centers", 2,
         "work_center", ("DRILL", "no machine")),
    # orders
    Case("deadline-before-release", setv("orders", 1, deadline=30), "orders", 1, "deadline",
         ("before release",)),
    Case("bad-date", setv("orders", 0, deadline="2026-13-45"), "orders", 0, "deadline",
         ("'2026-13-45'", "not a valid date")),
    Case("bad-release", setv("orders", 2, release="next tuesday"), "orders", 2, "release",
         ("not a valid date",)),
    Case("bad-plan-start", setv("settings", 1, value="2026-13-45"), "settings", 1, "value",
         ("plan_start", "not a valid date")),
    Case("quantity-zero", setv("orders", 1, quantity=0), "orders", 1, "quantity", ("quantity must be > 0",)),
    Case("quantity-negative", setv("orders", 1, quantity=-5), "orders", 1, "quantity", ("> 0", "-5")),
    Case("priority-zero", setv("orders", 2, priority=0), "orders", 2, "priority", ("priority must be > 0",)),
    Case("order-unknown-article", setv("orders", 2, article="SHELV"), "orders", 2, "article",
         ("unknown article", "did you mean 'SHELF'")),
    Case("order-article-missing", setv("orders", 0, article=None), "orders", 0, "article", ("missing",)),
    # 1000 shelves = 4000 boards x 0.02 m3 = 80 m3 > SAW buffer of 10 m3
    Case("job-larger-than-buffer", setv("orders", 0, quantity=1000), "orders", 0, "quantity",
         ("buffer capacity", "SAW", "exceeds")),
    # sheets
    Case("missing-sheet", lambda t: t.pop("transport"), "transport", None, "", ("missing",)),
    Case("unknown-sheet", lambda t: t.__setitem__("oders", t["orders"]), "oders", None, "",
         ("unknown sheet", "did you mean 'orders'")),
]
# fmt: on


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed(case: Case, fmt: str, tmp_path: Path) -> None:
    t = base_tables()
    case.mutate(t)
    path = write(t, fmt, tmp_path)
    issues = load_errors(path)
    hits = find(issues, sheet=case.sheet, column=case.column, words=case.words)
    assert hits, f"no issue for {case.sheet}/{case.column} with {case.words}; got:\n" + "\n".join(
        map(str, issues)
    )
    if isinstance(case.row, int):
        want_row: int | None = user_row(path, fmt, case.sheet, case.row)
    elif case.row == "header":
        want_row = 1 if fmt != "yaml" else user_row(path, fmt, case.sheet, 0)
    else:
        want_row = None
    assert any(i.row == want_row for i in hits), (
        f"want row {want_row}, got {[str(i) for i in hits]}"
    )
    assert any(i.file == file_of(path, fmt, case.sheet) for i in hits), [i.file for i in hits]
    # the rendered message carries the location too
    text = str(DataError(hits))
    assert case.sheet in text and (not case.column or case.column in text)


def test_base_fixture_is_valid(tmp_path: Path) -> None:
    for fmt in FORMATS:
        inst = load_instance(write(base_tables(), fmt, tmp_path / fmt))
        assert inst.summary() == BASE_SUMMARY
        # dated and numeric deadlines mean the same in every format
        c = inst.compiled
        assert list(c.job_deadline) == [1920.0, 1920.0, 600.0, 600.0, 2000.0, 2000.0]
        assert list(c.job_release) == [0.0, 0.0, 60.0, 60.0, 0.0, 0.0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_column_typo(fmt: str, tmp_path: Path) -> None:
    path = write(base_tables(), fmt, tmp_path)
    rename_column(path, fmt, "operations", "minutes_per_piece", "minutes_per_pice")
    issues = load_errors(path)
    hits = find(
        issues,
        sheet="operations",
        column="minutes_per_pice",
        words=("unknown column", "did you mean 'minutes_per_piece'"),
    )
    assert hits, "\n".join(map(str, issues))
    want = 1 if fmt != "yaml" else user_row(path, fmt, "operations", 0)
    assert hits[0].row == want
    assert find(
        issues, sheet="operations", column="minutes_per_piece", words=("required column", "missing")
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_header_names_are_forgiving(fmt: str, tmp_path: Path) -> None:
    """`Minutes per piece` and `minutes-per-piece` mean the column minutes_per_piece."""
    path = write(base_tables(), fmt, tmp_path)
    rename_column(path, fmt, "operations", "minutes_per_piece", "Minutes per piece")
    rename_column(path, fmt, "orders", "work_center", "x")  # no such column: harmless
    assert load_instance(path).summary() == BASE_SUMMARY


@pytest.mark.parametrize("fmt", FORMATS)
def test_errors_collected_in_one_pass(fmt: str, tmp_path: Path) -> None:
    t = base_tables()
    t["machines"][2]["work_center"] = "EDG"  # 1
    t["setup_matrices"][2]["oak"] = -4  # 2
    t["orders"][1]["quantity"] = 0  # 3
    path = write(t, fmt, tmp_path)
    issues = load_errors(path)
    assert find(issues, sheet="machines", column="work_center", words=("unknown work center",))
    assert find(issues, sheet="setup_matrices", column="oak", words=("negative",))
    assert find(issues, sheet="orders", column="quantity", words=("> 0",))
    assert len(issues) == 3, "\n".join(map(str, issues))  # and no follow-on noise


def test_decimal_comma_and_semicolons(tmp_path: Path) -> None:
    """A CSV folder saved by a German Excel: `;` separated, decimal comma."""
    folder = write_csv_dir(base_tables(), tmp_path / "plant")
    for f in folder.glob("*.csv"):
        with open(f, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        with open(f, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=";")
            for r in rows:
                w.writerow([re.sub(r"^(-?\d+)\.(\d+)$", r"\1,\2", c) for c in r])
    assert "0,5" in (folder / "operations.csv").read_text(encoding="utf-8")
    inst = load_instance(folder)
    assert inst.summary() == BASE_SUMMARY
    board = inst.catalog.article("SHELF").components[0].routing[0]
    assert board.minutes_per_piece == pytest.approx(0.5)


# -- orders files on their own -----------------------------------------------------------


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_orders_file_unknown_article_and_quantity(ext: str, tmp_path: Path) -> None:
    t = base_tables()
    orders = t.pop("orders")
    orders[1]["article"] = "CHAIR"
    orders[2]["quantity"] = -1
    plant = write(t, "xlsx", tmp_path)
    if ext == "csv":
        opath = write_csv_dir({"orders": orders}, tmp_path / "week") / "orders.csv"
    else:
        opath = write_workbook({"orders": orders}, tmp_path / "week47.xlsx")
    issues = load_errors(plant, orders=opath)
    hit = find(issues, sheet="orders", column="article", words=("unknown article", "CHAIR"))
    assert hit and hit[0].row == 3 and hit[0].file == str(opath)
    hit = find(issues, sheet="orders", column="quantity", words=("> 0",))
    assert hit and hit[0].row == 4 and hit[0].file == str(opath)


def test_orders_file_keeps_its_sheet_name(tmp_path: Path) -> None:
    """An orders workbook whose only sheet is not called `orders` is read, and reported by its name."""
    import openpyxl

    orders = base_tables()["orders"]
    orders[0]["priority"] = 0
    p = write_workbook({"orders": orders}, tmp_path / "week.xlsx", help_sheet=False)
    wb = openpyxl.load_workbook(p)
    wb["orders"].title = "KW47"
    wb.save(p)
    with pytest.raises(DataError) as ei:
        read_orders(p, plan_start=None)
    hits = [i for i in ei.value.issues if i.column == "priority"]
    assert hits and hits[0].row == 2 and hits[0].sheet in ("KW47", "orders")


# -- files that are not plant data at all --------------------------------------------


def _docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return path


FILE_CASES: list[tuple[str, Callable[[Path], Path], tuple[str, ...]]] = [
    ("empty-xlsx", lambda d: _touch(d / "plant.xlsx", b""), ("empty",)),
    ("empty-yaml", lambda d: _touch(d / "plant.yaml", b""), ("empty",)),
    ("blank-yaml", lambda d: _touch(d / "plant.yaml", b"# nothing here\n\n"), ("empty",)),
    ("empty-csv-folder", lambda d: _mkdir(d / "plant"), ("no plant data",)),
    ("pdf", lambda d: _touch(d / "plant.pdf", b"%PDF-1.4\n"), ("unsupported file type", ".pdf")),
    ("docx", lambda d: _docx(d / "plant.docx"), ("unsupported file type", ".docx")),
    ("docx-renamed-xlsx", lambda d: _docx(d / "plant.xlsx"), ("not a readable excel workbook",)),
    (
        "text-named-xlsx",
        lambda d: _touch(d / "plant.xlsx", b"machine,work_center\nSAW-1,SAW\n"),
        ("not an excel workbook", "xlsx"),
    ),
    ("old-xls", lambda d: _touch(d / "plant.xls", b"\xd0\xcf\x11\xe0"), (".xls", ".xlsx")),
    ("missing-file", lambda d: d / "nope.xlsx", ("not found",)),
    (
        "yaml-list",
        lambda d: _touch(d / "plant.yaml", b"- a\n- b\n"),
        ("top level must be a mapping",),
    ),
    (
        "yaml-syntax",
        lambda d: _touch(d / "plant.yaml", b"machines:\n  - {machine: A\n"),
        ("invalid yaml",),
    ),
    ("yaml-binary", lambda d: _touch(d / "plant.yaml", b"\xff\xfe\x00\x01"), ("not a text",)),
]


def _touch(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _mkdir(p: Path) -> Path:
    p.mkdir()
    (p / "readme.txt").write_text("nothing")
    return p


@pytest.mark.parametrize(
    ("make", "words"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES]
)
def test_not_plant_data(
    make: Callable[[Path], Path], words: tuple[str, ...], tmp_path: Path
) -> None:
    path = make(tmp_path)
    issues = load_errors(path)
    assert any(all(w.lower() in i.message.lower() for w in words) for i in issues), "\n".join(
        map(str, issues)
    )
    assert all(i.file == str(path) for i in issues)


def test_empty_csv_file_in_folder(tmp_path: Path) -> None:
    folder = write_csv_dir(base_tables(), tmp_path / "plant")
    (folder / "machines.csv").write_bytes(b"")
    issues = load_errors(folder)
    hit = [i for i in issues if i.sheet == "machines" and "empty" in i.message]
    assert hit and hit[0].file == str(folder / "machines.csv") and hit[0].row == 1


def test_empty_sheet_in_workbook(tmp_path: Path) -> None:
    t = base_tables()
    t["articles"] = []
    path = write(t, "xlsx", tmp_path)
    issues = load_errors(path)
    assert find(issues, sheet="articles", column="", words=("no articles",))


def test_yaml_settings_mapping_and_bad_date(tmp_path: Path) -> None:
    """In YAML, settings may be a mapping; an impossible date is an issue at its line, not a crash."""
    t = base_tables()
    path = write(t, "yaml", tmp_path)
    text = path.read_text(encoding="utf-8")
    text = re.sub(
        r"settings:\n(- .*\n)+",
        "settings:\n  name: fixture\n  plan_start: 2026-13-45 06:00\n",
        text,
    )
    path.write_text(text, encoding="utf-8")
    issues = load_errors(path)
    hit = find(issues, sheet="settings", column="value", words=("plan_start", "not a valid date"))
    assert hit and hit[0].row == text.splitlines().index("  plan_start: 2026-13-45 06:00") + 1


def test_read_plant_without_orders(tmp_path: Path) -> None:
    t = base_tables()
    t.pop("orders")
    data = read_plant(write(t, "yaml", tmp_path))
    assert data.orders == [] and data.name == "fixture"
    assert str(data.plan_start) == "2026-11-23 06:00:00"


# -- the command line -----------------------------------------------------------------


def _cli() -> Any:
    from typer.testing import CliRunner

    from furnsim.cli import app

    return CliRunner(), app


def test_cli_check_data_bad_input(tmp_path: Path) -> None:
    runner, app = _cli()
    t = base_tables()
    t["operations"][3]["minutes_per_piece"] = "abc"
    t["machines"][2]["work_center"] = "EDG"
    path = write(t, "xlsx", tmp_path)
    res = runner.invoke(app, ["check-data", str(path)])
    assert res.exit_code == 2, res.output
    out = res.output
    assert "Traceback" not in out
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert (
        "plant.xlsx" in out
        and "'operations'" in out
        and "row 5" in out
        and "'minutes_per_piece'" in out
    )
    assert "'machines'" in out and "row 4" in out and "unknown work center" in out


def test_cli_check_data_bad_input_json(tmp_path: Path) -> None:
    runner, app = _cli()
    t = base_tables()
    t["orders"][0]["deadline"] = "2026-13-45"
    path = write(t, "csv", tmp_path)
    res = runner.invoke(app, ["check-data", str(path), "--json"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    data = json.loads(res.output)
    assert data["valid"] is False
    err = next(e for e in data["errors"] if e["column"] == "deadline")
    assert err["file"].endswith("orders.csv") and err["sheet"] == "orders" and err["row"] == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_check_data_good_input(fmt: str, tmp_path: Path) -> None:
    runner, app = _cli()
    path = write(base_tables(), fmt, tmp_path)
    res = runner.invoke(app, ["check-data", str(path)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["check-data", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["valid"] is True
    for key, value in BASE_SUMMARY.items():
        assert data[key] == value


def test_cli_check_data_not_a_workbook(tmp_path: Path) -> None:
    runner, app = _cli()
    p = _touch(tmp_path / "plant.xlsx", b"this is text")
    res = runner.invoke(app, ["check-data", str(p)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "plant.xlsx" in res.output
