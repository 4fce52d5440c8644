"""What a click in the dashboard costs on the demo week: the same package calls the
dashboard makes, wall and CPU seconds each (CPU is the work; wall shows the machine's load).

    python scripts/dashboard_click_cost.py [PLANT_DIR]
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import Any

from furnsim import viz
from furnsim.export import write_schedule_excel
from furnsim.io import load_instance
from furnsim.plan import plan


def _m(label: str, f: Callable[[], Any]) -> Any:
    w, c = time.perf_counter(), time.process_time()
    r = f()
    print(f"{label}: wall {time.perf_counter() - w:.2f} s, cpu {time.process_time() - c:.2f} s")
    return r


def main(path: str = "bom_data/demo") -> None:
    inst = load_instance(path)
    plan(inst, "speed", "rule:EDD")  # warm: imports, compiled tables
    rs = _m(
        "quick plan (ATC + EDD, both validated)",
        lambda: [plan(inst, "speed", m) for m in ("rule:ATC", "rule:EDD")],
    )
    r = min(rs, key=lambda r: r.cost)
    fig = _m("Gantt by machine: build", lambda: viz.gantt(r.schedule, inst, "machine"))
    js = _m("Gantt by machine: JSON", fig.to_json)
    print(f"  JSON size {len(js):,} bytes")
    _m("Gantt by order: build + JSON", lambda: viz.gantt(r.schedule, inst, "order").to_json())
    _m("Buffers: build + JSON", lambda: viz.buffer_figure(r.schedule, inst).to_json())
    _m(
        "Excel workbook",
        lambda: write_schedule_excel(
            r, inst, io.BytesIO(), plan_start=inst.plan_start, slot_minutes=30
        ),
    )
    _m("trained policy's plan (1.5 s search)", lambda: plan(inst, "speed", "ppo", time_limit=1.5))


if __name__ == "__main__":
    main(*sys.argv[1:2])
