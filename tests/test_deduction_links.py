"""What a plain step uses (deduction links) and how a step's content is read for them:
values, fractions, symbols, units, function applications, cut sentences
(bondkd.molecule.links, bondkd.molecule.evidence, bondkd.molecule.content)."""

from __future__ import annotations

import pytest

from bondkd.molecule import content
from tests.test_links import _mol, _target


def test_a_coefficient_is_no_value():
    # "6x" holds no 6: only the numbers of the reasoning link steps.
    c = content.read("所以方程变为 6x − 5 = 4x + 7，v = 20m/s。")
    assert set(c.values) == {"5", "7", "20"} and "6" not in c.results
    # nor does "2xy"; a unit of two letters ("3km") stays a value
    assert content.read("(x + y)² = x² + 2xy + y²，3km。").values == {"3"}


def test_an_expression_with_a_unicode_minus_is_read():
    assert content.read("还剩 45 − 24 = 11 元。").exprs == {"45-24"}
    steps = ["3本笔记本一共 3 × 8 = 24 元。", "还剩 45 − 24 = 11 元。",
             "不对，45 − 24 应该是 21，我刚才算错了。", "所以小红还剩21元。"]  # fmt: skip
    mol = _mol("小红有45元，买了3本笔记本，每本8元，还剩多少钱？", steps)
    assert mol.steps[2].kind == "correction" and _target(mol, 2) == 1


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


def _count_calls(monkeypatch, modules, name: str) -> list[int]:
    """Replace `name` in each of `modules` by a wrapper counting its calls; returns the
    one-element counter."""
    calls = [0]
    original = getattr(modules[0], name)

    def counted(*args):
        calls[0] += 1
        return original(*args)

    for module in modules:
        monkeypatch.setattr(module, name, counted)
    return calls


def test_finding_where_cut_sentences_began_is_linear(monkeypatch):
    # A trace of 2,000 pieces that each open mid-expression once made `choose` walk back
    # over all of them for every step (a 200,000-line hostile input took 31 s, not 4).
    from bondkd.molecule import evidence, links

    calls = _count_calls(monkeypatch, (evidence, links), "fragment")
    n = 2000
    _mol("What is 1 + 1?", ["We add:", *("+ 1" for _ in range(n)), "Wait, let me check that."])
    assert calls[0] <= 4 * n


def test_finding_which_step_a_check_redoes_is_linear(monkeypatch):
    # A trace computing 12 on every step once made each step compare its operands with
    # every earlier step computing 12 (the hostile 1 MB trace went from 6 s to over 30 s).
    from bondkd.molecule import tested

    calls = _count_calls(monkeypatch, (tested,), "_operands")
    n = 2000
    _mol("Tom has 3 boxes of 4 apples. How many?", ["3 * 4 = 12. Check: 12 / 4 = 3."] * n)
    assert calls[0] <= 10 * n


def test_a_step_using_the_variable_just_introduced_carries_on_from_it():
    steps = ["嗯，设这个数是 x。", "根据题意，3x + 14 = 5x − 6。", "移项得 20 = 2x，所以 x = 10。"]
    mol = _mol("一个数的 3 倍加上 14 等于这个数的 5 倍减去 6，这个数是多少？", steps)
    assert any(b.source == 1 and b.target == 0 and b.type == "strong_logic" for b in mol.bonds)


def test_a_symbol_is_used_from_the_step_that_last_wrote_it():
    # Algebra carries no numbers to trace: y_E comes from the step that found it, far back.
    steps = [r"设 \(E\) 的坐标为 \((0, y_E)\)。", r"\[y_E = \frac{ab}{a + c}\]",
             "接下来看直线 AE 的斜率。", "它经过点 A 和点 E。", "再看线段 AE 的中点。",
             "中点在 AE 上。", r"\[y_M = \frac{y_E c}{2a}\]"]  # fmt: skip
    mol = _mol("椭圆上的点 M 在 AE 上，求 M 的纵坐标。", steps)
    assert any(b.source == 6 and b.target == 1 and b.type == "strong_logic" for b in mol.bonds)


def test_an_answer_taking_no_value_restates_the_conclusion_before_a_check():
    steps = ["假设甲总说真话，那么乙总说假话，也符合。", "假设乙总说真话，矛盾。",
             "所以只有甲总说真话的情况成立。", "再核对一遍：三句话都对得上。", "答：甲总说真话。"]  # fmt: skip
    mol = _mol("谁总说真话？", steps)
    assert any(b.source == 4 and b.target == 2 and b.type == "strong_logic" for b in mol.bonds)


def test_a_conclusion_after_a_case_analysis_uses_the_case_that_survived():
    steps = ["逐个假设。", "若 A 说真话，则 B 说谎，于是 C 说真话，与只有一人说真话矛盾。",
             "若 B 说真话，则 C 说谎，A 说谎即 B 说真话，一致。",
             "若 C 说真话，则 A、B 都说谎，可 A 说谎意味着 B 说真话，矛盾。", "所以只有 B 说了真话。"]  # fmt: skip
    mol = _mol("A、B、C 三人中只有一人说了真话。谁说了真话？", steps)
    assert any(b.source == 4 and b.target == 2 and b.type == "strong_logic" for b in mol.bonds)


def test_a_value_in_another_unit_uses_the_step_it_converts():
    steps = ["So the energy is 1500 × 240 = 360,000 J.", "The kettle is rated for it.",
             "In kJ that is 360 kJ.", "That's 0.1 kWh, since 1 kWh = 3600 kJ."]  # fmt: skip
    mol = _mol("A 1500 W kettle runs for 240 s. How much energy does it use, in kJ?", steps)
    assert any(b.source == 2 and b.target == 0 and b.type == "strong_logic" for b in mol.bonds)
    # "That's" opening a step carries on from the step before
    assert any(b.source == 3 and b.target == 2 and b.type == "strong_logic" for b in mol.bonds)


def test_a_function_applied_comes_from_the_step_that_stated_its_value():
    steps = ["f(0) = 1 and f(1) = 1.", "f(2) = f(1) + f(0) = 2.", "f(3) = f(2) + f(1) = 3.",
             "f(4) = f(3) + f(2) = 5.", "f(5) = f(4) + f(3) = 8.",
             "Hold on, does f(0) return 1? The condition is n <= 1, and 0 <= 1, so yes."]  # fmt: skip
    mol = _mol("f(n) = 1 if n <= 1 else f(n - 1) + f(n - 2). What is f(5)?", steps)
    assert _target(mol, 5) == 0
    uses = {b.target for b in mol.bonds if b.source == 3 and b.type == "strong_logic"}
    assert {1, 2} <= uses  # f(3) and f(2) come from the steps that gave them
    read = content.read("f(2) = f(1) + f(0) = 2, and C(4,2) = 6.")
    assert read.applied == {"f(0)", "f(1)", "f(2)", "c(4,2)"}
    assert read.defined == {"f(2)", "c(4,2)"}


def test_a_calculation_in_words_is_an_expression_and_redone_alike_redoes_no_other():
    assert content.read("So 12 times 167 is 2004.").exprs == {"12*167"}
    assert content.read("2004 divided by 12 is 167").exprs == {"2004/12"}
    assert content.read("Ann has 3 times as many").exprs == set()
    steps = ["Step 1. 12 goes into 84 seven times because 12 * 7 = 84.",
             "Step 2. So, adding that to the quotient: 160 + 7 = 167.",
             "Step 3. Therefore, 12 times 167 is 2004, and the remainder is 0.",
             "Step 4. Wait, but that can't be right because 12 times 167 is 2004, which is exactly "
             "divisible by 12."]  # fmt: skip
    mol = _mol("What is the remainder when 2004 is divided by 12?", steps)
    assert _target(mol, 3) == 2  # not "12 * 7" with one number changed


def test_that_list_carries_on_from_the_step_before():
    steps = ["'hello world'.split() splits on whitespace into ['hello', 'world'].",
             "len of that list is 2."]  # fmt: skip
    mol = _mol("What does len('hello world'.split()) return?", steps)
    assert any(b.source == 1 and b.target == 0 and b.type == "strong_logic" for b in mol.bonds)


def test_a_step_sharing_a_term_of_its_own_with_the_step_before_carries_on_from_it():
    steps = ["The only way to get no heads is TTT.", "P(TTT) = (1/2)³ = 1/8."]
    mol = _mol(
        "A fair coin is tossed 3 times. What is the probability of at least one head?", steps
    )
    assert any(b.source == 1 and b.target == 0 and b.type == "strong_logic" for b in mol.bonds)


def test_a_step_opening_with_it_carries_on_from_the_step_before():
    steps = ["The box labelled Mixed is not mixed, since every label is wrong.",
             "It gave an apple, so it must be the Apples box."]  # fmt: skip
    mol = _mol("Three boxes are labelled Apples, Oranges and Mixed; every label is wrong. "
               "A fruit from the box labelled Mixed is an apple. What is in each box?", steps)  # fmt: skip
    assert any(b.source == 1 and b.target == 0 and b.type == "strong_logic" for b in mol.bonds)


@pytest.mark.parametrize(
    "rewrite", ["移项：540 = 20t，所以 t = 27。", "Rearranging: 540 = 20t, so t = 27."]
)
def test_a_step_rewriting_the_equation_before_it_uses_it(rewrite):
    steps = [
        "设规定时间是 t 分钟。",
        "路程相等：60(t + 5) = 80(t − 3)。",
        "展开：60t + 300 = 80t − 240。",
        rewrite,
    ]
    mol = _mol("问题", steps)
    for j in (2, 3):
        assert any(
            b.source == j and b.target == j - 1 and b.type == "strong_logic" for b in mol.bonds
        )


def test_a_step_putting_numbers_into_the_formula_before_it_uses_it():
    mol = _mol(
        "半径 10 厘米的圆面积是多少？",
        ["圆的面积 = π × r²。", "代入 10：3.14 × 10² = 314 平方厘米。"],
    )
    assert any(b.source == 1 and b.target == 0 and b.type == "strong_logic" for b in mol.bonds)
