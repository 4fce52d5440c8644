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


def _load_row(path: str | Path, orders: str | Path | None) -> tuple[Any, dict[str, Any] | None]:
    """The instance, or None and the error row of a file that does not load."""
    from furnsim.errors import DataError
    from furnsim.io import load_instance

    try:
        return load_instance(path, orders=orders), None
    except DataError as e:
        lines = str(e).splitlines()
        err = lines[1].strip() if len(lines) > 1 else str(e)
        return None, {
            "instance": str(path),
            "method": "",
            "valid": False,
            "cost": math.nan,
            "time_s": 0.0,
            "error": err,
        }


def _row(inst: Any, path: str | Path, method: str, res: Any) -> dict[str, Any]:
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
    return row


_loaded: dict[tuple[str, str | None], tuple[Any, dict[str, Any] | None]] = {}


def _sweep_task(
    path: str, orders: str | None, method: str, goal: str, kw: dict[str, Any]
) -> dict[str, Any]:
    """One (instance, method) pair of a sweep, run in a worker process or a Ray task (the
    instance is loaded once per worker)."""
    from furnsim.plan import plan

    key = (path, orders)
    if key not in _loaded:
        if len(_loaded) > 8:
            _loaded.clear()
        _loaded[key] = _load_row(path, orders)
    inst, err = _loaded[key]
    if inst is None:
        assert err is not None
        return err
    return _row(inst, path, method, plan(inst, goal, method, **kw))


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
    workers: int = 1,
    ray: str | None = None,
    **options: Any,
) -> Any:
    """Run every method on every instance; return a pandas DataFrame (one row per pair).

    ``workers`` > 1 runs the pairs on that many local processes, ``ray`` (``"auto"`` or an
    address) as Ray tasks; every pair is planned as it would be alone (same seed, same
    options), so the table is the same as a 1-worker run for methods with a fixed budget
    (rules, ``best-rule`` with ``samples``, ``ppo`` with ``samples`` and no time budget,
    ``lns`` with ``iterations``); time-limited methods may differ, and ``time_s`` is measured
    per pair on a shared machine. Rows come back in instance × method order; ``on_row`` is
    called as each pair finishes."""
    import pandas as pd

    from furnsim.plan import plan

    kw: dict[str, Any] = {"buffers": buffers, "seed": seed, "time_limit": time_limit, **options}
    if workers <= 1 and ray is None:
        rows: list[dict[str, Any]] = []
        for path in instances:
            inst, err = _load_row(path, orders)
            if inst is None:
                assert err is not None
                rows.append(err)
                continue
            for method in methods:
                row = _row(inst, path, method, plan(inst, goal, method, **kw))
                rows.append(row)
                if on_row is not None:
                    on_row(row)
        return pd.DataFrame(rows)
    from furnsim.planners.parallel import map_tasks

    o = None if orders is None else str(orders)
    tasks = [(str(p), o, m, goal, kw) for p in instances for m in methods]

    def done(_k: int, row: dict[str, Any]) -> None:
        if on_row is not None and row.get("method"):
            on_row(row)

    results, _backend = map_tasks(_sweep_task, tasks, workers=workers, ray=ray, on_result=done)
    out: list[dict[str, Any]] = []
    seen_err: set[str] = set()
    for row in results:
        if not row.get("method"):  # a file that does not load: one error row
            if row["instance"] in seen_err:
                continue
            seen_err.add(row["instance"])
        out.append(row)
    return pd.DataFrame(out)


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
