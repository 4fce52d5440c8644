"""Importers: Excel workbook, CSV folder, YAML, and standard benchmark formats.

``load_instance(path)`` is the one entry point: it detects the format, reads plant,
catalog and orders through one builder, and returns a validated :class:`Instance`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from furnsim.errors import DataError, Issue, Location
from furnsim.io import limits
from furnsim.io._builder import PlantData, build_orders, build_plant
from furnsim.io._tables import read_sheet_rows, read_tables
from furnsim.io.benchmarks import read_fjs, read_jsp
from furnsim.io.writers import write_csv_dir, write_workbook, write_yaml
from furnsim.model import Catalog, Instance, Order, Plant

__all__ = [
    "Format",
    "check_workload",
    "PlantData",
    "detect_format",
    "load_instance",
    "read_fjs",
    "read_jsp",
    "read_orders",
    "read_plant",
    "read_sheet_rows",
    "write_csv_dir",
    "write_workbook",
    "write_yaml",
]

Format = Literal["auto", "workbook", "csv", "yaml", "jsp", "fjs"]


def detect_format(path: str | Path) -> str:
    p = Path(path)
    if p.is_dir():
        return "csv" if any(p.glob("*.csv")) and not (p / "plant.xlsx").exists() else "workbook"
    s = p.suffix.lower()
    if s == ".fjs":
        return "fjs"
    if s in (".xlsx", ".xlsm"):
        return "workbook"
    if s in (".yaml", ".yml"):
        return "yaml"
    if s == ".csv":
        return "csv"
    if s == ".txt" or s == "":
        return "jsp"
    return "unknown"


def read_plant(path: str | Path, plan_start: datetime | None = None) -> PlantData:
    """Read plant, catalog (and orders, if the file has them) from a workbook, CSV folder or YAML."""
    tables = read_tables(path)
    return build_plant(tables, str(path), plan_start=plan_start)


def read_orders(
    path: str | Path,
    catalog: Catalog | None = None,
    plan_start: datetime | None = None,
) -> list[Order]:
    """Read an orders file (.xlsx with an ``orders`` sheet or the first sheet, .csv, .yaml)."""
    tables = read_tables(path)
    if "orders" in tables:
        table = tables["orders"]
    elif len(tables) == 1:
        table = next(iter(tables.values()))
        table.schema = "orders"
    else:
        raise DataError([Issue("no sheet named 'orders'", Location(str(path)))])
    arts = {a.id for a in catalog.articles} if catalog is not None else None
    return build_orders(table, plan_start, arts)


def load_instance(
    path: str | Path,
    orders: str | Path | None = None,
    fmt: Format = "auto",
    plan_start: datetime | None = None,
    name: str | None = None,
) -> Instance:
    """Load a plant (+ orders) in any supported format as a validated Instance."""
    p = Path(path)
    if not p.exists():
        raise DataError([Issue("file or folder not found", Location(str(path)))])
    kind = detect_format(p) if fmt == "auto" else fmt
    if kind == "jsp":
        return read_jsp(p)
    if kind == "fjs":
        return read_fjs(p)
    if kind == "unknown":
        raise DataError(
            [
                Issue(
                    f"unsupported file type {p.suffix!r}: use .xlsx, .csv, .yaml, .txt (JSSP) or .fjs",
                    Location(str(path)),
                )
            ]
        )
    data = read_plant(p, plan_start)
    start = plan_start or data.plan_start
    order_list = data.orders
    if orders is not None:
        order_list = read_orders(orders, data.catalog, start)
    check_workload(data.plant, data.catalog, order_list, str(orders or path))
    try:
        return Instance(
            data.plant, data.catalog, order_list, name=name or data.name, plan_start=start
        )
    except DataError as e:
        # cross-reference problems of orders point at the orders file
        raise DataError(
            [
                Issue(
                    i.message,
                    i.location
                    if i.location.file
                    else Location(str(orders or path), "orders", i.row, i.column),
                )
                for i in e.issues
            ]
        ) from None


def check_workload(plant: Plant, catalog: Catalog, orders: list[Order], file: str = "") -> None:
    """Bound what planning will cost before the instance is built: the number of component
    jobs (``limits.MAX_JOBS``), each batch's minutes on its fastest eligible machine
    (``limits.MAX_MINUTES``) and all batches together (``limits.MAX_TOTAL_MINUTES``)."""
    comps = {a.id: a.components for a in catalog.articles}
    n_jobs = sum(len(comps.get(o.article, ())) for o in orders)
    if n_jobs > limits.MAX_JOBS:
        raise DataError(
            [
                Issue(
                    f"the orders make {n_jobs:,} component jobs: at most {limits.MAX_JOBS:,} are "
                    "planned at once (furnsim.io.limits.MAX_JOBS); split the week",
                    Location(file, "orders"),
                )
            ]
        )
    issues: list[Issue] = []
    total = 0.0
    for o in orders:
        for c in comps.get(o.article, ()):
            pieces = o.quantity * c.qty_per_article
            for step, op in enumerate(c.routing, start=1):
                if op.work_center not in plant.wc_index:
                    continue  # reported by the instance's own checks
                elig = [
                    m
                    for m in plant.work_center(op.work_center).machines
                    if not op.machines or m in op.machines
                ]
                per_piece = min((op.piece_minutes(m) for m in elig), default=op.minutes_per_piece)
                batch = op.fixed_minutes + pieces * per_piece
                total += batch
                if batch > limits.MAX_MINUTES and len(issues) < 20:
                    src = f" ({op.source})" if op.source is not None else ""
                    issues.append(
                        Issue(
                            f"order {o.id}: {o.article}/{c.id} step {step} takes {batch:,.0f} "
                            f"minutes on its fastest machine ({pieces:g} pieces x {per_piece:g} "
                            f"min + {op.fixed_minutes:g}): more than {limits.MAX_MINUTES:g} "
                            f"minutes (about 19 years); check the quantity and the operation"
                            f"{src}",
                            (o.source or Location(file, "orders")).at(column="quantity"),
                        )
                    )
    if not issues and total > limits.MAX_TOTAL_MINUTES:
        issues.append(
            Issue(
                f"the orders need {total:,.0f} machine minutes in all: more than "
                f"{limits.MAX_TOTAL_MINUTES:g} (furnsim.io.limits.MAX_TOTAL_MINUTES); check "
                "quantities and minutes per piece, or split the week",
                Location(file, "orders"),
            )
        )
    if issues:
        raise DataError(issues)


_check_workload = check_workload  # the name furnsim.api.service imports
