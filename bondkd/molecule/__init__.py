"""The reasoning molecule: energies + behaviour → bonds and roles, conflicts, stability.

`bonds` types each pair's bond and each step's role, `content` reads what a step states,
`evidence` traces it to earlier steps, `episodes` reads how checks and methods are laid
out, `links` chooses each check's target and each deduction's sources, `conflicts` finds
logical conflicts, `molecule` holds the graph, the stability score, the verdict and weak
points.

May import: base, steps, quantities, energy.
"""

from bondkd.molecule.molecule import Molecule

__all__ = ["Molecule"]
