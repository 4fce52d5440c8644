"""Where the seconds of a dashboard click go, measured in a real browser.

Starts ``streamlit run dashboards/app.py`` (empty data folder: the demo week), opens it in
headless Chromium (/usr/bin/chromium, Playwright) and, for each step a planner takes (plan
with a rule, plan with the default method, switch tabs, download Excel), records:

* wall time from the click to the drawn figure (as the browser test measures it),
* the websocket: messages and bytes the server sent, and when the last one arrived,
* the renderer's work from Chrome's own counters (``Performance.getMetrics`` in thread
  ticks: the main thread's CPU seconds ``ThreadTime``, script, layout, style recalculation,
  task time; ``ProcessTime``: the whole renderer process),
* the server's script-run seconds (``FURNSIM_DASH_TIMING``: per-section times),
* the figure's size: traces, points, shapes, JSON bytes, SVG elements,
* optionally (``--cpu-profile``) the renderer's JavaScript self time by function/file.

    python scripts/dashboard_browser_profile.py [--repeat 2] [--cpu-profile]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboards" / "app.py"
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


class Probe:
    """Websocket frames and Chrome's performance counters around one step."""

    def __init__(self, page: Any, log: Path, cpu_profile: bool) -> None:
        self.page, self.log, self.cpu = page, log, cpu_profile
        self.frames: list[tuple[float, int]] = []
        self.sent: list[tuple[float, int]] = []
        self.cdp = page.context.new_cdp_session(page)
        # thread ticks: the durations and ThreadTime are the main thread's CPU time, which a
        # busy machine disturbs much less than wall time
        self.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        if cpu_profile:
            self.cdp.send("Profiler.enable")
            self.cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        page.on("websocket", self._ws)

    def _ws(self, ws: Any) -> None:
        ws.on(
            "framereceived",
            lambda p: self.frames.append((time.perf_counter(), len(p) if p else 0)),
        )
        ws.on("framesent", lambda p: self.sent.append((time.perf_counter(), len(p) if p else 0)))

    def metrics(self) -> dict[str, float]:
        m = self.cdp.send("Performance.getMetrics")["metrics"]
        return {x["name"]: x["value"] for x in m}

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.w0 = time.time()
        self.n_frames = len(self.frames)
        self.n_sent = len(self.sent)
        self.m0 = self.metrics()
        self.log_pos = self.log.stat().st_size
        if self.cpu:
            self.cdp.send("Profiler.start")

    def stop(self, label: str) -> dict[str, Any]:
        t1 = time.perf_counter()
        m1 = self.metrics()
        fr = [f for f in self.frames[self.n_frames :] if f[0] <= t1]
        runs = [
            line
            for line in self.log.read_text(errors="replace")[self.log_pos :].splitlines()
            if line.startswith("furnsim-dash run")
        ]
        out: dict[str, Any] = {
            "step": label,
            "wall_s": round(t1 - self.t0, 3),
            "load": _load(),
            "ws_messages": len(fr),
            "ws_bytes": sum(n for _, n in fr),
            "ws_largest": max((n for _, n in fr), default=0),
            "last_ws_message_at_s": round(fr[-1][0] - self.t0, 3) if fr else None,
            "largest_ws_message_at_s": (
                round(max(fr, key=lambda f: f[1])[0] - self.t0, 3) if fr else None
            ),
            # the browser's first message after the click (the click reaching the server)
            "first_sent_at_s": (
                round(self.sent[self.n_sent][0] - self.t0, 3)
                if len(self.sent) > self.n_sent
                else None
            ),
            "renderer": {
                k: round(m1.get(k, 0) - self.m0.get(k, 0), 3)
                for k in (
                    "TaskDuration",
                    "ScriptDuration",
                    "LayoutDuration",
                    "RecalcStyleDuration",
                    "ProcessTime",
                    "ThreadTime",
                )
            },
            "server_runs": [_began(line, self.w0) for line in runs],
        }
        if self.cpu:
            prof = self.cdp.send("Profiler.stop")["profile"]
            out["js_self_ms"] = _self_time(prof)
        return out


def _began(line: str, w0: float) -> str:
    """'furnsim-dash run ... @<epoch>' -> the run's start in seconds after the click."""
    head, _, at = line.rpartition(" @")
    try:
        return f"{head} (began {float(at) - w0:+.2f} s after the click)"
    except ValueError:
        return line


def _self_time(prof: dict[str, Any], top: int = 15) -> list[tuple[str, float]]:
    nodes = {n["id"]: n for n in prof["nodes"]}
    deltas = prof["timeDeltas"]
    acc: dict[str, float] = defaultdict(float)
    for sid, dt in zip(prof["samples"], deltas, strict=False):
        cf = nodes[sid]["callFrame"]
        url = cf.get("url", "").rsplit("/", 1)[-1][:40]
        acc[f"{cf.get('functionName') or '(anon)'} @ {url}"] += dt / 1000.0
    return [(k, round(v, 1)) for k, v in sorted(acc.items(), key=lambda kv: -kv[1])[:top]]


def _settle(page: Any, quiet_ms: int = 800) -> None:
    status = page.locator('[data-testid="stStatusWidget"]')
    quiet = None
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if status.count() == 0 or not status.first.is_visible():
            quiet = quiet or time.monotonic()
            if (time.monotonic() - quiet) * 1000 >= quiet_ms:
                return
        else:
            quiet = None
        page.wait_for_timeout(100)


def _fig_stats(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => ({
            traces: (d.data || []).length,
            points: (d.data || []).reduce((a, t) => a + ((t.y || t.x || []).length || 0), 0),
            shapes: ((d.layout || {}).shapes || []).length,
            json_bytes: JSON.stringify({data: d.data, layout: d.layout}).length,
            meta: (d.layout || {}).meta || null,
            dom_bars: d.querySelectorAll('g.point').length,
            svg_elements: d.querySelectorAll('*').length,
            visible: d.offsetParent !== null,
        }))"""
    )


def _mark(page: Any) -> None:
    """Remember the figure on screen now (its data object), so that ``_drawn`` waits for
    another one."""
    page.evaluate(
        """() => { const d = [...document.querySelectorAll('.js-plotly-plot')]
                       .filter(e => e.offsetParent !== null)[0];
                   window.__prevData = d ? d.data : null; }"""
    )


def _drawn(page: Any, panel: bool = False) -> None:
    """Wait for a drawn plotly figure other than the one ``_mark`` remembered, then for
    the next frame to be painted."""
    sel = '[role="tabpanel"] .js-plotly-plot' if panel else ".js-plotly-plot"
    page.wait_for_function(
        """(sel) => { const d = [...document.querySelectorAll(sel)]
                .filter(e => e.offsetParent !== null)[0];
            return d && d.data && d.data !== window.__prevData
                && d.querySelector('g.trace'); }""",
        arg=sel,
        timeout=90_000,
        polling=50,
    )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cpu-profile", action="store_true")
    ap.add_argument("--out", default=None, help="write the records as JSON here")
    ap.add_argument("--app", default=str(APP), help="the app to profile (another checkout's)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="furnsim-prof-"))
    log = data / "streamlit.log"
    port = _free_port()
    env = {
        **os.environ,
        "FURNSIM_DATA": str(data),
        "FURNSIM_DASH_TIMING": "1",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", args.app, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none"],
        cwd=Path(args.app).resolve().parents[1], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    rec: list[dict[str, Any]] = []
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as pw:
            b = pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            ctx = b.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
            page = ctx.new_page()
            page.set_default_timeout(300_000)
            probe = Probe(page, log, args.cpu_profile)
            probe.start()
            page.goto(url)
            page.get_by_role("button", name="Start scheduling").wait_for()
            _settle(page, 1500)
            rec.append(probe.stop("open page -> ready"))

            def step(label: str, act: Any, wait: Any) -> None:
                _settle(page, 1500)
                _mark(page)
                probe.start()
                act()
                wait()
                r = probe.stop(label)
                t = time.perf_counter()
                _settle(page, 300)
                r["until_idle_s"] = round(r["wall_s"] + time.perf_counter() - t - 0.3, 3)
                m = probe.metrics()
                cpu = m.get("ProcessTime", 0) - probe.m0.get("ProcessTime", 0)
                r["renderer_cpu_until_idle_s"] = round(cpu, 3)
                main = m.get("ThreadTime", 0) - probe.m0.get("ThreadTime", 0)
                r["main_thread_cpu_until_idle_s"] = round(main, 3)
                r["figures"] = _fig_stats(page)
                rec.append(r)
                print(json.dumps(r), flush=True)

            # the default method: the first click shows the quick plan (planned ahead)
            step(
                "first click Start (default method: quick plan) -> Gantt drawn",
                lambda: page.get_by_role("button", name="Start scheduling").click(),
                lambda: (page.get_by_text("Valid plan").wait_for(), _drawn(page)),
            )
            page.get_by_text("A dispatching rule").click()
            _settle(page)
            goals = ["Speed", "Efficiency", "Empty Buffers"]
            rules = ["SPT", "ATC", "MWKR", "LPT", "CR"]
            for i in range(args.repeat):
                g, rule = goals[i % 3], rules[i % len(rules)]
                step(
                    f"click goal {g} (a rerun, the same chart) -> page idle",
                    lambda g=g: page.get_by_role("button", name=g).click(),
                    lambda: _settle(page, 300),
                )
                page.locator('[data-testid="stSelectbox"]').filter(has_text="Rule").click()
                page.get_by_role("option", name=rule, exact=True).click()
                _settle(page)
                step(
                    f"click Start (rule {rule}), goal {g} -> Gantt drawn",
                    lambda: page.get_by_role("button", name="Start scheduling").click(),
                    lambda g=g: (
                        page.get_by_text("Valid plan").filter(has_text=f"goal {g}").wait_for(),
                        _drawn(page),
                    ),
                )
                for tab in ("Gantt by order", "Buffers", "Gantt by machine"):
                    step(
                        f"tab {tab} -> drawn",
                        lambda tab=tab: page.get_by_role("tab", name=tab).click(),
                        lambda: _drawn(page, panel=True),
                    )

            def dl() -> None:
                with page.expect_download() as d:
                    page.get_by_role("button", name="Download Excel plan (.xlsx)").click()
                d.value.path()

            step("click Download Excel -> file", dl, lambda: None)
            b.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if args.out:
        Path(args.out).write_text(json.dumps(rec, indent=1))
    _summary(rec)


def _summary(rec: list[dict[str, Any]]) -> None:
    """Medians per step (a step repeated with --repeat): wall, the renderer main thread's CPU
    until idle (load-independent), bytes sent, the visible chart's SVG elements."""
    from statistics import median

    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rec:
        if "main_thread_cpu_until_idle_s" in r:
            by[
                r["step"].split(" (")[0] if r["step"].startswith("click Start") else r["step"]
            ].append(r)
    print(
        f"\n{'step':58s} {'n':>2s} {'wall s':>7s} {'main CPU s':>10s} {'sent KB':>8s} {'SVG el.':>7s}"
    )
    for step, rs in by.items():
        vis = [f for f in rs[-1].get("figures", []) if f.get("visible")]
        print(
            f"{step[:58]:58s} {len(rs):2d} {median(r['wall_s'] for r in rs):7.2f} "
            f"{median(r['main_thread_cpu_until_idle_s'] for r in rs):10.3f} "
            f"{median(r['ws_bytes'] for r in rs) / 1000:8.0f} "
            f"{vis[0]['svg_elements'] if vis else 0:7d}"
        )
    print(f"load average now: {_load()}")


if __name__ == "__main__":
    main()
