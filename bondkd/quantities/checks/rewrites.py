"""A chain of rewrites in one variable: '(x+1)(x^2+1) = x^3 + x^2 + x + 1 = ...'.

A chain of three sides or more rewrites one expression, so its sides must be the same
function of the variable: each link is compared at three points. An equation that
constrains the variable (in the question or an earlier step) lets a rewrite use it, so
such a variable is left alone.

Every regex here reads user text, so each runs in linear time: no repetition holds a
part that can match the same characters as its neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from bondkd.quantities.arithmetic import evaluate
from bondkd.quantities.checks.common import Check
from bondkd.quantities.numbers import same_value

# A formula's body never holds its own opening delimiter, so a scan from one opening
# stops at the next: linear even with no closing delimiter anywhere.
_MATH_RE = re.compile(
    r"\\\[((?:[^\\]|\\[^\[\]])*)\\\]|\\\(((?:[^\\]|\\[^()])*)\\\)|\$\$([^$]*)\$\$|\$([^$]*)\$"
)
_MAX_FORMULA = 600  # characters; a longer formula is not read
_LATEX_OK = (("\\left", ""), ("\\right", ""), ("\\cdot", "*"), ("\\times", "*"), ("{", "("),
             ("}", ")"), ("^", "**"), (" ", ""))  # fmt: skip
_SIDE_CHARS = frozenset("0123456789.+-*/()")
_IMPLICIT = re.compile(r"(?<=[\d)])(?=[(a-z])|(?<=[a-z)])(?=[\d(])|(?<=[a-z])(?=[a-z])")
_NOT_VARIABLES = {"i"}  # the imaginary unit: (1+i)^2 = 2i holds, as a polynomial it does not
_POINTS = (0.37, 1.91, -2.63)  # where two sides must agree; no simple root or pole


def _side(raw: str, constant: bool = False) -> tuple[str, str] | None:
    """(expression in Python syntax, its one variable) of a side written with one
    single-letter variable, numbers, + - * / ^, brackets; with `constant`, a side of
    numbers alone too (variable ''). None otherwise."""
    s = raw.strip().rstrip(".,;")
    for a, b in _LATEX_OK:
        s = s.replace(a, b)
    letters = {c for c in s if c.isalpha()}
    if len(letters) > 1 or any(not (c in _SIDE_CHARS or c in letters) for c in s):
        return None
    if letters & _NOT_VARIABLES or not all(c.isascii() for c in letters):
        return None
    if not letters:
        return (s, "") if constant and s else None
    (var,) = letters
    return _IMPLICIT.sub("*", s), var


def _math(text: str) -> Iterator[list[str]]:
    """The sides of each formula in `text` ($...$, \\(...\\), \\[...\\]) written in plain
    algebra (no LaTeX command but a product sign or a bracket size)."""
    for m in _MATH_RE.finditer(text):
        math = next(g for g in m.groups() if g is not None)
        if len(math) > _MAX_FORMULA:
            continue
        plain = math
        for cmd in ("\\cdot", "\\times", "\\left", "\\right"):
            plain = plain.replace(cmd, "")
        if "\\" not in plain and "=" in math:
            yield math.split("=")


def _bound(text: str) -> set[str]:
    """Variables an equation in `text` constrains ('x^2 - x + 1 = 0', 'x = 3'): rewrites
    of them may use the constraint ('x^3 = x(x - 1)'), so they are not identities."""
    out = set()
    for parts in _math(text):
        if len(parts) == 2:
            sides = [_side(p, constant=True) for p in parts]
            if all(sides):
                out |= {v for _, v in sides if v}  # type: ignore[misc]
    return out


def _is_constant(raw: str) -> bool:
    side = _side(raw, constant=True)
    return side is not None and side[1] == ""


def _value(expr: str, var: str, at: float) -> float | None:
    return evaluate(expr.replace(var, f"({at!r})"))


def _identity_problems(k: int, text: str, bound: set[str]) -> list[Check]:
    for parts in _math(text):
        if len(parts) < 3 or any(_is_constant(p) for p in parts):
            continue  # a rewrite chain has three sides or more, none of them a number
        sides = [_side(p) for p in parts]
        for left, right, raw_l, raw_r in zip(sides, sides[1:], parts, parts[1:], strict=False):
            if left is None or right is None or left[1] != right[1] or left[1] in bound:
                continue
            pairs = [(_value(left[0], left[1], x), _value(right[0], left[1], x)) for x in _POINTS]
            vals = [(a, b) for a, b in pairs if a is not None and b is not None]
            if len(vals) == len(_POINTS) and any(not same_value(a, b) for a, b in vals):
                return [(k, f"{raw_l.strip()} = {raw_r.strip()} is not an identity in "
                            f"{left[1]}")]  # fmt: skip
    return []


def identity_checks(texts: Sequence[str], question: str | None = None) -> list[Check]:
    """A chain of rewrites of one expression in one variable ('(x+1)(x^2+1) = x^3 + x^2
    + x + 1 = ...') claims its sides are the same function: each link is compared at
    three points. Two-sided equations ('2x + 3 = 7') are solved, not rewritten, and a
    variable such an equation (in the question or any earlier step) constrains is left
    alone."""
    out: list[Check] = []
    bound = _bound(question or "")
    for k, text in enumerate(texts):
        if "=" not in text:
            continue
        bound |= _bound(text)
        out += _identity_problems(k, text, bound)
    return out
