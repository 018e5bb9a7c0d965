"""Numbers that words and units give without being written as digits: where an operand
of a trace may come from besides the question and earlier steps.

- Words for numbers and multiples: "a dozen" (12), "half" / 一半 / 打对折 (0.5), "twice" /
  "double" / 翻倍 / "pair" / 双 (2), "a quarter" (0.25), "one third" (1/3), English number
  words ("twelve").
- Chinese discounts: 八折 is × 0.8, 七五折 × 0.75, 8.5折 × 0.85; they also give the share
  taken off (0.2) and the digits, as "× 8 ÷ 10" computes with them.
- Units and the conversions they imply: "hours" gives 60, 3600 and 24; "km" 1,000; "feet"
  12; "degrees" 180 and 360; a circle or π 3.14; 元 with 角 / 分 10 and 100.
- Domain facts: a number written with the unit of a looked-up constant ("12.01 g/mol",
  "9.8 m/s²", "8.314 J/(mol·K)") is a fact the solver brings, not a break in the flow.

`licensed(text)` gives the canonical values a text's words license; `fact_at(text, end)`
whether the number ending at `end` is written with a constant's unit; `precision(question)`
the decimals a question's words license for its answer (八折 of a whole price has one, a
root or a logarithm any); `signed(question)` whether a negative answer is ordinary there.
All regexes are single passes with bounded alternatives (linear in the text).
"""

from __future__ import annotations

import re

from bondkd.quantities.numbers import Quantity, TextCache, _zh_int, canon

_ZH_DIGIT = "一二两三四五六七八九"
_ZH_TENTHS = "二两三四五六七八九"  # 一折 is not read: 一 is mostly "one"
_DISCOUNT = re.compile(
    rf"(?:([{_ZH_TENTHS}])([{_ZH_DIGIT}])?|(?<![\d.])([1-9])(?:\.(\d))?)[ ]?折(?![线叠射纸合])"
)
_HALVES = re.compile(r"打对折|对折|一半|减半|半价")

_WORD_VALUES: dict[str, tuple[float, ...]] = {
    "half": (0.5, 2),
    "halves": (0.5, 2),
    "halved": (0.5, 2),
    "halve": (0.5, 2),
    "twice": (2,),
    "double": (2,),
    "doubled": (2,),
    "doubles": (2,),
    "pair": (2,),
    "pairs": (2,),
    "couple": (2,),
    "both": (2,),
    "triple": (3,),
    "tripled": (3,),
    "thrice": (3,),
    "quadruple": (4,),
    "quarter": (0.25, 4),
    "quarters": (0.25, 4, 0.75),
    "third": (1 / 3, 3),
    "thirds": (1 / 3, 2 / 3, 3),
    "fifth": (0.2, 5),
    "tenth": (0.1, 10),
    "dozen": (12,),
    "dozens": (12,),
    "score": (20,),
    "percent": (100, 0.01),
    "percentage": (100, 0.01),
    "zero": (0,),
    "one": (1,),
    "two": (2,),
    "three": (3,),
    "four": (4,),
    "five": (5,),
    "six": (6,),
    "seven": (7,),
    "eight": (8,),
    "nine": (9,),
    "ten": (10,),
    "eleven": (11,),
    "twelve": (12,),
    "thirteen": (13,),
    "fourteen": (14,),
    "fifteen": (15,),
    "sixteen": (16,),
    "seventeen": (17,),
    "eighteen": (18,),
    "nineteen": (19,),
    "twenty": (20,),
    "thirty": (30,),
    "forty": (40,),
    "fifty": (50,),
    "sixty": (60,),
    "seventy": (70,),
    "eighty": (80,),
    "ninety": (90,),
    "hundred": (100,),
    "thousand": (1000,),
    "million": (1e6,),
    "billion": (1e9,),
    "once": (1,),
}
# Units and what converting them computes with.
_UNIT_VALUES: dict[str, tuple[float, ...]] = {
    "hour": (60, 3600, 24),
    "hours": (60, 3600, 24),
    "hr": (60, 3600),
    "hrs": (60, 3600),
    "minute": (60, 1440),
    "minutes": (60, 1440),
    "min": (60,),
    "mins": (60,),
    "second": (60, 3600, 1000),
    "seconds": (60, 3600, 1000),
    "day": (24, 7, 30, 365, 1440, 86400),
    "days": (24, 7, 30, 365, 1440, 86400),
    "week": (7, 52),
    "weeks": (7, 52),
    "month": (12, 30, 31),
    "months": (12, 30, 31),
    "year": (12, 365, 52),
    "years": (12, 365, 52),
    "km": (1000,),
    "kg": (1000,),
    "cm": (100, 10),
    "mm": (10, 1000),
    "ml": (1000,),
    "liter": (1000,),
    "liters": (1000,),
    "litre": (1000,),
    "litres": (1000,),
    "meter": (100, 1000),
    "meters": (100, 1000),
    "metre": (100, 1000),
    "metres": (100, 1000),
    "gram": (1000,),
    "grams": (1000,),
    "ton": (1000, 2000),
    "tons": (1000, 2000),
    "tonne": (1000,),
    "tonnes": (1000,),
    "feet": (12, 3),
    "foot": (12, 3),
    "ft": (12, 3),
    "inch": (12, 2.54),
    "inches": (12, 2.54),
    "yard": (3, 36),
    "yards": (3, 36),
    "mile": (5280, 1.609, 1.6),
    "miles": (5280, 1.609, 1.6),
    "pound": (16, 0.454),
    "pounds": (16, 0.454),
    "lb": (16,),
    "lbs": (16,),
    "ounce": (16,),
    "ounces": (16,),
    "gallon": (4, 128, 3.785),
    "gallons": (4, 128, 3.785),
    "quart": (4, 2),
    "quarts": (4, 2),
    "pint": (2, 16),
    "pints": (2, 16),
    "cent": (100,),
    "cents": (100,),
    "dollar": (100,),
    "dollars": (100,),
    "degree": (180, 360, 90),
    "degrees": (180, 360, 90),
    "angle": (180, 360, 90),
    "angles": (180, 360, 90),
    "triangle": (180,),
    "circle": (3.14, 3.1416, 3.14159, 360),
    "radius": (3.14, 3.1416, 3.14159),
    "pi": (3.14, 3.1416, 3.14159),
    "mole": (6.022e23, 6.02e23, 22.4),
    "moles": (6.022e23, 6.02e23, 22.4),
    "mol": (6.022e23, 6.02e23, 22.4),
    "byte": (8, 1024),
    "bytes": (8, 1024),
}
_ZH_UNIT_VALUES: dict[str, tuple[float, ...]] = {
    "小时": (60, 3600, 24),
    "分钟": (60,),
    "秒": (60, 3600, 1000),
    "天": (24, 7, 30, 365),
    "星期": (7,),
    "周": (7, 52),
    "月": (12, 30, 31),
    "年": (12, 365),
    "千米": (1000,),
    "公里": (1000,),
    "千克": (1000,),
    "公斤": (1000, 2),
    "斤": (500, 2),
    "吨": (1000,),
    "厘米": (100, 10),
    "分米": (10, 100),
    "毫米": (10, 1000),
    "毫升": (1000,),
    "升": (1000,),
    "米": (100, 1000),
    "克": (1000,),
    "角": (10, 0.1),
    "度": (180, 360, 90),
    "三角形": (180,),
    "圆": (3.14, 3.1416, 360),
    "π": (3.14, 3.1416, 3.14159),
    "摩尔": (6.022e23, 6.02e23, 22.4),
    "一打": (12,),
    "一双": (2,),
    "双": (2,),
    "对": (2,),
    "翻倍": (2,),
    "翻一番": (2,),
    "一刻钟": (15, 0.25),
    "百分": (100, 0.01),
}
_WORD = re.compile(r"[A-Za-z]+")
_ZH_UNIT = re.compile("|".join(sorted(map(re.escape, _ZH_UNIT_VALUES), key=len, reverse=True)))
# A unit of a looked-up constant right after a number: molar masses, gravity, the gas
# constant, heat capacities, Avogadro's number, densities, Kelvin offsets.
_FACT_UNIT = re.compile(
    r"[ ]?(?:g/mol|g·mol|g[ ]mol|amu|kJ/mol|J/mol|J/\(mol|J/\(g|J/g|cal/g|m/s\^?2|m/s²|N/kg"
    r"|L/mol|g/cm|g/mL|kg/m|mol⁻|mol\^|×[ ]?10\^?23|[×x][ ]?10²³|g/L|克/摩尔|g/摩尔)",
)
_PRECISION_WORDS = re.compile(
    r"(?<![A-Za-z])(?:average|mean|per[ ]cent|ratio|divided[ ]equally|each[ ]share)(?![A-Za-z])"
    r"|平均|均分|比值",
    re.I,
)
# With 元: money written to 0.1 and 0.01 ("3 元 5 角", "精确到分"), not 分钟 or 百分之.
# Questions whose answers may be irrational or written to any precision: roots, logs,
# trigonometry, powers of e written in math notation ("$\\sqrt{3}$", "e^{x}", "log_2").
_IRRATIONAL = re.compile(
    r"\\(?:sqrt|log|ln|sin|cos|tan|pi)(?![A-Za-z])|√|π|(?<![A-Za-z])(?:sqrt|log|ln|sin|cos"
    r"|tan)(?:_\d|\()|(?<![A-Za-z])e\^|根号|对数|正弦|余弦|正切"
)
# Questions in which a negative answer is ordinary: algebra in math notation, functions,
# equations, coordinates, temperatures.
_SIGNED = re.compile(
    r"(?<![A-Za-z])(?:negative|integers?|real[ ]numbers?|functions?|equations?|polynomials?"
    r"|coordinates?|temperatures?|below[ ]zero|minimum|minimize)(?![A-Za-z])"
    r"|\\(?:frac|sqrt|cdot|le|ge|leq|geq|in|mathbb)(?![A-Za-z])|[A-Za-z][ ]?[-−][ ]?\d(?![\d-])"
    r"|负|实数|整数|函数|方程|坐标|温度|零下|最小值",
    re.I,
)
_SMALL_CHANGE = re.compile(
    r"(?:\d|[一二两三四五六七八九十几])[ ]?(?:角|分(?![钟之别数]))|精确到[角分]"
)
_ROUNDING = re.compile(
    r"保留(?:[1一]|[2两二])位小数|精确到(?:0\.01|0\.1|百分位|十分位)"
    r"|(?<![A-Za-z])(?:nearest|to[ ]the)[ ](?:tenth|hundredth|cent)s?(?![A-Za-z])"
    r"|(?:one|two|1|2)[ ]decimal[ ]places?",
    re.I,
)
_YUAN = re.compile(r"元|¥|￥")


# Quantities of a question that are no given to compute with: the lower end 0 or 1 of a
# range ("from 1 to 100", 从1到100: the count needs only the upper end), and numbers in an
# equation with an unknown ("3x + 7 = 25": solving rewrites the equation, it never writes
# 25 again).
_RANGE_ON = re.compile(
    r"[ \t]?(?:到|至|~|–|—|-|through|to|and)[ \t]?[0-9一二两三四五六七八九十百千]", re.I
)
# A run of numbers, one-letter names and operators (linear: its three alternatives start
# on disjoint characters).
_EQUATION = re.compile(r"(?:[0-9.]+|(?<![A-Za-z])[A-Za-z](?![A-Za-z])|[-+*/×÷^=()·²³ \t])+")
# An unknown computed with ("3x", "x + 3", "2 * y"); "x = 5" only assigns a given.
# An "x" between numbers is a times sign ("3 x 4 = 12").
_UNKNOWN = re.compile(
    r"\d[ \t]?[a-z](?![a-z]|[ \t]?\d)|(?<![A-Za-z])(?<!\d )[a-z][ \t]?[-+*/^²³]"
    r"|[-+*/^][ \t]?[a-z](?![A-Za-z]|[ \t]?\d)"
)


def equations(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the equations with an unknown in text[start:end] ("3n + 3 = 72")."""
    return [
        m.span()
        for m in _EQUATION.finditer(text, start, len(text) if end is None else end)
        if "=" in m.group() and _UNKNOWN.search(m.group())
    ]


def not_given(question: str, q: Quantity) -> bool:
    """Whether question quantity `q` is no given the answer must use (see above)."""
    if q.value in (0, 1) and _RANGE_ON.match(question, q.end):
        return True
    near = equations(question, max(0, q.start - 40), q.end + 40)
    return any(a <= q.start and q.end <= b for a, b in near)


def _discounts(text: str) -> list[float]:
    """八折 -> 0.8, 七五折 -> 0.75, 8.5折 -> 0.85."""
    out = []
    for m in _DISCOUNT.finditer(text):
        if m.group(1):
            tens = _zh_int(m.group(1))
            ones = _zh_int(m.group(2)) if m.group(2) else 0
            if tens is None or ones is None:
                continue
            out.append(tens / 10 + ones / 100)
        else:
            out.append(int(m.group(3)) / 10 + (int(m.group(4)) / 100 if m.group(4) else 0))
    return out


def licensed(text: str) -> set[str]:
    """Canonical values that the words of `text` give: see the module docstring."""
    return set(_licensed(text))


def _licensed_of(text: str) -> frozenset[str]:
    values: list[float] = []
    for d in _discounts(text):
        tenths = round(d * 100)
        values += [d, round(1 - d, 6), tenths, tenths / 10, 10, 100]
    if _HALVES.search(text):
        values += [0.5, 2]
    for m in _WORD.finditer(text):
        w = m.group().lower()
        values += _WORD_VALUES.get(w, ()) + _UNIT_VALUES.get(w, ())
    for m in _ZH_UNIT.finditer(text):
        values += _ZH_UNIT_VALUES[m.group()]
    if "π" in text or "\\pi" in text:
        values += [3.14, 3.1416, 3.14159]
    return frozenset(canon(v) for v in values)


# Cached: the question and each step are read once per trace, and traces share questions.
_licensed = TextCache(_licensed_of)


def fact_at(text: str, end: int) -> bool:
    """Whether the number ending at `end` is written with the unit of a looked-up constant
    ("12.01 g/mol", "9.8 m/s²", "6.02 × 10^23"): a stated domain fact."""
    return _FACT_UNIT.match(text, end) is not None


def precision(question: str) -> int:
    """Decimal places the question's words license for the answer: a discount (八折: 1,
    七五折: 2), money in 元 with 角 / 分 (2), or a division the question asks for (an
    average, a ratio: 2)."""
    places = 0
    for d in _discounts(question):
        places = max(places, len(canon(d).partition(".")[2]))
    if _YUAN.search(question) and _SMALL_CHANGE.search(question):
        places = max(places, 2)
    if _PRECISION_WORDS.search(question) or _ROUNDING.search(question):
        places = max(places, 2)
    if _IRRATIONAL.search(question):
        places = max(places, IRRATIONAL_PLACES)
    return places


IRRATIONAL_PLACES = 12  # `canon` keeps 12 significant digits


def signed(question: str) -> bool:
    """Whether the question makes a negative answer ordinary (algebra, functions,
    coordinates, temperatures, "negative"), so a negative answer is no sign of error."""
    return _SIGNED.search(question) is not None
