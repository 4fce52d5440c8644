"""End-to-end in a real browser: the dashboard served by ``streamlit run``, driven by Playwright.

Enters an order, picks a goal, clicks Start scheduling, waits for the Gantt, downloads the
Excel plan and opens it with openpyxl. Needs Debian's ``/usr/bin/chromium`` (CI installs it
with ``scripts/ci_browser_deps.sh``; Playwright's own browser download is never used) and
the ``playwright`` Python package; skipped with the reason when either is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboards" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("streamlit")
    port = _free_port()
    data = tmp_path_factory.mktemp("furnsim-data")
    env = {**os.environ, "FURNSIM_DATA": str(data), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = (data / "streamlit.log").open("w")
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
                pytest.fail("streamlit did not start:\n" + (data / "streamlit.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_order_goal_plan_gantt_excel(server: str, browser: Any, tmp_path: Path) -> None:
    import openpyxl

    page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    try:
        page.set_default_timeout(60_000)
        page.goto(server)
        page.get_by_role("button", name="Start scheduling").wait_for()

        # enter an order through the "Add an order" form
        page.get_by_text("Add an order").click()
        page.get_by_label("Order id").fill("E2E-1")
        page.get_by_label("Quantity").fill("12")
        page.get_by_label("Quantity").press("Tab")
        page.get_by_role("button", name="Add order").click()
        page.get_by_text("Order E2E-1 added").wait_for()

        # a goal and a method, then plan
        page.get_by_role("button", name="Empty Buffers").click()
        page.wait_for_timeout(500)
        page.get_by_text("A dispatching rule").click()
        page.get_by_text("Rule", exact=True).wait_for()
        page.get_by_role("button", name="Start scheduling").click()
        page.get_by_text("Valid plan").wait_for(timeout=120_000)
        gantt = page.locator('[data-testid="stPlotlyChart"]').first
        gantt.locator("g.barlayer").first.wait_for(timeout=60_000)
        assert page.get_by_text("Empty Buffers").count() > 0
        assert page.locator('[data-testid="stMetric"]').count() >= 6

        # Excel download
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_role("button", name="Download Excel plan (.xlsx)").click()
        out = tmp_path / "plan.xlsx"
        dl.value.save_as(out)
    finally:
        page.close()

    wb = openpyxl.load_workbook(out)
    assert {"Gantt", "Schedule", "Dispatch lists", "KPIs", "Buffers", "Orders"} <= set(
        wb.sheetnames
    )
    orders = [r[0] for r in wb["Orders"].iter_rows(min_row=2, values_only=True)]
    assert "E2E-1" in orders
    sched = wb["Schedule"]
    e2e_rows = [r for r in sched.iter_rows(min_row=2, values_only=True) if r[0] == "E2E-1"]
    assert e2e_rows and all(r[10] is not None for r in e2e_rows)  # start datetimes
    kpi = {r[0]: r[1] for r in wb["KPIs"].iter_rows(values_only=True) if r and r[0]}
    assert kpi["goal"] == "empty-buffers"
    assert kpi["valid (independent validator)"] == "yes"


def test_gantt_of_a_500_job_week_renders_in_under_3_s(browser: Any) -> None:
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
        bars = page.evaluate("document.querySelectorAll('#g g.barlayer g.point').length")
    finally:
        page.close()
    assert bars >= 3000
    total = build + draw_ms / 1000
    print(f"500-job Gantt: build+json {build:.2f} s, draw {draw_ms / 1000:.2f} s")
    assert total < 3.0, f"build {build:.2f} s + draw {draw_ms / 1000:.2f} s"
