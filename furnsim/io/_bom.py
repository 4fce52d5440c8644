"""Importer checks of bills of materials with parents (docs/data-format.md, "components.parent").

Reported with file / sheet / row / column like every other input problem: unknown parents
(or a parent in another article), cycles, more than one root assembly per article, and a child
that cannot reach its parent (no transport time from its last work center to the parent's
first).
"""

from __future__ import annotations

from collections.abc import Callable

from furnsim.errors import Location
from furnsim.model import Article, Component, TransportMatrix
from furnsim.model.bom import bom_issues

__all__ = ["check_bom", "check_transport_joins"]

Add = Callable[[str, Location], None]


def check_bom(
    add: Add, comps: dict[str, list[Component]], comp_seen: set[tuple[str, str]]
) -> set[str]:
    """Report every BOM problem; returns the articles whose tree is broken (left out)."""
    bad: set[str] = set()
    owner: dict[str, list[str]] = {}
    for art_id, comp_id in comp_seen:
        owner.setdefault(comp_id, []).append(art_id)
    for a, cs in comps.items():
        ids = {c.id for c in cs}
        for c in cs:
            if c.parent and c.parent not in ids and (a, c.parent) in comp_seen:
                ids.add(c.parent)  # the parent exists but its own row is broken: reported there
                bad.add(a)
        for c in cs:
            if c.parent and c.parent not in ids and c.parent != c.id:
                elsewhere = sorted(x for x in owner.get(c.parent, []) if x != a)
                hint = (
                    f"{c.parent!r} is a component of article {', '.join(elsewhere)}, not of {a}"
                    if elsewhere
                    else f"no component {c.parent!r} in article {a}"
                )
                add(
                    f"component {a}/{c.id}: unknown parent ({hint}); a parent must be a component of "
                    "the same article",
                    (c.source or Location()).at(column="parent"),
                )
                bad.add(a)
        if a in bad:
            continue
        issues = bom_issues(a, cs)
        for i in issues:
            add(i.message, i.location)
        if issues:
            bad.add(a)
    return bad


def check_transport_joins(add: Add, articles: list[Article], transport: TransportMatrix) -> None:
    """Every child's last work center must deliver to its parent's first (a transport time)."""
    for art in articles:
        by_id = {c.id: c for c in art.components}
        for c in art.components:
            p = by_id.get(c.parent)
            if p is None:
                continue
            a, b = c.routing[-1].work_center, p.routing[0].work_center
            if a != b and (a, b) not in transport.minutes:  # the sheet must give the time
                add(
                    f"component {art.id}/{c.id} cannot meet its parent {p.id}: no transport time "
                    f"from {a} (its last step) to {b} (the parent's first step) in sheet transport",
                    (c.source or Location()).at(column="parent"),
                )
