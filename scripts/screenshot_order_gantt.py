"""Screenshot of the demo week's order Gantt (BOM tree), the figure the dashboard draws.

Usage: python scripts/screenshot_order_gantt.py OUT.png [PLANT]  (chromium at /usr/bin/chromium)
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from furnsim import viz
from furnsim.io import load_instance
from furnsim.plan import plan

inst = load_instance(sys.argv[2] if len(sys.argv) > 2 else "bom_data/demo")
res = plan(inst, "speed", "rule:ATC")
sched = res.schedule
fig = viz.gantt(
    sched, inst, by="order", title="Demo week by order: components → assemblies (ATC, speed)"
)
fig.update_layout(width=1500)
html = Path("/tmp/shot/order.html")
fig.write_html(html, include_plotlyjs=True, full_html=True)
with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    pg = b.new_page(viewport={"width": 1500, "height": 1100})
    pg.goto(html.as_uri())
    pg.wait_for_selector(".main-svg")
    pg.wait_for_timeout(1500)
    pg.screenshot(path=sys.argv[1], clip={"x": 0, "y": 0, "width": 1500, "height": 1100})
    b.close()
print("ok", res.method if hasattr(res, "method") else "", getattr(res, "valid", None))
