"""Material traceability: ``brain trace --lot L | --batch B | --shipment S``.

Answered from the genealogy edges in silver.consumer_goods_material_genealogy
(``lot_to_batch``: a material lot consumed into a batch; ``batch_to_shipment``:
a batch shipped in a shipment). Forward follows edges parent -> child (a lot
to the batches and shipments made from it, the recall question); backward
follows them child -> parent (a shipment back to the lots in it, the
complaint question). Both walk until no edge is left, so a deeper genealogy
(intermediate batches) needs no change here.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass

from brain.config import Config

GENEALOGY = "silver.consumer_goods_material_genealogy"
# Which end of which link type names a lot, a batch or a shipment.
ROLES = {"lot_to_batch": ("lot", "batch"), "batch_to_shipment": ("batch", "shipment")}
KINDS = ("lot", "batch", "shipment")
PLURAL = {"lot": "lots", "batch": "batches", "shipment": "shipments"}


class TraceNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Link:
    link_type: str
    parent_id: str
    child_id: str
    quantity: float
    unit: str
    material: str | None = None


@dataclass(frozen=True)
class Step:
    level: int        # 1 = directly linked to the traced id
    link_type: str
    parent_id: str
    child_id: str
    quantity: float
    unit: str
    material: str | None


def roles(links: list[Link]) -> dict[str, set[str]]:
    """Every id with the kinds (lot/batch/shipment) it appears as."""
    out: dict[str, set[str]] = defaultdict(set)
    for link in links:
        parent, child = ROLES.get(link.link_type, ("item", "item"))
        out[link.parent_id].add(parent)
        out[link.child_id].add(child)
    return out


def _walk(links: list[Link], start: str, forward: bool) -> list[Step]:
    by_end: dict[str, list[Link]] = defaultdict(list)
    for link in links:
        by_end[link.parent_id if forward else link.child_id].append(link)
    steps, seen, frontier, level = [], {start}, [start], 0
    while frontier:
        level += 1
        nxt = []
        for node in frontier:
            for link in sorted(by_end.get(node, []), key=lambda x: (x.child_id, x.parent_id)):
                steps.append(Step(level, link.link_type, link.parent_id, link.child_id, link.quantity, link.unit,
                                  link.material))
                other = link.child_id if forward else link.parent_id
                if other not in seen:  # a cycle in bad data must not loop forever
                    seen.add(other)
                    nxt.append(other)
        frontier = nxt
    return steps


def trace(links: list[Link], kind: str, item: str) -> dict:
    """Forward (lot, batch) and backward (batch, shipment) genealogy of one id, with the ids reached by kind."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    known = roles(links)
    if kind not in known.get(item, set()):
        also = sorted(known.get(item, set()))
        hint = f"; it is known as a {' and a '.join(also)}: try --{also[0]} {item}" if also else ""
        raise TraceNotFound(f"no {kind} {item!r} in {GENEALOGY} ({len(links)} links searched){hint}")
    forward = _walk(links, item, True) if kind in ("lot", "batch") else []
    backward = _walk(links, item, False) if kind in ("batch", "shipment") else []
    reached: dict[str, set[str]] = {k: set() for k in KINDS}
    for step in forward + backward:
        for node in (step.parent_id, step.child_id):
            for k in known[node]:
                if k in reached and node != item:
                    reached[k].add(node)
    return {"kind": kind, "id": item,
            "forward": [asdict(s) for s in forward], "backward": [asdict(s) for s in backward],
            **{PLURAL[k]: sorted(v) for k, v in reached.items()}}


def load_links(cfg: Config) -> list[Link]:
    """The genealogy edges; the same edge reported twice counts its quantity once per report, summed."""
    from brain.serve import query

    cols, rows, _ = query.run(cfg, f"""
        SELECT link_type, parent_id, child_id, SUM(quantity) AS quantity, unit, MAX(material) AS material
        FROM {GENEALOGY}
        WHERE parent_id IS NOT NULL AND child_id IS NOT NULL
        GROUP BY link_type, parent_id, child_id, unit""")
    return [Link(*row) for row in rows]


def _qty(step: dict) -> str:
    return f"{step['quantity']:g} {step['unit']}"


def _branch(lines: list[str], below: dict, far: str, arrow: str, kinds_of: dict, node: str, depth: int,
            path: frozenset) -> None:
    for s in below.get(node, []):
        other = s[far]
        material = f" [{s['material']}]" if s.get("material") else ""
        lines.append(f"    {'   ' * depth}{arrow} {kinds_of.get(other, '')} {other}: {_qty(s)}{material}")
        if other not in path:  # a cycle in bad data is printed once, not forever
            _branch(lines, below, far, arrow, kinds_of, other, depth + 1, path | {other})


def render(result: dict) -> str:
    """The trace as indented trees, one line per link."""
    kinds_of = {node: k for k in KINDS for node in result[PLURAL[k]]}
    lines = [f"{result['kind']} {result['id']}"]
    wanted = {"forward": result["kind"] != "shipment", "backward": result["kind"] != "lot"}
    for key, title, arrow in (("forward", "made into (forward)", "->"), ("backward", "made from (backward)", "<-")):
        if not wanted[key]:
            continue
        lines.append(f"  {title}:")
        near, far = ("parent_id", "child_id") if key == "forward" else ("child_id", "parent_id")
        below: dict[str, list[dict]] = defaultdict(list)
        for s in result[key]:
            below[s[near]].append(s)
        before = len(lines)
        _branch(lines, below, far, arrow, kinds_of, result["id"], 0, frozenset({result["id"]}))
        if len(lines) == before:
            lines.append("    (no links)")
    lines.append("  reached: " + ", ".join(f"{len(result[PLURAL[k]])} {PLURAL[k]}" for k in KINDS))
    return "\n".join(lines)


def add_arguments(p) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--lot", help="forward: the batches and shipments made from this material lot")
    group.add_argument("--batch", help="both ways: the lots in this batch and the shipments it went into")
    group.add_argument("--shipment", help="backward: the batches and lots in this shipment")
    p.add_argument("--json", action="store_true", help="machine-readable result")


def run_cli(args, cfg: Config) -> int:
    from brain.serve.query import QueryError

    kind = next(k for k in KINDS if getattr(args, k))
    try:
        result = trace(load_links(cfg), kind, getattr(args, kind))
    except QueryError as exc:
        print(f"brain trace: no genealogy to search yet ({exc})", file=sys.stderr)
        return 3
    except TraceNotFound as exc:
        print(f"brain trace: {exc}", file=sys.stderr)
        return 4
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0
