"""bondkd.measure.compare: step alignment, bond agreement, JS distances, molecule loading."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import cohen_kappa_score

from bondkd.config import AnalyzeConfig, SegmentConfig
from bondkd.errors import InputError
from bondkd.measure.compare import (
    DatasetComparison,
    MoleculeComparison,
    align_steps,
    compare_datasets,
    compare_molecules,
    js_distance,
    load_molecules,
    spearman,
    spearman_within,
)
from bondkd.pipeline import analyze
from bondkd.schema import Bond, Components, MoleculeDoc, Provenance, Step

TEXT = "First step here. Second. Third step is longer. Fourth and last."
SENTENCES = [(0, 16), (17, 24), (25, 46), (47, 63)]


def doc(
    bonds: list[tuple[int, int, str, float]],
    spans: list[tuple[int, int]] = SENTENCES,
    roles: list[str] | None = None,
    text: str = TEXT,
    id: str = "m",
) -> MoleculeDoc:
    roles = roles or ["normal"] * len(spans)
    return MoleculeDoc(
        id=id,
        reasoning=text,
        steps=[
            Step(index=k, text=text[s:e], start=s, end=e, role=r)  # type: ignore[arg-type]
            for k, ((s, e), r) in enumerate(zip(spans, roles, strict=True))
        ],
        bonds=[
            Bond(source=s, target=t, type=ty, energy=en, components=Components())  # type: ignore[arg-type]
            for s, t, ty, en in bonds
        ],
        stability=0.5,
        accepted=True,
        reasons=[],
        conflicts=[],
        weak_points=[],
        provenance=Provenance(bondkd_version="test", backend="test", config_hash="x"),
    )


REF = [
    (1, 0, "strong_logic", 0.9),
    (2, 1, "strong_logic", 0.8),
    (3, 2, "reflection", 0.5),
    (3, 0, "exploratory", 0.2),
]


def test_spans_are_sentences():
    assert [TEXT[s:e] for s, e in SENTENCES][1:3] == ["Second.", "Third step is longer."]
    assert SENTENCES[-1][1] == len(TEXT)


def test_identical_molecule_agrees_fully():
    r = compare_molecules(doc(REF), doc(REF))
    assert r.same_segmentation and r.aligned_steps == 4 and r.bonds_a == r.bonds_b == 4
    assert r.type_agreement == 1.0 and r.kappa == pytest.approx(1.0)
    assert r.edge_precision == r.edge_recall == r.edge_f1 == r.typed_f1 == 1.0
    assert r.energy_spearman == pytest.approx(1.0)
    assert r.bond_counts_a == {"strong_logic": 2, "reflection": 1, "exploratory": 1}
    assert r.bond_counts_b == r.bond_counts_a


def test_one_class_kappa_is_one_and_two_bonds_give_no_spearman():
    bonds = [(1, 0, "strong_logic", 0.9), (2, 1, "strong_logic", 0.4)]
    r = compare_molecules(doc(bonds), doc(bonds))
    assert r.kappa == 1.0 and r.type_agreement == 1.0
    assert r.energy_spearman is None  # 2 shared bonds < 3


def test_no_bonds_at_all_gives_nulls():
    r = compare_molecules(doc([]), doc([]))
    assert r.type_agreement is None and r.kappa is None and r.edge_f1 is None
    assert r.energy_spearman is None and r.shared_bonds == 0


def test_one_type_changed_exact_numbers():
    b = [*REF[:2], (3, 2, "strong_logic", 0.5), REF[3]]
    r = compare_molecules(doc(REF), doc(b))
    assert r.type_agreement == 0.75
    # labels a: SL SL R E, b: SL SL SL E -> p_e = (2*3 + 1*1) / 16 = 7/16
    assert r.kappa == pytest.approx((12 / 16 - 7 / 16) / (1 - 7 / 16)) == pytest.approx(5 / 9)
    assert r.edge_precision == r.edge_recall == r.edge_f1 == 1.0
    assert r.typed_f1 == 0.75  # 2*3 / 8
    assert r.confusion["reflection"]["strong_logic"] == 1
    assert r.confusion["strong_logic"]["strong_logic"] == 2
    assert r.energy_spearman == pytest.approx(1.0)
    assert r.bond_counts_b == {"strong_logic": 3, "reflection": 0, "exploratory": 1}
    la, lb = ["SL", "SL", "R", "E"], ["SL", "SL", "SL", "E"]
    assert r.kappa == pytest.approx(cohen_kappa_score(la, lb))


def test_one_bond_removed_exact_numbers():
    r = compare_molecules(doc(REF), doc(REF[:3]))
    assert r.type_agreement == 0.75
    # a: SL SL R E, b: SL SL R none -> p_e = (2*2 + 1*1) / 16 = 5/16 -> kappa = 7/11
    assert r.kappa == pytest.approx(7 / 11)
    assert r.kappa == pytest.approx(
        cohen_kappa_score(["SL", "SL", "R", "E"], ["SL", "SL", "R", "-"])
    )
    assert r.edge_precision == 1.0 and r.edge_recall == 0.75
    assert r.edge_f1 == pytest.approx(6 / 7) and r.typed_f1 == pytest.approx(6 / 7)
    assert r.confusion["exploratory"]["none"] == 1 and r.shared_bonds == 3
    # b has an extra bond instead: precision drops, recall stays 1
    r2 = compare_molecules(doc(REF[:3]), doc(REF))
    assert r2.edge_precision == 0.75 and r2.edge_recall == 1.0
    assert r2.confusion["none"]["exploratory"] == 1


def test_energy_spearman_exact():
    b = [(1, 0, "strong_logic", 0.8), (2, 1, "strong_logic", 0.9), *REF[2:]]
    r = compare_molecules(doc(REF), doc(b))
    # ranks a: 4 3 2 1, b: 3 4 2 1 -> rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert r.energy_spearman == pytest.approx(0.8)
    # net of distance only the three distance-1 bonds rank: a 0.9 0.8 0.5, b 0.8 0.9 0.5,
    # centred ranks (1, 0, -1) and (0, 1, -1) -> 1 / 2
    assert r.energy_spearman_net == pytest.approx(0.5)
    # recency baseline: a's ranks 4 3 2 1 against -distance -1 -1 -1 -3 (ranks 3 3 3 1):
    # centred (1.5, .5, -.5, -1.5) and (.5, .5, .5, -1.5) -> 3 / sqrt(5 * 3)
    assert r.energy_spearman_recency == pytest.approx(3 / 15**0.5)
    assert r.type_agreement == 1.0  # energy differences do not touch types
    const = [(s, t, ty, 0.5) for s, t, ty, _ in REF]
    assert compare_molecules(doc(REF), doc(const)).energy_spearman is None


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5)).map(lambda t: (t[0] / 5, t[1] / 5)),
        min_size=3,
        max_size=12,
    )
)
def test_spearman_matches_scipy(points):
    # `spearman` is `spearman_within` with one group: this also checks that case.
    x, y = zip(*points, strict=True)
    ours = spearman(x, y)
    if len(set(x)) == 1 or len(set(y)) == 1:
        assert ours is None
    else:
        assert ours == pytest.approx(spearmanr(x, y).statistic, abs=1e-9)


POINTS = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 3)), min_size=0, max_size=16
)


def within_reference(x, y, g) -> float | None:
    """Slow path: scipy ranks per group, centred per group, pooled Pearson."""
    x, y, g = (np.asarray(v, dtype=float) for v in (x, y, g))
    rx, ry = np.zeros(len(x)), np.zeros(len(y))
    for k in set(g.tolist()):
        at = g == k
        rx[at] = rankdata(x[at]) - rankdata(x[at]).mean()
        ry[at] = rankdata(y[at]) - rankdata(y[at]).mean()
    norm = (rx @ rx) * (ry @ ry)
    return float(rx @ ry / np.sqrt(norm)) if norm else None


@given(POINTS)
def test_spearman_within_matches_a_per_group_scipy_reference(points):
    x, y, g = ([p[k] for p in points] for k in range(3))
    ours = spearman_within(x, y, g)
    ref = within_reference(x, y, g)
    shared = sum(1 for k in g if g.count(k) > 1)
    if shared < 3 or ref is None:
        assert ours is None
    else:
        assert ours == pytest.approx(ref, abs=1e-9)
        assert spearman_within(x, x, g) == pytest.approx(1.0)
        # Net of the grouping: a per-group shift or scale of x (a distance effect) changes nothing.
        moved = [v * (k + 1) + 10 * k for v, k in zip(x, g, strict=True)]
        assert spearman_within(moved, y, g) == pytest.approx(ours, abs=1e-9)


def test_spearman_within_ignores_what_the_group_alone_explains():
    j, i = np.tril_indices(6, -1)
    teacher = 1.0 / (j - i) + 0.1 * np.sin(7 * i)  # recency plus something beyond it
    recency = -(j - i).astype(float)
    assert spearman(recency, teacher) > 0.8  # distance alone ranks most of it...
    assert spearman_within(recency, teacher, j - i) is None  # ...and nothing within a distance
    assert spearman_within(np.sin(7 * i), teacher, j - i) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="length"):
        spearman_within([1, 2, 3], [1, 2, 3], [0, 0])


def test_different_segmentation_aligns_by_overlap():
    a = doc([(1, 0, "strong_logic", 0.9), (2, 1, "strong_logic", 0.8), (2, 0, "reflection", 0.6)])
    # b merges steps 0-1 of a into one step: it overlaps a0 by 16, a1 by 7 -> a0;
    # b1 is the lone space between sentences: it overlaps nothing and stays unaligned
    b = doc([(2, 0, "reflection", 0.4)], spans=[(0, 24), (24, 25), (25, 46), (47, 63)])
    assert align_steps(a, b) == {0: 0, 2: 2, 3: 3}
    r = compare_molecules(a, b)
    assert not r.same_segmentation and r.aligned_steps == 3
    # only a's bond 2 -> 0 lies between aligned steps; b's 2 -> 0 lands on it
    assert r.bonds_a == 1 and r.bonds_b == 1
    assert r.edge_f1 == 1.0 and r.typed_f1 == 1.0 and r.type_agreement == 1.0


def test_finer_segmentation_keeps_best_overlap_only():
    a = doc(REF)
    # b cuts a0 into "First step" (10) and " here." (6): both fall on a0, the first is kept
    spans = [(0, 10), (10, 16), (17, 24), (25, 46), (47, 63)]
    b = doc([(1, 0, "reflection", 0.3), (2, 0, "strong_logic", 0.7)], spans=spans)
    assert align_steps(a, b) == {0: 0, 2: 1, 3: 2, 4: 3}
    r = compare_molecules(a, b)
    assert r.aligned_steps == 4 and r.bonds_b == 1  # the bond inside a0 is dropped
    assert r.bonds_a == 4 and r.edge_precision == 1.0 and r.edge_recall == 0.25
    assert r.typed_f1 == pytest.approx(2 / 5)  # b's 2 -> 0 is a's 1 -> 0, strong_logic


def test_duplicate_pair_keeps_strongest_bond():
    b = doc([(1, 0, "reflection", 0.9), (1, 0, "strong_logic", 0.2)])
    r = compare_molecules(doc([(1, 0, "reflection", 0.9)]), b)
    assert r.bonds_b == 1 and r.type_agreement == 1.0


def test_different_text_raises():
    other = doc(REF, text=TEXT.replace("First", "Frist"), id="other")
    with pytest.raises(ValueError, match="same reasoning text"):
        compare_molecules(doc(REF), other)


# -- Jensen-Shannon distance --------------------------------------------------------------

weights = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))


@st.composite
def vector_pairs(draw):
    n = draw(st.integers(1, 8))
    p = draw(st.lists(weights, min_size=n, max_size=n).filter(lambda v: sum(v) > 0))
    q = draw(st.lists(weights, min_size=n, max_size=n).filter(lambda v: sum(v) > 0))
    return p, q


@given(vector_pairs())
def test_js_distance_matches_scipy(pq):
    p, q = pq
    ours, ref = js_distance(p, q), float(jensenshannon(p, q, base=2))
    if math.isnan(ref):  # scipy's sqrt of a rounding-negative divergence (p ≈ q)
        assert ours < 1e-6
    else:
        assert np.allclose(ours, ref, atol=1e-7)
    assert 0.0 <= ours <= 1.0
    assert js_distance(q, p) == pytest.approx(ours, abs=1e-12)
    assert js_distance(p, p) == pytest.approx(0.0, abs=1e-7)
    assert js_distance([2 * x for x in p], p) == pytest.approx(0.0, abs=1e-7)  # scale-free


def test_js_distance_edges():
    assert js_distance([1, 0], [0, 1]) == 1.0  # disjoint supports
    assert js_distance([0, 0], [0, 0]) == 0.0
    assert js_distance([0, 0], [1, 2]) == 1.0 and js_distance([3, 0], [0, 0]) == 1.0
    # p = (1, 0), q = (1/2, 1/2): JSD = 1/2 log2(4/3) + 1/4 log2(2/3) + 1/4 log2(2)
    jsd = 0.5 * math.log2(4 / 3) + 0.25 * math.log2(2 / 3) + 0.25
    assert js_distance([1, 0], [1, 1]) == pytest.approx(math.sqrt(jsd))
    with pytest.raises(ValueError):
        js_distance([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        js_distance([-1, 2], [1, 2])


# -- datasets -----------------------------------------------------------------------------

ROLES_A = ["normal", "deep_reasoning", "deep_reasoning", "reflection"]


def test_dataset_with_itself_is_zero():
    ds = [doc(REF, roles=ROLES_A), doc(REF[:2], roles=["exploration", *ROLES_A[1:]])]
    r = compare_datasets(ds, iter(ds))  # a one-pass iterator is enough
    assert r.bond_type_js == r.role_js == r.transition_js == 0.0
    assert r.a == r.b and r.a.molecules == 2
    assert r.a.bond_counts == {"strong_logic": 4, "reflection": 1, "exploratory": 1}
    assert r.a.role_distribution["deep_reasoning"] == pytest.approx(0.5)
    assert r.transition_row_js["exploration"] == 0.0 and r.transition_row_js["reflection"] is None


def test_clearly_different_datasets():
    a = [doc([(1, 0, "strong_logic", 0.9)], roles=["deep_reasoning"] * 4)]
    b = [doc([(1, 0, "reflection", 0.9)], roles=["reflection"] * 4)]
    r = compare_datasets(a, b)
    assert r.bond_type_js == 1.0 and r.role_js == 1.0 and r.transition_js == 1.0
    assert r.a.transition_probabilities[0] == [1.0, 0.0, 0.0, 0.0]
    assert r.a.transition_counts[0][0] == 3


def test_transition_js_weighted_by_pooled_rows():
    # a: normal -> deep x2, deep -> normal; b: normal -> deep, deep -> deep x2, deep -> reflection
    a = [doc([], roles=["normal", "deep_reasoning", "normal", "deep_reasoning"])]
    five = [(0, 6), (6, 16), (17, 24), (25, 46), (47, 63)]
    roles_b = ["normal", "deep_reasoning", "deep_reasoning", "deep_reasoning", "reflection"]
    b = [doc([], spans=five, roles=roles_b)]
    r = compare_datasets(a, b)
    rows = r.transition_row_js
    # normal row: only -> deep on both sides -> 0; deep row: a -> normal only, b never -> 1
    assert rows["normal"] == 0.0 and rows["deep_reasoning"] == 1.0
    assert rows["reflection"] is None and rows["exploration"] is None
    # pooled weights: normal 2 + 1 = 3, deep 1 + 3 = 4 -> (0 * 3 + 1 * 4) / 7
    assert r.transition_js == pytest.approx(4 / 7)
    assert r.bond_type_js == 0.0  # no bonds on either side
    assert r.b.transition_probabilities[0] == pytest.approx([2 / 3, 1 / 3, 0.0, 0.0])


def test_result_models_round_trip():
    r = compare_molecules(doc(REF), doc(REF[:3]))
    assert MoleculeComparison.model_validate_json(r.model_dump_json()) == r
    d = compare_datasets([doc(REF)], [doc(REF[:1])])
    assert DatasetComparison.model_validate_json(d.model_dump_json()) == d
    with pytest.raises(ValueError):
        MoleculeComparison.model_validate({**r.model_dump(), "extra": 1})


# -- real molecules -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    with open("datasets/reflective_long.json", encoding="utf-8") as fh:
        long = json.load(fh)
    with open("datasets/chinese_reflective.json", encoding="utf-8") as fh:
        zh = json.load(fh)
    lexical = AnalyzeConfig(backend="lexical")
    clauses = AnalyzeConfig(backend="lexical", segment=SegmentConfig(granularity="clause"))
    return analyze(long, lexical).doc, analyze(zh, lexical).doc, analyze(long, clauses).doc


def test_real_molecules_end_to_end(real):
    en, zh, en_clauses = real
    assert en.bonds and zh.bonds
    same = compare_molecules(en, en)
    assert same.edge_f1 == 1.0 and same.type_agreement == 1.0 and same.kappa == pytest.approx(1.0)
    with pytest.raises(ValueError):
        compare_molecules(en, zh)
    d = compare_datasets([en], [zh])
    for x in (d.bond_type_js, d.role_js, d.transition_js):
        assert 0.0 <= x <= 1.0
    assert d.a.molecules == d.b.molecules == 1
    assert sum(d.a.bond_counts.values()) == len(en.bonds)
    assert sum(d.b.role_counts.values()) == len(zh.steps)
    json.loads(d.model_dump_json())
    # the same text cut finer (clauses): every sentence step is some clause's best overlap
    seg = compare_molecules(en, en_clauses)
    assert not seg.same_segmentation and len(en_clauses.steps) > len(en.steps)
    assert seg.aligned_steps == len(en.steps)
    assert seg.shared_bonds > 0 and 0.0 < seg.edge_f1 <= 1.0  # type: ignore[operator]
    assert seg.energy_spearman is not None and -1.0 <= seg.energy_spearman <= 1.0
    back = compare_molecules(en_clauses, en)  # coarser b: each of its steps aligns
    assert back.aligned_steps == len(en.steps) and back.shared_bonds > 0


# -- loading ------------------------------------------------------------------------------


def test_load_molecules_json_and_jsonl(tmp_path, real):
    en, zh, _ = real
    one = tmp_path / "one.json"
    one.write_text(en.model_dump_json(), encoding="utf-8")
    assert load_molecules(str(one)) == [en]
    many = tmp_path / "many.jsonl"
    many.write_text(f"{en.model_dump_json()}\n\n{zh.model_dump_json()}\n", encoding="utf-8")
    assert load_molecules(str(many)) == [en, zh]


def test_load_molecules_bad_line_names_line_and_field(tmp_path):
    good = doc(REF).model_dump(mode="json")
    bad = {**good, "bonds": [{**good["bonds"][0], "energy": 2.0}]}
    path = tmp_path / "mols.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in (good, good, bad, good)) + "\n")
    with pytest.raises(InputError) as e:
        load_molecules(str(path))
    assert e.value.line == 3 and e.value.field == "bonds.0.energy"
    assert e.value.path == str(path) and f"{path}:3" in str(e.value)


def test_load_molecules_rejects_traces_and_broken_json(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(doc(REF).model_dump_json() + '\n{"reasoning": "a trace"}\n')
    with pytest.raises(InputError, match="not a molecule document") as e:
        load_molecules(str(path))
    assert e.value.line == 2
    path.write_text(doc(REF).model_dump_json() + "\n{broken\n")
    with pytest.raises(InputError, match="invalid JSON") as e:
        load_molecules(str(path))
    assert e.value.line == 2
