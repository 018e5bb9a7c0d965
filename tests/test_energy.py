import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bondkd.config import ComponentWeights
from bondkd.energy import coherence
from bondkd.energy.combine import combine
from bondkd.energy.pairs import candidate_pairs
from bondkd.energy.semantic import lexical_cosine, rescale


def test_candidate_pairs_local_and_long_range():
    terms = [{"apples", "#17"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}, {"#17", "apples"}]
    pairs = candidate_pairs(terms, local_window=2, long_range=1)
    rows = {tuple(r) for r in pairs.tolist()}
    assert (6, 5) in rows and (6, 4) in rows and (6, 3) not in rows
    assert (6, 0) in rows  # shares rare terms with step 0, five steps back
    assert all(i < j for j, i in rows)
    assert len(rows) == len(pairs)


def test_candidate_pairs_empty_and_single():
    assert candidate_pairs([], 3, 3).shape == (0, 2)
    assert candidate_pairs([{"a"}], 3, 3).shape == (0, 2)


unit = st.one_of(st.floats(0, 1), st.just(float("nan")))


@given(
    st.lists(st.tuples(unit, unit, unit), min_size=1, max_size=30),
    st.tuples(*[st.floats(0, 5)] * 3),
)
def test_combined_energy_in_unit_interval(rows, w):
    pairs = np.array([[k + 1, k] for k in range(len(rows))])
    comps = {
        name: np.array([r[c] for r in rows])
        for c, name in enumerate(("attention", "semantic", "coherence"))
    }
    weights = ComponentWeights(attention=w[0], semantic=w[1], coherence=w[2])
    e = combine(pairs, comps, weights).energy
    assert np.all((e >= 0) & (e <= 1))


def test_combine_renormalises_over_present_components():
    pairs = np.array([[1, 0], [2, 1]])
    comps = {
        "attention": np.array([np.nan, 1.0]),
        "semantic": np.array([0.2, 0.0]),
        "coherence": None,
    }
    e = combine(pairs, comps, ComponentWeights(attention=1, semantic=1, coherence=1)).energy
    assert np.allclose(e, [0.2, 0.5])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=8), st.text(max_size=40))
def test_coherence_and_semantic_in_unit_interval(texts, question):
    feats = coherence.step_features(question, texts)
    pairs = candidate_pairs([f.terms | f.numbers for f in feats], 3, 2)
    c = coherence.coherence(feats, pairs)
    s = rescale(lexical_cosine(texts, pairs), 0.05, 0.6)
    for x in (c, s):
        assert x.shape == (len(pairs),)
        assert np.all((x >= 0) & (x <= 1))


def test_reused_quantity_is_coherent():
    texts = [
        "Tom has 17 boxes of 24 pens, so 17 * 24 = 408 pens.",
        "He sells 8 pens a day.",
        "Wait, let me check: 408 pens / 8 = 51 days.",
    ]
    feats = coherence.step_features("Tom has 17 boxes with 24 pens each.", texts)
    assert "408" in feats[0].introduced and "17" not in feats[0].introduced
    far = coherence.pair_coherence(feats[2], feats[0], adjacent=False)
    unrelated = coherence.pair_coherence(feats[1], feats[0], adjacent=False)
    assert far > 0.7 > unrelated


@pytest.mark.parametrize("dense_limit", [0, 1 << 18], ids=["sparse", "dense"])
@given(texts=st.lists(st.text(), min_size=1, max_size=6))
@example(texts=["0\x00", "0", "ab a\x00"])  # numpy strips a trailing NUL from its strings
def test_fast_lexical_cosine_matches_sklearn(dense_limit, texts):
    from bondkd.energy import semantic

    pairs = np.array([(j, i) for j in range(len(texts)) for i in range(j + 1)]).reshape(-1, 2)
    old, semantic.DENSE_LIMIT = semantic.DENSE_LIMIT, dense_limit
    try:
        fast = lexical_cosine(texts, pairs)
    finally:
        semantic.DENSE_LIMIT = old
    assert np.allclose(fast, semantic.lexical_cosine_reference(texts, pairs))
