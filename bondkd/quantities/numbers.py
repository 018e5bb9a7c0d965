"""Numbers in reasoning text, with exact spans, and how to compare them.

Coherence uses quantities to see step j reuse a quantity step i introduced; conflicts use
them to compare a calculator annotation with the stated value, the final answer with
the last computed result, and two values asserted for one quantity. Pure functions on
regexes compiled once at import: GSM8K runs at thousands of traces per second.

Reading decisions (precision first: a false conflict rejects a good sample):
- Digits glued after a letter or "_" belong to a name ("R2D2", "x2", "n_1", "H2O" give no
  number); a unit glued after a number is fine ("5kg" -> 5).
- "1,000" is one number; "1, 2, 3" and "1,2" are several (a comma group has 3 digits).
- A minus is a sign only where it cannot be a subtraction: "5-3", "5 - 3" -> 5, 3;
  "= -3", "was -3", "(-3", "$-3" -> -3.
- In running text "a/b" is a division (two numbers); `parse_number` of a whole string
  reads "3/4" as 0.75.
- Ordinals ("2nd", "第三") and list markers ("1. ", "Step 2:") are positions, not quantities.
- Chinese numerals count in running text only where unambiguous: a well-formed numeral of
  two or more characters (十二, 一百二十, 三万), a single one other than 一 before a
  classifier (三个, 两倍, 五分钟), or a fraction (八分之一, 百分之二十). A lone 一 is mostly
  an article (一个, 一下), so it never counts, and one after the parties it counts
  (甲乙两人, A、B两车) names them again.
- Percents keep their written value ("2.5%" -> 2.5, `Quantity.percent` is True); 50% and
  0.5 are deliberately not `same_value`: the caller knows which reading it compares.
- `canon` keeps 12 significant digits: `:g` would make 1234567 and 1234568 one number.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

# Same-length mapping, so spans found in the normalised text index the original.
_TRANS = str.maketrans("０１２３４５６７８９．％＄￥－−＋＝＊／（）", "0123456789.%$¥--+=*/()")
_ZHN = "零〇一二两三四五六七八九十百千万亿"
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_ZH_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_BIG = {"": 1.0, "万": 1e4, "亿": 1e8}
_CUR = "$€£¥"

_EXP = r"(?:[eE][+-]?\d+(?![A-Za-z]))?"
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+(?![0-9])|\d+)(?:\.\d+)?|\.\d+"
_NUM = (
    rf"(?P<num>(?P<cur>[{_CUR}]\s?)?(?P<body>(?<![0-9A-Za-z_.])(?:\d{{1,3}}(?:,\d{{3}})+(?![0-9])"
    rf"|\d+)(?:\.\d+)?{_EXP}|(?<![0-9A-Za-z_])\.\d+{_EXP})(?P<pct>\s?%)?(?P<big>[万亿])?)"
)
# A digit run is tried from its first digit only: from inside it, 分之 is no nearer.
_ZH_FRAC = rf"(?P<zf>(?:[{_ZHN}]+|(?<!\d)\d+)分之(?:[{_ZHN}]+|\d+(?:\.\d+)?))"
_ZH_RUN = rf"(?P<zh>[{_ZHN}]+)"
_ANN = r"(?P<ann><<[^<>]*>>)"
_SCAN = re.compile(f"{_ANN}|{_ZH_FRAC}|{_NUM}|{_ZH_RUN}")
_SCAN_ALL = re.compile(f"{_ZH_FRAC}|{_NUM}|{_ZH_RUN}")
_MARKER = re.compile(
    r"(?im)^[ \t]*(?:[-*•][ \t]*)?(?:(?:step|part)[ \t]+(\d{1,2})\b|\(?(\d{1,2})[.)](?=[ \t]))"
)
_ORDINAL = re.compile(r"(?:st|nd|rd|th)(?![A-Za-z])")
_CLASSIFIER = re.compile(
    r"[个只条本张块元支件种双名位人次天年月日岁斤克米升吨箱排棵辆瓶杯盒包袋页道题份倍层栋户颗粒根把台间座首篇组套节]"
    r"|分钟|小时|秒|公里|公斤|千克|千米|厘米|毫米|毫升"
)
# A number base names a way of writing numbers, no quantity: "base-10", "in base 8", 十六进制.
_BASE_BEFORE = re.compile(r"(?:base-|(?:in|to|from|log|logarithm) base )\Z", re.IGNORECASE)
_BASE_AFTER = re.compile(r"[ \t]?进制")
# Place values and digit counts name no quantity: "三位数" (a three-digit number), "十位上的
# 数字" (the tens digit), "百位不能是 0".
_PLACE = re.compile(r"位数|进制|(?<=[个十百千万])位(?!同学|老师|客人|朋友|工人|学生|顾客|乘客)")
# "甲乙两人", "A、B两车": the count of the parties just named, not a quantity to use.
_NAMED_BEFORE = re.compile(r"[甲乙丙丁A-Z][、和与]?[甲乙丙丁A-Z]$")
_WHOLE = re.compile(
    rf"([-+])?\s*(?:[{_CUR}]\s*)?([-+])?((?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d*)?(?:[eE][+-]?\d+)?"
    rf"|\.\d+(?:[eE][+-]?\d+)?)\s*(?:(%)\s*)?([万亿])?"
)
_FRAC = re.compile(r"([-+]?)\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")
_ZH_FRAC_WHOLE = re.compile(rf"(负)?([{_ZHN}]+|\d+)分之([{_ZHN}]+|\d+(?:\.\d+)?)")
_ZH_WHOLE = re.compile(rf"(负)?([{_ZHN}]+)")
_SIGN_CTX = frozenset("=(<>[{,:;*/+^×÷$")
_DECIMALS = re.compile(r"\.(\d+)")
T = TypeVar("T")


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


_DETERMINERS = _words("the a an his her their its our my your this that these those each all")
_STOP = _DETERMINERS | _words(
    """and or but so then thus therefore hence if of to in on at by for from with as into onto
    per than is are was were be been being am has have had do does did doing will would shall
    should can could may might must it he she they we you i me him them us who whom which what
    when where why how there here not no never nor isn't aren't wasn't weren't don't doesn't
    didn't can't won't it's that's let's let also just only about up out over after before
    because since while more less many much some any other such very too again now still
    one s t"""
)


class Quantity(NamedTuple):
    value: float
    start: int  # offset of the first character (sign and currency included)
    end: int  # exclusive
    raw: str

    @property
    def percent(self) -> bool:
        return self.raw.endswith(("%", "％")) or self.raw.startswith("百分之")


class Annotation(NamedTuple):
    """A GSM8K calculator annotation `<<expr=value>>` and the number written after it."""

    expr: str
    value: float | None  # the value after "=" inside the annotation
    stated: float | None  # the number right after ">>" (an optional "$" or space between)
    start: int  # at "<<"
    end: int  # after the stated number when there is one, else after ">>"


def canon(value: float) -> str:
    """Canonical string of a number: 1000.0 -> "1000", 0.15 -> "0.15"."""
    return f"{value:.12g}"


def same_value(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-6) -> bool:
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def rounds_to(exact: float, written: float, raw: str | None = None) -> bool:
    """Whether `written` is `exact` rounded (or cut) to the decimals it shows: 10/3 as 3.33.

    `raw` is the written form when known ("3.30" shows 2 decimals; 3.3 alone shows 1).
    """
    if same_value(exact, written):
        return True
    text = raw if raw is not None else repr(written)
    m = _DECIMALS.search(text) if "e" not in text.lower() else None
    if m is None:
        return False
    step, gap = 10.0 ** -len(m.group(1)), abs(exact - written)
    # rounded to nearest, or truncated (written lies between 0 and exact)
    return gap <= step / 2 * (1 + 1e-9) or (gap < step and abs(written) < abs(exact))


# -- parsing one number ---------------------------------------------------------------


def _zh_int(s: str) -> int | None:
    """Strict Chinese numeral: 十二, 一百零五, 三千万. Digit runs (一一, 五六) and colloquial
    tails (一百二) are rejected so that idioms never read as numbers."""
    total = section = 0
    digit: int | None = None
    last_unit, last_big, last = 10**5, 10**9, 0
    zero = False
    for ch in s:
        if ch in _ZH_DIGITS:
            d = _ZH_DIGITS[ch]
            if digit is not None:
                return None
            if d == 0:
                zero = True
            else:
                digit = d
        elif ch in _ZH_UNITS:
            u = _ZH_UNITS[ch]
            if u >= last_unit:
                return None
            if digit is None:
                if u != 10 or section or total or zero:
                    return None
                digit = 1
            section += digit * u
            digit, last_unit, last, zero = None, u, u, False
        else:
            b = _ZH_BIG[ch]
            section += digit or 0
            if b >= last_big or section == 0:
                return None
            total += section * b
            section, digit, last_unit, last_big, last, zero = 0, None, 10**5, b, b, False
    if digit is not None:
        if last > 10 and not zero:
            return None
        section += digit
    return total + section


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def parse_number(s: str) -> float | None:
    """A whole string as one number: "1,000.5", "$80,000", "2.5%" (2.5), "-3", "3/4", ".15",
    "1e3", "１２", "3万", "十二", "一百二十", "两", "八分之一", "百分之二十" (20); else None."""
    t = s.translate(_TRANS).strip()
    m = _WHOLE.fullmatch(t)
    if m:
        if m.group(1) and m.group(2):
            return None
        v = float(m.group(3).replace(",", "")) * _BIG[m.group(5) or ""]
        return _finite(-v if "-" in (m.group(1), m.group(2)) else v)
    m = _FRAC.fullmatch(t)
    if m:
        num, den = float(m.group(2)), float(m.group(3))
        return None if den == 0 else _finite(-num / den if m.group(1) == "-" else num / den)
    m = _ZH_FRAC_WHOLE.fullmatch(t)
    if m:
        sign = -1.0 if m.group(1) else 1.0
        zn: float | None = _zh_int(m.group(3)) if m.group(3)[0] in _ZHN else float(m.group(3))
        if m.group(2) == "百":
            return None if zn is None else sign * zn
        zd: float | None = _zh_int(m.group(2)) if m.group(2)[0] in _ZHN else float(m.group(2))
        return None if zn is None or not zd else sign * zn / zd
    m = _ZH_WHOLE.fullmatch(t)
    if m:
        whole = _zh_int(m.group(2))
        return None if whole is None else float(-whole if m.group(1) else whole)
    return None


# -- numbers in running text ----------------------------------------------------------


def _negative(norm: str, start: int) -> bool:
    if start == 0 or norm[start - 1] != "-":
        return False
    k = start - 2
    if k >= 0 and not (norm[k].isspace() or norm[k] in _SIGN_CTX):
        return False
    while k >= 0 and norm[k].isspace():
        k -= 1
    return k < 0 or not (norm[k].isdigit() or norm[k] in ")%]")


class TextCache(Generic[T]):
    """Least-recently-used cache of `fn(*key(text, *args))` holding at most `budget`
    characters of text; of texts longer than `chars` only the last one is kept. Counted
    in characters, not entries: a cache of whole traces kept every record's results alive
    across a run (~100 MB per 1 MB trace), while 4,096 entries were fewer than one long
    trace's steps, and each stage's pass over them evicted what the next stage read."""

    def __init__(
        self,
        fn: Callable[..., T],
        chars: int = 2_000,
        budget: int = 4_000_000,
        key: Callable[..., tuple] | None = None,
    ):
        self.fn, self.chars, self.budget = fn, chars, budget
        self.key = key or (lambda text, *args: (text, *args))
        self.entries: OrderedDict[tuple, T] = OrderedDict()
        self.held = self.hits = self.misses = 0
        self.long: tuple[tuple, T] | None = None  # the last long text: read by several stages
        self.__doc__ = fn.__doc__

    def __call__(self, text: str, *args: Any) -> T:
        key = self.key(text, *args)
        if len(text) > self.chars:
            if self.long is None or self.long[0] != key:
                self.long = (key, self.fn(*key))
            return self.long[1]
        if (got := self.entries.get(key, _MISSING)) is not _MISSING:
            self.hits += 1
            self.entries.move_to_end(key)
            return got  # type: ignore[return-value]
        self.misses += 1
        value = self.entries[key] = self.fn(*key)
        self.held += len(text) + 1  # + 1: empty texts take room too
        while self.held > self.budget:
            old, _ = self.entries.popitem(last=False)
            self.held -= len(old[0]) + 1
        return value

    def cache_info(self) -> tuple[int, int, int]:
        """(hits, misses, entries)."""
        return self.hits, self.misses, len(self.entries)

    def cache_clear(self) -> None:
        self.entries.clear()
        self.held, self.long = 0, None


_MISSING = object()


def _scan_text(text: str, include_annotations: bool = False) -> tuple[Quantity, ...]:
    """Cached: the conflict, dataflow, claim and term scans all read the same step texts."""
    norm = text.translate(_TRANS)
    rx = _SCAN_ALL if include_annotations else _SCAN
    markers = {m.start(1) if m.group(1) else m.start(2) for m in _MARKER.finditer(norm)}
    out: list[Quantity] = []
    for m in rx.finditer(norm):
        kind, start, end = m.lastgroup, m.start(), m.end()
        if kind == "ann" or (start and norm[start - 1] == "第"):
            continue
        if kind == "num":
            if (
                m.start("body") in markers
                or _ORDINAL.match(norm, m.end("body"))
                # (a character tested first: these run for every number of every step)
                or (
                    start
                    and norm[start - 1] in " -"
                    and _BASE_BEFORE.search(norm, max(0, start - 16), start)
                )
                or (norm[end : end + 1] in (" ", "进") and _BASE_AFTER.match(norm, end))
            ):
                continue
            v = float(m.group("body").replace(",", "")) * _BIG[m.group("big") or ""]
        elif kind == "zh":
            iv = _zh_int(m.group())
            if (
                iv is None
                or _PLACE.match(norm, end)
                or (
                    end - start == 1
                    and (
                        iv <= 1
                        or not _CLASSIFIER.match(norm, end)
                        or _NAMED_BEFORE.search(norm, max(0, start - 3), start)
                    )
                )
            ):
                continue
            v = float(iv)
        else:
            fv = parse_number(m.group())
            if fv is None:
                continue
            v = fv
        if _negative(norm, start):
            start, v = start - 1, -v
        out.append(Quantity(v, start, end, text[start:end]))
    return tuple(out)


# Without "<<" there is no annotation to skip or read: one entry serves both readings.
_scan = TextCache(_scan_text, key=lambda text, ann=False: (text, ann and "<<" in text))


def numbers(text: str, include_annotations: bool = False) -> list[Quantity]:
    """Every number in `text` with its span, in order. By default the inside of `<<…>>`
    calculator annotations is skipped (the stated value after `>>` still counts)."""
    return list(_scan(text, include_annotations))
