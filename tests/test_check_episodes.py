"""A check inside a longer trace: what opens it, how its verdict and replies go on with it,
which step a second method or a comparison is about, and what cannot be checked at all
(bondkd.molecule.bonds.behaviours, bondkd.molecule.links, bondkd.molecule.episodes)."""

from __future__ import annotations

import pytest

from bondkd.molecule import content
from bondkd.molecule.bonds import behaviours
from bondkd.steps import lexicon
from tests.test_links import _mol, _target

METER = "甲、乙两地相距 360 千米，客车先走 1 小时，货车出发几小时后相遇？"
METER_STEPS = [
    "客车 1 小时走了 60 × 1 = 60 千米。",
    "这时两车之间还剩 360 − 60 = 300 千米。",
    "速度和是 60 + 40 = 100 千米/小时。",
    "所以货车出发后还要 300 ÷ 100 = 3 小时相遇。",
    "客车一共行驶了 1 + 3 = 4 小时。",
    "所以客车走了 60 × 4 = 240 千米。",
    "验证一下：货车 3 小时走了 40 × 3 = 120 千米，240 + 120 = 360 千米，正好是全程 ✓。",
]


@pytest.mark.parametrize(
    ("text", "reflects"),
    [
        ("Cookie revenue: 500 × 1.40 = 700 and 15 × 1.40 = 21, so 721. That matches too.", True),
        ("这样就是整数了，看起来合理。", True),
        ("相遇点离甲地 60 × (3 + 1) = 240 千米，也一样。", True),
        ("结论一样，说真话的是乙。", True),
        ("三句话里恰好只有一句真话，没问题。", True),
        ("直觉上，客车先走了 1 小时，相遇应该更早。", True),
        ("是的，300 千米是货车出发时两车之间的距离。", True),
        ("没问题的地方是第二步。", False),  # not a verdict closing a clause
        ("这个方法合理地利用了对称性。", False),
    ],
)
def test_verdict_and_plausibility_cues(text, reflects):
    assert behaviours(["甲有 5 个苹果，乙有 3 个。", text])[1] == (
        "reflection" if reflects else None
    )


@pytest.mark.parametrize(
    "steps",
    [
        ["只有一人说真话。", "先假设甲说真话。", "那么丙在说谎，乙也在说谎。",
         "乙说“丙在说谎”，丙确实在说谎，所以乙这句是真话，矛盾。", "最后假设丙说真话。",
         "那么甲和乙都在说谎。", "乙说谎意味着丙说真话，这没问题。"],
        ["只有一人说真话。", "再假设乙说真话。", "那么丙在说谎，甲也在说谎。",
         "丙说“甲和乙都在说谎”，而乙说的是真话，所以丙这句是假的，也一致。"],
    ],
)  # fmt: skip
def test_cases_opened_by_any_ordinal_and_closed_as_consistent(steps):
    got = behaviours(steps)
    opens = [k for k, t in enumerate(steps) if lexicon.SUPPOSES_RE.match(t)]
    assert opens and all(got[k] == "exploration" for k in opens)
    assert got[-1] is None  # "这没问题" / "也一致" inside a supposed case closes it


@pytest.mark.parametrize(
    "opening",
    [
        "Okay, so I have this problem: I need to find the number of x-intercepts.",
        "Alright, so I've got this problem here where a mother arranges plates.",
        "好，我需要求货车出发几小时后两车相遇。",
        "好的，这是一道真假话推理题，三个人里只有一个人说真话。",
    ],
)
def test_nothing_is_checked_before_a_step_claims_more_than_the_task(opening):
    plans = ["Hmm, let me think about how to approach this.", "我可以逐个假设，看会不会出现矛盾。",
             "先确认一下题目给的数据：全程 360 千米。"]  # fmt: skip
    for plan in plans:
        got = behaviours([opening, plan, "So 3 × 4 = 12.", "Let me check: 12 / 4 = 3 ✓."])
        assert got[1] is None
        assert got[3] == "reflection"  # once something is claimed, checks count again


def test_a_check_naming_a_value_it_found_before_checks_where_it_was_computed():
    asks = "等等，题目问的是货车出发几小时后相遇，我算的 3 小时是从货车出发开始算的吗？"
    assert "3" in content.read(asks).confirmed
    assert "3" not in content.read("等等，3 小时是从货车出发开始算的吗？").confirmed
    mol = _mol(
        METER,
        [*METER_STEPS, asks, "是的，300 千米是货车出发时两车之间的距离，所以是从货车出发算起的。"],
    )
    assert _target(mol, 7) == 3
    # the reply goes on with the question it answers, whatever values explain it
    assert _target(mol, 8) == 3


def test_a_second_method_checks_the_result_it_reaches_not_where_its_operands_were():
    steps = ["There are 6 × 6 = 36 outcomes.", "If the first die is 1, the second must be 6: 1 pair.",
             "If it is 2, the second is 3 or 6: 2 pairs.", "If it is 3, the second is 2, 4 or 6: 3 pairs.",
             "If it is 4, the second is 3 or 6: 2 pairs.", "If it is 5, only 6 works: 1 pair.",
             "If it is 6, anything works: 6 pairs.", "Adding up: 1 + 2 + 3 + 2 + 1 + 6 = 15 pairs.",
             "So the probability is 15/36 = 5/12.", "Hmm, let me check this with the complement, to be safe.",
             "No factor 2 means both dice are odd: 3 × 3 = 9 pairs.",
             "No factor 3 means both are in {1, 2, 4, 5}: 4 × 4 = 16 pairs."]  # fmt: skip
    mol = _mol("Two dice: P(product is a multiple of 6)?", steps)
    assert mol.doc.steps[9].kind == "cross_check"
    assert _target(mol, 9) == 8  # "this": the claim just made, not the 3 or 2 of step 2


def test_a_correction_redoing_a_far_calculation_corrects_that_one():
    steps = ["There are 6 × 6 = 36 outcomes.", "Adding the cases: 1 + 2 + 3 + 2 + 1 + 6 = 16 pairs.",
             "So the probability is 16/36 = 4/9.", "Let me check this with the complement.",
             "Both dice odd: 3 × 3 = 9 pairs.",
             "It lacks a factor of 3 when neither die is 3 or 6, so both are in {1, 2, 4, 5}: 4 × 4 = 16 pairs.",
             "Both: 2 × 2 = 4 pairs.", "So 9 + 16 − 4 = 21 fail, and 36 − 21 = 15 pairs work.",
             "That is 1 + 2 + 3 + 2 + 1 + 6 = 15. I added wrong before: it's 15, not 16."]  # fmt: skip
    mol = _mol("Two dice: P(product is a multiple of 6)?", steps)
    assert mol.doc.steps[8].kind == "correction"
    assert _target(mol, 8) == 1  # not the 4 × 4 = 16 of step 5, nor step 7 that used 16


def test_comparisons_are_about_the_first_method():
    steps = ["Adding the cases: 1 + 2 + 3 + 2 + 1 + 6 = 16 pairs.", "So the probability is 16/36.",
             "Hmm, let me check this with the complement.", "Both dice odd: 3 × 3 = 9 pairs.",
             "So 9 + 16 − 4 = 21 fail, and 36 − 21 = 15 pairs work.",
             "Wait, the complement gives 15 favourable pairs, but the direct count gave 16."]  # fmt: skip
    assert _target(_mol("Two dice: P(product is a multiple of 6)?", steps), 5) == 0
    truth = ["只有一人说真话。", "假设甲说真话，那么丙也说真话，矛盾。", "假设乙说真话，那么甲、丙都说谎，符合。",
             "因此说真话的是乙。", "另外也可以换个角度：甲说乙在说谎，所以甲和乙一真一假。",
             "既然只有一人说真话，丙一定在说谎，所以乙说的是真话。", "结论一样，说真话的是乙。"]  # fmt: skip
    assert _target(_mol("谁说了真话？", truth), 6) == 3  # the conclusion it says again


def test_a_rejected_calculation_is_no_rejected_operand():
    c = content.read('"37 fewer than three times" means 3 × 184 − 37, not 3 × (184 − 37).')
    assert not c.rejected and c.rejected_forms
    assert "0.5" in content.read("so the second is 4/9, not 1/2.").rejected  # a fraction
    assert content.read("It's 408, not 418.").rejected == {"418"}


BAKERY = [
    "3 × 184 = 552, and 552 − 37 = 515 cookies.",
    "184 × 2.75 = 184 × 2 + 184 × 0.75 = 368 + 138 = 506 dollars.",
    "And from cookies: 515 × 1.40 = 721 dollars.",
    "So the total revenue is 506 + 721 = 1,227 dollars.",
    "0.38 × 1,227 = 456.26 dollars.",
    "So the profit would be 1,227 − 456.26 − 312 = 458.74 dollars.",
    "Hmm, let me go back over each part before I settle on 458.74.",
]


def test_a_check_reaching_a_value_again_is_whole_so_the_next_check_is_its_own():
    steps = [*BAKERY, "Muffin revenue another way: 2.75 × 200 = 550, minus 2.75 × 16 = 44, gives 506 again.",
             "Cookie revenue: 500 × 1.40 = 700 and 15 × 1.40 = 21, so 721. That matches too."]  # fmt: skip
    assert "506" in content.read(steps[7]).confirmed
    mol = _mol("A bakery's profit?", steps)
    assert (_target(mol, 7), _target(mol, 8)) == (1, 2)


def test_a_calculation_written_in_another_order_is_the_same_calculation():
    assert content.read("1,227 × 0.38").exprs == content.read("0.38 × 1,227 = 466.26").exprs
    assert content.read("2 + 5 + 1 = 8").exprs == content.read("1 + 2 + 5").exprs
    assert content.read("12 − 8 = 4").exprs != content.read("8 − 12 = −4").exprs
    mol = _mol("A bakery's profit?", [*BAKERY, "Now the ingredients again: 1,227 × 0.38."])
    assert _target(mol, 7) == 4  # re-run inside the check: the step that computed it


@pytest.mark.parametrize(
    ("text", "op"),
    [("嗯，3.1 小时不太整齐，让我检查一下前面的减法。", "-"),
     ("Let me double-check the addition: 1/6 is 0.1667 and 1/9 is 0.1111.", "+"),
     ("Let me check my multiplication: 12 * 167 = 2004.", "*"),
     ("I should check the division", "/")],
)  # fmt: skip
def test_the_operation_a_check_names(text, op):
    assert content.read(text).checked_ops == {op}


def test_a_check_naming_the_operation_checks_where_it_was_computed():
    steps = ["客车 1 小时走了 60 × 1 = 60 千米。", "这时两车之间还剩 360 − 60 = 310 千米。",
             "速度和是 60 + 40 = 100 千米/小时。", "所以还要 310 ÷ 100 = 3.1 小时。",
             "嗯，3.1 小时不太整齐，让我检查一下前面的减法。"]  # fmt: skip
    assert _target(_mol(METER, steps), 4) == 1


def test_after_a_correction_both_methods_agree_on_the_corrected_value():
    steps = ["Adding the cases: 1 + 2 + 3 + 2 + 1 + 6 = 16 pairs.", "So the probability is 16/36.",
             "Hmm, let me check this with the complement.", "Both dice odd: 3 × 3 = 9 pairs.",
             "So 9 + 16 − 4 = 21 fail, and 36 − 21 = 15 pairs work.",
             "Wait, the complement gives 15 favourable pairs, but the direct count gave 16.",
             "That is 1 + 2 + 3 + 2 + 1 + 6 = 15. I added wrong before: it's 15, not 16.",
             "So the probability is 15/36 = 5/12.", "Now both methods agree on 15 favourable pairs out of 36.",
             "As a sanity check, 5/12 is about 0.42, a bit under one half.",
             "That seems right: the product is even in 27 of the 36 outcomes, so needing a 3 too lands lower.",
             "So the answer is 15/36 = 5/12."]  # fmt: skip
    mol = _mol("Two dice: P(product is a multiple of 6)?", steps)
    assert _target(mol, 8) == 6  # the correction computed the first method's 15
    assert _target(mol, 10) == _target(mol, 9) == 7  # a verdict opening the step goes on
    assert mol.doc.steps[11].role != "reflection"  # the answer stated is no re-run


def test_a_bare_check_after_a_case_analysis_still_bonds_to_the_case_that_survived():
    steps = [
        "好的，这是一道真假话推理题，三个人里只有一个人说真话。",
        "我可以逐个假设谁说了真话，看会不会出现矛盾。",
        "先假设甲说真话。",
        "那么乙在说谎，也就是“丙在说谎”这句话是假的，所以丙说的是真话。",
        "这样甲和丙都说真话，和“只有一人说真话”矛盾。",
        "所以甲不是说真话的人。",
        "再假设乙说真话。",
        "那么丙在说谎，甲也在说谎。",
        "甲说“乙在说谎”是假的，说明乙没说谎，这和假设一致。",
        "丙说“甲和乙都在说谎”，而乙说的是真话，所以丙这句话是假的，也一致。",
        "只有乙一人说真话，满足条件。",
        "最后假设丙说真话。",
        "那么甲和乙都在说谎。",
        "乙说谎意味着“丙在说谎”是假的，也就是丙说真话，这没问题。",
        "但甲说谎意味着“乙在说谎”是假的，也就是乙说的是真话，和乙在说谎矛盾。",
        "所以丙也不是说真话的人。",
        "因此说真话的是乙。",
        "等等，让我再检查一下乙的情况，确保没有漏掉什么。",
    ]
    # it shares nothing with the case (no pair scored it): the case is a candidate still
    assert _target(_mol("谁说了真话？", steps), 17) == 10


def test_listing_the_cases_again_is_a_check():
    steps = ["Adding the cases: 1 + 2 + 3 = 7.",
             "Let me list the direct cases again: 1 → {6}, 2 → {3, 6}, 3 → {2, 4, 6}."]  # fmt: skip
    assert behaviours(steps)[1] == "reflection"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Oh, I see: 14 m is the diameter, so the garden's radius is 7 m.", "reflection"),
        ("A ring that wide should cover about 44 m², so 91 m² is too big.", "reflection"),
        ("The bag is too heavy to carry, so we split it.", None),  # no verdict closing a clause
        ("果然，1/12 + 1/18 不能把分子分母分别相加，应该通分：3/36 + 2/36 = 5/36。", "reflection"),
    ],
)
def test_realising_judging_and_rejecting_a_method(text, kind):
    assert behaviours(["The area is 22/7 × 196 = 616 m².", text])[1] == kind


def test_a_method_rejected_in_chinese_corrects_the_calculation_it_names():
    steps = ["把工程总量看作 1，甲每天完成 1/12，乙每天完成 1/18。", "两人合作每天完成 1/12 + 1/18 = 2/30 = 1/15。",
             "合作 4 天完成 4 × 1/15 = 4/15。", "剩下 1 − 4/15 = 11/15。", "乙还要 11/15 ÷ 1/18 = 13.2 天。",
             "嗯，13.2 天不是整数，我怀疑前面有错。",
             "果然，1/12 + 1/18 不能把分子分母分别相加，应该通分：3/36 + 2/36 = 5/36。"]  # fmt: skip
    mol = _mol("乙还要做几天？", steps)
    assert mol.doc.steps[6].kind == "correction" and _target(mol, 6) == 1


def test_the_answer_after_a_long_check_states_the_conclusion_and_is_bonded_to_it():
    steps = ["只有一人说真话。", "先假设甲说真话。", "那么丙也说真话，矛盾。", "所以甲不是说真话的人。",
             "再假设乙说真话。", "那么甲、丙都在说谎，满足条件。", "最后假设丙说真话。",
             "那么甲和乙都在说谎，乙说谎意味着丙说谎，矛盾。", "因此说真话的是乙。",
             "等等，让我再检查一下乙的情况。", "乙真：丙假，成立。", "甲假：乙确实没说谎，成立。",
             "另外也可以换个角度：甲和乙一真一假。", "再看乙说“丙在说谎”，丙确实在说谎，乙说的是真话。",
             "结论一样，说真话的是乙。", "答：乙说了真话。"]  # fmt: skip
    mol = _mol("谁说了真话？", steps)
    used = {b.target for b in mol.bonds if b.source == 15 and b.type == "strong_logic"}
    assert 8 in used  # the latest plain conclusion, not the second method's last step


def test_redoing_after_a_correction_and_working_out_a_second_method_are_no_checks():
    steps = ["7^2 = 49 ≡ 10.", "7^3 ≡ 10 × 7 = 70, and 70 − 65 = 6.", "7^4 ≡ 6 × 7 = 42 ≡ 3.",
             "Wait, 70 − 65 = 5, not 6. That's where I slipped.", "So 7^3 ≡ 5 and 7^4 ≡ 35 ≡ 9.",
             "That matches 2401 mod 13.", "Let me redo the rest of the table to see the real cycle.",
             "7^5 ≡ 9 × 7 = 63 ≡ 11.", "With 7^6 ≡ −1 there's a second route: 100 = 6 × 16 + 4.",
             "Both routes give 9."]  # fmt: skip
    got = behaviours(steps)
    assert got[6] is None  # the redone work of the correction three steps before
    assert (got[8], got[9]) == ("exploration", "reflection")
    hens = ["假设全是鸡，脚有 35 × 2 = 70 只。", "多了 94 − 70 = 24 只，兔有 24 ÷ 2 = 12 只。",
            "鸡有 35 − 12 = 23 只。", "再用方程验证一下：设鸡 x 只，兔 y 只。", "x + y = 35，2x + 4y = 94。",
            "两式相减得 2y = 24，y = 12。", "x = 35 − 12 = 23。", "和假设法的结果一样。"]  # fmt: skip
    mol = _mol("鸡兔同笼：35 个头，94 只脚。", hens)
    assert mol.doc.steps[6].role != "reflection"  # the second method's own step, no re-run


def test_an_error_somewhere_is_a_doubt_not_a_correction():
    assert lexicon.says_wrong("94 − 70 应该是 24，不是 34，我减错了。")
    assert not lexicon.says_wrong("差了 10 只脚，说明前面有一步算错了。")
