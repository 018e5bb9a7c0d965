"""Arithmetic claims written in plain text: `23 × 18 = 424`, `12 times 167 is 2004`, chains
`a + b = c + d = e`, `15% of 240 = 36`, `3/4 of 20 is 15`, LaTeX (`\\frac{3}{4} \\times 20
= 15`) and Chinese (`12 乘以 3 等于 36`, `240 的 15% 是 36`).

Each checkable link of a claim becomes an `Annotation(expr, value, stated=None, start,
end)`: `expr` is the side with the arithmetic and `value` what the text says it equals, so
the conflict check (value vs evaluate(expr)) treats it like a GSM8K annotation.

Reading is one linear scan: a tokenizer (one regex, every alternative a bounded or
possessive-by-construction run) and a walk over its tokens. Precision comes before recall,
as a false calc_mismatch rejects a good sample, so a claim is skipped when it is:
- about unknowns: a variable or function name next to it ("2x + 3 = 7", "f(2) = 5"), a
  LaTeX command or a letter glued to a number ("= 12x");
- a change of unit ("2 h = 120 min") or a unit inside the arithmetic ("5 m × 3 = 15");
- rounded: "≈", "about ..." never link, nor does a value equal to the exact result rounded
  or cut to the places written (`rounds_to`); negated or hypothetical: a sentence with
  "not", "wrong", "≠", 不是, 错 (没错 says right), "suppose" ...; a running total ("3 × 4 =
  12 + 2 = 14": only "12 + 2 = 14" is checked).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import NamedTuple

from bondkd.quantities.arithmetic import evaluate
from bondkd.quantities.numbers import (
    _DIGITS,
    _TRANS,
    _ZHN,
    Annotation,
    parse_number,
    rounds_to,
    same_value,
)

_NUMBER = rf"(?<![0-9A-Za-z_.])(?:{_DIGITS})(?:[ ]?(?:%|\\%))?"
# One alternative per token kind; the order settles ties (longest words first).
_TOKEN = re.compile(
    rf"(?P<frac>\\[dt]?frac[ ]?\{{[ ]?(?P<fn>{_DIGITS})[ ]?\}}[ ]?\{{[ ]?(?P<fd>{_DIGITS})[ ]?\}})"
    rf"|(?P<zhfrac>(?:[{_ZHN}]+|(?<!\d)\d+)分之(?:[{_ZHN}]+|\d+(?:\.\d+)?))"
    rf"|(?P<num>{_NUMBER})"
    rf"|(?P<zh>[{_ZHN}]+)"
    r"|(?P<skip>[ \t&]+|\$(?=[ ]?\d)|\\[$,;! ]|\\quad(?![A-Za-z]))"
    r"|(?P<delim>\\[()\[\]]|\$)"  # LaTeX math delimiters bound a claim
    r"|(?P<op>\*\*|[-+*/×÷·⋅^]|\\(?:times|cdot|div)(?![A-Za-z])|乘以|除以|加上|减去|[乘加减]"
    r"|(?<![A-Za-z])(?:times|multiplied[ ]by|divided[ ]by|plus|minus)(?![A-Za-z]))"
    r"|(?P<lp>[({]|\\left\()"
    r"|(?P<rp>[)}]|\\right\))"
    r"|(?P<eq>=)"
    r"|(?P<eqw>(?:,[ ]?)?(?<![A-Za-z])(?:which|that)[ ](?:is|gives|makes|equals)(?![A-Za-z])"
    r"|(?<![A-Za-z])(?:should[ ]be|is|equals|gives|makes|yields)(?![A-Za-z])"
    r"|[，,]?(?:也就是|即)|等于|得到|得|应该是|应是|是|为)"
    r"|(?P<of>(?<![A-Za-z])of(?![A-Za-z])|的)"
    r"|(?P<word>\\?[A-Za-z]+)"
    r"|(?P<other>(?s:.))",
)
_OP_EXPR = {"×": "*", "·": "*", "⋅": "*", "÷": "/", "^": "**", "乘": "*", "加": "+", "减": "-"}
_OP_EXPR |= {"\\times": "*", "\\cdot": "*", "\\div": "/", "乘以": "*", "除以": "/", "加上": "+"}
_OP_EXPR |= {"减去": "-", "times": "*", "multiplied by": "*", "divided by": "/"}
_OP_EXPR |= {"plus": "+", "minus": "-"}
# Words after a result that make it a comparison, not a value: "is 3 times as many".
_COMPARE = re.compile(
    r"[ ]?(?:times|more|less|fewer|greater|larger|smaller|higher|lower|percent|of|倍|多|少|的)",
    re.I,
)
_SENTENCE_BREAK = re.compile(r"[!?。！？;；\n]|(?<!\d)\.|\.(?!\d)")  # "2.5" breaks none
_DENIAL = re.compile(  # the words that deny or suppose a claim in its sentence
    r"(?<![A-Za-z])(?:not|no|never|isn't|wasn't|aren't|doesn't|don't|cannot|can't|wrong"
    r"|incorrect|mistake|mistaken|miscalculated|error|suppose|supposing|assume|assuming"
    r"|instead|rather)(?![A-Za-z])|≠|\\neq?(?![A-Za-z])|不是|不对|不等于|(?<!没)(?<!不)(?<!没有)错"
    r"|而非|并非|假设|假如",
    re.I,
)
# A letter alone before an expression is a variable ("x + 3 = 7"); a function name too.
_FUNCTIONS = frozenset(
    ("sin", "cos", "tan", "log", "ln", "exp", "sqrt", "mod", "max", "min", "abs", "gcd", "lcm")
)
_MODULO = frozenset(("mod", "modulo"))  # "7 * 3 = 1 mod 5" is a congruence
_MODULAR = re.compile(r"(?<![A-Za-z])(?:mod|modulo|congruent)(?![A-Za-z])|≡|\\pmod|同余|模", re.I)
_MODULAR_REACH = 200  # characters before a claim that may set a modulus
# "24 ÷ 7 = 3 with a remainder of 3", "25 ÷ 7 = 3 余 4": a whole-number division.
_REMAINDER = re.compile(r"[ ]?(?:,[ ]?)?(?:with[ ](?:a[ ])?remainder|remainder|r[ ]?\d|余)", re.I)
# Relative gap within which operands written with decimals (33.33%) may explain a result.
_ROUNDED_INPUTS = 1e-3
# Marks that may touch a number without making it part of a name.
_GLUE_OK = frozenset('.,;:?)]>}[<"“”‘«»\n\t ')


class _Tok(NamedTuple):
    kind: str  # num op lp rp eq eqw of word other
    expr: str  # what it contributes to an expression
    start: int
    end: int
    percent_or_fraction: bool = False


def _tokens(norm: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN.finditer(norm):
        kind, text = m.lastgroup or "other", m.group()
        if kind == "skip":
            continue
        if kind == "frac":
            den = float(m.group("fd").replace(",", ""))
            if den == 0:
                kind, text = "other", ""
            else:
                expr = f"({m.group('fn').replace(',', '')}/{m.group('fd').replace(',', '')})"
                out.append(_Tok("num", expr, m.start(), m.end(), True))
                continue
        if kind in ("zh", "zhfrac"):
            v = parse_number(text)
            if v is None:
                out.append(_Tok("other", text, m.start(), m.end()))
                continue
            pct = text.startswith("百分之")
            out.append(_Tok("num", f"{v!r}%" if pct else repr(v), m.start(), m.end(), True))
            continue
        if kind == "num":
            body = text.replace("\\%", "%").replace(" ", "")
            out.append(_Tok("num", body, m.start(), m.end(), "%" in body))
            continue
        if kind == "word" and text in ("x", "X") and _times_x(norm, out, m.end()):
            out.append(_Tok("op", "*", m.start(), m.end()))
            continue
        if kind == "op":
            text = _OP_EXPR.get(text, text)
        elif kind == "lp":
            text = "("
        elif kind == "rp":
            text = ")"
        out.append(_Tok(kind, text, m.start(), m.end()))
    return out


def _times_x(norm: str, before: list[_Tok], end: int) -> bool:
    """ "3 x 4": an x between a number (or ")") and a number (or "(")."""
    if not before or before[-1].kind not in ("num", "rp") or before[-1].end == end - 1:
        return False
    k = end
    while k < len(norm) and norm[k] in " \t":
        k += 1
    return k > end and k < len(norm) and (norm[k].isdigit() or norm[k] == "(")


class _Term(NamedTuple):
    toks: list[_Tok]

    @property
    def expr(self) -> str:
        # "1 ÷ 5/18": a slash without blanks between numbers is a fraction, and binds first.
        toks, parts, k = self.toks, [], 0
        while k < len(toks):
            t = toks[k]
            if (
                k + 2 < len(toks)
                and t.kind == "num"
                and toks[k + 1].expr == "/"
                and toks[k + 2].kind == "num"
                and t.end == toks[k + 1].start
                and toks[k + 1].end == toks[k + 2].start
            ):
                parts.append(f"({t.expr}/{toks[k + 2].expr})")
                k += 3
                continue
            parts.append("*" if t.kind == "of" else t.expr)
            k += 1
        return " ".join(parts)

    @property
    def has_op(self) -> bool:
        """Whether a binary operator stands in it (a leading or doubled sign does not)."""
        prev = None
        for t in self.toks:
            if t.kind in ("op", "of") and prev is not None and prev.kind in ("num", "rp"):
                return True
            prev = t
        return False


def _runs(toks: list[_Tok]) -> list[tuple[str, int, int]]:
    """(kind, first, last+1) items: "term" for a run of numbers, operators and brackets,
    "eq" / "eqw" for an equals sign or word, "break" for anything else."""
    items: list[tuple[str, int, int]] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind in ("num", "op", "lp", "rp") or (t.kind == "of" and _of_times(toks, i)):
            j = i + 1
            while j < len(toks) and (
                toks[j].kind in ("num", "op", "lp", "rp")
                or (toks[j].kind == "of" and _of_times(toks, j))
            ):
                j += 1
            items.append(("term", i, j))
            i = j
        else:
            items.append((t.kind if t.kind in ("eq", "eqw") else "break", i, i + 1))
            i += 1
    return items


def _of_times(toks: list[_Tok], i: int) -> bool:
    """ "15% of 240", "3/4 of 20", "240 的 15%": "of" after a percent or a fraction, or 的
    before one, multiplies."""
    prev = toks[i - 1] if i else None
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if prev is None or nxt is None or prev.kind != "num" or nxt.kind != "num":
        return False
    if toks[i].expr == "的":
        fraction = i + 3 < len(toks) and toks[i + 2].expr == "/" and toks[i + 3].kind == "num"
        return nxt.percent_or_fraction or fraction
    if prev.percent_or_fraction:
        return True
    return i >= 3 and toks[i - 2].expr == "/" and toks[i - 3].kind == "num"


def _opens_with_operator(term: list[_Tok]) -> bool:
    """Whether a term opens with an operator other than a sign glued to its number."""
    head = term[0]
    if head.kind != "op":
        return False
    return not (head.expr == "-" and len(term) > 1 and term[1].start == head.end)


_LIST_MARKS = frozenset(",，、;；")


def _in_list(toks: list[_Tok], first: int, last: int) -> bool:
    """Whether a claim stands in a list of numbers ("1-0.5，1-0.4，1-0.8，即0.5，0.6，0.2"):
    a word such as 即 or "which is" then restates the list, not the term next to it."""
    before = first >= 2 and toks[first - 1].expr in _LIST_MARKS
    after = last + 1 < len(toks) and toks[last].expr in _LIST_MARKS
    return (before and toks[first - 2].kind in ("num", "rp")) or (
        after and toks[last + 1].kind in ("num", "op", "lp")
    )


def _bold(norm: str, t: _Tok) -> bool:
    return norm[t.start : t.end] == "**"


def _unbold(norm: str, term: list[_Tok]) -> list[_Tok]:
    """Markdown bold closing a claim ("**3 × 4 = 12**") is no power operator."""
    return term[:-1] if term and _bold(norm, term[-1]) else term


def _balanced(term: list[_Tok], first: bool, last: bool) -> list[_Tok]:
    """A chain's first term may open with a bracket that belongs around the whole claim,
    "(3 × 4 = 12)", and its last term may close it; brackets that belong to the text
    around it are dropped."""
    a, b = 0, len(term)
    while first and a < b and term[a].kind == "rp":
        a += 1  # "（3×4=12）": a bracket closed before the claim
    while last and b > a and term[b - 1].kind == "lp":
        b -= 1  # "3×4=12（个）": a bracket opened after it
    depth = sum(1 if t.kind == "lp" else -1 if t.kind == "rp" else 0 for t in term[a:b])
    while first and depth > 0 and a < b and term[a].kind == "lp":
        a, depth = a + 1, depth - 1
    while last and depth < 0 and b > a and term[b - 1].kind == "rp":
        b, depth = b - 1, depth + 1
    return term[a:b]


def _glued_name(t: _Tok, glued: bool) -> bool:
    """Whether `t`, written right against a number, makes it part of a name or a symbol:
    "f(2)", "a_3", "S_{1}", "f''(1)", "2¹⁸.5", "5!". Chinese text glues words to numbers
    ("即3×4=12个"), so a Chinese character or punctuation mark does not."""
    if not glued or t.kind not in ("word", "other"):
        return False
    ch = t.expr[:1]
    return not (ch in _GLUE_OK or "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")


def _variable_before(norm: str, toks: list[_Tok], i: int) -> bool:
    """Whether the token before index `i` makes what follows the tail of an equation in
    unknowns or a function call: "x + 3 = 7", "2x = 8", "f(2) = 5", "\\sqrt{16} = 4",
    "AB + 2 = 5"; a first term that opens with an operator other than a sign glued to its
    number ("-3 + 5") is such a tail too."""
    t = toks[i - 1] if i else None
    if t is not None and t.kind == "of":
        return True  # "half of 3/4 is ...", "20 的 3 / 4": a part of a larger product
    if t is not None and _glued_name(t, t.end == toks[i].start):
        return True
    if t is not None and t.kind == "word":
        w = t.expr.lower()
        if w.startswith("\\") or len(w) == 1 or w in _FUNCTIONS:
            return True
    head = toks[i]
    if head.kind != "op":
        return False
    sign = head.expr == "-" and i + 1 < len(toks) and toks[i + 1].start == head.end
    return not sign or (t is not None and t.kind == "word")


def _bad_after(norm: str, toks: list[_Tok], j: int) -> bool:
    """Whether the token at `j` glues a name onto the last number ("= 12x", "= 0.\\overline
    {3}") or trails off ("= 0.333..."): the value is not a plain number."""
    if j >= len(toks):
        return False
    t = toks[j]
    glued = t.start == toks[j - 1].end
    if _glued_name(t, glued) or _REMAINDER.match(norm, toks[j - 1].end):
        return True
    if t.kind == "word" and (t.expr.startswith("\\") or t.expr.lower() in _MODULO):
        return True
    return t.kind == "other" and (norm.startswith("...", t.start) or t.expr == "…")


def _chains(norm: str, toks: list[_Tok]) -> list[tuple[list[list[_Tok]], list[str]]]:
    """(terms, the equals between them) of each "term = term (= term ...)" run."""
    items = _runs(toks)
    out = []
    i = 0
    while i < len(items):
        if items[i][0] != "term":
            i += 1
            continue
        j = i
        while j + 2 < len(items) and items[j + 1][0] in ("eq", "eqw") and items[j + 2][0] == "term":
            j += 2
        if j > i:
            first, last = items[i][1], items[j][2]
            if _bold(norm, toks[first]) and first + 1 < items[i][2]:
                first += 1  # markdown bold: "**6 × 7 = 42**" (not "^", also read as "**")
            if not _variable_before(norm, toks, first) and not _bad_after(norm, toks, last):
                terms = [toks[a:b] for kind, a, b in items[i : j + 1 : 2]]
                terms[0] = toks[first : items[i][2]]
                eqs = [toks[items[k][1]].kind for k in range(i + 1, j, 2)]
                if "eqw" in eqs and _in_list(toks, first, last):
                    eqs = ["skip" if e == "eqw" else e for e in eqs]
                terms[0] = _balanced(terms[0], True, False)
                terms[-1] = _balanced(_unbold(norm, terms[-1]), False, True)
                # ") + 3 = 7": the tail of an expression in brackets
                if not (terms[0] and _opens_with_operator(terms[0])):
                    out.append((terms, eqs))
        i = j + 1
    return out


def _denied(norm: str) -> tuple[list[int], list[int], list[int]]:
    """Sentence-break offsets, offsets of denial words and of modular arithmetic, for
    bisecting."""
    return (
        [m.start() for m in _SENTENCE_BREAK.finditer(norm)],
        [m.start() for m in _DENIAL.finditer(norm)],
        [m.start() for m in _MODULAR.finditer(norm)],
    )


def _modular(marks: list[int], start: int, end: int) -> bool:
    """Whether modular arithmetic is named shortly before or after a claim ("the equation
    modulo 7 becomes 2 · 3 + 5 = 7"): its "=" is a congruence."""
    k = bisect_left(marks, start - _MODULAR_REACH)
    return k < len(marks) and marks[k] < end + _MODULAR_REACH // 4


def _in_denial(breaks: list[int], denials: list[int], start: int, end: int) -> bool:
    k = bisect_left(breaks, start)
    lo = breaks[k - 1] if k else -1
    hi = breaks[bisect_left(breaks, end)] if bisect_left(breaks, end) < len(breaks) else 1 << 62
    d = bisect_right(denials, lo)
    return d < len(denials) and denials[d] < hi


def plain_claims(text: str, mask: str | None = None) -> list[Annotation]:
    """Every checkable link of every arithmetic claim written in `text`, in order.
    `mask`: `text` with GSM8K annotations blanked out, so they are not read twice."""
    norm = (mask if mask is not None else text).translate(_TRANS)
    toks = _tokens(norm)
    if not any(t.kind in ("eq", "eqw") for t in toks):
        return []
    breaks, denials, modular = _denied(norm)
    out: list[Annotation] = []
    for terms, eqs in _chains(norm, toks):
        if any(not t for t in terms):
            continue
        sides = [_Term(t) for t in terms]
        values = [evaluate(s.expr) for s in sides]
        start, end = terms[0][0].start, terms[-1][-1].end
        if any(v is None for v in values) or _in_denial(breaks, denials, start, end):
            continue
        if _modular(modular, start, end):
            continue
        for k, eq in enumerate(eqs):
            link = _link(norm, sides[k], sides[k + 1], values[k], values[k + 1], eq)
            if link is not None:
                expr, claimed = link
                a, b = terms[k][0].start, terms[k + 1][-1].end
                out.append(Annotation(expr, claimed, None, a, b))
    return out


def _link(
    norm: str, left: _Term, right: _Term, lv: float | None, rv: float | None, eq: str
) -> tuple[str, float] | None:
    """(expression, the value claimed for it) of one "left = right" link, or None when the
    link is not a checkable claim."""
    if lv is None or rv is None or eq == "skip":
        return None
    lop, rop = left.has_op, right.has_op
    if eq == "eqw" and (not lop or rop or _COMPARE.match(norm, right.toks[-1].end)):
        return None  # "is" / 是 only states a value: "3 × 4 is 12", not "is 3 times"
    if _percent_of(left, lv, rv) or _percent_of(right, rv, lv):
        return None  # "36 / 240 × 100 = 15%": a percent written as its number
    if lop and not rop:
        return None if _rounded(left, lv, right, rv) else (left.expr, rv)
    if rop and not lop:
        return None if _rounded(right, rv, left, lv) else (right.expr, lv)
    if not lop:
        return None  # "2 h = 120 min", "15% = 0.15": a change of unit or form
    if not same_value(lv, rv) and _starts_with(left.toks, right.toks):
        return None  # "3182 - 319 + 1 = 3182 - 319 = 2863; 2863 + 1": a part, then the rest
    head = right.toks[0]
    if not same_value(lv, rv) and head.kind == "num":
        hv = evaluate(head.expr)
        if hv is not None and same_value(hv, lv):
            return None  # a running total: "3 × 4 = 12 + 2 = 14"
    return left.expr, rv


def _percent_of(side: _Term, value: float, other: float) -> bool:
    """Whether `side` is a lone percent that `other` states as a number of percent."""
    return (
        len(side.toks) == 1
        and side.toks[0].expr.endswith("%")
        and not same_value(value, other)
        and same_value(value * 100, other)
    )


def _rounded(side: _Term, exact: float, written: _Term, value: float) -> bool:
    """Whether `value`, written as `written`, is the result of `side` rounded: to the places
    it shows (10/3 = 3.33), to a whole number (126 + 6.3 = $132, 60 / 9 = 6 boxes), or
    computed from operands that were rounded themselves (100% / 33.33% = 3)."""
    if same_value(exact, value):
        return False
    raw = written.toks[0].expr if len(written.toks) == 1 else None
    if rounds_to(exact, value, raw):
        return True
    if float(value).is_integer() and not float(exact).is_integer() and abs(exact - value) < 1:
        return True
    decimals = any(t.kind == "num" and "." in t.expr for t in side.toks)
    return decimals and abs(exact - value) < _ROUNDED_INPUTS * max(abs(exact), abs(value))


def _starts_with(toks: list[_Tok], head: list[_Tok]) -> bool:
    return len(head) < len(toks) and all(a.expr == b.expr for a, b in zip(toks, head, strict=False))
