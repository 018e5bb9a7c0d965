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
