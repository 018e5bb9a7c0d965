"""Final answers (`#### N`, `\\boxed{}`, "答案是 N", a "# Answer" heading) and content terms
for lexical overlap."""

from __future__ import annotations

import re

from bondkd.quantities.arithmetic import _masked
from bondkd.quantities.numbers import (
    _STOP,
    _TRANS,
    TextCache,
    _scan,
    canon,
    numbers,
    parse_number,
)

# -- final answers --------------------------------------------------------------------

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_LINES = re.compile(
    r"####[ \t]*(?P<a>[^\n]*)"
    r"|(?m:^)[ \t]*(?:\*\*)?A[ \t]*[:：](?:\*\*)?[ \t]*(?P<b>[^\n]+)"
    r"|(?<![A-Za-z])(?:final\s+)?answer(?:\s*(?:\*\*\s*)?[:：=]|\s+(?:is|was|would\s+be"
    r"|should\s+be|will\s+be)\b\s*[:：]?)(?:\*\*)?[ \t]*(?P<c>[^\n]+)"
    r"|(?:【\s*最终答案\s*】|(?:最终)?答案\s*(?:\*\*\s*)?(?:[:：]|是(?!否)|为|应为))(?:\*\*)?[\s:：]*"
    r"(?P<d>[^\n]+)"
    r"|(?<![回解作])答[ \t]*[:：][ \t]*(?P<e>[^\n]+)"
    # A markdown heading and the answer on the next line (PRM800K / QwQ: "# Answer\n\n7").
    r"|(?m:^)[ \t]*#{1,3}[ \t]*(?:final[ \t]+)?answer[ \t]*:?[ \t]*\n[ \t\n]*(?P<f>[^ \t\n][^\n]*)",
    re.I,
)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|。|！|!|；|;")
_PAREN = re.compile(r"（[^（）]*）|\([^()]*\)")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_LATEX_FRAC = re.compile(r"(-?)\\[dt]?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}")
_LATEX_JUNK = re.compile(
    r"\\text\s*\{[^{}]*\}|\\[,!;: ]|\\mathrm\s*\{[^{}]*\}|\^\s*\{?\\circ\}?|\\\(|\\\)"
)


_BRACE = re.compile(r"[{}]")


def _brace_pairs(text: str) -> dict[int, int]:
    """Offset of each "{" -> offset of its "}", in one pass (no rescans per \\boxed) over
    the braces alone (a loop over every character took 0.1 s a megabyte)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE.finditer(text):
        if m.group() == "{":
            stack.append(m.start())
        elif stack:
            pairs[stack.pop()] = m.start()
    return pairs


def _trim(raw: str) -> str:
    """Markup around an answer: bold, a trailing full stop, $…$ math delimiters."""
    s = raw.strip().rstrip(".。!！").strip()
    while len(s) > 4 and s.startswith("**") and s.endswith("**"):
        s = s[2:-2].strip()
    if len(s) > 1 and s.startswith("$") and s.endswith("$"):
        s = s[1:-1].strip()
    return s.strip("*").strip()


def _clean(raw: str) -> str:
    s = _LATEX_JUNK.sub("", raw).replace("\\%", "%").replace("\\$", "$")
    return _trim(s).strip("$").strip()


def _bare_value(raw: str) -> float | None:
    s = _clean(raw)
    v = parse_number(s)
    if v is None and (m := _LATEX_FRAC.fullmatch(s)):
        num, den = parse_number(m.group(2)), parse_number(m.group(3))
        v = None if num is None or not den else (-num if m.group(1) else num) / den
    return v


def _answer_value(raw: str) -> float | None:
    """The value of an answer phrase: a bare value, else its only number ("可以装满 73 箱
    （还剩 10 个）" -> 73 once the aside is dropped), else the number after the last "="."""
    v = _bare_value(raw)
    if v is not None:
        return v
    s = _PAREN.sub(" ", _clean(raw))
    qs = numbers(s)
    if len(qs) == 1:
        return qs[0].value
    tail = numbers(s[s.rfind("=") + 1 :]) if "=" in s else []
    return tail[0].value if len(tail) == 1 else None


def final_answer(text: str, loose: bool = False) -> tuple[str, float | None] | None:
    """The final answer stated in `text`: `\\boxed{…}`, `#### N`, `A: N`, `Answer: …`,
    `The answer is …`, `Final answer: …`, 答案：…, 最终答案：…, 答：… (the last one wins)
    as (raw, value or None). Without a marker, a text that is only a value ("72", "$1.30",
    "\\frac{1}{2}") is the answer. `loose` (for an answer field, not a reasoning step) also
    takes a bolded value or a short phrase with one number ("这个数是 11。")."""
    best: tuple[int, str] | None = None
    boxed = list(_BOXED.finditer(text))
    pairs = _brace_pairs(text) if boxed else {}
    for m in boxed:
        if (close := pairs.get(m.end() - 1)) is not None:
            best = (m.start(), text[m.end() : close])
    for m in _ANSWER_LINES.finditer(text):
        if best is None or m.start() > best[0]:
            raw = next(g for g in m.groups() if g is not None)
            cut = _SENTENCE_END.search(raw)
            best = (m.start(), raw[: cut.start()] if cut and cut.start() else raw)
    if best is not None:
        raw = _trim(best[1])
        return raw, _answer_value(raw)
    stripped = _trim(text)
    if (v := _bare_value(stripped)) is not None:
        return stripped, v
    if loose and "\n" not in stripped:
        bold = _BOLD.findall(text)
        if bold and (v := _bare_value(bold[-1])) is not None:
            return _trim(bold[-1]), v
        if len(stripped) <= 80 and (v := _answer_value(stripped)) is not None:
            return stripped, v
    return None


# -- matching a reference ------------------------------------------------------------

_GSM8K = re.compile(r"####[ \t]*([^\n]*)")
_SPACE = re.compile(r"\s+")
_LATEX_TEXT = re.compile(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}")


def reference_answer(text: str) -> tuple[str, float | None]:
    """(raw, value) of a reference: a GSM8K solution gives the text after its last ``####``;
    any other text its final answer, or itself when it states none."""
    hits = _GSM8K.findall(text)
    if hits and hits[-1].strip():
        text = hits[-1].strip()
    got = final_answer(text, loose=True)
    return got if got is not None else (text.strip(), None)


def answer_of(answer: str | None) -> tuple[str, float | None] | None:
    """(raw, value) of an answer field: its final answer, else the text itself (an answer
    field may be a bare word such as "Paris"); None when empty."""
    if not answer or not answer.strip():
        return None
    return final_answer(answer, loose=True) or (answer.strip(), None)


def _norm(s: str) -> str:
    s = _LATEX_TEXT.sub(r"\1", s).replace("$", "")
    return _SPACE.sub(" ", s).strip().rstrip(".。").strip().lower()


def answers_match(answer: str | None, reference: str, rel_tol: float = 1e-6) -> bool:
    """Whether `answer` states the reference answer.

    Both with a numeric value v, r: equal when both are integers (a count off by one is
    wrong however large it is), else |v - r| <= rel_tol * max(1, |r|) (the floor keeps
    values near 0 from needing an impossible precision). Otherwise the raw answers must
    be equal after collapsing whitespace, dropping a final full stop and lower-casing.
    """
    got = answer_of(answer)
    if got is None:
        return False
    want_raw, want = reference_answer(reference)
    if want is not None and got[1] is not None:
        if got[1].is_integer() and want.is_integer():
            return got[1] == want
        return abs(got[1] - want) <= rel_tol * max(1.0, abs(want))
    if want is not None:  # a numeric reference is never matched by text without a value
        return False
    return _norm(got[0]) == _norm(want_raw)


# -- content terms --------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?:['’][A-Za-z]+)?")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def _terms(text: str) -> frozenset[str]:
    """Content terms for lexical overlap: lowercase English words minus stop words (variable
    names such as x, n_1 kept), Chinese character bigrams, and numbers as "#" + `canon`
    ("1,000" and "1000" are both "#1000"). Possessive 's is dropped (Natalia's -> natalia)."""
    norm = text.translate(_TRANS)
    out = {"#" + canon(q.value) for q in _scan(text)}
    masked = _masked(norm)
    for m in _WORD.finditer(masked):
        w = m.group().lower().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        if w not in _STOP:
            out.add(w)
    for m in _CJK_RUN.finditer(masked):
        run = m.group()
        out.update({run} if len(run) == 1 else (run[k : k + 2] for k in range(len(run) - 1)))
    return frozenset(out)


terms = TextCache(_terms)
