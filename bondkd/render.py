"""Molecule -> interactive HTML (pyvis / vis-network, inlined so it works offline).

Trace text is untrusted: every string shown is HTML-escaped before it reaches
pyvis, whose tooltips render HTML.
"""

from __future__ import annotations

import html
from pathlib import Path

from pyvis.network import Network

from bondkd.molecule import Molecule

ROLE_COLOURS = {
    "deep_reasoning": "#2f6fb0",
    "reflection": "#d9822b",
    "exploration": "#3a9d5d",
    "normal": "#9aa5b1",
}
BOND_COLOURS = {"strong_logic": "#1f3b73", "reflection": "#e07b00", "exploratory": "#7bbf8e"}


def molecule_network(mol: Molecule) -> Network:
    d = mol.doc
    net = Network(height="720px", width="100%", directed=True, cdn_resources="in_line")
    for s in d.steps:
        label = f"{s.index}: {' '.join(s.text.split())[:24]}"
        net.add_node(
            s.index,
            label=label,
            title=html.escape(f"[{s.role}] {s.text}"),
            color=ROLE_COLOURS[s.role],
            level=s.index,
        )
    for b in d.bonds:
        net.add_edge(
            b.source,
            b.target,
            color=BOND_COLOURS[b.type],
            width=1 + 4 * b.energy,
            title=html.escape(f"{b.type} {b.energy:.3f}"),
            smooth={"type": "curvedCCW", "roundness": 0.3} if b.type == "reflection" else False,
        )
    net.toggle_physics(False)
    return net


def write_molecule_html(mol: Molecule, path: str | Path) -> None:
    Path(path).write_text(molecule_network(mol).generate_html(), encoding="utf-8")
