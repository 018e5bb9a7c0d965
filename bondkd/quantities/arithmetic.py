"""GSM8K calculator annotations and safe arithmetic on their expressions."""

# No `from __future__ import annotations`: it would bind the name `annotations`.
import ast
import math
import re
from collections.abc import Callable

from bondkd.quantities.numbers import (
    _CUR,
    _DIGITS,
    _TRANS,
    Annotation,
    TextCache,
    _finite,
    parse_number,
)

_ANN_RE = re.compile(r"<<([^<>]*)>>")
_STATED = re.compile(rf"[ \t]?(?:[{_CUR}][ \t]?)?(-?(?<![0-9A-Za-z_])(?:{_DIGITS}))")
_EXPR_CHARS = str.maketrans({"×": "*", "·": "*", "⋅": "*", "÷": "/", "–": "-", "^": "**"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TIMES_X = re.compile(r"(?<=[\d).])\s*[xX]\s*(?=[\d(.])")
# From a run's first digit only: from inside it, "%" is no nearer.
_PERCENT = re.compile(r"((?<!\d)\d+(?:\.\d+)?|\.\d+)\s*%")
_LEADING_ZERO = re.compile(r"(?<![\d.])0+(?=\d)")  # "05" is a syntax error in Python
_MAX_EXPR = 300  # characters; GSM8K annotations are far shorter
_MAX_EXPONENT = 1000.0
_EVAL_ERRORS = (SyntaxError, ValueError, TypeError, ArithmeticError, RecursionError, MemoryError)
_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
}


def annotations(text: str) -> list[Annotation]:
    """GSM8K annotations: `<<130000*.15=19500.0>>195,000` -> expr "130000*.15",
    value 19500.0, stated 195000.0."""
    norm = text.translate(_TRANS)
    out: list[Annotation] = []
    for m in _ANN_RE.finditer(norm):
        expr, eq, val = m.group(1).rpartition("=")
        if not eq:
            expr, val = val, ""
        s = _STATED.match(norm, m.end())
        value = parse_number(val) if val else None
        stated, end = (parse_number(s.group(1)), s.end()) if s else (None, m.end())
        out.append(Annotation(expr.strip(), value, stated, m.start(), end))
    return out


def calculations(text: str) -> list[Annotation]:
    """Every calculation `text` writes down with its result, in order: GSM8K annotations,
    and each checkable link of a claim written in plain text (`23 × 18 = 424`, `15% of
    240 is 36`, `\\frac{3}{4} \\times 20 = 15`, `12 乘以 3 等于 36`: bondkd.quantities.plain).
    An annotation is blanked with a non-number before the plain text is read, so
    "48/2 = <<48/2=24>>24" is checked once, as the annotation."""
    return list(_calculations(text))


def _calculations_of(text: str) -> tuple[Annotation, ...]:
    from bondkd.quantities.plain import plain_claims

    found = annotations(text)
    mask = _ANN_RE.sub(lambda m: "#" * len(m.group()), text) if found else text
    return tuple(sorted([*found, *plain_claims(text, mask)], key=lambda a: a.start))


# Cached: conflicts and the arithmetic test of dataflow read the same step texts.
_calculations = TextCache(_calculations_of)


def _normalise_expr(expr: str) -> str:
    s = expr.translate(_TRANS).translate(_EXPR_CHARS).replace("$", "")
    s = _TIMES_X.sub("*", _THOUSANDS.sub("", s))
    return _LEADING_ZERO.sub("", _PERCENT.sub(r"(\1/100)", s))


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(b) > _MAX_EXPONENT:
                raise OverflowError
            return math.pow(a, b)
        op = _BINOPS.get(type(node.op))
        if op is not None:
            return op(a, b)
    raise ValueError(f"not arithmetic: {type(node).__name__}")


def evaluate(expr: str) -> float | None:
    """Numbers, + - * / ** ^ x × ÷ %, parentheses and unary minus; anything else (names,
    calls, attributes), a division by zero, or a huge power gives None."""
    if len(expr) > _MAX_EXPR:
        return None
    try:
        return _finite(_eval(ast.parse(_normalise_expr(expr).strip(), mode="eval").body))
    except _EVAL_ERRORS:
        return None


def _masked(norm: str) -> str:
    return _ANN_RE.sub(lambda m: " " * len(m.group()), norm)


# An operator and a number after / before. Blanks after a currency sign only: two blank
# runs side by side would split a long run of blanks every possible way.
_OPERATOR = re.compile(r"\s*[-+*/×÷xX]\s*(?:[$€£¥(]\s*)?[\d.]")
_OPERATOR_BEFORE = re.compile(r"[-+*/×÷xX(]\s*(?:[$€£¥]\s*)?$")


def operands(text: str, found: list | None = None) -> list:
    """Numbers `text` computes with: each number next to an arithmetic operator, in running
    text or inside a `<<expr=value>>` annotation ("80,000*.5=40,000" -> 80000, 0.5; the
    result after "=" is not an operand). A hyphenated "5-year" counts: precision here only
    matters in aggregate. `found`: `numbers(text, include_annotations=True)` if the
    caller has it already."""
    from bondkd.quantities.numbers import numbers

    norm = text.translate(_TRANS)
    out = []
    for q in numbers(text, include_annotations=True) if found is None else found:
        before = norm[max(0, q.start - 4) : q.start]
        if _OPERATOR.match(norm, q.end) or _OPERATOR_BEFORE.search(before):
            out.append(q)
    return out
