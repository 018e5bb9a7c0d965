"""Pure scoring functions of `bondkd eval` (formulas in docs/eval.md).

Matching follows the gate's `reference` check: final answers are found with
`bondkd.quantities.final_answer` (so `\\boxed{}`, `#### N`, `A: N`, 答案：… all work) and
compared numerically with a relative tolerance when both sides have a value, as text
otherwise.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence

from bondkd.evaluate.result import CostSummary, Outcome, Outcomes
from bondkd.quantities import final_answer

_GSM8K = re.compile(r"####[ \t]*([^\n]*)")
_SPACE = re.compile(r"\s+")
_LATEX_TEXT = re.compile(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}")


def reference_answer(text: str) -> tuple[str, float | None]:
    """(raw, value) of a reference: a GSM8K solution gives the text after its last ``####``;
    any other text its final answer, or itself when it states none."""
    hits = _GSM8K.findall(text)
    if hits and hits[-1].strip():
        text = hits[-1].strip()
    got = final_answer(text, loose=True)
    return got if got is not None else (text.strip(), None)


def answer_of(answer: str | None) -> tuple[str, float | None] | None:
    """(raw, value) of an answer field: its final answer, else the text itself (an answer
    field may be a bare word such as "Paris"); None when empty."""
    if not answer or not answer.strip():
        return None
    return final_answer(answer, loose=True) or (answer.strip(), None)


def _norm(s: str) -> str:
    s = _LATEX_TEXT.sub(r"\1", s).replace("$", "")
    return _SPACE.sub(" ", s).strip().rstrip(".。").strip().lower()


def answers_match(answer: str | None, reference: str, rel_tol: float = 1e-6) -> bool:
    """Whether `answer` states the reference answer.

    Both with a numeric value v, r: equal when both are integers (a count off by one is
    wrong however large it is), else |v - r| <= rel_tol * max(1, |r|) (the floor keeps
    values near 0 from needing an impossible precision). Otherwise the raw answers must
    be equal after collapsing whitespace, dropping a final full stop and lower-casing.
    """
    got = answer_of(answer)
    if got is None:
        return False
    want_raw, want = reference_answer(reference)
    if want is not None and got[1] is not None:
        if got[1].is_integer() and want.is_integer():
            return got[1] == want
        return abs(got[1] - want) <= rel_tol * max(1.0, abs(want))
    if want is not None:  # a numeric reference is never matched by text without a value
        return False
    return _norm(got[0]) == _norm(want_raw)


def rate(k: int, n: int) -> float | None:
    """k / n, None when n = 0 (JSON null rather than a made-up 0 or NaN)."""
    return k / n if n else None


def accuracy(correct: Sequence[bool]) -> float | None:
    return rate(sum(correct), len(correct))


def retention(student_accuracy: float | None, teacher_accuracy: float | None) -> float | None:
    """student accuracy / teacher accuracy; None when the teacher got none right."""
    if student_accuracy is None or not teacher_accuracy:
        return None
    return student_accuracy / teacher_accuracy


def outcome(student_correct: bool, teacher_correct: bool) -> Outcome:
    if student_correct == teacher_correct:
        return "tie"
    return "win" if student_correct else "loss"


def win_tie_loss(student: Sequence[bool], teacher: Sequence[bool]) -> Outcomes:
    """Per-question outcomes of the student against the teacher; counts sum to n."""
    if len(student) != len(teacher):
        raise ValueError(f"{len(student)} student results but {len(teacher)} teacher results")
    got = [outcome(s, t) for s, t in zip(student, teacher, strict=True)]
    n, c = len(got), {k: got.count(k) for k in ("win", "tie", "loss")}
    return Outcomes(
        win=c["win"],
        tie=c["tie"],
        loss=c["loss"],
        win_rate=rate(c["win"], n),
        tie_rate=rate(c["tie"], n),
        loss_rate=rate(c["loss"], n),
    )


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are not None; None when there are none."""
    xs = [v for v in values if v is not None]
    return statistics.median(xs) if xs else None


def cost_model(
    calls_per_month: int,
    student_cost: float | None,
    teacher_cost: float | None,
    distill_cost: float | None = None,
) -> CostSummary:
    """Monthly cost of serving every call with each model, the saving of the student, and
    the months for the saving to pay back a one-off distillation cost:

        monthly_x = calls_per_month * cost_x
        monthly_saving = monthly_teacher - monthly_student,  annual_saving = 12 * monthly_saving
        break_even_months = distill_cost / monthly_saving   (None when saving <= 0)
    """
    if calls_per_month < 0 or any(c is not None and c < 0 for c in (student_cost, teacher_cost)):
        raise ValueError("calls per month and costs must be >= 0")
    s = None if student_cost is None else calls_per_month * student_cost
    t = None if teacher_cost is None else calls_per_month * teacher_cost
    saving = None if s is None or t is None else t - s
    even = None
    if distill_cost is not None and saving is not None and saving > 0:
        even = distill_cost / saving
    return CostSummary(
        calls_per_month=calls_per_month,
        student_cost_per_call=student_cost,
        teacher_cost_per_call=teacher_cost,
        student_monthly=s,
        teacher_monthly=t,
        monthly_saving=saving,
        annual_saving=None if saving is None else 12 * saving,
        distill_cost=distill_cost,
        break_even_months=even,
    )
