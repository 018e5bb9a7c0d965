"""`bondkd eval` scoring laws: answer matching, win/tie/loss, retention, cost model."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bondkd.evaluate import metrics
from bondkd.quantities import answers_match, reference_answer

finite = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False).map(lambda x: round(x, 4))


@given(finite, st.sampled_from([1e-6, 1e-4]))
def test_numeric_match_within_tolerance(r: float, tol: float) -> None:
    ref = f"{r:.4f}"
    near = r + 0.5 * tol * max(1.0, abs(r))
    far = r + 3 * tol * max(1.0, abs(r))
    assume(not (near.is_integer() and r.is_integer()))  # integers must be equal instead
    assert answers_match(repr(near), ref, tol)
    assert not answers_match(repr(far), ref, tol)


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from([1e-6, 1e-4, 0.1]))
def test_integers_match_exactly_whatever_the_tolerance(n: int, tol: float) -> None:
    assert answers_match(f"{n:,}", str(n), tol)
    assert answers_match(f"{n}.00", f"#### {n}", tol)
    assert not answers_match(str(n + 1), str(n), tol)


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_boxed_and_gsm8k_forms_match(n: int) -> None:
    gsm8k_ref = f"So she has {n} left.\n#### {n}"
    for answer in (str(n), f"\\boxed{{{n}}}", f"The answer is {n}.", f"#### {n}", f"A: {n}"):
        assert answers_match(answer, gsm8k_ref), answer
        assert answers_match(answer, str(n)), answer
    assert not answers_match(str(n + 1), gsm8k_ref)


def test_match_edge_cases() -> None:
    assert answers_match("$1,234.00", "1234")
    assert answers_match("答案：42", "42")
    assert answers_match("\\boxed{\\frac{1}{2}}", "0.5")
    assert answers_match("\\boxed{\\text{Paris}}", "paris")
    assert answers_match("Paris", "Paris.")
    assert not answers_match("London", "Paris")
    assert not answers_match("no idea", "18")  # text never matches a numeric reference
    assert not answers_match(None, "18")
    assert not answers_match("   ", "18")
    assert reference_answer("work\n#### 1,000") == ("1,000", 1000.0)


pairs = st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60)


@given(pairs)
def test_win_tie_loss_laws(results: list[tuple[bool, bool]]) -> None:
    s, t = [a for a, _ in results], [b for _, b in results]
    o = metrics.win_tie_loss(s, t)
    n = len(results)
    assert o.win + o.tie + o.loss == n
    assert o.win - o.loss == sum(s) - sum(t)  # wins and losses are where they differ
    assert o.tie == sum(a == b for a, b in results)  # both right or both wrong
    if n:
        assert math.isclose(o.win_rate + o.tie_rate + o.loss_rate, 1.0)
    else:
        assert o.win_rate is None
    swapped = metrics.win_tie_loss(t, s)
    assert (swapped.win, swapped.tie, swapped.loss) == (o.loss, o.tie, o.win)


def test_win_tie_loss_needs_equal_lengths() -> None:
    with pytest.raises(ValueError):
        metrics.win_tie_loss([True], [])


@given(pairs)
def test_retention_is_the_accuracy_ratio(results: list[tuple[bool, bool]]) -> None:
    s, t = [a for a, _ in results], [b for _, b in results]
    got = metrics.retention(metrics.accuracy(s), metrics.accuracy(t))
    if not any(t):
        assert got is None
    else:
        assert math.isclose(got, sum(s) / sum(t))


money = st.floats(min_value=0, max_value=1e3, allow_nan=False)


@given(st.integers(min_value=0, max_value=10**8), money, money, money)
def test_cost_model_laws(calls: int, s: float, t: float, distill: float) -> None:
    c = metrics.cost_model(calls, s, t, distill)
    assert math.isclose(c.student_monthly, calls * s)
    assert math.isclose(c.monthly_saving, calls * t - calls * s, abs_tol=1e-6)
    assert math.isclose(c.annual_saving, 12 * c.monthly_saving)
    if c.monthly_saving > 0:
        assert math.isclose(c.break_even_months * c.monthly_saving, distill, abs_tol=1e-6)
    else:
        assert c.break_even_months is None


def test_cost_model_unknowns() -> None:
    c = metrics.cost_model(1000, None, 0.01, 50.0)
    assert c.student_monthly is None and c.teacher_monthly == 10.0
    assert c.monthly_saving is None and c.break_even_months is None
    c = metrics.cost_model(1000, 0.001, 0.011)  # no distillation cost: no break-even
    assert math.isclose(c.monthly_saving, 10.0) and c.break_even_months is None
    assert metrics.cost_model(1000, 0.001, 0.011, 25.0).break_even_months == pytest.approx(2.5)
    with pytest.raises(ValueError):
        metrics.cost_model(-1, 0.0, 0.0)


def test_median_skips_missing() -> None:
    assert metrics.median([3.0, None, 1.0, 2.0]) == 2.0
    assert metrics.median([None, None]) is None
    assert metrics.median([1.0, 4.0]) == 2.5
