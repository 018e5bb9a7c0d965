"""What a step takes back: for each value, expression, operation, word or misread given
it rejects, the earlier step that rejected content came from (`rejected`).
`bondkd.molecule.evidence.gather` asks it of one step at a time, over the maps it has
built from the steps before (`Seen`)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bondkd.molecule.content import Content, compact
from bondkd.molecule.tested import OPERAND, tested

REJECTED = 3.0  # the evidence one rejected item gives the step it came from
# Steps back that a comparison of methods, or a rejected expression, looks for its origin.
LOOKBACK = 256
# An operation written between two terms, numbers or not ("长 + 宽", "2x − 5").
_WRITES_OP = {
    op: re.compile(rf"[\w)）] ?(?:{signs}) ?[\w(（]")
    for op, signs in {"+": r"\+", "-": "[−–]| - ", "*": "[×*·]", "/": "÷| / "}.items()
}
# Steps back that a rejected operation ("应该减去，不是加上") looks for the expression using it.
OP_LOOKBACK = 6


@dataclass
class Seen:
    """What the steps before the one asked about stated, as `gather` builds it."""

    texts: Sequence[str]
    contents: list[Content]
    asked_values: set[str]  # the question's values
    producer: dict[str, int]  # value -> the first step computing it
    stated: dict[str, int]  # value -> the latest step writing it
    expr_first: dict[str, int]  # expression -> the first step writing it
    given_first: dict[str, int]  # a value of the question's -> the first step writing it
    also_at: dict[str, int] = field(
        default_factory=dict
    )  # value -> the latest step claiming it "also"
    compacted: dict[int, str] = field(default_factory=dict)  # step -> compact(text), on demand


def rejected(j: int, c: Content, seen: Seen) -> dict[int, float]:
    """Step j's (content `c`) evidence for the steps whose content it takes back."""
    took = c.rejected or c.blamed or c.rejected_forms or c.rejected_ops or c.rejected_words
    if not (took or c.misread):  # most steps take nothing back
        return {}
    contents, texts, producer, stated = seen.contents, seen.texts, seen.producer, seen.stated
    asked_values, expr_first, given_first = seen.asked_values, seen.expr_first, seen.given_first
    compacted = seen.compacted
    r: dict[int, float] = defaultdict(float)
    for v in sorted(c.rejected | (c.blamed - c.results)):
        # A given of the question is no claim of the trace's to take back ("the tax
        # is on $60, not $80" confirms the base): only a value the trace computed is,
        # or a given one of the two steps before computed with ("10 / 50 = 20%", then
        # "relative to the original price, 40, not 50"; "1500 × 4 = 6000 J." "That's 6
        # kJ." "Wait, … 4 minutes is 240 s, not 4.") or, just before, wrote beside a
        # result ("15% of 20,000 is 3,000", then "15% of the new value, not of 20,000").
        i = producer.get(v, None if v in asked_values else stated.get(v))
        for near in (j - 1, j - 2) if i is None else ():
            if near < 0 or (near < j - 1 and v not in c.rejected):
                break
            b = contents[near]
            if any(v in OPERAND.findall(e) for e in b.exprs) or (
                near == j - 1 and v in c.rejected and v in b.values and b.results
            ):
                i = near
                break
        # "8.50 / 0.10 is 85, not 8.5": the step whose calculation it redoes, when one
        # reached the value that way (8.50 itself was computed before, as dollars).
        redone = next((k for k in range(j - 1, max(-1, j - 1 - OP_LOOKBACK), -1)
                       if v in contents[k].results and contents[k].exprs & c.exprs), None)  # fmt: skip
        if redone is not None:
            i = redone
        elif i is not None and i < seen.also_at.get(v, -1) < j:
            i = seen.also_at[v]  # "第二次也是 3/5", then "第二次是 2/4，不是 3/5": that claim
        elif i is not None and i < j - 1 and v in contents[j - 1].results:
            # Computed again in the claim just made ("P(first) = 1/2", "P(second) = 1/2,
            # so 1/4", then "the second is 4/9, not 1/2"): that claim.
            i = j - 1
        if i is not None:
            r[tested(contents, c, v, i, j)] += REJECTED
    for form in sorted(c.rejected_forms):  # the step that first wrote it
        if (i := _first_writing(form, texts, j, compacted)) is not None:
            r[i] += REJECTED
    # where the latest sum (product ...) was first written; a check that found a value
    # wrong ("2 × 19 + 7 = 45, not 31") made no slip of its own
    for op in sorted(c.rejected_ops):
        i = next((k for k in range(j - 1, max(-1, j - 1 - OP_LOOKBACK), -1)
                  if any(op in e for e in contents[k].exprs) and not contents[k].rejected),
                 None)  # fmt: skip
        if i is not None:
            r[min(expr_first[e] for e in contents[i].exprs if op in e)] += REJECTED
        else:  # algebra carries no numbers to read: "周长 = 长 + 宽 = x + 4 + x", "我只加了一次"
            i = next((k for k in range(j - 1, max(-1, j - 1 - OP_LOOKBACK), -1)
                      if _WRITES_OP[op].search(texts[k])), None)  # fmt: skip
            if i is not None:
                r[i] += REJECTED
    if c.misread:  # the givens it reads again: where they were first used
        for i in {given_first[v] for v in c.values & asked_values if v in given_first}:
            r[i] += REJECTED
    for w in sorted(c.rejected_words):  # "not hours": the latest step that wrote hours
        i = next((k for k in range(j - 1, max(-1, j - 1 - OP_LOOKBACK), -1)
                  if w in contents[k].terms), None)  # fmt: skip
        if i is not None:
            r[i] += REJECTED
    return r


def _first_writing(form: str, texts: Sequence[str], j: int, cache: dict[int, str]) -> int | None:
    for i in range(max(0, j - LOOKBACK), j):
        if form in (cache.get(i) or cache.setdefault(i, compact(texts[i]))):
            return i
    return None
