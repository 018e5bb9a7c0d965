"""The issue-16 measurement scripts (benchmarks/longcot_gate.py, benchmarks/throughput.py):
their core functions on tiny temp files, lexical backend. The numbers themselves are in
docs/benchmarks.md; here only that they are computed as documented."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from longcot_gate import LONG, Row, evaluate, summarise
from throughput import build_trace, child, cut_at_sentence, ratios, run_fresh

SENTENCES = [
    f"Next we add {k} to the total, which gives {k * (k + 1) // 2} so far." for k in range(1, 80)
]


def _record(rid: str, correct: bool | None, task: str, n_steps: int) -> dict:
    """A longcot-schema record whose `steps` are pieces of `reasoning` joined by a space."""
    steps = SENTENCES[:n_steps]
    return {
        "id": rid, "source": "test", "question": "What is 1 + 2 + ... + n?",
        "steps": steps, "reasoning": " ".join(steps), "answer": "x", "reference": None,
        "is_correct": correct, "first_error_step": None, "step_labels": None,
        "generator": "test", "meta": {"task": task},
    }  # fmt: skip


def _row(correct: bool, stability: float, accepted: bool) -> Row:
    return Row("r", correct, stability, accepted, chars=100, steps=3)


def test_summarise_is_the_documented_numbers():
    rows = [_row(True, 0.9, True), _row(True, 0.6, False), _row(False, 0.3, False),
            _row(False, 0.7, True)]  # fmt: skip
    m = summarise(rows, unreadable=2)
    assert (m["n"], m["unreadable"], m["correct"], m["base_rate"]) == (4, 2, 2, 0.5)
    assert m["auroc"] == 0.75  # 3 of the 4 (correct, wrong) pairs ranked right
    assert (m["accepted_share"], m["accepted_precision"], m["correct_accepted_share"]) == (
        0.5,
        0.5,
        0.5,
    )
    assert m["mean_stability"] == pytest.approx(0.625)
    assert m["mean_stability_correct"] == pytest.approx(0.75)
    one_class = summarise([_row(True, 0.2, False), _row(True, 0.4, False)])
    assert one_class["auroc"] is None and one_class["accepted_precision"] is None
    assert one_class["correct_accepted_share"] == 0.0


def test_longcot_gate_on_a_two_record_file(tmp_path):
    recs = [_record("a", True, "t1", 60), _record("b", False, "t2", 5), _record("c", None, "t1", 5)]
    (tmp_path / "bbmistake.dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = evaluate("lexical", ["bbmistake"], tmp_path)
    m = out["bbmistake"]
    assert (m["n"], m["correct"], m["unreadable"]) == (2, 1, 0)  # the unlabelled one left out
    assert m["auroc"] in (0.0, 0.5, 1.0) and 0 <= m["mean_stability"] <= 1
    assert out["bbmistake/t1"]["n"] == 1 and out["bbmistake/t2"]["n"] == 1
    assert out[LONG]["n"] == 1 and out[LONG]["correct"] == 1  # only "a" is long


def test_cut_at_sentence_en_and_zh():
    assert cut_at_sentence("One. Two three. Four five.", 17) == "One. Two three."
    assert cut_at_sentence("第一句。第二句。第三句。", 9) == "第一句。第二句。"
    assert cut_at_sentence("no sentence end in this text at all", 20) == "no sentence end in"
    assert cut_at_sentence("Short.", 20).startswith("Short.\n\nShort.")  # repeated to reach it


def test_throughput_child_and_fresh_process(tmp_path):
    src = tmp_path / "ta.jsonl"
    src.write_text("".join(json.dumps(_record(str(k), True, "t", 40)) + "\n" for k in range(2)))
    trace = build_trace(1500, src)
    assert 750 < len(trace["reasoning"]) <= 1500 and trace["reasoning"].endswith(".")
    r = child("lexical", 1500, reps=3, min_seconds=0.0, path=src)
    assert r["runs"] == 3 and r["chars"] == len(trace["reasoning"]) and r["steps"] > 5
    assert r["peak_rss_mb"] >= r["warm_rss_mb"] > 0
    assert r["chars_per_s"] == pytest.approx(r["chars"] / r["s_per_trace"])
    args = argparse.Namespace(reps=3, min_seconds=0.0, source=src, timeout=120)
    fresh = run_fresh("lexical", 1500, args)
    assert "error" not in fresh and fresh["chars"] == r["chars"]


def test_ratios_normalise_by_length():
    rows = [{"backend": "lexical", "size": 1000, "chars": 1000, "s_per_trace": 0.01},
            {"backend": "lexical", "size": 10000, "chars": 9000, "s_per_trace": 0.18},
            {"backend": "lexical", "size": 50000, "error": "over 1 s"}]  # fmt: skip
    (q,) = ratios(rows)
    assert (q["from"], q["to"]) == (1000, 10000)
    assert q["time_ratio"] == pytest.approx(18) and q["normalised"] == pytest.approx(2)
