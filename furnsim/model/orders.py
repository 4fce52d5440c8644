"""Demand: orders for articles, and the component jobs they expand into."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from furnsim.errors import DataError, Issue, Location

__all__ = ["Job", "Order"]


@dataclass(eq=False)
class Order:
    """A customer or stock order: ``quantity`` pieces of ``article``.

    Times are minutes from the plan start. ``deadline`` may be ``inf`` (no due date).
    """

    id: str
    article: str
    quantity: float
    deadline: float = math.inf
    release: float = 0.0
    priority: float = 1.0
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self.source or Location()
        if not self.id:
            raise DataError([Issue("order id is empty", where)])
        if not (math.isfinite(self.quantity) and self.quantity > 0):
            raise DataError(
                [Issue(f"order {self.id}: quantity must be > 0 (got {self.quantity})", where)]
            )
        if not math.isfinite(self.release):
            raise DataError([Issue(f"order {self.id}: release must be a finite time", where)])
        if math.isnan(self.deadline):
            raise DataError([Issue(f"order {self.id}: deadline is not a number", where)])
        if self.deadline < self.release:
            raise DataError(
                [
                    Issue(
                        f"order {self.id}: deadline ({self.deadline:g}) is before release ({self.release:g})",
                        where,
                    )
                ]
            )
        if not (math.isfinite(self.priority) and self.priority > 0):
            raise DataError(
                [Issue(f"order {self.id}: priority must be > 0 (got {self.priority})", where)]
            )


@dataclass(frozen=True)
class Job:
    """One component batch of one order: δ = order quantity × quantity per article.

    ``parent`` is the id of the assembly job (same order) the batch goes into after its last
    operation ("" = FINISHED); ``assembly`` is True when the job has children (it is released
    when its kit is complete, not from STORE).
    """

    id: str
    order: str
    article: str
    component: str
    delta: float
    release: float
    deadline: float
    priority: float
    parent: str = ""
    assembly: bool = False
