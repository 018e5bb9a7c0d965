import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bondkd.measure.metrics import auroc, precision_recall


def _auroc_pairs(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=40))
def test_auroc_matches_pairwise_definition(rows):
    scores = [float(s) for s, _ in rows]
    labels = [y for _, y in rows]
    if all(labels) or not any(labels):
        return
    assert np.isclose(auroc(scores, labels), _auroc_pairs(scores, labels))


def test_auroc_extremes():
    assert auroc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert auroc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0


def test_precision_recall():
    assert precision_recall({1, 2, 3}, {2, 3, 4}) == (2 / 3, 2 / 3, 2 / 3)
    assert precision_recall(set(), set()) == (1.0, 1.0, 1.0)
