"""Which earlier step a correction takes back, and which step a check of a corrected or
substituted value is about (bondkd.molecule.links, bondkd.molecule.evidence)."""

from __future__ import annotations

import pytest

from bondkd.molecule import content
from tests.test_links import _mol, _target


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        (  # no value named: the recent step it is about, not the product after it
            "袋中有 3 个红球和 2 个白球，不放回地摸两次。两次都是红球的概率是多少？",
            ["第一次摸到红球的概率是 3/5。", "第二次还是红球的概率也是 3/5。",
             "所以两次都是红球的概率是 3/5 × 3/5 = 9/25。",
             "不对，不放回的话，第二次时袋里只剩 2 个红球和 2 个白球，概率应该是 2/4 = 1/2。",
             "两次都是红球的概率是 3/5 × 1/2 = 3/10。"],
            3,
            1,
        ),
        (
            "The sum of two consecutive even numbers is 86. What are they?",
            ["Let the smaller number be n, so the larger is n + 1.",
             "Then n + (n + 1) = 86, so 2n = 85.",
             "Actually, consecutive even numbers differ by 2, so the larger is n + 2.",
             "Then n + (n + 2) = 86, so 2n = 84 and n = 42."],
            2,
            0,
        ),
        (  # a "Wait" that drops the claim's result: the calculation it redoes with another
            # operand, not the step that found the operand it now uses
            "一本书 240 页，第一天看了全书的 1/4，第二天看了剩下的 1/3，还剩多少页？",
            ["第一天看了 240 × 1/4 = 60 页。", "剩下 240 − 60 = 180 页。", "第二天看了 240 × 1/3 = 80 页。",
             "等一下，第二天看的是剩下的 1/3，应该是 180 × 1/3 = 60 页。", "还剩 180 − 60 = 120 页。"],
            3,
            2,
        ),
        (  # a given rejected ("not of the original 20,000") that the step before computed with
            "A car's value drops 15% each year from $20,000. What is it worth after 2 years?",
            ["After one year it keeps 85%, so 20,000 × 0.85 = 17,000.",
             "15% of 20,000 is 3,000, so 17,000 − 3,000 = 14,000.",
             "Hmm, wait. The second drop should be 15% of the new value, 17,000, not of the original 20,000.",
             "15% of 17,000 is 2,550, so 17,000 − 2,550 = 14,450."],
            2,
            1,
        ),
        (  # "两个速度" writes a 2 (the hours of step 1): too weak to pass over the claim
            "以每小时 4 千米从甲地走到乙地用了 3 小时，返回每小时 6 千米，往返平均速度是多少？",
            ["两地距离是 4 × 3 = 12 千米。", "返回用时 12 ÷ 6 = 2 小时。", "平均速度是 (4 + 6) ÷ 2 = 5 千米/时。",
             "等等，平均速度应该用总路程除以总时间，不能直接平均两个速度。"],
            3,
            2,
        ),
        (  # a count rounded up corrects the claim of the fraction, not the division
            "Sam reads 24 pages a day. How many days does he need for a 300-page book?",
            ["300 / 24 = 12.5.", "So Sam needs 12.5 days.",
             "Actually, he finishes partway through the 13th day, so it takes 13 days to finish."],
            2,
            1,
        ),
        (  # "should be" claims another value for the same calculation: it redoes it
            "Lena buys 3 notebooks at $2.40 and a pen for $1.15. How much does she spend?",
            ["The notebooks cost 3 × 2.40 = 7.20 dollars.", "With the pen: 7.20 + 1.15 = 8.25 dollars.",
             "Change: 10 − 8.25 = 1.75 dollars.",
             "Hmm, 7.20 + 1.15 should be 8.35, since 20 + 15 cents is 35 cents."],
            3,
            1,
        ),
        (  # 哦，: a second look that drops the claim's results
            "一个长方形周长 36 厘米，长是宽的 2 倍，面积是多少？",
            ["长加宽是 36 ÷ 2 = 18 厘米。", "宽是 18 ÷ 2 = 9 厘米，长是 18 厘米。",
             "哦，长是宽的 2 倍，长加宽是 3 份，所以宽是 18 ÷ 3 = 6 厘米，长是 12 厘米。",
             "面积是 12 × 6 = 72 平方厘米。"],
            2,
            1,
        ),
    ],
)  # fmt: skip
def test_a_correction_naming_no_value_corrects_the_step_it_is_about(question, steps, j, target):
    mol = _mol(question, steps)
    assert mol.steps[j].kind == "correction" and _target(mol, j) == target
    assert mol.steps[target].superseded_by == j


@pytest.mark.parametrize(
    ("question", "steps"),
    [
        (
            "进水管 6 小时注满水池，出水管 8 小时放完。两管同时开，几小时注满？",
            ["进水管每小时注入 1/6。", "出水管每小时放出 1/8。", "两管同时开，每小时净注入 1/6 + 1/8。",
             "1/6 + 1/8 = 4/24 + 3/24 = 7/24。", "所以注满需要 1 ÷ 7/24 = 24/7 小时。",
             "等等，出水管是放水的，应该减去，不是加上。"],
        ),
        (
            "A tank fills in 6 hours and drains in 8. With both open, how long to fill it?",
            ["The inlet adds 1/6 of the tank per hour.", "The drain removes 1/8 per hour.",
             "Together per hour: 1/6 + 1/8.", "1/6 + 1/8 = 4/24 + 3/24 = 7/24.",
             "So it fills in 24/7 hours.", "Hmm, the drain's rate should be subtracted, not added."],
        ),
    ],
)  # fmt: skip
def test_a_rejected_operation_corrects_the_step_that_first_wrote_it(question, steps):
    mol = _mol(question, steps)
    assert mol.steps[5].kind == "correction" and _target(mol, 5) == 2


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        (  # the sum it owns, not the division of the claim just made
            "A room is 5 m by 4 m and 2.5 m high. How much paint for the four walls at 10 m² a litre?",
            ["Two walls are 5 m wide: each 5 × 2.5 = 12.5 m².", "Two walls are 4 m wide: each 4 × 2.5 = 10 m².",
             "Total wall area: 12.5 + 10 = 22.5 m².", "Paint needed: 22.5 / 10 = 2.25 litres.",
             "Hmm, wait. I only added one wall of each size; there are two of each."],
            4, 2,
        ),
        (  # not the check that found the result wrong, though it adds too
            "A number doubled and then increased by 7 gives 31. What is the number?",
            ["Let the number be n.", "2n + 7 = 31.", "2n = 31 + 7 = 38, so n = 19.",
             "Hmm, plugging back: 2 × 19 + 7 = 45, not 31.",
             "I added 7 instead of subtracting it: 2n = 31 − 7 = 24."],
            4, 2,
        ),
    ],
)  # fmt: skip
def test_an_operation_owned_as_the_slip_corrects_the_step_that_did_it(question, steps, j, target):
    mol = _mol(question, steps)
    assert mol.steps[j].kind == "correction" and _target(mol, j) == target


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        (  # the 13 starts the wrong calculation; it was right where it was computed
            "一支钢笔 18 元，笔记本比钢笔便宜 5 元。买 3 支钢笔和 4 本笔记本一共多少元？",
            ["笔记本每本 18 − 5 = 13 元。", "3 支钢笔是 3 × 18 = 54 元。", "4 本笔记本是 4 × 13 = 42 元。",
             "一共 54 + 42 = 96 元。", "等一下，4 × 13 算错了，应该是 52 元。"],
            4,
            2,
        ),
        (  # no value named, but 28.20 is 27.20 with one digit put right
            "Notebooks cost $2.35 each. Mia buys 12 and pays with $50. How much change?",
            ["12 notebooks cost 12 × 2.35.", "12 × 2.35 = 27.20.", "So her change is 50 − 27.20 = 22.80.",
             "Hold on, 10 × 2.35 = 23.50 and 2 × 2.35 = 4.70, which makes 28.20, so I was a dollar off."],
            3,
            1,
        ),
        (  # 83 puts right the 73 of the step just before, not the 29 it adds again
            "Sara reads 18 pages, twice as many, then 7 fewer. How many in total?",
            ["Monday: 18 pages.", "Tuesday: twice Monday, so 36 pages.",
             "Wednesday: 7 fewer than Tuesday, 36 − 7 = 29 pages.", "Total: 18 + 36 + 29 = 73 pages.",
             "Hmm wait, 18 + 36 = 54, and 54 + 29 = 83, so the total is 83, I mis-added."],
            4,
            3,
        ),
        (  # the same numbers under another operator
            "进水管每小时进水 12 吨，出水管每小时出水 8 吨，几小时注满 60 吨的空池？",
            ["每小时净进水 12 + 8 = 20 吨。", "所以 60 ÷ 20 = 3 小时注满。",
             "嗯，不对，出水管是往外放水，应该是 12 − 8 = 4 吨。"],
            2,
            0,
        ),
        (  # 8.50 dollars were computed first; the 8.5 texts came from the division redone
            "A plan costs $15 plus $0.10 per text. The bill was $23.50. How many texts?",
            ["The texts cost 23.50 − 15 = 8.50 dollars.", "At $0.10 each, that's 8.50 / 0.10 = 8.5 texts.",
             "Hmm, 8.50 / 0.10 is 85, not 8.5: dividing by 0.10 multiplies by 10."],
            2,
            1,
        ),
        (  # a rejected word: the latest step that wrote it
            "A pump fills 1,500 litres at 25 litres per minute. How many hours?",
            ["Time = 1500 / 25 = 60 minutes.", "So it takes 60 hours.",
             "No, that's minutes, not hours: 60 minutes is 1 hour."],
            2,
            1,
        ),
        (  # a rejected given: the calculation two steps back that computed with it
            "A 1500 W kettle runs for 4 minutes. How much energy does it use?",
            ["Energy = power × time = 1500 × 4 = 6000 J.", "That's 6 kJ.",
             "Wait, the time has to be in seconds: 4 minutes is 240 s, not 4.",
             "So the energy is 1500 × 240 = 360,000 J."],
            2,
            0,
        ),
        (  # 25.5 is one digit from both 24.5 and 26.5: the step whose "3 × 8.5" it writes
            # again, where "3 × 8 = 24" is computed, not 24.5 rounded
            "妈妈买了 3 千克苹果，每千克 8.5 元，付了 50 元，应找回多少钱？",
            ["苹果一共 3 × 8.5 = 24.5 元。", "应找回 50 − 24.5 = 26.5 元。",
             "嗯，我再算一下 3 × 8.5：3 × 8 = 24，3 × 0.5 = 1.5，合起来 25.5 元，刚才算错了。",
             "所以应找回 50 − 25.5 = 24.5 元。"],
            2,
            0,
        ),
        (  # the sum of squares was right; the claim that took it for the side was not
            "A right triangle has legs 9 and 12. How long is the hypotenuse?",
            ["9² + 12² = 81 + 144 = 225.", "So the hypotenuse is 225.",
             "Oh wait, I forgot to take the square root: √225 = 15.", "The hypotenuse is 15."],
            2,
            1,
        ),
        (  # counted twice: the total that took it twice, not the list naming 15 first
            "从 1 到 20 中随机取一个整数，它是 3 的倍数或 5 的倍数的概率是多少？",
            ["3 的倍数有 3, 6, 9, 12, 15, 18，共 6 个。", "5 的倍数有 5, 10, 15, 20，共 4 个。",
             "所以共有 6 + 4 = 10 个，概率是 10/20 = 1/2。", "等一下，15 既是 3 的倍数又是 5 的倍数，被算了两次。",
             "所以应该是 6 + 4 − 1 = 9 个，概率是 9/20。"],
            3,
            2,
        ),
        (
            "How many diagonals does a hexagon have?",
            ["Each vertex joins 3 non-adjacent vertices.", "So there are 6 × 3 = 18 diagonals.",
             "Wait, each diagonal is counted twice, once from each end.", "So there are 18 / 2 = 9."],
            2,
            1,
        ),
        (  # "not 1/2" rejects the half the claim just made computed again, not the 1
            "From a deck of 10 cards numbered 1–10, two are drawn without replacement. What is the"
            " probability both are even?",
            ["P(first even) = 5/10 = 1/2.", "P(second even) = 5/10 = 1/2, so both even: 1/4.",
             "After taking an even card, 4 evens remain among 9 cards, so the second is 4/9, not 1/2."],
            2,
            1,
        ),
        (  # the same numbers in the other order; "I mixed up" owns the slip
            "A game pays $10 with probability 0.3. It costs $4 to play. What is the expected profit?",
            ["Expected winnings: 0.3 × 10 = $3.", "Profit: 4 − 3 = $1.",
             "Wait, I mixed up the order: profit is winnings minus cost, 3 − 4 = −$1."],
            2,
            1,
        ),
    ],
)  # fmt: skip
def test_a_correction_takes_back_the_calculation_it_redoes(question, steps, j, target):
    mol = _mol(question, steps)
    assert mol.steps[j].kind == "correction" and _target(mol, j) == target


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        (
            "A rectangle has perimeter 54 cm and its length is twice its width. Find its area.",
            ["Let the width be w, so the length is 2w.", "The perimeter is 2(w + 2w) = 6w.",
             "Setting 6w = 54 gives w = 9 cm.", "Then the length is 2 × 9 = 18 cm.",
             "The area is 18 × 9 = 162 cm².", "Before finishing, let me recheck the width: 6 × 9 = 54, good."],
            5,
            2,
        ),
        (
            "一个圆的周长是 31.4 厘米，π 取 3.14，它的面积是多少平方厘米？",
            ["半径 r = 31.4 ÷ (2 × 3.14) = 31.4 ÷ 6.28 = 5 厘米。", "面积 S = 3.14 × 5² = 3.14 × 25 = 78.5 平方厘米。",
             "验证半径：2 × 3.14 × 5 = 31.4，和周长一致。"],
            2,
            0,
        ),
        (  # 13 computed twice ("梨 13 元", then the change): the check adds the change back
            "王阿姨买了 3 千克苹果和 2 千克梨，苹果每千克 8 元，梨每千克 6.5 元，她付了 50 元，应找回多少元？",
            ["苹果共 3 × 8 = 24 元。", "梨共 2 × 6.5 = 13 元。", "一共花了 24 + 13 = 37 元。",
             "应找回 50 − 37 = 13 元。", "验算：37 + 13 = 50 元，正好是付的钱。"],
            4,
            3,
        ),
        (  # back to a constant the question's words license (a triangle's 180°)
            "The angles of a triangle are x, 2x and 3x degrees. What is the largest angle?",
            ["x + 2x + 3x = 180, so 6x = 180 and x = 30.", "The largest angle is 3x = 90 degrees.",
             "Wait, let me double-check: 30 + 60 + 90 = 180. Yes."],
            2,
            1,
        ),
        (  # units between the numbers: still a calculation back to the given 54 g
            "What is the molar mass of water (H = 1, O = 16), and how many moles are in 54 g?",
            ["H₂O has 2 × 1 + 16 = 18 g/mol.", "Moles: 54 / 18 = 3 mol.",
             "Check: 3 mol × 18 g/mol = 54 g ✓."],
            2,
            1,
        ),
    ],
)  # fmt: skip
def test_a_calculation_back_to_a_given_tests_the_value_it_substitutes(question, steps, j, target):
    # The single digit it starts from (w = 9, r = 5) names the step, not the claim just made.
    assert _target(_mol(question, steps), j) == target


def test_a_rejected_given_corrects_only_the_step_that_just_computed_with_it():
    steps = ["The rise is 50 − 40 = 10 dollars.", "As a percent, 10 / 50 = 20%.",
             "Wait, the percent change is relative to the original price, which is 40, not 50."]  # fmt: skip
    mol = _mol("A price rises from $40 to $50. By what percent did it rise?", steps)
    assert mol.steps[2].kind == "correction" and _target(mol, 2) == 1
    # the given was used rightly before; the check confirms the base the last steps used
    steps = ["The discount is 25% of $80, which is $20.", "So the discounted price is 80 − 20 = $60.",
             "The tax is 10% of $60, which is $6.", "The final price is 60 + 6 = $66.",
             "Let me make sure: the tax is added to the discounted price, so $60, not $80, is right."]  # fmt: skip
    mol = _mol("A jacket costs $80, is discounted 25%, then taxed 10%. Final price?", steps)
    assert mol.steps[4].role == "reflection" and mol.steps[4].kind == "check"


def test_a_vague_check_of_a_restated_claim_points_where_it_was_first_made():
    steps = ["Each hex digit is 4 bits, so 5 digits give 5 × 4 = 20 bits.",
             "In decimal the number is 419,430.", "That lies between 2^18 and 2^19.",
             "So, converting digit by digit, we have 20 bits.", "Hmm, is that right?"]  # fmt: skip
    assert _target(_mol("How many bits does 66666 in base 16 need?", steps), 4) == 0


def test_a_check_after_a_correction_that_computes_checks_the_correction():
    steps = ["打九折就是原价的 90%。", "原价 = 270 × 0.9 = 243 元。",
             "不对，已知现价求原价应该用除法：270 ÷ 0.9 = 300 元。", "验算：300 × 0.9 = 270 元，对了。"]  # fmt: skip
    assert _target(_mol("一件商品打九折后是 270 元，原价是多少元？", steps), 3) == 2


def test_a_wait_that_finds_another_result_and_drops_the_old_one_corrects():
    q = "用 1、2、3 三个数字可以组成多少个没有重复数字的两位数？"
    steps = ["十位有 3 种选法，个位也有 3 种选法，共 3 × 3 = 9 个。",
             "等一下，数字不能重复，个位只能从剩下的 2 个里选，所以是 3 × 2 = 6 个。",
             "答：可以组成 6 个。"]  # fmt: skip
    mol = _mol(q, steps)
    assert mol.steps[1].kind == "correction" and mol.steps[0].superseded_by == 1
    # the claim is written again after the check: the check confirmed it
    steps = ["The walkers are 0.35 × 480 = 168.", "The rest are 480 − 168 = 312.",
             "Wait, 10% of 480 is 48, so 35% is 3.5 × 48 = 168.", "So 312 are driven."]  # fmt: skip
    mol = _mol("480 students, 35% walk. How many are driven?", steps)
    assert mol.steps[2].kind == "check"


def test_a_power_is_no_calculation_of_its_operands():
    # "(2^3)^3 × 2" and "1^3 × 2" both held "3 × 2": the second step seemed to restate the
    # first, and a check of the remainder was sent back to the first
    steps = ["2^3 = 8, which is 1 more than 7, so 2^3 leaves remainder 1.",
             "10 = 3 × 3 + 1, so 2^10 = (2^3)^3 × 2.", "The remainder is 1^3 × 2 = 2.",
             "Let me verify directly: 2^10 = 1024, and 7 × 146 = 1022, so 1024 − 1022 = 2."]  # fmt: skip
    assert _target(_mol("What is the remainder when 2^10 is divided by 7?", steps), 3) == 2
    assert content.read("2^10 = (2^3)^3 × 2").exprs == frozenset()


@pytest.mark.parametrize(
    ("question", "steps", "j", "target", "kind"),
    [
        (  # the old result comes back only as an operand of the new one: replaced
            "How many ways can 4 people sit in a row if Ann and Bob must sit next to each other?",
            ["Treat Ann and Bob as one block, so there are 3 units to arrange.",
             "3 units can be arranged in 3! = 6 ways.", "So the answer is 6.",
             "Wait, Ann and Bob can swap places inside the block, so multiply by 2.",
             "That gives 6 × 2 = 12 ways."],
            3, 2, "correction",
        ),
        (  # "Hmm," drops the claim's result for good as "Wait" does
            "A 60 W bulb is on for 5 hours a day. How much energy does it use in 30 days, in kWh?",
            ["Each day it uses 60 × 5 = 300 Wh.", "In 30 days: 300 × 30 = 9,000 Wh.",
             "So that is 9,000 kWh.", "Hmm, 9,000 Wh is only 9 kWh, since 1 kWh = 1,000 Wh.",
             "So the bulb uses 9 kWh in 30 days."],
            3, 2, "correction",
        ),
        (  # a "Hmm" that says it checks is a check, whatever it finds
            "A printer prints 45 pages per minute. How long does it take to print 960 pages?",
            ["At 45 pages per minute, that takes 960 / 45 = 21.33 minutes.",
             "Hmm, let me make sure about 960 / 45: 45 × 21 = 945, leaving 15 pages, a third of a minute.",
             "So it's 21 1/3 minutes, that is 21 minutes 20 seconds."],
            1, 0, "check",
        ),
        (  # a "Wait" ending on a verdict that what it found fits is a check
            "A rectangle's length is 3 cm more than twice its width; its perimeter is 54 cm.",
            ["Let the width be w, so the length is 2w + 3.",
             "Perimeter: 2(w + 2w + 3) = 54, so 3w + 3 = 27.", "Then 3w = 24 and w = 8.",
             "The length is 2 × 8 + 3 = 19.",
             "Wait, the perimeter with 8 and 19 would be 2 × 27 = 54. Good.",
             "Area = 8 × 19 = 152 cm²."],
            4, None, "check",
        ),
        (  # so is a 不对 that ends finding nothing wrong
            "一本书 240 页，第一天看了 1/6，第二天看了余下的 1/4，还剩多少页？",
            ["第一天看了 240 × 1/6 = 40 页。", "余下 240 − 40 = 200 页。",
             "第二天看了 200 × 1/4 = 50 页。", "还剩 200 − 50 = 150 页。",
             "不对，我再看一下题目：第二天看的是余下的 1/4，我用的就是余下的 200 页，没问题。"],
            4, None, "check",
        ),
    ],
)  # fmt: skip
def test_a_wait_that_replaces_the_claims_result_corrects_it(question, steps, j, target, kind):
    mol = _mol(question, steps)
    assert mol.steps[j].kind == kind
    assert target is None or _target(mol, j) == target
    assert all(s.superseded_by is None for s in mol.steps) or kind == "correction"
