"""The ``furnsim`` command line (typer)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from furnsim.errors import DataError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="furnsim: production scheduling for furniture job shops.",
)

EXIT_DATA_ERROR = 2


def _fail_data(e: DataError, as_json: bool = False) -> None:
    if as_json:
        typer.echo(
            json.dumps({"valid": False, "errors": [i.to_dict() for i in e.issues]}, indent=2)
        )
    else:
        typer.echo(str(e), err=True)
    raise typer.Exit(EXIT_DATA_ERROR)


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(f"--plan-start: {value!r} is not a date/time like 2026-11-23T06:00", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    if start.tzinfo is not None:
        typer.echo(
            f"--plan-start: {value!r} has a UTC offset; give the plant's local time without one, "
            "e.g. 2026-11-23T06:00",
            err=True,
        )
        raise typer.Exit(EXIT_DATA_ERROR)
    return start


FormatOpt = Annotated[str, typer.Option("--format", help="auto|workbook|csv|yaml|jsp|fjs")]


def load(
    path: Path,
    orders: Path | None,
    fmt: str = "auto",
    plan_start: str | None = None,
    as_json: bool = False,
) -> Any:
    """Load an instance or exit 2 with the full error list (never a traceback)."""
    from furnsim.io import load_instance

    if fmt not in ("auto", "workbook", "csv", "yaml", "jsp", "fjs"):
        typer.echo(f"--format: unknown format {fmt!r}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    try:
        return load_instance(path, orders=orders, fmt=fmt, plan_start=_parse_start(plan_start))  # type: ignore[arg-type]
    except DataError as e:
        _fail_data(e, as_json)
    except (OSError, ValueError) as e:  # unreadable file etc.: still a clear message
        _fail_data(DataError(f"{path}: {type(e).__name__}: {e}"), as_json)


@app.command("check-data")
def check_data(
    path: Annotated[
        Path, typer.Argument(help="plant workbook, CSV folder, YAML, or benchmark file")
    ],
    orders: Annotated[Path | None, typer.Option(help="orders file (.xlsx/.csv/.yaml)")] = None,
    fmt: FormatOpt = "auto",
    plan_start: Annotated[
        str | None, typer.Option(help="plan start, e.g. 2026-11-23T06:00")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary as one JSON object")
    ] = False,
) -> None:
    """Validate plant, catalog and orders; print a summary (exit 2 with every error when invalid)."""
    inst = load(path, orders, fmt, plan_start, as_json)
    summary = inst.summary()
    if as_json:
        typer.echo(json.dumps({"valid": True, "name": inst.name, **summary}))
        return
    typer.echo(f"{inst.name}: valid")
    for k, v in summary.items():
        typer.echo(f"  {k.replace('_', ' '):<13} {v}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="output folder")],
    jobs: Annotated[
        int, typer.Option(min=1, help="number of component jobs in the week (>= 1)")
    ] = 500,
    seed: Annotated[int, typer.Option(min=0, help="random seed >= 0 (deterministic output)")] = 0,
    work_centers: Annotated[
        int | None, typer.Option(min=1, max=1000, help="work centers of a synthetic plant")
    ] = None,
    machines: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="machines of a synthetic plant (>= work centers)"),
    ] = None,
    plant: Annotated[
        Path | None, typer.Option(help="existing plant: write only a week of orders for it")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="workbook|csv|yaml")] = "workbook",
    bom_depth: Annotated[
        int, typer.Option(help="0 independent parts; 1 kits / final assembly; 2 + drawers, seats")
    ] = 0,
    max_fan_in: Annotated[int, typer.Option(help="most children per assembly (0 = any)")] = 0,
    shifts: Annotated[
        int,
        typer.Option(
            min=0,
            max=3,
            help="new plant: 1-3 shifts Mon-Fri with breaks for every work center (0 = 24/7)",
        ),
    ] = 0,
) -> None:
    """Generate a synthetic furniture plant and week, or (with --plant) a week of orders."""
    from furnsim.generate import generate_to_dir

    if plant is None and (work_centers is None or machines is None):
        typer.echo(
            "give --work-centers and --machines for a new plant, or --plant PATH for orders only",
            err=True,
        )
        raise typer.Exit(EXIT_DATA_ERROR)
    if fmt not in ("workbook", "csv", "yaml"):
        typer.echo("--format: use workbook, csv or yaml", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    from furnsim.io.limits import MAX_JOBS

    if jobs > MAX_JOBS:
        typer.echo(f"--jobs: at most {MAX_JOBS:,} (furnsim.io.limits.MAX_JOBS)", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    if (
        plant is None
        and machines is not None
        and work_centers is not None
        and machines < work_centers
    ):
        typer.echo(
            f"--machines ({machines}) must be >= --work-centers ({work_centers}): every "
            "work center needs a machine",
            err=True,
        )
        raise typer.Exit(EXIT_DATA_ERROR)
    try:
        written = generate_to_dir(
            out,
            work_centers=work_centers,
            machines=machines,
            jobs=jobs,
            seed=seed,
            plant=plant,
            fmt=fmt,  # type: ignore[arg-type]
            bom_depth=bom_depth,
            max_fan_in=max_fan_in,
            shifts=shifts,
        )
    except DataError as e:
        _fail_data(e)
    except ValueError as e:  # a setting the generator cannot meet: still no traceback
        typer.echo(f"generate: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    paths = written if isinstance(written, list | tuple) else [written]
    for p in paths:
        typer.echo(f"wrote {p}")


GOAL_HELP = "speed | efficiency | empty-buffers"


def _print_kpis(res: Any) -> None:
    k = res.kpis
    typer.echo(
        f"method:      {res.method}"
        + (f"   (requested {res.requested}; fallback: {res.fallback})" if res.fallback else "")
    )
    if res.fallback and res.requested == "ppo" and "is worse than" in res.fallback:
        # the policy + optimizer starts from the better of the two plans and searches on
        typer.echo(
            "hint:        --method ppo-lns --time-limit 10 starts from the better of the "
            "policy's and the rules' plans and returns the cheapest it finds in 10 s"
        )
    typer.echo(f"goal:        {res.goal}   cost {res.cost:,.2f}")
    typer.echo(
        f"valid:       {res.valid}"
        + (f"   ({len(res.violations)} violations)" if res.violations else "")
    )
    if res.deadlock:
        typer.echo(f"deadlock:    {res.deadlock}")
    rows = [
        ("makespan", "makespan", "min"),
        ("total tardiness", "total_tardiness", "min"),
        ("late orders", "late_orders", ""),
        ("on-time rate", "on_time_rate", ""),
        ("setup time", "total_setup_time", "min"),
        ("mean utilization", "utilization_mean", ""),
        ("blocked time", "blocked_time", "min"),
        ("peak buffer fill", "peak_buffer_fill", ""),
        ("buffer load", "buffer_load", ""),
    ]
    for label, key, unit in rows:
        if key in k:
            v = k[key]
            typer.echo(
                f"  {label:<18} {v:,.3f} {unit}".rstrip()
                if isinstance(v, float)
                else f"  {label:<18} {v} {unit}".rstrip()
            )
    d = res.details
    if "passes" in d and "greedy_cost" in d:
        n = d["passes"]
        parts = [f"greedy pass {d['greedy_cost']:,.2f}"]
        if d.get("unreleased_cost") is not None and n > 1:
            parts.append(f"best pass {d['unreleased_cost']:,.2f}")
        if d.get("unreleased_cost") is not None:
            parts.append(f"with release control {d.get('policy_cost', res.cost):,.2f}")
        elif n > 1:
            parts.append(f"best {d.get('policy_cost', res.cost):,.2f}")
        typer.echo(
            f"policy:      {n} pass{'es' if n != 1 else ''} in {d.get('plan_s', 0):.2f} s "
            f"({', '.join(parts)})"
        )
    if "search" in d:
        sr = d["search"]
        typer.echo(
            f"search:      {sr['passes']} passes around {sr['around']} (noise {sr['eps']:g}) "
            f"in {sr['seconds']:.2f} s: {sr['rule_cost']:,.2f} -> {sr['best_cost']:,.2f}"
        )
    if "lns" in d and "policy" in d:
        pol, mv = d["policy"], d["lns"].get("moves", {})
        used = [*pol.get("neighbourhoods", []), *(["policy"] if pol.get("policy_suffix") else [])]
        own = {
            k: mv[k] for k in ("policy-window", "policy-tail", "policy") if k in used and k in mv
        }
        typer.echo(
            f"policy + optimizer: {Path(str(pol['model'])).name} (temperature "
            f"{pol['temperature']:g}) guiding lns; policy moves tried/improved: "
            + ", ".join(f"{k} {v['tried']}/{v['improved']}" for k, v in own.items())
        )
    if "lns" in d:
        ln = d["lns"]
        typer.echo(
            f"lns:         {ln['iterations']} neighbours from {ln['start']} in "
            f"{ln['seconds']:.2f} s: {ln['start_cost']:,.2f} -> {ln['best_cost']:,.2f}"
        )
    from furnsim.solvers.release import store_held_jobs

    held = len(store_held_jobs(res.schedule))
    if held:  # the plan's own holds (a fallback plan holds none)
        typer.echo(
            f"release:     {held} job{'s' if held != 1 else ''} held at STORE until the plan "
            "needs them (release control, docs/optimizer.md)"
        )
    if "portfolio" in d:
        for r in d["portfolio"]:
            typer.echo(
                f"portfolio:   {r['member']:<14} {r['cost']:>14,.2f}  valid {r['valid']}  "
                f"{r['time_s']:.2f} s" + ("   <- kept" if r["member"] == d.get("winner") else "")
            )
    info = getattr(res, "info", None)
    if info is not None and info.passes is not None and info.passes.backend != "inline":
        p = info.passes
        typer.echo(
            f"workers:     {p.passes} {p.kind} passes on {p.backend} ({p.workers or 'ray'} "
            f"workers), {p.passes_per_s:.1f} passes/s"
        )
    typer.echo(f"planned in {res.wall_time:.3f} s")


WorkersOpt = typer.Option(
    min=1,
    max=256,
    help="local processes for pass searches, portfolios and sweeps (a number of --passes "
    "gives the same plan for any count; a time limit gives more passes)",
)
RayOpt = typer.Option(
    help="run pass searches, portfolios, sweeps and training rollouts on a Ray cluster: auto "
    "(RAY_ADDRESS, a running local instance, else a new one) or ADDRESS (host:port); needs "
    "the scale extra (pip install 'furnsim[scale]')",
)


def _check_ray(ray: str | None) -> None:
    if ray is None:
        return
    from importlib.util import find_spec

    if find_spec("ray") is None:
        typer.echo("--ray: Ray is not installed (pip install 'furnsim[scale]')", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    from furnsim.planners.parallel import connect_ray

    try:  # connect now: an unreachable address is an error before any work, not a hang
        connect_ray(ray)
    except ConnectionError as e:
        typer.echo(f"--ray: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None


@app.command("plan")
def plan_cmd(
    path: Annotated[
        Path, typer.Argument(help="plant workbook, CSV folder, YAML, or benchmark file")
    ],
    orders: Annotated[Path | None, typer.Option(help="orders file (.xlsx/.csv/.yaml)")] = None,
    fmt: FormatOpt = "auto",
    goal: Annotated[str, typer.Option(help=GOAL_HELP)] = "speed",
    method: Annotated[
        str,
        typer.Option(
            help="rule:NAME | best-rule | cpsat | ppo | lns | ppo-lns (policy + optimizer: "
            "lns guided by the goal's policy)"
        ),
    ] = "best-rule",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the result as JSON here")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="random seed (>= 0)")] = 0,
    buffers: Annotated[str, typer.Option(help="hard (blocking) | soft (overflow priced)")] = "hard",
    time_limit: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=86_400.0,
            help="seconds: cpsat's limit; ppo's search time (sampled passes, default 1.5); "
            "best-rule: search of noisy passes around the best rule after the rules; "
            "lns, ppo-lns: optimize this long (default 60)",
        ),
    ] = None,
    clock: Annotated[
        str,
        typer.Option(
            help="what --time-limit counts: wall (elapsed seconds) | cpu (CPU seconds of this "
            "process: the same work on a loaded machine; CP-SAT keeps its wall limit)"
        ),
    ] = "wall",
    passes: Annotated[
        int | None,
        typer.Option(
            max=10_000,
            help="ppo: policy passes (greedy + sampled); best-rule: noisy passes around the "
            "best rule; lns, ppo-lns: neighbours tried; reproducible",
        ),
    ] = None,
    plan_start: Annotated[
        str | None, typer.Option(help="plan start, e.g. 2026-11-23T06:00")
    ] = None,
    excel: Annotated[
        Path | None, typer.Option("--excel", help="write the Gantt/schedule workbook here")
    ] = None,
    excel_slot: Annotated[
        int, typer.Option(min=1, max=1440, help="minutes per Gantt column in the Excel export")
    ] = 30,
    workers: Annotated[int, WorkersOpt] = 1,
    ray: Annotated[str | None, RayOpt] = None,
) -> None:
    """Plan the orders with a method and print the KPIs (exit 1 if the plan is not valid)."""
    from furnsim.goals import get_goal
    from furnsim.plan import plan

    inst = load(path, orders, fmt, plan_start)
    try:
        get_goal(goal)
    except (KeyError, ValueError) as e:
        typer.echo(f"--goal: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    if buffers not in ("hard", "soft"):
        typer.echo("--buffers: use hard or soft", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    try:
        extra: dict[str, Any] = {}
        _check_ray(ray)
        if passes is not None:
            ml = method.lower()
            if passes < 1 or not (
                ml.startswith(("ppo", "portfolio:")) or ml in ("best-rule", "lns")
            ):
                typer.echo(
                    "--passes: a number >= 1, with --method ppo, ppo-lns, best-rule, lns or "
                    "portfolio:...",
                    err=True,
                )
                raise typer.Exit(EXIT_DATA_ERROR)
            # an exact number of passes: no time budget unless --time-limit gives one
            extra = {"samples": passes}
            if ml.startswith("ppo"):
                extra["time_budget_s"] = time_limit
        res = plan(
            inst,
            goal,
            method,
            buffers=buffers,
            seed=seed,
            time_limit=time_limit,
            workers=workers,
            ray=ray,
            clock=clock,
            **extra,
        )
    except (KeyError, ValueError) as e:
        typer.echo(f"--method: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    typer.echo(f"{inst.name}: {len(inst.jobs)} jobs, {len(inst.plant.machines)} machines")
    _print_kpis(res)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res.to_dict(inst), default=_json_default))
        typer.echo(f"wrote {json_out}")
    if excel is not None:
        from furnsim.export import write_schedule_excel

        excel.parent.mkdir(parents=True, exist_ok=True)
        write_schedule_excel(res, inst, excel, slot_minutes=excel_slot)
        typer.echo(f"wrote {excel}")
    if not res.valid:
        raise typer.Exit(1)


@app.command("replan")
def replan_cmd(
    path: Annotated[
        Path, typer.Argument(help="plant workbook, CSV folder or YAML (the previous plan's)")
    ],
    previous: Annotated[
        Path, typer.Option(help="the plan in force: JSON from furnsim plan/replan --json")
    ],
    now: Annotated[
        str, typer.Option(help="the present: a date/time (2026-03-03T10:00) or minutes")
    ],
    events: Annotated[
        Path | None, typer.Option(help="events.yaml: breakdown, rush_order, cancel, ...")
    ] = None,
    orders: Annotated[Path | None, typer.Option(help="orders file (.xlsx/.csv/.yaml)")] = None,
    fmt: FormatOpt = "auto",
    mode: Annotated[
        str, typer.Option(help="repair (keep the previous plan) | replan (best cost)")
    ] = "replan",
    method: Annotated[
        str, typer.Option(help="replan: rule:NAME | best-rule | lns | cpsat | ppo | ppo-lns")
    ] = "best-rule",
    goal: Annotated[str, typer.Option(help=GOAL_HELP)] = "speed",
    state: Annotated[
        Path | None,
        typer.Option(help="the shop state (furnsim.state/1 JSON/YAML) instead of deriving it"),
    ] = None,
    pins: Annotated[
        Path | None, typer.Option(help="pins.yaml: a list of {job, step, machine[, start]}")
    ] = None,
    frozen_minutes: Annotated[
        float, typer.Option(help="keep what the previous plan starts in [now, now + H)")
    ] = 0.0,
    nervousness: Annotated[
        str | None,
        typer.Option(
            help="price changes: W (per minute of total start shift) or "
            "start_shift_total=W,machine_changes=W,ops_moved=W,sequence_changes=W"
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the result (+ stability) as JSON here")
    ] = None,
    excel: Annotated[
        Path | None, typer.Option("--excel", help="write the Gantt/schedule workbook here")
    ] = None,
    buffers: Annotated[str, typer.Option(help="hard | soft")] = "hard",
    time_limit: Annotated[
        float | None, typer.Option(help="seconds for best-rule, lns, cpsat, ppo, ppo-lns")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Plan again from NOW after events: the past stays, pins hold; prints stability KPIs."""
    import yaml

    from furnsim.goals import get_goal
    from furnsim.replan import load_events, load_state, replan

    inst = load(path, orders, fmt)
    if mode not in ("repair", "replan"):
        typer.echo("--mode: use repair or replan", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    try:
        get_goal(goal)
    except (KeyError, ValueError) as e:
        typer.echo(f"--goal: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    try:
        prev_text = previous.read_text()
    except OSError as e:
        typer.echo(f"--previous: cannot read {previous} ({e})", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    weights: dict[str, float] | None = None
    if nervousness:
        try:
            if "=" in nervousness:
                weights = {
                    k.strip(): float(v)
                    for k, v in (p.split("=", 1) for p in nervousness.split(",") if p.strip())
                }
            else:
                weights = {"start_shift_total": float(nervousness)}
        except ValueError:
            typer.echo(f"--nervousness: {nervousness!r} is not W or KEY=W,...", err=True)
            raise typer.Exit(EXIT_DATA_ERROR) from None
    try:
        evs = load_events(events, plan_start=inst.plan_start) if events is not None else []
        st = load_state(state, plan_start=inst.plan_start) if state is not None else None
        pin_list: list[Any] = []
        if pins is not None:
            raw = yaml.safe_load(pins.read_text())
            if not isinstance(raw, list):
                raise DataError(f"{pins}: pins must be a list of mappings")
            pin_list = raw
        res = replan(
            inst,
            prev_text,
            now,
            evs,
            goal=goal,
            method=method,
            mode=mode,
            pins=pin_list,
            frozen_minutes=frozen_minutes,
            state=st,
            nervousness=weights,
            buffers=buffers,
            seed=seed,
            time_limit=time_limit,
        )
    except DataError as e:
        _fail_data(e)
    except (OSError, yaml.YAMLError) as e:
        typer.echo(f"{type(e).__name__}: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    except (KeyError, ValueError) as e:
        typer.echo(f"replan: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    rp = res.details["replan"]
    typer.echo(
        f"{inst.name}: replan at t={rp['now']:g} ({rp['mode']}); state: "
        + ", ".join(f"{k} {v}" for k, v in rp["state"].items() if k != "outages")
    )
    for note in rp["events"]:
        typer.echo(f"  event: {note}")
    _print_kpis(res)
    stab = res.stability
    typer.echo(
        f"stability:   {stab['ops_moved']} of {stab['ops_compared']} operations moved, "
        f"total shift {stab['start_shift_total']:,.1f} min, {stab['machine_changes']} machine "
        f"changes, {stab['sequence_changes']} sequence changes, {stab['ops_new']} new"
    )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res.to_dict(res.instance), default=_json_default))
        typer.echo(f"wrote {json_out}")
    if excel is not None:
        from furnsim.export import write_schedule_excel

        excel.parent.mkdir(parents=True, exist_ok=True)
        write_schedule_excel(res, res.instance, excel)
        typer.echo(f"wrote {excel}")
    if not res.valid:
        raise typer.Exit(1)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


@app.command("validate")
def validate_cmd(
    path: Annotated[Path, typer.Argument(help="the instance the schedule was made for")],
    schedule: Annotated[Path, typer.Argument(help="schedule JSON (from furnsim plan --json)")],
    orders: Annotated[Path | None, typer.Option(help="orders file")] = None,
    fmt: FormatOpt = "auto",
    buffers: Annotated[
        str,
        typer.Option(
            help="the rules to check under: hard (blocking) | soft (overflow allowed); "
            "v1 plants have no buffer-mode setting, so hard unless you say soft"
        ),
    ] = "hard",
    anticipatory: Annotated[
        bool,
        typer.Option(
            "--anticipatory/--no-anticipatory", help="anticipatory setups (the planner's default)"
        ),
    ] = True,
    plan_start: Annotated[
        str | None,
        typer.Option(help="plan start, e.g. 2026-11-23T06:00 (as given to furnsim plan)"),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="a replanned plan: the shop state it must honour (furnsim.state/1 JSON/YAML, "
            "or a furnsim replan --json output: its situation, pins and orders)"
        ),
    ] = None,
    pins: Annotated[
        Path | None,
        typer.Option(help="with --state: pins.yaml the plan must keep ({job, step, machine})"),
    ] = None,
) -> None:
    """Check a schedule independently against its instance: exit 0 valid, 1 violations, 2 bad file.

    The rules come from the plant and these options, never from the schedule file: a file
    that declares another buffer mode or setup mode is refused (exit 2). With --state the
    plan must also honour the shop state (started operations kept, nothing on a machine
    during its outage) and the pins.
    """
    from furnsim.validate import ScheduleFormatError, format_violations, load_schedule, validate

    if buffers not in ("hard", "soft"):
        typer.echo("--buffers: use hard or soft", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    inst = load(path, orders, fmt, plan_start)
    if pins is not None and state is None:
        typer.echo("--pins needs --state", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    if state is not None:
        from furnsim.replan import load_situation

        try:
            inst, sit = load_situation(state, inst, pins=pins)
        except DataError as e:
            _fail_data(e)
        typer.echo(
            f"state: now={sit.state.now:g}, "
            + ", ".join(f"{k} {v}" for k, v in sit.state.counts().items())
            + f", {len(sit.state.outages)} outage(s), {len(sit.pins)} pin(s)"
        )
    try:
        s = load_schedule(schedule, inst)
    except ScheduleFormatError as e:
        typer.echo(f"not a usable schedule: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    mode = f"buffers={buffers}, anticipatory setups {'on' if anticipatory else 'off'}"
    declared = (
        f"buffers={s.buffers}, anticipatory setups {'on' if s.anticipatory_setups else 'off'}"
    )
    if declared != mode:
        typer.echo(
            f"{schedule}: the file declares {declared}, but it is validated with {mode} "
            "(the plant's rules / the command line); pass --buffers / --no-anticipatory to "
            "match how it was planned",
            err=True,
        )
        raise typer.Exit(EXIT_DATA_ERROR)
    typer.echo(f"rules: {mode}")
    viol = validate(s, inst, buffers=buffers, anticipatory_setups=anticipatory)
    if viol:
        typer.echo(f"INVALID: {format_violations(viol, limit=200)}")
        raise typer.Exit(1)
    typer.echo(f"valid: {s.n_ops} operations, makespan {s.makespan:g}")


@app.command("evaluate")
def evaluate_cmd(
    instances: Annotated[
        str, typer.Option(help="glob(s), comma-separated, e.g. '../shared/benchmarks/jsp/ta0*.txt'")
    ],
    methods: Annotated[
        str, typer.Option(help="comma-separated, e.g. rule:EDD,rule:ATC,best-rule")
    ] = "rule:FIFO,rule:SPT,rule:EDD,rule:ATC",
    goal: Annotated[str, typer.Option(help=GOAL_HELP)] = "speed",
    out: Annotated[Path | None, typer.Option(help="results CSV")] = None,
    summary: Annotated[
        Path | None, typer.Option(help="markdown summary (default: OUT with .md)")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="method the ratios refer to (default: first)")
    ] = None,
    buffers: Annotated[str, typer.Option(help="hard | soft")] = "hard",
    seed: Annotated[int, typer.Option()] = 0,
    time_limit: Annotated[
        float | None,
        typer.Option(
            help="seconds per run of a method with a budget (best-rule, ppo, lns, ppo-lns, cpsat)"
        ),
    ] = None,
    orders: Annotated[Path | None, typer.Option(help="orders file for every instance")] = None,
    passes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            help="ppo / best-rule / lns: this many passes (reproducible; as plan --passes)",
        ),
    ] = None,
    workers: Annotated[int, WorkersOpt] = 1,
    ray: Annotated[str | None, RayOpt] = None,
) -> None:
    """Run methods × instances; write KPIs/cost/validity/time and a markdown summary.

    With --workers N (or --ray) the (instance, method) pairs run side by side; each is
    planned as it would be alone, so fixed budgets (--passes, rules) give the same table."""
    from furnsim.evaluate import evaluate, expand_instances, summary_markdown

    paths = expand_instances(instances)
    if not paths:
        typer.echo(f"no instance matches {instances!r}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    mlist = [m.strip() for m in methods.split(",") if m.strip()]
    from furnsim.planners import check_method

    for m in mlist:
        err = check_method(m)
        if err is not None:
            typer.echo(f"--methods: {err}", err=True)
            raise typer.Exit(EXIT_DATA_ERROR)
    _check_ray(ray)
    extra: dict[str, Any] = {}
    if passes is not None:
        extra = {"passes": passes}

    def show(row: dict[str, Any]) -> None:
        typer.echo(
            f"{row['instance']:<24} {row['method']:<16} cost {row['cost']:>14,.2f}  valid {row['valid']}  {row['time_s']:.3f}s"
        )

    df = evaluate(
        paths,
        mlist,
        goal,
        buffers=buffers,
        seed=seed,
        time_limit=time_limit,
        orders=orders,
        on_row=show,
        workers=workers,
        ray=ray,
        **extra,
    )
    md = summary_markdown(df, reference)
    typer.echo("")
    typer.echo(md)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(out, index=False)
        (summary or out.with_suffix(".md")).write_text(md)
        typer.echo(f"wrote {out}")


@app.command("train")
def train_cmd(
    config: Annotated[
        Path, typer.Option(help="training config YAML, e.g. configs/train/speed.yaml")
    ],
    max_minutes: Annotated[float | None, typer.Option(help="wall-clock cap")] = None,
    total_timesteps: Annotated[
        int | None, typer.Option(help="override the config's budget")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="override the config's seed")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder for the model + sidecar")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="processes for the rule evaluations of the run"),
    ] = None,
    ray: Annotated[str | None, RayOpt] = None,
) -> None:
    """Train a policy for one goal (MaskablePPO) from a YAML config."""
    from furnsim.rl.train import main as train_main

    _check_ray(ray)
    args = ["--config", str(config)]
    if max_minutes is not None:
        args += ["--max-minutes", str(max_minutes)]
    if total_timesteps is not None:
        args += ["--total-timesteps", str(total_timesteps)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if out is not None:
        args += ["--out", str(out)]
    if workers is not None:
        args += ["--workers", str(workers)]
    if ray is not None:
        args += ["--ray", ray]
    train_main(args)


@app.command("serve")
def serve_cmd(
    path: Annotated[Path, typer.Argument(help="plant workbook, CSV folder or YAML to plan for")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    config: Annotated[
        Path | None, typer.Option(help="server settings YAML (keys, limits, db_url)")
    ] = None,
    plan_start: Annotated[
        str | None, typer.Option(help="plan start, e.g. 2026-11-23T06:00")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="planning threads")] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="no API key needed (local use only)")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the HTTP API (docs/api.md): plans as background jobs, stored in SQLite or PostgreSQL.

    API keys come from FURNSIM_API_KEYS (comma-separated) or the config file; plans are kept
    in $FURNSIM_DATA/plans.sqlite, or in the database FURNSIM_DB_URL points at.
    """
    try:
        import uvicorn

        from furnsim.api import ConfigError, ServerConfig, create_app
        from furnsim.storage import PlanStore
    except ImportError as e:
        typer.echo(f"serve needs the server extra: pip install 'furnsim[server]' ({e})", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    from furnsim.io import detect_format, read_plant

    try:
        cfg = ServerConfig.load(config, auth=False if no_auth else None, workers=workers)
    except ConfigError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    if cfg.auth and not cfg.api_keys:
        typer.echo(
            "no API keys: set FURNSIM_API_KEYS=key1,key2 (16+ characters each) or api_keys in "
            "--config; --no-auth serves without keys (local use only)",
            err=True,
        )
        raise typer.Exit(EXIT_DATA_ERROR)
    if not cfg.auth and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"--no-auth serves only on localhost, not on {host}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    if path.exists() and detect_format(path) in ("jsp", "fjs"):
        typer.echo(f"{path}: serve needs a plant with a catalog (workbook, CSV or YAML)", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    try:
        data = read_plant(path, _parse_start(plan_start))
    except DataError as e:
        _fail_data(e)
    except (OSError, ValueError) as e:
        _fail_data(DataError(f"{path}: {type(e).__name__}: {e}"))
    try:
        store = PlanStore(cfg.db_url)
    except Exception as e:  # noqa: BLE001 - unreachable database, bad URL: a clear message
        typer.echo(f"cannot open the plan database: {type(e).__name__}: {e}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    typer.echo(
        f"furnsim serve: plant {data.name!r}, plans in {store.display_url}, "
        f"{cfg.workers} planning threads, http://{host}:{port}/v1/health",
        err=True,
    )
    uvicorn.run(create_app(data, cfg, store), host=host, port=port, log_level=log_level)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
