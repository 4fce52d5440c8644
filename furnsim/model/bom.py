"""Bills of materials as trees: parents, roots, quantities per parent (docs/semantics.md).

A component whose ``parent`` is set belongs to that component of the same article (an
assembly); blank = directly to the article. :func:`bom_issues` lists every structural
problem (unknown parent, a cycle, more than one root assembly) with the component's source
location; the model and the importer share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from furnsim.errors import Issue, Location

if TYPE_CHECKING:
    from furnsim.model.catalog import Component

__all__ = ["bom_issues", "children_of", "has_bom", "qty_per_parent", "root_of"]


def has_bom(components: Sequence[Component]) -> bool:
    """True when some component has a parent (the article is a tree, not a flat list)."""
    return any(c.parent for c in components)


def children_of(components: Sequence[Component]) -> dict[str, list[str]]:
    """Component id -> ids of its children (in BOM order); only assemblies are keys."""
    out: dict[str, list[str]] = {}
    for c in components:
        if c.parent:
            out.setdefault(c.parent, []).append(c.id)
    return out


def root_of(components: Sequence[Component]) -> str | None:
    """The root assembly (blank parent, has children), or None."""
    kids = children_of(components)
    roots = [c.id for c in components if not c.parent and c.id in kids]
    return roots[0] if roots else None


def qty_per_parent(components: Sequence[Component]) -> dict[str, float]:
    """Component id -> pieces per piece of its parent (``qty_per_article`` ratio); roots: per article."""
    by_id = {c.id: c for c in components}
    out = {}
    for c in components:
        p = by_id.get(c.parent) if c.parent else None
        out[c.id] = c.qty_per_article / p.qty_per_article if p is not None else c.qty_per_article
    return out


def bom_issues(article_id: str, components: Sequence[Component]) -> list[Issue]:
    """Every problem of the article's BOM tree (empty = a forest with at most one root)."""
    issues: list[Issue] = []
    by_id = {c.id: c for c in components}

    def where(c: Component) -> Location:
        return (c.source or Location()).at(column="parent")

    for c in components:
        if not c.parent:
            continue
        if c.parent == c.id:
            issues.append(Issue(f"component {article_id}/{c.id} is its own parent", where(c)))
        elif c.parent not in by_id:
            issues.append(
                Issue(
                    f"component {article_id}/{c.id}: unknown parent {c.parent!r} (the parent must be "
                    f"a component of the same article {article_id}: {', '.join(sorted(by_id))})",
                    where(c),
                )
            )
    if issues:
        return issues
    # cycles: follow parents from every component
    reported: set[str] = set()
    for c in components:
        path: list[str] = []
        cur: str | None = c.id
        while cur and cur not in path:
            path.append(cur)
            cur = by_id[cur].parent or None
        if cur and cur in path:
            loop = path[path.index(cur) :]
            key = min(loop)
            if key not in reported:
                reported.add(key)
                issues.append(
                    Issue(
                        f"article {article_id}: the parents form a cycle "
                        f"({' -> '.join([*loop, loop[0]])}); a bill of materials is a tree",
                        where(by_id[key]),
                    )
                )
    if issues:
        return issues
    kids = children_of(components)
    roots = [c for c in components if not c.parent and c.id in kids]
    if len(roots) > 1:
        issues.append(
            Issue(
                f"article {article_id} has {len(roots)} root assemblies "
                f"({', '.join(r.id for r in roots)}); at most one component with children may have "
                "a blank parent (make the others children of the root)",
                where(roots[1]),
            )
        )
    return issues
