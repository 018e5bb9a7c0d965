"""Semantic component: how similar two steps' meanings are.

The model backend uses sentence-transformer embeddings (cosine); the lexical
backend TF-IDF over character n-grams (works for Chinese without a word
segmenter). Raw cosines of unrelated steps are not 0 (MiniLM puts them around
0.1), so each backend maps its own measured range `(lo, hi)` linearly onto
[0, 1]: ``semantic = clip((cos - lo) / (hi - lo), 0, 1)``.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from itertools import pairwise
from typing import Protocol

import numpy as np
from scipy import sparse

from bondkd.quantities.numbers import TextCache


class Embedder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...  # (N, d), rows L2-normalised


def rescale(cos: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((cos - lo) / max(hi - lo, 1e-9), 0.0, 1.0)


def embedding_cosine(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """vectors (S, d) L2-normalised; pairs (P, 2) rows (j, i) -> cosine (P,)."""
    if len(pairs) == 0:
        return np.zeros(0)
    return np.einsum("pd,pd->p", vectors[pairs[:, 0]], vectors[pairs[:, 1]]).astype(np.float64)


def _grams(text: str, lo: int = 2, hi: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Distinct character n-grams inside word boundaries, exactly as sklearn's ``char_wb``
    analyzer (lowercased, each word padded with one space), and their sublinear tf
    1 + log(count). Cached: the gate compares the same step texts in the energies, the
    redundancy check and again when a trace is re-read."""
    # The padded words side by side: " ab  cd ". A gram holding two spaces spans two
    # words, every other one lies inside a word. (sklearn's rule for a word shorter than
    # n never fires: the shortest padded word has 3 characters and n counts up from 2.)
    words = text.lower().split()
    if len(text) > WORDWISE:
        counts = _counts_by_word(words, lo, hi)
    else:
        padded = " " + "  ".join(words) + " "
        counts = Counter(
            padded[k : k + n] for n in range(lo, hi + 1) for k in range(len(padded) - n + 1)
        )
    inside = [g for g in counts if "  " not in g]
    tf = 1.0 + np.log(np.fromiter((counts[g] for g in inside), np.float64, len(inside)))
    # A gram has at most `hi` characters, so a fixed-width array holds them and np.unique
    # joins vocabularies without a Python loop. The terminator keeps a trailing NUL,
    # which numpy strips, from merging two grams.
    grams_array = np.array([g + "\x01" for g in inside], dtype=f"<U{hi + 1}")
    for a in (grams_array, tf):
        a.flags.writeable = False  # shared by every caller of the cache
    return grams_array, tf


# Longer texts (a whole response, for the echo check) are counted word by word.
WORDWISE = 2_000


def _counts_by_word(words: list[str], lo: int, hi: int) -> dict[str, int]:
    """The counts of the grams inside words, in the order `_grams` first meets them (n,
    then position), from each distinct word's grams times its count: a long text
    repeats its words, and slicing every position of 1 MB took 0.5 s."""
    counts: dict[str, int] = {}
    by_word = Counter(words)  # in order of first appearance
    for n in range(lo, hi + 1):
        for w, times in by_word.items():
            padded = f" {w} "
            for k in range(len(padded) - n + 1):
                g = padded[k : k + n]
                counts[g] = counts.get(g, 0) + times
    return counts


# A record's steps and its question's neighbours; whole responses (the echo check) are
# not kept, so one record's grams do not outlive it. Grams take ~80 bytes a character.
_char_wb_grams = TextCache(_grams, budget=2_000_000)

# Above this many step × n-gram cells the TF-IDF rows are kept sparse.
DENSE_LIMIT = 1 << 18
# Row entries gathered at once by `pair_dots`: 2 × 0.8 MB stays in cache (1 << 20 was 1.5×
# slower on a 1 MB trace, benchmarks/numba_kernels.py).
PAIR_CELLS = 1 << 16


def lexical_cosine(texts: list[str], pairs: np.ndarray) -> np.ndarray:
    """TF-IDF (char 2–4 grams within word boundaries, sublinear tf, smooth idf) cosine for
    each pair (P,). Same numbers as `lexical_cosine_reference` (sklearn) without its
    per-call overhead, which dominated gating short traces."""
    if len(pairs) == 0:
        return np.zeros(0)
    weights, flat, indptr, n_vocab, ids = _tfidf(texts)
    n, m = len(texts), len(indptr) - 1
    pairs = ids[pairs]  # rows of the distinct texts
    if n * n_vocab <= DENSE_LIMIT:  # short traces: a small dense matrix is fastest
        rows = np.zeros((m, n_vocab))
        rows[np.repeat(np.arange(m), np.diff(indptr)), flat] = weights
        return np.einsum("pd,pd->p", rows[pairs[:, 0]], rows[pairs[:, 1]])
    csr = sparse.csr_matrix((weights, flat, indptr), shape=(m, max(1, n_vocab)))
    return pair_dots(csr, pairs)


# weights, columns, indptr and vocabulary size of the distinct texts' rows, and the row
# of each text.
Rows = tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]
# The TF-IDF rows of the last few step lists, up to this many entries in all (16 bytes
# each): the gate reads one trace's steps twice, for the energies and a batch later in the
# redundancy check, and rebuilding the rows was half of that check on a 1 MB trace.
MEMO_CELLS = 1 << 22


class _Memo:
    """Least-recently-used TF-IDF rows, at most `MEMO_CELLS` entries in all, counted as they
    come and go: summing every held entry's size on each insert made gating many short
    traces quadratic until the memo filled (13.7 M size reads for 5,000 records)."""

    def __init__(self) -> None:
        self.rows: OrderedDict[tuple[str, ...], Rows] = OrderedDict()
        self.cells = 0

    def get(self, key: tuple[str, ...]) -> Rows | None:
        if (hit := self.rows.get(key)) is not None:
            self.rows.move_to_end(key)
        return hit

    def put(self, key: tuple[str, ...], rows: Rows) -> None:
        self.rows[key] = rows
        self.cells += len(rows[0])
        while len(self.rows) > 1 and self.cells > MEMO_CELLS:
            _, old = self.rows.popitem(last=False)
            self.cells -= len(old[0])

    def clear(self) -> None:
        self.rows.clear()
        self.cells = 0


_memo = _Memo()


def _tfidf(texts: list[str]) -> Rows:
    """L2-normalised TF-IDF rows of `texts` in CSR parts; memoised (`MEMO_CELLS`)."""
    # Normalised before the caches, so texts that differ only in case or spacing (the
    # same grams) share one entry.
    key = tuple(" ".join(t.lower().split()) for t in texts)
    if (hit := _memo.get(key)) is not None:
        return hit
    # Identical steps have identical rows: a looping trace is read once per distinct
    # step, each counted as often as it occurs (the same numbers, bit for bit).
    row: dict[str, int] = {}
    ids = np.fromiter((row.setdefault(t, len(row)) for t in key), np.int64, len(key))
    grams, tfs = zip(*(_char_wb_grams(t) for t in row), strict=True)
    n, m, sizes = len(texts), len(row), [len(g) for g in grams]
    vocab, flat = np.unique(np.concatenate(grams), return_inverse=True)
    times = np.repeat(np.bincount(ids, minlength=m), sizes).astype(np.float64)
    idf = np.log((1 + n) / (1 + np.bincount(flat, times, minlength=len(vocab)))) + 1.0
    weights = np.concatenate(tfs) * idf[flat]
    norms = np.sqrt(np.bincount(np.repeat(np.arange(m), sizes), weights**2, minlength=m))
    weights /= np.repeat(np.where(norms > 0, norms, 1.0), sizes)
    rows: Rows = (weights, flat, np.concatenate([[0], np.cumsum(sizes)]), len(vocab), ids)
    for a in (*rows[:3], ids):
        a.flags.writeable = False  # shared by every caller of the memo
    _memo.put(key, rows)
    return rows


def pair_dots(csr: sparse.csr_matrix, pairs: np.ndarray, cells: int | None = None) -> np.ndarray:
    """Row dot products ``csr[j] · csr[i]`` for each pair (P,), gathering about `cells`
    (default `PAIR_CELLS`) row entries at a time. Gathering every pair's two rows at once
    held P × (row size) entries, 0.4 GB on a 1 MB trace, and allocating them made the
    product 6× slower than these chunks (docs/benchmarks.md, "numba: kept or dropped")."""
    out = np.zeros(len(pairs))
    if len(pairs) == 0:
        return out
    cells = PAIR_CELLS if cells is None else max(cells, 1)
    nnz = np.diff(csr.indptr)
    cost = nnz[pairs[:, 0]] + nnz[pairs[:, 1]]
    # Chunk k holds the pairs whose gathered entries start in [k·cells, (k+1)·cells): at
    # most `cells` plus one pair's own rows, which any method must read anyway.
    chunk = (np.cumsum(cost) - cost) // cells
    bounds = [0, *(np.flatnonzero(np.diff(chunk)) + 1).tolist(), len(pairs)]
    for lo, hi in pairwise(bounds):
        j, i = pairs[lo:hi, 0], pairs[lo:hi, 1]
        out[lo:hi] = np.asarray(csr[j].multiply(csr[i]).sum(axis=1), dtype=np.float64).ravel()
    return out


def lexical_cosine_reference(texts: list[str], pairs: np.ndarray) -> np.ndarray:
    """The same cosine through sklearn's TfidfVectorizer (slow path, for tests)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # 3 s to import

    if len(pairs) == 0:
        return np.zeros(0)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    try:
        x = vec.fit_transform(texts)  # rows are L2-normalised
    except ValueError:  # every step is punctuation/whitespace only: nothing to compare
        return np.zeros(len(pairs))
    prod = x[pairs[:, 0]].multiply(x[pairs[:, 1]]).sum(axis=1)
    return np.asarray(prod, dtype=np.float64).ravel()
