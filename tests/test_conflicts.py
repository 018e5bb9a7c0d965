import numpy as np

from bondkd.config import StabilityConfig
from bondkd.molecule.bonds import behaviours
from bondkd.molecule.conflicts import find_conflicts

CFG = StabilityConfig()


def _find(texts, answer=None):
    pairs = np.array([[j, i] for j in range(len(texts)) for i in range(j)]).reshape(-1, 2)
    return find_conflicts(texts, behaviours(texts), answer, pairs, CFG)


def test_calculator_annotation_disagrees_with_stated_value():
    texts = [
        "He spent 80,000+50,000 = $<<80000+50000=130000>>130,000.",
        "The house is worth 130,000*.15 = $<<130000*.15=19500.0>>195,000.",
    ]
    found = _find(texts, "195000")
    calc = [c for c in found if c.kind == "calc_mismatch"]
    assert len(calc) == 1 and calc[0].steps == [1] and calc[0].resolved_by is None
    assert calc[0].value == CFG.conflicts.calc_mismatch


def test_consistent_trace_has_no_conflicts():
    texts = [
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.",
        "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.",
    ]
    assert _find(texts, "72") == []


def test_final_answer_disagrees_with_last_result():
    texts = ["She has 3 * 4 = 12 apples.", "She eats 2, so 12 - 2 = 10 apples remain."]
    found = _find(texts, "12")
    assert [c.kind for c in found] == ["answer_mismatch"]
    assert _find(texts, "10") == []


def test_corrected_error_is_resolved_and_costs_less():
    texts = [
        "Each box holds 17 * 24 = 418 pens.",
        "So 3 boxes hold 3 * 418 = 1254 pens.",
        "Wait, let me check: 17 * 24 = 408, not 418.",
        "So 3 boxes hold 3 * 408 = 1224 pens.",
    ]
    found = _find(texts, "1224")
    assert all(c.resolved_by == 2 for c in found if c.kind != "answer_mismatch")
    assert all(c.value == CFG.resolved_cost for c in found)


def test_same_quantity_two_values_without_correction():
    texts = ["First, the total is 45 apples.", "Adding the rest, the total is 52 apples."]
    kinds = [c.kind for c in _find(texts)]
    assert "value_clash" in kinds


def test_an_answer_written_as_a_result_before_a_later_check_is_no_mismatch():
    # MATH-style: the answer is concluded, then a check computes something else.
    texts = ["The pairs are 3 * 4 = 12 in all, so there are 7 ways left.",
             "Check: 2 + 4 = 6 of the pairs are excluded."]  # fmt: skip
    assert _find(texts, "7") == []
    # ... but an answer the reasoning went on to compute with stopped short.
    assert [c.kind for c in _find([*texts, "So 7 + 6 = 13."], "7")] == ["answer_mismatch"]
