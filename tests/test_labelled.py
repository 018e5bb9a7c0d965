"""Reflection/exploration detection on the hand-labelled set (lexical backend; the model
backend's numbers are in docs/benchmarks.md via benchmarks/labelled.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from labelled import evaluate


def test_detection_beats_floor_on_labelled_set():
    m = evaluate("lexical")
    # Floors well below the measured values (docs/benchmarks.md) but far above chance:
    # most steps are neither reflection nor exploration.
    assert m["reflection_steps"]["precision"] >= 0.6 and m["reflection_steps"]["recall"] >= 0.5
    assert m["exploration_steps"]["precision"] >= 0.5 and m["exploration_steps"]["recall"] >= 0.4
    assert m["reflection_links"]["recall"] >= 0.3
