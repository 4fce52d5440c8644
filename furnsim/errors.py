"""Error types shared by the importers, the model and the simulator.

Input problems are collected as :class:`Issue` objects (file, sheet, row, column, message)
and raised together as one :class:`DataError`, so a planner sees every problem of a file
in one pass instead of fixing them one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DataError", "Issue", "Location", "ModelRefused"]


@dataclass(frozen=True)
class Location:
    """Where a value came from: file, sheet (table), 1-based row as the user sees it, column."""

    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""

    def at(self, *, row: int | None = None, column: str | None = None) -> Location:
        return Location(
            self.file,
            self.sheet,
            self.row if row is None else row,
            self.column if column is None else column,
        )

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"file {self.file}")
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Issue:
    """One problem found in the input data."""

    message: str
    location: Location = Location()

    @property
    def file(self) -> str:
        return self.location.file

    @property
    def sheet(self) -> str:
        return self.location.sheet

    @property
    def row(self) -> int | None:
        return self.location.row

    @property
    def column(self) -> str:
        return self.location.column

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


class DataError(ValueError):
    """Invalid input data; carries every :class:`Issue` found, not just the first."""

    def __init__(self, issues: Iterable[Issue] | str):
        if isinstance(issues, str):
            issues = [Issue(issues)]
        self.issues: list[Issue] = list(issues)
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the input data"
        super().__init__(head + ":\n" + "\n".join(f"  - {i}" for i in self.issues))


class ModelRefused(Exception):
    """A model file that planning will not load: it would need unpickling (code execution) or
    is malformed or too large. The planner falls back to the best rule and says why."""
