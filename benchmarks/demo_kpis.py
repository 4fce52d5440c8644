"""The demo week four ways: working time on/off x bills of materials on/off (issues 11, 12).

Every dispatching rule (but RANDOM) plans each variant once (hard buffers, anticipatory
setups); per goal the cheapest complete plan is reported with its KPIs - what ``furnsim plan
... --method best-rule`` keeps. Every plan is checked by the independent validator.

    python benchmarks/demo_kpis.py            # markdown tables on stdout

Variants (``scripts/make_demo.py``, ``VARIANTS``): ``demo`` (two shifts + assemblies, the
shipped plant), ``demo-assembly`` (the same week 24/7), ``demo_shifts`` (flat articles, two
shifts) and the same week flat and 24/7 (built here, ``without_calendars``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOALS = ("speed", "efficiency", "empty-buffers")


def variants() -> dict[str, Any]:
    from furnsim.io import load_instance

    sys.path.insert(0, str(REPO / "scripts"))
    import make_demo  # noqa: PLC0415

    out = {
        "shifts + BOM (demo)": load_instance(REPO / "bom_data" / "demo" / "plant.yaml"),
        "24/7 + BOM (demo-assembly)": load_instance(
            REPO / "bom_data" / "demo-assembly" / "plant.yaml"
        ),
        "shifts, flat (demo_shifts)": load_instance(
            REPO / "bom_data" / "demo_shifts" / "plant.yaml"
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        make_demo.write_all(make_demo.demo_tables(), Path(tmp), csv_dir=False)
        out["24/7, flat (same week)"] = load_instance(Path(tmp) / "plant.yaml")
    return out


def run(inst: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Per goal the best rule's row; and the rules that deadlocked."""
    from furnsim.goals import cost
    from furnsim.kpi import kpis
    from furnsim.plan import run_rule
    from furnsim.rules import RULES
    from furnsim.validate import validate

    plans = []
    dead = []
    for name in sorted(RULES):
        if name == "RANDOM":
            continue
        s, sim = run_rule(inst, RULES[name])
        if sim.deadlock is not None or not s.complete:
            dead.append(name)
            continue
        plans.append((name, s, kpis(s, inst)))
    best: dict[str, dict[str, Any]] = {}
    for g in GOALS:
        name, s, k = min(plans, key=lambda p: cost(p[1], g, inst))
        assert validate(s, inst) == [], (name, g)
        best[g] = {"rule": name, "cost": cost(s, g, inst), **k}
    return best, dead


def main() -> None:
    rows = []
    for label, inst in variants().items():
        best, dead = run(inst)
        for g, r in best.items():
            rows.append((g, label, r, len(dead)))
        print(f"{label}: deadlocked {dead or 'none'}", file=sys.stderr, flush=True)
    print(
        "| goal | variant | best rule | cost | makespan (min) | total tardiness (min) | late orders "
        "| utilization | setup (min) | blocked (min) | kit waiting (job·min) | rules that deadlock |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for g, label, r, nd in sorted(rows, key=lambda x: GOALS.index(x[0])):
        print(
            f"| {g} | {label} | {r['rule']} | {r['cost']:,.1f} | {r['makespan']:,.0f} | "
            f"{r.get('total_tardiness', 0):,.0f} | {r.get('late_orders', 0):.0f} | "
            f"{r.get('utilization_mean', 0):.3f} | {r.get('total_setup_time', 0):,.0f} | "
            f"{r.get('blocked_time', 0):,.0f} | {r.get('kit_wait_time', 0):,.0f} | {nd} of 19 |"
        )


if __name__ == "__main__":
    main()
