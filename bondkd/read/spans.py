"""Where pre-segmented steps sit in the published text.

Public datasets ship both the trace as published (`reasoning`) and their own chunks of it
(`steps`), re-wrapped or re-joined on the way. The chunks are kept as the steps; their
spans index into the published text, so nothing of it is lost.
"""

from __future__ import annotations

import re

Span = tuple[int, int]


class StepNotFound(ValueError):
    """A given step that does not occur in the reasoning after the step before it."""

    def __init__(self, index: int, offset: int) -> None:
        super().__init__(f"not found in reasoning after offset {offset:,} (where step "
                         f"{index - 1} ends); steps must be pieces of it, in order")  # fmt: skip
        self.index = index


_BLANKS = re.compile(r"\s+")


def _squeezed(text: str) -> tuple[str, list[int]]:
    """`text` with each whitespace run as one space, and for each of its characters the
    offset in `text` it came from."""
    out: list[str] = []
    where: list[int] = []
    pos = 0
    for m in _BLANKS.finditer(text):
        out.append(text[pos : m.start()])
        where.extend(range(pos, m.start()))
        out.append(" ")
        where.append(m.start())
        pos = m.end()
    out.append(text[pos:])
    where.extend(range(pos, len(text)))
    return "".join(out), where


def locate_steps(reasoning: str, steps: list[str]) -> list[Span]:
    """Spans of given `steps` inside `reasoning`, found in order, whitespace-tolerant
    (public datasets chunk a trace and re-join or re-wrap it: "a\nb" matches "a b").
    A span covers the step's text as it stands in `reasoning`; a blank step gets none.
    Raises StepNotFound naming the first step that is not there. O(len(reasoning))
    per step in the worst case, linear in practice (str.find from a moving cursor)."""
    hay, where = _squeezed(reasoning)
    spans: list[Span] = []
    cursor = 0
    for n, step in enumerate(steps):
        needle = _BLANKS.sub(" ", step.strip())
        if not needle:
            continue
        k = hay.find(needle, cursor)
        if k < 0:
            raise StepNotFound(n, where[cursor] if cursor < len(where) else len(reasoning))
        end = k + len(needle)
        spans.append((where[k], where[end - 1] + 1))
        cursor = end
    if not spans:
        raise ValueError("locate_steps: every given step is empty")
    return spans
