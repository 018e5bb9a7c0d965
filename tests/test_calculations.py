"""Arithmetic claims written in plain text (bondkd.quantities.plain via `calculations`):
each form is read in EN and ZH, a wrong value is a mismatch, ambiguous text is skipped,
and reading is linear in the length of the text."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bondkd import quantities as Q
from bondkd.config import AnalyzeConfig
from bondkd.pipeline import analyze
from bondkd.quantities import plain


def mismatches(text):
    """(expr, claimed, right) of each claim whose value is not what its expression gives."""
    out = []
    for a in Q.calculations(text):
        truth = Q.evaluate(a.expr)
        if a.value is not None and truth is not None and not Q.same_value(a.value, truth):
            out.append((a.expr, a.value, truth))
    return out


def checked(text):
    return [(a.expr, a.value) for a in Q.calculations(text)]


# Each form twice: right (read, no mismatch) and wrong (a mismatch).
FORMS = [
    ("23 × 18 = 414 apples.", "23 × 18 = 424 apples."),
    ("So 5 * 3 is 15.", "So 5 * 3 is 16."),
    ("She pays 3 x 4 = 12 dollars.", "She pays 3 x 4 = 13 dollars."),
    ("3 + 4 = 5 + 2 = 7", "3 + 4 = 5 + 2 = 8"),
    ("Each gets 12/4 = 3.", "Each gets 12/4 = 4."),
    ("15% of 240 = 36", "15% of 240 = 38"),
    ("240 × 15% = 36", "240 × 15% = 360"),
    ("3/4 of 20 is 15", "3/4 of 20 is 16"),
    (r"$\frac{3}{4} \times 20 = 15$", r"$\frac{3}{4} \times 20 = 12$"),
    (r"\(3 \cdot 4 = 12\)", r"\(3 \cdot 4 = 14\)"),
    (r"$2^{10} = 1024$", r"$2^{10} = 1000$"),
    ("$3.50 × 4 = $14", "$3.50 × 4 = $15"),
    ("1,200 × 3 = 3,600", "1,200 × 3 = 3,900"),
    ("**6 × 7 = 42**", "**6 × 7 = 48**"),
    ("12 乘以 3 等于 36", "12 乘以 3 等于 39"),
    ("12除以4得3", "12除以4得4"),
    ("35 加上 7 等于 42", "35 加上 7 等于 41"),
    ("50 减去 8 是 42", "50 减去 8 是 43"),
    ("所以 3×4=12（个）。", "所以 3×4=13（个）。"),
    ("48÷6=8", "48÷6=9"),
    ("240 的 15% 是 36", "240 的 15% 是 30"),
    ("20的四分之三是15", "20的四分之三是16"),
    ("350 × 0.8 = 280 元", "350 × 0.8 = 270 元"),
    ("The discount is 15% of 240, which is 36 dollars.", "15% of 240, which is 32 dollars."),
    ("折后价是 350×0.8，即 280 元。", "折后价是 350×0.8，即 270 元。"),
    ("Hmm, 7.20 + 1.15 should be 8.35.", "Hmm, 7.20 + 1.15 should be 8.45."),
    ("87 − 29 应该是 58 元。", "87 − 29 应该是 68 元。"),
    ("Therefore, 12 times 167 is 2004.", "Therefore, 12 times 167 is 2014."),
    ("6 multiplied by 7 is 42", "6 multiplied by 7 is 48"),
    ("2004 divided by 12 equals 167.", "2004 divided by 12 equals 176."),
    ("3 plus 4 is 7 and 10 minus 3 is 7", "3 plus 4 is 7 and 10 minus 3 is 6"),
]


@pytest.mark.parametrize(("right", "wrong"), FORMS)
def test_each_form_is_read_and_a_wrong_value_is_a_mismatch(right, wrong):
    assert checked(right), right
    assert mismatches(right) == []
    assert len(mismatches(wrong)) == 1, wrong


def test_the_right_value_is_what_the_expression_gives():
    ((_, claimed, truth),) = mismatches("Wait: 1.20 / 3 = 0.50 per apple.")
    assert (claimed, truth) == (0.5, pytest.approx(0.4))
    # a chain checks each link: 3 + 4 = 5 + 2 holds, 5 + 2 = 8 does not
    assert mismatches("3 + 4 = 5 + 2 = 8") == [("5 + 2", 8, 7)]
    # the reverse form states the value first
    assert mismatches("The area is 36 = 4 × 8.") == [("4 * 8", 36, 32)]


@pytest.mark.parametrize(
    "text",
    [
        "2x + 3 = 7, so x = 2",  # equation in unknowns
        "x + 3 = 7",
        "a - 3 + 1 = 5",
        "AB + 2 = 3 + 2 = 5",  # the tail of an expression with names
        "f(2) = 5",
        r"\sqrt{16} = 4",
        "S_5(3) = 1 - 3 = -2",
        "f''(1) = 1 + 2 = 3",
        "2 h = 120 min",  # a change of unit: no side has an operator
        "1 km = 1000 m",
        "5 m × 3 = 15",  # a unit inside the arithmetic
        "10/3 = 3.33",  # rounded to the places written
        "10/3 ≈ 3.3",
        "10/3 is about 3.3",
        "1/3 = 0.333...",
        "She can fill 60 / 9 = 6 boxes.",  # a whole number of things
        "100% / 33.33% = 3 times as long",  # rounded operands
        "3 × 4 is not 13",  # denied
        "3 × 4 = 13 is wrong",
        "Suppose 3 × 4 = 13.",
        "3×4=13 是错的",
        "3×4不等于13",
        "7 * 3 = 1 mod 5",  # a congruence
        "Working modulo 7, the equation becomes 2 · 3 + 5 = 7.",
        "24 ÷ 7 = 3 with a remainder of 3",  # whole-number division
        "25 ÷ 7 = 3 余 4",
        "3 × 4 = 12 + 2 = 14",  # a running total
        "3182 - 319 + 1 = 3182 - 319 = 2863; 2863 + 1 = 2864.",
        "5 × 3 is 15 more than Tom",  # a comparison, not a value
        "She has 3 times as many as Tom, which is 12.",  # "times" with no second operand
        "I tried 5 times, which is 10 minutes",
        "12 is 3 times 4",  # "is" states the value of the side with the arithmetic
        "I bought 3 × 4 boxes, which is 13 more than Tom.",
        "= 12x",
        "3² = 9",
        "5! = 120",
        "- \\(2^2 = 4\\) - \\(2^3 = 8\\)",
        "36 / 240 × 100 = 15%",  # a percent written as its number
        "a^2 - 4 = 0",  # a power of a name is no power operator to drop
        "r^2 = (-1)^2 + (2)^2, so r^2 = 1 + 4",
        "K^2=100*(33*8-37*22)^2/((33+37)*(22+8))=0.003",
        "$$ AD^2 + CD^2 = 8^2 $$",
        "概率分别为1-0.5，1-0.4，1-0.8，即0.5，0.6，0.2。",  # 即 restates a list
    ],
)
def test_ambiguous_claims_are_skipped(text):
    assert mismatches(text) == []


@pytest.mark.parametrize(
    "text",
    ["80 + 64 + 40 = 184，没错。", "合计 80 + 64 + 40 = 184，不错。", "没有错，3 × 4 = 12。"],
)
def test_a_verdict_that_nothing_is_wrong_denies_no_claim(text):
    # "没错" (right) holds 错 (wrong); the claim is still read and checked
    assert len(checked(text)) == 1
    assert mismatches(text.replace("184", "194").replace("12", "13")) != []


def test_an_annotation_is_not_read_again_as_plain_text():
    text = "Natalia sold 48/2 = <<48/2=24>>24 clips in May."
    (a,) = Q.calculations(text)
    assert (a.expr, a.value, a.stated) == ("48/2", 24, 24)
    assert text[a.start : a.start + 2] == "<<"


def test_claims_come_in_order_with_spans_in_the_original_text():
    text = "First 3 × 4 = 12; then ４８÷６＝８ and 15% of 240 is 36."
    found = Q.calculations(text)
    assert [a.value for a in found] == [12, 8, 36]
    assert [a.start for a in found] == sorted(a.start for a in found)
    assert text[found[1].start : found[1].end] == "４８÷６＝８"


# Products below a million: `same_value` compares with a relative tolerance of 1e-6.
@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=999),
    st.integers(min_value=0, max_value=999),
    st.sampled_from(["×", "*", "x", "\\times", "\\cdot", "乘以"]),
    st.sampled_from(["=", " is ", "等于"]),
)
def test_a_product_claim_is_a_mismatch_exactly_when_it_is_wrong(a, b, op, eq):
    right = f"{a} {op} {b}{eq}{a * b}"
    wrong = f"{a} {op} {b}{eq}{a * b + 1}"
    assert mismatches(right) == []
    assert [m[1] for m in mismatches(wrong)] == [a * b + 1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-999, max_value=999), min_size=2, max_size=6))
def test_a_sum_chain_checks_its_last_link(terms):
    expr = " + ".join(str(t) for t in terms).replace("+ -", "- ")
    total = sum(terms)
    assert mismatches(f"We add: {expr} = {total}.") == []
    assert len(mismatches(f"We add: {expr} = {total + 2}.")) == 1


_HOSTILE = [
    "1 = " * 8000,
    "1 + " * 8000 + "= 2",
    "(" * 20000 + "1 = 2",
    "\\frac{1}{" * 5000,
    "\\frac{1}{2} " * 4000 + "= 1",
    "15% of " * 6000 + "= 3",
    "的" * 20000 + "15%",
    "八折" * 10000,
    "8.5" * 10000 + "折",
    "x " * 15000 + "= 3",
    "3 x " * 8000 + "= 4",
    "- " * 15000 + "3 = 3",
    "1." * 15000,
    "1,000," * 5000,
    "is " * 10000 + "1",
    "$" * 30000 + "1 = 1",
    "**" * 15000 + "3 = 3",
    "mod " * 8000 + "3 * 4 = 1",
    "not " * 8000 + "3 * 4 = 1",
    "3 × 4 = 12, " * 3000,
    "十二乘以三等于三十六。" * 2000,
    "3 times " * 6000 + "is 5",
    "6 multiplied by " * 4000 + "2 is 1",
    "g/mol " * 6000,
]


@pytest.mark.parametrize("text", _HOSTILE, ids=range(len(_HOSTILE)))
def test_long_adversarial_inputs_are_read_in_linear_time(text):
    # A hang guard: at this size a quadratic scan takes tens of seconds; linear reading
    # takes well under a second even on a loaded machine.
    start = time.perf_counter()
    Q.calculations(text)
    plain.plain_claims(text + "x")
    assert time.perf_counter() - start < 5.0


def test_a_wrong_plain_multiplication_carried_to_the_answer_costs_stability():
    cfg = AnalyzeConfig(backend="lexical")
    q = "A box holds 23 rows of 18 eggs. How many eggs are in 2 boxes?"
    good = ["One box holds 23 × 18 = 414 eggs.", "Two boxes hold 414 × 2 = 828 eggs."]
    bad = ["One box holds 23 × 18 = 424 eggs.", "Two boxes hold 424 × 2 = 848 eggs."]
    clean = analyze({"question": q, "steps": good, "answer": "828"}, cfg)
    wrong = analyze({"question": q, "steps": bad, "answer": "848"}, cfg)
    assert [c.kind for c in wrong.conflicts] == ["calc_mismatch"]
    assert clean.conflicts == [] and wrong.stability < clean.stability


def test_a_fraction_written_without_blanks_binds_first():
    from bondkd.quantities import evaluate
    from bondkd.quantities.plain import plain_claims

    got = plain_claims("所以注满需要 1 ÷ 5/18 = 18/5 = 3.6 小时。")
    assert [round(evaluate(a.expr), 9) for a in got] == [3.6, 3.6]  # not (1 ÷ 5) / 18
    assert [evaluate(a.expr) for a in plain_claims("12 / 4 / 3 = 1")] == [1.0]
