"""Small evaluation metrics shared by benchmarks, the gate and tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def auroc(scores: Sequence[float] | ArrayLike, labels: Sequence[bool] | ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both positive and negative labels")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over runs of ties
        k = i
        while k + 1 < len(s) and sorted_s[k + 1] == sorted_s[i]:
            k += 1
        ranks[order[i : k + 1]] = (i + k) / 2 + 1
        i = k + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def grouped_auroc_ci(
    pred: np.ndarray, labels: np.ndarray, groups: Sequence[str], boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% bootstrap interval of AUROC resampling whole groups (e.g. all answers to one
    question), since members of a group are correlated."""
    groups_arr = np.asarray(groups)
    uniq = np.unique(groups_arr)
    members = {g: np.flatnonzero(groups_arr == g) for g in uniq}
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(boot):
        pick = np.concatenate([members[g] for g in rng.choice(uniq, len(uniq))])
        if len(set(labels[pick])) == 2:
            stats.append(auroc(pred[pick], labels[pick]))
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi)


def precision_recall(predicted: set, gold: set) -> tuple[float, float, float]:
    """Precision, recall, F1 of a predicted set against a gold set (1.0 when both empty)."""
    tp = len(predicted & gold)
    p = tp / len(predicted) if predicted else (1.0 if not gold else 0.0)
    r = tp / len(gold) if gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f
