"""Which earlier step a reflection points at, and what counts as a reflection, on short
written traces (bondkd.molecule.links, bondkd.molecule.bonds.behaviours)."""

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
