"""Logical conflicts, found once here and recorded on the molecule.

Later consumers (the dataset gate) read `Molecule.conflicts` instead of
recomputing. Precision matters more than recall: a false conflict rejects a
good sample. A conflict that a later reflection step corrects is `resolved_by`
that step and costs `resolved_cost` instead of its kind's cost.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

from bondkd import quantities
from bondkd.config import StabilityConfig
from bondkd.molecule.bonds import Behaviour
from bondkd.quantities import verifiers
from bondkd.schema import Conflict
from bondkd.steps import lexicon

NEGATION_OVERLAP = 0.6  # term Jaccard above which "X" and "not X" are the same claim


def find_conflicts(
    texts: Sequence[str],
    behaviour: Sequence[Behaviour],
    answer: str | None,
    pairs: np.ndarray,
    config: StabilityConfig,
    question: str = "",
) -> list[Conflict]:
    fixer = Fixers(texts, behaviour)
    found: list[tuple[str, list[int], str, int | None]] = []
    checked: dict[str, list[tuple[str, float]]] = {}  # a looping trace repeats its steps
    for k, text in enumerate(texts):
        if (bad := checked.get(text)) is None:
            bad = checked[text] = _calc_mismatches(text)
        found += [("calc_mismatch", [k], desc, fixer(k, [right])) for desc, right in bad]
    for k, desc in verifiers.failed_checks(texts, question or None):
        found.append(("check_failed", [k], desc, fixer(k, [])))
    found += _value_clashes(texts, behaviour, fixer)
    found += _answer_mismatch(texts, answer)
    found += _negations(texts, behaviour, pairs)
    return [
        Conflict(
            kind=kind,  # type: ignore[arg-type]
            steps=steps,
            description=desc,
            resolved_by=fix,
            value=config.resolved_cost if fix is not None else getattr(config.conflicts, kind),
        )
        for kind, steps, desc, fix in found
    ]


def resolve_replaced(
    found: list[Conflict], replaced: dict[int, int], config: StabilityConfig
) -> list[Conflict]:
    """A conflict involving a step that a correction replaced (bondkd.molecule.links) is
    resolved by that correction: the superseded claim and its correction do not clash."""
    out = []
    for c in found:
        fixes = [replaced[s] for s in c.steps if s in replaced]
        if c.resolved_by is None and fixes:
            c = c.model_copy(update={"resolved_by": min(fixes), "value": config.resolved_cost})
        out.append(c)
    return out


def _calc_mismatches(text: str) -> list[tuple[str, float]]:
    """(description, the right value) of each annotation whose arithmetic or stated
    value is off."""
    out = []
    for a in quantities.calculations(text):
        truth = quantities.evaluate(a.expr)
        if a.value is not None and truth is not None and not quantities.same_value(a.value, truth):
            if text.startswith("<<", a.start):
                desc = f"calculator annotation <<{a.expr}={a.value:g}>> but the expression gives {truth:g}"
            else:
                desc = f"the step writes {a.expr} = {a.value:g} but {a.expr} is {truth:g}"
            out.append((desc, truth))
        elif (
            a.value is not None
            and a.stated is not None
            and not quantities.same_value(a.value, a.stated)
        ):
            desc = f"calculator annotation gives {a.value:g} but the step states {a.stated:g}"
            out.append((desc, a.value))
    return out


class Fixers:
    """Which reflection step corrects a conflict. Reflections are looked up by value and
    by position (bisect): scanning every reflection for each conflict was quadratic on
    long traces full of both."""

    def __init__(self, texts: Sequence[str], behaviour: Sequence[Behaviour]):
        self.reflections = [k for k, b in enumerate(behaviour) if b == "reflection"]
        self.restating: dict[str, list[int]] = {}  # value -> reflections stating it, ascending
        for r in self.reflections:
            for c in {quantities.canon(q.value) for q in quantities.numbers(texts[r])}:
                self.restating.setdefault(c, []).append(r)

    def __call__(self, after: int, values: Sequence[float], until: int | None = None) -> int | None:
        """First reflection step after `after` that restates one of `values`, or any
        reflection up to `until` (a correction that caused the change)."""
        k = bisect_right(self.reflections, after)
        if k < len(self.reflections) and until is not None and self.reflections[k] <= until:
            return self.reflections[k]
        found = []
        for c in {quantities.canon(v) for v in values}:
            steps = self.restating.get(c, [])
            if (i := bisect_right(steps, after)) < len(steps):
                found.append(steps[i])
        return min(found, default=None)


def _value_clashes(texts, behaviour, fixer):
    first: dict[str, tuple[float, int]] = {}
    out = []
    for k, text in enumerate(texts):
        for key, value in quantities.assignments(text):  # cached per distinct step text
            prev = first.get(key)
            if prev is None:
                first[key] = (value, k)
            elif not quantities.same_value(prev[0], value):
                v0, k0 = prev
                fix = k if behaviour[k] == "reflection" else fixer(k0, [v0, value], until=k)
                desc = f"'{key}' is {v0:g} in step {k0} but {value:g} in step {k}"
                out.append(("value_clash", [k0, k], desc, fix))
                first[key] = (value, k)  # the newer value is what later steps use
    return out


def _answer_mismatch(texts, answer):
    stated = quantities.final_answer(answer) if answer else None
    last_step = len(texts)
    if stated is None and texts:
        stated = quantities.final_answer(texts[-1])
        last_step = len(texts) - 1  # the final answer line is not a computation
    if stated is None or stated[1] is None:
        return []
    # An answer the reasoning last wrote as a result, not as an operand to go on with, is
    # where it came from, computed last or not ("so there are 7 ways", then a check that
    # computes something else); one it went on to compute with ("12 - 2 = 10") stopped
    # short.
    for k in range(last_step - 1, -1, -1):
        if any(quantities.same_value(q.value, stated[1]) for q in quantities.numbers(texts[k])):
            if not any(
                quantities.same_value(q.value, stated[1]) for q in quantities.operands(texts[k])
            ):
                return []
            break
    for k in range(last_step - 1, -1, -1):
        res = quantities.results(texts[k])
        if res:
            value = res[-1].value
            if quantities.same_value(value, stated[1]):
                return []
            desc = (
                f"final answer {stated[0]!r} but the last computed result is {value:g} (step {k})"
            )
            return [("answer_mismatch", [k], desc, None)]
    return []


def _negations(texts, behaviour, pairs):
    neg = [bool(lexicon.NEGATION_RE.search(t)) for t in texts]
    out = []
    for j, i in pairs.tolist():
        if neg[i] == neg[j] or behaviour[j] == "reflection":
            continue
        ti, tj = quantities.terms(texts[i]), quantities.terms(texts[j])  # cached per text
        if not ti:
            continue
        if len(ti & tj) / len(ti | tj) >= NEGATION_OVERLAP:
            desc = f"step {j} negates the claim of step {i} and no reflection resolves it"
            out.append(("negation", [i, j], desc, None))
    return out
