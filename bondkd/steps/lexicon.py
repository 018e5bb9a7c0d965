"""Cue words and patterns, English and Chinese: the phrases of bondkd.steps.phrases (and of
a correction, bondkd.steps.correction_phrases) compiled, plus tiny matchers.

Every cue class is a list of regex fragments per language (bondkd.steps.phrases).
Fragments are compiled once into regexes anchored at the *opening* of a step: after
optional whitespace, list markers ("1.", "-", "Step 2:", "第一步"), opening punctuation,
and up to three lead-in words ("So", "But", "Now", "那么", "我们", "再" ...). Lead-ins let
"So wait, ..." read as a check and "再假设 ..." as a new branch, while a step that *is*
just "So ..." still falls through to the conclusion class.

Every regex here reads user text and must run in linear time. A repetition never holds
a part that matches one string in two ways, nor sits next to a part that can take the
same characters: no `(a+)*`, no run of bullets repeated inside a loop of list markers,
no two optional blank runs side by side. A failed match then gives back each character
once, where a step that was a markdown rule of 24 dashes once backtracked for hours.
Python 3.10 has no atomic groups or possessive quantifiers, so the patterns are written
unambiguous instead. tests/test_regex_linear.py holds every module-level regex of the
package, and the functions that apply them, to 50 ms on runs of 20,000 punctuation and
marker characters, and checks that the cue rules still match exactly what the old
(exponential) ones did on short openings; a new pattern anywhere is tested with the rest.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bondkd.steps.correction_phrases import CORRECTION_EN, CORRECTION_ZH
from bondkd.steps.phrases import (
    AGAIN,
    AGREES,
    ALTERNATIVE_EN,
    ALTERNATIVE_ZH,
    CHECK_PURPOSE_EN,
    CHECK_PURPOSE_ZH,
    CHECKMARK,
    LOOKS_BACK_EN,
    LOOKS_BACK_ZH,
    PHRASES,
    REFLECTION_ANYWHERE_EN,
    REFLECTION_ANYWHERE_ZH,
    SECOND_METHOD_EN,
    SECOND_METHOD_ZH,
    VALUE_FITS,
    ZH_NUM,
)

CUE_KINDS = ("reflection", "exploration", "conclusion", "sequence")

# -- where a step's opening words start -------------------------------------------------

# Linear time: each repetition below consumes a first character no other path can take
# at that point, so a failed match gives back each character once. Runs of bullets and
# hashes are one character per repetition ("---" is three marks, not one mark of three or
# three of one: that choice made a rule of 24 dashes run for hours); roman numerals of one
# letter are left to [a-z]; "step 2" takes its blanks only before a colon; "*" opens the
# punctuation only after another opener (it is a bullet before that).
_LIST_MARK = (
    r"\d{1,3}[.)](?!\d)|[(（]\s*(?:\d{1,3}|[a-z]|[ivx]{2,4}|[" + ZH_NUM + r"]+)\s*[)）]"
    r"|[a-z][.)](?=\s)|[-*•·‣◦▪+>#]|[①-⑳]|[" + ZH_NUM + r"]+[、.．]|【[^】\n]{0,20}】"
)
_STEP_MARK = r"step\s*\d+(?:\s*[:.)：])?|第[" + ZH_NUM + r"\d]+步[:：,，、.]?"
_OPEN_PUNCT = r"[\"'“‘(（\[【「『《*_~]"
_OPEN_FIRST = r"[\"'“‘(（\[【「『《_~]"
_PREFIX = (
    rf"\s*(?:(?:(?P<step>{_STEP_MARK})|(?:{_LIST_MARK}))\s*)*"
    rf"(?:{_OPEN_FIRST}\s*(?:{_OPEN_PUNCT}\s*)*)?"
)
_LEAD_EN = r"(?:so|but|and|also|now|then|ok(?:ay)?|well|oh|ah|alright|all right|no|yes)"
_LEAD_ZH = r"(?:那么|但是|不过|可是|然而|但|好的|好|嗯|哦|那|现在|接下来|然后|最后|其次|所以|因此|如果|我们|我|来|先|再次|再|也)"
_LEAD = rf"(?:{_LEAD_EN}\b[\s,，.!]+|{_LEAD_ZH}[\s,，]*)"


_LETTER = r"[^\W\d_①-⑳]"


def alternation(fragments: list[str]) -> str:
    return "|".join(f"(?:{f})" for f in fragments)


def _opening(en: list[str], zh: list[str]) -> re.Pattern[str]:
    body = rf"(?:{alternation(en)})(?![\w'’])|(?:{alternation(zh)})"
    # Every lead-in and cue starts with a letter: the lookaheads turn down each shorter
    # prefix of a long run of marks ("1. 1. 1. ...", "①①①...") and each shorter tail of
    # blanks after a lead-in at once, instead of trying every cue there.
    return re.compile(
        rf"{_PREFIX}(?={_LETTER})(?:{_LEAD}(?={_LETTER})){{0,3}}(?P<cue>{body})", re.IGNORECASE
    )


OPENING_RE: dict[str, re.Pattern[str]] = {k: _opening(*v) for k, v in PHRASES.items()}
_PREFIX_RE = re.compile(_PREFIX, re.IGNORECASE)
# Every phrase starts at a letter, the English ones at an ASCII letter and the Chinese ones
# at a Chinese character: a position that holds neither is passed over without trying the
# hundred alternatives ("= 24 again" and a check mark have branches of their own, so a run
# of "=" costs one try each, and "一、" repeated tries only the Chinese ones).
REFLECTION_ANYWHERE_RE = re.compile(
    rf"(?=[A-Za-z])(?<![\w'’])(?:{alternation(REFLECTION_ANYWHERE_EN)})(?![\w'’])"
    rf"|(?=[^\x00-\x7f])(?:{alternation(REFLECTION_ANYWHERE_ZH)})|={AGAIN}|{CHECKMARK}|{VALUE_FITS}",
    re.IGNORECASE,
)


# A new method named anywhere in a step ("Wait, another method: fix one plate",
# "我们可以尝试一种更简单的方法") opens a branch, unless the step says it is there to check.
ALTERNATIVE_RE = re.compile(
    rf"(?<![\w'’])(?:{alternation(ALTERNATIVE_EN)})(?![\w'’])|{alternation(ALTERNATIVE_ZH)}",
    re.IGNORECASE,
)
CHECKMARK_RE = re.compile(CHECKMARK)
CHECK_PURPOSE_RE = re.compile(
    rf"(?<![\w'’])(?:{CHECK_PURPOSE_EN})|{CHECK_PURPOSE_ZH}", re.IGNORECASE
)
SECOND_METHOD_RE = re.compile(
    rf"(?<![\w'’])(?:{alternation(SECOND_METHOD_EN)})|{alternation(SECOND_METHOD_ZH)}",
    re.IGNORECASE,
)
AGREES_RE = re.compile(AGREES, re.IGNORECASE)
LOOKS_BACK_RE = re.compile(
    rf"(?<![\w'’])(?:{alternation(LOOKS_BACK_EN)})(?![\w'’])|{alternation(LOOKS_BACK_ZH)}",
    re.IGNORECASE,
)


_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=1 << 16)  # asked by the behaviours and again for each check's kind
def checks_another_way(text: str) -> bool:
    """Whether `text` turns to another method to check the one it has ("用另一种方法核对",
    "let me double-check with the average speed", "Another way to see it: … Same answer."):
    a check that also opens an alternative (`kind` "cross_check")."""
    # Any branch opened that works a result out and says it agrees ("What if I used mass
    # conservation instead? … 36 g. That matches.", "也许可以先求出 a、b 来核对：…"), but
    # not a supposed case that fits ("Suppose …, consistent.") nor a plan ("Let's try that
    # approach to cross-verify.").
    if (
        ALTERNATIVE_RE.search(text) is None
        and SECOND_METHOD_RE.search(text) is None
        and (cue_kind(text) != "exploration" or SUPPOSES_RE.match(text) or not _DIGIT.search(text))
    ):
        return False
    return CHECK_PURPOSE_RE.search(text) is not None or AGREES_RE.search(text) is not None


# A check that sets two methods' results side by side ("Both methods give 12 and 18",
# 两种方法得到的速度相同): it is about the first method's result, not the one just found.
COMPARES_RE = re.compile(
    r"(?<![\w'’])(?:(?:both|the two) (?:methods|approaches|ways|calculations|computations"
    r"|results|answers|routes)|two (?:methods|approaches)|vs\.?|versus"
    r"|(?:same as|matches|agrees with) (?:the|our|my) (?:formula|first|earlier|previous|other"
    r"|original|direct)|same as (?:by )?[a-z]+ing(?=[ \t]*(?:[.!;,)]|$))"
    r"|(?:which|that|this|it) (?:matches|agrees)(?=[ \t]*(?:[.!;,)]|$))"
    # "the complement gives 15 …, but the direct count gave 16"
    r"|(?:gives|gave|got|yields)[ \t][^.;!?\n]{1,40}?[ \t]but (?:the|my|our) (?:[a-z]+ ){1,2}(?:gave|gives|got"
    r"|yields))(?![\w'’])"
    r"|两种(?:方法|算法|思路|途径|解法)|两(?:个|种)结果|法的?(?:结果|答案)(?:完全)?(?:相同|一致|吻合)"
    r"|^\W{0,3}(?:结论|结果|答案)(?:也|完全)?(?:一样|相同|一致)"  # "结论一样，说真话的是乙。"
    r"|[与和跟](?:上面|前面|之前|前述)(?:的结果|算的|得的|求的)?(?:一样|相同|一致)(?=[。！!]|$)",
    re.IGNORECASE,
)
# The verdict closing the last step of a second method opened before it ("所以 3x = 2(x + 5)，
# x = 10，结果相同。"); a step that is a whole second method of its own ("换个角度验证：……
# 24 − 6 = 18，结果一致。") checks what it reaches instead.
SAME_RESULT_RE = re.compile(
    r"(?<=[，,])(?:结论|结果|答案)(?:也|完全)?(?:一样|相同|一致)(?=[。！!]|$)"
)


# A step opening a supposed case: "Suppose A is a knight.", "If Cat did it: …", 假设甲说真话。
SUPPOSES_RE = re.compile(
    r"^\W{0,3}(?:(?:先|再|那么|现在|最后|其次)?(?:假设|假如|如果|若|当)|(?:先|再|最后)试(?:一下|试)?"
    r"|(?:now |then )?(?:suppose|assume|if)"
    r"(?![\w'’]))",
    re.IGNORECASE,
)
# A case that fails: "…, a contradiction", "不符合", "Two truths, so no."
CASE_FAILS_RE = re.compile(
    r"矛盾|不符合|不成立|不满足|不可能|不行|行不通|说不通|(?<=[,;] )no(?=[ \t]*[.!])"
    r"|(?<![\w'’])(?:contradict\w*|impossible|fails|so no"
    r"|(?:does ?n['’]t|does not) (?:work|fit|hold)|(?:that|this|it)(?:['’]s| is) (?:ruled )?out"
    r"|ruled out)(?![\w'’])",
    re.IGNORECASE,
)


# A supposed case settled in the same step ("如果是小红做的：……不符合。", "If Ben did it,
# two statements are true: impossible."): an alternative, where a bare conditional in a
# deduction ("如果一个物体是金属，它就能导电") settles nothing.
_CASE_OPENING = re.compile(
    r"\s{0,3}(?:如果|假如|要是|(?:先|再|最后)试(?:一下|试)?|if(?![\w'’]))", re.IGNORECASE
)  # "先试乙第一、丙第二：……三句话都成立。"
_CASE_VERDICT = re.compile(
    r"不?符合|矛盾|不?成立|不?满足|不行|行不通|说不通|[✓✔]"
    r"|(?<![\w'’])(?:consistent|contradict\w*|impossible|works|fits|fails|ruled out"
    r"|(?:that|this|it)(?:['’]s| is) out)(?![\w'’])",
    re.IGNORECASE,
)


# A step opening a summary of the work ("Just to recap:", "So, to summarize:", 总结一下):
# what follows restates the solution rather than re-running a check.
# A step stating the answer ("So the answer is 15/36 = 5/12.", "**Final answer:** 9",
# 所以答案是……, 答：15 种): the work's conclusion, no re-run of the calculation it writes again.
STATES_ANSWER_RE = re.compile(
    r"^\W{0,3}(?:(?:so|therefore|thus|hence|and)[, ]{1,2})?(?:the |my |our )?(?:final )?answer"
    r"(?![\w'’])|^\W{0,3}(?:(?:所以|因此|故)[，,]?)?(?:最终|最后)?答",
    re.IGNORECASE,
)
SUMS_UP_RE = re.compile(
    r"^\W{0,3}(?:(?:so|and|now|ok(?:ay)?|just|let me|let['’]s)[, ]{1,2}){0,3}"
    r"(?:to (?:recap|summari[sz]e|sum up)|recap(?:ping)?|in summary|summing up|summary)\W{0,3}$"
    r"|^\W{0,3}(?:总结一下|综上(?:所述)?|小结)\W{0,3}$",
    re.IGNORECASE,
)


# A step redoing the work ("重新算：…", "Redo: …", "Let me recompute with 150."): right
# after a correction it replaces what was taken back rather than checking it.
REDO_RE = re.compile(
    r"^\W{0,3}(?:(?:so|now|ok(?:ay)?|then|那么|所以)[, ，]{1,2})?(?:let me |let['’]s |i['’]ll )?"
    r"(?:redo|re-do|recompute|recalculate|重新(?:计算|算)|再算一遍|重算)",
    re.IGNORECASE,
)


def opens_case(text: str) -> bool:
    """Whether `text` supposes a case and settles it."""
    return _CASE_OPENING.match(text) is not None and _CASE_VERDICT.search(text) is not None


def opens_alternative(text: str) -> bool:
    """Whether `text` turns to another method, not to check the one it has."""
    return ALTERNATIVE_RE.search(text) is not None and not checks_another_way(text)


CORRECTION_RE = re.compile(
    rf"(?<![\w'’])(?:{alternation(CORRECTION_EN)})(?![\w'’])|{alternation(CORRECTION_ZH)}",
    re.IGNORECASE,
)


# A count that took something twice ("counted twice", 被算了两次): the total is what was wrong.
DOUBLE_COUNTED_RE = re.compile(
    r"counted twice|double[- ]counted|[算数]了两次|重复计算|算重了", re.I
)


# A step that only says what the task is, or how to go about it ("Okay, so I have this
# problem: …", "Hmm, let me think about how to approach this.", "Let me read it again to make
# sure I understand", 好，我需要求……, 这是一道……题): it claims nothing a check could verify.
STATES_TASK_RE = re.compile(
    r"^\W{0,3}(?:(?:okay|ok|alright|all right|so|well|hmm+|好的?|嗯|那么)[,，.!]?[ \t]{0,2}){0,3}"
    r"(?:(?:i|we)(?:['’]ve| have| need| want| must|['’]m| am)(?: got)? (?:this |a |an |the )?"
    r"(?:(?:math |following |interesting )?(?:problem|question|puzzle)"
    r"|to (?:find|figure out|determine|compute|calculate|solve|work out|evaluate|prove|show|count))"
    r"|the (?:problem|question) (?:asks|says|is asking|wants)"
    r"|let(?:['’]s| me| us) (?:think about how|see how|start|begin|try to (?:figure|understand|work))"
    r"|let(?:['’]s| me| us) (?:re-?)?read (?:it|this|the (?:problem|question)) again"
    r"|我们?(?:需要|要|得)(?:求|算|计算|找|确定|判断|解|证明)|这是一道|题目(?:要求|问|让|说))",
    re.IGNORECASE,
)


# Words that point back at what the step before produced ("these students", 这些): a plain
# step that opens with one carries on from its predecessor.
REFERS_BACK_RE = re.compile(
    r"(?<![\w'’])(?:these|those|such|each of (?:these|them|those)|them|they"
    r"|(?:this|that) (?:number|value|result|total|sum|product|amount|equation|list|array|string"
    r"|expression|count|difference|quotient|ratio|gives|means|leaves|makes|shows))(?![\w'’])"
    r"|^\W{0,3}(?:that|this)(?:['’]s| is)(?![\w'’])"  # "That's 6 kJ." opening a step
    r"|^\W{0,3}it(?= (?:gave|gives|has|had|is|was|must|can|holds|held|leaves|means)(?![\w'’]))"
    r"|这些|那些|上述|上面|此时|由此|该|这个(?:数|值|结果|方程|式子|等式)|^\W{0,3}也就是",
    re.IGNORECASE,
)


# An opening is read in OPENING_SPAN characters from just before the end of the marks that
# precede it: each cue class would otherwise walk a hostile run of list markers ("一、" ×
# 10,000) to its end again. A cue can begin in the last MARKS_KEPT of them ("第一步").
OPENING_SPAN, MARKS_KEPT = 4096, 64


def _opening_part(text: str) -> tuple[str, int]:
    """(the part of `text` its opening cue is read in, where that part starts)."""
    if len(text) <= OPENING_SPAN:
        return text, 0
    m = _PREFIX_RE.match(text)
    cut = max(0, (m.end() if m else 0) - MARKS_KEPT)
    return text[cut : cut + OPENING_SPAN], cut


def opening_cue(text: str) -> tuple[str, int] | None:
    """(kind, end offset of the cue words) of the cue opening `text`, or None.

    Priority reflection > exploration > conclusion > sequence: a step opening
    "So wait, ..." or "Then let me check ..." is a check first and only
    incidentally a consequence, and the check is what later stages must see
    (a reflection bond); likewise "So maybe ..." opens a branch, not a result.
    A bare explicit step label ("Step 3: ...", "第二步：...") reads as sequence.
    """
    text, cut = _opening_part(text)
    for kind in CUE_KINDS:
        m = OPENING_RE[kind].match(text)
        if m:
            return kind, cut + m.end()
    m = _PREFIX_RE.match(text)
    if m and m.group("step"):
        return "sequence", cut + m.end()
    return None


def cue_kind(text: str) -> str | None:
    """The cue class opening the step (see `opening_cue` for the priority), or None."""
    found = opening_cue(text)
    return found[0] if found else None


def has_cue(text: str, kind: str) -> bool:
    """Whether `text` carries a `kind` cue, whatever the priority.

    Every class counts at the step's opening. Reflection also counts anywhere in
    the step for a narrower set of phrases (REFLECTION_ANYWHERE_RE: "let me check",
    "to make sure", "that's wrong", a check mark, "验证一下", "算错" ...), because
    a check is often announced mid-sentence while, say, "so" mid-sentence is not a
    conclusion of the step.
    """
    if kind not in OPENING_RE:
        raise ValueError(f"unknown cue kind {kind!r}; expected one of {CUE_KINDS}")
    if OPENING_RE[kind].match(_opening_part(text)[0]):
        return True
    return kind == "reflection" and REFLECTION_ANYWHERE_RE.search(text) is not None


# A doubt is not a correction: "maybe I made a mistake", "it's easy to make an error",
# "可能算错了". Read in the few words before the phrase (a bounded window: linear time).
_HEDGE_BEFORE = re.compile(
    # "Let me make sure every label is wrong": the puzzle's condition checked, no slip.
    r"(?:maybe|perhaps|might|must|may|could|if|whether|didn['’]t|did not|not|easy to|possibl[ey]"
    r"|sure|verify|confirm"
    # An error with no place named is a doubt: "so one of them is wrong", 某个地方犯了错误.
    r"|one of (?:them|these|those|the two)|something|somewhere|可能|也许|是否|有没有|如果|或许"
    # A hedge reaches over three words, not over a clause ("four times, not three, so I
    # miscounted" owns a slip).
    r"|以免|避免|某个地方|某处|哪里|有一步|某一步|哪一步)[^\w,;，；—–]{0,3}(?:\w{1,12}[^\w,;，；—–]{1,3}){0,3}$",
    re.IGNORECASE,
)


# Owning up to a slip ("I slipped when multiplying", 我算错了) points back at a correction
# just made, where "Wait, no" rejects the claim just made.
ADMISSION_RE = re.compile(
    r"(?<![\w'’])(?:(?:i|we) (?:made|make|have made) (?:a |an )?(?:mistake|error|slip|typo)"
    r"|(?:i|we) (?:slipped|messed up)|(?:my|the) (?:mistake|error|slip) (?:was|is))(?![\w'’])"
    r"|我们?(?:算错|搞错|弄错|写错|看错)",
    re.IGNORECASE,
)


# A step ending on a verdict that what it found fits ("… = 54. Good.", "…，没问题。").
FITS_RE = re.compile(
    r"(?:^|[.!;:]\s)(?:(?:that['’]s|that is|it['’]s|it is|all|also|looks|seems) )?"
    r"(?:good|correct|right|fine|consistent)\W{0,3}$"
    r"|[✓✔]\W{0,3}$|(?<![不没才])(?:对|没错|正确|成立)\W{0,3}$|没(?:有)?问题\W{0,3}$",
    re.I,
)


@lru_cache(maxsize=1 << 16)  # asked of every step by several stages; long traces repeat
def says_wrong(text: str) -> bool:
    """Whether `text` says that something earlier was wrong ("I made an error", 算错了),
    not merely that it might be. A step marked ✓ verified something: its "wrong" is the
    puzzle's ("every label is wrong ✓", 三张标签都贴错了 ✓); so did one ending on a verdict
    that it fits ("不对，我再看一下题目：……没问题。"), and one that supposes a case settles
    that case ("如果把它们当成一种，……不能直接用。")."""
    if CHECKMARK_RE.search(text) or FITS_RE.search(text) or SUPPOSES_RE.match(text):
        return False
    return any(
        not _HEDGE_BEFORE.search(text[max(0, m.start() - 40) : m.start()])
        for m in CORRECTION_RE.finditer(text)
    )


# -- negation and refusal ---------------------------------------------------------------

# 不 inside words that do not negate the claim (不妨 "might as well", 不同 "different",
# 不过 "but", 不仅 "not only" ...) is excluded so that a step's polarity is not flipped.
NEGATION_RE = re.compile(
    r"(?<![\w])(?:not|never|no longer|cannot|incorrect|wrong)(?![\w])|n['’]t(?![\w])"
    r"|不(?![妨过同少断久仅但管论止然错])|没|并非|(?<!不)错",
    re.IGNORECASE,
)

# Refusal verbs are listed so that "I cannot divide by zero" in a proof is not a refusal.
REFUSAL_RE = re.compile(
    r"\bI(?:'m|’m| am) sorry\b"
    r"|\bI (?:cannot|can['’]t|can not|am unable to|['’]m unable to|won['’]t be able to)"
    r" (?:help|assist|provide|answer|comply|fulfil|fulfill|complete|support|do that|share)"
    r"|\bas an AI\b"
    r"|很抱歉|我很抱歉|对不起，|无法回答|无法提供|我不能|作为(?:一个)?(?:AI|人工智能)",
    re.IGNORECASE,
)
