"""Fit the stability weights on labelled traces.

Stability is sigmoid(bias + Σ w·x) over the counts of `molecule.stability_features`,
so fitting it is a logistic regression. The signs are fixed by what each term means:
bond energy and givens that reach the answer can only raise stability, steps, conflicts
and dataflow breaks can only lower it. A term the data would give the other sign gets
weight 0 instead (bounded L-BFGS), so a fitted config never says "a conflict is good".
`grouped_cv` measures the fitted score out of fold, with folds grouped (e.g. by
question, whose several answers are correlated).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bondkd.config import StabilityConfig
from bondkd.measure.metrics import auroc, grouped_auroc_ci
from bondkd.molecule.molecule import doc_features, signed_weights
from bondkd.schema import MoleculeDoc

GAINS = ("bond_term", "givens_reached")  # every other term is a cost


def bounded_logistic(
    x: np.ndarray,  # (N, F)
    labels: np.ndarray,  # (N,) bool
    bounds: Sequence[tuple[float | None, float | None]],  # per feature (low, high)
    l2: float = 1.0,
    weights: np.ndarray | None = None,  # (N,) per-row weight; None: all 1
) -> tuple[float, np.ndarray]:
    """(bias, (F,) weights) of an L2 logistic regression whose weights stay in `bounds`
    (the bias is free); l2 = 1/C of scikit-learn's LogisticRegression."""
    from scipy.optimize import minimize  # only when fitting: keeps `filter` start-up light

    y = np.asarray(labels, dtype=np.float64)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + x @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        nll = float(np.sum(w * (np.logaddexp(0.0, z) - y * z)))
        grad = np.concatenate([[np.sum(w * (p - y))], x.T @ (w * (p - y))])
        grad[1:] += l2 * theta[1:]
        return nll + 0.5 * l2 * float(theta[1:] @ theta[1:]), grad

    res = minimize(
        loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=[(None, None), *bounds]
    )
    return float(res.x[0]), res.x[1:]


def prior_shift(
    bias: float, labels: np.ndarray, prior: float | None, weights: np.ndarray | None = None
) -> float:
    """A logistic model's bias moved from the labels' (weighted) base rate to `prior`
    (None: kept)."""
    rate = float(np.average(labels, weights=weights))
    if prior is None or not 0 < rate < 1:
        return bias
    return bias + math.log(prior / (1 - prior)) - math.log(rate / (1 - rate))


def design(docs: Sequence[MoleculeDoc], config: StabilityConfig) -> tuple[list[str], np.ndarray]:
    """Feature names and the (N, F) matrix of `molecule.stability_features`."""
    rows = [doc_features(d, config) for d in docs]
    names = list(rows[0]) if rows else list(signed_weights(config))
    return names, np.array([[r[n] for n in names] for r in rows], dtype=np.float64)


def fit(
    names: list[str],
    x: np.ndarray,
    labels: np.ndarray,
    base: StabilityConfig,
    l2: float = 1.0,
    prior: float | None = 0.5,
    weights: np.ndarray | None = None,
) -> StabilityConfig:
    """Sign-constrained L2 logistic regression; returns `base` with the fitted weights.

    prior: the bias is shifted from the labels' base rate to this one (the standard
    prior correction of a logistic model), so stability does not inherit how often the
    calibration file's traces happened to be right; None keeps the base rate."""
    signs = [(0.0, None) if n in GAINS else (None, 0.0) for n in names]
    bias, coef = bounded_logistic(x, labels, signs, l2, weights)
    bias = prior_shift(bias, labels, prior, weights)
    w = dict(zip(names, coef, strict=True))

    def cost(name: str) -> float:
        return round(max(0.0, -float(w[name])), 4)

    return base.model_validate(
        base.model_dump()
        | {
            "bias": round(bias, 4),
            "bond_weight": round(max(0.0, float(w["bond_term"])), 4),
            "given_gain": round(max(0.0, float(w["givens_reached"])), 4),
            "step_cost": cost("steps"),
            "resolved_cost": cost("resolved"),
            "conflicts": {k.split(".", 1)[1]: cost(k) for k in names if k.startswith("conflicts.")},
            "flow": base.flow.model_dump()
            | {k.split(".", 1)[1]: cost(k) for k in names if k.startswith("flow.")},
        }
    )


def predict(names: list[str], x: np.ndarray, config: StabilityConfig) -> np.ndarray:
    """(N,) stability of each row of `x` under `config`."""
    w = signed_weights(config)
    return 1.0 / (1.0 + np.exp(-(config.bias + x @ np.array([w[n] for n in names]))))


def grouped_cv(
    docs: Sequence[MoleculeDoc],
    labels: np.ndarray,
    groups: Sequence[str],
    base: StabilityConfig,
    folds: int = 5,
) -> dict:
    """Out-of-fold AUROC of the fitted stability, folds grouped by `groups`, with a 95%
    bootstrap interval over groups; and the config fitted on everything."""
    from sklearn.model_selection import GroupKFold

    names, x = design(docs, base)
    y = np.asarray(labels, dtype=bool)
    pred = np.zeros(len(y))
    for train, test in GroupKFold(folds).split(x, y, np.asarray(groups)):
        pred[test] = predict(names, x[test], fit(names, x[train], y[train], base))
    lo, hi = grouped_auroc_ci(pred, y, groups)
    return {
        "auroc": auroc(pred, y),
        "ci95": [lo, hi],
        "config": fit(names, x, y, base),
        "pred": pred,
    }
