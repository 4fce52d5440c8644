"""Furniture assembly structure: which parts meet as kits, drawers and upholstered seats.

One home for the assembly "physics" that the synthetic generator (:mod:`furnsim.generate`,
``bom_depth`` / ``max_fan_in``) and the demo builder (``scripts/make_demo.py``) share
(docs/semantics.md, "Assembly"):

* An article made with a bill of materials tree has one **root**: ``ASSEMBLY`` for articles
  assembled in the plant (routing: ``ASSY`` with the article's jig, then ``PACK`` with its
  box), ``KIT`` for flat-pack articles (routing: ``PACK``, the parts packed as one kit).
* The parts lose their own ``ASSY`` / ``PACK`` steps; the root's time per article is the
  sum of those steps over its parts (pieces × minutes), so the plant's assembly and packing
  load stays what it was with independent parts — only *when* it can happen changes.
* ``depth >= 2`` adds **sub-assemblies**: a ``DRAWER`` (its front, sides, back and bottom,
  assembled at ``ASSY`` with the drawer jig, one per drawer front) and an upholstered
  ``SEAT`` (the seat board's upholstery step moves to the sub-assembly, which the chair's
  final assembly then takes as one part).
* ``max_fan_in`` (> 0) caps the children of an assembly: larger kits are split into
  intermediate sub-kits (``<root>-SUB1``...) at the parent's first work-center type, which
  take their share of the parent's time per article.
* Volumes: a waiting child holds ``own volume × KIT_SPACE[type]`` per piece in its parent's
  buffer (its ``final_volume_per_piece``); an assembled drawer takes ``DRAWER_BULK`` times its
  parts' volume (a hollow box), a packed article ``PACK_SPACE`` times its parts'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "DRAWER_BULK",
    "KIT_SPACE",
    "PACK_SPACE",
    "AssemblyNode",
    "KitPart",
    "assembly_tree",
]

#: buffer space of a waiting child relative to its own volume, by the kit's work-center type
KIT_SPACE = {"ASSY": 1.2, "PACK": 1.3, "UPH": 2.5}
#: an assembled drawer box relative to its parts' volume (hollow)
DRAWER_BULK = 2.5
#: a packed article (carton, corner protectors) relative to its parts' volume
PACK_SPACE = 1.3
#: minutes per piece to join a part into a drawer when the part had no assembly step
DRAWER_JOIN_MINUTES = 0.8
DRAWER_PARTS = ("DRAWER-FRONT", "DRAWER-SIDE", "DRAWER-BACK", "DRAWER-BOTTOM")


@dataclass(frozen=True)
class KitPart:
    """A part of an article as the assembly structure needs it.

    ``assy`` / ``pack``: minutes per piece of the part's former ASSY / PACK step (0 if none);
    ``upholstery``: the part's last step (type, setup, minutes per piece, fixed) when it is
    an upholstery step that a seat sub-assembly takes over.
    """

    id: str
    qty: float  # pieces per article
    volume: float  # own volume per piece, m³
    assy: float = 0.0
    pack: float = 0.0
    upholstery: tuple[str, str, float, float] | None = None


@dataclass
class AssemblyNode:
    """An assembly component to add to the article: its routing and where it goes."""

    id: str
    parent: str  # "" = the root
    qty: float  # pieces per article
    steps: list[tuple[str, str, float, float]]  # (work-center type, setup, min/piece, fixed)
    volume: float  # own volume per piece (m³) once assembled
    description: str = ""
    children: list[str] = field(default_factory=list)

    @property
    def final_volume(self) -> float:
        """Buffer space per piece while it waits as a child (0 for the root)."""
        return 0.0


def assembly_tree(
    parts: Sequence[KitPart],
    *,
    assembled: bool,
    box: str,
    jig: str = "A-CASE",
    depth: int = 2,
    max_fan_in: int = 0,
    drawer_jig: str = "A-DRAWER",
) -> tuple[dict[str, str], list[AssemblyNode]]:
    """(part id -> parent id, assembly nodes parents-first) for one article; ``depth`` 0 = flat."""
    if depth <= 0 or not parts:
        return {}, []
    root = AssemblyNode("ASSEMBLY" if assembled else "KIT", "", 1.0, [], 0.0)
    nodes: list[AssemblyNode] = [root]
    parent: dict[str, str] = {}
    by_id = {p.id: p for p in parts}
    assy_total = sum(p.qty * p.assy for p in parts)
    pack_total = sum(p.qty * p.pack for p in parts)
    own_total = sum(p.qty * p.volume for p in parts)
    direct: list[str] = []  # children of the root, in part order
    grouped: set[str] = set()
    if depth >= 2:
        drawer = [p for p in parts if p.id in DRAWER_PARTS]
        fronts = by_id.get("DRAWER-FRONT")
        if fronts is not None and len(drawer) >= 2:
            n_drawers = fronts.qty  # one drawer per front
            join = sum(p.qty * (p.assy or DRAWER_JOIN_MINUTES) for p in drawer) / n_drawers
            vol = sum(p.qty * p.volume for p in drawer) / n_drawers
            node = AssemblyNode(
                "DRAWER",
                root.id,
                n_drawers,
                [("ASSY", drawer_jig, join, 0.0)],
                vol * DRAWER_BULK,
                f"drawer box ({', '.join(p.id for p in drawer)})",
            )
            for p in drawer:
                parent[p.id] = node.id
                node.children.append(p.id)
                grouped.add(p.id)
            assy_total -= sum(p.qty * p.assy for p in drawer)  # now the drawer's work
            nodes.append(node)
            direct.append(node.id)
        for p in parts:
            if p.upholstery is None or p.id in grouped:
                continue
            t, setup, d, fixed = p.upholstery
            node = AssemblyNode(
                f"{p.id}-UPH",
                root.id,
                p.qty,
                [(t, setup, d, fixed)],
                p.volume * 1.6,  # foam and fabric
                f"upholstered {p.id.lower()} (board, foam, fabric)",
            )
            parent[p.id] = node.id
            node.children.append(p.id)
            grouped.add(p.id)
            nodes.append(node)
            direct.append(node.id)
    direct = [p.id for p in parts if p.id not in grouped] + direct
    steps: list[tuple[str, str, float, float]] = []
    if assembled:
        steps.append(("ASSY", jig, assy_total, 0.0))
    steps.append(("PACK", box, pack_total, 0.0))
    root.steps = steps
    root.volume = own_total * PACK_SPACE
    root.description = (
        "final assembly and packing" if assembled else "flat-pack kit, packed as one carton"
    )
    if max_fan_in > 0 and len(direct) > max_fan_in:
        chunks = [direct[i : i + max_fan_in] for i in range(0, len(direct), max_fan_in)]
        t0, s0, d0, f0 = root.steps[0]
        share_of = {n.id: n for n in nodes}
        kept = []
        for k, chunk in enumerate(chunks, start=1):
            w = sum(_weight(c, by_id, share_of) for c in chunk)
            tot = sum(_weight(c, by_id, share_of) for c in direct) or 1.0
            sub = AssemblyNode(
                f"{root.id}-SUB{k}",
                root.id,
                1.0,
                [(t0, s0, d0 * w / tot, 0.0)],
                sum(_own(c, by_id, share_of) for c in chunk),
                f"sub-kit {k} of {len(chunks)}",
                list(chunk),
            )
            kept.append(sub)
        root.steps[0] = (t0, s0, d0 * 0.25, f0)  # joining the sub-kits
        for sub in kept:
            for c in sub.children:
                parent[c] = sub.id
                if c in share_of:
                    share_of[c].parent = sub.id
        nodes.extend(kept)
        direct = [s.id for s in kept]
    for c in direct:
        parent.setdefault(c, root.id)
        if c in {n.id for n in nodes}:
            next(n for n in nodes if n.id == c).parent = root.id
    for n in nodes:
        n.children = [c for c, p in parent.items() if p == n.id]
    return parent, _parents_first(nodes)


def _weight(c: str, parts: dict[str, KitPart], nodes: dict[str, AssemblyNode]) -> float:
    p = parts.get(c)
    return p.qty if p is not None else nodes[c].qty


def _own(c: str, parts: dict[str, KitPart], nodes: dict[str, AssemblyNode]) -> float:
    p = parts.get(c)
    return p.qty * p.volume if p is not None else nodes[c].qty * nodes[c].volume


def _parents_first(nodes: list[AssemblyNode]) -> list[AssemblyNode]:
    by_id = {n.id: n for n in nodes}
    out: list[AssemblyNode] = []
    seen: set[str] = set()

    def visit(n: AssemblyNode) -> None:
        if n.id in seen:
            return
        if n.parent and n.parent in by_id:
            visit(by_id[n.parent])
        seen.add(n.id)
        out.append(n)

    for n in nodes:
        visit(n)
    return out


def kit_space(parent_type: str) -> float:
    """Buffer space factor of a child waiting in front of a ``parent_type`` work center."""
    return KIT_SPACE.get(parent_type, 1.2)
