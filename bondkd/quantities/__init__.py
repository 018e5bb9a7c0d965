"""Quantities in reasoning text: numbers, calculator annotations, claims and final answers.

`numbers` reads numbers with their spans (the reading rules are in its docstring),
`arithmetic` checks GSM8K `<<expr=value>>` annotations and (through `plain`) arithmetic
claims written in plain text, `claims` finds computed results and named assignments,
`answers` finds a trace's final answer and content terms, `sources` the numbers that
words and units give (a dozen, 八折, hours), `dataflow` where the flow of quantities breaks.

May import: base.
"""

from bondkd.quantities.answers import (
    answer_of,
    answers_match,
    final_answer,
    reference_answer,
    terms,
)
from bondkd.quantities.arithmetic import annotations, calculations, evaluate, operands
from bondkd.quantities.claims import assignments, results
from bondkd.quantities.numbers import (
    Annotation,
    Quantity,
    canon,
    numbers,
    parse_number,
    rounds_to,
    same_value,
)

__all__ = [
    "Annotation",
    "Quantity",
    "annotations",
    "answer_of",
    "answers_match",
    "assignments",
    "calculations",
    "canon",
    "evaluate",
    "final_answer",
    "numbers",
    "operands",
    "parse_number",
    "reference_answer",
    "results",
    "rounds_to",
    "same_value",
    "terms",
]
