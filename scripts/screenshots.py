"""Screenshots for the docs: the dashboard's result page and the Excel Gantt.

    python scripts/screenshots.py            # both
    python scripts/screenshots.py --only dashboard|excel
    python scripts/screenshots.py --measure  # time Start scheduling -> Gantt, 500-job week

* ``docs/img/dashboard.png`` - ``streamlit run dashboards/app.py`` on a free local port,
  Playwright with Debian's ``/usr/bin/chromium`` (headless): pick a goal, Start scheduling,
  wait for the Gantt, screenshot the page.
* ``docs/img/excel_gantt.png`` - the demo week planned, exported with
  ``furnsim.export.write_schedule_excel``, the *Gantt* sheet printed by LibreOffice headless
  (``libreoffice --headless --convert-to pdf``) and the first page rasterized by
  ``pdftoppm -png``: what a planner gets on paper.

Needs: ``playwright`` (pip), ``/usr/bin/chromium``, ``libreoffice`` and ``pdftoppm``
(``apt-get install chromium libreoffice-calc poppler-utils``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _dashboard_page(data: str, height: int) -> Iterator[Any]:
    """Serve the dashboard on a free port (order book in ``data``); yield a Chromium page on it."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "FURNSIM_DATA": data}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboards" / "app.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1500, "height": height})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_role("button", name="Start scheduling").wait_for()
            yield page
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def dashboard_png(out: Path, goal: str = "Speed") -> None:
    with tempfile.TemporaryDirectory() as data, _dashboard_page(data, 1000) as page:
        page.get_by_role("button", name=goal, exact=True).click()
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Start scheduling").click()
        t0 = time.perf_counter()
        page.locator('[data-testid="stPlotlyChart"] g.scatterlayer path.js-fill').first.wait_for()
        print(f"plan + Gantt in the browser: {time.perf_counter() - t0:.1f} s")
        page.wait_for_timeout(1500)
        page.get_by_text("4 · Plan").scroll_into_view_if_needed()
        # the result section: from its heading to the end of the Gantt
        top = page.get_by_text("4 · Plan").bounding_box()
        chart = page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
        assert top and chart
        page.set_viewport_size({"width": 1500, "height": int(chart["y"] + chart["height"]) + 40})
        page.screenshot(
            path=str(out),
            full_page=True,
            clip={"x": 0, "y": top["y"] - 10, "width": 1500,
                  "height": min(1400, chart["y"] + chart["height"] - top["y"] + 30)},
        )  # fmt: skip
    print(f"wrote {out}")


def excel_png(out: Path, slot_minutes: int = 60) -> None:
    import openpyxl

    from furnsim.export import write_schedule_excel
    from furnsim.io import load_instance
    from furnsim.plan import plan

    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        raise SystemExit(
            "needs libreoffice and pdftoppm (apt-get install libreoffice-calc poppler-utils)"
        )
    inst = load_instance(ROOT / "bom_data" / "demo")
    res = plan(inst, "speed", "best-rule")
    with tempfile.TemporaryDirectory() as d:
        full = Path(d) / "plan.xlsx"
        t0 = time.perf_counter()
        write_schedule_excel(res, inst, full, slot_minutes=slot_minutes)
        print(f"excel export of the demo week: {time.perf_counter() - t0:.2f} s")
        # print only the Gantt sheet
        wb = openpyxl.load_workbook(full)
        for name in wb.sheetnames:
            if name != "Gantt":
                del wb[name]
        gantt = Path(d) / "gantt.xlsx"
        wb.save(gantt)
        subprocess.run(
            [soffice, "--headless", "--convert-to", "pdf", "--outdir", d, str(gantt)],
            check=True, capture_output=True, timeout=300,
            env={**os.environ, "HOME": d},
        )  # fmt: skip
        pdf = Path(d) / "gantt.pdf"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(Path(d) / "page")],
            check=True, timeout=120,
        )  # fmt: skip
        shutil.copyfile(Path(d) / "page.png", out)
    print(f"wrote {out}")


_JS_FIRST_BAR = """() => { const g = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!g || !g.data) return null; const b = g.data[0].x, y = g.data[0].y; let h = '';
  for (let i = 0; i < b.length; i += 97) h += String(b[i]) + String(y[i]);
  return h + '|' + b.length; }"""


def measure_dashboard(jobs: int = 500, rules: tuple[str, ...] = ("SPT", "ATC", "EDD")) -> None:
    """Time "Start scheduling" -> Gantt redrawn in the browser for a ``jobs``-job week.

    The week: ``furnsim generate --plant bom_data/demo --jobs N`` orders imported through the
    dashboard's import box. Each rule re-plans the week (a new schedule) and the clock stops
    when the browser holds the new Gantt's data and has painted a frame.
    """
    from furnsim.generate import generate_to_dir

    with tempfile.TemporaryDirectory() as data:
        orders = generate_to_dir(
            Path(data) / "week", jobs=jobs, seed=7, plant=ROOT / "bom_data" / "demo"
        )[0]
        with _dashboard_page(data, 1100) as page:
            page.get_by_text("Import orders from a file").click()
            page.locator('input[type="file"]').nth(1).set_input_files(str(orders))
            page.get_by_text("replace the table").click()  # the preview, then apply
            page.get_by_role("button", name="Apply the import").click()
            page.get_by_text("Imported").first.wait_for()
            page.get_by_text("A dispatching rule").click()
            page.get_by_text("Rule", exact=True).wait_for()
            page.get_by_role("button", name="Start scheduling").click()
            page.locator(
                '[data-testid="stPlotlyChart"] g.scatterlayer path.js-fill'
            ).first.wait_for()
            page.wait_for_timeout(1000)
            for rule in rules:
                before = page.evaluate(_JS_FIRST_BAR)
                page.locator('[data-testid="stSelectbox"]').filter(has_text="Rule").click()
                page.keyboard.type(rule)
                page.keyboard.press("Enter")
                page.wait_for_timeout(800)
                t0 = time.perf_counter()
                page.get_by_role("button", name="Start scheduling").click()
                page.wait_for_function(
                    f"(b) => {{ const v = ({_JS_FIRST_BAR})(); return v !== null && v !== b; }}",
                    arg=before,
                )
                page.wait_for_function(
                    "() => new Promise(r => requestAnimationFrame(() => r(true)))"
                )
                dt = time.perf_counter() - t0
                badge = page.get_by_text("Valid plan").first.inner_text()
                n_ops = (page.evaluate(_JS_FIRST_BAR) or "|?").split("|")[1]
                print(f"rule:{rule}: click -> Gantt of {n_ops} operations redrawn in {dt:.2f} s "
                      f"(planning itself: {badge.rsplit('·', 1)[-1].strip()})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["dashboard", "excel"])
    ap.add_argument(
        "--measure", action="store_true", help="only time plan -> Gantt in the browser (500 jobs)"
    )
    args = ap.parse_args()
    if args.measure:
        measure_dashboard()
        return
    IMG.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "dashboard"):
        dashboard_png(IMG / "dashboard.png")
    if args.only in (None, "excel"):
        excel_png(IMG / "excel_gantt.png")


if __name__ == "__main__":
    main()
