"""Semantic component: how similar two steps' meanings are.

The model backend uses sentence-transformer embeddings (cosine); the lexical
backend TF-IDF over character n-grams (works for Chinese without a word
segmenter). Raw cosines of unrelated steps are not 0 (MiniLM puts them around
0.1), so each backend maps its own measured range `(lo, hi)` linearly onto
[0, 1]: ``semantic = clip((cos - lo) / (hi - lo), 0, 1)``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


class Embedder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...  # (N, d), rows L2-normalised


def rescale(cos: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((cos - lo) / max(hi - lo, 1e-9), 0.0, 1.0)


def embedding_cosine(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """vectors (S, d) L2-normalised; pairs (P, 2) rows (j, i) -> cosine (P,)."""
    if len(pairs) == 0:
        return np.zeros(0)
    return np.einsum("pd,pd->p", vectors[pairs[:, 0]], vectors[pairs[:, 1]]).astype(np.float64)


def _char_wb_grams(text: str, lo: int = 2, hi: int = 4) -> Counter[str]:
    """Character n-grams inside word boundaries, exactly as sklearn's ``char_wb`` analyzer
    (lowercased, each word padded with one space)."""
    grams: Counter[str] = Counter()
    for word in text.lower().split():
        w = f" {word} "
        for n in range(lo, hi + 1):
            if len(w) <= n:  # sklearn counts a word this short once and stops
                grams[w] += 1
                break
            for k in range(len(w) - n + 1):
                grams[w[k : k + n]] += 1
    return grams


def lexical_cosine(texts: list[str], pairs: np.ndarray) -> np.ndarray:
    """TF-IDF (char 2–4 grams within word boundaries, sublinear tf, smooth idf) cosine for
    each pair (P,). Same numbers as `lexical_cosine_reference` (sklearn) without its
    per-call overhead, which dominated gating short traces."""
    if len(pairs) == 0:
        return np.zeros(0)
    counts = [_char_wb_grams(t) for t in texts]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    n = len(texts)
    idf = {g: math.log((1 + n) / (1 + d)) + 1.0 for g, d in df.items()}
    vecs = []
    for c in counts:
        v = {g: (1.0 + math.log(k)) * idf[g] for g, k in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs.append({g: x / norm for g, x in v.items()})
    out = np.empty(len(pairs))
    for p, (j, i) in enumerate(pairs.tolist()):
        a, b = vecs[j], vecs[i]
        if len(a) > len(b):
            a, b = b, a
        out[p] = sum(x * b.get(g, 0.0) for g, x in a.items())
    return out


def lexical_cosine_reference(texts: list[str], pairs: np.ndarray) -> np.ndarray:
    """The same cosine through sklearn's TfidfVectorizer (slow path, for tests)."""
    if len(pairs) == 0:
        return np.zeros(0)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    try:
        x = vec.fit_transform(texts)  # rows are L2-normalised
    except ValueError:  # every step is punctuation/whitespace only: nothing to compare
        return np.zeros(len(pairs))
    prod = x[pairs[:, 0]].multiply(x[pairs[:, 1]]).sum(axis=1)
    return np.asarray(prod, dtype=np.float64).ravel()
