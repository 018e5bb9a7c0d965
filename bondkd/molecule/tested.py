"""Which earlier step a check's calculation tests, when that is not the step that first
computed the value it reaches: of the steps computing it, the one it redoes (`computed_at`),
the step it undoes by the inverse operation (`tested`), the value it ends with when
that came after everything it starts from (`ended`), and the calculation whose operation
it names (`operation_at`).
`bondkd.molecule.evidence` weighs these."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bondkd import quantities
from bondkd.molecule.content import Content, small

OPERAND = re.compile(r"\d+(?:\.\d+)?")  # the numbers of a canonical expression ("4*118")
_FRACTION = re.compile(r"(?<![\d.])(\d+)/(\d+)(?![\d.])")  # "8/3" in "8/3*1/6"


def _operands(exprs: frozenset[str]) -> set[str]:
    return {x for e in exprs for x in OPERAND.findall(e)}


def computed_at(
    contents: Sequence[Content], c: Content, v: str, computing: Sequence[int], reach: int
) -> int:
    """Of the steps computing `v` (in order), the one check c reaches: the latest of the
    last `reach` that starts from a number c starts from ("240 / 8 = 30, 30 × 3 = 90"
    redoes the morning's "240 × 3 / 8 = 90", not the "150 − 60 = 90" left at the end),
    else the latest. (`reach` keeps a trace that computes one value on every step linear.)"""
    mine = _operands(c.exprs) - {v}
    for i in reversed(computing[-reach:] if mine else ()):
        if mine & _operands(contents[i].exprs):
            return i
    return computing[-1]


def tested(contents: Sequence[Content], c: Content, v: str, i: int, j: int) -> int:
    """The step that step j's value `v` (first from step i) is about: i, unless j undoes a
    later step by the inverse operation. "10 × 6 = 60" tests "60 ÷ 10 = 6", and "4 × 118 =
    472, not 432" tests "432 / 4 = 118": the latest step between that computed with v and
    whose result is an operand of j's arithmetic ("the number of bits is 19, not 20"
    computes nothing: it takes back 20)."""
    if c.exprs & contents[i].exprs:  # it writes i's calculation again: it redoes i
        return i
    # the numbers of its expressions, and their fractions ("8/3 × 1/6 = 4/9" undoes "= 8/3")
    operands = _operands(c.exprs)
    operands |= {quantities.canon(float(a) / float(b)) for e in c.exprs
                 for a, b in _FRACTION.findall(e) if float(b)}  # fmt: skip
    if c.claims:  # "9 boxes × 8 cookies = 72": numbers a unit keeps out of an expression
        operands |= c.values - c.results
    operands -= {v}
    for k in range(j - 1, i, -1) if operands else ():
        if v in contents[k].values and contents[k].results & operands:
            return k
    return i


def ended(
    contents: Sequence[Content], c: Content, end: str, i: int, producer: dict[str, int]
) -> bool:
    """Whether `end`, the value c's last calculation ends with, computed in step i, is what
    c checks: i came after every number c starts from and does not start from one of them
    itself. The faces 2 × 40 … of step 1, then "合计 80 + 64 + 40 = 184" check the 184 of
    step 2; "294 + 83 + 37 = 414" starts from the later 83 and tests it (`tested`); "the
    right side is 2·6 + 11 = 23" after "the left side is 5(6 − 2) + 3 = 23" is the same
    check's."""
    if small(end):
        return False
    rest = c.values - {end}
    if any(producer.get(v, -1) >= i for v in rest if not small(v)):
        return False
    return not any(producer.get(v, i) < i for v in contents[i].values & rest)


def operation_at(
    contents: Sequence[Content],
    op: str,
    j: int,
    claimed_first: dict[str, tuple[int, float]],
    lookback: int,
) -> int | None:
    """The step a check naming operation `op` ("让我检查一下前面的减法", "check my
    multiplication") is about: of the latest calculation doing it, within `lookback` steps,
    where it was first computed."""
    for k in range(j - 1, max(-1, j - 1 - lookback), -1):
        mine = [e for e, _ in contents[k].claims if op in e]
        if mine:
            return min(claimed_first[e][0] if e in claimed_first else k for e in mine)
    return None
