"""Which earlier step a reflection points at, on short written traces
(bondkd.molecule.links). What counts as a reflection: tests/test_cues.py; what a correction
takes back: tests/test_correction_links.py; what a plain step uses:
tests/test_deduction_links.py."""

from __future__ import annotations

import pytest

from bondkd.config import AnalyzeConfig
from bondkd.molecule import content
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
