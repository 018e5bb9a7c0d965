"""What a step does, read from its words: which steps are checks, corrections and
alternatives, and which are not (bondkd.molecule.bonds.behaviours, bondkd.steps.phrases)."""

from __future__ import annotations

import pytest

from bondkd.config import AnalyzeConfig
from bondkd.molecule.bonds import behaviours
from bondkd.pipeline import analyze

LEX = AnalyzeConfig(backend="lexical")


def _mol(question: str, steps: list[str]):
    return analyze({"question": question, "steps": steps}, LEX)


def test_a_verdict_inside_a_supposed_case_is_no_check():
    steps = ["假设 A 说谎，那么 B 说真话。", "但 B 这句话就是假的，矛盾。", "假设 B 说谎，那么 A 说真话。",
             "B 说“我们都说真话”确实是假的，符合。"]  # fmt: skip
    assert behaviours(steps)[3] is None


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


def test_a_supposed_case_found_consistent_is_a_deduction():
    steps = ["Let me consider cases.", "Suppose A is a knight. Then B is a knave, as A says.",
             "B, a knave, says they are the same type, which is false. Consistent."]  # fmt: skip
    assert behaviours(steps)[2] is None


def test_a_contradiction_with_earlier_work_is_a_reflection():
    steps = ["设公差为 d，则 a3 = a1 + 2d = 7。", "又 a5 = a1 + 4d = 11，所以 d = 2。",
             "于是 a1 = 3，a10 = 3 + 18 = 21。", "这与前面求得的 a3 = 7 矛盾吗？代入 a3 = 3 + 4 = 7，不矛盾。"]  # fmt: skip
    mol = _mol("等差数列中 a3 = 7，a5 = 11，求 a10。", steps)
    assert mol.steps[3].role == "reflection"


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
        (
            "The speed at impact is 30 m/s, and ½ × 30 × 3 = 45 m, the height. Consistent.",
            "reflection",
        ),
        ("The formula n(n − 3)/2 gives 6 × 3 / 2 = 9 as well.", "reflection"),
        ("Quick substitution: 4(7 − 2) = 20 and 2(7) + 6 = 20. They match.", "reflection"),
        ("They match the pattern the next step needs.", None),
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
        # batch 23: a verdict after a doubt, a plausibility check, a correction by 其实
        ("The multipliers are 1.25 and 0.8, so yes, the two changes cancel.", "reflection"),
        ("这也符合直觉：7 是最常见的和，概率应该最大。", "reflection"),
        ("等等，下标从 0 开始，a[2] 其实是第三个元素 4。", "reflection"),
        ("He said yes to 3 of the 5 offers.", None),
        ("其实这就是一个等差数列。", None),
        # batch 24: a recount and its verdict, a second look
        ("让我列出来数一遍：3, 5, 6, 9, 10, 12, 15, 18, 20，确实是 9 个。", "reflection"),
        ("哦，长是宽的 2 倍，长加宽是 3 份，所以宽是 18 ÷ 3 = 6 厘米。", "reflection"),
        ("哦哦哦这道题很有意思。", None),
        # batch 27
        ("Step 5. And for a square: (4 − 2) × 180° = 360°, also correct.", "reflection"),
        ("我想想这个结果合不合理：斜边上的高应该比两条直角边都短。", "reflection"),
        ("The correct answer is 5.", None),
        # batch 33
        ("Same count, so the probability is 5/36.", "reflection"),
        ("That's not even an integer, so something is off.", "reflection"),
        # batch 34
        ("So the list of 6 is complete.", "reflection"),
        (
            "Also, 2 Ω is less than the smaller resistor, 3 Ω, as it should be for parallel.",
            "reflection",
        ),
        ("So the print sees [1, 2, 3], and the answer stays 2.", "reflection"),
        # batch 36
        ("The even ones are (1,3) and (3,1): 2 of 6, which is also 1/3.", "reflection"),
        ("Ann has 12, which is also 5 more than Tom.", None),
        ("再摸一个，不管是什么颜色，都会和前面某个颜色相同。", None),
        ("所以是 12，与前面算的一致。", "reflection"),
        ("And now 40 is 4 times 10, so the first condition holds too.", "reflection"),
        ("但是这两个方程都不可能成立，因为sqrt(3)是一个正数。", "reflection"),
        ("由于sinA和cosA是角A的正弦和余弦值，它们不可能同时为零。", None),
        # batch 82
        ("That's a clean number, which makes sense for a textbook problem.", "reflection"),
        # batch 78: a verdict closing the step
        ("So the total is 6 / 1326 = 1/221, the same.", "reflection"),
        ("That gives 35, which is the same answer.", "reflection"),
        ("Ann has 12 and Ben has the same.", None),
        # batch 75: "Also" leads a cue as "And" does
        ("Also plugging in: 2² − 5·2 + 6 = 4 − 10 + 6 = 0.", "reflection"),
        # batch 74: a deduction found to clash with a clue
        ("But Lin was not last. That's a contradiction.", "reflection"),
        # batch 71: a result the question cannot have
        ("That gives s = 35/3, which is not a whole number.", "reflection"),
        ("得 x = 9.6，不是整数，和人数对不上。", "reflection"),
    ],
)
def test_verdicts_and_cases(text, kind):
    steps = ["x − 3 = 5 或 x − 3 = −5, and 20 + 180 + 15 = 205.", text]
    assert behaviours(steps)[1] == kind


@pytest.mark.parametrize(
    ("text", "second"),
    [
        ("换个方法验证：19:45 到 21:45 是 2 小时，所以是 21:35。", True),
        ("也可以直接算：250 × 1.2 × 0.8 = 240 元，两种方法结果一致。", True),
        ("也可以一步算：250 × 0.8 × 1.2 = 250 × 0.96 = 240 元，结果一样。", True),
        ("我再用假设法想一遍：假设全是鸡，脚有 35 × 2 = 70 只。", True),
        ("用组合数核对：C(3,2) ÷ C(5,2) = 3/10，结果一致。", True),
        ("Let me double-check by counting differently: from 10:50 to 12:00 is 70 minutes.", True),
        ("Hmm, let me double-check with the average speed.", True),
        ("Let me double-check the first part with the average speed: (0 + 24) / 2 = 12.", True),
        ("换成分米再算一遍：5 × 4 × 3 = 60 立方分米，也就是 60 升。", True),
        ("To be safe, count directly: one head in 3 ways, two in 3 ways, three in 1 way.", True),
        ("That matches the rule that the first n odd numbers sum to n², and 20² = 400.", True),
        ("Let me check the height with v² = 2gh: 20² = 2 × 10 × h, so h = 20 m. Same.", True),
        ("Hmm, let me also sanity-check with a smaller range, 1 to 15.", False),
        ("Let me verify in one step: 250 × 0.8 × 0.9 = 250 × 0.72 = 180.", True),
        ("Using the formula n(n + 1)/2 = 50 × 51 / 2 = 1,275 as well.", True),
        ("用具体数验证：原价 100 元，降到 90 元，再降到 81 元，确实是 81%。", False),
        ("换个方法：把 6 种都列出来，和是偶数的有 2 个，也是 1/3。", True),
        ("换个方法：先算出每份是 20，这也是一个好办法。", False),
        ("Hmm, let me double-check the perimeter with these sides.", False),
        ("Another way to see it: the tank is 60% empty, and 0.6 × 250 = 150. Same answer.", True),
        ("But let me try another approach to verify.", True),
        ("I could also do it in one go: 40 × 0.85 × 1.08 = 36.72. Same thing.", True),
        ("我想再确认一下，用排列数 A(4,3) = 4!/(4−3)! = 24，一样。", True),
        ("By formula, ceil((20 − 2) / 3) = ceil(6) = 6, which matches.", True),
        ("Wait, did I miss anything? Let me get 240 another way instead: 300 − 60 = 240.", True),
        ("Wait, perhaps using the gap method instead.", False),
        ("By the formula for a triangle, the area is half the base times the height.", False),
        ("用 100 元验证一下：涨到 120 元，再降 24 元，是 96 元，确实是 96%。", False),
        ("也可以先求出 a 和 b 验证：a = 7，b = 3，a² − b² = 49 − 9 = 40，结果一致。", True),
        ("用公式 S = vt 计算路程。", False),
        ("再按顺序算一遍：先白后黑 2/5 × 3/4 = 6/20，先黑后白 6/20，合计 3/5，结果一致。", True),
        ("按顺序排列这些数。", False),
        ("让我直接列出来数一遍：3, 5, 6, 9, 10, 12, 15, 18, 20，确实是 9 个。", True),
        # the work at hand, or a substitution: no second method
        ("Let me verify by plugging x = 4 back into the original equation.", False),
        ("Let me check with the question: it asks for minutes.", False),
        ("我们可以用卡方检验来判断两者是否有关。", False),
        ("Another way to write this is 2^10.", False),
        ("也可以写成分数 3/4。", False),
        # any branch that works a result out and says it agrees, but not a plan or a case
        ("What if I used mass conservation instead? 4 + 32 = 36 g of water. That matches.", True),
        ("也许可以先求出 a、b 来核对：两式相加得 2a = 10，a = 5，b = 2。", True),
        ("Let's try that approach to cross-verify.", False),
        ("直接算核对一下：1 女 1 男有 3 × 4 = 12 种，2 女有 3 种，共 15 种，一致。", True),
        ("Suppose the price were 300: then 300 × 0.8 = 240, consistent.", False),
        ("换个顺序算算：每箱 40 × 50 = 2000 支，5 箱是 5 × 2000 = 10000 支，结果一样。", True),
        ("With combinations: C(4,2) / C(52,2) = 6 / 1326 = 1/221, the same.", True),
        # undoing the work checks it with no second method
        ("Let me verify by expanding: (x − 2)(x − 3) = x² − 5x + 6 ✓.", False),
    ],
)
def test_a_check_by_a_second_method_is_a_cross_check(text, second):
    """A check by a second method is a reflection of kind cross_check (it also opens an
    alternative, as the labelling guidelines give it both labels); the work at hand is not."""
    steps = ["Start: 250 × 1.2 = 300, and 300 × 0.8 = 240.", text]
    mol = _mol("q", steps)
    assert (mol.doc.steps[1].kind == "cross_check") is second
    if second:
        assert mol.doc.steps[1].role == "reflection"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("So, maybe it's actually 19 bits.", None),
        ("So perhaps the leading zero is dropped, giving 19 bits.", None),
        ("So, maybe I can first convert it to base 10.", "exploration"),
    ],
)
def test_a_hedged_conclusion_opens_no_alternative(text, kind):
    assert behaviours(["Each hex digit is 4 bits, so 5 digits give 20 bits.", text])[1] == kind
