"""Named values put into an expression: 'A - B - C = -14 - 2 - (-1260)' after 'A = -14',
'B = 2', 'C = -1260'.

Traces that name intermediate results with capital letters later fill them into an
expression of those names. The numeric side written after it must have the value the
expression takes with the values the trace last stated for the names (before this step).

Every regex here reads user text, so each runs in linear time: no repetition holds a
part that can match the same characters as its neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from bondkd.quantities.arithmetic import evaluate
from bondkd.quantities.checks.common import Check
from bondkd.quantities.claims import assignments
from bondkd.quantities.numbers import same_value

_SYMBOLIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ()+-*/×÷ \t")
_NUMERIC = frozenset("0123456789.()+-*/×÷ \t")
_NAME_RE = re.compile(r"[A-Z]")


def _symbolic_side(part: str) -> str:
    """The longest tail of `part` written only in capital-letter names, operators and
    parentheses ('is A - B - C ' -> 'A - B - C'); '' when two letters touch (a word)."""
    i = len(part)
    while i > 0 and part[i - 1] in _SYMBOLIC:
        i -= 1
    side = part[i:].strip()
    if any(a.isalpha() and b.isalpha() for a, b in pairwise(side)):
        return ""
    return side


def _numeric_side(part: str) -> str:
    i = 0
    while i < len(part) and part[i] in _NUMERIC:
        i += 1
    return part[:i].strip().rstrip(".")


def _substitution_problems(k: int, text: str, values: dict[str, float]) -> list[Check]:
    parts = text.split("=")
    for left, right in pairwise(parts):
        sym, num = _symbolic_side(left), _numeric_side(right)
        names = _NAME_RE.findall(sym)
        if len(names) < 2 or not num or any(n not in values for n in names):
            continue
        filled = _NAME_RE.sub(lambda m: f"({values[m.group()]:.12g})", sym)
        want, said = evaluate(filled), evaluate(num)
        if want is not None and said is not None and not same_value(want, said):
            return [(k, f"{sym} with {', '.join(f'{n} = {values[n]:g}' for n in dict.fromkeys(names))} "
                        f"is {want:g}, but the step writes {num} ({said:g})")]  # fmt: skip
    return []


def substitution_checks(texts: Sequence[str], question: str | None = None) -> list[Check]:
    """Named values put into an expression: 'A - B = -14 - 2' must use the values the
    trace gave A and B (the last it stated before this step)."""
    out: list[Check] = []
    values: dict[str, float] = {}
    for k, text in enumerate(texts):
        if "=" in text and values:
            out += _substitution_problems(k, text, values)
        for key, value in assignments(text):
            if len(key) == 1 and key.isupper():
                values[key] = value
    return out
