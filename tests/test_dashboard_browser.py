"""End-to-end in a real browser: the dashboard served by ``streamlit run``, driven by Playwright.

What a planner does, as a planner does it (type, click, wait, reload, two windows):

* plan flow: an early click on *Start scheduling* while the page loads, then goal and
  plan, Gantt tabs, Compare all goals, the Excel download, and a reload that keeps the plan;
  the times a planner feels are printed and written to ``$FURNSIM_TIMINGS`` (JSON) if set
* four quantity edits a few seconds apart all reach the order book and are there after a
  reload; a deadline typed as "friday" stays flagged and is not planned silently
* two windows on one order book: nobody's change is lost, a stale change is refused and said
* an uploaded plant survives a reload; re-importing the week shows a preview and duplicates
  nothing
* the order list CSV neutralises formulas (``=1+1``, ``=HYPERLINK(...)``)

Needs Debian's ``/usr/bin/chromium`` (CI installs it with ``scripts/ci_browser_deps.sh``;
Playwright's own browser download is never used) and the ``playwright`` Python package;
skipped with the reason when either is missing.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboards" / "app.py"
DEMO = ROOT / "bom_data" / "demo" / "plant.xlsx"


def _demo_orders() -> int:
    """Orders in the demo week's workbook (rows of the 'orders' sheet with an id)."""
    import openpyxl

    wb = openpyxl.load_workbook(DEMO, read_only=True)
    try:
        return sum(1 for r in wb["orders"].iter_rows(min_row=2, values_only=True) if r[0])
    finally:
        wb.close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMINGS: dict[str, float] = {}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is absent (scripts/ci_browser_deps.sh)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("furnsim-data")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    pytest.importorskip("streamlit")
    port = _free_port()
    env = {
        **os.environ,
        "FURNSIM_DATA": str(data_dir),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    log = (data_dir / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("streamlit did not start:\n" + (data_dir / "streamlit.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if TIMINGS:
            print("\ndashboard timings (s):", json.dumps(TIMINGS, indent=1))
            out = os.environ.get("FURNSIM_TIMINGS")
            if out:
                Path(out).write_text(json.dumps(TIMINGS, indent=1))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def fresh(server: str, data_dir: Path) -> str:
    """The server with an empty order book: the next page load starts from the demo week."""
    from furnsim.orderbook import OrderBook

    ob = OrderBook(data_dir / "orders.sqlite")
    for p in ob.plants():
        ob.clear(p)
    return server


def _db(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(data_dir / "orders.sqlite", timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _quantities(data_dir: Path) -> dict[str, float]:
    return dict(_db(data_dir, "SELECT order_id, quantity FROM order_book"))  # type: ignore[arg-type]


def _until(cond: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what or cond}")
        time.sleep(0.2)


def _new_page(browser: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(180_000)  # a loaded 2-core machine serves slowly
    return page


def _open(page: Any, url: str) -> None:
    page.goto(url, wait_until="commit")  # then wait for what the planner waits for
    page.get_by_role("button", name="Start scheduling").wait_for(timeout=300_000)
    _settle(page)


def _settle(page: Any, quiet_ms: int = 600) -> None:
    """Wait until the app is not running (no status widget for ``quiet_ms``)."""
    status = page.locator('[data-testid="stStatusWidget"]')
    end = time.monotonic() + 90
    quiet_since = None
    while time.monotonic() < end:
        if status.count() == 0 or not status.first.is_visible():
            quiet_since = quiet_since or time.monotonic()
            if (time.monotonic() - quiet_since) * 1000 >= quiet_ms:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(100)


def _editor(page: Any) -> Any:
    """The order table (the page's first data editor)."""
    return page.locator('[data-testid="stDataFrame"]').first


def _stable_box(page: Any, loc: Any) -> Any:
    """``loc``'s bounding box once it is on screen and has stopped moving (the sections
    above it render after it under load, which moves it down)."""
    prev = None
    end = time.monotonic() + 60
    while True:
        loc.scroll_into_view_if_needed()
        bb = loc.bounding_box()
        if bb is not None and bb == prev:
            return bb
        if time.monotonic() > end:
            raise AssertionError(f"the table does not stop moving: {prev} -> {bb}")
        prev = bb
        page.wait_for_timeout(300)


def _grid_cell(grid: Any, row: int, col: int) -> Any:
    """Cell (row, col) of a table in the grid's accessible table (col 0 = first column; the
    hidden index is column 0 there). Only the rows on screen are in it."""
    return grid.locator(f'td[data-testid="glide-cell-{col + 1}-{row}"]')


def _grid_selected(grid: Any) -> tuple[int, int] | None:
    """The selected cell (row, col) of a table, None when no single cell is selected."""
    ids = grid.locator('td[role="gridcell"][aria-selected="true"]').evaluate_all(
        "els => els.map(e => e.dataset.testid)"
    )
    if len(ids) != 1:
        return None
    c, r = ids[0].split("-")[-2:]
    return int(r), int(c) - 1


def _grid_selection_change(
    page: Any, grid: Any, before: tuple[int, int] | None, timeout: float
) -> tuple[int, int] | None:
    """The table's selected cell once it differs from ``before`` (the grid updates its
    accessible table a moment after a click or a key), or as it is after ``timeout`` s."""
    end = time.monotonic() + timeout
    while True:
        sel = _grid_selected(grid)
        if (sel is not None and sel != before) or time.monotonic() > end:
            return sel
        page.wait_for_timeout(50)


def _grid_type(
    page: Any, grid: Any, row: int, col: int, value: str, row_text: str | None = None,
    commit: str = "Enter",
) -> None:  # fmt: skip
    """Type ``value`` into cell (row, col) of a table (col 0 = first column), as a person
    does: click into the row, arrow to the cell, Enter, type, ``commit`` (Enter or Tab).

    A person looks where the cursor is before typing; so does this: the selected cell is
    read from the grid's accessible table and corrected with the arrow keys, so a table
    that moved under load (a section above it still rendering) cannot take the value into
    another cell. ``row_text``: the row's first cell must read this (the right row)."""
    seen = []
    for _ in range(6):
        _settle(page)
        grid.evaluate("e => e.scrollIntoView({block: 'center'})")  # clear of the fixed header
        bb = _stable_box(page, grid)
        x, y = bb["x"] + 80, bb["y"] + 36 + 17 + 35 * row
        hit = grid.evaluate(
            "(e, [x, y]) => { const h = document.elementFromPoint(x, y);"
            " return e.contains(h) ? '' : (h ? h.tagName + '.' + h.className : 'nothing'); }",
            [x, y],
        )
        if hit:  # something lies over the table there (a toast, a rerun's overlay): wait
            seen.append(f"covered by {hit}")
            page.wait_for_timeout(1000)
            continue
        sel = _grid_selected(grid)
        page.mouse.click(x, y)
        sel = _grid_selection_change(page, grid, sel, 5.0)
        while sel is not None and sel != (row, col):
            dr, dc = row - sel[0], col - sel[1]
            page.keyboard.press(
                "ArrowDown" if dr > 0 else "ArrowUp" if dr < 0
                else "ArrowRight" if dc > 0 else "ArrowLeft"
            )  # fmt: skip
            moved = _grid_selection_change(page, grid, sel, 10.0)
            if moved == sel:
                break  # the key did not reach the table: click again
            sel = moved
        page.wait_for_timeout(300)
        sel = _grid_selected(grid)
        if sel == (row, col):
            break
        active = page.evaluate(
            "() => { const a = document.activeElement; return a ? a.tagName + '#' + a.id : '' }"
        )
        seen.append(f"clicked ({x:.0f}, {y:.0f}) of box {bb}: selected {sel}, focus {active}")
    else:
        raise AssertionError(f"could not select cell ({row}, {col}):\n" + "\n".join(seen))
    if row_text is not None:
        assert _grid_cell(grid, row, 0).text_content() == row_text
    page.keyboard.press("Enter")
    box = page.locator("#portal input, #portal textarea").first
    box.wait_for(timeout=30_000)
    box.fill(value)
    page.keyboard.press(commit)
    box.wait_for(state="hidden", timeout=30_000)


def _edit_cell(page: Any, row: int, col: int, value: str, row_text: str | None = None) -> None:
    """Type ``value`` into the order table's cell (row, col); col 0 = order id."""
    _grid_type(page, _editor(page), row, col, value, row_text)


def _grid_rows(grid: Any) -> list[list[str]]:
    """The rows of a table as it shows them (the rows on screen)."""
    cells = grid.locator('td[role="gridcell"]').evaluate_all(
        "els => els.map(e => [e.dataset.testid, e.textContent])"
    )
    rows: dict[int, dict[int, str]] = {}
    for tid, text in cells:
        c, r = (int(x) for x in tid.split("-")[-2:])
        rows.setdefault(r, {})[c] = text
    return [[v for _, v in sorted(cols.items())] for _, cols in sorted(rows.items())]


def _expand(page: Any, title: str) -> Any:
    """Open the expander ``title`` (again, if a rerun closed it) and return it."""
    exp = (
        page.locator('[data-testid="stExpander"]')
        .filter(has=page.locator("summary", has_text=title))
        .first
    )
    details = exp.locator("details").first
    _until(
        lambda: (
            details.get_attribute("open") is not None
            or (_settle(page), exp.locator("summary").first.click(), False)[-1]
        ),
        90,
        f"expander {title!r} open",
    )
    return exp


def _grid_csv(page: Any, tmp_path: Path) -> str:
    """What the order table shows, through its own toolbar's CSV export (hidden from the
    planner, since it does not neutralise formulas; used here to read the canvas)."""
    page.evaluate("delete window.showSaveFilePicker")
    ed = _editor(page)
    ed.hover()
    button = ed.locator('button[aria-label="Download as CSV"]')
    assert not button.is_visible()
    with page.expect_download() as dl:
        button.dispatch_event("click")
    out = tmp_path / "grid.csv"
    dl.value.save_as(out)
    return out.read_text(encoding="utf-8-sig")


def _chart_meta(page: Any) -> str | None:
    """The plan and view of the chart on screen (the app writes them into ``layout.meta``)."""
    return page.evaluate(
        """() => { const d = [...document.querySelectorAll('.js-plotly-plot')]
                     .filter(e => e.offsetParent !== null)[0];
                   return d && d.layout && d.layout.meta ? String(d.layout.meta) : null; }"""
    )


def _wait_gantt(page: Any, prev: str | None = None) -> None:
    """Wait until a Gantt (bars: filled polygons) is drawn on screen, of another plan than ``prev`` (the chart
    on screen before the click: its old drawing does not count), and painted."""
    page.wait_for_function(
        """(prev) => [...document.querySelectorAll('.js-plotly-plot')].some(d =>
              d.offsetParent !== null && d.querySelector('g.scatterlayer g.trace path.js-fill')
              && (prev === null || String((d.layout || {}).meta || '') !== prev))""",
        arg=prev,
        timeout=300_000,
        polling=50,
    )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")


def test_plan_flow_early_click_tabs_compare_excel_reload(
    fresh: str, browser: Any, tmp_path: Path
) -> None:
    import openpyxl
    from playwright.sync_api import expect

    page = _new_page(browser)
    try:
        # an early click, while the page is still loading: it plans (or says why not)
        t0 = time.perf_counter()
        page.goto(fresh, wait_until="commit")
        page.get_by_role("button", name="Start scheduling").click(timeout=300_000)
        t_click = time.perf_counter()
        page.get_by_text("Valid plan").or_(page.get_by_text("Nothing to plan")).first.wait_for(
            timeout=120_000
        )
        assert page.get_by_text("Valid plan").count() > 0
        _wait_gantt(page)
        TIMINGS["open page + early click -> Gantt drawn"] = time.perf_counter() - t0
        TIMINGS["early click -> Gantt drawn"] = time.perf_counter() - t_click
        assert "ws=" in page.url
        _settle(page, 1500)

        # a planner's first plan in a new window: the page is read for a few seconds (the
        # default settings are planned ahead meanwhile), then Start scheduling
        other = _new_page(browser)
        _open(other, fresh)
        other.get_by_role("button", name="Efficiency").click()
        _settle(other)
        other.wait_for_timeout(5000)
        t_other = time.perf_counter()
        other.get_by_role("button", name="Start scheduling").click()
        other.get_by_text("goal Efficiency").wait_for(timeout=300_000)
        _wait_gantt(other, prev="")
        TIMINGS["first plan: click Start -> Gantt drawn (default method, page read 5 s)"] = (
            time.perf_counter() - t_other
        )
        # one validator badge (a rerun may show the old page's for a moment: wait it out)
        expect(other.get_by_text("Valid plan")).to_have_count(1, timeout=10_000)
        # a quick plan may be shown first (the page says so); the trained policy's plan
        # follows and is checked at the end, while this window stays open
        quick = other.get_by_text("A quick plan is shown").count() > 0

        # another goal, a rule; the planner looks at the page a moment, then plans
        page.get_by_role("button", name="Empty Buffers").click()
        _settle(page)
        page.get_by_text("A dispatching rule").click()
        page.get_by_text("Rule", exact=True).wait_for()
        _settle(page, 2500)
        n_charts = page.locator('[data-testid="stPlotlyChart"]').count()
        prev = _chart_meta(page)
        assert prev, "the Gantt on screen names its plan (layout.meta)"
        t0 = time.perf_counter()
        page.get_by_role("button", name="Start scheduling").click()
        page.get_by_text("goal Empty Buffers").wait_for(timeout=120_000)
        _wait_gantt(page, prev)
        TIMINGS["click Start -> Gantt drawn (rule, another goal)"] = time.perf_counter() - t0
        assert n_charts == 1 and page.locator('[data-testid="stMetric"]').count() >= 6
        _settle(page)

        # tab switches: the figure is built once per plan
        for tab, label in (("Gantt by order", "tab Gantt by order"), ("Buffers", "tab Buffers")):
            t0 = time.perf_counter()
            page.get_by_role("tab", name=tab).click()
            page.locator('[role="tabpanel"]:visible [data-testid="stPlotlyChart"]').first.locator(
                "g.cartesianlayer"
            ).first.wait_for(timeout=60_000)
            TIMINGS[f"{label} -> drawn"] = time.perf_counter() - t0
            _settle(page)
        page.get_by_role("tab", name="Late orders").click()
        panel = page.locator('[role="tabpanel"]:visible')
        panel.get_by_text("No late orders").or_(
            panel.locator('[data-testid="stDataFrame"]')
        ).first.wait_for()
        _settle(page)
        assert page.get_by_text("None", exact=True).count() == 0

        # Excel download
        _settle(page, 1500)
        t0 = time.perf_counter()
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_role("button", name="Download Excel plan (.xlsx)").click()
        out = tmp_path / "plan.xlsx"
        dl.value.save_as(out)
        TIMINGS["click Download Excel -> file"] = time.perf_counter() - t0

        # compare all goals: no crash, and Export is still there
        cmp = _expand(page, "Compare goals")
        cmp.get_by_role("button", name="Compare all goals").click()
        cmp.get_by_role("tab", name="Efficiency").wait_for(timeout=180_000)
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        heads = cmp.locator('th[role="columnheader"]').all_text_contents()
        assert {"Speed", "Efficiency", "Empty Buffers"} <= set(heads), heads
        table = {r[0]: r[1:] for r in _grid_rows(cmp.locator('[data-testid="stDataFrame"]'))}
        assert table["valid"] == ["yes", "yes", "yes"], table
        assert page.get_by_role("button", name="Download Excel plan (.xlsx)").is_visible()

        # the other window: the policy's plan replaced the quick plan when it was better for
        # the goal, or the page says that the quick plan stays
        if quick:
            other.get_by_text("The trained policy's plan is ready").wait_for(timeout=600_000)
            TIMINGS["first plan: click Start -> policy's plan in (other steps meanwhile)"] = (
                time.perf_counter() - t_other
            )
            _wait_gantt(other)
            assert other.get_by_text("A quick plan is shown").count() == 0
            assert other.get_by_text("Valid plan").count() == 1
        other.context.close()

        # a reload shows the same plan
        page.reload()
        page.get_by_text("goal Empty Buffers").wait_for(timeout=60_000)
        _wait_gantt(page)
    finally:
        for ctx in page.context.browser.contexts:
            ctx.close()

    wb = openpyxl.load_workbook(out)
    assert {"Gantt", "Schedule", "Dispatch lists", "KPIs", "Buffers", "Orders"} <= set(
        wb.sheetnames
    )
    kpi = {r[0]: r[1] for r in wb["KPIs"].iter_rows(values_only=True) if r and r[0]}
    assert kpi["goal"] == "empty-buffers"
    assert kpi["valid (independent validator)"] == "yes"
    # generous bounds only: the numbers themselves are printed and reported
    assert TIMINGS["click Download Excel -> file"] < 60


def test_four_edits_persist_and_bad_deadline_stays_flagged(
    fresh: str, browser: Any, data_dir: Path, tmp_path: Path
) -> None:
    page = _new_page(browser)
    try:
        _open(page, fresh)
        before = _quantities(data_dir)
        want = {"SO-1001": 11.0, "SO-1002": 12.0, "SO-1003": 13.0, "SO-1004": 14.0}
        assert all(before[k] != v for k, v in want.items())
        for row, (oid, q) in enumerate(want.items()):
            _edit_cell(page, row, 2, f"{q:g}", row_text=oid)
            page.wait_for_timeout(3000)  # a planner's pace: 3-6 s between edits
        _until(
            lambda: all(_quantities(data_dir)[k] == v for k, v in want.items()),
            30,
            "all four edits in the order book",
        )
        # a deadline typed in a form that is not a date
        _edit_cell(page, 4, 3, "friday", row_text="SO-1005")
        # the warning under the table (the grid's hidden accessible cell, earlier in the
        # page, holds the same text: only a visible match counts)
        page.get_by_text("deadline 'friday' is not a date and time").filter(
            visible=True
        ).first.wait_for()
        _settle(page)
        page.reload()
        page.get_by_role("button", name="Start scheduling").wait_for()
        _settle(page)
        grid = _editor(page)
        grid.evaluate("e => e.scrollIntoView({block: 'center'})")
        shown = _until(  # the grid fills its accessible table once it has drawn
            lambda: (lambda t: t if all(k in t for k in [*want, "SO-1005"]) else None)(
                {r[0]: r for r in _grid_rows(grid)}
            ),
            120,
            "the order table's rows after the reload",
        )
        for oid, q in want.items():
            assert shown[oid][2] == f"{q:g}", shown[oid]
        assert shown["SO-1005"][3] == "friday"  # kept as typed, and still flagged
        assert "is not a date and time" in shown["SO-1005"][6]
        grid = _grid_csv(page, tmp_path)  # the table's own CSV agrees
        assert "friday" in grid and "is not a date and time" in grid
        # planning leaves the row out and says so
        page.get_by_text("A dispatching rule").click()
        page.get_by_text("Rule", exact=True).wait_for()
        _settle(page)
        page.get_by_role("button", name="Start scheduling").click()
        page.get_by_text("1 order was not planned because of a problem in the row").wait_for()
    finally:
        page.context.close()
    assert _quantities(data_dir) == {**before, **want}


def test_two_windows_never_overwrite_each_other(fresh: str, browser: Any, data_dir: Path) -> None:
    a, b = _new_page(browser), _new_page(browser)
    try:
        _open(a, fresh)
        _open(b, fresh)  # both windows show version 1 of the table
        _edit_cell(a, 0, 2, "41", row_text="SO-1001")
        _until(lambda: _quantities(data_dir)["SO-1001"] == 41, 30, "A's edit")
        _settle(a)
        # A adds an order through the form
        a.get_by_text("Add an order").click()
        a.get_by_label("Order id").fill("TWO-A")
        a.get_by_role("button", name="Add order").click()
        a.get_by_text("Order TWO-A added").wait_for()
        _settle(a)
        # B, still showing the old table, edits another row: nothing of A's is lost
        _edit_cell(b, 1, 2, "42", row_text="SO-1002")
        b.get_by_text("changed in another window").first.wait_for()
        _settle(b)
        q = _quantities(data_dir)
        assert q["SO-1001"] == 41 and q["SO-1002"] == 42 and "TWO-A" in q
        # A edits row 2 from its stale view: refused and said, B's value stays
        _edit_cell(a, 1, 2, "43", row_text="SO-1002")
        a.get_by_text("was changed in another window since you loaded it").wait_for()
        _settle(a)
        assert _quantities(data_dir)["SO-1002"] == 42
        assert len(_quantities(data_dir)) == _demo_orders() + 1  # the demo week and the added order
    finally:
        a.context.close()
        b.context.close()


def test_uploaded_plant_survives_reload_and_reimport_previews(
    fresh: str, browser: Any, data_dir: Path, tmp_path: Path
) -> None:
    import openpyxl

    n = _demo_orders()
    wb = openpyxl.load_workbook(DEMO)  # the demo plant with one machine removed
    for ws in wb.worksheets:
        for i in reversed(
            [i for i, r in enumerate(ws.iter_rows(values_only=True), 1) if "SAW-2" in r]
        ):
            ws.delete_rows(i)
    fixed = tmp_path / "plant.xlsx"
    wb.save(fixed)
    page = _new_page(browser)
    try:
        _open(page, fresh)
        page.get_by_text("23 machines").wait_for()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(fixed)
        page.get_by_text("22 machines").wait_for()
        _settle(page)
        page.get_by_text("A dispatching rule").click()
        page.get_by_text("Rule", exact=True).wait_for()
        _settle(page)
        page.get_by_role("button", name="Start scheduling").click()
        page.get_by_text("Valid plan").wait_for(timeout=120_000)
        _settle(page)
        page.reload()
        page.get_by_text("22 machines").wait_for()
        page.get_by_text("Valid plan").wait_for()
        _wait_gantt(page)
        _settle(page)

        # re-import the week's own list: a preview, then nothing duplicated
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download the order list (CSV)").click()
        week = tmp_path / "week.csv"
        dl.value.save_as(week)
        page.get_by_text("Import orders from a file").click()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(1).set_input_files(week)
        page.get_by_text(f"0 new, 0 updated, {n} unchanged, 0 removed").wait_for()
        page.get_by_role("button", name="Apply the import").click()
        page.get_by_text(f"Imported week.csv: 0 new, 0 updated, {n} unchanged").wait_for()
        _settle(page)
        assert page.get_by_text(f"{n} orders, all valid").count() == 1
    finally:
        page.context.close()
    assert len(_quantities(data_dir)) == n


def test_order_csv_neutralises_formulas(fresh: str, browser: Any, tmp_path: Path) -> None:
    import csv

    from playwright.sync_api import expect

    page = _new_page(browser)
    try:
        _open(page, fresh)
        page.get_by_text("Add an order").click()
        n = _demo_orders()
        for k, oid in enumerate(("=1+1", '=HYPERLINK("http://example.com","x")'), start=1):
            # as a person does: type the id, see it in the field, add, read the message for it
            box = page.get_by_label("Order id")
            _settle(page)
            box.fill(oid)
            expect(box).to_have_value(oid)
            page.get_by_role("button", name="Add order").click()
            page.get_by_text(f"Order {oid} added (10 ×").first.wait_for()
            page.get_by_text(f"{n + k} orders, all valid").first.wait_for()
            _settle(page)
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download the order list (CSV)").click()
        out = tmp_path / "orders.csv"
        dl.value.save_as(out)
    finally:
        page.context.close()
    ids = [r["order"] for r in csv.DictReader(io.StringIO(out.read_text()))]
    assert "'=1+1" in ids and '\'=HYPERLINK("http://example.com","x")' in ids
    assert not any(i.startswith(("=", "+", "-", "@")) for i in ids)


def test_gantt_of_a_500_job_week_renders_fast(browser: Any) -> None:
    """Build (Python) + serialize + draw (plotly.js in Chromium) a 3,000-operation Gantt."""
    from plotly.offline import get_plotlyjs

    from furnsim import viz
    from tests.test_viz import run_fifo, week_instance

    inst = week_instance()
    s = run_fifo(inst)
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    try:
        page.set_content('<html><body><div id="g" style="width:1450px"></div></body></html>')
        page.add_script_tag(content=get_plotlyjs())
        t0 = time.perf_counter()
        spec = viz.gantt(s, inst).to_json()
        build = time.perf_counter() - t0
        draw_ms = page.evaluate(
            """async (s) => { const t = performance.now(); const f = JSON.parse(s);
               await Plotly.newPlot('g', f.data, f.layout); return performance.now() - t; }""",
            spec,
        )
        # the bars are a filled path per order colour (and setups, blocked time), not an
        # element per operation: 3,000 operations, a few hundred SVG elements
        fills = page.evaluate(
            "[...document.querySelectorAll('#g g.scatterlayer path.js-fill')]"
            ".filter(p => (p.getAttribute('d') || '').length > 0).length"
        )
        elements = page.evaluate("document.querySelectorAll('#g *').length")
    finally:
        page.close()
    n_polys = sum(1 for tr in json.loads(spec)["data"] if tr.get("fill") == "toself")
    assert fills == n_polys >= len(inst.orders) + 1
    assert elements < 2000, f"{elements} SVG elements for {s.n_ops} operations"
    total = build + draw_ms / 1000
    print(f"500-job Gantt: build+json {build:.2f} s, draw {draw_ms / 1000:.2f} s")
    # ~0.6 s on an idle 2-core machine; the bound only catches an order-of-magnitude
    # regression, so a busy CI machine does not make the test flaky
    assert total < 10.0, f"build {build:.2f} s + draw {draw_ms / 1000:.2f} s"


def test_shift_demo_downtime_edit_replan_scenarios_survive_reload(
    fresh: str, browser: Any, data_dir: Path, tmp_path: Path
) -> None:
    """Working time and re-plan as a planner does them: the shift demo, a downtime edited in
    its table (a bad machine first: the builder's message with sheet/row/column, the plant
    unchanged), plan, downtime marked in the Gantt; then now + a breakdown + a rush order,
    re-plan, stability and both plans side by side, a reload keeps the scenario."""
    from furnsim.io import read_plant
    from furnsim.orderbook import OrderBook

    page = _new_page(browser)
    shots = os.environ.get("FURNSIM_SCREENSHOTS")  # folder: write the docs' screenshots
    try:
        _open(page, fresh)
        t0 = time.perf_counter()
        page.get_by_role("button", name="Use the shift demo").click()
        page.get_by_text("(demo_shifts.xlsx)").wait_for()
        _settle(page)
        TIMINGS["shift demo: click -> loaded"] = time.perf_counter() - t0
        wt = _expand(page, "Working time: shifts, holidays, overtime, downtime")
        downtime = wt.locator('[data-testid="stDataFrame"]').nth(4)
        downtime.wait_for()
        # the edit: CNC-1 down until 14:00 instead of 10:00
        assert downtime.locator('th[role="columnheader"]').all_text_contents() == [
            "machine", "from", "to", "reason"
        ]  # fmt: skip
        _grid_type(page, downtime, 0, 2, "2026-03-04 14:00", row_text="CNC-1", commit="Tab")
        _settle(page)
        t0 = time.perf_counter()
        page.get_by_role("button", name="Apply working time").click()
        page.get_by_text("Edited: press").wait_for(state="detached")
        _settle(page)
        TIMINGS["apply working time -> page ready"] = time.perf_counter() - t0
        alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
        assert not [a for a in alerts if "not applied" in a], alerts
        ws = page.url.split("ws=")[1].split("&")[0]
        raw = OrderBook(data_dir / "orders.sqlite").ws_get(ws, "plant")
        assert raw is not None
        (tmp_path / "edited.xlsx").write_bytes(raw)
        dts = read_plant(tmp_path / "edited.xlsx").plant.downtime
        assert [(d.machine, f"{d.end:%Y-%m-%d %H:%M}") for d in dts] == [
            ("CNC-1", "2026-03-04 14:00")
        ]

        # a machine that does not exist: refused with the builder's words, plant unchanged
        downtime = wt.locator('[data-testid="stDataFrame"]').nth(4)
        _grid_type(page, downtime, 0, 0, "SAW-9", row_text="CNC-1", commit="Tab")
        _settle(page)
        page.get_by_role("button", name="Apply working time").click()
        page.get_by_text("The working time was not applied").wait_for()
        msg = "sheet 'downtime', row 2, column 'machine': unknown machine 'SAW-9'"
        assert page.get_by_text(msg).count() == 1
        assert OrderBook(data_dir / "orders.sqlite").ws_get(ws, "plant") == raw
        _settle(page)

        page.get_by_text("A dispatching rule").click()
        page.get_by_text("Rule", exact=True).wait_for()
        _settle(page)
        t0 = time.perf_counter()
        page.get_by_role("button", name="Start scheduling").click()
        page.get_by_text("Valid plan").wait_for(timeout=120_000)
        _wait_gantt(page)
        TIMINGS["shift demo: click Start -> Gantt drawn (rule)"] = time.perf_counter() - t0
        _settle(page)
        gantt = page.locator('[data-testid="stPlotlyChart"]').first
        assert gantt.locator("text.legendtext", has_text="downtime").count() == 1
        assert gantt.locator("text.legendtext", has_text="closed").count() == 1
        assert page.get_by_text("Overtime").count() >= 1
        assert page.get_by_text("Available time").count() >= 1
        if shots:
            gantt.scroll_into_view_if_needed()
            gantt.screenshot(path=f"{shots}/dashboard-gantt-shifts.png", scale="css")

        # re-plan: now = Tue 10:00, SAW-1 breaks down, a rush order
        page.get_by_text("6 · Re-plan").scroll_into_view_if_needed()
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        # one field at a time, as a person does it: type, leave the field (the date and time
        # inputs send their value when they lose focus), look that the page took it (the
        # caption below the fields), then the next field. Typed back to back, the date was sent
        # only when the hour was clicked, and its re-run raced the hour being typed: in one
        # loaded CI run (2026-12-03) the caption never reached 10:00. Should a field still not
        # take, a person types it again, and so does this test, once.
        for label, value, shown in (
            ("day, Now: date", "03", r"Tue 03\.03\. "),
            ("hour, Now: time", "10", r"Tue 03\.03\. 10:"),
            ("minute, Now: time", "00", r"Tue 03\.03\. 10:00"),
        ):
            caption = page.get_by_text(re.compile(r"^Now \(plan time\): " + shown))
            for attempt in (1, 2):
                seg = page.get_by_role("spinbutton", name=label)
                seg.click()
                page.keyboard.type(value)
                page.keyboard.press("Tab")
                page.get_by_text("6 · Re-plan").click()  # leave the field
                _settle(page)
                try:
                    caption.wait_for(timeout=20_000 if attempt == 1 else 60_000)
                    break
                except PlaywrightTimeout:
                    if attempt == 2:
                        raise
        page.get_by_text("Now (plan time): Tue 03.03. 10:00").wait_for()
        page.get_by_text("Breakdown", exact=True).click()
        _settle(page)
        page.get_by_text("Rush order", exact=True).click()
        _settle(page)
        page.get_by_text("Repair (keep the old order, shift)").click()
        _settle(page)
        name = page.get_by_label("Scenario name")
        name.fill("Tue SAW breakdown + rush")
        page.keyboard.press("Enter")
        _settle(page)
        t0 = time.perf_counter()
        page.get_by_role("button", name="Re-plan", exact=True).click()
        page.get_by_text("moved operations outlined").wait_for(timeout=120_000)
        TIMINGS["click Re-plan (repair) -> both Gantts"] = time.perf_counter() - t0
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        rp = page.locator('[data-testid="stPlotlyChart"]')
        assert rp.count() >= 3  # the plan's Gantt, old and new side by side
        old_g, new_g = rp.nth(rp.count() - 2), rp.last
        for g in (old_g, new_g):  # the breakdown on SAW-1 and the "now" line, in both
            assert g.locator("text.legendtext", has_text="breakdown").count() == 1
            assert g.locator("text.annotation-text", has_text="now Tue 03.03. 10:00").count() == 1
        # in the new plan: what started before now is marked fixed, moved operations outlined
        assert new_g.locator("text.legendtext", has_text="fixed: started before now").count() == 1
        assert old_g.locator("text.legendtext", has_text="fixed").count() == 0
        assert new_g.locator("text.legendtext", has_text="moved (").count() == 1
        docs = json.loads(OrderBook(data_dir / "orders.sqlite").ws_get(ws, "scenarios") or b"[]")
        assert [d["name"] for d in docs] == ["Tue SAW breakdown + rush"]
        assert docs[0]["params"]["now"] == "2026-03-03T10:00"
        assert [e["type"] for e in docs[0]["params"]["events"]] == ["breakdown", "rush_order"]
        assert docs[0]["stability"]["ops_new"] > 0 and docs[0]["stability"]["ops_moved"] > 0
        if shots:
            page.get_by_text("Old plan", exact=True).scroll_into_view_if_needed()
            page.set_viewport_size({"width": 1500, "height": 900})
            page.screenshot(path=f"{shots}/dashboard-replan.png", scale="css")
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_role("button", name="Tue SAW breakdown + rush as Excel").click()
        dl.value.save_as(tmp_path / "scenario.xlsx")

        t0 = time.perf_counter()
        page.reload()
        page.get_by_text("moved operations outlined").wait_for(timeout=120_000)
        TIMINGS["reload -> scenario shown again"] = time.perf_counter() - t0
        assert page.get_by_text("(demo_shifts.xlsx)").count() == 1
    except Exception:
        if shots:
            page.screenshot(path=f"{shots}/failed.png", full_page=True)
        raise
    finally:
        page.context.close()
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "scenario.xlsx", read_only=True)
    orders = [r[0] for r in wb["Orders"].iter_rows(values_only=True)]
    assert any(str(o).startswith("RUSH-") for o in orders)
