"""Which earlier step a reflection points at, on short written traces
(bondkd.molecule.links). What counts as a reflection: tests/test_cues.py; what a correction
takes back: tests/test_correction_links.py; what a plain step uses:
tests/test_deduction_links.py."""

from __future__ import annotations

import pytest

from bondkd.config import AnalyzeConfig
from bondkd.molecule import content
from bondkd.pipeline import analyze
from bondkd.steps import lexicon

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


def test_a_check_of_a_piece_of_a_cut_sentence_checks_the_sentence():
    # R1 traces cut at every "!": the check is about the claim "… is 8!", not the piece
    # "/ (the factorials …)" that holds no result of its own; a piece that computes stays.
    steps = ["Treat the two green plates as one block, leaving 9 items.",
             "Therefore, the number of arrangements where they are adjacent is 8!",
             "/ (the factorials of the identical plates).",
             "Wait, but hold on: does combining the green plates change the counts of the "
             "other plates?",
             "So the total is (9-1)!", "/ (5! * 2!) = 40320 / 240 = 168.",
             "Wait, let me double-check that 168."]  # fmt: skip
    mol = _mol("In how many ways can 10 plates be arranged around a table?", steps)
    assert _target(mol, 3) == 1
    assert _target(mol, 6) == 5


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


def test_a_check_points_at_the_step_whose_result_it_reaches_again():
    # Not at the step that first added 20 + 60, one of the numbers it starts from.
    steps = ["第一份含盐 200 × 10% = 20 克。", "第二份含盐 300 × 20% = 60 克。",
             "混合后共有盐 20 + 60 = 80 克，盐水 200 + 300 = 500 克。", "浓度 = 80 ÷ 500 = 16%。",
             "换个方法验证：按加权平均，(10% × 200 + 20% × 300) ÷ 500 = (20 + 60) ÷ 500 = 16%，"
             "结果一致。"]  # fmt: skip
    mol = _mol(
        "把 200 克浓度为 10% 的盐水和 300 克浓度为 20% 的盐水混合，混合后浓度是多少？", steps
    )
    assert _target(mol, 4) == 3


def test_a_check_multiplying_back_tests_the_division_it_undoes():
    # "9 boxes × 8 cookies": the units keep 9 × 8 out of an expression, the step still
    # computes with 9, so it undoes "72 / 8 = 9", not the 3 × 24 that first made 72.
    steps = ["3 batches of 24 is 3 × 24 = 72 cookies.", "72 cookies in boxes of 8 fill 72 / 8 = 9 boxes.",
             "Sanity check: 9 boxes × 8 cookies = 72, and 72 / 3 = 24 per batch, as stated."]  # fmt: skip
    mol = _mol("A baker makes 3 batches of 24 cookies and packs them in boxes of 8.", steps)
    assert _target(mol, 2) == 1


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
