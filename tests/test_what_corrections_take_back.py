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
