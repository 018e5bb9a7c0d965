"""The state after a swap: 'Alice and Bob swap: Alice: X, Bob: Y, Claire: Z.'

Traces about people trading items restate who holds what after each swap. The holders
that swap exchange their items and nobody else's changes; no item is held twice; the
holder named at the end has the item of the last state. With the question, its opening
holdings and its swaps, in order, check states that name no swap ('A: red, B: blue').

Every regex here reads user text, so each runs in linear time: no repetition holds a
part that can match the same characters as its neighbour.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bondkd.quantities.checks.common import Check

_NAME = r"(?:[A-Z][a-z]{0,20}|[\u4e00-\u9fff]{1,4})"
_KEY_RE = re.compile(rf"(?<![\w'])({_NAME})[ \t]*[:：]")
_SWAP_RE = re.compile(
    r"(?<![\w'])(?P<a>[A-Z][a-z]{0,20})[ \t]+(?:and|&)[ \t]+(?P<b>[A-Z][a-z]{0,20})[ \t]+"
    r"(?:swap|switch|trade|exchange)|(?P<za>[\u4e00-\u9fff]{1,4}?)(?:和|与)"
    r"(?P<zb>[\u4e00-\u9fff]{1,4}?)(?:交换|互换)"
)
_HAS_RE = re.compile(
    r"(?<![\w'])(?P<who>[A-Z][a-z]{0,20})[ \t]+(?:has|gets|is[ \t]+holding|is[ \t]+playing|"
    r"is[ \t]+dancing[ \t]+with|ends[ \t]+up[ \t]+with)[ \t]+(?P<what>[^.,;:\n]{1,80})"
)
_SEP = ",，;；"
_STOP = {"the", "a", "an", "of"}


def _states(text: str) -> list[tuple[int, dict[str, str]]]:
    """(position, {holder: item}) of each run of two or more 'Name: item' pairs joined by
    commas, in the order written."""
    keys = list(_KEY_RE.finditer(text))
    runs: list[tuple[int, dict[str, str]]] = []
    cur: dict[str, str] = {}
    start = 0
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(text)
        raw = text[m.end() : end]
        joined = i + 1 < len(keys) and raw.rstrip()[-1:] in _SEP
        value = re.split(r"[.;；。\n]", raw.rstrip().rstrip(_SEP), maxsplit=1)[0].strip()
        if not cur:
            start = m.start()
        if value and m.group(1) not in cur:
            cur[m.group(1)] = value
        else:
            joined = False
        if not joined:
            # Items that are swapped are things, not amounts ('Cost: 10, Price: $12').
            if len(cur) >= 2 and not any(v.lstrip("$€£¥ ")[:1].isdigit() for v in cur.values()):
                runs.append((start, cur))
            cur = {}
    return runs


def _tokens(value: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"\w+", value.lower()) if w not in _STOP)


def _recognise(value: str, items: Sequence[str]) -> str | None:
    """The one item among `items` that `value` names (word sets nest); None if none or
    several."""
    t = _tokens(value)
    if not t:
        return None
    hits = {i for i in items if (u := _tokens(i)) and (t <= u or u <= t)}
    return next(iter(hits)) if len(hits) == 1 else None


def _swap(text: str, before: int) -> tuple[str, str] | None:
    found = None
    for m in _SWAP_RE.finditer(text, 0, before):
        found = (m.group("a") or m.group("za"), m.group("b") or m.group("zb"))
    return found


def _key(name: str, state: dict[str, str]) -> str | None:
    """The key `state` files `name` under: the name itself, its one initial ('A' for
    Alice), or (Chinese) the name that ends it, when no other key could be meant."""
    if name in state:
        return name
    found = [
        k
        for k in state
        if (len(k) == 1 and name.startswith(k))
        or k.startswith(name)
        or (not k.isascii() and name.endswith(k))  # Chinese text glues words before a name
    ]
    return found[0] if len(found) == 1 else None


def _initial(question: str | None) -> dict[str, str] | None:
    """Who holds what at the start, from a question such as 'Alice has a black ball, Bob
    has ...' (the holdings written before its first swap)."""
    if not question:
        return None
    first = _SWAP_RE.search(question)
    state: dict[str, str] = {}
    for m in _HAS_RE.finditer(question, 0, first.start() if first else len(question)):
        state.setdefault(m.group("who"), m.group("what").strip())
    return state if len(state) >= 2 else None


@dataclass
class _Belief:
    """The trace's own picture of who holds what: the last state it stated (over the
    question's opening one), and how many of the question's swaps it has gone through."""

    state: dict[str, str] | None
    swaps: list[tuple[str, str]]
    used: int = 0
    started: bool = False  # the trace has stated a state

    def check(self, k: int, state: dict[str, str], said: tuple[str, str] | None) -> list[Check]:
        if self.state is None:
            self.state, self.started = dict(state), True
            return []
        now: dict[str, str] = {}
        for holder, value in state.items():
            key = _key(holder, self.state)
            if key is None:  # a holder the trace names for the first time: taken as said
                self.state[holder] = value
            else:
                now[key] = value
        swap = said
        restated = not self.started and self._agrees(now)  # the opening state, no swap yet
        if said is not None:
            self.used += 1
        elif self.used < len(self.swaps) and not restated:
            swap = self.swaps[self.used]
            self.used += 1
        self.started = True
        out = _state_problems(k, self.state, now, swap)
        self.state = {**self.state, **now}
        return out

    def _agrees(self, now: dict[str, str]) -> bool:
        assert self.state is not None
        items = list(self.state.values())
        return all(_recognise(v, items) == _recognise(self.state[h], items) for h, v in now.items())


def _state_problems(
    k: int, prev: dict[str, str], state: dict[str, str], swap: tuple[str, str] | None
) -> list[Check]:
    items = list(prev.values())
    if len(set(items)) != len(items):
        return []  # the earlier state already held an item twice: nothing reliable
    out: list[Check] = []
    now = {h: _recognise(v, items) for h, v in state.items() if h in prev}
    held = Counter(i for i in now.values() if i is not None)
    if twice := [i for i, n in held.items() if n > 1]:
        out.append((k, f"{twice[0]!r} is held by two people at once"))
    if swap is None:
        return out
    a, b = _key(swap[0], prev), _key(swap[1], prev)
    if a is None or b is None:
        return out
    want = dict(prev)
    want[a], want[b] = prev[b], prev[a]
    for holder, item in now.items():
        if item is not None and item != _recognise(want[holder], items):
            out.append((k, f"after {a} and {b} swap, {holder} should have "
                           f"{want[holder]!r}, not {state[holder]!r}"))  # fmt: skip
            break
    return out


def swap_checks(texts: Sequence[str], question: str | None = None) -> list[Check]:
    """States of who holds what, in a trace about swaps (the question's or its own)."""
    swaps = [(m.group("a") or m.group("za"), m.group("b") or m.group("zb"))
             for m in _SWAP_RE.finditer(question or "")]  # fmt: skip
    if not swaps and not any(_SWAP_RE.search(t) for t in texts):
        return []  # 'Total: 10, Cost: 10' in a trace that swaps nothing is no state
    belief = _Belief(_initial(question), swaps)
    out: list[Check] = []
    pending: tuple[str, str] | None = None  # a swap stated in a step with no state
    for k, text in enumerate(texts):
        states = _states(text) if (":" in text or "：" in text) else []
        if not states:
            if belief.state is not None and belief.started:
                out += _final_claims(k, text, belief.state)
            pending = _swap(text, len(text)) or pending
            continue
        for pos, state in states:
            said = _swap(text, pos) or pending
            pending = None
            out += belief.check(k, state, said)
    return out


def _final_claims(k: int, text: str, state: dict[str, str]) -> list[Check]:
    """'At the end, Alice has the black ball': the item must be Alice's in the last
    stated state (when the claim names exactly one of the items)."""
    out: list[Check] = []
    items = list(state.values())
    for m in _HAS_RE.finditer(text):
        who = m.group("who")
        if who not in state:
            continue
        item = _recognise(m.group("what"), items)
        if item is not None and _recognise(state[who], items) not in (item, None):
            out.append((k, f"says {who} has {m.group('what').strip()!r}, but the last "
                           f"state gives {who} {state[who]!r}"))  # fmt: skip
    return out
