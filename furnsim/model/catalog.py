"""What is made: articles, their bills of materials, and each component's routing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from furnsim.errors import DataError, Issue, Location
from furnsim.model.bom import bom_issues

__all__ = ["Article", "Catalog", "Component", "Operation"]


def _fail(msg: str, where: Location | None) -> DataError:
    return DataError([Issue(msg, where or Location())])


@dataclass(eq=False)
class Operation:
    """One step of a component's routing.

    Processing time of a batch of δ pieces on machine ``m`` is
    ``δ · minutes_per_piece[m] + fixed_minutes``. ``machine_minutes`` overrides the time per
    piece for single machines; ``machines`` (if not empty) restricts the eligible machines of
    the work center. ``volume_per_piece`` is the volume of one piece while it waits for and is
    on this operation, in the unit of the work center's buffer. A zero-time operation is
    allowed here (benchmark instances such as orb07 have one); the table importer rejects it
    as a likely data-entry slip.
    """

    work_center: str
    setup: str
    minutes_per_piece: float
    fixed_minutes: float = 0.0
    volume_per_piece: float = 0.0
    machine_minutes: dict[str, float] = field(default_factory=dict)
    machines: tuple[str, ...] = ()
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.machines = tuple(self.machines)
        for name, v in (
            ("minutes per piece", self.minutes_per_piece),
            ("fixed minutes", self.fixed_minutes),
            ("volume per piece", self.volume_per_piece),
        ):
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise _fail(f"{name} must be a number >= 0 (got {v!r})", self.source)
        for m, v in self.machine_minutes.items():
            if not (math.isfinite(v) and v >= 0):
                raise _fail(
                    f"minutes per piece on machine {m} must be >= 0 (got {v!r})", self.source
                )

    def piece_minutes(self, machine: str) -> float:
        return self.machine_minutes.get(machine, self.minutes_per_piece)


@dataclass(eq=False)
class Component:
    """A part of an article, made in batches along its routing."""

    id: str
    qty_per_article: float
    routing: list[Operation]
    final_volume_per_piece: float = 0.0
    description: str = ""
    source: Location | None = field(default=None, repr=False, compare=False)
    parent: str = ""  # id of the assembly (a component of the same article) it goes into

    def __post_init__(self) -> None:
        self.parent = self.parent or ""
        if not self.id:
            raise _fail("component id is empty", self.source)
        if not (math.isfinite(self.qty_per_article) and self.qty_per_article > 0):
            raise _fail(
                f"component {self.id}: quantity per article must be > 0 (got {self.qty_per_article})",
                self.source,
            )
        if not self.routing:
            raise _fail(f"component {self.id}: routing is empty", self.source)


@dataclass(eq=False)
class Article:
    """A product with its bill of materials."""

    id: str
    components: list[Component]
    description: str = ""
    source: Location | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise _fail("article id is empty", self.source)
        if not self.components:
            raise _fail(f"article {self.id} has no components", self.source)
        seen: set[str] = set()
        for c in self.components:
            if c.id in seen:
                raise _fail(
                    f"article {self.id}: duplicate component {c.id!r}", c.source or self.source
                )
            seen.add(c.id)
        issues = bom_issues(self.id, self.components)
        if issues:
            raise DataError(issues)


@dataclass(eq=False)
class Catalog:
    """All articles, looked up by id."""

    articles: list[Article]

    def __post_init__(self) -> None:
        self.index: dict[str, Article] = {}
        issues = []
        for a in self.articles:
            if a.id in self.index:
                issues.append(Issue(f"duplicate article id {a.id!r}", a.source or Location()))
            self.index[a.id] = a
        if issues:
            raise DataError(issues)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.index

    def article(self, article_id: str) -> Article:
        return self.index[article_id]

    @property
    def n_components(self) -> int:
        return sum(len(a.components) for a in self.articles)
