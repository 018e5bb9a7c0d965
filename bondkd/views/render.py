"""Molecule -> one interactive, self-contained HTML page (`bondkd render`, `analyze --html`).

The graph is a pyvis network drawn by vis-network (inlined). Steps sit in
reading order, left to right in rows that wrap like text, so the strong-logic
backbone reads as the trace does; reflection steps are lifted above their row
and exploration steps lowered, and reflection bonds curve back as arcs to the
step they check. Physics runs once to untangle rows, then stops (see
viz/molecule.js), so large molecules stay responsive.
"""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

from pyvis.network import Network

from bondkd.errors import output_path
from bondkd.molecule.molecule import Molecule
from bondkd.schema import BOND_TYPES, ROLES, MoleculeDoc
from bondkd.views.html import asset, page, vis_network_js

ROLE_COLOURS = {
    "deep_reasoning": "#2f6fb0",
    "reflection": "#d9822b",
    "exploration": "#3a9d5d",
    "normal": "#9aa5b1",
}
BOND_COLOURS = {"strong_logic": "#1f3b73", "reflection": "#e07b00", "exploratory": "#6fb585"}
BOND_LABELS = {
    "strong_logic": "strong logic (covalent)",
    "reflection": "reflection (hydrogen)",
    "exploratory": "exploratory (van der Waals)",
}
ROLE_LABELS = {
    "deep_reasoning": "deep reasoning",
    "reflection": "reflection",
    "exploration": "exploration",
    "normal": "normal",
}
_LANE = {"reflection": -1.0, "exploration": 1.0}  # rows: reflection above, exploration below
X_GAP, ROW_GAP, LANE_GAP = 190.0, 260.0, 60.0
LABEL_WIDTH = 22  # display columns (a CJK character is two)


def shorten(text: str, width: int = LABEL_WIDTH) -> str:
    """Whitespace-collapsed prefix of `text` at most `width` display columns wide."""
    out: list[str] = []
    used = 0
    text = " ".join(text.split())
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width - 1:
            return "".join(out).rstrip() + "…"
        out.append(ch)
        used += w
    return text


def per_row(n: int) -> int:
    """Steps per row: one row for short traces, about 2:1 wide blocks for long ones."""
    return n if n <= 8 else max(7, math.ceil(math.sqrt(2 * n)))


def reading_layout(roles: list[str]) -> list[tuple[float, float]]:
    """Initial (x, y) of each step: reading order in wrapped rows, role lanes within a row."""
    k = per_row(len(roles))
    return [
        ((i % k) * X_GAP, (i // k) * ROW_GAP + _LANE.get(r, 0.0) * LANE_GAP)
        for i, r in enumerate(roles)
    ]


def _edge_shape(kind: str, source: int, target: int, k: int) -> dict:
    """Neighbours in one row: straight. Other reflection bonds arc above (they run from the
    later step back, right to left, so counter-clockwise bows up); other bonds bow below,
    so arcs of the two kinds do not overlap."""
    if source - target == 1 and source // k == target // k and kind != "reflection":
        return {"smooth": False}
    roundness = 0.45 if kind == "reflection" else 0.2
    way = "curvedCCW" if kind == "reflection" else "curvedCW"
    return {"smooth": {"enabled": True, "type": way, "roundness": roundness}}


def network(doc: MoleculeDoc) -> Network:
    """The pyvis network of a molecule: nodes at their reading positions, typed edges."""
    net = Network(directed=True, cdn_resources="remote")  # resources: we inline our own
    k = per_row(len(doc.steps))
    first = doc.first_error.step if doc.first_error else None
    for s, (x, y) in zip(doc.steps, reading_layout([s.role for s in doc.steps]), strict=True):
        gone = s.superseded_by is not None
        note = f" (superseded by {s.superseded_by})" if gone else ""
        note += " (first unresolved error)" if s.index == first else ""
        net.add_node(
            s.index,
            label=f"{s.index}{note}\n{shorten(s.text)}",
            color={"background": ROLE_COLOURS[s.role],
                   "border": "#d62728" if s.index == first else ROLE_COLOURS[s.role]},
            borderWidth=3 if s.index == first else 1,
            shapeProperties={"borderDashes": [4, 3] if gone else False},
            opacity=0.55 if gone else 1.0,
            x=x,
            y=y,
            fixed={"x": True, "y": False},  # x is reading order; physics may nudge y
        )  # fmt: skip
    for n, b in enumerate(doc.bonds):
        weak = b.type == "exploratory"
        net.add_edge(
            b.source,
            b.target,
            id=n,
            color={"color": BOND_COLOURS[b.type], "opacity": 0.55 if weak else 1.0},
            width=1 + 8 * max(0.0, b.energy - 0.3),  # bonds start at 0.3
            dashes=weak,
            physics=False,  # bonds are not springs: layout stays in reading order
            bondType=b.type,
            arrows={"to": {"enabled": True, "scaleFactor": 0.5}},
            **_edge_shape(b.type, b.source, b.target, k),
        )
    return net


def _options(n_steps: int) -> dict:
    return {
        "nodes": {
            "shape": "dot",
            "size": 14,
            "font": {"size": 14, "face": "system-ui, Noto Sans CJK SC, PingFang SC, sans-serif"},
            "borderWidth": 1,
        },
        "edges": {"selectionWidth": 2},
        "interaction": {"hover": True, "hideEdgesOnDrag": n_steps > 200},
        "physics": {
            "enabled": True,
            # Short-range repulsion only: pushes apart labels that overlap (role lanes,
            # dense rows) and leaves the reading layout alone otherwise.
            "solver": "repulsion",
            "repulsion": {"nodeDistance": 90, "centralGravity": 0.0, "springLength": 0},
            # Settle in memory before the first paint, then molecule.js turns physics off.
            "stabilization": {"enabled": True, "iterations": 300 if n_steps <= 200 else 120},
        },
        "layout": {"improvedLayout": False},  # positions are given; skip Kamada-Kawai
    }


def view_data(doc: MoleculeDoc) -> dict:
    """Everything molecule.js needs: graph, options, full steps and bonds for the panel."""
    net = network(doc)
    return {
        "nodes": net.nodes,
        "edges": net.edges,
        "options": _options(len(doc.steps)),
        "steps": [s.model_dump(mode="json") for s in doc.steps],
        "bonds": [b.model_dump(mode="json") for b in doc.bonds],
        "roleLabels": ROLE_LABELS,
        "bondLabels": BOND_LABELS,
    }


def molecule_html(mol: Molecule | MoleculeDoc, back: str | None = None) -> str:
    """The page for one molecule; `back` is an optional link (a report) shown in the header."""
    doc = mol.doc if isinstance(mol, Molecule) else mol
    m = Molecule(doc)
    return page(
        "molecule.html",
        scripts=[vis_network_js(), asset("molecule.js")],
        data=view_data(doc),
        doc=doc,
        bond_counts=m.bond_counts(),
        role_counts=m.role_counts(),
        bond_types=BOND_TYPES,
        roles=ROLES,
        bond_colours=BOND_COLOURS,
        bond_labels=BOND_LABELS,
        role_colours=ROLE_COLOURS,
        role_labels=ROLE_LABELS,
        back=back,
    )


def write_molecule_html(mol: Molecule | MoleculeDoc, path: str | Path) -> None:
    """Write the page whole or not at all; an unwritable `path` is a BondkdError."""
    with output_path(path) as tmp:
        tmp.write_text(molecule_html(mol), encoding="utf-8")
