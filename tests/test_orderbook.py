"""The SQLite order book: rows persist per plant, invalid rows are flagged and kept."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from furnsim.errors import DataError
from furnsim.orderbook import (
    Delete,
    Insert,
    OrderBook,
    Update,
    check_rows,
    csv_safe,
    default_path,
    next_order_id,
    orders_to_rows,
    read_order_file,
    rows_to_orders,
)

PS = datetime(2026, 3, 2, 6, 0)
ARTICLES = ["CHAIR", "DESK", "WARDROBE-2D"]


def _row(
    order="SO-1",
    article="CHAIR",
    quantity=10.0,
    deadline=datetime(2026, 3, 4, 14),
    release=None,
    priority=1.0,
):
    return dict(
        order=order,
        article=article,
        quantity=quantity,
        deadline=deadline,
        release=release,
        priority=priority,
    )


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FURNSIM_DATA", str(tmp_path / "fd"))
    assert default_path() == tmp_path / "fd" / "orders.sqlite"
    monkeypatch.delenv("FURNSIM_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "furnsim" / "orders.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "share" / "furnsim" / "orders.sqlite"


def test_round_trip_keeps_invalid_rows_per_plant(tmp_path: Path) -> None:
    book = OrderBook(tmp_path / "sub" / "orders.sqlite")
    rows = [
        _row(),
        _row("SO-2", "SOFA", -3, None, datetime(2026, 3, 2, 8), 2.0),
        _row("SO-3", quantity="ten"),
    ]
    checks = check_rows(rows, ARTICLES, PS)
    book.save("plant A", rows, [c.message for c in checks])
    book.save("plant B", [_row("B-1")])
    again = OrderBook(tmp_path / "sub" / "orders.sqlite")  # a restart
    got = again.load("plant A")
    assert [r["order"] for r in got] == ["SO-1", "SO-2", "SO-3"]
    assert got[0]["deadline"] == datetime(2026, 3, 4, 14) and got[0]["problem"] == ""
    assert got[1]["quantity"] == -3 and got[1]["release"] == datetime(2026, 3, 2, 8)
    assert "unknown article 'SOFA'" in got[1]["problem"] and "more than 0" in got[1]["problem"]
    assert got[2]["quantity"] == "ten" and "not a number" in got[2]["problem"]
    assert [r["order"] for r in again.load("plant B")] == ["B-1"]
    assert again.has("plant A") and not again.has("plant C")
    assert again.plants() == ["plant A", "plant B"]
    again.save("plant A", [])
    assert again.load("plant A") == [] and again.has("plant A")
    again.set_setting("plant B", "plan_start", "2026-03-09 06:00")
    assert again.get_setting("plant B", "plan_start") == "2026-03-09 06:00"
    again.clear("plant B")
    assert not again.has("plant B") and again.get_setting("plant B", "plan_start") is None


def test_check_rows_messages() -> None:
    rows = [
        _row(),
        _row("SO-2", "CHIAR"),  # typo
        _row("SO-3", quantity=-5),
        _row("SO-4", deadline=datetime(2026, 3, 1, 12)),  # before plan start
        _row("SO-4"),  # duplicate id
        _row("SO-6", deadline="next friday"),
        _row("SO-7", deadline=datetime(2026, 3, 3), release=datetime(2026, 3, 4)),
        _row("", article=None, quantity=None, priority=0),
    ]
    c = check_rows(rows, ARTICLES, PS)
    assert c[0].ok
    assert "unknown article 'CHIAR' (did you mean 'CHAIR'?)" in c[1].message
    assert "quantity must be more than 0 (got -5)" in c[2].message
    assert (
        "deadline 2026-03-01 12:00 is in the past (before the plan start 2026-03-02 06:00)"
        in c[3].message
    )
    assert "used more than once" in c[3].message and "used more than once" in c[4].message
    assert "'next friday' is not a date" in c[5].message
    assert "before the release" in c[6].message
    assert {
        "order id is empty",
        "quantity is empty",
        "priority must be more than 0 (got 0)",
    } <= set(c[7].problems)


def test_rows_to_orders_and_back() -> None:
    rows = [_row(release=datetime(2026, 3, 2, 7)), _row("SO-2", deadline=None, priority=None)]
    orders = rows_to_orders(rows, PS)
    assert orders[0].deadline == pytest.approx(2 * 1440 + 8 * 60)
    assert orders[0].release == 60 and orders[0].source.row == 1
    assert math.isinf(orders[1].deadline) and orders[1].priority == 1.0
    back = orders_to_rows(orders, PS)
    assert back[0]["deadline"] == datetime(2026, 3, 4, 14) and back[0]["release"] == datetime(
        2026, 3, 2, 7
    )
    assert back[1]["deadline"] is None and back[1]["release"] is None


def test_read_order_file_csv_keeps_every_row(tmp_path: Path) -> None:
    p = tmp_path / "orders.csv"
    p.write_text(
        "Order;Article;Qty;Deadline;Priority\n"
        "N-1;CHAIR;12;2026-03-04 14:00;1\n"
        "N-2;SOFA;ten;friday;\n"
        ";;;;\n"
        "N-3;DESK;4;600;2\n"
    )
    rows, notes = read_order_file(p, PS)
    assert [r["order"] for r in rows] == ["N-1", "N-2", "N-3"]
    assert rows[0]["quantity"] == 12 and rows[0]["deadline"] == datetime(2026, 3, 4, 14)
    # cells that do not parse are kept as written - never turned into "no deadline"
    assert rows[1]["quantity"] == "ten" and rows[1]["deadline"] == "friday"
    assert rows[2]["deadline"] == datetime(2026, 3, 2, 16)  # 600 minutes after plan start
    assert [(n.row, n.column) for n in notes] == [(3, "quantity"), (3, "deadline")]
    assert "'ten' is not a number" in notes[0].message
    c = check_rows(rows, ARTICLES, PS)
    assert c[0].ok and c[2].ok
    assert "unknown article" in c[1].message
    assert "deadline 'friday' is not a date and time" in c[1].message
    assert "quantity 'ten' is not a number" in c[1].message
    # and the flag survives the order book
    book = OrderBook(tmp_path / "ob.sqlite")
    book.save("P", rows)
    back = book.load("P")
    assert back[1]["deadline"] == "friday"
    assert "not a date" in check_rows(back, ARTICLES, PS)[1].message


def test_read_order_file_xlsx_and_broken_files(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "notes"
    ws = wb.create_sheet("orders")
    ws.append(["order", "article", "quantity", "deadline"])
    ws.append(["X-1", "DESK", 3, datetime(2026, 3, 5, 6)])
    wb.save(tmp_path / "o.xlsx")
    rows, notes = read_order_file(tmp_path / "o.xlsx", PS)
    assert (
        rows
        == [
            {
                "order": "X-1",
                "article": "DESK",
                "quantity": 3.0,
                "deadline": datetime(2026, 3, 5, 6),
                "release": None,
                "priority": None,
            }
        ]
        and notes == []
    )
    (tmp_path / "bad.xlsx").write_bytes(b"this is not a zip file")
    with pytest.raises(DataError) as e:
        read_order_file(tmp_path / "bad.xlsx", PS, display_name="upload.xlsx")
    assert e.value.issues[0].file == "upload.xlsx" and "cannot read" in e.value.issues[0].message
    (tmp_path / "cols.csv").write_text("id,what\n1,2\n")
    with pytest.raises(DataError) as e:
        read_order_file(tmp_path / "cols.csv", PS)
    assert {i.column for i in e.value.issues} == {"article", "quantity"}
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unsupported file type"):
        read_order_file(tmp_path / "x.json", PS)


def test_next_order_id() -> None:
    assert next_order_id(["SO-1058", "SO-1001", "X"]) == "SO-1059"
    assert next_order_id([]) == "SO-0001"
    assert next_order_id(["SO-09", "SO-10"]) == "SO-11"


def test_row_operations_never_overwrite_a_concurrent_change(tmp_path: Path) -> None:
    """Two windows on one table: each saves row operations based on the versions it saw."""
    path = tmp_path / "ob.sqlite"
    OrderBook(path).save("P", [_row("A"), _row("B"), _row("C")])
    win1, win2 = OrderBook(path), OrderBook(path)
    rows1, v1 = win1.snapshot("P")
    rows2, v2 = win2.snapshot("P")
    assert v1 == v2 == 1 and [r["order"] for r in rows1] == ["A", "B", "C"]
    a, b, c = rows1
    # window 2 deletes C and edits B; window 1 (still on version 1) edits A and adds D
    r2 = win2.apply("P", [Delete(c["rid"], c["version"]), Update(b["rid"], {"quantity": 7}, 1)])
    assert r2.version_before == 1 and r2.version == 2 and not r2.conflicts
    r1 = win1.apply("P", [Update(a["rid"], {"quantity": 5}, 1), Insert(_row("D"))])
    assert r1.version_before == 2  # window 1 learns that the table changed underneath
    assert not r1.conflicts and r1.versions[a["rid"]] == 2
    now = {r["order"]: r for r in win1.load("P")}
    assert set(now) == {"A", "B", "D"}  # nobody's change was lost
    assert now["A"]["quantity"] == 5 and now["B"]["quantity"] == 7
    # window 1 now edits B and C from its stale view: both refused, nothing overwritten
    r1 = win1.apply(
        "P",
        [Update(b["rid"], {"quantity": 99}, 1), Update(c["rid"], {"quantity": 1}, 1)],
    )
    assert [(x.reason, x.op.rid) for x in r1.conflicts] == [
        ("changed", b["rid"]),
        ("deleted", c["rid"]),
    ]
    assert r1.conflicts[0].current is not None and r1.conflicts[0].current["quantity"] == 7
    assert not r1.changed and {r["order"]: r["quantity"] for r in win1.load("P")}["B"] == 7
    # the same value as stored is no conflict; deleting a changed row is refused
    r1 = win1.apply("P", [Update(b["rid"], {"quantity": 7.0}, 1), Delete(b["rid"], 1)])
    assert [x.reason for x in r1.conflicts] == ["changed"] and not r1.changed


def test_seed_only_once(tmp_path: Path) -> None:
    a, b = OrderBook(tmp_path / "ob.sqlite"), OrderBook(tmp_path / "ob.sqlite")
    assert a.seed("P", [_row("A"), _row("B")])
    assert not b.seed("P", [_row("A"), _row("B")])  # a second window opening at once
    assert [r["order"] for r in b.load("P")] == ["A", "B"] and b.version("P") == 1


def test_old_layout_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "orders.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE order_rows (plant TEXT NOT NULL, pos INTEGER NOT NULL, order_id TEXT,"
        " article TEXT, quantity REAL, deadline TEXT, release TEXT, priority REAL,"
        " problem TEXT, PRIMARY KEY (plant, pos));"
        "INSERT INTO order_rows VALUES ('P', 1, 'B', 'DESK', 2, NULL, NULL, 1, NULL);"
        "INSERT INTO order_rows VALUES ('P', 0, 'A', 'CHAIR', 1, '2026-03-04 14:00', NULL, 1,"
        " NULL);"
    )
    con.commit()
    con.close()
    book = OrderBook(path)
    rows = book.load("P")
    assert [r["order"] for r in rows] == ["A", "B"] and book.has("P")
    assert rows[0]["deadline"] == datetime(2026, 3, 4, 14)


def test_workspace_values(tmp_path: Path) -> None:
    book = OrderBook(tmp_path / "ob.sqlite")
    assert book.ws_get("w1", "plant") is None
    book.ws_put("w1", "plant", b"\x00bytes")
    assert book.ws_get("w1", "plant") == b"\x00bytes" and book.ws_get("w2", "plant") is None
    book.ws_put("w1", "plant", None)
    assert book.ws_get("w1", "plant") is None


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+49", "'+49"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("SO-1", "SO-1"),
        ("", ""),
        (-2.0, -2.0),
        (None, None),
    ],
)
def test_csv_safe(value: object, safe: object) -> None:
    assert csv_safe(value) == safe
