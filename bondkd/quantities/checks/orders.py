"""An order of objects: 'The sedan is the third-newest. So from oldest to newest: ...,
fifth is the sedan'.

Logic puzzles about objects in a row restate one fact and then list the order it gives.
The order a step lists must agree with the fact it restates, hold each object once and
stay within the count of objects the trace gives ('all seven').

Every regex here reads user text, so each runs in linear time: no repetition holds a
part that can match the same characters as its neighbour.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bondkd.quantities.checks.common import Check

_ORD_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
              "ninth", "tenth")  # fmt: skip
_COUNT_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_ORD = "|".join(_ORD_WORDS)
# An axis: the words of its two ends, and the comparatives that point to each end.
_AXES = (
    ({"left", "leftmost"}, {"right", "rightmost"}, ("to the left of",), ("to the right of",)),
    ({"oldest"}, {"newest"}, ("older than",), ("newer than",)),
    ({"first"}, {"last"}, ("above",), ("below",)),
    ({"most expensive"}, {"cheapest", "least expensive"}, ("more expensive than",),
     ("less expensive than", "cheaper than")),
)  # fmt: skip
_PLACEHOLDERS = {"an", "a", "unknown", "any", "some", "another", "one", "either"}
_LISTING_RE = re.compile(
    r"\bfrom[ \t]+(?P<x>[a-z]{1,12}(?:[ \t][a-z]{1,12})?)[ \t]+to[ \t]+"
    r"(?P<y>[a-z]{1,12}(?:[ \t][a-z]{1,12})?)[ \t]*:",
    re.IGNORECASE,
)
_SLOT_RE = re.compile(
    rf"\b(?P<ord>{_ORD})[ \t]+is[ \t]+(?:the[ \t]+)?(?P<obj>[^,.;\n]{{1,60}}?)"
    r"(?=[,.;\n]|$|[ \t]then\b|[ \t]and\b)",
    re.IGNORECASE,
)
_COUNT_RE = re.compile(
    r"\b(?:all|set[ \t]+of|there[ \t]+(?:are|were))[ \t]+(?P<n>" + "|".join(_COUNT_WORDS) + r")\b",
    re.IGNORECASE,
)


def _obj(text: str) -> str:
    text = text.strip().rstrip(".").lower()
    return text[4:] if text.startswith("the ") else text


@dataclass
class _Listing:
    axis: int
    from_a: bool  # the listing starts at the axis's first end
    slots: dict[int, str]  # position (1-based) -> object
    start: int  # where the listing begins in the step


def _listing(text: str) -> _Listing | None:
    m = _LISTING_RE.search(text)
    if m is None:
        return None
    x, y = m.group("x").lower(), m.group("y").lower()
    if x in ("most", "least") and y.endswith(" expensive"):
        x += " expensive"  # "from most to least expensive"
    for i, (a, b, _, _) in enumerate(_AXES):
        if x in a or x in b:
            slots: dict[int, str] = {}
            for s in _SLOT_RE.finditer(text, m.end()):
                obj = _obj(s.group("obj"))
                # "second or third is X", "is an unknown fruit", "is X or Y": no placement
                vague = text[max(0, s.start() - 3) : s.start()].lower() == "or "
                if vague or " or " in obj or obj.split(" ", 1)[0] in _PLACEHOLDERS:
                    continue
                slots.setdefault(_ORD_WORDS.index(s.group("ord").lower()) + 1, obj)
            return _Listing(i, x in a, slots, m.start())
    return None


def _premise(sentence: str) -> tuple[str, str, str] | None:
    """(object, verb, relation) of 'The sedan is the third-newest' / 'Eli finished
    third-to-last'; None when the sentence is not that short form."""
    if len(sentence) > 160:
        return None
    for verb in (" finished ", " is ", " are "):
        obj, sep, rel = sentence.partition(verb)
        if sep and obj and rel:
            return _obj(obj), verb.strip(), _obj(rel)
    return None


def _place(rel: str, verb: str, axis: int, from_a: bool, n: int | None) -> int | None:
    """The position (1-based, in the listing's direction) an absolute relation gives."""
    a, b, _, _ = _AXES[axis]
    rank, _, pole = rel.partition("-")
    if rank not in _ORD_WORDS:
        rank, pole = "first", rel
    m = re.fullmatch(r"(\w+) from the (left|right)", rel)
    if m and m.group(1) in _ORD_WORDS:
        rank, pole = m.group(1), m.group(2)
    pole = pole.removeprefix("to-")
    k = _ORD_WORDS.index(rank) + 1
    if verb == "finished" and rel in _ORD_WORDS:
        pole = "first"
    if pole in a:
        end_a = True
    elif pole in b:
        end_a = False
    else:
        return None
    if end_a == from_a:
        return k
    return n - k + 1 if n else None


def _order_problems(k: int, premise: tuple[str, str, str], listing: _Listing,
                    n: int | None) -> list[Check]:  # fmt: skip
    obj, verb, rel = premise
    where = {o: p for p, o in listing.slots.items()}
    _, _, to_a, to_b = _AXES[listing.axis]
    for words, toward_a in ((to_a, True), (to_b, False)):
        for w in words:
            if rel.startswith(w + " "):
                other = _obj(rel[len(w) + 1 :])
                if obj in where and other in where:
                    before = where[obj] < where[other]
                    if before != (toward_a == listing.from_a):
                        return [(k, f"places the {obj} {where[obj]} and the {other} "
                                    f"{where[other]}, but the {obj} is {rel}")]  # fmt: skip
                return []
    want = _place(rel, verb, listing.axis, listing.from_a, n)
    if want is not None and obj in where and where[obj] != want:
        return [(k, f"places the {obj} at position {where[obj]}, but being {rel} puts it at "
                    f"{want}")]  # fmt: skip
    return []


def _count(texts: Sequence[str], question: str | None) -> int | None:
    for t in (question or "", *texts):
        if m := _COUNT_RE.search(t):
            return _COUNT_WORDS.index(m.group("n").lower()) + 1
    return None


def order_checks(texts: Sequence[str], question: str | None = None) -> list[Check]:
    """A step that states an order of objects ('So from oldest to newest: first ...,
    third is the sedan') must agree with the fact it restates in its first sentence (or
    the step before it), hold each object once, and use no position past the count the
    trace gives ('all seven')."""
    if not any(_LISTING_RE.search(t) for t in texts):
        return []
    n = _count(texts, question)
    out: list[Check] = []
    premise = None
    for k, text in enumerate(texts):
        listing = _listing(text)
        first = text.split(". ")[0].strip()
        own = _premise(first) if listing is None or listing.start > len(first) else None
        premise = own or premise
        if listing is None:
            continue
        problems: list[Check] = []
        seen = Counter(listing.slots.values())
        if twice := [o for o, c in seen.items() if c > 1]:
            problems.append((k, f"places the {twice[0]} twice"))
        if n and listing.slots and max(listing.slots) > n:
            problems.append((k, f"names position {max(listing.slots)} of {n} objects"))
        if premise is not None:
            problems += _order_problems(k, premise, listing, n)
        out += problems[:1]
        premise = None
    return out
