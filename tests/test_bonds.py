import numpy as np

from bondkd.config import Bands, BondConfig
from bondkd.energy.combine import PairEnergies
from bondkd.molecule.bonds import band, build_bonds, roles


def _pe(rows):
    """rows: (j, i, energy, coherence)."""
    pairs = np.array([[j, i] for j, i, _, _ in rows])
    coh = np.array([c for *_, c in rows])
    return PairEnergies(
        pairs,
        {"coherence": coh, "attention": None, "semantic": np.full(len(rows), np.nan)},
        np.array([e for _, _, e, _ in rows]),
    )


def test_bands():
    cfg = Bands()  # the seed's nominal bands 0.8 / 0.6 / 0.3
    assert band(0.95, cfg) == "strong_logic"
    assert band(0.7, cfg) == "reflection"
    assert band(0.45, cfg) == "exploratory"
    assert band(0.1, cfg) is None


def test_behaviour_wins_over_band():
    pe = _pe([(1, 0, 0.9, 0.8), (2, 1, 0.85, 0.8), (3, 2, 0.9, 0.4), (3, 0, 0.7, 0.95)])
    behaviour = [None, None, None, "reflection"]
    bonds = build_bonds(pe, behaviour, Bands())
    by_pair = {(b.source, b.target): b for b in bonds}
    assert by_pair[(3, 0)].type == "reflection"  # checks step 0 (most shared evidence)
    assert by_pair[(3, 2)].type == "strong_logic"  # other partners by band
    assert by_pair[(1, 0)].type == "strong_logic"
    assert roles(4, behaviour, bonds) == [
        "normal",
        "deep_reasoning",
        "deep_reasoning",
        "reflection",
    ]
    assert by_pair[(3, 0)].components.semantic is None  # NaN component -> null


def test_exploration_bond_and_sparsity():
    rows = [(5, i, 0.5 + 0.05 * i, 0.5) for i in range(5)]
    pe = _pe(rows)
    behaviour = [None] * 5 + ["exploration"]
    bonds = build_bonds(pe, behaviour, Bands(), max_per_step=2)
    assert len(bonds) == 2  # at most max_per_step bonds per source
    assert len({(b.source, b.target) for b in bonds}) == len(bonds)
    assert sum(b.type == "exploratory" for b in bonds) >= 1
    assert all(b.source > b.target for b in bonds)


def test_no_bond_below_floor():
    assert build_bonds(_pe([(1, 0, 0.2, 0.1)]), [None, None], Bands()) == []


def test_bands_are_per_backend():
    from bondkd.config import AnalyzeConfig

    cfg = AnalyzeConfig(bonds=BondConfig(lexical=Bands(strong=0.7, reflection=0.5)))
    assert cfg.model_copy(update={"backend": "lexical"}).bands().strong == 0.7
    assert cfg.bands() == cfg.bonds.model


def test_a_plain_step_bonds_to_what_it_uses_not_to_the_strongest_far_pair():
    # step 5 carries on from step 4 (adjacent, shared content); step 0 is far back
    pe = _pe([(5, 4, 0.55, 0.45), (5, 0, 0.6, 0.1)])
    bonds = build_bonds(pe, [None] * 6, Bands(), max_per_step=1)
    assert [(b.source, b.target, b.type) for b in bonds] == [(5, 4, "strong_logic")]


def test_a_fact_stated_after_another_uses_nothing():
    # adjacency alone (coherence 0.35) and a weak energy: a weak bridge, not a deduction
    bonds = build_bonds(_pe([(1, 0, 0.36, 0.35)]), [None, None], Bands())
    assert [b.type for b in bonds] == ["exploratory"]
