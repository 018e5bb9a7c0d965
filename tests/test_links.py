"""Which earlier step a reflection points at, and what counts as a reflection, on short
written traces (bondkd.molecule.links, bondkd.molecule.bonds.behaviours)."""

from __future__ import annotations

import pytest

from bondkd.config import AnalyzeConfig
from bondkd.molecule import content
from bondkd.molecule.bonds import behaviours
from bondkd.pipeline import analyze

LEX = AnalyzeConfig(backend="lexical")


def _mol(question: str, steps: list[str]):
    return analyze({"question": question, "steps": steps}, LEX)


def _target(mol, j: int) -> int | None:
    found = [b.target for b in mol.bonds if b.source == j and b.type == "reflection"]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        (  # agreeing methods: the check is about the first method's result
            "A ball falls 20 m with g = 10 m/s². How fast does it land?",
            [
                "首先，由 h = ½gt²，得 20 = ½ × 10 × t²。",
                "所以 t² = 4，t = 2 s。",
                "然后落地速度 v = gt = 10 × 2 = 20 m/s。",
                "或者用能量守恒来求速度：mgh = ½mv²。",
                "v² = 2gh = 2 × 10 × 20 = 400，所以 v = 20 m/s。",
                "两种方法得到的速度相同，说明结果可靠。",
            ],
            5,
            2,
        ),
        (  # disagreeing methods, no shared value: the first method's last claim
            "How many ways to pick 3 of 4 girls and 5 boys with at least one girl?",
            [
                "1 girl: 4 × 10 = 40 ways.",
                "2 girls: 6 × 5 = 30 ways.",
                "3 girls: 4 ways.",
                "So 40 + 30 + 4 = 64 ways.",
                "Alternatively, count all picks minus all-boy picks.",
                "All picks: C(9,3) = 84.",
                "All-boy picks: C(5,3) = 10.",
                "So 84 − 10 = 74.",
                "The two methods give different answers, so one of them is off.",
            ],
            8,
            3,
        ),
    ],
)
def test_a_comparison_of_methods_checks_the_first_method(question, steps, j, target):
    mol = _mol(question, steps)
    assert mol.steps[j].role == "reflection"
    assert _target(mol, j) == target


@pytest.mark.parametrize(
    "steps",
    [
        [
            "只有一人说真话，可以逐个假设。",
            "假设甲说真话。",
            "那么乙在说谎，所以丙说真话。",
            "这样甲和丙都说真话，与“只有一人说真话”矛盾。",
            "所以甲在说谎。",
        ],
        [
            "We can test the cases.",
            "Suppose A is a knave.",
            "Then B is a knight.",
            "But then A and B are the same kind, which contradicts A being a knave.",
            "So A is a knight.",
        ],
    ],
)
def test_a_contradiction_closing_a_supposed_case_is_a_deduction(steps):
    mol = _mol("Who tells the truth?", steps)
    assert mol.steps[3].role != "reflection"


def test_a_contradiction_with_earlier_work_is_a_reflection():
    steps = ["设公差为 d，则 a3 = a1 + 2d = 7。", "又 a5 = a1 + 4d = 11，所以 d = 2。",
             "于是 a1 = 3，a10 = 3 + 18 = 21。", "这与前面求得的 a3 = 7 矛盾吗？代入 a3 = 3 + 4 = 7，不矛盾。"]  # fmt: skip
    mol = _mol("等差数列中 a3 = 7，a5 = 11，求 a10。", steps)
    assert mol.steps[3].role == "reflection"


def test_a_coefficient_is_no_value():
    # "6x" holds no 6: only the numbers of the reasoning link steps.
    c = content.read("所以方程变为 6x − 5 = 4x + 7，v = 20m/s。")
    assert set(c.values) == {"5", "7", "20"} and "6" not in c.results


def test_a_rejected_expression_corrects_the_step_that_first_wrote_it():
    steps = ["首先，展开左边：3(2x − 5) = 6x − 5。", "所以方程变为 6x − 5 = 4x + 7。", "移项得 2x = 12。",
             "因此 x = 6。", "等等，让我检查一下展开：3(2x − 5) 应该是 6x − 15，不是 6x − 5。",
             "重新列式：6x − 15 = 4x + 7，所以 2x = 22。", "因此 x = 11。"]  # fmt: skip
    assert content.read(steps[4]).rejected_forms == {"6x-5"}
    mol = _mol("解方程 3(2x − 5) = 4x + 7。", steps)
    assert mol.steps[4].kind == "correction" and _target(mol, 4) == 0
    assert mol.steps[0].superseded_by == 4


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        (  # its own last result names the value both methods reached (t = 3), not 10
            "甲乙两人同时从相距30千米的两地相向而行，甲每小时走4千米，乙每小时走6千米，几小时后相遇？",
            ["两人的速度和是 4 + 6 = 10 千米/小时。", "相遇时间是 30 ÷ 10 = 3 小时。",
             "或者设 t 小时后相遇，列方程 4t + 6t = 30。", "解得 10t = 30，t = 3，两种方法结果一致。"],
            3,
            1,
        ),
        (  # "the same as the formula gave" compares with the first method
            "How many positive divisors does 360 have?",
            ["Factor 360: 360 = 2^3 × 3^2 × 5.",
             "The number of divisors is (3 + 1)(2 + 1)(1 + 1) = 4 × 3 × 2 = 24.",
             "Alternatively, I could list the divisor pairs: 1 and 360, 2 and 180, 3 and 120.",
             "That is 12 pairs, so 24 divisors, the same as the formula gave."],
            3,
            1,
        ),
    ],
)  # fmt: skip
def test_an_agreement_of_methods_names_the_first_methods_step(question, steps, j, target):
    mol = _mol(question, steps)
    assert mol.steps[j].role == "reflection" and _target(mol, j) == target


def test_redoing_a_calculation_with_another_value_corrects_it():
    steps = ["15% of 240 is 0.15 × 240 = 32.", "Adding 8 gives 32 + 8 = 40.",
             "Actually, 0.15 × 240 is 36, since 0.1 × 240 = 24 and 0.05 × 240 = 12.",
             "So the result is 36 + 8 = 44."]  # fmt: skip
    mol = _mol("What is 15% of 240, plus 8?", steps)
    assert mol.steps[2].kind == "correction" and _target(mol, 2) == 0
    assert mol.steps[0].superseded_by == 2
    # the same calculation with the same value is no correction
    same = _mol("What is 15% of 240, plus 8?", [steps[0], "Again, 0.15 × 240 = 32.", steps[1]])
    assert all(s.kind != "correction" for s in same.steps)


def test_a_redo_after_a_correction_agrees_with_it():
    steps = ["Total seats: 23 × 18 = 424.",
             "Actually, 23 × 18 = 460 − 46 = 414, so the total is 414 seats rather than 424.",
             "Total seats: 23 × 18 = 414.", "People attending: 414 − 37 = 377."]  # fmt: skip
    mol = _mol("23 rows of 18 seats, 37 empty: how many attend?", steps)
    assert [s.kind for s in mol.steps] == [None, "correction", None, None]


def test_an_expression_with_a_unicode_minus_is_read():
    assert content.read("还剩 45 − 24 = 11 元。").exprs == {"45-24"}
    steps = ["3本笔记本一共 3 × 8 = 24 元。", "还剩 45 − 24 = 11 元。",
             "不对，45 − 24 应该是 21，我刚才算错了。", "所以小红还剩21元。"]  # fmt: skip
    mol = _mol("小红有45元，买了3本笔记本，每本8元，还剩多少钱？", steps)
    assert mol.steps[2].kind == "correction" and _target(mol, 2) == 1


def test_a_calculation_redone_alike_inside_a_check_verifies_where_it_was_first_made():
    steps = ["6 × 4096 = 24576.", "6 × 256 = 1536.", "So 24576 + 1536 = 26112.",
             "The sum is 26112 in decimal.", "Let me convert it step by step again.",
             "6 × 4096 = 24576.", "6 × 256 = 1536."]  # fmt: skip
    mol = _mol("What is 0x6600 in decimal?", steps)
    assert [_target(mol, j) for j in (5, 6)] == [0, 1]
    assert mol.steps[5].role == mol.steps[6].role == "reflection"
    # Far from any check, the same calculation again is plain work, not a check.
    plain = _mol("What is 0x6600 in decimal?", [*steps[:4], "Next, 6 × 4096 = 24576."])
    assert plain.steps[4].role != "reflection"


def test_a_check_that_computes_its_own_result_is_not_carried_by_the_next_step():
    steps = ["Let the numbers be x and y.", "Then x + y = 47 and x − y = 13.",
             "Adding the equations: 2x = 60, so x = 30.", "Then y = 47 − 30 = 17.",
             "The product is 30 × 17 = 510.", "Hmm, is that right? 30 × 17 = 300 + 210 = 510.",
             "Let me plug them back in: 30 + 17 = 47 ✓ and 30 − 17 = 13 ✓.",
             "So the product is 510."]  # fmt: skip
    mol = _mol("The sum of two numbers is 47 and their difference is 13. Product?", steps)
    assert [_target(mol, j) for j in (5, 6)] == [4, 3]


def test_a_method_named_in_an_agreement_is_the_first_method():
    steps = ["假设 20 只全是鸡，那么脚有 20 × 2 = 40 只。", "实际比这多 56 − 40 = 16 只脚。",
             "每把一只鸡换成兔，脚多 2 只，所以兔有 16 ÷ 2 = 8 只。", "鸡有 20 − 8 = 12 只。",
             "也可以列方程：设兔有 x 只，则 2(20 − x) + 4x = 56。",
             "40 + 2x = 56，x = 8，和假设法的结果相同。"]  # fmt: skip
    mol = _mol("笼子里有鸡和兔共 20 只，脚共 56 只，鸡和兔各有几只？", steps)
    assert mol.steps[5].role == "reflection" and _target(mol, 5) == 2


def test_a_fraction_written_later_is_the_value_computed_earlier():
    assert content.read("8/3 × 1/6 = 8/18 = 4/9").values >= {"2.66666666667", "0.444444444444"}
    assert content.read("Pipe A fills 1,200 / 40 = 30 litres.").values == {"1200", "40", "30"}
    steps = ["Ann paints 1/6 of the fence per hour, Bob 1/9.", "Together: 1/6 + 1/9 = 5/18.",
             "In 2 hours they paint 2 × 5/18 = 5/9.", "That leaves 1 − 5/9 = 4/9 for Ann.",
             "Ann needs (4/9) ÷ (1/6) = 24/9 = 8/3 hours.", "So she works 2 + 8/3 = 14/3 hours.",
             "Let me check: in 8/3 hours at 1/6 per hour, Ann paints 8/3 × 1/6 = 4/9 ✓."]  # fmt: skip
    mol = _mol("Ann paints a fence in 6 hours, Bob in 9; Bob leaves after 2 hours.", steps)
    assert _target(mol, 6) == 4


def test_a_fractions_parts_are_not_values_of_their_own():
    assert content.read("so the probability is 5/36.").values == {"0.138888888889"}
    steps = ["There are 6 × 6 = 36 equally likely outcomes.",
             "The pairs summing to 8 are (2,6), (3,5), (4,4), (5,3) and (6,2).",
             "That is 5 pairs, so the probability is 5/36.",
             "What if I count by the first die instead? Rolls 2 to 6 each have one partner.",
             "That again gives 5 outcomes, so 5/36."]  # fmt: skip
    assert _target(_mol("A die is rolled twice. P(sum is 8)?", steps), 4) == 2


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


def test_a_rejected_value_corrects_the_calculation_redone_not_an_equal_earlier_value():
    # 8.50 dollars were computed first; the 8.5 texts came from the division redone here
    steps = ["The texts cost 23.50 − 15 = 8.50 dollars.", "At $0.10 each, that's 8.50 / 0.10 = 8.5 texts.",
             "Hmm, 8.50 / 0.10 is 85, not 8.5: dividing by 0.10 multiplies by 10."]  # fmt: skip
    mol = _mol("A plan costs $15 plus $0.10 per text. The bill was $23.50. How many texts?", steps)
    assert mol.steps[2].kind == "correction" and _target(mol, 2) == 1


def test_a_rejected_word_corrects_the_step_that_wrote_it():
    steps = ["Time = 1500 / 25 = 60 minutes.", "So it takes 60 hours.",
             "No, that's minutes, not hours: 60 minutes is 1 hour."]  # fmt: skip
    mol = _mol("A pump fills 1,500 litres at 25 litres per minute. How many hours?", steps)
    assert mol.steps[2].kind == "correction" and _target(mol, 2) == 1


def test_a_vague_check_of_a_restated_claim_points_where_it_was_first_made():
    steps = ["Each hex digit is 4 bits, so 5 digits give 5 × 4 = 20 bits.",
             "In decimal the number is 419,430.", "That lies between 2^18 and 2^19.",
             "So, converting digit by digit, we have 20 bits.", "Hmm, is that right?"]  # fmt: skip
    assert _target(_mol("How many bits does 66666 in base 16 need?", steps), 4) == 0


def test_a_slip_put_right_outranks_the_operands_it_reuses():
    # 83 puts right the 73 of the step just before, not the 29 it adds again
    steps = ["Monday: 18 pages.", "Tuesday: twice Monday, so 36 pages.",
             "Wednesday: 7 fewer than Tuesday, 36 − 7 = 29 pages.", "Total: 18 + 36 + 29 = 73 pages.",
             "Hmm wait, 18 + 36 = 54, and 54 + 29 = 83, so the total is 83, I mis-added."]  # fmt: skip
    mol = _mol("Sara reads 18 pages, twice as many, then 7 fewer. How many in total?", steps)
    assert mol.steps[4].kind == "correction" and _target(mol, 4) == 3


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


def test_a_check_after_a_correction_checks_the_corrected_value():
    # The correction is no second method to compare with, and the value it computes (15)
    # is the claim the check is about, not the superseded perimeter before it.
    steps = ["The hypotenuse is √(9² + 12²).", "9² + 12² = 81 + 144 = 225.",
             "√225 = 16, so the hypotenuse is 16 cm.", "The perimeter is 9 + 12 + 16 = 37 cm.",
             "Hold on, 16² is 256, not 225; √225 is 15.",
             "So the hypotenuse is 15 cm and the perimeter is 9 + 12 + 15 = 36 cm.",
             "That is the 3-4-5 triangle scaled by 3, whose sides are 9, 12, 15, which agrees."]  # fmt: skip
    mol = _mol("A right triangle has legs 9 cm and 12 cm. What is its perimeter?", steps)
    assert mol.steps[6].role == "reflection" and _target(mol, 6) == 4


def test_a_check_by_the_inverse_operation_tests_the_step_it_inverts():
    # "not 432" rejects a correct value: the multiplication undoes "432 / 4 = 118"
    steps = ["24 × 18 = 24 × 20 − 24 × 2 = 480 − 48 = 432.", "75% sold means 25% are empty.",
             "25% of 432 is 432 / 4 = 118.", "Hmm, that doesn't look right. 4 × 118 = 472, not 432.",
             "432 / 4 = 108."]  # fmt: skip
    mol = _mol("24 rows of 18 seats, 75% sold. How many are empty?", steps)
    assert _target(mol, 3) == 2
    # a check by the inverse operation, with nothing rejected, tests the step it inverts
    steps = ["水的体积是 5 × 4 × 3 = 60 立方分米。", "水深 = 体积 ÷ 底面积 = 60 ÷ 10 = 6 分米。",
             "检验：10 × 6 = 60 立方分米，和水箱的容积相等。"]  # fmt: skip
    assert _target(_mol("5×4×3 分米的水倒入底面积 10 平方分米的容器，水深多少？", steps), 2) == 1
    # a replacement value that computes nothing takes back the step that wrote the old one
    steps = ["Each digit is 4 bits, so 5 digits would be 5 * 4 = 20 bits.",
             "The leading zero is dropped, so the total is 20 - 1 = 19 bits.",
             "So, that's why the number of bits is 19, not 20."]  # fmt: skip
    assert _target(_mol("How many bits does 66666 in base 16 need?", steps), 2) == 0


def test_a_check_of_words_points_at_the_step_naming_the_same_things():
    # No number to trace, and every name is the question's: the recent step sharing most
    # of them (Lee, cat, dog, fish) is what "Check Lee" checks, not the claim just made.
    steps = ["Lee owns neither the dog nor the fish, so Lee owns the cat.",
             "Kim does not own the dog, and the cat is taken, so Kim owns the fish.",
             "That leaves the dog for Max.",
             "Check Lee: the cat is neither the dog nor the fish, so the second clue holds."]  # fmt: skip
    question = ("Kim, Lee and Max each own one pet: a cat, a dog or a fish. Kim does not own "
                "the dog. Lee owns neither the dog nor the fish. Who owns what?")  # fmt: skip
    assert _target(_mol(question, steps), 3) == 0


@pytest.mark.parametrize(
    "steps",
    [
        ["The price of A is the dividend over the rate of return.",
         "For B, whose dividend grows, we use the growth model:", "P_B = D_1 / (r − g)"],
        ["A 股票的股利不变，用永续年金公式。", "对于 B 股票，我们可以使用增长模型来计算其价值：",
         "P_B = D_1 / (r − g)"],
    ],
)  # fmt: skip
def test_a_step_after_a_colon_carries_on_from_it(steps):
    # The formula shares no value or term with the sentence that announces it.
    mol = _mol("Value stocks A and B.", steps)
    assert any(b.source == 2 and b.target == 1 and b.type == "strong_logic" for b in mol.bonds)


def test_a_piece_of_a_cut_sentence_uses_the_step_the_sentence_began_in():
    steps = ["There are 5 blue, 2 red, 1 double green and 1 orange plate to arrange.",
             "Fixing the green block, the arrangements of the other 8 plates number 8!",
             "/ (5! * 2!", "* 1!) = 40320 / 240 = 168."]  # fmt: skip
    mol = _mol("In how many ways can the plates be arranged?", steps)
    assert any(b.source == 3 and b.target == 1 and b.type == "strong_logic" for b in mol.bonds)


def test_finding_where_cut_sentences_began_is_linear(monkeypatch):
    # A trace of 2,000 pieces that each open mid-expression once made `choose` walk back
    # over all of them for every step (a 200,000-line hostile input took 31 s, not 4).
    from bondkd.molecule import links

    calls = 0
    fragment = links._fragment

    def counted(ev, j):
        nonlocal calls
        calls += 1
        return fragment(ev, j)

    monkeypatch.setattr(links, "_fragment", counted)
    n = 2000
    _mol("What is 1 + 1?", ["We add:", *("+ 1" for _ in range(n))])
    assert calls <= 3 * n


def test_a_step_using_the_variable_just_introduced_carries_on_from_it():
    steps = ["嗯，设这个数是 x。", "根据题意，3x + 14 = 5x − 6。", "移项得 20 = 2x，所以 x = 10。"]
    mol = _mol("一个数的 3 倍加上 14 等于这个数的 5 倍减去 6，这个数是多少？", steps)
    assert any(b.source == 1 and b.target == 0 and b.type == "strong_logic" for b in mol.bonds)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("两边相等，所以 x = 10。", "reflection"),
        ("80 × 0.825 = 66, so the final price of $66 is consistent.", "reflection"),
        ("情况一：x − 3 = 5，则 x = 8。", "exploration"),
        ("Hmm, 215 vs 205. Something is off.", "reflection"),
        ("That is again 11/36, so both ways agree.", "reflection"),
        ("So, that's correct.", "reflection"),
        ("用组合数验证：C(3,2) ÷ C(5,2) = 3 ÷ 10 = 3/10，一致。", "reflection"),
        ("Guessing is slow; let me set it up algebraically instead.", "exploration"),
        ("That gives 5 × 25 = 125 again, so both counts agree.", "reflection"),
        ("1. I started by expanding the product and found a pattern.", "reflection"),
        ("I think the confusion is whether leading zeros count.", "reflection"),
        ("I think that all makes sense.", "reflection"),
        ("210 + 150 = 360 千米，正好是两地距离，说明 3 小时是对的。", "reflection"),
        ("1/40 + 1/60 = 1/24, so 24 minutes again.", "reflection"),
        ("1 − 1/4 = 3/4, the same as counting.", "reflection"),
        ("3 × 0.25 = $0.75, which matches the given price.", "reflection"),
        ("The formula agrees with listing the values.", "reflection"),
        ("3.6 × 250 = 900 g. Same answer.", "reflection"),
        ("That again gives 5 outcomes, so 5/36.", "reflection"),
        ("把 x = 4 代入原方程：左边 4 × (4 + 3) = 28。", "reflection"),
        ("Let me re-read the question: it says 1/4 of the rest.", "reflection"),
        ("And x = 3: 9 − 15 + 6 = 0. Also good.", "reflection"),
        ("That is 3 or 2, matching the factoring.", "reflection"),
        ("不会，两枚硬币是可以区分的，所以 1/2 是对的。", "reflection"),
        ("Same result, since multiplying by 0.85 and 1.05 commutes.", "reflection"),
        ("Let me trace it to be safe: after i=1 total is 1, after i=2 it is 5.", "reflection"),
        ("15/45 = 1/3, which agrees with the step-by-step product.", "reflection"),
        ("Quick check of the perimeter: 2 × (9 + 14) = 46, as given.", "reflection"),
        ("One last check: 7 × 146 = 1022.", "reflection"),
        ("Stars and bars gives the same count: C(6, 2) = 15.", "reflection"),
        ("Both give 96 m, so the car travels 96 m.", "reflection"),
        ("咦，会不会是先减 20 元再打折？题目说先打八折。", "reflection"),
        ("Using another method to check: 12 parts, 3 parts a day, 4 days.", "reflection"),
        ("Does that count (4,4) only once? Yes, it is one outcome, so 5 is right.", "reflection"),
        ("降价是按 120 元算的，降得更多，所以比原价低是合理的。", "reflection"),
        ("Dee is right after Ann in the line.", None),
        (
            "That's over a third of the price for over a third of the bag, so it's about right.",
            "reflection",
        ),
        ("有没有比 17 更小的？3 和 10 都不满足，所以 17 是最小的。", "reflection"),
        ("两种数法都是 7 种，概率 7/8。", "reflection"),
        ("这个结果好像太轻了？其实 2 + 8 = 10 千克。", "reflection"),
        # phrasings found in the public dev traces outside the labelled holdout
        ("That also seems correct.", "reflection"),
        ("To check my answer, I can plug x = 4 into 2^8 = 4^4.", "reflection"),
        ("So h = −b / (2a), which matches the vertex formula.", "reflection"),
        ("So the product of roots is 32, which matches with −a/8 = 32.", "reflection"),
        ("That's positive, which is consistent with the roots being positive.", "reflection"),
        ("Having around 834 students taking music seems plausible.", "reflection"),
        ("The plates are identical, so we don't multiply by anything, right?", "reflection"),
        ("Therefore, both methods confirm that there are 540 ways.", "reflection"),
        ("为了验证这个结果，我们可以将 a = 0 代入 A。", "reflection"),
        ("我们可以解第二个方程确认这个值是否正确：", "reflection"),
        ("这个方程成立，所以 a = 1 是正确的。", "reflection"),
        ("To check whether 53 is prime, divide it by 2, 3, 5 and 7.", None),
        ("确保所有步骤都是正确的。", None),
        ("Starting from the right, the digits are 16⁰, 16¹ and 16².", None),
        ("Let's try that approach to cross-verify.", "exploration"),
        (
            "Just to be thorough, I can also consider if there's any other way to approach this.",
            "exploration",
        ),
        ("Let me try that: 6 × 7 = 42.", None),
        ("两种想法结果相同，一共握 15 次。", "reflection"),
        ("24 × 2 + 15 × 2 = 48 + 30 = 78 米，一样。", "reflection"),
        ("换一种想法：第一个人握 5 次，第二个人再握 4 次。", "exploration"),
        (
            "Rough estimate: 3.4 hundreds of km times 6.5 is a bit over 20, so 22.1 is reasonable.",
            "reflection",
        ),
        ("估算一下：50 × 200 = 10000，9504 比 10000 稍小，合理。", "reflection"),
        ("如果是小红做的：小明和小红都说了假话，不符合。", "exploration"),
        ("If Ben did it, two of the statements are true, which is impossible.", "exploration"),
        ("如果一个物体是金属，它就一定能导电。", None),
        ("3.6 is less than 6, so yes, that's consistent.", "reflection"),
        ("Reverse check: 15% of 200 is 30, and 200 − 30 = 170.", "reflection"),
        ("前 6 项和 12 + 8 + 10 + 12 = 42，也对。", "reflection"),
        ("所以丙确实在说谎，也一致。", None),
        ("That's 6, matching C(4, 2).", "reflection"),
        ("Units: kg × m/s² × m = N·m = J, so the unit works out.", "reflection"),
        ("Per person it works out to 12 dollars.", None),
        ("列举验证：12、13、21、23、31、32，共 6 个。", "reflection"),
        # putting a result back checks it; putting values in works forward
        ("Let me plug x = 4 back into the original equation: 4^4 = 256.", "reflection"),
        ("Step 9. Plugging in the known rates: 20π = πr² · 4.", None),
        ("Now, substitute these values back into the expression under the root.", None),
        ("代入 x = ρcosθ，y = ρsinθ，得到 ρ = 2。", None),
        ("代入检验：3 × 4 = 12，成立。", "reflection"),
        ("为了确定这是极小值点，我们需要检查 f''(x) 在 x = 1 时的符号。", None),
        # doubts: checks, not corrections
        ("Maybe I messed up the decimal conversion.", "reflection"),
        ("There must be a mistake in one of the approaches.", "reflection"),
        ("So, where is the mistake?", "reflection"),
        ("But I'm not entirely sure about that.", "reflection"),
        ("But that doesn't sound right to me.", "reflection"),
        ("Again, this confirms that there are 33 multiples of 3.", "reflection"),
        ("So, there are indeed 33 multiples of 3 between 1 and 100.", "reflection"),
        ("这意味着我们在某个地方犯了错误。", "reflection"),
        ("但是，我们需要检查页码271是否真的包含足够的零。", "reflection"),
        # a repeated operation, or a sameness that is the deduction itself, checks nothing
        ("Then subtract 5 again, and halve it.", None),
        ("Multiplying by 0.5 is the same as dividing by 2.", None),
    ],
)
def test_verdicts_and_cases(text, kind):
    steps = ["x − 3 = 5 或 x − 3 = −5, and 20 + 180 + 15 = 205.", text]
    assert behaviours(steps)[1] == kind


def test_a_verdict_that_matches_names_the_first_methods_step():
    steps = ["The acceleration is a = 24 / 8 = 3 m/s².", "Distance s = ½ × 3 × 8² = 96 m.",
             "Hmm, let me double-check with the average speed.",
             "The average speed is (0 + 24) / 2 = 12 m/s.",
             "Over 8 s that's 12 × 8 = 96 m, which matches."]  # fmt: skip
    mol = _mol("A car goes from rest to 24 m/s in 8 s. How far does it travel?", steps)
    assert _target(mol, 4) == 1


def test_a_rerun_points_where_its_last_calculation_was_first_made():
    steps = ["3182 − 319 = 2863.", "2863 + 1 = 2864.", "So there are 2864 zeros.",
             "Hmm, the interval is open, so the endpoints stay out.", "Let me recount.",
             "3182 − 319 = 2863; 2863 + 1 = 2864."]  # fmt: skip
    mol = _mol("How many integers k satisfy 319 ≤ k ≤ 3182?", steps)
    assert _target(mol, 5) == 1


def test_a_redo_after_a_check_that_owns_a_slip_corrects():
    steps = ["Let the width be w, so the length is 3w.", "The perimeter is 2(w + 3w) = 8w.",
             "So 8w = 64, which gives w = 8 cm.", "The length is 3 × 8 = 24 cm.",
             "The area is 24 × 8 = 182 cm².", "Hmm, let me double-check the perimeter.",
             "2 × (24 + 8) = 2 × 32 = 64 cm ✓.",
             "And the area again: 24 × 8 = 192, so the 182 above was a slip.",
             "So the area is 192 cm²."]  # fmt: skip
    mol = _mol("A rectangle's length is 3 times its width; its perimeter is 64 cm. Area?", steps)
    assert mol.steps[7].kind == "correction" and _target(mol, 7) == 4
    assert mol.steps[4].superseded_by == 7


def test_a_check_after_a_correction_is_about_the_corrected_claim():
    steps = ["250 / 18 = 13.89, so about 13.9 days.", "So he needs 13 days.",
             "Wait, no. After 13 days he has read 13 × 18 = 234 pages, less than 250.",
             "So he needs 14 days, not 13.", "Check: 14 × 18 = 252 ≥ 250 ✓, and 13 days fall short.",
             "Sam needs 14 days."]  # fmt: skip
    mol = _mol("Sam reads 18 pages a day. How many days for a 250-page book?", steps)
    assert _target(mol, 4) == 3


def test_a_second_formula_that_matches_checks_the_plain_step_before_it():
    steps = ["The quadratic factors as (x − 2)(x − 3) = 0.", "So x = 2 or x = 3.",
             "Checking x = 2: 4 − 10 + 6 = 0 ✓.", "For x = 3: 9 − 15 + 6 = 0 ✓.",
             "The sum is 2 + 3 = 5.",
             "By Vieta's formula the sum is −(−5)/1 = 5, which matches."]  # fmt: skip
    mol = _mol("Find all real x with x² − 5x + 6 = 0, and give their sum.", steps)
    assert _target(mol, 5) == 4


def test_a_step_named_by_number_is_the_one_meant():
    steps = ["Let Ann have a marbles, so Tom has 3a.", "Together: a + 3a = 48, so 4a = 48.",
             "Then a = 14.", "So Tom has 3 × 14 = 42.", "Hmm, check: 14 + 42 = 56, not 48.",
             "I see, step 3 was wrong: 48 / 4 = 12, so a = 12.", "Tom has 3 × 12 = 36 marbles."]  # fmt: skip
    mol = _mol("Tom has 3 times as many marbles as Ann. Together they have 48. Tom?", steps)
    assert mol.steps[5].kind == "correction" and _target(mol, 5) == 2
    assert content.read("Step 7. From step 3, I know f(6) = 2.").cited == 3
    assert content.read("Step 3. So x = 2.").cited is None  # its own label
    assert content.read("嗯，再看一下第一步：1.2 千米确实是 1200 米。").cited == 1
    used = _mol("f(2) = 6 and f(1) = 2.", ["Step 1. f(2) = 6.", "Step 2. f(1) = 2.",
                "Step 3. Now compute g.", "Step 4. From step 1, f⁻¹(6) = 2."])  # fmt: skip
    assert any(b.source == 3 and b.target == 0 and b.type == "strong_logic" for b in used.bonds)
