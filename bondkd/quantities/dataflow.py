"""Quantity dataflow: which numbers feed which results, and where the flow breaks.

A trace's arithmetic is a graph on values. Each computed result (an "=" chain, an
annotation's value, "so she has 8", 得 12) is derived from the operands written in
its step since the previous result (from every number there when none stands next
to an operator: "5 apples and 3 more, so 8"); values are nodes, so "12" computed in step 2
and used in step 4 is one node. Walking back from the final answer gives the values
the answer rests on. Four kinds of break are recorded on the molecule:

- unused_quantity: a question quantity that never flows into the final answer (a
  percent also counts as p/100, 1+p/100 and 1−p/100; the low end 0 or 1 of a range and the
  numbers of an equation to solve are no givens to use: `sources.not_given`). Solvers that drop a given are
  usually wrong: on the GSM8K dev file this alone separates right from wrong
  solutions with AUROC 0.65 (docs/benchmarks.md);
- dead_end: a computed value that feeds no later result and is not the answer;
- unsourced: a number used as an operand that comes from neither the question, the
  constants (`DataflowConfig.constants`), the words of the question or of the steps so
  far (a dozen, 八折 = × 0.8, hours -> 60: bondkd.quantities.sources), a stated domain
  fact ("12.01 g/mol"), nor anything written before it (a term right of an "=" in the
  same clause counts as computed);
- implausible_answer: a final answer more precise than the question's quantities
  license together (3.33 from whole numbers; $1.80 × 6.5 may have three places) and
  than its words license (八折 of a whole price
  has one decimal; an average, 元 with 角 / 分, "to two decimal places" two; a root or
  a logarithm any; an answer written as a fraction is exact), or negative when none of
  them is and the question is no algebra, function or temperature problem. Word problems
  come out clean; on the GSM8K dev file none of the 119 answers flagged is correct.

Work after the step that first computes the answer is checking it: dead ends and
unsourced operands there are not reported. Found once here (like the conflicts) and
read by stability and the gate's grounding and consensus checks. Without a final answer no given reaches one, so every given is
unused, and dead ends are not reported.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Sequence

from bondkd import quantities
from bondkd.config import DataflowConfig
from bondkd.quantities import sources
from bondkd.quantities.numbers import _DECIMALS, _TRANS
from bondkd.schema import FlowIssue, FlowKind


def forms(q: quantities.Quantity) -> set[str]:
    """A quantity and what it licenses: 150% also as 1.5, 0.5 more, 2.5 times; a
    fraction 1/8 (八分之一) also as the 8 one divides by."""
    out = {quantities.canon(q.value)}
    if q.percent:
        p = q.value / 100
        out |= {quantities.canon(x) for x in (p, 1 + p, 1 - p)}
    elif 0 < q.value < 1 and (1 / q.value).is_integer():
        out.add(quantities.canon(1 / q.value))
    return out


def final_values(texts: Sequence[str], answer: str | None) -> list[str]:
    """Canonical values of the trace's final answer: the `answer` field ("12 cm by 5 cm"
    has two), else the answer the text states; empty when there is none."""
    return [c for c, _, _ in _finals(texts, answer)]


Final = tuple[str, str, int | None]


def _finals(texts: Sequence[str], answer: str | None) -> list[Final]:
    """(canonical value, the answer as written, step that writes it or None for the
    `answer` field) of each final value. Issues quote the written form: ".1", not "0.1"."""
    found = quantities.answer_of(answer) if answer else None
    if found is not None and found[1] is not None:
        return [(quantities.canon(found[1]), _written(found[0], found[1]), None)]
    if answer:
        several: list[Final] = [
            (quantities.canon(q.value), q.raw, None) for q in quantities.numbers(answer)
        ]
        if several:
            return several
    found = quantities.final_answer("\n".join(texts))
    if found is None or found[1] is None:
        return []
    raw = _written(found[0], found[1])
    step = next((k for k in range(len(texts) - 1, -1, -1) if raw in texts[k]), None)
    return [(quantities.canon(found[1]), raw, step)]


def _written(phrase: str, value: float) -> str:
    """The number in an answer phrase that has `value` ("$3.50" in "$3.50 in total"), else
    the phrase itself (\\frac{1}{2} is written as a whole)."""
    for q in quantities.numbers(phrase):
        if quantities.same_value(q.value, value):
            return q.raw
    return phrase


# Marks that close or open an "=" clause; one scan of them replaces a regex search per
# number from the start of the text (quadratic on a long step, issue 20).
_CLAUSE_MARK = re.compile(r"[=＝,，。;；:：!?！？\n]")


def chained(text: str, starts: Sequence[int]) -> list[bool]:
    """For each offset in `starts`, whether an "=" stands before it in the same clause
    ("= 340 + 68 = 408" computed the 68): clauses end at , . ; : ! ? and line breaks.
    A number opening the line right after an "=" clause counts too ("= 340\n68"), as it
    did under the regex search this replaces, so results did not move. O(text + starts
    · log marks)."""
    marks = [m.start() for m in _CLAUSE_MARK.finditer(text)]
    out = []
    for at in starts:
        k = bisect_left(marks, at)  # marks[:k] lie before `at`
        if k and marks[k - 1] == at - 1 and text[at - 1] == "\n":
            k -= 1  # the old search's "$" also matched before a final newline
        out.append(k > 0 and text[marks[k - 1]] in "=＝")
    return out


# A number of a step: (quantity, canonical value, a result?, an operand?, sourced where
# it stands (right of an "=" in its clause, or a domain fact: "12.01 g/mol")?, the values
# it licenses).
Reading = tuple[quantities.Quantity, str, bool, bool, bool, frozenset[str]]


def _read(text: str) -> tuple[list[Reading], set[str]]:
    """The numbers of a step, and the values its words give (a dozen, 八折, hours)."""
    found = quantities.numbers(text, include_annotations=True)
    operand_at = {q.start for q in quantities.operands(text, found)}
    result_at = {q.start: q for q in quantities.results(text)}
    # A result written as a fraction ("= 5/33") is one value: its denominator is no number.
    over = {r.end for q in found if (r := result_at.get(q.start)) and r.end > q.end}
    found = [result_at.get(q.start, q) for q in found if q.start in result_at or q.end not in over]
    licensed: dict[str, frozenset[str]] = {}  # by the number as written: few are distinct
    for q in found:
        if q.raw not in licensed:
            licensed[q.raw] = frozenset(forms(q))
    norm = text.translate(_NORM)
    readings: list[Reading] = [
        (q, quantities.canon(q.value), q.start in result_at, q.start in operand_at,
         after or sources.fact_at(norm, q.end), licensed[q.raw])
        for q, after in zip(found, chained(text, [q.start for q in found]), strict=True)
    ]  # fmt: skip
    return readings, sources.licensed(text)


_NORM = str.maketrans("／", "/")  # same length: spans stay put


# An answer written as a fraction (243/625, \frac{13}{18}, 三分之一) is exact, not precise.
_FRACTION = re.compile(r"\d[ ]?/[ ]?\d|\\d?frac|分之")


def _decimals(canon: str) -> int:
    return len(canon.partition(".")[2])


def _places(asked: Sequence[quantities.Quantity]) -> int:
    """Decimal places the question's quantities license: a product of them carries the
    places of each, as written ($1.80 × 6.5 has three). A percent adds none: on the GSM8K
    dev file a fractional answer from whole numbers and a percent is mostly wrong."""
    places = (_DECIMALS.search(raw.translate(_TRANS)) for raw in {q.raw for q in asked})
    return sum(len(m.group(1)) for m in places if m)


# A reasoning computes with numbers when it writes a checkable calculation, or states
# results from operands: at least this many of each. BIG-Bench-Mistake's word sorting
# numbers its letters ("n" (14)) next to brackets but states no result.
MIN_RESULTS = 2
MIN_OPERANDS = 3
# ... and when such numbers are not lost in prose: one at least per this many characters.
# On the longcot dev files the arithmetic sources have a median of 9-67 characters per
# operand or result (90th percentile 10-270), the non-arithmetic BBH tasks 359-1,603.
MAX_CHARS_PER_NUMBER = 300


def is_arithmetic(question: str, texts: Sequence[str]) -> bool:
    """Whether the reasoning computes with numbers; when it does not (a proof without
    numbers, word sorting, a logic puzzle, bracket matching, a chemistry explanation with a
    few numbers), dataflow abstains: the molecule records `arithmetic: false` and no
    dataflow issue."""
    chars = sum(len(t) for t in texts)
    calcs = operands = results = 0
    for text in texts:  # stops as soon as the answer is known: one step often suffices
        if not text:
            continue
        operands += len(quantities.operands(text))
        results += len(quantities.results(text))
        counted = results >= MIN_RESULTS and operands >= MIN_OPERANDS
        if not counted and not calcs:
            calcs += len(quantities.calculations(text))
        if (counted or calcs) and (operands + results) * MAX_CHARS_PER_NUMBER >= chars:
            return True
    return False


def givens(question: str) -> int:
    """Distinct quantities the question gives."""
    return len({quantities.canon(q.value) for q in quantities.numbers(question)})


def find_flow_issues(
    question: str,
    texts: Sequence[str],
    answer: str | None,
    config: DataflowConfig | None = None,
    exempt: Collection[int] = (),
) -> list[FlowIssue]:
    """The breaks in the quantity dataflow (module docstring). `exempt`: steps whose
    results need no later use and whose operands need no source: steps a later correction
    replaces (the correction redoes the work) and checks (they verify, nothing builds on
    them)."""
    config = config or DataflowConfig()
    replaced = frozenset(exempt)
    consts = {quantities.canon(c) for c in config.constants}
    asked = quantities.numbers(question)
    issues: list[FlowIssue] = []

    def issue(kind: FlowKind, step: int | None, raw: str, description: str) -> None:
        cost = getattr(config, kind)
        issues.append(
            FlowIssue(kind=kind, step=step, quantity=raw, description=description, value=cost)
        )

    known = set(consts).union(*(forms(q) for q in asked)) | sources.licensed(question)
    unsourced: list[tuple[int, str]] = []
    parents: dict[str, set[str]] = {}  # result value -> values it was computed from
    computed: dict[str, tuple[int, str]] = {}  # result value -> (first step, raw)
    last: str | None = None  # the latest result
    digests: dict[str, tuple[list[Reading], set[str]]] = {}  # a looping trace repeats steps
    for k, text in enumerate(texts):
        if (read := digests.get(text)) is None:
            read = digests[text] = _read(text)
        digest, words = read
        known |= words
        # Values written since the previous result; the operands among them.
        segment: set[str] = set()
        ops: set[str] = set()
        for q, c, is_result, is_operand, after_equals, licensed in digest:
            if is_result:
                # "5 apples and 3 more, so 8" has no operator: then every number counts;
                # "= 73.5, so 73 boxes" has no number at all: it follows the last result.
                src = ops or segment or ({last} if last is not None else set())
                parents.setdefault(c, set()).update(src - {c})
                computed.setdefault(c, (k, q.raw))
                segment, ops, last = set(), set(), c
            else:
                segment.add(c)
                if is_operand:
                    ops.add(c)
            if is_operand and c not in known and not after_equals and k not in replaced:
                unsourced.append((k, q.raw))
            known |= licensed
    stated = _finals(texts, answer)
    finals = [c for c, _, _ in stated]
    # Work after the step that first computes the answer is checking it: its new
    # numbers and results that feed nothing are not breaks in the flow.
    done = min((computed[f][0] for f in finals if f in computed), default=len(texts))
    for k, raw in unsourced:
        if k <= done:
            issue("unsourced", k, raw, f"step {k} computes with {raw}, which neither the "
                  "question nor an earlier step gives")  # fmt: skip
    reached: set[str] = set()  # no final answer: nothing reaches it
    stack = list(finals)
    while stack:
        v = stack.pop()
        if v not in reached:
            reached.add(v)
            stack.extend(parents.get(v, ()))
    places = max(_places(asked), sources.precision(question))
    signed = sources.signed(question)
    for final, raw, at in stated:
        if _decimals(final) > places and not _FRACTION.search(raw):
            issue("implausible_answer", at, raw, f"the answer {raw} is more precise "
                  "than anything the question gives")  # fmt: skip
        elif final.startswith("-") and not signed and not any(q.value < 0 for q in asked):
            issue("implausible_answer", at, raw, f"the answer {raw} is negative "
                  "though nothing in the question is")  # fmt: skip
    seen: set[str] = set()
    for q in asked:
        c = quantities.canon(q.value)
        if c in seen:
            continue
        seen.add(c)
        # Constants are not exempt here: a question's "2 hours" is a given like any other.
        if not forms(q) & reached and not sources.not_given(question, q):
            issue("unused_quantity", None, q.raw, f"the question's {q.raw} never flows "
                  "into the final answer")  # fmt: skip
    if not finals:  # a dead end is only one relative to an answer
        return issues
    feeding = set().union(*parents.values()) if parents else set()
    for c, (k, raw) in computed.items():
        if c not in finals and c not in feeding and k < done and k not in replaced:
            issue("dead_end", k, raw, f"step {k} computes {raw}, which no later result "
                  "or the answer uses")  # fmt: skip
    return issues
