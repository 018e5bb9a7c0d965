"""Cue classes (EN + ZH), their priority, word boundaries, split markers, negation, refusal."""

import re

import pytest

from bondkd.steps import lexicon, markers, phrases
from bondkd.steps.lexicon import CUE_KINDS, cue_kind, has_cue


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # reflection
        ("Wait, that can't be right.", "reflection"),
        ("Hmm, 48 seems too big.", "reflection"),
        ("Hmmm... let me think.", "reflection"),
        ("Let me double-check the sum: 12 + 36 = 48.", "reflection"),
        ("Let me recheck the seat count.", "reflection"),
        ("Hold on, the rows were 13, not 12.", "reflection"),
        ("Actually, 96 + 72 is 168.", "reflection"),
        ("On second thought, the discount applies first.", "reflection"),
        ("Checking units: J/W gives seconds.", "reflection"),
        ("Verify: 7 × 8 = 56 ✓", "reflection"),
        ("That's wrong, the total is 52.", "reflection"),
        ("I made a mistake in the second step.", "reflection"),
        ("Let's verify with x = 3.", "reflection"),
        ("Plugging x = 6 back in, both sides are 23.", "reflection"),
        ("等等，让我检查一下 48 × 35。", "reflection"),
        ("等一下，这里好像不对。", "reflection"),
        ("让我检查一下前面的乘法。", "reflection"),
        ("检查一下：3 × 16 = 48。", "reflection"),
        ("验证：73 × 20 + 10 = 1470。", "reflection"),
        ("核对一下总数。", "reflection"),
        ("不对，应该是 1680。", "reflection"),
        ("重新计算：48 × 35 = 1680。", "reflection"),
        ("实际上，这个数应该更小。", "reflection"),
        # exploration
        ("Alternatively, we can enumerate the factor pairs.", "exploration"),
        ("Another approach is to use the area formula.", "exploration"),
        ("Or we could count the complement instead.", "exploration"),
        ("Maybe the trains meet before noon.", "exploration"),
        ("Perhaps x is negative.", "exploration"),
        ("Suppose A is a knight.", "exploration"),
        ("What if the target is larger than every element?", "exploration"),
        ("Let's try n = 4.", "exploration"),
        ("Assume the speed is constant.", "exploration"),
        ("Consider the case where both dice are even.", "exploration"),
        ("或者用能量守恒来求速度。", "exploration"),
        ("另一种方法是直接枚举。", "exploration"),
        ("换一种思路，用间接法。", "exploration"),
        ("也许答案是 12。", "exploration"),
        ("假设 35 只全是鸡。", "exploration"),
        ("不妨设工程总量为 36 份。", "exploration"),
        ("试试 x = 2。", "exploration"),
        # conclusion
        ("Therefore the answer is 83.", "conclusion"),
        ("Thus x = 6.", "conclusion"),
        ("So there are 414 seats.", "conclusion"),
        ("Hence the area is 24.", "conclusion"),
        ("This means each bowl gets 6.", "conclusion"),
        ("As a result, 119 packs are needed.", "conclusion"),
        ("In total, 1470 apples are left.", "conclusion"),
        ("因此一共有 48 棵树。", "conclusion"),
        ("所以苹果总数是 1680 个。", "conclusion"),
        ("综上，可以装满 73 箱。", "conclusion"),
        ("故答案为 5。", "conclusion"),
        # sequence
        ("First, count the rows.", "sequence"),
        ("Next, subtract the blocked seats.", "sequence"),
        ("Then each student gets 3 notebooks.", "sequence"),
        ("Now divide by 10.", "sequence"),
        ("After that, round up.", "sequence"),
        ("Step 3: add the totals.", "sequence"),
        ("首先，果园共有 3 排苹果树。", "sequence"),
        ("然后，每棵树结 35 个苹果。", "sequence"),
        ("接下来计算箱数。", "sequence"),
        ("第一步：求出总数。", "sequence"),
        # none
        ("The theatre has 23 rows of 18 seats.", None),
        ("每排 16 棵树。", None),
        ("故事里有 3 个人。", None),  # 故 inside 故事 is not "hence"
        ("Solve for x in the equation.", None),  # "so" inside "Solve"
    ],
)
def test_cue_classes(text: str, kind: str | None) -> None:
    assert cue_kind(text) == kind


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "  ",
        "1. ",
        "2) ",
        "- ",
        "* ",
        "• ",
        "Step 2: ",
        "(a) ",
        "第二步：",
        "一、",
        '"',
        "【思考过程】",
    ],
)
def test_cue_after_list_markers_and_opening_punctuation(prefix: str) -> None:
    assert cue_kind(prefix + "Wait, the count is off.") == "reflection"
    assert cue_kind(prefix + "所以答案是 73。") == "conclusion"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("So wait, 17 × 24 is 408.", "reflection"),  # a check first, a consequence second
        ("But wait, that skips a row.", "reflection"),
        ("Then let me verify this with x = 2.", "reflection"),
        ("So maybe the answer is 12.", "exploration"),
        ("Now try Dee in 3rd place.", "exploration"),
        ("So then the total is 7.", "conclusion"),  # conclusion outranks sequence
        ("所以等等，这里不对。", "reflection"),
        ("那么假设乙说真话。", "exploration"),
        ("再假设丙说真话。", "exploration"),
        ("然后因此得到 5。", "conclusion"),
    ],
)
def test_priority_reflection_exploration_conclusion_sequence(text: str, kind: str) -> None:
    assert cue_kind(text) == kind
    assert has_cue(text, kind)


def test_priority_order_is_exported() -> None:
    assert CUE_KINDS == ("reflection", "exploration", "conclusion", "sequence")


@pytest.mark.parametrize(
    "text",
    [
        "The awaited result is 12.",
        "Waiting for the bus takes 5 minutes.",
        "Somewhere in the list is 7.",
        "Thenceforth the sum grows.",
        "Nowhere is it larger.",
        "Maybelline sells 3 items.",
        "Supposedly 4.",
    ],
)
def test_english_cues_need_word_boundaries(text: str) -> None:
    assert cue_kind(text) is None


def test_has_cue_finds_reflection_mid_sentence_only() -> None:
    mid = "Guessing could miss a pair, so let me also solve it directly to make sure."
    assert cue_kind(mid) is None
    assert has_cue(mid, "reflection")
    assert has_cue("Adding gives 13/28, the same as before ✓.", "reflection")
    assert has_cue("两种方法得到的速度相同，与前面的结果一致。", "reflection")
    assert has_cue("36 ÷ 5 = 7.2 天，与上面的结果相同。", "reflection")
    assert has_cue("(80 × 3 + 75 × 2) / 5 = 78 km/h, which matches.", "reflection")
    assert has_cue("That is 12 pairs, so 24 divisors, the same as the formula gave.", "reflection")
    assert has_cue("So $49.14 is in the right range.", "reflection")
    assert has_cue("解得 t = 3，两种方法结果一致。", "reflection")
    assert has_cue("210 + 150 = 360 千米，正好是全程。", "reflection")
    assert not has_cue("两车正好是相向而行。", "reflection")
    assert has_cue("两人每天做 5 份，36 ÷ 5 = 7.2 天，和前面一样。", "reflection")
    # "as before, let x be …" goes on alike; "it works 8 hours a day" states a fact
    assert not has_cue("和前面一样，设工程总量为 1。", "reflection")
    assert not has_cue("The pump works 8 hours, so it works harder than the fan.", "reflection")
    assert has_cue("And the door: 2 × 0.9 = 1.8. Correct.", "reflection")
    assert has_cue("检查：12 + 6 + 12 + 6 = 36，没错。", "reflection")
    assert not has_cue("He said yes. Then we left.", "reflection")
    assert has_cue("把 x = 6 代回原方程：3 × 6 + 7 = 25。", "reflection")
    assert cue_kind("代回原方程检验：3 × 6 + 7 = 25。") == "reflection"
    assert cue_kind("Is that plausible? About 26 liters at $2 is $52.") == "reflection"
    # a verdict must close its clause: "which matches the pattern" states a fact
    assert not has_cue("We need a word which matches the pattern of the key.", "reflection")
    # other kinds count at the opening only: a mid-sentence "so" is not the step's conclusion
    assert not has_cue("We add 3 and so get 7.", "conclusion")
    assert not has_cue("The total is 48 apples in 3 rows.", "reflection")
    with pytest.raises(ValueError):
        has_cue("Wait.", "nonsense")


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ("48 is twice 24, so it works.", True),
        ("That is 3 + 3 + 1 = 7 outcomes out of 8, so 7/8 again.", True),
        ("10 × 9 = 90, 90 × 8 = 720, 720 × 7 = 5,040, as before.", True),
        ("Multiply by 2, as before.", False),
        ("2.4 hours fits.", True),
        ("算一下：24 × 15 = 360，没错，确实要 15 天。", True),
        ("Listing them: 3, 5, 6, 9, 10, 12, 15. It works.", True),
        ("So the method is sound, and the answer for 1 to 100 is 47.", True),
        ("那原数不唯一？让我回头看一下题目。", True),
        ("Same, $180.", "reflection"),
        ("So only q = 10 works, since the value grows with q.", True),
        ("Both hold, so x = 3 and y = 2.", True),
        ("Let me re-add: 120 + 50 is 170.", True),
        ("120 + 50 is 170. Yes, $170.", True),
        ("Let me add the tax.", False),
        ("So the clues cannot all hold; I'll re-read the question.", False),
        ("两个条件都满足，所以甲是 42，乙是 14。", True),
        ("找出两个条件都满足的数。", False),
        ("11 × 3 + 7 = 40，是的。", True),
        ("120 + 60 = 180 吨，总数对。", True),
        ("120 ÷ 60 = 2，倍数也对。", True),
        ("偶数有 2 个，也是 1/3。", True),
        ("这时，也是 3 个人在场的时候。", False),
        ("可能的原数有 30、41、52。", None),  # a list of possibilities opens nothing
        ("可能是 30。", "exploration"),
        ("他很准时，没错过一班车。", False),  # "never missed a bus"
        ("The 2 hours fits in the schedule.", False),
        ("但涨价的基数变小了，所以比原价低，240 < 250 合理。", True),  # a plausibility verdict
        ("这个假设合理吗？", True),
        ("7/8 it is.", True),
        ("所以还是 6/36 = 1/6。", True),  # the value stands
        ("So it's still 12.", True),
        ("还是用方程来解。", False),
        ("Total: 5 + 4 + 3 + 2 + 1 = 15. Matches.", True),
        ("另外也可以提出公因数 7：7 × 105 = 735。", "exploration"),
        ("Or Amy could be 2nd: then nobody is 1st. That fails.", "exploration"),
        ("7 items is the total.", False),
    ],
)
def test_verdicts_read_anywhere_in_a_step(text, reads):
    """`reads`: whether a reflection cue is read anywhere in the step (bool), or the cue
    kind of its opening (a string or None)."""
    if isinstance(reads, bool):
        assert has_cue(text, "reflection") is reads
    else:
        assert cue_kind(text) == reads


def test_opening_cue_reports_where_the_cue_ends() -> None:
    assert lexicon.opening_cue("Wait.") == ("reflection", 4)
    kind, end = lexicon.opening_cue("1. So wait, no")
    assert kind == "reflection" and "1. So wait, no"[:end].endswith("wait")


# -- split markers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("so 12 × 4 = 48 Wait, that's wrong", "Wait"),
        ("the sum is 7 Hmmm let me see", "Hmmm"),
        ("x = 5 Alternatively, use the formula", "Alternatively"),
        ("x = 5 Let me check the sign", "Let me check"),
        ("x = 5, but wait, the sign flips", "but wait"),
        ("x = 5 But wait, the sign flips", "But wait"),
        ("x = 5 Actually, it is 6", "Actually"),
        ("所以是12等等，让我检查一下", "等等"),
        ("所以是12，或者用另一种方法", "或者"),
        ("结果是48验证一下：", "验证一下"),
        ("结果是48但是等等，这里不对", "但是等等"),
    ],
)
def test_split_marker_found(text: str, marker: str) -> None:
    m = markers.SPLIT_MARKER_RE.search(text)
    assert m is not None and m.group() == marker


@pytest.mark.parametrize(
    "text",
    [
        "the result we awaited",
        "I'll wait here for the bus",  # lowercase mid-sentence: not a new move
        "the Waiters arrived",
        "3 或者 4 都可以",  # 或者 as a plain "or"
        "Hmmmok",
    ],
)
def test_split_marker_needs_boundaries(text: str) -> None:
    assert markers.SPLIT_MARKER_RE.search(text) is None


# -- negation and refusal -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("The total is not 45.", True),
        ("It isn't 45.", True),
        ("That is never true.", True),
        ("The answer is incorrect.", True),
        ("That was wrong.", True),
        ("It is no longer 5.", True),
        ("The total is 45.", False),
        ("Note the knot.", False),
        ("总数不是 45。", True),
        ("他没有算对。", True),
        ("这并非正确答案。", True),
        ("这一步算错了。", True),
        ("不妨设总量为 36。", False),
        ("两种方法不同。", False),
        ("总数是 45。", False),
    ],
)
def test_negation(text: str, negated: bool) -> None:
    assert bool(lexicon.NEGATION_RE.search(text)) is negated


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("I'm sorry, but I can't help with that.", True),
        ("I cannot assist with this request.", True),
        ("As an AI language model, I have no opinions.", True),
        ("很抱歉，我无法回答这个问题。", True),
        ("我不能提供这方面的帮助。", True),
        ("I cannot divide by zero, so x ≠ 0.", False),
        ("So the answer is 7.", False),
        ("所以答案是 7。", False),
    ],
)
def test_refusal(text: str, refusal: bool) -> None:
    assert bool(lexicon.REFUSAL_RE.search(text)) is refusal


def test_no_cue_fragment_matches_nothing():
    # A fragment that matches the empty string (a stray leading "|" after a comma) makes
    # every step a reflection: each list entry must need at least one character.
    lists = [v for v in vars(phrases).values() if isinstance(v, list)]
    fragments = [f for frags in lists for f in frags if isinstance(f, str)]
    assert len(fragments) > 50
    for f in fragments:
        assert re.fullmatch(f"(?:{f})", "") is None, f


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("等等，出水管是放水的，应该减去，不是加上。", True),
        ("So it should be subtracted, not added.", True),
        ("And 74 sits between 65 and 83, as the two guesses suggested.", False),
        # "Actually," with a new value replaces; a plan or a verdict does not
        ("Actually, consecutive even numbers differ by 2, so the larger is n + 2.", True),
        ("Actually, let me compute 5 × 3 first.", False),
        ("Actually, that is right: 5.", False),
        ("That makes 28.20, so I was a dollar off.", True),
        ("The count is off by one: it should be 9.", True),
        ("Wait, I only multiplied the x by 3; 3(x − 4) is 3x − 12.", True),
        ("Hmm, I forgot to subtract the 5 people who left.", True),
        ("Actually, TH also has a head — I missed it.", True),
        ("等等，降价是在涨价后的基础上降的，不能直接抵消。", True),
        ("这里我们不能简单地消去 4b，因为 1/(2 - b) 不等于 0。", True),
        ("Wait, we can't just average the two speeds.", True),
        ("Wait, maybe I missed a case somewhere.", False),
        ("等等，我漏了周末的两天，应该是 9 天。", True),
        ("So, clearly, that method is overcounting.", True),
        ("等一下，这里 2 是加速度不是速度，应该用 s = ½at²。", True),
        ("I feel like I might be double-counting something.", False),
        ("等等，下标从 0 开始，a[2] 其实是第三个元素 4。", True),
        ("Hmm, no — without replacement only 5 blue out of 9 are left.", True),
        ("Wait, that can't be — Ben already owns the fish, so Ann owns the cat.", True),
        ("Wait, range(4) runs four times, not three, so I miscounted the passes.", True),
        ("Wait, I did not make a mistake here.", False),
        ("Hmm, that's way too much — I multiplied when I should have divided.", True),
        ("等等，平均速度应该用总路程除以总时间，不能直接平均两个速度。", True),
    ],
)
def test_corrections_that_name_the_operation(text, wrong):
    assert lexicon.says_wrong(text) is wrong
    assert lexicon.has_cue(text, "reflection") or wrong


def test_a_puzzles_own_wrong_is_no_slip():
    # "every label is wrong" is the puzzle's condition, checked or met
    assert not lexicon.says_wrong("Let me make sure every label is wrong: Mixed holds apples.")
    assert not lexicon.says_wrong("That leaves oranges for 'apples', which is wrong as required.")
    assert not lexicon.says_wrong("检查：写“金币”的装银币，三张标签都贴错了 ✓。")


def test_a_reasoned_cant_be_is_no_correction():
    assert not lexicon.says_wrong("It can't be 5, since the total is even.")
    # a doubt that ends finding it fits; "才对" ends a correction, "can't be right" a doubt
    assert not lexicon.says_wrong("不对，我再看一下题目：我用的就是余下的 200 页，没问题。")
    assert lexicon.says_wrong("不对，送出去是减少，应该是 48 − 12 = 36 张才对。")
    assert not lexicon.FITS_RE.search("That can't be right.")
    # "that's only …" after a wait: the claim just made left a part out
    assert lexicon.says_wrong("Wait, that's only the way up. The total time is 1.5 + 1.5 = 3 s.")
    assert not lexicon.says_wrong("Wait, that's only 5 more than before, fine.")
    # inclusion-exclusion takes "the double-counted (6,6)" out; "I double-counted" owns a slip
    assert not lexicon.says_wrong("6 with a 6 first, 6 second, minus the double-counted (6,6): 11.")
    assert lexicon.says_wrong("Hmm, I double-counted (6,6), so it is 11, not 12.")
    # a supposed case settles that case: its "cannot be used directly" corrects nothing
    assert not lexicon.says_wrong("如果把它们当成一种，那 21 种不是等可能的，不能直接用。")
    assert lexicon.says_wrong("不能直接用 21 种，它们不是等可能的。")


def test_off_is_an_error_only_when_the_work_was_off():
    assert not lexicon.says_wrong("The price is $5 off the list price of $40.")
    assert not lexicon.says_wrong("We were told to take 20% off.")
    assert not lexicon.says_wrong("注意不要漏了单位。")
