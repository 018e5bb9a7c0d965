"""What a step claims: computed results and named assignments (`x = 5`, "the total is 12")."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator

from bondkd.quantities.arithmetic import _ANN_RE, _masked, _normalise_expr, evaluate
from bondkd.quantities.numbers import (
    _DETERMINERS,
    _DIGITS,
    _STOP,
    _TRANS,
    Quantity,
    TextCache,
    _scan,
    _words,
    canon,
    parse_number,
    rounds_to,
)

# -- computed results -----------------------------------------------------------------

_RESULT_CUE = re.compile(
    r"(?:=|(?<![A-Za-z])(?:(?<!there\s)(?:is|are|was|were)|equals?|comes?\s+to|amounts?\s+to"
    r"|totals|results?\s+in|round(?:s|ed|ing)?(?:\s+(?:up|down))?\s+to"
    r"|(?:this|that|which|it|we|i|you|they)\s+(?:(?:would|will|should)\s+)?"
    r"(?:gives?|makes?|yields?|gets?|got)(?:\s+(?:me|us))?)"
    r"(?:\s+(?:about|approximately|roughly|exactly|now|then|only|just|still|a\s+total\s+of))?"
    r"(?=\s)|等于|得到|得出|得|是|为|共计|总共|一共|共|合起来|加起来)[ \t]*",
    re.I,
)
_ARITH_AFTER = re.compile(r"\s*(?:\*\*|[-+*/×÷^]\s*[\d(.$]|[xX–]\s*[\d(.$])")
# After "is": "is 3 times as many" compares, it does not state a result.
_COMPARE_AFTER = re.compile(
    r"\s*(?:%\s*)?(?:times|more|less|fewer|greater|larger|smaller|bigger|higher|lower|longer"
    r"|shorter|older|younger|short|of|out\s+of|per|percent)\b"
    r"|\s*(?:的(?:公?倍数|公?因数|公?约数)|倍)",  # "是 3 的倍数" (is a multiple of 3), "是 2 倍"
    re.I,
)

# "so multiply by 2", "所以再乘以 2": the number is an operand of work still to do.
_OPERAND_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?:multiply|multiplied|divide|divided) by|乘以|除以)[ \t]*$",
    re.I,
)

# A conclusion clause with one number states a result: "so 11 full bundles", "所以一共可以装满 73 箱".
_CONCLUSION = re.compile(
    r"(?:(?<![A-Za-z])(?:so|therefore|thus|hence)(?![A-Za-z])|所以|因此|因而|于是)"
    r"(?:[^,.;:!?，。；：！？\n]|(?<=\d)[,.](?=\d))*",
    re.I,
)


def _at(masked: str, pos: int, by_start: dict[int, Quantity]) -> Quantity | None:
    """The quantity starting at `pos`, after blanks and a "$" kept apart by an annotation."""
    while pos < len(masked) and masked[pos].isspace():
        pos += 1
    q = by_start.get(pos)
    if q is None and masked.startswith("$", pos):
        return _at(masked, pos + 1, by_start)
    return q


_OVER = re.compile(r"[ \t]?/[ \t]?")
_EQUALS_AFTER = re.compile(r"[ \t]?[=≈]")


def _fraction(masked: str, q: Quantity, by_start: dict[int, Quantity]) -> Quantity | None:
    """`q` over the whole number after it ("5/33"), as one quantity, when it ends the
    chain (no more arithmetic or "=" follows: "45 / 4 = 11.25" divides); else None."""
    over = _OVER.match(masked, q.end)
    d = by_start.get(over.end()) if over else None
    if d is None or not d.value or not (q.value.is_integer() and d.value.is_integer()):
        return None
    if _ARITH_AFTER.match(masked, d.end) or _EQUALS_AFTER.match(masked, d.end):
        return None
    return Quantity(q.value / d.value, q.start, d.end, masked[q.start : d.end])


def results(text: str) -> list[Quantity]:
    """Computed results, in order: the value an "=" chain ends on, an annotation's stated
    value, values after "is / equals / this gives ..." or 等于 / 是 / 得 / 共 — unless more
    arithmetic or a comparison follows ("is 3 times", "= 48 × 30 + ...") — and the only
    number of a conclusion clause ("so 11 full bundles", "所以一共可以装满 73 箱")."""
    norm = text.translate(_TRANS)
    qs = _scan(text)
    by_start = {q.start: q for q in qs}
    masked = _masked(norm)
    hits: dict[int, Quantity] = {}
    for m in _RESULT_CUE.finditer(masked):
        q = _at(masked, m.end(), by_start)
        if q is not None and (f := _fraction(masked, q, by_start)) is not None:
            q = f  # "= 20/132 = 5/33": the chain ends on a fraction, its value the result
        if q is None or _ARITH_AFTER.match(masked, q.end):
            continue
        if m.group().lstrip()[:1] == "=" or not _COMPARE_AFTER.match(masked, q.end):
            hits[q.start] = q
    for m in _ANN_RE.finditer(norm):
        q = _at(norm, m.end(), by_start)
        if q is not None:
            hits[q.start] = q
    starts = [q.start for q in qs]
    for m in _CONCLUSION.finditer(masked):
        lo, hi = bisect_left(starts, m.start()), bisect_left(starts, m.end())
        q = qs[lo] if hi - lo == 1 else None
        if q and not (
            _ARITH_AFTER.match(masked, q.end)
            or _COMPARE_AFTER.match(masked, q.end)
            or _OPERAND_BEFORE.search(masked, max(0, q.start - 16), q.start)
        ):
            hits.setdefault(q.start, q)
    return [hits[k] for k in sorted(hits)]


# -- named assertions -----------------------------------------------------------------

# The minus after "$" only: before it, [-(]* already takes it ("--5" one way, not two).
_TERM = rf"[-(]*(?:\$\s*-?)?(?:{_DIGITS})(?:\s?%)?\)*"
_OP = r"(?:\*\*|[-+*/×÷^]|(?<=\s)[xX–](?=\s))"
# Bounded repeats keep a failed match from rescanning a long run at every start (quadratic).
_EXPR = rf"{_TERM}(?:\s*{_OP}\s*{_TERM}){{0,40}}"
# A chain starts after no name or number (of any script: a run of Arabic-Indic digits
# would be rescanned from each digit), and at the first "-" or "(" of a run unless that
# one follows a name or number: from inside the run, [-(]* only sees less of it.
_CHAIN = re.compile(
    rf"(?<![\dA-Za-z_.])(?<!(?<![\dA-Za-z_.])[-(]){_EXPR}(?:\s*=\s*{_EXPR}){{1,10}}"
)
# Every character a chain can hold: a run of them without "=" holds no chain, and skipping
# it spares the bounded rescan of a long "1+1+1+..." from each of its numbers.
_CHAIN_CHARS = re.compile(r"[-(\d$\s,.%)*+/×÷^xX–=]+")
_RHS = re.compile(rf"{_EXPR}(?:\s*=\s*{_EXPR}){{0,10}}")
_PLAIN = re.compile(rf"-?(?:\$\s*)?-?(?:{_DIGITS})(?:\s?%)?")
_HAS_OP = re.compile(r"[\d%)]\s*(?:\*\*|[-+*/×÷^]|[xX](?=\s*[\d(.]))")
_AFTER_BAD = re.compile(r"[A-Za-z_]|\s*(?:\*\*|[-+*/×÷^=(]|\d|–\s)")
_NUM_TOKEN = re.compile(_DIGITS)
_VAR = re.compile(r"(?<![A-Za-z0-9_.'’])([A-Za-z](?:_?\d{1,2}|_[A-Za-z])?)\s*=(?!=)\s*")
# Heads whose bare form names one quantity per problem; other heads need a qualifier
# ("total cost", "number of apples"), as "the cost is 5" may be a different item's cost.
_BARE_HEADS = frozenset({"total", "profit"})
_CASE_HEAD = re.compile(
    r"[ \t]{0,4}(?:[:：]|(?:is not|isn['’]t|is invalid|is impossible|does ?n['’]t work|does not work"
    r"|fails|不符合|不成立|不行|不可能)(?![A-Za-z]))",
    re.I,
)
_NAMED = re.compile(
    r"(?<![A-Za-z'’])(?:([a-z]+)['’]s\s+)?((?:[a-z]+\s+){0,2})(total|profit|cost|price|revenue"
    r"|income|salary|wage|earnings|savings|budget|bill|loss|area|perimeter|volume|length|width"
    r"|height|distance|speed|weight|age|average|population|capacity|balance|rent|tax|discount"
    r"|sum|number|amount|value|difference|product)s?((?:\s+of\s+(?:(?:the|his|her|their|its"
    r"|each|all)\s+)?[a-z]+(?:\s+[a-z]+)?)?)\s+(?:is|was|are|were|equals|=|comes\s+to"
    r"|amounts\s+to)\s+(?:(?:now|then|still|only|just|exactly)\s+)?",
    re.I,
)
# A name must open its clause: in "three times the number of pups is 60" or "the difference
# between their income is 42" the words before the verb are not the subject's full name.
_CLAUSE_LEAD = _words(
    "so then thus therefore hence but that now finally means meaning because since which"
)
_OPENERS = frozenset(",.;:!?(\n，。；：！？（")
# Searched in a slice: a word is taken whole, not again from each of its letters.
_PREV_TOKEN = re.compile(r"((?<![A-Za-z])[A-Za-z]+|[^\sA-Za-z])\s*$")
# Quantities named by a state ("new balance", "apples left") legitimately change value.
_STATE_WORDS = _words("new current remaining updated left final later")
_SENTENCE_BREAK = r"[.!?。！？；;\n](?!\d)"
_LAST_BREAK = re.compile(rf"(?s:.*){_SENTENCE_BREAK}")  # one pass back from the end
_SCOPED = re.compile(
    r"(?<![A-Za-z])(?:if|suppose|supposing|assume|assuming|when|whenever|per|each|every|for"
    r"|try|trying|check|checking|test|testing|plug|plugging)(?![A-Za-z])|如果|假设|假如|若|每|当|取",
    re.I,
)
_ZH_NAMED = re.compile(
    r"([\u4e00-\u9fff]{0,3}?)(总数|总价|总和|总额|总量|总共|总计|总成本|总收入|总费用|利润|面积"
    r"|周长|体积|平均数|平均值)\s*(?:(?:应该?|就|仍然)\s*)?(?:是|为|等于|=)\s*"
)
_ZH_STOP = frozenset(
    "所以因此那么则故即这样我们的了是在和与共有他她它就也都还又再先后然而且并但每一从"
)
_UNIT = re.compile(r"\s*([A-Za-z]+|[\u4e00-\u9fff])")


def _expr_key(seg: str) -> str:
    s = _normalise_expr(seg).replace(" ", "").replace("\t", "")
    return _NUM_TOKEN.sub(lambda m: canon(float(m.group())), s)


def _chain_value(segs: list[str]) -> float | None:
    last = segs[-1].strip()
    if _PLAIN.fullmatch(last):
        return parse_number(last)
    return evaluate(last) if len(segs) == 1 else None


def _rhs_value(masked: str, pos: int) -> tuple[float, int] | None:
    """The value asserted at `pos` ("33 / 3 = 11", "$694", "80,000+50,000"), and its end."""
    m = _RHS.match(masked, pos)
    if m is None or _AFTER_BAD.match(masked, m.end()):
        return None
    v = _chain_value(m.group().split("="))
    return None if v is None else (v, m.end())


def _inside_expression(s: str, pos: int) -> bool:
    """Whether what starts at `pos` is the tail of a larger expression: "3x + 7 * 2 = 20",
    "8 x Y = 24", "1 1/2", "$100 000 x 10", "200m = ..."."""
    k = pos - 1
    while k >= 0 and s[k] in " \t":
        k -= 1
    if k < 0:
        return False
    c = s[k]
    if c in "-+*/×÷^()%" or c.isdigit() or (k == pos - 1 and c.isalpha()):
        return True
    return c in "xX" and (k == 0 or not s[k - 1].isalpha())


def _unit(masked: str, pos: int, raw: str) -> str | None:
    if "$" in raw or "¥" in raw:
        return "dollar" if "$" in raw else "元"
    m = _UNIT.match(masked, pos)
    word = m.group(1).lower() if m else ""
    if not word or word in _STOP:
        return None
    return word.rstrip("s") or word


def _scoped(s: str, pos: int) -> bool:
    """Whether the sentence up to `pos` is a supposition or a scope ("if each table has 4
    legs, ...", "per day, ..."): the same name then holds another value elsewhere."""
    start = max(0, pos - 200)
    last = _LAST_BREAK.match(s, start, pos)
    return _SCOPED.search(s, last.end() if last else start, pos) is not None


def _named_key(s: str, m: re.Match[str]) -> str | None:
    pre = m.group(2).lower().split()
    k = len(pre)
    while k and pre[k - 1] not in _STOP:
        k -= 1
    head = m.group(3).lower()
    words = [*pre[k:], head, *(w for w in m.group(4).lower().split() if w not in _DETERMINERS)]
    if m.group(1):
        words.insert(0, m.group(1).lower())  # "Terry's weekly income"
    elif len(words) < 2 and head not in _BARE_HEADS:
        return None
    if _STATE_WORDS.intersection(words) or _scoped(s, m.start()):
        return None
    dropped = pre[:k]
    while dropped and dropped[-1] in _DETERMINERS:
        dropped.pop()
    if dropped:
        lead = dropped[-1]
    else:
        t = _PREV_TOKEN.search(s[max(0, m.start() - 40) : m.start()])
        lead = t.group(1).lower() if t else ""
    if lead and (lead not in _CLAUSE_LEAD if lead.isalpha() else lead not in _OPENERS):
        return None
    return " ".join(words)


def _chains(masked: str) -> Iterator[re.Match[str]]:
    """`_CHAIN.finditer(masked)`, searched only in runs of chain characters that hold "="."""
    for run in _CHAIN_CHARS.finditer(masked):
        if masked.find("=", run.start(), run.end()) >= 0:
            yield from _CHAIN.finditer(masked, run.start(), run.end())


def _assignments(text: str) -> list[tuple[str, float]]:
    """Named quantity assertions, in order: arithmetic ("17 * 24 = 418" -> ("17*24", 418)),
    variables ("x = 5", case kept: P and p differ), and named quantities ("the total is 36
    apples" -> ("total (apple)", 36), "total cost was $694" -> ("total cost (dollar)", 694),
    "苹果总数应为 1680 个" -> ("苹果总数 (个)", 1680)). "She has 12 apples" is left out: what
    someone has changes from step to step. A rounded statement of an expression ("10/3 =
    3.33") is keyed with the exact value, so rounding never reads as a second value."""
    masked = _masked(text.translate(_TRANS))
    found: list[tuple[int, str, float]] = []
    for m in _chains(masked):
        if _AFTER_BAD.match(masked, m.end()):
            continue
        segs = m.group().split("=")
        last = segs[-1].strip()
        if not _PLAIN.fullmatch(last) or (stated := parse_number(last)) is None:
            continue
        first_ok = not _inside_expression(masked, m.start())
        for i, seg in enumerate(segs[:-1]):
            if (i or first_ok) and _HAS_OP.search(seg) and (exact := evaluate(seg)) is not None:
                value = exact if rounds_to(exact, stated, last) else stated
                found.append((m.start(), _expr_key(seg), value))
    # The value is read before the scope: most "x =" and "total is" assign nothing, and a
    # scope reads up to 200 characters back ("x = x = x = ..." would read them for each).
    tried: dict[str, set[float]] = {}
    for m in _VAR.finditer(masked):
        if _inside_expression(masked, m.start()):
            continue
        rhs = _rhs_value(masked, m.end())
        if rhs is None or _scoped(masked, m.start()) or _CASE_HEAD.match(masked, rhs[1]):
            continue  # "x = 3: 3/7 ≈ 0.43" heads a case it tries; "n = 7 is invalid" too
        found.append((m.start(), m.group(1), rhs[0]))
        tried.setdefault(m.group(1), set()).add(rhs[0])
    # A name given several values in one step ("for x=18, x=27, and x=54", "the valid x
    # values are x=2, x=3, x=6") lists candidates: no one of them is what it stands for.
    listed = {k for k, vs in tried.items() if len(vs) > 1}
    found = [f for f in found if f[1] not in listed]
    for m in _NAMED.finditer(masked):
        rhs = _rhs_value(masked, m.end())
        if rhs is None or _COMPARE_AFTER.match(masked, rhs[1]):
            continue
        key = _named_key(masked, m)
        if key is None:
            continue
        unit = _unit(masked, rhs[1], masked[m.end() : rhs[1]])
        found.append((m.start(), key + (f" ({unit})" if unit else ""), rhs[0]))
    for m in _ZH_NAMED.finditer(masked):
        prefix = m.group(1)
        k = len(prefix)
        while k and prefix[k - 1] not in _ZH_STOP:
            k -= 1
        rhs = _rhs_value(masked, m.end())
        if rhs is not None and not _scoped(masked, m.start()):
            unit = _unit(masked, rhs[1], masked[m.end() : rhs[1]])
            key = prefix[k:] + m.group(2) + (f" ({unit})" if unit else "")
            found.append((m.start(), key, rhs[0]))
    found.sort(key=lambda f: f[0])
    return [(k, v) for _, k, v in found]


# Read by conflicts (value clashes) and the substitution verifier, once per distinct step:
# a looping trace repeats its steps. Callers must not mutate the list.
assignments = TextCache(_assignments)
