"""What each step's content points at: for every step, the earlier steps it shares values,
expressions and terms with, weighed by where that content came from, and the values,
expressions and calculations it takes back or redoes. `bondkd.molecule.links` chooses
from this evidence.

Evidence that step j points at an earlier step i (`gather`), summed:

| j's content                                        | strength      |
|----------------------------------------------------|---------------|
| a value j rejects ("not 418") that i computed/wrote| 3.0           |
| (or, when j checks by the inverse operation, the   |               |
| step that computed with it: `tested`)              |               |
| an expression j rejects ("不是 6x − 5"), first in i | 3.0           |
| an operation j rejects ("不是加上"): where the latest | 3.0           |
| expression using it was first written (in algebra,  |               |
| "长 + 宽", the latest step writing the operation)     |               |
| the givens j reads again after owning a misreading | 3.0           |
| ("I misread the problem"): the first step using one |               |
| a word j rejects ("not hours"): the latest of the  | 3.0           |
| six steps before that wrote it                     |               |
| an expression (17 × 24) first written in i         | 1.0           |
| a value computed in i (a result there; or a result | 1.0 (0.3 ≤ 9, |
| of j's that undoes a later step: `tested`)         | unless a      |
|                                                    | verdict names |
|                                                    | it: 确实是 4) |
| a value first written in i, not computed there     | 0.5 (0.15 ≤ 9)|
| a result of j's calculation, computed in i before  | + 0.5 (> 9)   |
| (a check arrives at what it checks; `tested`;      | (2.0 for the  |
| the value it ends with, computed after all it      | value: ended) |
| starts from: `ended`)                              |               |
| a function applied ("f(0)") whose value i stated,  | 1.0           |
| else that i first wrote                            |               |
| (deduction) a new value of j's that is one of the  | 0.8           |
| last 3 steps' values in another unit (× ÷ 1000 …)  |               |
| a calculation of j's that comes back to a given or | 1.0           |
| a licensed constant ("6 × 9 = 54", "30 + 60 + 90 = |               |
| 180"): i last computed its latest operand          |               |
| a rare term first written in i                     | 0.3, ≤ 0.9    |
| a term of what j says it checks ("make sure the    | 1.0           |
| formula is right"), first written in i             |               |

What a step states is read by `bondkd.molecule.content`. Values and terms of the question
have no origin step (and a rejected given corrects nothing, unless one of the two steps before
computed with it: "10 / 50 = 20%", then "relative to the original price, 40, not 50"); a
rejected value claimed again for another quantity ("第二次也是 3/5") takes back that claim;
a value written only as a bound ("below 80") is what a result is weighed against, not
evidence of what a step checks;
single digits are weak (they are indices and counts everywhere); a value blamed ("I wrote
86, but that's wrong") counts as rejected. A calculation redone with another value ("Actually, 0.15 × 240 is 36") takes
back the step that last claimed it (`Evidence.redos`); redone alike inside a check, it
re-runs the check on the step that first claimed it (`Evidence.reruns`).

The strengths were chosen on the `tune` part of datasets/labelled.jsonl, never on its
`holdout` part (docs/benchmarks.md).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from bondkd import quantities
from bondkd.molecule import taken_back
from bondkd.molecule.content import (
    Content,
    compact,
    disagree,
    fragment,
    read,
    roundings,
    small,
)
from bondkd.molecule.taken_back import LOOKBACK, OP_LOOKBACK
from bondkd.molecule.tested import OPERAND, computed_at, ended, operation_at, tested
from bondkd.quantities import sources

STRENGTH = {
    "rejected": taken_back.REJECTED,
    "expression": 1.0,
    "result": 1.0,
    "mention": 0.5,
    "term": 0.3,
    "named": 1.0,  # a term of what a check says it checks
    "terms_max": 0.9,
    "small": 0.3,  # factor for single-digit values
    "lookahead": 1.0,  # factor for evidence taken from the steps that carry out a check
    "reflection_target": 0.5,  # factor for a check of a check
    "recent": 0.9,  # the claim just made
    "restated": 0.8,  # a value taken from the step that last wrote it
    "reached": 0.5,  # a result of a check's own computed before
    "ended": 2.0,  # the value a check's last calculation ends with, computed before
}

MIN_TERMS = 3  # a step with fewer content terms and no numbers states nothing to check
LOOKAHEAD = 2
MIN_LINE = 8  # characters of an equation written again that make it a re-run
MAX_DEDUCTIONS = 3
# A calculation redone alike at least RERUN_GAP steps after it was first claimed, at most
# RERUN steps after a check began, re-runs it as part of that check.
RERUN_GAP, RERUN = 3, 6
_LETTER = re.compile(r"[A-Za-z]")
# Terms in more steps than this say nothing about where content came from.
MAX_TERM_STEPS = 4


@dataclass
class Evidence:
    """Per step j, the earlier steps its content points at and how strongly."""

    scores: list[dict[int, float]]  # j -> {i: evidence}
    rejects: list[dict[int, float]]  # j -> {i: rejected-value evidence alone}
    redos: list[dict[int, float]]  # j -> {i: i claimed j's calculation with another value}
    # j -> where the last calculation j redoes alike (same value) was first claimed
    reruns: list[int | None]
    producers: list[dict[int, float]]  # j -> {i: evidence from i's results and exprs}
    uses: list[dict[int, float]]  # j -> {i: i computed or last wrote a value j uses}
    contents: list[Content]
    texts: Sequence[str]
    origins: list[int]  # j -> the step that first stated what j states (j if it is new)
    # j -> the variables (x, n) j is the first to write, none of them in the question
    introduced: list[frozenset[str]]
    cites: list[int | None]  # j -> the earlier step it names by number ("from step 3")
    asked: list[frozenset[str]]  # j -> the question's terms it writes
    given: frozenset[str] = frozenset()  # the question's values

    @cached_property
    def starts(self) -> list[int]:
        """j -> the step the sentence holding step j began in (j unless j is a `fragment`
        of a sentence its source cut)."""
        out: list[int] = []
        for j, text in enumerate(self.texts):
            out.append(out[-1] if j and fragment(text) else j)
        return out

    @cached_property
    def written_first(self) -> dict[str, int]:
        """value -> the first step that wrote it."""
        out: dict[str, int] = {}
        for j, c in enumerate(self.contents):
            for v in c.values:
                out.setdefault(v, j)
        return out

    def reaches(self, j: int) -> bool:
        """Whether a result of step j's, or a value it confirms ("gives 506 again"), was
        written before it: a check arrives there."""
        c = self.contents[j]
        return any(self.written_first.get(v, j) < j for v in c.results | c.confirmed)


def gather(question: str, texts: Sequence[str], top: int = 6) -> Evidence:
    """Content evidence of every step for its `top` best earlier steps. One pass, with
    maps from each value, expression and term to the step it came from."""
    cache: dict[str, Content] = {}
    contents = [cache.get(t) or cache.setdefault(t, read(t)) for t in texts]
    asked = quantities.numbers(question)
    asked_values = {quantities.canon(q.value) for q in asked}
    # What a calculation may come back to: a given, or a constant the question's words
    # license ("30 + 60 + 90 = 180" for a triangle's angles).
    constants = asked_values | sources.licensed(question)
    # The question's percents ("15% of 80"): a calculation of the trace's own may compute
    # the same number ("0.25 × 60 = 15"), which is then its result.
    percents = asked_values - {quantities.canon(q.value) for q in asked if not q.raw.endswith("%")}
    asked_terms = set(quantities.terms(question))
    df: dict[str, int] = defaultdict(int)
    for c in contents:
        for t in c.terms:
            df[t] += 1
    producer: dict[str, int] = {}
    computing: dict[str, list[int]] = {}  # value -> the steps computing it by a calculation
    # a whole number -> (the step computing a fraction it rounds, that fraction)
    rounded: dict[str, tuple[int, str]] = {}
    first: dict[str, int] = {}
    given_first: dict[str, int] = {}  # a value of the question's -> the first step writing it
    stated: dict[str, int] = {}  # value -> latest step writing it
    expr_first: dict[str, int] = {}
    equation: int | None = None  # the first step writing an equation in letters
    applied: dict[str, int] = {}  # function application -> where its value was stated
    defined: set[str] = set()  # applications whose value a step stated
    term_first: dict[str, int] = {}
    term_claimed: dict[str, int] = {}  # term -> the first step writing it with a value of its own
    term_last: dict[str, int] = {}
    scores, rejects, redos, producers, uses = [], [], [], [], []
    origins: list[int] = []
    introduced: list[frozenset[str]] = []
    cites: list[int | None] = []
    claimed: dict[str, tuple[int, float]] = {}  # expression -> (latest step claiming it, value)
    claimed_first: dict[str, tuple[int, float]] = {}
    reruns: list[int | None] = []
    lines: dict[str, int] = {}  # a step's text, compacted -> the first step writing it
    seen = taken_back.Seen(texts, contents, asked_values, producer, stated, expr_first, given_first)
    took_back: set[int] = set()  # steps a later step has rejected
    for j, c in enumerate(contents):
        s: dict[int, float] = defaultdict(float)
        pr: dict[int, float] = defaultdict(float)
        u: dict[int, float] = defaultdict(float)
        r = taken_back.rejected(j, c, seen)
        d: dict[int, float] = defaultdict(float)
        for e, x in sorted(c.claims):  # "Actually, 0.15 × 240 is 36": redone, another value
            prior = claimed.get(e)
            if prior is not None and prior[0] not in took_back and disagree(prior[1], x):
                d[prior[0]] += STRENGTH["rejected"]
        alike = [
            was[0]
            for e, x in c.claims
            if (was := claimed_first.get(e)) and j - was[0] >= RERUN_GAP and not disagree(was[1], x)
        ]
        # An equation written again word for word ("(2)^2 * b + 1/(2 - b) = 4b" after going
        # back to the start) re-runs the step that first derived it; the starting equation
        # restated does not.
        if "=" in texts[j]:
            line = compact(texts[j]).rstrip("。.:：")
            if not alike and len(line) >= MIN_LINE and (at := lines.get(line)) is not None:
                alike = [at] if at != equation and j - at >= RERUN_GAP else []
            lines.setdefault(line, j)
        reruns.append(alike[-1] if alike else None)  # where its last calculation was made
        for e in sorted(c.exprs):
            if (i := expr_first.get(e)) is not None:
                pr[i] += STRENGTH["expression"]
                u[i] += STRENGTH["expression"]
        # A function applied ("f(0)", "C(4,2)") comes from the step that stated its value,
        # else the one that first wrote it: "f(3) = f(2) + f(1)" uses the steps giving
        # f(2) and f(1), and "does f(0) return 1?" checks the step that said so.
        for a in sorted(c.applied):
            if (i := applied.get(a)) is not None:
                pr[i] += STRENGTH["expression"]
                u[i] += STRENGTH["expression"]
        # A calculation that comes back to a given ("6 × 9 = 54", the perimeter asked
        # about) substitutes the values it starts from: it tests where the latest was
        # found, however small ("w = 9"). (Not a producer: the step computes nothing new.)
        back = [e for e, x in c.claims if quantities.canon(x) in constants]
        if not c.claims and c.results & constants:  # "3 mol × 18 g/mol = 54 g": units
            back = sorted(c.exprs)  # kept it from the checked claims; the givens are there
        # (of a value computed twice, "梨 13 元" then "找回 50 − 37 = 13 元", the latest)
        found = [computing[o][-1] if o in computing else producer[o] for e in back for o in OPERAND.findall(e)
                 if o not in asked_values and o in producer]  # fmt: skip
        # the same calculation claimed before ("12 times 167 is 2004", then "let me check my
        # multiplication: 12 * 167 = …") is the claim tested, not where 167 was found
        found += [claimed[e][0] for e in back if e in claimed]
        if found:
            s[max(found)] += STRENGTH["result"]
        # "3 × 8 = 24" rounds nothing, even where a denial keeps it from being a claim
        computed = c.results if c.exprs else frozenset()
        for v in sorted(c.values - c.rejected):
            if v in asked_values and v not in producer:
                continue
            k = STRENGTH["small"] if small(v) and v not in c.confirmed | c.substituted else 1.0
            # A whole number rounding a fraction comes from the step computing the fraction;
            # written for the first time ("so 13 days" after "So he needs 12.5 days"), from
            # where the fraction was last written: the claim it rounds.
            if v in rounded and v not in producer and v not in computed:
                at, fraction = rounded[v]
                i = at if v in first else stated.get(fraction, at)
            else:
                i = producer.get(v)
            if v in c.bounds:  # "below 80": what a result is weighed against, used not checked
                if i is not None:
                    u[i] += k * STRENGTH["result"]
                continue
            if i is not None:
                u[i] += k * STRENGTH["result"]
                # Computed again by the inverse operation ("10 × 6 = 60" after "60 ÷ 10 =
                # 6"), it points at the step inverted, not at the one that computed 60.
                inverted = tested(contents, c, v, i, j) if v in c.results else i
                if inverted == i:
                    pr[i] += k * STRENGTH["result"]
                else:
                    s[inverted] += k * STRENGTH["result"]
            elif (i := first.get(v)) is not None:
                s[i] += k * STRENGTH["mention"]
            elif (i := _converted(v, stated, j)) is not None:
                u[i] += k * STRENGTH["restated"]  # "1500 × 240 = 360,000 J." "That is 360 kJ."
            # A value is used from where it was last written ("Total: 756." then "756 - 168").
            if (i := stated.get(v)) is not None and i not in pr:
                u[i] += k * STRENGTH["restated"]
        # A result reached again is what a check arrives at: the step that computed it is
        # the one checked, more than those of the numbers it starts from ("(20 + 60) ÷ 500
        # = 16%, 结果一致" checks the 16%, not the 20 + 60); the value its last calculation
        # ends with counts however small ("6 − 2 − 2 + 1 = 3, 结果一致"), and most when it
        # came after every number the check starts from (`ended`). Of a value computed
        # twice, the one it redoes (`computed_at`), else the later (the adjacent count 12, then
        # the answer 24 − 12 = 12).
        end = quantities.canon(c.claims[-1][1]) if c.claims else None
        reached_at = {
            v: computed_at(contents, c, v, computing[v], LOOKBACK)
            for v in c.results
            if v in computing
        }
        checked = None
        if end is not None and (end_at := reached_at.get(end, producer.get(end))) is not None:
            checked = end if ended(contents, c, end, end_at, producer) else None
        for v in sorted(c.results - asked_values) if c.claims else ():
            if (i := reached_at.get(v, producer.get(v))) is not None and (v == end or not small(v)):
                s[tested(contents, c, v, i, j)] += STRENGTH["ended" if v == checked else "reached"]
        for op in sorted(c.checked_ops):  # named outright, as a rejected value is
            if (i := operation_at(contents, op, j, claimed_first, OP_LOOKBACK)) is not None:
                s[i] += STRENGTH["rejected"]
        # A symbol ("x", "y_E") is used from where it was last written, as a value is: the
        # algebra of a derivation carries no numbers to trace.
        for t in c.terms:
            if _symbol(t) and t not in asked_terms and (i := term_last.get(t)) is not None:
                u[i] += STRENGTH["term"]
        # What a check names ("make sure the formula is right"): where it was first written
        # with a value ("make sure the cycle is right": "So the cycle length is 3", not
        # "Powers of 2 mod 7 probably cycle"), else where it was first written.
        names = {t for t in c.checked if t not in asked_terms}
        for i in {term_claimed.get(t, term_first[t]) for t in names if t in term_first}:
            s[i] += STRENGTH["named"]
        terms: dict[int, float] = defaultdict(float)
        for t in c.terms:
            if t in asked_terms or df[t] > MAX_TERM_STEPS:
                continue
            if (i := term_first.get(t)) is not None:
                terms[i] += STRENGTH["term"]
        for i, x in terms.items():
            s[i] += min(STRENGTH["terms_max"], x)
        for i, x in pr.items():
            s[i] += x
        for i, x in (*r.items(), *d.items()):
            s[i] += x
        best = sorted(s.items(), key=lambda kv: (-kv[1], -kv[0]))[:top]
        scores.append(dict(best))
        rejects.append(dict(r))
        redos.append(dict(d))
        took_back.update(r, d)  # a redo after the correction agrees with it, corrects nothing
        if c.also:
            seen.also_at.update(dict.fromkeys(c.also, j))
        producers.append(dict(pr))
        uses.append(dict(u))
        # A step whose results and expressions were all stated before restates them; one
        # that computes nothing restates where its values were first written ("So, digit
        # by digit, we have 20 bits." after "5 × 4 = 20 bits").
        if c.results or c.exprs:
            old = [producer[v] for v in c.results if v in producer]
            old += [expr_first[e] for e in c.exprs if e in expr_first]
            # a calculation of its own ("50 − 37 = 13" after "2 × 6.5 = 13") is new
            new = any(v not in producer and v not in asked_values for v in c.results) or any(
                e not in expr_first for e in c.exprs
            )
        else:
            named = [v for v in c.values if not small(v) and v not in asked_values]
            old = [first[v] for v in named if v in first]
            new = len(old) < len(named)
        origins.append(min(old) if old and not new else j)
        reached = {quantities.canon(x) for _, x in c.claims}
        for v in c.results:
            if v not in asked_values or (v in percents and v in reached):
                producer.setdefault(v, j)
                if c.exprs:
                    computing.setdefault(v, []).append(j)
                for whole in roundings(v):  # "121.8 packs, so 122": 122 comes from here
                    rounded.setdefault(whole, (j, v))
        for v in c.values:
            if v not in asked_values:
                first.setdefault(v, j)
            else:
                given_first.setdefault(v, j)
            stated[v] = j
        for e in c.exprs:
            expr_first.setdefault(e, j)
        for a in c.applied:  # a value stated takes over from a mere writing
            if a not in applied or (a in c.defined and a not in defined):
                applied[a] = j
        defined.update(c.defined)
        for e, x in c.claims:  # the latest claim: a redo after a correction agrees with it
            claimed[e] = (j, x)
            claimed_first.setdefault(e, (j, x))
        introduced.append(
            frozenset(
                t for t in c.terms if _variable(t) and t not in term_first and t not in asked_terms
            )
        )
        if c.original and equation is not None:  # "回到原始等式": the first equation written
            cites.append(equation)
        else:
            cites.append(c.cited - 1 if c.cited is not None and 0 < c.cited <= j else None)
        if equation is None and "=" in texts[j] and _LETTER.search(texts[j]):
            equation = j
        for t in c.terms:
            term_first.setdefault(t, j)
            term_last[t] = j
            if c.values - asked_values:
                term_claimed.setdefault(t, j)
    return Evidence(
        scores,
        rejects,
        redos,
        reruns,
        producers,
        uses,
        contents,
        texts,
        origins,
        introduced,
        cites,
        [c.terms & asked_terms for c in contents],
        frozenset(asked_values),
    )


# Unit factors (kilo-, per cent, minutes, hours): a new value this many times, or this
# fraction of, one written in the last CONVERTED steps converts it.
UNIT_FACTORS = (1000.0, 100.0, 60.0, 3600.0)
CONVERTED = 3


def _converted(v: str, stated: dict[str, int], j: int) -> int | None:
    """The latest of the CONVERTED steps before j that wrote `v` in another unit, or None."""
    x = float(v)
    found = [i for f in UNIT_FACTORS for w in (x * f, x / f)
             if (i := stated.get(quantities.canon(w))) is not None and j - i <= CONVERTED]  # fmt: skip
    return max(found, default=None)


def converts(a: str, b: str) -> bool:
    """Whether value `b` is value `a` in another unit (a `UNIT_FACTORS` multiple or part)."""
    x, y = float(a), float(b)
    return x != 0 and any(math.isclose(y, x * f) or math.isclose(y, x / f) for f in UNIT_FACTORS)


def _symbol(term: str) -> bool:
    """A name of the algebra: a one-letter variable or a subscripted one ("y_e")."""
    return _variable(term) or "_" in term


def _variable(term: str) -> bool:
    """A one-letter name ("x", "n"): "a" and "i" are words."""
    return len(term) == 1 and term.isascii() and term.isalpha() and term not in "ai"


def states_something(c: Content) -> bool:
    """Whether a step states something a check could be about ("Let me think." does not)."""
    return bool(c.values) or len(c.terms) >= MIN_TERMS
