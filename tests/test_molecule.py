import json
import math

import networkx as nx
import pytest

from bondkd.config import StabilityConfig
from bondkd.molecule.molecule import (
    Molecule,
    bond_term,
    stability,
    stability_features,
    verdict,
    weak_points,
)
from bondkd.schema import (
    Bond,
    Components,
    Conflict,
    FlowIssue,
    MoleculeDoc,
    Provenance,
    Step,
)


def _bond(s, t, typ="strong_logic", e=0.9):
    return Bond(source=s, target=t, type=typ, energy=e, components=Components(coherence=e))


def test_bond_term_is_mean_of_each_steps_strongest_bond():
    bonds = [_bond(1, 0, e=0.9), _bond(2, 1, e=0.5), _bond(2, 0, e=0.7)]
    assert bond_term(4, bonds) == (0.9 + 0.7) / 3
    assert bond_term(1, []) == 0.0


def _logit(p):
    return math.log(p / (1 - p))


def test_each_cost_lowers_the_logit_by_its_value_and_bonds_can_raise_it():
    cfg = StabilityConfig(bond_weight=2.0, resolved_cost=0.04)
    bonds = [_bond(k, k - 1) for k in range(1, 5)]
    standing = Conflict(kind="value_clash", steps=[1, 3], description="x", value=0.73)
    fixed = Conflict(kind="value_clash", steps=[1, 3], description="x", value=0.04, resolved_by=4)
    unused = FlowIssue(kind="unused_quantity", step=None, quantity="3", description="x", value=1.06)

    def stab(conflicts=(), flow=(), givens=2, b=bonds):
        feats = stability_features(
            ["normal"] * 5, list(b), list(conflicts), list(flow), givens, cfg
        )
        return stability(feats, cfg)

    base = stab()
    assert stab([standing]) < stab([fixed]) < base
    assert _logit(stab([standing])) == pytest.approx(_logit(base) - cfg.conflicts.value_clash)
    assert _logit(stab([fixed])) == pytest.approx(_logit(base) - cfg.resolved_cost)
    # By default a corrected conflict costs nothing: a corrected trace scores as its clean twin.
    assert StabilityConfig().resolved_cost == 0.0
    # an unused given costs its kind's cost and no longer earns given_gain
    want = _logit(base) - cfg.flow.unused_quantity - cfg.given_gain
    assert _logit(stab(flow=[unused])) == pytest.approx(want)
    assert stab(b=[_bond(k, k - 1, e=0.5) for k in range(1, 5)]) < base
    assert 0.0 < stab([standing] * 40) < 1e-9  # a logistic never leaves (0, 1)
    ok, reasons = verdict(stab([standing] * 5), [standing], [unused], cfg)
    assert not ok and any("value_clash" in r for r in reasons)
    assert any("dataflow (unused_quantity)" in r for r in reasons)


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
