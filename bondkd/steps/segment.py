"""Atomic reasoning steps as exact character spans.

`segment(text)` returns spans (start, end exclusive) obeying THE LAW: in order,
non-overlapping, each span trimmed (starts and ends with non-whitespace), and
together covering every non-whitespace character of `text`. Spans, not strings,
because every later stage (student tokens, HTML highlighting, lineage) meets the
teacher's steps through character offsets.

How: boundaries are collected by a handful of linear regex scans, each tagged with a
strength (paragraph > list item > line > sentence > discourse marker > clause);
boundaries inside protected regions (code fences, math, GSM8K `<<...>>`, inline code)
are dropped; pieces between boundaries are trimmed; tiny pieces merge into a
neighbour; over-long pieces are cut at their best internal boundary. No step is
quadratic, so megabytes segment in about a second.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from functools import lru_cache

from bondkd.config import SegmentConfig
from bondkd.schema import STEP_JOINER
from bondkd.steps import lexicon, markers

Span = tuple[int, int]

# Boundary strengths. A tiny piece merges across the weaker of its two boundaries.
CLAUSE, MARKER, SENTENCE, LINE, LIST, PARAGRAPH = range(6)

_CLOSERS = r"[\"'”’)\]}»」』）】]*"
_CJK = r"\u3400-\u9fff\uf900-\ufaff"

# Regions never split. Each body excludes its own opener, so a scan from an
# unterminated opener stops at the next one and the whole pass stays linear.
_PROTECTED_RE = re.compile(
    r"```(?:[^`]|`(?!``))*```"
    r"|\$\$(?:[^$]|\$(?!\$))*\$\$"
    r"|\\\[(?:[^\\]|\\(?![\[\]]))*\\\]"
    r"|\\\((?:[^\\]|\\(?![()]))*\\\)"
    # Inline $...$ follows pandoc: no space inside either dollar, no digit after the
    # closing one, no blank line inside, so "$5 and $6" stays two prices, not math.
    r"|\$(?![\s$])(?:[^$\\\n]|\\[\s\S]|\n(?![^\S\n]*\n))*?(?<![\s\\])\$(?!\d)"
    r"|<<[^<>\n]{0,200}>>"
    r"|`[^`\n]{1,200}`"
)
_NONWS_RE = re.compile(r"\S")
_PARA_RE = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_RE = re.compile(r"\n\s*")
_LIST_RE = re.compile(
    r"^[^\S\n]*(?:\d{1,3}[.)](?=\s)|[(（]\s*(?:\d{1,3}|[a-z]|[ivx]{1,4}|[一二三四五六七八九十]+)\s*[)）]"
    r"|[a-z][.)](?=\s)|[-*•·‣◦▪+](?=\s)|step\s*\d+\b|第[一二三四五六七八九十百\d]+步"
    r"|[一二三四五六七八九十]+、|#{1,6}(?=\s)|【|[①-⑳])",
    re.IGNORECASE | re.MULTILINE,
)
_ABBREVIATIONS = (
    "e.g i.e etc vs dr mr mrs ms fig figs eq eqs approx cf al jr sr prof st resp u.s u.k a.m p.m"
)
# A lone period ends a sentence unless it closes an abbreviation (listed, or letter.letter
# like "Ph.D") or a list number opening a line ("1.", "a."). An ellipsis never does
# (markers catch "... Wait"). Fixed-width lookbehinds keep this a single regex pass.
# The lookbehinds follow the period, so the regex still starts with a character class
# and the engine skips straight to candidate punctuation. A run of "?!;" matches at its
# last character: only the end is used, and a match from its first one would rescan the
# run from each of its characters when no blank follows ("????...x").
_NOT_ABBREV = "".join(rf"(?<!\b{re.escape(a)}\.)" for a in _ABBREVIATIONS.split())
_NOT_ABBREV += r"(?<!\b[^\W\d]\.[^\W\d]\.)(?<!\b[^\W\d]{2}\.[^\W\d]\.)"
_NOT_ABBREV += r"(?<!^\w\.)(?<!^\w\w\.)(?<!^\w\w\w\.)"
_EN_END = rf"(?:\.(?<!\.\.)(?!\.){_NOT_ABBREV}[?!]*|[?!;](?![?!;])){_CLOSERS}(?=\s)"
_EN_END_RE = re.compile(_EN_END, re.IGNORECASE | re.MULTILINE)
_EN_START_RE = re.compile(_EN_END + r"\s+", re.IGNORECASE | re.MULTILINE)
_ZH_END_RE = re.compile(r"[。！？；]+" + _CLOSERS)
_ZH_START_RE = re.compile(r"[。！？；]+" + _CLOSERS + r"\s*")
_CLAUSE_RE = re.compile(
    r",\s+(?=(?:so(?!\s+that\b)|then|thus|hence|therefore|and so|and then"
    r"|which (?:gives|means)|that (?:gives|means))\b)"
    r"|[，,]\s*(?=所以|然后|因此|于是|从而|因而|那么|接着|最后|这样)",
    re.IGNORECASE,
)
# Cut points for over-long pieces, best first; the cut is each match's end.
_CUT_RES = (
    re.compile(r"\S(?=[^\S\n]*\n)"),  # line ends
    None,  # sentence ends: _sentence_cuts (abbreviation-aware)
    re.compile(r"[,;:](?=\s)|[，；：、]"),  # clause punctuation
    re.compile(r"\S(?=\s)"),  # whitespace
    re.compile(rf"[{_CJK}](?=[{_CJK}])"),  # between CJK characters
    re.compile(r"[^\w\s](?=\S)|\w(?=[^\w\s])"),  # not inside a word or number
)


class _Protected:
    """Sorted, non-overlapping protected regions with O(log n) membership."""

    def __init__(self, text: str) -> None:
        regions = [(m.start(), m.end()) for m in _PROTECTED_RE.finditer(text)]
        self.starts = [s for s, _ in regions]
        self.ends = [e for _, e in regions]

    def containing(self, pos: int) -> int:
        """Index of the region strictly around the gap before `pos`, or -1."""
        k = bisect_right(self.starts, pos - 1) - 1
        return k if k >= 0 and pos < self.ends[k] else -1


def segment(text: str, config: SegmentConfig | None = None) -> list[Span]:
    """Split `text` into trimmed step spans at `config.granularity` (see module doc)."""
    cfg = config or SegmentConfig()
    first = _NONWS_RE.search(text)
    if first is None:
        return []
    prot = _Protected(text)
    bounds = _boundaries(text, cfg.granularity, prot)
    bounds[first.start()] = PARAGRAPH
    positions = sorted(bounds)
    if prot.starts:
        positions = [p for p in positions if prot.containing(p) < 0]
    pieces: list[list[int]] = []
    for k, p in enumerate(positions):
        q = positions[k + 1] if k + 1 < len(positions) else len(text)
        pieces.append([p, p + len(text[p:q].rstrip()), bounds[p]])
    spans: list[Span] = []
    for s, e in _merge(text, pieces, cfg.min_chars):
        if e - s > cfg.max_chars:
            spans.extend(_split_long(text, s, e, cfg.max_chars, prot))
        else:
            spans.append((s, e))
    return spans


def segment_steps(steps: list[str]) -> tuple[str, list[Span]]:
    """Join pre-segmented steps with STEP_JOINER; each given step stays ONE span.

    A step's span covers its trimmed text. An all-whitespace step stays in the
    joined text (so the text is exactly the join) but gets no span, since a span
    must hold non-whitespace; step indices after it shift down by one.
    """
    if not any(s.strip() for s in steps):
        raise ValueError("segment_steps: every given step is empty")
    spans: list[Span] = []
    pos = 0
    for step in steps:
        core = step.strip()
        if core:
            start = pos + len(step) - len(step.lstrip())
            spans.append((start, start + len(core)))
        pos += len(step) + len(STEP_JOINER)
    return STEP_JOINER.join(steps), spans


# -- boundaries -------------------------------------------------------------------------


def _boundaries(text: str, granularity: str, prot: _Protected) -> dict[int, int]:
    """Start offset of each new piece -> its strongest boundary kind."""
    found: dict[int, list[int]] = {k: [] for k in range(PARAGRAPH + 1)}
    found[PARAGRAPH] = [m.end() for m in _PARA_RE.finditer(text)]
    found[LIST] = [m.end() - len(m.group().lstrip()) for m in _LIST_RE.finditer(text)]
    # A block code fence (opening a line) is a step of its own: boundaries on both sides.
    for s, e in zip(prot.starts, prot.ends, strict=True):
        if text.startswith("```", s) and _at_line_start(text, s):
            found[LIST].append(s)
            after = _NONWS_RE.search(text, e)
            if after:
                found[LIST].append(after.start())
    if granularity != "paragraph":
        found[LINE] = [m.end() for m in _LINE_RE.finditer(text)]  # GSM8K: a line is a step
        found[SENTENCE] = list(_sentence_starts(text))
        found[MARKER] = [
            m.start() for m in markers.SPLIT_MARKER_RE.finditer(text) if not _is_etc(text, m)
        ]
    if granularity == "clause":
        found[CLAUSE] = [m.end() for m in _CLAUSE_RE.finditer(text)]
    bounds: dict[int, int] = {}
    for strength in range(PARAGRAPH + 1):  # weakest first: stronger kinds overwrite
        bounds.update(dict.fromkeys(found[strength], strength))
    bounds.pop(len(text), None)  # a boundary match that ran to the end of the text
    return bounds


def _at_line_start(text: str, pos: int) -> bool:
    while pos > 0 and text[pos - 1] in " \t":
        pos -= 1
    return pos == 0 or text[pos - 1] == "\n"


def _sentence_starts(text: str) -> Iterator[int]:
    for m in _EN_START_RE.finditer(text):
        yield m.end()
    for m in _ZH_START_RE.finditer(text):
        yield m.end()


def _sentence_cuts(text: str, pos: int, endpos: int) -> Iterator[int]:
    """Offsets just after each sentence end in text[pos:endpos] (closers included)."""
    for m in _EN_END_RE.finditer(text, pos, endpos):
        yield m.end()
    for m in _ZH_END_RE.finditer(text, pos, endpos):
        yield m.end()


_CLAUSE_END_RE = re.compile(r"[，。！？；,\n]")


def _is_etc(text: str, m: re.Match[str]) -> bool:
    """等等 after a 、-list means "etc.", not "wait"."""
    if not m.group().startswith("等"):
        return False
    before = text[max(0, m.start() - 20) : m.start()]
    clause = _CLAUSE_END_RE.split(before)[-1]
    return "、" in clause


# -- merging tiny pieces ----------------------------------------------------------------


def _merge(text: str, pieces: list[list[int]], min_chars: int) -> list[Span]:
    """Merge pieces shorter than `min_chars` into a neighbour.

    - A bare cue ("Wait.", "Hmm,", "So,", "等等，") merges forward: it opens the next step.
    - A piece opening with a reflection/exploration cue and at least 4 characters
      ("Wait, no.", "或者用能量守恒") stays: the step's behaviour is what later stages need.
    - Any other tiny piece merges across its weaker boundary (backward on a tie, forward
      when first), so a stray "这" before "不对，..." joins the step it belongs to
      rather than the previous sentence.
    """
    out: list[list[int]] = []
    carry: tuple[int, int] | None = None  # (start, strength) of tiny pieces moving forward
    for k, (s, e, b) in enumerate(pieces):
        if carry is not None:
            s, b = carry
            carry = None
        nxt = pieces[k + 1][2] if k + 1 < len(pieces) else None
        if e - s >= min_chars or (nxt is None and not out):
            out.append([s, e, b])
            continue
        cue = _opening_cue(text[s:e])
        if cue is not None and nxt is not None and not _WORD_RE.search(text, s + cue[1], e):
            carry = (s, b)
        elif cue is not None and cue[0] in ("reflection", "exploration") and e - s >= 4:
            out.append([s, e, b])
        elif nxt is not None and (not out or nxt < b):
            carry = (s, b)
        else:
            out[-1][1] = e
    return [(s, e) for s, e, _ in out]


_WORD_RE = re.compile(r"\w")
# Tiny pieces repeat a lot ("So,", "Wait.", list numbers); caching keeps merging linear-cheap.
_opening_cue = lru_cache(maxsize=8192)(lexicon.opening_cue)


# -- cutting over-long pieces -----------------------------------------------------------


def _split_long(text: str, s: int, e: int, max_chars: int, prot: _Protected) -> list[Span]:
    """Cut text[s:e] into trimmed chunks of at most `max_chars` where possible.

    Each cut takes the best-ranked boundary (line end, sentence end, clause
    punctuation, whitespace, CJK character boundary, word edge) in a window that
    keeps chunks at least half the limit; near the end it balances the last two
    chunks. Protected regions are never cut, even when that makes a chunk too long.
    """
    out: list[Span] = []
    cur = s
    while e - cur > max_chars:
        remaining = e - cur
        if remaining <= 2 * max_chars:
            lo, hi, target = e - max_chars, cur + max_chars, cur + remaining // 2
        else:
            lo, hi, target = cur + max_chars // 2, cur + max_chars, cur + max_chars
        c = _best_cut(text, cur, lo, hi, target, prot)
        if c is None:
            k = prot.containing(hi)
            if k < 0:
                c = hi
            elif prot.starts[k] > cur:
                c = prot.starts[k]
            elif prot.ends[k] < e:
                c = prot.ends[k]
            else:
                break
        chunk_end = cur + len(text[cur:c].rstrip())
        out.append((cur, chunk_end))
        nxt = _NONWS_RE.search(text, c, e)
        if nxt is None:
            return out
        cur = nxt.start()
    out.append((cur, e))
    return out


def _best_cut(text: str, cur: int, lo: int, hi: int, target: int, prot: _Protected) -> int | None:
    """The allowed cut in [lo, hi] of the best rank, closest to `target`, or None."""
    for rx in _CUT_RES:
        # Growing neighbourhoods of the target first: a CJK run has a cut at every
        # character, and scanning all of them for every chunk would be wasteful.
        for radius in (48, 2 * (hi - lo) + 8):
            a, b = max(lo, target - radius), min(hi, target + radius)
            start = max(cur, a - 4)  # a cut's match may begin a few characters early
            end = min(len(text), b + 2)  # room for lookaheads just past the window
            if rx is None:
                ends = list(_sentence_cuts(text, start, end))
            else:
                ends = [m.end() for m in rx.finditer(text, start, end)]
            cands = sorted(
                (c for c in ends if a <= c <= b and c > cur), key=lambda c: abs(c - target)
            )
            for c in cands:
                if prot.containing(c) < 0:
                    return c
    return None
