"""Markup inside one text field: R1 think tags, Sky-T1 markers, section headers, plain text.

Each parser returns the reasoning as a verbatim slice of the text (surrounding whitespace
trimmed) plus the answer it found, or None when its markup is absent. `formats` decides
which text fields to look in and in which order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple


class Text(NamedTuple):
    """One candidate text: a top-level field or the last assistant turn of a chat."""

    field: str
    text: str
    thought: str | None = None  # reasoning_content riding beside `text` (DeepSeek API)
    thought_field: str | None = None
    question: str | None = None  # the chat's last user turn before it


def trim(text: str, start: int, end: int) -> str:
    """text[start:end] without surrounding whitespace: still a verbatim substring."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return text[start:end]


def clean(text: str | None) -> str | None:
    return (text.strip() or None) if text is not None else None


# --- markup inside one text: each returns what it found, or None when absent ---


class Markup(NamedTuple):
    reasoning: str
    field: str  # the field the reasoning was sliced from
    answer: str | None
    question: str | None = None


def think(t: Text) -> Markup | None:
    if t.thought is not None:
        return Markup(trim(t.thought, 0, len(t.thought)), t.thought_field or t.field, clean(t.text))
    text, close = t.text, t.text.rfind("</think>")
    opening = text.find("<think>")
    if close < 0:  # a generation cut off inside its thinking
        if not text.lstrip().startswith("<think>"):
            return None
        return Markup(trim(text, opening + 7, len(text)), t.field, None)
    # R1 outputs often drop the opening tag: everything before </think> is then reasoning.
    start = opening + 7 if 0 <= opening < close else 0
    return Markup(trim(text, start, close), t.field, clean(text[close + 8 :]))


_BOT, _EOT = "<|begin_of_thought|>", "<|end_of_thought|>"
_BOS, _EOS = "<|begin_of_solution|>", "<|end_of_solution|>"


def sky(t: Text) -> Markup | None:
    text = t.text
    b, e = text.find(_BOT), text.find(_EOT)
    if b < 0 and e < 0:
        return None
    start = b + len(_BOT) if b >= 0 else 0
    s = text.find(_BOS, start)
    end = e if e >= start else (s if s >= 0 else len(text))
    if s >= 0:
        stop = text.find(_EOS, s)
        answer = clean(text[s + len(_BOS) : stop if stop >= 0 else len(text)])
    else:
        answer = clean(text[e + len(_EOT) :]) if e >= 0 else None
    return Markup(trim(text, start, end), t.field, answer)


_ZH_LABELS = {
    "t": "思考过程|思考|分析|解答|推理过程|推理|解题过程|解题思路|思路|解析",
    "q": "问题|题目",
    "a": "最终答案|答案|结论|最终结果",
}
_ZH_HEAD = re.compile(
    r"[【\[〖]\s*(?:"
    + "|".join(f"(?P<{k}>{v})" for k, v in _ZH_LABELS.items())
    + r")\s*[】\]〗][ \t]*[:：]?"
)
_EN_HEAD = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(?:\*\*)?(?:(?P<t>reasoning|thinking|thought process|analysis)"
    r"|(?P<q>question|problem)|(?P<a>final answer|answer))(?:\*\*)?[ \t]*[:：](?:\*\*)?",
    re.I | re.M,
)


def headers(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of section headers: t(hinking), q(uestion), a(nswer)."""
    heads = [(m.lastgroup or "", m.start(), m.end()) for m in _ZH_HEAD.finditer(text)]
    if any(k in "ta" for k, _, _ in heads):
        return heads
    # English headers only count as a layout with both a reasoning and an answer section,
    # so a plain trace ending "Answer: 12" stays plain text.
    heads = [(m.lastgroup or "", m.start(), m.end()) for m in _EN_HEAD.finditer(text)]
    kinds = {k for k, _, _ in heads}
    return heads if {"t", "a"} <= kinds else []


def sections(t: Text) -> Markup | None:
    text, heads = t.text, headers(t.text)
    if not heads:
        return None
    kinds = [k for k, _, _ in heads]
    if "t" in kinds:
        i = kinds.index("t")
        j = next((n for n in range(i + 1, len(heads)) if kinds[n] != "t"), len(heads))
        start = heads[i][2]
    elif kinds[0] == "a":
        j, start = 0, 0  # no thinking header: the text before the answer reasons
    else:
        return None
    end = heads[j][1] if j < len(heads) else len(text)
    answer = None
    if "a" in kinds[j:]:
        a = kinds.index("a", j)
        stop = next((heads[n][1] for n in range(a + 1, len(heads)) if kinds[n] != "a"), None)
        answer = clean(text[heads[a][2] : stop if stop is not None else len(text)])
    question = None
    if "q" in kinds:
        q = kinds.index("q")
        question = clean(text[heads[q][2] : heads[q + 1][1] if q + 1 < len(heads) else len(text)])
    return Markup(trim(text, start, end), t.field, answer, question)


_FINAL_LINE = re.compile(
    r"^(?:final answer|answer|最终答案|答案)\s*[:：]\s*(?P<a>.+)$"
    r"|^(?:the )?(?:final )?answer is\s*:?\s*(?P<b>.+)$|^答案(?:是|为)\s*(?P<c>.+)$",
    re.I,
)


def boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + 6
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return clean(text[i + 1 : j])
    return None


def plain(t: Text) -> Markup:
    """Plain text: all of it is reasoning; a trailing answer line or \\boxed{} is the answer."""
    lines = [ln for ln in t.text.splitlines() if ln.strip()]
    answer = None
    if lines:
        m = _FINAL_LINE.match(lines[-1].strip().strip("*#> ").replace("**", ""))
        if m:
            answer = (m.group("a") or m.group("b") or m.group("c")).strip().rstrip(".。")
            answer = boxed(answer) or answer
    return Markup(trim(t.text, 0, len(t.text)), t.field, answer or boxed(t.text))


MARKUPS: tuple[tuple[str, Callable[[Text], Markup | None]], ...] = (
    ("r1", think),
    ("sky_t1", sky),
    ("zh_sections", sections),
)
