"""Importers: Excel workbook, CSV folder, YAML, and standard benchmark formats.

``load_instance(path)`` is the one entry point: it detects the format, reads plant,
catalog and orders through one builder, and returns a validated :class:`Instance`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from furnsim.errors import DataError, Issue, Location
from furnsim.io._builder import PlantData, build_orders, build_plant
from furnsim.io._tables import read_tables
from furnsim.io.benchmarks import read_fjs, read_jsp
from furnsim.io.writers import write_csv_dir, write_workbook, write_yaml
from furnsim.model import Catalog, Instance, Order

__all__ = [
    "Format",
    "PlantData",
    "detect_format",
    "load_instance",
    "read_fjs",
    "read_jsp",
    "read_orders",
    "read_plant",
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
