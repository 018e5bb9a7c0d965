"""Dataset-level structure statistics: pure functions on molecule documents plus a
streaming accumulator, for `bondkd report`, the dataset-level `compare` and the target
structure of `bondkd structure` (one accumulator, so the three count the same things).

The role transition matrix is the Markov "distribution-transfer graph" of
reasoning behaviours: T[a, b] = P(step k+1 has role b | step k has role a),
counted over consecutive steps of every trace.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np

from bondkd.schema import BOND_TYPES, ROLES, MoleculeDoc

POSITION_BINS = 10  # relative position of a bond's later step in its trace, in tenths
STABILITY_BINS = 20
_ROLE = {r: i for i, r in enumerate(ROLES)}
_TYPE = {t: i for i, t in enumerate(BOND_TYPES)}


def role_transitions(doc: MoleculeDoc) -> np.ndarray:
    """(4, 4) int counts of role[k] -> role[k + 1], rows and columns in `ROLES` order."""
    counts = np.zeros((len(ROLES), len(ROLES)), dtype=np.int64)
    for a, b in pairwise(doc.steps):
        counts[_ROLE[a.role], _ROLE[b.role]] += 1
    return counts


def row_normalise(counts: np.ndarray) -> np.ndarray:
    """Rows summing to 1; an all-zero row (a role never followed) stays zero."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def reach(doc: MoleculeDoc, bond_type: str, role: str) -> list[int]:
    """How far back (source - target, in steps) each `bond_type` bond of a `role` step
    reaches: how far a reflection looks back for the step it checks, or an exploration for
    the step it branches from."""
    roles = [s.role for s in doc.steps]
    return [
        b.source - b.target
        for b in doc.bonds
        if b.type == bond_type and b.source < len(roles) and roles[b.source] == role
    ]


def position_bin(source: int, n_steps: int, bins: int = POSITION_BINS) -> int:
    rel = source / (n_steps - 1) if n_steps > 1 else 0.0
    return min(int(rel * bins), bins - 1)


def energy_by_position(
    doc: MoleculeDoc, bins: int = POSITION_BINS
) -> tuple[np.ndarray, np.ndarray]:
    """(energy sums, bond counts), each (3, bins): bonds by type and by the relative position
    of their later step."""
    sums = np.zeros((len(BOND_TYPES), bins))
    counts = np.zeros((len(BOND_TYPES), bins), dtype=np.int64)
    for b in doc.bonds:
        t, k = _TYPE[b.type], position_bin(b.source, len(doc.steps), bins)
        sums[t, k] += b.energy
        counts[t, k] += 1
    return sums, counts


class DatasetStats:
    """Streaming totals over many molecules; memory is one float per trace plus fixed arrays."""

    def __init__(self) -> None:
        self.n = 0
        self.stability: dict[str, list[float]] = {"accepted": [], "rejected": [], "unknown": []}
        self.bonds: Counter[str] = Counter()
        self.roles: Counter[str] = Counter()
        self.energy_sum = np.zeros((len(BOND_TYPES), POSITION_BINS))
        self.energy_n = np.zeros((len(BOND_TYPES), POSITION_BINS), dtype=np.int64)
        self.transitions = np.zeros((len(ROLES), len(ROLES)), dtype=np.int64)
        self.starts = np.zeros(len(ROLES), dtype=np.int64)  # role of each trace's first step
        self.step_counts: Counter[int] = Counter()
        self.reflection_reach: Counter[int] = Counter()
        self.exploration_reach: Counter[int] = Counter()

    def add(self, doc: MoleculeDoc, accepted: bool | None) -> None:
        self.n += 1
        key = "unknown" if accepted is None else "accepted" if accepted else "rejected"
        self.stability[key].append(doc.stability)
        self.bonds.update(b.type for b in doc.bonds)
        self.roles.update(s.role for s in doc.steps)
        sums, counts = energy_by_position(doc)
        self.energy_sum += sums
        self.energy_n += counts
        self.transitions += role_transitions(doc)
        if doc.steps:
            self.starts[_ROLE[doc.steps[0].role]] += 1
        self.step_counts[len(doc.steps)] += 1
        self.reflection_reach.update(reach(doc, "reflection", "reflection"))
        self.exploration_reach.update(reach(doc, "exploratory", "exploration"))

    def mean_energy(self) -> np.ndarray:
        """(3, POSITION_BINS) mean bond energy per type and position; NaN where no bond."""
        return np.divide(
            self.energy_sum,
            self.energy_n,
            out=np.full(self.energy_sum.shape, np.nan),
            where=self.energy_n > 0,
        )

    def histogram(self) -> dict[str, list[int]]:
        edges = np.linspace(0.0, 1.0, STABILITY_BINS + 1)
        return {k: np.histogram(v, bins=edges)[0].tolist() for k, v in self.stability.items()}

    def to_dict(self) -> dict:
        mean = self.mean_energy()
        return {
            "traces": self.n,
            "verdicts": {k: len(v) for k, v in self.stability.items()},
            "stability_histogram": {"bins": STABILITY_BINS, **self.histogram()},
            "bond_types": {t: self.bonds.get(t, 0) for t in BOND_TYPES},
            "roles": {r: self.roles.get(r, 0) for r in ROLES},
            "mean_energy_by_position": {
                t: [None if np.isnan(x) else round(float(x), 4) for x in mean[i]]
                for i, t in enumerate(BOND_TYPES)
            },
            "role_transitions": {
                "roles": list(ROLES),
                "counts": self.transitions.tolist(),
                "probabilities": np.round(row_normalise(self.transitions), 4).tolist(),
            },
        }
