"""An alphabetical order: '"apple" < "banana"', '(2) ["b1" ? "b2"]', '"word": "w" (23)',
a sorted answer.

Traces that sort words write chains of quoted words. Every `<` between quoted words must
hold alphabetically, words tied by `?` share their first letter, the letter a step names
must be the word's letter at the position it sorts by and that letter's index in the
alphabet, and a list restated or given as the answer must keep every word of the list
before it (the question's, when given).

Every regex here reads user text, so each runs in linear time: no repetition holds a
part that can match the same characters as its neighbour.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from bondkd.quantities.checks.common import Check

_WORD = r"[A-Za-z][A-Za-z'&.\-]{0,39}"
# A chain token: a quoted word, a group bracket, an order sign, or a letter index.
_TOKEN_RE = re.compile(rf"\"({_WORD})\"|“({_WORD})”|(\[)|(\])|(<)|(\?)|\((\d{{1,2}})\)")
_LETTER_CLAIM = re.compile(rf"\"({_WORD})\"[ \t]*[:：][ \t]*\"([A-Za-z])\"[ \t]*\((\d{{1,2}})\)")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth", "eleventh", "twelfth")  # fmt: skip
_ZH_ORDINALS = "一二三四五六七八九十"
_POSITION_RE = re.compile(
    r"\b(" + "|".join(_ORDINALS) + r")[ \t]+letters?\b|第([一二三四五六七八九十])个字母",
    re.IGNORECASE,
)
_SORT_CUE = re.compile(r"\bsort|\balphabeti|排序|字母顺序", re.IGNORECASE)
_ANSWER_WORDS = re.compile(
    r"(?:answer[ \t]+is|sorted[ \t]+(?:list|words)[ \t]+(?:is|are)|答案(?:是|为))[ \t:：]*",
    re.IGNORECASE,
)
_MIN_LIST = 4  # words; shorter chains are subparts, not restatements of the list
_RESTATED = 0.8  # a chain sharing this share of the longer list's words restates it


def _before(a: str, b: str) -> bool | None:
    """Whether `a` sorts before `b`, case-insensitively; None when the first difference
    is not between two letters (how "it&t" sorts is a convention, not a fact)."""
    a, b = a.lower(), b.lower()
    for x, y in zip(a, b, strict=False):
        if x != y:
            if x.isascii() and y.isascii() and x.isalpha() and y.isalpha():
                return x < y
            return None
    return len(a) <= len(b)


@dataclass
class _Element:
    words: list[str]
    index: int | None  # the letter index a step writes before it: (3) "coset"


class _ChainReader:
    """Reads runs `e < e < ...` token by token. An element is a quoted word, a
    [bracketed group] or words tied by '?' ("b1" ? "b2": their order is still open), with
    an optional letter index before it; any other text between two tokens ends a run."""

    def __init__(self) -> None:
        self.chains: list[list[_Element]] = []
        self.cur: list[_Element] = []
        self.group: list[str] | None = None  # inside [ ... ]
        self.index: int | None = None
        self.want = True  # an element comes next (at a run's start or after '<' / '?')
        self.tie = False  # the next word joins the last element ('?')

    def close(self) -> None:
        if len(self.cur) >= 2:
            self.chains.append(self.cur)
        self.cur, self.group, self.index, self.want, self.tie = [], None, None, True, False

    def add(self, words: list[str]) -> None:
        if self.tie and self.cur:
            self.cur[-1].words.extend(words)
        else:
            self.cur.append(_Element(words, self.index))
        self.index, self.want, self.tie = None, False, False

    def token(self, m: re.Match[str], gap: str) -> None:
        word = m.group(1) or m.group(2)
        if self.group is not None:  # words, '?' and commas until ']'
            if gap.strip(" \t,，?"):
                self.close()
            elif word:
                self.group.append(word)
            elif m.group(4) and self.group:
                words, self.group = self.group, None
                self.add(words)
                return
            elif not m.group(6):
                self.close()
            if self.group is not None or not word:
                return
        if gap.strip():
            self.close()
        if word or m.group(3) or m.group(7):
            if not self.want:
                self.close()
            if word:
                self.add([word])
            elif m.group(3):
                self.group = []
            else:
                self.index = int(m.group(7))
        elif (m.group(5) or m.group(6)) and not self.want and self.index is None:
            self.want, self.tie = True, bool(m.group(6))
        else:
            self.close()


def _chains(text: str) -> list[list[_Element]]:
    """The runs of ordered quoted words in `text` (see _ChainReader)."""
    reader = _ChainReader()
    last = 0
    for m in _TOKEN_RE.finditer(text):
        reader.token(m, text[last : m.start()])
        last = m.end()
    reader.close()
    return reader.chains


def _position(text: str) -> int | None:
    """The letter position the last 'second letter' / '第二个字母' of `text` names."""
    found = None
    for m in _POSITION_RE.finditer(text):
        if m.group(1):
            found = _ORDINALS.index(m.group(1).lower()) + 1
        else:
            found = _ZH_ORDINALS.index(m.group(2)) + 1
    return found


def _letter_problems(k: int, text: str, pos: int | None) -> list[Check]:
    """'"coset": "c" (3)': the letter is the word's letter at the sorting position, and
    its index in the alphabet is the number."""
    out: list[Check] = []
    for m in _LETTER_CLAIM.finditer(text):
        word, letter, n = m.group(1), m.group(2).lower(), int(m.group(3))
        if ord(letter) - 96 != n:
            out.append((k, f"'{letter}' is letter {ord(letter) - 96} of the alphabet, not {n}"))
        elif (
            pos is not None
            and len(word) >= pos
            and word[pos - 1].isalpha()
            and (word[pos - 1].lower() != letter)
        ):
            out.append((k, f"letter {pos} of {word!r} is {word[pos - 1]!r}, not {letter!r}"))
    return out


def _chain_problems(k: int, chain: list[_Element], pos: int | None) -> list[Check]:
    out: list[Check] = []
    for el in chain:  # words tied by '?' share their first letter at least
        if len({w[0].lower() for w in el.words}) > 1:
            out.append((k, f"ties {' ? '.join(el.words)}, whose first letters differ"))
            return out
    for left, right in pairwise(chain):
        bad = [(a, b) for a in left.words for b in right.words if a != b and _before(a, b) is False]
        if bad:
            a, b = bad[0]
            out.append((k, f"{a!r} < {b!r} is not alphabetical"))
            break
    if pos is None:
        return out
    for el in chain:
        if el.index is None or not 1 <= el.index <= 26:
            continue
        # A whole list keeps the indices of the letters it was first sorted by, a subpart
        # those of the letter it sorts by now: any position up to the current one counts.
        want = chr(96 + el.index)
        for w in el.words:
            seen = w[:pos].lower()
            if len(w) >= pos and seen.isalpha() and want not in seen:
                out.append((k, f"{w!r} is placed under letter ({el.index}) {want!r}, which "
                               f"is none of its first {pos} letters"))  # fmt: skip
                return out
    return out


def _list_change(k: int, words: list[str], ref: list[str] | None, what: str) -> Check | None:
    """A restated list (sharing most words with the list before it) that drops or adds a
    word; None when it keeps them or is a different list (a subpart)."""
    if ref is None:
        return None
    a, b = Counter(w.lower() for w in ref), Counter(w.lower() for w in words)
    if a == b:
        return None
    shared = sum((a & b).values())
    if shared < _RESTATED * max(sum(a.values()), sum(b.values())):
        return None
    lost, added = sorted(a - b), sorted(b - a)
    if len(lost) == len(added) and all(map(_variant, lost, added)):
        return None  # a word copied with a typo ('thencefort'): a slip, not a lost word
    parts = ([f"drops {', '.join(lost)}"] if lost else []) + (
        [f"adds {', '.join(added)}"] if added else []
    )
    return (k, f"{what} {' and '.join(parts)} against the list before it")


def _variant(a: str, b: str) -> bool:
    """Two spellings of one word: they share a prefix of at least 4 letters and 70 % of
    the shorter one."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 4 and n >= 0.7 * min(len(a), len(b))


def _subpart(words: list[str], ref: list[str] | None) -> bool:
    """A run of words that all share their first letter, inside a list whose words do
    not, sorts a subpart of that list: it restates nothing."""
    initials = {w[0].lower() for w in words}
    return ref is not None and len(initials) == 1 and len({w[0].lower() for w in ref}) > 1


def _answer_words(text: str) -> list[str] | None:
    """The words of 'The answer is w1 w2 ...' when every token is a word; else None."""
    found = list(_ANSWER_WORDS.finditer(text))
    if not found:
        return None
    m = found[-1]  # the last 'answer is' of the step
    tail = text[m.end() :].strip().rstrip(".。")
    words = tail.split()
    if len(words) < 3 or not all(re.fullmatch(_WORD, w) for w in words):
        return None
    return words


def _question_words(question: str | None) -> list[str] | None:
    """The words a question asks to sort ('Sort ...: List: oven costume ...'): what follows
    its last colon when every token there is a word; None otherwise."""
    if not question:
        return None
    words = question.rpartition(":")[2].split()
    if len(words) < 3 or not all(re.fullmatch(_WORD, w) for w in words):
        return None
    return words


def _restate(
    k: int, words: list[str], ref: list[str] | None, what: str
) -> tuple[list[str] | None, Check | None]:
    """The list to compare later lists with, and the problem when `words` restates `ref`
    with a word dropped or added."""
    if len(words) < _MIN_LIST or _subpart(words, ref):
        return ref, None
    change = _list_change(k, words, ref, what)
    if change or ref is None or len(words) >= _RESTATED * len(ref):
        return words, change
    return ref, None


def sorting_checks(texts: Sequence[str], question: str | None = None) -> list[Check]:
    """Chains of quoted words, the letters a step sorts by and lists restated or given as
    the answer, in a trace about sorting (its own cue or the question's)."""
    if not any(_SORT_CUE.search(t) for t in (*texts, question or "")):
        return []
    out: list[Check] = []
    pos: int | None = None  # the letter position the trace sorts by now
    ref = _question_words(question)  # the last whole list stated (first: the question's)
    for k, text in enumerate(texts):
        pos = _position(text) or pos
        out += _letter_problems(k, text, pos)
        # Words listed with their letters ('"coset": "c" (3). ...') state a list too.
        lists = [[m.group(1) for m in _LETTER_CLAIM.finditer(text)]]
        for chain in _chains(text):
            out += _chain_problems(k, chain, pos)
            lists.append([w for el in chain for w in el.words])
        for words in lists:
            ref, change = _restate(k, words, ref, "the list")
            if change:
                out.append(change)
        answer = _answer_words(text)
        if answer is not None:
            bad = [(a, b) for a, b in pairwise(answer) if _before(a, b) is False]
            if bad:
                out.append((k, f"the answer puts {bad[0][0]!r} before {bad[0][1]!r}"))
            ref, change = _restate(k, answer, ref, "the answer")
            if change:
                out.append(change)
    return out
