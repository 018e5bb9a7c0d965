"""Pure scoring functions of `bondkd eval` (formulas in docs/eval.md).

Answers are matched with `bondkd.quantities.answers_match`, the matcher the gate's
`reference` check uses too.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from bondkd.evaluate.result import CostSummary, Outcome, Outcomes


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
