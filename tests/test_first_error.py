"""first_error.locate: the earliest unresolved error of a trace, or None."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bondkd import analyze
from bondkd.config import AnalyzeConfig
from bondkd.molecule import first_error
from bondkd.schema import Conflict, ConflictKind

LEXICAL = AnalyzeConfig(backend="lexical")
CONFLICT_KINDS = get_args(ConflictKind)


def conflict(kind: str, steps: list[int], fixed_by: int | None = None) -> Conflict:
    return Conflict(
        kind=kind,  # type: ignore[arg-type]
        steps=steps,
        description=f"{kind} at {steps}",
        resolved_by=fixed_by,
        value=1.0,
    )


def test_none_on_a_clean_trace():
    assert first_error.locate([]) is None


def test_earliest_wins():
    fe = first_error.locate(
        [
            conflict("calc_mismatch", [5]),
            conflict("check_failed", [2]),
            conflict("value_clash", [1, 4]),
        ]
    )
    assert fe is not None and fe.step == 2 and fe.kind == "check_failed"


def test_a_value_clash_marks_the_step_that_changed_the_value():
    fe = first_error.locate([conflict("value_clash", [1, 4])])
    assert fe is not None and fe.step == 4


def test_resolved_conflicts_never_count():
    assert first_error.locate([conflict("calc_mismatch", [1], fixed_by=2)]) is None
    fe = first_error.locate(
        [conflict("calc_mismatch", [1], fixed_by=2), conflict("check_failed", [3])]
    )
    assert fe is not None and fe.step == 3


def test_untrusted_evidence_names_no_error():
    """Negations and answer mismatches point after the first error or at none (measured:
    benchmarks/first_error.py --evidence); dataflow breaks are not even read."""
    found = [conflict("negation", [0, 1]), conflict("answer_mismatch", [2])]
    assert first_error.locate(found) is None


def test_on_one_step_the_more_specific_kind_is_described():
    fe = first_error.locate([conflict("value_clash", [0, 3]), conflict("check_failed", [3])])
    assert fe is not None and fe.kind == "check_failed"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(CONFLICT_KINDS),
            st.integers(0, 30),
            st.one_of(st.none(), st.integers(0, 40)),
        ),
        max_size=12,
    )
)
def test_laws_on_random_conflicts(items):
    """Never a resolved conflict, never an untrusted kind, and no trusted unresolved
    conflict earlier than the one named."""
    cs = [conflict(kind, [step], fix) for kind, step, fix in items]
    fe = first_error.locate(cs)
    live = [c for c in cs if c.resolved_by is None and c.kind in first_error.ERROR_KINDS]
    if not live:
        assert fe is None
        return
    assert fe is not None
    assert fe.step == min(max(c.steps) for c in live)
    assert fe.kind in first_error.ERROR_KINDS


STACK = [
    "We should process each input one by one and keep track of the stack configuration.",
    "stack: empty",
    "( ; stack: (",
    "[ ; stack: ( [",
    "] ; stack: (",
    'Now, we have reached the end. The final stack is "(".',
    'We will need to pop out "(" one by one in that order.',
    'So, we need ")". So the answer is )',
]


def test_the_pipeline_names_the_first_error():
    clean = analyze({"question": "( [ ]", "steps": STACK}, LEXICAL)
    assert clean.doc.first_error is None
    bad = [*STACK]
    bad[3] = "[ ; stack: ( ( ["
    mol = analyze({"question": "( [ ]", "steps": bad}, LEXICAL)
    assert mol.doc.first_error is not None
    assert mol.doc.first_error.step == 3 and mol.doc.first_error.kind == "check_failed"


@pytest.mark.parametrize(
    ("steps", "wrong"),
    [
        (["A bag holds 12 apples and 7 pears.", "12 + 7 = 19 fruits in all.",
          "Half of them is 19 / 2 = 9.5.", "The answer is 9.5"], 1),
        (["一共有 12 个苹果和 7 个梨。", "12 + 7 = 19，共 19 个水果。", "一半是 19 / 2 = 9.5。",
          "答案是 9.5"], 1),
    ],
)  # fmt: skip
def test_the_pipeline_names_a_wrong_calculation_en_zh(steps, wrong):
    assert analyze({"question": "?", "steps": steps}, LEXICAL).doc.first_error is None
    bad = [*steps]
    bad[wrong] = bad[wrong].replace("= 19", "= 18")
    fe = analyze({"question": "?", "steps": bad}, LEXICAL).doc.first_error
    assert fe is not None and fe.step == wrong
