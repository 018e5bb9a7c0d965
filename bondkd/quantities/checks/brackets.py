"""A stack of brackets (Dyck words): '] ; stack: ( [', 'the final stack is ...',
'pop out "[", "("', 'we need "]", ")"', 'the answer is ] )'.

Traces that complete a bracket sequence narrate a stack symbol by symbol. Each stated
stack must follow from the previous stated stack and the symbol read; the final stack,
the symbols to pop, the closers needed and the answer must agree with the last stack
stated. With the question, the symbols read must be the input's, in order, to its end.

Every regex here reads user text, so each runs in linear time: no repetition holds a
part that can match the same characters as its neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import pairwise

from bondkd.quantities.checks.common import Check

_OPEN, _CLOSE = "([{<", ")]}>"
_MATCH = dict(zip(_CLOSE, _OPEN, strict=True))
_CLOSER = dict(zip(_OPEN, _CLOSE, strict=True))
_BR = r"[()\[\]{}<>]"
# `sym ; stack: state`: the symbol read and the stack after it. Each blank run sits
# between two required tokens, so a failed match gives every character back once.
_STACK_RE = re.compile(
    rf"(?:(?P<sym>{_BR})[ \t]*(?:(?:;|；|,|，|:|：|->|→|=>)[ \t]*)?)?"
    r"(?P<final>final[ \t]+|最终的?)?(?:the[ \t]+)?(?:stack|栈)[ \t]*"
    r"(?:(?:is(?:[ \t]+now)?|:|：|=|为|是)[ \t]*)?[\"“”']?"
    rf"(?P<state>empty|空|{_BR}(?:[ \t]*{_BR})*)",
    re.IGNORECASE,
)
_POP_RE = re.compile(r"\bpop(?:[ \t]+out)?\b|弹出")
_NEED_RE = re.compile(r"\bwe[ \t]+need\b|需要")
_QUOTED_BR = re.compile(rf"[\"“]({_BR})[\"”]")
_ANSWER_RE = re.compile(r"answer[ \t]+is[ \t:]*|答案(?:是|为)[ \t:：]*", re.IGNORECASE)
_BARE_BRS = re.compile(rf"{_BR}(?:[ \t]*{_BR})*")


def _stack_after(stack: list[str], sym: str) -> list[str] | None:
    """The stack after reading `sym`; None when a closer does not match the top."""
    if sym in _OPEN:
        return [*stack, sym]
    if stack and stack[-1] == _MATCH[sym]:
        return stack[:-1]
    return None


def _state(raw: str) -> list[str]:
    return [] if raw.lower() in ("empty", "空") else [c for c in raw if c in _OPEN + _CLOSE]


def _show(stack: Sequence[str]) -> str:
    return " ".join(stack) if stack else "empty"


def _stack_claims(text: str) -> Iterator[re.Match[str]]:
    """The stack claims of a step whose state ends the claim (no word glued to it)."""
    for m in _STACK_RE.finditer(text):
        nxt = text[m.end() : m.end() + 1]
        if not (nxt.isalnum() or nxt == "_"):
            yield m


class _Input:
    """The bracket sequence a question gives, and how far the trace has read it in order.
    A trace whose first symbol read is not the input's first is not followed at all."""

    def __init__(self, question: str | None):
        runs = [m.group() for m in _BARE_BRS.finditer(question or "")]
        longest = max(runs, key=len, default="")
        self.symbols = [c for c in longest if not c.isspace()]
        self.read = 0
        self.on = len(self.symbols) >= 2

    def step(self, k: int, sym: str) -> Check | None:
        """The problem when `sym` is not the next input symbol (reported once)."""
        if not self.on:
            return None
        if self.read == 0 and sym != self.symbols[0]:
            self.on = False
            return None
        if self.read < len(self.symbols) and sym == self.symbols[self.read]:
            self.read += 1
            return None
        self.on = False
        if self.read >= len(self.symbols):
            return (k, f"reads {sym!r} after the last of the input's {self.read} symbols")
        return (k, f"reads {sym!r} as input symbol {self.read + 1}, which is "
                   f"{self.symbols[self.read]!r}")  # fmt: skip

    def unread(self, k: int) -> Check | None:
        """The problem when the trace ends its reading with input symbols left over."""
        if not self.on or self.read == 0 or self.read >= len(self.symbols):
            return None
        self.on = False
        return (k, f"states the final stack after {self.read} of the input's "
                   f"{len(self.symbols)} symbols")  # fmt: skip


def dyck_checks(texts: Sequence[str], question: str | None = None) -> list[Check]:
    """Stated stacks, pops, closers and answers, each against the last stack the trace
    stated (and, with the `question`, against its bracket sequence read in order)."""
    out: list[Check] = []
    stack: list[str] | None = None  # the last stated stack
    pops: list[str] | None = None  # the symbols a step says it will pop, in order
    given = _Input(question)
    for k, text in enumerate(texts):
        if "stack" not in text.lower() and "栈" not in text and stack is None:
            continue
        for m in _stack_claims(text):
            said = _state(m.group("state"))
            sym = m.group("sym")
            if sym and (problem := given.step(k, sym)):
                out.append(problem)
            if m.group("final") and (problem := given.unread(k)):
                out.append(problem)
            if m.group("final") and stack is not None and said != stack:
                out.append((k, f"final stack stated as {_show(said)} but the last stack "
                               f"was {_show(stack)}"))  # fmt: skip
            elif sym and stack is not None:
                want = _stack_after(stack, sym)
                if want is None:
                    out.append((k, f"reads {sym!r} with {_show(stack)} on the stack: "
                                   "it closes nothing there"))  # fmt: skip
                elif said != want:
                    out.append((k, f"stack after {sym!r} stated as {_show(said)}, but "
                                   f"{_show(stack)} then {sym!r} gives {_show(want)}"))  # fmt: skip
            stack = said
        if stack is None:
            continue
        found = _pops_and_needs(k, text, stack, pops)
        if found is not None:
            pops, problems = found
            out += problems
    return out


_LIST_GLUE = re.compile(r"(?:[ \t,，、]|\band\b|和)*")


def _quoted_list(text: str, start: int, end: int) -> list[str]:
    """The quoted symbols between `start` and `end` when they form a plain list (joined
    by commas or 'and'); [] when words such as 'twice' or 'then' sit between them."""
    found = list(_QUOTED_BR.finditer(text, start, end))
    for a, b in pairwise(found):
        if _LIST_GLUE.fullmatch(text, a.end(), b.start()) is None:
            return []
    return [m.group(1) for m in found]


def _pops_and_needs(
    k: int, text: str, stack: list[str], pops: list[str] | None
) -> tuple[list[str] | None, list[Check]] | None:
    """Check 'pop out "[", "("', 'we need "]", ")"' and the closers the answer gives
    against the last stated stack; None when the step states none of them."""
    problems: list[Check] = []
    pop = _POP_RE.search(text)
    need = _NEED_RE.search(text, pop.end() if pop else 0)  # not 'we need to pop'
    answer = _ANSWER_RE.search(text, need.end() if need else pop.end() if pop else 0)
    if not (pop or need or (answer and pops is not None)):
        return None
    if pop:
        said = _quoted_list(text, pop.end(), need.start() if need else len(text))
        if said:
            pops = said
            if said != stack[::-1]:
                problems.append((k, f"pops {' '.join(said)} but the stack {_show(stack)} "
                                    f"pops as {_show(stack[::-1])}"))  # fmt: skip
    if pops is None:
        return pops, problems
    closers = [_CLOSER[s] for s in pops if s in _CLOSER]
    if need:
        said = _quoted_list(text, need.end(), answer.start() if answer else len(text))
        if said and said != closers:
            problems.append((k, f"needs {' '.join(said)} to close {_show(pops)}, which "
                                f"takes {' '.join(closers)}"))  # fmt: skip
            return pops, problems
    if answer and (bare := _BARE_BRS.match(text, answer.end())):
        given = _state(bare.group())
        if given != closers and not text[bare.end() :].strip(" \t.。"):
            problems.append((k, f"answers {' '.join(given)} but closing {_show(pops)} "
                                f"takes {' '.join(closers)}"))  # fmt: skip
    return pops, problems
