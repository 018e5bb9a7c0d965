"""Which step a check verifies when its own words say little: after a case analysis, looking
back at earlier work, arriving at an earlier result, by the inverse operation, with a verdict
that closes it or names a small value (bondkd.molecule.links, bondkd.molecule.evidence)."""

from __future__ import annotations

import pytest

from bondkd.molecule import content
from bondkd.steps import lexicon
from tests.test_links import _mol, _target


@pytest.mark.parametrize(
    ("steps", "j", "target"),
    [
        (["Suppose A is a knight.", "Then A's statement is true, so B is a knave.",
          "Then B's statement is false, so they differ, which fits: A knight, B knave.",
          "Now suppose A is a knave instead.", "Then B is a knight.",
          "Then B's statement is true, so they are the same type: a contradiction.",
          "So A is a knight and B is a knave.",
          "Check: A (knight) truthfully says B is a knave ✓; B (knave) lies ✓."], 7, 2),
        (["假设甲总说真话，那么乙总说假话。", "乙这句是假话，符合。", "剩下丙有时真有时假，也可以。",
          "假设乙总说真话，那么乙说自己有时真有时假就是假话，矛盾。",
          "假设丙总说真话，那么乙总说真话，矛盾。", "所以只有甲总说真话的情况成立。",
          "再回头核对甲的情况：甲真、乙假、丙随意，三句话都对得上。"], 6, 2),
        (["If Amy did it: Amy's is false, Ben's is true, Cat's is true. Two truths, so no.",
          "If Ben did it: Amy's is true, Ben's is false, Cat's is true. Two truths again, so no.",
          "If Cat did it: Amy's is false, Ben's is true, Cat's is false. That works.",
          "So Cat broke the vase.", "Double-checking: only Ben told the truth, as required."], 4, 2),
        # a check computing nothing goes to the case that survived, whatever it shares by
        # chance with another ("两人" in the first case)
        (["假设是甲打碎的：甲说的是假话，乙说“不是我”是真话，丙说“不是我”也是真话，有两人说真话，不符合。",
          "假设是乙打碎的：甲说的是真话，乙说的是假话，丙说的是真话，也有两人说真话，不符合。",
          "假设是丙打碎的：甲说的是假话，乙说的是真话，丙说的是假话，只有乙一人说真话，符合条件。",
          "所以是丙打碎的花瓶。", "再检查一遍丙的情况：只有乙说真话，其余两人说假话，和题目一致。"], 4, 2),
        # "…, no." closes a case as "so no" does
        (["If Amy did it: Amy's is false, Ben's is true, Cat's is true. Two truths, so no.",
          "If Ben did it: Amy's is true, Ben's is false, Cat's is true. Two truths again, no.",
          "If Cat did it: Amy's is false, Ben's is true, Cat's is false. That works.",
          "So Cat broke the vase.", "Double-checking Cat's case: only Ben told the truth."], 4, 2),
        # a case ruled out ("that is out"), and the first case settled by no verdict of its own
        (["Cal is right after Ann, so Ann and Cal are adjacent in that order.",
          "If Ann is second, Cal is third, and Ben is first.",
          "If Ann is first, that breaks 'Ann is not first', so that is out.",
          "So the order is Ben, Ann, Cal.",
          "Check: Ann is second, not first; Ben is first, not last. All conditions hold."], 4, 1),
        # the conclusion drawn mid-sentence (", so the first case is the only one left")
        (["Ben owns neither the dog nor the fish.", "Suppose Ann owns the fish.",
          "Then Ben must own the cat, and Cal owns the dog, which breaks no condition.",
          "Suppose instead Ann owns the cat.", "Then Ben could own nothing, so this case fails.",
          "Ann cannot own the dog, so the first case is the only one left: Ann owns the fish.",
          "Let me re-read the conditions: Ann has the fish ✓; Ben has the cat ✓."], 6, 2),
    ],
)  # fmt: skip
def test_a_check_after_a_case_analysis_checks_the_case_that_survived(steps, j, target):
    mol = _mol("Who is who?", steps)
    assert _target(mol, j) == target
    opens = [k for k in range(1, j) if lexicon.SUPPOSES_RE.match(steps[k])]
    assert all(mol.doc.steps[k].role == "exploration" for k in opens)


@pytest.mark.parametrize(
    ("steps", "j", "target"),
    [
        (["The formula for the interior angles of an n-gon is (n − 2) × 180°.",
          "A hexagon has n = 6 sides.", "So the sum is (6 − 2) × 180° = 720°.",
          "Wait, let me make sure the formula is right by testing it on a triangle."], 3, 0),
        (["First, the time: 2 hours 30 minutes is 2.5 hours.", "Speed: 150 / 2.5 = 60 km/h.",
          "In m/s: 60 × 1000 / 3600 = 16.67 m/s.",
          "Hmm, let me make sure the time conversion was right."], 3, 0),
    ],
)  # fmt: skip
def test_a_check_naming_what_it_checks_points_where_that_was_first_written(steps, j, target):
    assert _target(_mol("How fast, or how many degrees?", steps), j) == target


@pytest.mark.parametrize(
    "look_back",
    [
        "Wait, but earlier I thought it would be 20 bits because it's 5 hex digits of 4 bits.",
        "But then, why did I initially think it would be 20 bits?",
        "等等，我之前算得是 20 位，因为 5 个十六进制数字各 4 位。",
        "But earlier, by converting each hex digit to base-2, I found that it's 20 bits.",
    ],
)
def test_a_check_looking_back_at_earlier_work_points_there(look_back):
    # Not at the claim just made (19 bits), however close, nor at what follows it.
    steps = ["So, if each digit is 4 bits, then 5 digits would be 5 * 4 = 20 bits.",
             "Converting to decimal instead, 66666 in hex is 419,430.",
             "I know that 2¹⁸ = 262,144", "2¹⁹ = 524,288",
             "So, 419,430 is between 2¹⁸ and 2¹⁹.",
             "Therefore, log₂(419,430) is between 18 and 19.",
             "The floor of that would be 18, so the number of bits is 18 + 1 = 19 bits.",
             look_back, "Now, according to this, it's 19 bits.",
             "There's a discrepancy here."]  # fmt: skip
    mol = _mol("How many bits does 66666 in base 16 have in base 2?", steps)
    assert _target(mol, 7) == 0


@pytest.mark.parametrize(
    ("question", "steps", "j", "target"),
    [
        # not at the step that first added 20 + 60, one of the numbers it starts from
        ("把 200 克浓度为 10% 的盐水和 300 克浓度为 20% 的盐水混合，混合后浓度是多少？",
         ["第一份含盐 200 × 10% = 20 克。", "第二份含盐 300 × 20% = 60 克。",
          "混合后共有盐 20 + 60 = 80 克，盐水 200 + 300 = 500 克。", "浓度 = 80 ÷ 500 = 16%。",
          "换个方法验证：按加权平均，(10% × 200 + 20% × 300) ÷ 500 = (20 + 60) ÷ 500 = 16%，结果一致。"],
         4, 3),
        # the faces come from step 1; the 184 the check ends with was computed after them
        ("长方体长 8 厘米，宽 5 厘米，高 4 厘米，表面积是多少？",
         ["表面积 = 2 × (8 × 5 + 8 × 4 + 5 × 4)。",
          "8 × 5 = 40，8 × 4 = 32，5 × 4 = 20，三个面的和是 40 + 32 + 20 = 92。",
          "表面积 = 2 × 92 = 184 平方厘米。",
          "再检查一下：上下两个面 2 × 40 = 80，前后两个面 2 × 32 = 64，左右两个面 2 × 20 = 40，"
          "合计 80 + 64 + 40 = 184，没错。"],
         3, 2),
        # a value two steps computed (the adjacent count and the answer are both 12): the
        # later one is what a recount arrives at
        ("How many ways can 4 people sit in a row if Alice and Bob refuse to sit together?",
         ["Without restrictions there are 4! = 24 arrangements.",
          "As one block with the other 2 people: 3! = 6 arrangements, times 2 for AB or BA, so 12.",
          "So the answer is 24 − 12 = 12.",
          "Let me double-check by counting directly: the non-adjacent seat pairs are (1,3), (1,4), (2,4).",
          "Each pair can be filled 2 ways, and the others 2 ways, so 3 × 2 × 2 = 12."],
         3, 2),
        # a calculation claimed before, redone back to the given 2004: that claim, not the
        # step that found 167
        ("What is the remainder when 2004 is divided by 12?",
         ["12 × 100 = 1200, leaving 2004 − 1200 = 804.", "12 × 60 = 720, leaving 804 − 720 = 84.",
          "12 × 7 = 84, leaving 0.", "So the quotient is 100 + 60 + 7 = 167.",
          "Therefore, 12 times 167 is 2004, and the remainder is 0.",
          "Let me check my multiplication: 12 * 167 = 12 * 160 + 12 * 7 = 1920 + 84 = 2004."],
         5, 4),
        # "9 boxes × 8 cookies": the units keep 9 × 8 out of an expression, the step still
        # computes with 9, so it undoes "72 / 8 = 9", not the 3 × 24 that first made 72
        ("A baker makes 3 batches of 24 cookies and packs them in boxes of 8.",
         ["3 batches of 24 is 3 × 24 = 72 cookies.", "72 cookies in boxes of 8 fill 72 / 8 = 9 boxes.",
          "Sanity check: 9 boxes × 8 cookies = 72, and 72 / 3 = 24 per batch, as stated."],
         2, 1),
        # two methods compared: the first method's result, not a check that only re-ran it
        ("求 1 到 100 中所有能被 7 整除的数的和。",
         ["能被 7 整除的数是 7、14、21、……、98。", "98 ÷ 7 = 14，所以一共有 14 个数。",
          "这是首项 7、末项 98 的等差数列，和为 (7 + 98) × 14 ÷ 2 = 105 × 7 = 735。",
          "等等，105 × 14 ÷ 2 应该先算 105 × 14 = 1470，再除以 2 得 735，和刚才一样。",
          "另外也可以提出公因数 7：7 × (1 + 2 + … + 14) = 7 × 105 = 735。", "两种算法都得 735。"],
         5, 2),
        # 90 is both the morning's sales and what is left: the check starts from 240 as the
        # morning's step did
        ("A baker sells 3/8 of 240 cookies, then 40% of the rest. How many are left?",
         ["In the morning she sells 240 × 3 / 8 = 90.", "That leaves 240 − 90 = 150.",
          "In the afternoon she sells 0.4 × 150 = 60.", "Left: 150 − 60 = 90 cookies.",
          "Let me double-check the morning: 240 / 8 = 30, and 30 × 3 = 90. Yes."],
         4, 0),
    ],
)  # fmt: skip
def test_a_check_points_at_the_step_whose_result_it_tests(question, steps, j, target):
    assert _target(_mol(question, steps), j) == target


def test_a_verdict_on_a_checks_own_sums_goes_on_with_that_check():
    steps = ["Let a be the adult tickets and c the child tickets; a + c = 85.",
             "12a + 7c = 800 gives c = 44.", "Then a = 85 − 44 = 41.",
             "Hmm, let me verify the money: 12 × 41 = 492 and 7 × 44 = 308.",
             "492 + 308 = 800. ✓"]  # fmt: skip
    mol = _mol("Adult tickets cost $12, child tickets $7; 85 sold for $800.", steps)
    assert _target(mol, 3) == _target(mol, 4) == 2


def test_a_case_that_does_not_work_is_closed():
    # 不行 ("won't do") closes a case as 矛盾 does: only the yellow box survives
    steps = ["分情况讨论。", "如果奖品在红盒：红盒的话为真，黄盒的话也为真，有两句真话，不行。",
             "如果奖品在黄盒：红盒的话为假，黄盒的话为假，蓝盒的话为真，只有一句真话，符合。",
             "如果奖品在蓝盒：红盒的话为假，黄盒的话为真，蓝盒的话也为真，两句真话，不行。",
             "所以奖品在黄盒里。", "再核对一遍：奖品在黄盒时，只有蓝盒上的话是真的，确实只有一句真话。"]  # fmt: skip
    question = ("红、黄、蓝三个盒子，只有一个里面有奖品。红盒上写“奖品在这里”，黄盒上写“奖品不在这里”，"
                "蓝盒上写“奖品不在红盒”。只有一句话是真的，奖品在哪个盒子里？")  # fmt: skip
    mol = _mol(question, steps)
    assert _target(mol, 5) == 2
    assert [s.role == "exploration" for s in mol.doc.steps[1:4]] == [True, True, True]


def test_going_back_to_the_original_equation_and_a_wrong_assumption_point_where_written():
    steps = ["给定的等式是：", "a^2 * b + 1/(a - b) = 4b", "两边乘以 (a - b)，得到 a^2 b (a − b) + 1 = 4b (a − b)。",
             "试一试 a = 2：4b + 1/(2 − b) = 4b。", "于是 1/(2 − b) = 0，这是不可能的。",
             "这意味着我们的假设 a = 2 是错误的。", "让我们回到原始等式并重新审视它："]  # fmt: skip
    mol = _mol("已知 a^2 b + 1/(a − b) = 4b，求 a + 2b。", steps)
    assert _target(mol, 5) == 3  # where a = 2 was assumed, not the step just before
    assert mol.steps[5].kind == "correction"
    assert _target(mol, 6) == 1  # the equation the work started from
    assert content.read("Let me go back to the original equation.").original
    assert not content.read("代入原方程检验：左边 = 右边。").original


def test_the_work_after_a_correction_reruns_no_check():
    # "1,200 / 40 = 30" again, six steps on, is the time to fill (net rate 40), not a re-run
    # of pipe A's rate: the steps after a correction redo the work it replaced.
    steps = ["Pipe A: 1,200 / 40 = 30 litres per minute.", "Pipe B: 1,200 / 60 = 20 litres per minute.",
             "The drain: 1,200 / 120 = 10 litres per minute out.",
             "Net rate: 30 + 20 + 10 = 60 litres per minute.",
             "Hmm, wait. The drain takes water out, so it should be subtracted, not added.",
             "Net rate: 30 + 20 − 10 = 40 litres per minute.", "Time to fill: 1,200 / 40 = 30 minutes."]  # fmt: skip
    mol = _mol("A 1,200-litre tank: pipe A fills it in 40 min, B in 60, a drain empties it in 120.",
               steps)  # fmt: skip
    assert mol.steps[6].role != "reflection"


def test_a_check_that_arrives_nowhere_yet_is_carried_out_by_the_next_step():
    # Its own 12 m/s was never written: the next step, reaching 96 m, says what it checks
    # (the distance), not the 24 m/s it starts from.
    steps = ["Speed after 8 s: v = 3 × 8 = 24 m/s.", "Distance while speeding up: 3 × 8² / 2 = 96 m.",
             "Then at constant speed: 24 × 10 = 240 m, so 336 m in all.",
             "Let me verify that: the average speed is (0 + 24) / 2 = 12 m/s.",
             "Over 8 s that is 12 × 8 = 96 m.", "That matches."]  # fmt: skip
    mol = _mol("A car speeds up from rest at 3 m/s² for 8 s, then goes on for 10 s.", steps)
    assert _target(mol, 3) == 1


def test_a_verdict_that_the_second_method_agrees_points_at_the_first_methods_result():
    steps = ["甲每天完成 1/12，乙每天完成 1/18。", "合作每天完成 1/12 + 1/18 = 5/36。",
             "所以需要 36/5 = 7.2 天。", "换个方法：设工程总量为 36 份，甲每天做 3 份，乙每天做 2 份。",
             "两人每天做 5 份，36 ÷ 5 = 7.2 天，和前面一样。"]  # fmt: skip
    mol = _mol("甲单独做 12 天完成，乙单独做 18 天完成。两人合作几天完成？", steps)
    assert _target(mol, 4) == 2


def test_a_verdict_with_no_cue_of_its_own_closes_the_check_before_it():
    # The check computes 12 m/s, written nowhere before; the verdict after it reaches 96 m.
    steps = ["Speed after 8 s: v = 3 × 8 = 24 m/s.", "Distance while speeding up: ½ × 3 × 8² = 96 m.",
             "Distance at constant speed: 24 × 10 = 240 m.", "Total: 96 + 240 = 336 m.",
             "Let me double-check the first part with the average speed: (0 + 24) / 2 = 12 m/s.",
             "12 × 8 = 96 m, the same as before.", "So the car travels 336 m."]  # fmt: skip
    mol = _mol("A car speeds up from rest at 3 m/s² for 8 s, then goes on for 10 s.", steps)
    assert _target(mol, 4) == _target(mol, 5) == 1


def test_a_small_value_a_verdict_confirms_points_where_it_was_counted():
    # 确实是 4 种 names the count of step 1, not the probability just stated
    steps = ["共有 6 × 6 = 36 种等可能的结果。", "和为 5 的有 (1,4)、(2,3)、(3,2)、(4,1)，共 4 种。",
             "所以概率是 4/36 = 1/9。", "再数一遍：第一颗是 1 到 4 时，第二颗各有一个点数能凑成 5，确实是 4 种。"]  # fmt: skip
    assert _target(_mol("掷两颗骰子，点数和为 5 的概率是多少？", steps), 3) == 1
    assert content.read("确实是 4 种，还是 3 个").confirmed == {"4", "3"}
    assert content.read("15 × 7 = 105, which is over 100, so yes, 6.").confirmed == {"6"}
    assert content.read("So 4 is right, not 5.").confirmed == {"4"}
    assert content.read("第一枚是 1 时不行，所以也是 5 种。").confirmed == {"5"}


def test_a_number_computed_like_a_percent_of_the_question_is_the_calculations_result():
    # "15% of 80" gives the question a 15; "0.25 × 60 = 15" computes one of the trace's own,
    # and the check of the second part reaches it
    steps = ["First, 15% of 80 is 0.15 × 80 = 12.", "Then, 25% of 60 is 0.25 × 60 = 15.",
             "So the sum is 12 + 15 = 27.",
             "Wait, let me double-check 15% of 80: 10% is 8 and 5% is 4, so 12. Right.",
             "And 25% of 60 is a quarter of 60, which is 15. Right."]  # fmt: skip
    assert _target(_mol("What is 15% of 80 plus 25% of 60?", steps), 4) == 1


def test_a_count_a_listing_confirms_points_at_the_step_that_computed_it():
    # "C(4, 2)" with a blank is the application "C(4,2)" written before; "That's 6" confirms
    steps = ["Each toss has 2 outcomes, so there are 2^4 = 16 sequences.",
             "Exactly 2 heads: choose which 2 of the 4 tosses are heads, C(4, 2).",
             "C(4, 2) = 4 × 3 / 2 = 6.", "So the probability is 6/16 = 3/8.",
             "Hmm, let me list them to be safe: HHTT, HTHT, HTTH, THHT, THTH, TTHH.",
             "That's 6, matching C(4, 2)."]  # fmt: skip
    mol = _mol("A fair coin is tossed 4 times. What is the probability of exactly 2 heads?", steps)
    assert _target(mol, 4) == _target(mol, 5) == 2
    assert content.read("C(4, 2) = 6").applied == {"c(4,2)"}
    assert content.read("That's 6, matching.").confirmed == {"6"}


def test_a_rejected_fraction_is_the_value_rejected():
    assert "0.5" in content.read("so the second is 4/9, not 1/2.").rejected


_PLATES = "Ten plates (5 blue, 2 red, 2 green, 1 orange) go around a round table. How many ways keep the 2 green plates apart?"  # fmt: skip
_PLATE_WORK = ["All arrangements around the circle: 9! / (5! * 2! * 2!) = 362880 / 480 = 756.",
               "With the two green plates glued together there are 9 units.",
               "So (9 - 1)! / (5! * 2!) = 40320 / (120 * 2) = 168 have them adjacent.",
               "So 756 - 168 = 588 ways keep them apart."]  # fmt: skip


def test_a_calculation_reaching_an_earlier_result_again_within_a_check_reruns_it():
    # The source cut the sentence at "8!": no claim of the piece parses alike, but its
    # expression and result were both stated at step 2.
    steps = [*_PLATE_WORK, "Let me double-check my reasoning.", "Then the glued case: 8!",
             "/ (5! * 2!) = 40320 / (120 * 2) = 168.", "That also seems correct."]  # fmt: skip
    mol = _mol(_PLATES, steps)
    assert mol.steps[6].role == "reflection" and _target(mol, 6) == 2


def test_a_recap_ends_the_check_before_it():
    steps = [*_PLATE_WORK, "Let me double-check my reasoning.", "Yes, 588 seems right.",
             "Just to recap:", "The glued case: 8!", "/ (5! * 2!) = 40320 / (120 * 2) = 168."]  # fmt: skip
    assert _mol(_PLATES, steps).steps[8].role != "reflection"
    assert lexicon.SUMS_UP_RE.match("So, to summarize:") and lexicon.SUMS_UP_RE.match("总结一下：")
    assert not lexicon.SUMS_UP_RE.match("Let me just recap to make sure I didn't slip.")


def test_a_doubt_after_a_step_combining_two_results_is_about_that_step():
    # "24 boxes with 12 eggs in each" restates no single step: the doubt is about it, not
    # about where 24 was first computed.
    steps = ["There are 4 × 6 = 24 boxes.", "Each box holds 2 × 6 = 12 eggs.",
             "So we have 24 boxes with 12 eggs in each.", "Hmm, is that right?"]  # fmt: skip
    mol = _mol("A shop has 4 shelves of 6 boxes; each box has 2 rows of 6 eggs. How many eggs?",
               steps)  # fmt: skip
    assert _target(mol, 3) == 2


def test_a_redo_right_after_a_correction_is_no_check():
    steps = ["设笔记本每本 x 元，那么钢笔每支 x + 8 元。", "3(x + 8) + 5x = 64，3x + 8 + 5x = 64，x = 7。",
             "等等，3(x + 8) 展开应该是 3x + 24，不是 3x + 8。", "重新算：3x + 24 + 5x = 64，8x = 40，x = 5。",
             "验算：钢笔 13 元，3 × 13 + 5 × 5 = 39 + 25 = 64 元，对。"]  # fmt: skip
    mol = _mol("3 支钢笔和 5 本笔记本共 64 元，钢笔比笔记本贵 8 元，笔记本每本多少元？", steps)
    assert mol.steps[3].role != "reflection" and _target(mol, 4) == 3
    assert lexicon.REDO_RE.match("Let me recompute with 150.")


def test_a_check_opening_on_its_own_does_not_go_on_with_the_check_before():
    steps = ["Ned was first.", "Mo finished right after Ned, so Mo was second.",
             "That leaves places 3 and 4 for Kai and Lin.", "Kai beat Lin, so Kai was third and Lin fourth.",
             "But Lin was not last. That's a contradiction.",
             "Let me re-read: 'Mo finished right after Ned' — yes, Mo is second."]  # fmt: skip
    mol = _mol("Kai beat Lin. Mo finished right after Ned. Lin was not last. Ned was first. "
               "Who finished where?", steps)  # fmt: skip
    assert _target(mol, 4) == 3 and _target(mol, 5) == 1
