"""Checkers of claims a step makes, one claim form per module; `quantities.verifiers`
runs them all (`failed_checks`).

`brackets` checks stacks of brackets, `sorting` alphabetical orders, `swaps` who holds
what after a swap, `substitution` named values put into an expression, `orders` listed
orders of objects, `rewrites` chains of rewrites in one variable; `common` holds the
`Check` form they all return.

May import: base.
"""
