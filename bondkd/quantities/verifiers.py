"""Claims a step makes that can be checked without a model (plain arithmetic is
`quantities.calculations`' job), each against what the trace itself stated before it.
Each family is one module of `bondkd.quantities.checks`:

- `brackets` — **a stack of brackets** (`] ; stack: ( [`): the stated stack must follow
  from the previous stated stack and the symbol read; the final stack, the symbols to
  pop, the closers needed and the answer must agree with it; with the question, the
  symbols read must be the input's, in order, to its end;
- `sorting` — **an alphabetical order** (`"apple" < "banana"`, a sorted answer,
  `"word": "b" (2)`): every `<` between quoted words must hold alphabetically, words tied
  by `?` share their first letter, the letter a step names must be the word's letter at
  the position it sorts by and that letter's index in the alphabet, and a list restated
  or given as the answer must keep every word of the list before it (the question's,
  when given);
- `swaps` — **the state after a swap** (`Alice and Bob swap: Alice: X, Bob: Y, ...`): the
  holders that swap exchange their items and nobody else's changes; no item is held
  twice; the holder named at the end has the item of the last state. With the question,
  its opening holdings and its swaps, in order, check states that name no swap
  ('A: red, B: blue');
- `substitution` — **named values put into an expression** (`A - B = -14 - 2` after
  `A = -14`, `B = 2`);
- `orders` — **an order of objects** (`The sedan is the third-newest. So from oldest to
  newest: ..., fifth is the sedan`): the order a step lists must agree with the fact it
  restates, hold each object once and stay within the count of objects;
- `rewrites` — **a chain of rewrites in one variable** (`(x+1)^2 = x^2 + 2x + 1 = ...`):
  each link must be an identity, unless an equation constrains the variable.

Each verifier compares a step with the trace's previous *stated* claim, never with its
own recomputation of the whole trace, so one early slip is reported once and not again at
every later step that inherits it. Precision matters more than recall (a false
`check_failed` conflict rejects a good sample): a claim that cannot be read exactly is
skipped, never guessed. Every regex of the checks reads user text, so each runs in linear
time (no repetition holds a part that can match the same characters as its neighbour).

This module runs them all (`failed_checks`) and re-exports each family's entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bondkd.quantities.checks.brackets import dyck_checks
from bondkd.quantities.checks.common import Check
from bondkd.quantities.checks.orders import order_checks
from bondkd.quantities.checks.rewrites import identity_checks
from bondkd.quantities.checks.sorting import sorting_checks
from bondkd.quantities.checks.substitution import substitution_checks
from bondkd.quantities.checks.swaps import swap_checks

__all__ = [
    "Check",
    "dyck_checks",
    "failed_checks",
    "identity_checks",
    "order_checks",
    "sorting_checks",
    "substitution_checks",
    "swap_checks",
]

_VERIFIERS: tuple[Callable[[Sequence[str], str | None], list[Check]], ...] = (
    dyck_checks,
    sorting_checks,
    swap_checks,
    substitution_checks,
    order_checks,
    identity_checks,
)


def failed_checks(texts: Sequence[str], question: str | None = None) -> list[tuple[int, str]]:
    """(step, description) of each refuted claim, in step order. With the `question`,
    a claim is also checked against what it gives: the bracket sequence read in order,
    the words to sort."""
    found: list[Check] = []
    for verify in _VERIFIERS:
        found += verify(texts, question)
    return sorted(found, key=lambda c: c[0])
