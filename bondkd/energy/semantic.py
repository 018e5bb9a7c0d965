"""Semantic component: how similar two steps' meanings are.

The model backend uses sentence-transformer embeddings (cosine); the lexical
backend TF-IDF over character n-grams (works for Chinese without a word
segmenter). Raw cosines of unrelated steps are not 0 (MiniLM puts them around
0.1), so each backend maps its own measured range `(lo, hi)` linearly onto
[0, 1]: ``semantic = clip((cos - lo) / (hi - lo), 0, 1)``.
"""

from __future__ import annotations

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


def lexical_cosine(texts: list[str], pairs: np.ndarray) -> np.ndarray:
    """TF-IDF (char 2–4 grams within word boundaries) cosine for each pair (P,)."""
    if len(pairs) == 0:
        return np.zeros(0)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    try:
        x = vec.fit_transform(texts)  # rows are L2-normalised
    except ValueError:  # every step is punctuation/whitespace only: nothing to compare
        return np.zeros(len(pairs))
    prod = x[pairs[:, 0]].multiply(x[pairs[:, 1]]).sum(axis=1)
    return np.asarray(prod, dtype=np.float64).ravel()
