"""Huge traces (issue 20): linear work, bounded memory, and a stated bound on what one
trace may hold.

No timings here (benchmarks/scale.py prints those): where a quadratic path was replaced,
the fast path is checked against the slow one as a reference (hypothesis), and the two
inputs the old code could not get through run under a hard timeout it misses by far
(the dataflow chain search took 90 s on 290 KB, `filter` 232 s on 200,000 lines).
"""

from __future__ import annotations

import json
import re
import signal
import sys
from collections import Counter
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bondkd.cli import main
from bondkd.config import AnalyzeConfig
from bondkd.energy import semantic
from bondkd.gate.checks import recent_pairs
from bondkd.molecule.conflicts import Fixers
from bondkd.pipeline import Analyzer, bounds_error
from bondkd.quantities import dataflow, numbers
from bondkd.read.formats import RecordError
from bondkd.schema import Trace

numbers_module = sys.modules["bondkd.quantities.numbers"]


class _Hang(Exception):
    pass


@contextmanager
def hard_timeout(seconds: float):
    """Raise _Hang in the block after `seconds` of wall time (the regex engine and the
    interpreter both check for signals), so a quadratic path fails instead of hanging."""

    def alarm(signum: int, frame: object) -> None:
        raise _Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


needs_alarm = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")

# -- the dataflow chain search --------------------------------------------------------

# The regex search `chained` replaced, run from the start of the text for every number.
_IN_CHAIN = re.compile(r"[=＝][^=＝,，。;；:：!?！？\n]*$")


@given(st.text(alphabet="=＝,，。;；:：!?！？\n 12ab", max_size=60))
@example("a = 5\n7")  # the old search's "$" also matched before a final newline
@example("a = 5\n\n7")
def test_chained_agrees_with_the_regex_search(text):
    starts = list(range(len(text) + 1))
    want = [_IN_CHAIN.search(text, 0, at) is not None for at in starts]
    assert dataflow.chained(text, starts) == want


@needs_alarm
def test_dataflow_on_one_long_step_is_linear():
    # 290 KB with 60,000 numbers: 90 s under the per-number search, ~0.5 s now.
    text = "x = 1, " + "so 3 + 4 = 7 and 7 - 2 is 5. " * 10_000
    with hard_timeout(15):
        issues = dataflow.find_flow_issues("Tom has 3 apples and 4 pears.", [text], None)
    assert {f.kind for f in issues} <= {"unused_quantity", "unsourced", "dead_end"}


# -- conflicts: which reflection fixes one ----------------------------------------------


def _fixer_reference(texts, behaviour, after, values, until=None):
    """The scan `Fixers` replaced: every reflection, in order, for each conflict."""
    want = {numbers_module.canon(v) for v in values}
    for r, b in enumerate(behaviour):
        stated = {numbers_module.canon(q.value) for q in numbers(texts[r])}
        if (
            b == "reflection"
            and r > after
            and ((until is not None and r <= until) or stated & want)
        ):
            return r
    return None


@given(
    st.lists(st.tuples(st.sampled_from(["1", "2", "3 and 4", "5", "no number"]), st.booleans()),
             max_size=12),
    st.integers(-1, 12),
    st.lists(st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), min_size=1, max_size=3),
    st.one_of(st.none(), st.integers(0, 12)),
)  # fmt: skip
def test_fixers_agree_with_the_scan_over_every_reflection(steps, after, values, until):
    texts = [t for t, _ in steps]
    behaviour = ["reflection" if r else None for _, r in steps]
    want = _fixer_reference(texts, behaviour, after, values, until)
    assert Fixers(texts, behaviour)(after, values, until) == want


# -- the gate's redundancy check -------------------------------------------------------


@given(st.integers(0, 40), st.integers(1, 10))
def test_recent_pairs_are_the_pairs_of_the_loop(n, window):
    want = [(j, i) for j in range(n) for i in range(max(0, j - window), j)]
    got = recent_pairs(n, window)
    assert (
        got.dtype == np.int64
        and got.shape == (len(want), 2)
        and got.tolist() == [list(p) for p in want]
    )


# -- memory: caches, batches, the TF-IDF memo -------------------------------------------


def test_whole_traces_are_not_cached():
    # A cache of whole traces kept every record's numbers alive across a filter run
    # (~100 MB per 1 MB trace); only step-sized texts go through the cache.
    def calls() -> int:
        info = numbers_module._scan.cache_info()
        return info[0] + info[1]  # hits + misses, for lru_cache and TextCache alike

    before = calls()
    long_text = "3 + 4 = 7. " * 5_000
    assert len(numbers(long_text)) == 15_000
    numbers(long_text, include_annotations=True)
    assert calls() == before
    numbers("3 + 4 = 7.")
    assert calls() == before + 1


def test_the_text_cache_holds_a_long_traces_steps_within_its_budget():
    # 4,096 entries were fewer than a 1 MB trace's steps: each stage's pass evicted what
    # the next one read. The budget is in characters.
    seen = []
    cache = numbers_module.TextCache(lambda t: seen.append(t) or len(t), chars=50, budget=1_000)
    steps = [f"step {k:04d}" for k in range(80)]  # 9 characters + 1 each: 800 in all
    for _ in range(3):
        assert [cache(t) for t in steps] == [9] * 80
    assert len(seen) == 80 and cache.cache_info() == (160, 80, 80)
    more = [f"other {k:04d}" for k in range(80)]
    [cache(t) for t in more]
    assert cache.held <= 1_000 and cache.cache_info()[2] < 160
    assert cache("x" * 51) == 51 and "x" * 51 not in {k[0] for k in cache.entries}


def test_batches_hold_at_most_max_chars():
    cfg = AnalyzeConfig(backend="lexical", batch=16, max_chars=5_000)
    analyzer = Analyzer(cfg)
    sizes = []
    original = analyzer.energies_many

    def spy(traces):
        sizes.append([len(t.question) + len(t.reasoning) for t in traces])
        return original(traces)

    analyzer.energies_many = spy  # type: ignore[method-assign]
    traces = [Trace(question="q", reasoning="3 * 4 = 12. So 12. " * 100) for _ in range(10)]
    mols = list(analyzer.analyze_many(traces))
    assert len(mols) == 10 and sum(len(s) for s in sizes) == 10
    assert all(sum(s) <= cfg.max_chars for s in sizes)  # 16 traces at once before


def test_the_tfidf_memo_is_bounded_and_changes_nothing(monkeypatch):
    monkeypatch.setattr(semantic, "MEMO_CELLS", 500)
    semantic._memo.clear()
    rng = np.random.default_rng(0)
    words = ["apples", "boxes", "wait", "check", "twelve", "so", "total", "每盒", "一共"]
    for _ in range(20):
        texts = [" ".join(rng.choice(words, 6)) for _ in range(8)]
        pairs = recent_pairs(len(texts), 3)
        first = semantic.lexical_cosine(texts, pairs)
        again = semantic.lexical_cosine([t.upper() for t in texts], pairs)  # a memo hit
        np.testing.assert_array_equal(first, again)
        np.testing.assert_allclose(first, semantic.lexical_cosine_reference(texts, pairs))
        cells = sum(len(r[0]) for r in semantic._memo.rows.values())
        assert semantic._memo.cells == cells  # the running count is the held entries'
        assert len(semantic._memo.rows) == 1 or cells <= semantic.MEMO_CELLS


@given(st.text(alphabet="ab cA\n\t\u00e9\u4e00\u00df", max_size=80))
@example("abc  ab\tabc b ab")
def test_word_by_word_grams_are_the_grams_in_the_same_order(text):
    # The reference: every position of the padded text, as for short texts.
    words = text.lower().split()
    padded = " " + "  ".join(words) + " "
    every = [padded[k : k + n] for n in range(2, 5) for k in range(len(padded) - n + 1)]
    want = {g: c for g, c in Counter(every).items() if "  " not in g}
    got = {g: c for g, c in semantic._counts_by_word(words, 2, 4).items() if "  " not in g}
    assert list(got.items()) == list(want.items())


def test_long_texts_get_the_same_grams(monkeypatch):
    text = " ".join(f"Step {k}: 3 * {k} is {3 * k}, Wait 答案 check" for k in range(200))
    fast = semantic._grams(text)
    monkeypatch.setattr(semantic, "WORDWISE", 10**9)
    slow = semantic._grams(text)
    assert fast[0].tolist() == slow[0].tolist() and fast[1].tolist() == slow[1].tolist()


def _brace_pairs_reference(text):
    """The loop over every character that `_brace_pairs` replaced."""
    pairs, stack = {}, []
    for k, ch in enumerate(text):
        if ch == "{":
            stack.append(k)
        elif ch == "}" and stack:
            pairs[stack.pop()] = k
    return pairs


@given(st.text(alphabet="{}ab\\ ", max_size=60))
def test_brace_pairs_agree_with_the_character_loop(text):
    answers = sys.modules["bondkd.quantities.answers"]
    assert answers._brace_pairs(text) == _brace_pairs_reference(text)


# -- the bound on one trace -------------------------------------------------------------


def test_bounds_error_names_the_field_and_the_setting():
    cfg = AnalyzeConfig(backend="lexical", max_chars=1_000)
    assert bounds_error(Trace(question="q", reasoning="x" * 900), cfg) is None
    e = bounds_error(Trace(question="q" * 10, reasoning="x" * 1_200), cfg)
    assert isinstance(e, RecordError) and e.field == "reasoning"
    assert "1,210 characters" in str(e) and "max_chars = 1,000" in str(e)
    big_question = bounds_error(Trace(question="q" * 2_000, reasoning="x"), cfg)
    assert big_question is not None and big_question.field == "question"
    # The model backend's attention holds steps × steps matrices: a separate bound.
    many = Trace(reasoning="\n\n".join(f"Step {k}: 3 * {k} is {3 * k}." for k in range(60)))
    model = AnalyzeConfig(backend="model", max_attention_steps=10)
    err = bounds_error(many, model)
    assert err is not None and "max_attention_steps = 10" in str(err)
    assert bounds_error(many, model.model_copy(update={"backend": "lexical"})) is None


def test_default_bound_keeps_long_r1_traces_whole():
    # The longest R1 traces are ~100,000 characters; the bound is far above them.
    cfg = AnalyzeConfig()
    assert cfg.max_chars >= 1_000_000
    assert (
        bounds_error(
            Trace(reasoning="x" * 1_000_000), cfg.model_copy(update={"backend": "lexical"})
        )
        is None
    )


def _config(tmp_path, **fields):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(fields), encoding="utf-8")
    return str(path)


def test_analyze_reports_a_trace_over_the_bound_and_goes_on(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    lines = [{"question": "q", "reasoning": "3 * 4 = 12. So the answer is 12."},
             {"question": "q", "reasoning": "3 * 4 = 12. " * 200},
             {"question": "q", "reasoning": "5 + 5 = 10. So the answer is 10."}]  # fmt: skip
    src.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    out = tmp_path / "mol.jsonl"
    cfg = _config(tmp_path, max_chars=1_000)
    rc = main(["analyze", str(src), "--backend", "lexical", "--config", cfg, "-q",
               "--json", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if "max_chars" in x]
    assert f"{src}:2: field 'reasoning': 2,401 characters" in line
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2  # the others analysed


def test_analyze_of_one_huge_document_is_one_line_and_exit_2(tmp_path, capsys):
    src = tmp_path / "huge.json"
    src.write_text(json.dumps({"question": "q", "reasoning": "1 + 1 = 2. " * 500}))
    rc = main(["analyze", str(src), "--backend", "lexical", "-q",
               "--config", _config(tmp_path, max_chars=1_000)])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0
    assert err.startswith(f"bondkd: error: {src}:1: field 'reasoning': ")


def test_filter_rejects_a_trace_over_the_bound_and_keeps_it_whole(tmp_path):
    src = tmp_path / "in.jsonl"
    big = {"id": "big", "question": "q", "reasoning": "3 * 4 = 12. " * 200, "extra": [1, 2]}
    ok = {"id": "ok", "question": "3 boxes of 4?", "reasoning": "3 * 4 = 12. So 12."}
    src.write_text(json.dumps(big) + "\n" + json.dumps(ok) + "\n", encoding="utf-8")
    cfg = tmp_path / "gate.json"
    cfg.write_text(json.dumps({"analyze": {"max_chars": 1_000}}), encoding="utf-8")
    acc, rej = tmp_path / "acc.jsonl", tmp_path / "rej.jsonl"
    rc = main(["filter", str(src), "--accepted", str(acc), "--rejected", str(rej), "-q",
               "--config", str(cfg)])  # fmt: skip
    assert rc == 0
    out = [json.loads(x) for p in (acc, rej) if p.exists() for x in p.read_text().splitlines()]
    assert sorted(r["id"] for r in out) == ["big", "ok"]
    (rejected,) = [r for r in out if r["id"] == "big"]
    assert {k: v for k, v in rejected.items() if k != "bondkd"} == big
    assert rejected["bondkd"]["verdict"] == "rejected"
    assert rejected["bondkd"]["reasons"][0].startswith("too_long: field 'reasoning': 2,401")
    (good,) = [r for r in out if r["id"] == "ok"]
    assert "checks" in good["bondkd"]  # analysed as usual


# -- end to end -------------------------------------------------------------------------


@needs_alarm
def test_filter_gets_through_200000_one_character_lines(tmp_path):
    # The hostile-user run: 3 min 52 s before (the dataflow search, redundancy loops).
    chars = "a1b2=c3+"
    text = "".join(f"{chars[k % len(chars)]}\n" for k in range(200_000))
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"question": "q 3", "reasoning": text}) + "\n", encoding="utf-8")
    acc, rej = tmp_path / "acc.jsonl", tmp_path / "rej.jsonl"
    with hard_timeout(30):
        rc = main(["filter", str(src), "--accepted", str(acc), "--rejected", str(rej), "-q"])
    assert rc == 0
    (rec,) = [json.loads(x) for p in (acc, rej) if p.exists() for x in p.read_text().splitlines()]
    assert rec["reasoning"] == text and "checks" in rec["bondkd"]
