"""Evaluation harness: methods × instances -> KPIs, cost, validity, time, and a summary.

Every method is run through :func:`furnsim.plan.plan` and scored by the same cost on the
same validated schedule, so rules, CP-SAT, the LNS optimizer (`lns`) and learned policies
compare like for like.
"""

from __future__ import annotations

import glob
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["evaluate", "expand_instances", "summary_markdown"]


def expand_instances(patterns: Sequence[str] | str) -> list[Path]:
    """Glob patterns (comma-separated or a list) -> sorted existing paths."""
    if isinstance(patterns, str):
        patterns = [p for p in patterns.split(",") if p.strip()]
    out: list[Path] = []
    for pat in patterns:
        hits = sorted(glob.glob(pat.strip()))
        out.extend(Path(h) for h in (hits or ([pat.strip()] if Path(pat.strip()).exists() else [])))
    return out


def evaluate(
    instances: Sequence[str | Path],
    methods: Sequence[str],
    goal: str = "speed",
    *,
    buffers: str = "hard",
    seed: int = 0,
    time_limit: float | None = None,
    orders: str | Path | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    **options: Any,
) -> Any:
    """Run every method on every instance; return a pandas DataFrame (one row per pair)."""
    import pandas as pd

    from furnsim.errors import DataError
    from furnsim.io import load_instance
    from furnsim.plan import plan

    rows: list[dict[str, Any]] = []
    for path in instances:
        try:
            inst = load_instance(path, orders=orders)
        except DataError as e:
            err = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
            rows.append(
                {
                    "instance": str(path),
                    "method": "",
                    "valid": False,
                    "cost": math.nan,
                    "time_s": 0.0,
                    "error": err,
                }
            )
            continue
        for method in methods:
            res = plan(
                inst, goal, method, buffers=buffers, seed=seed, time_limit=time_limit, **options
            )
            row: dict[str, Any] = {
                "instance": inst.name,
                "path": str(path),
                "method": method,
                "method_used": res.method,
                "fallback": res.fallback or "",
                "goal": res.goal,
                "cost": res.cost,
                "valid": res.valid,
                "violations": len(res.violations),
                "time_s": round(res.wall_time, 4),
                **{k: v for k, v in res.kpis.items() if isinstance(v, int | float)},
            }
            for key in ("lower_bound", "status", "gap"):
                if key in res.details:
                    row[key] = res.details[key]
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return pd.DataFrame(rows)


def summary_markdown(df: Any, reference: str | None = None) -> str:
    """Best method per instance, and each method's mean cost ratio to ``reference``."""
    if df.empty or "cost" not in df:
        return "(no results)\n"
    ok = df[df["valid"]].copy()
    methods = list(dict.fromkeys(df["method"]))
    reference = reference or methods[0]
    lines = ["| instance | best method | best cost | " + " | ".join(methods) + " |"]
    lines.append("|" + "---|" * (3 + len(methods)))
    ratios: dict[str, list[float]] = {m: [] for m in methods}
    for inst, g in df.groupby("instance", sort=False):
        gv = g[g["valid"]]
        best = gv.loc[gv["cost"].idxmin()] if not gv.empty else None
        ref = gv[gv["method"] == reference]["cost"]
        cells = []
        for m in methods:
            r = g[g["method"] == m]
            if r.empty:
                cells.append("")
                continue
            c = float(r["cost"].iloc[0])
            cells.append(f"{c:.6g}" + ("" if bool(r["valid"].iloc[0]) else " (invalid)"))
            if not ref.empty and bool(r["valid"].iloc[0]) and float(ref.iloc[0]) > 0:
                ratios[m].append(c / float(ref.iloc[0]))
        lines.append(
            f"| {inst} | {best['method'] if best is not None else '-'} | "
            f"{best['cost']:.6g} | " + " | ".join(cells) + " |"
            if best is not None
            else f"| {inst} | - | - | " + " | ".join(cells) + " |"
        )
    lines.append("")
    lines.append(
        f"Mean cost ratio to `{reference}` (lower is better; geometric mean over instances):"
    )
    lines.append("")
    # gap to the best lower bound known for the instance (from CP-SAT runs in the table)
    lb: dict[str, float] = {}
    if "lower_bound" in df:
        for inst, g in df.groupby("instance", sort=False):
            vals = [
                float(x)
                for x in g["lower_bound"]
                if isinstance(x, int | float) and math.isfinite(float(x))
            ]
            if vals:
                lb[str(inst)] = max(vals)
    head = "| method | ratio | instances | mean time (s) |" + (
        " mean gap to lower bound |" if lb else ""
    )
    lines.append(head)
    lines.append("|---|---|---|---|" + ("---|" if lb else ""))
    for m in methods:
        rs = ratios[m]
        gm = (
            math.exp(sum(math.log(x) for x in rs) / len(rs))
            if rs and all(x > 0 for x in rs)
            else float("nan")
        )
        t = df[df["method"] == m]["time_s"].mean()
        row = f"| {m} | {gm:.4f} | {len(rs)} | {t:.3f} |"
        if lb:
            gaps = [
                (float(r["cost"]) - lb[str(r["instance"])]) / float(r["cost"])
                for _, r in ok[ok["method"] == m].iterrows()
                if str(r["instance"]) in lb and float(r["cost"]) > 0
            ]
            row += f" {100 * sum(gaps) / len(gaps):.2f} % |" if gaps else " |"
        lines.append(row)
    return "\n".join(lines) + "\n"
