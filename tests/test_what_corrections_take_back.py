"""What a correction takes back when it rejects no value of its own: a misreading of the
problem, an operation written in algebra, a value it says it wrote, a value claimed "also"
for another quantity; and what a check weighs a result against (a bound) rather than checks
(bondkd.molecule.content, bondkd.molecule.evidence, bondkd.molecule.links)."""

from __future__ import annotations

import pytest

from bondkd.molecule import content
from bondkd.molecule.bonds import behaviours
from bondkd.steps import lexicon
from tests.test_links import _mol, _target


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        (  # a misreading: the first step that used the given read again
            "A jacket costs 4 times as much as a shirt. Together they cost 36 dollars. What does "
            "the jacket cost?",
            ["Let the shirt cost s dollars, so the jacket costs s + 4.",
             "Together s + (s + 4) = 36, so 2s = 32 and s = 16.", "The jacket costs 20 dollars.",
             "Wait, I misread the problem: the jacket costs 4 times as much, not 4 more."],
            3, 0,
        ),
        (  # an operation taken back where no number shows it: the step writing it
            "一个长方形周长 30 厘米，长是宽的 2 倍，求面积。",
            ["设宽为 x 厘米，长为 2x 厘米。", "周长 = 长 + 宽 = 3x = 30，所以 x = 10。",
             "面积 = 10 × 20 = 200 平方厘米。", "不对，周长是长加宽的两倍，我只加了一次。"],
            3, 1,
        ),
        (  # "I wrote 1.2": the value it names as written is taken back
            "A car drives 120 km at 40 km/h, then 120 km at 80 km/h. What is its average speed?",
            ["Leg one takes 120 / 40 = 3 h.", "Leg two takes 120 / 80 = 1.2 h.",
             "Total 3 + 1.2 = 4.2 h, so the average is 240 / 4.2 ≈ 57.1 km/h.",
             "Found it: leg two is 1.5 h, I wrote 1.2."],
            3, 1,
        ),
        (  # a value claimed "also" for another quantity: that claim is what is taken back
            "10 件产品中有 2 件次品，不放回地抽两次，两次都是次品的概率是多少？",
            ["第一次抽到次品的概率是 2/10。",
             "第二次抽到次品的概率也是 2/10，所以两次都是次品的概率是 2/10 × 2/10 = 4/100。",
             "等一下，是不放回抽取。",
             "第一次抽走一个次品后剩 9 件，其中 1 件次品，所以第二次是 1/9，不是 2/10。"],
            3, 1,
        ),
    ],
)  # fmt: skip
def test_a_correction_without_a_value_of_its_own_takes_back_the_step_it_is_about(
    question, steps, j, target
):
    mol = _mol(question, steps)
    assert mol.doc.steps[j].kind == "correction"
    assert _target(mol, j) == target


def test_a_value_named_as_written_is_rejected_not_the_numerator_of_it():
    assert content.read("Found it: 120 / 80 is 1.5 h, I wrote 1.2.").rejected == {"1.2"}
    assert content.read("1 − 1/5 应该是 4/5，我写成了 3/5。").rejected == {"0.6"}
    assert content.read("所以第二次是 2/4，不是 3/5。").rejected == {"0.6"}


def test_a_bound_is_what_a_result_is_weighed_against():
    assert content.read("More time at 60 km/h should pull the average below 80.").bounds == {"80"}
    assert content.read("77 略小于 81，说得通。").bounds == {"81"}
    assert content.read("边长 9 的正方形面积 81，77 略小于 81。").bounds == frozenset()
    steps = ["Averaging the speeds: (40 + 80) / 2 = 60 km/h.", "Leg one takes 120 / 40 = 3 h.",
             "Leg two takes 120 / 80 = 0.5 h.", "Total time 3 + 0.5 = 3.5 h.",
             "Average speed = 240 / 3.5 ≈ 68.6 km/h.",
             "Hmm, that seems too high, since more time is spent at 40 km/h; it should be below 60."]  # fmt: skip
    mol = _mol("A car drives 120 km at 40 km/h, then 120 km at 80 km/h. Average speed?", steps)
    assert _target(mol, 5) == 4  # the result doubted, not the 60 it is held against


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("Hmm, averaging the speeds was the wrong move: the car spends longer on the slow leg.", True),
        ("不过题目说先开甲管 2 小时，我漏看了这个条件。", True),
        ("等一下，周长是长加宽的两倍，我只加了一次。", True),
        ("问题出在剩余量：1 − 1/5 应该是 4/5，我写成了 3/5。", True),
        ("把水池看成 30 份，甲每小时 3 份。", False),
        ("可以看成了解题的关键。", False),
        ("Choosing the wrong door loses the car.", False),
    ],
)  # fmt: skip
def test_owning_a_wrong_move_or_a_missed_condition(text, wrong):
    assert lexicon.says_wrong(text) is wrong


def test_a_verdict_arriving_at_the_checked_result_goes_on_with_that_check():
    steps = ["Ben has b stickers and Mia 3b, so 4b = 84 and b = 21; Mia has 63.",
             "After the gift they have the same number, so each has 84 / 2 = 42.",
             "Mia gives 63 − 42 = 21 stickers.",
             "Let me double-check from Ben's side: he goes from 21 to 42, a gain of 21.",
             "As one more check, use the gap: it is 63 − 21 = 42, and each sticker given shrinks it by 2.",
             "So 2x = 42 and x = 21, the same as before."]  # fmt: skip
    got = behaviours(steps)
    assert got[1] is None  # "they have the same number" is the problem's, no verdict
    assert got[4] == "reflection"  # "as one more check"
    mol = _mol("Mia has 3 times as many stickers as Ben; together 84. How many does Mia give "
               "Ben so they have the same number?", steps)  # fmt: skip
    assert _target(mol, 5) == 2


def test_a_slip_owned_after_a_dash_is_no_hedge():
    assert lexicon.says_wrong("So the remainder is 1, not 2 — I slipped there.")
    assert not lexicon.says_wrong("Hmm, 1, not 2, so maybe I slipped.")


def test_a_value_claimed_again_for_another_quantity_is_the_claim_taken_back():
    steps = ["The first ball is red with probability 6/10 = 3/5.",
             "Then the second is red with probability 6/10 again, so 3/5 × 3/5 = 9/25.",
             "Hmm, wait. Without replacement, 5 red balls are left among 9.",
             "So the second probability is 5/9, not 6/10."]  # fmt: skip
    mol = _mol("A bag has 6 red and 4 white balls; two are drawn without replacement. "
               "P(both red)?", steps)  # fmt: skip
    assert mol.doc.steps[3].kind == "correction" and _target(mol, 3) == 1


def test_what_a_check_names_is_where_it_was_claimed_not_planned():
    steps = ["Powers of 3 mod 5 probably cycle, so let me compute a few.",
             "3^1 = 3, 3^2 = 9 ≡ 4, 3^3 ≡ 12 ≡ 2, 3^4 ≡ 6 ≡ 1 mod 5.", "So the cycle length is 4.",
             "40 = 4 × 10, so 3^40 ≡ 1 mod 5.",
             "Let me also make sure the cycle is right: 3^5 = 243 = 240 + 3, so 3^5 ≡ 3 ✓."]  # fmt: skip
    assert _target(_mol("What is 3^40 mod 5?", steps), 4) == 2


def test_a_power_written_with_a_superscript_is_no_product():
    assert "3*10" not in content.read("½ × 10 × 3² = 45 米").exprs


@pytest.mark.parametrize(
    "text",
    [
        "That's about 5.9%, a bit less than 6.25%, which makes sense since one heart is gone.",
        "v² = 2 × 10 × 45 = 900，v = 30 m/s，和 21.2 对不上。",
        "问题在时间：½ × 10 = 5，所以 t² = 45 ÷ 5 = 9。",
    ],
)
def test_plausibility_and_mismatch_cues(text):
    assert behaviours(["The first leg takes 2 h.", text])[1] == "reflection"


def test_methods_agreeing_after_a_correction_are_about_the_work_it_redid():
    steps = ["h = ½gt², so 45 = ½ × 10 × t² and t² = 45 ÷ 10 = 4.5, t ≈ 2.12 s.",
             "v = gt = 10 × 2.12 = 21.2 m/s.", "等一下，我再用 v² = 2gh 验证一下速度。",
             "v² = 2 × 10 × 45 = 900，v = 30 m/s，和 21.2 对不上。",
             "问题在时间：½ × 10 = 5，所以 t² = 45 ÷ 5 = 9，t = 3 秒，之前我把 ½ 漏掉了。",
             "那么 v = gt = 10 × 3 = 30 m/s。", "这次两种算法结果一致。",
             "再检查时间：t = 3 秒时下落 ½ × 10 × 3² = 45 米，正好是题目给的高度。"]  # fmt: skip
    mol = _mol("小球从 45 米高处自由落下，g 取 10 m/s²，落地时间和速度？", steps)
    assert _target(mol, 6) == 5  # the redone v = 30, not the first v = 21.2
    assert _target(mol, 7) == 4  # "t = 3 秒时": the time the correction found


def test_a_second_method_closing_on_the_same_result_is_about_the_first():
    steps = ["设今年儿子 x 岁，父亲 4x 岁。", "5 年后：4x + 5 = 3(x + 5)，即 4x + 5 = 3x + 15，x = 10。",
             "验证：10 岁和 40 岁，5 年后 15 岁和 45 岁，45 ÷ 15 = 3 ✓。",
             "也可以用年龄差来想：今年差 3 倍的儿子年龄，5 年后差 2 倍的儿子年龄。",
             "所以 3x = 2(x + 5)，x = 10，结果相同。"]  # fmt: skip
    mol = _mol("今年父亲的年龄是儿子的 4 倍，5 年后是 3 倍。今年儿子几岁？", steps)
    assert _target(mol, 4) == 1
    whole = ["百位有 3 种，十位 3 种，个位 2 种，共 3 × 3 × 2 = 18 个。",
             "换个角度验证：全部排列 24 个，减去百位是 0 的 6 个，24 − 6 = 18，结果一致。"]  # fmt: skip
    assert _target(_mol("用 0、1、2、3 组成没有重复数字的三位数，有几个？", whole), 1) == 0


def test_a_second_method_opened_to_check_is_about_what_its_comparison_names():
    steps = ["能被 2 整除的有 100 ÷ 2 = 50 个。", "能被 3 整除的有 100 ÷ 3 = 33 个（取整）。",
             "6 的倍数有 100 ÷ 6 = 16 个，被算了两次。", "所以是 50 + 33 − 16 = 67 个。",
             "换个方法验证：不能被 2 也不能被 3 整除的数，每 6 个数里有 2 个（1 和 5）。",
             "1 到 96 有 16 组，共 32 个；97 到 100 中只有 97 符合，所以共 33 个。",
             "100 − 33 = 67，和前面的结果一样。"]  # fmt: skip
    mol = _mol("1 到 100 中，能被 2 或 3 整除的数有多少个？", steps)
    assert _target(mol, 6) == 3
    assert _target(mol, 4) == 3  # not step 1, whose 33 the second method meets on the way


def test_tracing_a_loop_once_more_is_a_check():
    steps = ["i = 1, 4, 7 give squares 1, 16, 49, so the total is 66.",
             "Let me trace the loop once more: i = 1 gives 1, i = 4 gives 17, i = 7 gives 66."]  # fmt: skip
    assert behaviours(steps)[1] == "reflection"


def test_redone_work_after_a_value_rejected_checks_nothing():
    steps = ["(x + y)² = x² + 2xy + y², so 400 = 208 + 2xy and 2xy = 182.", "Then xy = 91.",
             "Check: the roots of t² − 20t + 91 = 0 are 13 and 7, but 169 + 49 = 218, not 208.",
             "Going back: 400 − 208 = 192, not 182.", "So 2xy = 192 and xy = 96.",
             "Redo the roots: t² − 20t + 96 = 0, discriminant 400 − 384 = 16, t = 12 or 8."]  # fmt: skip
    mol = _mol("x + y = 20 and x² + y² = 208. What is xy?", steps)
    assert mol.doc.steps[3].kind == "correction"
    assert mol.doc.steps[5].role != "reflection"  # the roots redone after the correction


def test_a_count_confirmed_mid_sentence_is_a_verdict():
    steps = [
        "至少两枚正面的结果有 4 种，概率是 4/8 = 1/2。",
        "至少两个正面的有前 4 种，确实是 4 种，4/8 = 1/2。",
    ]
    assert behaviours(steps)[1] == "reflection"
    assert (
        behaviours(["丙说“乙在说谎”。", "乙说“丙在说谎”，丙确实在说谎，所以乙说的是真话。"])[1]
        is None
    )


def test_an_equation_derived_again_word_for_word_re_runs_its_first_derivation():
    steps = ["给定的等式是：", "a^2 * b + 1/(a - b) = 4b", "由于 a > 0，我们得到 a = 2。",
             "我们可以将 a = 2 代入原始等式中：", "(2)^2 * b + 1/(2 - b) = 4b", "4b + 1/(2 - b) = 4b",
             "但是，这是不可能的。", "让我们回到原始等式并重新审视它：", "a^2 * b + 1/(a - b) = 4b",
             "我们将 a = 2 代入：", "(2)^2 * b + 1/(2 - b) = 4b"]  # fmt: skip
    mol = _mol("已知实数 a>b>0，且满足 a^2 b + 1/(a-b) = 4b，则 a+2b=", steps)
    assert _target(mol, 10) == 4  # the substitution derived again
    assert mol.doc.steps[8].role != "reflection"  # the starting equation restated


def test_a_factorial_taken_back_is_the_calculation_not_its_number():
    assert content.read("(4 − 1)! = 6, not 4! = 24.").rejected_forms == {"4!=24"}
    steps = ["Circular arrangements of 5 people: (5 − 1)! = 24.", "Glue Ann and Bob: 4 units.",
             "4 units can be arranged in 4! = 24 ways, so 24 × 2 = 48 with them together.",
             "But 24 − 48 is negative, which is impossible.",
             "I forgot the circle: 4 units around a table give (4 − 1)! = 6, not 4! = 24."]  # fmt: skip
    mol = _mol("5 people at a round table; Ann and Bob apart. How many ways?", steps)
    assert mol.doc.steps[3].role == "reflection"  # "which is impossible"
    assert _target(mol, 4) == 2


def test_a_given_written_again_in_other_units_takes_back_its_calculation():
    steps = ["Volume = 2 × 50 × 40 = 4000.", "So the tank holds 4000 litres.",
             "Wait, I mixed metres and centimetres: 2 m is 200 cm."]  # fmt: skip
    mol = _mol("A tank is 2 m long, 50 cm wide and 40 cm deep. How many litres?", steps)
    assert mol.doc.steps[2].kind == "correction" and _target(mol, 2) == 0


def test_trial_cases_settled_with_check_marks_are_alternatives():
    steps = ["所以最后是甲，乙和丙是第一、第二。", "先试乙第一、丙第二：甲第三，甲不是第一 ✓，乙不是最后 ✓。",
             "再试丙第一、乙第二：甲第三，同样三句话都成立。"]  # fmt: skip
    assert behaviours(steps)[1:] == ["exploration", "exploration"]
