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
        typer.echo(json.dumps({"valid": False, "errors": [i.to_dict() for i in e.issues]}, indent=2))
    else:
        typer.echo(str(e), err=True)
    raise typer.Exit(EXIT_DATA_ERROR)


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        typer.echo(f"--plan-start: {value!r} is not a date/time like 2026-11-23T06:00", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None


FormatOpt = Annotated[str, typer.Option("--format", help="auto|workbook|csv|yaml|jsp|fjs")]


def load(path: Path, orders: Path | None, fmt: str = "auto", plan_start: str | None = None, as_json: bool = False) -> Any:
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
    path: Annotated[Path, typer.Argument(help="plant workbook, CSV folder, YAML, or benchmark file")],
    orders: Annotated[Path | None, typer.Option(help="orders file (.xlsx/.csv/.yaml)")] = None,
    fmt: FormatOpt = "auto",
    plan_start: Annotated[str | None, typer.Option(help="plan start, e.g. 2026-11-23T06:00")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object")] = False,
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
    jobs: Annotated[int, typer.Option(help="number of component jobs in the week")] = 500,
    seed: Annotated[int, typer.Option(help="random seed (deterministic output)")] = 0,
    work_centers: Annotated[int | None, typer.Option(help="work centers of a synthetic plant")] = None,
    machines: Annotated[int | None, typer.Option(help="machines of a synthetic plant")] = None,
    plant: Annotated[Path | None, typer.Option(help="existing plant: write only a week of orders for it")] = None,
    fmt: Annotated[str, typer.Option("--format", help="workbook|csv|yaml")] = "workbook",
) -> None:
    """Generate a synthetic furniture plant and week, or (with --plant) a week of orders."""
    from furnsim.generate import generate_to_dir

    if plant is None and (work_centers is None or machines is None):
        typer.echo("give --work-centers and --machines for a new plant, or --plant PATH for orders only", err=True)
        raise typer.Exit(EXIT_DATA_ERROR)
    try:
        written = generate_to_dir(
            out, work_centers=work_centers, machines=machines, jobs=jobs, seed=seed, plant=plant, fmt=fmt
        )
    except DataError as e:
        _fail_data(e)
    paths = written if isinstance(written, list | tuple) else [written]
    for p in paths:
        typer.echo(f"wrote {p}")


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
