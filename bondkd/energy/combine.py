"""Combine components into one energy per pair.

``E = sum_c w_c * x_c / sum_c w_c`` over the components c a pair has
(attention, semantic, coherence), each already in [0, 1]. A component the
backend does not compute, or that is NaN for this pair (the two steps never
shared an attention window), drops out and the remaining weights renormalise,
so E stays a convex combination in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bondkd.config import ComponentWeights

COMPONENTS = ("attention", "semantic", "coherence")


@dataclass
class PairEnergies:
    """Energies of the candidate pairs of one trace."""

    pairs: np.ndarray  # (P, 2) int64 rows (j, i), i < j
    components: dict[str, np.ndarray | None]  # name -> (P,) in [0, 1] with NaN gaps, or None
    energy: np.ndarray  # (P,)

    def lookup(self) -> dict[tuple[int, int], int]:
        return {(int(j), int(i)): p for p, (j, i) in enumerate(self.pairs)}


def combine(
    pairs: np.ndarray, components: dict[str, np.ndarray | None], weights: ComponentWeights
) -> PairEnergies:
    num = np.zeros(len(pairs))
    den = np.zeros(len(pairs))
    for name in COMPONENTS:
        x = components.get(name)
        w = getattr(weights, name)
        if x is None or w == 0.0:
            continue
        ok = ~np.isnan(x)
        num[ok] += w * x[ok]
        den[ok] += w
    energy = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return PairEnergies(pairs, components, np.clip(energy, 0.0, 1.0))
