"""The reasoning molecule: energies + behaviour → bonds and roles, conflicts, stability.

`bonds` types each pair's bond and each step's role, `conflicts` finds logical conflicts,
`molecule` holds the graph, the stability score, the verdict and weak points.

May import: base, steps, quantities, energy.
"""

from bondkd.molecule.molecule import Molecule

__all__ = ["Molecule"]
