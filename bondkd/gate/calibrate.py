"""Fit the gate's score weights on labelled records (`bondkd filter --calibrate`).

The score is a logistic regression, with non-negative weights, on the check scores:
features are each weighted check's score, or its neutral value when it abstains or
errors. The neutral value is the check's own pass threshold, the point of no evidence
either way: a record with no other answers to its question is neither helped nor hurt
by consensus, whatever the calibration set's base rate of agreement.
`grouped_cv_auroc` measures it with folds grouped by question, since several answers
to one question are correlated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bondkd.gate.config import Weights
from bondkd.measure.metrics import auroc, grouped_auroc_ci
from bondkd.measure.stability_fit import bounded_logistic, prior_shift

# Checks whose scores the regression sees; vetoes (refusal, rules, reference, dedup)
# stay hard rules outside the score.
FEATURES = ("stability", "length", "echo", "redundancy", "self_consistency", "grounding",
            "consensus")  # fmt: skip


def check_scores(blocks: Sequence[dict]) -> dict[str, np.ndarray]:
    """Per check, (N,) scores with NaN where it abstained, errored or did not run."""
    out = {name: np.full(len(blocks), np.nan) for name in FEATURES}
    for i, b in enumerate(blocks):
        for c in b.get("checks", []):
            if c["name"] in out and c["status"] in ("pass", "fail") and c["score"] is not None:
                out[c["name"]][i] = c["score"]
    return out


def design(scores: dict[str, np.ndarray], neutral: dict[str, float]) -> np.ndarray:
    """(N, F) features with abstentions filled by the neutral value."""
    cols = [np.where(np.isnan(scores[n]), neutral.get(n, 0.5), scores[n]) for n in FEATURES]
    return np.column_stack(cols)


def fit(
    scores: dict[str, np.ndarray],
    labels: np.ndarray,
    neutral: dict[str, float] | None = None,
    c: float = 1.0,
    prior: float | None = 0.5,
) -> Weights:
    """Logistic weights; `neutral` (default 0.5) fills abstentions, see the module doc.
    Every check scores higher for better records, so no weight may be negative: two
    checks that share evidence (stability and grounding both read the dataflow) would
    otherwise trade signs, and a record would lose score for being better grounded.
    The bias is moved to an even `prior` (None: the labels' base rate), as for stability:
    a calibration file that happens to be 39% correct should not make every record of a
    stronger teacher fall below the threshold."""
    neutral = {n: (neutral or {}).get(n, 0.5) for n in FEATURES}
    x = design(scores, neutral)
    bias, coef = bounded_logistic(x, labels, [(0.0, None)] * len(FEATURES), l2=1.0 / c)
    bias = prior_shift(bias, labels, prior)
    return Weights(
        bias=round(bias, 4),
        weights={n: round(float(w), 4) for n, w in zip(FEATURES, coef, strict=True)},
        neutral={n: round(v, 4) for n, v in neutral.items()},
    )


def predict(weights: Weights, scores: dict[str, np.ndarray]) -> np.ndarray:
    x = design(scores, weights.neutral)
    w = np.array([weights.weights.get(n, 0.0) for n in FEATURES])
    return 1 / (1 + np.exp(-(weights.bias + x @ w)))


def grouped_cv_auroc(
    scores: dict[str, np.ndarray],
    labels: np.ndarray,
    groups: Sequence[str],
    neutral: dict[str, float] | None = None,
    folds: int = 5,
    boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Out-of-fold AUROC (folds grouped by `groups`), with a 95% bootstrap interval over
    groups."""
    from sklearn.model_selection import GroupKFold

    groups_arr = np.asarray(groups)
    pred = np.zeros(len(labels))
    idx = np.arange(len(labels))
    for train, test in GroupKFold(folds).split(idx, labels, groups_arr):
        w = fit({n: v[train] for n, v in scores.items()}, labels[train], neutral)
        pred[test] = predict(w, {n: v[test] for n, v in scores.items()})
    lo, hi = grouped_auroc_ci(pred, labels, groups, boot, seed)
    return {"auroc": float(auroc(pred, labels)), "ci95": [lo, hi], "pred": pred}
