"""The table schema shared by every format (Excel workbook, CSV folder, YAML).

One place defines the sheets and their columns; the reader, the template writer and
``docs/data-format.md`` all follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SHEETS", "Column", "Sheet"]


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    help: str


@dataclass(frozen=True)
class Sheet:
    name: str
    required: bool
    help: str
    columns: tuple[Column, ...]
    dynamic: str = ""  # description of extra columns (setup ids, destinations), "" = none allowed

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


SHEETS: dict[str, Sheet] = {
    s.name: s
    for s in [
        Sheet(
            "settings",
            False,
            "Key/value settings of the plant file.",
            (
                Column(
                    "key",
                    True,
                    "`name` (plant name), `plan_start` (date and time minute 0 stands for) or "
                    "`calendar` (calendar of work centers without one; blank = 24/7)",
                ),
                Column("value", True, "the value"),
            ),
        ),
        Sheet(
            "work_centers",
            True,
            "Places on the floor; each has one buffer in front of its machines.",
            (
                Column("work_center", True, "unique id, e.g. SAW"),
                Column("buffer_capacity", False, "capacity of the buffer (blank = unlimited)"),
                Column(
                    "buffer_unit",
                    False,
                    "m3 (default), pallets or pieces; volumes use the same unit",
                ),
                Column("description", False, "free text"),
                Column(
                    "calendar",
                    False,
                    "working-time calendar (sheet calendars; blank = settings calendar, else 24/7)",
                ),
                Column(
                    "interruptible",
                    False,
                    "yes (default): operations pause over breaks and closed time; "
                    "no: an operation runs inside one working window",
                ),
            ),
        ),
        Sheet(
            "machines",
            True,
            "Machines; the machines of one work center are alternatives to each other.",
            (
                Column("machine", True, "unique id, e.g. SAW-1"),
                Column("work_center", True, "work center the machine stands in"),
                Column(
                    "setup_matrix",
                    False,
                    "name of a matrix in sheet setup_matrices (blank = no setups)",
                ),
                Column("initial_setup", False, "setup state at plan start (default neutral)"),
                Column("description", False, "free text"),
            ),
        ),
        Sheet(
            "setup_matrices",
            False,
            "Sequence-dependent setup times in minutes, one block of rows per matrix: "
            "row = from setup, column = to setup. Every matrix needs the setup `neutral`. "
            "Zero off the diagonal = virtual setup (program switch); the diagonal must be 0.",
            (
                Column("matrix", True, "matrix name (machines refer to it)"),
                Column("from_setup", True, "setup id the machine changes from"),
            ),
            dynamic="one column per setup id the machine changes to",
        ),
        Sheet(
            "transport",
            True,
            "Transport minutes between locations: row `from`, one column per destination. "
            "Locations are STORE (raw material), every work center, FINISHED. Needed: STORE to every "
            "work center, every work center to every other one and to FINISHED.",
            (Column("from", True, "STORE or a work center id"),),
            dynamic="one column per destination: a work center id or FINISHED",
        ),
        Sheet(
            "calendars",
            False,
            "Shift calendars: one row per working window; breaks are the gaps between windows.",
            (
                Column("calendar", True, "calendar id (work centers refer to it)"),
                Column("days", True, "Mon-Fri, Sat, Mon,Wed,Fri; ranges may wrap (Sun-Fri)"),
                Column("start", True, "HH:MM window start"),
                Column("end", True, "HH:MM window end; end < start = the next day; 24:00 allowed"),
            ),
        ),
        Sheet(
            "calendar_exceptions",
            False,
            "Changes to calendars on given dates: overtime (working yes) and holidays (no).",
            (
                Column("calendar", False, "calendar id (blank = every calendar)"),
                Column("from", True, "date and time, e.g. 2026-12-24 00:00"),
                Column("to", True, "date and time (after from)"),
                Column("working", True, "yes = extra working time, no = closed (holiday)"),
            ),
        ),
        Sheet(
            "downtime",
            False,
            "Planned maintenance and known outages of single machines.",
            (
                Column("machine", True, "machine id"),
                Column("from", True, "date and time"),
                Column("to", True, "date and time (after from)"),
                Column("reason", False, "free text"),
            ),
        ),
        Sheet(
            "articles",
            True,
            "Products.",
            (
                Column("article", True, "unique id, e.g. WARDROBE-2D"),
                Column("description", False, "free text"),
            ),
        ),
        Sheet(
            "components",
            True,
            "Bill of materials: the components of each article.",
            (
                Column("article", True, "article id"),
                Column("component", True, "component id, unique within the article"),
                Column("qty_per_article", True, "pieces of the component per article (> 0)"),
                Column("final_volume_per_piece", False, "volume of one finished piece (default 0)"),
                Column(
                    "parent",
                    False,
                    "blank = part of the article; else the component (same article) it is "
                    "assembled into: it waits there as a kit until that assembly starts",
                ),
                Column("description", False, "free text"),
            ),
        ),
        Sheet(
            "operations",
            True,
            "Routing of each component: one row per operation, in order of `step`.",
            (
                Column("article", True, "article id"),
                Column("component", True, "component id"),
                Column("step", True, "1, 2, 3, ... (route order; no gaps, no duplicates)"),
                Column("work_center", True, "work center that does the operation"),
                Column("setup", False, "setup id the machine needs (default neutral)"),
                Column("minutes_per_piece", True, "processing minutes per piece d (δ·d per batch)"),
                Column("fixed_minutes", False, "fixed minutes per batch (default 0)"),
                Column(
                    "volume_per_piece",
                    False,
                    "volume of one piece while waiting for / on this step",
                ),
                Column(
                    "machines",
                    False,
                    "comma-separated subset of the work center's machines (blank = all)",
                ),
            ),
        ),
        Sheet(
            "machine_times",
            False,
            "Per-machine minutes per piece where an alternative machine is faster or slower.",
            (
                Column("article", True, "article id"),
                Column("component", True, "component id"),
                Column("step", True, "step of the operation"),
                Column("machine", True, "machine id"),
                Column("minutes_per_piece", True, "minutes per piece on that machine"),
            ),
        ),
        Sheet(
            "orders",
            False,
            "The week's orders (may also come from a separate orders file).",
            (
                Column("order", True, "unique order id"),
                Column("article", True, "article id"),
                Column("quantity", True, "pieces (> 0)"),
                Column(
                    "deadline", False, "date and time, or minutes after plan start (blank = none)"
                ),
                Column(
                    "release",
                    False,
                    "date and time, or minutes after plan start (blank = plan start)",
                ),
                Column("priority", False, "weight > 0 (default 1)"),
            ),
        ),
    ]
}

PLANT_SHEETS = [n for n in SHEETS if n != "orders"]
