"""The TF-IDF pair product in bounded chunks (`semantic.pair_dots`).

The reference is the one-gather product it replaced: every pair's two rows at once.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse

from bondkd.energy import semantic


def one_gather(csr: sparse.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    return np.asarray(csr[pairs[:, 0]].multiply(csr[pairs[:, 1]]).sum(axis=1)).ravel()


@st.composite
def matrix_and_pairs(draw):
    n = draw(st.integers(1, 8))
    v = draw(st.integers(1, 6))
    cell = st.one_of(st.just(0.0), st.floats(-4, 4, allow_nan=False, allow_subnormal=False))
    dense = np.array(draw(st.lists(cell, min_size=n * v, max_size=n * v))).reshape(n, v)
    # Any order, repeats and i >= j: the chunks must not rely on candidate_pairs' sorting.
    row = st.integers(0, n - 1)
    pairs = np.array(draw(st.lists(st.tuples(row, row), max_size=30)), dtype=np.int64)
    return sparse.csr_matrix(dense), pairs.reshape(-1, 2)


@given(mp=matrix_and_pairs(), cells=st.integers(0, 40))
def test_pair_dots_agree_with_one_gather(mp, cells):
    csr, pairs = mp
    got = semantic.pair_dots(csr, pairs, cells)
    assert got.shape == (len(pairs),)
    assert np.allclose(got, one_gather(csr, pairs))


def test_lexical_cosine_gathers_a_bounded_number_of_row_entries(monkeypatch):
    # 400 steps, each paired with its 4 predecessors: one gather would hold every pair's
    # rows at once (~290k entries); the chunks may hold PAIR_CELLS plus one pair's rows.
    texts = [
        f"Step {k}: we multiply {k % 97} by {k % 13} to get {k % 97 * (k % 13)}."
        for k in range(400)
    ]
    pairs = np.array([(j, i) for j in range(1, 400) for i in range(max(0, j - 4), j)])
    expected = semantic.lexical_cosine(texts, pairs)
    gathered: list[int] = []
    real_getitem = sparse.csr_matrix.__getitem__

    def spy(self, key):
        out = real_getitem(self, key)
        gathered.append(out.nnz)
        return out

    monkeypatch.setattr(semantic, "DENSE_LIMIT", 0)
    monkeypatch.setattr(semantic, "PAIR_CELLS", 2000, raising=False)
    monkeypatch.setattr(sparse.csr_matrix, "__getitem__", spy)
    got = semantic.lexical_cosine(texts, pairs)
    assert np.allclose(got, expected)
    assert len(gathered) > 2
    longest_row = max(len(semantic._char_wb_grams(" ".join(t.lower().split()))[0]) for t in texts)
    # Each chunk gathers its j rows and its i rows: together at most cells + one pair.
    per_chunk = [a + b for a, b in zip(gathered[::2], gathered[1::2], strict=True)]
    assert max(per_chunk) <= 2000 + 2 * longest_row
