"""Reflection/exploration detection on the hand-labelled set (lexical backend; the model
backend's numbers are in docs/benchmarks.md via benchmarks/labelled.py)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from labelled import Gold, Predicted, evaluate, evaluate_groups, gold_record, score


def test_detection_beats_floor_on_labelled_set():
    m = evaluate("lexical")
    # Floors well below the measured values (docs/benchmarks.md) but far above chance:
    # most steps are neither reflection nor exploration.
    # The long public traces label every verdict and re-run inside a check as a reflection
    # (datasets/README.md), which the cue-based detector mostly misses: recall is lower
    # there than on the short written traces.
    assert m["reflection_steps"]["precision"] >= 0.65 and m["reflection_steps"]["recall"] >= 0.4
    assert m["exploration_steps"]["precision"] >= 0.5 and m["exploration_steps"]["recall"] >= 0.45
    assert m["reflection_links"]["precision"] >= 0.22 and m["reflection_links"]["recall"] >= 0.15
    assert m["deduction_links"]["agreement"] >= 0.5


# -- the issue-16 label types (correction, deduction), splits and long traces -----------------


def _long_record() -> dict:
    """A holdout trace of 32 steps and > 3,000 characters whose steps are pieces of a
    `reasoning` joined by single spaces (not the blank-line join), as public data gives."""
    steps = [
        f"Step {k}: the running total after adding {k + 3} apples to the basket of the "
        f"previous step is {sum(range(3, k + 4))} apples, which we carry forward now."
        for k in range(32)
    ]
    return {
        "id": "long-1", "lang": "en", "split": "holdout", "question": "How many apples?",
        "reasoning": " ".join(steps), "steps": steps, "answer": str(sum(range(3, 35))),
        "labels": {"reflection": {}, "correction": {}, "exploration": [],
                   "deduction": {str(k): [k - 1] for k in range(1, 32)}},
    }  # fmt: skip


def _short_record() -> dict:
    """A tune trace (no `split` field) with a correction, a check and deduction links."""
    return {
        "id": "short-1", "lang": "en", "question": "A box holds 23 rows of 18 eggs. How many?",
        "steps": ["There are 23 rows of 18 eggs.", "So 23 × 18 = 424 eggs.",
                  "Wait, 23 × 18 = 460 − 46 = 414, not 424.", "So the box holds 414 eggs.",
                  "Check: 414 / 18 = 23 ✓."],
        "answer": "414",
        "labels": {"reflection": {"2": 1, "4": 3}, "correction": {"2": 1},
                   "deduction": {"1": [0], "3": [2]}, "exploration": []},
    }  # fmt: skip


def test_gold_record_reads_new_label_types():
    g = gold_record(_short_record())
    assert (g.split, g.long, g.judges_corrections) == ("tune", False, True)
    assert g.sets["corrections"] == {(2, 1)} and g.sets["correction_steps"] == {2}
    assert g.sets["reflection_links"] == {(2, 1), (4, 3)}
    assert sorted(g.deduction) == [(1, 0), (3, 2)]
    long = gold_record(_long_record())
    assert (long.split, long.long, len(long.deduction)) == ("holdout", True, 31)
    old = gold_record({"id": "o", "steps": ["a"], "labels": {"reflection": {}, "exploration": []}})
    assert not old.judges_corrections and old.deduction == []


def test_score_counts_types_and_leaves_unlabelled_corrections_unjudged():
    new = Gold("a", "tune", False, True, gold_record(_short_record()).sets, [(1, 0), (3, 2)])
    old = Gold("b", "tune", False, False, gold_record(_short_record()).sets, [])
    preds = {
        # a: the correction found with the wrong target, one deduction link strong_logic,
        # the other exploratory
        "a": Predicted({**new.sets, "corrections": {(2, 0)}},
                       {(1, 0): "strong_logic", (3, 2): "exploratory"}),
        "b": Predicted({**old.sets, "corrections": {(2, 1)}}, {}),
    }  # fmt: skip
    m = score([new, old], preds)
    c = m["corrections"]
    assert (c["precision"], c["recall"], c["gold"], c["unjudged_predicted"]) == (0.0, 0.0, 1, 1)
    assert m["correction_steps"]["precision"] == 1.0 and m["correction_steps"]["gold"] == 1
    d = m["deduction_links"]
    assert d["agreement"] == 0.5 and d["types"]["exploratory"] == 1 and d["gold"] == 2
    assert m["reflection_links"]["gold"] == 4  # both records judge reflections


def test_groups_on_a_two_record_file(tmp_path):
    path = tmp_path / "labels.jsonl"
    recs = [_short_record(), _long_record()]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), "utf-8")
    groups = evaluate_groups("lexical", [path])
    n = {g: (m["records"]["n"], m["records"]["analysed"]) for g, m in groups.items()}
    assert n == {"tune": (1, 1), "holdout": (1, 1), "all": (2, 2),
                 "long:tune": (0, 0), "long:holdout": (1, 1), "long:all": (1, 1),
                 "written": (2, 2), "written:holdout": (1, 1), "public": (0, 0)}  # fmt: skip
    assert groups["all"]["deduction_links"]["gold"] == 33
    assert groups["long:all"]["deduction_links"]["gold"] == 31
    assert sum(groups["all"]["deduction_links"]["types"].values()) == 33
    assert groups["holdout"]["corrections"]["gold"] == 0
    assert groups["tune"]["corrections"]["gold"] == 1
    assert groups["all"]["reflection_steps"]["gold"] == 2
