import json

import networkx as nx

from bondkd.config import StabilityConfig
from bondkd.molecule import Molecule, bond_term, stability, verdict, weak_points
from bondkd.schema import Bond, Components, Conflict, MoleculeDoc, Provenance, Step


def _bond(s, t, typ="strong_logic", e=0.9):
    return Bond(source=s, target=t, type=typ, energy=e, components=Components(coherence=e))


def test_bond_term_is_mean_of_each_steps_strongest_bond():
    bonds = [_bond(1, 0, e=0.9), _bond(2, 1, e=0.5), _bond(2, 0, e=0.7)]
    assert bond_term(4, bonds) == (0.9 + 0.7) / 3
    assert bond_term(1, []) == 0.0


def test_conflicts_lower_stability_and_resolved_cost_less():
    bonds = [_bond(k, k - 1) for k in range(1, 5)]
    standing = Conflict(kind="value_clash", steps=[1, 3], description="x", value=0.5)
    fixed = Conflict(kind="value_clash", steps=[1, 3], description="x", value=0.1, resolved_by=4)
    base = stability(5, bonds, [])
    assert stability(5, bonds, [standing]) < stability(5, bonds, [fixed]) < base
    assert stability(5, bonds, [standing, standing, standing]) == 0.0
    ok, reasons = verdict(stability(5, bonds, [standing]), [standing], StabilityConfig())
    assert not ok and any("value_clash" in r for r in reasons)


def test_weak_points_need_long_unchecked_backbone():
    cfg = StabilityConfig(weak_chain=4)
    chain = [_bond(k, k - 1) for k in range(1, 6)]  # steps 0..5
    wp = weak_points(7, chain, cfg)
    assert [(w.start, w.end, w.length) for w in wp] == [(0, 5, 6)]
    assert weak_points(7, [*chain, _bond(6, 2, "reflection", 0.7)], cfg) == []


def _doc():
    return MoleculeDoc(
        id="t",
        question="q",
        reasoning="a b",
        steps=[Step(index=0, text="a", start=0, end=1), Step(index=1, text="b", start=2, end=3)],
        bonds=[_bond(1, 0)],
        stability=0.9,
        accepted=True,
        reasons=[],
        conflicts=[],
        weak_points=[],
        provenance=Provenance(bondkd_version="x", backend="lexical", config_hash="h"),
    )


def test_roundtrip_graph_and_graphml(tmp_path):
    m = Molecule(_doc())
    again = Molecule.from_json(m.to_json())
    assert again.doc == m.doc
    assert list(m.graph.edges) == [(1, 0)]  # later step -> earlier step
    assert json.loads(m.to_json())["bonds"][0]["source"] == 1
    m.to_graphml(tmp_path / "g.graphml")
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert list(g.edges) == [("1", "0")]
