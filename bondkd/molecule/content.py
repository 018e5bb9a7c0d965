"""What one step states, read once: the numbers it writes and computes, its arithmetic
expressions, its rare terms, and the values or expressions it says are not so.
`bondkd.molecule.evidence` traces each of these to the earlier step it came from."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bondkd import quantities
from bondkd.quantities.numbers import rounds_to
from bondkd.steps import lexicon

# "…, not 418", "instead of 418", "而不是 418": the number a step rejects.
_REJECT_BEFORE = re.compile(
    r"(?:(?<![\w'’])(?:not|instead of|rather than|isn['’]t|wasn['’]t|(?:i|we) (?:wrote|had written"
    r"|had put|put down))|(?:而不是|并非|而非|(?<!是)不是|(?:写成|算成|看成|抄成)了?)"
    r"(?:[\u4e00-\u9fff]{1,4}的[\u4e00-\u9fff]{1,4})?)"  # 不是水的质量 80 g
    r"[ \t]?(?:(?:of|on|from) (?:the )?(?:original |old |initial )?|(?:the )?(?:original |old |initial ))?"
    r"(?:[$€£¥][ \t]?)?$",
    re.IGNORECASE,
)
# A number a verdict confirms ("确实是 4 种", "so yes, 6", "So 4 is right.") or a check names
# as found before ("我算的 3 小时"): what the check is about, however small.
_CONFIRMS_BEFORE = re.compile(
    r"(?:(?:确实|的确|果然|还是|仍然|依然|正好|恰好)(?:是|为|有|等于)?|(?:也|同样)是"
    # the value a check says it found before: "我算的 3 小时是……吗？", "I got 3 hours"
    r"|我们?(?:刚才|之前|前面)?[算求得](?:出|到)?的)[ \t]?$"
    r"|(?<![\w'’])(?:indeed|still|again|exactly|yes,?|that['’]s|(?:i|we) (?:got|found))[ \t]$",
    re.IGNORECASE,
)
_CONFIRMS_AFTER = re.compile(
    r"[ \t]?(?:is|was) (?:right|correct)(?![\w'’])|[ \t]?是对的"
    r"|[ \t](?:again|as before)(?=[ \t]*(?:[.!;,)]|$))",  # "gives 506 again."
    re.IGNORECASE,
)
# A value claimed for another quantity ("第二次摸到红球的概率也是 3/5", "the second draw is
# also 3/5"): a claim of its own, which a correction may take back.
_ALSO_BEFORE = re.compile(
    r"(?:也|同样)(?:是|为|等于)[ \t]?$|(?<![\w'’])(?:is|are) also[ \t]$", re.I
)
_ALSO_WORD = re.compile(r"也|同样|also|again", re.I)
_AGAIN_AFTER = re.compile(r"[ \t]again(?![\w'’])", re.I)
# A value put in for a variable: "when x = 2", "如果 x = 2", "t = 3 秒时", "x = 2 的话".
_SUBSTITUTES_BEFORE = re.compile(
    r"(?:(?<![\w'’])(?:if|when|with|for|at|plugging in|putting)|当|若|如果)[ \t]?[A-Za-z][ \t]?=[ \t]?$",
    re.IGNORECASE,
)
_SUBSTITUTES_AFTER = re.compile(r"[ \t]?(?:[^\W\d_]{1,3}[ \t]?)?(?:时|的话)")
_REJECT_SPAN = 32  # characters before a number that may reject it ("not of the original 20,000")
# A number that qualifies what follows it is not the value rejected: "不是3的倍数" (not a
# multiple of 3), "not 3 times as many", "not 2 more than".
_QUALIFIES_AFTER = re.compile(r"[ \t]?(?:的|倍|times\b|more\b|less\b|fewer\b)", re.IGNORECASE)
# A rejected number that opens a calculation ("not 3 × (184 − 37)"): the calculation is
# what is rejected, not its first operand.
# ("not 1/2" rejects the half: a fraction; "not 3-4 days", a range.)
_OPENS_EXPR = re.compile(
    r"(?:[ \t][-−–+*/×÷·][ \t]?|[*×÷·][ \t]?)[(（\d]|![ \t]?[=×*·]"
)  # "not 4! = 24"
_POWER = re.compile(r"\)?[\^²³]")  # the number before is a base: "2^10", "(2^3)^3", "3²"
_OPERATOR = re.compile(r"[ \t]?([-−–+*/×÷·xX])[ \t]?$")
# "12 times 167", "2004 divided by 12": an operator in words between two numbers
_WORD_OPERATOR = re.compile(r"[ \t](times|plus|minus|divided by|multiplied by)[ \t]", re.IGNORECASE)
# A unit between a number and its operator ("3 mol × 18 g/mol", "5 kg × 9.8"): the
# calculation goes on.
_UNIT_OPERATOR = re.compile(r"[ \t][A-Za-z][A-Za-z/²³]{0,6}[ \t]?([*/×÷·])[ \t]?")
_WORD_OPS = {"times": "*", "plus": "+", "minus": "-", "divided by": "/", "multiplied by": "*"}
_OP_CANON = str.maketrans({"×": "*", "·": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "–": "-"})
# A number glued to a variable ("6x", "2y") is its coefficient, not a value of the
# reasoning: "3(2x − 5) = 6x − 5" computes no 6. Units ("5m", "2s", "3h") stay values.
_COEFFICIENT = re.compile(r"[a-dijknp-ru-z]+(?![A-Za-z])")  # "2xy", "3ab" too
# A rejected expression ("不是 6x − 5") runs to the end of its clause.
_FORM_END = re.compile(r"[,，。;；！?？\n]|(?<!\d)!|\.(?!\d)")  # "4! = 24" is a factorial
_CONTINUATION = frozenset("=+-*/×÷·)）,，")  # what a step opening mid-expression begins with
_ASSIGNED = re.compile(r"(?<![\w'’])[A-Za-z][ \t]?=[ \t]?$")  # "a = " before a number
_COMPACT = str.maketrans({"−": "-", "×": "*", "÷": "/", "（": "(", "）": ")"})
# A step named by its number ("From step 3, …", "I see, step 3 was wrong", 再看一下第一步),
# counted from 1 as people and "Step N." labels count.
_CITES = re.compile(
    r"(?<![\w'’])step (\d{1,3})(?![\d.,]\d)|第([一二三四五六七八九十]|\d{1,3})步", re.IGNORECASE
)
_ZH_DIGITS = {c: k for k, c in enumerate("一二三四五六七八九十", start=1)}
# Going back to the equation the work started from: "让我们回到原始等式", "go back to the
# original equation" (substituting into it, "代入原方程", checks a solution instead).
_ORIGINAL = re.compile(
    r"(?:回到|重新审视|重新看)(?:原始|原来的?|最初的?|一开始的?)(?:等式|方程|式子)"
    r"|(?<![\w'’])(?:go|going|come|coming) back to the (?:original|initial|starting|given) "
    r"(?:equation|expression|formula)",
    re.IGNORECASE,
)
# A function applied to plain arguments: "f(0)", "C(4,2)", "ln(419,430)", "len(a)".
_APPLIED = re.compile(
    r"(?<![\w\\])([A-Za-z][A-Za-z0-9_]{0,7})\(([\w.,，]{1,12}(?:[,，] [\w.]{1,8})?)\)"
)
_DEFINES = re.compile(r"[ \t]{0,2}(?:=(?!=)|≈|is |equals )")
# What a check names as checked: "make sure the formula is right", "double-check the time
# conversion". (Chinese names read as character pairs say too little: 核对甲的情况.)
_CHECKED = re.compile(
    r"(?<![\w'’])(?:make sure|check|verify|confirm|double-check|re-?check)(?: that)?"
    r"(?: the| my| our)? ((?:[a-z]+ ){0,2}?[a-z]+)(?= (?:is|was|are|were|by|with|again|for|in|on"
    r"|using|against|once)(?![\w'’])|[,.:;!?]|$)",
    re.IGNORECASE,
)
# An operation a correction rejects ("should be subtracted, not added", 应该减去，不是加上).
_REJECT_OP = re.compile(
    r"(?<![\w'’])(?:not|n['’]t)[ \t](?:be[ \t])?(add|plus|subtract|minus|multipl|divid)"
    r"|(?<!是)不是(?:用|去)?([加减乘除])|我们?只([加减乘除])了"
    # the operation owned as the slip: "I only added one wall of each size"
    r"|(?<![\w'’])(?:i|we)[ \t](?:only[ \t])?(add|subtract|multipl|divid)(?=ed|ied)",
    re.IGNORECASE,
)
# The operation a check names as what it checks ("let me check the subtraction", 检查一下前面的
# 减法): the latest calculation doing it.
_CHECKED_OP = re.compile(
    r"(?<![\w'’])(?:check|verify|re-?check|double-check|redo|re-?do)(?:ing)?(?: the| my| that| our)?"
    r"(?: (?:last|first|earlier|previous))? (addition|subtraction|multiplication|division)"
    r"|(?:检查|验证|核对|验算|复核)(?:一下)?(?:前面|刚才|上面|之前)?的?([加减乘除])法",
    re.IGNORECASE,
)
# Owning a misreading of the problem ("I misread the problem: Mia has 3 times as many …",
# 我把题目看错了): the givens it names again were first used wrongly.
_MISREAD = re.compile(
    r"(?<![\w'’])(?:(?:i|we) (?:misread|misunderstood|misinterpreted|read [^.;!?\n]{1,20}? wrong)"
    r"|(?:看错|读错|理解错|误解)了?题|把题(?:目|意)?(?:看错|读错|理解错))",
    re.IGNORECASE,
)
# A number written as a bound ("should pull the average below 80", "77 略小于 81"): what a
# result is weighed against, not the result checked.
_BOUNDS_EN = (
    r"below|above|under|over|(?:less|more|greater|smaller|lower|higher) than|at (?:most|least)"
)
_BOUNDS_ZH = "低于|高于|小于|大于|少于|多于|不到|超过"
_BOUND_BEFORE = re.compile(
    rf"(?:(?<![\w'’])(?:{_BOUNDS_EN})|{_BOUNDS_ZH})[ \t]?(?:[$€£¥][ \t]?)?$", re.IGNORECASE
)
_BOUND_WORD = re.compile(rf"{_BOUNDS_EN}|{_BOUNDS_ZH}", re.IGNORECASE)
# A word a correction rejects ("that's minutes, not hours"): a unit or a name, not a verdict.
_REJECT_WORD = re.compile(r"(?<![\w'’])not ([a-z]{3,})(?![\w'’])", re.IGNORECASE)
_VERDICT_WORDS = frozenset({"right", "correct", "wrong", "true", "false", "sure", "possible",
                            "enough", "the", "all", "any"})  # fmt: skip
_OP_WORDS = {"add": "+", "plus": "+", "subtract": "-", "minus": "-", "multipl": "*",
             "divid": "/", "加": "+", "减": "-", "乘": "*", "除": "/", "addition": "+",
             "subtraction": "-", "multiplication": "*", "division": "/"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Content:
    values: frozenset[str]  # canonical numbers written in the step
    results: frozenset[str]  # ... computed there
    exprs: frozenset[str]  # arithmetic expressions, canonical ("17*24")
    terms: frozenset[str]  # content terms, numbers excluded
    rejected: frozenset[str]  # values the step says are not so
    rejected_forms: frozenset[str]  # algebra it says is not so ("不是 6x − 5"), compacted
    blamed: frozenset[str]  # values named before the step says something was wrong
    rejected_ops: frozenset[str]  # operations a correction says were wrong ("+", "-", "*", "/")
    checked_ops: frozenset[str]  # operations a check names ("check the subtraction")
    rejected_words: frozenset[str]  # words a correction says were wrong ("not hours")
    claims: tuple[tuple[str, float], ...]  # calculations in order: (expression, value written)
    cited: int | None  # the step it names by number, counted from 1 ("from step 3")
    checked: frozenset[str]  # terms of what it says it checks ("make sure the formula is right")
    # function applications written ("f(0)", "C(4,2)", "ln(419430)"), compacted, and those
    # it states a value of ("f(2) = f(1) + f(0)" defines f(2))
    applied: frozenset[str] = frozenset()
    defined: frozenset[str] = frozenset()
    original: bool = False  # it goes back to the original equation ("回到原始等式")
    misread: bool = False  # it owns a misreading of the problem ("I misread the problem")
    bounds: frozenset[str] = frozenset()  # values written only as bounds ("below 80")
    also: frozenset[str] = frozenset()  # values claimed for another quantity ("也是 3/5")
    # values put in for a variable ("t = 3 秒时下落 …", "if x = 2, then …"): a substitution
    substituted: frozenset[str] = frozenset()
    confirmed: frozenset[str] = frozenset()  # values a verdict names ("确实是 4 种")


def compact(text: str) -> str:
    """Text without blanks, operators in ASCII: how an expression is found again."""
    return "".join(text.split()).translate(_COMPACT)


def read(text: str) -> Content:
    every = quantities.numbers(text)
    found = [q for q in every if not _COEFFICIENT.match(text, q.end)]
    spans = {q.start for q in found}
    rejected: set[str] = set()
    exprs: set[str] = set()
    forms = {
        compact(text[q.start : _clause_end(text, q.end)][:40])
        for q in every
        if q.start not in spans
        and _REJECT_BEFORE.search(text[max(0, q.start - _REJECT_SPAN) : q.start])
    }
    # "I wrote 86, but that's wrong": what a step names before saying it was wrong.
    wrong = lexicon.CORRECTION_RE.search(text) if lexicon.says_wrong(text) else None
    since = max(text.rfind(p, 0, wrong.start()) for p in ".!?。！？\n") if wrong else 0
    # The number nearest before the phrase, in its sentence ("刚才写的 182.4 错了").
    named = [q for q in found if wrong and since < q.start < wrong.start()]
    blamed = {quantities.canon(named[-1].value)} if named else set()
    run: list[str] = []  # the expression being read: value, op, value, ...
    run_at: list[int] = []  # the indices in `found` of its values
    in_expr: dict[int, str] = {}  # index in `found` -> the text of the expression it is in
    prev_end = -1

    fractions: dict[str, str] = {}  # "8/3" written as one number -> its value
    parts: set[int] = set()  # numerators and denominators of those: not values of their own
    denied: set[int] = set()  # indices in `found` of the values rejected

    def finish() -> None:  # the expression being read ends; its values learn its text
        if _close(run, exprs, fractions):
            written = text[found[run_at[0]].start : found[run_at[-1]].end]
            in_expr.update(dict.fromkeys(run_at, written))

    for k, q in enumerate(found):
        c = quantities.canon(q.value)
        if _REJECT_BEFORE.search(
            text[max(0, q.start - _REJECT_SPAN) : q.start]
        ) and not _QUALIFIES_AFTER.match(text, q.end):
            if _OPENS_EXPR.match(text, q.end):  # "not 3 × (184 − 37)": that calculation
                forms.add(compact(text[q.start : _clause_end(text, q.end)][:40]))
            else:
                rejected.add(c)
                denied.add(k)
        gap = text[prev_end : q.start] if prev_end >= 0 else ""
        op = (
            _OPERATOR.match(gap)
            if len(gap) <= 3
            else _WORD_OPERATOR.fullmatch(gap) or _UNIT_OPERATOR.fullmatch(gap)
        )
        if _POWER.match(text, q.end) or text[q.start - 1 : q.start] == "^":
            # A base or an exponent ("2^10", "(2^3)^3 × 2") is no operand of ours: "3 × 2"
            # read out of "(2^3)^3 × 2" would be a calculation the step never made.
            finish()
            run, run_at = [], []
        elif run and op:
            run += [_WORD_OPS.get(op.group(1).lower(), op.group(1)).translate(_OP_CANON), c]
            run_at.append(k)
            if gap == "/" and _fraction(text, found, k):
                value = quantities.canon(found[k - 1].value / q.value)
                fractions[f"{run[-3]}/{c}"] = value
                parts.update((k - 1, k))
                if k - 1 in denied:  # "not 1/2" rejects the half, not the 1
                    rejected.add(value)
                    rejected.discard(run[-3])
        else:
            finish()
            run, run_at = [c], [k]
        prev_end = q.end
    finish()
    if named and (k := found.index(named[-1])) in in_expr:
        # "4 × 13 算错了": the calculation was wrong, not the 13 it starts from.
        forms.add(compact(in_expr[k]))
        blamed = set()
    elif named and (m := _ASSIGNED.search(text, max(0, named[-1].start - 6), named[-1].start)):
        # "我们的假设 a = 2 是错误的": the assignment was wrong, wherever it was first made
        forms.add(compact(text[m.start() : named[-1].end]))
        blamed = set()
    applied = _forms(text)
    return Content(
        values=frozenset(quantities.canon(q.value) for k, q in enumerate(found) if k not in parts)
        | set(fractions.values()),
        results=frozenset(
            quantities.canon(q.value) for q in quantities.results(text) if q.start in spans
        ),
        exprs=frozenset(exprs),
        terms=frozenset(t for t in quantities.terms(text) if not t.startswith("#")),
        rejected=frozenset(rejected),
        rejected_forms=frozenset(forms),
        blamed=frozenset() if rejected or forms else frozenset(blamed),
        checked_ops=frozenset(
            _OP_WORDS[next(filter(None, m.groups())).lower()] for m in _CHECKED_OP.finditer(text)
        ),
        rejected_ops=frozenset(
            _OP_WORDS[next(filter(None, m.groups())).lower()] for m in _REJECT_OP.finditer(text)
        )
        if wrong
        else frozenset(),
        rejected_words=frozenset(
            w
            for m in _REJECT_WORD.finditer(text)
            if (w := m.group(1).lower()) not in _VERDICT_WORDS
        )
        if wrong
        else frozenset(),
        cited=_cited(text),
        checked=frozenset(t for m in _CHECKED.finditer(text) for t in quantities.terms(m.group(1))),
        applied=frozenset(applied),
        defined=frozenset(f for f, m in applied.items() if _defines(text, m)),
        original=_ORIGINAL.search(text) is not None,
        misread=wrong is not None and _MISREAD.search(text) is not None,
        # (each read only where its words occur: most steps have none, and long traces
        # have hundreds of numbers)
        bounds=frozenset(_bounds(text, found) if _BOUND_WORD.search(text) else ()),
        also=frozenset(_also(text, found, parts, fractions) if _ALSO_WORD.search(text) else ()),
        substituted=frozenset(
            quantities.canon(q.value)
            for q in (found if "=" in text else ())
            if _SUBSTITUTES_BEFORE.search(text, max(0, q.start - 18), q.start)
            or (
                _ASSIGNED.search(text, max(0, q.start - 6), q.start)
                and _SUBSTITUTES_AFTER.match(text, q.end)
            )
        ),
        confirmed=frozenset(
            quantities.canon(q.value)
            for q in found
            if _CONFIRMS_BEFORE.search(text, max(0, q.start - 12), q.start)
            or _CONFIRMS_AFTER.match(text, q.end)
        ),
        claims=tuple(  # cached: the conflicts read the same calculations
            dict.fromkeys(
                ("".join(a.expr.split()), a.value)
                for a in quantities.calculations(text)
                if a.value is not None
            )
        ),
    )


def _also(text: str, found: list, parts: set[int], fractions: dict[str, str]) -> set[str]:
    """The values `text` claims "also" or "again" for another quantity ("也是 3/5", "the
    second is a heart with probability 13/52 again": the fraction's value)."""
    out = set()
    for k, q in enumerate(found):
        c, end = quantities.canon(q.value), q.end
        if k in parts:  # a fraction: read at its numerator
            key = f"{c}/{quantities.canon(found[k + 1].value)}" if k + 1 < len(found) else ""
            if key not in fractions:
                continue
            c, end = fractions[key], found[k + 1].end
        if _ALSO_BEFORE.search(text, max(0, q.start - 10), q.start) or _AGAIN_AFTER.match(
            text, end
        ):
            out.add(c)
    return out


def _bounds(text: str, found: list) -> set[str]:
    """The values every writing of which in `text` is a bound ("below 80")."""
    bound: dict[str, bool] = {}
    for q in found:
        c = quantities.canon(q.value)
        bound[c] = bound.get(c, True) and bool(
            _BOUND_BEFORE.search(text, max(0, q.start - 14), q.start)
        )
    return {c for c, b in bound.items() if b}


def _forms(text: str) -> dict[str, re.Match[str]]:
    """Function applications ("f(0)", "C(4,2)") in `text` by their canonical form, each
    with where it is last written."""
    return {
        f"{m.group(1).lower()}({m.group(2).replace('，', ',').replace(' ', '')})": m
        for m in _APPLIED.finditer(text)
    }


def _defines(text: str, m: re.Match[str]) -> bool:
    """Whether the application `m` is what its equation states ("f(2) = …", "ln 5 is …"),
    not a term of a sum ("f(1) + f(0) = 2")."""
    before = text[max(0, m.start() - 3) : m.start()].rstrip()
    return bool(_DEFINES.match(text, m.end())) and not before.endswith(tuple("+-−*/×÷·"))


def _cited(text: str) -> int | None:
    """The first step number the text names, past its own label ("Step 7. From step 3, …")."""
    opening = len(text) - len(text.lstrip()) + 1
    for m in _CITES.finditer(text):
        if m.start() > opening:
            return int(m.group(1)) if m.group(1) else _ZH_DIGITS.get(m.group(2)) or int(m.group(2))
    return None


def _fraction(text: str, found: list, k: int) -> bool:
    """Whether found[k - 1] "/" found[k] is one number written as a fraction: whole numbers,
    unspaced ("8/3", also inside "8/3 × 1/6": an unspaced a/b binds first; "1,200 / 40" is
    a division)."""
    a, b = found[k - 1], found[k]
    whole = float(a.value).is_integer() and float(b.value).is_integer()
    return whole and b.value != 0 and text[a.start - 1 : a.start] != "/"


def _close(run: list[str], exprs: set[str], fractions: dict[str, str]) -> bool:
    """An expression read to its end counts, unless it is one fraction: a value (8/3 is the
    2.67 computed earlier), not a calculation to trace. Whether it counted."""
    if len(run) >= 3 and not (len(run) == 3 and "".join(run) in fractions):
        ops = set(run[1::2])
        if ops in ({"*"}, {"+"}):  # "1227 × 0.38" is the calculation "0.38 × 1227" was
            (op,) = ops
            run = [x for v in sorted(run[::2], key=float) for x in (op, v)][1:]
        exprs.add("".join(run))
        return True
    return False


def _clause_end(text: str, start: int) -> int:
    m = _FORM_END.search(text, start)
    return m.start() if m else len(text)


def roundings(value: str) -> set[str]:
    x = float(value)
    if x.is_integer() or not math.isfinite(x):
        return set()
    return {quantities.canon(float(math.floor(x))), quantities.canon(float(math.ceil(x)))}


def disagree(a: float, b: float) -> bool:
    """Two values written for one expression that are not one value, rounded or not."""
    return not (rounds_to(a, b) or rounds_to(b, a))


def slip(a: str, b: str) -> bool:
    """Whether two values differ as a slip of the pen does: one digit changed or two
    neighbours swapped ("27.2" for 28.2, 42 for 52, 1,245 for 1,254)."""
    if len(a) != len(b) or a == b or small(a):  # a single digit changes for many reasons
        return False
    diff = [k for k, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                               and a[diff[1]] == b[diff[0]])  # fmt: skip


def fragment(text: str) -> bool:
    """Whether a step opens mid-expression: a piece of a sentence its source cut at a "!"
    or a line break ("/ (5! * 2!", "* 1!) = 168.")."""
    text = text.lstrip()
    return text[:1] in _CONTINUATION and not text.startswith("**")  # "**Step 2:**" is bold


def small(value: str) -> bool:
    return len(value.lstrip("-")) == 1
