"""Which step pairs get an energy at all.

Scoring all S² pairs would be quadratic in memory on a 10 MB trace and would let
weak similarities swamp the graph. Every step is paired with its `local_window`
predecessors (the backbone lives there) plus the `long_range` earlier steps that
share the most rare terms with it (a "Wait, 17 × 24 is 408" step shares 17 and
24 with the step it checks, however far back).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

import numpy as np

# Terms in more steps than this carry no signal for picking long-range partners
# and would make the inverted index quadratic on long traces.
MAX_POSTINGS = 64


def candidate_pairs(
    terms: Sequence[AbstractSet[str]], local_window: int, long_range: int
) -> np.ndarray:
    """Return (P, 2) int64 rows (j, i) with i < j, sorted, unique."""
    s = len(terms)
    rows: list[tuple[int, int]] = []
    for j in range(1, s):
        rows.extend((j, i) for i in range(max(0, j - local_window), j))
    if long_range > 0 and s > local_window + 1:
        rows.extend(_long_range(terms, local_window, long_range))
    if not rows:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.asarray(rows, dtype=np.int64), axis=0)


def _long_range(
    terms: Sequence[AbstractSet[str]], local_window: int, k: int
) -> list[tuple[int, int]]:
    df: dict[str, int] = defaultdict(int)
    for t in terms:
        for term in t:
            df[term] += 1
    n = len(terms)
    idf = {term: math.log(1 + n / c) for term, c in df.items() if c <= MAX_POSTINGS}
    postings: dict[str, list[int]] = defaultdict(list)
    out: list[tuple[int, int]] = []
    for j, t in enumerate(terms):
        scores: dict[int, float] = defaultdict(float)
        # Sorted: a set's order follows the per-process string hash, and summing the
        # same weights in another order broke ties differently from run to run.
        for term in sorted(t):
            w = idf.get(term)
            if w is None:
                continue
            for i in postings[term]:
                if i < j - local_window:
                    scores[i] += w
            postings[term].append(j)
        if scores:
            best = sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))[:k]
            out.extend((j, i) for i, _ in best)
    return out
